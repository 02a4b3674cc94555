"""What the console's apps share to draw their pages, each piece in one module: htmx
answers and dialogs (htmx), pagination (pages), form helpers (forms), times in the
person's zone (times), the CSP nonce for templates (context_processors), Django admin's
read-only helpers (admin) and the console's template tags (templatetags.console). It
knows no app of the project; the apps import it."""

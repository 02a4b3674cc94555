"""The project: configuration (settings.py, urls.py, the WSGI and ASGI entry points and
their handlers), the two transports for programs (api.py, mcp.py with its gate and
single exchange, and shapes.py, the answers they share), and the UI helpers every app's
pages share (pages.py, htmx.py, forms.py, templatetags/). No business rules live here:
those are the apps' services (organizations, apikeys, oauth)."""

"""What every page of Django admin shares: rows operators look at and act on through the
services' actions, but never add, edit or delete in a form."""

from django.contrib import admin


class ActOnlyAdmin(admin.ModelAdmin):
    """Read-only rows with actions. The change permission holds for the list only, so
    its actions (permissions=["change"]) work, while a row's page is Django's view page:
    no Save, no Delete, and a POST to it is refused. Nothing is added or deleted here:
    rows keep their history, and the services say what ends them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


class TextFilter(admin.SimpleListFilter):
    """A list filter typed into a box (an email, a name) rather than picked from a list
    that would name every user. Subclasses say what it matches in `queryset`."""

    template = "admin/text_filter.html"

    def matches(self, text: str):
        """The Q a typed text filters by."""
        raise NotImplementedError

    def queryset(self, request, queryset):
        text = self.value()
        if not text:
            return queryset
        if "\x00" in text:  # PostgreSQL refuses NUL in a query (Django's search ignores it)
            return queryset.none()
        return queryset.filter(self.matches(text))

    def lookups(self, request, model_admin):
        return ()

    def has_output(self):
        return True

    def choices(self, changelist):
        # One "choice": the box's value, and the list's other parameters (filters, search,
        # order) for the form to keep.
        others = [(name, value) for name, value in changelist.params.items()]
        yield {
            "value": self.value() or "",
            "others": [(name, value) for name, value in others if name != self.parameter_name],
        }

from django.core.exceptions import PermissionDenied


class NoDirectDeleteMixin:
    """Rows that are never deleted one by one in admin (they keep history), but that go
    when their user or organization is deleted: Django checks the delete permission for
    that cascade, so the permission stays and the delete page and bulk action go."""

    def delete_view(self, request, object_id, extra_context=None):
        raise PermissionDenied

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

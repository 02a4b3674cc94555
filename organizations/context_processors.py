from .models import Membership


def organizations(request):
    """The signed-in user's memberships, for the organization switcher in the header.
    Lazy: pages that don't show the header don't run the query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "user_memberships": Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by("organization__name")
    }

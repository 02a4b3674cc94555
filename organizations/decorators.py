from functools import wraps

from django.contrib.auth.decorators import login_required
from django.views.decorators.cache import never_cache

from .access import get_membership_or_404
from .models import User

CURRENT_ORG_SESSION_KEY = "current_organization"


def organization_view(view):
    """For views under /o/<org>/: sign-in required, outsiders get 404, nothing cached,
    and the view gets the signed-in user's membership instead of the slug. Remembers the
    organization as the user's current one, where `/` takes them next time."""

    @never_cache  # pages of an organization show its keys and people: nobody keeps a copy
    @login_required
    @wraps(view)
    def wrapper(request, org, *args, **kwargs):
        membership = get_membership_or_404(request.user, org)
        if request.session.get(CURRENT_ORG_SESSION_KEY) != membership.organization.slug:
            request.session[CURRENT_ORG_SESSION_KEY] = membership.organization.slug
        language = getattr(request, "LANGUAGE_CODE", "")
        if language and request.user.language != language:
            # Remembered for the emails this user gets (written only when it changes).
            User.objects.filter(pk=request.user.pk).update(language=language)
            request.user.language = language
        request.membership = membership
        return view(request, membership, *args, **kwargs)

    return wrapper

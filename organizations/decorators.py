"""The decorators of views under /o/<org>/: who may see them, and the dialog contract."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from .access import get_membership_or_404

CURRENT_ORG_SESSION_KEY = "current_organization"


def organization_view(view):
    """Sign-in required, outsiders get 404, nothing cached (pages of an organization show
    its keys and people: nobody keeps a copy); the view gets the signed-in user's
    membership instead of the slug. The organization becomes the user's current one,
    where `/` takes them next time."""

    @never_cache
    @login_required
    @wraps(view)
    def wrapper(request, org, *args, **kwargs):
        membership = get_membership_or_404(request.user, org)
        remember_current(request, membership)
        return view(request, membership, *args, **kwargs)

    return wrapper


def remember_current(request, membership) -> None:
    """The organization `/` goes to next time (organizations.views.home)."""
    if request.session.get(CURRENT_ORG_SESSION_KEY) != membership.organization.slug:
        request.session[CURRENT_ORG_SESSION_KEY] = membership.organization.slug


def dialog_view(view):
    """A dialog with its own URL, in an organization: GET shows it (for a plain request,
    its page with the dialog open), POST acts; htmx and plain requests get different
    answers from the same URL, so caches keep them apart (Vary: HX-Request)."""
    return require_http_methods(["GET", "POST"])(
        vary_on_headers("HX-Request")(organization_view(view))
    )

from urllib.parse import urlencode

from allauth.account.adapter import get_adapter
from allauth.account.views import LoginView as AllauthLoginView
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms.forms import NON_FIELD_ERRORS
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import check_for_language
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from organizations import invitations
from organizations.models import Role, User

from . import services, time_zones
from .forms import ProfileForm


@require_http_methods(["GET", "POST"])
@never_cache
@login_required
def profile(request):
    """Your name, language and emails (email, password, two-factor and sessions are
    allauth's). Your own settings only: no fresh sign-in needed."""
    user = request.user
    initial = {
        "language": user.language if user.language_chosen else "",
        # Until they choose one, the browser's (accounts.time_zones).
        "time_zone": user.time_zone or time_zones.browser_zone(request) or "UTC",
    }
    manages_keys = user.memberships.filter(role__in=[Role.OWNER, Role.ADMIN]).exists()
    form = ProfileForm(
        request.POST or None, instance=user, initial=initial, manages_keys=manages_keys
    )
    if request.method == "POST" and form.is_valid():
        language = form.cleaned_data["language"]
        if language:
            translation.activate(language)
        services.update_profile(
            user,
            name=form.cleaned_data["name"],
            language=language,
            time_zone=form.cleaned_data["time_zone"] or user.time_zone,
            stale_key_digest=form.cleaned_data.get("stale_key_digest"),
        )
        messages.success(request, _("Profile saved."))
        response = redirect("account_profile")
        if language:
            set_language_cookie(response, language)
        else:  # as the browser asks: no choice of this browser's left to override it
            response.delete_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response
    status = 400 if form.is_bound else 200
    return render(request, "account/profile.html", {"form": form}, status=status)


@require_POST
def set_language(request):
    """Django's language switcher, and the choice kept on the account of a signed-in
    person, for their emails."""
    response = i18n.set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and check_for_language(language):
        services.choose_language(request.user, language)
    return response


def set_language_cookie(response, language: str) -> None:
    """What Django's own language switcher sets, so LocaleMiddleware picks it next time."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


class LoginView(AllauthLoginView):
    """allauth's sign-in, answering 429 (not 200) while the lockout holds, like every
    other refusal for too many attempts here."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "too_many_login_attempts"):
            response.status_code = 429
        return response


login = LoginView.as_view()


@require_http_methods(["GET", "POST"])
@never_cache
def invitation(request, token):
    """Where an invitation's link lands. Signed in as the invited address: join (a POST).
    Anonymous: sign up (no account yet) or sign in (an account exists), then join."""
    try:
        invitation = invitations.find(token)
        if request.user.is_authenticated:
            if request.method == "POST":
                membership = invitations.accept(invitation, request.user)
                invitations.forget(request)
                messages.success(
                    request,
                    _("Welcome to %(organization)s.")
                    % {"organization": membership.organization.name},
                )
                return redirect("apikeys:list", org=membership.organization.slug)
            invitations.check_addressee(invitation, request.user)
            return render(request, "account/invitation.html", {"invitation": invitation})
    except invitations.Refused as refusal:
        return render(
            request,
            "account/invitation_refused.html",
            {"reason": str(refusal), "wrong_account": refusal.status == 403},
            status=refusal.status,
        )
    if request.method == "POST":
        return redirect(request.path)
    invitations.remember(request, invitation)
    if User.objects.filter(email=invitation.email).exists():
        return redirect(f"{reverse('account_login')}?{urlencode({'next': request.path})}")
    # The link proves the address: no verification code for it (allauth's stash).
    get_adapter(request).stash_verified_email(request, invitation.email)
    return redirect("account_signup")

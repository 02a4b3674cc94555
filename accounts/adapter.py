"""How django-allauth fits the console: which client IP its limits count, what its
lockout is keyed on, who may sign up, and what a sign-up saves."""

from urllib.parse import quote

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from allauth.mfa.adapter import DefaultMFAAdapter
from django.conf import settings
from django.contrib import messages
from django.contrib.sites.shortcuts import get_current_site
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from infra import client_ip, mail


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        # allauth's says both may be case-sensitive; the email isn't (sign-in lowercases).
        "email_password_mismatch": gettext_lazy(
            "The email address or the password is not right. Passwords are case-sensitive."
        ),
    }

    def get_client_ip(self, request) -> str:
        # The one decision of infra.client_ip (TRUSTED_PROXIES), not allauth's own
        # reading of X-Forwarded-For. A Unix-socket peer has no address: count it as one.
        return client_ip.of_request(request) or "0.0.0.0"  # noqa: S104

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        """What the per-key failed sign-in limit counts: the email as sign-in finds it
        (stripped, lowercased) *and* the client IP. allauth counts the email alone, so
        five wrong passwords from anywhere would lock its owner out everywhere; the pair
        keeps the lockout on the attacker. Private in allauth (pinned <66, and
        tests/test_client_ip.py's per-client lockout test fails if it stops being used)."""
        email = credentials.get("email", credentials.get("username", "")) or ""
        return f"{email.strip().lower()}|{client_ip.network_of(self.get_client_ip(request))}"

    def authenticate(self, request, **credentials):
        """A service account never signs in, whatever password an operator gave it: the
        backends refuse it (accounts.backends), and allauth's fallback for refused users
        (which leads an inactive person to a page saying so) must not pick it up either."""
        user = super().authenticate(request, **credentials)
        return None if user is not None and user.is_service_account else user

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # Everything allauth mails holds a secret (a reset link, a code): sent now, never
        # queued in the database (infra.mail).
        request = allauth_context.request
        site = get_current_site(request)  # without django.contrib.sites: the request's host
        context = {"request": request, "email": email, "current_site": site, **context}
        mail.deliver(self.render_mail(template_prefix, email, context))

    # Every link allauth mails is on PUBLIC_URL (infra.mail.public_url): allauth builds
    # them from the request, whose Host header (and port) the client chose.
    def get_reset_password_from_key_url(self, key: str) -> str:
        # allauth's own way of writing the opaque key into its URL pattern.
        path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
        return mail.public_url(path.replace("UID-KEY", quote(key)))

    def send_account_already_exists_mail(self, email: str) -> None:
        links = {
            "signup_url": mail.public_url(reverse("account_signup")),
            "password_reset_url": mail.public_url(reverse("account_reset_password")),
        }
        self.send_mail("account/email/account_already_exists", email, links)

    def is_open_for_signup(self, request) -> bool:
        """Sign-up is by invitation, unless GENESIS_OPEN_SIGNUP is on: an invitation to
        an address that has no account yet (one that has signs in and joins instead)."""
        from organizations import invitations
        from organizations.models import User

        if settings.GENESIS_OPEN_SIGNUP:
            return True
        invitation = invitations.pending(request)
        return invitation is not None and not User.objects.filter(email=invitation.email).exists()

    def save_user(self, request, user, form, commit=True):
        """A sign-up saves the name and language too, and through an invitation joins its
        organization in the same transaction as the account."""
        from organizations import invitations

        user = super().save_user(request, user, form, commit=False)
        user.email = user.email.lower()
        user.name = form.cleaned_data["name"].strip()
        user.language = getattr(request, "LANGUAGE_CODE", "") or ""
        if commit:
            with transaction.atomic():
                user.save()
                joined = invitations.accept_pending(request, user)
            if joined is not None:
                messages.success(
                    request,
                    _("Welcome to %(organization)s.") % {"organization": joined.organization.name},
                )
        return user

    def post_login(self, request, user, *, signup: bool, **kwargs):
        """A sign-up (with a password or a passkey, through an invitation or open sign-up)
        counts as a fresh sign-in (accounts.sudo)."""
        if signup:
            from . import sudo

            sudo.record_sign_up(request, user)
        return super().post_login(request, user, signup=signup, **kwargs)


class MFAAdapter(DefaultMFAAdapter):
    def get_public_key_credential_rp_entity(self) -> dict[str, str]:
        # What passkey prompts call us (allauth's default is the host name); the id stays
        # the request's host, which ALLOWED_HOSTS has already checked.
        return {**super().get_public_key_credential_rp_entity(), "name": "Genesis Console"}

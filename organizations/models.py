from datetime import datetime

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        from accounts.services import vouch_for_email  # an operator made this account

        vouch_for_email(user)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        """Sign-in is case-insensitive on the email address, by Python's str.lower(), the
        rule the sign-in lockout counts with (accounts.adapter): the database's own
        folding is looser (PostgreSQL's UPPER turns a dotless i, U+0131, into "I"), and let
        such a spelling sign in as admin@ while a lockout counted failures for admin@."""
        wanted = username.strip().lower()
        for user in self.filter(email__iexact=username.strip()):
            if user.email.lower() == wanted:
                return user
        raise self.model.DoesNotExist


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("email address"), unique=True)
    name = models.CharField(max_length=150)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # The console language: the one the person chose, else the one their browser asked
    # for last, for emails (blank: the default language).
    language = models.CharField(max_length=10, blank=True)
    # Deleted by an operator: the row stays, anonymised, so the keys, grants and audit
    # events that point at it keep their history (operators.services.delete_person).
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Whether they chose it (the switcher, the profile): it then follows them to every
    # browser they sign in on; until then each browser's own language is used.
    language_chosen = models.BooleanField(default=False)
    # An IANA zone ("Asia/Tokyo") every time is shown in, for the console and emails;
    # blank: not known yet, the browser's (accounts.time_zones).
    time_zone = models.CharField(max_length=64, blank=True, default="")
    # The weekly digest of stale keys, for the organizations they are an Admin or Owner
    # of (apikeys.digests); each person may turn it off in their profile. A database
    # default too: the previous release's code makes people without naming it.
    stale_key_digest = models.BooleanField(default=True, db_default=True)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["email"]

    def __str__(self):
        # Never a service account's .invalid address: its name says what it is.
        if self.email.endswith(f"@{ServiceAccount.EMAIL_DOMAIN}"):
            return f"{self.name} (service account)"
        return self.email

    def get_full_name(self):
        return self.name

    def get_short_name(self):
        return self.name

    @property
    def is_service_account(self) -> bool:
        """Automation's identity in one organization, not a person (ServiceAccount)."""
        try:
            self.service_account  # noqa: B018 (cached once loaded, even when missing)
        except ObjectDoesNotExist:
            return False
        return True


class Organization(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Set by Owners: new API keys must expire within this many days (None: no limit).
    max_key_lifetime_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # Set by Owners: members must turn on two-factor before they create or roll keys.
    require_two_factor = models.BooleanField(default=False)
    # Closed by an operator: no members, no working key or grant, nobody joins; the row
    # stays for its audit log (operators.services.close_organization).
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MEMBER = "member", _("Member")


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_org")
        ]

    def __str__(self):
        return f"{self.user} in {self.organization} ({self.get_role_display()})"

    @property
    def is_admin(self) -> bool:
        """Admins and Owners manage the organization's keys and members."""
        return self.role in (Role.OWNER, Role.ADMIN)

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER


class AuditAction(models.TextChoices):
    # One form for every label in every language (a noun phrase: "API key created"), with
    # a context of its own, apart from the same words in dialogs.
    KEY_CREATED = "key_created", pgettext_lazy("audit action", "API key created")
    KEY_DELETED = "key_deleted", pgettext_lazy("audit action", "API key deleted")
    KEY_REVOKED = "key_revoked", pgettext_lazy("audit action", "API key revoked")
    KEY_AUTO_REVOKED = (
        "key_auto_revoked",
        pgettext_lazy("audit action", "API keys revoked automatically"),
    )
    KEY_RENAMED = "key_renamed", pgettext_lazy("audit action", "API key renamed")
    KEY_ROLLED = "key_rolled", pgettext_lazy("audit action", "API key rolled")
    KEY_REFUSED = "key_refused", pgettext_lazy("audit action", "API key refused")
    KEY_LEAKED = "key_leaked", pgettext_lazy("audit action", "API key reported leaked")
    MEMBER_ADDED = "member_added", pgettext_lazy("audit action", "Member added")
    MEMBER_REMOVED = "member_removed", pgettext_lazy("audit action", "Member removed")
    ROLE_CHANGED = "role_changed", pgettext_lazy("audit action", "Role changed")
    POLICY_CHANGED = "policy_changed", pgettext_lazy("audit action", "Policy changed")
    MEMBER_INVITED = "member_invited", pgettext_lazy("audit action", "Member invited")
    INVITATION_ACCEPTED = (
        "invitation_accepted",
        pgettext_lazy("audit action", "Invitation accepted"),
    )
    INVITATION_REVOKED = "invitation_revoked", pgettext_lazy("audit action", "Invitation revoked")
    TWO_FACTOR_ENABLED = "two_factor_enabled", pgettext_lazy("audit action", "Two-factor enabled")
    TWO_FACTOR_DISABLED = (
        "two_factor_disabled",
        pgettext_lazy("audit action", "Two-factor disabled"),
    )
    APP_AUTHORIZED = "app_authorized", pgettext_lazy("audit action", "App authorized")
    APP_REVOKED = "app_revoked", pgettext_lazy("audit action", "Authorized app revoked")
    SERVICE_ACCOUNT_CREATED = (
        "service_account_created",
        pgettext_lazy("audit action", "Service account created"),
    )
    SERVICE_ACCOUNT_DISABLED = (
        "service_account_disabled",
        pgettext_lazy("audit action", "Service account disabled"),
    )
    SERVICE_ACCOUNT_ENABLED = (
        "service_account_enabled",
        pgettext_lazy("audit action", "Service account enabled"),
    )
    SERVICE_ACCOUNT_DELETED = (
        "service_account_deleted",
        pgettext_lazy("audit action", "Service account deleted"),
    )
    # SCIM provisioning (scim): its tokens, and what the identity provider changed.
    SCIM_TOKEN_CREATED = (
        "scim_token_created",
        pgettext_lazy("audit action", "SCIM token created"),
    )
    SCIM_TOKEN_REVOKED = (
        "scim_token_revoked",
        pgettext_lazy("audit action", "SCIM token revoked"),
    )
    SCIM_USER_UPDATED = (
        "scim_user_updated",
        pgettext_lazy("audit action", "Directory profile updated"),
    )
    SCIM_USER_DELETED = (
        "scim_user_deleted",
        pgettext_lazy("audit action", "Directory profile deleted"),
    )
    # What operators do to an organization (in its log) ...
    ORGANIZATION_CREATED = (
        "organization_created",
        pgettext_lazy("audit action", "Organization created"),
    )
    ORGANIZATION_RENAMED = (
        "organization_renamed",
        pgettext_lazy("audit action", "Organization renamed"),
    )
    ORGANIZATION_CLOSED = (
        "organization_closed",
        pgettext_lazy("audit action", "Organization closed"),
    )
    ORGANIZATION_REOPENED = (
        "organization_reopened",
        pgettext_lazy("audit action", "Organization reopened"),
    )
    # ... and to a person (the operators' log: no organization).
    ACCOUNT_CREATED = "account_created", pgettext_lazy("audit action", "Account created")
    ACCOUNT_SUSPENDED = "account_suspended", pgettext_lazy("audit action", "Account suspended")
    ACCOUNT_REACTIVATED = (
        "account_reactivated",
        pgettext_lazy("audit action", "Account reactivated"),
    )
    ACCOUNT_DELETED = "account_deleted", pgettext_lazy("audit action", "Account deleted")
    CREDENTIALS_REVOKED = (
        "credentials_revoked",
        pgettext_lazy("audit action", "Every credential revoked"),
    )
    TWO_FACTOR_RESET = "two_factor_reset", pgettext_lazy("audit action", "Two-factor reset")
    PASSWORD_SET = "password_set", pgettext_lazy("audit action", "Password set by an operator")
    EMAIL_CHANGED = "email_changed", pgettext_lazy("audit action", "Email address changed")
    STAFF_GRANTED = "staff_granted", pgettext_lazy("audit action", "Operator rights granted")
    STAFF_REMOVED = "staff_removed", pgettext_lazy("audit action", "Operator rights removed")


# The operators' log: what operators did to a person, written with no organization.
OPERATORS_LOG_ACTIONS = frozenset(
    {
        AuditAction.ACCOUNT_CREATED,
        AuditAction.ACCOUNT_SUSPENDED,
        AuditAction.ACCOUNT_REACTIVATED,
        AuditAction.ACCOUNT_DELETED,
        AuditAction.CREDENTIALS_REVOKED,
        AuditAction.TWO_FACTOR_RESET,
        AuditAction.PASSWORD_SET,
        AuditAction.EMAIL_CHANGED,
        AuditAction.STAFF_GRANTED,
        AuditAction.STAFF_REMOVED,
    }
)


# Operators give a reason for these (audit details' "reason" is theirs, in their words).
OPERATORS_REASONED_ACTIONS = OPERATORS_LOG_ACTIONS | {
    AuditAction.ORGANIZATION_CLOSED,
    AuditAction.ORGANIZATION_REOPENED,
}


class ServiceAccount(models.Model):
    """A member that is not a person: automation's own identity in one organization, so
    its keys outlive whoever made them. It is a user (its keys are checked like anyone's,
    by the key check's one query: active user, current membership, role) with a
    membership whose role is never Owner, and it can't sign in: no password, an address
    on .invalid that no mail reaches, and the sign-in backends refuse it
    (accounts.backends). Disabling it deactivates its user: every key is refused at once
    and works again when it is enabled. Deleting it revokes its keys and ends its
    membership; the row stays, so its revoked keys keep their history."""

    # RFC 2606 reserves .invalid: nothing is ever delivered there, and no person's address
    # can be one, so a service account's user can't be mistaken for a person's.
    EMAIL_DOMAIN = "service-accounts.invalid"

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, primary_key=True, related_name="service_account"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="service_accounts"
    )
    description = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user__name", "pk"]

    def __str__(self):
        return f"{self.user.name} (service account in {self.organization})"

    @property
    def is_disabled(self) -> bool:
        return not self.user.is_active


class Invitation(models.Model):
    """An email invited into an organization with a role, by a single-use link. The link's
    token is kept only as its SHA-256 (organizations.invitations)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()  # lowercased
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            # One open invitation per address and organization: inviting again renews it.
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            )
        ]

    def __str__(self):
        return f"{self.email} to {self.organization} ({self.get_role_display()})"

    @property
    def is_open(self) -> bool:
        """Not accepted and not revoked (it may still have expired)."""
        return self.accepted_at is None and self.revoked_at is None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class AuditEvent(models.Model):
    """One entry of an organization's audit log, or with no organization of the
    operators' log (what operators did to people). Written by services, never edited;
    an organization with a log is closed, never deleted (PROTECT)."""

    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    created_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=30, choices=AuditAction.choices)
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    target_user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What was acted on, in words: a key's name and hint, a member's email.
    target = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at", "-id"])]

    def __str__(self):
        return f"{self.get_action_display()}: {self.target}"

    # The organization's policies, by the name their events carry in details["policy"].
    POLICIES = {
        "max_key_lifetime": _("Maximum API key lifetime"),
        "two_factor": _("Two-factor authentication"),
        "sso": _("Single sign-on"),
        "sso_domain": _("Verified domains"),
    }

    def shown_target(self) -> str:
        """What was acted on, in the reader's language: from the event's data where the
        target is one of ours (a policy, a number of keys), else the name as it was
        stored. The one place a target is put into words (the page and the CSV)."""
        details = self.details or {}
        if self.action == AuditAction.POLICY_CHANGED and details.get("policy") in self.POLICIES:
            return str(self.POLICIES[details["policy"]])
        if self.action == AuditAction.KEY_AUTO_REVOKED and isinstance(details.get("count"), int):
            count = details["count"]
            return ngettext("%(count)s API key", "%(count)s API keys", count) % {"count": count}
        return self.target

    @staticmethod
    def _single_sign_on_summary(details: dict) -> str:
        """Words for sso.services' events (never the client secret: none is logged)."""
        if "connected" in details:
            return _("connected to %(issuer)s") % {"issuer": details["connected"]}
        if "disconnected" in details:
            return _("removed (%(issuer)s)") % {"issuer": details["disconnected"]}
        if "changed" in details:
            changed = _("changed: %(issuer)s") % {"issuer": details["changed"]}
            if details.get("secret_replaced"):
                return f"{changed} · {_('client secret replaced')}"
            return str(changed)
        required = (details.get("require_sso") or {}).get("to")
        if required:
            return _("SSO required; break-glass Owner: %(email)s") % {
                "email": details.get("break_glass") or "?"
            }
        return _("SSO not required")

    @property
    def actor_label(self) -> str:
        """Who acted when no user did: a program under its label ("SCIM: Okta",
        organizations.audit.acting_as), else ''."""
        label = (self.details or {}).get("actor")
        return label if isinstance(label, str) and self.actor_id is None else ""

    def summary(self) -> str:
        """The details in words, for the audit log page."""
        details = self.details or {}
        roles = dict(Role.choices)
        if self.action == AuditAction.ROLE_CHANGED:
            return f"{roles.get(details.get('from'), '?')} → {roles.get(details.get('to'), '?')}"
        if self.action in (
            AuditAction.MEMBER_ADDED,
            AuditAction.MEMBER_INVITED,
            AuditAction.INVITATION_ACCEPTED,
            AuditAction.SERVICE_ACCOUNT_CREATED,
        ):
            return _("as %(role)s") % {"role": roles.get(details.get("role"), "?")}
        if self.action == AuditAction.KEY_AUTO_REVOKED:
            reason = {
                "member_removed": _("member removed"),
                "user_deactivated": _("user deactivated"),
                "account_deleted": _("service account deleted"),
            }
            return f"{reason.get(details.get('reason'), details.get('reason', ''))}: " + ", ".join(
                details.get("keys", [])
            )
        if self.action == AuditAction.KEY_RENAMED:
            parts = []
            if details.get("from") != details.get("to"):
                parts.append(f"“{details.get('from')}” → “{details.get('to')}”")
            if "description" in details:
                described = _("described as “%(text)s”") % {"text": details["description"]}
                parts.append(described if details["description"] else _("description removed"))
            return " · ".join(str(part) for part in parts)
        if self.action == AuditAction.ORGANIZATION_RENAMED:
            return f"“{details.get('from')}” → “{details.get('to')}”"
        # What operators did, for them (Django admin), in English.
        if self.action == AuditAction.EMAIL_CHANGED:
            return f"{details.get('from')} → {details.get('to')}"
        if self.action in (AuditAction.STAFF_GRANTED, AuditAction.STAFF_REMOVED):

            def rights(held):
                return ", ".join(right for right, on in (held or {}).items() if on) or "none"

            return f"{rights(details.get('from'))} → {rights(details.get('to'))}"
        if "reason" in details and self.action in OPERATORS_REASONED_ACTIONS:
            return f"Reason: {details['reason']}"
        if self.action == AuditAction.KEY_REFUSED:
            return _("refused from %(ip)s") % {"ip": details.get("ip", "?")}
        if self.action == AuditAction.KEY_ROLLED:
            return _("new key %(hint)s") % {"hint": details.get("new_key", "")}
        if self.action == AuditAction.POLICY_CHANGED and details.get("policy") == "two_factor":
            return _("two-factor required") if details.get("to") else _("two-factor not required")
        if self.action in (AuditAction.TWO_FACTOR_ENABLED, AuditAction.TWO_FACTOR_DISABLED):
            methods = {"totp": _("authenticator app"), "webauthn": _("passkey")}
            return str(methods.get(details.get("method"), details.get("method", "")))
        if self.action == AuditAction.POLICY_CHANGED and details.get("policy") == "sso":
            return self._single_sign_on_summary(details)
        if self.action == AuditAction.POLICY_CHANGED and details.get("policy") == "sso_domain":
            if "verified" in details:
                return _("%(domain)s verified by a code mailed to %(email)s") % {
                    "domain": details["verified"],
                    "email": details.get("by", "?"),
                }
            if "removed" in details:
                return _("%(domain)s removed") % {"domain": details["removed"]}
            return _("%(domain)s added") % {"domain": details.get("added", "?")}
        if self.action == AuditAction.POLICY_CHANGED:

            def days(value):
                return _("%(days)s days") % {"days": value} if value else _("no limit")

            return f"{days(details.get('from'))} → {days(details.get('to'))}"
        if self.action == AuditAction.KEY_CREATED:
            from . import scopes  # the vocabulary only (no models): words for it

            parts = []
            if "scopes" in details:
                parts.append(scopes.describe(frozenset(details["scopes"])))
            if details.get("expires_at"):
                # The day in the reader's zone (stored in UTC, with its offset).
                expires = timezone.localtime(datetime.fromisoformat(details["expires_at"]))
                parts.append(_("expires %(date)s") % {"date": expires.date().isoformat()})
            if details.get("allowed_ips"):
                networks = ", ".join(details["allowed_ips"])
                parts.append(_("Only from %(networks)s") % {"networks": networks})
            return " · ".join(str(part) for part in parts)
        return ""

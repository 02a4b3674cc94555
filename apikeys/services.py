"""Every change to API keys, and the one way a key is checked. Views, Django admin, the API
and the MCP server all come through here."""

import functools
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables

from infra import faults, limits
from infra.last_use import client_name, may_rename_client, valid_ip
from organizations import audit
from organizations import scopes as scopes_
from organizations.models import AuditAction, Membership, Organization, User

from . import allowlist, keys, notices
from .models import ApiKey, RevokeReason, Surface


class NotAMember(Exception):
    """Keys are only made for members of the organization."""


class PolicyError(Exception):
    """The organization's key policy forbids this; the message is for the user."""


class KeyGone(Exception):
    """The key was deleted, revoked or rolled meanwhile (another tab, another Admin)."""


# Seconds of slack between a form computing an expiry and the service checking it.
_POLICY_SLACK = timedelta(minutes=5)


def check_expiry(organization: Organization, expires_at) -> None:
    """Raise PolicyError unless `expires_at` (None: never) suits the organization."""
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise PolicyError(_("Choose an expiry date in the future."))
    days = organization.max_key_lifetime_days
    if days is not None and (
        expires_at is None or expires_at > now + timedelta(days) + _POLICY_SLACK
    ):
        raise PolicyError(
            _("%(organization)s allows API keys for at most %(days)s days.")
            % {"organization": organization.name, "days": days}
        )


class AlreadyCreated(Exception):
    """This creation form was already submitted; `key` is what it made (its secret was
    shown in that first response only)."""

    def __init__(self, key):
        self.key = key


@dataclass(frozen=True, slots=True)
class KeyContext:
    """What a valid key stands for, as of this request: the plain values of
    authenticate's one query (building model instances from its row cost more than the
    query). The API's /me and the MCP server's whoami answer with the fields of the same
    names; never the secret."""

    key_id: int
    key_name: str
    key_hint: str
    key_created_at: datetime
    key_expires_at: datetime | None
    last_used_at: datetime | None
    last_used_surface: str
    last_used_client: str
    user_id: int
    user_email: str
    user_name: str
    organization_id: int
    organization_name: str
    organization_slug: str
    role: str
    scopes: frozenset  # effective: what it was given, within the owner's current role

    @property
    def credential(self) -> str:
        return f"apikey:{self.key_id}"


class NameTaken(Exception):
    """The owner already has an active key of this name in the organization (as GitHub
    refuses a second token with the same note); the message is for the user."""


@sensitive_variables("plaintext")
def create_key(
    user: User,
    organization: Organization,
    name: str,
    expires_at=None,
    form_id=None,
    allowed_ips: str = "",
    scopes=scopes_.DEFAULT,
    created_by: User | None = None,
    description: str = "",
) -> tuple[ApiKey, str]:
    """Create a key and return it with its plaintext.

    The plaintext exists only in the return value: the caller shows it once and drops it.
    `form_id` identifies the submitted form: a second submission of the same form raises
    AlreadyCreated instead of making a second key. `created_by` is who made it, when that
    is not `user` (an Admin making a service account's key). A name the owner's active
    keys in the organization already use raises NameTaken.
    """
    try:
        return _create_key(
            user,
            organization,
            name,
            expires_at=expires_at,
            form_id=form_id,
            allowed_ips=allowed_ips,
            scopes=scopes,
            created_by=created_by,
            description=description,
        )
    except IntegrityError:
        existing = ApiKey.objects.filter(user=user, form_id=form_id).first()
        if form_id is None or existing is None:
            raise
        raise AlreadyCreated(existing) from None


def _lock_membership(user_id: int, organization_id: int) -> str | None:
    """Lock the owner's membership and return its role (None: not a member). A concurrent
    removal either waits for what this transaction writes and then revokes it, or has
    already removed the member; two writes of the same owner's keys (the same name from
    two tabs) wait for each other."""
    locked = Membership.objects.select_for_update(of=("self",)).filter(
        user_id=user_id, organization_id=organization_id
    )
    return locked.values_list("role", flat=True).first()


def _refuse_taken_name(user: User, organization_id: int, name: str, *, besides=None) -> None:
    """NameTaken if another of the owner's working keys in the organization has `name`
    (in any case). The old half of a roll is the same key, not another."""
    others = ApiKey.objects.active().filter(
        user_id=user.pk, organization_id=organization_id, name__iexact=name, replaced_by=None
    )
    if besides is not None:
        others = others.exclude(pk=besides.pk)
    if not others.exists():
        return
    if user.is_service_account:
        raise NameTaken(
            _("%(account)s already has an active API key named “%(name)s”. Choose another name.")
            % {"account": user.name, "name": name}
        )
    raise NameTaken(
        _("You already have an active API key named “%(name)s”. Choose another name.")
        % {"name": name}
    )


@sensitive_variables("plaintext")
@transaction.atomic
def _create_key(
    user,
    organization,
    name,
    *,
    expires_at=None,
    form_id=None,
    allowed_ips="",
    scopes=scopes_.DEFAULT,
    created_by=None,
    description="",
    replacing=None,
):
    role = _lock_membership(user.pk, organization.pk)
    # After the lock: the same form sent twice at once waits here for the first, and then
    # finds its key (rather than its name taken).
    if form_id is not None:
        existing = ApiKey.objects.filter(user=user, form_id=form_id).first()
        if existing is not None:
            raise AlreadyCreated(existing)
    if role is None:
        raise NotAMember
    if scopes_.ORG_ADMIN in scopes and role not in scopes_.ADMIN_ROLES:
        raise PolicyError(_("Only Admins and Owners can give a key organization administration."))
    if not scopes_.parse(scopes_.serialize(scopes)) - {scopes_.ORG_ADMIN}:
        raise PolicyError(_("Choose at least one of the Genesis API and the MCP server."))
    check_expiry(organization, expires_at)
    _refuse_taken_name(user, organization.pk, name, besides=replacing)
    plaintext = keys.generate()
    pepper_id = keys.current_pepper_id()
    key = ApiKey.objects.create(
        user=user,
        created_by=created_by or user,
        organization=organization,
        name=name,
        description=description,
        hint=keys.hint(plaintext),
        digest=keys.digest(plaintext, pepper_id),
        pepper_id=pepper_id,
        expires_at=expires_at,
        form_id=form_id,
        allowed_ips=allowlist.parse(allowed_ips),
        scopes=scopes_.serialize(scopes),
    )
    details = {"expires_at": _iso(expires_at), "scopes": key.scopes.split()}
    if key.allowed_ips:
        details["allowed_ips"] = allowlist.entries(key.allowed_ips)
    audit_key(key, AuditAction.KEY_CREATED, details=details)
    return key, plaintext


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def audit_key(key: ApiKey, action: str, *, actor: User | None = None, details=None) -> None:
    audit.record(
        key.organization_id,
        action,
        actor_id=actor.pk if actor else None,
        target_user_id=key.user_id,
        target=f"{key.name} ({key.hint})",
        details=details,
    )


def _revoke(key: ApiKey, actor: User | None, reason: str) -> bool:
    """Revoke unless already revoked. Returns whether this call did it, so a second tab or
    a double submit gets a friendly answer rather than an error."""
    now = timezone.now()
    updated = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=actor, revoke_reason=reason
    )
    if updated:
        key.revoked_at, key.revoked_by, key.revoke_reason = now, actor, reason
    return bool(updated)


@transaction.atomic
def delete_key(key: ApiKey, actor: User) -> bool:
    """The owner deletes their own key. Kept as a revoked row, so its history stays."""
    deleted = _revoke(key, actor, RevokeReason.DELETED)
    if deleted:
        audit_key(key, AuditAction.KEY_DELETED, actor=actor)
    return deleted


def revoke_key(key: ApiKey, actor: User | None) -> bool:
    """An Admin, Owner or operator revokes a key of the organization."""
    return revoke_keys([key], actor) == 1


@transaction.atomic
def revoke_keys(keys, actor: User | None) -> int:
    """Revoke keys (an operator's selection, or all of a person's): each in the log, and
    one email per person telling them which (apikeys.notices). Returns how many this call
    revoked (others were revoked already)."""
    revoked = [key for key in keys if _revoke(key, actor, RevokeReason.REVOKED)]
    for key in revoked:
        audit_key(key, AuditAction.KEY_REVOKED, actor=actor)
    notices.keys_revoked(revoked, actor)
    return len(revoked)


def revoke_leaked(key: ApiKey) -> bool:
    """A report said the key is out in the open (apikeys.leaks): revoked by nobody."""
    return _revoke(key, None, RevokeReason.LEAKED)


@transaction.atomic
def rename_key(key: ApiKey, name: str, description: str | None = None) -> None:
    """A new name (refused, NameTaken, where another of the owner's working keys has it)
    and, unless None, a new description."""
    if _lock_membership(key.user_id, key.organization_id) is None:
        raise KeyGone  # its owner left: the key was revoked with the membership
    _refuse_taken_name(key.user, key.organization_id, name, besides=key)
    values = {"name": name} if description is None else {"name": name, "description": description}
    if not ApiKey.objects.unrevoked().filter(pk=key.pk).update(**values):
        raise KeyGone
    old, key.name = key.name, name
    details = {"from": old, "to": name}
    if description is not None and description != key.description:
        key.description = details["description"] = description
    if old != name or "description" in details:
        audit_key(key, AuditAction.KEY_RENAMED, details=details)


# How long the old secret may keep working after a roll (the roll dialog's choices).
ROLL_OVERLAPS = {
    "now": timedelta(0),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}


@sensitive_variables("plaintext")
@transaction.atomic
def roll_key(key: ApiKey, actor: User, overlap: timedelta = timedelta(0)) -> tuple[ApiKey, str]:
    """Replace a key with a new secret: same name, same lifetime (within the organization's
    current limit). The old secret stops working when this commits, or with an `overlap`
    at the end of it (never later than the key's own expiry or the organization's maximum
    lifetime), so clients can move over without an outage. The new secret is returned
    once, like create_key."""
    current = ApiKey.objects.select_for_update(of=("self",)).filter(pk=key.pk).first()
    if (
        current is None
        or current.revoked_at is not None
        or current.is_expired
        or current.replaced_by_id is not None  # the old half of an earlier roll
    ):
        raise KeyGone
    now = timezone.now()
    expires_at = None
    if current.expires_at is not None:
        expires_at = now + (current.expires_at - current.created_at)
    days = current.organization.max_key_lifetime_days
    if days is not None:
        limit = now + timedelta(days)
        expires_at = min(expires_at or limit, limit)
    new_key, plaintext = _create_key(
        current.user,
        current.organization,
        current.name,
        expires_at=expires_at,
        allowed_ips=current.allowed_ips,
        # What it was given, less what its owner's role no longer allows.
        scopes=scopes_.effective(current.scopes, _role(current.user_id, current.organization_id)),
        created_by=actor,
        description=current.description,
        replacing=current,
    )
    old_until = _overlap_end(current, now, overlap)
    if old_until is None:
        _revoke(current, actor, RevokeReason.ROLLED)
    else:
        ApiKey.objects.filter(pk=current.pk).update(expires_at=old_until, replaced_by=new_key)
        current.expires_at, current.replaced_by = old_until, new_key
    audit_key(
        current,
        AuditAction.KEY_ROLLED,
        actor=actor,
        details={"new_key": new_key.hint, "old_key_works_until": _iso(old_until)},
    )
    return new_key, plaintext


def _overlap_end(key: ApiKey, now, overlap: timedelta):
    """When the old secret of a roll stops working, or None for at once."""
    if overlap <= timedelta(0):
        return None
    end = now + overlap
    if key.expires_at is not None:
        end = min(end, key.expires_at)
    days = key.organization.max_key_lifetime_days
    if days is not None:
        end = min(end, key.created_at + timedelta(days))
    return end if end > now else None


def _role(user_id: int, organization_id: int) -> str:
    membership = Membership.objects.filter(user_id=user_id, organization_id=organization_id)
    return membership.values_list("role", flat=True).first() or ""


AUDITED_KEYS_PER_EVENT = 50


def _key_count(count: int) -> str:
    # For readers of the raw row (admin); the log shows details["count"] in the reader's
    # language (AuditEvent.shown_target).
    with translation.override("en"):
        return ngettext("%(count)s API key", "%(count)s API keys", count) % {"count": count}


def revoke_member_keys(
    user_id: int,
    organization_id: int | None,
    reason: str = RevokeReason.MEMBER_REMOVED,
    *,
    organization: Organization | None = None,
) -> int:
    """Revoke every unrevoked key (expired ones too) a user issued in an organization (in
    all of them: None), with one audit event per organization; returns how many."""
    unrevoked = ApiKey.objects.unrevoked().filter(user_id=user_id)
    if organization_id is not None:
        unrevoked = unrevoked.filter(organization_id=organization_id)
    # What is about to be revoked, for the log and the member's email; then one UPDATE.
    labels_by_org = {}
    for org_id, name, hint in unrevoked.values_list("organization_id", "name", "hint"):
        labels_by_org.setdefault(org_id, []).append(f"{name} ({hint})")
    revoked = unrevoked.update(revoked_at=timezone.now(), revoke_reason=reason)
    for org_id, labels in labels_by_org.items():
        audit.record(
            org_id,
            AuditAction.KEY_AUTO_REVOKED,
            target_user_id=user_id,
            target=_key_count(len(labels)),
            details={
                "reason": reason,
                "count": len(labels),
                "keys": labels[:AUDITED_KEYS_PER_EVENT],
            },
        )
        if reason == RevokeReason.MEMBER_REMOVED:
            known = organization if organization and organization.pk == org_id else None
            notices.keys_revoked_on_removal(user_id, org_id, labels, known)
    return revoked


LAST_USED_INTERVAL = timedelta(minutes=1)


def record_use(
    key: KeyContext, *, ip: str | None, surface: str, user_agent: str = "", client_info=None
) -> None:
    """Note when, from where and by what a key was last used: one UPDATE at most once a
    minute per key, so a busy key doesn't turn every request into a write.

    The client is the MCP client's own "name version" (`client_info`, from initialize or
    a request's _meta) where the request gives it, else the User-Agent. MCP clients send
    their name only now and then (the TypeScript SDK on initialize only; mcp-remote
    probes first as `undici`), so a name they gave is written at once, and an MCP request
    without one keeps the name already known rather than put a bare User-Agent in its
    place.
    """
    now = timezone.now()
    due = key.last_used_at is None or now - key.last_used_at >= LAST_USED_INTERVAL
    client_info = client_name(client_info or "")
    if client_info:
        client = client_info
        if not due and (client == key.last_used_client or not may_rename_client(key.credential)):
            return
    elif not due:
        return
    elif surface == key.last_used_surface == Surface.MCP and key.last_used_client:
        client = key.last_used_client
    else:
        client = client_name(user_agent)
    # The condition repeats the check in SQL, so concurrent workers write once between them.
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_INTERVAL)
    if client_info:
        stale |= ~Q(last_used_client=client)
    _bookkeeping_update(
        ApiKey.objects.filter(stale, pk=key.key_id),
        last_used_at=now,
        last_used_ip=valid_ip(ip),
        last_used_surface=surface,
        last_used_client=client,
    )


def record_refusal(key_id: int, organization_id: int, user_id: int, label: str, ip) -> None:
    """A valid key used from outside its allowlist: noted on the key and in the audit log,
    at most once a minute per key (a flood from elsewhere writes nothing more), and never
    at the cost of the answer."""
    if not limits.hit("refusal_records", str(key_id)):
        return
    ip = valid_ip(ip)
    _bookkeeping_update(
        ApiKey.objects.filter(pk=key_id), last_refused_at=timezone.now(), last_refused_ip=ip
    )
    try:
        with transaction.atomic():
            audit.record(
                organization_id,
                AuditAction.KEY_REFUSED,
                target_user_id=user_id,
                target=label,
                details={"ip": ip or "unknown"},
            )
    except DatabaseError as error:
        faults.report("Refusal not recorded", "the database refused the write", error)


def _bookkeeping_update(rows, **values) -> None:
    """UPDATE for what is written after a key was accepted: it must never cost the request
    its answer. A database error (read-only, locked, gone) is logged once a minute and the
    write dropped. It never waits behind a revoke or a roll: on PostgreSQL a row another
    transaction holds is skipped (SKIP LOCKED); SQLite's writers hold its one lock for
    milliseconds (WAL) and a write that can't get it within SQLite's timeout is dropped
    like any other failure."""
    unlocked = ApiKey.objects.filter(
        pk__in=rows.select_for_update(skip_locked=True).order_by().values("pk")
    )
    # Row locks need a transaction (PostgreSQL); inside one already, the savepoint keeps a
    # failed write from breaking it. SQLite has no row locks: no transaction of its own.
    locks_rows = connection.features.has_select_for_update_skip_locked
    try:
        with transaction.atomic() if locks_rows or connection.in_atomic_block else nullcontext():
            unlocked.update(**values)
    except DatabaseError as error:
        faults.report("Last use not recorded", "the database refused the write", error)
        if not connection.in_atomic_block:
            # A connection opened while the database took no writes (SQLite opens a
            # read-only file read-only) keeps refusing them after it takes them again:
            # the next query gets a new one.
            connection.close()


@functools.cache  # one statement per number of configured peppers
def _key_check_sql(digest_count: int) -> str:
    """The key check, in one statement: every condition a key must meet, at once (its
    digest under any configured pepper, not revoked, not expired, its user active and
    still a member of its organization). A test runs it against an ORM query of the same
    conditions for every way to fail."""
    key, user, organization, membership = (
        connection.ops.quote_name(model._meta.db_table)
        for model in (ApiKey, User, Organization, Membership)
    )
    return f"""
        SELECT k.id, k.name, k.hint, k.digest, k.pepper_id, k.created_at, k.expires_at,
               k.last_used_at, k.last_used_surface, k.last_used_client, k.allowed_ips,
               k.scopes, u.id, u.email, u.name, o.id, o.name, o.slug, m.role
          FROM {key} k
          JOIN {user} u ON u.id = k.user_id
          JOIN {organization} o ON o.id = k.organization_id
          JOIN {membership} m
            ON m.organization_id = k.organization_id AND m.user_id = k.user_id
         WHERE k.digest IN ({", ".join(["%s"] * digest_count)})
           AND k.revoked_at IS NULL
           AND (k.expires_at IS NULL OR k.expires_at > %s)
           AND u.is_active
    """  # noqa: S608 (table names from the models, values as parameters)


def _key_check_row(digests: list[str], now) -> tuple | None:
    """Run the key check through Django's cursor, so that its connection handling (the
    health check of a reused connection, CONN_HEALTH_CHECKS; reconnecting), its database
    errors (infra.faults answers them with a 503) and anyone watching queries (DEBUG, an
    execute_wrapper) all apply. Raw SQL rather than the ORM: building the query with its
    joins and subquery cost more than running it (docs/performance.md)."""
    with connection.cursor() as cursor:
        cursor.execute(_key_check_sql(len(digests)), [*digests, now])
        return cursor.fetchone()


def _aware(value):
    # SQLite hands back naive UTC datetimes; PostgreSQL aware ones.
    if value is not None and timezone.is_naive(value):
        return value.replace(tzinfo=UTC)
    return value


@sensitive_variables("raw_key")
def authenticate(raw_key: object, ip: str | None = None) -> KeyContext | None:
    """The key's context, or None for any key that must not work.

    A malformed key or a bad checksum costs no query. Anything else costs exactly one,
    which checks every condition at once: not revoked, not expired, the user active and
    still a member of the key's organization. No answer is cached, so a revoked key, a
    removed member or a deactivated user is refused on the very next request. A key with
    an IP allowlist works only from `ip` (the client's address) inside it; a refusal for
    that is the same None, and is recorded for the key's owner to see.
    """
    if not keys.is_well_formed(raw_key):
        return None
    digests = keys.candidate_digests(raw_key)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    row = _key_check_row(list(digests.values()), now)
    if row is None:
        return None
    (
        key_id, name, hint, digest, pepper_id, created_at, expires_at,
        last_used_at, last_used_surface, last_used_client, allowed_ips, scopes,
        user_id, email, user_name, organization_id, organization_name, slug, role,
    ) = row  # fmt: skip
    # The digest matched under some pepper; it must be the one the key was made with.
    if digests.get(pepper_id) != digest:
        return None
    if not allowlist.allows(allowed_ips, ip):
        record_refusal(key_id, organization_id, user_id, f"{name} ({hint})", ip)
        return None
    return KeyContext(
        key_id, name, hint, _aware(created_at), _aware(expires_at), _aware(last_used_at),
        last_used_surface, last_used_client,
        user_id, email, user_name, organization_id, organization_name, slug, role,
        scopes_.effective(scopes, role),
    )  # fmt: skip

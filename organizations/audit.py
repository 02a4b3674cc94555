"""The audit trail: who did what, when, from where, to whom. Never a secret.

Services record events inside their transactions. They learn the acting user and IP of
the request through AuditContextMiddleware (Django admin included), so every path that
changes state is covered without passing the request around. Outside a request
(management commands, a shell) there is no actor, and the log shows "system".
A program that is no user (an identity provider through SCIM) acts under a label
(`acting_as`), kept in the event's details as "actor".
"""

import contextlib
import contextvars
from dataclasses import dataclass

from .models import AuditEvent


@dataclass(frozen=True)
class Context:
    actor_id: int | None = None
    ip: str | None = None
    actor_label: str = ""


_context: contextvars.ContextVar[Context] = contextvars.ContextVar(
    "audit_context",
    default=Context(),  # noqa: B039 (frozen, so shared safely)
)


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # REMOTE_ADDR is the client's address, as infra.client_ip decided it.
        token = _context.set(Context(ip=request.META.get("REMOTE_ADDR") or None))
        try:
            return self.get_response(request)
        finally:
            _context.reset(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # After authentication, before the view: the signed-in user is the actor. (The
        # API's stack has no sessions, so no request.user: its callers say who acts.)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            _context.set(Context(actor_id=user.pk, ip=_context.get().ip))


def record(
    organization_id: int | None,
    action: str,
    *,
    actor_id: int | None = None,
    target_user_id: int | None = None,
    target: str = "",
    details: dict | None = None,
) -> AuditEvent:
    """One event in the organization's log, or in the operators' log with no
    organization (what an operator did to a person)."""
    context = _context.get()
    if context.actor_label and actor_id is None and context.actor_id is None:
        details = {**(details or {}), "actor": context.actor_label}
    return AuditEvent.objects.create(
        organization_id=organization_id,
        action=action,
        actor_id=actor_id if actor_id is not None else context.actor_id,
        target_user_id=target_user_id,
        target=target[:200],
        ip=context.ip,
        details=details or {},
    )


def acting_user_id() -> int | None:
    """Who is acting in this request: the signed-in user (an operator in Django admin),
    or None outside a request or before sign-in."""
    return _context.get().actor_id


@contextlib.contextmanager
def acting_as(label: str):
    """Events recorded in this block name `label` as their actor ("SCIM: Okta")."""
    token = _context.set(Context(ip=_context.get().ip, actor_label=label))
    try:
        yield
    finally:
        _context.reset(token)

"""What a key may do: one vocabulary, for keys now and for OAuth grants later.

A scope is "<surface>:<access>" (the OAuth form, space-separated when stored): which
surface a key may use, the Genesis API or the MCP server, read or read-write; and
"org:admin", reading and revoking the organization's keys, for Admins and Owners only.
Read-write carries both scopes of its surface. A key never carries more than its owner's
current role allows: `effective` drops org:admin the moment its owner stops being an
Admin or Owner, on every request."""

from django.utils.translation import gettext_lazy as _

API_READ = "api:read"
API_WRITE = "api:write"
MCP_READ = "mcp:read"
MCP_WRITE = "mcp:write"
ORG_ADMIN = "org:admin"

ALL = (API_READ, API_WRITE, MCP_READ, MCP_WRITE, ORG_ADMIN)
# What a key made without choosing gets, and what keys made before scopes had.
DEFAULT = frozenset({API_READ, API_WRITE, MCP_READ, MCP_WRITE})

SURFACES = {"api": _("Genesis API"), "mcp": _("MCP server")}
ADMIN_ROLES = frozenset({"owner", "admin"})


def build(surfaces, read_only: bool, org_admin: bool) -> frozenset:
    scopes = set()
    for surface in surfaces:
        scopes.add(f"{surface}:read")
        if not read_only:
            scopes.add(f"{surface}:write")
    if org_admin:
        scopes.add(ORG_ADMIN)
    return frozenset(scopes)


def serialize(scopes) -> str:
    return " ".join(scope for scope in ALL if scope in scopes)


def parse(stored: str) -> frozenset:
    return frozenset(scope for scope in stored.split() if scope in ALL)


def effective(stored: str, role: str) -> frozenset:
    """The scopes a key has right now: what it was given, within its owner's role."""
    granted = parse(stored)
    if ORG_ADMIN in granted and role not in ADMIN_ROLES:
        granted = granted - {ORG_ADMIN}
    return granted


def describe(scopes) -> str:
    """In words, for the lists and the reveal dialog: "Genesis API, MCP server · read and
    write · organization admin"."""
    surfaces = [str(label) for surface, label in SURFACES.items() if f"{surface}:read" in scopes]
    writes = any(scope.endswith(":write") for scope in scopes)
    parts = [
        ", ".join(surfaces) or str(_("no surface")),
        str(_("read and write") if writes else _("read only")),
    ]
    if ORG_ADMIN in scopes:
        parts.append(str(_("organization admin")))
    return " · ".join(parts)

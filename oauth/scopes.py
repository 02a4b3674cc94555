"""The scopes an OAuth client may ask for: the MCP server's, from the one vocabulary of
organizations.scopes. A grant is for the MCP server only (its tokens' audience)."""

from django.utils.translation import gettext_lazy as _
from oauth2_provider.scopes import BaseScopes

from organizations import scopes

GRANTABLE = {
    scopes.MCP_READ: _("Read: who you are, your API keys in the organization"),
    scopes.MCP_WRITE: _("Write: delete your API keys"),
    scopes.ORG_ADMIN: _("Organization admin: read and revoke every member's API keys"),
}
# What a client that asks for nothing gets: the MCP server, read and write.
DEFAULT = (scopes.MCP_READ, scopes.MCP_WRITE)


def allowed_for(role: str) -> frozenset:
    """The scopes a person in this role may grant: never beyond the role."""
    granted = frozenset(GRANTABLE)
    return granted if role in scopes.ADMIN_ROLES else granted - {scopes.ORG_ADMIN}


class GrantScopes(BaseScopes):
    def get_all_scopes(self):
        return {name: str(text) for name, text in GRANTABLE.items()}

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        return list(GRANTABLE)

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return list(DEFAULT)

"""OAuth 2.1 for MCP clients, through django-oauth-toolkit: the consent page, the grants
people see as "Authorized apps", and the check of an access token on every MCP request.

A grant (AuthorizedApp) is one person's consent for one client in one organization, with
the scopes they chose. django-oauth-toolkit keeps the codes and tokens (hashed at rest);
the grant points at its current access token and its refresh-token family, so that one
query checks a token, its grant, its person and their membership, as for a key."""

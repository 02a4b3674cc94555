"""The Genesis MCP server: the MCP SDK's Streamable HTTP app at MCP_PATH (API keys) and
MCP_OAUTH_PATH (OAuth access tokens), through the SDK's documented interfaces only.

- `tools`: the tools, and what each needs (TOOL_SCOPES);
- `credentials`: the SDK's TokenVerifier for each path, the one check of a credential;
- `edge`: what the SDK lacks, in front of it (JSON answers, body limits, the client's
  address and name, the throttle, a down dependency as a 503);
- `app`: the two SDK apps behind the SDK's own auth middleware and the scope check, and
  the lifespan that runs their session managers.
"""

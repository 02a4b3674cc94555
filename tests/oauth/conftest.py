import pytest

from . import flow


@pytest.fixture
def client_id(http):
    """A client registered the way MCP clients do (dynamic registration)."""
    return flow.register(http)["client_id"]

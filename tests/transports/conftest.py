import httpx
import pytest


@pytest.fixture
def http(server, transactional_db):
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client

"""Browser tests: Playwright driving Debian's Chromium against the real server.

Without /usr/bin/chromium (a bare machine) they are skipped, saying so; CI installs it and
sets GENESIS_REQUIRE_BROWSER=1, which turns a missing browser into a failure instead."""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from .. import sessions

CHROMIUM = "/usr/bin/chromium"

# A laptop's window and a phone's: what every visual test is run at.
SIZES = {"laptop": (1280, 800), "phone": (375, 812)}


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("GENESIS_REQUIRE_BROWSER"):
        raise pytest.UsageError(f"GENESIS_REQUIRE_BROWSER is set but {CHROMIUM} is missing")
    skip = pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "permissions": ["clipboard-read", "clipboard-write"]}


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the tests
    # make to arrange and check data are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def live(server, transactional_db):
    return server


@pytest.fixture
def one_origin(live):
    """OAuth's clients need the MCP server and the authorization server at one origin,
    PUBLIC_URL's, as nginx makes it in production (tests/servers.py)."""
    if not live.nginx:
        pytest.skip("needs nginx in front (apt-get install nginx): one origin for OAuth")
    return live


@pytest.fixture
def sign_in(live, context):
    """Put a signed-in session for the membership's user into the browser context."""

    def sign_in_as(membership, browser_context=None, *, minutes_ago=0):
        client = sessions.sign_in(Client(), membership.user, minutes_ago=minutes_ago)
        (browser_context or context).add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live.url,
                }
            ]
        )

    return sign_in_as


@pytest.fixture(params=list(SIZES))
def window(request, page):
    """Run the test at each of SIZES (its name, "laptop" or "phone"): the page is that size."""
    width, height = SIZES[request.param]
    page.set_viewport_size({"width": width, "height": height})
    return request.param

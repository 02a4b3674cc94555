"""Screenshots of the console for the README, from demo data in a scratch database.

python -m tests.e2e.screenshots      (writes docs/screenshots/*.png)
"""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"


def main():
    scratch = tempfile.mkdtemp(prefix="genesis-shots-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="genesis.settings",
        DEBUG="1",
        DATABASE_URL=f"sqlite:///{scratch}/shots.sqlite3",
        DJANGO_ALLOW_ASYNC_UNSAFE="true",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from playwright.sync_api import sync_playwright

    from apikeys.services import create_key
    from organizations.models import Membership

    from ..servers import ServerProcess
    from .conftest import CHROMIUM

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    demo_keys = {
        "member@example.com": ["GitHub Actions", "Claude Code"],
        "admin@example.com": ["Deploy bot"],
        "owner@example.com": ["Nightly export"],
    }
    for email, names in demo_keys.items():
        membership = Membership.objects.select_related("user", "organization").get(
            user__email=email, organization__slug="acme"
        )
        for name in names:
            create_key(membership.user, membership.organization, name)

    OUT.mkdir(parents=True, exist_ok=True)
    # The development server on the scratch database (DEBUG: static files as they are).
    serve = [sys.executable, "manage.py", "serve", "--no-reload", "--port", "{port}"]
    with (
        ServerProcess(serve, DJANGO_SETTINGS_MODULE="genesis.settings", DEBUG="1",
                      DATABASE_URL=os.environ["DATABASE_URL"]) as server,
        sync_playwright() as playwright,
    ):  # fmt: skip
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 820})
        page.goto(f"{server.url}/accounts/login/")
        page.get_by_label("Email").fill("admin@example.com")
        page.get_by_label("Password").fill("genesis-demo")
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.get_by_role("heading", name="Organization API Keys").wait_for()
        page.screenshot(path=OUT / "api-keys.png", full_page=True)
        page.get_by_role("region", name="Organization API Keys").screenshot(
            path=OUT / "organization-api-keys.png"
        )
        page.get_by_role("button", name="Create API key").first.click()
        page.get_by_label("Key name").fill("Staging smoke tests")
        page.get_by_role("dialog").get_by_role("button", name="Create API key").click()
        page.get_by_role("dialog", name="API key created").wait_for()
        page.screenshot(path=OUT / "reveal-dialog.png")
        page.get_by_role("dialog").get_by_role("link", name="Done").click()
        page.goto(f"{server.url}/o/acme/members/")
        page.screenshot(path=OUT / "members.png", full_page=True)
        page.get_by_role("link", name="Deploy bot").click()
        page.get_by_role("heading", name="Deploy bot", level=1).wait_for()
        page.screenshot(path=OUT / "service-account.png", full_page=True)
        # The same console, dark (as the system is set) and on a phone.
        signed_in = page.context.storage_state()
        for name, options in {
            "api-keys-dark.png": {
                "viewport": {"width": 1280, "height": 820},
                "color_scheme": "dark",
            },
            "api-keys-phone.png": {"viewport": {"width": 375, "height": 812}},
        }.items():
            other = browser.new_context(storage_state=signed_in, **options).new_page()
            other.goto(f"{server.url}/o/acme/api-keys/")
            other.get_by_role("heading", name="Organization API Keys").wait_for()
            other.screenshot(path=OUT / name, full_page=True)
        browser.close()
    for path in sorted(OUT.glob("*.png")):
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()

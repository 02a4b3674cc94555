"""What a page of key rows costs to render: an Admin's API keys page (50 keys of their
own, each with three action buttons, and the organization's first page of 20) and a
service account's page (50 keys, two buttons each), one whole request in this process:
CPU microseconds, the median request of the best of alternating rounds. For weighing
how a row's buttons are made (template tags building HTML in Python, or templates).

    .venv/bin/python bench/key_rows.py
"""

import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

KEYS = 50


def main(rounds: int = 7, requests: int = 40) -> list[tuple[str, float, str]]:
    from common import setup_django_in_process

    setup_django_in_process("key_rows")
    from django.test import Client
    from django.utils import timezone

    from apikeys import service_accounts, services
    from apikeys.models import ApiKey
    from organizations.models import Role, User
    from organizations.services import create_organization

    admin = User.objects.create_user("admin@bench.example", "x", name="Bench Admin")
    org = create_organization("Rows", "rows", admin)
    account = service_accounts.create(org, "Deploy bot", "", Role.MEMBER, actor=admin)
    made = [
        services.create_key(owner, org, f"key {number}", created_by=admin)[0]
        for owner in (admin, account.user)
        for number in range(KEYS)
    ]
    # Half of them used: both branches of the Last used column.
    used = ApiKey.objects.filter(pk__in=[key.pk for key in made[::2]])
    used.update(last_used_at=timezone.now() - timedelta(hours=3))
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)
    pages = {
        f"API keys page ({KEYS} own keys + 20 of the organization's)": "/o/rows/api-keys/",
        f"service account page ({KEYS} keys)": f"/o/rows/service-accounts/{account.user_id}/",
    }

    def median_us(url: str) -> float:
        timings = []
        for _ in range(requests):
            # This process's CPU time: what other processes take of a shared machine
            # doesn't count (the whole request runs in this thread, SQLite included).
            started = time.process_time()
            response = client.get(url)
            timings.append(time.process_time() - started)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")
        return statistics.median(timings) * 1e6

    for url in pages.values():  # warm up: templates compiled, caches filled
        median_us(url)
    results = {name: [] for name in pages}
    for _ in range(rounds):  # alternate, so drift hits every page alike
        for name, url in pages.items():
            results[name].append(median_us(url))
    return [(f"{name}, µs", min(values), "") for name, values in results.items()]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    print("| page render, one request in process | value |\n|---|---|")
    for name, value, _ in main():
        print(f"| {name} | {value:,.0f} |")

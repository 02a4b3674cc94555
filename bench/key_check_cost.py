"""Why the key check is one SQL string on Django's cursor rather than an ORM query, and
what a full garbage collection costs a server process with and without what startup
made frozen (genesis.startup.freeze_startup_objects), in one process, SQLite:

- the key check as apikeys.services runs it (raw SQL through `connection.cursor()`),
  against the same conditions built with the ORM each call (the reference query of
  tests/apikeys/test_authenticate.py, with the same 19 values), best of alternating
  batches, microseconds per check;
- gc.collect() after loading every view, before and after gc.freeze(), milliseconds.

    python bench/key_check_cost.py
"""

import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

VALUES = (
    "id", "name", "hint", "digest", "pepper_id", "created_at", "expires_at",
    "last_used_at", "last_used_surface", "last_used_client", "allowed_ips", "scopes",
    "user_id", "user__email", "user__name", "organization_id", "organization__name",
    "organization__slug", "user__memberships__role",
)  # fmt: skip


def main(rounds: int = 20, count: int = 300) -> list[tuple[str, float, str]]:
    from common import setup_django_in_process

    setup_django_in_process("keycost")
    from django.db.models import F
    from django.urls import get_resolver
    from django.utils import timezone

    from apikeys import keys, services
    from apikeys.models import ApiKey
    from organizations.models import User
    from organizations.services import create_organization

    user = User.objects.create_user("cost@example.com", "x", name="Cost")
    _, raw = services.create_key(user, create_organization("Cost", "cost", user), "bench")
    digests = list(keys.candidate_digests(raw).values())

    def raw_sql():
        now = services.connection.ops.adapt_datetimefield_value(timezone.now())
        return services._key_check_row(digests, now)

    def orm():
        return (
            ApiKey.objects.active()
            .filter(
                digest__in=digests,
                user__is_active=True,
                user__memberships__organization=F("organization"),
            )
            .values_list(*VALUES)
            .first()
        )

    if raw_sql()[0] != orm()[0]:
        raise RuntimeError("the two checks disagree: nothing would be compared")
    timings = {raw_sql: [], orm: []}
    for _ in range(rounds):
        for variant in timings:
            started = time.perf_counter()
            for _ in range(count):
                variant()
            timings[variant].append((time.perf_counter() - started) / count * 1e6)

    get_resolver().url_patterns  # noqa: B018  (every view loaded, as a server does)
    gc.collect()
    tracked = len(gc.get_objects())
    pauses = []
    for _ in range(5):
        started = time.perf_counter()
        gc.collect()
        pauses.append((time.perf_counter() - started) * 1e3)
    gc.freeze()
    frozen = []
    for _ in range(5):
        started = time.perf_counter()
        gc.collect()
        frozen.append((time.perf_counter() - started) * 1e3)
    return [
        ("key check, raw SQL on Django's cursor, µs", min(timings[raw_sql]), ""),
        ("key check, the same through the ORM, µs", min(timings[orm]), ""),
        (f"gc.collect(), {tracked:,} objects tracked, ms", min(pauses), ""),
        ("gc.collect() after gc.freeze(), ms", min(frozen), ""),
    ]


if __name__ == "__main__":
    print("| in one process | value |\n|---|---|")
    for name, value, _ in main():
        print(f"| {name} | {value:,.2f} |")

"""Key checks in a loop, each timed, in a process of its own (the database in
DATABASE_URL), while tests/test_online_migrations.py migrates that database.

Reads one key from stdin, prints "ready" after its first answer, and goes on until stdin
closes; then prints one JSON line: how many checks answered (and failed: a deadlock with
the migration, say), the longest one in seconds.

Each round runs two key checks, as a rolling deploy has both releases serving during
the migration: this code's own (apikeys.services.authenticate, the production path),
and the previous release's statement (0.1.0's, below), which the servers not yet
switched keep running. Until the schema has the columns this code's check reads
(allowed_ips, scopes: apikeys 0003 and 0004), its statement fails; it is timed all the
same, since PostgreSQL takes the tables' locks before it looks up their columns, and
counted apart ("early").
"""

import json
import sys
import threading
import time

import django

# The key check as 0.1.0 ran it (apikeys/services.py at v0.1.0): what the servers still
# on the previous release send while the new release's migration runs.
PREVIOUS_RELEASE_KEY_CHECK = """
    SELECT k.id, k.name, k.hint, k.digest, k.pepper_id, k.created_at, k.expires_at,
           k.last_used_at, k.last_used_surface, k.last_used_client,
           u.id, u.email, u.name, o.id, o.name, o.slug, m.role
      FROM apikeys_apikey k
      JOIN organizations_user u ON u.id = k.user_id
      JOIN organizations_organization o ON o.id = k.organization_id
      JOIN organizations_membership m
        ON m.organization_id = k.organization_id AND m.user_id = k.user_id
     WHERE k.digest IN ({digests})
       AND k.revoked_at IS NULL
       AND (k.expires_at IS NULL OR k.expires_at > %s)
       AND u.is_active
"""


def main() -> None:
    django.setup()
    from django.db import DatabaseError, ProgrammingError, connection
    from django.utils import timezone

    from apikeys import keys, services

    raw_key = sys.stdin.readline().strip()
    digests = list(keys.candidate_digests(raw_key).values())
    previous = PREVIOUS_RELEASE_KEY_CHECK.format(digests=", ".join(["%s"] * len(digests)))
    stopped = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stopped.set()), daemon=True).start()

    def previous_release_check() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(previous, [*digests, timezone.now()])
            return cursor.fetchone() is not None

    def this_release_check() -> bool:
        return services.authenticate(raw_key) is not None

    answered = {"previous": 0, "this": 0, "early": 0, "failed": 0}
    longest = {"previous": 0.0, "this": 0.0}
    while not stopped.is_set():
        for name, check in (("previous", previous_release_check), ("this", this_release_check)):
            start = time.perf_counter()
            try:
                found = check()
            except ProgrammingError:
                found = None
                answered["early"] += 1
            except DatabaseError:  # a deadlock, a timeout: what a client sees as a 503
                found = None
                answered["failed"] += 1
            longest[name] = max(longest[name], time.perf_counter() - start)
            if found:
                answered[name] += 1
            elif found is False:
                raise SystemExit(f"the {name} release's key check refused a valid key")
        if answered["previous"] == 1:
            print("ready", flush=True)
    print(json.dumps({"answered": answered, "longest": longest}), flush=True)


if __name__ == "__main__":
    main()

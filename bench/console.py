"""Console scaling: an Admin's API keys page in an organization with 10 keys against one
with 10,000 keys over 1,000 members (queries and median time), and removing a member who
holds 1,000 keys against one who holds 10 (queries)."""

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(requests: int = 20) -> list[tuple[str, float, str]]:
    from common import setup_django_in_process

    setup_django_in_process("console")
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apikeys import keys
    from apikeys.models import ApiKey
    from organizations.models import Membership, Organization, Role, User
    from organizations.services import create_organization, remove_member

    admin = User.objects.create_user("admin@bench.example", "x", name="Bench Admin")

    def organization(slug: str, members: int, keys_each: int) -> Organization:
        org = create_organization(slug.title(), slug, admin)
        users = User.objects.bulk_create(
            User(email=f"m{i}@{slug}.example", name=f"Member {i}", password="!")  # noqa: S106
            for i in range(members)
        )
        Membership.objects.bulk_create(
            Membership(user=user, organization=org, role=Role.MEMBER) for user in users
        )
        rows = []
        for user in users:
            for number in range(keys_each):
                raw = keys.generate()
                rows.append(
                    ApiKey(
                        user=user,
                        organization=org,
                        name=f"key {number}",
                        hint=keys.hint(raw),
                        digest=keys.digest(raw, keys.current_pepper_id()),
                        pepper_id=keys.current_pepper_id(),
                    )
                )
        ApiKey.objects.bulk_create(rows, batch_size=2000)
        return org

    small = organization("small", members=10, keys_each=1)
    large = organization("large", members=1000, keys_each=10)
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)

    def measure(org):
        url = f"/o/{org.slug}/api-keys/"
        client.get(url)  # the session now remembers the organization
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as queries:
            if client.get(url).status_code != 200:
                raise RuntimeError(f"{url} failed")
        query_count = len(queries)  # now: later requests reset the log
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            client.get(url)
            timings.append(time.perf_counter() - started)
        return query_count, sorted(timings)[len(timings) // 2]

    measure(small), measure(large)  # warm up
    rounds = []
    for _ in range(5):  # alternate; the ratio is taken within each round
        small_queries, small_time = measure(small)
        large_queries, large_time = measure(large)
        rounds.append((small_time, large_time, large_time / small_time))
    rounds.sort(key=lambda row: row[2])
    small_time, large_time, ratio = rounds[len(rounds) // 2]

    holder = Membership.objects.filter(organization=large, role=Role.MEMBER).first()
    extra = []
    for number in range(990):
        raw = keys.generate()
        extra.append(
            ApiKey(
                user=holder.user,
                organization=large,
                name=f"extra {number}",
                hint=keys.hint(raw),
                digest=keys.digest(raw, keys.current_pepper_id()),
                pepper_id=keys.current_pepper_id(),
            )
        )
    ApiKey.objects.bulk_create(extra)
    held = ApiKey.objects.active().filter(user=holder.user, organization=large).count()
    # Another member, with the 10 keys each has: removing either must cost the same
    # statements, whatever the number of keys (audit entries and the email included).
    other = Membership.objects.filter(organization=large, role=Role.MEMBER).exclude(pk=holder.pk)
    other = other.first()
    few = ApiKey.objects.active().filter(user=other.user, organization=large).count()

    def removal(member) -> tuple[int, float]:
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            remove_member(member)
            elapsed = time.perf_counter() - started
        return len(queries), elapsed

    few_queries, _ = removal(other)
    removal_queries, removal_time = removal(holder)
    left = ApiKey.objects.active().filter(user=holder.user, organization=large).count()
    if left:
        raise RuntimeError("removal left active keys")
    return [
        ("10 keys: queries", small_queries, ""),
        # One more there: the COUNT for the total ("1-20 of 10,000"), on a list of more
        # than one page only; whatever the length, never more.
        ("10,000 keys / 1,000 members: queries", large_queries, f"<= {small_queries + 1}"),
        ("10 keys: median page time (ms)", small_time * 1000, ""),
        ("10,000 keys: median page time (ms)", large_time * 1000, ""),
        ("time ratio 10,000 / 10 (median of 5 rounds)", ratio, "<= 1.3"),
        (f"removing a member with {few} keys: queries", few_queries, ""),
        (f"removing a member with {held:,} keys: queries", removal_queries, f"same as {few} keys"),
        (f"removing a member with {held:,} keys: time (ms)", removal_time * 1000, ""),
    ]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    print("| console | value | target |\n|---|---|---|")
    for name, value, target in main():
        print(f"| {name} | {value:,.2f} | {target} |")

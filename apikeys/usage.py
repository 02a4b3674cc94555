"""Usage per key: how many requests presented each key, per day (UTC), by surface (api,
mcp) and outcome (ok, forbidden, refused, throttled), for its owner and the organization's
Admins (apikeys.key_management) and kept USAGE_RETENTION_DAYS (`manage.py prune_usage`).

Counting costs a valid request no round trip: each worker process counts in its own
memory, and writes what it counted in one upsert (every key's counts in the same
statement, adding to what is stored) at the first key check a minute or more after its
last write, and when it stops where the server says so (the MCP server's ASGI lifespan).
Not at interpreter exit: an atexit write held granian's WSGI workers past their graceful
stop (the tests saw them killed). So what is stored is about a minute behind, a worker
that crashes (or a WSGI worker that stops: no hook) loses at most its last minute, and a
worker that gets no request after a burst writes it when it next checks a key.
Bookkeeping is best-effort: a write the database refuses is logged (infra.faults) and
dropped, never the request's failure.

A refused key is counted against the key whose digest it is, revoked, deleted, expired,
its owner gone or deactivated alike (one query, on the refusal path only). A throttled
request is never looked up (a flood must not reach the database): it counts against a
key this worker refused before and still remembers (REMEMBERED_REFUSALS), else nowhere.
"""

import functools
import threading
import time
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.views.decorators.debug import sensitive_variables

from infra import faults

from . import keys
from .models import ApiKey, KeyUsage, Outcome

# How often a worker writes what it counted.
WRITE_SECONDS = 60
# Buckets per statement: 5 values each, within what any SQLite takes in one statement.
ROWS_PER_STATEMENT = 100
# Digests of refused keys a worker remembers, to count their throttled requests.
REMEMBERED_REFUSALS = 10_000

Bucket = tuple[int, date, str, str]  # key id, day (UTC), surface, outcome


class Counts:
    """One worker's counts not yet written, and when it last wrote. Thread-safe. `clock`:
    seconds since the epoch (tests pin it)."""

    def __init__(self, clock=time.time):
        self.clock = clock
        self.lock = threading.Lock()
        self.pending: dict[Bucket, int] = {}
        self.written_at = clock()
        self.refused: dict[str, int] = {}  # digest -> key id

    def add(self, key_id: int, surface: str, outcome: str) -> None:
        day = datetime.fromtimestamp(self.clock(), UTC).date()
        bucket = (key_id, day, surface, outcome)
        with self.lock:
            self.pending[bucket] = self.pending.get(bucket, 0) + 1

    def take(self, *, due_only: bool) -> dict[Bucket, int]:
        """What is pending, now this caller writes it ({} when a write isn't due yet)."""
        now = self.clock()
        if due_only and now - self.written_at < WRITE_SECONDS:
            return {}  # the common case, without the lock
        with self.lock:
            if due_only and now - self.written_at < WRITE_SECONDS:
                return {}  # another thread took it meanwhile
            self.written_at = now
            taken, self.pending = self.pending, {}
        return taken

    def remember_refused(self, digests, key_id: int) -> None:
        with self.lock:
            if len(self.refused) >= REMEMBERED_REFUSALS:
                self.refused.clear()  # rare: a fresh start costs less than an LRU on each
            for digest in digests:
                self.refused[digest] = key_id

    def refused_key(self, digests) -> int | None:
        for digest in digests:
            key_id = self.refused.get(digest)
            if key_id is not None:
                return key_id
        return None


counts = Counts()


def count(key_id: int, surface: str, outcome: str) -> None:
    """Count one request, in memory only (no I/O: safe on the event loop). The next
    `record` in this worker writes it when due."""
    counts.add(key_id, surface, outcome)


def record(key_id: int, surface: str, outcome: str) -> None:
    """Count one request, and write this worker's counts if a minute has passed since it
    last did (synchronous code only: it may query)."""
    counts.add(key_id, surface, outcome)
    write_due()


@sensitive_variables("raw_key")
def refused(raw_key: object, surface: str) -> None:
    """A key refused with 401: counted against the key it is, if it is one (revoked,
    deleted, expired, its owner removed or deactivated, outside its allowlist). One query;
    none for a malformed key."""
    if keys.is_well_formed(raw_key):
        digests = list(keys.candidate_digests(raw_key).values())
        try:
            key_id = ApiKey.objects.filter(digest__in=digests).values_list("pk", flat=True).first()
        except DatabaseError as error:
            faults.report("Usage not recorded", "the database refused the read", error)
            key_id = None
        if key_id is not None:
            counts.remember_refused(digests, key_id)
            counts.add(key_id, surface, Outcome.REFUSED)
    write_due()


@sensitive_variables("raw_key")
def throttled(raw_key: object, surface: str) -> None:
    """A request refused with 429 before its key was checked: counted against the key if
    this worker refused it before (no query; it may write what is due, like `record`)."""
    if keys.is_well_formed(raw_key):
        key_id = counts.refused_key(keys.candidate_digests(raw_key).values())
        if key_id is not None:
            counts.add(key_id, surface, Outcome.THROTTLED)
    write_due()


def write_due() -> None:
    taken = counts.take(due_only=True)
    if taken:
        _write(taken)


def flush() -> None:
    """Write every count now: a worker that stops (mcp_server.app's lifespan)."""
    taken = counts.take(due_only=False)
    if taken:
        _write(taken)


@functools.cache
def _upsert_sql(rows: int) -> str:
    quote = connection.ops.quote_name
    table = quote(KeyUsage._meta.db_table)
    columns = ", ".join(quote(column) for column in ("key_id", "date", "surface", "outcome"))
    count_ = quote("count")
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * rows)
    # The same statement in SQLite (3.24+) and PostgreSQL: it adds to a stored count,
    # which bulk_create(update_conflicts=True) can't (it sets the value).
    return f"""
        INSERT INTO {table} ({columns}, {count_}) VALUES {values}
        ON CONFLICT ({columns}) DO UPDATE SET {count_} = {table}.{count_} + excluded.{count_}
    """  # noqa: S608 (names from the model, values as parameters)


def _upsert(taken: dict[Bucket, int]) -> None:
    rows = [
        (key_id, connection.ops.adapt_datefield_value(day), surface, outcome, number)
        for (key_id, day, surface, outcome), number in taken.items()
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            batch = rows[start : start + ROWS_PER_STATEMENT]
            cursor.execute(_upsert_sql(len(batch)), [value for row in batch for value in row])


def _of_existing_keys(taken: dict[Bucket, int]) -> dict[Bucket, int]:
    key_ids = {bucket[0] for bucket in taken}
    existing = set(ApiKey.objects.filter(pk__in=key_ids).values_list("pk", flat=True))
    return {bucket: number for bucket, number in taken.items() if bucket[0] in existing}


def _write(taken: dict[Bucket, int]) -> None:
    try:
        if connection.in_atomic_block:
            # Not on the request path (tests; a command). Foreign keys are checked when the
            # surrounding transaction commits, so a key deleted meanwhile would fail it:
            # only existing keys' counts, in a savepoint.
            with transaction.atomic():
                _upsert(_of_existing_keys(taken))
            return
        try:
            _upsert(taken)
        except IntegrityError:
            # A key deleted meanwhile (with its organization or owner): write the others.
            _upsert(_of_existing_keys(taken))
    except DatabaseError as error:
        faults.report("Usage not recorded", "the database refused the write", error)


def buckets(key_id: int, days: int) -> list[dict]:
    """The key's stored counts of the last `days` days (UTC, today included), oldest
    first; days without requests are left out."""
    since = datetime.now(UTC).date() - timedelta(days=days - 1)
    rows = KeyUsage.objects.filter(key_id=key_id, date__gte=since).order_by(
        "date", "surface", "outcome"
    )
    return list(rows.values("date", "surface", "outcome", "count"))


def prune(today: date | None = None) -> int:
    """Delete the counts older than USAGE_RETENTION_DAYS; how many rows went."""
    today = today or datetime.now(UTC).date()
    cutoff = today - timedelta(days=settings.USAGE_RETENTION_DAYS - 1)
    deleted, _ = KeyUsage.objects.filter(date__lt=cutoff).delete()
    return deleted

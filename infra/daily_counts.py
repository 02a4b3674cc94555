"""Requests counted per credential (a key, an OAuth grant), per day (UTC), by surface and
outcome, in one worker's memory, and written to a model at most once a minute in one
upsert that adds to what is stored (apikeys.usage, oauth.usage).

The model: a foreign key to the credential (`owner`), `date`, `surface`, `outcome`,
`count`, unique on the first four. Counting costs a request no round trip; a worker that
crashes loses at most its last minute. A write the database refuses is logged
(infra.faults) and dropped, never a request's failure."""

import threading
import time
from datetime import UTC, date, datetime

from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.utils.translation import gettext_lazy as _

from infra import faults

# How often a worker writes what it counted.
WRITE_SECONDS = 60
# Buckets per statement: 5 values each, within what any SQLite takes in one statement.
ROWS_PER_STATEMENT = 100
# Digests of refused credentials a worker remembers, to count their throttled requests.
REMEMBERED_REFUSALS = 10_000

Bucket = tuple[int, date, str, str]  # credential id, day (UTC), surface, outcome


class Surface(models.TextChoices):
    """Where a credential was presented."""

    API = "api", "API"
    MCP = "mcp", "MCP"


class Outcome(models.TextChoices):
    """What became of a request that presented a credential we could tell."""

    OK = "ok", _("Answered")
    FORBIDDEN = "forbidden", _("Missing a scope")
    REFUSED = "refused", _("Refused")
    THROTTLED = "throttled", _("Throttled")


class DailyCount(models.Model):
    """A stored count: the model subclasses add the foreign key to the credential and
    the unique constraint over it, date, surface and outcome."""

    date = models.DateField()
    surface = models.CharField(max_length=3, choices=Surface.choices)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        abstract = True


class DailyCounts:
    """One worker's counts for `model` not yet written, and when it last wrote.
    Thread-safe. `owner`: the model's foreign key to the credential; `clock`: seconds
    since the epoch (tests pin it)."""

    def __init__(self, model, owner: str, clock=time.time):
        self.model, self.owner, self.clock = model, owner, clock
        self.lock = threading.Lock()
        self.pending: dict[Bucket, int] = {}
        self.written_at = clock()
        self.refused: dict[str, int] = {}  # digest -> credential id

    def add(self, owner_id: int, surface: str, outcome: str) -> None:
        day = datetime.fromtimestamp(self.clock(), UTC).date()
        bucket = (owner_id, day, surface, outcome)
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

    def count_refused(self, digests: list[str], surface: str, owner_of) -> None:
        """A credential refused with 401: counted against the one whose digest it is,
        which `owner_of()` finds (its id, or None: one query, on the refusal path only),
        and remembered, for its throttled requests."""
        try:
            owner_id = owner_of()
        except DatabaseError as error:
            faults.report("Usage not recorded", "the database refused the read", error)
            return
        if owner_id is None:
            return
        with self.lock:
            if len(self.refused) >= REMEMBERED_REFUSALS:
                self.refused.clear()  # rare: a fresh start costs less than an LRU on each
            for digest in digests:
                self.refused[digest] = owner_id
        self.add(owner_id, surface, Outcome.REFUSED)

    def count_throttled(self, digests, surface: str) -> None:
        """A request refused with 429 before its credential was checked: counted against
        one this worker refused before (never a query: a flood must not reach the
        database), else nowhere."""
        for digest in digests:
            owner_id = self.refused.get(digest)
            if owner_id is not None:
                self.add(owner_id, surface, Outcome.THROTTLED)
                return

    def write_due(self) -> None:
        """Write what is pending if a minute has passed since the last write (synchronous
        code only: it may query)."""
        taken = self.take(due_only=True)
        if taken:
            self.write(taken)

    def flush(self) -> None:
        """Write every count now: a worker that stops."""
        taken = self.take(due_only=False)
        if taken:
            self.write(taken)

    def write(self, taken: dict[Bucket, int]) -> None:
        try:
            if connection.in_atomic_block:
                # Not on the request path (tests; a command). Foreign keys are checked when
                # the surrounding transaction commits, so a credential deleted meanwhile
                # would fail it: only existing ones' counts, in a savepoint.
                with transaction.atomic():
                    self._upsert(self._of_existing(taken))
                return
            try:
                self._upsert(taken)
            except IntegrityError:
                # A credential deleted meanwhile (with its organization or owner): the others.
                self._upsert(self._of_existing(taken))
        except DatabaseError as error:
            faults.report("Usage not recorded", "the database refused the write", error)

    def _sql(self, rows: int) -> str:
        quote = connection.ops.quote_name
        opts = self.model._meta
        table = quote(opts.db_table)
        owner = opts.get_field(self.owner).column
        columns = ", ".join(quote(column) for column in (owner, "date", "surface", "outcome"))
        count = quote("count")
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * rows)
        # The same statement in SQLite (3.24+) and PostgreSQL: it adds to a stored count,
        # which bulk_create(update_conflicts=True) can't (it sets the value).
        return f"""
            INSERT INTO {table} ({columns}, {count}) VALUES {values}
            ON CONFLICT ({columns}) DO UPDATE SET {count} = {table}.{count} + excluded.{count}
        """  # noqa: S608 (names from the model, values as parameters)

    def _upsert(self, taken: dict[Bucket, int]) -> None:
        rows = [
            (owner_id, connection.ops.adapt_datefield_value(day), surface, outcome, number)
            for (owner_id, day, surface, outcome), number in taken.items()
        ]
        with connection.cursor() as cursor:
            for start in range(0, len(rows), ROWS_PER_STATEMENT):
                batch = rows[start : start + ROWS_PER_STATEMENT]
                cursor.execute(self._sql(len(batch)), [value for row in batch for value in row])

    def _of_existing(self, taken: dict[Bucket, int]) -> dict[Bucket, int]:
        credentials = self.model._meta.get_field(self.owner).related_model.objects
        ids = {bucket[0] for bucket in taken}
        existing = set(credentials.filter(pk__in=ids).values_list("pk", flat=True))
        return {bucket: number for bucket, number in taken.items() if bucket[0] in existing}

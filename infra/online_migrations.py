"""Schema changes to the tables every key check reads (apikeys_apikey and the user,
organization and membership tables it joins), made so that key checks never wait on
them (docs/upgrading.md, "Migrations that never stop key checks").

On PostgreSQL a key check takes the weakest table lock (ACCESS SHARE). Only an ACCESS
EXCLUSIVE lock blocks it, which ALTER TABLE takes: then every key check waits until the
transaction holding it ends, and also while it *waits* for that lock (PostgreSQL queues
later lockers behind it). So, in a migration marked `atomic = False`:

- `Briefly(*operations)` runs Django's own operations (a nullable column, a column with a
  constant default: both catalogue-only changes since PostgreSQL 11, no table rewrite) in
  one short transaction of their own that gives up waiting for a lock after
  LOCK_TIMEOUT_MS and tries again later: a key check waits at most that long, never
  behind a long transaction the migration queued for;
- `AddForeignKeyConcurrently` adds a foreign key column as its own short ALTER, the
  constraint NOT VALID (no scan under the lock) then validated (a lock key checks and key
  writes don't wait on), and its index built CONCURRENTLY;
- `batched_update` backfills rows in batches, each its own short transaction, outside any
  schema change.

Elsewhere (SQLite, the README's development default) the same operations are Django's
own: one writer at a time there anyway, and nothing to keep answering meanwhile.
"""

import logging
import time

from django.db import OperationalError, transaction
from django.db.migrations.operations import AddField
from django.db.migrations.operations.base import Operation
from django.db.models import Max, Min

# How long a schema change waits for its lock before it lets the queued key checks go
# and tries again; the longest a key check can wait behind a migration's lock request.
LOCK_TIMEOUT_MS = 100
# Tries for each step, with a pause that grows to PAUSE_MAX seconds: about a minute of
# trying before the migration fails (and can simply be run again).
ATTEMPTS = 60
PAUSE_MAX = 2.0
BATCH_ROWS = 10_000

logger = logging.getLogger(__name__)

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock_timeout


def _on_postgresql(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def _lock_timed_out(error: OperationalError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE


def with_short_locks(schema_editor, change) -> None:
    """`change()` in a transaction of its own that waits at most LOCK_TIMEOUT_MS for each
    lock (SET LOCAL: this transaction only), rolled back and tried again when it can't get
    one. Elsewhere than on PostgreSQL, `change()` in a transaction, once."""
    connection = schema_editor.connection
    if not _on_postgresql(schema_editor):
        with transaction.atomic(using=connection.alias):
            change()
        return
    deferred = list(schema_editor.deferred_sql)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with transaction.atomic(using=connection.alias):
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}")
                change()
            return
        except OperationalError as error:
            if not _lock_timed_out(error) or attempt == ATTEMPTS:
                raise
            # What the rolled-back try queued for later must not run twice.
            schema_editor.deferred_sql[:] = deferred
            pause = min(PAUSE_MAX, 0.05 * 2**attempt)
            logger.warning(
                "Migration: a lock not granted within %d ms (try %d of %d), again in %.1f s",
                LOCK_TIMEOUT_MS,
                attempt,
                ATTEMPTS,
                pause,
            )
            time.sleep(pause)


class Briefly(Operation):
    """Django's `operations`, run together in one short transaction that never waits
    long for a lock (with_short_locks). Their state changes are theirs, unchanged: a
    database that applied them the plain way has the same schema. Needs the migration's
    `atomic = False`. Their deferred SQL (the indexes Django builds after a new table)
    runs inside that transaction too."""

    reversible = True

    def __init__(self, *operations, lock_first=()):
        self.operations = operations
        self.lock_first = tuple(lock_first)

    def deconstruct(self):
        kwargs = {"lock_first": self.lock_first} if self.lock_first else {}
        return (self.__class__.__qualname__, self.operations, kwargs)

    def _lock_first(self, schema_editor):
        """Operations that change two of the key check's tables take their locks in the
        key check's own order (its FROM clause: apikeys_apikey, organizations_user,
        organizations_organization, organizations_membership), named in `lock_first`.
        In another order, a key check holding the second table's lock while it waits for
        the first's, which the migration holds, would make both wait until lock_timeout
        (or a deadlock) ended one of them, on every try."""
        if self.lock_first and _on_postgresql(schema_editor):
            tables = ", ".join(schema_editor.quote_name(table) for table in self.lock_first)
            schema_editor.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")

    def describe(self):
        return "Briefly: " + "; ".join(operation.describe() for operation in self.operations)

    def state_forwards(self, app_label, state):
        for operation in self.operations:
            operation.state_forwards(app_label, state)

    def _run(self, app_label, schema_editor, from_state, operations, forwards):
        def change():
            self._lock_first(schema_editor)
            state = from_state
            for operation in operations:
                after = state.clone()
                operation.state_forwards(app_label, after)
                if forwards:
                    operation.database_forwards(app_label, schema_editor, state, after)
                else:
                    operation.database_backwards(app_label, schema_editor, after, state)
                state = after
            for statement in schema_editor.deferred_sql:
                schema_editor.execute(statement)
            schema_editor.deferred_sql.clear()

        with_short_locks(schema_editor, change)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._run(app_label, schema_editor, from_state, self.operations, forwards=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        # Each operation undone from the state before it, last one first.
        states = [to_state]
        for operation in self.operations[:-1]:
            after = states[-1].clone()
            operation.state_forwards(app_label, after)
            states.append(after)

        def change():
            self._lock_first(schema_editor)
            for operation, before in zip(reversed(self.operations), reversed(states), strict=True):
                after = before.clone()
                operation.state_forwards(app_label, after)
                operation.database_backwards(app_label, schema_editor, after, before)
            for statement in schema_editor.deferred_sql:
                schema_editor.execute(statement)
            schema_editor.deferred_sql.clear()

        with_short_locks(schema_editor, change)


class AddForeignKeyConcurrently(AddField):
    """A nullable foreign key column, added on PostgreSQL in steps of which only two take
    locks a key check waits on, each for milliseconds (with_short_locks): the column
    alone, `backfill(apps, schema_editor)` if given (in batches: batched_update), the
    constraint NOT VALID, then VALIDATE CONSTRAINT (SHARE UPDATE EXCLUSIVE: reads and row
    writes go on) and CREATE INDEX CONCURRENTLY. The constraint
    and index get the names Django gave them (`constraint_name`, `index_name`), so a
    database migrated either way ends the same. Needs the migration's `atomic = False`."""

    def __init__(self, model_name, name, field, constraint_name, index_name, backfill=None):
        if not field.null:
            raise ValueError("Only a nullable column is added without rewriting the table.")
        self.constraint_name = constraint_name
        self.index_name = index_name
        self.backfill = backfill
        super().__init__(model_name, name, field)

    def deconstruct(self):
        name, args, kwargs = super().deconstruct()
        kwargs.pop("preserve_default", None)
        kwargs["constraint_name"] = self.constraint_name
        kwargs["index_name"] = self.index_name
        if self.backfill is not None:
            kwargs["backfill"] = self.backfill
        return name, args, kwargs

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not _on_postgresql(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            if self.backfill is not None:
                self.backfill(to_state.apps, schema_editor)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        field = model._meta.get_field(self.name)
        quote = schema_editor.quote_name
        table, column = quote(model._meta.db_table), quote(field.column)
        target = field.target_field
        definition, params = schema_editor.column_sql(model, field)
        constraint, index = quote(self.constraint_name), quote(self.index_name)

        with_short_locks(
            schema_editor,
            lambda: schema_editor.execute(
                f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {definition}",
                params or None,
            ),
        )
        # Before the constraint and the index: a row written now costs no foreign key
        # check and no entry in an index still to be built (VALIDATE checks every row
        # once, at the end, in one scan).
        if self.backfill is not None:
            self.backfill(to_state.apps, schema_editor)
        # Each step may have been done by an earlier try that failed later: run again, the
        # migration picks up where it stopped.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_constraint WHERE conname = %s", [self.constraint_name])
            constraint_exists = cursor.fetchone() is not None
        if not constraint_exists:
            with_short_locks(
                schema_editor,
                lambda: schema_editor.execute(
                    f"ALTER TABLE {table} ADD CONSTRAINT {constraint} FOREIGN KEY ({column}) "
                    f"REFERENCES {quote(target.model._meta.db_table)} ({quote(target.column)}) "
                    "DEFERRABLE INITIALLY DEFERRED NOT VALID"
                ),
            )
        schema_editor.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {constraint}")
        # An index a failed earlier try left INVALID is dropped and built again.
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index}")
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY {index} ON {table} ({column})")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        with_short_locks(
            schema_editor,
            lambda: super(AddForeignKeyConcurrently, self).database_backwards(
                app_label, schema_editor, from_state, to_state
            ),
        )


def batched_update(queryset, batch_rows: int = BATCH_ROWS, **values) -> None:
    """queryset.update(**values), over BATCH_ROWS consecutive primary keys at a time, each
    batch in a transaction of its own: rows are locked for one batch's milliseconds, a key
    check's read never waits, and its last-use write skips a locked row (SKIP LOCKED).
    Ranges of the primary key, not "the next N rows still to do": that query would scan
    the rows already done again for each batch."""
    bounds = queryset.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return
    for start in range(bounds["low"], bounds["high"] + 1, batch_rows):
        with transaction.atomic(using=queryset.db):
            queryset.filter(pk__gte=start, pk__lt=start + batch_rows).update(**values)

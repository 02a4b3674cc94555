"""The key check's query, planned once per database connection.

PostgreSQL spent about 0.5 ms planning authenticate's four-table join and 0.04 ms running
it (EXPLAIN ANALYZE; docs/performance.md). Django's psycopg cursors bind parameters on the
client, so every request paid for the planning again. Here the query runs on a cursor that
binds on the server and asks psycopg for a prepared statement: planned on a connection's
first key check, then reused. Django's own queries are unchanged.

SQLite needs nothing: Python's sqlite3 already keeps each connection's statements
prepared.
"""

import functools

from django.db import NotSupportedError, connection


def fetchone(sql: str, params: list):
    """The first row `sql` returns, or None."""
    if connection.vendor != "postgresql" or connection.queries_logged:
        # Where queries are logged (DEBUG, tests that count queries), Django's own cursor:
        # the log can't show the SQL of a prepared statement's execution.
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    try:
        return _fetchone_prepared(sql, params)
    except NotSupportedError:
        # "cached plan must not change result type": a migration changed a column this
        # statement returns since this connection prepared it. A new connection prepares
        # it afresh, unless a transaction is open (the error aborted it).
        if connection.in_atomic_block:
            raise
        connection.close()
        return _fetchone_prepared(sql, params)


def _fetchone_prepared(sql, params):
    # What connection.cursor() does, with a server-binding cursor in place of Django's:
    # the connection is health-checked and opened as for any query, and the cursor is
    # wrapped the same way, so execute_wrapper hooks still see the query.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        raw = _preparing_cursor_class()(connection.connection)
    with connection.make_cursor(raw) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


@functools.cache
def _preparing_cursor_class():
    import psycopg  # only with PostgreSQL

    class PreparingCursor(psycopg.Cursor):
        # Django's cursor wrapper calls execute(sql, params): prepare by default.
        def execute(self, query, params=None, *, prepare=True, binary=None):
            return super().execute(query, params, prepare=prepare, binary=binary)

    return PreparingCursor

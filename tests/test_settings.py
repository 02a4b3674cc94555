"""Production settings refuse to start without their secrets."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_settings(code="", **env):
    """Start Django with production settings and `env` in a process of its own, then run
    `code` there."""
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "APIKEY_PEPPERS")}
    base.update(DJANGO_SETTINGS_MODULE="genesis.settings", DEBUG="0", **env)
    return subprocess.run(  # noqa: S603 (the tests' own code)
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"APIKEY_PEPPERS": "p1:" + "x" * 32}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "s" * 50}, "APIKEY_PEPPERS must be set"),
        ({"SECRET_KEY": "s" * 50, "APIKEY_PEPPERS": "p1:short"}, "16+ characters"),
    ],
)
def test_production_needs_its_secrets(env, message):
    result = load_settings(**env)
    assert result.returncode != 0
    assert message in result.stderr
    assert "x" * 32 not in result.stderr


def test_production_starts_with_its_secrets():
    result = load_settings(SECRET_KEY="s" * 50, APIKEY_PEPPERS="p2:" + "y" * 32 + ",p1:" + "x" * 32)
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_and_writers_queue_up():
    import sqlite3

    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite settings")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        # Acknowledged writes survive a power cut (FULL is 2).
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone()[0] == 2
    # The test runs in a transaction that has written nothing yet. Begun IMMEDIATE, it
    # already holds the write lock, so another writer waits; in WAL a reader does not.
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0)
    try:
        assert other.execute("SELECT count(*) FROM apikeys_apikey").fetchone() == (0,)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()


def test_debug_logs_never_carry_oauthlibs_tokens():
    """oauthlib writes refresh tokens and authorization codes into its DEBUG lines."""
    started = load_settings(
        "import logging; print(logging.getLogger('oauthlib').getEffectiveLevel())",
        SECRET_KEY="s" * 50,
        APIKEY_PEPPERS="p1:" + "p" * 32,
        LOG_LEVEL="DEBUG",
    )
    assert started.returncode == 0, started.stderr
    assert int(started.stdout.split()[-1]) >= logging.INFO


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "False 5"),
        ({"DATABASE_POOLING": "transaction"}, "True 5"),
        ({"DATABASE_POOLING": "transaction", "DATABASE_PREPARED_STATEMENTS": "0"}, "True None"),
    ],
)
def test_transaction_pooling_settings(env, expected):
    # Behind PgBouncer in transaction mode (tests/cluster runs the servers so): no cursor
    # held across transactions; prepared statements only where the pooler carries them.
    result = load_settings(
        "from django.conf import settings; db = settings.DATABASES['default']; "
        "print(db['DISABLE_SERVER_SIDE_CURSORS'], db['OPTIONS']['prepare_threshold'])",
        SECRET_KEY="s" * 50,
        APIKEY_PEPPERS="p1:" + "x" * 32,
        DATABASE_URL="postgres://genesis:genesis@127.0.0.1:5432/genesis",
        **env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == expected.split()

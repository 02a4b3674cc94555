from datetime import timedelta

import pytest
from django.contrib.auth.hashers import get_hashers
from django.db import close_old_connections, connection
from django.db.models import F
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apikeys import keys, services
from apikeys.models import ApiKey
from infra.limits import rate
from organizations import services as org_services
from organizations.models import Membership, Role, User


def test_a_valid_key_gives_its_context(admin, make_key):
    key = make_key(admin, "Deploy")
    context = services.authenticate(key.plaintext)
    assert (context.key_id, context.key_name, context.key_hint) == (key.pk, "Deploy", key.hint)
    assert (context.key_created_at, context.key_expires_at) == (key.created_at, None)
    assert (context.user_id, context.user_email, context.user_name) == (
        admin.user.pk,
        admin.user.email,
        admin.user.name,
    )
    assert (context.organization_id, context.organization_slug) == (
        admin.organization.pk,
        admin.organization.slug,
    )
    assert context.role == Role.ADMIN


@pytest.mark.parametrize("raw", ["", "nonsense", "gns_" + "A" * 38, "Bearer gns_x"])
def test_a_malformed_key_costs_no_query(db, django_assert_num_queries, raw):
    with django_assert_num_queries(0):
        assert services.authenticate(raw) is None


def test_a_bad_checksum_costs_no_query(member, make_key, django_assert_num_queries):
    key = make_key(member)
    broken = key.plaintext[:-1] + ("A" if key.plaintext[-1] != "A" else "B")
    with django_assert_num_queries(0):
        assert services.authenticate(broken) is None


def test_a_valid_key_costs_one_query(member, make_key, django_assert_num_queries):
    key = make_key(member)
    with django_assert_num_queries(1):
        context = services.authenticate(key.plaintext)
        # Everything the caller needs is loaded by that one query.
        assert (context.user_email, context.organization_slug) == (
            member.user.email,
            member.organization.slug,
        )


def test_an_unknown_well_formed_key_costs_one_query(db, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert services.authenticate(keys.generate()) is None


def test_no_password_hasher_runs(member, make_key, monkeypatch):
    key = make_key(member)

    def fail(*args, **kwargs):
        raise AssertionError("authenticate must not hash like a password")

    for hasher in get_hashers():
        monkeypatch.setattr(type(hasher), "verify", fail)
        monkeypatch.setattr(type(hasher), "encode", fail)
    assert services.authenticate(key.plaintext) is not None


def test_a_deleted_key_is_refused(member, make_key):
    key = make_key(member)
    services.delete_key(key, member.user)
    assert services.authenticate(key.plaintext) is None


def test_a_revoked_key_is_refused(member, admin, make_key):
    key = make_key(member)
    services.revoke_key(key, admin.user)
    assert services.authenticate(key.plaintext) is None


def test_an_expired_key_is_refused(member, make_key):
    key = make_key(member, expires_at=timezone.now() + timedelta(days=1))
    assert services.authenticate(key.plaintext) is not None
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert services.authenticate(key.plaintext) is None


def test_a_deactivated_users_key_is_refused(member, make_key):
    key = make_key(member)
    member.user.is_active = False
    member.user.save(update_fields=["is_active"])
    assert services.authenticate(key.plaintext) is None


def test_removing_the_member_through_the_service_revokes_and_refuses(owner, member, make_key):
    key = make_key(member)
    org_services.remove_member(member)
    key.refresh_from_db()
    assert key.revoke_reason == "member_removed"
    assert services.authenticate(key.plaintext) is None


def test_removing_the_member_through_the_orm_revokes(member, make_key):
    key = make_key(member)
    Membership.objects.filter(pk=member.pk).delete()
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert services.authenticate(key.plaintext) is None


def test_deleting_the_user_kills_the_key(member, make_key):
    key = make_key(member)
    member.user.delete()
    assert services.authenticate(key.plaintext) is None


def test_membership_is_checked_even_if_revocation_was_skipped(member, make_key):
    # A code path that removes a membership without signals (raw SQL, a bulk tool)
    # must still not leave a working key behind.
    key = make_key(member)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {Membership._meta.db_table} WHERE id = %s",  # noqa: S608
            [member.pk],
        )
    key.refresh_from_db()
    assert key.revoked_at is None
    assert services.authenticate(key.plaintext) is None


def test_a_key_works_only_in_its_own_organization_membership(member, outsider, make_key):
    # Being a member of some other organization doesn't keep a key alive.
    key = make_key(member)
    Membership.objects.create(user=member.user, organization=outsider.organization)
    org_services.remove_member(member)
    assert services.authenticate(key.plaintext) is None


def test_keys_survive_a_pepper_rotation(member, make_key, settings):
    old = dict(settings.APIKEY_PEPPERS)
    key = make_key(member)
    with override_settings(APIKEY_PEPPERS={"rotated": "r" * 32, **old}):
        assert services.authenticate(key.plaintext) is not None
        new_key = make_key(member, "after rotation")
        assert new_key.pepper_id == "rotated"
        assert services.authenticate(new_key.plaintext) is not None


def test_authenticate_runs_one_query_even_with_several_peppers(member, make_key, settings):
    key = make_key(member)
    peppers = {"rotated": "r" * 32, **settings.APIKEY_PEPPERS}
    with override_settings(APIKEY_PEPPERS=peppers), CaptureQueriesContext(connection) as queries:
        assert services.authenticate(key.plaintext) is not None
    assert len(queries) == 1


def test_create_key_refuses_a_non_member(outsider, org):
    with pytest.raises(services.NotAMember):
        services.create_key(outsider.user, org, "sneaky")
    assert not ApiKey.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
def test_postgresql_plans_the_key_check_once_per_connection(member, make_key):
    key = make_key(member)
    for _ in range(6):  # psycopg prepares a statement on its 5th run on a connection
        assert services.authenticate(key.plaintext) is not None
    assert services.authenticate(keys.generate()) is None
    # As psycopg sends it: server-side parameters, numbered.
    sent = services._key_check_sql(1).replace("%s", "$1", 1).replace("%s", "$2", 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    # One plan, reused by every later check on this connection, valid or not.
    assert prepared.count(sent) == 1


@pytest.mark.django_db(transaction=True)
def test_the_key_check_reconnects_after_the_connection_was_closed(member, make_key):
    key = make_key(member)
    connection.close()  # as close_old_connections does between requests
    assert services.authenticate(key.plaintext) is not None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a server that restarts")
@pytest.mark.django_db(transaction=True)
def test_the_key_check_replaces_a_connection_the_database_ended(member, make_key):
    # As a database restart does to every idle connection: Django's health check of a
    # reused connection (CONN_HEALTH_CHECKS) finds it ended, and the next request's key
    # check gets a new connection and answers.
    import psycopg

    key = make_key(member)
    assert services.authenticate(key.plaintext) is not None
    ended = connection.connection.info.backend_pid
    close_old_connections()  # the next request, on the same connection
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [ended])
    assert services.authenticate(key.plaintext) is not None
    assert connection.connection.info.backend_pid != ended
    assert services.authenticate(keys.generate()) is None


def test_execute_wrapper_hooks_see_the_key_check(member, make_key):
    # Instrumentation (tracing, slow-query logs) hooks into Django's cursor wrapper; the
    # key check's own cursor goes through it too.
    key = make_key(member)
    seen = []

    def hook(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(hook):
        assert services.authenticate(key.plaintext) is not None
    assert len(seen) == 1
    assert ApiKey._meta.db_table in seen[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
@pytest.mark.django_db(transaction=True)
def test_keys_keep_working_when_a_migration_changes_a_column_the_check_returns(member, make_key):
    import psycopg

    key = make_key(member)
    assert services.authenticate(key.plaintext) is not None  # prepared on this connection
    table = ApiKey._meta.db_table
    # As a deploy's migrate would: from another connection, while this one keeps its plan.
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute(f'ALTER TABLE "{table}" ALTER COLUMN "hint" TYPE varchar(21)')
        try:
            context = services.authenticate(key.plaintext)
            assert context is not None
            assert context.key_hint == key.hint
        finally:
            other.execute(f'ALTER TABLE "{table}" ALTER COLUMN "hint" TYPE varchar(20)')


def test_active_has_one_meaning_the_key_works(member, make_key):
    works = make_key(member, "works")
    revoked = make_key(member, "revoked")
    services.delete_key(revoked, member.user)
    expired = make_key(member, "expired", expires_at=timezone.now() + timedelta(days=1))
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert list(ApiKey.objects.active()) == [works]
    assert set(ApiKey.objects.unrevoked()) == {works, expired}
    for key in (works, revoked, expired):
        key.refresh_from_db()
        assert key.is_active == (services.authenticate(key.plaintext) is not None), key.name


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("\ud800x 1.0", "x 1.0"),  # an unpaired surrogate
        ("x\x00y", "xy"),  # NUL: PostgreSQL refuses it
        ("\u202eevil 1.0", "evil 1.0"),  # right-to-left override
        ("\x1b[2Jclear\r\nme", "[2Jclear me"),  # terminal escape, a line break
        ("  spaced    out  ", "spaced out"),
        ("é" * 300, "é" * 200),
    ],
)
def test_client_names_are_stored_clean(member, make_key, given, stored):
    key = make_key(member)
    context = services.authenticate(key.plaintext)
    services.record_use(context, ip="127.0.0.1", surface="mcp", client_info=given)
    key.refresh_from_db()
    assert key.last_used_client == stored


def test_changing_client_names_cannot_turn_every_request_into_a_write(member, make_key):
    key = make_key(member)
    context = services.authenticate(key.plaintext)
    services.record_use(context, ip="127.0.0.1", surface="mcp", client_info="first 1")
    with CaptureQueriesContext(connection) as queries:
        for number in range(20):
            context = services.authenticate(key.plaintext)  # each request checks anew
            services.record_use(
                context, ip="127.0.0.1", surface="mcp", client_info=f"name {number % 2}"
            )
    updates = [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == rate("client_renames").count


def reference_query(raw_key: str):
    """The conditions of a working key, written with the ORM: what KEY_CHECK_SQL must
    answer, row for row."""
    return ApiKey.objects.active().filter(
        digest__in=keys.candidate_digests(raw_key).values(),
        user__is_active=True,
        user__memberships__organization=F("organization"),
    )


def test_the_key_check_sql_agrees_with_the_orm_for_every_way_to_fail(
    member, admin, outsider, make_key
):
    cases = {"works": make_key(member, "works")}
    cases["deleted"] = make_key(member, "deleted")
    services.delete_key(cases["deleted"], member.user)
    cases["expired"] = make_key(member, "expired", expires_at=timezone.now() + timedelta(days=1))
    ApiKey.objects.filter(pk=cases["expired"].pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    # A key whose user was deactivated, and one whose membership is gone, without the
    # receivers that would also revoke them (update() and _raw_delete() send no
    # signals): the query alone must refuse them.
    cases["deactivated user"] = make_key(admin, "deactivated")
    User.objects.filter(pk=admin.user.pk).update(is_active=False)
    elsewhere = Membership.objects.create(user=outsider.user, organization=member.organization)
    cases["removed member"] = make_key(elsewhere, "removed")
    Membership.objects.filter(pk=elsewhere.pk)._raw_delete(Membership.objects.db)
    cases["unknown"] = type("Unknown", (), {"plaintext": keys.generate(), "name": "unknown"})()
    for kind, key in cases.items():
        context = services.authenticate(key.plaintext)
        expected = list(reference_query(key.plaintext).values_list("pk", flat=True))
        assert ([context.key_id] if context else []) == expected, kind
        # And through Django's cursor (taken whenever queries are watched): the same.
        with CaptureQueriesContext(connection) as watched:
            assert services.authenticate(key.plaintext) == context, kind
        assert len(watched) == 1, kind
    assert services.authenticate(cases["works"].plaintext) is not None

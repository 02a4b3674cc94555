"""The key is in the response that creates it, and nowhere else."""

import io
import logging
import re

import pytest
from django.core.management import call_command
from django.db import connection

from apikeys.models import ApiKey

KEY_PATTERN = re.compile(r"gns_[0-9A-Za-z]{38}")


def create_through_the_console(client, **headers):
    response = client.post("/o/acme/api-keys/create/", {"name": "CI pipeline"}, **headers)
    assert response.status_code == 200
    found = KEY_PATTERN.findall(response.text)
    assert len(set(found)) == 1, "the creation response shows the key"
    return response, found[0]


def every_stored_value():
    """Every value of every row of every table, as text."""
    values = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                values.extend(
                    bytes(value).decode("latin-1")
                    if isinstance(value, bytes | memoryview)
                    else str(value)
                    for value in row
                )
    return "\n".join(values)


@pytest.mark.parametrize("htmx", [False, True])
def test_the_key_is_stored_nowhere(member, client_for, caplog, htmx):
    client = client_for(member)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    with caplog.at_level(logging.DEBUG):
        response, plaintext = create_through_the_console(client, **headers)

    assert plaintext not in every_stored_value()
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    assert plaintext not in dump.getvalue()
    assert plaintext not in caplog.text

    key = ApiKey.objects.get()
    assert key.hint in response.text
    assert plaintext not in str(client.session.items())
    assert plaintext not in str(response.cookies)
    assert all(plaintext not in value for value in response.headers.values())
    assert "no-store" in response["Cache-Control"]


def test_the_key_is_never_shown_again(member, client_for):
    client = client_for(member)
    _, plaintext = create_through_the_console(client)
    for url in [
        "/o/acme/api-keys/",
        "/o/acme/api-keys/mine/",
        "/o/acme/api-keys/create/",
        f"/o/acme/api-keys/{ApiKey.objects.get().pk}/delete/",
    ]:
        response = client.get(url)
        assert response.status_code == 200
        assert plaintext not in response.text
        assert not KEY_PATTERN.search(response.text)


def test_the_reveal_is_not_a_redirect_and_the_list_shows_the_new_row(member, client_for):
    client = client_for(member)
    response, _ = create_through_the_console(client)
    assert not response.has_header("Location")
    # Without JavaScript the page under the dialog already lists the new key, redacted.
    key = ApiKey.objects.get()
    assert f'id="key-{key.pk}"' in response.text
    assert "data-secret" in response.text


def test_the_htmx_reveal_is_the_dialog_alone_and_refreshes_the_lists(member, client_for):
    response, _ = create_through_the_console(client_for(member), HTTP_HX_REQUEST="true")
    assert response["HX-Trigger"] == "keys-changed"
    assert response.text.lstrip().startswith("<dialog")
    assert "My API keys" not in response.text
    assert "HX-Request" in response["Vary"]

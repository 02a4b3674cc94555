"""Leak reports: GitHub's signed secret-scanning reports and anyone's public report revoke
the key at once, tell its owner and the organization's Admins and Owners where it was
found, and are audited; a bad signature changes nothing; the public endpoint answers
alike whether or not the key exists."""

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management import CommandError, call_command
from django.test import Client

from apikeys import keys
from apikeys.models import ApiKey, RevokeReason
from organizations.models import AuditAction, AuditEvent

GITHUB = "/api/v1/secret-scanning/github"
PUBLIC = "/api/v1/leaked-keys"
FOUND_AT = "https://github.com/acme/app/blob/main/.env"


class Signer:
    """A key pair in the role of GitHub's, its public half in a keys file."""

    def __init__(self, path, identifier="test-key-1"):
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.identifier = identifier
        pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.document = {
            "public_keys": [{"key_identifier": identifier, "key": pem.decode(), "is_current": True}]
        }
        path.write_text(json.dumps(self.document))

    def headers(self, body: bytes, private=None) -> dict:
        signature = (private or self.private).sign(body, ec.ECDSA(hashes.SHA256()))
        return {
            "Github-Public-Key-Identifier": self.identifier,
            "Github-Public-Key-Signature": base64.b64encode(signature).decode(),
        }


@pytest.fixture
def github(tmp_path, settings):
    path = tmp_path / "github-keys.json"
    settings.GITHUB_SECRET_SCANNING_KEYS_FILE = str(path)
    return Signer(path)


def report_body(*tokens) -> bytes:
    return json.dumps(
        [
            {"token": token, "type": "genesis_api_key", "url": FOUND_AT, "source": "content"}
            for token in tokens
        ]
    ).encode()


def post(body: bytes, headers: dict, path=GITHUB):
    return Client().post(path, data=body, content_type="application/json", headers=headers)


def test_a_signed_report_revokes_the_key_tells_owner_and_admins_and_is_audited(
    github, owner, admin, member, make_key, mailoutbox, django_capture_on_commit_callbacks
):
    key = make_key(member, "Deploy")
    unknown = keys.generate()
    body = report_body(key.plaintext, unknown)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(body, github.headers(body))
    assert response.status_code == 200
    assert response.json() == [
        {
            "token_hash": hashlib.sha256(key.plaintext.encode()).hexdigest(),
            "token_type": "genesis_api_key",
            "label": "true_positive",
        },
        {
            "token_hash": hashlib.sha256(unknown.encode()).hexdigest(),
            "token_type": "genesis_api_key",
            "label": "false_positive",
        },
    ]
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoke_reason == RevokeReason.LEAKED
    event = AuditEvent.objects.get(action=AuditAction.KEY_LEAKED)
    assert event.details == {"reporter": "GitHub secret scanning", "where": FOUND_AT}
    assert event.target_user == member.user
    told = sorted(address for mail in mailoutbox for address in mail.to)
    assert told == sorted([owner.user.email, admin.user.email, member.user.email])
    assert all(FOUND_AT in mail.body and key.plaintext not in mail.body for mail in mailoutbox)


def test_a_report_of_a_revoked_key_is_still_ours_and_changes_nothing(
    github, member, make_key, mailoutbox, django_capture_on_commit_callbacks
):
    key = make_key(member)
    ApiKey.objects.filter(pk=key.pk).update(revoked_at="2026-01-01T00:00:00Z")
    body = report_body(key.plaintext)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(body, github.headers(body))
    assert response.json()[0]["label"] == "true_positive"
    assert not AuditEvent.objects.filter(action=AuditAction.KEY_LEAKED).exists()
    assert mailoutbox == []


@pytest.mark.parametrize("tamper", ["other signer", "changed body", "unknown key id", "none"])
def test_a_bad_signature_is_refused_and_nothing_changes(github, member, make_key, tamper):
    key = make_key(member)
    body = report_body(key.plaintext)
    headers = github.headers(body)
    if tamper == "other signer":
        headers = github.headers(body, private=ec.generate_private_key(ec.SECP256R1()))
    elif tamper == "changed body":
        body = report_body(key.plaintext, keys.generate())
    elif tamper == "unknown key id":
        headers["Github-Public-Key-Identifier"] = "nope"
    else:
        headers = {}
    response = post(body, headers)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"
    key.refresh_from_db()
    assert key.revoked_at is None


@pytest.mark.parametrize("body", [b"not json", b"{}", b'[{"token": 5}]', b"[1]"])
def test_a_signed_body_that_is_no_report_is_a_400(github, body):
    response = post(body, github.headers(body))
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_without_githubs_keys_the_endpoint_is_unavailable_not_broken(settings, tmp_path):
    settings.GITHUB_SECRET_SCANNING_KEYS_FILE = ""
    assert post(b"[]", {}).status_code == 503
    settings.GITHUB_SECRET_SCANNING_KEYS_FILE = str(tmp_path / "missing.json")
    response = post(b"[]", {})
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")


def test_the_public_report_answers_alike_for_any_key(
    member, make_key, mailoutbox, django_capture_on_commit_callbacks
):
    key = make_key(member)
    answers = []
    for reported in (key.plaintext, keys.generate(), "gns_typo", key.plaintext):
        with django_capture_on_commit_callbacks(execute=True):
            response = post(json.dumps({"key": reported}).encode(), {}, path=PUBLIC)
        answers.append((response.status_code, response.content))
    assert len(set(answers)) == 1 and answers[0][0] == 202
    key.refresh_from_db()
    assert key.revoke_reason == RevokeReason.LEAKED
    event = AuditEvent.objects.get(action=AuditAction.KEY_LEAKED)
    assert event.details["reporter"] == "public report from 127.0.0.1"
    assert len({address for mail in mailoutbox for address in mail.to}) >= 1


@pytest.mark.parametrize("body", [b"nope", b'{"key": 5}', b"[]", b"[" * 200_000])
def test_the_public_report_wants_json_with_a_key(db, body):
    response = post(body, {}, path=PUBLIC)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_the_public_report_is_throttled(db, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "leak_reports": "2/m"}
    body = json.dumps({"key": keys.generate()}).encode()
    assert [post(body, {}, path=PUBLIC).status_code for _ in range(3)] == [202, 202, 429]


def test_an_ipv6_client_counts_as_its_64_for_reports(db, settings):
    """Rotating through one's own /64 gains nothing."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "leak_reports": "2/m"}
    body = json.dumps({"key": keys.generate()}).encode()
    statuses = [
        Client(REMOTE_ADDR=f"2001:db8:1:2::{n}")
        .post(PUBLIC, data=body, content_type="application/json")
        .status_code
        for n in range(1, 4)
    ]
    assert statuses == [202, 202, 429]
    other = Client(REMOTE_ADDR="2001:db8:1:3::1").post(
        PUBLIC, data=body, content_type="application/json"
    )
    assert other.status_code == 202  # another /64


def test_the_refresh_command_writes_githubs_keys(github, settings, tmp_path, http_document):
    url = http_document(github.document)
    target = tmp_path / "fresh.json"
    settings.GITHUB_SECRET_SCANNING_KEYS_FILE = str(target)
    call_command("refresh_github_secret_scanning_keys", url=url)
    assert json.loads(target.read_text())["public_keys"][0]["key_identifier"] == "test-key-1"


def test_the_refresh_command_keeps_the_file_when_github_sends_nothing_usable(
    github, settings, tmp_path, http_document
):
    before = (tmp_path / "github-keys.json").read_text()
    with pytest.raises(CommandError, match="no usable key"):
        call_command("refresh_github_secret_scanning_keys", url=http_document({"public_keys": []}))
    assert (tmp_path / "github-keys.json").read_text() == before


@pytest.fixture
def http_document():
    """A JSON document on a loopback HTTP server, for the command to fetch."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    servers = []

    def serve(document):
        payload = json.dumps(document).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/keys"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()

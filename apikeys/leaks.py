"""Leaked keys: a report revokes the key at once and tells its owner and the organization's
Admins and Owners where it was found. Reports come from GitHub's secret scanning (signed
by GitHub: verify_github) and from anyone at the public endpoint.

GitHub signs each report with ECDSA P-256 over the raw body; its public keys are read from
GITHUB_SECRET_SCANNING_KEYS_FILE, in GitHub's own format, which the operator refreshes
with `manage.py refresh_github_secret_scanning_keys`. Nothing is fetched per request."""

import base64
import hashlib
import json
import os
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from organizations.models import AuditAction

from . import keys, notices, services
from .models import ApiKey

TRUE_POSITIVE = "true_positive"
FALSE_POSITIVE = "false_positive"
MAX_REPORTED_TOKENS = 1000  # one GitHub report; more is not a report


class NotConfigured(Exception):
    pass


@lru_cache(maxsize=4)
def _public_keys(path: str, mtime: float) -> dict:
    """GitHub's published keys by identifier, parsed once per version of the file."""
    with open(path, encoding="utf-8") as file:
        published = json.load(file)
    loaded = {}
    for entry in published.get("public_keys", []):
        key = serialization.load_pem_public_key(entry["key"].encode())
        if isinstance(key, ec.EllipticCurvePublicKey):
            loaded[entry["key_identifier"]] = key
    return loaded


def github_public_keys() -> dict:
    path = settings.GITHUB_SECRET_SCANNING_KEYS_FILE
    if not path:
        raise NotConfigured("GITHUB_SECRET_SCANNING_KEYS_FILE is not set")
    try:
        return _public_keys(path, os.stat(path).st_mtime)
    except (OSError, ValueError, KeyError) as error:
        raise NotConfigured(f"GitHub's keys could not be read from {path}: {error}") from None


def verify_github(body: bytes, key_identifier: str, signature: str) -> bool:
    """Whether GitHub signed this body with the key it names (one it publishes)."""
    public_key = github_public_keys().get(key_identifier)
    if public_key is None or not signature:
        return False
    try:
        public_key.verify(base64.b64decode(signature), body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


@sensitive_variables("raw_key")
def _find(raw_key: str) -> ApiKey | None:
    """The key, in any state, under whichever pepper made it."""
    digests = keys.candidate_digests(raw_key)
    for key in ApiKey.objects.select_related("user", "organization").filter(
        digest__in=digests.values()
    ):
        if digests.get(key.pepper_id) == key.digest:
            return key
    return None


@sensitive_variables("raw_key")
def report(raw_key: object, *, where: str, reporter: str) -> str:
    """Revoke a reported key (if it is one of ours and still works) and tell the people
    who must know. Returns GitHub's label: whether it is one of our keys at all."""
    if not keys.is_well_formed(raw_key):
        return FALSE_POSITIVE
    key = _find(raw_key)
    if key is None:
        return FALSE_POSITIVE
    with transaction.atomic():
        if services.revoke_leaked(key):
            services.audit_key(
                key,
                AuditAction.KEY_LEAKED,
                details={"reporter": reporter, "where": where[:500]},
            )
            notices.key_leaked(key, where)
    return TRUE_POSITIVE


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def github_report(body: bytes) -> list[dict] | None:
    """GitHub's report (a JSON list of found tokens) answered as GitHub expects: each
    token's hash, type and label. None when the body is no such list."""
    try:
        found = json.loads(body)
    except ValueError:
        return None
    if not isinstance(found, list) or len(found) > MAX_REPORTED_TOKENS:
        return None
    answers = []
    for item in found:
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            return None
        where = item.get("url") if isinstance(item.get("url"), str) else ""
        source = item.get("source") if isinstance(item.get("source"), str) else ""
        label = report(item["token"], where=where or source, reporter="GitHub secret scanning")
        answers.append(
            {
                "token_hash": token_hash(item["token"]),
                "token_type": item.get("type") if isinstance(item.get("type"), str) else "",
                "label": label,
            }
        )
    return answers

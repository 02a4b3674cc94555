"""Every page of Django admin, listed with what it lets an operator add, change and
delete, and held to no secret: a new admin (a third-party app's, or ours) fails here
until it is listed, and any page or form that shows or takes a secret-equivalent field
(a key digest, a token or its checksum, second-factor data, a client secret, a session
key, an invitation's hash, a password hash) fails here too."""

import uuid
from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.apps import apps
from django.contrib import admin
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from oauth2_provider.models import Application, Grant, IDToken
from post_office import mail
from post_office.models import STATUS, Log

from apikeys.models import KeyUsage
from oauth.models import AuthorizedApp
from organizations.models import User

from .factories import (
    InvitationFactory,
    UserFactory,
    give_second_factor,
    make_service_account,
)
from .oauth.grants import make_grant
from .sessions import sign_in

# What each admin page lets an operator do: add a row, change a row's form (the fields
# it takes, inlines included), delete a row; the list's actions; and the actions on a
# row's page that ask for a reason (operators.admin.ReasonedActions). Everything else
# is read-only. Nothing is ever deleted in admin: rows keep their history.
ADMIN_PAGES = {
    "organizations.user": {
        "add": ["email", "name", "password1", "password2", "usable_password"],
        "change": ["email", "is_staff", "is_superuser"],
        "delete": False,
        "actions": [],
        "asks_why": ["revoke-credentials", "suspend", "reactivate", "reset-two-factor", "delete"],
    },
    "organizations.organization": {
        "add": ["name", "slug", "owner", "membership: user, role"],
        "change": ["name", "max_key_lifetime_days", "require_two_factor", "membership: user, role"],
        "delete": False,
        "actions": [],
        "asks_why": ["close", "reopen"],
    },
    "organizations.invitation": {"actions": ["revoke"]},
    "organizations.auditevent": {},
    "organizations.serviceaccount": {"actions": ["delete", "disable", "enable"]},
    "apikeys.apikey": {"actions": ["revoke_selected"]},
    "apikeys.keyusage": {},
    "oauth.authorizedapp": {"actions": ["revoke_selected"]},
    "mfa.authenticator": {},
    "account.emailaddress": {},
    "post_office.email": {},
    "post_office.log": {},
}
READ_ONLY = {"add": None, "change": None, "delete": False, "actions": [], "asks_why": []}

# Fields that are secrets, or as good as one: never on a page, never in a form.
SECRET_FIELDS = {
    "digest",  # an API key's HMAC
    "pepper",
    "token",
    "token_checksum",  # an OAuth token's SHA-256: the toolkit looks tokens up by it
    "token_family",
    "code",
    "code_digest",
    "jti",
    "client_secret",
    "data",  # allauth's second factors: the TOTP secret, the recovery-codes seed
    "secret",
    "seed",
    "session_key",
    "token_hash",  # an invitation link's SHA-256
    "password",  # the hash (setting a new one is password1/password2)
}


def registered() -> dict[str, admin.ModelAdmin]:
    return {
        model._meta.label_lower: admin.site.get_model_admin(model)
        for model in apps.get_models()
        if admin.site.is_registered(model)
    }


@pytest.fixture
def operator(db):
    user = UserFactory(email="ops@genesis.test", is_staff=True, is_superuser=True)
    give_second_factor(user, secret="OPERATORSTOTPSECRET")
    return user


@pytest.fixture
def world(team, operator, make_key):
    """One of everything an operator could come across, each secret kept to look for."""
    member = team["member"]
    key = make_key(member)
    KeyUsage.objects.create(
        key=key, date=timezone.now().date(), surface="api", outcome="ok", count=3
    )
    invitation = InvitationFactory(organization=member.organization)
    totp = Authenticator.objects.create(
        user=member.user, type="totp", data={"secret": "MEMBERSTOTPSECRETXYZ"}
    )
    codes = Authenticator.objects.create(
        user=member.user, type="recovery_codes", data={"seed": "a1b2c3d4seedseed", "used_mask": 0}
    )
    passkey = Authenticator.objects.create(
        user=member.user,
        type="webauthn",
        data={"name": "Work key", "credential": {"id": "CREDENTIALIDSECRET"}},
    )
    grant = make_grant(member)
    grant.refresh_from_db()
    application = Application.objects.get(pk=grant.application_id)
    code = Grant.objects.create(
        user=member.user,
        application=application,
        code="AUTHORIZATIONCODESECRET",
        expires=timezone.now() + timedelta(minutes=1),
        redirect_uri="http://127.0.0.1/callback",
        code_challenge="challenge",
        code_challenge_method="S256",
    )
    AuthorizedApp.objects.filter(pk=grant.pk).update(code=code, code_digest="c0de" * 16)
    IDToken.objects.create(
        user=member.user,
        application=application,
        jti=uuid.UUID("0123456789abcdef0123456789abcdef"),
        expires=timezone.now() + timedelta(hours=1),
    )
    session = UserSession.objects.create(
        user=member.user, ip="203.0.113.7", session_key="sessionkeysecret0123", user_agent="Tests"
    )
    make_service_account(member.organization)
    email = mail.send("member@acme.test", "ops@example.com", subject="Notice", message="Hello")
    Log.objects.create(email=email, status=STATUS.failed, message="Connection refused")
    return {
        "key digest": key.digest,
        "key": key.plaintext,
        "invitation hash": invitation.token_hash,
        "TOTP secret": totp.data["secret"],
        "operator's TOTP secret": "OPERATORSTOTPSECRET",
        "recovery-codes seed": codes.data["seed"],
        "passkey credential": passkey.data["credential"]["id"],
        "access token checksum": grant.access_token.token_checksum,
        "refresh token checksum": application.refreshtoken_set.get().token_checksum,
        "client secret (hashed)": application.client_secret,
        "authorization code": code.code,
        "authorization code digest": "c0de" * 16,
        "token family": str(grant.token_family),
        "ID token": "0123456789abcdef",
        "session key": session.session_key,
        "password hash": member.user.password.rsplit("$", 1)[-1],
    }


def request_as(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_every_admin_page_is_listed_with_what_it_lets_an_operator_do(world, operator, client):
    pages = registered()
    assert sorted(pages) == sorted(ADMIN_PAGES), "list a new admin page here, with what it does"
    request = request_as(operator)
    sign_in(client, operator)
    for label, model_admin in pages.items():
        expected = READ_ONLY | ADMIN_PAGES[label]
        row = model_admin.get_queryset(request).first()
        assert row is not None, label
        allowed = {
            "add": model_admin.has_add_permission(request),
            "change": model_admin.has_change_permission(request, row),
            "delete": model_admin.has_delete_permission(request, row),
            "actions": sorted(model_admin.get_actions(request)),
            "asks_why": list(getattr(model_admin, "reasoned_actions", {})),
        }
        assert allowed["delete"] is expected["delete"], label
        assert allowed["actions"] == sorted(expected["actions"]), label
        assert allowed["asks_why"] == expected["asks_why"], label
        assert allowed["add"] is (expected["add"] is not None), label
        assert allowed["change"] is (expected["change"] is not None), label
        opts = model_admin.opts
        change = client.get(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
        )
        assert change.status_code == 200, label
        assert taken(change) == (expected["change"] or []), label
        if expected["add"] is not None:
            add = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
            assert taken(add) == expected["add"], label


def taken(response) -> list[str]:
    """The fields a page's form takes (its inlines' as "model: field, field")."""
    fields = list(response.context["adminform"].form.fields)
    for inline in response.context["inline_admin_formsets"]:
        if inline.has_add_permission or inline.has_change_permission:
            names = [
                name for name in inline.formset.form.base_fields if name not in ("id", "DELETE")
            ]
            names = [name for name in names if name != inline.formset.fk.name]
            fields.append(f"{inline.formset.model._meta.model_name}: {', '.join(names)}")
    return fields


def admin_urls(operator) -> list[str]:
    """Every admin page there is: the index, each app's, each list, each row's page, its
    add page and the pages of its actions that ask why, and a person's password page."""
    request = request_as(operator)
    urls = [reverse("admin:index")]
    for model_admin in registered().values():
        opts = model_admin.opts
        name = f"admin:{opts.app_label}_{opts.model_name}"
        urls += [reverse("admin:app_list", args=[opts.app_label]), reverse(f"{name}_changelist")]
        if model_admin.has_add_permission(request):
            urls.append(reverse(f"{name}_add"))
        for row in model_admin.get_queryset(request):
            urls += [
                reverse(f"{name}_change", args=[row.pk]),
                reverse(f"{name}_history", args=[row.pk]),
            ]
            for slug in getattr(model_admin, "reasoned_actions", {}):
                urls.append(reverse(f"{name}_act", args=[row.pk, slug]))
    for user in User.objects.all():
        urls.append(reverse("admin:auth_user_password_change", args=[user.pk]))
    return urls


def test_no_admin_page_or_form_shows_a_secret(world, operator, client):
    sign_in(client, operator)
    urls = admin_urls(operator)
    assert len(urls) > 60
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        for what, secret in world.items():
            assert secret not in page, f"{what} on {url}"
        if response.context and "adminform" in response.context:
            form = response.context["adminform"]
            shown = set(form.form.fields) | set(form.readonly_fields)
            for inline in response.context["inline_admin_formsets"]:
                shown |= set(inline.formset.form.base_fields) | set(inline.readonly_fields)
            assert not shown & SECRET_FIELDS, f"{sorted(shown & SECRET_FIELDS)} on {url}"


def test_the_lists_search_no_secret(world, operator, client):
    """A list's search that looked into a secret column would tell a guess apart."""
    sign_in(client, operator)
    request = request_as(operator)
    for model_admin in registered().values():
        searched = {field.split("__")[-1] for field in model_admin.get_search_fields(request)}
        assert not searched & SECRET_FIELDS, model_admin


def test_no_url_of_the_replaced_admins_answers(world, operator, client):
    sign_in(client, operator)
    for name in (
        "oauth2_provider_accesstoken_changelist",
        "oauth2_provider_refreshtoken_changelist",
        "oauth2_provider_grant_changelist",
        "oauth2_provider_idtoken_changelist",
        "oauth2_provider_application_changelist",
        "usersessions_usersession_changelist",
        "auth_group_changelist",
    ):
        with pytest.raises(NoReverseMatch):
            reverse(f"admin:{name}")

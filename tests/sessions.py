"""Signed-in test clients, as a real sign-in leaves the session: allauth's record of how
and when the person signed in (accounts.sudo reads it to decide whether a key action
needs a fresh sign-in). The keys are allauth's own session keys."""

import time

from django.test import Client

RECORDS = "account_authentication_methods"
RECORDS_USER = "account_authentication_methods_user"


def sign_in(client: Client, user, *, minutes_ago: float = 0) -> Client:
    client.force_login(user)
    session = client.session
    session[RECORDS] = [{"method": "password", "at": time.time() - minutes_ago * 60}]
    session[RECORDS_USER] = str(user.pk)
    session.save()
    return client

"""The sign-in backends: Django's and allauth's, for people only. A service account has
no password and an address nothing reaches, but an operator could still set one in
Django admin; it never signs in all the same."""

from allauth.account.auth_backends import AuthenticationBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

User = get_user_model()


class PeopleOnly:
    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and not user.is_service_account

    def get_user(self, user_id):
        # Every signed-in request loads its user here: the check above rides along in
        # the same query rather than costing one of its own.
        try:
            user = User.objects.select_related("service_account").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


class PeopleModelBackend(PeopleOnly, ModelBackend):
    pass


class PeopleAuthenticationBackend(PeopleOnly, AuthenticationBackend):
    pass

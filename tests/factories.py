import re
from datetime import timedelta

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.services import vouch_for_email
from apikeys import services as key_services
from apikeys.models import ApiKey
from organizations.models import Invitation, Membership, Organization, Role, User

PASSWORD = "correct horse battery staple"
TOTP_SECRET = "JBSWY3DPEHPK3PXP"
_password_hash = None


def password_hash() -> str:
    # Argon2 is slow on purpose: hash the shared test password once, not per user.
    global _password_hash
    if _password_hash is None:
        _password_hash = make_password(PASSWORD)
    return _password_hash


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Sequence(lambda n: f"User {n}")
    password = factory.LazyFunction(password_hash)

    @factory.post_generation
    def verified_email(user, create, extracted, **kwargs):
        # Like an account an operator made: its address signs in (accounts.services).
        if create and extracted is not False:
            vouch_for_email(user)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.MEMBER


class InvitationFactory(factory.django.DjangoModelFactory):
    """An open invitation as stored (its link's token is not known: use the console's
    invite to get an email with a link)."""

    class Meta:
        model = Invitation

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.MEMBER
    token_hash = factory.Sequence(lambda n: f"{n:064x}")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """Keys are made by the service, like in the console. The plaintext is kept on the
    instance (`key.plaintext`) for tests that use the key."""

    class Meta:
        model = ApiKey

    membership = factory.SubFactory(MembershipFactory)
    name = factory.Sequence(lambda n: f"Key {n}")

    @classmethod
    def _create(cls, model_class, membership, name, **kwargs):
        key, plaintext = key_services.create_key(
            membership.user, membership.organization, name, **kwargs
        )
        key.plaintext = plaintext
        return key


INVITATION_LINK = re.compile(r"https?://[^\s/]+(/invitations/[A-Za-z0-9_-]+/)")


def invitation_path(message) -> str:
    """The path of the invitation link in an email."""
    return INVITATION_LINK.search(message.body).group(1)


def give_second_factor(user, secret=TOTP_SECRET):
    """An authenticator app turned on, as allauth stores it (enrolling through its pages
    is tests/accounts/test_two_factor.py's)."""
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.create(user=user, type="totp", data={"secret": secret})


def make_service_account(organization, name="Deploy bot", role=Role.MEMBER, actor=None):
    """A service account as an Admin makes it on the Members page; returns its membership."""
    from apikeys import service_accounts

    account = service_accounts.create(organization, name, "Deploys from CI", role, actor)
    return Membership.objects.select_related("user", "organization").get(user=account.user)


def numbered(name: str, membership) -> str:
    """`name` for the member's first key, then "name 2", "name 3"...: one owner's keys in
    an organization have names of their own."""
    count = ApiKey.objects.filter(user=membership.user, organization=membership.organization)
    made = count.count()
    return name if not made else f"{name} {made + 1}"


def make_service_key(account, made_by, name=None, **kwargs):
    """A key of a service account (its membership), made by `made_by` (a membership)."""
    key, plaintext = key_services.create_key(
        account.user,
        account.organization,
        name or numbered("Deploy", account),
        created_by=made_by.user,
        **kwargs,
    )
    key.plaintext = plaintext
    return key

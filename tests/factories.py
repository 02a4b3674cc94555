import factory
from django.contrib.auth.hashers import make_password

from apikeys import services as key_services
from apikeys.models import ApiKey
from organizations.models import Membership, Organization, Role, User

PASSWORD = "correct horse battery staple"
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

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Sequence(lambda n: f"User {n}")
    password = factory.LazyFunction(password_hash)


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

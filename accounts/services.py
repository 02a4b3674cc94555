"""Changes to a person's own account that are ours, not allauth's."""

from allauth.account.models import EmailAddress
from django.db import transaction

from organizations.models import User


def vouch_for_email(user: User) -> None:
    """Make the user's current email their one verified, primary address.

    Sign-in needs a verified EmailAddress row (ACCOUNT_EMAIL_VERIFICATION is mandatory,
    which passkey sign-up requires). People made by an operator (createsuperuser, Django
    admin, seed_demo) have an address the operator vouches for; invitees prove theirs by
    the link. Not a post_save signal: allauth's own sign-up adds the row itself and
    refuses a user that already has one."""
    with transaction.atomic():
        EmailAddress.objects.filter(user=user).exclude(email=user.email).delete()
        EmailAddress.objects.update_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True}
        )


def update_profile(user: User, *, name: str, language: str, time_zone: str) -> User:
    """`language` "": as each browser asks (the one kept for emails stays until the next
    sign-in tells)."""
    user.name = name
    user.language = language or user.language
    user.language_chosen = bool(language)
    user.time_zone = time_zone
    user.save(update_fields=["name", "language", "language_chosen", "time_zone"])
    return user


def choose_language(user: User, language: str) -> None:
    """The language switcher: the person's choice, for every browser and their emails."""
    User.objects.filter(pk=user.pk).update(language=language, language_chosen=True)
    user.language, user.language_chosen = language, True


def remember_time_zone(user: User, time_zone: str) -> None:
    """The browser's zone becomes the person's until they choose one (written once, when
    the profile has none)."""
    if time_zone and not user.time_zone:
        User.objects.filter(pk=user.pk, time_zone="").update(time_zone=time_zone)
        user.time_zone = time_zone


def remember_language(user: User, language: str) -> None:
    """The language a browser asked for, kept for the emails of someone who chose none
    (written only when it changes)."""
    if language and not user.language_chosen and user.language != language:
        User.objects.filter(pk=user.pk).update(language=language)
        user.language = language

"""allauth's signals: the language a person chose follows them to each sign-in."""

from allauth.account.signals import user_logged_in
from django.dispatch import receiver


@receiver(user_logged_in)
def remember_language(sender, request, response=None, user=None, **kwargs):
    from .views import set_language_cookie

    if response is not None and user is not None and user.language:
        set_language_cookie(response, user.language)

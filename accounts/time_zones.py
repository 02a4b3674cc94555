"""Each person's time zone: every time the console shows is in it, named.

The profile keeps the zone a person chose (User.time_zone). Until there is one, the
browser's: static/js/console.js puts it in a cookie on the first page it loads (the
sign-in page, usually), and the first sign-in keeps it in the profile, where the person
can change it. Without either, UTC. Django's own machinery does the rest: the zone is
activated for the request (timezone.activate), and localtime(), the date filter and forms
follow it."""

import functools
import zoneinfo

from django.utils import timezone

from ui import times

# Written by static/js/console.js: the browser's IANA zone ("Asia/Tokyo").
COOKIE = "time_zone"


@functools.cache
def names() -> tuple[str, ...]:
    """Every IANA zone the machine knows, sorted (the profile's choices)."""
    return tuple(sorted(zoneinfo.available_timezones()))


def choices() -> list[tuple[str, str]]:
    """Each zone with its offset from UTC now: "Asia/Tokyo (UTC+09:00)"."""
    now = timezone.now()
    return [
        (name, f"{name} ({times.utc_offset(now.astimezone(zoneinfo.ZoneInfo(name)))})")
        for name in names()
    ]


def valid(name: str | None) -> str:
    """`name` if it is a zone we know, else ""."""
    return name if name and name in names() else ""


def of_request(request) -> str:
    """The zone this request's times are shown in: the person's, else the browser's."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and valid(user.time_zone):
        return user.time_zone
    return valid(request.COOKIES.get(COOKIE))


def browser_zone(request) -> str:
    return valid(request.COOKIES.get(COOKIE))


class TimeZoneMiddleware:
    """Activates the request's zone (see of_request); after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = of_request(request)
        if name:
            timezone.activate(zoneinfo.ZoneInfo(name))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

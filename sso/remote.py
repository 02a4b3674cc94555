"""Reading an identity provider's document (OpenID discovery, SAML metadata) before a
connection is saved: through allauth's HTTP session (its timeout per read,
SOCIALACCOUNT_REQUESTS_TIMEOUT), no redirect followed, and bounded in size and in total
time, so that a URL an Owner typed can't hold a worker or fill its memory."""

import time

from allauth.socialaccount.adapter import get_adapter

MAX_BYTES = 1024 * 1024
# A server that trickles bytes, each read within the timeout, is cut off after this.
MAX_SECONDS = 15
CHUNK = 64 * 1024


class TooLarge(Exception):
    pass


class TooSlow(Exception):
    pass


def read(url: str) -> bytes:
    """The document at `url`; requests' exceptions for a failure on the way (an error
    status included), TooLarge past MAX_BYTES, TooSlow past MAX_SECONDS."""
    deadline = time.monotonic() + MAX_SECONDS
    with (
        get_adapter().get_requests_session() as session,
        session.get(url, allow_redirects=False, stream=True) as response,
    ):
        response.raise_for_status()
        body = bytearray()
        for chunk in response.iter_content(CHUNK):
            body += chunk
            if len(body) > MAX_BYTES:
                raise TooLarge(url)
            if time.monotonic() > deadline:
                raise TooSlow(url)
        return bytes(body)

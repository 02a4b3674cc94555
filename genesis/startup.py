"""What a server process does once the app is loaded, before its first request."""

import gc

from django.urls import get_resolver


def freeze_startup_objects() -> None:
    """Load every view now and take what startup made out of the garbage collector's sight.

    The app's modules, settings, URL patterns and schemas (70,000-130,000 objects) live as
    long as the process, yet each full collection walked them all: a pause of 70-90 ms
    every few thousand API requests on the benchmark machine (docs/performance.md).
    Frozen, they are never scanned again, and a full pass takes well under a millisecond.
    """
    # The URLconf imports the console's views, the API and its schemas; otherwise they
    # load on the first request (which was slow for it) and stay outside the freeze.
    get_resolver().url_patterns  # noqa: B018
    gc.collect()
    gc.freeze()

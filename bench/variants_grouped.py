"""The runs of adjacent console-only middleware in MIDDLEWARE, each as one layer
(variants.console_group), named as settings_variant.BENCH_GROUPS lists them (bench only)."""

import functools

from django.conf import settings
from django.utils.module_loading import import_string
from variants import console_group
from variants_flag import ORIGINALS


@functools.cache
def __getattr__(name):
    shorts = settings.BENCH_GROUPS[name]
    return console_group(*(import_string(ORIGINALS[short]) for short in shorts))

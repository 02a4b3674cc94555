"""Genesis settings plus djangorestframework-api-key, so both verify keys on one database
(bench/verify.py)."""

from genesis.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework", "rest_framework_api_key"]  # noqa: F405

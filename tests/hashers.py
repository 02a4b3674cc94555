"""Argon2 at its cheapest, for the tests (tests/settings.py): they make and check
passwords hundreds of times. Still Argon2id, in the same stored format; the cost is in
each hash, so the production servers the tests run verify these hashes too (and, as
Django does when its hasher's cost rises, store a costlier one at the next sign-in)."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 64  # KiB
    parallelism = 1

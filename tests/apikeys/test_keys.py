import re

import pytest
from django.test import override_settings

from apikeys import keys


def test_generated_keys_have_the_documented_format():
    key = keys.generate()
    assert re.fullmatch(r"gns_[0-9A-Za-z]{38}", key)
    assert len(key) == keys.KEY_LENGTH == 42
    assert keys.is_well_formed(key)


def test_generated_keys_differ():
    assert len({keys.generate() for _ in range(1000)}) == 1000


def test_a_changed_character_breaks_the_checksum():
    key = keys.generate()
    for position in range(len(keys.PREFIX), len(key)):
        replacement = "A" if key[position] != "A" else "B"
        changed = key[:position] + replacement + key[position + 1 :]
        assert not keys.is_well_formed(changed), position


@pytest.mark.parametrize(
    "garbage",
    [None, 42, b"gns_", "", "gns_", "x" * 42, "gns_" + "é" * 38, "gns_" + "a" * 10_000, "GNS_"],
)
def test_garbage_is_not_well_formed(garbage):
    assert not keys.is_well_formed(garbage)


def test_hint_shows_only_the_ends():
    key = keys.generate()
    hint = keys.hint(key)
    assert hint == f"{key[:8]}…{key[-4:]}"
    assert key not in hint


@override_settings(APIKEY_PEPPERS={"new": "n" * 32, "old": "o" * 32})
def test_the_first_pepper_is_current_and_all_verify():
    key = keys.generate()
    assert keys.current_pepper_id() == "new"
    digests = keys.candidate_digests(key)
    assert set(digests) == {"new", "old"}
    assert digests["new"] != digests["old"]
    assert digests["new"] == keys.digest(key, "new")

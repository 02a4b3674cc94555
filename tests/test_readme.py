"""What the README tells people to run keeps the guarantees the code makes."""

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def commands(program: str) -> list[list[str]]:
    found = re.findall(rf"\.venv/bin/{program} (?:[^\n\\]|\\\n)*", README)
    return [shlex.split(command.replace("\\\n", " "))[1:] for command in found]


@pytest.mark.parametrize(
    ("unit", "entry"),
    [
        ("genesis-web.service", "genesis.wsgi:application"),
        ("genesis-mcp.service", "genesis.asgi:application"),
    ],
)
def test_the_readme_serves_with_the_units_commands(unit, entry):
    text = (ROOT / "docs" / "deploy" / unit).read_text().replace("\\\n", " ")
    in_unit = shlex.split(re.search(r"^ExecStart=(.+)$", text, re.M).group(1))[1:]
    assert in_unit in commands("granian"), f"README step 5 and {unit} disagree"
    assert entry in in_unit


def test_uvicorn_is_told_to_leave_the_client_address_to_the_app():
    assert "`--no-proxy-headers`" in README


def test_the_mcp_examples_say_what_they_need():
    assert 'pip install "mcp>=2.3,<3"' in README
    assert "Node.js 22" in README


def test_every_install_the_readme_gives_is_from_a_lock_file():
    installs = [
        shlex.split(words) for words in re.findall(r"\.venv/bin/pip (install[^&\n]*)", README)
    ]
    locks = [words[words.index("-r") + 1] for words in installs if "--require-hashes" in words]
    assert locks == ["requirements-dev.lock", "requirements-dev.lock", "requirements.lock"]
    # The rest installs the project alone, over what the lock installed.
    assert all("--no-deps" in words for words in installs if "--require-hashes" not in words)
    assert all((ROOT / lock).is_file() for lock in locks)

"""What the README tells people to run keeps the guarantees the code makes."""

import os
import re
import shlex
import subprocess
import sys
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


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.+?)\n```", README, re.S)


def test_the_readmes_mcp_example_runs_against_the_server(server, transactional_db, member):
    """The README's first Python example, as a reader copies it, against the production
    servers: the MCP SDK's own client, with a key."""
    from tests.factories import ApiKeyFactory

    key = ApiKeyFactory(membership=member, name="README example")
    [example] = [block for block in python_blocks() if '"whoami"' in block]
    assert 'pip install "mcp>=2.3,<3"' in README  # what it needs, said beside it
    script = example.replace("http://127.0.0.1:8000", server.mcp_url)
    ran = subprocess.run(  # noqa: S603 (the README's own example, by this interpreter)
        [sys.executable, "-c", script],
        env={**os.environ, "GENESIS_API_KEY": key.plaintext},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert "'key_name': 'README example'" in ran.stdout
    assert key.plaintext not in ran.stdout


def test_every_install_the_readme_gives_is_from_a_lock_file():
    installs = [
        shlex.split(words) for words in re.findall(r"\.venv/bin/pip (install[^&\n]*)", README)
    ]
    locks = [words[words.index("-r") + 1] for words in installs if "--require-hashes" in words]
    # The two commands at the top, the production install, and the upgrade's.
    assert locks == [
        "requirements-dev.lock",
        "requirements-dev.lock",
        "requirements.lock",
        "requirements.lock",
    ]
    # The rest installs the project alone, over what the lock installed.
    assert all("--no-deps" in words for words in installs if "--require-hashes" not in words)
    assert all((ROOT / lock).is_file() for lock in locks)

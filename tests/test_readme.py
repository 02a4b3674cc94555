"""What the README tells people to run keeps the guarantees the code makes."""

import re
from pathlib import Path

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_uvicorn_command_leaves_the_client_address_to_the_app():
    commands = re.findall(r"bin/uvicorn genesis\.asgi:application(?:[^\n\\]|\\\n)*", README)
    assert len(commands) >= 2
    for command in commands:
        assert "--no-proxy-headers" in command, command


def test_the_mcp_examples_say_what_they_need():
    assert 'pip install "mcp>=2.3,<3"' in README
    assert "Node.js 22" in README

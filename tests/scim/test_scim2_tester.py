"""The real peer: scim2-tester, the python-scim project's compliance checker, through
scim2-cli's `test` command, against the production servers (tests/servers.py)."""

import os
import subprocess
import sys
from pathlib import Path

from scim import tokens

SCIM2 = Path(sys.executable).with_name("scim2")


def test_scim2_tester_finds_no_failure(server, transactional_db, org, owner):
    _token, raw = tokens.create_token(org, "scim2-tester", actor=None)
    # The token in the environment, as scim2-cli asks: other users of the machine see
    # command lines.
    environment = {**os.environ, "SCIM_CLI_HEADERS": f"Authorization: Bearer {raw}"}
    run = subprocess.run(  # noqa: S603 (scim2-cli from this interpreter's environment)
        [str(SCIM2), "--url", f"{server.url}/scim/v2", "test"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    results = [line for line in run.stdout.splitlines() if line and not line.startswith(" ")]
    statuses = {line.split(" ", 1)[0] for line in results[1:]}  # after "Performing ..."
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert statuses == {"SUCCESS"}, run.stdout[-4000:]
    assert len(results) > 100  # every check ran: discovery, CRUD, PATCH, attributes

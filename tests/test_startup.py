"""What a server process does before its first request."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("module", ["genesis.wsgi", "genesis.asgi"])
def test_a_server_loads_every_view_and_freezes_startup_objects(module):
    script = (
        f"import gc, sys, {module}; "
        "print(gc.get_freeze_count(), 'api.endpoints' in sys.modules, "
        "'apikeys.views' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "genesis.settings", "DEBUG": "1"}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    frozen, api_loaded, views_loaded = result.stdout.split()
    # Django, the views and the API's schemas: tens of thousands of long-lived objects the
    # garbage collector no longer walks on every full pass.
    assert int(frozen) > 20_000
    assert api_loaded == views_loaded == "True"

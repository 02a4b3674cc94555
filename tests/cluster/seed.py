"""The cluster's data, made through the services as the console makes it: an
organization with an Owner, and keys for the load (valid ones for the API and MCP, an
admin key that revokes, and keys to be revoked). Writes the keys' plaintexts, as JSON,
to the file named (readable by root only; the harness deletes it with its folder).

    python -m tests.cluster.seed <out.json>   # with the app host's settings
"""

import json
import os
import sys


def main(out: str) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genesis.settings")
    import django

    django.setup()
    from apikeys.services import create_key
    from organizations import scopes
    from organizations.models import Role
    from tests.factories import MembershipFactory

    owner = MembershipFactory(role=Role.OWNER)

    def key(name: str, key_scopes=scopes.DEFAULT) -> dict:
        made, plaintext = create_key(owner.user, owner.organization, name, scopes=key_scopes)
        return {"id": made.id, "key": plaintext}

    keys = {
        "valid": [key(f"Load {n}") for n in range(4)],
        "admin": key("Revoker", frozenset(scopes.ALL)),
        "doomed": [key(f"Doomed {n}") for n in range(4)],
    }
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(keys, file)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

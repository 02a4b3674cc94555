"""Run by .ci/upgrade with the PREVIOUS release's code (its worktree, its venv) on a
database it has just migrated: people, organizations and keys of every kind, made
through that release's own services, and what that release's key check answers for
each (upgrade_answers.answer), written to the JSON file named by argv[1] (a temporary
file, deleted after the job: it holds plaintext keys and passwords of a throwaway
database).

Written against the previous release's services (0.2.0's); when a release changes
them, this file changes with it.
"""

import json
import sys
from datetime import timedelta

import django
from upgrade_answers import CLIENT_IP, answer


def main(out_path: str) -> None:
    django.setup()
    from django.utils import timezone

    from apikeys import service_accounts
    from apikeys import services as keys
    from organizations import services as orgs
    from organizations.models import User

    people = []

    def person(email: str, name: str) -> User:
        password = f"pw-{email}-correct-horse"
        user = User.objects.create_user(email=email, password=password, name=name)
        people.append({"email": email, "password": password})
        return user

    owner = person("owner@example.com", "Olive Owner")
    admin = person("admin@example.com", "Adam Admin")
    member = person("member@example.com", "Mia Member")
    leaver = person("leaver@example.com", "Leo Leaver")
    outsider = person("other-owner@example.com", "Otto Other")
    acme = orgs.create_organization("Acme", "acme", owner)
    other = orgs.create_organization("Other", "other", outsider)
    orgs.add_member(acme, admin.email, "admin")
    orgs.add_member(acme, member.email, "member")
    orgs.add_member(acme, leaver.email, "member")
    orgs.add_member(other, member.email, "member")

    expected = []

    def key(user, org, name, works: bool, **options):
        row, plaintext = keys.create_key(user, org, name, **options)
        expected.append({"name": name, "plaintext": plaintext, "works": works})
        return row

    now = timezone.now()
    key(owner, acme, "Owner's deploy key", True)
    key(admin, acme, "Admin's key, 90 days", True, expires_at=now + timedelta(days=90))
    key(member, acme, "Member's read-only key", True, scopes=frozenset({"api:read", "mcp:read"}))
    key(member, other, "Member's key elsewhere", True)
    key(member, acme, "Allowlisted, from elsewhere", False, allowed_ips="198.51.100.0/24")
    revoked = key(admin, acme, "Revoked key", False)
    keys.revoke_key(revoked, owner)
    deleted = key(member, acme, "Deleted key", False)
    keys.delete_key(deleted, member)
    rolled = key(owner, acme, "Rolled key", False)
    _, new_secret = keys.roll_key(rolled, owner)
    expected.append({"name": "Rolled key, its new secret", "plaintext": new_secret, "works": True})
    expiring = key(admin, acme, "Expired key", False, expires_at=now + timedelta(days=7))
    # Made valid, then its expiry passes (the services refuse a date in the past).
    type(expiring).objects.filter(pk=expiring.pk).update(expires_at=now - timedelta(hours=1))
    key(leaver, acme, "Key of a removed member", False)
    orgs.remove_member(leaver.memberships.get(organization=acme))
    account = service_accounts.create(acme, "CI pipeline", "Deploys", "member", owner)
    key(account.user, acme, "Service account key", True, created_by=owner)
    disabled = service_accounts.create(acme, "Old robot", "", "member", owner)
    key(disabled.user, acme, "Disabled service account's key", False, created_by=owner)
    service_accounts.disable(disabled)

    # What this release answers for each, after every change above.
    for each in expected:
        each["answer"] = answer(keys.authenticate(each["plaintext"], CLIENT_IP))
        if (each["answer"] is not None) != each["works"]:
            raise SystemExit(f"the previous release itself answers {each['name']!r} wrongly")

    with open(out_path, "w") as out:
        json.dump({"keys": expected, "people": people}, out)
    print(f"made {len(expected)} keys and {len(people)} people with the previous release")


if __name__ == "__main__":
    main(sys.argv[1])

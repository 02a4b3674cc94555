"""Run by .ci/upgrade with THIS checkout's code on the database the previous release made
and this code then migrated: every key answers as the previous release answered
(.ci/upgrade_make.py recorded it), through the key check and through the API (/api/v1/me,
Django's test client), and every password still signs in. Exits 1 on any difference."""

import json
import sys

import django
from upgrade_answers import CLIENT_IP, answer


def main(recorded_path: str) -> None:
    django.setup()
    from django.contrib.auth import authenticate
    from django.test import Client

    from apikeys import services

    with open(recorded_path) as recorded_file:
        recorded = json.load(recorded_file)
    client = Client(REMOTE_ADDR=CLIENT_IP)
    wrong = []
    for each in recorded["keys"]:
        now = answer(services.authenticate(each["plaintext"], CLIENT_IP))
        if now != each["answer"]:
            wrong.append(f"{each['name']}: answered {now}, before {each['answer']}")
        me = client.get("/api/v1/me", headers={"X-API-Key": each["plaintext"]})
        if each["answer"] is None:
            if me.status_code != 401:
                wrong.append(f"{each['name']}: /api/v1/me {me.status_code}, before 401")
        elif me.status_code != 200 or [me.json()["key_name"], me.json()["organization_slug"]] != [
            each["answer"]["key_name"],
            each["answer"]["organization_slug"],
        ]:
            wrong.append(f"{each['name']}: /api/v1/me {me.status_code} {me.content[:200]!r}")
    for person in recorded["people"]:
        if authenticate(None, email=person["email"], password=person["password"]) is None:
            wrong.append(f"{person['email']}: the password no longer signs in")
    for line in wrong:
        print(f"FAIL {line}")
    works = sum(each["answer"] is not None for each in recorded["keys"])
    print(
        f"upgrade: {len(recorded['keys']) - len(wrong)}/{len(recorded['keys'])} keys answer "
        f"as before ({works} working, the others refused), "
        f"{len(recorded['people'])} passwords checked"
    )
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main(sys.argv[1])

"""Audit events keep what their target says as data: how many keys an automatic
revocation took (details["count"]) and which policy changed (details["policy"]), so the
log puts them into words in one place (AuditEvent.shown_target) instead of reading its
own stored English back. Rows written before are given the same data, once, here."""

from django.db import migrations

POLICIES = {
    "Maximum API key lifetime": "max_key_lifetime",
    "Two-factor authentication": "two_factor",
}


def add_target_data(apps, schema_editor):
    AuditEvent = apps.get_model("organizations", "AuditEvent")
    revocations = AuditEvent.objects.filter(action="key_auto_revoked")
    for event in revocations.iterator(chunk_size=500):
        details = event.details or {}
        if "count" in details:
            continue
        # Written as "3 API keys" (apikeys.services._key_count), in English.
        count = event.target.split(" ", 1)[0]
        details["count"] = int(count) if count.isdigit() else len(details.get("keys", []))
        event.details = details
        event.save(update_fields=["details"])
    policies = AuditEvent.objects.filter(action="policy_changed", target__in=POLICIES)
    for event in policies.iterator(chunk_size=500):
        details = event.details or {}
        if "policy" in details:
            continue
        details["policy"] = POLICIES[event.target]
        event.details = details
        event.save(update_fields=["details"])


class Migration(migrations.Migration):
    dependencies = [("organizations", "0006_service_accounts")]

    operations = [migrations.RunPython(add_target_data, migrations.RunPython.noop)]

"""Every account made before allauth signs in with a verified address: an operator made
it (accounts.services.vouch_for_email explains why that is the rule)."""

from django.db import migrations


def vouch(apps, schema_editor):
    User = apps.get_model("organizations", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    for user in User.objects.all().iterator():
        email = user.email.strip().lower()
        if email != user.email:
            user.email = email
            user.save(update_fields=["email"])
        if not EmailAddress.objects.filter(user=user, email=email).exists():
            EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)


class Migration(migrations.Migration):
    dependencies = [
        ("account", "0009_emailaddress_unique_primary_email"),
        ("organizations", "0001_initial"),
    ]

    operations = [migrations.RunPython(vouch, migrations.RunPython.noop)]

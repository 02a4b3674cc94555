from django.db import migrations, models

from infra.online_migrations import Briefly

# The column 0011 added gets a database default, so that the previous release's code
# (0.2.0), which makes people without naming it, still can while it serves on this
# schema: during a rolling deploy, or after a rollback (docs/upgrading.md). SET DEFAULT
# changes the catalogue only, in a short transaction that waits at most 100 ms for the
# users table's lock and tries again.


class Migration(migrations.Migration):
    atomic = False  # the step in a short transaction of its own

    dependencies = [
        ("organizations", "0012_alter_auditevent_action"),
    ]

    operations = [
        Briefly(
            migrations.AlterField(
                model_name="user",
                name="stale_key_digest",
                field=models.BooleanField(db_default=True, default=True),
            ),
        ),
    ]

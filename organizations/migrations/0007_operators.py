"""Operators' changes (issue 29): an organization is closed, never deleted, and its audit
log outlives it; a person deleted by an operator is anonymised in place; the operators'
own log is audit events with no organization. Nullable columns only, and no long lock on
the audit log (AuditEventOrganizationNullable)."""

import django.db.models.deletion
from django.db import migrations, models

from infra.online_migrations import Briefly

AUDIT_TABLE = "organizations_auditevent"


class AuditEventOrganizationNullable(migrations.AlterField):
    """On PostgreSQL only the NOT NULL goes. Django's AlterField would also drop the
    foreign key and add it back, and adding it checks every row of the audit log while
    writes to it (every audited action) wait. Elsewhere (SQLite) Django's own way."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                f'ALTER TABLE "{AUDIT_TABLE}" ALTER COLUMN "organization_id" DROP NOT NULL'
            )
        else:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                f'ALTER TABLE "{AUDIT_TABLE}" ALTER COLUMN "organization_id" SET NOT NULL'
            )
        else:
            super().database_backwards(app_label, schema_editor, from_state, to_state)


# Edited after release (0.3.0): its columns on the organizations and users tables (which
# every key check joins; nullable: no rewrite) are added in one short transaction that
# waits at most 100 ms for the tables' locks and tries again, so key checks never queue
# behind it. The operations and so the schema they make are unchanged (makemigrations
# --check finds nothing; a database that applied the first version is left as it is):
# see infra/online_migrations.py and docs/upgrading.md.


class Migration(migrations.Migration):
    atomic = False  # each step in a short transaction of its own
    dependencies = [
        ("organizations", "0006_service_accounts"),
    ]

    operations = [
        Briefly(
            migrations.AddField(
                model_name="organization",
                name="closed_at",
                field=models.DateTimeField(blank=True, null=True),
            ),
            migrations.AddField(
                model_name="user",
                name="deleted_at",
                field=models.DateTimeField(blank=True, null=True),
            ),
            migrations.AlterField(
                model_name="auditevent",
                name="action",
                field=models.CharField(
                    choices=[
                        ("key_created", "API key created"),
                        ("key_deleted", "API key deleted"),
                        ("key_revoked", "API key revoked"),
                        ("key_auto_revoked", "API keys revoked automatically"),
                        ("key_renamed", "API key renamed"),
                        ("key_rolled", "API key rolled"),
                        ("key_refused", "API key refused"),
                        ("key_leaked", "API key reported leaked"),
                        ("member_added", "Member added"),
                        ("member_removed", "Member removed"),
                        ("role_changed", "Role changed"),
                        ("policy_changed", "Policy changed"),
                        ("member_invited", "Member invited"),
                        ("invitation_accepted", "Invitation accepted"),
                        ("invitation_revoked", "Invitation revoked"),
                        ("two_factor_enabled", "Two-factor enabled"),
                        ("two_factor_disabled", "Two-factor disabled"),
                        ("app_authorized", "App authorized"),
                        ("app_revoked", "Authorized app revoked"),
                        ("service_account_created", "Service account created"),
                        ("service_account_disabled", "Service account disabled"),
                        ("service_account_enabled", "Service account enabled"),
                        ("service_account_deleted", "Service account deleted"),
                        ("organization_created", "Organization created"),
                        ("organization_renamed", "Organization renamed"),
                        ("organization_closed", "Organization closed"),
                        ("organization_reopened", "Organization reopened"),
                        ("account_created", "Account created"),
                        ("account_suspended", "Account suspended"),
                        ("account_reactivated", "Account reactivated"),
                        ("account_deleted", "Account deleted"),
                        ("credentials_revoked", "Every credential revoked"),
                        ("two_factor_reset", "Two-factor reset"),
                        ("password_set", "Password set by an operator"),
                        ("email_changed", "Email address changed"),
                        ("staff_granted", "Operator rights granted"),
                        ("staff_removed", "Operator rights removed"),
                    ],
                    max_length=30,
                ),
            ),
            AuditEventOrganizationNullable(
                model_name="auditevent",
                name="organization",
                field=models.ForeignKey(
                    blank=True,
                    null=True,
                    on_delete=django.db.models.deletion.PROTECT,
                    related_name="audit_events",
                    to="organizations.organization",
                ),
            ),
            lock_first=("organizations_user", "organizations_organization"),
        ),
    ]

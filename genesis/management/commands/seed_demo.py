from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.services import vouch_for_email
from apikeys import service_accounts
from organizations import services
from organizations.models import Membership, Organization, Role, User

DEFAULT_PASSWORD = "genesis-demo"  # noqa: S105 (a documented demo password, DEBUG only)

DEMO_SERVICE_ACCOUNT = "Deploy bot"

ORGANIZATIONS = [
    (
        "Acme",
        "acme",
        [
            ("owner@example.com", "Olivia Owner", Role.OWNER),
            ("admin@example.com", "Adam Admin", Role.ADMIN),
            ("member@example.com", "Mia Member", Role.MEMBER),
        ],
    ),
    ("Globex", "globex", [("owner@globex.example", "Gus Globex", Role.OWNER)]),
]


class Command(BaseCommand):
    help = "Create the demo organizations and users (development only; safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="Password for every user.")

    @transaction.atomic
    def handle(self, *args, password, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo only runs with DEBUG on: it creates known passwords.")
        rows = []
        for org_name, slug, people in ORGANIZATIONS:
            organization, _ = Organization.objects.get_or_create(
                slug=slug, defaults={"name": org_name}
            )
            for email, name, role in people:
                user = User.objects.filter(email=email).first()
                if user is None:
                    user = User.objects.create_user(email, password, name=name)
                else:
                    user.set_password(password)
                    user.save(update_fields=["password"])
                    vouch_for_email(user)  # signs in with its address, whatever came before
                if not Membership.objects.filter(user=user, organization=organization).exists():
                    services.add_member(organization, email, role)
                rows.append((org_name, role.label, email))
        acme = Organization.objects.get(slug="acme")
        if not service_accounts.active(acme.pk).filter(user__name=DEMO_SERVICE_ACCOUNT).exists():
            service_accounts.create(
                acme,
                DEMO_SERVICE_ACCOUNT,
                "Deploys the demo app from CI. Its keys don't depend on any one person.",
                Role.MEMBER,
                actor=User.objects.get(email="admin@example.com"),
            )
        self.stdout.write(
            self.style.SUCCESS("Demo data is ready. Sign in at http://127.0.0.1:8000/ with:")
        )
        for org_name, role, email in rows:
            self.stdout.write(f"  {email:<24} {role:<7} in {org_name}")
        self.stdout.write(f"  password for all: {password}")

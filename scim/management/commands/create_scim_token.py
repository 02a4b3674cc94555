from django.core.management.base import BaseCommand, CommandError

from organizations.models import Organization
from scim import tokens


class Command(BaseCommand):
    help = (
        "Make a SCIM token for an organization's identity provider. The token is printed "
        "once, alone on the last line (for scripts); only its digest is kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("organization", help="the organization's slug")
        parser.add_argument("--name", default="SCIM", help="what the token is called")

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organization {options['organization']!r}.")
        if organization.closed_at is not None:
            raise CommandError(f"{organization.name} is closed.")
        name = options["name"].strip()
        if not name or len(name) > 100:
            raise CommandError("Give the token a name of 1 to 100 characters.")
        token, raw = tokens.create_token(organization, name, actor=None)
        self.stderr.write(
            f"SCIM token {token.name!r} for {organization.name} ({token.hint}). "
            f"Base URL: /scim/v2/. It is shown this once:"
        )
        self.stdout.write(raw)

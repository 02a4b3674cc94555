"""A client's registration that goes (deleted by the client itself over RFC 7592, or by an
operator in admin) revokes the grants people gave it, audited, before the toolkit's own
rows cascade away."""

from django.db.models.signals import pre_delete
from django.dispatch import receiver
from oauth2_provider.models import Application

from . import services
from .models import AuthorizedApp, RevokeReason


@receiver(pre_delete, sender=Application, dispatch_uid="revoke_grants_of_deleted_client")
def revoke_grants_of_deleted_client(sender, instance, **kwargs):
    for grant in AuthorizedApp.objects.filter(application=instance, revoked_at__isnull=True):
        services.revoke(grant, None, RevokeReason.CLIENT_DELETED)

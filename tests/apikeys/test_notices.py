from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from apikeys import services
from apikeys.models import ApiKey
from apikeys.notices import send_expiry_notices
from organizations import services as org_services


def test_the_owner_is_told_when_an_admin_revokes_their_key(
    admin, member, client_for, make_key, mailoutbox, django_capture_on_commit_callbacks
):
    key = make_key(member, "Mia's CI")
    with django_capture_on_commit_callbacks(execute=True):
        client_for(admin).post(f"/o/acme/api-keys/{key.pk}/revoke/")
    [mail] = mailoutbox
    assert mail.to == ["member@acme.test"]
    assert mail.subject == 'Your API key "Mia\'s CI" was revoked'
    assert "Adam Admin" in mail.body and key.hint in mail.body and "Acme" in mail.body
    assert key.plaintext not in mail.body


def test_no_mail_when_you_delete_or_revoke_your_own_key(
    admin, make_key, mailoutbox, django_capture_on_commit_callbacks
):
    own, other = make_key(admin), make_key(admin)
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_key(own, admin.user)
        services.revoke_key(other, admin.user)
    assert mailoutbox == []


def test_a_removed_member_is_told_which_keys_were_revoked(
    owner, member, make_key, mailoutbox, django_capture_on_commit_callbacks
):
    make_key(member, "one")
    make_key(member, "two")
    with django_capture_on_commit_callbacks(execute=True):
        org_services.remove_member(member)
    [mail] = mailoutbox
    assert mail.to == ["member@acme.test"]
    assert "were revoked" in mail.subject
    assert "- one (gns_" in mail.body and "- two (gns_" in mail.body


def test_a_removed_member_without_keys_gets_no_mail(
    owner, member, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        org_services.remove_member(member)
    assert mailoutbox == []


def test_expiry_notices_go_once_a_week_ahead(member, make_key, mailoutbox):
    soon = make_key(member, "soon", expires_at=timezone.now() + timedelta(days=6))
    make_key(member, "later", expires_at=timezone.now() + timedelta(days=20))
    make_key(member, "never")
    gone = make_key(member, "revoked", expires_at=timezone.now() + timedelta(days=2))
    services.revoke_key(gone, None)
    mailoutbox.clear()
    call_command("send_expiry_notices", stdout=open("/dev/null", "w"))  # noqa: SIM115
    [mail] = mailoutbox
    assert mail.to == ["member@acme.test"]
    assert mail.subject.startswith('Your API key "soon" expires in 5')
    assert soon.plaintext not in mail.body
    assert send_expiry_notices() == 0  # once per key
    assert ApiKey.objects.get(pk=soon.pk).expiry_notice_sent_at is not None
    later = timezone.now() + timedelta(days=14)
    assert send_expiry_notices(now=later) == 1  # "later" is now within a week


def test_a_mail_server_that_is_down_loses_the_notice_not_the_change(
    admin, member, client_for, make_key, settings, django_capture_on_commit_callbacks, caplog
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    key = make_key(member)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin).post(f"/o/acme/api-keys/{key.pk}/revoke/")
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert "Could not send" in caplog.text
    assert key.plaintext not in caplog.text
    soon = make_key(member, expires_at=timezone.now() + timedelta(days=2))
    assert send_expiry_notices() == 0
    assert ApiKey.objects.get(pk=soon.pk).expiry_notice_sent_at is None  # retried next run

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apikeys.models import ApiKey
from organizations import services
from organizations.models import Membership, Role

from ..factories import MembershipFactory


def test_add_member_finds_the_user_by_email_in_any_case(org, new_user):
    membership = services.add_member(org, "  NINA@Example.com ", Role.ADMIN)
    assert (membership.user, membership.role) == (new_user, Role.ADMIN)


def test_add_member_refuses_unknown_emails(org):
    with pytest.raises(services.MembershipError, match="No Genesis account uses"):
        services.add_member(org, "nobody@example.com", Role.MEMBER)


def test_add_member_refuses_existing_members(member):
    with pytest.raises(services.MembershipError, match="already a member"):
        services.add_member(member.organization, member.user.email, Role.ADMIN)
    assert Membership.objects.get(pk=member.pk).role == Role.MEMBER


def test_the_last_owner_cannot_be_demoted_or_removed(owner):
    with pytest.raises(services.MembershipError, match="at least one Owner"):
        services.change_role(owner, Role.ADMIN)
    with pytest.raises(services.MembershipError, match="at least one Owner"):
        services.remove_member(owner)
    assert Membership.objects.get(pk=owner.pk).role == Role.OWNER


def test_an_owner_can_step_down_when_another_owner_remains(owner):
    second = MembershipFactory(organization=owner.organization, role=Role.OWNER)
    services.change_role(owner, Role.MEMBER)
    assert Membership.objects.get(pk=owner.pk).role == Role.MEMBER
    with pytest.raises(services.MembershipError):
        services.remove_member(second)


def test_change_role_rejects_unknown_roles(member):
    with pytest.raises(services.MembershipError):
        services.change_role(member, "superuser")


def test_removing_a_member_revokes_only_their_keys_in_that_organization(
    owner, member, outsider, make_key
):
    theirs = make_key(member)
    owners = make_key(owner)
    services.add_member(outsider.organization, member.user.email, Role.MEMBER)
    elsewhere = make_key(
        Membership.objects.get(user=member.user, organization=outsider.organization)
    )
    services.remove_member(member)
    states = dict(ApiKey.objects.values_list("pk", "revoke_reason"))
    assert states == {theirs.pk: "member_removed", owners.pk: "", elsewhere.pk: ""}


def test_removing_twice_is_harmless(owner, member):
    services.remove_member(member)
    services.remove_member(member)
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_create_organization_makes_the_creator_owner(new_user):
    organization = services.create_organization("Initech", "initech", new_user)
    assert organization.memberships.get().role == Role.OWNER


def test_removal_costs_the_same_few_queries_however_many_keys(owner, make_key):
    counts = []
    for key_count in (2, 40):
        membership = MembershipFactory(organization=owner.organization)
        for _ in range(key_count):
            make_key(membership)
        with CaptureQueriesContext(connection) as queries:
            services.remove_member(membership)
        counts.append(len(queries))
        assert not ApiKey.objects.active().filter(user=membership.user).exists()
    assert counts[0] == counts[1] <= 10

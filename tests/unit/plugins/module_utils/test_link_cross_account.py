"""link across two AWS accounts: the request names Aurora's account, both accounts tag, and a peering
requested from an account the ROSA client is not in is refused before anything is removed."""

import pytest
from test_link import AURORA_CIDR
from test_link import AURORA_REGION
from test_link import AURORA_VPC
from test_link import AURORA_VPCS
from test_link import MACHINE_CIDR
from test_link import PCX
from test_link import ROSA_VPC
from test_link import TAGS
from test_link import FakeEC2
from test_link import disconnect_world
from test_link import make_peering
from test_link import two_regions

from ansible_collections.keycloak.aurora.plugins.module_utils import link
from ansible_collections.keycloak.aurora.plugins.module_utils import peering as peering_utils
from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError

AURORA_ACCOUNT = "123456789012"
ROSA_ACCOUNT = "222222222222"


def ensure_peering(rosa, aurora, aurora_account_id):
    return link.ensure_peering(
        rosa,
        aurora,
        rosa_vpc_id=ROSA_VPC,
        aurora_vpc_id=AURORA_VPC,
        aurora_region=AURORA_REGION,
        tags=TAGS,
        check_mode=False,
        wait_timeout=300,
        aurora_account_id=aurora_account_id,
    )


def test_a_peering_to_another_account_is_requested_with_its_owner():
    rosa, aurora = two_regions()
    ensure_peering(rosa, aurora, AURORA_ACCOUNT)
    [request] = rosa.args("create_vpc_peering_connection")
    assert (request["PeerOwnerId"], request["PeerRegion"], request["PeerVpcId"]) == (
        AURORA_ACCOUNT,
        AURORA_REGION,
        AURORA_VPC,
    )
    assert aurora.args("accept_vpc_peering_connection") == [{"VpcPeeringConnectionId": "pcx-new1"}]


def test_a_peering_within_one_account_names_no_owner():
    rosa, aurora = two_regions()
    ensure_peering(rosa, aurora, None)
    assert "PeerOwnerId" not in rosa.args("create_vpc_peering_connection")[0]


def cross_account_same_region(peering):
    peering["RequesterVpcInfo"].update(Region=AURORA_REGION, OwnerId=ROSA_ACCOUNT)
    return peering


@pytest.mark.parametrize("cross_account, tagged", [(True, TAGS), (False, {})])
def test_a_same_region_peering_between_accounts_is_tagged_on_the_aurora_side(cross_account, tagged):
    # Each account sees only the tags it set (the fake models one account: the requester's tags are left
    # out): Aurora's account needs its own to find the peering by them.
    peering = cross_account_same_region(make_peering())
    aurora = FakeEC2(AURORA_REGION, peerings=[peering])
    summary = peering_utils.summary(peering)
    added = link.ensure_accepter_tags(aurora, summary=summary, tags=TAGS, check_mode=False, cross_account=cross_account)
    assert added == tagged
    assert aurora.tags.get(PCX, {}) == tagged
    assert ("create_tags" in aurora.names()) is cross_account


def test_a_peering_from_an_account_the_rosa_client_is_not_in_is_refused_before_any_removal():
    rosa, aurora, found = disconnect_world()
    found[0]["RequesterVpcInfo"]["OwnerId"] = ROSA_ACCOUNT
    refusal = f"{PCX} was requested from the ROSA VPC {ROSA_VPC} of the AWS account {ROSA_ACCOUNT}.*rosa_role_arn"
    with pytest.raises(AuroraError, match=refusal):
        link.disconnect(rosa, aurora, found=found, aurora_vpcs=AURORA_VPCS, machine_cidr=MACHINE_CIDR, check_mode=True)
    assert rosa.calls == [] and aurora.calls == []


def test_a_peering_from_the_rosa_clients_own_account_is_disconnected_on_both_sides():
    rosa, aurora, found = disconnect_world()
    found[0]["RequesterVpcInfo"]["OwnerId"] = ROSA_ACCOUNT
    removed = link.disconnect(
        rosa,
        aurora,
        found=found,
        aurora_vpcs=AURORA_VPCS,
        machine_cidr=MACHINE_CIDR,
        check_mode=False,
        rosa_account_id=ROSA_ACCOUNT,
    )
    assert [r["vpc_peering_connection_id"] for r in removed] == [PCX]
    assert {name for name, _kwargs in rosa.mutating()} == {"delete_route"}
    assert [kwargs["DestinationCidrBlock"] for _name, kwargs in rosa.mutating()] == [AURORA_CIDR, AURORA_CIDR]
    assert ("delete_vpc_peering_connection", {"VpcPeeringConnectionId": PCX}) in aurora.mutating()

"""peering: ensure_peering_accepted and its waits against a fake EC2 client.

The fake plays a scripted sequence of statuses (one per describe call), records every call and
never sleeps: the waits get a fake clock whose ``sleep`` only moves time forward.
"""

import botocore.exceptions
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from aws_fakes import FakeClock
from aws_fakes import FakeMeta
from aws_fakes import FakePaginator

from ansible_collections.keycloak.aurora.plugins.module_utils import peering as peering_utils
from ansible_collections.keycloak.aurora.plugins.module_utils.peering import PeeringError
from ansible_collections.keycloak.aurora.plugins.module_utils.peering import ensure_peering_accepted
from ansible_collections.keycloak.aurora.plugins.modules import vpc_peering_accept

PCX = "pcx-0123456789abcdef0"
MUTATING = {"accept_vpc_peering_connection", "create_tags", "reject_vpc_peering_connection"}
MESSAGES = {
    "initiating-request": "Initiating Request to 123456789012",
    "pending-acceptance": "Pending Acceptance by 123456789012",
    "provisioning": "Provisioning",
    "active": "Active",
    "failed": "Failed due to incorrect VPC-ID, Account ID, or overlapping CIDR range",
    "rejected": "Rejected by 123456789012",
    "expired": "Expired",
    "deleting": "Deleting",
    "deleted": "Deleted by 123456789012",
}


def client_error(code, operation):
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": code}}, operation)


class FakeWaiter:
    """vpc_peering_connection_exists: retries while the peering is not visible, up to MaxAttempts."""

    def __init__(self, ec2, clock):
        self.ec2 = ec2
        self.clock = clock

    def wait(self, **kwargs):
        self.ec2.calls.append(("waiter.vpc_peering_connection_exists", kwargs))
        config = kwargs["WaiterConfig"]
        for attempt in range(config["MaxAttempts"]):
            if self.ec2.waiter_errors:
                raise self.ec2.waiter_errors.pop(0)
            if self.ec2.invisible_polls <= 0:
                return
            self.ec2.invisible_polls -= 1
            if attempt + 1 < config["MaxAttempts"]:
                self.clock.sleep(config["Delay"])
        raise botocore.exceptions.WaiterError(
            name="VpcPeeringConnectionExists",
            reason="Max attempts exceeded",
            last_response={"Error": {"Code": "InvalidVpcPeeringConnectionID.NotFound"}},
        )


class FakeEC2:
    """One peering connection whose status follows ``statuses``, one entry per describe call.

    The last status sticks; ``accept_vpc_peering_connection`` moves it to ``after_accept``.
    """

    def __init__(self, statuses, *, region="eu-west-1", accepter_region="eu-west-1", tags=None, after_accept=None):
        self.statuses = list(statuses)
        self.after_accept = list(after_accept or ["active"])
        self.region = region
        self.accepter_region = accepter_region
        self.tags = dict(tags or {})
        self.meta = FakeMeta(region)
        self.calls = []
        self.clock = FakeClock()
        self.invisible_polls = 0
        self.waiter_errors = []
        self.accept_error = None
        # Tags DescribeVpcPeeringConnections shows instead of this region's (moto: the requester's).
        self.described_tags = None

    def _peering(self):
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {
            "VpcPeeringConnectionId": PCX,
            "Status": {"Code": status, "Message": MESSAGES[status]},
            "RequesterVpcInfo": {
                "VpcId": "vpc-rosa",
                "CidrBlock": "10.0.0.0/16",
                "Region": "eu-central-1",
                "OwnerId": "123456789012",
            },
            "AccepterVpcInfo": {
                "VpcId": "vpc-aurora",
                "CidrBlock": "192.168.0.0/24",
                "Region": self.accepter_region,
                "OwnerId": "123456789012",
            },
            "Tags": [{"Key": k, "Value": v} for k, v in (self.described_tags or self.tags).items()],
        }

    def describe_vpc_peering_connections(self, **kwargs):
        self.calls.append(("describe_vpc_peering_connections", kwargs))
        assert kwargs["VpcPeeringConnectionIds"] == [PCX]
        # An unrelated peering proves the client-side id filter (moto ignores filters).
        peering = self._peering()
        other = dict(peering, VpcPeeringConnectionId="pcx-ffffffffffffffff0", Status={"Code": "deleted"})
        if self.invisible_polls > 0:  # not yet in this region: only the waiter's polls make it appear
            return {"VpcPeeringConnections": [other]}
        return {"VpcPeeringConnections": [other, peering]}

    def accept_vpc_peering_connection(self, **kwargs):
        self.calls.append(("accept_vpc_peering_connection", kwargs))
        if self.accept_error:
            raise self.accept_error
        self.statuses = list(self.after_accept)
        return {"VpcPeeringConnection": {"VpcPeeringConnectionId": PCX}}

    def describe_tags(self, **kwargs):
        self.calls.append(("describe_tags", kwargs))
        assert kwargs["Filters"] == [{"Name": "resource-id", "Values": [PCX]}]
        tags = [
            {"Key": k, "Value": v, "ResourceId": PCX, "ResourceType": "vpc-peering-connection"}
            for k, v in self.tags.items()
        ]
        return {"Tags": tags}

    def create_tags(self, **kwargs):
        self.calls.append(("create_tags", kwargs))
        self.tags.update({t["Key"]: t["Value"] for t in kwargs["Tags"]})

    def get_paginator(self, name):
        return FakePaginator(getattr(self, name))

    def get_waiter(self, name):
        assert name == "vpc_peering_connection_exists"
        return FakeWaiter(self, self.clock)

    def names(self):
        return [name for name, _kwargs in self.calls]

    def mutating(self):
        return [call for call in self.calls if call[0] in MUTATING]


def ensure(ec2, **kwargs):
    kwargs.setdefault("peering_id", PCX)
    return ensure_peering_accepted(ec2, sleep=ec2.clock.sleep, clock=ec2.clock, **kwargs)


# --- state paths ---------------------------------------------------------------------------------


def test_pending_acceptance_is_accepted_once_and_waited_for_until_active():
    ec2 = FakeEC2(["pending-acceptance"], after_accept=["provisioning", "provisioning", "active"])
    changed, state = ensure(ec2)
    assert changed is True
    assert state["peering"]["status"] == "active"
    assert ec2.names().count("accept_vpc_peering_connection") == 1
    assert ("accept_vpc_peering_connection", {"VpcPeeringConnectionId": PCX}) in ec2.calls
    assert ec2.clock.sleeps == [peering_utils.POLL_DELAY, peering_utils.POLL_DELAY]
    assert state["before"] == {"status": "pending-acceptance", "tags": {}}
    assert state["after"] == {"status": "active", "tags": {}}


def test_active_is_left_alone_and_not_changed():
    ec2 = FakeEC2(["active"], tags={"AuroraCluster": "keycloak-aurora"})
    changed, state = ensure(ec2, tags={"AuroraCluster": "keycloak-aurora"})
    assert changed is False
    assert ec2.mutating() == []
    assert ec2.clock.sleeps == []
    assert state["peering"] == {
        "vpc_peering_connection_id": PCX,
        "status": "active",
        "requester_vpc_id": "vpc-rosa",
        "requester_cidr_block": "10.0.0.0/16",
        "requester_region": "eu-central-1",
        "requester_owner_id": "123456789012",
        "accepter_vpc_id": "vpc-aurora",
        "accepter_cidr_block": "192.168.0.0/24",
        "accepter_region": "eu-west-1",
        "tags": {"AuroraCluster": "keycloak-aurora"},
    }


def test_initiating_request_waits_for_pending_acceptance_then_accepts():
    ec2 = FakeEC2(["initiating-request", "initiating-request", "initiating-request", "pending-acceptance"])
    changed, state = ensure(ec2)
    assert changed is True
    assert state["peering"]["status"] == "active"
    assert ec2.names().count("accept_vpc_peering_connection") == 1
    assert len(ec2.clock.sleeps) == 2


def test_provisioning_waits_for_active_without_accepting():
    ec2 = FakeEC2(["provisioning", "provisioning", "active"])
    changed, state = ensure(ec2)
    assert changed is False
    assert state["peering"]["status"] == "active"
    assert ec2.mutating() == []


def test_provisioning_without_wait_returns_at_once():
    ec2 = FakeEC2(["provisioning", "active"])
    changed, state = ensure(ec2, wait=False)
    assert changed is False
    assert state["peering"]["status"] == "provisioning"
    assert ec2.clock.sleeps == []


def test_accept_without_wait_does_not_wait_for_active():
    ec2 = FakeEC2(["pending-acceptance"], after_accept=["provisioning", "active"])
    changed, state = ensure(ec2, wait=False)
    assert changed is True
    assert state["peering"]["status"] == "provisioning"
    assert ec2.names().count("accept_vpc_peering_connection") == 1
    assert ec2.clock.sleeps == []


def test_a_visible_peering_needs_no_waiter():
    ec2 = FakeEC2(["pending-acceptance"])
    changed, _state = ensure(ec2)
    assert changed is True
    assert "waiter.vpc_peering_connection_exists" not in ec2.names()


def test_waits_until_the_peering_appears_in_the_accepter_region():
    ec2 = FakeEC2(["pending-acceptance"])
    ec2.invisible_polls = 3
    changed, state = ensure(ec2)
    assert changed is True
    assert state["peering"]["status"] == "active"
    waits = [kwargs for name, kwargs in ec2.calls if name == "waiter.vpc_peering_connection_exists"]
    assert waits[0]["VpcPeeringConnectionIds"] == [PCX]
    assert waits[0]["WaiterConfig"] == {
        "Delay": peering_utils.POLL_DELAY,
        "MaxAttempts": 300 // peering_utils.POLL_DELAY,
    }


def test_an_empty_describe_after_the_waiter_counts_as_not_there_yet():
    ec2 = FakeEC2(["active"])
    real = ec2.describe_vpc_peering_connections
    answers = [[], [], [], None]

    def describe(**kwargs):
        answer = answers.pop(0) if answers else None
        if answer is not None:
            ec2.calls.append(("describe_vpc_peering_connections", kwargs))
            return {"VpcPeeringConnections": answer}
        return real(**kwargs)

    ec2.describe_vpc_peering_connections = describe
    changed, state = ensure(ec2)
    assert (changed, state["peering"]["status"]) == (False, "active")
    assert len(ec2.clock.sleeps) == 2


def test_a_peering_never_seen_in_the_region_times_out_naming_it_and_the_region():
    ec2 = FakeEC2(["pending-acceptance"])
    ec2.invisible_polls = 10**6
    with pytest.raises(PeeringError) as raised:
        ensure(ec2, wait_timeout=30)
    message = raised.value.message
    assert PCX in message and "eu-west-1" in message and "aurora_wait_timeout (wait_timeout) 30s" in message
    assert "accepter's region" in message
    assert ec2.mutating() == []
    assert ec2.clock.now - 1000.0 <= 30 + peering_utils.POLL_DELAY


def test_throttling_during_the_existence_wait_keeps_waiting():
    ec2 = FakeEC2(["active"])
    ec2.invisible_polls = 1
    ec2.waiter_errors = [
        botocore.exceptions.WaiterError(
            name="VpcPeeringConnectionExists",
            reason="An error occurred (RequestLimitExceeded)",
            last_response={"Error": {"Code": "RequestLimitExceeded"}},
        )
    ]
    changed, state = ensure(ec2)
    assert (changed, state["peering"]["status"]) == (False, "active")


def test_other_waiter_errors_are_aws_errors():
    ec2 = FakeEC2(["active"])
    ec2.invisible_polls = 1
    ec2.waiter_errors = [
        botocore.exceptions.WaiterError(
            name="VpcPeeringConnectionExists",
            reason="An error occurred (UnauthorizedOperation)",
            last_response={"Error": {"Code": "UnauthorizedOperation"}},
        )
    ]
    with pytest.raises(AnsibleAWSError) as raised:
        ensure(ec2)
    assert not isinstance(raised.value, PeeringError)
    assert PCX in raised.value.message


# --- timeouts and dead states ---------------------------------------------------------------------


def test_wait_for_active_times_out_naming_the_peering_and_its_last_state():
    ec2 = FakeEC2(["pending-acceptance"], after_accept=["provisioning"])
    with pytest.raises(PeeringError) as raised:
        ensure(ec2, wait_timeout=20)
    message = raised.value.message
    assert message == (
        f"Timed out after aurora_wait_timeout (wait_timeout) 20s waiting for VPC peering connection {PCX} to be "
        "active: it is still provisioning (Provisioning)"
    )
    assert ec2.names().count("accept_vpc_peering_connection") == 1
    assert sum(ec2.clock.sleeps) == 20


def test_wait_for_pending_acceptance_times_out_naming_the_state():
    ec2 = FakeEC2(["initiating-request"])
    with pytest.raises(PeeringError) as raised:
        ensure(ec2, wait_timeout=12)
    assert "to be pending-acceptance or provisioning or active" in raised.value.message
    assert "still initiating-request (Initiating Request to 123456789012)" in raised.value.message
    assert ec2.mutating() == []


@pytest.mark.parametrize("status", ["failed", "rejected", "expired", "deleting", "deleted"])
def test_dead_states_fail_with_state_message_and_advice(status):
    ec2 = FakeEC2([status])
    with pytest.raises(PeeringError) as raised:
        ensure(ec2, tags={"AuroraCluster": "keycloak-aurora"})
    message = raised.value.message
    assert f"VPC peering connection {PCX} is {status} ({MESSAGES[status]})" in message
    assert "Delete it" in message and "create a new one" in message
    assert "keycloak.aurora.aurora_peering replaces it on the next run" in message
    assert ec2.mutating() == []


@pytest.mark.parametrize("status", ["failed", "rejected", "expired", "deleted"])
def test_a_peering_dying_while_waited_for_fails_at_once(status):
    ec2 = FakeEC2(["pending-acceptance"], after_accept=["provisioning", status])
    with pytest.raises(PeeringError) as raised:
        ensure(ec2)
    assert f"is {status} ({MESSAGES[status]})" in raised.value.message
    assert len(ec2.clock.sleeps) == 1


def test_the_requester_region_is_refused_with_the_accepter_region_named():
    ec2 = FakeEC2(["pending-acceptance"], region="eu-central-1", accepter_region="eu-west-1")
    with pytest.raises(PeeringError) as raised:
        ensure(ec2)
    assert "set region=eu-west-1" in raised.value.message
    assert "not in eu-central-1" in raised.value.message
    assert ec2.mutating() == []


def test_a_concurrent_accept_is_not_an_error_nor_our_change():
    ec2 = FakeEC2(["pending-acceptance", "active"])
    ec2.accept_error = client_error("InvalidStateTransition", "AcceptVpcPeeringConnection")
    changed, state = ensure(ec2)
    assert changed is False
    assert state["peering"]["status"] == "active"
    assert ec2.names().count("accept_vpc_peering_connection") == 1


def test_a_failed_accept_is_raised_when_the_peering_is_not_accepted():
    ec2 = FakeEC2(["pending-acceptance"])
    ec2.accept_error = client_error("UnauthorizedOperation", "AcceptVpcPeeringConnection")
    with pytest.raises(AnsibleAWSError) as raised:
        ensure(ec2)
    assert "accept vpc peering" in raised.value.message


# --- check mode -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, changed",
    [("pending-acceptance", True), ("initiating-request", True), ("provisioning", False), ("active", False)],
)
def test_check_mode_sends_nothing_mutating_and_does_not_wait(status, changed):
    ec2 = FakeEC2([status])
    result_changed, state = ensure(ec2, check_mode=True)
    assert result_changed is changed
    assert ec2.mutating() == []
    assert ec2.clock.sleeps == []
    assert state["peering"]["status"] == status
    assert state["after"]["status"] == ("active" if changed else status)


def test_check_mode_reports_tags_to_add_without_adding_them():
    ec2 = FakeEC2(["active"], tags={"Name": "rosa-a"})
    changed, state = ensure(ec2, check_mode=True, tags={"AuroraCluster": "keycloak-aurora"})
    assert changed is True
    assert ec2.mutating() == []
    assert state["peering"]["tags"] == {"Name": "rosa-a"}
    assert state["after"]["tags"] == {"Name": "rosa-a", "AuroraCluster": "keycloak-aurora"}


# --- tags -----------------------------------------------------------------------------------------


def test_tags_are_added_in_the_client_region_never_removed():
    ec2 = FakeEC2(["pending-acceptance"], tags={"Name": "rosa-a", "owner": "old"})
    changed, state = ensure(ec2, tags={"AuroraCluster": "keycloak-aurora", "owner": "new", "count": 3})
    assert changed is True
    tag_calls = [kwargs for name, kwargs in ec2.calls if name == "create_tags"]
    assert len(tag_calls) == 1
    assert tag_calls[0]["Resources"] == [PCX]
    assert sorted((t["Key"], t["Value"]) for t in tag_calls[0]["Tags"]) == [
        ("AuroraCluster", "keycloak-aurora"),
        ("count", "3"),
        ("owner", "new"),
    ]
    assert state["peering"]["tags"] == {
        "Name": "rosa-a",
        "owner": "new",
        "AuroraCluster": "keycloak-aurora",
        "count": "3",
    }
    # Accept comes before tagging: a peering that will never be accepted is not tagged.
    assert ec2.names().index("accept_vpc_peering_connection") < ec2.names().index("create_tags")


def test_tags_are_compared_with_this_region_tags_not_the_described_ones():
    ec2 = FakeEC2(["active"], tags={"AuroraCluster": "keycloak-aurora"})
    ec2.described_tags = {"Name": "requester-side"}
    changed, state = ensure(ec2, tags={"AuroraCluster": "keycloak-aurora"})
    assert changed is False
    assert ec2.mutating() == []
    assert state["peering"]["tags"] == {"AuroraCluster": "keycloak-aurora"}


def test_without_tags_option_no_tag_request_is_sent():
    ec2 = FakeEC2(["active"], tags={"Name": "x"})
    changed, state = ensure(ec2)
    assert changed is False
    assert "describe_tags" not in ec2.names()
    assert state["peering"]["tags"] == {"Name": "x"}


def test_tags_already_there_change_nothing():
    ec2 = FakeEC2(["active"], tags={"AuroraCluster": "keycloak-aurora", "Name": "x"})
    changed = ensure(ec2, tags={"AuroraCluster": "keycloak-aurora"})[0]
    assert changed is False
    assert ec2.mutating() == []


# --- module input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, fragment",
    [
        (
            {"peering_id": "vpc-0123456789abcdef0", "wait_timeout": 300},
            "peering_id must be a VPC peering connection ID",
        ),
        ({"peering_id": PCX, "wait_timeout": -1}, "wait_timeout must be 0 or more seconds, not -1"),
    ],
)
def test_bad_input_is_refused_naming_the_option(params, fragment):
    with pytest.raises(AnsibleAWSError) as raised:
        vpc_peering_accept.validate(params)
    assert fragment in raised.value.message


def test_good_input_passes():
    vpc_peering_accept.validate({"peering_id": PCX, "wait_timeout": 0})
    vpc_peering_accept.validate({"peering_id": "pcx-1a2b3c4d", "wait_timeout": 300})

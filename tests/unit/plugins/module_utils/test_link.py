"""link: one ROSA cluster joined to an Aurora cluster, against fake EC2 clients.

One ``FakeEC2`` per region: peerings are shared between the two (a peering is seen from both
regions), route tables and security groups belong to the fake of their region. DescribeTags shows,
as on AWS, only the tags set in the fake's region: a peering's creation tags in the requester's
region, and what CreateTags added there. Every call is
recorded; ``ignore_filters`` names the describe calls whose ``Filters`` the fake ignores, as moto
does, so the tests prove the code filters client-side too. No test may sleep: the peering waits
get a sleep that fails the test.
"""

import copy
import functools

import botocore.exceptions
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from aws_fakes import FakeMeta
from aws_fakes import FakePaginator

from ansible_collections.keycloak.aurora.plugins.module_utils import link
from ansible_collections.keycloak.aurora.plugins.module_utils import peering as peering_utils
from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError

PCX = "pcx-0123456789abcdef0"
OTHER_PCX = "pcx-fedcba98765432100"
ROSA_VPC = "vpc-rosa"
AURORA_VPC = "vpc-aurora"
ROSA_REGION = "eu-central-1"
AURORA_REGION = "eu-west-1"
MACHINE_CIDR = "10.0.0.0/16"
AURORA_CIDR = "192.168.0.0/24"
CLUSTER = "keycloak-aurora"
ROSA_CLUSTER = "rosa-one"
SG = "sg-aurora"
MUTATING = {
    "create_vpc_peering_connection",
    "accept_vpc_peering_connection",
    "delete_vpc_peering_connection",
    "reject_vpc_peering_connection",
    "create_tags",
    "create_route",
    "replace_route",
    "delete_route",
    "authorize_security_group_ingress",
    "revoke_security_group_ingress",
}


def client_error(code, operation):
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": code}}, operation)


def make_peering(
    peering_id=PCX,
    status="active",
    *,
    requester=ROSA_VPC,
    accepter=AURORA_VPC,
    tags=None,
    requester_cidr=MACHINE_CIDR,
    requester_cidrs=None,
):
    return {
        "VpcPeeringConnectionId": peering_id,
        "Status": {"Code": status, "Message": status},
        "RequesterVpcInfo": {
            "VpcId": requester,
            "CidrBlock": requester_cidr,
            "CidrBlockSet": [{"CidrBlock": c} for c in (requester_cidrs or [requester_cidr])],
            "Region": ROSA_REGION,
            "OwnerId": "123456789012",
        },
        "AccepterVpcInfo": {
            "VpcId": accepter,
            "CidrBlock": AURORA_CIDR,
            "Region": AURORA_REGION,
            "OwnerId": "123456789012",
        },
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    }


def make_table(table_id, routes, vpc_id=AURORA_VPC):
    """``routes``: destination -> peering id, or a gateway id ("local", "igw-...")."""
    return {
        "RouteTableId": table_id,
        "VpcId": vpc_id,
        "Routes": [
            {"DestinationCidrBlock": d, "VpcPeeringConnectionId": t}
            if t.startswith("pcx-")
            else {"DestinationCidrBlock": d, "GatewayId": t}
            for d, t in routes.items()
        ],
    }


def tcp(port, *cidrs, to_port=None, protocol="tcp"):
    permission = {"IpProtocol": protocol, "IpRanges": [{"CidrIp": c} for c in cidrs]}
    if protocol != "-1":
        permission.update(FromPort=port, ToPort=port if to_port is None else to_port)
    return permission


def make_group(permissions, group_id=SG, name=f"{CLUSTER}-security-group", vpc_id=AURORA_VPC):
    return {"GroupId": group_id, "GroupName": name, "VpcId": vpc_id, "IpPermissions": list(permissions)}


def database_rule(cidr, description=None):
    ip_range = {"CidrIp": cidr}
    if description:
        ip_range["Description"] = description
    return {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [ip_range]}


def _tags(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags") or []}


PEERING_FILTERS = {
    "accepter-vpc-info.vpc-id": lambda p: [p["AccepterVpcInfo"]["VpcId"]],
    "requester-vpc-info.vpc-id": lambda p: [p["RequesterVpcInfo"]["VpcId"]],
    "status-code": lambda p: [p["Status"]["Code"]],
}
TABLE_FILTERS = {
    "route-table-id": lambda t: [t["RouteTableId"]],
    "vpc-id": lambda t: [t["VpcId"]],
    "route.vpc-peering-connection-id": lambda t: [r.get("VpcPeeringConnectionId") for r in t["Routes"]],
}
GROUP_FILTERS = {
    "vpc-id": lambda g: [g["VpcId"]],
    "group-name": lambda g: [g["GroupName"]],
}


def _matches(resource, filters, known):
    for f in filters:
        if f["Name"].startswith("tag:"):
            values = [_tags(resource).get(f["Name"][4:])]
        else:
            assert f["Name"] in known, f"unexpected filter {f['Name']}"
            values = known[f["Name"]](resource)
        if not set(values) & set(f["Values"]):
            return False
    return True


class FakeWaiter:
    def __init__(self, ec2, name):
        self.ec2 = ec2
        self.name = name

    def wait(self, **kwargs):
        # The peering is visible at once: nothing to wait for.
        self.ec2.record(f"waiter.{self.name}", kwargs)


class FakeEC2:
    """EC2 in one region; ``errors`` maps a method to the ClientErrors its next calls raise."""

    def __init__(self, region=AURORA_REGION, *, peerings=None, tables=(), groups=(), ignore_filters=(), journal=None):
        self.region = region
        self.meta = FakeMeta(region)
        self.peerings = peerings if peerings is not None else []
        self.tables = [copy.deepcopy(t) for t in tables]
        self.groups = [copy.deepcopy(g) for g in groups]
        self.ignore_filters = set(ignore_filters)
        self.journal = journal if journal is not None else []
        self.tags = {}  # resource id -> tags set by create_tags in this region
        self.calls = []
        self.errors = {}
        self.created = 0

    # --- bookkeeping ---------------------------------------------------------------------------

    def record(self, name, kwargs):
        self.calls.append((name, copy.deepcopy(kwargs)))
        self.journal.append((self.region, name))
        if self.errors.get(name):
            raise self.errors[name].pop(0)

    def names(self):
        return [name for name, _kwargs in self.calls]

    def mutating(self):
        return [call for call in self.calls if call[0] in MUTATING]

    def args(self, name):
        return [kwargs for called, kwargs in self.calls if called == name]

    def get_paginator(self, name):
        return FakePaginator(getattr(self, name))

    def get_waiter(self, name):
        assert name == "vpc_peering_connection_exists"
        return FakeWaiter(self, name)

    def _select(self, name, resources, kwargs, ids_key, id_key, known):
        found = resources
        if kwargs.get(ids_key):
            found = [r for r in found if r[id_key] in kwargs[ids_key]]
        if name not in self.ignore_filters:
            found = [r for r in found if _matches(r, kwargs.get("Filters", []), known)]
        return copy.deepcopy(found)

    def _peering(self, peering_id):
        return next(p for p in self.peerings if p["VpcPeeringConnectionId"] == peering_id)

    def _table(self, table_id):
        return next(t for t in self.tables if t["RouteTableId"] == table_id)

    def _group(self, group_id):
        return next(g for g in self.groups if g["GroupId"] == group_id)

    # --- peerings ------------------------------------------------------------------------------

    def describe_vpc_peering_connections(self, **kwargs):
        name = "describe_vpc_peering_connections"
        self.record(name, kwargs)
        found = self._select(
            name, self.peerings, kwargs, "VpcPeeringConnectionIds", "VpcPeeringConnectionId", PEERING_FILTERS
        )
        return {"VpcPeeringConnections": found}

    def create_vpc_peering_connection(self, **kwargs):
        self.record("create_vpc_peering_connection", kwargs)
        self.created += 1
        tags = {t["Key"]: t["Value"] for spec in kwargs.get("TagSpecifications", []) for t in spec["Tags"]}
        new = make_peering(
            f"pcx-new{self.created}", "pending-acceptance", requester=kwargs["VpcId"], accepter=kwargs["PeerVpcId"]
        )
        new["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        new["RequesterVpcInfo"]["Region"] = self.region
        new["AccepterVpcInfo"]["Region"] = kwargs.get("PeerRegion", self.region)
        self.peerings.append(new)
        return {"VpcPeeringConnection": copy.deepcopy(new)}

    def accept_vpc_peering_connection(self, **kwargs):
        self.record("accept_vpc_peering_connection", kwargs)
        self._peering(kwargs["VpcPeeringConnectionId"])["Status"] = {"Code": "active", "Message": "Active"}
        return {"VpcPeeringConnection": {"VpcPeeringConnectionId": kwargs["VpcPeeringConnectionId"]}}

    def delete_vpc_peering_connection(self, **kwargs):
        self.record("delete_vpc_peering_connection", kwargs)
        self._peering(kwargs["VpcPeeringConnectionId"])["Status"] = {"Code": "deleted", "Message": "Deleted"}
        return {"Return": True}

    # --- tags ----------------------------------------------------------------------------------

    def describe_tags(self, **kwargs):
        self.record("describe_tags", kwargs)
        [resource_filter] = kwargs["Filters"]
        assert resource_filter["Name"] == "resource-id"
        found = []
        for peering in self.peerings:
            peering_id = peering["VpcPeeringConnectionId"]
            if peering_id not in resource_filter["Values"]:
                continue
            here = _tags(peering) if peering["RequesterVpcInfo"]["Region"] == self.region else {}
            here.update(self.tags.get(peering_id, {}))
            found += [
                {"ResourceId": peering_id, "ResourceType": "vpc-peering-connection", "Key": k, "Value": v}
                for k, v in here.items()
            ]
        return {"Tags": found}

    def create_tags(self, **kwargs):
        self.record("create_tags", kwargs)
        for resource_id in kwargs["Resources"]:
            self.tags.setdefault(resource_id, {}).update({t["Key"]: t["Value"] for t in kwargs["Tags"]})
        return {}

    # --- route tables --------------------------------------------------------------------------

    def describe_route_tables(self, **kwargs):
        name = "describe_route_tables"
        self.record(name, kwargs)
        return {"RouteTables": self._select(name, self.tables, kwargs, "RouteTableIds", "RouteTableId", TABLE_FILTERS)}

    def create_route(self, **kwargs):
        self.record("create_route", kwargs)
        route = {k: v for k, v in kwargs.items() if k != "RouteTableId"}
        self._table(kwargs["RouteTableId"])["Routes"].append(route)
        return {"Return": True}

    def replace_route(self, **kwargs):
        self.record("replace_route", kwargs)
        routes = self._table(kwargs["RouteTableId"])["Routes"]
        routes[:] = [r for r in routes if r["DestinationCidrBlock"] != kwargs["DestinationCidrBlock"]]
        routes.append({k: v for k, v in kwargs.items() if k != "RouteTableId"})

    def delete_route(self, **kwargs):
        self.record("delete_route", kwargs)
        routes = self._table(kwargs["RouteTableId"])["Routes"]
        routes[:] = [r for r in routes if r["DestinationCidrBlock"] != kwargs["DestinationCidrBlock"]]

    # --- security groups -----------------------------------------------------------------------

    def describe_security_groups(self, **kwargs):
        name = "describe_security_groups"
        self.record(name, kwargs)
        return {"SecurityGroups": self._select(name, self.groups, kwargs, "GroupIds", "GroupId", GROUP_FILTERS)}

    def authorize_security_group_ingress(self, **kwargs):
        self.record("authorize_security_group_ingress", kwargs)
        self._group(kwargs["GroupId"])["IpPermissions"].extend(copy.deepcopy(kwargs["IpPermissions"]))
        return {"Return": True}

    def revoke_security_group_ingress(self, **kwargs):
        self.record("revoke_security_group_ingress", kwargs)
        return {"Return": True}


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    """The peering waits link.ensure_peering starts must never need to sleep."""

    def sleep(seconds):
        raise AssertionError(f"a peering wait slept {seconds}s")

    wrapped = functools.partial(peering_utils.ensure_peering_accepted, sleep=sleep, clock=lambda: 0.0)
    monkeypatch.setattr(link.peering, "ensure_peering_accepted", wrapped)


# --- overlap_error, desired_peering_tags ----------------------------------------------------------------


@pytest.mark.parametrize(
    "machine_cidr, aurora_cidr",
    [
        ("10.0.0.0/16", "10.0.0.0/16"),
        ("10.0.0.0/16", "10.0.128.0/24"),
        ("10.0.5.0/24", "10.0.0.0/16"),
        ("192.168.0.0/16", "192.168.0.0/24"),
    ],
)
def test_overlapping_cidrs_are_refused_naming_both(machine_cidr, aurora_cidr):
    message = link.overlap_error(machine_cidr, aurora_cidr, ROSA_CLUSTER, CLUSTER)
    assert f"machine CIDR {machine_cidr} of the ROSA cluster {ROSA_CLUSTER}" in message
    assert f"overlaps the CIDR {aurora_cidr} of the Aurora VPC of {CLUSTER}" in message
    assert "aurora_vpc_cidr" in message


@pytest.mark.parametrize(
    "machine_cidr, aurora_cidr",
    [("10.0.0.0/16", "192.168.0.0/24"), ("10.0.0.0/16", "10.1.0.0/16"), ("10.0.0.0/24", "10.0.1.0/24")],
)
def test_disjoint_cidrs_are_no_error(machine_cidr, aurora_cidr):
    assert link.overlap_error(machine_cidr, aurora_cidr, ROSA_CLUSTER, CLUSTER) is None


def test_peering_tags_name_both_clusters_by_default():
    assert link.desired_peering_tags(CLUSTER, ROSA_CLUSTER) == {
        "AuroraCluster": CLUSTER,
        "RosaCluster": ROSA_CLUSTER,
        "Name": f"{ROSA_CLUSTER} to Aurora {CLUSTER}",
    }


def test_peering_tags_keep_extra_tags_and_name_but_never_lose_the_cluster_tags():
    extra = {"Name": "my peering", "team": "sso", "AuroraCluster": "other", "RosaCluster": "other"}
    tags = link.desired_peering_tags(CLUSTER, ROSA_CLUSTER, extra)
    assert tags == {"Name": "my peering", "team": "sso", "AuroraCluster": CLUSTER, "RosaCluster": ROSA_CLUSTER}
    assert extra["AuroraCluster"] == "other"  # the caller's dict is left alone


# --- find_peerings ---------------------------------------------------------------------------------


def test_find_peerings_sends_accepter_status_and_requester_filters():
    ec2 = FakeEC2(peerings=[make_peering()])
    found = link.find_peerings(ec2, accepter_vpc_ids=[AURORA_VPC, "vpc-b"], requester_vpc_id=ROSA_VPC)
    assert [p["VpcPeeringConnectionId"] for p in found] == [PCX]
    assert ec2.calls == [
        (
            "describe_vpc_peering_connections",
            {
                "Filters": [
                    {"Name": "accepter-vpc-info.vpc-id", "Values": [AURORA_VPC, "vpc-b"]},
                    {"Name": "status-code", "Values": list(link.LIVE)},
                    {"Name": "requester-vpc-info.vpc-id", "Values": [ROSA_VPC]},
                ]
            },
        )
    ]


def test_find_peerings_by_tag_sends_a_tag_filter_and_no_requester_filter():
    ec2 = FakeEC2(peerings=[make_peering(status="failed", tags={"RosaCluster": ROSA_CLUSTER})])
    found = link.find_peerings(
        ec2, accepter_vpc_ids=[AURORA_VPC], statuses=("failed", "active"), tags={"RosaCluster": ROSA_CLUSTER}
    )
    assert [p["VpcPeeringConnectionId"] for p in found] == [PCX]
    assert ec2.args("describe_vpc_peering_connections") == [
        {
            "Filters": [
                {"Name": "accepter-vpc-info.vpc-id", "Values": [AURORA_VPC]},
                {"Name": "status-code", "Values": ["failed", "active"]},
                {"Name": "tag:RosaCluster", "Values": [ROSA_CLUSTER]},
            ]
        }
    ]


def _crowd():
    """Peerings a filter-ignoring DescribeVpcPeeringConnections returns, wanted ones out of order."""
    mine = {"RosaCluster": ROSA_CLUSTER}
    return [
        make_peering("pcx-3", "active", tags=mine),
        make_peering("pcx-2", "active", accepter="vpc-other-aurora", tags=mine),
        make_peering("pcx-1", "pending-acceptance", tags=mine),
        make_peering("pcx-4", "active", requester="vpc-other-rosa", tags={"RosaCluster": "rosa-two"}),
        make_peering("pcx-5", "deleted", tags=mine),
        make_peering("pcx-6", "rejected", tags=mine),
        make_peering("pcx-7", "active", tags={"RosaCluster": "rosa-two"}),
        make_peering("pcx-8", "active"),
    ]


def test_find_peerings_by_requester_filters_client_side_too_and_sorts_by_id():
    ec2 = FakeEC2(peerings=_crowd(), ignore_filters={"describe_vpc_peering_connections"})
    found = link.find_peerings(ec2, accepter_vpc_ids=[AURORA_VPC], requester_vpc_id=ROSA_VPC)
    assert [p["VpcPeeringConnectionId"] for p in found] == ["pcx-1", "pcx-3", "pcx-7", "pcx-8"]


def test_find_peerings_by_tag_filters_client_side_too_and_sorts_by_id():
    ec2 = FakeEC2(peerings=_crowd(), ignore_filters={"describe_vpc_peering_connections"})
    found = link.find_peerings(
        ec2,
        accepter_vpc_ids=[AURORA_VPC],
        statuses=link.LIVE + ("rejected",),
        tags={"RosaCluster": ROSA_CLUSTER},
    )
    assert [p["VpcPeeringConnectionId"] for p in found] == ["pcx-1", "pcx-3", "pcx-6"]


def test_find_peerings_into_several_aurora_vpcs():
    ec2 = FakeEC2(peerings=_crowd(), ignore_filters={"describe_vpc_peering_connections"})
    found = link.find_peerings(
        ec2, accepter_vpc_ids=[AURORA_VPC, "vpc-other-aurora"], requester_vpc_id=ROSA_VPC, statuses=("active",)
    )
    assert [p["VpcPeeringConnectionId"] for p in found] == ["pcx-2", "pcx-3", "pcx-7", "pcx-8"]


# --- ensure_peering --------------------------------------------------------------------------------

TAGS = {"AuroraCluster": CLUSTER, "RosaCluster": ROSA_CLUSTER, "Name": f"{ROSA_CLUSTER} to Aurora {CLUSTER}"}


def two_regions(peerings=(), ignore_filters=()):
    shared = [copy.deepcopy(p) for p in peerings]
    journal = []
    rosa = FakeEC2(ROSA_REGION, peerings=shared, ignore_filters=ignore_filters, journal=journal)
    aurora = FakeEC2(AURORA_REGION, peerings=shared, ignore_filters=ignore_filters, journal=journal)
    return rosa, aurora


def ensure_peering(rosa, aurora, check_mode=False):
    return link.ensure_peering(
        rosa,
        aurora,
        rosa_vpc_id=ROSA_VPC,
        aurora_vpc_id=AURORA_VPC,
        aurora_region=AURORA_REGION,
        tags=TAGS,
        check_mode=check_mode,
        wait_timeout=300,
    )


@pytest.mark.parametrize("check_mode", [False, True])
def test_an_active_peering_is_kept_and_not_changed(check_mode):
    rosa, aurora = two_regions([make_peering(status="active", tags=TAGS)])
    changed, summary = ensure_peering(rosa, aurora, check_mode)
    assert changed is False
    assert summary == peering_utils.summary(make_peering(status="active", tags=TAGS))
    assert rosa.mutating() == [] and aurora.mutating() == []
    assert aurora.calls == []
    assert rosa.args("describe_vpc_peering_connections")[0]["Filters"] == [
        {"Name": "accepter-vpc-info.vpc-id", "Values": [AURORA_VPC]},
        {"Name": "status-code", "Values": list(link.LIVE)},
        {"Name": "requester-vpc-info.vpc-id", "Values": [ROSA_VPC]},
    ]


def test_no_peering_is_requested_in_the_rosa_region_and_accepted_in_the_aurora_region():
    rosa, aurora = two_regions()
    changed, summary = ensure_peering(rosa, aurora)
    assert changed is True
    assert rosa.args("create_vpc_peering_connection") == [
        {
            "VpcId": ROSA_VPC,
            "PeerVpcId": AURORA_VPC,
            "PeerRegion": AURORA_REGION,
            "TagSpecifications": [
                {
                    "ResourceType": "vpc-peering-connection",
                    "Tags": [{"Key": k, "Value": v} for k, v in TAGS.items()],
                }
            ],
        }
    ]
    assert aurora.args("accept_vpc_peering_connection") == [{"VpcPeeringConnectionId": "pcx-new1"}]
    assert [call for call in rosa.journal if call[1] in MUTATING] == [
        (ROSA_REGION, "create_vpc_peering_connection"),
        (AURORA_REGION, "accept_vpc_peering_connection"),
    ]
    assert rosa.names().count("accept_vpc_peering_connection") == 0
    assert summary["vpc_peering_connection_id"] == "pcx-new1"
    assert summary["status"] == "active"
    assert summary["accepter_region"] == AURORA_REGION


def test_a_second_run_after_creating_changes_nothing():
    rosa, aurora = two_regions()
    ensure_peering(rosa, aurora)
    rosa.calls.clear()
    aurora.calls.clear()
    changed, summary = ensure_peering(rosa, aurora)
    assert (changed, summary["vpc_peering_connection_id"]) == (False, "pcx-new1")
    assert rosa.mutating() == [] and aurora.mutating() == []


def test_a_same_region_peering_uses_one_client():
    ec2 = FakeEC2(AURORA_REGION)
    changed = ensure_peering(ec2, ec2)[0]
    assert changed is True
    assert [name for name, _kwargs in ec2.mutating()] == [
        "create_vpc_peering_connection",
        "accept_vpc_peering_connection",
    ]


@pytest.mark.parametrize("status", ["failed", "rejected", "expired", "deleted"])
def test_a_dead_peering_is_replaced_by_a_new_one(status):
    rosa, aurora = two_regions([make_peering(status=status)], ignore_filters={"describe_vpc_peering_connections"})
    changed, summary = ensure_peering(rosa, aurora)
    assert changed is True
    assert summary["vpc_peering_connection_id"] == "pcx-new1"
    assert len(rosa.args("create_vpc_peering_connection")) == 1
    assert aurora.args("accept_vpc_peering_connection") == [{"VpcPeeringConnectionId": "pcx-new1"}]


def test_a_pending_peering_is_only_accepted():
    rosa, aurora = two_regions([make_peering(status="pending-acceptance")])
    changed, summary = ensure_peering(rosa, aurora)
    assert changed is True
    assert rosa.mutating() == []
    assert aurora.mutating() == [("accept_vpc_peering_connection", {"VpcPeeringConnectionId": PCX})]
    assert (summary["vpc_peering_connection_id"], summary["status"]) == (PCX, "active")
    # Already visible in the Aurora region: found by one describe, no waiter needed.
    assert aurora.args("waiter.vpc_peering_connection_exists") == []


def test_a_pending_peering_in_check_mode_is_changed_but_not_accepted():
    rosa, aurora = two_regions([make_peering(status="pending-acceptance")])
    changed, summary = ensure_peering(rosa, aurora, check_mode=True)
    assert changed is True
    assert summary["vpc_peering_connection_id"] == PCX
    assert rosa.mutating() == [] and aurora.mutating() == []


def test_two_live_peerings_are_refused_naming_both():
    rosa, aurora = two_regions(
        [make_peering(OTHER_PCX, "pending-acceptance"), make_peering(PCX, "active")],
    )
    with pytest.raises(AuroraError) as raised:
        ensure_peering(rosa, aurora)
    message = raised.value.message
    assert f"{PCX} (active)" in message and f"{OTHER_PCX} (pending-acceptance)" in message
    assert message.startswith(f"2 peering connections join the ROSA VPC {ROSA_VPC} to the Aurora VPC {AURORA_VPC}")
    assert rosa.mutating() == [] and aurora.mutating() == []


def test_check_mode_without_a_peering_only_describes():
    rosa, aurora = two_regions()
    assert ensure_peering(rosa, aurora, check_mode=True) == (True, {})
    assert rosa.names() == ["describe_vpc_peering_connections"]
    assert aurora.calls == []
    assert rosa.peerings == []


# --- ensure_accepter_tags --------------------------------------------------------------------------


def accepter_tags(aurora, peering, check_mode=False):
    return link.ensure_accepter_tags(aurora, summary=peering_utils.summary(peering), tags=TAGS, check_mode=check_mode)


def describe_tags_call(peering_id=PCX):
    return ("describe_tags", {"Filters": [{"Name": "resource-id", "Values": [peering_id]}]})


def test_a_new_cross_region_peering_is_tagged_in_the_aurora_region_too():
    rosa, aurora = two_regions()
    summary = ensure_peering(rosa, aurora)[1]
    aurora.calls.clear()
    added = link.ensure_accepter_tags(aurora, summary=summary, tags=TAGS, check_mode=False)
    assert added == TAGS
    assert aurora.names() == ["describe_tags", "create_tags"]
    assert aurora.calls[0] == describe_tags_call("pcx-new1")
    create = aurora.calls[1][1]
    assert create["Resources"] == ["pcx-new1"]
    assert sorted(create["Tags"], key=lambda t: t["Key"]) == [{"Key": k, "Value": v} for k, v in sorted(TAGS.items())]
    assert "create_tags" not in rosa.names()
    assert aurora.tags == {"pcx-new1": TAGS}


@pytest.mark.parametrize(
    "requester_tags",
    [TAGS, {"AuroraCluster": CLUSTER}, {}],
    ids=["made-by-an-older-release", "made-by-the-scripts", "untagged"],
)
def test_an_existing_cross_region_peering_gets_every_tag_on_its_accepter_side(requester_tags):
    peering = make_peering(tags=requester_tags)
    rosa, aurora = two_regions([peering])
    assert accepter_tags(aurora, peering) == TAGS
    assert aurora.tags == {PCX: TAGS}
    assert rosa.calls == []


def test_the_accepter_side_gets_only_the_tags_it_lacks():
    peering = make_peering(tags=TAGS)
    _rosa, aurora = two_regions([peering])
    aurora.tags[PCX] = {"Name": "renamed in the console", "team": "sso"}
    added = accepter_tags(aurora, peering)
    assert added == {"AuroraCluster": CLUSTER, "RosaCluster": ROSA_CLUSTER}
    assert aurora.tags[PCX] == dict(added, Name="renamed in the console", team="sso")


@pytest.mark.parametrize("check_mode", [False, True])
def test_an_accepter_side_with_every_tag_is_left_alone(check_mode):
    peering = make_peering(tags=TAGS)
    _rosa, aurora = two_regions([peering])
    aurora.tags[PCX] = dict(TAGS)
    assert accepter_tags(aurora, peering, check_mode) == {}
    assert aurora.calls == [describe_tags_call()]


def test_the_requester_side_tags_seen_from_the_aurora_region_do_not_count():
    # moto, and this fake, show a cross-region peering's creation tags in both regions' describes:
    # only the Aurora region's own tags say what its accepter side has.
    peering = make_peering(tags=TAGS)
    rosa, aurora = two_regions([peering])
    assert peering_utils.current_tags(aurora.describe_vpc_peering_connections()["VpcPeeringConnections"][0]) == TAGS
    assert accepter_tags(aurora, peering) == TAGS


def test_check_mode_reports_the_accepter_tags_and_adds_none():
    peering = make_peering(tags=TAGS)
    _rosa, aurora = two_regions([peering])
    assert accepter_tags(aurora, peering, check_mode=True) == TAGS
    assert aurora.calls == [describe_tags_call()]
    assert aurora.tags == {}


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_same_region_peering_is_not_tagged_twice(check_mode):
    peering = make_peering(tags={"AuroraCluster": CLUSTER})
    peering["RequesterVpcInfo"]["Region"] = AURORA_REGION
    ec2 = FakeEC2(AURORA_REGION, peerings=[peering])
    assert accepter_tags(ec2, peering, check_mode) == {}
    assert ec2.calls == []


def test_a_same_region_peering_just_created_sends_no_tag_call():
    ec2 = FakeEC2(AURORA_REGION)
    summary = ensure_peering(ec2, ec2)[1]
    ec2.calls.clear()
    assert link.ensure_accepter_tags(ec2, summary=summary, tags=TAGS, check_mode=False) == {}
    assert ec2.calls == []


def test_check_mode_before_the_peering_exists_tags_nothing():
    _rosa, aurora = two_regions()
    assert link.ensure_accepter_tags(aurora, summary={}, tags=TAGS, check_mode=True) == {}
    assert aurora.calls == []


# --- ensure_routes ---------------------------------------------------------------------------------


def ensure_routes(ec2, table_ids=("rtb-1",), peering_id=PCX, check_mode=False):
    return link.ensure_routes(
        ec2, route_table_ids=list(table_ids), destination=MACHINE_CIDR, peering_id=peering_id, check_mode=check_mode
    )


def test_a_missing_route_is_created_through_the_peering():
    ec2 = FakeEC2(tables=[make_table("rtb-1", {AURORA_CIDR: "local"})])
    assert ensure_routes(ec2) == ["rtb-1"]
    assert ec2.args("describe_route_tables") == [{"Filters": [{"Name": "route-table-id", "Values": ["rtb-1"]}]}]
    assert ec2.mutating() == [
        ("create_route", {"RouteTableId": "rtb-1", "DestinationCidrBlock": MACHINE_CIDR, "VpcPeeringConnectionId": PCX})
    ]
    ec2.calls.clear()
    assert ensure_routes(ec2) == []
    assert ec2.mutating() == []


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_route_through_the_same_peering_is_left_alone(check_mode):
    ec2 = FakeEC2(tables=[make_table("rtb-1", {AURORA_CIDR: "local", MACHINE_CIDR: PCX})])
    assert ensure_routes(ec2, check_mode=check_mode) == []
    assert ec2.names() == ["describe_route_tables"]


@pytest.mark.parametrize("check_mode", [False, True])
@pytest.mark.parametrize("target", [OTHER_PCX, "igw-0123"])
def test_a_live_route_through_another_target_is_refused_never_taken_over(target, check_mode):
    ec2 = FakeEC2(tables=[make_table("rtb-1", {MACHINE_CIDR: target})])
    with pytest.raises(AuroraError, match=f"rtb-1 already sends {MACHINE_CIDR} through {target}"):
        ensure_routes(ec2, check_mode=check_mode)
    assert ec2.mutating() == []


def test_a_blackhole_route_left_by_a_gone_peering_is_replaced():
    table = make_table("rtb-1", {MACHINE_CIDR: OTHER_PCX})
    table["Routes"][0]["State"] = "blackhole"
    ec2 = FakeEC2(tables=[table])
    assert ensure_routes(ec2) == ["rtb-1"]
    assert ec2.mutating() == [
        (
            "replace_route",
            {"RouteTableId": "rtb-1", "DestinationCidrBlock": MACHINE_CIDR, "VpcPeeringConnectionId": PCX},
        )
    ]


class RacingEC2(FakeEC2):
    """A concurrent writer adds the route between this run's describe and its create."""

    def __init__(self, racer_target, **kwargs):
        super().__init__(**kwargs)
        self.racer_target = racer_target

    def create_route(self, **kwargs):
        self.record("create_route", kwargs)
        self._table(kwargs["RouteTableId"])["Routes"].append(
            {"DestinationCidrBlock": kwargs["DestinationCidrBlock"], "VpcPeeringConnectionId": self.racer_target}
        )
        raise client_error("RouteAlreadyExists", "CreateRoute")


def test_a_route_a_concurrent_run_of_this_host_created_first_is_not_an_error():
    ec2 = RacingEC2(PCX, tables=[make_table("rtb-1", {})])
    assert ensure_routes(ec2) == []
    assert [name for name, _kwargs in ec2.mutating()] == ["create_route"]


def test_a_route_someone_else_created_first_is_refused():
    ec2 = RacingEC2(OTHER_PCX, tables=[make_table("rtb-1", {})])
    with pytest.raises(AuroraError, match=OTHER_PCX):
        ensure_routes(ec2)
    assert [name for name, _kwargs in ec2.mutating()] == ["create_route"]


def test_other_create_route_errors_fail():
    ec2 = FakeEC2(tables=[make_table("rtb-1", {})])
    ec2.errors["create_route"] = [client_error("UnauthorizedOperation", "CreateRoute")]
    with pytest.raises(AnsibleAWSError):
        ensure_routes(ec2)
    assert ec2.names().count("replace_route") == 0


def three_tables():
    """rtb-a without the route, rtb-b with it, rtb-c with a blackhole through another peering."""
    ec2 = FakeEC2(
        tables=[
            make_table("rtb-a", {}),
            make_table("rtb-b", {MACHINE_CIDR: PCX}),
            make_table("rtb-c", {MACHINE_CIDR: OTHER_PCX}),
        ]
    )
    ec2.tables[2]["Routes"][0]["State"] = "blackhole"
    return ec2


def test_every_table_is_converged_and_only_the_changed_ones_reported():
    ec2 = three_tables()
    assert ensure_routes(ec2, table_ids=["rtb-c", "rtb-b", "rtb-a"]) == ["rtb-a", "rtb-c"]
    assert ec2.args("describe_route_tables") == [
        {"Filters": [{"Name": "route-table-id", "Values": ["rtb-a", "rtb-b", "rtb-c"]}]}
    ]
    assert [(name, kwargs["RouteTableId"]) for name, kwargs in ec2.mutating()] == [
        ("create_route", "rtb-a"),
        ("replace_route", "rtb-c"),
    ]


def test_a_route_table_that_does_not_exist_is_named_and_no_other_is_routed():
    # AWS refuses a RouteTableIds list with one unknown ID as a whole: by filter, the others are seen, and the
    # missing one is refused before any route is written.
    ec2 = FakeEC2(tables=[make_table("rtb-1", {AURORA_CIDR: "local"})])
    with pytest.raises(AuroraError, match="the route table rtb-gone does not exist: nothing was routed"):
        ensure_routes(ec2, table_ids=["rtb-1", "rtb-gone"])
    assert ec2.mutating() == []


def test_check_mode_reports_the_tables_and_changes_none():
    ec2 = three_tables()
    assert ensure_routes(ec2, table_ids=["rtb-a", "rtb-b", "rtb-c"], check_mode=True) == ["rtb-a", "rtb-c"]
    assert ec2.names() == ["describe_route_tables"]


def test_check_mode_before_the_peering_exists_reports_every_table():
    ec2 = FakeEC2(tables=[make_table("rtb-a", {}), make_table("rtb-b", {MACHINE_CIDR: OTHER_PCX})])
    ec2.tables[1]["Routes"][0]["State"] = "blackhole"
    assert ensure_routes(ec2, table_ids=["rtb-a", "rtb-b"], peering_id=None, check_mode=True) == ["rtb-a", "rtb-b"]
    assert ec2.mutating() == []


@pytest.mark.parametrize("table_ids", [[], None])
def test_no_route_tables_means_no_call(table_ids):
    ec2 = FakeEC2(tables=[make_table("rtb-1", {})])
    assert (
        link.ensure_routes(ec2, route_table_ids=table_ids, destination=MACHINE_CIDR, peering_id=PCX, check_mode=False)
        == []
    )
    assert ec2.calls == []


# --- ensure_ingress, revoke_ingress --------------------------------------------------------------

DESCRIPTION = f"Keycloak on ROSA cluster {ROSA_CLUSTER}"


def ensure_ingress(ec2, check_mode=False, description=DESCRIPTION):
    return link.ensure_ingress(
        ec2, group_id=SG, source_cidr=MACHINE_CIDR, description=description, check_mode=check_mode
    )


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_present_rule_is_not_changed(check_mode):
    ec2 = FakeEC2(groups=[make_group([tcp(443, MACHINE_CIDR), tcp(5432, "10.9.0.0/16", MACHINE_CIDR)])])
    assert ensure_ingress(ec2, check_mode) is False
    assert ec2.calls == [("describe_security_groups", {"GroupIds": [SG]})]


def test_an_absent_rule_is_authorized_with_its_description():
    ec2 = FakeEC2(groups=[make_group([])])
    assert ensure_ingress(ec2) is True
    assert ec2.mutating() == [
        (
            "authorize_security_group_ingress",
            {"GroupId": SG, "IpPermissions": [database_rule(MACHINE_CIDR, DESCRIPTION)]},
        )
    ]
    ec2.calls.clear()
    assert ensure_ingress(ec2) is False
    assert ec2.mutating() == []


def test_no_description_sends_none():
    ec2 = FakeEC2(groups=[make_group([])])
    assert ensure_ingress(ec2, description=None) is True
    assert ec2.args("authorize_security_group_ingress")[0]["IpPermissions"] == [database_rule(MACHINE_CIDR)]


def test_a_rule_a_concurrent_run_added_first_is_not_an_error_nor_our_change():
    ec2 = FakeEC2(groups=[make_group([])])
    ec2.errors["authorize_security_group_ingress"] = [
        client_error("InvalidPermission.Duplicate", "AuthorizeSecurityGroupIngress")
    ]
    assert ensure_ingress(ec2) is False
    assert ec2.names().count("authorize_security_group_ingress") == 1


def test_other_authorize_errors_fail():
    ec2 = FakeEC2(groups=[make_group([])])
    ec2.errors["authorize_security_group_ingress"] = [
        client_error("UnauthorizedOperation", "AuthorizeSecurityGroupIngress")
    ]
    with pytest.raises(AnsibleAWSError):
        ensure_ingress(ec2)


@pytest.mark.parametrize(
    "permission",
    [
        tcp(5433, MACHINE_CIDR),
        tcp(5432, MACHINE_CIDR, to_port=5433),
        tcp(5431, MACHINE_CIDR, to_port=5432),
        tcp(5432, MACHINE_CIDR, protocol="udp"),
        tcp(5432, "10.1.0.0/16"),
        tcp(5432, "10.0.0.0/8"),
        tcp(None, MACHINE_CIDR, protocol="-1"),
    ],
    ids=["other-port", "range-above", "range-below", "udp", "other-cidr", "wider-cidr", "all-traffic"],
)
def test_a_rule_on_another_port_protocol_or_cidr_does_not_count(permission):
    ec2 = FakeEC2(groups=[make_group([permission])])
    assert ensure_ingress(ec2) is True
    assert ec2.args("authorize_security_group_ingress") == [
        {"GroupId": SG, "IpPermissions": [database_rule(MACHINE_CIDR, DESCRIPTION)]}
    ]


def test_check_mode_reports_an_absent_rule_without_adding_it():
    ec2 = FakeEC2(groups=[make_group([tcp(5433, MACHINE_CIDR)])])
    assert ensure_ingress(ec2, check_mode=True) is True
    assert ec2.names() == ["describe_security_groups"]


def test_a_missing_security_group_is_refused_by_id():
    ec2 = FakeEC2(groups=[])
    with pytest.raises(AuroraError) as raised:
        ensure_ingress(ec2)
    assert SG in raised.value.message
    assert ec2.mutating() == []


A, B, C, D = "10.0.0.0/16", "10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"


def crowded_group():
    return make_group(
        [
            tcp(5432, A, B, C),
            tcp(5433, A, D),
            tcp(5432, D, protocol="udp"),
            tcp(None, A, D, protocol="-1"),
            tcp(5400, D, to_port=5500),
        ]
    )


def test_revoke_removes_only_the_database_rules_of_the_given_cidrs():
    ec2 = FakeEC2(groups=[crowded_group()])
    assert link.revoke_ingress(ec2, group=crowded_group(), source_cidrs=[C, A, D], check_mode=False) == [A, C]
    assert ec2.calls == [
        ("revoke_security_group_ingress", {"GroupId": SG, "IpPermissions": [database_rule(A), database_rule(C)]})
    ]


@pytest.mark.parametrize("source_cidrs", [[D], [], ["172.16.0.0/12"]])
def test_revoke_without_a_matching_rule_calls_nothing(source_cidrs):
    ec2 = FakeEC2(groups=[crowded_group()])
    assert link.revoke_ingress(ec2, group=crowded_group(), source_cidrs=source_cidrs, check_mode=False) == []
    assert ec2.calls == []


def test_revoke_in_check_mode_reports_and_calls_nothing():
    ec2 = FakeEC2(groups=[crowded_group()])
    assert link.revoke_ingress(ec2, group=crowded_group(), source_cidrs={A, B}, check_mode=True) == [A, B]
    assert ec2.calls == []


# --- remove_routes_through, disconnect -----------------------------------------------------------


def rosa_tables():
    return [
        make_table("rtb-rosa-1", {MACHINE_CIDR: "local", AURORA_CIDR: PCX, "0.0.0.0/0": "nat-1"}, ROSA_VPC),
        make_table("rtb-rosa-2", {MACHINE_CIDR: "local", AURORA_CIDR: PCX, "172.16.0.0/16": OTHER_PCX}, ROSA_VPC),
        make_table("rtb-rosa-3", {MACHINE_CIDR: "local", "172.16.0.0/16": OTHER_PCX}, ROSA_VPC),
        # Another VPC whose table (wrongly) names the same peering: not ours to touch.
        make_table("rtb-elsewhere", {AURORA_CIDR: PCX}, "vpc-elsewhere"),
    ]


def aurora_tables():
    return [
        make_table("rtb-aurora", {AURORA_CIDR: "local", MACHINE_CIDR: PCX, B: OTHER_PCX}, AURORA_VPC),
    ]


@pytest.mark.parametrize("ignore", [False, True], ids=["filtered", "filters-ignored"])
def test_remove_routes_through_deletes_only_routes_to_the_peering_in_the_vpc(ignore):
    ec2 = FakeEC2(ROSA_REGION, tables=rosa_tables(), ignore_filters={"describe_route_tables"} if ignore else ())
    routes = link.remove_routes_through(ec2, vpc_id=ROSA_VPC, peering_id=PCX, check_mode=False)
    assert routes == [("rtb-rosa-1", AURORA_CIDR), ("rtb-rosa-2", AURORA_CIDR)]
    assert ec2.args("describe_route_tables") == [
        {
            "Filters": [
                {"Name": "vpc-id", "Values": [ROSA_VPC]},
                {"Name": "route.vpc-peering-connection-id", "Values": [PCX]},
            ]
        }
    ]
    assert ec2.mutating() == [
        ("delete_route", {"RouteTableId": "rtb-rosa-1", "DestinationCidrBlock": AURORA_CIDR}),
        ("delete_route", {"RouteTableId": "rtb-rosa-2", "DestinationCidrBlock": AURORA_CIDR}),
    ]


def test_remove_routes_through_in_check_mode_reports_and_deletes_nothing():
    ec2 = FakeEC2(ROSA_REGION, tables=rosa_tables(), ignore_filters={"describe_route_tables"})
    routes = link.remove_routes_through(ec2, vpc_id=ROSA_VPC, peering_id=PCX, check_mode=True)
    assert routes == [("rtb-rosa-1", AURORA_CIDR), ("rtb-rosa-2", AURORA_CIDR)]
    assert ec2.mutating() == []


AURORA_VPCS = {
    AURORA_VPC: {"VpcId": AURORA_VPC, "CidrBlock": AURORA_CIDR, "Tags": [{"Key": "AuroraCluster", "Value": CLUSTER}]}
}


def aurora_groups():
    return [
        make_group([tcp(5432, A, B), tcp(5433, A), tcp(5432, C)]),
        # Same VPC, another name: the filters keep it out.
        make_group([tcp(5432, A)], group_id="sg-default", name="default"),
    ]


def disconnect_world(status="active", ignore_filters=("describe_route_tables",)):
    journal = []
    found = [make_peering(PCX, status, requester_cidrs=[A, C])]
    shared = copy.deepcopy(found)
    rosa = FakeEC2(ROSA_REGION, peerings=shared, tables=rosa_tables(), ignore_filters=ignore_filters, journal=journal)
    aurora = FakeEC2(
        AURORA_REGION,
        peerings=shared,
        tables=aurora_tables(),
        groups=aurora_groups(),
        ignore_filters=ignore_filters,
        journal=journal,
    )
    return rosa, aurora, found


EXPECTED_REMOVED = [
    {
        "aurora_cluster": CLUSTER,
        "vpc_peering_connection_id": PCX,
        "routes": [
            {"route_table_id": "rtb-rosa-1", "destination_cidr_block": AURORA_CIDR},
            {"route_table_id": "rtb-rosa-2", "destination_cidr_block": AURORA_CIDR},
            {"route_table_id": "rtb-aurora", "destination_cidr_block": MACHINE_CIDR},
        ],
        "ingress_cidrs": [A, C],
    }
]


@pytest.mark.parametrize("machine_cidr", [MACHINE_CIDR, None], ids=["nodes-known", "nodes-gone"])
def test_disconnect_removes_both_sides_routes_the_rule_and_the_peering(machine_cidr):
    rosa, aurora, found = disconnect_world()
    removed = link.disconnect(
        rosa, aurora, found=found, aurora_vpcs=AURORA_VPCS, machine_cidr=machine_cidr, check_mode=False
    )
    assert removed == EXPECTED_REMOVED
    assert rosa.mutating() == [
        ("delete_route", {"RouteTableId": "rtb-rosa-1", "DestinationCidrBlock": AURORA_CIDR}),
        ("delete_route", {"RouteTableId": "rtb-rosa-2", "DestinationCidrBlock": AURORA_CIDR}),
    ]
    assert aurora.mutating() == [
        ("delete_route", {"RouteTableId": "rtb-aurora", "DestinationCidrBlock": MACHINE_CIDR}),
        ("revoke_security_group_ingress", {"GroupId": SG, "IpPermissions": [database_rule(A), database_rule(C)]}),
        ("delete_vpc_peering_connection", {"VpcPeeringConnectionId": PCX}),
    ]
    assert aurora.args("describe_security_groups") == [
        {
            "Filters": [
                {"Name": "vpc-id", "Values": [AURORA_VPC]},
                {"Name": "group-name", "Values": [f"{CLUSTER}-security-group"]},
            ]
        }
    ]
    assert [p for p in rosa.args("describe_route_tables")[0]["Filters"] if p["Name"] == "vpc-id"] == [
        {"Name": "vpc-id", "Values": [ROSA_VPC]}
    ]
    assert [p for p in aurora.args("describe_route_tables")[0]["Filters"] if p["Name"] == "vpc-id"] == [
        {"Name": "vpc-id", "Values": [AURORA_VPC]}
    ]


def test_disconnect_revokes_the_machine_cidr_even_outside_the_requester_cidrs():
    rosa, aurora, found = disconnect_world()
    found[0]["RequesterVpcInfo"] = {"VpcId": ROSA_VPC, "CidrBlock": C}
    removed = link.disconnect(rosa, aurora, found=found, aurora_vpcs=AURORA_VPCS, machine_cidr=B, check_mode=False)
    assert removed[0]["ingress_cidrs"] == [B, C]
    assert aurora.args("revoke_security_group_ingress") == [
        {"GroupId": SG, "IpPermissions": [database_rule(B), database_rule(C)]}
    ]


def test_disconnect_deletes_an_active_peering_from_the_aurora_side():
    rosa, aurora, found = disconnect_world("active")
    link.disconnect(rosa, aurora, found=found, aurora_vpcs=AURORA_VPCS, machine_cidr=None, check_mode=False)
    assert aurora.args("delete_vpc_peering_connection") == [{"VpcPeeringConnectionId": PCX}]
    assert rosa.args("delete_vpc_peering_connection") == []


@pytest.mark.parametrize("status", [s for s in link.LIVE if s != "active"])
def test_disconnect_deletes_a_peering_not_yet_active_from_the_requester_side(status):
    # On AWS only the requester's account may delete a peering the accepter has not accepted.
    rosa, aurora, found = disconnect_world(status)
    link.disconnect(rosa, aurora, found=found, aurora_vpcs=AURORA_VPCS, machine_cidr=None, check_mode=False)
    assert rosa.args("delete_vpc_peering_connection") == [{"VpcPeeringConnectionId": PCX}]
    assert aurora.args("delete_vpc_peering_connection") == []


@pytest.mark.parametrize("status", ["failed", "rejected", "expired"])
def test_disconnect_cleans_up_after_a_dead_peering_but_does_not_delete_it(status):
    rosa, aurora, found = disconnect_world(status)
    removed = link.disconnect(
        rosa, aurora, found=found, aurora_vpcs=AURORA_VPCS, machine_cidr=MACHINE_CIDR, check_mode=False
    )
    assert removed == EXPECTED_REMOVED
    assert "delete_vpc_peering_connection" not in rosa.names() + aurora.names()
    assert len(rosa.args("delete_route")) == 2 and len(aurora.args("delete_route")) == 1


def test_disconnect_in_check_mode_reports_everything_and_removes_nothing():
    rosa, aurora, found = disconnect_world()
    removed = link.disconnect(
        rosa, aurora, found=found, aurora_vpcs=AURORA_VPCS, machine_cidr=MACHINE_CIDR, check_mode=True
    )
    assert removed == EXPECTED_REMOVED
    assert rosa.mutating() == [] and aurora.mutating() == []


def test_disconnect_without_peerings_does_nothing():
    rosa, aurora, unused_found = disconnect_world()
    removed = link.disconnect(rosa, aurora, found=[], aurora_vpcs=AURORA_VPCS, machine_cidr=A, check_mode=False)
    assert removed == []
    assert rosa.calls == [] and aurora.calls == []


def test_disconnect_handles_each_peering_with_its_own_aurora_vpc():
    rosa, aurora, found = disconnect_world()
    other_vpcs = dict(
        AURORA_VPCS,
        **{"vpc-aurora-2": {"VpcId": "vpc-aurora-2", "Tags": [{"Key": "AuroraCluster", "Value": "second"}]}},
    )
    aurora.groups.append(
        make_group([tcp(5432, A)], group_id="sg-second", name="second-security-group", vpc_id="vpc-aurora-2")
    )
    found.append(make_peering(OTHER_PCX, "active", accepter="vpc-aurora-2", requester_cidrs=[A]))
    aurora.peerings.append(copy.deepcopy(found[-1]))
    removed = link.disconnect(rosa, aurora, found=found, aurora_vpcs=other_vpcs, machine_cidr=None, check_mode=False)
    assert [(r["aurora_cluster"], r["vpc_peering_connection_id"], r["ingress_cidrs"]) for r in removed] == [
        (CLUSTER, PCX, [A, C]),
        ("second", OTHER_PCX, [A]),
    ]
    assert aurora.args("revoke_security_group_ingress") == [
        {"GroupId": SG, "IpPermissions": [database_rule(A), database_rule(C)]},
        {"GroupId": "sg-second", "IpPermissions": [database_rule(A)]},
    ]
    assert aurora.args("delete_vpc_peering_connection") == [
        {"VpcPeeringConnectionId": PCX},
        {"VpcPeeringConnectionId": OTHER_PCX},
    ]


def test_two_live_peerings_between_the_same_vpcs_are_a_duplicate_naming_both():
    error = link.duplicate_error([make_peering(PCX), make_peering(OTHER_PCX, "pending-acceptance")])
    assert error.startswith(f"2 peering connections join the ROSA VPC {ROSA_VPC} to the Aurora VPC {AURORA_VPC}")
    assert PCX in error and OTHER_PCX in error and "none was picked" in error


@pytest.mark.parametrize(
    "peerings",
    [
        [make_peering(PCX), make_peering(OTHER_PCX, "deleted")],
        [make_peering(PCX), make_peering(OTHER_PCX, requester="vpc-other-rosa")],
        [],
    ],
    ids=["one-is-dead", "different-rosa-vpcs", "none"],
)
def test_dead_peerings_and_other_vpc_pairs_are_no_duplicates(peerings):
    assert link.duplicate_error(peerings) is None


# the plan and the diff -----------------------------------------------------------------------------

PLAN_ROSA = {"vpc_id": ROSA_VPC, "machine_cidr": "10.0.0.0/16", "route_table_ids": ["rtb-r1", "rtb-r2"]}
PLAN_AURORA = {
    "vpc_id": AURORA_VPC,
    "cidr_block": "192.168.0.0/24",
    "main_route_table_id": "rtb-a",
    "security_group_id": "sg-a",
}


def test_the_plan_of_a_new_connection_names_the_peering_every_route_and_the_rule():
    plan = link.link_plan(
        rosa_network=PLAN_ROSA,
        aurora_network=PLAN_AURORA,
        peering_summary={},
        rosa_route_table_ids=["rtb-r1", "rtb-r2"],
        aurora_route_table_ids=["rtb-a"],
        ingress=True,
    )
    assert plan == {
        "create_peering": True,
        "vpc_peering_connection_id": None,
        "requester_vpc_id": ROSA_VPC,
        "accepter_vpc_id": AURORA_VPC,
        "routes": [
            {"route_table_id": "rtb-r1", "destination_cidr_block": "192.168.0.0/24"},
            {"route_table_id": "rtb-r2", "destination_cidr_block": "192.168.0.0/24"},
            {"route_table_id": "rtb-a", "destination_cidr_block": "10.0.0.0/16"},
        ],
        "ingress": [{"security_group_id": "sg-a", "cidr_block": "10.0.0.0/16", "port": 5432}],
    }
    diff = link.link_diff(plan, rosa_network=PLAN_ROSA, aurora_network=PLAN_AURORA)
    assert diff["before"] == {"vpc_peering_connection_id": None, "routes": [], "ingress_cidr_blocks": []}
    assert diff["after"]["routes"] == plan["routes"]
    assert diff["after"]["ingress_cidr_blocks"] == ["10.0.0.0/16"]


def test_the_plan_of_a_connection_missing_one_route_names_only_that_route():
    plan = link.link_plan(
        rosa_network=PLAN_ROSA,
        aurora_network=PLAN_AURORA,
        peering_summary={"vpc_peering_connection_id": PCX, "status": "active"},
        rosa_route_table_ids=["rtb-r2"],
        aurora_route_table_ids=[],
        ingress=False,
    )
    assert plan["create_peering"] is False and plan["vpc_peering_connection_id"] == PCX
    assert plan["routes"] == [{"route_table_id": "rtb-r2", "destination_cidr_block": "192.168.0.0/24"}]
    assert plan["ingress"] == []
    diff = link.link_diff(plan, rosa_network=PLAN_ROSA, aurora_network=PLAN_AURORA)
    assert diff["before"] == {
        "vpc_peering_connection_id": PCX,
        "routes": [
            {"route_table_id": "rtb-r1", "destination_cidr_block": "192.168.0.0/24"},
            {"route_table_id": "rtb-a", "destination_cidr_block": "10.0.0.0/16"},
        ],
        "ingress_cidr_blocks": ["10.0.0.0/16"],
    }
    assert len(diff["after"]["routes"]) == 3


def test_the_plan_before_the_aurora_network_exists_leaves_its_ids_unknown():
    planned = {"cidr_block": "192.168.0.0/24"}
    plan = link.link_plan(
        rosa_network=PLAN_ROSA,
        aurora_network=planned,
        peering_summary={},
        rosa_route_table_ids=["rtb-r1"],
        aurora_route_table_ids=[None],
        ingress=True,
    )
    assert plan["accepter_vpc_id"] is None
    assert plan["routes"][-1] == {"route_table_id": None, "destination_cidr_block": "10.0.0.0/16"}
    assert plan["ingress"] == [{"security_group_id": None, "cidr_block": "10.0.0.0/16", "port": 5432}]


# the module's entry points: input, the networks, the result ----------------------------------------


def test_input_error_lists_every_reason_at_once():
    error = link.input_error(state="present", cluster=None, rosa_machine_cidr="10.0.0.0/33")
    assert error.startswith("cluster is required with state=present; rosa_machine_cidr ")
    error = link.input_error(state="absent", cluster="Keycloak", rosa_machine_cidr="10.0.0.0/33")
    assert error.startswith("cluster 'Keycloak' has capital letters") and "; rosa_machine_cidr " in error


@pytest.mark.parametrize("state", ["present", "absent"])
def test_input_error_accepts_good_input_and_absent_without_a_cluster(state):
    assert link.input_error(state=state, cluster=CLUSTER, rosa_machine_cidr=MACHINE_CIDR) is None
    assert link.input_error(state="absent", cluster=None, rosa_machine_cidr=None) is None


def test_a_rosa_network_given_whole_is_used_with_its_route_tables_sorted():
    given = link.given_rosa_network(vpc_id=ROSA_VPC, machine_cidr=MACHINE_CIDR, route_table_ids=["rtb-2", "rtb-1"])
    assert given == {"vpc_id": ROSA_VPC, "machine_cidr": MACHINE_CIDR, "route_table_ids": ["rtb-1", "rtb-2"]}


@pytest.mark.parametrize(
    "missing", ["vpc_id", "machine_cidr", "route_table_ids"], ids=["no-vpc", "no-cidr", "no-route-tables"]
)
def test_a_rosa_network_given_in_part_is_found_instead(missing):
    given = {"vpc_id": ROSA_VPC, "machine_cidr": MACHINE_CIDR, "route_table_ids": ["rtb-1"]}
    given[missing] = [] if missing == "route_table_ids" else None
    assert link.given_rosa_network(**given) is None


def test_an_aurora_network_without_its_security_group_is_refused_in_any_mode():
    for check_mode in (False, True):
        error = link.aurora_network_error(
            {"vpc_id": AURORA_VPC}, cluster=CLUSTER, region=AURORA_REGION, check_mode=check_mode
        )
        assert error == f"the Aurora VPC {AURORA_VPC} has no security group {CLUSTER}-security-group"


def test_a_missing_aurora_network_is_refused_except_in_check_mode_where_it_may_be_planned():
    error = link.aurora_network_error({}, cluster=CLUSTER, region=AURORA_REGION, check_mode=False)
    assert error.startswith(
        f"the Aurora cluster {CLUSTER} has no VPC tagged AuroraCluster={CLUSTER} in {AURORA_REGION}"
    )
    assert link.aurora_network_error({}, cluster=CLUSTER, region=AURORA_REGION, check_mode=True) is None
    assert link.aurora_network_error(PLAN_AURORA, cluster=CLUSTER, region=AURORA_REGION, check_mode=False) is None


def test_peerings_are_searched_from_the_rosa_vpc_else_by_their_tag():
    assert link.peering_search(rosa_vpc_id=ROSA_VPC, rosa_cluster_name=ROSA_CLUSTER) == {
        "requester_vpc_id": ROSA_VPC,
        "tags": None,
    }
    assert link.peering_search(rosa_vpc_id=None, rosa_cluster_name=ROSA_CLUSTER) == {
        "requester_vpc_id": None,
        "tags": {"RosaCluster": ROSA_CLUSTER},
    }


NO_CHANGES = {"rosa_route_table_ids": [], "aurora_route_table_ids": [], "ingress": False, "accepter_tags": {}}


@pytest.mark.parametrize(
    "change",
    [{}, {"rosa_route_table_ids": ["rtb-r1"]}, {"ingress": True}, {"accepter_tags": {"Name": "x"}}],
    ids=["nothing", "a-route", "the-rule", "a-tag"],
)
def test_the_link_result_is_changed_when_any_step_changed(change):
    changes = dict(NO_CHANGES, **change)
    result = link.link_result(
        changed_peering=False,
        rosa_network=PLAN_ROSA,
        aurora_network=PLAN_AURORA,
        peering_summary={"vpc_peering_connection_id": PCX},
        changes=changes,
        diff=False,
    )
    assert result["changed"] is bool(change)
    assert result["changes"] == changes and "diff" not in result
    assert list(result) == ["changed", "rosa_network", "peering", "changes", "plan"]


class NoRequests:
    """A client that fails the test on any request."""

    def __getattr__(self, name):
        raise AssertionError(f"unexpected request {name}")


def present(rosa, aurora, aurora_network, check_mode=False, diff=True):
    return link.ensure_link_present(
        rosa,
        aurora,
        cluster=CLUSTER,
        aurora_region=AURORA_REGION,
        aurora_network=aurora_network,
        rosa_cluster_name=ROSA_CLUSTER,
        rosa_region=ROSA_REGION,
        rosa_vpc_id=ROSA_VPC,
        rosa_machine_cidr=MACHINE_CIDR,
        rosa_route_table_ids=["rtb-r1"],
        rosa_node_names=[],
        tags={},
        wait_timeout=300,
        run_started=None,
        check_mode=check_mode,
        diff=diff,
        warn=pytest.fail,
    )


def test_check_mode_before_the_aurora_network_exists_plans_everything_without_a_request():
    result = present(NoRequests(), NoRequests(), {"cidr_block": AURORA_CIDR}, check_mode=True)
    assert result["changed"] is True and result["peering"] == {}
    assert result["changes"] == {
        "rosa_route_table_ids": ["rtb-r1"],
        "aurora_route_table_ids": [],
        "ingress": True,
        "accepter_tags": {},
    }
    assert result["plan"]["routes"] == [
        {"route_table_id": "rtb-r1", "destination_cidr_block": AURORA_CIDR},
        {"route_table_id": None, "destination_cidr_block": MACHINE_CIDR},
    ]
    assert result["diff"]["before"]["routes"] == []


def test_an_overlapping_rosa_network_is_refused_before_any_request():
    with pytest.raises(AuroraError, match="overlaps"):
        present(NoRequests(), NoRequests(), dict(PLAN_AURORA, cidr_block="10.0.0.0/8"))


def test_the_link_is_made_once_then_left_alone():
    rosa, aurora = two_regions()
    rosa.tables = [make_table("rtb-r1", {}, vpc_id=ROSA_VPC)]
    aurora.tables = [make_table("rtb-a", {})]
    aurora.groups = [make_group([])]
    aurora_network = dict(PLAN_AURORA, cidr_block=AURORA_CIDR, security_group_id=SG)
    result = present(rosa, aurora, aurora_network)
    assert result["changed"] is True
    assert result["changes"] == {
        "rosa_route_table_ids": ["rtb-r1"],
        "aurora_route_table_ids": ["rtb-a"],
        "ingress": True,
        "accepter_tags": link.desired_peering_tags(CLUSTER, ROSA_CLUSTER),
    }
    assert result["peering"]["status"] == "active"
    again = present(rosa, aurora, aurora_network)
    assert again["changed"] is False
    assert again["changes"] == NO_CHANGES
    assert again["diff"]["before"] == again["diff"]["after"]


def test_a_peering_matches_on_accepter_status_requester_and_tags():
    candidate = {
        "AccepterVpcInfo": {"VpcId": "vpc-aurora"},
        "RequesterVpcInfo": {"VpcId": "vpc-rosa"},
        "Status": {"Code": "failed"},
        "Tags": [{"Key": "AuroraCluster", "Value": "kc"}],
    }
    assert not link.peering_matches(candidate, accepter_vpc_ids={"vpc-aurora"})
    assert link.peering_matches(candidate, accepter_vpc_ids={"vpc-aurora"}, statuses=("failed",))
    assert not link.peering_matches(candidate, accepter_vpc_ids={"vpc-other"}, statuses=("failed",))
    assert not link.peering_matches(
        candidate, accepter_vpc_ids={"vpc-aurora"}, statuses=("failed",), requester_vpc_id="vpc-rosa-2"
    )
    assert not link.peering_matches(
        candidate, accepter_vpc_ids={"vpc-aurora"}, statuses=("failed",), tags={"AuroraCluster": "other"}
    )


def test_the_database_port_is_open_to_all_traffic_tcp_by_name_or_number_and_a_range_that_holds_it():
    assert link.admits_database_port({"IpProtocol": "-1"})
    assert link.admits_database_port({"IpProtocol": "6", "FromPort": 5000, "ToPort": 6000})
    assert link.admits_database_port({"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432})
    assert not link.admits_database_port({"IpProtocol": "udp", "FromPort": 5432, "ToPort": 5432})
    assert not link.admits_database_port({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22})


def test_the_rosa_cluster_of_a_peering_is_its_tag_else_the_requester_regions_tag_else_its_nodes_names():
    def never():
        raise AssertionError("looked further than needed")

    assert link.rosa_cluster_of({"RosaCluster": "rosa-a"}, requester_tags=never, node_names=never) == "rosa-a"
    assert link.rosa_cluster_of({}, requester_tags=lambda: {"RosaCluster": "rosa-b"}, node_names=never) == "rosa-b"
    assert (
        link.rosa_cluster_of({"AuroraCluster": CLUSTER}, requester_tags=dict, node_names=lambda: ["rosa-c", None])
        == "rosa-c"
    )
    assert link.rosa_cluster_of({}, node_names=lambda: ["rosa-d", "rosa-c", "rosa-d"]) == "rosa-c, rosa-d"
    assert link.rosa_cluster_of({}, requester_tags=dict, node_names=lambda: [None]) is None
    assert link.rosa_cluster_of({}) is None

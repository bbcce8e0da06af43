"""The pure functions of estate: which clusters are Keycloak's, their records, and what the reaper does."""

import datetime

import pytest

from ansible_collections.keycloak.aurora.plugins.module_utils import estate

NOW = "2026-11-30T12:00:00+00:00"


def record(**changes):
    base = {
        "region": "eu-west-1",
        "identifier": "kc",
        "status": "available",
        "keepalive": None,
        "created": "2026-11-30T06:00:00+00:00",
        "deletion_protection": False,
        "marks": ["vpc_tag", "subnet_group", "security_group"],
    }
    return {**base, **changes}


def test_every_mark_of_the_contract_is_named():
    marks = estate.contract_marks(
        "kc",
        vpc_tags={"AuroraCluster": "kc"},
        subnet_group_name="KC-subnet-group",
        security_group_names={"kc-security-group", "default"},
    )
    assert marks == ["vpc_tag", "subnet_group", "security_group"]
    assert estate.mark_sentences("kc", marks) == [
        "VPC tagged AuroraCluster=kc",
        "DB subnet group kc-subnet-group",
        "security group kc-security-group",
    ]


def test_a_cluster_with_one_mark_is_keycloaks_and_one_with_none_or_another_engine_is_not():
    one = estate.contract_marks(
        "kc", vpc_tags={}, subnet_group_name="default", security_group_names={"kc-security-group"}
    )
    none = estate.contract_marks(
        "kc", vpc_tags={"AuroraCluster": "other"}, subnet_group_name="other-subnet-group", security_group_names=set()
    )
    assert estate.is_for_keycloak("aurora-postgresql", one)
    assert not estate.is_for_keycloak("aurora-postgresql", none)
    assert not estate.is_for_keycloak("aurora-mysql", one)


def test_age_is_measured_in_hours_and_a_naive_time_is_utc():
    assert estate.age_hours("2026-11-30T06:00:00", NOW) == 6
    assert estate.age_hours(datetime.datetime(2026, 11, 30, 11, 30, tzinfo=datetime.UTC), NOW) == 0.5
    assert estate.age_hours(None, NOW) is None


def test_a_cluster_record_names_the_writer_and_the_keepalive_tag():
    cluster = {
        "DBClusterIdentifier": "kc",
        "Status": "available",
        "EngineVersion": "17.5",
        "ClusterCreateTime": datetime.datetime(2026, 11, 30, 9, tzinfo=datetime.UTC),
        "DBClusterMembers": [{"DBInstanceIdentifier": "kc-instance-1", "IsClusterWriter": True}],
        "TagList": [{"Key": "keepalive", "Value": "until friday"}],
    }
    instances = [
        {"DBInstanceIdentifier": "kc-instance-2", "DBInstanceClass": "db.r6g.large", "AvailabilityZone": "b"},
        {"DBInstanceIdentifier": "kc-instance-1", "DBInstanceClass": "db.r6g.large", "AvailabilityZone": "a"},
    ]
    found = estate.cluster_record(
        "eu-west-1",
        cluster,
        instances=instances,
        vpc={"VpcId": "vpc-1", "CidrBlock": "192.168.0.0/24"},
        marks=["subnet_group"],
        peerings=[],
        pending_maintenance=[],
        final_snapshots=[],
        now=NOW,
    )
    assert [(i["identifier"], i["writer"]) for i in found["instances"]] == [
        ("kc-instance-1", True),
        ("kc-instance-2", False),
    ]
    assert found["keepalive"] == "until friday"
    assert found["age_hours"] == 3
    assert found["created"] == "2026-11-30T09:00:00+00:00"
    assert (found["vpc_id"], found["vpc_cidr_block"]) == ("vpc-1", "192.168.0.0/24")
    assert (found["marks"], found["found_by"]) == (["subnet_group"], ["DB subnet group kc-subnet-group"])


@pytest.mark.parametrize(
    ("changes", "decision", "reason"),
    [
        ({}, "delete", "no keepalive tag and 6.0 hours old (reap_min_age_hours=4)"),
        ({"keepalive": ""}, "keep", "tagged keepalive"),
        ({"keepalive": "yes"}, "keep", "tagged keepalive=yes"),
        ({"created": "2026-11-30T10:00:00+00:00"}, "keep", "2.0 hours old, younger than reap_min_age_hours=4"),
        ({"created": None}, "keep", "its creation time is unknown"),
        ({"deletion_protection": True}, "keep", "deletion protection is on"),
        ({"status": "deleting"}, "keep", "already being deleted"),
        ({"marks": ["subnet_group"]}, "keep", "found only by its DB subnet group name: not reaped"),
        ({"marks": ["security_group"]}, "keep", "found only by its security group name: not reaped"),
        (
            {"marks": ["subnet_group", "security_group"]},
            "keep",
            "found only by its DB subnet group and security group names: not reaped",
        ),
        ({"marks": []}, "keep", "its VPC is not tagged AuroraCluster: not reaped"),
    ],
)
def test_the_reaper_deletes_only_old_clusters_without_keepalive(changes, decision, reason):
    assert estate.reap_decision(record(**changes), now=NOW, min_age_hours=4) == (decision, reason)


def test_a_cluster_exactly_as_old_as_the_minimum_goes():
    assert estate.reap_decision(record(), now=NOW, min_age_hours=6)[0] == "delete"


def test_the_plan_sorts_by_region_and_name_and_carries_the_reason():
    plan = estate.reap_plan(
        [record(identifier="b"), record(identifier="a", region="us-east-1"), record(identifier="k", keepalive="")],
        now=NOW,
        min_age_hours=4,
    )
    assert [r["identifier"] for r in plan["delete"]] == ["b", "a"]
    assert [(r["identifier"], r["reason"]) for r in plan["keep"]] == [("k", "tagged keepalive")]


def test_the_summary_counts_deleted_kept_and_failed():
    plan = estate.reap_plan(
        [record(identifier="a"), record(identifier="b"), record(identifier="k", keepalive="")], now=NOW, min_age_hours=4
    )
    summary = estate.reap_summary(
        plan,
        {"eu-west-1/a": None, "eu-west-1/b": "boom"},
        confirmed=True,
        failed_regions=[{"region": "ap-east-1", "code": "OptInRequired", "message": "not enabled"}],
    )
    assert summary["deleted"] == ["eu-west-1/a"]
    assert summary["failed"] == ["eu-west-1/b"]
    assert summary["kept"] == {"eu-west-1/k": "tagged keepalive"}
    assert summary["lines"] == [
        "deleted 1, kept 1, failed 1",
        "FAILED eu-west-1 b: boom",
        "NOT SCANNED ap-east-1: OptInRequired: not enabled",
    ]


def test_a_dry_run_summary_says_what_would_go():
    plan = estate.reap_plan([record(identifier="a")], now=NOW, min_age_hours=4)
    summary = estate.reap_summary(plan, {}, confirmed=False, failed_regions=[])
    assert summary["would_delete"] == ["eu-west-1/a"]
    assert summary["lines"] == ["deleted 0, kept 0, failed 0, would delete 1 (dry run)"]
    assert estate.plan_lines(plan, confirmed=False) == [
        "would delete (dry run: pass -e reap_confirm=true to delete): eu-west-1 a: "
        "no keepalive tag and 6.0 hours old (reap_min_age_hours=4)"
    ]


def test_a_region_error_keeps_the_aws_code():
    class Denied(Exception):
        response = {"Error": {"Code": "AuthFailure"}}

    assert estate.region_error("ap-east-1", Denied("no")) == {
        "region": "ap-east-1",
        "code": "AuthFailure",
        "message": "no",
    }
    assert estate.region_error("ap-east-1", ValueError("x"))["code"] is None


def test_the_network_of_a_cluster_that_is_gone_is_left_over_and_delete_yml_finishes_it():
    vpcs = [
        {"VpcId": "vpc-gone", "Tags": [{"Key": "AuroraCluster", "Value": "old"}]},
        {"VpcId": "vpc-live", "Tags": [{"Key": "AuroraCluster", "Value": "kc"}]},
    ]
    found = estate.orphaned_networks(
        "eu-west-1",
        vpcs=vpcs,
        cluster_ids={"kc"},
        subnet_groups=[
            {"DBSubnetGroupName": "old-subnet-group", "VpcId": "vpc-gone"},
            {"DBSubnetGroupName": "kc-subnet-group", "VpcId": "vpc-live"},
        ],
        security_groups=[
            {"GroupId": "sg-1", "GroupName": "old-security-group", "VpcId": "vpc-gone"},
            {"GroupId": "sg-2", "GroupName": "default", "VpcId": "vpc-gone"},
        ],
    )
    assert [(f["kind"], f["id"], f["cluster"]) for f in found] == [
        ("vpc", "vpc-gone", "old"),
        ("db_subnet_group", "old-subnet-group", "old"),
        ("security_group", "sg-1", "old"),
    ]
    assert {f["fix"] for f in found} == {
        "ansible-playbook playbooks/delete.yml -e aurora_cluster=old -e aurora_region=eu-west-1"
    }


def test_a_route_through_a_peering_that_is_deleted_or_gone_is_left_over():
    tables = [
        {
            "RouteTableId": "rtb-1",
            "VpcId": "vpc-rosa",
            "Routes": [
                {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local"},
                {"DestinationCidrBlock": "192.168.0.0/24", "VpcPeeringConnectionId": "pcx-live"},
                {"DestinationCidrBlock": "192.168.1.0/24", "VpcPeeringConnectionId": "pcx-deleted"},
                {"DestinationCidrBlock": "192.168.2.0/24", "VpcPeeringConnectionId": "pcx-gone"},
            ],
        }
    ]
    peerings = {
        "pcx-live": {"VpcPeeringConnectionId": "pcx-live", "Status": {"Code": "active"}},
        "pcx-deleted": {
            "VpcPeeringConnectionId": "pcx-deleted",
            "Status": {"Code": "deleted"},
            "Tags": [{"Key": "AuroraCluster", "Value": "old"}],
        },
    }
    found = estate.stale_routes("eu-west-1", tables, peerings)
    assert [(f["id"], f["cluster"]) for f in found] == [("rtb-1 192.168.1.0/24", "old"), ("rtb-1 192.168.2.0/24", None)]
    assert found[1]["why"] == "in vpc-rosa, routes 192.168.2.0/24 through pcx-gone, which is gone"
    assert found[0]["fix"].startswith("aws ec2 delete-route --region eu-west-1 --route-table-id rtb-1 ")


def test_a_5432_rule_for_a_cidr_no_live_peering_comes_from_is_left_over():
    group = {
        "GroupId": "sg-1",
        "GroupName": "kc-security-group",
        "IpPermissions": [
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "IpRanges": [{"CidrIp": "10.0.0.0/16"}, {"CidrIp": "10.0.4.0/24"}, {"CidrIp": "10.1.0.0/16"}],
            },
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.9.0.0/16"}]},
        ],
    }
    peerings = [
        {"status": "active", "requester_cidr_blocks": ["10.0.0.0/16"]},
        {"status": "failed", "requester_cidr_blocks": ["10.1.0.0/16"]},
    ]
    found = estate.stale_ingress("eu-west-1", "kc", [group], peerings)
    assert [f["id"] for f in found] == ["sg-1 10.1.0.0/16"]
    assert found[0]["cluster"] == "kc"
    assert found[0]["why"] == "kc-security-group admits port 5432 from 10.1.0.0/16, and no live peering uses this rule"


def test_a_5432_rule_for_a_cidr_the_peered_vpc_added_later_is_in_use_and_a_leftover_is_revoked_as_it_is():
    group = {
        "GroupId": "sg-1",
        "GroupName": "kc-security-group",
        "IpPermissions": [
            {"IpProtocol": "6", "FromPort": 5000, "ToPort": 6000, "IpRanges": [{"CidrIp": "10.2.0.0/16"}]},
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.3.0.0/16"}]},
        ],
    }
    connection = {
        "RequesterVpcInfo": {
            "CidrBlock": "10.0.0.0/16",
            "CidrBlockSet": [{"CidrBlock": "10.0.0.0/16"}, {"CidrBlock": "10.2.0.0/16"}],
        }
    }
    assert estate.requester_cidr_blocks(connection) == ["10.0.0.0/16", "10.2.0.0/16"]
    peerings = [{"status": "active", "requester_cidr_blocks": estate.requester_cidr_blocks(connection)}]
    [found] = estate.stale_ingress("eu-west-1", "kc", [group], peerings)
    assert found["id"] == "sg-1 10.3.0.0/16"
    assert found["fix"] == (
        "aws ec2 revoke-security-group-ingress --region eu-west-1 --group-id sg-1 "
        "--ip-permissions 'IpProtocol=-1,IpRanges=[{CidrIp=10.3.0.0/16}]'"
    )
    [wide] = estate.stale_ingress("eu-west-1", "kc", [group], [])[:1]
    assert wide["fix"].endswith(
        "--ip-permissions 'IpProtocol=6,FromPort=5000,ToPort=6000,IpRanges=[{CidrIp=10.2.0.0/16}]'"
    )


def test_the_generated_secret_of_a_cluster_that_is_gone_is_left_over_unless_already_deleted():
    def secret(name, cluster, deleted=None):
        return {"Name": name, "Tags": [{"Key": "AuroraCluster", "Value": cluster}], "DeletedDate": deleted}

    found = estate.orphaned_secrets(
        "eu-west-1",
        secrets=[
            secret("old-master-password", "old"),
            secret("kc-master-password", "kc"),
            secret("older-master-password", "older", deleted="2026-11-29T00:00:00Z"),
            secret("someone-elses", "old"),
        ],
        cluster_ids={"kc"},
    )
    assert [(f["kind"], f["id"], f["cluster"]) for f in found] == [("secret", "old-master-password", "old")]


class Paginator:
    def __init__(self, client, operation):
        self.client, self.operation, self.kwargs = client, operation, {}

    def paginate(self, **kwargs):
        for item in kwargs.get("Filters", []):
            # What EC2 answers a filter with more values (FilterLimitExceeded).
            assert len(item["Values"]) <= 200, f"{self.operation}: {len(item['Values'])} values in {item['Name']}"
        self.client.calls.append((self.operation, kwargs))
        self.kwargs = kwargs
        return self

    def build_full_result(self):
        answer = self.client.answers.get(self.operation, {})
        return answer(self.kwargs) if callable(answer) else answer


class Client:
    """Answers each paginated operation from ``answers`` (a result, or a function of the request's arguments) and
    records the requests."""

    def __init__(self, answers):
        self.answers, self.calls = answers, []

    def get_paginator(self, operation):
        return Paginator(self, operation)


def test_a_busy_region_is_read_with_no_filter_of_more_than_200_values():
    """300 Aurora VPCs whose clusters are gone, each with a route through its own deleted peering."""
    count = 300
    vpcs = [{"VpcId": f"vpc-{n}", "Tags": [{"Key": "AuroraCluster", "Value": f"kc-{n}"}]} for n in range(count)]
    peerings = [
        {"VpcPeeringConnectionId": f"pcx-{n}", "Status": {"Code": "deleted"}, "AccepterVpcInfo": {}}
        for n in range(count)
    ]
    tables = [
        {
            "RouteTableId": f"rtb-{n}",
            "VpcId": f"vpc-{n}",
            "Routes": [{"DestinationCidrBlock": "10.0.0.0/16", "VpcPeeringConnectionId": f"pcx-{n}"}],
        }
        for n in range(count)
    ]
    groups = [{"GroupId": f"sg-{n}", "GroupName": f"kc-{n}-security-group", "VpcId": f"vpc-{n}"} for n in range(count)]

    def groups_in(request):
        [vpc_filter] = request["Filters"]
        return {"SecurityGroups": [g for g in groups if g["VpcId"] in vpc_filter["Values"]]}

    ec2 = Client(
        {
            "describe_vpcs": {"Vpcs": vpcs},
            "describe_vpc_peering_connections": {"VpcPeeringConnections": peerings},
            "describe_route_tables": {"RouteTables": tables},
            "describe_security_groups": groups_in,
        }
    )
    found = estate.scan_region(
        "eu-west-1", ec2=ec2, rds=Client({}), secrets=Client({}), client_for_region=None, now=NOW
    )
    requests = list(ec2.calls)
    assert [len(k["Filters"][0]["Values"]) for o, k in requests if o == "describe_security_groups"] == [200, 100]
    assert [o for o, _k in requests].count("describe_vpc_peering_connections") == 1
    kinds = [item["kind"] for item in found["leftovers"]]
    assert kinds.count("vpc") == kinds.count("security_group") == kinds.count("route") == count
    assert all(item["why"].endswith("which is deleted") for item in found["leftovers"] if item["kind"] == "route")


def test_the_network_of_a_cluster_still_being_created_is_no_leftover():
    vpc = {"VpcId": "vpc-1", "Tags": [{"Key": "AuroraCluster", "Value": "kc-new"}]}
    cluster = {
        "DBClusterIdentifier": "kc-new",
        "Engine": "aurora-postgresql",
        "Status": "creating",
        "DBSubnetGroup": "kc-new-subnet-group",
    }
    found = estate.scan_region(
        "eu-west-1",
        ec2=Client({"describe_vpcs": {"Vpcs": [vpc]}}),
        rds=Client(
            {
                "describe_db_clusters": {"DBClusters": [cluster]},
                "describe_db_subnet_groups": {
                    "DBSubnetGroups": [{"DBSubnetGroupName": "kc-new-subnet-group", "VpcId": "vpc-1"}]
                },
            }
        ),
        secrets=Client({}),
        client_for_region=None,
        now=NOW,
    )
    assert [(c["identifier"], c["status"]) for c in found["clusters"]] == [("kc-new", "creating")]
    assert found["leftovers"] == []

"""link_checks: every link of one ROSA cluster to an Aurora cluster, judged from plain AWS descriptions."""

import copy

import pytest

from ansible_collections.keycloak.aurora.plugins.module_utils import link_checks

CLUSTER = "keycloak-aurora"
PCX = "pcx-0123456789abcdef0"
OTHER_PCX = "pcx-fedcba98765432100"
ROSA_VPC = "vpc-rosa"
AURORA_VPC = "vpc-aurora"
MACHINE_CIDR = "10.0.0.0/16"
AURORA_CIDR = "192.168.0.0/24"
ROSA_TABLES = ["rtb-rosa-a", "rtb-rosa-b"]
MAIN_TABLE = "rtb-aurora-main"


def peering(peering_id=PCX, status="active"):
    return {
        "VpcPeeringConnectionId": peering_id,
        "Status": {"Code": status},
        "RequesterVpcInfo": {"VpcId": ROSA_VPC, "CidrBlock": MACHINE_CIDR},
        "AccepterVpcInfo": {"VpcId": AURORA_VPC, "CidrBlock": AURORA_CIDR},
    }


def table(table_id, destination, target=PCX, state="active"):
    return {
        "RouteTableId": table_id,
        "Routes": [
            {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "State": "active"},
            {"DestinationCidrBlock": destination, "VpcPeeringConnectionId": target, "State": state},
        ],
    }


def rule(cidr=MACHINE_CIDR, protocol="tcp", low=5432, high=5432):
    return {"IpProtocol": protocol, "FromPort": low, "ToPort": high, "IpRanges": [{"CidrIp": cidr}]}


def healthy():
    """What AWS shows of a ROSA cluster linked as peering.yml links it."""
    return dict(
        cluster=CLUSTER,
        region="eu-west-1",
        rosa_cluster="rosa-a",
        rosa_network={"vpc_id": ROSA_VPC, "machine_cidr": MACHINE_CIDR, "route_table_ids": ROSA_TABLES},
        aurora_network={
            "vpc_id": AURORA_VPC,
            "cidr_block": AURORA_CIDR,
            "main_route_table_id": MAIN_TABLE,
            "security_group_id": "sg-1",
        },
        peerings=[peering()],
        route_tables={
            **{t: table(t, AURORA_CIDR) for t in ROSA_TABLES},
            MAIN_TABLE: table(MAIN_TABLE, MACHINE_CIDR),
        },
        security_group={"GroupId": "sg-1", "IpPermissions": [rule()]},
        db_cluster={
            "DBClusterMembers": [
                {"DBInstanceIdentifier": f"{CLUSTER}-instance-2", "IsClusterWriter": False},
                {"DBInstanceIdentifier": f"{CLUSTER}-instance-1", "IsClusterWriter": True},
            ]
        },
        instances=[
            {"DBInstanceIdentifier": f"{CLUSTER}-instance-{n}", "DBSubnetGroup": {"VpcId": AURORA_VPC}} for n in (1, 2)
        ],
        subnet_group={"DBSubnetGroupName": CLUSTER, "VpcId": AURORA_VPC},
    )


def broken(seen):
    return [(c["name"], c["fix"]) for c in link_checks.evaluate(**seen) if not c["ok"]]


def test_a_healthy_link_passes_every_check():
    checks = link_checks.evaluate(**healthy())
    assert [c["name"] for c in checks] == [
        "Aurora VPC",
        "CIDRs do not overlap",
        "peering ROSA VPC -> Aurora VPC",
        f"route {AURORA_CIDR} in rtb-rosa-a (ROSA)",
        f"route {AURORA_CIDR} in rtb-rosa-b (ROSA)",
        f"route {MACHINE_CIDR} in {MAIN_TABLE} (Aurora)",
        "keycloak-aurora-security-group admits tcp 5432",
        "writer instance in the Aurora VPC",
    ]
    assert all(c["ok"] and c["fix"] == "" for c in checks)
    assert link_checks.verdict(checks, rosa_cluster="rosa-a", cluster=CLUSTER) == ""


def test_a_missing_rosa_route_is_mended_by_peering():
    seen = healthy()
    seen["route_tables"]["rtb-rosa-b"]["Routes"].pop()
    assert broken(seen) == [(f"route {AURORA_CIDR} in rtb-rosa-b (ROSA)", link_checks.PEERING_FIX)]


def test_a_blackhole_route_is_broken():
    seen = healthy()
    seen["route_tables"]["rtb-rosa-a"] = table("rtb-rosa-a", AURORA_CIDR, state="blackhole")
    [check] = [c for c in link_checks.evaluate(**seen) if not c["ok"]]
    assert "blackhole" in check["detail"] and check["fix"] == link_checks.PEERING_FIX


def test_a_missing_aurora_route_is_mended_by_peering():
    seen = healthy()
    seen["route_tables"][MAIN_TABLE]["Routes"].pop()
    assert broken(seen) == [(f"route {MACHINE_CIDR} in {MAIN_TABLE} (Aurora)", link_checks.PEERING_FIX)]


def test_a_route_through_another_target_belongs_to_someone_else():
    seen = healthy()
    seen["route_tables"]["rtb-rosa-a"]["Routes"][1] = {"DestinationCidrBlock": AURORA_CIDR, "TransitGatewayId": "tgw-1"}
    assert broken(seen) == [(f"route {AURORA_CIDR} in rtb-rosa-a (ROSA)", link_checks.FOREIGN_ROUTE_FIX)]


def test_a_route_table_gone_is_broken():
    seen = healthy()
    del seen["route_tables"]["rtb-rosa-a"]
    assert broken(seen) == [(f"route {AURORA_CIDR} in rtb-rosa-a (ROSA)", link_checks.PEERING_FIX)]


@pytest.mark.parametrize(
    "permission",
    [rule(cidr="10.0.0.0/8"), rule(low=0, high=65535), {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    ids=["wider-cidr", "port-range", "all-traffic"],
)
def test_a_wider_rule_admits_the_machine_cidr(permission):
    seen = healthy()
    seen["security_group"]["IpPermissions"] = [permission]
    assert broken(seen) == []


@pytest.mark.parametrize(
    "permission",
    [rule(cidr="10.0.1.0/24"), rule(low=3306, high=3306), rule(protocol="udp")],
    ids=["narrower-cidr", "other-port", "udp"],
)
def test_a_rule_that_does_not_admit_tcp_5432_from_the_whole_machine_cidr_is_broken(permission):
    seen = healthy()
    seen["security_group"]["IpPermissions"] = [permission]
    assert broken(seen) == [("keycloak-aurora-security-group admits tcp 5432", link_checks.PEERING_FIX)]


def test_a_missing_security_group_is_mended_by_provision():
    seen = healthy()
    seen["security_group"] = None
    assert broken(seen) == [("keycloak-aurora-security-group admits tcp 5432", link_checks.PROVISION_FIX)]


def test_no_peering_breaks_the_peering_and_every_route():
    seen = healthy()
    seen["peerings"] = []
    assert {fix for _name, fix in broken(seen)} == {link_checks.PEERING_FIX}
    assert len(broken(seen)) == 4  # the peering, two ROSA routes, the Aurora route


@pytest.mark.parametrize("status", ["rejected", "failed", "expired"])
def test_only_a_dead_peering_is_replaced_by_peering(status):
    seen = healthy()
    seen["peerings"] = [peering(status=status)]
    [peered] = [c for c in link_checks.evaluate(**seen) if c["name"].startswith("peering")]
    assert not peered["ok"] and status in peered["detail"] and peered["fix"] == link_checks.PEERING_FIX


def test_a_dead_peering_next_to_the_active_one_is_harmless():
    seen = healthy()
    seen["peerings"] = [peering(OTHER_PCX, "rejected"), peering()]
    assert broken(seen) == []


def test_a_pending_peering_is_accepted_by_peering():
    seen = healthy()
    seen["peerings"] = [peering(status="pending-acceptance")]
    assert [name for name, _fix in broken(seen)] == ["peering ROSA VPC -> Aurora VPC"]


def test_two_live_peerings_are_listed_and_none_is_picked():
    seen = healthy()
    seen["peerings"] = [peering(), peering(OTHER_PCX)]
    checks = link_checks.evaluate(**seen)
    [peered] = [c for c in checks if c["name"].startswith("peering")]
    assert PCX in peered["detail"] and OTHER_PCX in peered["detail"]
    assert peered["fix"] == link_checks.DUPLICATE_FIX
    # With no one peering to compare with, a route through either of them is not taken as right.
    assert not any(c["ok"] for c in checks if c["name"].startswith("route"))


def test_a_route_through_a_deleted_peering_is_mended_by_peering():
    seen = healthy()
    seen["peerings"] = []  # a deleted peering is not found, and its routes stay (blackhole on AWS)
    route_checks = [c for c in link_checks.evaluate(**seen) if c["name"].startswith("route")]
    assert {c["fix"] for c in route_checks} == {link_checks.PEERING_FIX}
    assert all(PCX in c["detail"] for c in route_checks)


def test_overlapping_cidrs_no_playbook_mends():
    seen = healthy()
    seen["rosa_network"]["machine_cidr"] = "192.168.0.0/16"
    seen["peerings"] = [peering(status="failed")]  # AWS fails a peering of overlapping VPCs
    # Only the overlap and the writer are judged: the peering's fix would be peering.yml, which refuses overlaps.
    assert [c["name"] for c in link_checks.evaluate(**seen)] == [
        "Aurora VPC",
        "CIDRs do not overlap",
        "writer instance in the Aurora VPC",
    ]
    assert broken(seen) == [("CIDRs do not overlap", link_checks.OVERLAP_FIX)]
    verdict = link_checks.verdict(link_checks.evaluate(**seen), rosa_cluster="rosa-a", cluster=CLUSTER)
    assert link_checks.PEERING_FIX not in verdict


def test_a_writer_in_another_vpc_is_broken():
    seen = healthy()
    seen["instances"][0]["DBSubnetGroup"]["VpcId"] = "vpc-elsewhere"
    [(name, fix)] = broken(seen)
    assert name == "writer instance in the Aurora VPC" and fix.startswith("no playbook mends it")


def test_the_writer_is_placed_by_the_clusters_subnet_group_when_its_own_description_lacks_one():
    seen = healthy()
    for instance in seen["instances"]:
        del instance["DBSubnetGroup"]
    assert broken(seen) == []
    seen["subnet_group"]["VpcId"] = "vpc-elsewhere"
    assert [name for name, _fix in broken(seen)] == ["writer instance in the Aurora VPC"]


def test_a_cluster_without_a_writer_is_mended_by_provision():
    seen = healthy()
    for member in seen["db_cluster"]["DBClusterMembers"]:
        member["IsClusterWriter"] = False
    assert broken(seen) == [("writer instance in the Aurora VPC", link_checks.PROVISION_FIX)]


def test_a_missing_aurora_cluster_is_two_clear_failures():
    seen = healthy()
    seen.update(
        aurora_network={},
        db_cluster=None,
        instances=[],
        subnet_group=None,
        peerings=[],
        route_tables={},
        security_group=None,
    )
    checks = link_checks.evaluate(**seen)
    assert [(c["name"], c["ok"], c["fix"]) for c in checks] == [
        ("Aurora VPC", False, link_checks.PROVISION_FIX),
        ("writer instance in the Aurora VPC", False, link_checks.PROVISION_FIX),
    ]
    message = link_checks.verdict(checks, rosa_cluster="rosa-a", cluster=CLUSTER)
    assert message.startswith(f"rosa-a cannot reach the Aurora cluster {CLUSTER}, 2 broken links: ")
    assert message.endswith(f"To mend: {link_checks.PROVISION_FIX}.")  # said once


def test_the_table_shows_each_check_and_the_fix_under_a_broken_one():
    seen = copy.deepcopy(healthy())
    seen["security_group"]["IpPermissions"] = []
    lines = link_checks.table(link_checks.evaluate(**seen))
    assert lines[0].split() == ["CHECK", "STATE", "SEEN", "/", "WHAT", "TO", "DO"]
    [row] = [i for i, line in enumerate(lines) if "BROKEN" in line]
    assert lines[row].startswith("keycloak-aurora-security-group admits tcp 5432  BROKEN")
    assert lines[row + 1].strip() == f"-> {link_checks.PEERING_FIX}"
    assert len(lines) == 1 + 8 + 1


def test_a_route_through_a_dead_peering_beside_the_active_one_is_mended_by_peering():
    seen = healthy()
    seen["peerings"] = [peering(OTHER_PCX, "expired"), peering()]
    seen["route_tables"]["rtb-rosa-a"] = table("rtb-rosa-a", AURORA_CIDR, target=OTHER_PCX)
    [check] = [c for c in link_checks.evaluate(**seen) if not c["ok"]]
    assert check["detail"] == f"through {OTHER_PCX}, not {PCX}" and check["fix"] == link_checks.PEERING_FIX

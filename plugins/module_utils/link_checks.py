# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Whether every link of one ROSA cluster to an Aurora cluster holds, judged from AWS descriptions.

Pure functions: each takes what EC2 and RDS answered (their own dicts) and returns checks, each
``{"name", "ok", "detail", "fix"}``: what was checked, whether it holds, what was seen, and what mends
it (empty when it holds). The module aurora_link_info describes; this module judges.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.keycloak.aurora.plugins.module_utils import link
from ansible_collections.keycloak.aurora.plugins.module_utils import naming
from ansible_collections.keycloak.aurora.plugins.module_utils import peering

PEERING_FIX = "run playbooks/peering.yml"
PROVISION_FIX = "run playbooks/provision.yml"
# Overlapping peered VPCs cannot route to each other, and no playbook renumbers a VPC.
OVERLAP_FIX = (
    "no playbook mends it: delete the Aurora cluster (playbooks/delete.yml) and provision it again with an "
    "aurora_vpc_cidr apart from the ROSA machine CIDR"
)
# A route to the same CIDR through another live target belongs to someone else: peering.yml refuses to take it over.
FOREIGN_ROUTE_FIX = (
    "delete that route (or peer a ROSA cluster whose CIDR does not collide), then run playbooks/peering.yml"
)
DUPLICATE_FIX = (
    "delete the peerings you do not want (aws ec2 delete-vpc-peering-connection), then run playbooks/peering.yml"
)


def check(name, ok, detail, fix):
    return {"name": name, "ok": bool(ok), "detail": detail, "fix": "" if ok else fix}


def aurora_network_check(aurora_network, *, cluster, region):
    """The Aurora VPC tagged for ``cluster`` exists: without it nothing else can be checked."""
    if aurora_network and aurora_network.get("vpc_id"):
        return check("Aurora VPC", True, f"{aurora_network['vpc_id']} ({aurora_network['cidr_block']}) in {region}", "")
    return check(
        "Aurora VPC",
        False,
        f"no VPC tagged {naming.CLUSTER_TAG}={cluster} in {region}: the Aurora cluster was never provisioned here, "
        "or was deleted",
        PROVISION_FIX,
    )


def peering_check(peerings, *, rosa_vpc_id, aurora_vpc_id):
    """(check, the live peering's ID or None) for the peerings ROSA VPC -> Aurora VPC, any status but deleted.

    Exactly one live peering must join them, and be active. Failed, rejected or expired ones next to
    it are harmless (AWS removes them); alone, they are what peering.yml replaces.
    """
    name = "peering ROSA VPC -> Aurora VPC"
    live = [p for p in peerings if peering.status_code(p) in link.LIVE]
    duplicates = link.duplicate_error(live)
    if duplicates:
        return check(name, False, duplicates, DUPLICATE_FIX), None
    if not live:
        dead = ", ".join(f"{p['VpcPeeringConnectionId']} ({peering.status_code(p)})" for p in peerings)
        seen = f"only {dead}, which never carry traffic again" if dead else "none"
        return check(name, False, f"no live peering from {rosa_vpc_id} to {aurora_vpc_id}: {seen}", PEERING_FIX), None
    [connection] = live
    peering_id, status = connection["VpcPeeringConnectionId"], peering.status_code(connection)
    detail = f"{peering_id} is {status}"
    return check(name, status == peering.ACTIVE, detail, f"{PEERING_FIX} (it accepts and waits for it)"), peering_id


def route_check(table, *, table_id, side, destination, peering_id, peering_ids):
    """The route table ``table_id`` (``table`` as described, None when it is gone) sends ``destination``
    through the peering ``peering_id``, and the route is not a blackhole.

    ``peering_ids``: every peering between the two VPCs, live or dead. A route through one of them
    that is not ``peering_id`` is a leftover peering.yml replaces once AWS marks it a blackhole; a
    route through anything else belongs to someone else.
    """
    name = f"route {destination} in {table_id} ({side})"
    if table is None:
        return check(name, False, f"the route table {table_id} does not exist", PEERING_FIX)
    route = link.route_to(table, destination)
    if route is None:
        return check(name, False, f"{table_id} has no route to {destination}", PEERING_FIX)
    target = link.route_target(route)
    if route.get("State") == "blackhole":
        return check(
            name,
            False,
            f"the route through {target} is a blackhole: AWS drops its traffic (that peering is gone or not active)",
            PEERING_FIX,
        )
    if peering_id and target == peering_id:
        return check(name, True, f"through {peering_id}", "")
    if target in peering_ids or (not peering_id and target.startswith("pcx-")):
        seen = f"not {peering_id}" if peering_id else "and no one live peering joins the two VPCs"
        return check(name, False, f"through {target}, {seen}", PEERING_FIX)
    wanted = f"not through {peering_id}" if peering_id else "and there is no live peering"
    return check(name, False, f"through {target}, {wanted}", FOREIGN_ROUTE_FIX)


def overlap_check(machine_cidr, aurora_cidr, *, rosa_cluster, cluster):
    error = link.overlap_error(machine_cidr, aurora_cidr, rosa_cluster, cluster)
    detail = error or f"{machine_cidr} (ROSA machine CIDR) and {aurora_cidr} (Aurora VPC) are apart"
    return check("CIDRs do not overlap", not error, detail, OVERLAP_FIX)


def _admits(permission, source):
    """Whether the ingress ``permission`` lets tcp 5432 in from every address of ``source``."""
    return link.admits_database_port(permission) and any(
        source.subnet_of(ipaddress.ip_network(r["CidrIp"])) for r in permission.get("IpRanges", []) if r.get("CidrIp")
    )


def ingress_check(group, *, machine_cidr, group_name):
    name = f"{group_name} admits tcp {link.DATABASE_PORT}"
    if group is None:
        return check(name, False, f"the Aurora VPC has no security group {group_name}", PROVISION_FIX)
    source = ipaddress.ip_network(machine_cidr)
    if any(_admits(p, source) for p in group.get("IpPermissions", [])):
        return check(name, True, f"{group['GroupId']} admits {machine_cidr}", "")
    return check(name, False, f"{group['GroupId']} has no rule for tcp 5432 from {machine_cidr}", PEERING_FIX)


def writer_check(db_cluster, instances, subnet_group, *, cluster, aurora_vpc_id):
    """The instance behind the writer endpoint sits in the Aurora VPC: the VPC of its DB subnet group, as the
    instance describes it, else as the cluster's ``subnet_group`` does (moto leaves it out of cluster instances)."""
    name = "writer instance in the Aurora VPC"
    if not db_cluster:
        return check(name, False, f"the Aurora cluster {cluster} does not exist", PROVISION_FIX)
    writers = [m["DBInstanceIdentifier"] for m in db_cluster.get("DBClusterMembers") or [] if m.get("IsClusterWriter")]
    if not writers:
        return check(name, False, f"{cluster} has no writer instance: its writer endpoint leads nowhere", PROVISION_FIX)
    by_id = {i["DBInstanceIdentifier"].lower(): i for i in instances}
    writer = by_id.get(writers[0].lower())
    if writer is None:
        return check(name, False, f"the writer {writers[0]} of {cluster} does not exist", PROVISION_FIX)
    own = writer.get("DBSubnetGroup") or {}
    group = own if own.get("VpcId") else subnet_group or {}
    vpc_id = group.get("VpcId")
    detail = f"{writer['DBInstanceIdentifier']} in {vpc_id} (subnet group {group.get('DBSubnetGroupName')})"
    fix = (
        "no playbook mends it: the cluster was made in another VPC than the one tagged "
        f"{naming.CLUSTER_TAG}={cluster}; tag the VPC the cluster is in, or delete the tag from the VPC it is not in"
    )
    inside = bool(aurora_vpc_id) and vpc_id == aurora_vpc_id
    return check(
        name, inside, detail if inside else f"{detail}, not in the VPC tagged {naming.CLUSTER_TAG}={cluster}", fix
    )


def evaluate(
    *,
    cluster,
    region,
    rosa_cluster,
    rosa_network,
    aurora_network,
    peerings,
    route_tables,
    security_group,
    db_cluster,
    instances,
    subnet_group,
):
    """Every check of one ROSA cluster's link, in the order traffic meets them.

    ``route_tables``: {route table ID: its description} of the ROSA worker tables and the Aurora main
    table (a missing ID: the table is gone); ``subnet_group``: the cluster's DB subnet group. With no
    Aurora VPC only the VPC and the writer are checked.
    """
    checks = [aurora_network_check(aurora_network, cluster=cluster, region=region)]
    if not checks[0]["ok"]:
        return checks + [writer_check(db_cluster, instances, subnet_group, cluster=cluster, aurora_vpc_id=None)]
    machine_cidr, aurora_cidr = rosa_network["machine_cidr"], aurora_network["cidr_block"]
    checks.append(overlap_check(machine_cidr, aurora_cidr, rosa_cluster=rosa_cluster, cluster=cluster))
    # Overlapping VPCs cannot be peered (AWS fails the peering): the peering, routes and rule that follow from
    # it would only add fixes peering.yml refuses.
    if not checks[-1]["ok"]:
        return checks + [
            writer_check(db_cluster, instances, subnet_group, cluster=cluster, aurora_vpc_id=aurora_network["vpc_id"])
        ]
    peered, peering_id = peering_check(
        peerings, rosa_vpc_id=rosa_network["vpc_id"], aurora_vpc_id=aurora_network["vpc_id"]
    )
    checks.append(peered)
    peering_ids = {p["VpcPeeringConnectionId"] for p in peerings}
    sides = [(t, "ROSA", aurora_cidr) for t in rosa_network["route_table_ids"]]
    sides.append((aurora_network.get("main_route_table_id"), "Aurora", machine_cidr))
    for table_id, side, destination in sides:
        checks.append(
            route_check(
                route_tables.get(table_id),
                table_id=table_id,
                side=side,
                destination=destination,
                peering_id=peering_id,
                peering_ids=peering_ids,
            )
        )
    checks.append(
        ingress_check(security_group, machine_cidr=machine_cidr, group_name=naming.security_group_name(cluster))
    )
    checks.append(
        writer_check(db_cluster, instances, subnet_group, cluster=cluster, aurora_vpc_id=aurora_network["vpc_id"])
    )
    return checks


def table(checks):
    """The checks as lines of a table: check, state, what was seen; the fix under a broken one."""
    width = max((len(c["name"]) for c in checks), default=0)
    lines = [f"{'CHECK':<{width}}  STATE   SEEN / WHAT TO DO"]
    for item in checks:
        lines.append(f"{item['name']:<{width}}  {'ok' if item['ok'] else 'BROKEN':<6}  {item['detail']}")
        if item["fix"]:
            lines.append(f"{'':<{width}}          -> {item['fix']}")
    return lines


def verdict(checks, *, rosa_cluster, cluster):
    """Why ``rosa_cluster`` cannot reach ``cluster`` and what mends it, each fix once; empty when every check holds."""
    broken = [c for c in checks if not c["ok"]]
    if not broken:
        return ""
    listed = "; ".join(f"{c['name']}: {c['detail']}" for c in broken)
    fixes = "; ".join(dict.fromkeys(c["fix"] for c in broken))
    count = "1 broken link" if len(broken) == 1 else f"{len(broken)} broken links"
    return f"{rosa_cluster} cannot reach the Aurora cluster {cluster}, {count}: {listed}. To mend: {fixes}."

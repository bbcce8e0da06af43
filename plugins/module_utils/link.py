# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The link of one ROSA cluster to an Aurora cluster: the peering, routes both ways, port 5432.

The peering connection object itself (its waits, acceptance, tags) is peering.py's; this module
puts it together with the routes and the ingress rule that make it carry traffic.

The peering is requested, tagged, in the ROSA region (requester = ROSA VPC) and accepted in the
Aurora region (accepter = Aurora VPC), where a cross-region peering is tagged again. Routes and
the ingress rule go where their VPC is. The ROSA cluster may live in another AWS account: then
``rosa_client`` holds that account's credentials and ``aurora_client`` Aurora's (accounts.py), the
ROSA account requests, the Aurora account accepts, and the Aurora side is tagged as well.

Many ROSA clusters write to the same Aurora route table and security group at once: a route or
rule that a concurrent run already made with the same target counts as done, never as an error.
"""

from __future__ import annotations

import functools

from ansible_collections.amazon.aws.plugins.module_utils import ec2
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import is_ansible_aws_error_code
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications

from ansible_collections.keycloak.aurora.plugins.module_utils import accounts
from ansible_collections.keycloak.aurora.plugins.module_utils import cidr
from ansible_collections.keycloak.aurora.plugins.module_utils import naming
from ansible_collections.keycloak.aurora.plugins.module_utils import network
from ansible_collections.keycloak.aurora.plugins.module_utils import peering
from ansible_collections.keycloak.aurora.plugins.module_utils import rosa
from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError
from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import naming_resource

DATABASE_PORT = 5432
# Peerings that carry, or will carry, traffic. A failed, rejected or expired one is replaced by a
# new one; AWS removes those by itself.
LIVE = (peering.INITIATING, peering.PENDING, peering.PROVISIONING, peering.ACTIVE)
# Everything but deleted: a failed or expired peering may still be the target of a blackhole route.
REMOVABLE = LIVE + ("failed", "rejected", "expired")


def admits_database_port(permission):
    """Whether the ingress ``permission`` opens tcp DATABASE_PORT: all traffic, or tcp (by name or number 6) on
    a port range that holds it. Whom it admits is the caller's question."""
    protocol = permission.get("IpProtocol")
    if protocol == "-1":
        return True
    low, high = permission.get("FromPort"), permission.get("ToPort")
    return protocol in ("tcp", "6") and low is not None and high is not None and low <= DATABASE_PORT <= high


def desired_peering_tags(aurora_cluster, rosa_cluster, extra_tags=None):
    tags = naming.cluster_tags(aurora_cluster, extra_tags)
    tags[naming.ROSA_CLUSTER_TAG] = rosa_cluster
    tags.setdefault("Name", f"{rosa_cluster} to Aurora {aurora_cluster}")
    return tags


def overlap_error(machine_cidr, aurora_cidr, rosa_cluster, aurora_cluster):
    if cidr.overlaps(machine_cidr, aurora_cidr):
        return (
            f"the machine CIDR {machine_cidr} of the ROSA cluster {rosa_cluster} overlaps the CIDR {aurora_cidr} "
            f"of the Aurora VPC of {aurora_cluster}: peered VPCs cannot route to each other. Give the Aurora "
            "cluster another aurora_vpc_cidr (or aurora_cidr_pool) when it is created."
        )
    return None


def _peering_filters(accepter_vpc_ids, statuses, requester_vpc_id=None, tags=None):
    filters = [
        {"Name": "accepter-vpc-info.vpc-id", "Values": list(accepter_vpc_ids)},
        {"Name": "status-code", "Values": list(statuses)},
    ]
    if requester_vpc_id:
        filters.append({"Name": "requester-vpc-info.vpc-id", "Values": [requester_vpc_id]})
    for key, value in (tags or {}).items():
        filters.append({"Name": f"tag:{key}", "Values": [value]})
    return filters


def find_peerings(client, *, accepter_vpc_ids, statuses=LIVE, requester_vpc_id=None, tags=None):
    """Peerings into ``accepter_vpc_ids``, from ``requester_vpc_id`` or carrying ``tags``.

    Filtered by AWS and again here: the filters must hold whatever answers the request.
    """
    found = ec2.describe_vpc_peering_connections(
        client, Filters=_peering_filters(accepter_vpc_ids, statuses, requester_vpc_id, tags)
    )
    return sorted(
        (
            p
            for p in found
            if peering_matches(
                p, accepter_vpc_ids=accepter_vpc_ids, statuses=statuses, requester_vpc_id=requester_vpc_id, tags=tags
            )
        ),
        key=lambda p: p["VpcPeeringConnectionId"],
    )


def peering_matches(candidate, *, accepter_vpc_ids, statuses=LIVE, requester_vpc_id=None, tags=None):
    """Whether the peering ``candidate`` goes into ``accepter_vpc_ids`` in one of ``statuses``, from
    ``requester_vpc_id`` (when given) and carrying ``tags``: what find_peerings asks AWS for."""
    own_tags = boto3_tag_list_to_ansible_dict(candidate.get("Tags") or [])
    return (
        (candidate.get("AccepterVpcInfo") or {}).get("VpcId") in accepter_vpc_ids
        and peering.status_code(candidate) in statuses
        and (not requester_vpc_id or (candidate.get("RequesterVpcInfo") or {}).get("VpcId") == requester_vpc_id)
        and all(own_tags.get(key) == value for key, value in (tags or {}).items())
    )


def duplicate_error(peerings):
    """Why ``peerings`` cannot be acted on: two live ones join the same pair of VPCs; None when they can."""
    by_pair = {}
    for connection in peerings:
        if peering.status_code(connection) in LIVE:
            pair = (connection["RequesterVpcInfo"].get("VpcId"), connection["AccepterVpcInfo"].get("VpcId"))
            by_pair.setdefault(pair, []).append(connection)
    for (rosa_vpc_id, aurora_vpc_id), joined in sorted(by_pair.items()):
        if len(joined) > 1:
            listed = ", ".join(f"{p['VpcPeeringConnectionId']} ({peering.status_code(p)})" for p in joined)
            return (
                f"{len(joined)} peering connections join the ROSA VPC {rosa_vpc_id} to the Aurora VPC {aurora_vpc_id}: "
                f"{listed}. Delete the ones you do not want; none was picked and nothing was changed."
            )
    return None


def refuse_duplicates(peerings):
    error = duplicate_error(peerings)
    if error:
        raise AuroraError(error)


def _route(route_table_id, destination):
    return {"route_table_id": route_table_id, "destination_cidr_block": destination}


def link_plan(*, rosa_network, aurora_network, peering_summary, rosa_route_table_ids, aurora_route_table_ids, ingress):
    """What connecting one ROSA cluster adds (in check mode, would add): the peering, routes, ingress rule.

    ``rosa_route_table_ids`` get the route to the Aurora VPC CIDR and ``aurora_route_table_ids`` the
    route to the ROSA machine CIDR; a route table ID is None when it is the main route table of an
    Aurora VPC still to be created. ``ingress`` says whether the tcp 5432 rule is added.
    """
    peering_id = peering_summary.get("vpc_peering_connection_id")
    machine_cidr = rosa_network["machine_cidr"]
    return {
        "create_peering": not peering_id,
        "vpc_peering_connection_id": peering_id,
        "requester_vpc_id": rosa_network["vpc_id"],
        "accepter_vpc_id": aurora_network.get("vpc_id"),
        "routes": [_route(t, aurora_network.get("cidr_block")) for t in rosa_route_table_ids]
        + [_route(t, machine_cidr) for t in aurora_route_table_ids],
        "ingress": [
            {
                "security_group_id": aurora_network.get("security_group_id"),
                "cidr_block": machine_cidr,
                "port": DATABASE_PORT,
            }
        ]
        if ingress
        else [],
    }


def link_diff(plan, *, rosa_network, aurora_network):
    """Before and after of one ROSA cluster's link, for diff mode, from what ``plan`` adds."""
    machine_cidr = rosa_network["machine_cidr"]
    wanted = [_route(t, aurora_network.get("cidr_block")) for t in rosa_network["route_table_ids"]]
    wanted.append(_route(aurora_network.get("main_route_table_id"), machine_cidr))
    after = {
        "vpc_peering_connection_id": plan["vpc_peering_connection_id"],
        "routes": wanted,
        "ingress_cidr_blocks": [machine_cidr],
    }
    before = {
        "vpc_peering_connection_id": None if plan["create_peering"] else plan["vpc_peering_connection_id"],
        "routes": [r for r in wanted if r not in plan["routes"]],
        "ingress_cidr_blocks": [] if plan["ingress"] else [machine_cidr],
    }
    return {"before": before, "after": after}


def ensure_peering(
    rosa_client,
    aurora_client,
    *,
    rosa_vpc_id,
    aurora_vpc_id,
    aurora_region,
    tags,
    check_mode,
    wait_timeout,
    run_started=None,
    aurora_account_id=None,
):
    """Exactly one live peering ROSA VPC -> Aurora VPC, accepted and active. Returns (changed, summary).

    ``aurora_account_id`` is set when the ROSA cluster is in another account: the request names it.
    """
    live = find_peerings(rosa_client, accepter_vpc_ids=[aurora_vpc_id], requester_vpc_id=rosa_vpc_id)
    refuse_duplicates(live)
    if live and peering.status_code(live[0]) == peering.ACTIVE:
        return False, peering.summary(live[0])
    created = False
    if live:
        peering_id = live[0]["VpcPeeringConnectionId"]
    elif check_mode:
        return True, {}
    else:
        peer_owner = {"PeerOwnerId": aurora_account_id} if aurora_account_id else {}
        with naming_resource(f"from the ROSA VPC {rosa_vpc_id} to the Aurora VPC {aurora_vpc_id} in {aurora_region}"):
            peering_id = ec2.create_vpc_peering_connection(
                rosa_client,
                VpcId=rosa_vpc_id,
                PeerVpcId=aurora_vpc_id,
                PeerRegion=aurora_region,
                TagSpecifications=boto3_tag_specifications(tags, ["vpc-peering-connection"]),
                **peer_owner,
            )["VpcPeeringConnectionId"]
        created = True
    accepted, state = peering.ensure_peering_accepted(
        aurora_client, peering_id=peering_id, check_mode=check_mode, wait_timeout=wait_timeout, run_started=run_started
    )
    return created or accepted, state["peering"]


def ensure_accepter_tags(aurora_client, *, summary, tags, check_mode, cross_account=False):
    """Add to the peering ``summary``, in the Aurora region, the ``tags`` its accepter side lacks there;
    return those added (or, in check mode, that would be).

    AWS keeps a peering's tags in the region where they were set: a cross-region peering tagged when
    it was requested in the ROSA region shows no tags in the Aurora region, where the console and the
    scripts look for it; likewise each account sees only the tags it set itself. Values the accepter
    side already has are kept, as the requester side keeps its own. A peering within one region and
    one account has one set of tags, set when it was requested: nothing to do. ``cross_account``
    says that the peering joins two accounts.
    """
    if not summary or (summary["requester_region"] == summary["accepter_region"] and not cross_account):
        return {}
    peering_id = summary["vpc_peering_connection_id"]
    current = peering.describe_peering_tags(aurora_client, peering_id)
    missing = {key: value for key, value in tags.items() if key not in current}
    return peering.ensure_peering_tags(
        aurora_client, peering_id=peering_id, current=current, tags=missing, check_mode=check_mode
    )


def route_tables_by_id(client, table_ids):
    """{ID: table} of those of ``table_ids`` that exist, in one request.

    By filter, not by RouteTableIds: one unknown ID makes AWS refuse the whole list (amazon.aws then
    answers an empty one), which would hide the tables that do exist.
    """
    wanted = sorted(t for t in table_ids if t)
    if not wanted:
        return {}
    found = ec2.describe_route_tables(client, Filters=[{"Name": "route-table-id", "Values": wanted}])
    return {t["RouteTableId"]: t for t in found if t["RouteTableId"] in wanted}


def route_to(table, destination):
    """The route of ``table`` (a description; None stands for none) to ``destination``, or None."""
    return next((r for r in (table or {}).get("Routes", []) if r.get("DestinationCidrBlock") == destination), None)


def route_target(route):
    for key in ("VpcPeeringConnectionId", "TransitGatewayId", "NatGatewayId", "GatewayId", "NetworkInterfaceId"):
        if route.get(key):
            return route[key]
    return "another target"


def _route_conflict(table_id, destination, route):
    return AuroraError(
        f"the route table {table_id} already sends {destination} through {route_target(route)}: another network "
        "uses that CIDR. Nothing was replaced; remove that route, or peer networks whose CIDRs do not overlap."
    )


def ensure_routes(client, *, route_table_ids, destination, peering_id, check_mode):
    """A route ``destination`` -> ``peering_id`` in every table; returns the ids of the tables changed.

    A route to the same CIDR through another live target belongs to someone else (two ROSA clusters
    with one machine CIDR, a transit gateway): it is refused, never taken over. Only a blackhole
    route, left by a peering that is gone, is replaced.
    """
    if not route_table_ids:
        return []
    tables = route_tables_by_id(client, route_table_ids)
    missing = sorted(set(route_table_ids) - set(tables))
    if missing:
        raise AuroraError(
            f"the route table {', '.join(missing)} does not exist: nothing was routed. Correct rosa_route_table_ids "
            "(an inventory cache may hold old ones: --flush-cache), or leave it out to find the worker tables again."
        )
    changed = []
    for table_id, table in sorted(tables.items()):
        current = route_to(table, destination)
        if current and peering_id and current.get("VpcPeeringConnectionId") == peering_id:
            continue
        if current and current.get("State") != "blackhole":
            raise _route_conflict(table_id, destination, current)
        changed.append(table_id)
        if check_mode:
            continue
        if current:
            ec2.replace_route(client, table_id, DestinationCidrBlock=destination, VpcPeeringConnectionId=peering_id)
            continue
        try:
            ec2.create_route(client, table_id, DestinationCidrBlock=destination, VpcPeeringConnectionId=peering_id)
        except is_ansible_aws_error_code("RouteAlreadyExists"):
            # Someone added it since the describe: a concurrent run of this host is fine, anyone else is not.
            now = route_to(route_tables_by_id(client, [table_id]).get(table_id), destination) or {}
            if now.get("VpcPeeringConnectionId") != peering_id:
                raise _route_conflict(table_id, destination, now) from None
            changed.remove(table_id)
    return changed


def _database_rule(source_cidr, description=None):
    ip_range = {"CidrIp": source_cidr}
    if description:
        ip_range["Description"] = description
    return {"IpProtocol": "tcp", "FromPort": DATABASE_PORT, "ToPort": DATABASE_PORT, "IpRanges": [ip_range]}


def _database_cidrs(group):
    return {
        ip_range["CidrIp"]
        for permission in group.get("IpPermissions", [])
        if permission.get("IpProtocol") == "tcp"
        and permission.get("FromPort") == DATABASE_PORT
        and permission.get("ToPort") == DATABASE_PORT
        for ip_range in permission.get("IpRanges", [])
    }


def describe_group(client, group_id):
    groups = ec2.describe_security_groups(client, GroupIds=[group_id])
    if not groups:
        raise AuroraError(f"the security group {group_id} of the Aurora cluster does not exist")
    return groups[0]


def ensure_ingress(client, *, group_id, source_cidr, description, check_mode):
    """tcp 5432 from ``source_cidr`` into the Aurora security group; returns changed."""
    if source_cidr in _database_cidrs(describe_group(client, group_id)):
        return False
    if check_mode:
        return True
    try:
        ec2.authorize_security_group_ingress(
            client, GroupId=group_id, IpPermissions=[_database_rule(source_cidr, description)]
        )
    except is_ansible_aws_error_code("InvalidPermission.Duplicate"):
        return False  # a concurrent run added the same rule since the describe
    return True


def revoke_ingress(client, *, group, source_cidrs, check_mode):
    """Remove tcp 5432 from each of ``source_cidrs``, and nothing else; returns the CIDRs removed."""
    present = sorted(_database_cidrs(group) & set(source_cidrs))
    if present and not check_mode:
        ec2.revoke_security_group_ingress(
            client, GroupId=group["GroupId"], IpPermissions=[_database_rule(c) for c in present]
        )
    return present


def remove_routes_through(client, *, vpc_id, peering_id, check_mode):
    """Delete every route of ``vpc_id`` whose target is ``peering_id``; returns (table, destination) pairs."""
    tables = ec2.describe_route_tables(
        client,
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "route.vpc-peering-connection-id", "Values": [peering_id]},
        ],
    )
    routes = [
        (table["RouteTableId"], route["DestinationCidrBlock"])
        for table in tables
        if table.get("VpcId") == vpc_id
        for route in table.get("Routes", [])
        if route.get("VpcPeeringConnectionId") == peering_id and route.get("DestinationCidrBlock")
    ]
    if not check_mode:
        for table_id, destination in routes:
            ec2.delete_route(client, table_id, DestinationCidrBlock=destination)
    return routes


def unreachable_requester_error(found, rosa_account_id):
    """Why the ROSA side of a peering in ``found`` cannot be undone with the ROSA client: it was requested
    from another account than Aurora's, and the ROSA client is not in that account. None when it can."""
    for connection in found:
        requester_owner = connection["RequesterVpcInfo"].get("OwnerId")
        if not accounts.requested_elsewhere(
            requester_owner, connection["AccepterVpcInfo"].get("OwnerId"), rosa_account_id
        ):
            continue
        return (
            f"the VPC peering connection {connection['VpcPeeringConnectionId']} was requested from the ROSA VPC "
            f"{connection['RequesterVpcInfo'].get('VpcId')} of the AWS account {requester_owner}, whose routes only "
            "that account can remove: set rosa_aws_profile or rosa_role_arn for that account on the ROSA cluster's "
            "host (module options rosa_profile, rosa_role_arn). Nothing was removed."
        )
    return None


def peering_deleter(connection, rosa_client, aurora_client):
    """The client that may delete the live peering ``connection``.

    Either account may delete an active peering, as the Aurora client always has. One not yet active
    (initiating-request, pending-acceptance, provisioning: an interrupted run) may be deleted only by
    the account that requested it: the ROSA client, in the requester's account once
    ``unreachable_requester_error`` has passed.
    """
    return aurora_client if peering.status_code(connection) == peering.ACTIVE else rosa_client


def disconnect(rosa_client, aurora_client, *, found, aurora_vpcs, machine_cidr, check_mode, rosa_account_id=None):
    """Undo what ``ensure_*`` did for each peering in ``found``; returns what was (or would be) removed.

    ``rosa_account_id`` is the account of ``rosa_client`` when it is not Aurora's.
    """
    refusal = unreachable_requester_error(found, rosa_account_id)
    if refusal:
        raise AuroraError(refusal)
    removed = []
    for connection in found:
        peering_id = connection["VpcPeeringConnectionId"]
        rosa_vpc_id = connection["RequesterVpcInfo"]["VpcId"]
        aurora_vpc = aurora_vpcs[connection["AccepterVpcInfo"]["VpcId"]]
        aurora_cluster = boto3_tag_list_to_ansible_dict(aurora_vpc.get("Tags") or []).get(naming.CLUSTER_TAG)
        routes = remove_routes_through(rosa_client, vpc_id=rosa_vpc_id, peering_id=peering_id, check_mode=check_mode)
        routes += remove_routes_through(
            aurora_client, vpc_id=aurora_vpc["VpcId"], peering_id=peering_id, check_mode=check_mode
        )
        requester_cidrs = [b["CidrBlock"] for b in connection["RequesterVpcInfo"].get("CidrBlockSet", [])]
        requester_cidrs.append(connection["RequesterVpcInfo"].get("CidrBlock"))
        cidrs = {c for c in requester_cidrs + [machine_cidr] if c}
        group = network.find_security_group(aurora_client, aurora_cluster, aurora_vpc["VpcId"])
        revoked = revoke_ingress(aurora_client, group=group, source_cidrs=cidrs, check_mode=check_mode) if group else []
        if not check_mode and peering.status_code(connection) in LIVE:
            ec2.delete_vpc_peering_connection(peering_deleter(connection, rosa_client, aurora_client), peering_id)
        removed.append(
            {
                "aurora_cluster": aurora_cluster,
                "vpc_peering_connection_id": peering_id,
                "routes": [{"route_table_id": t, "destination_cidr_block": d} for t, d in routes],
                "ingress_cidrs": sorted(revoked),
            }
        )
    return removed


def rosa_cluster_of(tags, *, requester_tags=None, node_names=None):
    """The ROSA cluster a peering comes from, by the first of these that names one; None when none does.

    Its RosaCluster tag as read here (``tags``); that tag as read in the requester region, for AWS keeps a
    cross-region peering's tags in the region that set them; the ROSA name tags of the nodes in the
    requester VPC, for the keycloak-benchmark scripts tag a peering with the Aurora cluster only.
    ``requester_tags`` (returns a tag dict) and ``node_names`` (returns names, None for an untagged node)
    cost requests: each is called only when what comes before names no cluster.
    """
    name = tags.get(naming.ROSA_CLUSTER_TAG)
    if not name and requester_tags:
        name = requester_tags().get(naming.ROSA_CLUSTER_TAG)
    if not name and node_names:
        name = ", ".join(sorted(set(node_names()) - {None}))
    return name or None


def _tags_in_region(client_for_region, region, peering_id):
    return peering.current_tags(peering.describe_peering(client_for_region(region), peering_id) or {})


def peerings_into(aurora_client, *, vpc_id, aurora_region, client_for_region):
    """The live peerings whose accepter is the Aurora VPC ``vpc_id``, each with its ROSA cluster name;
    two between the same pair of VPCs are refused.

    On AWS, the tags of a cross-region peering live in the region where they were set (the ROSA
    region, at creation); ``client_for_region`` reads them there when this region does not show them.
    """
    live = find_peerings(aurora_client, accepter_vpc_ids=[vpc_id])
    refuse_duplicates(live)
    found = []
    for connection in live:
        summary = peering.summary(connection)
        requester_region = summary["requester_region"]
        requester_tags = None
        if requester_region and requester_region != aurora_region:
            requester_tags = functools.partial(
                _tags_in_region, client_for_region, requester_region, summary["vpc_peering_connection_id"]
            )
        summary["rosa_cluster_name"] = rosa_cluster_of(summary["tags"], requester_tags=requester_tags)
        # Undoing it takes the ROSA account's credentials when that is another account than Aurora's.
        summary["accepter_owner_id"] = connection["AccepterVpcInfo"].get("OwnerId")
        found.append(summary)
    return found


# ---------------------------------------------------------------------------------------------
# The link made, or undone: what the module aurora_peering runs, one function per state
# ---------------------------------------------------------------------------------------------


def input_error(*, state, cluster, rosa_machine_cidr):
    """Why the input is refused before any request is sent, every reason at once; None when it is not."""
    errors = []
    if cluster:
        name_error = naming.cluster_name_error(cluster)
        if name_error:
            errors.append(f"cluster {name_error}")
    if state == "present" and not cluster:
        errors.append("cluster is required with state=present")
    if rosa_machine_cidr:
        try:
            cidr.parse_network(rosa_machine_cidr)
        except cidr.CidrError as e:
            errors.append(f"rosa_machine_cidr {e}")
    return "; ".join(errors) or None


def given_rosa_network(*, vpc_id, machine_cidr, route_table_ids):
    """The ROSA network when the caller gave all of it, None when it must be found."""
    if vpc_id and machine_cidr and route_table_ids:
        return {"vpc_id": vpc_id, "machine_cidr": machine_cidr, "route_table_ids": sorted(route_table_ids)}
    return None


def aurora_network_error(aurora_network, *, cluster, region, check_mode):
    """Why the Aurora network cannot be linked to; None when it can.

    In check mode it may be only planned: no VPC ID yet, perhaps a CIDR.
    """
    if aurora_network.get("vpc_id") and not aurora_network.get("security_group_id"):
        return f"the Aurora VPC {aurora_network['vpc_id']} has no security group {naming.security_group_name(cluster)}"
    if not aurora_network.get("vpc_id") and not check_mode:
        return (
            f"the Aurora cluster {cluster} has no VPC tagged {naming.CLUSTER_TAG}={cluster} "
            f"in {region}: provision it first (playbooks/provision.yml)"
        )
    return None


def link_result(*, changed_peering, rosa_network, aurora_network, peering_summary, changes, diff):
    """The module's result for state=present, from what each step changed (or, in check mode, would)."""
    plan = link_plan(
        rosa_network=rosa_network,
        aurora_network=aurora_network,
        peering_summary=peering_summary,
        rosa_route_table_ids=changes["rosa_route_table_ids"],
        # The main route table of an Aurora VPC still to be created has no ID yet, but gets its route.
        aurora_route_table_ids=changes["aurora_route_table_ids"] if aurora_network.get("vpc_id") else [None],
        ingress=changes["ingress"],
    )
    changed = changed_peering or any(changes.values())
    result = dict(changed=changed, rosa_network=rosa_network, peering=peering_summary, changes=changes, plan=plan)
    if diff:
        result["diff"] = link_diff(plan, rosa_network=rosa_network, aurora_network=aurora_network)
    return result


def _rosa_network(client, *, region, cluster_name, vpc_id, machine_cidr, route_table_ids, node_names, warn):
    """The ROSA network as given, or found here: one module run per host instead of two."""
    given = given_rosa_network(vpc_id=vpc_id, machine_cidr=machine_cidr, route_table_ids=route_table_ids)
    if given:
        return given
    facts, warnings = rosa.discover(
        client,
        region=region,
        cluster_name=cluster_name,
        vpc_id=vpc_id,
        machine_cidr=machine_cidr,
        node_names=node_names,
    )
    for warning in warnings:
        warn(warning)
    return facts


def ensure_link_present(
    rosa_client,
    aurora_client,
    *,
    cluster,
    aurora_region,
    aurora_network,
    rosa_cluster_name,
    rosa_region,
    rosa_vpc_id,
    rosa_machine_cidr,
    rosa_route_table_ids,
    rosa_node_names,
    tags,
    wait_timeout,
    run_started,
    check_mode,
    diff,
    warn,
    aurora_account_id=None,
):
    """Link the ROSA cluster to the Aurora cluster: peering, routes both ways, tcp 5432; return the result.

    ``aurora_network`` is the network aurora_network_info returned, or None to look it up here.
    ``aurora_account_id`` is set when the ROSA cluster is in another account.
    """
    rosa_network = _rosa_network(
        rosa_client,
        region=rosa_region,
        cluster_name=rosa_cluster_name,
        vpc_id=rosa_vpc_id,
        machine_cidr=rosa_machine_cidr,
        route_table_ids=rosa_route_table_ids,
        node_names=rosa_node_names,
        warn=warn,
    )
    aurora = aurora_network or network.describe_network(aurora_client, cluster) or {}
    refusal = aurora_network_error(aurora, cluster=cluster, region=aurora_region, check_mode=check_mode)
    refusal = refusal or (
        aurora.get("cidr_block")
        and overlap_error(rosa_network["machine_cidr"], aurora["cidr_block"], rosa_cluster_name, cluster)
    )
    if refusal:
        raise AuroraError(refusal)
    result = dict(rosa_network=rosa_network, aurora_network=aurora, diff=diff)
    if not aurora.get("vpc_id"):
        # Check mode of a run that would create the Aurora network: everything would be added.
        planned = {
            "rosa_route_table_ids": rosa_network["route_table_ids"],
            "aurora_route_table_ids": [],
            "ingress": True,
            "accepter_tags": {},
        }
        return link_result(changed_peering=True, peering_summary={}, changes=planned, **result)
    wanted_tags = desired_peering_tags(cluster, rosa_cluster_name, tags)
    changed_peering, summary = ensure_peering(
        rosa_client,
        aurora_client,
        rosa_vpc_id=rosa_network["vpc_id"],
        aurora_vpc_id=aurora["vpc_id"],
        aurora_region=aurora_region,
        tags=wanted_tags,
        check_mode=check_mode,
        wait_timeout=wait_timeout,
        run_started=run_started,
        aurora_account_id=aurora_account_id,
    )
    peering_id = summary.get("vpc_peering_connection_id")
    accepter_tags = ensure_accepter_tags(
        aurora_client, summary=summary, tags=wanted_tags, check_mode=check_mode, cross_account=bool(aurora_account_id)
    )
    changes = {
        "rosa_route_table_ids": ensure_routes(
            rosa_client,
            route_table_ids=rosa_network["route_table_ids"],
            destination=aurora["cidr_block"],
            peering_id=peering_id,
            check_mode=check_mode,
        ),
        "aurora_route_table_ids": ensure_routes(
            aurora_client,
            route_table_ids=[aurora["main_route_table_id"]],
            destination=rosa_network["machine_cidr"],
            peering_id=peering_id,
            check_mode=check_mode,
        ),
        "ingress": ensure_ingress(
            aurora_client,
            group_id=aurora["security_group_id"],
            source_cidr=rosa_network["machine_cidr"],
            description=f"Keycloak on ROSA cluster {rosa_cluster_name}",
            check_mode=check_mode,
        ),
        "accepter_tags": accepter_tags,
    }
    return link_result(changed_peering=changed_peering, peering_summary=summary, changes=changes, **result)


def peering_search(*, rosa_vpc_id, rosa_cluster_name):
    """How the peerings of a ROSA cluster are found: from its VPC while it can be found, else by their tag."""
    if rosa_vpc_id:
        return {"requester_vpc_id": rosa_vpc_id, "tags": None}
    return {"requester_vpc_id": None, "tags": {naming.ROSA_CLUSTER_TAG: rosa_cluster_name}}


def _aurora_vpcs(client, cluster):
    """The Aurora VPCs by ID: the cluster's, or with no cluster every Aurora cluster's of the region."""
    if cluster:
        vpcs = network.tagged_vpcs(client, cluster)
        # Which of two tagged VPCs is the cluster's is not for this module to guess.
        network.refuse_duplicate_vpcs(vpcs, cluster)
    else:
        vpcs = ec2.describe_vpcs(client, Filters=[{"Name": "tag-key", "Values": [naming.CLUSTER_TAG]}])
    return {vpc["VpcId"]: vpc for vpc in vpcs}


def _rosa_vpc_id(client, *, region, cluster_name, vpc_id, node_names):
    """The ROSA VPC when it can still be found; None when only the peerings' tags remember it."""
    if vpc_id:
        return vpc_id
    try:
        facts, _warnings = rosa.discover(client, region=region, cluster_name=cluster_name, node_names=node_names)
    except AuroraError:
        return None
    return facts["vpc_id"]


def ensure_link_absent(
    rosa_client,
    aurora_client,
    *,
    cluster,
    rosa_cluster_name,
    rosa_region,
    rosa_vpc_id,
    rosa_machine_cidr,
    rosa_node_names,
    check_mode,
    rosa_account_id=None,
):
    """Unlink the ROSA cluster from ``cluster``, or from every Aurora cluster of the region when it is
    None: only what ``ensure_link_present`` added. Works after the ROSA cluster's nodes are gone.
    ``rosa_account_id`` is the account of ``rosa_client`` when it is not Aurora's."""
    aurora_vpcs = _aurora_vpcs(aurora_client, cluster)
    if not aurora_vpcs:
        return {"changed": False, "removed": []}
    requester = _rosa_vpc_id(
        rosa_client, region=rosa_region, cluster_name=rosa_cluster_name, vpc_id=rosa_vpc_id, node_names=rosa_node_names
    )
    found = find_peerings(
        rosa_client,
        accepter_vpc_ids=sorted(aurora_vpcs),
        statuses=REMOVABLE,
        **peering_search(rosa_vpc_id=requester, rosa_cluster_name=rosa_cluster_name),
    )
    refuse_duplicates(found)
    removed = disconnect(
        rosa_client,
        aurora_client,
        found=found,
        aurora_vpcs=aurora_vpcs,
        machine_cidr=rosa_machine_cidr,
        check_mode=check_mode,
        rosa_account_id=rosa_account_id,
    )
    return {"changed": bool(removed), "removed": removed}

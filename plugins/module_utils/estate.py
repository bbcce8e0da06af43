# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every Aurora cluster for Keycloak in an account: finding them, describing them, choosing which may go.

An Aurora cluster is one for Keycloak when its engine is aurora-postgresql and it carries at least
one mark of the naming contract that this collection, the keycloak-benchmark scripts and the
documented procedure all follow: its VPC tagged ``AuroraCluster=<c>``, its DB subnet group
``<c>-subnet-group``, or its security group ``<c>-security-group``. Any one is enough, so a
deployment half made by hand is found too; none, and the cluster is somebody else's.

The pure functions decide and shape; ``scan_region`` sends only read requests, a fixed number per
region (the security groups in one request per FILTER_VALUES_MAX Aurora VPCs) plus one per peering whose
ROSA cluster is not named by its tags.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress

from ansible_collections.amazon.aws.plugins.module_utils.botocore import paginated_query_with_retries
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.keycloak.aurora.plugins.module_utils import link
from ansible_collections.keycloak.aurora.plugins.module_utils import naming
from ansible_collections.keycloak.aurora.plugins.module_utils import peering
from ansible_collections.keycloak.aurora.plugins.module_utils import rds_cluster
from ansible_collections.keycloak.aurora.plugins.module_utils import rosa

ENGINE = "aurora-postgresql"
# The keycloak-benchmark reaper keeps a cluster tagged keepalive, whatever the value: so does this one.
KEEPALIVE_TAG = "keepalive"
# EC2 refuses a filter with more values than this.
FILTER_VALUES_MAX = 200
# Peerings worth showing: everything that still exists or may still be the target of a route.
SHOWN_PEERING_STATES = ("initiating-request", "pending-acceptance", "provisioning", "active", "failed", "expired")
# What the reaper does with a cluster.
DELETE = "delete"
KEEP = "keep"
# The marks of the naming contract, each with how it is shown. Only the VPC tag is set on purpose for one cluster;
# the two names are generic enough that somebody else's cluster may carry one, so only the tag lets the reaper in.
VPC_TAG = "vpc_tag"
SUBNET_GROUP = "subnet_group"
SECURITY_GROUP = "security_group"
MARKS = {
    VPC_TAG: lambda c: f"VPC tagged {naming.CLUSTER_TAG}={c}",
    SUBNET_GROUP: lambda c: f"DB subnet group {naming.subnet_group_name(c)}",
    SECURITY_GROUP: lambda c: f"security group {naming.security_group_name(c)}",
}
NAME_MARKS = {SUBNET_GROUP: "DB subnet group", SECURITY_GROUP: "security group"}


# ---------------------------------------------------------------------------------------------
# Pure functions
# ---------------------------------------------------------------------------------------------


def contract_marks(identifier, *, vpc_tags, subnet_group_name, security_group_names):
    """The marks of the naming contract ``identifier`` carries (``MARKS`` keys, in that order); empty when none.

    ``vpc_tags``: the tags of the VPC its subnet group is in; ``security_group_names``: the names of its
    VPC security groups. RDS keeps identifiers in lower case, so the subnet group is compared so.
    """
    carried = {
        VPC_TAG: vpc_tags.get(naming.CLUSTER_TAG) == identifier,
        SUBNET_GROUP: (subnet_group_name or "").lower() == naming.subnet_group_name(identifier).lower(),
        SECURITY_GROUP: naming.security_group_name(identifier) in security_group_names,
    }
    return [mark for mark in MARKS if carried[mark]]


def mark_sentences(identifier, marks):
    """The marks (``contract_marks``) of ``identifier`` for people: what status.yml shows as ``found_by``."""
    return [MARKS[mark](identifier) for mark in marks]


def is_for_keycloak(engine, marks):
    return engine == ENGINE and bool(marks)


def parse_time(value):
    """A timezone-aware datetime from a datetime or an ISO 8601 string; naive values are UTC."""
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def age_hours(created, now):
    """Hours from ``created`` to ``now`` (both as ``parse_time`` takes them), or None without a creation time."""
    created = parse_time(created)
    if created is None:
        return None
    return (parse_time(now) - created).total_seconds() / 3600


def keepalive(tags):
    """The value of the keepalive tag (possibly empty), or None when the tag is absent."""
    return tags.get(KEEPALIVE_TAG)


def requester_cidr_blocks(connection):
    """Every IPv4 CIDR of the requester VPC the peering knows: the primary and those added to the VPC later."""
    requester = connection.get("RequesterVpcInfo") or {}
    blocks = [requester.get("CidrBlock")] + [b.get("CidrBlock") for b in requester.get("CidrBlockSet") or []]
    return sorted({block for block in blocks if block})


def peering_record(summary, rosa_name, cidr_blocks):
    return {
        "vpc_peering_connection_id": summary["vpc_peering_connection_id"],
        "status": summary["status"],
        "rosa_cluster_name": rosa_name,
        "requester_vpc_id": summary["requester_vpc_id"],
        "requester_region": summary["requester_region"],
        "requester_cidr_block": summary["requester_cidr_block"],
        "requester_cidr_blocks": cidr_blocks,
    }


def instance_record(instance, writers):
    identifier = instance["DBInstanceIdentifier"]
    return {
        "identifier": identifier,
        "instance_class": instance.get("DBInstanceClass"),
        "availability_zone": instance.get("AvailabilityZone"),
        "status": instance.get("DBInstanceStatus"),
        "writer": writers.get(identifier.lower(), False),
    }


def maintenance_record(resource_arn, action):
    return {
        "resource": resource_arn.rsplit(":", 1)[-1],
        "action": action.get("Action"),
        "description": action.get("Description"),
        "auto_applied_after": _iso(action.get("AutoAppliedAfterDate")),
        "forced_apply_date": _iso(action.get("ForcedApplyDate")),
        "opt_in_status": action.get("OptInStatus"),
    }


def _iso(moment):
    return parse_time(moment).isoformat() if moment else None


def cluster_record(region, cluster, *, instances, vpc, marks, peerings, pending_maintenance, final_snapshots, now):
    """One Aurora cluster for Keycloak as status.yml shows it and reap.yml judges it."""
    tags = boto3_tag_list_to_ansible_dict(cluster.get("TagList") or [])
    writers = {
        m["DBInstanceIdentifier"].lower(): m.get("IsClusterWriter", False)
        for m in cluster.get("DBClusterMembers") or []
    }
    created = cluster.get("ClusterCreateTime")
    age = age_hours(created, now)
    return {
        "region": region,
        "identifier": cluster["DBClusterIdentifier"],
        "status": cluster.get("Status"),
        "engine_version": cluster.get("EngineVersion"),
        "endpoint": cluster.get("Endpoint"),
        "reader_endpoint": cluster.get("ReaderEndpoint"),
        "port": cluster.get("Port"),
        "deletion_protection": bool(cluster.get("DeletionProtection")),
        "instances": sorted((instance_record(i, writers) for i in instances), key=lambda i: i["identifier"]),
        "vpc_id": (vpc or {}).get("VpcId"),
        "vpc_cidr_block": (vpc or {}).get("CidrBlock"),
        "marks": marks,
        "found_by": mark_sentences(cluster["DBClusterIdentifier"], marks),
        "peerings": sorted(peerings, key=lambda p: p["vpc_peering_connection_id"]),
        "pending_maintenance": pending_maintenance,
        "final_snapshots": final_snapshots,
        "keepalive": keepalive(tags),
        "created": _iso(created),
        "age_hours": None if age is None else round(age, 2),
        "tags": tags,
    }


def reap_decision(record, *, now, min_age_hours):
    """(DELETE or KEEP, why) for one cluster record.

    Kept: found by a name only, not by its VPC's tag (``marks``); tagged keepalive (any value), younger than
    ``min_age_hours`` at ``now``, of unknown age, protected from deletion (the reaper never lifts a protection
    somebody set), or already deleting.
    """
    if VPC_TAG not in record.get("marks", ()):
        return KEEP, untagged_reason(record.get("marks", ()))
    if record.get("keepalive") is not None:
        value = record["keepalive"]
        return KEEP, f"tagged {KEEPALIVE_TAG}" + (f"={value}" if value else "")
    age = age_hours(record.get("created"), now)
    if age is None:
        return KEEP, "its creation time is unknown"
    if age < min_age_hours:
        return KEEP, f"{age:.1f} hours old, younger than reap_min_age_hours={min_age_hours:g}"
    if record.get("deletion_protection"):
        return KEEP, "deletion protection is on"
    if record.get("status") == "deleting":
        return KEEP, "already being deleted"
    return DELETE, f"no {KEEPALIVE_TAG} tag and {age:.1f} hours old (reap_min_age_hours={min_age_hours:g})"


def untagged_reason(marks):
    """Why a cluster whose VPC lacks the tag is kept, naming the names it was found by."""
    names = [NAME_MARKS[mark] for mark in marks if mark in NAME_MARKS]
    if not names:
        return f"its VPC is not tagged {naming.CLUSTER_TAG}: not reaped"
    plural = "s" if len(names) > 1 else ""
    return f"found only by its {' and '.join(names)} name{plural}: not reaped"


def reap_plan(records, *, now, min_age_hours):
    """{"delete": [...], "keep": [...]}: each record with its ``reason``, in region and name order."""
    plan = {DELETE: [], KEEP: []}
    for record in sorted(records, key=lambda r: (r["region"], r["identifier"])):
        action, reason = reap_decision(record, now=now, min_age_hours=min_age_hours)
        plan[action].append(dict(record, reason=reason))
    return plan


def leftover(region, kind, resource_id, *, cluster, why, fix):
    return {"region": region, "kind": kind, "id": resource_id, "cluster": cluster, "why": why, "fix": fix}


def orphaned_networks(region, *, vpcs, cluster_ids, subnet_groups, security_groups):
    """The VPCs tagged ``AuroraCluster=<c>`` of a DB cluster ``<c>`` that is gone (``cluster_ids``: every DB
    cluster of the region, lower case), with their ``<c>-subnet-group`` and ``<c>-security-group``: a delete
    that stopped half-way, or a cluster deleted by hand. delete.yml finishes the job."""
    found = []
    for vpc in sorted(vpcs, key=lambda v: v["VpcId"]):
        cluster = boto3_tag_list_to_ansible_dict(vpc.get("Tags") or []).get(naming.CLUSTER_TAG)
        if not cluster or cluster.lower() in cluster_ids:
            continue
        why = f"the DB cluster {cluster} is gone"
        fix = f"ansible-playbook playbooks/delete.yml -e aurora_cluster={cluster} -e aurora_region={region}"
        vpc_id = vpc["VpcId"]
        found.append(
            leftover(
                region, "vpc", vpc_id, cluster=cluster, why=f"tagged {naming.CLUSTER_TAG}={cluster}; {why}", fix=fix
            )
        )
        found += [
            leftover(region, "db_subnet_group", g["DBSubnetGroupName"], cluster=cluster, why=why, fix=fix)
            for g in subnet_groups
            if g.get("VpcId") == vpc_id and g["DBSubnetGroupName"].lower() == naming.subnet_group_name(cluster).lower()
        ]
        found += [
            leftover(region, "security_group", g["GroupId"], cluster=cluster, why=f"{g['GroupName']}: {why}", fix=fix)
            for g in security_groups
            if g.get("VpcId") == vpc_id and g.get("GroupName") == naming.security_group_name(cluster)
        ]
    return found


def orphaned_secrets(region, *, secrets, cluster_ids):
    """The master password secrets ``<c>-master-password`` tagged ``AuroraCluster=<c>`` (the ones this collection
    generates) of a DB cluster ``<c>`` that is gone, and not already scheduled for deletion."""
    found = []
    for secret in sorted(secrets, key=lambda s: s["Name"]):
        cluster = boto3_tag_list_to_ansible_dict(secret.get("Tags") or []).get(naming.CLUSTER_TAG)
        if (
            not cluster
            or secret.get("DeletedDate")
            or secret["Name"] != naming.master_secret_name(cluster)
            or cluster.lower() in cluster_ids
        ):
            continue
        found.append(
            leftover(
                region,
                "secret",
                secret["Name"],
                cluster=cluster,
                why=f"the DB cluster {cluster} is gone",
                fix=f"ansible-playbook playbooks/delete.yml -e aurora_cluster={cluster} -e aurora_region={region}",
            )
        )
    return found


def stale_routes(region, route_tables, peerings_by_id):
    """The routes through a peering that no longer carries traffic: deleted, failed, rejected, expired, or no
    longer shown at all (AWS shows a deleted peering for a while only). ``peerings_by_id``: the peerings AWS
    still shows, by id."""
    found = []
    for table in sorted(route_tables, key=lambda t: t["RouteTableId"]):
        for route in table.get("Routes", []):
            peering_id = route.get("VpcPeeringConnectionId")
            if not peering_id:
                continue
            connection = peerings_by_id.get(peering_id)
            state = peering.status_code(connection) if connection else "gone"
            if state in link.LIVE:
                continue
            destination = route.get("DestinationCidrBlock")
            found.append(
                leftover(
                    region,
                    "route",
                    f"{table['RouteTableId']} {destination}",
                    cluster=peering.current_tags(connection).get(naming.CLUSTER_TAG) if connection else None,
                    why=f"in {table.get('VpcId')}, routes {destination} through {peering_id}, which is {state}",
                    fix=f"aws ec2 delete-route --region {region} --route-table-id {table['RouteTableId']} "
                    f"--destination-cidr-block {destination}",
                )
            )
    return found


def revoke_command(region, group_id, permission, cidr):
    """The AWS CLI command that revokes ``cidr`` from the ingress ``permission`` as it is (protocol and ports)."""
    fields = [f"IpProtocol={permission.get('IpProtocol')}"]
    if permission.get("FromPort") is not None:
        fields += [f"FromPort={permission['FromPort']}", f"ToPort={permission.get('ToPort')}"]
    fields.append(f"IpRanges=[{{CidrIp={cidr}}}]")
    return (
        f"aws ec2 revoke-security-group-ingress --region {region} --group-id {group_id} "
        f"--ip-permissions '{','.join(fields)}'"
    )


def stale_ingress(region, cluster, security_groups, peerings):
    """The CIDRs ``<c>-security-group`` (in ``security_groups``) admits to port 5432 that no live peering into
    the Aurora VPC (``peerings``, records of ``peering_record``) comes from, judged against every CIDR of each
    peered VPC: left by a peering deleted alone."""
    live = [
        ipaddress.ip_network(block)
        for p in peerings
        if p["status"] in link.LIVE
        for block in p.get("requester_cidr_blocks") or []
    ]
    found = []
    for group in security_groups:
        for permission in group.get("IpPermissions") or []:
            if not link.admits_database_port(permission):
                continue
            for source in permission.get("IpRanges") or []:
                block = ipaddress.ip_network(source["CidrIp"], strict=False)
                if any(block.version == network.version and block.subnet_of(network) for network in live):
                    continue
                found.append(
                    leftover(
                        region,
                        "ingress_rule",
                        f"{group['GroupId']} {source['CidrIp']}",
                        cluster=cluster,
                        why=f"{group.get('GroupName')} admits port {link.DATABASE_PORT} from {source['CidrIp']}, "
                        "and no live peering uses this rule",
                        fix=revoke_command(region, group["GroupId"], permission, source["CidrIp"]),
                    )
                )
    return found


def chunks(values, size):
    """``values`` (a list) in consecutive lists of at most ``size``."""
    return [values[start : start + size] for start in range(0, len(values), size)]


def region_error(region, error):
    """How a region that could not be scanned is reported: its name, the AWS error code (if any) and message.

    ``error``: a botocore error, or an AnsibleAWSError wrapping one in ``exception``.
    """
    response = getattr(error, "response", None) or getattr(getattr(error, "exception", None), "response", None) or {}
    return {"region": region, "code": response.get("Error", {}).get("Code"), "message": str(error)}


# ---------------------------------------------------------------------------------------------
# Reading one region
# ---------------------------------------------------------------------------------------------


def _all(client, paginator_name, key, **params):
    """Every ``key`` item of a paginated describe, retried as amazon.aws retries."""
    return paginated_query_with_retries(client, paginator_name, **params).get(key, [])


def _pending_maintenance(rds):
    """{resource ARN: [actions]} for the region's pending maintenance actions."""
    found = _all(rds, "describe_pending_maintenance_actions", "PendingMaintenanceActions")
    return {item["ResourceIdentifier"]: item.get("PendingMaintenanceActionDetails") or [] for item in found}


def _requester_instances(client, vpc_id):
    return _all(
        client,
        "describe_instances",
        "Reservations",
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "tag-key", "Values": [rosa.NAME_TAG]},
            {"Name": "instance-state-name", "Values": list(rosa.LIVE_STATES)},
        ],
    )


def _region_peerings(ec2):
    """Every peering the region shows, whatever its state: one paginated request with no filter, since a filter takes
    at most FILTER_VALUES_MAX values and a busy account has more Aurora VPCs, or routes through peerings."""
    return _all(ec2, "describe_vpc_peering_connections", "VpcPeeringConnections")


def _requester_node_names(summary, region, client_for_region):
    """The ROSA names of the nodes in a peering's requester VPC (None for an untagged node)."""
    if not summary["requester_vpc_id"]:
        return []
    requester_client = client_for_region(summary["requester_region"] or region)
    reservations = _requester_instances(requester_client, summary["requester_vpc_id"])
    return [rosa.tags_of(instance).get(rosa.NAME_TAG) for instance in rosa.instances_of(reservations)]


def _peerings(region_peerings, vpc_ids, region, client_for_region):
    """{Aurora VPC id: [peering records]} of the peerings into ``vpc_ids`` worth showing: those find_peerings
    would ask AWS for, picked from the region's (a filter would hold at most FILTER_VALUES_MAX VPCs)."""
    by_vpc = {}
    for connection in region_peerings:
        if not link.peering_matches(connection, accepter_vpc_ids=vpc_ids, statuses=SHOWN_PEERING_STATES):
            continue
        summary = peering.summary(connection)
        node_names = functools.partial(_requester_node_names, summary, region, client_for_region)
        name = link.rosa_cluster_of(summary["tags"], node_names=node_names)
        record = peering_record(summary, name, requester_cidr_blocks(connection))
        by_vpc.setdefault(summary["accepter_vpc_id"], []).append(record)
    return by_vpc


def _final_snapshots(snapshots, identifier):
    prefix = rds_cluster.final_snapshot_prefix(identifier)
    return sorted(
        (
            {
                "identifier": s["DBClusterSnapshotIdentifier"],
                "created": _iso(s.get("SnapshotCreateTime")),
                "status": s.get("Status"),
            }
            for s in snapshots
            if s["DBClusterSnapshotIdentifier"].lower().startswith(prefix)
        ),
        key=lambda s: (s["created"] or "", s["identifier"]),
    )


def scan_region(region, *, ec2, rds, secrets, client_for_region, now):
    """{"clusters": the records of every Aurora cluster for Keycloak in ``region`` by name, "leftovers": what
    deleted deployments left behind there (``leftovers``)}."""
    all_clusters = _all(rds, "describe_db_clusters", "DBClusters")
    clusters = [c for c in all_clusters if c.get("Engine") == ENGINE]
    subnet_groups = {
        g["DBSubnetGroupName"].lower(): g for g in _all(rds, "describe_db_subnet_groups", "DBSubnetGroups")
    }
    vpcs = {v["VpcId"]: v for v in _all(ec2, "describe_vpcs", "Vpcs")}
    aurora_vpc_ids = {v["VpcId"] for v in vpcs.values() if naming.CLUSTER_TAG in _tags(v)}
    aurora_vpc_ids |= {g.get("VpcId") for g in subnet_groups.values() if g.get("VpcId") in vpcs}
    groups = {
        g["GroupId"]: g
        for some_vpc_ids in chunks(sorted(aurora_vpc_ids), FILTER_VALUES_MAX)
        for g in _all(
            ec2,
            "describe_security_groups",
            "SecurityGroups",
            Filters=[{"Name": "vpc-id", "Values": some_vpc_ids}],
        )
    }
    found = []
    for cluster in clusters:
        identifier = cluster["DBClusterIdentifier"]
        subnet_group = subnet_groups.get((cluster.get("DBSubnetGroup") or "").lower()) or {}
        vpc = vpcs.get(subnet_group.get("VpcId"))
        own_groups = [groups.get(g["VpcSecurityGroupId"]) or {} for g in cluster.get("VpcSecurityGroups") or []]
        marks = contract_marks(
            identifier,
            vpc_tags=_tags(vpc or {}),
            subnet_group_name=cluster.get("DBSubnetGroup"),
            security_group_names={g.get("GroupName") for g in own_groups},
        )
        if is_for_keycloak(cluster.get("Engine"), marks):
            found.append((cluster, vpc, own_groups, marks))
    region_peerings = _region_peerings(ec2)
    peerings = _peerings(
        region_peerings, {vpc["VpcId"] for _cluster, vpc, _groups, _marks in found if vpc}, region, client_for_region
    )
    route_tables = _all(ec2, "describe_route_tables", "RouteTables")
    cluster_ids = {c["DBClusterIdentifier"].lower() for c in all_clusters}
    leftovers = orphaned_networks(
        region,
        vpcs=[vpcs[v] for v in sorted(aurora_vpc_ids)],
        cluster_ids=cluster_ids,
        subnet_groups=list(subnet_groups.values()),
        security_groups=list(groups.values()),
    )
    leftovers += stale_routes(region, route_tables, {p["VpcPeeringConnectionId"]: p for p in region_peerings})
    tagged_secrets = _all(
        secrets,
        "list_secrets",
        "SecretList",
        Filters=[{"Key": "tag-key", "Values": [naming.CLUSTER_TAG]}],
    )
    leftovers += orphaned_secrets(region, secrets=tagged_secrets, cluster_ids=cluster_ids)
    if not found:
        return {"clusters": [], "leftovers": leftovers}
    instances = _all(rds, "describe_db_instances", "DBInstances")
    maintenance = _pending_maintenance(rds)
    snapshots = _all(rds, "describe_db_cluster_snapshots", "DBClusterSnapshots", SnapshotType="manual")
    records = []
    for cluster, vpc, own_groups, marks in found:
        identifier = cluster["DBClusterIdentifier"]
        members = [i for i in instances if (i.get("DBClusterIdentifier") or "").lower() == identifier.lower()]
        arns = [cluster.get("DBClusterArn")] + [i.get("DBInstanceArn") for i in members]
        linked = peerings.get((vpc or {}).get("VpcId"), [])
        contract_group = [g for g in own_groups if g.get("GroupName") == naming.security_group_name(identifier)]
        leftovers += stale_ingress(region, identifier, contract_group, linked)
        records.append(
            cluster_record(
                region,
                cluster,
                instances=members,
                vpc=vpc,
                marks=marks,
                peerings=linked,
                pending_maintenance=[
                    maintenance_record(arn, a) for arn in arns if arn for a in maintenance.get(arn, [])
                ],
                final_snapshots=_final_snapshots(snapshots, identifier),
                now=now,
            )
        )
    return {"clusters": sorted(records, key=lambda r: r["identifier"]), "leftovers": leftovers}


def _tags(resource):
    return boto3_tag_list_to_ansible_dict(resource.get("Tags") or [])


# ---------------------------------------------------------------------------------------------
# Text for people
# ---------------------------------------------------------------------------------------------


def _instance_line(instance):
    role = "writer" if instance["writer"] else "reader"
    return " ".join(
        (
            instance["identifier"],
            str(instance["instance_class"]),
            str(instance["availability_zone"]),
            str(instance["status"]),
            role,
        )
    )


def _peering_line(link):
    rosa_cluster = link["rosa_cluster_name"] or "unknown ROSA cluster"
    return (
        f"{link['vpc_peering_connection_id']} {link['status']} from {rosa_cluster} "
        f"({link['requester_vpc_id']} {link['requester_cidr_block']} in {link['requester_region']})"
    )


def _age(record):
    return "unknown age" if record["age_hours"] is None else f"{record['age_hours']:.1f} h old"


def cluster_lines(record):
    """The lines status.yml shows for one cluster."""
    keep = record["keepalive"]
    lines = [
        f"{record['region']} {record['identifier']}: {record['status']}, aurora-postgresql {record['engine_version']}, "
        f"{_age(record)}, " + ("keepalive" + (f"={keep}" if keep else "") if keep is not None else "no keepalive tag"),
        f"  endpoints: {record['endpoint']} (writer), {record['reader_endpoint']} (reader), port {record['port']}",
        f"  VPC: {record['vpc_id'] or 'not found'} {record['vpc_cidr_block'] or ''}".rstrip(),
    ]
    lines += [f"  instance: {_instance_line(i)}" for i in record["instances"]] or ["  instances: none"]
    lines += [f"  peering: {_peering_line(p)}" for p in record["peerings"]] or ["  peerings: none"]
    lines += [
        f"  maintenance: {m['action']} on {m['resource']}"
        + (f", applied after {m['auto_applied_after']}" if m["auto_applied_after"] else "")
        for m in record["pending_maintenance"]
    ] or ["  maintenance: none pending"]
    lines += [
        f"  final snapshot: {s['identifier']} {s['status']} {s['created'] or ''}".rstrip()
        for s in record["final_snapshots"]
    ]
    return lines


def _count(number, noun):
    return f"{number} {noun}{'' if number == 1 else 's'}"


def estate_lines(clusters, failed_regions, regions, leftovers=()):
    """The readable report of status.yml: a header, one block per cluster, the leftovers, the regions that failed."""
    lines = [f"{_count(len(clusters), 'Aurora cluster')} for Keycloak in {_count(len(regions), 'region')} scanned"]
    for record in clusters:
        lines += cluster_lines(record)
    lines += leftover_lines(leftovers)
    lines += [f"NOT SCANNED {e['region']}: {e['code'] or 'error'}: {e['message']}" for e in failed_regions]
    return lines


def leftover_lines(leftovers):
    """One line per leftover: where, what, why, and the command that removes it."""
    return [
        f"LEFTOVER {item['region']} {item['kind']} {item['id']}: {item['why']}. Fix: {item['fix']}"
        for item in leftovers
    ]


def plan_lines(plan, *, confirmed):
    """What reap.yml does, or would do without reap_confirm=true, with each cluster and why."""
    verb = "delete" if confirmed else "would delete (dry run: pass -e reap_confirm=true to delete)"
    lines = [f"{verb}: {r['region']} {r['identifier']}: {r['reason']}" for r in plan[DELETE]]
    lines += [f"keep: {r['region']} {r['identifier']}: {r['reason']}" for r in plan[KEEP]]
    return lines or ["no Aurora cluster for Keycloak found"]


def reap_summary(plan, outcomes, *, confirmed, failed_regions):
    """The counts and lines of the reaper's last word.

    ``outcomes``: {"<region>/<identifier>": error message, or None when deleted} for the clusters the
    run tried to delete; a doomed cluster missing from it was not tried (dry run).
    """
    deleted = [r for r in plan[DELETE] if _key(r) in outcomes and outcomes[_key(r)] is None]
    failed = [dict(r, error=outcomes[_key(r)]) for r in plan[DELETE] if outcomes.get(_key(r))]
    untried = [r for r in plan[DELETE] if _key(r) not in outcomes]
    lines = [
        f"deleted {len(deleted)}, kept {len(plan[KEEP])}, failed {len(failed)}"
        + ("" if confirmed else f", would delete {len(untried)} (dry run)")
    ]
    lines += [f"FAILED {r['region']} {r['identifier']}: {r['error']}" for r in failed]
    lines += [f"NOT SCANNED {e['region']}: {e['code'] or 'error'}: {e['message']}" for e in failed_regions]
    return {
        "deleted": [_key(r) for r in deleted],
        "failed": [_key(r) for r in failed],
        "would_delete": [_key(r) for r in untried],
        "kept": {_key(r): r["reason"] for r in plan[KEEP]},
        "failed_regions": [e["region"] for e in failed_regions],
        "lines": lines,
    }


def _key(record):
    return f"{record['region']}/{record['identifier']}"

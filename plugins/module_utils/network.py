# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The private network of an Aurora cluster: VPC, subnets, routing, DB subnet group, security group.

Every ``ensure_*`` takes clients and keyword arguments, returns ``(changed, state)`` and raises
on error; in check mode it returns just before the first call that would change something.
"""

from __future__ import annotations

import time

from ansible_collections.amazon.aws.plugins.module_utils import ec2
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import is_ansible_aws_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications

from ansible_collections.keycloak.aurora.plugins.module_utils import cidr
from ansible_collections.keycloak.aurora.plugins.module_utils import naming
from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError
from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import AuroraErrorHandler
from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import describe_db_cluster
from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import describe_db_subnet_group
from ansible_collections.keycloak.aurora.plugins.module_utils.regions import map_concurrently
from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import deadline
from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import outlast
from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import poll_delay
from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import timed_out_after
from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import wait_patiently

# A new VPC is available within seconds; this only bounds a wait through throttling.
VPC_WAIT_TIMEOUT = 300
# Seconds between two looks for something just created that AWS does not show yet.
NOT_YET_VISIBLE_DELAY = poll_delay(2)

# Both come from the documented aws CLI procedure; kept so adopted and new deployments look alike.
SUBNET_GROUP_DESCRIPTION = "Aurora DB Subnet Group"
SECURITY_GROUP_DESCRIPTION = "Aurora DB Security Group"

# A subnet or VPC just created may not be visible to the next call yet (EC2 is eventually
# consistent); these codes mean "try again", not "gone".
_NOT_YET_VISIBLE = ["InvalidSubnetID.NotFound", "InvalidVpcID.NotFound", "InvalidRouteTableID.NotFound"]


# Subnets created a moment ago may not be known to RDS yet (InvalidSubnet): EC2 is eventually consistent.
@AuroraErrorHandler.common_error_handler("create db subnet group")
@AWSRetry.jittered_backoff(catch_extra_error_codes=["InvalidSubnet"])
def create_db_subnet_group(client, **params):
    return client.create_db_subnet_group(**params)["DBSubnetGroup"]


@AuroraErrorHandler.common_error_handler("modify db subnet group")
@AWSRetry.jittered_backoff(catch_extra_error_codes=["InvalidSubnet"])
def modify_db_subnet_group(client, **params):
    return client.modify_db_subnet_group(**params)["DBSubnetGroup"]


@ec2.EC2VpcRouteTableErrorHandler.common_error_handler("associate route table")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_NOT_YET_VISIBLE)
def associate_route_table(client, route_table_id, subnet_id):
    client.associate_route_table(RouteTableId=route_table_id, SubnetId=subnet_id)


@ec2.EC2VpcErrorHandler.common_error_handler("tag resource")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_NOT_YET_VISIBLE)
def create_tags(client, resource_id, tags):
    client.create_tags(Resources=[resource_id], Tags=ansible_dict_to_boto3_tag_list(tags))


@ec2.EC2VpcErrorHandler.common_error_handler("describe availability zones")
def describe_availability_zones(client, **params):
    return ec2.describe_availability_zones(client, **params)


@ec2.EC2VpcErrorHandler.common_error_handler("describe regions")
def describe_region_names(client):
    """The regions enabled for this account (AllRegions=False leaves out opt-in regions not enabled)."""
    return sorted(region["RegionName"] for region in ec2.describe_regions(client))


def _tags(resource):
    return boto3_tag_list_to_ansible_dict(resource.get("Tags", []))


def tagged_vpcs(client, cluster):
    return ec2.describe_vpcs(client, Filters=[{"Name": f"tag:{naming.CLUSTER_TAG}", "Values": [cluster]}])


def refuse_duplicate_vpcs(vpcs, cluster):
    """Fail, listing them, when more than one of ``vpcs`` (all tagged for ``cluster``) exists."""
    if len(vpcs) > 1:
        found = ", ".join(f"{v['VpcId']} ({v['CidrBlock']})" for v in vpcs)
        raise AuroraError(
            f"{len(vpcs)} VPCs carry the tag {naming.CLUSTER_TAG}={cluster}: {found}. "
            "Delete or re-tag the ones that are not the Aurora cluster's VPC; none was picked."
        )


def find_aurora_vpc(client, cluster):
    """The VPC tagged for ``cluster``, None if there is none; two of them are an error."""
    vpcs = tagged_vpcs(client, cluster)
    refuse_duplicate_vpcs(vpcs, cluster)
    return vpcs[0] if vpcs else None


def taken_cidrs(clients_by_region):
    """The CIDR blocks of every AuroraCluster VPC in the given regions, scanned concurrently."""

    def scan(client):
        vpcs = ec2.describe_vpcs(client, Filters=[{"Name": "tag-key", "Values": [naming.CLUSTER_TAG]}])
        return [assoc["CidrBlock"] for vpc in vpcs for assoc in vpc.get("CidrBlockAssociationSet", [])]

    return sorted({block for blocks in map_concurrently(scan, clients_by_region.values()) for block in blocks})


def desired_tags(cluster, extra_tags, name):
    tags = naming.cluster_tags(cluster, extra_tags)
    tags.setdefault("Name", name)
    return tags


def find_security_group(client, cluster, vpc_id):
    """``<c>-security-group`` in the VPC ``vpc_id``, None if there is none (a VPC has one group of a name)."""
    groups = ec2.describe_security_groups(
        client,
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "group-name", "Values": [naming.security_group_name(cluster)]},
        ],
    )
    return groups[0] if groups else None


def _missing_tags(resource, wanted):
    """Tags to add to an adopted resource: never overwrite a Name someone already gave it."""
    current = _tags(resource)
    return {k: v for k, v in wanted.items() if current.get(k) != v and not (k == "Name" and "Name" in current)}


def _ensure_tags(client, resource_id, resource, wanted, check_mode):
    missing = _missing_tags(resource, wanted)
    if missing and not check_mode:
        create_tags(client, resource_id, missing)
    return bool(missing)


def ensure_vpc(client, *, cluster, vpc, cidr_block, tags, check_mode):
    """Create the Aurora VPC with ``cidr_block`` unless ``vpc`` (found by tag) exists already."""
    wanted = desired_tags(cluster, tags, naming.vpc_name(cluster))
    if vpc:
        return _ensure_tags(client, vpc["VpcId"], vpc, wanted, check_mode), vpc
    if check_mode:
        return True, {"VpcId": None, "CidrBlock": cidr_block, "Tags": ansible_dict_to_boto3_tag_list(wanted)}
    created = ec2.create_vpc(client, CidrBlock=cidr_block, TagSpecifications=boto3_tag_specifications(wanted, ["vpc"]))
    wait_patiently(
        client,
        "vpc_available",
        what=f"VPC {created['VpcId']} to be available",
        remaining=VPC_WAIT_TIMEOUT,
        delay=NOT_YET_VISIBLE_DELAY,
        retry_codes=["InvalidVpcID.NotFound"],
        VpcIds=[created["VpcId"]],
    )
    _give_way_to_a_concurrent_run(client, cluster, created["VpcId"])
    return True, created


def _give_way_to_a_concurrent_run(client, cluster, created_vpc_id):
    """Stop when another run created a VPC for ``cluster`` too, after removing the one this run just made.

    Of two runs that both found no VPC, the later creator always sees the earlier one's VPC: at most
    one run goes on (both stop when each sees the other), so a rerun adopts or creates exactly one.
    """
    others = sorted(v["VpcId"] for v in tagged_vpcs(client, cluster) if v["VpcId"] != created_vpc_id)
    if others:
        # Just created, still empty: nothing but the VPC itself to remove.
        ec2.delete_vpc(client, created_vpc_id)
        raise AuroraError(
            f"another run created the Aurora VPC of {cluster} at the same time ({', '.join(others)}); this run "
            f"removed the VPC {created_vpc_id} it had just made and stopped. Run again to go on with one VPC."
        )


def ensure_subnets(client, *, cluster, vpc, zone_count, tags, check_mode):
    """One subnet per availability zone, ``zone_count`` zones, adopting those already there.

    Returns ``(changed, existing, new)``: the subnets found, and those created (in check mode,
    planned, without an ID).
    """
    existing = (
        ec2.describe_subnets(client, Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]) if vpc["VpcId"] else []
    )
    available = describe_zone_names(client)
    by_zone = {}
    for subnet in existing:
        by_zone.setdefault(subnet["AvailabilityZone"], []).append(subnet["CidrBlock"])
    try:
        zones = cidr.choose_zones(available, zone_count, used=by_zone)
        plan = cidr.plan_subnets(vpc["CidrBlock"], zones, by_zone)
    except cidr.CidrError as e:
        raise AuroraError(str(e)) from e

    changed = False
    for subnet in existing:
        wanted = desired_tags(cluster, tags, f"{cluster}-{subnet['AvailabilityZone']}")
        changed |= _ensure_tags(client, subnet["SubnetId"], subnet, wanted, check_mode)
    if not plan or check_mode:
        planned = [{"SubnetId": None, "AvailabilityZone": z, "CidrBlock": c} for z, c in plan.items()]
        return changed or bool(plan), existing, planned

    created = [
        ec2.create_subnet(
            client,
            VpcId=vpc["VpcId"],
            AvailabilityZone=zone,
            CidrBlock=block,
            TagSpecifications=boto3_tag_specifications(desired_tags(cluster, tags, f"{cluster}-{zone}"), ["subnet"]),
        )
        for zone, block in plan.items()
    ]
    return True, existing, created


def describe_zone_names(client):
    """Zones of the region that can take a subnet now: available, no opt-in, no Local Zones."""
    zones = describe_availability_zones(
        client,
        Filters=[
            {"Name": "state", "Values": ["available"]},
            {"Name": "opt-in-status", "Values": ["opt-in-not-required"]},
            {"Name": "zone-type", "Values": ["availability-zone"]},
        ],
    )
    return sorted(zone["ZoneName"] for zone in zones)


def ensure_main_route_table(client, *, vpc, subnets, check_mode):
    """Associate every subnet without an explicit association with the VPC's main route table."""
    if not vpc["VpcId"]:
        return bool(subnets), None
    tables, main = _route_tables_with_main(client, vpc["VpcId"])
    associated = {a["SubnetId"] for t in tables for a in t.get("Associations", []) if a.get("SubnetId")}
    unassociated = [s["SubnetId"] for s in subnets if s["SubnetId"] not in associated]
    if unassociated and not check_mode:
        for subnet_id in unassociated:
            if subnet_id:
                associate_route_table(client, main["RouteTableId"], subnet_id)
    return bool(unassociated), main["RouteTableId"]


def _route_tables_with_main(client, vpc_id, *, sleep=time.sleep, clock=time.monotonic):
    """The route tables of the VPC and its main one. Right after CreateVpc, AWS may list neither for a
    moment (eventual consistency): look again for a while before calling it missing."""
    time_left = deadline(VPC_WAIT_TIMEOUT, clock)
    while True:
        tables = ec2.describe_route_tables(client, Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
        main = next((t for t in tables if any(a.get("Main") for a in t.get("Associations", []))), None)
        if main is not None:
            return tables, main
        if time_left() <= 0:
            raise AuroraError(f"the VPC {vpc_id} has no main route table")
        sleep(min(NOT_YET_VISIBLE_DELAY, time_left()))


def ensure_subnet_group(client, *, cluster, vpc, subnets, tags, check_mode):
    """``<c>-subnet-group`` over every subnet of the Aurora VPC; subnets are added, never removed.

    Returns ``(changed, name, created)``.
    """
    name = naming.subnet_group_name(cluster)
    group = describe_db_subnet_group(client, name)
    subnet_ids = sorted(s["SubnetId"] for s in subnets if s["SubnetId"])
    if group is None:
        if check_mode:
            return True, name, True
        create_db_subnet_group(
            client,
            DBSubnetGroupName=name,
            DBSubnetGroupDescription=SUBNET_GROUP_DESCRIPTION,
            SubnetIds=subnet_ids,
            Tags=ansible_dict_to_boto3_tag_list(naming.cluster_tags(cluster, tags)),
        )
        return True, name, True
    if vpc["VpcId"] and group["VpcId"] != vpc["VpcId"]:
        raise AuroraError(
            f"the DB subnet group {name} belongs to {group['VpcId']}, not to the Aurora VPC {vpc['VpcId']}"
        )
    current = {s["SubnetIdentifier"] for s in group["Subnets"]}
    missing = [s for s in subnets if s["SubnetId"] not in current]
    if not missing:
        return False, name, False
    if not check_mode:
        modify_db_subnet_group(
            client,
            DBSubnetGroupName=name,
            DBSubnetGroupDescription=group.get("DBSubnetGroupDescription") or SUBNET_GROUP_DESCRIPTION,
            SubnetIds=sorted(current | set(subnet_ids)),
        )
    return True, name, False


def ensure_security_group(client, *, cluster, vpc, tags, check_mode):
    """``<c>-security-group`` in the Aurora VPC, made without ingress: peering adds it per ROSA cluster.

    Returns ``(changed, group ID or None in check mode, created)``.
    """
    name = naming.security_group_name(cluster)
    wanted = desired_tags(cluster, tags, name)
    group = find_security_group(client, cluster, vpc["VpcId"]) if vpc["VpcId"] else None
    if group:
        return _ensure_tags(client, group["GroupId"], group, wanted, check_mode), group["GroupId"], False
    if check_mode:
        return True, None, True
    created = ec2.create_security_group(
        client,
        GroupName=name,
        Description=SECURITY_GROUP_DESCRIPTION,
        VpcId=vpc["VpcId"],
        TagSpecifications=boto3_tag_specifications(wanted, ["security-group"]),
    )
    return True, created["GroupId"], True


def network_plan(*, vpc_created, new_subnets, subnet_group_created, security_group_created, network):
    """What a run creates (in check mode, would create) of the ``network`` it returns."""
    return {
        "create_vpc": vpc_created,
        "vpc_id": network["vpc_id"],
        "cidr_block": network["cidr_block"],
        "create_subnets": [
            {"availability_zone": s["AvailabilityZone"], "cidr_block": s["CidrBlock"]}
            for s in sorted(new_subnets, key=lambda s: s["AvailabilityZone"])
        ],
        "create_db_subnet_group": subnet_group_created,
        "db_subnet_group_name": network["db_subnet_group_name"],
        "create_security_group": security_group_created,
        "security_group_name": network["security_group_name"],
    }


def network_before(plan, after):
    """The network as it was before a run that left (or in check mode would leave) ``after``, for diff mode."""
    if plan["create_vpc"]:
        return {}
    created = set((s["availability_zone"], s["cidr_block"]) for s in plan["create_subnets"])
    before = dict(after)
    before["subnets"] = [s for s in after["subnets"] if (s["availability_zone"], s["cidr_block"]) not in created]
    if plan["create_db_subnet_group"]:
        before["db_subnet_group_name"] = None
    if plan["create_security_group"]:
        before["security_group_id"] = None
        before["security_group_name"] = None
    return before


def describe_network(ec2_client, cluster):
    """The existing network of ``cluster`` as aurora_network returns it, or None without a VPC."""
    vpc = find_aurora_vpc(ec2_client, cluster)
    if vpc is None:
        return None
    tables = ec2.describe_route_tables(
        ec2_client,
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "association.main", "Values": ["true"]}],
    )
    group = find_security_group(ec2_client, cluster, vpc["VpcId"])
    return {
        "vpc_id": vpc["VpcId"],
        "cidr_block": vpc["CidrBlock"],
        "main_route_table_id": tables[0]["RouteTableId"] if tables else None,
        "security_group_id": group["GroupId"] if group else None,
        "security_group_name": naming.security_group_name(cluster),
    }


# Deleting --------------------------------------------------------------------------------------

# While its DB cluster exists (also while it is being deleted) RDS refuses to delete the subnet group.
SUBNET_GROUP_IN_USE = "InvalidDBSubnetGroupStateFault"
# A subnet or security group with a network interface in it, a VPC with anything left in it. The
# requester-managed interfaces of deleted DB instances linger for minutes (up to about 20) after
# their instances are gone, and cannot be deleted by hand.
DEPENDENCY_VIOLATION = "DependencyViolation"
RDS_REQUESTER_ID = "amazon-rds"
DELETE_RETRY_DELAY = poll_delay(10)


@AuroraErrorHandler.deletion_error_handler("delete db subnet group")
@AWSRetry.jittered_backoff()
def delete_db_subnet_group(client, name):
    client.delete_db_subnet_group(DBSubnetGroupName=name)
    return True


def subnet_group_in_use_message(name, cluster, cluster_status, budget):
    """Why the DB subnet group ``name`` outlasted the run: the DB cluster still there, and in which state."""
    user = (
        f"the DB cluster {cluster} still uses it (it is {cluster_status}); it goes once the cluster is gone"
        if cluster_status
        else "a DB cluster or instance still uses it"
    )
    return (
        f"{timed_out_after(budget=budget)} waiting to delete DB subnet group {name}: {user}. Run the delete again later"
    )


def lingering_message(cluster, in_use, interfaces, budget):
    """Why the network of ``cluster`` outlasted the run.

    ``in_use`` names what could not be deleted; ``interfaces`` are DescribeNetworkInterfaces' answer for
    the VPC. Those RDS manages (RequesterId amazon-rds) belonged to deleted DB instances: only AWS removes
    them, so only waiting helps. Others belong to something the user made, which must go first.
    """
    rds = [i for i in interfaces if i.get("RequesterId") == RDS_REQUESTER_ID]
    others = [i for i in interfaces if i.get("RequesterId") != RDS_REQUESTER_ID]

    def names(found):
        return ", ".join(f"{i['NetworkInterfaceId']} (in {i.get('SubnetId')})" for i in found)

    message = (
        f"{timed_out_after(budget=budget)} deleting the network of the Aurora cluster {cluster}: "
        f"{', '.join(in_use)} still in use."
    )
    if rds:
        message += (
            f" The network interfaces of deleted DB instances are still there: {names(rds)}. AWS releases them on "
            "its own, up to about 20 minutes after their instances are gone, and they cannot be deleted by hand: "
            "only waiting helps. Run the delete again later."
        )
    if others:
        message += (
            f" Other network interfaces are in the VPC: {names(others)}. Delete what they belong to, then delete again."
        )
    if not interfaces:
        message += " Run the delete again later."
    return message


def _delete_subnet_group(rds_client, cluster, name, *, budget, time_left, delay, sleep):
    def timed_out(_error):
        found = describe_db_cluster(rds_client, cluster)
        status = found.get("Status", "unknown") if found else None
        return AuroraError(subnet_group_in_use_message(name, cluster, status, budget))

    outlast(
        lambda: delete_db_subnet_group(rds_client, name),
        codes=[SUBNET_GROUP_IN_USE],
        time_left=time_left,
        delay=delay,
        sleep=sleep,
        timed_out=timed_out,
    )


def _delete_vpc_contents(ec2_client, cluster, vpc_id, deletes, *, budget, time_left, delay, sleep):
    """Delete the security groups and subnets in ``deletes`` ({id: call}), each as soon as AWS lets it go.

    Each round tries every one still there: one held by a lingering interface does not hold up the others.
    """
    pending = dict(deletes)
    while True:
        for resource_id, delete in list(pending.items()):
            try:
                delete()
            except is_ansible_aws_error_code(DEPENDENCY_VIOLATION):
                continue
            del pending[resource_id]
        if not pending:
            return
        left = time_left()
        if left <= 0:
            interfaces = ec2.describe_network_interfaces(ec2_client, Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
            raise AuroraError(lingering_message(cluster, sorted(pending), interfaces, budget))
        sleep(min(delay, left))


def ensure_network_absent(
    ec2_client,
    rds_client,
    *,
    cluster,
    check_mode,
    wait_timeout,
    run_started=None,
    delay=DELETE_RETRY_DELAY,
    sleep=time.sleep,
    clock=time.monotonic,
):
    """Delete the subnet group, the security group, the subnets and the VPC of ``cluster``.

    ``wait_timeout`` is the run's one budget for every step. Each step waits only for what it depends on:
    the subnet group for the DB cluster to be gone, the security group and the subnets for the
    network interfaces in them to be gone, the VPC for them.

    Returns ``(changed, removed)``; ``removed`` names what was (in check mode: would be) deleted.
    """
    waiting = dict(budget=wait_timeout, time_left=deadline(wait_timeout, clock, run_started), delay=delay, sleep=sleep)
    removed = {"db_subnet_group_name": None, "security_group_ids": [], "subnet_ids": [], "vpc_id": None}
    name = naming.subnet_group_name(cluster)
    if describe_db_subnet_group(rds_client, name):
        removed["db_subnet_group_name"] = name
        if not check_mode:
            _delete_subnet_group(rds_client, cluster, name, **waiting)
    vpc = find_aurora_vpc(ec2_client, cluster)
    if vpc:
        vpc_id = vpc["VpcId"]
        group = find_security_group(ec2_client, cluster, vpc_id)
        removed["security_group_ids"] = [group["GroupId"]] if group else []
        vpc_filter = {"Name": "vpc-id", "Values": [vpc_id]}
        removed["subnet_ids"] = sorted(
            s["SubnetId"] for s in ec2.describe_subnets(ec2_client, Filters=[vpc_filter]) if s["VpcId"] == vpc_id
        )
        removed["vpc_id"] = vpc_id
        if not check_mode:
            deletes = {g: (lambda g=g: ec2.delete_security_group(ec2_client, g)) for g in removed["security_group_ids"]}
            deletes.update({s: (lambda s=s: ec2.delete_subnet(ec2_client, s)) for s in removed["subnet_ids"]})
            _delete_vpc_contents(ec2_client, cluster, vpc_id, deletes, **waiting)
            _delete_vpc_contents(
                ec2_client, cluster, vpc_id, {vpc_id: lambda: ec2.delete_vpc(ec2_client, vpc_id)}, **waiting
            )
    changed = any(bool(v) for v in removed.values())
    return changed, removed

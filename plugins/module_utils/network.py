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
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import is_ansible_aws_error_code
from ansible_collections.amazon.aws.plugins.module_utils.rds import AnsibleRDSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications

from ansible_collections.keycloak.aurora.plugins.module_utils import cidr
from ansible_collections.keycloak.aurora.plugins.module_utils import naming
from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError
from ansible_collections.keycloak.aurora.plugins.module_utils.regions import map_concurrently
from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import wait_patiently

# A new VPC is available within seconds; this only bounds a wait through throttling.
VPC_WAIT_TIMEOUT = 300

# Both come from the documented aws CLI procedure; kept so adopted and new deployments look alike.
SUBNET_GROUP_DESCRIPTION = "Aurora DB Subnet Group"
SECURITY_GROUP_DESCRIPTION = "Aurora DB Security Group"

# A subnet or VPC just created may not be visible to the next call yet (EC2 is eventually
# consistent); these codes mean "try again", not "gone".
_NOT_YET_VISIBLE = ["InvalidSubnetID.NotFound", "InvalidVpcID.NotFound", "InvalidRouteTableID.NotFound"]


class SubnetGroupErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleRDSError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("DBSubnetGroupNotFoundFault")


@SubnetGroupErrorHandler.list_error_handler("describe db subnet group")
@AWSRetry.jittered_backoff()
def describe_db_subnet_group(client, name):
    return client.describe_db_subnet_groups(DBSubnetGroupName=name)["DBSubnetGroups"][0]


@SubnetGroupErrorHandler.common_error_handler("create db subnet group")
@AWSRetry.jittered_backoff()
def create_db_subnet_group(client, **params):
    return client.create_db_subnet_group(**params)["DBSubnetGroup"]


@SubnetGroupErrorHandler.common_error_handler("modify db subnet group")
@AWSRetry.jittered_backoff()
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
        timeout=VPC_WAIT_TIMEOUT,
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
    tables = ec2.describe_route_tables(client, Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    main = next((t for t in tables if any(a.get("Main") for a in t.get("Associations", []))), None)
    if main is None:
        raise AuroraError(f"the VPC {vpc['VpcId']} has no main route table")
    associated = {a["SubnetId"] for t in tables for a in t.get("Associations", []) if a.get("SubnetId")}
    unassociated = [s["SubnetId"] for s in subnets if s["SubnetId"] not in associated]
    if unassociated and not check_mode:
        for subnet_id in unassociated:
            if subnet_id:
                associate_route_table(client, main["RouteTableId"], subnet_id)
    return bool(unassociated), main["RouteTableId"]


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
    groups = []
    if vpc["VpcId"]:
        groups = ec2.describe_security_groups(
            client,
            Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "group-name", "Values": [name]}],
        )
    if groups:
        group = groups[0]
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
    vpc_filter = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
    tables = ec2.describe_route_tables(
        ec2_client, Filters=vpc_filter + [{"Name": "association.main", "Values": ["true"]}]
    )
    groups = ec2.describe_security_groups(
        ec2_client, Filters=vpc_filter + [{"Name": "group-name", "Values": [naming.security_group_name(cluster)]}]
    )
    return {
        "vpc_id": vpc["VpcId"],
        "cidr_block": vpc["CidrBlock"],
        "main_route_table_id": tables[0]["RouteTableId"] if tables else None,
        "security_group_id": groups[0]["GroupId"] if groups else None,
        "security_group_name": naming.security_group_name(cluster),
    }


# Deleting --------------------------------------------------------------------------------------

# AWS keeps reporting dependencies for a while after what depended on them was deleted (the
# network interfaces of deleted DB instances linger for minutes).
_STILL_IN_USE = ["DependencyViolation", "InvalidDBSubnetGroupStateFault"]
DELETE_RETRY_DELAY = 10


@SubnetGroupErrorHandler.deletion_error_handler("delete db subnet group")
@AWSRetry.jittered_backoff()
def delete_db_subnet_group(client, name):
    client.delete_db_subnet_group(DBSubnetGroupName=name)
    return True


def delete_while_in_use(delete, *, what, timeout, delay=DELETE_RETRY_DELAY, sleep=time.sleep, clock=time.monotonic):
    """Call ``delete`` until AWS stops saying something still uses ``what``; giving up is an error."""
    end = clock() + timeout
    while True:
        try:
            return delete()
        except is_ansible_aws_error_code(_STILL_IN_USE) as e:
            if clock() >= end:
                raise AuroraError(
                    f"{what} could not be deleted within {timeout}s because something still uses it "
                    f"({e.exception}). Remove what is left in it, then delete again."
                ) from e
            sleep(min(delay, max(0, end - clock())))


def ensure_network_absent(ec2_client, rds_client, *, cluster, check_mode, timeout, **retry):
    """Delete the subnet group, the security group, the subnets and the VPC of ``cluster``.

    Returns ``(changed, removed)``; ``removed`` names what was (in check mode: would be) deleted.
    """
    removed = {"db_subnet_group_name": None, "security_group_ids": [], "subnet_ids": [], "vpc_id": None}
    name = naming.subnet_group_name(cluster)
    if describe_db_subnet_group(rds_client, name):
        removed["db_subnet_group_name"] = name
        if not check_mode:
            delete_while_in_use(
                lambda: delete_db_subnet_group(rds_client, name),
                what=f"DB subnet group {name}",
                timeout=timeout,
                **retry,
            )
    vpc = find_aurora_vpc(ec2_client, cluster)
    if vpc:
        vpc_id = vpc["VpcId"]
        vpc_filter = {"Name": "vpc-id", "Values": [vpc_id]}
        groups = ec2.describe_security_groups(
            ec2_client, Filters=[vpc_filter, {"Name": "group-name", "Values": [naming.security_group_name(cluster)]}]
        )
        removed["security_group_ids"] = sorted(
            g["GroupId"]
            for g in groups
            if g["VpcId"] == vpc_id and g["GroupName"] == naming.security_group_name(cluster)
        )
        removed["subnet_ids"] = sorted(
            s["SubnetId"] for s in ec2.describe_subnets(ec2_client, Filters=[vpc_filter]) if s["VpcId"] == vpc_id
        )
        removed["vpc_id"] = vpc_id
        if not check_mode:
            for group_id in removed["security_group_ids"]:
                delete_while_in_use(
                    lambda g=group_id: ec2.delete_security_group(ec2_client, g),
                    what=f"security group {group_id}",
                    timeout=timeout,
                    **retry,
                )
            for subnet_id in removed["subnet_ids"]:
                delete_while_in_use(
                    lambda s=subnet_id: ec2.delete_subnet(ec2_client, s),
                    what=f"subnet {subnet_id}",
                    timeout=timeout,
                    **retry,
                )
            delete_while_in_use(
                lambda: ec2.delete_vpc(ec2_client, vpc_id), what=f"VPC {vpc_id}", timeout=timeout, **retry
            )
    changed = any(bool(v) for v in removed.values())
    return changed, removed

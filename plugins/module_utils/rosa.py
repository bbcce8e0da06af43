# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Finding a ROSA cluster's network from EC2: its VPC, machine CIDR and worker route tables.

The pure functions (filters, choosing the VPC, resolving route tables) need no boto3;
``discover`` takes an EC2 client and sends at most three read requests: the instances (or, with
a ``vpc_id``, the VPC's subnets), the VPC, and its route tables.
"""

from __future__ import annotations

import re
from collections import Counter

from ansible_collections.amazon.aws.plugins.module_utils import ec2

from ansible_collections.keycloak.aurora.plugins.module_utils import cidr
from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError

# ROSA (classic and HCP) tags every node it launches with the cluster's name.
NAME_TAG = "api.openshift.com/name"
# A stopped worker is still the cluster's and still in its subnet; terminated ones are not.
LIVE_STATES = ("pending", "running", "stopping", "stopped")
# Route table associations in these states route the subnet (or are about to).
_ACTIVE_ASSOCIATION_STATES = ("associated", "associating")
_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")

# The inputs as messages name them: the collection's variables, which are also the options of
# aurora_peering. A caller whose users know other names (rosa_vpc_facts's options) passes its own.
VARIABLES = {
    "cluster_name": "rosa_cluster_name",
    "vpc_id": "rosa_vpc_id",
    "machine_cidr": "rosa_machine_cidr",
    "node_names": "rosa_node_names",
    "region": "rosa_region",
}

DISCOVERED_BY_VPC_ID = "vpc_id"
DISCOVERED_BY_NODE_NAMES = "node_names"
DISCOVERED_BY_TAGS = "tags"


def clean_node_names(node_names):
    """The node names without blanks and duplicates, sorted, so the filter does not depend on input order."""
    return sorted({name.strip() for name in node_names or [] if name and name.strip()})


def option_errors(*, cluster_name, vpc_id=None, machine_cidr=None, labels=None):
    """What is wrong with the options, one message per option naming it as ``labels`` says; empty when all is well."""
    labels = labels or VARIABLES
    errors = []
    if not (cluster_name or "").strip():
        errors.append(f"{labels['cluster_name']} must be the ROSA cluster name, not empty")
    if vpc_id and not _VPC_ID.match(vpc_id):
        errors.append(f"{labels['vpc_id']} must be a VPC ID such as vpc-0123456789abcdef0, not '{vpc_id}'")
    if machine_cidr:
        try:
            cidr.parse_network(machine_cidr)
        except cidr.CidrError as e:
            errors.append(f"{labels['machine_cidr']} {e}")
    return errors


def instance_filters(*, cluster_name, node_names=None):
    """describe_instances filters: the nodes by private DNS name when named, else by the ROSA name tag."""
    states = {"Name": "instance-state-name", "Values": list(LIVE_STATES)}
    names = clean_node_names(node_names)
    if names:
        return [{"Name": "private-dns-name", "Values": names}, states]
    return [{"Name": f"tag:{NAME_TAG}", "Values": [cluster_name]}, states]


def vpc_filters(vpc_id):
    return [{"Name": "vpc-id", "Values": [vpc_id]}]


def search_description(*, cluster_name, region, node_names=None):
    """What the instance search looked for, for error messages."""
    names = clean_node_names(node_names)
    if names:
        return f"instances with the private DNS names {', '.join(names)} in region {region}"
    return f"instances tagged {NAME_TAG}={cluster_name} in region {region}"


def instances_of(reservations):
    return [instance for reservation in reservations for instance in reservation.get("Instances", [])]


def choose_vpc(instances, searched, labels=None):
    """The one VPC holding all ``instances``; raise, listing the VPCs seen, when there is none or several."""
    labels = labels or VARIABLES
    counts = Counter(instance["VpcId"] for instance in instances if instance.get("VpcId"))
    if not counts:
        raise AuroraError(
            f"no EC2 instance found: searched {searched} (states {', '.join(LIVE_STATES)}). "
            f"Check {labels['cluster_name']}, {labels['node_names']} and {labels['region']}, or set {labels['vpc_id']}."
        )
    if len(counts) > 1:
        seen = ", ".join(
            f"{vpc_id} ({count} instance{'' if count == 1 else 's'})" for vpc_id, count in sorted(counts.items())
        )
        raise AuroraError(
            f"the {searched} are in {len(counts)} VPCs: {seen}. "
            f"A ROSA cluster lives in one VPC; set {labels['vpc_id']} to choose it (none was picked)."
        )
    return next(iter(counts))


def route_tables_for_subnets(route_tables, subnet_ids, vpc_id):
    """The sorted, unique IDs of the route tables routing ``subnet_ids``.

    A subnet is routed by the table explicitly associated with it, else by the VPC's main route
    table. ``route_tables`` is one describe_route_tables result; tables of other VPCs are ignored.
    """
    tables = [t for t in route_tables if t.get("VpcId", vpc_id) == vpc_id]
    explicit, main = {}, None
    for table in tables:
        for association in table.get("Associations", []):
            state = association.get("AssociationState", {}).get("State", "associated")
            if state not in _ACTIVE_ASSOCIATION_STATES:
                continue
            if association.get("Main"):
                main = table["RouteTableId"]
            elif association.get("SubnetId"):
                explicit[association["SubnetId"]] = table["RouteTableId"]
    result = set()
    for subnet_id in subnet_ids:
        table_id = explicit.get(subnet_id, main)
        if table_id is None:
            raise AuroraError(
                f"the subnet {subnet_id} has no route table association and the VPC {vpc_id} has no main route table"
            )
        result.add(table_id)
    return sorted(result)


def _within_vpc(machine_cidr, vpc):
    blocks = [a["CidrBlock"] for a in vpc.get("CidrBlockAssociationSet", []) if a.get("CidrBlock")]
    return any(cidr.overlaps(machine_cidr, block) for block in blocks or [vpc["CidrBlock"]])


def describe_vpc(client, vpc_id):
    """The VPC ``vpc_id``, or None when it does not exist (in this region)."""
    vpcs = ec2.describe_vpcs(client, VpcIds=[vpc_id])
    return vpcs[0] if vpcs else None


def discover(client, *, region, cluster_name, vpc_id=None, machine_cidr=None, node_names=None, labels=None):
    """The network of the ROSA cluster, as ``(facts, warnings)``; raises AuroraError when it cannot tell.

    The VPC is ``vpc_id`` if given, else the one of the instances named by ``node_names``, else the
    one of the instances tagged with ``cluster_name``. The worker subnets are those of the instances
    found, or every subnet of the VPC when only ``vpc_id`` says where the cluster is. Messages name
    the inputs as ``labels`` says.
    """
    labels = labels or VARIABLES
    warnings = []
    names = clean_node_names(node_names)
    if vpc_id:
        discovered_by = DISCOVERED_BY_VPC_ID
        vpc = describe_vpc(client, vpc_id)
        if vpc is None:
            raise AuroraError(f"{labels['vpc_id']} {vpc_id} does not exist in region {region}")
        subnet_ids = sorted(s["SubnetId"] for s in ec2.describe_subnets(client, Filters=vpc_filters(vpc_id)))
    else:
        discovered_by = DISCOVERED_BY_NODE_NAMES if names else DISCOVERED_BY_TAGS
        filters = instance_filters(cluster_name=cluster_name, node_names=names)
        instances = instances_of(ec2.describe_instances(client, Filters=filters))
        searched = search_description(cluster_name=cluster_name, region=region, node_names=names)
        vpc_id = choose_vpc(instances, searched, labels)
        subnet_ids = sorted({i["SubnetId"] for i in instances if i.get("SubnetId")})
        unmatched = sorted(set(names) - {i.get("PrivateDnsName") for i in instances})
        if unmatched:
            warnings.append(f"no instance in region {region} has the private DNS name {', '.join(unmatched)}")
        vpc = describe_vpc(client, vpc_id)
        if vpc is None:  # the instances were just found in it: EC2's eventual consistency, or a race with a delete
            raise AuroraError(f"the VPC {vpc_id} of the {searched} does not exist")

    if machine_cidr and not _within_vpc(machine_cidr, vpc):
        warnings.append(f"{labels['machine_cidr']} {machine_cidr} overlaps none of the CIDR blocks of the VPC {vpc_id}")
    route_tables = ec2.describe_route_tables(client, Filters=vpc_filters(vpc_id))
    facts = network_facts(
        cluster_name=cluster_name,
        region=region,
        vpc=vpc,
        machine_cidr=machine_cidr,
        subnet_ids=subnet_ids,
        route_tables=route_tables,
        discovered_by=discovered_by,
    )
    return facts, warnings


def network_facts(*, cluster_name, region, vpc, machine_cidr, subnet_ids, route_tables, discovered_by):
    """The fact rosa_vpc: the ROSA cluster's VPC, machine CIDR (the VPC's primary CIDR unless given) and the
    route tables serving the worker subnets ``subnet_ids`` among ``route_tables``."""
    return {
        "cluster_name": cluster_name,
        "region": region,
        "vpc_id": vpc["VpcId"],
        "vpc_cidr": vpc["CidrBlock"],
        "machine_cidr": machine_cidr or vpc["CidrBlock"],
        "owner_id": vpc.get("OwnerId"),
        "subnet_ids": subnet_ids,
        "route_table_ids": route_tables_for_subnets(route_tables, subnet_ids, vpc["VpcId"]),
        "discovered_by": discovered_by,
    }


# Every ROSA node (classic and HCP) carries NAME_TAG and this tag: what finds all ROSA clusters of a region.
TYPE_TAG = "red-hat-clustertype"
TYPE_ROSA = "rosa"


def estate_filters():
    """describe_instances filters for the nodes of every ROSA cluster of a region, whatever its name."""
    return [
        {"Name": "tag-key", "Values": [NAME_TAG]},
        {"Name": f"tag:{TYPE_TAG}", "Values": [TYPE_ROSA]},
        {"Name": "instance-state-name", "Values": list(LIVE_STATES)},
    ]


def tags_of(instance):
    return {tag["Key"]: tag["Value"] for tag in instance.get("Tags", [])}


def nodes_by_cluster(instances):
    """{cluster name: its instances}, by each instance's NAME_TAG; instances without a name are left out."""
    clusters = {}
    for instance in instances:
        name = tags_of(instance).get(NAME_TAG, "").strip()
        if name:
            clusters.setdefault(name, []).append(instance)
    return clusters


def common_tags(instances):
    """The tags every one of ``instances`` carries with the same value: the cluster's tags, not one node's (Name)."""
    tag_sets = [set(tags_of(instance).items()) for instance in instances]
    return dict(sorted(set.intersection(*tag_sets))) if tag_sets else {}


def estate_network(*, cluster_name, region, instances, vpcs, route_tables):
    """The network of one ROSA cluster among the nodes of a whole region, as ``discover``'s facts (found by tags).

    ``instances``: the cluster's nodes; ``vpcs``: {vpc id: VPC} and ``route_tables``: the route tables, both
    described once for every cluster of the region. Raises AuroraError as ``discover`` does.
    """
    searched = search_description(cluster_name=cluster_name, region=region)
    vpc_id = choose_vpc(instances, searched)
    vpc = vpcs.get(vpc_id)
    if vpc is None:  # the instances were just found in it: EC2's eventual consistency, or a race with a delete
        raise AuroraError(f"the VPC {vpc_id} of the {searched} does not exist")
    return network_facts(
        cluster_name=cluster_name,
        region=region,
        vpc=vpc,
        machine_cidr="",
        subnet_ids=sorted({i["SubnetId"] for i in instances if i.get("SubnetId")}),
        route_tables=route_tables,
        discovered_by=DISCOVERED_BY_TAGS,
    )

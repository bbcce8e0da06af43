#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aurora_network
version_added: 1.0.0
short_description: The private network of an Aurora cluster for Keycloak
description:
  - Creates, or adopts, the VPC tagged C(AuroraCluster=<cluster>), one subnet per availability zone
    associated with the VPC's main route table, the DB subnet group C(<cluster>-subnet-group) and the
    security group C(<cluster>-security-group).
  - The names and tags are those of the keycloak-benchmark scripts and of the documented aws CLI
    procedure, so deployments made by either are adopted as they are.
  - Without O(vpc_cidr), a new VPC gets the first free /24 of O(cidr_pool) that overlaps no VPC tagged
    C(AuroraCluster) in any enabled region and none of O(avoid_cidrs). The regions are scanned only when
    a new VPC must be created, and concurrently. An existing VPC is always reused, never re-allocated.
  - Fails, and changes nothing, when two VPCs carry the same C(AuroraCluster) tag.
  - With O(state=absent), deletes the DB subnet group, the security group, the subnets and the VPC,
    each as soon as AWS lets it go - the subnet group once the DB cluster is gone, the security group
    and the subnets once the network interfaces in them are gone (those of deleted DB instances linger
    for minutes, up to about 20) - all within one O(wait_timeout). When that passes, the error names
    what is still in use and the network interfaces holding it, with their subnets. Delete the Aurora
    cluster and the peering connections first.
author:
  - keycloak.aurora maintainers (!UNKNOWN)
options:
  cluster:
    description:
      - The Aurora DB cluster identifier; the stem of every name.
    type: str
    required: true
  state:
    description:
      - Whether the network should exist.
    type: str
    choices: [present, absent]
    default: present
  wait_timeout:
    description:
      - With O(state=absent), how many seconds the whole run may wait, in all, for AWS to let go of
        the resources it still reports in use. One budget for the run, not one per resource.
    type: int
    default: 900
  vpc_cidr:
    description:
      - The CIDR block of a new Aurora VPC, a private range between /16 and /28.
      - An existing Aurora VPC with another CIDR block is refused, never changed.
    type: str
  cidr_pool:
    description:
      - Where the /24 of a new Aurora VPC is allocated from when O(vpc_cidr) is not set.
    type: str
    default: 192.168.0.0/16
  avoid_cidrs:
    description:
      - CIDR blocks a new Aurora VPC must not overlap, such as the machine CIDRs of the ROSA clusters
        that will be peered with it. An explicit O(vpc_cidr) of a new VPC that overlaps one is refused.
    type: list
    elements: str
    default: []
  availability_zones:
    description:
      - How many availability zones get a subnet; an RDS DB subnet group needs at least two.
      - Zones come from the region, sorted by name; zones that already hold a subnet count first.
    type: int
    default: 3
  tags:
    description:
      - Extra tags for everything created. C(AuroraCluster) is always set to O(cluster).
      - Tags are added to adopted resources, never removed from them.
    type: dict
    default: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - keycloak.aurora.run_deadline
attributes:
  check_mode:
    support: full
    description: Reports what would be created; sends no request that changes anything.
  diff_mode:
    support: full
    description: With O(state=present), returns the network before and after (predicted in check mode).
"""

EXAMPLES = r"""
- name: Create the network of the Aurora cluster keycloak-aurora, allocating its CIDR
  keycloak.aurora.aurora_network:
    cluster: keycloak-aurora
    region: eu-west-1
    avoid_cidrs:
      - 10.0.0.0/16
  register: aurora_network

- name: Delete the network of keycloak-aurora, after its cluster and peerings
  keycloak.aurora.aurora_network:
    cluster: keycloak-aurora
    region: eu-west-1
    state: absent

- name: Create the network with the CIDR of the documented procedure, in two zones
  keycloak.aurora.aurora_network:
    cluster: keycloak-aurora
    region: eu-west-1
    vpc_cidr: 192.168.0.0/16
    availability_zones: 2
"""

RETURN = r"""
removed:
  description: What O(state=absent) deleted, or in check mode would delete.
  returned: when O(state=absent)
  type: dict
  sample: {"db_subnet_group_name": "keycloak-aurora-subnet-group", "security_group_ids": ["sg-0d8b5a5ea5a5a5a5a"],
           "subnet_ids": ["subnet-0d491a1a798aa878d", "subnet-057181b1e3728530e"], "vpc_id": "vpc-0b40bd7c59dbe4277"}
plan:
  description: What the run created, or in check mode would create, with O(state=present).
  returned: when O(state=present)
  type: dict
  contains:
    create_vpc:
      description: Whether the Aurora VPC is created.
      returned: always
      type: bool
      sample: true
    vpc_id:
      description: The ID of the Aurora VPC; null in check mode when it would be created.
      returned: always
      type: str
      sample: vpc-0b40bd7c59dbe4277
    cidr_block:
      description: The CIDR block of the Aurora VPC, the one allocated for a new VPC.
      returned: always
      type: str
      sample: 192.168.0.0/24
    create_subnets:
      description: The subnets created, one per availability zone.
      returned: always
      type: list
      elements: dict
      sample: [{"availability_zone": "eu-west-1a", "cidr_block": "192.168.0.0/26"}]
    create_db_subnet_group:
      description: Whether the DB subnet group is created.
      returned: always
      type: bool
      sample: true
    db_subnet_group_name:
      description: The name of the DB subnet group.
      returned: always
      type: str
      sample: keycloak-aurora-subnet-group
    create_security_group:
      description: Whether the security group is created.
      returned: always
      type: bool
      sample: true
    security_group_name:
      description: The name of the security group.
      returned: always
      type: str
      sample: keycloak-aurora-security-group
diff:
  description: The network before and after, as in RV(network); C(before) is empty when the VPC is new.
  returned: in diff mode, with O(state=present)
  type: dict
  sample: {"before": {}, "after": {"vpc_id": null, "cidr_block": "192.168.0.0/24"}}
network:
  description: The network of the Aurora cluster. In check mode, IDs of what would be created are null.
  returned: when O(state=present)
  type: dict
  contains:
    vpc_id:
      description: The ID of the Aurora VPC.
      returned: always
      type: str
      sample: vpc-0b40bd7c59dbe4277
    cidr_block:
      description: The primary CIDR block of the Aurora VPC.
      returned: always
      type: str
      sample: 192.168.0.0/24
    main_route_table_id:
      description: The main route table of the Aurora VPC, where peering routes go.
      returned: always
      type: str
      sample: rtb-04a644ad3cd7de351
    subnets:
      description: One subnet per availability zone.
      returned: always
      type: list
      elements: dict
      sample: [{"subnet_id": "subnet-0d491a1a798aa878d", "availability_zone": "eu-west-1a",
                "cidr_block": "192.168.0.0/26"}]
    db_subnet_group_name:
      description: The DB subnet group over the subnets.
      returned: always
      type: str
      sample: keycloak-aurora-subnet-group
    security_group_id:
      description: The ID of the security group C(<cluster>-security-group).
      returned: always
      type: str
      sample: sg-0d8b5a5ea5a5a5a5a
    security_group_name:
      description: The name of the security group.
      returned: always
      type: str
      sample: keycloak-aurora-security-group
"""

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.keycloak.aurora.plugins.module_utils import cidr
from ansible_collections.keycloak.aurora.plugins.module_utils import naming
from ansible_collections.keycloak.aurora.plugins.module_utils import network
from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError
from ansible_collections.keycloak.aurora.plugins.module_utils.regions import regional_clients


def validate(params):
    errors = []
    name_error = naming.cluster_name_error(params["cluster"])
    if name_error:
        errors.append(f"cluster {name_error}")
    if params["vpc_cidr"]:
        cidr_error = cidr.vpc_cidr_error(params["vpc_cidr"])
        if cidr_error:
            errors.append(f"vpc_cidr {cidr_error}")
    pool_error = cidr.vpc_cidr_error(params["cidr_pool"], min_prefix=8, max_prefix=cidr.ALLOCATED_PREFIX)
    if pool_error:
        errors.append(f"cidr_pool {pool_error}")
    for block in params["avoid_cidrs"]:
        try:
            cidr.parse_network(block)
        except cidr.CidrError as e:
            errors.append(f"avoid_cidrs {e}")
    if params["availability_zones"] < 2:
        zones = params["availability_zones"]
        errors.append(f"availability_zones must be at least 2 (an RDS DB subnet group needs two), not {zones}")
    if errors:
        raise AuroraError("; ".join(errors))


def choose_cidr(module, client, vpc):
    """The CIDR block of the Aurora VPC: the existing one, the one asked for, or a free /24."""
    wanted = module.params["vpc_cidr"]
    if vpc:
        if wanted and vpc["CidrBlock"] != wanted:
            raise AuroraError(
                f"the Aurora VPC {vpc['VpcId']} of {module.params['cluster']} has the CIDR block {vpc['CidrBlock']}, "
                f"not aurora_vpc_cidr (vpc_cidr) {wanted}; an existing VPC is never re-allocated"
            )
        return vpc["CidrBlock"]
    if wanted:
        overlapping = [block for block in module.params["avoid_cidrs"] if cidr.overlaps(wanted, block)]
        if overlapping:
            raise AuroraError(f"vpc_cidr={wanted} overlaps avoid_cidrs {', '.join(sorted(overlapping))}")
        return wanted
    clients = regional_clients(module, "ec2", network.describe_region_names(client))
    taken = network.taken_cidrs(clients) + list(module.params["avoid_cidrs"])
    try:
        return cidr.allocate(module.params["cidr_pool"], taken)
    except cidr.CidrError as e:
        raise AuroraError(str(e)) from e


def summary(vpc, route_table_id, subnets, subnet_group, security_group_id, cluster):
    return {
        "vpc_id": vpc["VpcId"],
        "cidr_block": vpc["CidrBlock"],
        "main_route_table_id": route_table_id,
        "subnets": [
            {"subnet_id": s["SubnetId"], "availability_zone": s["AvailabilityZone"], "cidr_block": s["CidrBlock"]}
            for s in sorted(subnets, key=lambda s: s["AvailabilityZone"])
        ],
        "db_subnet_group_name": subnet_group,
        "security_group_id": security_group_id,
        "security_group_name": naming.security_group_name(cluster),
    }


def run(module):
    params = module.params
    if params["state"] == "absent":
        name_error = naming.cluster_name_error(params["cluster"])
        if name_error:
            raise AuroraError(f"cluster {name_error}")
        changed, removed = network.ensure_network_absent(
            module.client("ec2"),
            module.client("rds"),
            cluster=params["cluster"],
            check_mode=module.check_mode,
            wait_timeout=params["wait_timeout"],
            run_started=params["run_started"],
        )
        module.exit_json(changed=changed, removed=removed)
    validate(params)
    cluster, tags, check_mode = params["cluster"], params["tags"], module.check_mode
    ec2_client = module.client("ec2")
    rds_client = module.client("rds")

    existing_vpc = network.find_aurora_vpc(ec2_client, cluster)
    cidr_block = choose_cidr(module, ec2_client, existing_vpc)
    changed_vpc, vpc = network.ensure_vpc(
        ec2_client, cluster=cluster, vpc=existing_vpc, cidr_block=cidr_block, tags=tags, check_mode=check_mode
    )
    changed_subnets, existing_subnets, new_subnets = network.ensure_subnets(
        ec2_client,
        cluster=cluster,
        vpc=vpc,
        zone_count=params["availability_zones"],
        tags=tags,
        check_mode=check_mode,
    )
    subnets = existing_subnets + new_subnets
    changed_routes, route_table_id = network.ensure_main_route_table(
        ec2_client, vpc=vpc, subnets=subnets, check_mode=check_mode
    )
    changed_group, subnet_group, subnet_group_created = network.ensure_subnet_group(
        rds_client, cluster=cluster, vpc=vpc, subnets=subnets, tags=tags, check_mode=check_mode
    )
    changed_sg, security_group_id, security_group_created = network.ensure_security_group(
        ec2_client, cluster=cluster, vpc=vpc, tags=tags, check_mode=check_mode
    )

    result = summary(vpc, route_table_id, subnets, subnet_group, security_group_id, cluster)
    plan = network.network_plan(
        vpc_created=existing_vpc is None,
        new_subnets=new_subnets,
        subnet_group_created=subnet_group_created,
        security_group_created=security_group_created,
        network=result,
    )
    changed = changed_vpc or changed_subnets or changed_routes or changed_group or changed_sg
    diff = {"diff": {"before": network.network_before(plan, result), "after": result}} if module._diff else {}
    module.exit_json(changed=changed, network=result, plan=plan, **diff)


def main():
    argument_spec = dict(
        cluster=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        wait_timeout=dict(type="int", default=900),
        run_started=dict(type="float"),
        vpc_cidr=dict(type="str"),
        cidr_pool=dict(type="str", default="192.168.0.0/16"),
        avoid_cidrs=dict(type="list", elements="str", default=[]),
        availability_zones=dict(type="int", default=3),
        tags=dict(type="dict", default={}),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        run(module)
    except AnsibleAWSError as e:
        module.fail_json_aws_error(e)


if __name__ == "__main__":
    main()

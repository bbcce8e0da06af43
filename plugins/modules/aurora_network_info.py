#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aurora_network_info
version_added: 1.0.0
short_description: Find the network of an Aurora cluster for Keycloak
description:
  - Finds the VPC tagged C(AuroraCluster=<cluster>), its main route table and the security group
    C(<cluster>-security-group), without changing anything.
  - With O(peerings=true), also lists the live VPC peering connections into the Aurora VPC, with the ROSA
    cluster each comes from (its C(RosaCluster) tag, read in the requester's region for a cross-region peering).
  - Fails when two VPCs carry the same C(AuroraCluster) tag, or (with O(peerings=true)) when two live
    peering connections join the same ROSA VPC to the Aurora VPC, listing them.
author:
  - keycloak.aurora maintainers (!UNKNOWN)
options:
  cluster:
    description:
      - The Aurora DB cluster identifier.
    type: str
    required: true
  peerings:
    description:
      - Also list the live peering connections into the Aurora VPC.
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description: The module only reads.
  diff_mode:
    support: none
    description: The module only reads.
"""

EXAMPLES = r"""
- name: Find the network of keycloak-aurora and the ROSA clusters peered with it
  keycloak.aurora.aurora_network_info:
    cluster: keycloak-aurora
    region: eu-west-1
    peerings: true
  register: aurora
"""

RETURN = r"""
network:
  description: The network of the Aurora cluster; empty when it has no VPC.
  returned: always
  type: dict
  contains:
    vpc_id:
      description: The ID of the Aurora VPC.
      returned: when the VPC exists
      type: str
      sample: vpc-0b40bd7c59dbe4277
    cidr_block:
      description: The primary CIDR block of the Aurora VPC.
      returned: when the VPC exists
      type: str
      sample: 192.168.0.0/24
    main_route_table_id:
      description: The main route table of the Aurora VPC, where peering routes go.
      returned: when the VPC exists
      type: str
      sample: rtb-04a644ad3cd7de351
    security_group_id:
      description: The ID of the security group C(<cluster>-security-group); null when it is missing.
      returned: when the VPC exists
      type: str
      sample: sg-0d8b5a5ea5a5a5a5a
    security_group_name:
      description: The name of the security group.
      returned: when the VPC exists
      type: str
      sample: keycloak-aurora-security-group
    peerings:
      description:
        - The live peering connections into the Aurora VPC (initiating, pending, provisioning, active).
        - C(requester_owner_id) and C(accepter_owner_id) are the AWS accounts of the ROSA VPC and of the Aurora VPC;
          they differ for a ROSA cluster in another account.
      returned: when the VPC exists and O(peerings=true)
      type: list
      elements: dict
      sample: [{"vpc_peering_connection_id": "pcx-0123456789abcdef0", "status": "active",
                "requester_vpc_id": "vpc-0aaa", "requester_region": "eu-west-1",
                "requester_cidr_block": "10.0.0.0/16", "rosa_cluster_name": "rosa-a",
                "requester_owner_id": "111122223333", "accepter_owner_id": "444455556666"}]
"""

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.keycloak.aurora.plugins.module_utils import link
from ansible_collections.keycloak.aurora.plugins.module_utils import naming
from ansible_collections.keycloak.aurora.plugins.module_utils import network
from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError


def run(module):
    name_error = naming.cluster_name_error(module.params["cluster"])
    if name_error:
        raise AuroraError(f"cluster {name_error}")
    client = module.client("ec2")
    found = network.describe_network(client, module.params["cluster"]) or {}
    if found and module.params["peerings"]:
        found["peerings"] = link.peerings_into(
            client,
            vpc_id=found["vpc_id"],
            aurora_region=module.region,
            client_for_region=lambda region: module.client("ec2", region=region),
        )
    module.exit_json(changed=False, network=found)


def main():
    argument_spec = dict(cluster=dict(type="str", required=True), peerings=dict(type="bool", default=False))
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        run(module)
    except AnsibleAWSError as e:
        module.fail_json_aws_error(e)


if __name__ == "__main__":
    main()

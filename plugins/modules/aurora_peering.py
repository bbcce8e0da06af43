#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aurora_peering
version_added: 1.0.0
short_description: Connect one ROSA cluster to an Aurora cluster for Keycloak, or disconnect it
description:
  - With O(state=present), makes sure exactly one VPC peering connection joins the ROSA VPC (requester,
    in O(rosa_region)) to the Aurora VPC (accepter, in O(region)), accepted and active; that every route
    table in O(rosa_route_table_ids) sends the Aurora VPC CIDR through it; that the main route table of
    the Aurora VPC sends O(rosa_machine_cidr) through it; and that the security group
    C(<cluster>-security-group) admits tcp 5432 from O(rosa_machine_cidr).
  - A failed, rejected or expired peering is replaced by a new one. Two live peerings between the same
    VPCs are an error that lists them; none is picked.
  - A new peering is tagged C(AuroraCluster=<cluster>), C(RosaCluster=<rosa_cluster_name>), C(Name) and
    O(tags) in O(rosa_region). AWS keeps a peering's tags in the region where they were set, so a
    cross-region peering gets the same tags in O(region) too, where its accepter side lacks them; this
    also tags the Aurora side of a peering made before, by an older release or by the
    keycloak-benchmark scripts. A same-region peering is tagged once.
  - The ROSA cluster may be in another AWS account than Aurora, reached with O(rosa_profile) or O(rosa_role_arn).
    Then the ROSA account requests the peering (naming Aurora's account as its owner), the Aurora account accepts it,
    each account writes its own routes, the Aurora account the security group rule, and the peering is tagged in
    both accounts, since each account sees only the tags it set.
  - Refuses, before changing anything, a ROSA machine CIDR that overlaps the Aurora VPC CIDR.
  - With O(state=absent), removes for O(cluster), or for every Aurora cluster of O(region) when
    O(cluster) is not set, only what O(state=present) added, that is the routes through each peering on both
    sides, the tcp 5432 rule for the ROSA CIDRs, and the peering. The ROSA VPC is O(rosa_vpc_id), else
    found from the nodes, else the peerings are found by their C(RosaCluster) tag, so this works after
    the ROSA cluster's nodes are gone. A peering requested from another account than Aurora's is refused,
    before anything is removed, unless O(rosa_profile) or O(rosa_role_arn) reaches that account.
author:
  - keycloak.aurora maintainers (!UNKNOWN)
options:
  state:
    description:
      - Whether the ROSA cluster should be connected.
    type: str
    choices: [present, absent]
    default: present
  cluster:
    description:
      - The Aurora DB cluster identifier. Required with O(state=present); with O(state=absent), unset
        means every Aurora cluster of O(region).
    type: str
  rosa_cluster_name:
    description:
      - The name of the ROSA cluster.
    type: str
    required: true
  rosa_region:
    description:
      - The region of the ROSA cluster; the Aurora region O(region) when unset.
    type: str
  rosa_vpc_id:
    description:
      - The VPC of the ROSA cluster. Found from its nodes when unset, as M(keycloak.aurora.rosa_vpc_facts) does.
    type: str
  rosa_machine_cidr:
    description:
      - The machine CIDR of the ROSA cluster; the primary CIDR block of its VPC when unset.
    type: str
  rosa_route_table_ids:
    description:
      - The route tables of the ROSA worker subnets, which get the route to the Aurora VPC, as
        M(keycloak.aurora.rosa_vpc_facts) returns them. Found from the nodes (or O(rosa_vpc_id)) when empty.
    type: list
    elements: str
    default: []
  rosa_node_names:
    description:
      - Private DNS names of the worker nodes, to find the ROSA VPC by when O(rosa_vpc_id) is unset.
    type: list
    elements: str
    default: []
  aurora_network:
    description:
      - The Aurora network as M(keycloak.aurora.aurora_network_info) returns it, so that many ROSA clusters
        need not look it up each. Looked up when unset.
    type: dict
  tags:
    description:
      - Extra tags for a new peering connection, and for the Aurora side of a cross-region one.
      - Tags a peering already has keep their values.
    type: dict
    default: {}
  wait_timeout:
    description:
      - Seconds to wait for the peering to be visible in the Aurora region and active.
    type: int
    default: 300
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - keycloak.aurora.run_deadline
  - keycloak.aurora.rosa_account
attributes:
  check_mode:
    support: full
    description: Reports what would be created or removed; sends no request that changes anything.
  diff_mode:
    support: full
    description: With O(state=present), returns the peering, routes and ingress CIDRs before and after.
"""

EXAMPLES = r"""
- name: Connect rosa-a (us-east-1), found by its nodes' tag, to the Aurora cluster keycloak-aurora (eu-west-1)
  keycloak.aurora.aurora_peering:
    cluster: keycloak-aurora
    region: eu-west-1
    rosa_cluster_name: rosa-a
    rosa_region: us-east-1

- name: Connect a ROSA cluster whose network rosa_vpc_facts found before
  keycloak.aurora.aurora_peering:
    cluster: keycloak-aurora
    region: eu-west-1
    rosa_cluster_name: rosa-b
    rosa_vpc_id: "{{ rosa_vpc.vpc_id }}"
    rosa_machine_cidr: "{{ rosa_vpc.machine_cidr }}"
    rosa_route_table_ids: "{{ rosa_vpc.route_table_ids }}"

- name: Disconnect rosa-a from every Aurora cluster in eu-west-1, even after its nodes are gone
  keycloak.aurora.aurora_peering:
    state: absent
    region: eu-west-1
    rosa_cluster_name: rosa-a
    rosa_region: us-east-1

- name: Connect rosa-c, in another AWS account, reached by a role that Aurora's credentials may assume
  keycloak.aurora.aurora_peering:
    cluster: keycloak-aurora
    region: eu-west-1
    rosa_cluster_name: rosa-c
    rosa_region: us-west-2
    rosa_role_arn: arn:aws:iam::111122223333:role/keycloak-aurora-peering
"""

RETURN = r"""
rosa_network:
  description: The network of the ROSA cluster that was connected, as M(keycloak.aurora.rosa_vpc_facts) returns it.
  returned: when O(state=present)
  type: dict
  sample: {"vpc_id": "vpc-0aaa", "machine_cidr": "10.0.0.0/16", "route_table_ids": ["rtb-0aaa", "rtb-0bbb"]}
peering:
  description: The peering connection, with O(state=present); empty in check mode when it would be created.
  returned: when O(state=present)
  type: dict
  sample: {"vpc_peering_connection_id": "pcx-0123456789abcdef0", "status": "active",
           "requester_vpc_id": "vpc-0aaa", "accepter_vpc_id": "vpc-0bbb"}
changes:
  description: What was (or in check mode would be) added, with O(state=present).
  returned: when O(state=present)
  type: dict
  contains:
    rosa_route_table_ids:
      description: ROSA route tables that got the route to the Aurora VPC.
      type: list
      elements: str
      returned: always
    aurora_route_table_ids:
      description: Aurora route tables that got the route to the ROSA machine CIDR.
      type: list
      elements: str
      returned: always
    ingress:
      description: Whether the tcp 5432 rule was added.
      type: bool
      returned: always
    accepter_tags:
      description:
        - Tags added to a cross-region or cross-account peering in O(region), its accepter side. Empty for a
          peering within one region and one account, and in check mode when the peering would be created.
      type: dict
      returned: always
      sample: {"AuroraCluster": "keycloak-aurora", "RosaCluster": "rosa-a", "Name": "rosa-a to Aurora keycloak-aurora"}
plan:
  description:
    - What connecting added, or in check mode would add, with O(state=present).
  returned: when O(state=present)
  type: dict
  contains:
    create_peering:
      description: Whether the peering connection is created.
      returned: always
      type: bool
      sample: true
    vpc_peering_connection_id:
      description: The peering connection; null when it is to be created.
      returned: always
      type: str
      sample: pcx-0123456789abcdef0
    requester_vpc_id:
      description: The ROSA VPC.
      returned: always
      type: str
      sample: vpc-0aaa
    accepter_vpc_id:
      description: The Aurora VPC; null in check mode when it would be created too.
      returned: always
      type: str
      sample: vpc-0bbb
    routes:
      description:
        - The routes added through the peering. The route table is null when it is the main route table
          of an Aurora VPC still to be created.
      returned: always
      type: list
      elements: dict
      sample: [{"route_table_id": "rtb-0aaa", "destination_cidr_block": "192.168.0.0/24"},
               {"route_table_id": "rtb-0ccc", "destination_cidr_block": "10.0.0.0/16"}]
    ingress:
      description: The tcp 5432 rule added to the security group C(<cluster>-security-group), if any.
      returned: always
      type: list
      elements: dict
      sample: [{"security_group_id": "sg-0d8b5a5ea5a5a5a5a", "cidr_block": "10.0.0.0/16", "port": 5432}]
diff:
  description: The peering, the routes through it and the ingress CIDRs before and after, with O(state=present).
  returned: in diff mode, with O(state=present)
  type: dict
  sample: {"before": {"vpc_peering_connection_id": null, "routes": [], "ingress_cidr_blocks": []},
           "after": {"vpc_peering_connection_id": null, "routes": [{"route_table_id": "rtb-0aaa",
           "destination_cidr_block": "192.168.0.0/24"}], "ingress_cidr_blocks": ["10.0.0.0/16"]}}
removed:
  description: What was (or in check mode would be) removed, one entry per peering, with O(state=absent).
  returned: when O(state=absent)
  type: list
  elements: dict
  sample: [{"aurora_cluster": "keycloak-aurora", "vpc_peering_connection_id": "pcx-0123456789abcdef0",
            "routes": [{"route_table_id": "rtb-0aaa", "destination_cidr_block": "192.168.0.0/24"}],
            "ingress_cidrs": ["10.0.0.0/16"]}]
"""

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.keycloak.aurora.plugins.module_utils import accounts
from ansible_collections.keycloak.aurora.plugins.module_utils import link
from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError


def run(module):
    """The result of linking (or unlinking) the ROSA cluster; raises AnsibleAWSError."""
    params, check_mode = module.params, module.check_mode
    error = link.input_error(
        state=params["state"], cluster=params["cluster"], rosa_machine_cidr=params["rosa_machine_cidr"]
    ) or accounts.account_error(profile=params["rosa_profile"], role_arn=params["rosa_role_arn"])
    if error:
        raise AuroraError(error)
    rosa_region = params["rosa_region"] or module.region
    account = accounts.RosaAccount(
        module,
        profile=params["rosa_profile"],
        role_arn=params["rosa_role_arn"],
        rosa_cluster_name=params["rosa_cluster_name"],
    )
    rosa_client, aurora_client = accounts.ec2_clients(module, account, rosa_region=rosa_region)
    rosa_account_id, aurora_account_id = account.account_ids()
    # Another account only when the two differ: a profile of Aurora's own account changes nothing.
    other_account = rosa_account_id != aurora_account_id
    common = dict(
        cluster=params["cluster"],
        rosa_cluster_name=params["rosa_cluster_name"],
        rosa_region=rosa_region,
        rosa_vpc_id=params["rosa_vpc_id"],
        rosa_machine_cidr=params["rosa_machine_cidr"],
        rosa_node_names=params["rosa_node_names"],
        check_mode=check_mode,
    )
    if params["state"] == "absent":
        return link.ensure_link_absent(
            rosa_client, aurora_client, rosa_account_id=rosa_account_id if other_account else None, **common
        )
    return link.ensure_link_present(
        rosa_client,
        aurora_client,
        aurora_region=module.region,
        aurora_network=params["aurora_network"],
        rosa_route_table_ids=params["rosa_route_table_ids"],
        tags=params["tags"],
        wait_timeout=params["wait_timeout"],
        run_started=params["run_started"],
        diff=module._diff,
        warn=module.warn,
        aurora_account_id=aurora_account_id if other_account else None,
        **common,
    )


def main():
    argument_spec = dict(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        cluster=dict(type="str"),
        rosa_cluster_name=dict(type="str", required=True),
        rosa_region=dict(type="str"),
        rosa_vpc_id=dict(type="str"),
        rosa_machine_cidr=dict(type="str"),
        rosa_route_table_ids=dict(type="list", elements="str", default=[]),
        rosa_node_names=dict(type="list", elements="str", default=[]),
        aurora_network=dict(type="dict"),
        tags=dict(type="dict", default={}),
        wait_timeout=dict(type="int", default=300),
        run_started=dict(type="float"),
        **accounts.ARGUMENT_SPEC,
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        module.exit_json(**run(module))
    except AnsibleAWSError as e:
        module.fail_json_aws_error(e)


if __name__ == "__main__":
    main()

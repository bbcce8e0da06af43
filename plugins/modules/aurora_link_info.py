#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aurora_link_info
version_added: 1.1.0
short_description: Check every link of one ROSA cluster to an Aurora cluster for Keycloak, from AWS state
description:
  - Reads, and changes nothing, whether the ROSA cluster described by O(rosa_network) reaches the Aurora
    cluster O(cluster) of O(region), link by link, and returns one check per link with what mends it.
  - The Aurora VPC is the VPC tagged C(AuroraCluster=<cluster>). Exactly one live VPC peering connection must
    join the ROSA VPC (requester) to it (accepter), and be C(active).
  - Every route table of O(rosa_network) must send the Aurora VPC CIDR through that peering, and the main
    route table of the Aurora VPC must send the ROSA machine CIDR back through it; a C(blackhole) route is broken.
  - The security group C(<cluster>-security-group) must admit tcp 5432 from the machine CIDR (a wider rule counts),
    the machine CIDR must not overlap the Aurora VPC CIDR, and the writer instance of the cluster must sit in
    the Aurora VPC (the VPC of its DB subnet group).
  - Broken links are returned, not failed on; the module fails only when AWS cannot be read, or when two VPCs
    carry the cluster's tag.
author:
  - keycloak.aurora maintainers (!UNKNOWN)
options:
  cluster:
    description:
      - The Aurora DB cluster identifier.
    type: str
    required: true
  rosa_cluster_name:
    description:
      - The name of the ROSA cluster, for the messages.
    type: str
    required: true
  rosa_region:
    description:
      - The region of the ROSA cluster; the Aurora region O(region) when unset.
    type: str
  rosa_network:
    description:
      - The network of the ROSA cluster as M(keycloak.aurora.rosa_vpc_facts) returns it (the fact C(rosa_vpc));
        C(vpc_id), C(machine_cidr) and C(route_table_ids) are used.
    type: dict
    required: true
extends_documentation_fragment:
  - keycloak.aurora.rosa_account
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
- name: Find the network of the ROSA cluster rosa-a
  keycloak.aurora.rosa_vpc_facts:
    cluster_name: rosa-a
    region: us-east-1

- name: Check every link of rosa-a to keycloak-aurora
  keycloak.aurora.aurora_link_info:
    cluster: keycloak-aurora
    region: eu-west-1
    rosa_cluster_name: rosa-a
    rosa_region: us-east-1
    rosa_network: "{{ rosa_vpc }}"
  register: links

- name: Fail when a link is broken
  ansible.builtin.fail:
    msg: "{{ links.verdict }}"
  when: not links.linked
"""

RETURN = r"""
linked:
  description: Whether every check holds.
  returned: always
  type: bool
  sample: false
checks:
  description: One entry per link, in the order traffic meets them.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: What is checked.
      type: str
      returned: always
      sample: route 192.168.0.0/24 in rtb-0aaa (ROSA)
    ok:
      description: Whether it holds.
      type: bool
      returned: always
      sample: false
    detail:
      description: What AWS shows.
      type: str
      returned: always
      sample: rtb-0aaa has no route to 192.168.0.0/24
    fix:
      description: What mends it, usually the playbook to run; empty when it holds.
      type: str
      returned: always
      sample: run playbooks/peering.yml
verdict:
  description: Why the ROSA cluster cannot reach the Aurora cluster and what mends it; empty when every check holds.
  returned: always
  type: str
  sample: >-
    rosa-a cannot reach the Aurora cluster keycloak-aurora, 1 broken link: ... To mend: run playbooks/peering.yml.
table:
  description: The checks as lines of a table (check, state, what AWS shows, and the fix under a broken one).
  returned: always
  type: list
  elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.keycloak.aurora.plugins.module_utils import accounts
from ansible_collections.keycloak.aurora.plugins.module_utils import cidr
from ansible_collections.keycloak.aurora.plugins.module_utils import link
from ansible_collections.keycloak.aurora.plugins.module_utils import link_checks
from ansible_collections.keycloak.aurora.plugins.module_utils import naming
from ansible_collections.keycloak.aurora.plugins.module_utils import network
from ansible_collections.keycloak.aurora.plugins.module_utils import rds_cluster
from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError


def describe(module, rosa_network):
    """What AWS shows of the link, as link_checks.evaluate takes it."""
    cluster = module.params["cluster"]
    params = module.params
    account = accounts.RosaAccount(
        module,
        profile=params["rosa_profile"],
        role_arn=params["rosa_role_arn"],
        rosa_cluster_name=params["rosa_cluster_name"],
    )
    rosa_client, aurora_client = accounts.ec2_clients(
        module, account, rosa_region=params["rosa_region"] or module.region
    )
    rds = module.client("rds")
    aurora_network = network.describe_network(aurora_client, cluster) or {}
    seen = dict(
        aurora_network=aurora_network,
        peerings=[],
        route_tables={},
        security_group=None,
        db_cluster=rds_cluster.describe_db_cluster(rds, cluster),
        instances=[],
        subnet_group=None,
    )
    if seen["db_cluster"]:
        seen["instances"] = rds_cluster.describe_cluster_instances(rds, cluster)
        # An instance names its subnet group's VPC; only where one does not (moto) is the cluster's group read.
        unplaced = [i for i in seen["instances"] if not (i.get("DBSubnetGroup") or {}).get("VpcId")]
        if unplaced and seen["db_cluster"].get("DBSubnetGroup"):
            seen["subnet_group"] = rds_cluster.describe_db_subnet_group(rds, seen["db_cluster"]["DBSubnetGroup"])
    if not aurora_network:
        return seen
    seen["peerings"] = link.find_peerings(
        rosa_client,
        accepter_vpc_ids=[aurora_network["vpc_id"]],
        requester_vpc_id=rosa_network["vpc_id"],
        statuses=link.REMOVABLE,
    )
    seen["route_tables"] = link.route_tables_by_id(rosa_client, rosa_network["route_table_ids"])
    seen["route_tables"].update(link.route_tables_by_id(aurora_client, [aurora_network.get("main_route_table_id")]))
    if aurora_network.get("security_group_id"):
        seen["security_group"] = link.describe_group(aurora_client, aurora_network["security_group_id"])
    return seen


def run(module):
    params = module.params
    name_error = naming.cluster_name_error(params["cluster"])
    if name_error:
        raise AuroraError(f"cluster {name_error}")
    account_error = accounts.account_error(profile=params["rosa_profile"], role_arn=params["rosa_role_arn"])
    if account_error:
        raise AuroraError(account_error)
    rosa_network = params["rosa_network"]
    missing = [key for key in ("vpc_id", "machine_cidr", "route_table_ids") if key not in rosa_network]
    if missing:
        raise AuroraError(f"rosa_network lacks {', '.join(missing)}: pass the fact rosa_vpc that rosa_vpc_facts sets")
    try:
        cidr.parse_network(rosa_network["machine_cidr"])
    except cidr.CidrError as e:
        raise AuroraError(f"rosa_network machine_cidr {e}") from None
    checks = link_checks.evaluate(
        cluster=params["cluster"],
        region=module.region,
        rosa_cluster=params["rosa_cluster_name"],
        rosa_network=rosa_network,
        **describe(module, rosa_network),
    )
    verdict = link_checks.verdict(checks, rosa_cluster=params["rosa_cluster_name"], cluster=params["cluster"])
    return dict(changed=False, linked=not verdict, checks=checks, table=link_checks.table(checks), verdict=verdict)


def main():
    argument_spec = dict(
        cluster=dict(type="str", required=True),
        rosa_cluster_name=dict(type="str", required=True),
        rosa_region=dict(type="str"),
        rosa_network=dict(type="dict", required=True),
        **accounts.ARGUMENT_SPEC,
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        module.exit_json(**run(module))
    except AnsibleAWSError as e:
        module.fail_json_aws_error(e)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rosa_vpc_facts
version_added: 1.0.0
short_description: Find the VPC, machine CIDR and worker route tables of a ROSA cluster
description:
  - Sets the fact C(rosa_vpc) describing the network of a Red Hat OpenShift Service on AWS (ROSA) cluster,
    classic or hosted control plane, as peering it with an Aurora cluster needs it.
  - The VPC is, in this order of preference, O(vpc_id) when given; else the VPC of the EC2 instances whose
    private DNS name is one of O(node_names); else the VPC of the EC2 instances tagged
    C(api.openshift.com/name=<cluster_name>), as ROSA tags its nodes. Only instances that are pending,
    running, stopping or stopped count.
  - All the instances found must be in one VPC; otherwise the module fails and lists the VPCs it saw,
    with how many instances each holds. It fails too, naming what it searched for and the region, when
    no instance is found.
  - The worker subnets are the subnets of the instances found, or every subnet of the VPC when O(vpc_id)
    is given. The route tables returned are those routing the worker subnets, the explicitly associated
    table, else the VPC's main route table, whatever they are named; the route to the Aurora VPC goes into
    each of them.
  - Only reads; sends at most three requests to EC2 (and, with O(rosa_role_arn), one to STS).
  - A ROSA cluster in another AWS account than the module's credentials is read with O(rosa_profile) or
    O(rosa_role_arn).
author:
  - keycloak.aurora maintainers (!UNKNOWN)
options:
  cluster_name:
    description:
      - The name of the ROSA cluster, as in the tag C(api.openshift.com/name) of its nodes.
      - Used to find the nodes when neither O(vpc_id) nor O(node_names) is given, and returned in the facts.
    type: str
    required: true
  vpc_id:
    description:
      - The ID of the cluster's VPC. Skips the search for nodes; the VPC must exist in the region.
      - All subnets of the VPC then count as worker subnets.
    type: str
  machine_cidr:
    description:
      - The machine CIDR of the cluster, the source of its traffic to Aurora.
      - Defaults to the primary CIDR block of the VPC.
    type: str
  node_names:
    description:
      - Private DNS names of the cluster's nodes, for example the names C(oc get nodes) or
        M(kubernetes.core.k8s_info) return, such as C(ip-10-0-1-23.eu-west-1.compute.internal).
      - When given (and O(vpc_id) is not), the nodes are found by these names instead of by tag.
        Names that match no instance are reported as a warning.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - keycloak.aurora.rosa_account
attributes:
  check_mode:
    support: full
    description: Only reads, so check mode runs exactly as a normal run and sets the same facts.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
"""

EXAMPLES = r"""
- name: Find the network of the ROSA cluster gh-keycloak-a by the tags on its nodes
  keycloak.aurora.rosa_vpc_facts:
    cluster_name: gh-keycloak-a
    region: eu-west-1

- name: Find it from the nodes the cluster reports
  keycloak.aurora.rosa_vpc_facts:
    cluster_name: gh-keycloak-a
    region: eu-west-1
    node_names: "{{ nodes.resources | map(attribute='metadata.name') | list }}"

- name: Use a known VPC and machine CIDR, looking up only the route tables
  keycloak.aurora.rosa_vpc_facts:
    cluster_name: gh-keycloak-a
    region: eu-west-1
    vpc_id: vpc-0123456789abcdef0
    machine_cidr: 10.0.0.0/16
"""

RETURN = r"""
ansible_facts:
  description: The facts set on the host the module runs for.
  returned: always
  type: dict
  contains:
    rosa_vpc:
      description: The network of the ROSA cluster.
      returned: always
      type: dict
      contains:
        cluster_name:
          description: The ROSA cluster name, as given.
          returned: always
          type: str
          sample: gh-keycloak-a
        region:
          description: The region searched, the ROSA cluster's region.
          returned: always
          type: str
          sample: eu-west-1
        vpc_id:
          description: The ID of the cluster's VPC.
          returned: always
          type: str
          sample: vpc-0b40bd7c59dbe4277
        vpc_cidr:
          description: The primary CIDR block of the VPC.
          returned: always
          type: str
          sample: 10.0.0.0/16
        machine_cidr:
          description: The machine CIDR, O(machine_cidr) when given, else the primary CIDR block of the VPC.
          returned: always
          type: str
          sample: 10.0.0.0/16
        owner_id:
          description: The AWS account that owns the VPC, the peering connection's requester account.
          returned: always
          type: str
          sample: "123456789012"
        subnet_ids:
          description: The worker subnets, sorted; every subnet of the VPC when O(vpc_id) was given.
          returned: always
          type: list
          elements: str
          sample: ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"]
        route_table_ids:
          description:
            - The route tables routing the worker subnets, sorted and unique.
            - For each subnet its explicitly associated route table, else the VPC's main route table.
          returned: always
          type: list
          elements: str
          sample: ["rtb-04a644ad3cd7de351", "rtb-0c9d8e7f6a5b4c3d2"]
        discovered_by:
          description: How the VPC was found.
          returned: always
          type: str
          choices: [vpc_id, node_names, tags]
          sample: tags
"""

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.keycloak.aurora.plugins.module_utils import accounts
from ansible_collections.keycloak.aurora.plugins.module_utils import rosa
from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError

# Messages name the option and the variable of the collection's roles and playbooks that sets it.
LABELS = {option: f"{variable} ({option})" for option, variable in rosa.VARIABLES.items()}


def run(module):
    params = module.params
    errors = rosa.option_errors(
        cluster_name=params["cluster_name"], vpc_id=params["vpc_id"], machine_cidr=params["machine_cidr"], labels=LABELS
    )
    account_error = accounts.account_error(profile=params["rosa_profile"], role_arn=params["rosa_role_arn"])
    if errors or account_error:
        raise AuroraError("; ".join(errors + ([account_error] if account_error else [])))
    account = accounts.RosaAccount(
        module,
        profile=params["rosa_profile"],
        role_arn=params["rosa_role_arn"],
        rosa_cluster_name=params["cluster_name"],
    )
    facts, warnings = rosa.discover(
        account.client("ec2", module.region),
        region=module.region,
        cluster_name=params["cluster_name"],
        vpc_id=params["vpc_id"],
        machine_cidr=params["machine_cidr"],
        node_names=params["node_names"],
        labels=LABELS,
    )
    for warning in warnings:
        module.warn(warning)
    module.exit_json(changed=False, ansible_facts={"rosa_vpc": facts})


def main():
    argument_spec = dict(
        cluster_name=dict(type="str", required=True),
        vpc_id=dict(type="str"),
        machine_cidr=dict(type="str"),
        node_names=dict(type="list", elements="str", default=[]),
        **accounts.ARGUMENT_SPEC,
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        run(module)
    except AnsibleAWSError as e:
        module.fail_json_aws_error(e)


if __name__ == "__main__":
    main()

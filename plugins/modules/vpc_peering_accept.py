#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vpc_peering_accept
version_added: 1.0.0
short_description: Accept a VPC peering connection in the accepter's region and wait until it is active
description:
  - Accepts the VPC peering connection O(peering_id) in the region of its accepter VPC, which is the
    module's O(region). For a ROSA cluster and its Aurora cluster, the accepter is the Aurora VPC.
  - First waits until the peering connection is visible in O(region); a cross-region peering
    connection appears in the accepter's region a moment after it was requested.
  - C(initiating-request) waits until the request reaches the accepter (C(pending-acceptance));
    C(pending-acceptance) is accepted (changed); C(provisioning) and C(active) are left as they are
    (not changed).
  - C(failed), C(rejected), C(expired), C(deleting) and C(deleted) fail with the peering connection,
    its state and the status message of AWS; such a peering connection never becomes active and has to
    be replaced by a new one.
  - Fails when O(region) is not the region of the accepter VPC.
author:
  - keycloak.aurora maintainers (!UNKNOWN)
options:
  peering_id:
    description:
      - The ID of the VPC peering connection, C(pcx-...).
    type: str
    required: true
  wait:
    description:
      - Whether to wait, after accepting, until the peering connection is C(active).
      - The module always waits, within O(wait_timeout), for the peering connection to be visible and
        ready to be accepted, since it cannot accept it before.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds all the waiting of one run may take together.
    type: int
    default: 300
  tags:
    description:
      - Tags to add to the peering connection in O(region), the accepter's side.
      - On AWS, tags set in the requester's region are not visible in the accepter's region of a
        cross-region peering connection; set here those that must be found on the accepter's side,
        such as C(AuroraCluster).
      - Tags are added or updated, never removed. If not set, tags are left alone.
    type: dict
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - keycloak.aurora.run_deadline
attributes:
  check_mode:
    support: full
    description: Reports whether the peering connection would be accepted or tagged; sends no request that
      changes anything and does not wait for a request still on its way to the accepter.
  diff_mode:
    support: full
    description: Returns the status and tags before and after (predicted in check mode).
"""

EXAMPLES = r"""
- name: Accept the peering of the ROSA VPC with the Aurora VPC, in the Aurora region
  keycloak.aurora.vpc_peering_accept:
    peering_id: "{{ peering.vpc_peering_connection_id }}"
    region: eu-west-1
    tags:
      AuroraCluster: keycloak-aurora
  register: accepted

- name: Accept without waiting for the peering connection to be active
  keycloak.aurora.vpc_peering_accept:
    peering_id: pcx-0123456789abcdef0
    region: eu-west-1
    wait: false
"""

RETURN = r"""
peering:
  description: The peering connection as seen from O(region). In check mode, as it is before the run.
  returned: always
  type: dict
  contains:
    vpc_peering_connection_id:
      description: The ID of the peering connection.
      returned: always
      type: str
      sample: pcx-0123456789abcdef0
    status:
      description: The status code of the peering connection.
      returned: always
      type: str
      sample: active
    requester_vpc_id:
      description: The requester VPC (the ROSA VPC).
      returned: always
      type: str
      sample: vpc-0a1b2c3d4e5f60708
    requester_cidr_block:
      description: The primary CIDR block of the requester VPC.
      returned: always
      type: str
      sample: 10.0.0.0/16
    requester_region:
      description: The region of the requester VPC.
      returned: always
      type: str
      sample: eu-central-1
    requester_owner_id:
      description: The AWS account that owns the requester VPC.
      returned: always
      type: str
      sample: "123456789012"
    accepter_vpc_id:
      description: The accepter VPC (the Aurora VPC).
      returned: always
      type: str
      sample: vpc-0b40bd7c59dbe4277
    accepter_cidr_block:
      description: The primary CIDR block of the accepter VPC.
      returned: always
      type: str
      sample: 192.168.0.0/24
    accepter_region:
      description: The region of the accepter VPC.
      returned: always
      type: str
      sample: eu-west-1
    tags:
      description: The tags of the peering connection in O(region).
      returned: always
      type: dict
      sample: {"AuroraCluster": "keycloak-aurora"}
diff:
  description: Status and tags before and after the run (predicted in check mode).
  returned: in diff mode
  type: dict
  contains:
    before:
      description: Status and tags before the run.
      returned: in diff mode
      type: dict
      sample: {"status": "pending-acceptance", "tags": {}}
    after:
      description: Status and tags after the run.
      returned: in diff mode
      type: dict
      sample: {"status": "active", "tags": {"AuroraCluster": "keycloak-aurora"}}
"""

import re

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError
from ansible_collections.keycloak.aurora.plugins.module_utils.peering import ensure_peering_accepted

PEERING_ID = re.compile(r"^pcx-[0-9a-f]{8,17}$")


def validate(params):
    errors = []
    if not PEERING_ID.match(params["peering_id"]):
        errors.append(
            f"peering_id must be a VPC peering connection ID (pcx- and 8 or 17 hex digits), "
            f"not {params['peering_id']!r}"
        )
    if params["wait_timeout"] < 0:
        errors.append(f"wait_timeout must be 0 or more seconds, not {params['wait_timeout']}")
    if errors:
        raise AuroraError("; ".join(errors))


def run(module):
    params = module.params
    validate(params)
    # Acceptance and accepter-side tags happen in the accepter's region: the module's region.
    changed, state = ensure_peering_accepted(
        module.client("ec2"),
        peering_id=params["peering_id"],
        tags=params["tags"],
        check_mode=module.check_mode,
        wait=params["wait"],
        wait_timeout=params["wait_timeout"],
        run_started=params["run_started"],
    )
    result = {"changed": changed, "peering": state["peering"]}
    if module._diff:
        result["diff"] = {"before": state["before"], "after": state["after"]}
    module.exit_json(**result)


def main():
    argument_spec = dict(
        peering_id=dict(type="str", required=True),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
        run_started=dict(type="float"),
        tags=dict(type="dict"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        run(module)
    except AnsibleAWSError as e:
        module.fail_json_aws_error(e)


if __name__ == "__main__":
    main()

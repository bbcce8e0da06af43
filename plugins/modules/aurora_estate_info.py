#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aurora_estate_info
version_added: 1.1.0
short_description: Find every Aurora cluster for Keycloak in an account
description:
  - Scans regions concurrently, one client per region, for the Aurora clusters for Keycloak, without changing
    anything.
  - A cluster is one for Keycloak when its engine is C(aurora-postgresql) and it carries at least one mark of the
    naming contract this collection shares with the keycloak-benchmark scripts and the documented procedure, its
    VPC tagged C(AuroraCluster=<cluster>), its DB subnet group C(<cluster>-subnet-group), or its security group
    C(<cluster>-security-group).
  - Also lists what deleted deployments left behind (RV(leftovers)).
  - A region that cannot be read (access denied, region not enabled, any AWS error) is listed in RV(failed_regions)
    and the others are still scanned.
author:
  - keycloak.aurora maintainers (!UNKNOWN)
options:
  regions:
    description:
      - The regions to scan, a list or a comma-separated string. Empty, the regions enabled for the account
        (C(DescribeRegions) in O(region)).
    type: list
    elements: str
    default: []
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
- name: Find every Aurora cluster for Keycloak in the enabled regions
  keycloak.aurora.aurora_estate_info:
  register: estate

- name: Only two regions
  keycloak.aurora.aurora_estate_info:
    regions: [eu-west-1, eu-central-1]
  register: estate
"""

RETURN = r"""
scanned_at:
  description: When the scan started (UTC, ISO 8601); the ages are measured from it.
  returned: always
  type: str
  sample: "2026-11-30T23:10:00+00:00"
regions:
  description: The regions scanned, including those that failed.
  returned: always
  type: list
  elements: str
  sample: [eu-central-1, eu-west-1]
failed_regions:
  description: The regions that could not be read, with the AWS error code and message.
  returned: always
  type: list
  elements: dict
  sample: [{"region": "ap-east-1", "code": "AuthFailure", "message": "AWS was not able to validate the credentials"}]
clusters:
  description:
    - One entry per Aurora cluster for Keycloak, by region then name. C(region), C(identifier), C(status),
      C(engine_version), C(endpoint), C(reader_endpoint), C(port), C(deletion_protection); C(instances) (C(identifier),
      C(instance_class), C(availability_zone), C(status), C(writer)); C(vpc_id), C(vpc_cidr_block); C(marks), the
      marks of the naming contract it carries (C(vpc_tag), C(subnet_group), C(security_group)), and C(found_by), the
      same for people; C(peerings) into its VPC (C(vpc_peering_connection_id), C(status),
      C(rosa_cluster_name) from the peering's C(RosaCluster) tag or else the C(api.openshift.com/name) tag of the nodes
      in the requester VPC, C(requester_vpc_id), C(requester_region), C(requester_cidr_block),
      C(requester_cidr_blocks) (every CIDR of the requester VPC));
      C(pending_maintenance) (C(resource), C(action), C(description), C(auto_applied_after), C(forced_apply_date),
      C(opt_in_status)); C(final_snapshots) named C(<cluster>-final-...) (C(identifier), C(created), C(status));
      C(keepalive), the value of the C(keepalive) tag or null without one; C(created) and C(age_hours); C(tags).
  returned: always
  type: list
  elements: dict
leftovers:
  description:
    - What deleted deployments left behind, by region, each with C(region), C(kind), C(id), C(cluster) (the Aurora
      cluster it was for, when known), C(why) and C(fix) (the command that removes it).
    - C(vpc), C(db_subnet_group), C(security_group), the VPC tagged C(AuroraCluster=<cluster>) of a DB cluster that
      is gone, with its C(<cluster>-subnet-group) and C(<cluster>-security-group).
    - C(route), a route (in any route table of the region, the ROSA ones included) through a peering that is deleted,
      failed, rejected, expired or no longer shown.
    - C(secret), the master password secret C(<cluster>-master-password) this collection generated for a DB cluster
      that is gone, not scheduled for deletion.
    - C(ingress_rule), a CIDR that C(<cluster>-security-group) admits to port 5432 and no live peering uses (none into
      the Aurora VPC comes from a VPC with a CIDR, primary or added, that holds it); its fix revokes the rule with its
      own protocol and ports.
  returned: always
  type: list
  elements: dict
  sample: [{"region": "eu-west-1", "kind": "route", "id": "rtb-0123 192.168.0.0/24", "cluster": null,
            "why": "in vpc-0aaa, routes 192.168.0.0/24 through pcx-0bbb, which is gone",
            "fix": "aws ec2 delete-route --region eu-west-1 --route-table-id rtb-0123
                    --destination-cidr-block 192.168.0.0/24"}]
"""

import contextlib
import datetime

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.keycloak.aurora.plugins.module_utils import estate
from ansible_collections.keycloak.aurora.plugins.module_utils import network
from ansible_collections.keycloak.aurora.plugins.module_utils.regions import map_concurrently
from ansible_collections.keycloak.aurora.plugins.module_utils.regions import regional_clients

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore


def scan(module, regions, now):
    """(records, leftovers, failed regions) of ``regions``, each scanned on its own thread with its own clients."""
    ec2_clients = regional_clients(module, "ec2", regions)
    rds_clients = regional_clients(module, "rds", regions)
    secrets_clients = regional_clients(module, "secretsmanager", regions)

    def client_for_region(region):
        # A peering's requester may be in a region that is not scanned.
        return ec2_clients.get(region) or regional_clients(module, "ec2", [region])[region]

    def scan_one(region):
        try:
            found = estate.scan_region(
                region,
                ec2=ec2_clients[region],
                rds=rds_clients[region],
                secrets=secrets_clients[region],
                client_for_region=client_for_region,
                now=now,
            )
            return found, None
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, AnsibleAWSError) as e:
            return {"clusters": [], "leftovers": []}, estate.region_error(region, e)

    results = map_concurrently(scan_one, regions)
    records = [record for found, _error in results for record in found["clusters"]]
    leftovers = [item for found, _error in results for item in found["leftovers"]]
    failed = [error for _found, error in results if error]
    return records, leftovers, failed


def run(module):
    now = datetime.datetime.now(datetime.timezone.utc)
    # A survey's empty answer arrives as one empty name.
    regions = sorted({r.strip() for r in module.params["regions"] if r.strip()})
    regions = regions or network.describe_region_names(module.client("ec2"))
    records, leftovers, failed = scan(module, regions, now)
    module.exit_json(
        changed=False,
        scanned_at=now.isoformat(),
        regions=regions,
        failed_regions=failed,
        clusters=sorted(records, key=lambda r: (r["region"], r["identifier"])),
        leftovers=leftovers,
    )


def main():
    argument_spec = dict(regions=dict(type="list", elements="str", default=[]))
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        run(module)
    except AnsibleAWSError as e:
        module.fail_json_aws_error(e)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aurora_master_secret
version_added: 1.0.0
short_description: The master password of an Aurora cluster, kept in AWS Secrets Manager
description:
  - Keeps the secret C(<cluster>-master-password) holding the master password of the Aurora cluster
    O(cluster) wherever the collection can know it, and never makes one up. The secret holds JSON with
    the keys C(username), C(password) and C(engine), the shape RDS uses. The password is never part of
    the result.
  - With O(state=present), run before the cluster is created or adopted. For a cluster about to be
    created from scratch, a missing secret is created with a strong random password, generated once,
    and the cluster is then created with it; with O(password), a live secret of that name is given that
    password instead, and none is created.
  - A cluster that exists (made by the keycloak-benchmark scripts, the documented aws CLI procedure, by
    hand) has a password the collection never saw; its secret is used if it exists, and none is created.
    The same holds for a cluster about to be restored from O(snapshot_identifier); a secret of that name
    is used, or restored from its scheduled deletion, only when the snapshot is of a cluster of that
    name (its final snapshot); a live secret beside a snapshot of another cluster is refused.
  - A secret scheduled for deletion is restored for a cluster about to be created under its name; for a
    cluster that exists it is left scheduled, since it may belong to an earlier cluster of that name.
  - With O(reset_password=true), run once the cluster exists, sets a new master password on it
    (O(password), or a generated one). The new password is staged in the secret (C(AWSPENDING)), set on
    the cluster (ModifyDBCluster, applied at once), waited for, and only then made the secret's current
    value; the replaced one stays readable as C(AWSPREVIOUS). An interrupted reset leaves the current
    value as it was; run it again. A given password is kept only where the secret exists. Every run
    with V(true) sets another password; clients using the old one, such as running Keycloak nodes, must
    be restarted.
  - With O(state=absent), schedules the secret for deletion with a recovery window; it is never
    force-deleted.
author:
  - keycloak.aurora maintainers (!UNKNOWN)
options:
  cluster:
    description:
      - The Aurora DB cluster identifier the secret belongs to, in lower case.
    type: str
    required: true
  state:
    description:
      - Whether the secret should exist.
    type: str
    choices: [present, absent]
    default: present
  master_username:
    description:
      - The master user name stored beside the password in a new secret, unless the cluster exists;
        then its own master user is stored.
    type: str
    default: keycloak
  snapshot_identifier:
    description:
      - The DB cluster snapshot a missing cluster is about to be restored from.
    type: str
  password:
    description:
      - The master password the user gives, for a new cluster or with O(reset_password=true). Never logged.
    type: str
  reset_password:
    description:
      - Set a new master password on the existing cluster and keep it in the secret.
    type: bool
    default: false
  wait_timeout:
    description:
      - With O(reset_password=true), seconds to wait for the cluster to be available before and after
        the change.
    type: int
    default: 3600
  recovery_window_days:
    description:
      - With O(state=absent), how many days AWS keeps the secret recoverable.
    type: int
    default: 7
  tags:
    description:
      - Extra tags for a new secret. C(AuroraCluster) is always set to O(cluster).
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
    description: Reports whether the secret would be created, restored or deleted; changes nothing.
  diff_mode:
    support: none
    description: The result shows the state; no diff is returned.
"""

EXAMPLES = r"""
- name: Keep a generated master password for keycloak-aurora, if it is about to be created
  keycloak.aurora.aurora_master_secret:
    cluster: keycloak-aurora
  register: master_secret

- name: Give an adopted cluster a new master password, kept in the secret
  keycloak.aurora.aurora_master_secret:
    cluster: keycloak-aurora
    reset_password: true

- name: Schedule the master password of keycloak-aurora for deletion
  keycloak.aurora.aurora_master_secret:
    cluster: keycloak-aurora
    state: absent
"""

RETURN = r"""
secret:
  description:
    - The secret, without its value.
    - Empty when there is none, and with O(state=present) when the secret does not hold the cluster's
      password (an adopted or restored cluster whose password the collection never saw).
  returned: always
  type: dict
  contains:
    name:
      description: The name of the secret.
      returned: when the secret exists or would be created
      type: str
      sample: keycloak-aurora-master-password
    arn:
      description: The ARN of the secret; null in check mode when it would be created.
      returned: when the secret exists or would be created
      type: str
      sample: arn:aws:secretsmanager:eu-west-1:123456789012:secret:keycloak-aurora-master-password-AbCdEf
"""

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.keycloak.aurora.plugins.module_utils import naming
from ansible_collections.keycloak.aurora.plugins.module_utils import secret
from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError
from ansible_collections.keycloak.aurora.plugins.module_utils.master_password import reset_master_password
from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import describe_cluster_snapshot
from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import describe_db_cluster


def run(module):
    params = module.params
    name_error = naming.cluster_name_error(params["cluster"])
    if name_error:
        raise AuroraError(f"cluster {name_error}")
    client = module.client("secretsmanager")
    name = naming.master_secret_name(params["cluster"])
    tags = naming.cluster_tags(params["cluster"], params["tags"])
    if params["state"] == "absent":
        changed, found = secret.ensure_master_secret_absent(
            client, name=name, recovery_window_days=params["recovery_window_days"], check_mode=module.check_mode
        )
    elif params["reset_password"]:
        changed, found = reset_master_password(
            client,
            module.client("rds"),
            cluster=params["cluster"],
            password=params["password"],
            tags=tags,
            check_mode=module.check_mode,
            wait_timeout=params["wait_timeout"],
            run_started=params["run_started"],
        )
    else:
        changed, found = present(module, client, name, tags)
    result = {"name": found["Name"], "arn": found["ARN"]} if found else {}
    module.exit_json(changed=changed, secret=result)


def present(module, client, name, tags):
    params = module.params
    rds_client = module.client("rds")
    cluster = describe_db_cluster(rds_client, params["cluster"])
    source = None
    if cluster is None and params["snapshot_identifier"]:
        snapshot = describe_cluster_snapshot(rds_client, params["snapshot_identifier"])
        if snapshot is None:
            return False, {}  # aurora_cluster refuses to restore from it, naming it
        source = snapshot["DBClusterIdentifier"]
    return secret.ensure_master_secret(
        client,
        name=name,
        username=(cluster or {}).get("MasterUsername") or params["master_username"],
        tags=tags,
        cluster=params["cluster"],
        cluster_exists=cluster is not None,
        snapshot_source=source,
        password=params["password"],
        check_mode=module.check_mode,
    )


def main():
    argument_spec = dict(
        cluster=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        master_username=dict(type="str", default="keycloak"),
        snapshot_identifier=dict(type="str"),
        password=dict(type="str", no_log=True),
        reset_password=dict(type="bool", default=False, no_log=False),
        wait_timeout=dict(type="int", default=3600),
        run_started=dict(type="float"),
        recovery_window_days=dict(type="int", default=7),
        tags=dict(type="dict", default={}),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        run(module)
    except AnsibleAWSError as e:
        module.fail_json_aws_error(e)


if __name__ == "__main__":
    main()

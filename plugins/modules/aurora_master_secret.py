#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aurora_master_secret
version_added: 1.0.0
short_description: The generated master password of an Aurora cluster, kept in AWS Secrets Manager
description:
  - With O(state=present), makes sure the secret C(<cluster>-master-password) holds the master password
    of the Aurora cluster O(cluster) wherever the collection can know it, and never makes one up.
  - When the DB cluster does not exist yet and will be created from scratch, a missing secret is created
    with a strong random password, generated once; the new cluster is created with it.
  - When the DB cluster will be restored from O(snapshot_identifier), or exists already (made by the
    keycloak-benchmark scripts, the documented aws CLI procedure, by hand, or restored earlier), its
    password is one the collection never saw; no secret is created, and RV(secret) is empty unless a
    secret exists. Set O(regenerate_password=true) to store a new password instead, and then set it
    on the cluster (M(keycloak.aurora.aurora_cluster) with
    O(keycloak.aurora.aurora_cluster#module:force_update_password=true)).
  - A secret scheduled for deletion is restored for a cluster about to be created or restored under its
    name; for a cluster that exists it is left scheduled, since it may belong to an earlier cluster of
    that name.
  - An existing password is never changed unless O(regenerate_password=true); the replaced one stays
    readable as the secret's version C(AWSPREVIOUS).
  - The secret holds JSON with the keys C(username), C(password) and C(engine), the shape RDS uses.
  - With O(state=absent), schedules the secret for deletion with a recovery window; it is never
    force-deleted.
  - The password is never part of the result.
author:
  - keycloak.aurora maintainers (!UNKNOWN)
options:
  cluster:
    description:
      - The Aurora DB cluster identifier the secret belongs to.
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
      - The DB cluster snapshot a missing cluster is about to be restored from. Its password is the
        snapshot's, so no password is generated for it.
    type: str
  regenerate_password:
    description:
      - Store a newly generated password even when the secret exists, creating or restoring the
        secret as needed. The caller must then set it on the cluster.
      - Each run with V(true) generates another password.
    type: bool
    default: false
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
    regenerate_password: true
  register: new_secret

- name: Set it on the cluster
  keycloak.aurora.aurora_cluster:
    identifier: keycloak-aurora
    master_user_password_secret: "{{ new_secret.secret.name }}"
    force_update_password: true

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
from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import describe_db_cluster


def run(module):
    params = module.params
    name_error = naming.cluster_name_error(params["cluster"])
    if name_error:
        raise AuroraError(f"cluster {name_error}")
    client = module.client("secretsmanager")
    name = naming.master_secret_name(params["cluster"])
    if params["state"] == "present":
        cluster = describe_db_cluster(module.client("rds"), params["cluster"])
        changed, found = secret.ensure_master_secret(
            client,
            name=name,
            username=(cluster or {}).get("MasterUsername") or params["master_username"],
            tags=naming.cluster_tags(params["cluster"], params["tags"]),
            cluster_exists=cluster is not None,
            from_snapshot=bool(params["snapshot_identifier"]),
            regenerate=params["regenerate_password"],
            check_mode=module.check_mode,
        )
    else:
        changed, found = secret.ensure_master_secret_absent(
            client, name=name, recovery_window_days=params["recovery_window_days"], check_mode=module.check_mode
        )
    result = {"name": found["Name"], "arn": found["ARN"]} if found else {}
    module.exit_json(changed=changed, secret=result)


def main():
    argument_spec = dict(
        cluster=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        master_username=dict(type="str", default="keycloak"),
        snapshot_identifier=dict(type="str"),
        regenerate_password=dict(type="bool", default=False, no_log=False),
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

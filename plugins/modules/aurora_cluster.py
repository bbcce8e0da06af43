#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aurora_cluster
version_added: 1.0.0
short_description: Create, scale and delete the Amazon Aurora PostgreSQL cluster of a Keycloak deployment
description:
  - Creates the Aurora DB cluster O(identifier), or restores it from O(snapshot_identifier), and
    converges its DB instances C(<identifier>-instance-1) ... C(<identifier>-instance-N) to O(instances).
  - Missing instances are requested right after the cluster is (AWS takes them while the cluster is still
    C(creating), as the documented aws CLI procedure does), back to back, round-robin over the availability
    zones of the cluster's DB subnet group in which the cluster keeps its storage (the cluster's
    C(AvailabilityZones)). The cluster and all instances are then waited for once, together.
  - Scaling down removes the readers with the highest numbers, never
    the writer, and names them in a warning first (in check mode too). Instances named otherwise are
    counted but left alone.
  - When AWS has no capacity for the instance class in a zone (C(InsufficientDBInstanceCapacity)), the
    instance is created in another of those zones, with a warning, and the instances still to create
    avoid that zone too. When no zone has capacity, the module fails naming the instance class and the
    zones it asked.
  - An existing cluster is adopted as it is. Only what is asked explicitly is changed
    (O(instance_class), O(deletion_protection), O(backup_retention_period), O(vpc_security_group_ids),
    O(tags)); defaults apply to what is created. Settings AWS cannot change in place (storage
    encryption, DB subnet group, database name, master user name) are reported as warnings.
  - O(state=absent) deletes the instances, then the cluster as soon as every instance is C(deleting)
    (not once they are gone), with a final snapshot unless O(skip_final_snapshot=true), and waits until
    the cluster is gone. It never lifts deletion protection.
  - A run that meets a transition (instances C(creating) or C(deleting), a cluster being deleted by an
    earlier O(state=absent) run) adopts it and waits; "already being deleted" is progress, not an error.
  - Requests AWS refuses while a resource is in a transition (C(InvalidDBClusterStateFault),
    C(InvalidDBInstanceState)) are repeated until O(wait_timeout) has passed, then the error names the
    resource and its state.
  - Final snapshots are kept by AWS until someone deletes them, and count against the account's snapshot
    quota. O(state=absent) returns those that earlier deletes of the same cluster name left, as
    RV(earlier_final_snapshots). When the quota leaves no room for the final snapshot
    (C(SnapshotQuotaExceeded)), the module fails naming them, oldest first, and how to proceed.
author:
  - keycloak.aurora maintainers (!UNKNOWN)
options:
  identifier:
    description:
      - The DB cluster identifier, also the stem of the instance names C(<identifier>-instance-N).
      - 1 to 63 letters, digits or hyphens, starting with a letter, with no two consecutive
        hyphens and no trailing hyphen. Other names are refused before any request is sent.
    type: str
    required: true
  state:
    description:
      - V(present) creates or converges the cluster, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  engine:
    description:
      - The Aurora engine. The collection is made for V(aurora-postgresql); an existing cluster running
        another engine is refused.
      - V(aurora-mysql) needs O(engine_version), because the default version is an Aurora PostgreSQL
        version; without it the module fails before sending any request.
    type: str
    choices: [aurora-postgresql, aurora-mysql]
    default: aurora-postgresql
  engine_version:
    description:
      - The engine version of a new cluster. When not set, a new V(aurora-postgresql) cluster gets V(17.5)
        (the version the Keycloak high-availability guide tests), and a cluster restored from a snapshot
        keeps the snapshot's version. Required with O(engine=aurora-mysql).
      - When set and an existing cluster runs another version, the module fails; it never upgrades.
    type: str
  instances:
    description:
      - How many DB instances the cluster has, 1 to 16 (one writer, the others readers).
      - When not set, a new cluster gets V(2) (a writer and a reader in two zones) and an existing
        cluster keeps the instances it has (V(2) when it has none).
      - A cluster this module creates carries the tag C(AuroraCreatingInstances) (the count asked for) until all its
        instances are available; a run interrupted before then is finished by the next, which creates the rest of
        that count even when this option is not set.
      - Instances not named C(<identifier>-instance-N) count too.
    type: int
  instance_class:
    description:
      - The DB instance class.
      - When not set, new instances get V(db.t4g.large) and existing ones keep their class.
      - When set, existing C(<identifier>-instance-N) instances of another class are changed (ApplyImmediately), one
        at a time so that the cluster keeps an available writer; on AWS each is C(modifying) for minutes and then
        restarts. The readers go first, by number, each waited for until it is available with the new class; then
        the cluster fails over (FailoverDBCluster) to a reader of the new class, waited for until it is the writer;
        the old writer, now a reader, goes last. RV(plan.change_class) and RV(plan.failover_to) name that order,
        in check mode too.
      - A cluster with a single instance has no reader to take over, so its writer restarts with the new class, and
        Keycloak loses its database meanwhile. A warning says so (in check mode too).
      - Instances named otherwise keep their class. One of them becomes the writer (with a warning) only when no
        instance of the new class can.
      - A run that meets a change under way (an instance C(modifying), a failover over) goes on from there.
      - With O(wait=false), a run takes only the next step (one instance's change, or the failover), since every
        step waits for the one before. A later run goes on; one with O(wait=true) takes every step left, as the
        role C(aurora_create) does in its C(tasks_from=wait).
    type: str
  database_name:
    description:
      - The database created with a new cluster.
    type: str
    default: keycloak
  master_username:
    description:
      - The master user of a new cluster.
    type: str
    default: keycloak
  master_user_password:
    description:
      - The master user password of a new cluster. Never logged, never returned.
      - Ignored for an existing cluster and when restoring from a snapshot.
      - One of O(master_user_password) or O(master_user_password_secret) is required to create a
        cluster from scratch.
    type: str
  master_user_password_secret:
    description:
      - 'Name or ARN of an AWS Secrets Manager secret whose SecretString is
        JSON C({"username": ..., "password": ...}); its password becomes the master user password
        of a new cluster. Its username must equal O(master_username).'
      - Read only when the cluster is created from scratch, never in check mode.
    type: str
  db_subnet_group_name:
    description:
      - The DB subnet group of a new cluster, normally C(<identifier>-subnet-group).
      - When not set, AWS uses the default subnet group of the default VPC.
    type: str
  vpc_security_group_ids:
    description:
      - The VPC security groups of the cluster, normally the id of C(<identifier>-security-group).
      - When set and an existing cluster has other groups, they are replaced.
    type: list
    elements: str
  snapshot_identifier:
    description:
      - Restore a missing cluster from this DB cluster snapshot (name or ARN) instead of creating
        it empty. Ignored when the cluster exists.
    type: str
  deletion_protection:
    description:
      - Whether the cluster is protected against deletion.
      - A new cluster gets V(false) when not set; an existing cluster is left alone unless set.
    type: bool
  backup_retention_period:
    description:
      - Days automated backups are kept, 1 to 35. Left alone when not set.
    type: int
  storage_encrypted:
    description:
      - Whether the storage of a new cluster is encrypted.
      - Storage encryption of an existing cluster cannot be changed in place; a difference is a warning.
    type: bool
    default: true
  enable_performance_insights:
    description:
      - Whether new instances have Performance Insights enabled. Existing instances are left alone.
    type: bool
    default: true
  auto_minor_version_upgrade:
    description:
      - Whether new instances get minor engine upgrades automatically. Existing instances are left alone.
    type: bool
    default: false
  skip_final_snapshot:
    description:
      - With O(state=absent), delete the cluster without a final snapshot.
    type: bool
    default: false
  final_snapshot_identifier:
    description:
      - With O(state=absent), the name of the final cluster snapshot.
      - Defaults to C(<identifier>-final-<UTC time as YYYYmmddHHMMSS>).
    type: str
  wait:
    description:
      - Wait until the cluster and all its instances are available, or with O(state=absent) until the
        cluster is gone.
      - With O(wait=false), a change of O(instance_class) takes one step per run (see there).
      - With O(wait=false) and O(state=absent), the run ends once AWS has taken the deletion of the cluster.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds the whole run may wait in all, for the cluster and its instances and for the
        transitions that make AWS refuse a request meanwhile. One budget for the run, not one per step.
      - On timeout the error names the cluster's state and the instances not available yet and their states.
    type: int
    default: 3600
  tags:
    description:
      - A dictionary of tags for the cluster. The tag C(AuroraCluster=<identifier>) is always added
        to it, and never purged.
      - If O(tags) is not set, the tags of an existing cluster are not modified; a new cluster gets
        C(AuroraCluster=<identifier>).
      - New instances are created with the same tags; tags of existing instances are left alone.
notes:
  - New instances are created with C(PubliclyAccessible=false).
  - The endpoints are the cluster's own C(Endpoint) and C(ReaderEndpoint).
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
  - keycloak.aurora.run_deadline
"""

EXAMPLES = r"""
- name: Create the Aurora cluster with a writer and a reader in two zones
  keycloak.aurora.aurora_cluster:
    identifier: keycloak-aurora
    db_subnet_group_name: keycloak-aurora-subnet-group
    vpc_security_group_ids:
      - "{{ aurora_security_group_id }}"
    master_user_password_secret: keycloak-aurora-master-password
    region: eu-west-1
  register: aurora

- name: Print the writer endpoint
  ansible.builtin.debug:
    msg: "jdbc:aws-wrapper:postgresql://{{ aurora.cluster.endpoint }}:{{ aurora.cluster.port }}/keycloak"

- name: Scale to three instances of a production class, changing the existing ones one at a time
  keycloak.aurora.aurora_cluster:
    identifier: keycloak-aurora
    instances: 3
    instance_class: db.r6g.xlarge
    master_user_password: "{{ vault_aurora_password }}"
    region: eu-west-1

- name: Restore the cluster from a snapshot
  keycloak.aurora.aurora_cluster:
    identifier: keycloak-aurora
    snapshot_identifier: keycloak-aurora-final-20250101120000
    db_subnet_group_name: keycloak-aurora-subnet-group
    vpc_security_group_ids:
      - "{{ aurora_security_group_id }}"
    region: eu-west-1

- name: Lift deletion protection before deleting
  keycloak.aurora.aurora_cluster:
    identifier: keycloak-aurora
    deletion_protection: false
    master_user_password: "{{ vault_aurora_password }}"
    region: eu-west-1

- name: Delete the cluster, keeping a final snapshot
  keycloak.aurora.aurora_cluster:
    identifier: keycloak-aurora
    state: absent
    region: eu-west-1
  register: deleted

- name: Delete a test cluster without a final snapshot and without waiting for the cluster
  keycloak.aurora.aurora_cluster:
    identifier: keycloak-aurora-test
    state: absent
    skip_final_snapshot: true
    wait: false
    region: eu-west-1
"""

RETURN = r"""
cluster:
  description:
    - The DB cluster after the run.
    - Empty after O(state=absent), and in check mode when the cluster does not exist yet.
  returned: always
  type: dict
  contains:
    db_cluster_identifier:
      description: The DB cluster identifier, as stored by RDS (lower case).
      returned: success
      type: str
      sample: keycloak-aurora
    db_cluster_arn:
      description: The ARN of the DB cluster.
      returned: success
      type: str
      sample: arn:aws:rds:eu-west-1:123456789012:cluster:keycloak-aurora
    endpoint:
      description: The writer endpoint, for C(KC_DATABASE_URL).
      returned: success
      type: str
      sample: keycloak-aurora.cluster-clhthfqe0h8p.eu-west-1.rds.amazonaws.com
    reader_endpoint:
      description: The reader endpoint, balanced over the readers.
      returned: success
      type: str
      sample: keycloak-aurora.cluster-ro-clhthfqe0h8p.eu-west-1.rds.amazonaws.com
    port:
      description: The port of both endpoints.
      returned: success
      type: int
      sample: 5432
    engine:
      description: The engine.
      returned: success
      type: str
      sample: aurora-postgresql
    engine_version:
      description: The engine version.
      returned: success
      type: str
      sample: "17.5"
    status:
      description: The status of the DB cluster.
      returned: success
      type: str
      sample: available
    database_name:
      description: The database created with the cluster.
      returned: success
      type: str
      sample: keycloak
    master_username:
      description: The master user. The password is never returned.
      returned: success
      type: str
      sample: keycloak
    storage_encrypted:
      description: Whether the storage is encrypted.
      returned: success
      type: bool
      sample: true
    deletion_protection:
      description: Whether the cluster is protected against deletion.
      returned: success
      type: bool
      sample: false
    backup_retention_period:
      description: Days automated backups are kept.
      returned: success
      type: int
      sample: 1
    db_subnet_group:
      description: The DB subnet group.
      returned: success
      type: str
      sample: keycloak-aurora-subnet-group
    vpc_security_groups:
      description: The VPC security groups.
      returned: success
      type: list
      elements: dict
      contains:
        vpc_security_group_id:
          description: The id of the security group.
          returned: success
          type: str
          sample: sg-0d746cc8ad8d2e63b
        status:
          description: The status of the membership.
          returned: success
          type: str
          sample: active
    tags:
      description: The tags of the cluster.
      returned: success
      type: dict
      sample: {"AuroraCluster": "keycloak-aurora"}
    members:
      description: The DB instances of the cluster, sorted by identifier.
      returned: success
      type: list
      elements: dict
      contains:
        db_instance_identifier:
          description: The DB instance identifier.
          returned: success
          type: str
          sample: keycloak-aurora-instance-1
        availability_zone:
          description: The availability zone of the instance.
          returned: success
          type: str
          sample: eu-west-1a
        is_cluster_writer:
          description: Whether the instance is the writer.
          returned: success
          type: bool
          sample: true
        db_instance_class:
          description: The DB instance class.
          returned: success
          type: str
          sample: db.t4g.large
        db_instance_status:
          description: The status of the instance.
          returned: success
          type: str
          sample: available
final_snapshot_identifier:
  description: The final snapshot taken (or, in check mode, to be taken) when deleting the cluster.
  returned: when O(state=absent) deletes a cluster and O(skip_final_snapshot=false)
  type: str
  sample: keycloak-aurora-final-20250101120000
earlier_final_snapshots:
  description:
    - The manual DB cluster snapshots C(<identifier>-final-*) of the cluster name that existed before
      this run, oldest first; the final snapshot of this run is not among them.
    - Delete those you no longer need (C(aws rds delete-db-cluster-snapshot)); AWS keeps them otherwise.
  returned: when O(state=absent) finds the cluster
  type: list
  elements: dict
  contains:
    db_cluster_snapshot_identifier:
      description: The snapshot identifier.
      returned: success
      type: str
      sample: keycloak-aurora-final-20250101120000
    snapshot_create_time:
      description: When the snapshot was taken, ISO 8601.
      returned: success
      type: str
      sample: "2025-01-01T12:00:05.123000+00:00"
    status:
      description: The status of the snapshot.
      returned: success
      type: str
      sample: available
plan:
  description:
    - What the run creates, removes and changes; in check mode, what it would.
  returned: when O(state=present)
  type: dict
  contains:
    create_cluster:
      description: Whether the DB cluster is created (or restored from O(snapshot_identifier)).
      returned: success
      type: bool
      sample: false
    instances:
      description: How many DB instances the cluster is to have.
      returned: success
      type: int
      sample: 2
    create_instances:
      description: The DB instances created, with their availability zones (none when AWS chooses).
      returned: success
      type: list
      elements: dict
      sample: [{"db_instance_identifier": "keycloak-aurora-instance-3", "availability_zone": "eu-west-1c"}]
    remove_instances:
      description: The readers removed.
      returned: success
      type: list
      elements: str
      sample: ["keycloak-aurora-instance-3"]
    change_class:
      description:
        - The DB instances whose class changes to O(instance_class), in the order they are changed, one at a
          time; the writer, when it is one of them, is last.
        - Empty when O(instance_class) is not set or every instance has it.
      returned: success
      type: list
      elements: str
      sample: ["keycloak-aurora-instance-2", "keycloak-aurora-instance-1"]
    failover_to:
      description:
        - The reader that becomes the writer before the old writer's class changes.
        - V(null) when the writer keeps its class, or when no other instance can take over (the writer then
          restarts in place).
      returned: success
      type: str
      sample: keycloak-aurora-instance-2
diff:
  description: The cluster before and after (predicted in check mode).
  returned: in diff mode
  type: dict
  contains:
    before:
      description: The cluster before the run, as in RV(cluster); empty when it did not exist.
      returned: in diff mode
      type: dict
      sample: {}
    after:
      description: The cluster after the run, as in RV(cluster); empty when it was deleted.
      returned: in diff mode
      type: dict
      sample: {"db_cluster_identifier": "keycloak-aurora", "status": "available"}
"""

from ansible.module_utils.common.warnings import warn
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.keycloak.aurora.plugins.module_utils.naming import identifier_error
from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import CLUSTER_OPTIONS
from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import MAX_INSTANCES
from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import AuroraClusterError
from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import check_engine
from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import ensure_cluster_absent
from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import ensure_cluster_present
from ansible_collections.keycloak.aurora.plugins.module_utils.secret import read_master_credentials


def validate(params):
    """Refuse bad input before any request is sent."""
    error = identifier_error(params["identifier"])
    if error:
        raise AuroraClusterError(f"identifier: {error}")
    if params["instances"] is not None and not 1 <= params["instances"] <= MAX_INSTANCES:
        raise AuroraClusterError(f"instances must be between 1 and {MAX_INSTANCES}, got {params['instances']}")
    retention = params["backup_retention_period"]
    if retention is not None and not 1 <= retention <= 35:
        raise AuroraClusterError(f"backup_retention_period must be between 1 and 35, got {retention}")
    if params["wait_timeout"] < 0:
        raise AuroraClusterError(f"wait_timeout must be 0 or more, got {params['wait_timeout']}")
    if params["state"] == "present":
        check_engine(params["engine"], params["engine_version"])


def master_credentials(module):
    """A callable giving ``(username, password)``, called only when a cluster is created from scratch."""
    params = module.params
    username = params["master_username"]
    if params["master_user_password"]:
        return lambda: (username, params["master_user_password"])
    secret_id = params["master_user_password_secret"]
    if not secret_id:
        return None

    def from_secret():
        credentials = read_master_credentials(module.client("secretsmanager"), secret_id, username)
        # Not a module parameter, so no_log does not cover it: mask it by hand.
        module.no_log_values.add(credentials[1])
        return credentials

    return from_secret


def cluster_option(name, **spec):
    """The argument spec of the cluster setting ``name``, with the default CLUSTER_OPTIONS gives it:
    the one home of those defaults, which ensure_cluster_present applies to a setting left out."""
    default = CLUSTER_OPTIONS[name]
    return spec if default is None else dict(spec, default=default)


def run(module):
    params = module.params
    validate(params)
    client = module.client("rds")
    common = dict(
        identifier=params["identifier"],
        check_mode=module.check_mode,
        wait=params["wait"],
        wait_timeout=params["wait_timeout"],
        run_started=params["run_started"],
    )
    result = {}
    if params["state"] == "absent":
        changed, state = ensure_cluster_absent(
            client,
            skip_final_snapshot=params["skip_final_snapshot"],
            final_snapshot_identifier=params["final_snapshot_identifier"],
            **common,
        )
        if state.get("final_snapshot_identifier"):
            result["final_snapshot_identifier"] = state["final_snapshot_identifier"]
        if "earlier_final_snapshots" in state:
            result["earlier_final_snapshots"] = state["earlier_final_snapshots"]
    else:
        changed, state = ensure_cluster_present(
            client,
            master_credentials=master_credentials(module),
            snapshot_identifier=params["snapshot_identifier"],
            # AnsibleModule.warn is exactly this function; AnsibleAWSModule.warn (amazon.aws 10.1) would
            # also copy the warning into the result, which ansible-core 2.19 reports as deprecated.
            warn=warn,
            **{name: params[name] for name in CLUSTER_OPTIONS},
            **common,
        )
    result.update(changed=changed, cluster=state["cluster"])
    if "plan" in state:
        result["plan"] = state["plan"]
    if module._diff:
        result["diff"] = {"before": state["before"], "after": state["after"]}
    module.exit_json(**result)


def main():
    argument_spec = dict(
        identifier=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        engine=cluster_option("engine", type="str", choices=["aurora-postgresql", "aurora-mysql"]),
        engine_version=cluster_option("engine_version", type="str"),
        instances=cluster_option("instances", type="int"),
        instance_class=cluster_option("instance_class", type="str"),
        database_name=cluster_option("database_name", type="str"),
        master_username=cluster_option("master_username", type="str"),
        master_user_password=dict(type="str", no_log=True),
        master_user_password_secret=dict(type="str", no_log=False),
        db_subnet_group_name=cluster_option("db_subnet_group_name", type="str"),
        vpc_security_group_ids=cluster_option("vpc_security_group_ids", type="list", elements="str"),
        snapshot_identifier=dict(type="str"),
        deletion_protection=cluster_option("deletion_protection", type="bool"),
        backup_retention_period=cluster_option("backup_retention_period", type="int"),
        storage_encrypted=cluster_option("storage_encrypted", type="bool"),
        enable_performance_insights=cluster_option("enable_performance_insights", type="bool"),
        auto_minor_version_upgrade=cluster_option("auto_minor_version_upgrade", type="bool"),
        skip_final_snapshot=dict(type="bool", default=False),
        final_snapshot_identifier=dict(type="str"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=3600),
        run_started=dict(type="float"),
        tags=cluster_option("tags", type="dict", aliases=["resource_tags"]),
        purge_tags=cluster_option("purge_tags", type="bool"),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        mutually_exclusive=[["master_user_password", "master_user_password_secret"]],
        supports_check_mode=True,
    )
    try:
        run(module)
    except AnsibleAWSError as e:
        module.fail_json_aws_error(e)


if __name__ == "__main__":
    main()

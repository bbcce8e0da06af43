# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Aurora DB cluster and its DB instances.

The first half holds the AWS calls, one short function each, retried with jittered backoff and
turned into ``AnsibleRDSError`` by the error handler. The second half holds the ``ensure_*``
functions: they take a boto3 RDS client and keyword arguments, return ``(changed, state)`` and
raise ``AnsibleAWSError`` (``AuroraClusterError`` for our own refusals) instead of failing.

``state`` is a dict: ``cluster`` (the summary returned to the user), ``before`` and ``after``
(the summaries for diff mode; ``after`` is the predicted state in check mode) and, for
``state=present``, ``plan`` (what the run creates, removes and changes, see ``plan_summary``).
"""

from __future__ import annotations

import contextlib
import time

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import is_ansible_aws_error_code
from ansible_collections.amazon.aws.plugins.module_utils.rds import AnsibleRDSError
from ansible_collections.amazon.aws.plugins.module_utils.rds import describe_db_cluster_snapshots
from ansible_collections.amazon.aws.plugins.module_utils.rds import describe_db_instances
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError
from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import naming_resource
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import AVAILABLE
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import DELETING
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import DONE
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import FAILED
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import FAILOVER
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import NO_CLASS_CHANGE
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import WAIT
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import class_change_step
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import classify
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import describe_states
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import pending_classes
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import plan_class_change
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import plan_instances
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import spread_over_zones
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import usable_zones
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import wait_progress
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import wanted_count
from ansible_collections.keycloak.aurora.plugins.module_utils.naming import CREATING_TAG
from ansible_collections.keycloak.aurora.plugins.module_utils.naming import cluster_tags
from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import deadline
from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import outlast
from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import poll_delay
from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import timed_out_after
from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import wait_patiently

DEFAULT_ENGINE = "aurora-postgresql"
# An aurora-postgresql version: never sent with another engine.
DEFAULT_ENGINE_VERSION = "17.5"
DEFAULT_INSTANCE_CLASS = "db.t4g.large"
MAX_INSTANCES = 16
# Seconds between two polls while waiting: clusters and instances take minutes on AWS.
POLL_DELAY = poll_delay(15)
# What RDS answers while a cluster or an instance is in a transition (creating, modifying, deleting,
# its members not all deleting yet): outlasted until the run's deadline (waiting.outlast).
CLUSTER_STATE_FAULT = "InvalidDBClusterStateFault"
INSTANCE_STATE_FAULTS = ("InvalidDBInstanceState", "InvalidDBInstanceStateFault")
SNAPSHOT_STATE_FAULT = "InvalidDBClusterSnapshotStateFault"
# A zone out of capacity for an instance class answers every retry the same way for a while.
NO_CAPACITY = "InsufficientDBInstanceCapacity"
SNAPSHOT_QUOTA_EXCEEDED = "SnapshotQuotaExceeded"


class AuroraClusterError(AuroraError):
    """Bad input or a state this collection will not converge; its message is the whole story."""

    def __init__(self, message):
        super().__init__(message=message)


class AuroraErrorHandler(AWSErrorHandler):
    """The error handler of every RDS call of the collection: DB clusters, instances and subnet groups."""

    _CUSTOM_EXCEPTION = AnsibleRDSError

    @classmethod
    def _is_missing(cls):
        # The codes RDS really sends; amazon.aws's RDSErrorHandler misses the *Fault spellings.
        return is_boto3_error_code(
            [
                "DBClusterNotFoundFault",
                "DBInstanceNotFound",
                "DBInstanceNotFoundFault",
                "DBSubnetGroupNotFoundFault",
            ]
        )


# ---------------------------------------------------------------------------------------------
# AWS calls
# ---------------------------------------------------------------------------------------------


@AuroraErrorHandler.list_error_handler("describe DB cluster", None)
@AWSRetry.jittered_backoff()
def describe_db_cluster(client, identifier):
    clusters = client.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
    return clusters[0] if clusters else None


def describe_cluster_instances(client, identifier):
    return describe_db_instances(client, Filters=[{"Name": "db-cluster-id", "Values": [identifier]}])


@AuroraErrorHandler.list_error_handler("describe DB subnet group", None)
@AWSRetry.jittered_backoff()
def describe_db_subnet_group(client, name):
    groups = client.describe_db_subnet_groups(DBSubnetGroupName=name)["DBSubnetGroups"]
    return groups[0] if groups else None


def describe_cluster_snapshot(client, snapshot_identifier):
    snapshots = describe_db_cluster_snapshots(client, DBClusterSnapshotIdentifier=snapshot_identifier)
    return snapshots[0] if snapshots else None


def describe_final_snapshots(client, identifier):
    """The manual snapshots of the cluster named ``<identifier>-final-...``, oldest first.

    Every delete with a final snapshot adds one, and AWS keeps them (and counts them against the
    account's snapshot quota) until someone deletes them.
    """
    prefix = final_snapshot_prefix(identifier)
    snapshots = describe_db_cluster_snapshots(client, DBClusterIdentifier=identifier, SnapshotType="manual")
    finals = [s for s in snapshots if s["DBClusterSnapshotIdentifier"].lower().startswith(prefix)]
    # A snapshot still being created may have no SnapshotCreateTime yet: it is the newest.
    return sorted(
        finals,
        key=lambda s: (
            s.get("SnapshotCreateTime") is None,
            s.get("SnapshotCreateTime") or 0,
            s["DBClusterSnapshotIdentifier"],
        ),
    )


@AuroraErrorHandler.common_error_handler("create DB cluster")
@AWSRetry.jittered_backoff()
def create_db_cluster(client, **params):
    return client.create_db_cluster(**params)["DBCluster"]


@AuroraErrorHandler.common_error_handler("restore DB cluster from snapshot")
@AWSRetry.jittered_backoff()
def restore_db_cluster_from_snapshot(client, **params):
    return client.restore_db_cluster_from_snapshot(**params)["DBCluster"]


@AuroraErrorHandler.common_error_handler("modify DB cluster")
@AWSRetry.jittered_backoff()
def modify_db_cluster(client, **params):
    return client.modify_db_cluster(**params)["DBCluster"]


@AuroraErrorHandler.deletion_error_handler("delete DB cluster")
@AWSRetry.jittered_backoff()
def delete_db_cluster(client, **params):
    client.delete_db_cluster(**params)
    return True


@AuroraErrorHandler.common_error_handler("fail over DB cluster")
@AWSRetry.jittered_backoff()
def failover_db_cluster(client, **params):
    return client.failover_db_cluster(**params)["DBCluster"]


@AuroraErrorHandler.common_error_handler("create DB instance")
@AWSRetry.jittered_backoff()
def create_db_instance(client, **params):
    return client.create_db_instance(**params)["DBInstance"]


@AuroraErrorHandler.common_error_handler("modify DB instance")
@AWSRetry.jittered_backoff()
def modify_db_instance(client, **params):
    return client.modify_db_instance(**params)["DBInstance"]


@AuroraErrorHandler.deletion_error_handler("delete DB instance")
@AWSRetry.jittered_backoff()
def delete_db_instance(client, **params):
    client.delete_db_instance(**params)
    return True


@AuroraErrorHandler.common_error_handler("tag DB cluster")
@AWSRetry.jittered_backoff()
def add_tags_to_resource(client, arn, tags):
    client.add_tags_to_resource(ResourceName=arn, Tags=ansible_dict_to_boto3_tag_list(tags))


@AuroraErrorHandler.common_error_handler("untag DB cluster")
@AWSRetry.jittered_backoff()
def remove_tags_from_resource(client, arn, keys):
    client.remove_tags_from_resource(ResourceName=arn, TagKeys=list(keys))


def wait_for_cluster(
    client,
    identifier,
    *,
    deleted=False,
    remaining,
    delay=POLL_DELAY,
    budget=None,
    sleep=time.sleep,
    clock=time.monotonic,
):
    """Wait with botocore's own waiter until the cluster is available (or gone).

    ``remaining`` is what is left of ``budget``, the user's wait_timeout for the whole run.
    """
    waiter_name = "db_cluster_deleted" if deleted else "db_cluster_available"
    goal = "deleted" if deleted else "available"

    def explain(error):
        response = error.last_response or {}
        if (response.get("Error") or {}).get("Code"):
            return None  # an AWS error (permissions, credentials): the generic message names it
        status = ((response.get("DBClusters") or [{}])[0]).get("Status", "unknown")
        if "Max attempts exceeded" in str(error):
            return AuroraClusterError(
                f"{timed_out_after(remaining, budget)} waiting for DB cluster {identifier} to be {goal}: it is {status}"
            )
        return AuroraClusterError(f"DB cluster {identifier} did not become {goal}: it is {status}")

    try:
        wait_patiently(
            client,
            waiter_name,
            what=f"DB cluster {identifier} to be {goal}",
            remaining=remaining,
            delay=delay,
            explain=explain,
            sleep=sleep,
            clock=clock,
            DBClusterIdentifier=identifier,
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        raise AnsibleRDSError(message=f"Failed to wait for DB cluster {identifier} to be {goal}", exception=e) from e


def wait_for_members(
    client,
    identifier,
    *,
    available=(),
    gone=(),
    instance_class=None,
    writer=None,
    remaining,
    delay=POLL_DELAY,
    sleep=time.sleep,
    clock=time.monotonic,
    budget=None,
):
    """Wait once, for the cluster to be available and for all its instances to be where they should be.

    Each round is one DescribeDBClusters and one DescribeDBInstances: instances requested right after
    the cluster come up with it, so one loop waits for everything, not the cluster and then each
    instance. ``instance_class`` and ``writer`` are as in ``wait_progress``. An instance or the cluster
    in a failed state fails the wait at once; the timeout names the cluster's state and every instance
    still on its way. ``remaining`` is what is left of ``budget``, the user's wait_timeout for the run.
    """
    end = clock() + remaining
    while True:
        cluster = describe_db_cluster(client, identifier)
        status = cluster.get("Status") if cluster else "missing"
        if classify(status) == FAILED:
            raise AuroraClusterError(f"DB cluster {identifier} is {status} and does not become available on its own")
        members = _members(cluster or {}, describe_cluster_instances(client, identifier))
        progress = wait_progress(members, available=available, gone=gone, instance_class=instance_class, writer=writer)
        if progress.failed:
            raise AuroraClusterError(
                f"DB instances of cluster {identifier} are in a state they will not leave on their own: "
                f"{describe_states(progress.failed)}"
            )
        if progress.done and status == AVAILABLE:
            return members
        left = end - clock()
        if left <= 0:
            gone_ids = set(i.lower() for i in gone)
            not_available = [p for p in progress.pending if p[0].lower() not in gone_ids]
            not_gone = [p for p in progress.pending if p[0].lower() in gone_ids]
            parts = [f"the cluster is {status}"]
            if not_available:
                parts.append(f"not available yet: {describe_states(not_available)}")
            if not_gone:
                parts.append(f"not deleted yet: {describe_states(not_gone)}")
            raise AuroraClusterError(
                f"{timed_out_after(remaining, budget)} waiting for "
                f"DB cluster {identifier} and its instances; " + "; ".join(parts) + ". AWS goes on without this run: "
                "run again to wait for the rest"
            )
        sleep(min(delay, left))


# ---------------------------------------------------------------------------------------------
# Requests AWS refuses during a transition: outlasted until the run's deadline
# ---------------------------------------------------------------------------------------------


def _status_of_cluster(client, identifier):
    cluster = describe_db_cluster(client, identifier)
    return cluster.get("Status", "unknown") if cluster else "gone"


def _status_of_instance(client, cluster_id, instance_id):
    instances = describe_cluster_instances(client, cluster_id)
    found = [i for i in instances if _same_identifier(i["DBInstanceIdentifier"], instance_id)]
    return found[0].get("DBInstanceStatus", "unknown") if found else "gone"


def _outlasting(call, *, codes, what, state, budget, time_left, delay, sleep, progress=None):
    """``call()``, repeated while AWS refuses it with a state fault among ``codes`` (waiting.outlast).

    ``what`` says what the call does, ``state()`` what held it up, both for the message when the run's
    deadline passes.
    """

    def timed_out(error):
        code = error.exception.response["Error"]["Code"]
        return AuroraClusterError(
            f"{timed_out_after(budget=budget)} waiting to {what}: {state()} ({code}). "
            "AWS goes on without this run: run again later"
        )

    return outlast(
        call, codes=codes, time_left=time_left, delay=delay, sleep=sleep, timed_out=timed_out, progress=progress
    )


def modify_cluster_when_ready(client, identifier, changes, **waiting):
    """ModifyDBCluster, once the cluster has left ``creating`` (or any other transition)."""
    return _outlasting(
        lambda: modify_db_cluster(client, DBClusterIdentifier=identifier, ApplyImmediately=True, **changes),
        codes=[CLUSTER_STATE_FAULT],
        what=f"modify DB cluster {identifier}",
        state=lambda: f"it is {_status_of_cluster(client, identifier)}",
        **waiting,
    )


def modify_instance_when_ready(client, cluster_id, instance_id, instance_class, **waiting):
    """ModifyDBInstance of the class, once the instance (and its cluster) can take it."""
    return _outlasting(
        lambda: modify_db_instance(
            client, DBInstanceIdentifier=instance_id, DBInstanceClass=instance_class, ApplyImmediately=True
        ),
        codes=[CLUSTER_STATE_FAULT, *INSTANCE_STATE_FAULTS],
        what=f"change the class of DB instance {instance_id}",
        state=lambda: f"it is {_status_of_instance(client, cluster_id, instance_id)}",
        **waiting,
    )


def failover_when_ready(client, cluster_id, target, **waiting):
    """FailoverDBCluster to the reader ``target``, once the cluster and the target can take it."""
    return _outlasting(
        lambda: failover_db_cluster(client, DBClusterIdentifier=cluster_id, TargetDBInstanceIdentifier=target),
        codes=[CLUSTER_STATE_FAULT, *INSTANCE_STATE_FAULTS],
        what=f"fail over DB cluster {cluster_id} to {target}",
        state=lambda: (
            f"the cluster is {_status_of_cluster(client, cluster_id)}, "
            f"{target} is {_status_of_instance(client, cluster_id, target)}"
        ),
        **waiting,
    )


def create_instance_when_ready(client, params, **waiting):
    """CreateDBInstance; AWS takes it while the cluster is ``creating``, and refuses it in some other states."""
    cluster_id = params["DBClusterIdentifier"]
    return _outlasting(
        lambda: create_db_instance(client, **params),
        codes=[CLUSTER_STATE_FAULT],
        what=f"create DB instance {params['DBInstanceIdentifier']}",
        state=lambda: f"DB cluster {cluster_id} is {_status_of_cluster(client, cluster_id)}",
        **waiting,
    )


def restore_when_ready(client, params, **waiting):
    """RestoreDBClusterFromSnapshot, once the snapshot is available: a final snapshot is ``creating``
    while its cluster is being deleted."""
    snapshot_id = params["SnapshotIdentifier"]

    def snapshot_state():
        snapshot = describe_cluster_snapshot(client, snapshot_id)
        return f"DB cluster snapshot {snapshot_id} is {snapshot.get('Status') if snapshot else 'gone'}"

    return _outlasting(
        lambda: restore_db_cluster_from_snapshot(client, **params),
        codes=[SNAPSHOT_STATE_FAULT],
        what=f"restore DB cluster {params['DBClusterIdentifier']}",
        state=snapshot_state,
        **waiting,
    )


def delete_instance_once(client, cluster_id, instance_id, **waiting):
    """DeleteDBInstance; an instance already being deleted (or gone) is progress, not an error."""
    return _outlasting(
        lambda: delete_db_instance(client, DBInstanceIdentifier=instance_id),
        codes=INSTANCE_STATE_FAULTS,
        what=f"delete DB instance {instance_id}",
        state=lambda: f"it is {_status_of_instance(client, cluster_id, instance_id)}",
        progress=lambda _error: _status_of_instance(client, cluster_id, instance_id) in (DELETING, "gone"),
        **waiting,
    )


def delete_cluster_once(client, params, **waiting):
    """DeleteDBCluster as soon as AWS takes it: once every member is ``deleting``, not once they are gone.

    A cluster already being deleted (or gone) is progress, not an error.
    """
    identifier = params["DBClusterIdentifier"]

    def members_state():
        states = [
            (i["DBInstanceIdentifier"], i.get("DBInstanceStatus", "unknown"))
            for i in describe_cluster_instances(client, identifier)
        ]
        return f"it is {_status_of_cluster(client, identifier)}" + (
            f", its instances: {describe_states(states)}" if states else ""
        )

    return _outlasting(
        lambda: delete_db_cluster(client, **params),
        codes=[CLUSTER_STATE_FAULT],
        what=f"delete DB cluster {identifier}",
        state=members_state,
        progress=lambda _error: _status_of_cluster(client, identifier) in (DELETING, "gone"),
        **waiting,
    )


# ---------------------------------------------------------------------------------------------
# The instance class, changed one instance at a time
# ---------------------------------------------------------------------------------------------


def change_classes(client, identifier, instance_class, excluded, *, wait, budget, time_left, delay, sleep, clock):
    """Give the ``<identifier>-instance-N`` instances the class ``instance_class``, one at a time.

    Each step is decided from what AWS shows then (``class_change_step``), so a change an earlier run
    left half done goes on from where it is: a reader's class, waited for until it is available with
    the new class; the failover to a reader of the new class, waited for until that reader is the
    writer; the old writer's class last. ``excluded`` are the readers this run removes. Every wait
    takes from the run's one deadline (``time_left``). Without ``wait`` only the next step is taken,
    none while the one before is still under way.
    """
    outlasting = dict(budget=budget, time_left=time_left, delay=delay, sleep=sleep)
    while True:
        cluster = describe_db_cluster(client, identifier) or {}
        members = _members(cluster, describe_cluster_instances(client, identifier))
        step = class_change_step(identifier, cluster.get("Status"), members, instance_class, excluded)
        if step.action == DONE or (step.action == WAIT and not wait):
            return
        if step.action == WAIT:
            # Waited for until available, and with the class a change under way gives it.
            outcome = {"available": step.identifiers, "instance_class": pending_classes(members, step.identifiers)}
        elif step.action == FAILOVER:
            [target] = step.identifiers
            failover_when_ready(client, identifier, target, **outlasting)
            outcome = {"available": [target], "writer": target}
        else:
            [instance_id] = step.identifiers
            modify_instance_when_ready(client, identifier, instance_id, instance_class, **outlasting)
            outcome = {"available": [instance_id], "instance_class": {instance_id: instance_class}}
        if not wait:
            return
        wait_for_members(
            client,
            identifier,
            remaining=time_left(),
            delay=delay,
            sleep=sleep,
            clock=clock,
            budget=budget,
            **outcome,
        )


def class_change_warnings(identifier, change, members, instance_class):
    """What a class change says before it starts, in check mode too: a restart of the writer is never a surprise."""
    warnings = []
    if change.writer and not change.failover_to:
        warnings.append(
            f"instance_class={instance_class} (aurora_instance_class in the playbooks): DB cluster {identifier} has "
            f"no other instance to take over from its writer {change.writer}, so changing its class restarts the "
            "writer, and Keycloak loses its database until it is available again (minutes). With a reader "
            "(aurora_instances=2) the reader would take over first"
        )
    # Only when no reader of the new class can take over (see plan_class_change).
    target = next((m for m in members if m["id"] == change.failover_to and m["id"] not in change.order), None)
    if target and instance_class not in (target["instance_class"], target.get("pending_class")):
        warnings.append(
            f"DB instance {target['id']} becomes the writer of DB cluster {identifier} and keeps its class "
            f"{target['instance_class']}: only instances named {identifier}-instance-N are changed"
        )
    return warnings


# ---------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------


def _member(instance, writers=None):
    identifier = instance["DBInstanceIdentifier"]
    return {
        "id": identifier,
        "az": instance.get("AvailabilityZone"),
        "writer": bool((writers or {}).get(identifier.lower())),
        "status": instance.get("DBInstanceStatus", "unknown"),
        "instance_class": instance.get("DBInstanceClass"),
        "pending_class": (instance.get("PendingModifiedValues") or {}).get("DBInstanceClass"),
    }


def _members(cluster, instances):
    writers = dict(
        (m["DBInstanceIdentifier"].lower(), m.get("IsClusterWriter", False))
        for m in cluster.get("DBClusterMembers") or []
    )
    return [_member(i, writers) for i in instances]


def _member_summary(member):
    return {
        "db_instance_identifier": member["id"],
        "availability_zone": member["az"],
        "is_cluster_writer": member["writer"],
        "db_instance_class": member["instance_class"],
        "db_instance_status": member["status"],
    }


def cluster_summary(cluster, instances):
    """The ``cluster`` result: what Keycloak and the playbooks need, never a password."""
    if not cluster:
        return {}
    return {
        "db_cluster_identifier": cluster.get("DBClusterIdentifier"),
        "db_cluster_arn": cluster.get("DBClusterArn"),
        "endpoint": cluster.get("Endpoint"),
        "reader_endpoint": cluster.get("ReaderEndpoint"),
        "port": cluster.get("Port"),
        "engine": cluster.get("Engine"),
        "engine_version": cluster.get("EngineVersion"),
        "status": cluster.get("Status"),
        "database_name": cluster.get("DatabaseName"),
        "master_username": cluster.get("MasterUsername"),
        "storage_encrypted": cluster.get("StorageEncrypted"),
        "deletion_protection": cluster.get("DeletionProtection"),
        "backup_retention_period": cluster.get("BackupRetentionPeriod"),
        "db_subnet_group": cluster.get("DBSubnetGroup"),
        "vpc_security_groups": [camel_dict_to_snake_dict(g) for g in cluster.get("VpcSecurityGroups") or []],
        "tags": boto3_tag_list_to_ansible_dict(cluster.get("TagList") or []),
        "members": sorted(
            (_member_summary(m) for m in _members(cluster, instances)), key=lambda m: m["db_instance_identifier"]
        ),
    }


def final_snapshot_prefix(identifier):
    # RDS stores snapshot identifiers in lower case, whatever case they were given in.
    return f"{identifier}-final-".lower()


def default_final_snapshot_identifier(identifier, now=None):
    """``<c>-final-<UTC YYYYmmddHHMMSS>``; ``now`` is a ``time.struct_time`` in UTC."""
    return f"{final_snapshot_prefix(identifier)}{time.strftime('%Y%m%d%H%M%S', now or time.gmtime())}"


def _snapshot_summary(snapshot):
    return {
        "db_cluster_snapshot_identifier": snapshot["DBClusterSnapshotIdentifier"],
        "snapshot_create_time": snapshot["SnapshotCreateTime"].isoformat()
        if snapshot.get("SnapshotCreateTime")
        else None,
        "status": snapshot.get("Status"),
    }


def _same_identifier(first, second):
    """RDS stores cluster, instance, subnet group and snapshot identifiers in lower case."""
    return (first or "").lower() == (second or "").lower()


def check_engine(engine, engine_version):
    """Refuse to send the default aurora-postgresql version with another engine."""
    if engine != DEFAULT_ENGINE and not engine_version:
        raise AuroraClusterError(
            f"engine={engine} needs engine_version: the default {DEFAULT_ENGINE_VERSION} is a version of "
            f"{DEFAULT_ENGINE}, the engine this collection is made for"
        )


def _subnet_group_azs(client, name):
    group = describe_db_subnet_group(client, name) if name else None
    if not group:
        return []
    return sorted(
        set(
            s["SubnetAvailabilityZone"]["Name"]
            for s in group.get("Subnets") or []
            if (s.get("SubnetAvailabilityZone") or {}).get("Name")
        )
    )


# ---------------------------------------------------------------------------------------------
# ensure_*
# ---------------------------------------------------------------------------------------------


def _no_warn(_message):
    return None


# The settings ensure_cluster_present converges the cluster to, each with its default: the one list of
# them and the one home of their defaults, which aurora_cluster's options of the same names take.
CLUSTER_OPTIONS = dict(
    engine=DEFAULT_ENGINE,
    engine_version=None,
    instances=None,
    instance_class=None,
    database_name="keycloak",
    master_username="keycloak",
    db_subnet_group_name=None,
    vpc_security_group_ids=None,
    deletion_protection=None,
    backup_retention_period=None,
    storage_encrypted=True,
    enable_performance_insights=True,
    auto_minor_version_upgrade=False,
    tags=None,
    purge_tags=True,
)


def ensure_cluster_present(
    client,
    *,
    identifier,
    master_credentials=None,
    snapshot_identifier=None,
    check_mode=False,
    wait=True,
    wait_timeout=3600,
    run_started=None,
    warn=_no_warn,
    delay=POLL_DELAY,
    sleep=time.sleep,
    clock=time.monotonic,
    **options,
):
    """Create (or restore) the cluster when missing, then converge its settings and instances.

    ``instances`` None keeps the count of an existing cluster and gives a new one two (see
    ``wanted_count``). ``master_credentials`` is a callable returning ``(username, password)``; it
    is called only when the cluster is created from scratch, so a secret is read only when it is needed.
    ``options`` are the settings named in ``CLUSTER_OPTIONS``; one left out takes its default there.
    """
    unknown = sorted(set(options) - set(CLUSTER_OPTIONS))
    if unknown:
        raise TypeError(f"ensure_cluster_present() got unknown options {unknown}")
    desired = {**CLUSTER_OPTIONS, **options, "identifier": identifier}
    instances = desired["instances"]
    if instances is not None and not 1 <= instances <= MAX_INSTANCES:
        raise AuroraClusterError(f"instances must be between 1 and {MAX_INSTANCES}, got {instances}")
    check_engine(desired["engine"], desired["engine_version"])
    time_left = deadline(wait_timeout, clock, run_started)
    waiting = dict(wait=wait, budget=wait_timeout, time_left=time_left, delay=delay, sleep=sleep, clock=clock)

    # moto overwrites a cluster on a second CreateDBCluster, AWS refuses it: look first, always.
    cluster = describe_db_cluster(client, identifier)
    if cluster is not None:
        return _converge(client, cluster, desired, created=False, check_mode=check_mode, warn=warn, **waiting)

    if snapshot_identifier:
        if describe_cluster_snapshot(client, snapshot_identifier) is None:
            raise AuroraClusterError(
                f"snapshot_identifier: DB cluster snapshot {snapshot_identifier} does not exist, "
                f"so DB cluster {identifier} cannot be restored from it"
            )
    elif master_credentials is None:
        raise AuroraClusterError(
            f"DB cluster {identifier} does not exist: to create it, set master_user_password or "
            "master_user_password_secret (or restore it with snapshot_identifier)"
        )

    if check_mode:
        # Predicted as RDS will store them: in lower case.
        subnet_group = (desired["db_subnet_group_name"] or "default").lower()
        wanted = wanted_count(instances, [])
        plan = plan_instances(identifier.lower(), wanted, [], _subnet_group_azs(client, subnet_group))
        after = _predicted_new(desired, plan, subnet_group, snapshot_identifier)
        return True, {"cluster": {}, "before": {}, "after": after, "plan": plan_summary(plan, wanted, created=True)}

    creating = {CREATING_TAG: str(wanted_count(instances, []))}
    cluster_tag_list = ansible_dict_to_boto3_tag_list({**cluster_tags(identifier, desired["tags"]), **creating})
    params = {"DBClusterIdentifier": identifier, "Engine": desired["engine"], "Tags": cluster_tag_list}
    if desired["db_subnet_group_name"]:
        params["DBSubnetGroupName"] = desired["db_subnet_group_name"]
    if desired["vpc_security_group_ids"] is not None:
        params["VpcSecurityGroupIds"] = list(desired["vpc_security_group_ids"])
    params["DeletionProtection"] = bool(desired["deletion_protection"])
    if snapshot_identifier:
        # The snapshot decides the engine version, database, user, password and encryption.
        params["SnapshotIdentifier"] = snapshot_identifier
        if desired["engine_version"]:
            params["EngineVersion"] = desired["engine_version"]
        with naming_resource(f"DB cluster {identifier} from snapshot {snapshot_identifier}"):
            cluster = restore_when_ready(
                client, params, budget=wait_timeout, time_left=time_left, delay=delay, sleep=sleep
            )
    else:
        username, password = master_credentials()
        params.update(
            EngineVersion=desired["engine_version"] or DEFAULT_ENGINE_VERSION,
            DatabaseName=desired["database_name"],
            MasterUsername=username,
            MasterUserPassword=password,
            StorageEncrypted=bool(desired["storage_encrypted"]),
        )
        if desired["backup_retention_period"] is not None:
            params["BackupRetentionPeriod"] = desired["backup_retention_period"]
        with naming_resource(f"DB cluster {identifier}"):
            cluster = create_db_cluster(client, **params)
    _changed, state = _converge(client, cluster, desired, created=True, check_mode=False, warn=warn, **waiting)
    state["before"] = {}
    return True, state


def _check_adoptable(cluster, desired, warn):
    identifier = cluster["DBClusterIdentifier"]
    status = cluster.get("Status")
    if status == DELETING:
        raise AuroraClusterError(f"DB cluster {identifier} is being deleted; run again once it is gone")
    if cluster.get("Engine") != desired["engine"]:
        raise AuroraClusterError(
            f"DB cluster {identifier} runs engine {cluster.get('Engine')}, not engine={desired['engine']}; "
            "the engine of a cluster cannot be changed"
        )
    version = desired["engine_version"]
    if version and cluster.get("EngineVersion") != version:
        raise AuroraClusterError(
            f"DB cluster {identifier} runs engine version {cluster.get('EngineVersion')}, not "
            f"aurora_engine_version (engine_version) {version}; this module does not upgrade clusters: upgrade it "
            "yourself (aws rds modify-db-cluster --engine-version) or drop aurora_engine_version to adopt it as it is"
        )
    if bool(cluster.get("StorageEncrypted")) != bool(desired["storage_encrypted"]):
        state = "encrypted" if cluster.get("StorageEncrypted") else "not encrypted"
        warn(
            f"DB cluster {identifier} is {state} although storage_encrypted={desired['storage_encrypted']}; "
            "storage encryption of an existing cluster cannot be changed in place, so it is left as it is"
        )
    group = desired["db_subnet_group_name"]
    if group and not _same_identifier(cluster.get("DBSubnetGroup"), group):
        warn(
            f"DB cluster {identifier} uses DB subnet group {cluster.get('DBSubnetGroup')}, not {group}; "
            "the subnet group of an existing cluster is left as it is"
        )
    for option, key in (("database_name", "DatabaseName"), ("master_username", "MasterUsername")):
        if cluster.get(key) and desired[option] and cluster[key] != desired[option]:
            warn(
                f"DB cluster {identifier} has {option} {cluster[key]}, not {desired[option]}; "
                "this cannot be changed in place, so it is left as it is"
            )


def _cluster_changes(cluster, desired):
    changes = {}
    protection = desired["deletion_protection"]
    if protection is not None and bool(cluster.get("DeletionProtection")) != protection:
        changes["DeletionProtection"] = protection
    retention = desired["backup_retention_period"]
    if retention is not None and cluster.get("BackupRetentionPeriod") != retention:
        changes["BackupRetentionPeriod"] = retention
    groups = desired["vpc_security_group_ids"]
    current_groups = set(g["VpcSecurityGroupId"] for g in cluster.get("VpcSecurityGroups") or [])
    if groups is not None and set(groups) != current_groups:
        changes["VpcSecurityGroupIds"] = sorted(set(groups))
    return changes


def _tag_changes(cluster, desired):
    if desired["tags"] is None:
        return {}, []
    # The creation marker is the run's own bookkeeping, not one of the user's tags: never purged here.
    current = boto3_tag_list_to_ansible_dict(cluster.get("TagList") or [])
    current.pop(CREATING_TAG, None)
    return compare_aws_tags(current, cluster_tags(desired["identifier"], desired["tags"]), desired["purge_tags"])


def _creating_count(cluster):
    """The instance count of this collection's unfinished creation of ``cluster``, or None."""
    value = boto3_tag_list_to_ansible_dict(cluster.get("TagList") or []).get(CREATING_TAG)
    return int(value) if value and value.isdigit() else None


def _converge(
    client,
    cluster,
    desired,
    *,
    created,
    check_mode,
    warn,
    wait,
    budget,
    time_left,
    delay,
    sleep,
    clock,
):
    identifier = cluster["DBClusterIdentifier"]
    _check_adoptable(cluster, desired, warn)

    instances = describe_cluster_instances(client, identifier) if not created else []
    members = _members(cluster, instances)
    # A cluster created by this run carries the marker too, whether or not AWS's answer shows its tags.
    creating = wanted_count(desired["instances"], []) if created else _creating_count(cluster)
    wanted = wanted_count(desired["instances"], members, creating)
    plan = plan_instances(identifier, wanted, members, [])
    zones = []
    if plan.create:
        # Zones matter only for new instances: spare the call otherwise.
        zones = usable_zones(cluster.get("AvailabilityZones"), _subnet_group_azs(client, cluster.get("DBSubnetGroup")))
        plan = plan_instances(identifier, wanted, members, zones)
    if plan.shortfall:
        raise AuroraClusterError(
            f"instances={desired['instances']}: DB cluster {identifier} would still have {plan.shortfall} "
            f"instance(s) too many; only readers named {identifier}-instance-N are removed, never the writer, "
            f"and these instances are left alone: {', '.join(plan.unmanaged) or 'none'}"
        )
    if plan.delete:
        # Said before anything is removed, and the same in check mode: a removal is never a surprise.
        warn(removal_message(identifier, wanted, members, plan))
    cluster_changes = _cluster_changes(cluster, desired)
    tags_to_set, tags_to_unset = _tag_changes(cluster, desired)
    change = plan_class_change(identifier, members, desired["instance_class"], excluded=plan.delete)
    # Said before anything changes, and the same in check mode.
    for message in class_change_warnings(identifier, change, members, desired["instance_class"]):
        warn(message)
    new_class = desired["instance_class"] or DEFAULT_INSTANCE_CLASS
    existing_classes = set(m["instance_class"] for m in members if m["status"] != DELETING and m["instance_class"])
    if plan.create and not desired["instance_class"] and existing_classes - {new_class}:
        warn(
            f"new instances of DB cluster {identifier} get class {new_class} while its members use "
            f"{', '.join(sorted(existing_classes))}; set instance_class to choose"
        )
    changed = created or bool(
        cluster_changes or tags_to_set or tags_to_unset or plan.create or plan.delete or change.order
    )
    before = cluster_summary(cluster, instances)
    planned = plan_summary(plan, wanted, change, created=created)

    if check_mode:
        after = _predicted(before, cluster_changes, tags_to_set, tags_to_unset, plan, change, new_class)
        return changed, {"cluster": before, "before": before, "after": after, "plan": planned}

    if wait and classify(cluster.get("Status")) == FAILED:
        raise AuroraClusterError(
            f"DB cluster {identifier} is {cluster.get('Status')} and does not become available on its own"
        )
    # AWS's critical path: the instances are requested at once, also while the cluster is still
    # creating (AWS accepts them then, as the documented procedure does), and everything is waited for
    # once at the end. Only what AWS refuses during a transition waits for it, against the one deadline.
    outlasting = dict(budget=budget, time_left=time_left, delay=delay, sleep=sleep)
    arn = cluster["DBClusterArn"]
    if tags_to_unset:
        remove_tags_from_resource(client, arn, tags_to_unset)
    if tags_to_set:
        add_tags_to_resource(client, arn, tags_to_set)

    instance_params = {
        "DBClusterIdentifier": identifier,
        "DBInstanceClass": new_class,
        "Engine": cluster["Engine"],
        "AutoMinorVersionUpgrade": bool(desired["auto_minor_version_upgrade"]),
        "EnablePerformanceInsights": bool(desired["enable_performance_insights"]),
        "PubliclyAccessible": False,
        "Tags": ansible_dict_to_boto3_tag_list(cluster_tags(identifier, desired["tags"])),
    }
    _create_instances(client, cluster, plan.create, members, zones, instance_params, warn, outlasting)
    if cluster_changes:
        modify_cluster_when_ready(client, identifier, cluster_changes, **outlasting)
    # Aurora instances never take a final snapshot: the cluster volume outlives them.
    for instance_id in plan.delete:
        delete_instance_once(client, identifier, instance_id, **outlasting)
    # Last, as it waits between its steps: the instances above come up (or go) meanwhile.
    if change.order:
        change_classes(client, identifier, desired["instance_class"], plan.delete, wait=wait, clock=clock, **outlasting)

    waited = False
    if wait:
        keep = [m["id"] for m in members if m["status"] != DELETING and m["id"] not in plan.delete]
        keep += [instance_id for instance_id, _az in plan.create]
        gone = list(plan.delete) + [m["id"] for m in members if m["status"] == DELETING]
        expected_class = dict((i, desired["instance_class"]) for i in change.order)
        progress = wait_progress(members, available=keep, gone=gone, instance_class=expected_class)
        if changed or not progress.done or cluster.get("Status") != AVAILABLE:
            wait_for_members(
                client,
                identifier,
                available=keep,
                gone=gone,
                instance_class=expected_class,
                remaining=time_left(),
                delay=delay,
                sleep=sleep,
                clock=clock,
                budget=budget,
            )
            waited = True
        if creating is not None:
            # Every instance is available: the creation is finished, and from now on the cluster keeps its count.
            remove_tags_from_resource(client, arn, [CREATING_TAG])
            changed = True
    if changed or waited:
        cluster = describe_db_cluster(client, identifier) or cluster
        instances = describe_cluster_instances(client, identifier)
    after = cluster_summary(cluster, instances)
    return changed, {"cluster": after, "before": before, "after": after, "plan": planned}


def removal_message(identifier, wanted, members, plan):
    """Name the readers a smaller ``instances`` removes, and the variable that asked for it."""
    active = sum(1 for m in members if m["status"] != DELETING)
    return (
        f"instances={wanted} (aurora_instances in the playbooks) removes {len(plan.delete)} of the {active} "
        f"instances of DB cluster {identifier}: {', '.join(plan.delete)}"
    )


def plan_summary(plan, wanted, change=NO_CLASS_CHANGE, *, created):
    """The ``plan`` result: what this run creates (or, in check mode, would create), removes and changes."""
    return {
        "create_cluster": created,
        "instances": wanted,
        "create_instances": [{"db_instance_identifier": i, "availability_zone": az} for i, az in plan.create],
        "remove_instances": list(plan.delete),
        "change_class": list(change.order),
        "failover_to": change.failover_to,
    }


def _create_instances(client, cluster, planned, members, zones, params, warn, outlasting):
    """Create the ``planned`` instances back to back, with no wait in between: they come up in parallel.

    A zone without capacity for the instance class is left out for the rest of the run, and the
    instances not created yet are spread again over the other ``zones``: the instance moves
    instead of failing the same way on every run, and the instances stay in different zones.
    """
    identifier = cluster["DBClusterIdentifier"]
    instance_class = params["DBInstanceClass"]
    placed = [m for m in members if m["status"] != DELETING]
    refused = []
    moved = set()
    pending = list(planned)
    while pending:
        instance_id, az = pending[0]
        try:
            placement = {"AvailabilityZone": az} if az else {}
            create_instance_when_ready(
                client, dict(params, DBInstanceIdentifier=instance_id, **placement), **outlasting
            )
        except is_ansible_aws_error_code(NO_CAPACITY) as e:
            if not az:
                where = "the zone AWS chose (the zones of the cluster's DB subnet group are unknown)"
                raise AuroraClusterError(_no_capacity_message(cluster, instance_id, instance_class, where)) from e
            refused.append(az)
            left = [zone for zone in zones if zone not in refused]
            if not left:
                where = (
                    f"{', '.join(refused)}, every zone of DB subnet group {cluster.get('DBSubnetGroup')} "
                    "where the cluster keeps its storage"
                )
                raise AuroraClusterError(_no_capacity_message(cluster, instance_id, instance_class, where)) from e
            pending = spread_over_zones(identifier, [i for i, _az in pending], placed, left)
            moved.add(instance_id)
            continue
        if instance_id in moved:
            warn(
                f"DB instance {instance_id} is created in {az}: AWS has no capacity for instance class "
                f"{instance_class} in {', '.join(refused)}"
            )
        placed.append({"id": instance_id, "az": az, "status": "creating"})
        pending.pop(0)


def _no_capacity_message(cluster, instance_id, instance_class, where):
    return (
        f"DB instance {instance_id} of cluster {cluster['DBClusterIdentifier']} was not created: AWS has no "
        f"capacity for instance class {instance_class} in {where} ({NO_CAPACITY}). Choose another "
        "instance_class (aurora_instance_class in the playbooks), or run again later"
    )


def _snapshot_quota_message(identifier, params, earlier_finals, instances):
    if earlier_finals:
        names = [s["DBClusterSnapshotIdentifier"] for s in earlier_finals]
        remove = (
            f", for example the final snapshots earlier deletes of {identifier} left, oldest first: {', '.join(names)} "
            f"(aws rds delete-db-cluster-snapshot --db-cluster-snapshot-identifier {names[0]})"
        )
    else:
        remove = " (aws rds describe-db-cluster-snapshots --snapshot-type manual lists them)"
    gone = " Its instances are being deleted already." if instances else ""
    return (
        f"DB cluster {identifier} was not deleted: AWS refused its final snapshot "
        f"{params['FinalDBSnapshotIdentifier']} because the account's quota of manual DB cluster snapshots is "
        f"reached ({SNAPSHOT_QUOTA_EXCEEDED}).{gone} Delete snapshots you no longer need{remove}, or delete "
        "the cluster without a final snapshot (skip_final_snapshot=true, aurora_skip_final_snapshot=true in the "
        "playbooks); then run again"
    )


def _predicted(before, cluster_changes, tags_to_set, tags_to_unset, plan, change, new_class):
    after = dict(before)
    if "DeletionProtection" in cluster_changes:
        after["deletion_protection"] = cluster_changes["DeletionProtection"]
    if "BackupRetentionPeriod" in cluster_changes:
        after["backup_retention_period"] = cluster_changes["BackupRetentionPeriod"]
    if "VpcSecurityGroupIds" in cluster_changes:
        after["vpc_security_groups"] = [
            {"vpc_security_group_id": g, "status": "active"} for g in cluster_changes["VpcSecurityGroupIds"]
        ]
    tags = dict((k, v) for k, v in before["tags"].items() if k not in tags_to_unset)
    tags.update(tags_to_set)
    after["tags"] = tags
    members = []
    for member in before["members"]:
        if member["db_instance_identifier"] in plan.delete:
            continue
        member = dict(member)
        if member["db_instance_identifier"] in change.order:
            member["db_instance_class"] = new_class
        if change.failover_to:
            member["is_cluster_writer"] = member["db_instance_identifier"] == change.failover_to
        members.append(member)
    has_writer = any(m["is_cluster_writer"] for m in members)
    for index, (instance_id, az) in enumerate(plan.create):
        members.append(
            {
                "db_instance_identifier": instance_id,
                "availability_zone": az,
                "is_cluster_writer": not has_writer and index == 0,
                "db_instance_class": new_class,
                "db_instance_status": "creating",
            }
        )
    after["members"] = sorted(members, key=lambda m: m["db_instance_identifier"])
    return after


def _predicted_new(desired, plan, subnet_group, snapshot_identifier):
    identifier = desired["identifier"].lower()
    skeleton = {
        "db_cluster_identifier": identifier,
        "engine": desired["engine"],
        "engine_version": desired["engine_version"] or (None if snapshot_identifier else DEFAULT_ENGINE_VERSION),
        "status": "creating",
        "database_name": None if snapshot_identifier else desired["database_name"],
        "master_username": None if snapshot_identifier else desired["master_username"],
        "storage_encrypted": None if snapshot_identifier else bool(desired["storage_encrypted"]),
        "deletion_protection": bool(desired["deletion_protection"]),
        "backup_retention_period": desired["backup_retention_period"],
        "db_subnet_group": subnet_group,
        "vpc_security_groups": [
            {"vpc_security_group_id": g, "status": "active"} for g in desired["vpc_security_group_ids"] or []
        ],
        "tags": {},
        "members": [],
    }
    new_class = desired["instance_class"] or DEFAULT_INSTANCE_CLASS
    tags = cluster_tags(desired["identifier"], desired["tags"])
    return _predicted(skeleton, {}, tags, [], plan, NO_CLASS_CHANGE, new_class)


def ensure_cluster_absent(
    client,
    *,
    identifier,
    skip_final_snapshot=False,
    final_snapshot_identifier=None,
    check_mode=False,
    wait=True,
    wait_timeout=3600,
    run_started=None,
    delay=POLL_DELAY,
    sleep=time.sleep,
    clock=time.monotonic,
):
    """Delete the cluster's instances, then the cluster (with a final snapshot unless skipped).

    DeleteDBCluster follows as soon as every instance is deleting; ``wait`` then waits until the
    cluster (and so its instances) is gone. A re-run during the deletion adopts it and waits. Deletion
    protection is never lifted here. ``state`` also lists, as
    ``earlier_final_snapshots``, the final snapshots earlier deletes of the same name left behind.
    """
    time_left = deadline(wait_timeout, clock, run_started)
    cluster = describe_db_cluster(client, identifier)
    if cluster is None:
        return False, {"cluster": {}, "before": {}, "after": {}}
    # From here on the identifier as RDS stores it, in lower case, whatever case it was given in.
    identifier = cluster["DBClusterIdentifier"]
    instances = describe_cluster_instances(client, identifier)
    before = cluster_summary(cluster, instances)
    state = {"cluster": {}, "before": before, "after": {}}
    if cluster.get("DeletionProtection"):
        raise AuroraClusterError(
            f"DB cluster {identifier} has deletion protection enabled, so it is not deleted. Lift it first, "
            "for example with this module: state=present deletion_protection=false (or aws rds modify-db-cluster "
            f"--db-cluster-identifier {identifier} --no-deletion-protection --apply-immediately), then delete again"
        )
    earlier_finals = describe_final_snapshots(client, identifier)
    state["earlier_final_snapshots"] = [_snapshot_summary(s) for s in earlier_finals]
    already_deleting = cluster.get("Status") == DELETING
    to_delete = [i["DBInstanceIdentifier"] for i in instances if i.get("DBInstanceStatus") != DELETING]
    changed = bool(to_delete) or not already_deleting
    if not skip_final_snapshot and not already_deleting:
        state["final_snapshot_identifier"] = final_snapshot_identifier or default_final_snapshot_identifier(identifier)
    if check_mode:
        return changed, state

    outlasting = dict(budget=wait_timeout, time_left=time_left, delay=delay, sleep=sleep)
    for instance_id in to_delete:
        delete_instance_once(client, identifier, instance_id, **outlasting)
    # AWS takes DeleteDBCluster once every member is deleting, not only once they are gone: the
    # cluster, its final snapshot and its instances then go away together.
    if not already_deleting:
        params = {"DBClusterIdentifier": identifier, "SkipFinalSnapshot": bool(skip_final_snapshot)}
        if not skip_final_snapshot:
            params["FinalDBSnapshotIdentifier"] = state["final_snapshot_identifier"]
        try:
            delete_cluster_once(client, params, **outlasting)
        except is_ansible_aws_error_code(SNAPSHOT_QUOTA_EXCEEDED) as e:
            raise AuroraClusterError(_snapshot_quota_message(identifier, params, earlier_finals, instances)) from e
    if wait:
        wait_for_cluster(
            client,
            identifier,
            deleted=True,
            remaining=time_left(),
            delay=delay,
            budget=wait_timeout,
            sleep=sleep,
            clock=clock,
        )
    return changed, state

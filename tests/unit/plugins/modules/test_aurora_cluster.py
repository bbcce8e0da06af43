"""aurora_cluster: the ensure_* functions against a fake RDS client, and the module's entry checks.

The fake keeps just enough state to behave like RDS across calls (instances come up one poll after
they are created, deletes take one poll, identifiers are stored in lower case), records every call,
and never sleeps: the wait loops get a fake clock whose ``sleep`` only moves time forward.
"""

import datetime
import json

import botocore.exceptions
import pytest
import yaml
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from aws_fakes import FakeClock
from aws_fakes import FakePaginator

from ansible_collections.keycloak.aurora.plugins.module_utils import rds_cluster
from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import AuroraClusterError
from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import ensure_cluster_absent
from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import ensure_cluster_present
from ansible_collections.keycloak.aurora.plugins.modules import aurora_cluster

MUTATING = {
    "create_db_cluster",
    "restore_db_cluster_from_snapshot",
    "modify_db_cluster",
    "delete_db_cluster",
    "create_db_instance",
    "modify_db_instance",
    "failover_db_cluster",
    "delete_db_instance",
    "add_tags_to_resource",
    "remove_tags_from_resource",
}
ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c")
ARN = "arn:aws:rds:eu-west-1:123456789012:cluster:"


def client_error(code, operation):
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": code}}, operation)


class FakeWaiter:
    def __init__(self, rds, name):
        self.rds = rds
        self.name = name

    def wait(self, **kwargs):
        self.rds.calls.append((f"waiter.{self.name}", kwargs))
        identifier = kwargs["DBClusterIdentifier"]
        cluster = self.rds.clusters.get(identifier)
        if self.rds.waiter_errors:
            raise self.rds.waiter_errors.pop(0)
        if self.name == "db_cluster_available":
            if self.rds.cluster_never_available:
                raise botocore.exceptions.WaiterError(
                    name="DBClusterAvailable",
                    reason="Max attempts exceeded",
                    last_response={"DBClusters": [{"Status": "creating"}]},
                )
            cluster["Status"] = "available"
        elif self.name == "db_cluster_deleted":
            if self.rds.cluster_never_deleted:
                raise botocore.exceptions.WaiterError(
                    name="DBClusterDeleted",
                    reason="Max attempts exceeded",
                    last_response={"DBClusters": [{"Status": "deleting"}]},
                )
            self.rds.clusters.pop(identifier, None)


class FakeRDS:
    """A small stateful stand-in for the boto3 RDS client."""

    def __init__(self, zones=ZONES):
        self.calls = []
        self.clusters = {}
        self.instances = {}
        self.snapshots = {}
        self.subnet_groups = {"kc-subnet-group": zones}
        self.scripts = {}
        # zones answering CreateDBInstance with InsufficientDBInstanceCapacity
        self.no_capacity = set()
        self.snapshot_quota_reached = False
        self.cluster_never_available = False
        self.cluster_never_deleted = False
        self.waiter_errors = []
        # {method name: [error code, ...]}: the next calls of that method answer these state faults
        self.faults = {}
        # {cluster: instance}: failovers under way, over at the cluster's next description
        self.failovers = {}
        # instances whose class change never ends
        self.endless = set()

    # helpers ------------------------------------------------------------------------------------

    def names(self):
        return [name for name, _kwargs in self.calls]

    def _fault(self, name):
        if self.faults.get(name):
            raise client_error(self.faults[name].pop(0), name)

    def mutating(self):
        return [name for name in self.names() if name in MUTATING]

    def called(self, name):
        return [kwargs for call, kwargs in self.calls if call == name]

    def add_cluster(self, identifier="kc", status="available", version="17.5", **extra):
        cluster = {
            "DBClusterIdentifier": identifier,
            "DBClusterArn": ARN + identifier,
            "Endpoint": f"{identifier}.cluster-x.eu-west-1.rds.amazonaws.com",
            "ReaderEndpoint": f"{identifier}.cluster-ro-x.eu-west-1.rds.amazonaws.com",
            "Port": 5432,
            "Engine": "aurora-postgresql",
            "EngineVersion": version,
            "Status": status,
            "DatabaseName": "keycloak",
            "MasterUsername": "keycloak",
            "StorageEncrypted": True,
            "DeletionProtection": False,
            "BackupRetentionPeriod": 1,
            "DBSubnetGroup": "kc-subnet-group",
            # where Aurora keeps the cluster volume: three zones of the subnet group
            "AvailabilityZones": list(ZONES),
            "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-1", "Status": "active"}],
            "TagList": [{"Key": "AuroraCluster", "Value": identifier}],
        }
        cluster.update(extra)
        self.clusters[identifier] = cluster
        return cluster

    def add_snapshot(self, identifier, cluster="kc", kind="manual", created=None):
        self.snapshots[identifier] = {
            "DBClusterSnapshotIdentifier": identifier,
            "DBClusterIdentifier": cluster,
            "SnapshotType": kind,
            "Status": "available",
            "SnapshotCreateTime": created or datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC),
        }

    def add_instance(self, identifier, az, writer=False, status="available", cluster="kc", klass="db.t4g.large"):
        self.instances[identifier] = {
            "DBInstanceIdentifier": identifier,
            "DBClusterIdentifier": cluster,
            "AvailabilityZone": az,
            "DBInstanceStatus": status,
            "DBInstanceClass": klass,
            "_writer": writer,
        }

    def _cluster_view(self, cluster):
        view = dict(cluster)
        members = [i for i in self.instances.values() if i["DBClusterIdentifier"] == cluster["DBClusterIdentifier"]]
        if members and not any(i["_writer"] for i in members):
            members[0]["_writer"] = True
        view["DBClusterMembers"] = [
            {"DBInstanceIdentifier": i["DBInstanceIdentifier"], "IsClusterWriter": i["_writer"]} for i in members
        ]
        return view

    # RDS API ------------------------------------------------------------------------------------

    def describe_db_clusters(self, DBClusterIdentifier):
        self.calls.append(("describe_db_clusters", {"DBClusterIdentifier": DBClusterIdentifier}))
        if DBClusterIdentifier.lower() not in self.clusters:
            raise client_error("DBClusterNotFoundFault", "DescribeDBClusters")
        cluster = self.clusters[DBClusterIdentifier.lower()]
        view = self._cluster_view(cluster)
        # Time passes between two polls: a new cluster is available the next time it is described,
        # and a failover is over, the writer moved.
        if cluster["Status"] == "creating" and not self.cluster_never_available:
            cluster["Status"] = "available"
        if cluster["Status"] == "failing-over":
            target = self.failovers.pop(cluster["DBClusterIdentifier"])
            for instance in self.instances.values():
                if instance["DBClusterIdentifier"] == cluster["DBClusterIdentifier"]:
                    instance["_writer"] = instance["DBInstanceIdentifier"] == target
            cluster["Status"] = "available"
        return {"DBClusters": [view]}

    def _describe_db_instances(self, Filters):
        self.calls.append(("describe_db_instances", {"Filters": Filters}))
        # Matched as given: AWS documents no case rule for filter values, so the code must send the
        # identifier as RDS stores it.
        cluster = Filters[0]["Values"][0]
        result = []
        for identifier, instance in list(self.instances.items()):
            if instance["DBClusterIdentifier"] != cluster:
                continue
            result.append({k: v for k, v in instance.items() if not k.startswith("_")})
            # Time passes between two polls: move every instance one step on.
            script = self.scripts.get(identifier)
            if script:
                instance["DBInstanceStatus"] = script.pop(0)
            elif instance["DBInstanceStatus"] == "deleting":
                del self.instances[identifier]
            elif instance["DBInstanceStatus"] == "modifying" and identifier in self.endless:
                pass
            elif instance["DBInstanceStatus"] in ("creating", "modifying"):
                instance["DBInstanceStatus"] = "available"
                if instance.get("_new_class"):
                    instance["DBInstanceClass"] = instance.pop("_new_class")
        return {"DBInstances": result}

    def _describe_db_cluster_snapshots(self, **kwargs):
        self.calls.append(("describe_db_cluster_snapshots", kwargs))
        if "DBClusterSnapshotIdentifier" in kwargs:
            if kwargs["DBClusterSnapshotIdentifier"].lower() not in self.snapshots:
                raise client_error("DBClusterSnapshotNotFoundFault", "DescribeDBClusterSnapshots")
            return {"DBClusterSnapshots": [self.snapshots[kwargs["DBClusterSnapshotIdentifier"].lower()]]}
        # Without SnapshotType RDS answers automated and manual snapshots alike.
        found = [
            s
            for s in self.snapshots.values()
            if s["DBClusterIdentifier"] == kwargs.get("DBClusterIdentifier", s["DBClusterIdentifier"])
            and s["SnapshotType"] == kwargs.get("SnapshotType", s["SnapshotType"])
        ]
        return {"DBClusterSnapshots": found}

    def get_paginator(self, name):
        return FakePaginator(getattr(self, "_" + name))

    def get_waiter(self, name):
        return FakeWaiter(self, name)

    def describe_db_subnet_groups(self, DBSubnetGroupName):
        self.calls.append(("describe_db_subnet_groups", {"DBSubnetGroupName": DBSubnetGroupName}))
        name = DBSubnetGroupName.lower()
        if name not in self.subnet_groups:
            raise client_error("DBSubnetGroupNotFoundFault", "DescribeDBSubnetGroups")
        subnets = [{"SubnetAvailabilityZone": {"Name": z}} for z in self.subnet_groups[name]]
        return {"DBSubnetGroups": [{"DBSubnetGroupName": name, "Subnets": subnets}]}

    def create_db_cluster(self, **kwargs):
        self.calls.append(("create_db_cluster", kwargs))
        group = kwargs.get("DBSubnetGroupName", "default").lower()
        cluster = self.add_cluster(
            kwargs["DBClusterIdentifier"].lower(),
            status="creating",
            version=kwargs["EngineVersion"],
            Engine=kwargs["Engine"],
            DatabaseName=kwargs["DatabaseName"],
            MasterUsername=kwargs["MasterUsername"],
            StorageEncrypted=kwargs["StorageEncrypted"],
            DeletionProtection=kwargs["DeletionProtection"],
            DBSubnetGroup=group,
            AvailabilityZones=sorted(self.subnet_groups.get(group, ZONES))[:3],
            VpcSecurityGroups=[
                {"VpcSecurityGroupId": g, "Status": "active"} for g in kwargs.get("VpcSecurityGroupIds", [])
            ],
            BackupRetentionPeriod=kwargs.get("BackupRetentionPeriod", 1),
            TagList=list(kwargs["Tags"]),
        )
        return {"DBCluster": self._cluster_view(cluster)}

    def restore_db_cluster_from_snapshot(self, **kwargs):
        self.calls.append(("restore_db_cluster_from_snapshot", kwargs))
        self._fault("restore_db_cluster_from_snapshot")
        cluster = self.add_cluster(
            kwargs["DBClusterIdentifier"],
            status="creating",
            version="16.4",
            DatabaseName="keycloak",
            StorageEncrypted=False,
            DBSubnetGroup=kwargs.get("DBSubnetGroupName", "default"),
            TagList=list(kwargs["Tags"]),
        )
        return {"DBCluster": self._cluster_view(cluster)}

    def modify_db_cluster(self, **kwargs):
        self.calls.append(("modify_db_cluster", kwargs))
        self._fault("modify_db_cluster")
        cluster = self.clusters[kwargs["DBClusterIdentifier"]]
        for key in ("DeletionProtection", "BackupRetentionPeriod"):
            if key in kwargs:
                cluster[key] = kwargs[key]
        return {"DBCluster": self._cluster_view(cluster)}

    def delete_db_cluster(self, **kwargs):
        self.calls.append(("delete_db_cluster", kwargs))
        self._fault("delete_db_cluster")
        cluster = self.clusters[kwargs["DBClusterIdentifier"].lower()]
        if cluster["Status"] == "deleting":
            raise client_error("InvalidDBClusterStateFault", "DeleteDBCluster")
        members = [i for i in self.instances.values() if i["DBClusterIdentifier"] == cluster["DBClusterIdentifier"]]
        # AWS takes it once every member is deleting
        if any(i["DBInstanceStatus"] != "deleting" for i in members):
            raise client_error("InvalidDBClusterStateFault", "DeleteDBCluster")
        if not kwargs["SkipFinalSnapshot"]:
            if self.snapshot_quota_reached:
                raise client_error("SnapshotQuotaExceeded", "DeleteDBCluster")
            self.add_snapshot(kwargs["FinalDBSnapshotIdentifier"].lower(), cluster["DBClusterIdentifier"])
        cluster["Status"] = "deleting"
        return {"DBCluster": cluster}

    def create_db_instance(self, **kwargs):
        self.calls.append(("create_db_instance", kwargs))
        self._fault("create_db_instance")
        if kwargs.get("AvailabilityZone") in self.no_capacity:
            raise client_error("InsufficientDBInstanceCapacity", "CreateDBInstance")
        identifier = kwargs["DBInstanceIdentifier"].lower()
        self.add_instance(
            identifier,
            kwargs.get("AvailabilityZone"),
            status="creating",
            cluster=kwargs["DBClusterIdentifier"].lower(),
            klass=kwargs["DBInstanceClass"],
        )
        return {"DBInstance": dict(self.instances[identifier])}

    def modify_db_instance(self, **kwargs):
        self.calls.append(("modify_db_instance", kwargs))
        self._fault("modify_db_instance")
        instance = self.instances[kwargs["DBInstanceIdentifier"]]
        if instance["DBInstanceStatus"] != "available":
            raise client_error("InvalidDBInstanceState", "ModifyDBInstance")
        instance["_new_class"] = kwargs["DBInstanceClass"]
        instance["DBInstanceStatus"] = "modifying"
        return {"DBInstance": dict(instance)}

    def failover_db_cluster(self, **kwargs):
        self.calls.append(("failover_db_cluster", kwargs))
        self._fault("failover_db_cluster")
        cluster = self.clusters[kwargs["DBClusterIdentifier"]]
        if cluster["Status"] != "available":
            raise client_error("InvalidDBClusterStateFault", "FailoverDBCluster")
        if self.instances[kwargs["TargetDBInstanceIdentifier"]]["DBInstanceStatus"] != "available":
            raise client_error("InvalidDBInstanceState", "FailoverDBCluster")
        # As on AWS, the writer moves only once the failover is over.
        cluster["Status"] = "failing-over"
        self.failovers[cluster["DBClusterIdentifier"]] = kwargs["TargetDBInstanceIdentifier"]
        return {"DBCluster": self._cluster_view(cluster)}

    def delete_db_instance(self, **kwargs):
        self.calls.append(("delete_db_instance", kwargs))
        self._fault("delete_db_instance")
        if kwargs["DBInstanceIdentifier"] not in self.instances:
            raise client_error("DBInstanceNotFound", "DeleteDBInstance")
        self.instances[kwargs["DBInstanceIdentifier"]]["DBInstanceStatus"] = "deleting"
        return {"DBInstance": {}}

    def _tagged(self, arn):
        return next(c for c in self.clusters.values() if c["DBClusterArn"] == arn)["TagList"]

    def add_tags_to_resource(self, **kwargs):
        self.calls.append(("add_tags_to_resource", kwargs))
        tags = self._tagged(kwargs["ResourceName"])
        keys = {tag["Key"] for tag in kwargs["Tags"]}
        tags[:] = [tag for tag in tags if tag["Key"] not in keys] + list(kwargs["Tags"])

    def remove_tags_from_resource(self, **kwargs):
        self.calls.append(("remove_tags_from_resource", kwargs))
        tags = self._tagged(kwargs["ResourceName"])
        tags[:] = [tag for tag in tags if tag["Key"] not in kwargs["TagKeys"]]


def credentials():
    return ("keycloak", "s3cr3t-Passw0rd")


def never_called():
    raise AssertionError("the master credentials must not be read")


@pytest.fixture
def rds():
    return FakeRDS()


@pytest.fixture
def clock():
    return FakeClock()


def present(rds, clock, **kwargs):
    kwargs.setdefault("identifier", "kc")
    kwargs.setdefault("master_credentials", never_called)
    return ensure_cluster_present(rds, sleep=clock.sleep, clock=clock, delay=10, **kwargs)


def absent(rds, clock, **kwargs):
    kwargs.setdefault("identifier", "kc")
    return ensure_cluster_absent(rds, sleep=clock.sleep, clock=clock, delay=10, **kwargs)


def existing_two(rds, writer=1):
    rds.add_cluster()
    rds.add_instance("kc-instance-1", "eu-west-1a", writer=writer == 1)
    rds.add_instance("kc-instance-2", "eu-west-1b", writer=writer == 2)


# present: creating ------------------------------------------------------------------------------


def test_create_describes_first_then_creates_cluster_and_instances(rds, clock):
    changed, state = present(
        rds,
        clock,
        master_credentials=credentials,
        db_subnet_group_name="kc-subnet-group",
        vpc_security_group_ids=["sg-1"],
        tags={"team": "sso"},
    )
    assert changed
    assert rds.names()[0] == "describe_db_clusters"
    (create,) = rds.called("create_db_cluster")
    assert create == {
        "DBClusterIdentifier": "kc",
        "Engine": "aurora-postgresql",
        "EngineVersion": "17.5",
        "DatabaseName": "keycloak",
        "MasterUsername": "keycloak",
        "MasterUserPassword": "s3cr3t-Passw0rd",
        "StorageEncrypted": True,
        "DeletionProtection": False,
        "DBSubnetGroupName": "kc-subnet-group",
        "VpcSecurityGroupIds": ["sg-1"],
        "Tags": [
            {"Key": "team", "Value": "sso"},
            {"Key": "AuroraCluster", "Value": "kc"},
            {"Key": "AuroraCreatingInstances", "Value": "2"},
        ],
    }
    # AWS's critical path: the instances are requested right after the cluster, while it is still
    # creating (nothing waits or polls its state in between), then everything is waited for once
    after_cluster = rds.names()[rds.names().index("create_db_cluster") + 1 :]
    assert after_cluster[:3] == ["describe_db_subnet_groups", "create_db_instance", "create_db_instance"]
    assert rds.called("create_db_instance")[0]["DBClusterIdentifier"] == "kc"
    assert not any(name.startswith("waiter.") for name in rds.names())
    instances = rds.called("create_db_instance")
    assert [(i["DBInstanceIdentifier"], i["AvailabilityZone"]) for i in instances] == [
        ("kc-instance-1", "eu-west-1a"),
        ("kc-instance-2", "eu-west-1b"),
    ]
    for params in instances:
        assert params["DBInstanceClass"] == "db.t4g.large"
        assert params["AutoMinorVersionUpgrade"] is False
        assert params["EnablePerformanceInsights"] is True
        assert params["PubliclyAccessible"] is False
        assert {"Key": "AuroraCluster", "Value": "kc"} in params["Tags"]
    # both instances are created before the one wait loop starts
    creates = [n for n, name in enumerate(rds.names()) if name == "create_db_instance"]
    polls = [n for n, name in enumerate(rds.names()) if name == "describe_db_instances"]
    assert creates[1] < polls[0]
    cluster = state["cluster"]
    assert cluster["db_cluster_identifier"] == "kc"
    assert cluster["endpoint"].startswith("kc.cluster-")
    assert cluster["tags"] == {"AuroraCluster": "kc", "team": "sso"}
    assert [(m["db_instance_identifier"], m["db_instance_status"]) for m in cluster["members"]] == [
        ("kc-instance-1", "available"),
        ("kc-instance-2", "available"),
    ]
    assert state["before"] == {}
    assert "s3cr3t-Passw0rd" not in json.dumps(state)


def test_create_with_explicit_settings(rds, clock):
    present(
        rds,
        clock,
        master_credentials=credentials,
        engine_version="16.6",
        instances=1,
        instance_class="db.r6g.large",
        deletion_protection=True,
        backup_retention_period=7,
        storage_encrypted=False,
        enable_performance_insights=False,
    )
    (create,) = rds.called("create_db_cluster")
    assert create["EngineVersion"] == "16.6"
    assert create["DeletionProtection"] is True
    assert create["BackupRetentionPeriod"] == 7
    assert create["StorageEncrypted"] is False
    assert "DBSubnetGroupName" not in create and "VpcSecurityGroupIds" not in create
    (instance,) = rds.called("create_db_instance")
    assert instance["DBInstanceClass"] == "db.r6g.large"
    assert instance["EnablePerformanceInsights"] is False
    # the default subnet group is unknown here: AWS picks the zone
    assert "AvailabilityZone" not in instance
    assert rds.called("modify_db_cluster") == []


def test_an_unknown_option_is_refused_before_any_call(rds, clock):
    with pytest.raises(TypeError, match="instance_klass"):
        present(rds, clock, instance_klass="db.r6g.large")
    assert rds.calls == []


def test_create_without_credentials_is_refused(rds, clock):
    with pytest.raises(AuroraClusterError, match="master_user_password or master_user_password_secret"):
        present(rds, clock, master_credentials=None)
    assert rds.mutating() == []


def test_create_without_wait_does_not_wait(rds, clock):
    changed, state = present(rds, clock, master_credentials=credentials, wait=False)
    assert changed
    assert not any(name.startswith("waiter.") for name in rds.names())
    assert len(rds.called("create_db_instance")) == 2
    assert clock.sleeps == []
    assert state["cluster"]["status"] == "creating"


def test_restore_from_snapshot(rds, clock):
    rds.snapshots["kc-final-20250101000000"] = {"DBClusterSnapshotIdentifier": "kc-final-20250101000000"}
    warnings = []
    changed, state = present(
        rds,
        clock,
        snapshot_identifier="kc-final-20250101000000",
        db_subnet_group_name="kc-subnet-group",
        backup_retention_period=3,
        master_credentials=None,
        warn=warnings.append,
    )
    assert changed
    (restore,) = rds.called("restore_db_cluster_from_snapshot")
    assert restore["SnapshotIdentifier"] == "kc-final-20250101000000"
    assert "EngineVersion" not in restore and "MasterUserPassword" not in restore
    assert rds.called("create_db_cluster") == []
    # what the restore call cannot set is converged afterwards
    assert rds.called("modify_db_cluster") == [
        {"DBClusterIdentifier": "kc", "ApplyImmediately": True, "BackupRetentionPeriod": 3}
    ]
    assert len(rds.called("create_db_instance")) == 2
    assert any("not encrypted" in w for w in warnings)


def test_restore_from_a_missing_snapshot_is_refused(rds, clock):
    with pytest.raises(AuroraClusterError, match="snapshot_identifier: DB cluster snapshot nope does not exist"):
        present(rds, clock, snapshot_identifier="nope")
    assert rds.mutating() == []


def test_check_mode_on_a_new_cluster(rds, clock):
    changed, state = present(
        rds, clock, check_mode=True, master_credentials=never_called, db_subnet_group_name="kc-subnet-group"
    )
    assert changed
    assert state["cluster"] == {}
    assert rds.mutating() == []
    after = state["after"]
    assert after["engine_version"] == "17.5"
    assert after["tags"] == {"AuroraCluster": "kc"}
    assert [
        (m["db_instance_identifier"], m["availability_zone"], m["is_cluster_writer"]) for m in after["members"]
    ] == [
        ("kc-instance-1", "eu-west-1a", True),
        ("kc-instance-2", "eu-west-1b", False),
    ]


def test_cluster_that_never_becomes_available(rds, clock):
    rds.cluster_never_available = True
    with pytest.raises(AuroraClusterError) as raised:
        present(rds, clock, master_credentials=credentials, wait_timeout=60)
    assert str(raised.value).startswith(
        "Timed out after aurora_wait_timeout (wait_timeout) 60s waiting for DB cluster kc and its instances; "
        "the cluster is creating"
    )
    # the instances were requested at once, without waiting for the cluster
    assert len(rds.called("create_db_instance")) == 2
    assert sum(clock.sleeps) == 60


def test_cluster_in_a_failed_state_fails_the_wait(rds, clock):
    rds.cluster_never_available = True
    rds.add_cluster(status="incompatible-parameters")
    with pytest.raises(AuroraClusterError, match="is incompatible-parameters and does not become available"):
        present(rds, clock)
    assert rds.mutating() == []


def test_a_cluster_turning_to_a_failed_state_during_the_wait_ends_it_at_once(rds, clock):
    rds.cluster_never_available = True
    rds.add_cluster(status="creating")
    rds.add_instance("kc-instance-1", "eu-west-1a", status="creating")
    rds.scripts["kc-instance-1"] = ["creating"] * 100

    def fail_cluster(seconds):
        clock.sleep(seconds)
        rds.clusters["kc"]["Status"] = "inaccessible-encryption-credentials"

    with pytest.raises(AuroraClusterError, match="kc is inaccessible-encryption-credentials and does not become"):
        ensure_cluster_present(rds, identifier="kc", sleep=fail_cluster, clock=clock, delay=10)
    assert clock.sleeps == [10]


# state faults: outlasted against the run's one deadline ------------------------------------------


def test_a_state_fault_is_outlasted_then_the_request_goes_through(rds, clock):
    existing_two(rds)
    rds.faults["modify_db_cluster"] = ["InvalidDBClusterStateFault"] * 3
    changed, _state = present(rds, clock, deletion_protection=True)
    assert changed
    assert len(rds.called("modify_db_cluster")) == 4
    assert clock.sleeps[:3] == [10, 10, 10]


def test_a_state_fault_past_the_deadline_names_the_resource_and_its_state(rds, clock):
    existing_two(rds)
    rds.clusters["kc"]["Status"] = "modifying"
    rds.cluster_never_available = True
    rds.faults["modify_db_cluster"] = ["InvalidDBClusterStateFault"] * 1000
    with pytest.raises(AuroraClusterError) as raised:
        present(rds, clock, deletion_protection=True, wait_timeout=30)
    assert str(raised.value).startswith(
        "Timed out after aurora_wait_timeout (wait_timeout) 30s"
        " waiting to modify DB cluster kc: it is modifying (InvalidDBClusterStateFault)"
    )
    assert sum(clock.sleeps) == 30


def test_every_step_shares_the_one_deadline_of_the_run(rds, clock):
    existing_two(rds)
    rds.faults["modify_db_cluster"] = ["InvalidDBClusterStateFault"] * 4  # 40 s of the 60
    rds.scripts["kc-instance-3"] = ["creating"] * 1000
    with pytest.raises(
        AuroraClusterError,
        match=(
            r"Timed out after aurora_wait_timeout \(wait_timeout\) 60s"
            r".*kc-instance-3 \(creating\)"
        ),
    ):
        present(rds, clock, instances=3, deletion_protection=True, wait_timeout=60)
    assert sum(clock.sleeps) == 60


def test_an_instance_a_state_fault_holds_up_is_created_once_it_clears(rds, clock):
    rds.faults["create_db_instance"] = ["InvalidDBClusterStateFault"] * 2
    present(rds, clock, master_credentials=credentials, instances=1)
    assert len(rds.called("create_db_instance")) == 3
    assert len(rds.instances) == 1


# present: zones and capacity ---------------------------------------------------------------------


def test_new_instances_go_only_to_zones_where_the_cluster_storage_lives(rds, clock):
    rds.subnet_groups["kc-subnet-group"] = ("eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1d")
    rds.add_cluster(AvailabilityZones=["eu-west-1b", "eu-west-1c", "eu-west-1d"])
    present(rds, clock, instances=3)
    assert [i["AvailabilityZone"] for i in rds.called("create_db_instance")] == [
        "eu-west-1b",
        "eu-west-1c",
        "eu-west-1d",
    ]


def test_no_capacity_in_a_zone_moves_the_instance_and_keeps_the_instances_apart(rds, clock):
    rds.no_capacity = {"eu-west-1a"}
    warnings = []
    changed, state = present(
        rds, clock, master_credentials=credentials, db_subnet_group_name="kc-subnet-group", warn=warnings.append
    )
    assert changed
    assert [(i["DBInstanceIdentifier"], i["AvailabilityZone"]) for i in rds.called("create_db_instance")] == [
        ("kc-instance-1", "eu-west-1a"),
        ("kc-instance-1", "eu-west-1b"),
        ("kc-instance-2", "eu-west-1c"),
    ]
    assert [(m["db_instance_identifier"], m["availability_zone"]) for m in state["cluster"]["members"]] == [
        ("kc-instance-1", "eu-west-1b"),
        ("kc-instance-2", "eu-west-1c"),
    ]
    assert len(warnings) == 1
    assert all(word in warnings[0] for word in ("kc-instance-1", "eu-west-1b", "eu-west-1a", "db.t4g.large"))


def test_no_capacity_in_the_zone_of_a_new_reader(rds, clock):
    existing_two(rds)
    rds.no_capacity = {"eu-west-1c"}
    _changed, state = present(rds, clock, instances=3)
    assert [i["AvailabilityZone"] for i in rds.called("create_db_instance")] == ["eu-west-1c", "eu-west-1a"]
    assert [m["availability_zone"] for m in state["cluster"]["members"]] == ["eu-west-1a", "eu-west-1b", "eu-west-1a"]


def test_no_capacity_in_any_zone_fails_naming_the_class_the_zones_and_what_to_do(rds, clock):
    rds.no_capacity = set(ZONES)
    with pytest.raises(AuroraClusterError) as raised:
        present(
            rds,
            clock,
            master_credentials=credentials,
            db_subnet_group_name="kc-subnet-group",
            instance_class="db.r7g.large",
        )
    message = str(raised.value)
    assert "kc-instance-1" in message and "db.r7g.large" in message
    assert "eu-west-1a, eu-west-1b, eu-west-1c" in message
    assert "instance_class" in message and "aurora_instance_class" in message and "later" in message
    # each zone is asked once: the same zone is not asked again, and the next instance not at all
    assert [i["AvailabilityZone"] for i in rds.called("create_db_instance")] == list(ZONES)


def test_no_capacity_where_aws_chooses_the_zone(rds, clock):
    # Without a known subnet group AWS picks the zone: there is nowhere else to ask.
    rds.no_capacity = {None}
    with pytest.raises(AuroraClusterError, match="no capacity for instance class db.t4g.large in the zone AWS chose"):
        present(rds, clock, master_credentials=credentials)
    assert len(rds.called("create_db_instance")) == 1


def test_other_errors_of_create_db_instance_are_not_taken_for_missing_capacity(rds, clock):
    existing_two(rds)
    refused = client_error("AccessDenied", "CreateDBInstance")

    def denied(**kwargs):
        rds.calls.append(("create_db_instance", kwargs))
        raise refused

    rds.create_db_instance = denied
    with pytest.raises(AnsibleAWSError) as raised:
        present(rds, clock, instances=3)
    assert raised.value.exception is refused
    assert len(rds.called("create_db_instance")) == 1


# present: identifiers as RDS stores them (lower case) --------------------------------------------


def test_a_mixed_case_subnet_group_name_is_the_clusters_group(rds, clock):
    existing_two(rds)
    warnings = []
    changed, _state = present(rds, clock, db_subnet_group_name="KC-Subnet-Group", warn=warnings.append)
    assert not changed
    assert warnings == []


def test_check_mode_predicts_identifiers_as_rds_stores_them(rds, clock):
    _changed, state = present(rds, clock, identifier="KC", check_mode=True, db_subnet_group_name="KC-Subnet-Group")
    after = state["after"]
    assert after["db_cluster_identifier"] == "kc"
    assert after["db_subnet_group"] == "kc-subnet-group"
    assert [(m["db_instance_identifier"], m["availability_zone"]) for m in after["members"]] == [
        ("kc-instance-1", "eu-west-1a"),
        ("kc-instance-2", "eu-west-1b"),
    ]


# present: engine --------------------------------------------------------------------------------


@pytest.mark.parametrize("check_mode", [False, True])
def test_another_engine_without_engine_version_is_refused_before_any_request(rds, clock, check_mode):
    with pytest.raises(AuroraClusterError, match="engine=aurora-mysql needs engine_version"):
        present(rds, clock, engine="aurora-mysql", master_credentials=credentials, check_mode=check_mode)
    assert rds.calls == []


def test_another_engine_gets_the_version_it_is_given(rds, clock):
    present(rds, clock, engine="aurora-mysql", engine_version="8.0.mysql_aurora.3.08.0", master_credentials=credentials)
    (create,) = rds.called("create_db_cluster")
    assert (create["Engine"], create["EngineVersion"]) == ("aurora-mysql", "8.0.mysql_aurora.3.08.0")


# present: adopting and converging ---------------------------------------------------------------


def test_second_run_changes_nothing(rds, clock):
    existing_two(rds)
    changed, state = present(rds, clock)
    assert not changed
    assert rds.mutating() == []
    assert clock.sleeps == []
    assert state["before"] == state["after"] == state["cluster"]
    assert [m["is_cluster_writer"] for m in state["cluster"]["members"]] == [True, False]


def existing_three(rds):
    existing_two(rds)
    rds.add_instance("kc-instance-3", "eu-west-1c")


@pytest.mark.parametrize("check_mode", [False, True])
def test_an_existing_cluster_keeps_its_count_when_instances_is_not_set(rds, clock, check_mode):
    existing_three(rds)
    warnings = []
    changed, state = present(rds, clock, check_mode=check_mode, warn=warnings.append)
    assert not changed
    assert rds.mutating() == []
    assert warnings == []
    assert len(state["after"]["members"]) == 3
    assert state["plan"] == {
        "create_cluster": False,
        "instances": 3,
        "create_instances": [],
        "remove_instances": [],
        "change_class": [],
        "failover_to": None,
    }


def test_a_cluster_without_instances_gets_two_when_instances_is_not_set(rds, clock):
    # left so by a run interrupted between CreateDBCluster and CreateDBInstance
    rds.add_cluster()
    changed, state = present(rds, clock)
    assert changed
    assert [c["DBInstanceIdentifier"] for c in rds.called("create_db_instance")] == ["kc-instance-1", "kc-instance-2"]
    assert state["plan"]["create_instances"] == [
        {"db_instance_identifier": "kc-instance-1", "availability_zone": "eu-west-1a"},
        {"db_instance_identifier": "kc-instance-2", "availability_zone": "eu-west-1b"},
    ]


def creating_marker(rds):
    return [t["Value"] for t in rds.clusters["kc"]["TagList"] if t["Key"] == "AuroraCreatingInstances"]


def test_a_creation_interrupted_after_its_first_instance_is_finished_to_the_count_it_was_asked_for(rds, clock):
    # CreateDBCluster carried the marker; the run died after the first CreateDBInstance.
    rds.add_cluster(TagList=[{"Key": "AuroraCluster", "Value": "kc"}, {"Key": "AuroraCreatingInstances", "Value": "2"}])
    rds.add_instance("kc-instance-1", "eu-west-1a", writer=True, status="creating")
    changed, state = present(rds, clock, tags={})  # purge_tags=True leaves the marker to the creation
    assert changed
    assert [c["DBInstanceIdentifier"] for c in rds.called("create_db_instance")] == ["kc-instance-2"]
    assert state["plan"]["instances"] == 2
    # only once every instance is available is the creation finished: the marker goes last
    removal = rds.names().index("remove_tags_from_resource")
    assert removal > max(n for n, name in enumerate(rds.names()) if name == "describe_db_instances" and n < removal)
    assert creating_marker(rds) == []
    # from now on the cluster keeps its count: nothing more to do
    rds.calls.clear()
    changed, _state = present(rds, clock, tags={})
    assert not changed and rds.mutating() == []


def test_a_finished_creation_drops_its_marker_and_an_explicit_count_still_wins(rds, clock):
    changed, _state = present(rds, clock, master_credentials=credentials, instances=3)
    assert changed
    assert creating_marker(rds) == []
    assert len(rds.called("create_db_instance")) == 3
    (removed,) = rds.called("remove_tags_from_resource")
    assert removed["TagKeys"] == ["AuroraCreatingInstances"]


def test_a_creation_not_waited_for_keeps_its_marker(rds, clock):
    present(rds, clock, master_credentials=credentials, wait=False)
    assert creating_marker(rds) == ["2"]
    assert rds.called("remove_tags_from_resource") == []


def test_a_new_cluster_gets_two_instances_when_instances_is_not_set(rds, clock):
    changed, state = present(rds, clock, master_credentials=credentials, db_subnet_group_name="kc-subnet-group")
    assert changed
    assert len(rds.called("create_db_instance")) == 2
    assert state["plan"]["create_cluster"] is True
    assert state["plan"]["instances"] == 2


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_removal_is_named_before_it_happens(rds, clock, check_mode):
    existing_three(rds)

    def warn(message):
        rds.calls.append(("warn", message))

    changed, state = present(rds, clock, instances=2, check_mode=check_mode, warn=warn)
    assert changed
    (message,) = [kwargs for name, kwargs in rds.calls if name == "warn"]
    assert message == (
        "instances=2 (aurora_instances in the playbooks) removes 1 of the 3 instances of DB cluster kc: kc-instance-3"
    )
    assert state["plan"]["remove_instances"] == ["kc-instance-3"]
    if check_mode:
        assert rds.mutating() == []
    else:
        assert rds.names().index("warn") < rds.names().index("delete_db_instance")
        assert [c["DBInstanceIdentifier"] for c in rds.called("delete_db_instance")] == ["kc-instance-3"]


def test_existing_cluster_is_never_created_again(rds, clock):
    existing_two(rds)
    present(rds, clock, master_credentials=credentials)
    assert rds.called("create_db_cluster") == []


def test_scale_up_continues_round_robin_and_waits_for_all_at_once(rds, clock):
    existing_two(rds)
    changed, state = present(rds, clock, instances=4)
    assert changed
    assert [(i["DBInstanceIdentifier"], i["AvailabilityZone"]) for i in rds.called("create_db_instance")] == [
        ("kc-instance-3", "eu-west-1c"),
        ("kc-instance-4", "eu-west-1a"),
    ]
    assert [m["db_instance_identifier"] for m in state["cluster"]["members"]] == [
        "kc-instance-1",
        "kc-instance-2",
        "kc-instance-3",
        "kc-instance-4",
    ]
    assert all(m["db_instance_status"] == "available" for m in state["cluster"]["members"])


def test_scale_up_warns_about_a_class_differing_from_the_members(rds, clock):
    rds.add_cluster()
    rds.add_instance("kc-instance-1", "eu-west-1a", writer=True, klass="db.r6g.xlarge")
    warnings = []
    present(rds, clock, instances=2, warn=warnings.append)
    assert rds.called("create_db_instance")[0]["DBInstanceClass"] == "db.t4g.large"
    assert any("db.r6g.xlarge" in w and "instance_class" in w for w in warnings)


def test_scale_down_removes_the_highest_readers_never_the_writer(rds, clock):
    rds.add_cluster()
    rds.add_instance("kc-instance-1", "eu-west-1a")
    rds.add_instance("kc-instance-2", "eu-west-1b")
    rds.add_instance("kc-instance-3", "eu-west-1c", writer=True)
    changed, state = present(rds, clock, instances=1)
    assert changed
    assert [c["DBInstanceIdentifier"] for c in rds.called("delete_db_instance")] == ["kc-instance-2", "kc-instance-1"]
    # Aurora instances take no final snapshot: no snapshot parameters are sent
    assert rds.called("delete_db_instance")[0] == {"DBInstanceIdentifier": "kc-instance-2"}
    assert [m["db_instance_identifier"] for m in state["cluster"]["members"]] == ["kc-instance-3"]
    assert state["cluster"]["members"][0]["is_cluster_writer"]


def test_scale_down_refuses_to_touch_unmanaged_instances(rds, clock):
    rds.add_cluster()
    rds.add_instance("kc-instance-1", "eu-west-1a", writer=True)
    rds.add_instance("hand-made", "eu-west-1b")
    with pytest.raises(AuroraClusterError, match="hand-made"):
        present(rds, clock, instances=1)
    assert rds.mutating() == []


def test_check_mode_on_an_existing_cluster_sends_nothing(rds, clock):
    existing_two(rds)
    changed, state = present(
        rds,
        clock,
        instances=3,
        deletion_protection=True,
        tags={"a": "b"},
        instance_class="db.r6g.large",
        check_mode=True,
    )
    assert changed
    assert rds.mutating() == []
    assert state["cluster"] == state["before"]
    after = state["after"]
    assert after["deletion_protection"] is True
    assert after["tags"] == {"AuroraCluster": "kc", "a": "b"}
    assert [(m["db_instance_identifier"], m["db_instance_class"]) for m in after["members"]] == [
        ("kc-instance-1", "db.r6g.large"),
        ("kc-instance-2", "db.r6g.large"),
        ("kc-instance-3", "db.r6g.large"),
    ]


def test_check_mode_scale_down(rds, clock):
    existing_two(rds, writer=2)
    changed, state = present(rds, clock, instances=1, check_mode=True)
    assert changed
    assert rds.mutating() == []
    assert [m["db_instance_identifier"] for m in state["after"]["members"]] == ["kc-instance-2"]


def test_explicit_engine_version_differing_is_refused(rds, clock):
    existing_two(rds)
    # Named as the playbooks' users set it, and as the module's option.
    refused = r"engine version 17.5, not aurora_engine_version \(engine_version\) 16.6; .* drop aurora_engine_version "
    with pytest.raises(AuroraClusterError, match=refused):
        present(rds, clock, engine_version="16.6", instances=3)
    assert rds.mutating() == []


def test_engine_version_not_given_adopts_any_version(rds, clock):
    rds.add_cluster(version="15.4")
    rds.add_instance("kc-instance-1", "eu-west-1a", writer=True)
    changed, _state = present(rds, clock, instances=1)
    assert not changed


def test_other_engine_is_refused(rds, clock):
    rds.add_cluster(Engine="aurora-mysql")
    with pytest.raises(AuroraClusterError, match="engine"):
        present(rds, clock)


def test_unencrypted_cluster_is_a_warning_not_a_failure(rds, clock):
    existing_two(rds)
    rds.clusters["kc"]["StorageEncrypted"] = False
    warnings = []
    changed, _state = present(rds, clock, warn=warnings.append)
    assert not changed
    assert len(warnings) == 1 and "not encrypted" in warnings[0]
    assert rds.mutating() == []


def test_instance_class_changes_only_when_given(rds, clock):
    existing_two(rds)
    rds.instances["kc-instance-2"]["DBInstanceClass"] = "db.r6g.large"
    assert present(rds, clock)[0] is False
    changed, state = present(rds, clock, instance_class="db.r6g.large")
    assert changed
    # the reader has the class already: it takes over, then the old writer changes
    assert rds.called("failover_db_cluster") == [
        {"DBClusterIdentifier": "kc", "TargetDBInstanceIdentifier": "kc-instance-2"}
    ]
    assert rds.called("modify_db_instance") == [
        {"DBInstanceIdentifier": "kc-instance-1", "DBInstanceClass": "db.r6g.large", "ApplyImmediately": True}
    ]
    assert [m["db_instance_class"] for m in state["cluster"]["members"]] == ["db.r6g.large", "db.r6g.large"]


# the instance class, one instance at a time ---------------------------------------------------


def writer(rds):
    return [i for i, instance in rds.instances.items() if instance["_writer"]]


def mutations(rds):
    """The mutating calls in order, with the instance each names."""
    return [
        (name, kwargs.get("DBInstanceIdentifier") or kwargs.get("TargetDBInstanceIdentifier"))
        for name, kwargs in rds.calls
        if name in MUTATING
    ]


def test_a_class_change_takes_the_reader_then_fails_over_to_it_then_takes_the_old_writer(rds, clock):
    existing_two(rds)
    warnings = []
    changed, state = present(rds, clock, instance_class="db.r6g.xlarge", warn=warnings.append)
    assert changed and warnings == []
    assert mutations(rds) == [
        ("modify_db_instance", "kc-instance-2"),
        ("failover_db_cluster", "kc-instance-2"),
        ("modify_db_instance", "kc-instance-1"),
    ]
    assert state["plan"]["change_class"] == ["kc-instance-2", "kc-instance-1"]
    assert state["plan"]["failover_to"] == "kc-instance-2"
    # each step waited for: the reader described with its new class before the failover, the new
    # writer described as the writer before the old writer was touched
    names = rds.names()
    failover, last = names.index("failover_db_cluster"), len(names) - 1 - names[::-1].index("modify_db_instance")
    assert "describe_db_instances" in names[names.index("modify_db_instance") : failover]
    assert "describe_db_clusters" in names[failover:last]
    assert writer(rds) == ["kc-instance-2"]
    assert [
        (m["db_instance_identifier"], m["db_instance_class"], m["is_cluster_writer"])
        for m in state["cluster"]["members"]
    ] == [
        ("kc-instance-1", "db.r6g.xlarge", False),
        ("kc-instance-2", "db.r6g.xlarge", True),
    ]

    rds.calls.clear()
    again, state = present(rds, clock, instance_class="db.r6g.xlarge")
    assert not again and rds.mutating() == []
    assert state["plan"]["change_class"] == [] and state["plan"]["failover_to"] is None


def test_check_mode_names_the_order_of_a_class_change_and_sends_nothing(rds, clock):
    existing_two(rds)
    rds.add_instance("kc-instance-3", "eu-west-1c")
    changed, state = present(rds, clock, instance_class="db.r6g.xlarge", check_mode=True)
    assert changed and rds.mutating() == []
    assert state["plan"]["change_class"] == ["kc-instance-2", "kc-instance-3", "kc-instance-1"]
    assert state["plan"]["failover_to"] == "kc-instance-2"
    after = [
        (m["db_instance_identifier"], m["db_instance_class"], m["is_cluster_writer"]) for m in state["after"]["members"]
    ]
    assert after == [
        ("kc-instance-1", "db.r6g.xlarge", False),
        ("kc-instance-2", "db.r6g.xlarge", True),
        ("kc-instance-3", "db.r6g.xlarge", False),
    ]


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_lone_writer_is_restarted_with_a_warning_that_keycloak_loses_its_database(rds, clock, check_mode):
    rds.add_cluster()
    rds.add_instance("kc-instance-1", "eu-west-1a", writer=True)
    warnings = []
    changed, state = present(rds, clock, instance_class="db.r6g.xlarge", warn=warnings.append, check_mode=check_mode)
    assert changed
    [warning] = warnings
    assert "kc-instance-1" in warning and "restarts the writer" in warning and "Keycloak loses its database" in warning
    assert "aurora_instance_class" in warning
    assert state["plan"]["change_class"] == ["kc-instance-1"] and state["plan"]["failover_to"] is None
    if check_mode:
        assert rds.mutating() == []
    else:
        assert mutations(rds) == [("modify_db_instance", "kc-instance-1")]
        assert state["cluster"]["members"][0]["db_instance_class"] == "db.r6g.xlarge"


def test_a_reader_the_run_removes_is_not_changed_and_the_writer_then_restarts_in_place(rds, clock):
    existing_two(rds)
    warnings = []
    present(rds, clock, instances=1, instance_class="db.r6g.xlarge", warn=warnings.append)
    assert mutations(rds) == [("delete_db_instance", "kc-instance-2"), ("modify_db_instance", "kc-instance-1")]
    assert any("restarts the writer" in w for w in warnings)


def test_a_rerun_meeting_a_reader_modifying_waits_for_it_and_goes_on(rds, clock):
    existing_two(rds)
    rds.instances["kc-instance-2"].update(DBInstanceStatus="modifying", _new_class="db.r6g.xlarge")
    changed, _state = present(rds, clock, instance_class="db.r6g.xlarge")
    assert changed
    assert mutations(rds) == [("failover_db_cluster", "kc-instance-2"), ("modify_db_instance", "kc-instance-1")]


def test_a_rerun_after_the_failover_changes_only_the_old_writer(rds, clock):
    existing_two(rds, writer=2)
    rds.instances["kc-instance-2"]["DBInstanceClass"] = "db.r6g.xlarge"
    changed, state = present(rds, clock, instance_class="db.r6g.xlarge")
    assert changed
    assert state["plan"] == dict(state["plan"], change_class=["kc-instance-1"], failover_to=None)
    assert mutations(rds) == [("modify_db_instance", "kc-instance-1")]
    assert writer(rds) == ["kc-instance-2"]


def test_without_wait_each_run_takes_the_next_step_of_a_class_change(rds, clock):
    existing_two(rds)
    steps = []
    for _run in range(4):
        rds.calls.clear()
        warnings = []
        present(rds, clock, instance_class="db.r6g.xlarge", wait=False, warn=warnings.append)
        steps.append(mutations(rds))
        assert warnings == []
    # (in the fake, what a run started is over once the next run has described it)
    assert steps == [
        [("modify_db_instance", "kc-instance-2")],
        [("failover_db_cluster", "kc-instance-2")],
        [("modify_db_instance", "kc-instance-1")],
        [],
    ]
    assert clock.sleeps == []


def test_without_wait_a_run_meeting_the_last_step_under_way_sends_nothing(rds, clock):
    existing_two(rds)
    rds.instances["kc-instance-2"].update(DBInstanceStatus="modifying", _new_class="db.r6g.xlarge")
    rds.endless.add("kc-instance-2")
    present(rds, clock, instance_class="db.r6g.xlarge", wait=False)
    assert rds.mutating() == [] and clock.sleeps == []


def test_a_class_change_that_outlasts_the_deadline_names_the_instance_and_its_state(rds, clock):
    existing_two(rds)
    rds.endless.add("kc-instance-2")
    with pytest.raises(AuroraClusterError) as raised:
        present(rds, clock, instance_class="db.r6g.xlarge", wait_timeout=60)
    message = str(raised.value)
    assert "Timed out after aurora_wait_timeout (wait_timeout) 60s" in message
    assert "kc-instance-2 (modifying)" in message
    assert mutations(rds) == [("modify_db_instance", "kc-instance-2")], "the writer is never touched meanwhile"
    assert sum(clock.sleeps) == 60


def test_the_steps_of_a_class_change_share_the_one_deadline_of_the_run(rds, clock):
    existing_two(rds)
    # 10 s for the reader, 20 s refused and 10 s for the failover: the old writer's wait is left nothing
    rds.faults["failover_db_cluster"] = ["InvalidDBClusterStateFault"] * 2
    rds.endless.add("kc-instance-1")
    with pytest.raises(AuroraClusterError, match=r"40s .*not available yet: kc-instance-1 \(modifying\)"):
        present(rds, clock, instance_class="db.r6g.xlarge", wait_timeout=40)
    assert len(rds.called("failover_db_cluster")) == 3
    assert clock.sleeps == [10, 10, 10, 10]


def test_a_failover_refused_past_the_deadline_names_the_cluster_and_the_target(rds, clock):
    existing_two(rds)
    rds.instances["kc-instance-2"]["DBInstanceClass"] = "db.r6g.xlarge"
    rds.faults["failover_db_cluster"] = ["InvalidDBClusterStateFault"] * 1000
    with pytest.raises(AuroraClusterError) as raised:
        present(rds, clock, instance_class="db.r6g.xlarge", wait_timeout=30)
    message = str(raised.value)
    assert (
        "waiting to fail over DB cluster kc to kc-instance-2: the cluster is available, kc-instance-2 is available"
        in message
    )
    assert rds.called("modify_db_instance") == []


def test_an_instance_named_otherwise_taking_over_is_a_warning(rds, clock):
    rds.add_cluster()
    rds.add_instance("kc-instance-1", "eu-west-1a", writer=True)
    rds.add_instance("manual-reader", "eu-west-1b")
    warnings = []
    present(rds, clock, instance_class="db.r6g.xlarge", warn=warnings.append)
    assert mutations(rds) == [("failover_db_cluster", "manual-reader"), ("modify_db_instance", "kc-instance-1")]
    assert len(warnings) == 1 and "manual-reader becomes the writer" in warnings[0] and "keeps its class" in warnings[0]


def test_cluster_settings_change_only_when_given(rds, clock):
    existing_two(rds)
    changed, _state = present(
        rds, clock, deletion_protection=True, backup_retention_period=7, vpc_security_group_ids=["sg-1"]
    )
    assert changed
    assert rds.called("modify_db_cluster") == [
        {"DBClusterIdentifier": "kc", "ApplyImmediately": True, "DeletionProtection": True, "BackupRetentionPeriod": 7}
    ]
    rds.calls.clear()
    assert present(rds, clock, deletion_protection=True, backup_retention_period=7)[0] is False
    assert rds.mutating() == []


def test_tags_are_converged_and_the_cluster_tag_kept(rds, clock):
    existing_two(rds)
    rds.clusters["kc"]["TagList"] += [{"Key": "old", "Value": "1"}, {"Key": "aws:reserved", "Value": "x"}]
    changed, _state = present(rds, clock, tags={"team": "sso"})
    assert changed
    assert rds.called("remove_tags_from_resource") == [{"ResourceName": ARN + "kc", "TagKeys": ["old"]}]
    assert rds.called("add_tags_to_resource") == [
        {"ResourceName": ARN + "kc", "Tags": [{"Key": "team", "Value": "sso"}]}
    ]


def test_tags_without_purge(rds, clock):
    existing_two(rds)
    rds.clusters["kc"]["TagList"] += [{"Key": "old", "Value": "1"}]
    present(rds, clock, tags={}, purge_tags=False)
    assert rds.mutating() == []


def test_cluster_being_deleted_is_refused(rds, clock):
    rds.add_cluster(status="deleting")
    with pytest.raises(AuroraClusterError, match="being deleted"):
        present(rds, clock)


def test_instances_out_of_range(rds, clock):
    with pytest.raises(AuroraClusterError, match="between 1 and 16"):
        present(rds, clock, instances=17)
    assert rds.calls == []


# the wait loop ----------------------------------------------------------------------------------


def test_wait_times_out_naming_the_instances_still_not_available(rds, clock):
    existing_two(rds)
    rds.scripts["kc-instance-3"] = ["creating"] * 1000
    with pytest.raises(AuroraClusterError) as raised:
        present(rds, clock, instances=4, wait_timeout=60)
    message = str(raised.value)
    assert "Timed out after aurora_wait_timeout (wait_timeout) 60s" in message
    assert "kc-instance-3 (creating)" in message
    assert "kc-instance-4" not in message
    assert "kc-instance-1" not in message
    assert sum(clock.sleeps) == 60
    assert all(s <= 10 for s in clock.sleeps)


def test_wait_names_instances_not_deleted_yet(rds, clock):
    existing_two(rds)
    rds.scripts["kc-instance-2"] = ["deleting"] * 1000
    with pytest.raises(AuroraClusterError, match=r"not deleted yet: kc-instance-2 \(deleting\)"):
        present(rds, clock, instances=1, wait_timeout=30)


def test_wait_fails_at_once_on_a_failed_state(rds, clock):
    existing_two(rds)
    rds.scripts["kc-instance-3"] = ["incompatible-network"] * 10
    with pytest.raises(AuroraClusterError, match=r"kc-instance-3 \(incompatible-network\)"):
        present(rds, clock, instances=3)
    assert len(clock.sleeps) <= 1


def test_wait_for_instances_left_creating_by_an_interrupted_run(rds, clock):
    existing_two(rds)
    rds.instances["kc-instance-2"]["DBInstanceStatus"] = "creating"
    changed, state = present(rds, clock)
    assert not changed
    assert rds.mutating() == []
    assert [m["db_instance_status"] for m in state["cluster"]["members"]] == ["available", "available"]


def test_wait_for_members_directly(rds, clock):
    rds.add_cluster()
    rds.add_instance("kc-instance-1", "eu-west-1a", status="creating")
    rds.scripts["kc-instance-1"] = ["backing-up", "available"]
    rds_cluster.wait_for_members(
        rds, "kc", available=["kc-instance-1"], remaining=100, delay=5, sleep=clock.sleep, clock=clock
    )
    assert clock.sleeps == [5, 5]


# absent -----------------------------------------------------------------------------------------


def test_absent_on_a_missing_cluster(rds, clock):
    changed, state = absent(rds, clock)
    assert not changed
    assert state["cluster"] == {}
    assert rds.mutating() == []


def test_absent_deletes_instances_then_cluster_with_a_final_snapshot(rds, clock):
    existing_two(rds)
    changed, state = absent(rds, clock, final_snapshot_identifier="kc-last")
    assert changed
    names = rds.mutating()
    assert names == ["delete_db_instance", "delete_db_instance", "delete_db_cluster"]
    assert rds.called("delete_db_cluster") == [
        {"DBClusterIdentifier": "kc", "SkipFinalSnapshot": False, "FinalDBSnapshotIdentifier": "kc-last"}
    ]
    assert rds.called("waiter.db_cluster_deleted")
    assert "kc" not in rds.clusters
    assert state["final_snapshot_identifier"] == "kc-last"
    assert state["before"]["db_cluster_identifier"] == "kc" and state["after"] == {}


def test_absent_default_final_snapshot_name(rds, clock):
    rds.add_cluster()
    _changed, state = absent(rds, clock)
    assert state["final_snapshot_identifier"].startswith("kc-final-")
    assert len(state["final_snapshot_identifier"]) == len("kc-final-") + 14


def test_default_final_snapshot_identifier():
    import time

    assert rds_cluster.default_final_snapshot_identifier("kc", time.gmtime(0)) == "kc-final-19700101000000"


def test_absent_skip_final_snapshot_without_wait(rds, clock):
    existing_two(rds)
    changed, state = absent(rds, clock, skip_final_snapshot=True, wait=False)
    assert changed
    assert rds.called("delete_db_cluster") == [{"DBClusterIdentifier": "kc", "SkipFinalSnapshot": True}]
    assert rds.called("waiter.db_cluster_deleted") == []
    assert "final_snapshot_identifier" not in state


def test_absent_refuses_deletion_protection(rds, clock):
    existing_two(rds)
    rds.clusters["kc"]["DeletionProtection"] = True
    with pytest.raises(AuroraClusterError, match="deletion_protection=false"):
        absent(rds, clock)
    assert rds.mutating() == []


def test_absent_check_mode(rds, clock):
    existing_two(rds)
    changed, state = absent(rds, clock, check_mode=True)
    assert changed
    assert rds.mutating() == []
    assert state["before"]["members"]


def earlier_finals(rds):
    """Two final snapshots of earlier clusters of the same name, made in the wrong order, and others."""
    utc = datetime.UTC
    rds.add_snapshot("kc-final-20250301000000", created=datetime.datetime(2025, 3, 1, tzinfo=utc))
    rds.add_snapshot("kc-final-20240101000000", created=datetime.datetime(2024, 1, 1, tzinfo=utc))
    rds.add_snapshot("kc-before-upgrade")
    rds.add_snapshot("rds:kc-2025-03-01-00-00", kind="automated")
    rds.add_snapshot("kcx-final-20240101000000", cluster="kcx")


@pytest.mark.parametrize("check_mode", [False, True])
def test_absent_lists_the_earlier_final_snapshots_oldest_first(rds, clock, check_mode):
    existing_two(rds)
    earlier_finals(rds)
    _changed, state = absent(rds, clock, final_snapshot_identifier="kc-final-20260101000000", check_mode=check_mode)
    assert state["earlier_final_snapshots"] == [
        {
            "db_cluster_snapshot_identifier": "kc-final-20240101000000",
            "snapshot_create_time": "2024-01-01T00:00:00+00:00",
            "status": "available",
        },
        {
            "db_cluster_snapshot_identifier": "kc-final-20250301000000",
            "snapshot_create_time": "2025-03-01T00:00:00+00:00",
            "status": "available",
        },
    ]
    assert rds.called("describe_db_cluster_snapshots") == [{"DBClusterIdentifier": "kc", "SnapshotType": "manual"}]


def test_absent_with_a_mixed_case_identifier_finds_what_rds_stored_in_lower_case(rds, clock):
    existing_two(rds)
    earlier_finals(rds)
    _changed, state = absent(rds, clock, identifier="KC", check_mode=True)
    assert [m["db_instance_identifier"] for m in state["before"]["members"]] == ["kc-instance-1", "kc-instance-2"]
    assert [s["db_cluster_snapshot_identifier"] for s in state["earlier_final_snapshots"]] == [
        "kc-final-20240101000000",
        "kc-final-20250301000000",
    ]
    assert state["final_snapshot_identifier"].startswith("kc-final-")


def test_absent_on_a_full_snapshot_quota_says_what_to_remove(rds, clock):
    existing_two(rds)
    earlier_finals(rds)
    rds.snapshot_quota_reached = True
    with pytest.raises(AuroraClusterError) as raised:
        absent(rds, clock, final_snapshot_identifier="kc-final-20260101000000")
    message = str(raised.value)
    assert "SnapshotQuotaExceeded" in message and "kc-final-20260101000000" in message
    assert "kc-final-20240101000000, kc-final-20250301000000" in message, "oldest first"
    assert "aws rds delete-db-cluster-snapshot --db-cluster-snapshot-identifier kc-final-20240101000000" in message
    assert "skip_final_snapshot=true" in message and "aurora_skip_final_snapshot=true" in message
    assert "kc-before-upgrade" not in message
    assert len(rds.called("delete_db_cluster")) == 1, "a full quota is not retried"
    assert "kc" in rds.clusters


def test_absent_on_a_full_snapshot_quota_without_earlier_final_snapshots(rds, clock):
    rds.add_cluster()
    rds.snapshot_quota_reached = True
    with pytest.raises(AuroraClusterError) as raised:
        absent(rds, clock)
    message = str(raised.value)
    assert "aws rds describe-db-cluster-snapshots --snapshot-type manual" in message
    assert "aurora_skip_final_snapshot=true" in message


def test_absent_deletes_the_cluster_once_its_instances_are_deleting_not_gone(rds, clock):
    existing_two(rds)
    rds.scripts["kc-instance-2"] = ["deleting"] * 1000
    changed, _state = absent(rds, clock, wait_timeout=20)
    assert changed
    assert rds.mutating() == ["delete_db_instance", "delete_db_instance", "delete_db_cluster"]
    assert "describe_db_instances" not in rds.names()[rds.names().index("delete_db_instance") :]
    assert clock.sleeps == []


def test_absent_times_out_naming_the_cluster_still_deleting(rds, clock):
    existing_two(rds)
    rds.cluster_never_deleted = True
    with pytest.raises(
        AuroraClusterError,
        match=(
            r"Timed out after aurora_wait_timeout \(wait_timeout\) 20s"
            r" .*kc to be deleted: it is deleting"
        ),
    ):
        absent(rds, clock, wait_timeout=20)
    assert rds.called("delete_db_cluster")


def test_absent_outlasts_a_cluster_refusing_while_aws_does_not_see_every_member_deleting(rds, clock):
    existing_two(rds)
    rds.faults["delete_db_cluster"] = ["InvalidDBClusterStateFault"] * 2
    changed, _state = absent(rds, clock)
    assert changed
    assert len(rds.called("delete_db_cluster")) == 3
    assert clock.sleeps == [10, 10]


def test_instances_and_a_cluster_already_being_deleted_are_progress_not_errors(rds, clock):
    existing_two(rds)

    def someone_else_deleted_it(name):
        # another run's delete got there between this run's describe and its own delete
        if name == "delete_db_instance":
            for instance in rds.instances.values():
                instance["DBInstanceStatus"] = "deleting"
            raise client_error("InvalidDBInstanceState", name)
        if name == "delete_db_cluster":
            rds.clusters["kc"]["Status"] = "deleting"
            raise client_error("InvalidDBClusterStateFault", name)

    rds._fault = someone_else_deleted_it
    changed, _state = absent(rds, clock)
    assert changed
    assert len(rds.called("delete_db_instance")) == 2 and len(rds.called("delete_db_cluster")) == 1
    assert clock.sleeps == []
    assert "kc" not in rds.clusters


def test_a_rerun_during_the_delete_adopts_it_and_waits(rds, clock):
    existing_two(rds)
    rds.clusters["kc"]["Status"] = "deleting"
    for instance in rds.instances.values():
        instance["DBInstanceStatus"] = "deleting"
    changed, state = absent(rds, clock)
    assert not changed
    assert rds.mutating() == []
    assert rds.called("waiter.db_cluster_deleted")
    assert "final_snapshot_identifier" not in state


# the module -------------------------------------------------------------------------------------


class FakeModule:
    def __init__(self, **params):
        self.params = {
            "identifier": "kc",
            "state": "present",
            "instances": None,
            "backup_retention_period": None,
            "wait_timeout": 3600,
            "engine": "aurora-postgresql",
            "engine_version": None,
        }
        self.params.update(params)

    def client(self, service):
        raise AssertionError(f"no {service} client may be made before the input is validated")


def module_argument_spec(monkeypatch):
    specs = []

    def capture(argument_spec, **_kwargs):
        specs.append(argument_spec)
        raise SystemExit(0)

    monkeypatch.setattr(aurora_cluster, "AnsibleAWSModule", capture)
    with pytest.raises(SystemExit):
        aurora_cluster.main()
    return specs[0]


def test_every_cluster_option_is_a_module_option_with_the_same_default(monkeypatch):
    # run() passes each of them from module.params, which holds exactly the argument_spec's options,
    # so a module default that differed from CLUSTER_OPTIONS' would win over it.
    spec = module_argument_spec(monkeypatch)
    assert set(rds_cluster.CLUSTER_OPTIONS) <= set(spec)
    assert {name: spec[name].get("default") for name in rds_cluster.CLUSTER_OPTIONS} == rds_cluster.CLUSTER_OPTIONS


def test_the_documented_defaults_of_the_cluster_options_are_those_of_cluster_options():
    documented = yaml.safe_load(aurora_cluster.DOCUMENTATION)["options"]
    own = [name for name in rds_cluster.CLUSTER_OPTIONS if name in documented]
    # purge_tags is documented by amazon.aws's tags fragment, with the same default True.
    assert set(rds_cluster.CLUSTER_OPTIONS) - set(own) == {"purge_tags"}
    assert {name: documented[name].get("default") for name in own} == {
        name: rds_cluster.CLUSTER_OPTIONS[name] for name in own
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"identifier": "Bad--name-"}, "identifier: 'Bad--name-' is not allowed"),
        ({"identifier": "1kc"}, "identifier: "),
        ({"instances": 0}, "instances must be between 1 and 16, got 0"),
        ({"instances": 17}, "instances must be between 1 and 16, got 17"),
        ({"backup_retention_period": 36}, "backup_retention_period must be between 1 and 35"),
        ({"wait_timeout": -1}, "wait_timeout"),
        ({"engine": "aurora-mysql"}, "engine=aurora-mysql needs engine_version"),
    ],
)
def test_module_refuses_bad_input_before_any_call(params, message):
    with pytest.raises(AuroraClusterError) as raised:
        aurora_cluster.run(FakeModule(**params))
    assert message in str(raised.value)


def test_a_restore_waits_for_a_final_snapshot_still_being_taken(rds, clock):
    rds.add_snapshot("kc-final-1")
    rds.snapshots["kc-final-1"]["Status"] = "creating"
    rds.faults["restore_db_cluster_from_snapshot"] = ["InvalidDBClusterSnapshotStateFault"] * 1000
    with pytest.raises(AuroraClusterError) as raised:
        present(rds, clock, snapshot_identifier="kc-final-1", wait_timeout=20)
    assert str(raised.value).startswith(
        "Timed out after aurora_wait_timeout (wait_timeout) 20s"
        " waiting to restore DB cluster kc: DB cluster snapshot kc-final-1 is creating"
    )

    rds.faults["restore_db_cluster_from_snapshot"] = ["InvalidDBClusterSnapshotStateFault"]
    changed, _state = present(rds, clock, snapshot_identifier="kc-final-1")
    assert changed and "kc" in rds.clusters

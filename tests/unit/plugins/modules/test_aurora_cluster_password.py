"""aurora_cluster with force_update_password: a new master password is set only when asked, never logged.

Uses the stateful fake RDS client of test_aurora_cluster.
"""

import json

import pytest
from aws_fakes import FakeClock
from test_aurora_cluster import FakeRDS
from test_aurora_cluster import credentials
from test_aurora_cluster import never_called

from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import AuroraClusterError
from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import ensure_cluster_present

PASSWORD = credentials()[1]


@pytest.fixture
def rds():
    return FakeRDS()


@pytest.fixture
def clock():
    return FakeClock()


def present(rds, clock, **kwargs):
    kwargs.setdefault("identifier", "kc")
    kwargs.setdefault("instances", 1)
    return ensure_cluster_present(rds, sleep=clock.sleep, clock=clock, delay=10, **kwargs)


def adopted(rds):
    rds.add_cluster()
    rds.add_instance("kc-instance-1", "eu-west-1a", writer=True)


def password_changes(rds):
    return [call for call in rds.called("modify_db_cluster") if "MasterUserPassword" in call]


def test_an_adopted_cluster_keeps_its_password_unless_asked(rds, clock):
    adopted(rds)
    changed, _state = present(rds, clock, master_credentials=never_called)
    assert not changed and rds.mutating() == []


def test_asked_the_password_is_set_on_an_adopted_cluster_at_once(rds, clock):
    adopted(rds)
    changed, state = present(rds, clock, master_credentials=credentials, force_update_password=True)
    assert changed
    assert password_changes(rds) == [
        {"DBClusterIdentifier": "kc", "ApplyImmediately": True, "MasterUserPassword": PASSWORD}
    ]
    assert rds.mutating() == ["modify_db_cluster"]
    assert PASSWORD not in json.dumps(state, default=str)


def test_check_mode_reads_no_password_and_sends_nothing(rds, clock):
    adopted(rds)
    changed, _state = present(rds, clock, master_credentials=never_called, force_update_password=True, check_mode=True)
    assert changed and rds.mutating() == []


def test_a_restored_cluster_gets_the_password_once_it_is_available(rds, clock):
    rds.snapshots["kc-final-1"] = {"DBClusterSnapshotIdentifier": "kc-final-1"}
    changed, _state = present(
        rds, clock, snapshot_identifier="kc-final-1", master_credentials=credentials, force_update_password=True
    )
    assert changed
    names = rds.names()
    assert names.index("restore_db_cluster_from_snapshot") < names.index("waiter.db_cluster_available")
    assert names.index("waiter.db_cluster_available") < names.index("modify_db_cluster")
    assert [c["MasterUserPassword"] for c in password_changes(rds)] == [PASSWORD]


def test_a_new_cluster_is_created_with_the_password_and_not_changed_again(rds, clock):
    changed, _state = present(rds, clock, master_credentials=credentials, force_update_password=True)
    assert changed
    assert rds.called("create_db_cluster")[0]["MasterUserPassword"] == PASSWORD
    assert password_changes(rds) == []


def test_asked_without_a_password_is_refused_before_any_request(rds, clock):
    adopted(rds)
    with pytest.raises(AuroraClusterError, match="force_update_password needs the new password"):
        present(rds, clock, master_credentials=None, force_update_password=True)
    assert rds.calls == []

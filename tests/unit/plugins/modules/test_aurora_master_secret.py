"""aurora_master_secret with reset_password (module_utils.master_password), against the fake clients.

A reset is staged in the secret, set on the cluster, waited for, and only then made the secret's current value.
"""

import json

import pytest
from aws_fakes import FakeClock
from aws_fakes import FakeSecretsManager
from test_aurora_cluster import FakeRDS

from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError
from ansible_collections.keycloak.aurora.plugins.module_utils.master_password import reset_master_password


@pytest.fixture
def clients():
    secrets, rds = FakeSecretsManager(), FakeRDS()
    rds.add_cluster(MasterUsername="admin")
    return secrets, rds


def reset(secrets, rds, **kwargs):
    clock = FakeClock()
    return reset_master_password(secrets, rds, cluster="kc", sleep=clock.sleep, clock=clock, delay=10, **kwargs)


def sent_password(rds):
    [modify] = rds.called("modify_db_cluster")
    return modify["MasterUserPassword"]


def test_a_generated_password_is_staged_set_waited_for_and_only_then_made_current(clients):
    secrets, rds = clients
    changed, found = reset(secrets, rds, tags={"AuroraCluster": "kc"})
    assert changed and found["Name"] == "kc-master-password"
    calls = [c[0] for c in secrets.mutating_calls()]
    assert calls == ["create_secret", "put_secret_value", "update_secret_version_stage", "update_secret_version_stage"]
    created, staged = secrets.mutating_calls()[0][1], secrets.mutating_calls()[1][1]
    assert "password" not in json.loads(created["SecretString"]), "the first version is current: it holds no password"
    assert staged["VersionStages"] == ["AWSPENDING"]
    expected = {"username": "admin", "engine": "postgres", "password": sent_password(rds)}
    assert json.loads(staged["SecretString"]) == expected
    # the cluster is waited for after the change, before the secret is promoted
    assert rds.names()[-1] == "waiter.db_cluster_available"
    assert rds.called("modify_db_cluster")[0]["ApplyImmediately"] is True


def test_a_given_password_is_kept_where_a_secret_exists(clients):
    secrets, rds = clients
    secrets.existing = {"Name": "kc-master-password", "ARN": "arn", "VersionIdsToStages": {"v0": ["AWSCURRENT"]}}
    reset(secrets, rds, password="Given-Passw0rd")
    assert sent_password(rds) == "Given-Passw0rd"
    staged = secrets.mutating_calls()[0][1]
    assert json.loads(staged["SecretString"])["password"] == "Given-Passw0rd"


def test_a_given_password_without_a_secret_is_not_kept(clients):
    secrets, rds = clients
    changed, found = reset(secrets, rds, password="Given-Passw0rd")
    assert changed and found == {}
    assert secrets.mutating_calls() == [] and sent_password(rds) == "Given-Passw0rd"


def test_when_the_cluster_refuses_the_secrets_current_value_is_untouched(clients):
    secrets, rds = clients
    secrets.existing = {"Name": "kc-master-password", "ARN": "arn", "VersionIdsToStages": {"v0": ["AWSCURRENT"]}}

    def refuse(**kwargs):
        raise RuntimeError("InvalidDBClusterStateFault")

    rds.modify_db_cluster = refuse
    with pytest.raises(RuntimeError):
        reset(secrets, rds)
    assert [c[0] for c in secrets.mutating_calls()] == ["put_secret_value"]  # staged, never promoted


def test_check_mode_sends_nothing(clients):
    secrets, rds = clients
    changed, _found = reset(secrets, rds, check_mode=True)
    assert changed and secrets.mutating_calls() == [] and rds.mutating() == []


def test_a_missing_cluster_is_refused_before_any_change():
    secrets, rds = FakeSecretsManager(), FakeRDS()
    with pytest.raises(AuroraError, match="there is no DB cluster kc"):
        reset(secrets, rds)
    assert secrets.mutating_calls() == []

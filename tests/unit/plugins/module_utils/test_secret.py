import json

import pytest
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from aws_fakes import FakeSecretsManager

from ansible_collections.keycloak.aurora.plugins.module_utils import secret
from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError


def test_generated_passwords_are_strong_and_differ():
    first, second = secret.generate_password(), secret.generate_password()
    assert first != second
    assert len(first) == 32 and first.isalnum()


def present(client, **kwargs):
    kwargs.setdefault("name", "kc-master-password")
    kwargs.setdefault("username", "keycloak")
    kwargs.setdefault("tags", {})
    kwargs.setdefault("cluster", "kc")
    return secret.ensure_master_secret(client, **kwargs)


def test_a_new_secret_holds_a_generated_password_and_is_tagged():
    client = FakeSecretsManager()
    changed, found = present(client, tags={"AuroraCluster": "kc"}, cluster_exists=False)
    assert changed and found["ARN"] == "arn:secret:kc-master-password"
    params = client.mutating_calls()[0][1]
    value = json.loads(params["SecretString"])
    assert value["username"] == "keycloak" and len(value["password"]) == 32
    assert params["Tags"] == [{"Key": "AuroraCluster", "Value": "kc"}]


ACTIVE = {"Name": "kc-master-password", "ARN": "arn"}
SCHEDULED = {**ACTIVE, "DeletedDate": "2026-11-01"}


@pytest.mark.parametrize(
    "existing, cluster_exists, snapshot_source, password_given, steps, known",
    [
        # a cluster made from scratch: the only time a password is made up
        (None, False, None, False, ["create"], True),
        (ACTIVE, False, None, False, [], True),
        (SCHEDULED, False, None, False, ["restore"], True),
        # ... or given: a live secret of that name must not disagree with the new cluster
        (None, False, None, True, [], False),
        (ACTIVE, False, None, True, ["put"], True),
        (SCHEDULED, False, None, True, [], False),
        # restored from its own final snapshot: the deleted cluster's secret holds the snapshot's password
        (None, False, "kc", False, [], False),
        (SCHEDULED, False, "KC", False, ["restore"], True),
        (ACTIVE, False, "kc", False, [], True),
        # restored from another cluster's snapshot: a password the collection never saw
        (None, False, "prod", False, [], False),
        (SCHEDULED, False, "prod", False, [], False),
        # adopted: a kept secret is used, none is made up, a scheduled one may be an earlier cluster's
        (None, True, None, False, [], False),
        (ACTIVE, True, None, False, [], True),
        (SCHEDULED, True, None, False, [], False),
        (ACTIVE, True, None, True, [], True),
    ],
)
def test_a_password_is_made_up_only_for_a_new_cluster(
    existing, cluster_exists, snapshot_source, password_given, steps, known
):
    assert secret.plan_master_secret(
        existing,
        cluster="kc",
        cluster_exists=cluster_exists,
        snapshot_source=snapshot_source,
        password_given=password_given,
    ) == (steps, known)


def test_a_live_secret_beside_another_clusters_snapshot_is_refused():
    with pytest.raises(secret.AnsibleSecretsManagerError, match="about to be restored from a snapshot of prod"):
        secret.plan_master_secret(ACTIVE, cluster="kc", cluster_exists=False, snapshot_source="prod")


def test_an_adopted_cluster_gets_no_made_up_password():
    client = FakeSecretsManager()
    assert present(client, cluster_exists=True) == (False, {})
    assert client.mutating_calls() == []


def test_an_existing_secret_is_never_given_a_new_password_unasked():
    client = FakeSecretsManager(dict(ACTIVE))
    for cluster_exists in (False, True):
        changed, found = present(client, cluster_exists=cluster_exists)
        assert not changed and found["ARN"] == "arn"
    assert client.mutating_calls() == []


def test_a_given_password_for_a_new_cluster_replaces_a_live_secrets_value():
    client = FakeSecretsManager(dict(ACTIVE))
    changed, found = present(client, cluster_exists=False, password="Given-Passw0rd")
    assert changed and found["ARN"] == "arn"
    [(call, params)] = client.mutating_calls()
    assert call == "put_secret_value" and "VersionStages" not in params
    assert json.loads(params["SecretString"])["password"] == "Given-Passw0rd"


def test_a_secret_scheduled_for_deletion_is_restored_for_its_own_snapshot():
    client = FakeSecretsManager(dict(SCHEDULED))
    changed, found = present(client, cluster_exists=False, snapshot_source="kc")
    assert changed and "DeletedDate" not in found
    assert [c[0] for c in client.mutating_calls()] == ["restore_secret"]


@pytest.mark.parametrize("existing", [None, SCHEDULED, ACTIVE])
def test_check_mode_changes_nothing(existing):
    client = FakeSecretsManager(existing and dict(existing))
    changed = present(client, cluster_exists=False, check_mode=True)[0]
    assert changed == (existing is not ACTIVE)
    assert client.mutating_calls() == []


def test_a_new_password_is_staged_then_promoted_and_the_old_one_kept():
    client = FakeSecretsManager({**SCHEDULED, "VersionIdsToStages": {"v1": ["AWSCURRENT"]}})
    version = secret.stage_new_password(
        client, name="kc-master-password", username="admin", password="New-Passw0rd", tags={}
    )
    (restore, _id), (put, params) = client.mutating_calls()
    assert (restore, put) == ("restore_secret", "put_secret_value")
    assert params["VersionStages"] == ["AWSPENDING"]
    assert json.loads(params["SecretString"]) == {"username": "admin", "engine": "postgres", "password": "New-Passw0rd"}
    secret.promote_pending(client, name="kc-master-password", version_id=version)
    assert client.mutating_calls()[2:] == [
        (
            "update_secret_version_stage",
            {
                "SecretId": "kc-master-password",
                "VersionStage": "AWSCURRENT",
                "MoveToVersionId": version,
                "RemoveFromVersionId": "v1",
            },
        ),
        (
            "update_secret_version_stage",
            {"SecretId": "kc-master-password", "VersionStage": "AWSPENDING", "RemoveFromVersionId": version},
        ),
    ]


def test_a_missing_secret_is_created_holding_no_password_before_one_is_staged():
    client = FakeSecretsManager()
    secret.stage_new_password(client, name="kc-master-password", username="admin", password="New-Passw0rd", tags={})
    (create, created), (put, _params) = client.mutating_calls()
    assert (create, put) == ("create_secret", "put_secret_value")
    assert json.loads(created["SecretString"]) == {"username": "admin", "engine": "postgres"}


def test_absent_keeps_the_recovery_window():
    client = FakeSecretsManager({"Name": "n", "ARN": "arn"})
    changed = secret.ensure_master_secret_absent(client, name="n", recovery_window_days=7, check_mode=False)[0]
    assert changed and client.mutating_calls() == [("delete_secret", {"SecretId": "n", "RecoveryWindowInDays": 7})]


def test_absent_on_a_missing_secret_is_a_no_op():
    client = FakeSecretsManager()
    assert secret.ensure_master_secret_absent(client, name="n", recovery_window_days=7, check_mode=False)[0] is False


def test_a_malformed_secret_is_reported_without_its_value():
    client = FakeSecretsManager({"SecretString": "not-json-hunter2"})
    with pytest.raises(secret.AnsibleSecretsManagerError) as raised:
        secret.read_credentials(client, "n")
    assert "hunter2" not in str(raised.value) and raised.value.__cause__ is None


def holding(secret_string):
    return FakeSecretsManager({"SecretString": secret_string})


def test_read_master_credentials():
    client = holding(json.dumps({"username": "keycloak", "password": "pw-123456"}))
    assert secret.read_master_credentials(client, "kc-master", "keycloak") == ("keycloak", "pw-123456")


@pytest.mark.parametrize(
    "secret_string",
    [
        "not json pw-123456",
        json.dumps(["pw-123456"]),
        json.dumps({"username": "keycloak"}),
        json.dumps({"username": "keycloak", "password": ""}),
    ],
)
def test_read_master_credentials_refuses_bad_secrets_without_echoing_them(secret_string):
    with pytest.raises(AnsibleAWSError) as raised:
        secret.read_master_credentials(holding(secret_string), "kc-master", "keycloak")
    assert "pw-123456" not in str(raised.value)
    assert "kc-master" in str(raised.value)


def test_read_master_credentials_refuses_another_user():
    client = holding(json.dumps({"username": "admin", "password": "pw-123456"}))
    with pytest.raises(AuroraError, match="master_username"):
        secret.read_master_credentials(client, "kc-master", "keycloak")

import json

import botocore.exceptions
import pytest

from ansible_collections.keycloak.aurora.plugins.module_utils import secret


class FakeSecretsManager:
    """Records every call; holds at most one secret."""

    def __init__(self, existing=None):
        self.existing = existing
        self.calls = []

    def describe_secret(self, SecretId):
        self.calls.append(("describe_secret", SecretId))
        if self.existing is None:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": "not found"}}, "DescribeSecret"
            )
        return self.existing

    def create_secret(self, **params):
        self.calls.append(("create_secret", params))
        self.existing = {"Name": params["Name"], "ARN": "arn:secret:" + params["Name"]}
        return self.existing

    def restore_secret(self, SecretId):
        self.calls.append(("restore_secret", SecretId))
        self.existing = {k: v for k, v in self.existing.items() if k != "DeletedDate"}

    def put_secret_value(self, **params):
        self.calls.append(("put_secret_value", params))

    def delete_secret(self, **params):
        self.calls.append(("delete_secret", params))

    def get_secret_value(self, SecretId):
        self.calls.append(("get_secret_value", SecretId))
        return {"SecretString": self.existing["SecretString"]}

    def mutating_calls(self):
        return [c for c in self.calls if not c[0].startswith(("describe", "get"))]


def test_generated_passwords_are_strong_and_differ():
    first, second = secret.generate_password(), secret.generate_password()
    assert first != second
    assert len(first) == 32 and first.isalnum()


def test_a_new_secret_holds_a_generated_password_and_is_tagged():
    client = FakeSecretsManager()
    changed, found = secret.ensure_master_secret(
        client, name="kc-master-password", username="keycloak", tags={"AuroraCluster": "kc"}, cluster_exists=False
    )
    assert changed and found["ARN"] == "arn:secret:kc-master-password"
    params = client.mutating_calls()[0][1]
    value = json.loads(params["SecretString"])
    assert value["username"] == "keycloak" and len(value["password"]) == 32
    assert params["Tags"] == [{"Key": "AuroraCluster", "Value": "kc"}]


ACTIVE = {"Name": "kc-master-password", "ARN": "arn"}
SCHEDULED = {**ACTIVE, "DeletedDate": "2026-11-01"}


@pytest.mark.parametrize(
    "existing, cluster_exists, from_snapshot, regenerate, steps, known",
    [
        # a cluster made from scratch: the only time a password is made up unasked
        (None, False, False, False, ["create"], True),
        (ACTIVE, False, False, False, [], True),
        (SCHEDULED, False, False, False, ["restore"], True),
        # restored from a snapshot: the deleted cluster's secret, if any, holds the snapshot's password
        (None, False, True, False, [], False),
        (SCHEDULED, False, True, False, ["restore"], True),
        (ACTIVE, False, True, False, [], True),
        # adopted: a kept secret is used, none is made up, a scheduled one may be an earlier cluster's
        (None, True, False, False, [], False),
        (ACTIVE, True, False, False, [], True),
        (SCHEDULED, True, False, False, [], False),
        # asked for a new password
        (None, True, False, True, ["create"], True),
        (ACTIVE, True, False, True, ["put"], True),
        (SCHEDULED, True, False, True, ["restore", "put"], True),
        (SCHEDULED, False, True, True, ["restore", "put"], True),
    ],
)
def test_a_password_is_made_up_only_for_a_new_cluster_or_on_request(
    existing, cluster_exists, from_snapshot, regenerate, steps, known
):
    assert secret.plan_master_secret(
        existing, cluster_exists=cluster_exists, from_snapshot=from_snapshot, regenerate=regenerate
    ) == (steps, known)


def test_an_adopted_cluster_gets_no_made_up_password():
    client = FakeSecretsManager()
    changed, found = secret.ensure_master_secret(
        client, name="kc-master-password", username="keycloak", tags={}, cluster_exists=True
    )
    assert (changed, found) == (False, {})
    assert client.mutating_calls() == []


def test_an_existing_secret_is_never_given_a_new_password_unasked():
    client = FakeSecretsManager(dict(ACTIVE))
    for cluster_exists in (False, True):
        changed, found = secret.ensure_master_secret(
            client, name="kc-master-password", username="keycloak", tags={}, cluster_exists=cluster_exists
        )
        assert not changed and found["ARN"] == "arn"
    assert client.mutating_calls() == []


def test_a_secret_scheduled_for_deletion_is_restored_for_a_cluster_about_to_be_made():
    client = FakeSecretsManager(dict(SCHEDULED))
    changed, found = secret.ensure_master_secret(
        client, name="kc-master-password", username="keycloak", tags={}, cluster_exists=False, from_snapshot=True
    )
    assert changed and "DeletedDate" not in found
    assert [c[0] for c in client.mutating_calls()] == ["restore_secret"]


def test_a_new_password_replaces_the_current_value_and_keeps_the_user():
    client = FakeSecretsManager(dict(SCHEDULED))
    changed, found = secret.ensure_master_secret(
        client, name="kc-master-password", username="admin", tags={}, cluster_exists=True, regenerate=True
    )
    assert changed and found["ARN"] == "arn"
    (restore, _id), (put, params) = client.mutating_calls()
    assert (restore, put) == ("restore_secret", "put_secret_value")
    value = json.loads(params["SecretString"])
    assert value["username"] == "admin" and len(value["password"]) == 32


@pytest.mark.parametrize("existing", [None, SCHEDULED, ACTIVE])
@pytest.mark.parametrize("regenerate", [False, True])
def test_check_mode_changes_nothing(existing, regenerate):
    client = FakeSecretsManager(existing and dict(existing))
    changed = secret.ensure_master_secret(
        client, name="n", username="keycloak", tags={}, cluster_exists=False, regenerate=regenerate, check_mode=True
    )[0]
    assert changed == (regenerate or existing is not ACTIVE)
    assert client.mutating_calls() == []


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

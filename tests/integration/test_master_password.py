"""The master password of clusters the collection did not create.

A cluster made by the keycloak-benchmark scripts, the documented aws CLI procedure or by hand has a
password the collection never saw, and so has one restored from a snapshot. Provisioning such a
cluster must not make a password up (nor hand one to Keycloak); a cluster restored from the final
snapshot of a cluster the collection made gets that cluster's secret back; a new password is set
only when asked, kept before it is applied, and never shown.
"""

import json

from tools.ansible_run import run_playbook
from tools.emulator.harness import request_parameters

CLUSTER = "keycloak-aurora"
SECRET = f"{CLUSTER}-master-password"
HAND_MADE = "Hand-made-Passw0rd"


def play(emulator, playbook, **extra_vars):
    return run_playbook(emulator.env(), playbook, extra_vars={"aurora_cluster": CLUSTER, **extra_vars})


def messages(run):
    """Every msg of every task and host, failed or not."""
    return " ".join(
        str(result.get("msg", ""))
        for play_ in run.report["plays"]
        for task in play_["tasks"]
        for result in task["hosts"].values()
    )


def secret(emulator):
    """The secret as Secrets Manager lists it (also when scheduled for deletion), or None."""
    found = emulator.client("secretsmanager").list_secrets(IncludePlannedDeletion=True)["SecretList"]
    return next((s for s in found if s["Name"] == SECRET), None)


def kept_password(emulator):
    value = emulator.client("secretsmanager").get_secret_value(SecretId=SECRET)["SecretString"]
    return json.loads(value)["password"]


def hand_made_cluster(emulator, identifier=CLUSTER):
    emulator.client("rds").create_db_cluster(
        DBClusterIdentifier=identifier,
        Engine="aurora-postgresql",
        EngineVersion="17.5",
        MasterUsername="keycloak",
        MasterUserPassword=HAND_MADE,
        DatabaseName="keycloak",
    )


def endpoint_with_password(emulator, tmp_path):
    env_file = tmp_path / "keycloak-db.env"
    run = play(emulator, "endpoint.yml", output_file=str(env_file), include_password=True)
    return run, env_file


def password_changes(emulator):
    """The MasterUserPassword of every recorded ModifyDBCluster that sent one."""
    sent = []
    for request in emulator.recorded_requests():
        parameters = request_parameters(request)
        if parameters.get("Action") == ["ModifyDBCluster"]:
            sent += parameters.get("MasterUserPassword", [])
    return sent


def test_an_adopted_cluster_gets_no_made_up_password_until_a_reset_is_asked(emulator, tmp_path):
    hand_made_cluster(emulator)

    run = play(emulator, "provision.yml")
    assert run.returncode == 0, run.stdout
    assert secret(emulator) is None, "no password is made up for a cluster that has one"
    assert "is not known to keycloak.aurora" in messages(run)

    refused, env_file = endpoint_with_password(emulator, tmp_path)
    assert refused.returncode != 0
    said = messages(refused)
    assert f"no secret {SECRET}" in said and "aurora_master_password" in said
    assert "aurora_reset_master_password=true" in said
    assert not env_file.exists()

    emulator.start_recording()
    reset = play(emulator, "provision.yml", aurora_reset_master_password=True)
    emulator.stop_recording()
    assert reset.returncode == 0, reset.stdout
    new_password = kept_password(emulator)
    assert password_changes(emulator) == [new_password]
    # kept before it is applied: an interrupted reset loses no password
    actions = [action for _service, action in emulator.recorded_actions()]
    assert actions.index("CreateSecret") < actions.index("ModifyDBCluster")
    assert "restart every Keycloak node" in messages(reset)
    assert new_password not in reset.stdout + reset.stderr

    shown, env_file = endpoint_with_password(emulator, tmp_path)
    assert shown.returncode == 0, shown.stdout
    assert f"KC_DB_PASSWORD={new_password}\n" in env_file.read_text()

    # without the flag, the next run changes no password
    emulator.start_recording()
    again = play(emulator, "provision.yml")
    emulator.stop_recording()
    assert again.returncode == 0 and password_changes(emulator) == [], again.stdout
    assert kept_password(emulator) == new_password


def test_a_given_password_of_an_adopted_cluster_is_used_and_not_kept(emulator, tmp_path):
    hand_made_cluster(emulator)
    assert play(emulator, "provision.yml", aurora_master_password=HAND_MADE).returncode == 0
    assert secret(emulator) is None

    env_file = tmp_path / "keycloak-db.env"
    run = play(
        emulator, "endpoint.yml", output_file=str(env_file), include_password=True, aurora_master_password=HAND_MADE
    )
    assert run.returncode == 0, run.stdout
    assert f"KC_DB_PASSWORD={HAND_MADE}\n" in env_file.read_text()


def test_a_cluster_restored_from_its_final_snapshot_gets_its_secret_back(emulator, tmp_path):
    assert play(emulator, "provision.yml").returncode == 0
    original = kept_password(emulator)
    deleted = play(emulator, "delete.yml")
    assert deleted.returncode == 0, deleted.stdout
    assert secret(emulator).get("DeletedDate"), "delete schedules the secret for deletion"
    [final] = [
        s["DBClusterSnapshotIdentifier"]
        for s in emulator.client("rds").describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
        if s["DBClusterSnapshotIdentifier"].startswith(f"{CLUSTER}-final-")
    ]

    restored = play(emulator, "provision.yml", aurora_snapshot_identifier=final)
    assert restored.returncode == 0, restored.stdout
    assert not secret(emulator).get("DeletedDate")
    assert kept_password(emulator) == original

    shown, env_file = endpoint_with_password(emulator, tmp_path)
    assert shown.returncode == 0, shown.stdout
    assert f"KC_DB_PASSWORD={original}\n" in env_file.read_text()


def test_a_cluster_restored_from_a_foreign_snapshot_is_treated_as_adopted(emulator, tmp_path):
    hand_made_cluster(emulator, "made-elsewhere")
    emulator.client("rds").create_db_cluster_snapshot(
        DBClusterIdentifier="made-elsewhere", DBClusterSnapshotIdentifier="hand-made-snapshot"
    )

    run = play(emulator, "provision.yml", aurora_snapshot_identifier="hand-made-snapshot")
    assert run.returncode == 0, run.stdout
    assert secret(emulator) is None
    assert "is not known to keycloak.aurora" in messages(run)
    refused, _env_file = endpoint_with_password(emulator, tmp_path)
    assert refused.returncode != 0 and "aurora_reset_master_password=true" in messages(refused)

"""The master password of clusters the collection did not create.

A cluster made by the keycloak-benchmark scripts, the documented aws CLI procedure or by hand has a
password the collection never saw, and so has one restored from a snapshot. Provisioning such a
cluster must not make a password up (nor hand one to Keycloak); a cluster restored from the final
snapshot of a cluster the collection made gets that cluster's secret back; a new password is set
only when asked, kept before it is applied, and never shown.
"""

import json

from tools.ansible_run import run_playbook
from tools.emulator.faults import FaultProxy
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


def kept(emulator):
    """The secret's current value (AWSCURRENT), as Keycloak's wiring reads it."""
    return json.loads(emulator.client("secretsmanager").get_secret_value(SecretId=SECRET)["SecretString"])


def kept_password(emulator):
    return kept(emulator)["password"]


def hand_made_cluster(emulator, identifier=CLUSTER, username="keycloak"):
    emulator.client("rds").create_db_cluster(
        DBClusterIdentifier=identifier,
        Engine="aurora-postgresql",
        EngineVersion="17.5",
        MasterUsername=username,
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
    # Its master user is not aurora_master_username's default: the secret keeps the cluster's own.
    hand_made_cluster(emulator, username="kcadmin")

    run = play(emulator, "provision.yml")
    assert run.returncode == 0, run.stdout
    assert secret(emulator) is None, "no password is made up for a cluster that has one"
    assert "is not known to keycloak.aurora" in messages(run)

    refused, env_file = endpoint_with_password(emulator, tmp_path)
    assert refused.returncode != 0
    said = messages(refused)
    assert f"the secret {SECRET}" in said and "aurora_master_password" in said
    assert "aurora_reset_master_password=true" in said
    assert not env_file.exists()

    emulator.start_recording()
    reset = play(emulator, "provision.yml", aurora_reset_master_password=True)
    emulator.stop_recording()
    assert reset.returncode == 0, reset.stdout
    assert kept(emulator)["username"] == "kcadmin"
    new_password = kept_password(emulator)
    assert password_changes(emulator) == [new_password]
    # staged before it is applied, made current only once the cluster has it
    actions = [action for _service, action in emulator.recorded_actions()]
    assert actions.index("CreateSecret") < actions.index("PutSecretValue") < actions.index("ModifyDBCluster")
    assert actions.index("ModifyDBCluster") < actions.index("UpdateSecretVersionStage")
    assert "restart every Keycloak node" in messages(reset)
    assert new_password not in reset.stdout + reset.stderr

    shown, env_file = endpoint_with_password(emulator, tmp_path)
    assert shown.returncode == 0, shown.stdout
    assert f"KC_DB_PASSWORD={new_password}\n" in env_file.read_text()
    assert "KC_DB_USERNAME=kcadmin\n" in env_file.read_text()

    # without the flag, the next run changes no password
    emulator.start_recording()
    again = play(emulator, "provision.yml")
    emulator.stop_recording()
    assert again.returncode == 0 and password_changes(emulator) == [], again.stdout
    assert kept_password(emulator) == new_password


def test_an_interrupted_reset_hands_out_no_password_the_cluster_does_not_have(emulator, tmp_path):
    hand_made_cluster(emulator)
    assert play(emulator, "provision.yml").returncode == 0  # adopted: its settings converged
    with FaultProxy(emulator.url, share=0, deny={"ModifyDBCluster"}) as proxy:
        failed = run_playbook(
            proxy.env(), "provision.yml", extra_vars={"aurora_cluster": CLUSTER, "aurora_reset_master_password": True}
        )
    assert failed.returncode != 0
    assert "password" not in kept(emulator), "the new password stays staged until the cluster has it"
    refused, _env_file = endpoint_with_password(emulator, tmp_path)
    assert refused.returncode != 0 and "aurora_reset_master_password=true" in messages(refused)

    finished = play(emulator, "provision.yml", aurora_reset_master_password=True)
    assert finished.returncode == 0, finished.stdout
    shown, env_file = endpoint_with_password(emulator, tmp_path)
    assert shown.returncode == 0 and f"KC_DB_PASSWORD={kept_password(emulator)}\n" in env_file.read_text()


def test_a_given_password_set_by_a_reset_is_kept_where_a_secret_exists(emulator, tmp_path, provisioned):
    provisioned()
    emulator.start_recording()
    reset = play(emulator, "provision.yml", aurora_reset_master_password=True, aurora_master_password=HAND_MADE)
    emulator.stop_recording()
    assert reset.returncode == 0, reset.stdout
    assert password_changes(emulator) == [HAND_MADE]
    # a later run that is not given the password reads the same one from the secret
    assert kept_password(emulator) == HAND_MADE
    shown, env_file = endpoint_with_password(emulator, tmp_path)
    assert shown.returncode == 0 and f"KC_DB_PASSWORD={HAND_MADE}\n" in env_file.read_text()


def test_a_cluster_restored_from_its_final_snapshot_gets_its_secret_back(emulator, tmp_path, provisioned):
    provisioned()
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


def test_another_clusters_snapshot_is_refused_beside_a_live_secret_and_otherwise_treated_as_adopted(emulator, tmp_path):
    secrets = emulator.client("secretsmanager")
    secrets.create_secret(Name=SECRET, SecretString=json.dumps({"username": "keycloak", "password": "Earlier-Pw1"}))
    hand_made_cluster(emulator, "made-elsewhere")
    emulator.client("rds").create_db_cluster_snapshot(
        DBClusterIdentifier="made-elsewhere", DBClusterSnapshotIdentifier="elsewhere-snap"
    )
    emulator.start_recording()
    refused = play(emulator, "provision.yml", aurora_snapshot_identifier="elsewhere-snap")
    emulator.stop_recording()
    assert refused.returncode != 0
    assert "about to be restored from a snapshot of made-elsewhere" in messages(refused)
    mutating = [action for _service, action in emulator.mutating_actions()]
    assert "RestoreDBClusterFromSnapshot" not in mutating and not any(a.endswith("Secret") for a in mutating)

    secrets.delete_secret(SecretId=SECRET, ForceDeleteWithoutRecovery=True)
    run = play(emulator, "provision.yml", aurora_snapshot_identifier="elsewhere-snap")
    assert run.returncode == 0, run.stdout
    assert secret(emulator) is None
    assert "is not known to keycloak.aurora" in messages(run)
    shown, _env_file = endpoint_with_password(emulator, tmp_path)
    assert shown.returncode != 0 and "aurora_reset_master_password=true" in messages(shown)


def test_an_earlier_clusters_secret_is_not_trusted_for_another_clusters_snapshot(emulator, provisioned):
    # keycloak-aurora was made and deleted by the collection: its secret is scheduled for deletion.
    provisioned()
    assert play(emulator, "delete.yml", aurora_skip_final_snapshot=True).returncode == 0
    hand_made_cluster(emulator, "made-elsewhere")
    rds = emulator.client("rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="made-elsewhere", DBClusterSnapshotIdentifier="elsewhere-snap")

    run = play(emulator, "provision.yml", aurora_snapshot_identifier="elsewhere-snap")
    assert run.returncode == 0, run.stdout
    assert secret(emulator).get("DeletedDate"), "another cluster's password: left scheduled for deletion"
    assert "is not known to keycloak.aurora" in messages(run)

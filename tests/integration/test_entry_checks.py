"""What every playbook checks before its first AWS request, and what it takes from the environment.

The region of an AWS profile, names that look like the collection's variables but are not, a missing
required variable, a forgotten or misnamed inventory group, and unpeering more than one ROSA cluster
(or from every Aurora cluster) without a confirmation.
"""

from tools.ansible_run import run_playbook

CLUSTER = "keycloak-aurora"


def profile_env(emulator, tmp_path, region):
    """The emulator's environment as a user with only AWS_PROFILE exported has it: no AWS_REGION, no
    AWS_DEFAULT_REGION, no access keys (amazon.aws refuses a profile and keys together); the profile
    names the region and holds the credentials."""
    config = tmp_path / "aws-config"
    config.write_text(
        f"[profile site]\nregion = {region}\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    dropped = ("_REGION", "_ACCESS_KEY_ID", "_SECRET_ACCESS_KEY")
    env = {k: v for k, v in emulator.env().items() if not k.endswith(dropped)}
    env.update(
        AWS_PROFILE="site",
        AWS_CONFIG_FILE=str(config),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "aws-credentials"),
    )
    return env


def messages(run):
    """Every msg and warning of every task and host, failed or not."""
    return " ".join(
        f"{result.get('msg', '')} {' '.join(result.get('warnings', []))}"
        for play in run.report["plays"]
        for task in play["tasks"]
        for result in task["hosts"].values()
    )


def test_endpoint_takes_the_region_of_the_aws_profile(emulator, tmp_path):
    # Not the emulator's default region, so that only the profile can have named it.
    emulator.client("rds", region="eu-central-1").create_db_cluster(
        DBClusterIdentifier=CLUSTER,
        Engine="aurora-postgresql",
        EngineVersion="17.5",
        MasterUsername="keycloak",
        MasterUserPassword="Hand-made-Passw0rd",
        DatabaseName="keycloak",
    )

    run = run_playbook(
        profile_env(emulator, tmp_path, "eu-central-1"), "endpoint.yml", extra_vars={"aurora_cluster": CLUSTER}
    )

    assert run.returncode == 0, messages(run)
    assert f"{CLUSTER}.cluster-" in messages(run) and ".eu-central-1.rds.amazonaws.com" in messages(run)

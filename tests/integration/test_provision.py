"""provision.yml and endpoint.yml against the emulator: names, tags, idempotence, check mode, bad input, secrets."""

import json
import stat

import pytest

from tools.ansible_run import run_playbook
from tools.emulator.faults import FaultProxy
from tools.emulator.faults import no_capacity

CLUSTER = "keycloak-aurora"


def provision(emulator, check=False, **extra_vars):
    return run_playbook(
        emulator.env(), "provision.yml", extra_vars={"aurora_cluster": CLUSTER, **extra_vars}, check=check
    )


def tag_dict(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def aurora_vpcs(ec2, cluster=CLUSTER):
    return ec2.describe_vpcs(Filters=[{"Name": "tag:AuroraCluster", "Values": [cluster]}])["Vpcs"]


def test_provision_creates_everything_by_the_contracted_names(emulator):
    run = provision(emulator)
    assert run.returncode == 0, run.stdout

    ec2, rds = emulator.client("ec2"), emulator.client("rds")
    [vpc] = aurora_vpcs(ec2)
    assert tag_dict(vpc) == {"AuroraCluster": CLUSTER, "Name": f"Aurora Cluster {CLUSTER}"}
    assert vpc["CidrBlock"] == "192.168.0.0/24"

    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    assert sorted(s["AvailabilityZone"] for s in subnets) == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert all(tag_dict(s)["AuroraCluster"] == CLUSTER for s in subnets)
    [main_table] = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"]
    associated = {a.get("SubnetId") for a in main_table["Associations"]}
    assert {s["SubnetId"] for s in subnets} <= associated

    [group] = rds.describe_db_subnet_groups(DBSubnetGroupName=f"{CLUSTER}-subnet-group")["DBSubnetGroups"]
    assert {s["SubnetIdentifier"] for s in group["Subnets"]} == {s["SubnetId"] for s in subnets}

    [sg] = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc["VpcId"]]},
            {"Name": "group-name", "Values": [f"{CLUSTER}-security-group"]},
        ]
    )["SecurityGroups"]
    assert sg["IpPermissions"] == []
    assert tag_dict(sg)["AuroraCluster"] == CLUSTER

    [cluster] = rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"]
    assert cluster["Engine"] == "aurora-postgresql"
    assert cluster["EngineVersion"] == "17.5"
    assert cluster["DatabaseName"] == "keycloak"
    assert cluster["MasterUsername"] == "keycloak"
    assert cluster["StorageEncrypted"] is True
    assert cluster["VpcSecurityGroups"][0]["VpcSecurityGroupId"] == sg["GroupId"]
    instances = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [CLUSTER]}])["DBInstances"]
    assert sorted(i["DBInstanceIdentifier"] for i in instances) == [f"{CLUSTER}-instance-1", f"{CLUSTER}-instance-2"]
    assert len({i["AvailabilityZone"] for i in instances}) == 2
    assert all(i["DBInstanceClass"] == "db.t4g.large" and not i["AutoMinorVersionUpgrade"] for i in instances)

    secret = emulator.client("secretsmanager").describe_secret(SecretId=f"{CLUSTER}-master-password")
    assert tag_dict(secret)["AuroraCluster"] == CLUSTER

    [settings] = [
        task["hosts"]["localhost"]["msg"]
        for play in run.report["plays"]
        for task in play["tasks"]
        if task["task"]["name"] == "Show the Keycloak database settings"
    ]
    assert settings["KC_DATABASE"] == "aurora-postgres"
    assert settings["KC_DATABASE_URL"] == cluster["Endpoint"]
    assert settings["KC_DB_URL"] == f"jdbc:aws-wrapper:postgresql://{cluster['Endpoint']}:5432/keycloak"


def test_second_run_changes_nothing_and_only_reads(emulator, provisioned):
    provisioned()
    emulator.start_recording()
    run = provision(emulator)
    assert run.returncode == 0, run.stdout
    assert run.changed() == 0
    assert emulator.recorded_actions(), "the second run must have looked at AWS"
    assert emulator.mutating_actions() == []


def test_check_mode_on_an_empty_account_reports_and_creates_nothing(emulator):
    emulator.start_recording()
    run = provision(emulator, check=True)
    assert run.returncode == 0, run.stdout
    assert run.changed() > 0
    assert emulator.mutating_actions() == []
    assert aurora_vpcs(emulator.client("ec2")) == []
    assert emulator.client("rds").describe_db_clusters()["DBClusters"] == []


def test_check_mode_after_provision_reports_no_change(emulator, provisioned):
    provisioned()
    emulator.start_recording()
    run = provision(emulator, check=True)
    assert run.returncode == 0 and run.changed() == 0
    assert emulator.mutating_actions() == []


def test_a_new_cluster_avoids_cidrs_of_aurora_vpcs_in_other_regions(emulator):
    emulator.client("ec2", "us-east-1").create_vpc(
        CidrBlock="192.168.0.0/24",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "AuroraCluster", "Value": "elsewhere"}]}],
    )
    assert provision(emulator).returncode == 0
    assert aurora_vpcs(emulator.client("ec2"))[0]["CidrBlock"] == "192.168.1.0/24"


def test_the_documented_procedure_deployment_is_adopted_not_duplicated(emulator):
    ec2, rds = emulator.client("ec2"), emulator.client("rds")
    vpc_id = ec2.create_vpc(
        CidrBlock="192.168.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "AuroraCluster", "Value": CLUSTER}]}],
    )["Vpc"]["VpcId"]
    subnet_ids = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=block, AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for zone, block in (("eu-west-1a", "192.168.0.0/19"), ("eu-west-1b", "192.168.32.0/19"))
    ]
    rds.create_db_subnet_group(
        DBSubnetGroupName=f"{CLUSTER}-subnet-group",
        DBSubnetGroupDescription="Aurora DB Subnet Group",
        SubnetIds=subnet_ids,
    )
    sg_id = ec2.create_security_group(
        GroupName=f"{CLUSTER}-security-group", Description="Aurora DB Security Group", VpcId=vpc_id
    )["GroupId"]

    run = provision(emulator, aurora_availability_zones=2)
    assert run.returncode == 0, run.stdout

    [vpc] = aurora_vpcs(ec2)
    assert vpc["VpcId"] == vpc_id and vpc["CidrBlock"] == "192.168.0.0/16"
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert sorted(s["SubnetId"] for s in subnets) == sorted(subnet_ids)
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    assert sorted(g["GroupName"] for g in groups) == ["default", f"{CLUSTER}-security-group"]
    [cluster] = rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"]
    assert cluster["VpcSecurityGroups"][0]["VpcSecurityGroupId"] == sg_id
    assert cluster["DBSubnetGroup"] == f"{CLUSTER}-subnet-group"


def test_two_vpcs_with_the_same_tag_are_refused_and_listed(emulator):
    ec2 = emulator.client("ec2")
    ids = [
        ec2.create_vpc(
            CidrBlock=block,
            TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "AuroraCluster", "Value": CLUSTER}]}],
        )["Vpc"]["VpcId"]
        for block in ("192.168.0.0/24", "192.168.1.0/24")
    ]
    emulator.start_recording()
    run = provision(emulator)
    assert run.returncode != 0
    assert all(vpc_id in run.stdout for vpc_id in ids)
    assert emulator.mutating_actions() == []


@pytest.mark.parametrize(
    ("extra_vars", "message"),
    [
        ({"aurora_cluster": "Bad--name-"}, "aurora_cluster 'Bad--name-' is not allowed"),
        ({"aurora_instances": 0}, "aurora_instances must be a whole number between 1 and 16, not 0"),
        ({"aurora_instances": "two"}, "aurora_instances"),
        ({"aurora_availability_zones": 1}, "aurora_availability_zones must be a whole number between 2 and 6"),
        ({"aurora_vpc_cidr": "8.8.8.0/24"}, "aurora_vpc_cidr '8.8.8.0/24' is not inside the private ranges"),
        ({"aurora_cidr_pool": "not-a-cidr"}, "aurora_cidr_pool 'not-a-cidr' is not an IPv4 network"),
        ({"aurora_region": "mars-north-1"}, "aurora_region 'mars-north-1' is not an AWS region"),
    ],
)
def test_bad_input_fails_before_any_request(emulator, extra_vars, message):
    emulator.start_recording()
    run = provision(emulator, **extra_vars)
    assert run.returncode != 0
    assert message in run.stdout
    assert emulator.recorded_actions() == []


def test_numbers_given_as_key_value_extra_vars_work(emulator):
    # -e name=value gives strings, as a user typing the README's commands does.
    emulator.start_recording()
    run = run_playbook(
        emulator.env(),
        "provision.yml",
        args=["-e", f"aurora_cluster={CLUSTER}", "-e", "aurora_instances=3", "-e", "aurora_availability_zones=2"],
        check=True,
    )
    assert run.returncode == 0, run.stdout
    assert run.changed() > 0
    assert emulator.mutating_actions() == []


def instance_zones(emulator):
    instances = emulator.client("rds").describe_db_instances()["DBInstances"]
    return {i["DBInstanceIdentifier"]: i["AvailabilityZone"] for i in instances}


def warnings_of(run):
    return [
        warning
        for play in run.report["plays"]
        for task in play["tasks"]
        for result in task["hosts"].values()
        for warning in result.get("warnings", [])
    ]


def test_no_capacity_in_one_zone_moves_the_instance_and_keeps_the_two_apart(emulator):
    with FaultProxy(emulator.url, share=0, refuse=[no_capacity("eu-west-1a")]) as proxy:
        run = run_playbook(proxy.env(), "provision.yml", extra_vars={"aurora_cluster": CLUSTER})
        assert proxy.refused == {("rds", "CreateDBInstance"): 1}, "asked once in eu-west-1a, then elsewhere"
    assert run.returncode == 0, run.stdout
    assert instance_zones(emulator) == {f"{CLUSTER}-instance-1": "eu-west-1b", f"{CLUSTER}-instance-2": "eu-west-1c"}
    assert any("eu-west-1a" in w and "db.t4g.large" in w and f"{CLUSTER}-instance-1" in w for w in warnings_of(run))


def test_no_capacity_in_any_zone_names_the_class_the_zones_and_what_to_do(emulator):
    refuse = [no_capacity(zone) for zone in ("eu-west-1a", "eu-west-1b", "eu-west-1c")]
    with FaultProxy(emulator.url, share=0, refuse=refuse) as proxy:
        run = run_playbook(proxy.env(), "provision.yml", extra_vars={"aurora_cluster": CLUSTER})
        assert proxy.refused == {("rds", "CreateDBInstance"): 3}, "each zone asked once"
    assert run.returncode != 0
    assert "db.t4g.large in eu-west-1a, eu-west-1b, eu-west-1c" in run.stdout
    assert "aurora_instance_class" in run.stdout and "run again later" in run.stdout
    assert instance_zones(emulator) == {}

    # capacity is back: the next run finishes the job
    again = provision(emulator)
    assert again.returncode == 0, again.stdout
    assert sorted(instance_zones(emulator).values()) == ["eu-west-1a", "eu-west-1b"]


def test_a_missing_region_is_refused(emulator):
    env = {k: v for k, v in emulator.env().items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION")}
    run = run_playbook(env, "provision.yml", extra_vars={"aurora_cluster": CLUSTER})
    assert run.returncode != 0
    assert "aurora_region is not set" in run.stdout


def test_a_given_password_never_appears_at_vvv(emulator):
    password = "Given-Passw0rd-9f1c2e"
    run = run_playbook(
        emulator.env(),
        "provision.yml",
        extra_vars={"aurora_cluster": CLUSTER, "aurora_master_password": password},
        args=["-vvv"],
        json_output=False,
    )
    assert run.returncode == 0, run.stdout
    assert password not in run.stdout + run.stderr
    secrets = emulator.client("secretsmanager").list_secrets()["SecretList"]
    assert secrets == [], "a given password is not stored"


def test_a_generated_password_never_appears_at_vvv(emulator):
    runs = [
        run_playbook(
            emulator.env(), "provision.yml", extra_vars={"aurora_cluster": CLUSTER}, args=["-vvv"], json_output=False
        )
        for _run in range(2)
    ]
    value = emulator.client("secretsmanager").get_secret_value(SecretId=f"{CLUSTER}-master-password")["SecretString"]
    password = json.loads(value)["password"]
    for run in runs:
        assert run.returncode == 0, run.stdout
        assert password not in run.stdout + run.stderr


def test_endpoint_env_file_is_private_and_holds_no_password_unless_asked(emulator, tmp_path, provisioned):
    provisioned()
    password = json.loads(
        emulator.client("secretsmanager").get_secret_value(SecretId=f"{CLUSTER}-master-password")["SecretString"]
    )["password"]
    plain, with_password = tmp_path / "plain.env", tmp_path / "with-password.env"

    run = run_playbook(
        emulator.env(), "endpoint.yml", extra_vars={"aurora_cluster": CLUSTER, "output_file": str(plain)}
    )
    assert run.returncode == 0, run.stdout
    assert stat.S_IMODE(plain.stat().st_mode) == 0o600
    lines = dict(line.split("=", 1) for line in plain.read_text().splitlines())
    assert lines["KC_DATABASE"] == "aurora-postgres"
    assert "KC_DB_PASSWORD" not in lines and password not in plain.read_text()

    run = run_playbook(
        emulator.env(),
        "endpoint.yml",
        extra_vars={"aurora_cluster": CLUSTER, "output_file": str(with_password), "include_password": True},
        args=["-vvv"],
        json_output=False,
    )
    assert run.returncode == 0, run.stdout
    assert stat.S_IMODE(with_password.stat().st_mode) == 0o600
    assert f"KC_DB_PASSWORD={password}" in with_password.read_text().splitlines()
    assert password not in run.stdout + run.stderr


@pytest.mark.parametrize("check", [False, True], ids=["run", "check-mode"])
def test_endpoint_of_a_missing_cluster_fails_clearly(emulator, check):
    run = run_playbook(emulator.env(), "endpoint.yml", extra_vars={"aurora_cluster": "nothing-here"}, check=check)
    assert run.returncode != 0
    assert "There is no Aurora cluster nothing-here in eu-west-1" in run.stdout

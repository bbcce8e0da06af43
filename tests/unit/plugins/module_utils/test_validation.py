import pytest

from ansible_collections.keycloak.aurora.plugins.module_utils.validation import variable_errors

REGIONS = ["eu-west-1", "us-east-1"]
GOOD = {
    "aurora_cluster": "keycloak-aurora",
    "aurora_region": "eu-west-1",
    "aurora_instances": 2,
    "aurora_availability_zones": 3,
    "aurora_vpc_cidr": "",
    "aurora_cidr_pool": "192.168.0.0/16",
    "aurora_avoid_cidrs": ["10.0.0.0/16", "10.1.0.0/16"],
    "aurora_wait_timeout": 3600,
    "aurora_instance_class": "",
    "aurora_master_password": "",
    "keycloak_namespace": "keycloak",
    "aurora_ca_bundle_url": "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem",
    "aurora_ca_bundle_path": "",
    "aurora_check_image": "docker.io/library/postgres:17",
    "aurora_job_timeout": 300,
    "aurora_engine_version": "17.5",
    "aurora_database_name": "keycloak",
    "aurora_master_username": "keycloak",
    "aurora_snapshot_identifier": "",
    "aurora_tags": {"team": "iam", "cost-center": 42},
    "rosa_cluster_name": "rosa-site-a",
    "rosa_vpc_id": "vpc-0123456789abcdef0",
}


def test_good_input_has_no_errors():
    assert variable_errors(GOOD, REGIONS) == []


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("aurora_cluster", "Bad--name-", "aurora_cluster 'Bad--name-' is not allowed: use 1 to 63 letters"),
        ("aurora_cluster", "", "aurora_cluster must be set"),
        ("aurora_region", "", "aurora_region is not set"),
        ("aurora_region", "eu-nowhere-9", "aurora_region 'eu-nowhere-9' is not an AWS region"),
        ("aurora_instances", 0, "aurora_instances must be a whole number between 1 and 16, not 0"),
        ("aurora_instances", 17, "aurora_instances must be a whole number between 1 and 16, not 17"),
        ("aurora_availability_zones", 1, "aurora_availability_zones must be a whole number between 2 and 6, not 1"),
        ("aurora_vpc_cidr", "8.8.8.0/24", "aurora_vpc_cidr '8.8.8.0/24' is not inside the private ranges"),
        ("aurora_vpc_cidr", "10.0.0.0/8", "aurora_vpc_cidr '10.0.0.0/8' must have a prefix length between /16 and /28"),
        ("aurora_cidr_pool", "192.168.0.0/25", "aurora_cidr_pool '192.168.0.0/25' must have a prefix length"),
        ("aurora_wait_timeout", 0, "aurora_wait_timeout must be a positive number of seconds, not 0"),
        ("aurora_instance_class", "t4g.large", "aurora_instance_class must be an RDS instance class"),
        ("aurora_master_password", "short", "aurora_master_password must be 8 to 128 characters long"),
        ("aurora_master_password", "with/slash-inside", "aurora_master_password may hold printable ASCII except"),
        ("keycloak_namespace", "Keycloak", "keycloak_namespace must be a Kubernetes namespace name"),
        ("keycloak_namespace", "a" * 64, "keycloak_namespace must be a Kubernetes namespace name"),
        ("keycloak_namespace", "-keycloak", "keycloak_namespace must be a Kubernetes namespace name"),
        ("aurora_ca_bundle_url", "http://example.com/bundle.pem", "aurora_ca_bundle_url must be an https:// URL"),
        ("aurora_ca_bundle_url", "global-bundle.pem", "aurora_ca_bundle_url must be an https:// URL"),
        ("aurora_check_image", "", "aurora_check_image must be a container image reference"),
        ("aurora_check_image", "postgres 17", "aurora_check_image must be a container image reference"),
        ("aurora_job_timeout", -1, "aurora_job_timeout must be a positive number of seconds, not -1"),
        ("aurora_engine_version", "latest", "aurora_engine_version must be an aurora-postgresql version"),
        ("aurora_database_name", "1db", "aurora_database_name must be 1 to 63 letters, digits or underscores"),
        ("aurora_database_name", "key-cloak", "aurora_database_name must be 1 to 63 letters, digits or underscores"),
        ("aurora_master_username", "a" * 64, "aurora_master_username must be 1 to 63 letters, digits or underscores"),
        ("aurora_master_username", "rdsadmin", "aurora_master_username 'rdsadmin' is reserved"),
        ("aurora_snapshot_identifier", "snap--1", "aurora_snapshot_identifier 'snap--1' is not allowed"),
        ("aurora_tags", ["team"], "aurora_tags must be a mapping of tag names to values"),
        ("aurora_tags", {"aws:owner": "x"}, "aurora_tags: 'aws:owner' is not a tag name"),
        ("aurora_tags", {"AuroraCluster": "other"}, "aurora_tags may not set AuroraCluster"),
        ("aurora_tags", {"team": "x" * 257}, "aurora_tags: the value of 'team' must be text of at most 256"),
        ("rosa_cluster_name", "Rosa_A", "rosa_cluster_name must be a ROSA cluster name"),
        ("rosa_cluster_name", "", "rosa_cluster_name must be a ROSA cluster name"),
        ("rosa_vpc_id", "vpc-xyz", "rosa_vpc_id must be a VPC id such as vpc-0123456789abcdef0"),
        ("rosa_route_table_ids", "rtb-0123456789abcdef0", "rosa_route_table_ids must be a list of route table ids"),
        ("rosa_route_table_ids", ["rtb-1", "rtb-0123456789abcdef0"], "rosa_route_table_ids must hold route table ids"),
        ("aurora_avoid_cidrs", "10.0.0.0/16", "aurora_avoid_cidrs must be a list of CIDRs"),
        ("aurora_avoid_cidrs", ["10.0.0.1/16"], "aurora_avoid_cidrs '10.0.0.1/16' is not an IPv4 network"),
    ],
)
def test_each_bad_value_names_the_variable_and_what_is_allowed(variable, value, expected):
    errors = variable_errors({**GOOD, variable: value}, REGIONS)
    assert len(errors) == 1
    assert errors[0].startswith(expected)


def test_numbers_given_as_command_line_strings_are_read_as_numbers():
    values = {**GOOD, "aurora_instances": "3", "aurora_availability_zones": "2", "aurora_wait_timeout": "600"}
    assert variable_errors(values, REGIONS) == []


@pytest.mark.parametrize("value", ["two", "2.5", True, [2]])
def test_what_is_not_a_whole_number_is_refused(value):
    errors = variable_errors({**GOOD, "aurora_instances": value}, REGIONS)
    assert errors == [f"aurora_instances must be a whole number between 1 and 16, not {value}"]


def test_unset_instances_are_no_error():
    # unset keeps an existing cluster's count, and gives a new cluster the default
    assert variable_errors({**GOOD, "aurora_instances": None}, REGIONS) == []


def test_a_bad_password_is_described_never_quoted():
    secret = "has spaces and @ signs"
    errors = variable_errors({**GOOD, "aurora_master_password": secret}, REGIONS)
    assert errors and all(secret not in e for e in errors)


def test_all_problems_are_reported_at_once():
    errors = variable_errors({**GOOD, "aurora_cluster": "1x", "aurora_instances": 40}, REGIONS)
    assert [e.split()[0] for e in errors] == ["aurora_cluster", "aurora_instances"]


def test_a_local_ca_bundle_makes_the_url_irrelevant():
    values = {**GOOD, "aurora_ca_bundle_url": "", "aurora_ca_bundle_path": "/tmp/bundle.pem"}
    assert variable_errors(values, REGIONS) == []


def test_a_snapshot_arn_is_accepted():
    arn = "arn:aws:rds:eu-west-1:123456789012:cluster-snapshot:keycloak-aurora-final-20261122"
    assert variable_errors({**GOOD, "aurora_snapshot_identifier": arn}, REGIONS) == []


def test_file_variables_must_name_files_when_a_check_is_given():
    values = {**GOOD, "rosa_kubeconfig": "/nowhere/kubeconfig", "aurora_ca_bundle_path": "/etc/bundle.pem"}
    exists = {"/etc/bundle.pem"}
    assert variable_errors(values, REGIONS, is_file=exists.__contains__) == [
        "rosa_kubeconfig '/nowhere/kubeconfig' is not a file"
    ]
    assert variable_errors(values, REGIONS) == []


def test_an_explicit_vpc_cidr_overlapping_a_rosa_cluster_is_refused_naming_both():
    errors = variable_errors({**GOOD, "aurora_vpc_cidr": "10.1.2.0/24"}, REGIONS)
    assert errors == [
        "aurora_vpc_cidr 10.1.2.0/24 overlaps the machine CIDR 10.1.0.0/16 of a ROSA cluster to peer with it: "
        "choose a CIDR that overlaps none of them, or leave aurora_vpc_cidr empty to allocate a free one"
    ]
    assert variable_errors({**GOOD, "aurora_vpc_cidr": "10.2.0.0/24"}, REGIONS) == []


def test_a_rosa_account_is_reached_with_a_profile_or_a_role_not_both():
    role = "arn:aws:iam::111122223333:role/keycloak-aurora-peering"
    base = {"aurora_region": "eu-west-1"}
    assert variable_errors(dict(base, rosa_aws_profile="rosa", rosa_role_arn=""), REGIONS) == []
    assert variable_errors(dict(base, rosa_aws_profile="", rosa_role_arn=role), REGIONS) == []
    [both] = variable_errors(dict(base, rosa_aws_profile="rosa", rosa_role_arn=role), REGIONS)
    assert both.startswith(f"rosa_aws_profile (rosa) and rosa_role_arn ({role}) are both set")
    [not_a_role] = variable_errors(dict(base, rosa_role_arn="rosa-peering"), REGIONS)
    assert not_a_role.startswith("rosa_role_arn must be an IAM role ARN")

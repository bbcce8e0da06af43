# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Checks of the public variables that an argument spec cannot express.

Each check returns messages that name the variable and what is allowed, so that a run with
bad input stops before its first AWS request.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ansible_collections.keycloak.aurora.plugins.module_utils import cidr
from ansible_collections.keycloak.aurora.plugins.module_utils import naming

INSTANCES_RANGE = (1, 16)
ZONES_RANGE = (2, 6)
PASSWORD_LENGTH_RANGE = (8, 128)
PASSWORD_FORBIDDEN = '/"@ '
# A Kubernetes namespace is a DNS-1123 label.
NAMESPACE_PATTERN = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
# PostgreSQL names as RDS accepts them for the database and the master user.
SQL_NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
RESERVED_USERNAMES = frozenset({"rdsadmin", "rdsrepladmin", "postgres", "admin", "public"})
ENGINE_VERSION_PATTERN = re.compile(r"\d+(\.\d+){0,2}")
VPC_ID_PATTERN = re.compile(r"vpc-[0-9a-f]{8}([0-9a-f]{9})?")
ROUTE_TABLE_ID_PATTERN = re.compile(r"rtb-[0-9a-f]{8}([0-9a-f]{9})?")
# ROSA's own rule for cluster names.
ROSA_NAME_PATTERN = re.compile(r"[a-z]([-a-z0-9]{0,52}[a-z0-9])?")
TAG_KEY_MAX, TAG_VALUE_MAX = 128, 256
ROLE_ARN_PATTERN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")


def _avoid_cidrs_errors(avoid):
    if avoid is None:
        return []
    if not isinstance(avoid, (list, tuple)):
        return [f"aurora_avoid_cidrs must be a list of CIDRs, not {avoid!r}"]
    errors = []
    for block in avoid:
        try:
            cidr.parse_network(block)
        except cidr.CidrError as e:
            errors.append(f"aurora_avoid_cidrs {e}")
    return errors


def _vpc_cidr_overlaps(vpc_cidr, avoid):
    # Decided from the inputs alone, so refused before anything is created: peering would fail
    # on the overlap only after the Aurora cluster exists.
    overlapping = sorted(block for block in avoid if cidr.overlaps(vpc_cidr, block))
    if not overlapping:
        return []
    return [
        f"aurora_vpc_cidr {vpc_cidr} overlaps the machine CIDR {', '.join(overlapping)} of a ROSA cluster to peer "
        "with it: choose a CIDR that overlaps none of them, or leave aurora_vpc_cidr empty to allocate a free one"
    ]


def _whole_number(value):
    """``value`` as an int, or None: ``-e name=3`` on the command line gives the string "3"."""
    if isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _in_range(name, value, bounds):
    low, high = bounds
    number = _whole_number(value)
    if number is None or not low <= number <= high:
        return [f"{name} must be a whole number between {low} and {high}, not {value}"]
    return []


def _password_errors(password):
    # Describes the password's shape only: its value must never reach a message.
    if password is None or password == "":
        return []
    low, high = PASSWORD_LENGTH_RANGE
    if not low <= len(password) <= high:
        return [f"aurora_master_password must be {low} to {high} characters long"]
    if any(c in PASSWORD_FORBIDDEN or not c.isprintable() or not c.isascii() for c in password):
        return ["aurora_master_password may hold printable ASCII except '/', '\"', '@' and spaces"]
    return []


def _positive_seconds(name, value):
    if (_whole_number(value) or 0) <= 0:
        return [f"{name} must be a positive number of seconds, not {value}"]
    return []


def _sql_name_errors(values):
    errors = []
    for name in ("aurora_database_name", "aurora_master_username"):
        if name in values and not SQL_NAME_PATTERN.fullmatch(str(values[name])):
            errors.append(
                f"{name} must be 1 to 63 letters, digits or underscores, starting with a letter, not '{values[name]}'"
            )
    username = values.get("aurora_master_username")
    if isinstance(username, str) and username.lower() in RESERVED_USERNAMES:
        errors.append(f"aurora_master_username '{username}' is reserved by RDS or PostgreSQL: choose another name")
    return errors


def _tags_errors(tags):
    if not isinstance(tags, dict):
        return [f"aurora_tags must be a mapping of tag names to values, not {tags!r}"]
    errors = []
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= TAG_KEY_MAX or key.lower().startswith("aws:"):
            errors.append(
                f"aurora_tags: '{key}' is not a tag name: use 1 to {TAG_KEY_MAX} characters, not starting with aws:"
            )
        elif key == naming.CLUSTER_TAG:
            errors.append(f"aurora_tags may not set {naming.CLUSTER_TAG}: the collection sets it to aurora_cluster")
        elif not isinstance(value, (str, int, float)) or isinstance(value, bool) or len(str(value)) > TAG_VALUE_MAX:
            errors.append(f"aurora_tags: the value of '{key}' must be text of at most {TAG_VALUE_MAX} characters")
    return errors


def _aws_name_errors(values):
    """Names of things that exist in AWS already: a snapshot, a ROSA cluster, its VPC."""
    errors = []
    snapshot = values.get("aurora_snapshot_identifier")
    if snapshot and not str(snapshot).startswith("arn:"):
        problem = naming.identifier_error(snapshot)
        if problem:
            errors.append(f"aurora_snapshot_identifier {problem} (or a snapshot ARN)")
    if "rosa_cluster_name" in values and not ROSA_NAME_PATTERN.fullmatch(str(values["rosa_cluster_name"])):
        errors.append(
            "rosa_cluster_name must be a ROSA cluster name: 1 to 54 lowercase letters, digits or '-', starting with "
            f"a letter and ending with a letter or digit, not '{values['rosa_cluster_name']}'"
        )
    if values.get("rosa_vpc_id") and not VPC_ID_PATTERN.fullmatch(str(values["rosa_vpc_id"])):
        errors.append(f"rosa_vpc_id must be a VPC id such as vpc-0123456789abcdef0, not '{values['rosa_vpc_id']}'")
    errors += _route_table_ids_errors(values.get("rosa_route_table_ids"))
    version = values.get("aurora_engine_version")
    if version and not ENGINE_VERSION_PATTERN.fullmatch(str(version)):
        errors.append(f"aurora_engine_version must be an aurora-postgresql version such as 17.5, not '{version}'")
    return errors


def rosa_account_errors(profile, role_arn, *, names=("rosa_aws_profile", "rosa_role_arn")):
    """How a ROSA cluster in another AWS account is reached: a profile or a role, not both.

    ``names`` are what the caller calls the two: role variables, or module options.
    """
    profile_name, role_name = names
    if profile and role_arn:
        return [
            f"{profile_name} ({profile}) and {role_name} ({role_arn}) are both set: the ROSA cluster's account is "
            f"reached with one of them, not both. Keep {profile_name} for credentials of that account in the AWS "
            f"config files, or {role_name} for a role there that Aurora's credentials may assume."
        ]
    if role_arn and not ROLE_ARN_PATTERN.fullmatch(str(role_arn)):
        return [f"{role_name} must be an IAM role ARN such as arn:aws:iam::111122223333:role/name, not '{role_arn}'"]
    return []


def _keycloak_errors(values):
    """The variables of the Keycloak wiring on the ROSA clusters."""
    errors = []
    if "keycloak_namespace" in values and not NAMESPACE_PATTERN.fullmatch(str(values["keycloak_namespace"])):
        errors.append(
            "keycloak_namespace must be a Kubernetes namespace name: 1 to 63 lowercase letters, digits or '-', "
            f"starting and ending with a letter or digit, not '{values['keycloak_namespace']}'"
        )
    url = values.get("aurora_ca_bundle_url")
    if url is not None and not values.get("aurora_ca_bundle_path"):
        parts = urlsplit(str(url))
        # The bundle decides which database servers Keycloak trusts: never fetch it unauthenticated.
        if parts.scheme != "https" or not parts.netloc:
            errors.append(f"aurora_ca_bundle_url must be an https:// URL of a PEM bundle, not '{url}'")
    image = values.get("aurora_check_image")
    if image is not None and (not str(image).strip() or any(c.isspace() for c in str(image))):
        errors.append(f"aurora_check_image must be a container image reference such as postgres:17, not '{image}'")
    if "aurora_job_timeout" in values:
        errors += _positive_seconds("aurora_job_timeout", values["aurora_job_timeout"])
    return errors


# Files on the Ansible controller.
FILE_VARIABLES = ("rosa_kubeconfig", "aurora_ca_bundle_path")


def _file_errors(values, is_file):
    return [
        f"{name} '{values[name]}' is not a file"
        for name in FILE_VARIABLES
        if values.get(name) and not is_file(values[name])
    ]


def cluster_errors(cluster):
    """What is wrong with the value of aurora_cluster: also the entry check of every playbook asks."""
    name_error = naming.cluster_name_error(cluster)
    return [f"aurora_cluster {name_error}"] if name_error else []


def _route_table_ids_errors(table_ids):
    if not table_ids:
        return []
    if not isinstance(table_ids, list):
        return [f"rosa_route_table_ids must be a list of route table ids, not {table_ids!r}"]
    wrong = [t for t in table_ids if not ROUTE_TABLE_ID_PATTERN.fullmatch(str(t))]
    if wrong:
        return [f"rosa_route_table_ids must hold route table ids such as rtb-0123456789abcdef0, not {wrong}"]
    return []


def variable_errors(values, known_regions, is_file=None):
    """Every problem with the variables in ``values``; an empty list when they are usable.

    ``is_file(path)`` tells whether a file variable names a file; without it files are not checked.
    """
    errors = []
    if "aurora_cluster" in values:
        errors += cluster_errors(values["aurora_cluster"])
    region = values.get("aurora_region")
    if not region:
        errors.append(
            "aurora_region is not set: pass -e aurora_region=<region>, export AWS_REGION, "
            "or set region in the AWS profile (AWS_PROFILE)"
        )
    elif region not in known_regions:
        errors.append(f"aurora_region '{region}' is not an AWS region (for example eu-west-1, us-east-1)")
    for key in ("rosa_region",):
        if values.get(key) and values[key] not in known_regions:
            errors.append(f"{key} '{values[key]}' is not an AWS region (for example eu-west-1, us-east-1)")
    # Unset (the role's default) keeps an existing cluster's count and gives a new one 2.
    if values.get("aurora_instances") is not None:
        errors += _in_range("aurora_instances", values["aurora_instances"], INSTANCES_RANGE)
    if "aurora_availability_zones" in values:
        errors += _in_range("aurora_availability_zones", values["aurora_availability_zones"], ZONES_RANGE)
    if values.get("rosa_machine_cidr"):
        try:
            cidr.parse_network(values["rosa_machine_cidr"])
        except cidr.CidrError as e:
            errors.append(f"rosa_machine_cidr {e}")
    avoid_errors = _avoid_cidrs_errors(values.get("aurora_avoid_cidrs"))
    errors += avoid_errors
    if values.get("aurora_vpc_cidr"):
        problem = cidr.vpc_cidr_error(values["aurora_vpc_cidr"])
        if problem:
            errors.append(f"aurora_vpc_cidr {problem}")
        elif not avoid_errors:
            errors += _vpc_cidr_overlaps(values["aurora_vpc_cidr"], values.get("aurora_avoid_cidrs") or [])
    if "aurora_cidr_pool" in values:
        problem = cidr.vpc_cidr_error(values["aurora_cidr_pool"], min_prefix=8, max_prefix=cidr.ALLOCATED_PREFIX)
        if problem:
            errors.append(f"aurora_cidr_pool {problem} (a pool is a private range of /8 to /24)")
    if "aurora_wait_timeout" in values:
        errors += _positive_seconds("aurora_wait_timeout", values["aurora_wait_timeout"])
    instance_class = values.get("aurora_instance_class")
    if instance_class and not instance_class.startswith("db."):
        errors.append(
            f"aurora_instance_class must be an RDS instance class such as db.t4g.large, not '{instance_class}'"
        )
    errors += _password_errors(values.get("aurora_master_password"))
    errors += _sql_name_errors(values)
    if "aurora_tags" in values:
        errors += _tags_errors(values["aurora_tags"])
    errors += _aws_name_errors(values)
    errors += rosa_account_errors(values.get("rosa_aws_profile"), values.get("rosa_role_arn"))
    errors += _keycloak_errors(values)
    if is_file:
        errors += _file_errors(values, is_file)
    return errors

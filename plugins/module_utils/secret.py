# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The generated master password, kept in AWS Secrets Manager so later runs and Keycloak can read it."""

from __future__ import annotations

import json
import secrets
import string

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list

# RDS refuses '/', '"', '@' and spaces in a master password; letters and digits also survive
# every shell, JDBC URL and YAML file the password may pass through.
PASSWORD_ALPHABET = string.ascii_letters + string.digits
PASSWORD_LENGTH = 32


# AWSRetry knows the query APIs' throttling codes, not the JSON APIs' one.
_JSON_THROTTLING = ["ThrottlingException"]


class AnsibleSecretsManagerError(AnsibleAWSError):
    pass


class SecretErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleSecretsManagerError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("ResourceNotFoundException")


@SecretErrorHandler.list_error_handler("describe secret")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_JSON_THROTTLING)
def describe_secret(client, secret_id):
    return client.describe_secret(SecretId=secret_id)


@SecretErrorHandler.common_error_handler("create secret")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_JSON_THROTTLING)
def create_secret(client, **params):
    return client.create_secret(**params)


@SecretErrorHandler.common_error_handler("restore secret")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_JSON_THROTTLING)
def restore_secret(client, secret_id):
    return client.restore_secret(SecretId=secret_id)


@SecretErrorHandler.common_error_handler("store a new secret value")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_JSON_THROTTLING)
def put_secret_value(client, secret_id, value):
    return client.put_secret_value(SecretId=secret_id, SecretString=value)


@SecretErrorHandler.common_error_handler("read secret")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_JSON_THROTTLING)
def get_secret_string(client, secret_id):
    return client.get_secret_value(SecretId=secret_id)["SecretString"]


@SecretErrorHandler.deletion_error_handler("delete secret")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_JSON_THROTTLING)
def delete_secret(client, secret_id, recovery_window_days):
    client.delete_secret(SecretId=secret_id, RecoveryWindowInDays=recovery_window_days)
    return True


def generate_password():
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _position in range(PASSWORD_LENGTH))


def read_credentials(client, secret_id):
    """``(username, password)`` from a secret holding ``{"username": ..., "password": ...}``."""
    try:
        value = json.loads(get_secret_string(client, secret_id))
        return value["username"], value["password"]
    except (ValueError, KeyError, TypeError):
        # "from None": the parser's message could quote the secret itself.
        raise AnsibleSecretsManagerError(
            message=f"the secret {secret_id} does not hold JSON with 'username' and 'password' keys"
        ) from None


# The steps of plan_master_secret, in the order they run.
RESTORE = "restore"
CREATE = "create"
PUT = "put"


def plan_master_secret(secret, *, cluster_exists, from_snapshot, regenerate):
    """The steps that leave ``<c>-master-password`` holding the cluster's password, or none.

    ``secret`` is DescribeSecret's answer (None when there is no secret). A password is generated
    only together with the cluster that will use it (a new cluster made from scratch), or when the
    user asks for a new one (``regenerate``; the caller then sets it on the cluster). A cluster the
    collection did not create (adopted, or restored from a snapshot) has a password the collection
    never saw: no secret is made up for it. A secret scheduled for deletion is restored for a cluster
    about to be made or restored under its name (the deleted cluster's final snapshot has that
    password), but not for a cluster that exists: it may belong to an earlier cluster of that name.

    Returns ``(steps, known)``: steps among RESTORE, CREATE, PUT, and whether the secret holds the
    cluster's password afterwards.
    """
    scheduled = bool(secret and secret.get("DeletedDate"))
    if regenerate:
        if secret is None:
            return [CREATE], True
        return ([RESTORE] if scheduled else []) + [PUT], True
    if secret is None:
        new_from_scratch = not cluster_exists and not from_snapshot
        return ([CREATE], True) if new_from_scratch else ([], False)
    if not scheduled:
        return [], True
    if cluster_exists:
        return [], False
    return [RESTORE], True


def _credentials_json(username):
    return json.dumps({"username": username, "password": generate_password(), "engine": "postgres"})


def ensure_master_secret(
    client, *, name, username, tags, cluster_exists, from_snapshot=False, regenerate=False, check_mode=False
):
    """Make the secret ``name`` hold the cluster's password where that can be known (plan_master_secret).

    Returns ``(changed, secret)``; ``secret`` is ``{}`` when the collection does not know the password.
    An existing password is only replaced on ``regenerate``, and then stays readable as the version
    AWSPREVIOUS.
    """
    secret = describe_secret(client, name)
    steps, known = plan_master_secret(
        secret, cluster_exists=cluster_exists, from_snapshot=from_snapshot, regenerate=regenerate
    )
    found = (secret or {"Name": name, "ARN": None}) if known else {}
    if not steps or check_mode:
        return bool(steps), found
    if RESTORE in steps:
        restore_secret(client, name)
    if PUT in steps:
        put_secret_value(client, name, _credentials_json(username))
    if CREATE in steps:
        created = create_secret(
            client,
            Name=name,
            Description="Master credentials of the Aurora cluster, generated by keycloak.aurora",
            SecretString=_credentials_json(username),
            Tags=ansible_dict_to_boto3_tag_list(tags),
        )
        return True, {"Name": created["Name"], "ARN": created["ARN"]}
    return True, describe_secret(client, name)


def ensure_master_secret_absent(client, *, name, recovery_window_days, check_mode):
    """Schedule the secret for deletion with AWS's recovery window; never force-delete it."""
    secret = describe_secret(client, name)
    if not secret or secret.get("DeletedDate"):
        return False, secret
    if not check_mode:
        delete_secret(client, name, recovery_window_days)
    return True, secret

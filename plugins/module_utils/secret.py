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

from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError

# RDS refuses '/', '"', '@' and spaces in a master password; letters and digits also survive
# every shell, JDBC URL and YAML file the password may pass through.
PASSWORD_ALPHABET = string.ascii_letters + string.digits
PASSWORD_LENGTH = 32
DESCRIPTION = "Master credentials of the Aurora cluster, kept by keycloak.aurora"
# Secrets Manager's labels of the version readers get, and of one staged to replace it.
CURRENT = "AWSCURRENT"
PENDING = "AWSPENDING"


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
def put_secret_value(client, secret_id, value, stages=None):
    params = {"SecretId": secret_id, "SecretString": value}
    if stages:
        params["VersionStages"] = stages
    return client.put_secret_value(**params)


@SecretErrorHandler.common_error_handler("move a secret version label")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_JSON_THROTTLING)
def update_secret_version_stage(client, **params):
    return client.update_secret_version_stage(**params)


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


def read_master_credentials(client, secret_id, username):
    """Return ``(username, password)`` from the Secrets Manager secret ``{"username", "password"}``.

    The secret is the one ``aurora_master_secret`` keeps; its user must be the cluster's master user.
    Never put the secret's content into a message.
    """
    secret_username, password = read_credentials(client, secret_id)
    if not isinstance(password, str) or not password:
        raise AuroraError(f"master_user_password_secret: the secret {secret_id} holds an empty password")
    if secret_username and secret_username != username:
        raise AuroraError(
            f"master_user_password_secret: secret {secret_id} is for user {secret_username}, "
            f"but master_username is {username}; set master_username to match"
        )
    return username, password


# The steps of plan_master_secret, in the order they run.
RESTORE = "restore"
CREATE = "create"
PUT = "put"


def plan_master_secret(secret, *, cluster, cluster_exists, snapshot_source=None, password_given=False):
    """What to do with ``<c>-master-password`` before the DB cluster ``cluster`` is created or adopted.

    ``secret`` is DescribeSecret's answer (None when there is none). ``snapshot_source`` is the DB
    cluster a missing cluster is about to be restored from (its snapshot's DBClusterIdentifier).

    A password is generated only together with the cluster that will use it: a new cluster made from
    scratch without a given password. A cluster the collection did not create (adopted, or restored
    from another cluster's snapshot) has a password the collection never saw, and none is made up. A
    secret scheduled for deletion is restored for a cluster about to be created, or restored from its
    own final snapshot, under its name; for a cluster that exists it is left alone, since it may
    belong to an earlier cluster of that name. A given password for a new cluster replaces the value
    of a live secret of that name, so that the secret never disagrees with the cluster.

    Returns ``(steps, known)``: steps among RESTORE, CREATE and PUT, and whether the secret holds the
    cluster's password afterwards. Raises when a live secret of that name would stand beside a
    cluster restored from another cluster's snapshot, whose password it cannot hold.
    """
    scheduled = bool(secret and secret.get("DeletedDate"))
    live = secret is not None and not scheduled
    if cluster_exists:
        return [], live
    if snapshot_source is None:  # made from scratch
        if password_given:
            return ([PUT], True) if live else ([], False)
        if secret is None:
            return [CREATE], True
        return ([RESTORE] if scheduled else []), True
    if snapshot_source.lower() == cluster.lower():  # its own final snapshot holds the secret's password
        return ([RESTORE] if scheduled else []), secret is not None
    if live:
        raise AnsibleSecretsManagerError(
            message=f"the secret {secret['Name']} keeps the master password of an earlier DB cluster {cluster}, but "
            f"{cluster} is about to be restored from a snapshot of {snapshot_source}, whose password it does not hold: "
            "delete the secret (aws secretsmanager delete-secret), or restore under another name"
        )
    return [], False


def credentials_json(username, password=None):
    """The secret's value; without a password it only names the master user (the password is not known)."""
    value = {"username": username, "engine": "postgres"}
    if password is not None:
        value["password"] = password
    return json.dumps(value)


def ensure_master_secret(
    client, *, name, username, tags, cluster, cluster_exists, snapshot_source=None, password=None, check_mode=False
):
    """Make the secret ``name`` hold the cluster's password where that can be known (plan_master_secret).

    Returns ``(changed, secret)``; ``secret`` is ``{}`` when the collection does not know the password.
    """
    secret = describe_secret(client, name)
    steps, known = plan_master_secret(
        secret,
        cluster=cluster,
        cluster_exists=cluster_exists,
        snapshot_source=snapshot_source,
        password_given=password is not None,
    )
    found = (secret or {"Name": name, "ARN": None}) if known else {}
    if not steps or check_mode:
        return bool(steps), found
    if RESTORE in steps:
        restore_secret(client, name)
    if PUT in steps:
        put_secret_value(client, name, credentials_json(username, password))
    if CREATE in steps:
        created = create_secret(
            client,
            Name=name,
            Description=DESCRIPTION,
            # Planned only without a given password: the one time a password is made up.
            SecretString=credentials_json(username, generate_password()),
            Tags=ansible_dict_to_boto3_tag_list(tags),
        )
        return True, {"Name": created["Name"], "ARN": created["ARN"]}
    return True, describe_secret(client, name)


def stage_new_password(client, *, name, username, password, tags):
    """Keep ``password`` as the secret's pending version (AWSPENDING) and return that version's id.

    Readers keep getting the current version (AWSCURRENT) until promote_pending moves it, once the
    cluster has the new password: a reset interrupted in between hands out no password the cluster
    does not have. A missing secret is created first holding only the user name, because the first
    version of a secret is always current.
    """
    secret = describe_secret(client, name)
    if secret is None:
        create_secret(
            client,
            Name=name,
            Description=DESCRIPTION,
            SecretString=credentials_json(username),
            Tags=ansible_dict_to_boto3_tag_list(tags),
        )
    elif secret.get("DeletedDate"):
        restore_secret(client, name)
    return put_secret_value(client, name, credentials_json(username, password), stages=[PENDING])["VersionId"]


def promote_pending(client, *, name, version_id):
    """Make the pending version ``version_id`` current; the one it replaces becomes AWSPREVIOUS."""
    stages = describe_secret(client, name).get("VersionIdsToStages") or {}
    current = next((v for v, labels in stages.items() if CURRENT in labels), None)
    if current != version_id:
        move = {"SecretId": name, "VersionStage": CURRENT, "MoveToVersionId": version_id}
        if current:
            move["RemoveFromVersionId"] = current
        update_secret_version_stage(client, **move)
    update_secret_version_stage(client, SecretId=name, VersionStage=PENDING, RemoveFromVersionId=version_id)


def ensure_master_secret_absent(client, *, name, recovery_window_days, check_mode):
    """Schedule the secret for deletion with AWS's recovery window; never force-delete it."""
    secret = describe_secret(client, name)
    if not secret or secret.get("DeletedDate"):
        return False, secret
    if not check_mode:
        delete_secret(client, name, recovery_window_days)
    return True, secret

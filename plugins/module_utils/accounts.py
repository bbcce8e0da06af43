# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The AWS account of a ROSA cluster: the account of Aurora, or another one.

Aurora's account is the one of the module's own credentials (profile, keys, environment), as for
every module of the collection. A ROSA cluster in another account is reached with the module
options ``rosa_profile`` (a profile of the AWS config files) or ``rosa_role_arn`` (a role in that
account, assumed with Aurora's credentials). Clients for either account are built by
AnsibleAWSModule.client, so that endpoint, certificates and botocore configuration stay the
module's; only the credentials differ. Assumed-role credentials live in this process only: they
are never returned, logged or written anywhere.
"""

from __future__ import annotations

import contextlib
import re

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.keycloak.aurora.plugins.module_utils import validation

# The options of the modules that act in a ROSA cluster's account (doc fragment keycloak.aurora.rosa_account).
ARGUMENT_SPEC = dict(
    rosa_profile=dict(type="str"),
    rosa_role_arn=dict(type="str"),
)
# AssumeRole's RoleSessionName: 2 to 64 of these characters. CloudTrail shows it in the ROSA account.
SESSION_NAME_LENGTH = 64
_SESSION_NAME_REFUSED = re.compile(r"[^\w+=,.@-]")


def requested_elsewhere(requester_owner_id, accepter_owner_id, reached_account_id=None):
    """Whether a peering was requested from an AWS account that is neither Aurora's (the accepter's) nor
    ``reached_account_id`` (the account a ROSA client is in, when it is another): the ROSA side of such a
    peering (its routes, a request never accepted) can only be undone with that account's credentials."""
    return requester_owner_id not in (accepter_owner_id, reached_account_id)


def account_error(*, profile, role_arn):
    """Why the module options rosa_profile and rosa_role_arn cannot be used; None when they can."""
    errors = validation.rosa_account_errors(profile, role_arn, names=("rosa_profile", "rosa_role_arn"))
    return "; ".join(errors) or None


def session_name(rosa_cluster_name):
    """The RoleSessionName of the assumed role: says in the ROSA account's CloudTrail who acted and why."""
    name = _SESSION_NAME_REFUSED.sub("-", f"keycloak-aurora-{rosa_cluster_name}")
    return name[:SESSION_NAME_LENGTH]


@AWSRetry.jittered_backoff()
def _assume_role(client, role_arn, name):
    return client.assume_role(RoleArn=role_arn, RoleSessionName=name)["Credentials"]


@AWSRetry.jittered_backoff()
def _caller_account(client):
    return client.get_caller_identity()["Account"]


def _aws_error(message, error):
    return AnsibleAWSError(message=message, exception=error)


class RosaAccount:
    """Clients in the account of one ROSA cluster, for a module (AnsibleAWSModule).

    Without a profile or role it is Aurora's account: the module's own clients, and no request
    more than before. The role is assumed once, on the first client asked for.
    """

    def __init__(self, module, *, profile=None, role_arn=None, rosa_cluster_name=""):
        self._module = module
        self.profile = profile
        self.role_arn = role_arn
        self._session_name = session_name(rosa_cluster_name)
        self._credentials = None

    @property
    def separate(self):
        """Whether the ROSA cluster's account is reached with credentials of its own."""
        return bool(self.profile or self.role_arn)

    def _connection(self):
        # Keys and profile both replace the module's: amazon.aws refuses the two together.
        if self.profile:
            return dict(
                profile_name=self.profile, aws_access_key_id=None, aws_secret_access_key=None, aws_session_token=None
            )
        if self._credentials is None:
            try:
                self._credentials = _assume_role(self._module.client("sts"), self.role_arn, self._session_name)
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
                raise _aws_error(f"Failed to assume rosa_role_arn {self.role_arn}", e) from e
        return dict(
            profile_name=None,
            aws_access_key_id=self._credentials["AccessKeyId"],
            aws_secret_access_key=self._credentials["SecretAccessKey"],
            aws_session_token=self._credentials["SessionToken"],
        )

    def client(self, service, region):
        """A boto3 client of ``service`` in ``region`` of the ROSA cluster's account."""
        if not self.separate:
            return self._module.client(service, region=region)
        return self._module.client(service, region=region, **self._connection())

    def account_ids(self):
        """(ROSA account ID, Aurora account ID) when the ROSA account has credentials of its own, else
        (None, None): the same account, and no request to find out."""
        if not self.separate:
            return None, None
        try:
            rosa_account = _caller_account(self.client("sts", self._module.region))
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            via = f"rosa_profile {self.profile}" if self.profile else f"rosa_role_arn {self.role_arn}"
            raise _aws_error(f"Failed to identify the ROSA cluster's account with {via}", e) from e
        try:
            aurora_account = _caller_account(self._module.client("sts"))
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            raise _aws_error("Failed to identify the Aurora account", e) from e
        return rosa_account, aurora_account


def ec2_clients(module, account, *, rosa_region):
    """(ROSA EC2 client in ``rosa_region``, Aurora EC2 client in the module's region).

    One client serves both when the ROSA cluster shares Aurora's account and region.
    """
    aurora_client = module.client("ec2")
    if account.separate:
        return account.client("ec2", rosa_region), aurora_client
    if rosa_region == module.region:
        return aurora_client, aurora_client
    return module.client("ec2", region=rosa_region), aurora_client

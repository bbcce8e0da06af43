# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The options that reach a ROSA cluster in another AWS account than Aurora's.
    DOCUMENTATION = r"""
options:
  rosa_profile:
    description:
      - The AWS profile (of the AWS config and credentials files) of the ROSA cluster's account, when that is not
        the account of Aurora. Aurora's account keeps the module's own credentials (O(profile), O(access_key) ...).
      - Mutually exclusive with O(rosa_role_arn).
    type: str
    version_added: 1.1.0
  rosa_role_arn:
    description:
      - An IAM role in the ROSA cluster's account, when that is not the account of Aurora, assumed with STS
        AssumeRole using the module's own credentials (those of Aurora's account). The session is named
        C(keycloak-aurora-<rosa cluster name>). The temporary credentials are never returned or logged.
      - Mutually exclusive with O(rosa_profile).
    type: str
    version_added: 1.1.0
notes:
  - With O(rosa_profile) or O(rosa_role_arn), what is in the ROSA cluster's account (its VPC and route tables, the
    peering request) is read and written with that account's credentials, what is in Aurora's account with the
    module's own. Both accounts are identified with STS GetCallerIdentity, which needs no permission.
"""

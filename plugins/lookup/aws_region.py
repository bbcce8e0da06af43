# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: aws_region
version_added: 1.0.0
short_description: The AWS region the environment or the AWS profile names
description:
  - Returns the region the AWS CLI and boto3 would use, the default of C(aurora_region) in every role and playbook
    of keycloak.aurora. The environment variable C(AWS_REGION) first, else C(AWS_DEFAULT_REGION), else the
    C(region) of the profile C(AWS_PROFILE) (or C(default)) in the AWS config file (C(AWS_CONFIG_FILE),
    C(~/.aws/config)), as botocore resolves it.
  - An empty string when none of them names a region, or when C(AWS_PROFILE) names a profile that does not exist.
  - Sends no request to AWS.
options: {}
author:
  - keycloak.aurora maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Show the region the playbooks take when aurora_region is not set
  ansible.builtin.debug:
    msg: "{{ lookup('keycloak.aurora.aws_region') }}"
"""

RETURN = r"""
_raw:
  description: One element, the region; empty when none is configured.
  type: list
  elements: str
"""

import os

from ansible.plugins.lookup import LookupBase


def configured_region(environ=None):
    """The region of the environment, else of the AWS profile; '' when there is none."""
    environ = os.environ if environ is None else environ
    # What botocore would answer for these, without importing it: importing botocore costs about
    # 0.2 s in every forked worker that templates a role default.
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if region:
        return region
    import botocore.exceptions
    import botocore.session

    try:
        return botocore.session.Session().get_config_variable("region") or ""
    except botocore.exceptions.ProfileNotFound:
        # The modules report the missing profile themselves, with botocore's words.
        return ""


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        return [configured_region()]

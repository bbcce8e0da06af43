# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: input_errors
version_added: 1.0.0
short_description: What is wrong with the public variables of keycloak.aurora
description:
  - Checks the values an argument spec cannot express (identifier rules, ranges, private CIDRs,
    known regions, the shape of a given master password) and returns one message per problem,
    naming the variable and what is allowed. An empty list means the values are usable.
  - Regions are checked against the regions in botocore's endpoint data, without any request to AWS.
  - File variables (C(rosa_kubeconfig), C(aurora_ca_bundle_path)) must name a file on the Ansible controller;
    C(~) stands for the home directory.
options:
  _input:
    description: The variables to check, by their public names (C(aurora_cluster), C(aurora_region) ...).
    type: dict
    required: true
author:
  - keycloak.aurora maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Refuse bad input before anything is created
  ansible.builtin.assert:
    that: __errors | length == 0
    fail_msg: "{{ __errors | join('; ') }}"
  vars:
    __errors: "{{ {'aurora_cluster': aurora_cluster, 'aurora_region': aurora_region} | keycloak.aurora.input_errors }}"
"""

RETURN = r"""
_value:
  description: One message per problem; empty when the values are usable.
  type: list
  elements: str
"""

import importlib.util
import json
import os

from ansible.errors import AnsibleFilterError

from ansible_collections.keycloak.aurora.plugins.module_utils.validation import variable_errors


def known_regions():
    """Every region of every partition in botocore's endpoint data.

    Read from its data file rather than through botocore.session: importing botocore would cost a
    tenth of a second in every forked worker that templates this filter, once per ROSA host.
    """
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.origin:
        raise AnsibleFilterError("keycloak.aurora.input_errors needs botocore on the Ansible controller")
    with open(os.path.join(os.path.dirname(spec.origin), "data", "endpoints.json"), encoding="utf-8") as data:
        partitions = json.load(data)["partitions"]
    return {region for partition in partitions for region in partition["regions"]}


def is_file(path):
    # As the modules that take these paths (type path) read them: ~ is the controller user's home.
    return os.path.isfile(os.path.expanduser(str(path)))


def input_errors(values):
    return variable_errors(values, known_regions(), is_file)


class FilterModule:
    def filters(self):
        return {"input_errors": input_errors}

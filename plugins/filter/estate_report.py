# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: estate_report
version_added: 1.1.0
short_description: The readable report of playbooks/status.yml
description:
  - Turns the result of M(keycloak.aurora.aurora_estate_info) into lines for people, a header, one block per Aurora
    cluster (state, engine version, age, C(keepalive), endpoints, VPC, instances, peerings with their ROSA clusters,
    pending maintenance, final snapshots), what deleted deployments left behind with the command that removes each,
    and the regions that could not be scanned.
options:
  _input:
    description: The registered result of M(keycloak.aurora.aurora_estate_info).
    type: dict
    required: true
author:
  - keycloak.aurora maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Show every Aurora cluster for Keycloak
  ansible.builtin.debug:
    msg: "{{ estate | keycloak.aurora.estate_report }}"
"""

RETURN = r"""
_value:
  description: The lines of the report.
  type: list
  elements: str
"""

from ansible_collections.keycloak.aurora.plugins.module_utils import estate


def estate_report(result):
    return estate.estate_lines(
        result["clusters"], result["failed_regions"], result["regions"], result.get("leftovers") or []
    )


class FilterModule:
    def filters(self):
        return {"estate_report": estate_report}

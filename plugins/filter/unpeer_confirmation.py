# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: unpeer_confirmation
version_added: 1.0.0
short_description: Whether playbooks/unpeer.yml may disconnect its ROSA clusters, and its refusal if not
description:
  - One ROSA cluster from one named Aurora cluster needs no confirmation. More than one ROSA cluster needs
    C(aurora_unpeer_confirm) equal to C(aurora_cluster); no C(aurora_cluster) (every Aurora cluster of the
    region) needs C(aurora_unpeer_confirm=every-aurora-cluster).
  - The refusal lists the ROSA clusters and the peerings each would lose, from C(__aurora_peering_absent) in
    their host vars (what the role C(aurora_peering) with C(aurora_peering_state=absent) would remove, found
    by a check-mode run); a host without it is said to be not looked up.
options:
  _input:
    description: The host vars of the ROSA hosts of the play (C(ansible_play_hosts_all | map('extract', hostvars))).
    type: list
    elements: dict
    required: true
  aurora_cluster:
    description: The Aurora cluster to disconnect from; empty for every one.
    type: str
    required: true
  confirm:
    description: C(aurora_unpeer_confirm) as given; empty when not.
    type: str
    required: true
author:
  - keycloak.aurora maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Refuse to disconnect several ROSA clusters without a yes
  ansible.builtin.assert:
    that: __unpeer.confirmed
    fail_msg: "{{ __unpeer.refusal }}"
  vars:
    __unpeer: "{{ ansible_play_hosts_all | map('extract', hostvars)
      | keycloak.aurora.unpeer_confirmation(aurora_cluster | default(''), aurora_unpeer_confirm | default('')) }}"
"""

RETURN = r"""
_value:
  description:
    - C(confirmed) (bool); C(expected), the value C(aurora_unpeer_confirm) must have (empty when none is needed);
      C(refusal), the message when not confirmed.
  type: dict
"""

from ansible_collections.keycloak.aurora.plugins.module_utils import entry_checks


def unpeer_confirmation(hosts_vars, aurora_cluster, confirm):
    found = [
        (host["inventory_hostname"], (host.get("__aurora_peering_absent") or {}).get("removed")) for host in hosts_vars
    ]
    decision = entry_checks.unpeer_confirmation([host for host, _removed in found], aurora_cluster, confirm)
    refusal = "" if decision["confirmed"] else entry_checks.unpeer_refusal(found, aurora_cluster, decision["expected"])
    return dict(decision, refusal=refusal)


class FilterModule:
    def filters(self):
        return {"unpeer_confirmation": unpeer_confirmation}

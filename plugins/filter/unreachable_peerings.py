# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: unreachable_peerings
version_added: 1.1.0
short_description: The peerings from other AWS accounts that the inventory gives no way into
description:
  - Of the peerings of an Aurora cluster, as M(keycloak.aurora.aurora_network_info) lists them, those requested from
    another AWS account than Aurora's whose ROSA cluster has no inventory host with C(rosa_aws_profile) or
    C(rosa_role_arn) (see the filter C(keycloak.aurora.rosa_account), which finds the host by the peering's ROSA cluster
    name, else by its requester VPC). Their routes in the ROSA VPC can only be removed with that account's
    credentials.
options:
  _input:
    description: The peerings (C(network.peerings) of M(keycloak.aurora.aurora_network_info) with O(peerings=true)).
    type: list
    elements: dict
    required: true
  hosts:
    description: The host vars of the ROSA hosts (C(groups['rosa_clusters'] | map('extract', hostvars))).
    type: list
    elements: dict
    required: true
author:
  - keycloak.aurora maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Refuse, before removing any, peerings whose ROSA side cannot be reached
  ansible.builtin.assert:
    that: __unreachable | length == 0
  vars:
    __unreachable: "{{ network.peerings | keycloak.aurora.unreachable_peerings(groups['rosa_clusters']
      | default([]) | map('extract', hostvars)) }}"
"""

RETURN = r"""
_value:
  description: The peerings, as given, that no host reaches.
  type: list
  elements: dict
"""

from ansible_collections.keycloak.aurora.plugins.filter.rosa_account import rosa_account
from ansible_collections.keycloak.aurora.plugins.module_utils.accounts import requested_elsewhere


def unreachable_peerings(peerings, hosts):
    hosts = list(hosts)
    return [
        peering
        for peering in peerings
        if requested_elsewhere(peering.get("requester_owner_id"), peering.get("accepter_owner_id"))
        and not any(
            rosa_account(hosts, peering.get("rosa_cluster_name") or "", peering.get("requester_vpc_id")).values()
        )
    ]


class FilterModule:
    def filters(self):
        return {"unreachable_peerings": unreachable_peerings}

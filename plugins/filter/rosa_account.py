# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: rosa_account
version_added: 1.1.0
short_description: How the inventory reaches the AWS account of a ROSA cluster
description:
  - Returns C(rosa_aws_profile) and C(rosa_role_arn) of the inventory host of the ROSA cluster named
    O(rosa_cluster_name) (its C(rosa_cluster_name), else its inventory host name), so that a play on another host
    (C(playbooks/delete.yml) on localhost) acts in that ROSA cluster's account as the ROSA cluster's own plays do.
  - A peering without the C(RosaCluster) tag (a run stopped before the Aurora side was tagged, or one made by the
    keycloak-benchmark scripts) names no ROSA cluster; then the host whose C(rosa_vpc_id) (set by the inventory
    plugin M(keycloak.aurora.rosa_clusters)) is O(rosa_vpc_id) is taken.
  - Both are empty when no host is that ROSA cluster, or when it is in Aurora's account.
options:
  _input:
    description: The host vars of the ROSA hosts (C(groups['rosa_clusters'] | map('extract', hostvars))).
    type: list
    elements: dict
    required: true
  rosa_cluster_name:
    description: The ROSA cluster, as its peerings' tag C(RosaCluster) names it; empty when untagged.
    type: str
    required: true
  rosa_vpc_id:
    description: The ROSA VPC, the requester VPC of the peering, by which a host is found when no host has that name.
    type: str
author:
  - keycloak.aurora maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Disconnect a ROSA cluster found from the Aurora side, in its own account
  keycloak.aurora.aurora_peering:
    state: absent
    region: eu-west-1
    rosa_cluster_name: "{{ item.rosa_cluster_name }}"
    rosa_profile: "{{ __account.rosa_aws_profile | default(omit, true) }}"
    rosa_role_arn: "{{ __account.rosa_role_arn | default(omit, true) }}"
  vars:
    __account: "{{ groups['rosa_clusters'] | default([]) | map('extract', hostvars)
      | keycloak.aurora.rosa_account(item.rosa_cluster_name or '', item.requester_vpc_id) }}"
"""

RETURN = r"""
_value:
  description: C(rosa_aws_profile) and C(rosa_role_arn), each empty when unset.
  type: dict
"""


def rosa_host(hosts_vars, rosa_cluster_name, rosa_vpc_id=None):
    """The host vars of the ROSA cluster: by its name, else by its VPC; None when no host is it."""
    hosts_vars = list(hosts_vars)
    by_name = [
        h
        for h in hosts_vars
        if rosa_cluster_name and (h.get("rosa_cluster_name") or h.get("inventory_hostname")) == rosa_cluster_name
    ]
    by_vpc = [h for h in hosts_vars if rosa_vpc_id and h.get("rosa_vpc_id") == rosa_vpc_id]
    return next(iter(by_name + by_vpc), None)


def rosa_account(hosts_vars, rosa_cluster_name, rosa_vpc_id=None):
    host = rosa_host(hosts_vars, rosa_cluster_name, rosa_vpc_id) or {}
    return {"rosa_aws_profile": host.get("rosa_aws_profile") or "", "rosa_role_arn": host.get("rosa_role_arn") or ""}


class FilterModule:
    def filters(self):
        return {"rosa_account": rosa_account}

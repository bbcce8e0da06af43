# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: rosa_machine_cidrs
version_added: 1.1.0
short_description: The machine CIDRs of ROSA cluster hosts, for a new Aurora VPC to avoid
description:
  - Takes the host variables of the ROSA cluster hosts (for example C(groups['my_sites'] | map('extract', hostvars)))
    and returns their machine CIDRs, sorted and without repeats, as the role input
    C(aurora_avoid_cidrs) of C(keycloak.aurora.aurora_create) takes them.
  - A host's machine CIDR is C(rosa_machine_cidr) when set, else the one M(keycloak.aurora.rosa_vpc_facts)
    found for it (the fact C(rosa_vpc), set by C(keycloak.aurora.aurora_peering) with C(tasks_from=facts)).
  - A host whose machine CIDR is not known is an error naming the host, since a new Aurora VPC could overlap it,
    and the peering would then fail only after Aurora exists.
options:
  _input:
    description: The host variables of the ROSA cluster hosts, one mapping per host.
    type: list
    elements: dict
    required: true
author:
  - keycloak.aurora maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Create Aurora in a VPC that overlaps none of the ROSA clusters of the group my_sites
  ansible.builtin.include_role:
    name: keycloak.aurora.aurora_create
  vars:
    aurora_avoid_cidrs: "{{ groups['my_sites'] | map('extract', hostvars) | keycloak.aurora.rosa_machine_cidrs }}"
"""

RETURN = r"""
_value:
  description: The machine CIDRs, sorted, each once.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError


def machine_cidr(host):
    """The machine CIDR of one ROSA host's variables, or None when nobody has found or given it."""
    given = host.get("rosa_machine_cidr")
    if given:
        return given
    found = host.get("rosa_vpc") or {}
    # rosa_vpc is the fact of the host's own ROSA cluster only if the names agree (the same inventory
    # host may have been pointed at another cluster since the fact was set).
    name = host.get("rosa_cluster_name") or host.get("inventory_hostname")
    if found.get("machine_cidr") and found.get("cluster_name") == name:
        return found["machine_cidr"]
    return None


def rosa_machine_cidrs(hosts):
    cidrs, unknown = set(), []
    for host in hosts:
        found = machine_cidr(host)
        if found:
            cidrs.add(found)
        else:
            unknown.append(str(host.get("inventory_hostname", "?")))
    if unknown:
        raise AnsibleFilterError(
            f"the machine CIDR of the ROSA cluster(s) {', '.join(sorted(unknown))} is not known, so a new Aurora VPC "
            "could overlap it: run the role keycloak.aurora.aurora_peering with tasks_from: facts on those hosts "
            "first, or set rosa_machine_cidr on them"
        )
    return sorted(cidrs)


class FilterModule:
    def filters(self):
        return {"rosa_machine_cidrs": rosa_machine_cidrs}

# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: database_mismatch
version_added: 1.0.0
short_description: Why an aurora_database handed to a role is not that of the role's Aurora cluster, or nothing
description:
  - C(aurora_database) is what the role C(aurora_create) published for one Aurora cluster in one region. A role
    that takes it (C(aurora_peering), C(aurora_keycloak)) must refuse one published for another cluster or region,
    which a site playbook could hand it by mistake; an empty one (none handed on) is fine.
options:
  _input:
    description: C(aurora_database) as handed to the role; empty when none was.
    type: dict
    required: true
  aurora_cluster:
    description: The role's Aurora cluster.
    type: str
    required: true
  aurora_region:
    description: The role's region.
    type: str
    required: true
  required:
    description:
      - The keys of C(aurora_database) the role reads; one missing or empty is refused (a hand-made
        C(aurora_database) would otherwise make the role skip its work or fail later, less plainly).
    type: list
    elements: str
    default: []
author:
  - keycloak.aurora maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Refuse what aurora_create published for another Aurora cluster
  ansible.builtin.assert:
    that: __mismatch | length == 0
    fail_msg: "{{ __mismatch }}"
  vars:
    __mismatch: "{{ aurora_database | keycloak.aurora.database_mismatch(aurora_cluster, aurora_region,
      required=['network']) }}"
"""

RETURN = r"""
_value:
  description:
    - The refusal, naming both clusters and regions, or the keys that are missing; empty when C(aurora_database)
      is empty or fits.
  type: str
"""


_PASS_PUBLISHED = "pass the aurora_database that aurora_create published for it."


def database_mismatch(aurora_database, aurora_cluster, aurora_region, required=()):
    if not aurora_database:
        return ""
    published = (aurora_database.get("cluster") or "", aurora_database.get("region") or "")
    if published != (aurora_cluster, aurora_region):
        return (
            f"aurora_database describes the Aurora cluster {published[0] or '(none)'} in "
            f"{published[1] or '(no region)'}, not aurora_cluster={aurora_cluster} in {aurora_region}: "
            f"{_PASS_PUBLISHED}"
        )
    missing = [key for key in required if aurora_database.get(key) in (None, "", {}, [])]
    if missing:
        return f"aurora_database has no {', '.join(missing)} for {aurora_cluster}: {_PASS_PUBLISHED}"
    return ""


class FilterModule:
    def filters(self):
        return {"database_mismatch": database_mismatch}

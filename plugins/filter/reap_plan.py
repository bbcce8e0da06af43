# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: reap_plan
version_added: 1.1.0
short_description: Which Aurora clusters for Keycloak playbooks/reap.yml deletes, which it keeps, and why
description:
  - A cluster is deleted when it has no C(keepalive) tag (the key present, whatever its value, keeps it) and is at
    least O(min_age_hours) old at O(now).
  - It is kept when its VPC is not tagged C(AuroraCluster=<cluster>) (found only by its DB subnet group or security
    group name, generic enough to be somebody else's), tagged C(keepalive), younger, of unknown age, protected from
    deletion (the reaper never lifts a protection), or already being deleted.
options:
  _input:
    description: The C(clusters) of M(keycloak.aurora.aurora_estate_info).
    type: list
    elements: dict
    required: true
  min_age_hours:
    description: The age from which a cluster without C(keepalive) is deleted.
    type: float
    required: true
  now:
    description: The time ages are measured at (ISO 8601; without a zone, UTC). Empty, the scan's time.
    type: str
    required: true
  confirmed:
    description: Whether the run deletes (C(reap_confirm=true) outside check mode), for the wording of C(lines).
    type: bool
    default: false
author:
  - keycloak.aurora maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Decide what goes
  ansible.builtin.set_fact:
    reap: "{{ estate.clusters | keycloak.aurora.reap_plan(min_age_hours=4, now=estate.scanned_at) }}"
"""

RETURN = r"""
_value:
  description:
    - C(delete) and C(keep), lists of the cluster records, each with a C(reason), by region then name; C(lines), what
      the run does or would do with each (O(confirmed)).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.keycloak.aurora.plugins.module_utils import estate


def reap_plan(clusters, min_age_hours, now, confirmed=False):
    try:
        min_age = float(min_age_hours)
    except (TypeError, ValueError):
        min_age = -1.0
    if min_age < 0:
        raise AnsibleFilterError(f"reap_min_age_hours must be a number of hours, 0 or more, not '{min_age_hours}'")
    try:
        estate.parse_time(now)
    except (TypeError, ValueError) as e:
        raise AnsibleFilterError(f"reap_now must be a time in ISO 8601 such as 2026-12-01T02:00:00, not '{now}'") from e
    plan = estate.reap_plan(clusters, now=now, min_age_hours=min_age)
    return dict(plan, lines=estate.plan_lines(plan, confirmed=bool(confirmed)))


class FilterModule:
    def filters(self):
        return {"reap_plan": reap_plan}

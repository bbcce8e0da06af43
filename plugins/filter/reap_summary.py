# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: reap_summary
version_added: 1.1.0
short_description: The last word of playbooks/reap.yml, counting deleted, kept and failed clusters
description:
  - Counts the clusters deleted, kept (each with why) and failed (each with the error), and lists the regions that
    could not be scanned.
options:
  _input:
    description: The plan of P(keycloak.aurora.reap_plan#filter).
    type: dict
    required: true
  outcomes:
    description:
      - C(<region>/<cluster>) of each cluster the run tried to delete, to its error message, or to null when it was
        deleted. A cluster of the plan missing here was not tried (a dry run).
    type: dict
    required: true
  confirmed:
    description: Whether the run deletes (C(reap_confirm=true)).
    type: bool
    required: true
  failed_regions:
    description: The C(failed_regions) of M(keycloak.aurora.aurora_estate_info).
    type: list
    elements: dict
    required: true
author:
  - keycloak.aurora maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Count what was deleted, kept and failed
  ansible.builtin.debug:
    msg: "{{ (reap | keycloak.aurora.reap_summary(outcomes, confirmed=true, failed_regions=[])).lines }}"
"""

RETURN = r"""
_value:
  description:
    - C(deleted), C(failed), C(would_delete) (C(<region>/<cluster>) lists); C(kept) (C(<region>/<cluster>) to why);
      C(failed_regions); C(lines), the summary for people.
  type: dict
"""

from ansible_collections.keycloak.aurora.plugins.module_utils import estate


def reap_summary(plan, outcomes, confirmed, failed_regions):
    return estate.reap_summary(plan, outcomes, confirmed=bool(confirmed), failed_regions=failed_regions)


class FilterModule:
    def filters(self):
        return {"reap_summary": reap_summary}

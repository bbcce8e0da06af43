# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: delete_report
version_added: 1.1.0
short_description: What the role aurora_delete deleted, or would delete in check mode
description:
  - Takes what the steps of C(keycloak.aurora.aurora_delete) returned and says what they removed, one key per kind
    of resource, or, when none of them changed anything, that nothing of the Aurora cluster was found.
options:
  _input:
    description:
      - The registered results of the steps, by what they remove. C(peerings), the loop of
        M(keycloak.aurora.aurora_peering) with C(state=absent) over the cluster's peerings; C(cluster),
        M(keycloak.aurora.aurora_cluster) with C(state=absent); C(network), M(keycloak.aurora.aurora_network) with
        C(state=absent); C(secret), M(keycloak.aurora.aurora_master_secret) with C(state=absent).
    type: dict
    required: true
  aurora_cluster:
    description: The Aurora cluster being deleted.
    type: str
    required: true
  aurora_region:
    description: Its region.
    type: str
    required: true
  check_mode:
    description: Whether the run is in check mode (C(ansible_check_mode)), where nothing was deleted.
    type: bool
    required: true
author:
  - keycloak.aurora maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Report what was deleted
  ansible.builtin.debug:
    msg: >-
      {{ {'peerings': unpeered, 'cluster': cluster_removed, 'network': network_removed, 'secret': secret_removed}
         | keycloak.aurora.delete_report(aurora_cluster=aurora_cluster, aurora_region=aurora_region,
                                         check_mode=ansible_check_mode) }}
"""

RETURN = r"""
_value:
  description:
    - When something was found, a dict. C(mode), C(deleted) or C(would delete (check mode)); C(peerings), the ids of the
      peering connections removed; C(cluster), the cluster's name, or null when it did not exist; C(final_snapshot),
      the final snapshot taken; C(earlier_final_snapshots), those earlier deletes left, oldest first; C(network),
      what M(keycloak.aurora.aurora_network) removed; C(secret), the name of the master password's secret scheduled for
      deletion, or null.
    - When nothing was found, the sentence C(Nothing of the Aurora cluster ... was found in ...).
  type: raw
"""


def changed(result):
    """As Ansible's test `changed`: the result's own flag, else whether any item of its loop changed."""
    if "changed" in result:
        return bool(result["changed"])
    return any(item.get("changed", False) for item in result.get("results", []))


def removed_peerings(unpeered):
    """The ids of the peering connections the loop over the cluster's peerings removed (skipped items removed none)."""
    return [
        peering["vpc_peering_connection_id"]
        for item in unpeered.get("results", [])
        for peering in item.get("removed", [])
    ]


def delete_report(results, aurora_cluster, aurora_region, check_mode):
    cluster, network, secret = results["cluster"], results["network"], results["secret"]
    if not any(changed(result) for result in results.values()):
        return f"Nothing of the Aurora cluster {aurora_cluster} was found in {aurora_region}."
    return {
        "mode": "would delete (check mode)" if check_mode else "deleted",
        "peerings": removed_peerings(results["peerings"]),
        "cluster": aurora_cluster if changed(cluster) else None,
        "final_snapshot": cluster.get("final_snapshot_identifier"),
        # AWS keeps every final snapshot until someone deletes it: show those earlier deletes left, oldest first.
        "earlier_final_snapshots": [
            snapshot["db_cluster_snapshot_identifier"] for snapshot in cluster.get("earlier_final_snapshots", [])
        ],
        "network": network["removed"],
        "secret": (secret.get("secret") or {}).get("name") if changed(secret) else None,
    }


class FilterModule:
    def filters(self):
        return {"delete_report": delete_report}

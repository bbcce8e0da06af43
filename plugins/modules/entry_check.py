#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: entry_check
version_added: 1.0.0
short_description: What every playbook of keycloak.aurora checks before its first AWS request
description:
  - Runs on the Ansible controller and sends no request. Each playbook of the collection runs it first, once, in a play
    on C(localhost) and the hosts of C(rosa_clusters) (a C(--limit) may leave C(localhost) out).
  - Only the ROSA clusters the run works on (those the C(--limit) leaves) are checked.
  - Refuses, in one line, a required variable of the playbook (C(aurora_cluster)) that is not set, or whose value
    the roles would refuse. It is looked for where the playbook uses it, on the hosts of C(rosa_clusters) for a
    playbook that works on them (so it may come with their group vars), or among the
    variables of the play (for example the C(vars) of an C(import_playbook) of the collection's playbook).
  - Refuses C(aurora_cluster) and C(aurora_region) given to C(reap) at all (which deletes each cluster it finds by its
    own name in its own region, where an extra var would aim every delete at one cluster or region), saying what to use
    instead (C(reap_region), C(aurora_regions), or C(delete) for one cluster).
  - Refuses a playbook that works on ROSA clusters when the inventory group C(rosa_clusters) is missing or empty,
    saying what the inventory holds instead and how to pass one. C(provision) only warns, since it creates the Aurora
    cluster without any ROSA cluster, to be connected later with C(peering).
  - Warns about every extra var, and every host var of the hosts of C(rosa_clusters), whose name starts with
    C(aurora_), C(rosa_) or C(keycloak_) (in any case) but is not a variable of the collection, naming the closest
    one. With C(aurora_strict_vars=true) (an extra var, what AWX job templates should set) these are refused instead.
  - The known variables are the options of every entry point of the collection's roles (their
    C(meta/argument_specs.yml)) and the playbooks' own variables.
options:
  playbook:
    description: The playbook being run, without C(.yml).
    type: str
    required: true
    choices: [provision, peering, unpeer, endpoint, delete, keycloak_config, verify_connection, reset_database, verify,
      status, reap]
attributes:
  check_mode:
    description: Checks the same in check mode; it never changes anything.
    support: full
  diff_mode:
    description: Has nothing to show as a diff.
    support: none
author:
  - keycloak.aurora maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Refuse a missing aurora_cluster or a forgotten inventory before any AWS request
  keycloak.aurora.entry_check:
    playbook: peering
"""

RETURN = r"""
msg:
  description: What was refused, one problem after another; or that the input is complete.
  type: str
  returned: always
  sample: "aurora_cluster is not set: playbooks/provision.yml needs it, pass -e aurora_cluster=keycloak-aurora"
"""

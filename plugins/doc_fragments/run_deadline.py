# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The option that makes the modules of one playbook run share one wait_timeout.
    DOCUMENTATION = r"""
options:
  run_started:
    description:
      - When the playbook run began, in seconds since the epoch. O(wait_timeout) is then counted from that
        moment, not from the start of this module, so that the steps of one run share one budget and each
        module waits at most for what the earlier steps left.
      - The collection's playbooks set the variable C(aurora_run_started) for every host right after their
        entry check, and a role of the collection used on its own sets it at its first task; the roles pass it here.
      - Unset, this module gets the whole O(wait_timeout).
    type: float
"""

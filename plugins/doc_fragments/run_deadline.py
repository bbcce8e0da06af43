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
        moment, not from the start of this module, so that the steps of one run share one budget: each
        module waits at most for what the earlier steps left.
      - The collection's playbooks pass the fact C(aurora_run_started), which their first task
        (M(keycloak.aurora.entry_check)) sets for every host of the run; its roles pass it when it is set.
      - Unset, this module gets the whole O(wait_timeout).
    type: float
"""

# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The entry check of every playbook: runs on the controller, reads variable names and inventory
groups only, and sends no request (see plugins/modules/entry_check.py for its documentation)."""

from __future__ import annotations

from pathlib import Path

import yaml
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.keycloak.aurora.plugins.module_utils import entry_checks

# The collection's roles, beside its plugins: in a checkout as in an installed collection.
ROLES = Path(__file__).resolve().parents[2] / "roles"


def role_argument_specs():
    paths = sorted(ROLES.glob("*/meta/argument_specs.yml"))
    return [yaml.safe_load(path.read_text(encoding="utf-8")) for path in paths]


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("playbook",))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        playbook = self._task.args.get("playbook")
        if playbook not in entry_checks.PLAYBOOKS:
            return dict(result, failed=True, msg=f"playbook must be one of {', '.join(sorted(entry_checks.PLAYBOOKS))}")

        hostvars = task_vars["hostvars"]
        groups = {name: list(hosts) for name, hosts in task_vars["groups"].items()}
        # The ROSA clusters this run works on: those of the group that --limit leaves in the play.
        rosa_hosts = [
            h for h in task_vars["ansible_play_hosts_all"] if h in (groups.get(entry_checks.ROSA_GROUP) or [])
        ]
        this_host = task_vars["inventory_hostname"]
        # hostvars hold what the user set (extra vars, inventory), templated, and neither play vars nor role defaults.
        names_of = {host: set(hostvars[host]) for host in {this_host, *rosa_hosts}}
        everywhere = set.intersection(*names_of.values())
        known = entry_checks.known_variables(role_argument_specs())
        unknown = entry_checks.unknown_variable_messages(everywhere, names_of, known)

        # Where the playbook uses its required variables: the ROSA clusters may have them as group vars.
        users = (
            rosa_hosts if entry_checks.PLAYBOOKS[playbook].rosa_clusters == "required" and rosa_hosts else [this_host]
        )
        # A required variable may also come as a play variable (import_playbook with vars, a site playbook):
        # those are not in hostvars, but in the task's variables, the same for every host of the play.
        required = entry_checks.PLAYBOOKS[playbook].required
        play_values = {name: self._templar.template(task_vars[name]) for name in required if name in task_vars}
        values_by_host = {
            host: {name: hostvars[host][name] if name in hostvars[host] else play_values.get(name) for name in required}
            for host in users
        }
        errors = entry_checks.required_errors(playbook, values_by_host)
        # Given at all (extra vars, inventory, play vars): task_vars hold every one of them.
        errors += entry_checks.refused_errors(playbook, task_vars)
        warnings = []
        problem = entry_checks.rosa_group_problem(playbook, groups)
        if problem:
            (errors if problem[0] == "error" else warnings).append(problem[1])
        strict = boolean(task_vars.get("aurora_strict_vars", False), strict=False)
        if unknown and strict:
            errors += unknown + ["aurora_strict_vars is true: unknown variables are refused"]
        elif unknown:
            warnings += [entry_checks.as_warning(message) for message in unknown]
        if warnings:
            result["warnings"] = warnings
        if errors:
            return dict(result, failed=True, msg="; ".join(errors))
        return dict(result, changed=False, msg="The input is complete and the inventory has what the playbook needs.")

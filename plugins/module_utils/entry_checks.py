# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What every playbook of the collection checks before its first AWS request.

Pure functions of the variable names and the inventory groups, so that a run with a typo, a
missing required variable or a forgotten inventory stops, or warns, before anything is touched.
"""

from __future__ import annotations

import difflib
from collections import namedtuple

from ansible_collections.keycloak.aurora.plugins.module_utils import validation

# Names that look like the collection's variables.
PREFIXES = ("aurora_", "rosa_", "keycloak_")

# Variables of the playbooks rather than of a role (the roles' come from their argument specs), and
# the facts one play hands the next, which a fact cache may show again in a later run.
PLAYBOOK_VARIABLES = frozenset(
    {
        "aurora_strict_vars",
        "aurora_unpeer_confirm",
        "aurora_verify_connection",
        "aurora_database",
        # set by aurora_keycloak's entry points database and password, for the playbook that called them
        "aurora_keycloak_database",
        "aurora_keycloak_password",
        # set by the playbooks and roles: the start of the run's one aurora_wait_timeout
        "aurora_run_started",
        "rosa_machine_cidrs",
        "rosa_vpc",
        # set by the inventory plugin rosa_clusters, for its keyed_groups, groups and compose
        "rosa_node_tags",
        "rosa_account_id",
        "output_file",
        "include_password",
        "aurora_regions",
        # reap.yml's own, and the facts its first play hands the next
        "reap_confirm",
        "reap_min_age_hours",
        "reap_region",
        "reap_now",
        "reap_plan",
        "reap_confirmed",
        "reap_failed_regions",
        "reap_outcome",
        "reap_key",
        # the AWX artifacts of status.yml and reap.yml, which a workflow hands its next node as extra vars
        "aurora_estate",
        "aurora_reap",
    }
)

ROSA_GROUP = "rosa_clusters"
INVENTORY_EXAMPLE = "playbooks/inventory/rosa_clusters.example.yml"

# rosa_clusters: "required" (the playbook works on ROSA clusters), "optional" (it also does its job
# without any), None (it runs on localhost only). refused: {variable: why, and what to use instead} of the
# variables the playbook must not be given.
Playbook = namedtuple("Playbook", ["required", "rosa_clusters", "refused"], defaults=({},))

# reap.yml hands each cluster it deletes to aurora_delete as a host with its own aurora_cluster and
# aurora_region; an extra var beats a host var, so either one given would aim every delete elsewhere.
REAP_REFUSED = {
    "aurora_cluster": "playbooks/reap.yml deletes every cluster it finds by that cluster's own name, and an extra "
    "aurora_cluster would make each delete aim at that one cluster: to delete one cluster, run "
    "playbooks/delete.yml -e aurora_cluster=<name> -e aurora_region=<region>",
    "aurora_region": "playbooks/reap.yml deletes every cluster in that cluster's own region, and an extra "
    "aurora_region would make each delete aim at that region: pass -e reap_region=<region> for the region where "
    "the enabled regions are asked, and -e aurora_regions=<region>,... to reap only those regions",
}

PLAYBOOKS = {
    "provision": Playbook(("aurora_cluster",), "optional"),
    "peering": Playbook(("aurora_cluster",), "required"),
    "unpeer": Playbook((), "required"),
    "endpoint": Playbook(("aurora_cluster",), None),
    "delete": Playbook(("aurora_cluster",), None),
    "keycloak_config": Playbook(("aurora_cluster",), "required"),
    "verify_connection": Playbook(("aurora_cluster",), "required"),
    "verify": Playbook(("aurora_cluster",), "required"),
    "reset_database": Playbook(("aurora_cluster",), "required"),
    "status": Playbook((), None),
    "reap": Playbook((), None, REAP_REFUSED),
}

# What the message of a missing variable suggests.
EXAMPLE_VALUES = {"aurora_cluster": "keycloak-aurora"}
# The rules of a required variable's value (their one home is validation): checked at the entry too, because
# provision.yml's first play reads AWS before the role that validates aurora_cluster runs.
VALUE_CHECKS = {"aurora_cluster": validation.cluster_errors}


def known_variables(argument_specs):
    """Every public variable: the options of every entry point of ``argument_specs`` (parsed
    meta/argument_specs.yml files) and the playbooks' own."""
    names = set(PLAYBOOK_VARIABLES)
    for spec in argument_specs:
        for entry_point in (spec or {}).get("argument_specs", {}).values():
            names.update((entry_point or {}).get("options") or {})
    return names


def looks_like_ours(name):
    # Case-insensitive: Aurora_Cluster is a slip of the same kind as aurora_clustr.
    return str(name).lower().startswith(PREFIXES)


def closest(name, known):
    """The known name ``name`` was most likely meant to be, or None."""
    matches = difflib.get_close_matches(str(name).lower(), sorted(known), n=1, cutoff=0.8)
    return matches[0] if matches else None


def unknown_variable_messages(names, host_names, known):
    """One message per name that looks like the collection's and is not one of ``known``.

    ``names``: the names every host sees (extra vars, and localhost's inventory variables);
    ``host_names``: {host: names} of the ROSA hosts, whose names beyond ``names`` are their own.
    """
    hosts_of = {}
    for name in names:
        hosts_of[name] = []
    for host, own in sorted(host_names.items()):
        for name in own:
            if name not in names:
                hosts_of.setdefault(name, []).append(host)
    messages = []
    for name, hosts in sorted(hosts_of.items()):
        if name in known or not looks_like_ours(name):
            continue
        where = f" (set for {', '.join(hosts)})" if hosts else ""
        guess = closest(name, known)
        if guess and guess == name.lower():
            hint = f": did you mean {guess}? (variable names are case-sensitive)"
        elif guess:
            hint = f": did you mean {guess}?"
        else:
            hint = ""
        messages.append(f"{name}{where} is not a variable of keycloak.aurora{hint}")
    return messages


def as_warning(message):
    """An unknown variable's message, as a warning: the run goes on without it."""
    return f"{message}{'' if message.endswith('?') else '.'} It is ignored."


def required_errors(playbook, values_by_host):
    """One line per required variable of ``playbook`` that is not set, or not usable, where it is used.

    ``values_by_host``: {host: its variables} of the hosts that use them: localhost, or the ROSA
    clusters for a playbook that works on them (which may set them as group vars).
    """
    errors = []
    for name in PLAYBOOKS[playbook].required:
        lacking = sorted(host for host, values in values_by_host.items() if not str(values.get(name) or "").strip())
        if lacking:
            where = "" if len(lacking) == len(values_by_host) else f" for {', '.join(lacking)}"
            example = EXAMPLE_VALUES.get(name, "...")
            errors.append(f"{name} is not set{where}: playbooks/{playbook}.yml needs it, pass -e {name}={example}")
        elif name in VALUE_CHECKS:
            for value in sorted({str(values[name]) for values in values_by_host.values()}):
                errors += VALUE_CHECKS[name](value)
    return errors


def refused_errors(playbook, names):
    """One line per variable of ``names`` (the variables the run was given) that ``playbook`` refuses."""
    refused = PLAYBOOKS[playbook].refused
    return [f"{name} must not be set: {refused[name]}" for name in sorted(refused) if name in names]


def _inventory_said(groups):
    """What the inventory holds instead of ROSA clusters, for the message."""
    hosts = sorted(groups.get("all") or [])
    if not hosts:
        return "the inventory has no hosts (was -i forgotten?)"
    others = sorted(g for g, members in groups.items() if g not in ("all", "ungrouped", ROSA_GROUP) and members)
    said = f"the inventory has the hosts {', '.join(hosts)}"
    if others:
        said += f" in the groups {', '.join(others)}"
        guess = difflib.get_close_matches(ROSA_GROUP, others, n=1)
        if guess:
            said += f" (is {guess[0]} meant to be {ROSA_GROUP}?)"
    return said + f", but none in {ROSA_GROUP}"


def rosa_group_problem(playbook, groups):
    """("error" | "warning", message) when ``playbook`` needs ROSA clusters the inventory does not have, else None.

    ``groups``: {group: [hosts]}, as Ansible's ``groups`` variable.
    """
    need = PLAYBOOKS[playbook].rosa_clusters
    if need is None or groups.get(ROSA_GROUP):
        return None
    how = (
        f"pass an inventory with -i <file> that lists one host per ROSA cluster in the group {ROSA_GROUP} "
        f"(example: {INVENTORY_EXAMPLE})"
    )
    if need == "optional":
        return (
            "warning",
            f"No ROSA cluster to connect: {_inventory_said(groups)}. Only the Aurora cluster is created; to connect "
            f"ROSA clusters, run playbooks/peering.yml later and {how}.",
        )
    return (
        "error",
        f"playbooks/{playbook}.yml works on the ROSA clusters of the inventory group {ROSA_GROUP}, and "
        f"{_inventory_said(groups)}: {how}.",
    )


# What aurora_unpeer_confirm must say to disconnect from every Aurora cluster of the region: it says
# what it does, so nobody types it without meaning it.
UNPEER_EVERY = "every-aurora-cluster"


def unpeer_confirmation(hosts, aurora_cluster, confirm):
    """Whether unpeer.yml may disconnect ``hosts`` (the ROSA clusters of the play) without asking.

    One ROSA cluster from one named Aurora cluster needs no confirmation. More ROSA clusters need
    aurora_unpeer_confirm equal to aurora_cluster, as the schema reset does; no aurora_cluster
    (every Aurora cluster of the region) needs UNPEER_EVERY. Returns {"confirmed", "expected"}.
    """
    aurora_cluster, confirm = str(aurora_cluster or ""), str(confirm or "")
    if not aurora_cluster:
        expected = UNPEER_EVERY
    elif len(hosts) > 1:
        expected = aurora_cluster
    else:
        return {"confirmed": True, "expected": ""}
    return {"confirmed": confirm == expected, "expected": expected}


def _peerings_said(removed):
    if removed is None:
        return "not looked up"
    if not removed:
        return "no peering found"
    return ", ".join(
        f"{r['vpc_peering_connection_id']} to {r.get('aurora_cluster') or 'an Aurora VPC'}" for r in removed
    )


def unpeer_refusal(found, aurora_cluster, expected):
    """The refusal of an unconfirmed unpeer.yml, listing what it would disconnect.

    ``found``: [(ROSA host, the peerings it would remove, or None when they were not looked up)].
    """
    hosts = [host for host, _removed in found]
    scope = f"the Aurora cluster {aurora_cluster}" if aurora_cluster else "every Aurora cluster of aurora_region"
    count = "1 ROSA cluster" if len(hosts) == 1 else f"{len(hosts)} ROSA clusters"
    listed = "; ".join(f"{host} ({_peerings_said(removed)})" for host, removed in found)
    other_way = (
        "to disconnect one ROSA cluster only, add --limit <host>"
        if aurora_cluster
        else "to disconnect from one Aurora cluster only, pass -e aurora_cluster=<name>"
    )
    return (
        f"playbooks/unpeer.yml would disconnect {count} from {scope}, and Keycloak there would lose its database: "
        f"{listed}. Nothing was changed. To go ahead, run again with -e aurora_unpeer_confirm={expected}; "
        f"{other_way}."
    )

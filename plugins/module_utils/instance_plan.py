# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which DB instances an Aurora cluster needs, in which zones, in which order their class changes,
and how far a wait has got.

Pure functions, no boto3: the AWS side lives in ``rds_cluster``. A member is described here by a
plain dict ``{"id": str, "az": str | None, "writer": bool, "status": str, "instance_class": str}``,
with ``"pending_class"`` (the class of a modification AWS has taken but not applied yet) where known.

Instance names are ``<c>-instance-N``. RDS stores identifiers in lower case whatever case they
were created with, so names are compared case-insensitively. Instances named otherwise belong to
someone else: they are counted, never created, modified or removed (one may still become the writer
in a class change, see ``plan_class_change``).
"""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.keycloak.aurora.plugins.module_utils.naming import instance_identifier
from ansible_collections.keycloak.aurora.plugins.module_utils.naming import instance_number

AVAILABLE = "available"
WAITING = "waiting"
FAILED = "failed"

# States from which an instance does not become available without someone acting on it:
# waiting for them would only burn the whole wait_timeout.
FAILED_STATES = frozenset(
    (
        "failed",
        "incompatible-credentials",
        "incompatible-network",
        "incompatible-option-group",
        "incompatible-parameters",
        "incompatible-restore",
        "inaccessible-encryption-credentials",
        "inaccessible-encryption-credentials-recoverable",
        "insufficient-capacity",
        "restore-error",
        "storage-full",
        "stopped",
        "stopping",
    )
)

# A member in this state is on its way out: it no longer counts, but its name is still taken.
DELETING = "deleting"

# A new cluster gets a writer and a reader, in two zones (the Keycloak guide's Multi-AZ cluster).
DEFAULT_INSTANCES = 2

InstancePlan = namedtuple("InstancePlan", ["create", "delete", "unmanaged", "shortfall"])
InstancePlan.__doc__ = """What to change to reach the wanted number of instances.

create: list of (identifier, availability zone or None), in creation order.
delete: identifiers of readers to remove, highest number first.
unmanaged: identifiers not named <c>-instance-N (counted, left alone).
shortfall: how many instances over the wanted number could not be planned for removal.
"""

ClassChange = namedtuple("ClassChange", ["order", "writer", "failover_to"])
ClassChange.__doc__ = """In which order the instance class changes, one instance at a time.

order: the identifiers whose class changes, in this order: the readers by number, the writer last.
writer: the writer, when its class changes; else None.
failover_to: the reader that becomes the writer before the old writer's class changes; None when the
    writer keeps its class, or when no other instance can take over (the writer then restarts in place).
"""
NO_CLASS_CHANGE = ClassChange(order=[], writer=None, failover_to=None)

# The actions of a rolling class change (``class_change_step``).
WAIT = "wait"
MODIFY = "modify"
FAILOVER = "failover"
DONE = "done"

ClassStep = namedtuple("ClassStep", ["action", "identifiers"])
ClassStep.__doc__ = """The next step of a rolling class change.

action: WAIT until ``identifiers`` (possibly none) and the cluster are available; MODIFY the class of
    ``identifiers[0]``; FAILOVER to ``identifiers[0]``; or DONE.
"""

WaitProgress = namedtuple("WaitProgress", ["done", "pending", "failed"])
WaitProgress.__doc__ = """Where a wait stands.

done: True when every instance is where it should be.
pending: sorted (identifier, status) still on their way; status "missing" for an instance that is
    wanted available but not (yet) described.
failed: sorted (identifier, status) in a state they will not leave on their own.
"""


def classify(status):
    """Return AVAILABLE, FAILED or WAITING for a DB instance or DB cluster status."""
    if status == AVAILABLE:
        return AVAILABLE
    if status in FAILED_STATES:
        return FAILED
    return WAITING


def _number(cluster, identifier):
    return instance_number(cluster.lower(), identifier.lower())


def _rotation(azs, start):
    return [azs[(start + offset) % len(azs)] for offset in range(len(azs))]


def usable_zones(cluster_zones, subnet_group_zones):
    """The zones new instances of a cluster may go to, sorted.

    An Aurora instance must sit in a zone of the cluster's DB subnet group, and in one where the
    cluster keeps its storage volume (DescribeDBClusters' ``AvailabilityZones``, three zones,
    while a subnet group may span more). When the cluster's zones are unknown, the subnet group's
    zones are all there is to go by; when the subnet group's are unknown, AWS chooses.
    """
    zones = sorted(set(az for az in subnet_group_zones or () if az))
    if not cluster_zones:
        return zones
    storage = set(cluster_zones)
    return [az for az in zones if az in storage]


def spread_over_zones(cluster, identifiers, members, availability_zones):
    """Give each of the new instances ``identifiers`` a zone: ``[(identifier, zone or None), ...]``.

    The round-robin over the sorted ``availability_zones`` continues from the zone of the
    highest-numbered member; a zone that holds fewer members than the others comes first, so a
    cluster made unevenly (the scripts used only two zones) is evened out instead of piling up
    further. Called again, without a zone that has no capacity for the instance class, for the
    instances not created yet: they stay apart from each other and from the members.
    """
    azs = sorted(set(az for az in availability_zones or () if az))
    if not azs:
        return [(identifier, None) for identifier in identifiers]
    active = [m for m in members if m.get("status") != DELETING]
    load = dict((az, 0) for az in azs)
    for member in active:
        if member.get("az") in load:
            load[member["az"]] += 1
    numbered = sorted(
        (m for m in active if _number(cluster, m["id"]) is not None and m.get("az") in load),
        key=lambda m: _number(cluster, m["id"]),
    )
    start = (azs.index(numbered[-1]["az"]) + 1) % len(azs) if numbered else 0
    spread = []
    for identifier in identifiers:
        order = _rotation(azs, start)
        az = min(order, key=lambda zone: (load[zone], order.index(zone)))
        load[az] += 1
        start = (azs.index(az) + 1) % len(azs)
        spread.append((identifier, az))
    return spread


def wanted_count(requested, members, creating=None):
    """How many instances a cluster with ``members`` is to have when ``requested`` were asked for.

    An explicit ``requested`` wins. Without it, a cluster whose creation is not finished
    (``creating``: the count that creation was asked for) gets that count, so an interrupted run
    ends as an uninterrupted one; any other existing cluster keeps the count it has, as it keeps
    its instance class and engine version: the default applies to what is created. A cluster
    without an active member (left so by a run interrupted before its instances were requested)
    gets ``DEFAULT_INSTANCES``: it serves nothing without them.
    """
    if requested is not None:
        return requested
    if creating is not None:
        return creating
    active = sum(1 for m in members if m.get("status") != DELETING)
    return active or DEFAULT_INSTANCES


def plan_instances(cluster, wanted, members, availability_zones):
    """Plan the instances of ``cluster`` for ``wanted`` members.

    New instances take the lowest free numbers and their zones from ``spread_over_zones``.
    Scaling down removes readers with the highest numbers, never the writer, never an instance
    named otherwise.
    """
    active = [m for m in members if m.get("status") != DELETING]
    unmanaged = sorted(m["id"] for m in members if _number(cluster, m["id"]) is None)
    taken = set(n for n in (_number(cluster, m["id"]) for m in members) if n is not None)

    create = []
    delete = []
    shortfall = 0
    if wanted > len(active):
        identifiers = []
        number = 0
        for _slot in range(wanted - len(active)):
            number += 1
            while number in taken:
                number += 1
            taken.add(number)
            identifiers.append(instance_identifier(cluster, number))
        create = spread_over_zones(cluster, identifiers, active, availability_zones)
    elif wanted < len(active):
        readers = sorted(
            (m for m in active if not m.get("writer") and _number(cluster, m["id"]) is not None),
            key=lambda m: _number(cluster, m["id"]),
            reverse=True,
        )
        excess = len(active) - wanted
        delete = [m["id"] for m in readers[:excess]]
        shortfall = excess - len(delete)
    return InstancePlan(create=create, delete=delete, unmanaged=unmanaged, shortfall=shortfall)


def _active(members, excluded):
    leaving = set(identifier.lower() for identifier in excluded)
    return [m for m in members if m.get("status") != DELETING and m["id"].lower() not in leaving]


def plan_class_change(cluster, members, instance_class, excluded=()):
    """Plan changing the class of the ``<cluster>-instance-N`` members to ``instance_class``.

    On AWS a class change is minutes of ``modifying`` and then a restart: changed all at once, the
    cluster has no writer for that time. So one instance at a time: the readers first, each by
    number, then a failover to a reader that has the new class (or will have it by then), then the
    old writer, now a reader. A cluster with no other instance can only restart its writer in place.

    ``excluded`` are the instances this run removes: they are neither changed nor failed over to.
    Instances named otherwise keep their class; one of them becomes the writer only when no instance
    of the new class can.
    """
    if not instance_class:
        return NO_CLASS_CHANGE
    active = _active(members, excluded)

    def has_or_gets_class(member):
        # a change AWS has taken (pending) is under way, not to be asked for again
        return instance_class in (member.get("instance_class"), member.get("pending_class"))

    changing = [m for m in active if _number(cluster, m["id"]) is not None and not has_or_gets_class(m)]
    readers = sorted((m for m in changing if not m.get("writer")), key=lambda m: _number(cluster, m["id"]))
    writer = next((m for m in changing if m.get("writer")), None)
    failover_to = None
    if writer is not None:
        will_change = set(m["id"] for m in readers)
        candidates = [m for m in active if not m.get("writer")]
        if candidates:

            def preference(member):
                number = _number(cluster, member["id"])
                ends_new = has_or_gets_class(member) or member["id"] in will_change
                return (not ends_new, number is None, number or 0, member["id"])

            failover_to = min(candidates, key=preference)["id"]
    order = [m["id"] for m in readers] + ([writer["id"]] if writer else [])
    return ClassChange(order=order, writer=writer["id"] if writer else None, failover_to=failover_to)


def _settled(member):
    pending = member.get("pending_class")
    return member.get("status") == AVAILABLE and (not pending or pending == member.get("instance_class"))


def pending_classes(members, identifiers):
    """{identifier: the class AWS has taken for it but not applied yet}, for those of ``identifiers`` that have one."""
    wanted = set(identifiers)
    return dict((m["id"], m["pending_class"]) for m in members if m["id"] in wanted and m.get("pending_class"))


def class_change_step(cluster, cluster_status, members, instance_class, excluded=()):
    """The next step of the class change ``plan_class_change`` plans, from the cluster as it is now.

    Decided afresh from what AWS shows each time, so a run that meets a change half done (an
    instance ``modifying``, a failover over) goes on from there. Nothing is changed while the cluster
    or one of the ``<cluster>-instance-N`` members or the failover target is not ``available``, or has a
    class change AWS has taken but not applied (for a moment after ModifyDBInstance AWS still shows it
    ``available`` with the old class, the new one pending): one instance at a time, and the writer never
    before another instance can take over.
    """
    change = plan_class_change(cluster, members, instance_class, excluded)
    if not change.order:
        return ClassStep(DONE, [])
    involved = set(m["id"] for m in _active(members, excluded) if _number(cluster, m["id"]) is not None)
    involved.update([change.failover_to] if change.failover_to else [])
    unsettled = sorted(m["id"] for m in members if m["id"] in involved and not _settled(m))
    if cluster_status != AVAILABLE or unsettled:
        return ClassStep(WAIT, unsettled)
    if change.order[0] == change.writer and change.failover_to:
        return ClassStep(FAILOVER, [change.failover_to])
    return ClassStep(MODIFY, [change.order[0]])


def wait_progress(instances, available=(), gone=(), instance_class=None, writer=None):
    """Tell how far a wait has got.

    ``instances`` are the members as described now; ``available`` the identifiers that must be
    available (and, when ``instance_class`` maps an identifier to a class, of that class: right
    after ModifyDBInstance AWS still reports the old class as ``available`` for a while; and the
    identifier ``writer``, when given, the writer: a failover is over only once the writer has moved);
    ``gone`` the identifiers that must no longer be described.
    """
    by_id = dict((m["id"].lower(), m) for m in instances)
    classes = dict((k.lower(), v) for k, v in (instance_class or {}).items())
    pending = []
    failed = []
    for identifier in available:
        member = by_id.get(identifier.lower())
        if member is None:
            # Just created instances may take a moment to show up in DescribeDBInstances.
            pending.append((identifier, "missing"))
            continue
        state = classify(member["status"])
        wanted_class = classes.get(identifier.lower())
        if state == FAILED or member["status"] == DELETING:
            failed.append((identifier, member["status"]))
        elif state == WAITING:
            pending.append((identifier, member["status"]))
        elif wanted_class and member.get("instance_class") != wanted_class:
            pending.append((identifier, f"{member['status']}, class {member.get('instance_class')}"))
        elif writer and identifier.lower() == writer.lower() and not member.get("writer"):
            pending.append((identifier, f"{member['status']}, not the writer yet"))
    for identifier in gone:
        member = by_id.get(identifier.lower())
        if member is not None:
            pending.append((identifier, member["status"]))
    return WaitProgress(done=not pending and not failed, pending=sorted(pending), failed=sorted(failed))


def describe_states(pairs):
    """``[(id, status), ...]`` as ``id (status), ...`` for messages."""
    return ", ".join(f"{identifier} ({status})" for identifier, status in pairs)

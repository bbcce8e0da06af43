"""An "AWS time" mode for the moto emulator: resources take time, as on AWS, scaled down.

    python tools/emulator/moto_server.py --aws-time 0.0033            # AWS's durations x 1/300
    python tools/emulator/moto_server.py --aws-time-durations '{"instance_create": 2}'

moto answers at once: a cluster and its instances are available the moment they are requested,
deletes are instant, a cross-region peering is everywhere at once. In this mode (``install()``,
called by the launcher before it serves) the emulator keeps AWS's states for a while, all of them
observable through the ordinary Describe calls, and refuses what AWS refuses meanwhile:

- DB cluster: ``creating`` for ``cluster_create``. DB instance: ``creating`` for ``instance_create``
  and never ``available`` before its cluster; no Endpoint while ``creating``. CreateDBInstance in a deleting cluster and
  CreateDBCluster / RestoreDBClusterFromSnapshot under a name still taken (also by a deleting
  cluster) are refused (InvalidDBClusterStateFault, DBClusterAlreadyExistsFault).
- ModifyDBInstance with ApplyImmediately and a new class: ``modifying`` for ``instance_modify``
  (DBInstanceClass changes at its end; until then PendingModifiedValues.DBInstanceClass shows the new
  class), then ``rebooting`` for ``instance_restart``. Any
  ModifyDBInstance of an instance that is not ``available``: InvalidDBInstanceState; ModifyDBCluster
  or FailoverDBCluster of a cluster that is not ``available``: InvalidDBClusterStateFault (moto
  already refuses a failover to an instance that is not ``available``).
- FailoverDBCluster: the cluster is ``failing-over`` for ``cluster_failover``, and the writer
  (``IsClusterWriter`` of its DBClusterMembers) moves to the target only at its end, as on AWS: until
  then the old writer is still the writer. The instances stay ``available`` throughout.
- DeleteDBInstance: ``deleting`` for ``instance_delete``, then gone; again meanwhile:
  InvalidDBInstanceState. DeleteDBCluster: InvalidDBClusterStateFault while a member is not
  ``deleting``; then ``deleting`` until ``cluster_delete`` has passed and its members are gone; the
  final snapshot is ``creating`` for ``cluster_snapshot``, and restoring from it or deleting it
  meanwhile is refused (InvalidDBClusterSnapshotStateFault). A restored cluster is ``creating`` for
  ``cluster_create`` too.
- DeleteDBSubnetGroup: InvalidDBSubnetGroupStateFault while a cluster or instance (also a
  deleting one) uses it.
- Every DB instance in a DB subnet group gets a network interface (requester-managed, RequesterId
  ``amazon-rds``, in the subnet of its zone, with its security groups), listed by
  DescribeNetworkInterfaces (also with the filters requester-id, requester-managed, status). It
  outlives the instance by ``eni_linger``. Meanwhile DeleteNetworkInterface answers
  InvalidNetworkInterface.InUse. DeleteSubnet and DeleteSecurityGroup answer DependencyViolation
  while any interface (also an EC2 instance's, as on AWS; moto ignores them) is in the subnet or group.
- Cross-region (or cross-account) peering: ``initiating-request`` for ``peering_initiate``,
  absent from the accepter's region meanwhile, then ``pending-acceptance``; after
  AcceptVpcPeeringConnection ``provisioning`` for ``peering_provision``, then ``active``.
- Eventual consistency: for ``eventual_consistency`` after it is created, a VPC (with its main
  route table and default security group), subnet, security group, route table or peering is
  missing from Describe listings (so DescribeRouteTables filtered by a new VPC finds no main route
  table), and a request naming its id answers the id's ``*.NotFound`` (CreateDBSubnetGroup /
  ModifyDBSubnetGroup: InvalidSubnet). Filter values never raise NotFound, as on AWS.

The clock is monotonic and read lazily: a state is computed from timestamps when it is read, and
what has come due (a deleted resource disappearing, a class change taking effect) is applied at
the start of the next AWS request. AWS requests are served one at a time in this mode (a lock
around each), so a transition is never observed half applied.

Control endpoints, for tests (the harness wraps them): ``GET /moto-api/aws-time`` (durations,
clock, mode), ``POST /moto-api/aws-time/advance?seconds=N`` (move the clock forward: what would
happen in N seconds happens now), ``POST /moto-api/aws-time/instant`` and ``.../timed`` (new
requests behave as in moto's instant mode, e.g. to seed fixtures, or in time again; transitions
already under way keep their clock). ``/moto-api/reset`` forgets every pending transition.

Not modelled: other resources' and other operations' durations (Secrets Manager, security group
rules, routes, tags, Stop/Start, Reboot, ModifyDBCluster take no time, as in moto); the seconds
of a failover in which connections to the writer drop (both instances stay ``available``);
changes without ApplyImmediately (moto applies them at once) and PendingModifiedValues other than a class change's;
a final DB snapshot of a non-Aurora instance is taken when the deletion ends, not when it starts;
``failed`` and ``incompatible-*`` states, capacity, quotas beyond moto's; the automated snapshot
of a new cluster is there at once; the ENI of an instance is not attached (no Attachment) and does
not move when the instance fails over; deleted peerings stay listed as ``deleted`` for good (moto's
way; AWS drops them after about two hours);
other EC2 resources (instances, gateways, ENIs themselves) and other services are not eventually
consistent here; the clock never pauses while the emulator serves.
"""

import heapq
import itertools
import json
import sys
import threading
import time
import urllib.parse

# AWS's typical durations, in seconds, from the RDS and VPC user guides and observed runs: an Aurora
# cluster without instances is `creating` for a few minutes; an Aurora instance takes 5-15 minutes to
# create and minutes to delete; a class change is minutes of `modifying` with a restart (about a
# minute without a writer) at its end; a failover makes a reader the writer within about 30 seconds;
# a final cluster snapshot of a small cluster takes a couple of minutes; the requester-managed
# interfaces of a deleted instance are released after minutes (up to about 20); a cross-region
# peering request reaches the other region within tens of seconds and an accepted one is
# `provisioning` for seconds; EC2's eventual consistency is seconds.
AWS_DURATIONS = {
    "cluster_create": 240.0,
    "instance_create": 600.0,
    "instance_modify": 420.0,
    "instance_restart": 60.0,
    "cluster_failover": 30.0,
    "instance_delete": 360.0,
    "cluster_delete": 120.0,
    "cluster_snapshot": 120.0,
    "eni_linger": 600.0,
    "peering_initiate": 30.0,
    "peering_provision": 10.0,
    "eventual_consistency": 3.0,
}
# Scaled so that a whole lifecycle (create, class change, delete, lingering interfaces) takes
# about 10 s: a provision waits about 2 s for its instances, a cascading delete about 3 s.
DEFAULT_SCALE = 1 / 300

RDS_REQUESTER_ID = "amazon-rds"
_FOREVER = float("inf")


def durations(scale=None, overrides=None):
    """{name: seconds}: AWS_DURATIONS times scale (DEFAULT_SCALE if None), then explicit overrides."""
    scale = DEFAULT_SCALE if scale is None else float(scale)
    if scale < 0:
        raise ValueError(f"aws time: the scale must not be negative, not {scale}")
    table = {name: seconds * scale for name, seconds in AWS_DURATIONS.items()}
    for name, seconds in (overrides or {}).items():
        if name not in AWS_DURATIONS:
            raise ValueError(f"aws time: unknown duration {name!r}; known: {', '.join(AWS_DURATIONS)}")
        if float(seconds) < 0:
            raise ValueError(f"aws time: duration {name} must not be negative, not {seconds}")
        table[name] = float(seconds)
    return table


class _State:
    """The mode's clock, its pending actions and its fresh ids; everything under one lock."""

    def __init__(self, table):
        self.lock = threading.RLock()
        self.durations = table
        self.timed = True
        self.offset = 0.0  # added by /moto-api/aws-time/advance
        self.due = []  # heap of (time, sequence, action)
        self.sequence = itertools.count()
        self.fresh = {}  # resource id -> the time it becomes visible

    def now(self):
        return time.monotonic() + self.offset

    def after(self, name):
        return self.now() + self.durations[name]

    def schedule(self, at, action):
        heapq.heappush(self.due, (at, next(self.sequence), action))

    def run_due(self):
        now = self.now()
        while self.due and self.due[0][0] <= now:
            _when, _order, action = heapq.heappop(self.due)
            try:
                action()
            except Exception as error:  # one broken action must not block the others or the request
                print(f"aws time: a due action failed: {error!r}", file=sys.stderr, flush=True)

    def is_fresh(self, resource_id):
        visible_at = self.fresh.get(resource_id)
        if visible_at is None:
            return False
        if visible_at <= self.now():
            del self.fresh[resource_id]
            return False
        return True

    def mark_fresh(self, resource_id):
        if self.timed and self.durations["eventual_consistency"] > 0:
            self.fresh[resource_id] = self.after("eventual_consistency")

    def forget(self):
        self.due.clear()
        self.fresh.clear()
        self.timed = True


_STATE = None


# A resource's timeline: [(state, until)], read against the clock. Past the last phase, the
# resource shows its own (moto's) status again.
def _set_phases(obj, phases):
    """phases: [(state, seconds)] in order, starting now."""
    at = _STATE.now()
    timeline = []
    for state, seconds in phases:
        at += seconds
        timeline.append((state, at))
    obj._aws_time_phases = timeline


def _phase(obj):
    now = _STATE.now()
    for state, until in getattr(obj, "_aws_time_phases", ()):
        if now < until:
            return state
    return None


def _phases_end(obj):
    timeline = getattr(obj, "_aws_time_phases", ())
    return timeline[-1][1] if timeline else _STATE.now()


def _timed_status_property(stored):
    """A status that shows the current phase, else the value moto set (kept in attribute `stored`)."""

    def get(self):
        return _phase(self) or getattr(self, stored)

    def set_(self, value):
        setattr(self, stored, value)

    return property(get, set_)


def install(table):
    """Patch moto (after the launcher's corrections) so that resources take the given durations."""
    global _STATE
    _STATE = _State(table)
    _patch_requests()
    _patch_rds()
    _patch_enis()
    _patch_peering()
    _patch_eventual_consistency()


def _patch_requests():
    from moto.core.exceptions import ServiceException
    from moto.core.responses import ActionResult
    from moto.core.responses import BaseResponse
    from moto.moto_api._internal.models import MotoAPIBackend

    original_call_action = BaseResponse.call_action

    def call_action(self):
        with _STATE.lock:
            _STATE.run_due()
            try:
                _refuse_fresh_references(self)
            except ServiceException as error:
                status, headers, body = self.serialized(ActionResult(error))
                headers["status"] = status
                status, headers, body = self._transform_response(self.response_headers, (body, headers))
                headers, body = self._enrich_response(headers, body)
                return status, headers, body
            return original_call_action(self)

    BaseResponse.call_action = call_action

    original_reset = MotoAPIBackend.reset

    def reset(self):
        with _STATE.lock:
            original_reset(self)
            _STATE.forget()

    MotoAPIBackend.reset = reset


def _patch_rds():
    from moto.rds.exceptions import InvalidDBClusterSnapshotStateFault
    from moto.rds.exceptions import InvalidDBClusterStateFault
    from moto.rds.exceptions import RDSClientError
    from moto.rds.models import DBCluster
    from moto.rds.models import DBClusterSnapshot
    from moto.rds.models import DBInstance
    from moto.rds.models import DBInstanceClustered
    from moto.rds.models import RDSBackend

    # moto's DBCluster shows `creating` for exactly one read; here the phases decide.
    DBCluster.status = _timed_status_property("_status")
    DBInstance.status = _timed_status_property("_aws_time_status")
    DBClusterSnapshot.status = _timed_status_property("_aws_time_status")
    original_endpoint = DBInstance.endpoint.fget

    def instance_endpoint(self):
        # AWS gives an instance its Endpoint (address, port) only once it has been created.
        return None if self.status == "creating" else original_endpoint(self)

    DBInstance.endpoint = property(instance_endpoint)

    original_create_cluster = RDSBackend.create_db_cluster

    def create_db_cluster(self, kwargs):
        cluster_id = kwargs["db_cluster_identifier"]
        if _STATE.timed and cluster_id in self.clusters:  # moto would overwrite it
            raise RDSClientError("DBClusterAlreadyExistsFault", f"DB Cluster {cluster_id} already exists")
        cluster = original_create_cluster(self, kwargs)
        cluster._status = "available"
        if _STATE.timed:
            _set_phases(cluster, [("creating", _STATE.durations["cluster_create"])])
        return cluster

    original_restore = RDSBackend.restore_db_cluster_from_snapshot

    def restore_db_cluster_from_snapshot(self, from_snapshot_id, overrides):
        snapshot = self.describe_db_cluster_snapshots(None, from_snapshot_id)[0]
        if snapshot.status != "available":
            raise InvalidDBClusterSnapshotStateFault(
                f"Cannot restore from snapshot {from_snapshot_id}: it is {snapshot.status}, not available."
            )
        return original_restore(self, from_snapshot_id, overrides)

    original_modify_cluster = RDSBackend.modify_db_cluster

    def modify_db_cluster(self, kwargs):
        cluster = self.clusters.get(kwargs.get("db_cluster_identifier"))
        if cluster is not None and cluster.status != "available":
            raise InvalidDBClusterStateFault(
                f"DB cluster {cluster.db_cluster_identifier} is not in available state (it is {cluster.status})."
            )
        return original_modify_cluster(self, kwargs)

    original_failover = RDSBackend.failover_db_cluster

    def failover_db_cluster(self, db_cluster_identifier, target_db_instance_identifier=None):
        cluster = self.clusters.get(db_cluster_identifier)
        if cluster is not None and cluster.status != "available":
            raise InvalidDBClusterStateFault(
                f"DB cluster {db_cluster_identifier} is not in available state (it is {cluster.status})."
            )
        old_writer = cluster.writer if cluster is not None else None
        # moto's own checks, then the flag moved at once
        cluster = original_failover(self, db_cluster_identifier, target_db_instance_identifier)
        new_writer = cluster.writer
        if not _STATE.timed or old_writer is None or new_writer is old_writer:
            return cluster
        # The flag goes back to the old writer until the failover is over.
        new_writer.is_cluster_writer, old_writer.is_cluster_writer = False, True
        _set_phases(cluster, [("failing-over", _STATE.durations["cluster_failover"])])

        def promote():
            if new_writer in cluster._members:
                cluster.failover(new_writer)

        _STATE.schedule(_phases_end(cluster), promote)
        return cluster

    original_delete_snapshot = RDSBackend.delete_db_cluster_snapshot

    def delete_db_cluster_snapshot(self, db_snapshot_identifier):
        snapshot = self.cluster_snapshots.get(db_snapshot_identifier)
        if snapshot is not None and snapshot.status != "available":
            raise InvalidDBClusterSnapshotStateFault(
                f"Cannot delete snapshot {db_snapshot_identifier}: it is {snapshot.status}, not available."
            )
        return original_delete_snapshot(self, db_snapshot_identifier)

    original_create_instance = RDSBackend.create_db_instance

    def create_db_instance(self, db_kwargs):
        cluster = self.clusters.get(db_kwargs.get("db_cluster_identifier"))
        if cluster is not None and cluster.status == "deleting":
            raise InvalidDBClusterStateFault(f"DB cluster {cluster.db_cluster_identifier} is being deleted.")
        database = original_create_instance(self, db_kwargs)
        if _STATE.timed:
            ready = _STATE.after("instance_create")
            if isinstance(database, DBInstanceClustered):  # never available before its cluster
                ready = max(ready, _phases_end(database.cluster))
            database._aws_time_phases = [("creating", ready)]
            _create_interface(self, database)
        return database

    original_modify_instance = RDSBackend.modify_db_instance

    def modify_db_instance(self, db_instance_identifier, db_kwargs):
        database = self.describe_db_instances(db_instance_identifier)[0]
        if not _STATE.timed:
            return original_modify_instance(self, db_instance_identifier, db_kwargs)
        if database.status != "available":
            raise RDSClientError(
                "InvalidDBInstanceState",
                f"Database instance {db_instance_identifier} is not in available state (it is {database.status}).",
            )
        new_class = db_kwargs.get("db_instance_class")
        if new_class and new_class != database.db_instance_class and db_kwargs.get("apply_immediately"):
            db_kwargs.pop("db_instance_class")
            modify, restart = _STATE.durations["instance_modify"], _STATE.durations["instance_restart"]
            _set_phases(database, [("modifying", modify), ("rebooting", restart)])
            # As on AWS, the new class shows as pending until it takes effect (moto serializes the attribute).
            database.pending_modified_values = {"DBInstanceClass": new_class}

            def apply_class():
                database.db_instance_class = new_class
                database.pending_modified_values = None

            _STATE.schedule(_STATE.after("instance_modify"), apply_class)
        return original_modify_instance(self, db_instance_identifier, db_kwargs)

    original_delete_instance = RDSBackend.delete_db_instance

    def delete_db_instance(self, db_instance_identifier, **kwargs):
        database = self.databases.get(db_instance_identifier)
        if not _STATE.timed or database is None or database.deletion_protection:
            return original_delete_instance(self, db_instance_identifier, **kwargs)
        if database.status == "deleting":
            raise RDSClientError(
                "InvalidDBInstanceState", f"Instance {db_instance_identifier} is already being deleted."
            )
        gone_at = _STATE.after("instance_delete")
        database._aws_time_phases = [("deleting", _FOREVER)]
        database._aws_time_gone_at = gone_at

        def remove():
            if self.databases.get(db_instance_identifier) is database:
                original_delete_instance(self, db_instance_identifier, **kwargs)
            linger_until = gone_at + _STATE.durations["eni_linger"]
            for ec2_backend, eni_id in getattr(database, "_aws_time_enis", ()):
                _STATE.schedule(linger_until, lambda b=ec2_backend, e=eni_id: b.enis.pop(e, None))

        _STATE.schedule(gone_at, remove)
        return database

    original_delete_cluster = RDSBackend.delete_db_cluster  # with the launcher's correction of automated snapshots

    def delete_db_cluster(self, cluster_identifier, snapshot_name=None, **kwargs):
        cluster = self.clusters.get(cluster_identifier)
        if not _STATE.timed or cluster is None or cluster.deletion_protection:
            return original_delete_cluster(self, cluster_identifier, snapshot_name, **kwargs)
        if cluster.status == "deleting":
            raise InvalidDBClusterStateFault(f"Cluster {cluster_identifier} is already being deleted.")
        members = cluster._members
        if any(member.status != "deleting" for member in members):
            raise InvalidDBClusterStateFault(
                "Cluster cannot be deleted, it still contains DB instances in non-deleting state."
            )
        gone_at = max([_STATE.after("cluster_delete")] + [getattr(m, "_aws_time_gone_at", 0.0) for m in members])
        if snapshot_name:
            snapshot = self.create_db_cluster_snapshot(cluster_identifier, snapshot_name)
            _set_phases(snapshot, [("creating", _STATE.durations["cluster_snapshot"])])
            gone_at = max(gone_at, _phases_end(snapshot))  # the snapshot is taken while the cluster is deleting
        cluster._aws_time_phases = [("deleting", _FOREVER)]

        def remove():
            if self.clusters.get(cluster_identifier) is cluster:
                original_delete_cluster(self, cluster_identifier, None, **kwargs)

        # Members due at the same moment were scheduled earlier, so they go first.
        _STATE.schedule(gone_at, remove)
        return cluster

    original_delete_subnet_group = RDSBackend.delete_subnet_group

    def delete_subnet_group(self, subnet_name):
        name = (subnet_name or "").lower()
        users = [c.db_cluster_identifier for c in self.clusters.values() if c.db_subnet_group_name.lower() == name]
        users += [
            d.db_instance_identifier
            for d in self.databases.values()
            if (getattr(d, "_db_subnet_group_name", None) or "").lower() == name
        ]
        if users:
            raise RDSClientError(
                "InvalidDBSubnetGroupStateFault",
                f"Cannot delete the subnet group '{subnet_name}' because at least one database cluster or "
                f"instance is still using it: {', '.join(sorted(set(users)))}.",
            )
        return original_delete_subnet_group(self, subnet_name)

    RDSBackend.create_db_cluster = create_db_cluster
    RDSBackend.restore_db_cluster_from_snapshot = restore_db_cluster_from_snapshot
    RDSBackend.delete_db_cluster_snapshot = delete_db_cluster_snapshot
    RDSBackend.modify_db_cluster = modify_db_cluster
    RDSBackend.failover_db_cluster = failover_db_cluster
    RDSBackend.create_db_instance = create_db_instance
    RDSBackend.modify_db_instance = modify_db_instance
    RDSBackend.delete_db_instance = delete_db_instance
    RDSBackend.delete_db_cluster = delete_db_cluster
    RDSBackend.delete_subnet_group = delete_subnet_group


def _create_interface(rds_backend, database):
    """Give a DB instance its requester-managed network interface, in its zone's subnet of its DB subnet group."""
    from moto.ec2.models import ec2_backends
    from moto.rds.models import DBInstanceClustered

    if isinstance(database, DBInstanceClustered):
        group_name = database.cluster.db_subnet_group_name
    else:
        group_name = getattr(database, "_db_subnet_group_name", None)
    subnet_group = rds_backend.subnet_groups.get(group_name)
    if subnet_group is None:  # moto's implicit "default" group has no subnets to put an interface in
        return
    ec2_backend = ec2_backends[rds_backend.account_id][rds_backend.region_name]
    subnets = [s for s in subnet_group._subnets if any(s.id in by_id for by_id in ec2_backend.subnets.values())]
    if not subnets:
        return
    subnet = next((s for s in subnets if s.availability_zone == database.availability_zone), None)
    if subnet is None:  # RDS places the instance in a zone its subnet group covers
        subnet = subnets[0]
        database.availability_zone = subnet.availability_zone
    group_ids = [g for g in database.vpc_security_group_ids if ec2_backend.get_security_group_from_id(g)]
    eni = ec2_backend.create_network_interface(subnet, None, group_ids=group_ids, description="RDSNetworkInterface")
    eni.requester_managed = True
    eni.requester_id = RDS_REQUESTER_ID
    eni.status = "in-use"
    database._aws_time_enis = [(ec2_backend, eni.id)]


def _patch_enis():
    from moto.ec2.exceptions import DependencyViolationError
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface
    from moto.ec2.models.elastic_network_interfaces import NetworkInterfaceBackend
    from moto.ec2.models.security_groups import SecurityGroupBackend
    from moto.ec2.models.subnets import SubnetBackend

    original_delete_subnet = SubnetBackend.delete_subnet  # with the launcher's correction of associations

    def delete_subnet(self, subnet_id):
        if any(eni.subnet.id == subnet_id for eni in self.enis.values()):
            raise DependencyViolationError(f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
        return original_delete_subnet(self, subnet_id)

    original_delete_group = SecurityGroupBackend.delete_security_group

    def delete_security_group(self, name=None, group_id=None):
        group = self.get_security_group_from_id(group_id) if group_id else self.get_security_group_by_name_or_id(name)
        if group is not None and any(group in eni._group_set for eni in self.enis.values()):
            raise DependencyViolationError(f"resource {group.id} has a dependent object")
        return original_delete_group(self, name=name, group_id=group_id)

    original_delete_eni = NetworkInterfaceBackend.delete_network_interface

    def delete_network_interface(self, eni_id):
        eni = self.enis.get(eni_id)
        if eni is not None and eni.requester_managed and eni.status == "in-use":
            raise EC2ClientError("InvalidNetworkInterface.InUse", f"Interface: [{eni_id}] in use.")
        return original_delete_eni(self, eni_id)

    # AWS's filters for finding who holds an interface; moto knows none of them.
    interface_filters = {
        "requester-id": lambda eni: eni.requester_id,
        "requester-managed": lambda eni: str(eni.requester_managed).lower(),
        "status": lambda eni: eni.status,
    }
    original_filter_value = NetworkInterface.get_filter_value

    def get_filter_value(self, filter_name, method_name=None):
        if filter_name in interface_filters:
            return interface_filters[filter_name](self)
        return original_filter_value(self, filter_name, method_name)

    NetworkInterface.get_filter_value = get_filter_value
    SubnetBackend.delete_subnet = delete_subnet
    SecurityGroupBackend.delete_security_group = delete_security_group
    NetworkInterfaceBackend.delete_network_interface = delete_network_interface


def _peering_not_found(pcx_id):
    from moto.ec2.exceptions import EC2ClientError

    # moto spells it "...ConnectionId.NotFound"; AWS's code is "...ConnectionID.NotFound".
    return EC2ClientError(
        "InvalidVpcPeeringConnectionID.NotFound", f"The vpcPeeringConnection ID '{pcx_id}' does not exist"
    )


def _patch_peering():
    from moto.ec2.models.vpc_peering_connections import PeeringConnectionStatus
    from moto.ec2.models.vpc_peering_connections import VPCPeeringConnectionBackend

    class TimedPeeringStatus(PeeringConnectionStatus):
        """A peering's status whose code and message follow its phases."""

        messages = {
            "initiating-request": "Initiating Request to {}",
            "pending-acceptance": "Pending Acceptance by {}",
            "provisioning": "Provisioning",
        }
        code = _timed_status_property("_code")

        @property
        def message(self):
            state = _phase(self)
            return self.messages[state].format(self.accepter_id) if state else self._message

        @message.setter
        def message(self, value):
            self._message = value

        def accept(self):
            super().accept()
            if _STATE.timed:
                _set_phases(self, [("provisioning", _STATE.durations["peering_provision"])])

        def deleted(self, deleter_id):
            self._aws_time_phases = []
            super().deleted(deleter_id)

        def reject(self):
            self._aws_time_phases = []
            super().reject()

    def hidden_here(backend, pcx):
        """A cross-region request has not reached the accepter's region while it is initiating."""
        return pcx.ec2_backend is not backend and pcx._status.code == "initiating-request"

    original_create = VPCPeeringConnectionBackend.create_vpc_peering_connection

    def create_vpc_peering_connection(self, vpc, peer_vpc, tags=None):
        pcx = original_create(self, vpc, peer_vpc, tags)
        if _STATE.timed:
            status = TimedPeeringStatus(accepter_id=peer_vpc.owner_id)
            status.pending()
            if vpc.owner_id != peer_vpc.owner_id or vpc.region != peer_vpc.region:
                _set_phases(status, [("initiating-request", _STATE.durations["peering_initiate"])])
            pcx._status = status
            _STATE.mark_fresh(pcx.id)
        return pcx

    original_describe = VPCPeeringConnectionBackend.describe_vpc_peering_connections  # the launcher's, with filters

    def describe_vpc_peering_connections(self, vpc_peering_ids=None, filters=None):
        found = original_describe(self, vpc_peering_ids=vpc_peering_ids, filters=filters)
        for pcx in found:
            if vpc_peering_ids and pcx.id in vpc_peering_ids and hidden_here(self, pcx):
                raise _peering_not_found(pcx.id)
        return [pcx for pcx in found if not hidden_here(self, pcx) and not _STATE.is_fresh(pcx.id)]

    original_get = VPCPeeringConnectionBackend.get_vpc_peering_connection

    def get_vpc_peering_connection(self, vpc_pcx_id):
        pcx = original_get(self, vpc_pcx_id)
        if hidden_here(self, pcx):
            raise _peering_not_found(vpc_pcx_id)
        return pcx

    VPCPeeringConnectionBackend.create_vpc_peering_connection = create_vpc_peering_connection
    VPCPeeringConnectionBackend.describe_vpc_peering_connections = describe_vpc_peering_connections
    VPCPeeringConnectionBackend.get_vpc_peering_connection = get_vpc_peering_connection


# EC2 id prefixes whose fresh ids answer NotFound, and the error AWS answers.
_NOT_FOUND = {
    "vpc-": ("InvalidVpcID.NotFound", "The vpc ID '{}' does not exist"),
    "subnet-": ("InvalidSubnetID.NotFound", "The subnet ID '{}' does not exist"),
    "sg-": ("InvalidGroup.NotFound", "The security group '{}' does not exist"),
    "rtb-": ("InvalidRouteTableID.NotFound", "The routeTable ID '{}' does not exist"),
    "pcx-": ("InvalidVpcPeeringConnectionID.NotFound", "The vpcPeeringConnection ID '{}' does not exist"),
}
# Parameters that name resources are those whose name (without list indexes) ends in Id, Ids or
# SubnetIdentifier (RDS's list member); tags and descriptions are text. Not checked: filter values
# (a filter never raises NotFound) and the other side of a peering (checked asynchronously by AWS).
_ID_PARAMETER_SUFFIXES = ("Id", "Ids", "SubnetIdentifier")
_UNCHECKED_PARAMETERS = ("Filter.", "PeerVpcId")
_RDS_SUBNET_ACTIONS = ("CreateDBSubnetGroup", "ModifyDBSubnetGroup")


def _refuse_fresh_references(response):
    """Answer NotFound for a request naming an id created a moment ago (see the module docstring)."""
    from moto.ec2.exceptions import EC2ClientError
    from moto.rds.exceptions import InvalidSubnet

    if not _STATE.fresh:
        return
    service = getattr(response, "service_name", None)
    if service == "rds" and response._get_action() not in _RDS_SUBNET_ACTIONS:
        return
    if service not in ("ec2", "rds"):
        return
    for name, values in (response.querystring or {}).items():
        parts = [part for part in name.split(".") if not part.isdigit() and part != "member"]
        if name.startswith(_UNCHECKED_PARAMETERS) or not parts[-1].endswith(_ID_PARAMETER_SUFFIXES):
            continue
        for value in values:
            if not isinstance(value, str) or not _STATE.is_fresh(value):
                continue
            if service == "rds":
                raise InvalidSubnet(value)
            prefix = value.split("-", 1)[0] + "-"
            code, message = _NOT_FOUND[prefix]
            raise EC2ClientError(code, message.format(value))


def _patch_eventual_consistency():
    from moto.ec2.models.route_tables import RouteBackend
    from moto.ec2.models.security_groups import SecurityGroupBackend
    from moto.ec2.models.subnets import SubnetBackend
    from moto.ec2.models.vpcs import VPCBackend
    from moto.ec2.responses.route_tables import RouteTables
    from moto.ec2.responses.security_groups import SecurityGroups
    from moto.ec2.responses.subnets import Subnets
    from moto.ec2.responses.vpcs import VPCs

    # A default VPC and what comes with it exist long before anyone asks: never fresh.
    original_create_vpc = VPCBackend.create_vpc

    def create_vpc(self, *args, **kwargs):
        vpc = original_create_vpc(self, *args, **kwargs)
        if not vpc.is_default:
            _STATE.mark_fresh(vpc.id)
            for route_table in self.route_tables.values():
                if route_table.vpc_id == vpc.id:
                    _STATE.mark_fresh(route_table.id)
            for group in self.groups.get(vpc.id, {}).values():
                _STATE.mark_fresh(group.id)
        return vpc

    original_create_subnet = SubnetBackend.create_subnet

    def create_subnet(self, *args, **kwargs):
        subnet = original_create_subnet(self, *args, **kwargs)
        if not self.get_vpc(subnet.vpc_id).is_default:
            _STATE.mark_fresh(subnet.id)
        return subnet

    original_create_group = SecurityGroupBackend.create_security_group

    def create_security_group(self, *args, **kwargs):
        group = original_create_group(self, *args, **kwargs)
        if not kwargs.get("is_default"):  # a VPC's default group is marked with its VPC
            _STATE.mark_fresh(group.id)
        return group

    original_create_route_table = RouteBackend.create_route_table

    def create_route_table(self, vpc_id, tags=None, main=False):
        route_table = original_create_route_table(self, vpc_id, tags=tags, main=main)
        if not main:  # a main route table is marked with its VPC
            _STATE.mark_fresh(route_table.id)
        return route_table

    VPCBackend.create_vpc = create_vpc
    SubnetBackend.create_subnet = create_subnet
    SecurityGroupBackend.create_security_group = create_security_group
    RouteBackend.create_route_table = create_route_table

    # Listings leave fresh resources out. At the response, not in the backend: moto's own checks
    # (DeleteVpc counting subnets, for one) must still see them.
    for response_class, method_name, key in (
        (VPCs, "describe_vpcs", "Vpcs"),
        (Subnets, "describe_subnets", "Subnets"),
        (SecurityGroups, "describe_security_groups", "SecurityGroups"),
        (RouteTables, "describe_route_tables", "RouteTables"),
    ):
        original = getattr(response_class, method_name)

        def describe(self, _original=original, _key=key):
            result = _original(self)
            result.result[_key] = [r for r in result.result[_key] if not _STATE.is_fresh(r.id)]
            return result

        setattr(response_class, method_name, describe)


def control_app(app):
    """WSGI middleware serving /moto-api/aws-time (see the module docstring) in front of moto's app."""
    prefix = "/moto-api/aws-time"

    def middleware(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(prefix):
            return app(environ, start_response)
        action = path[len(prefix) :].strip("/")
        method = environ.get("REQUEST_METHOD", "GET")
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        with _STATE.lock:
            if method == "POST" and action == "advance":
                try:
                    seconds = float(query.get("seconds", ["0"])[0])
                except ValueError:
                    seconds = -1.0
                if not seconds >= 0:  # the clock only moves forward; NaN is refused too
                    start_response("400 Bad Request", [("Content-Type", "text/plain")])
                    return [b"aws time: advance needs seconds=N, N >= 0\n"]
                _STATE.offset += seconds
                _STATE.run_due()
            elif method == "POST" and action in ("instant", "timed"):
                _STATE.timed = action == "timed"
            elif not (method == "GET" and action == ""):
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [f"aws time: no {method} {path}\n".encode()]
            body = json.dumps({"durations": _STATE.durations, "clock": _STATE.now(), "timed": _STATE.timed})
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body.encode()]

    return middleware

"""Serve moto on a loopback port, with corrections where moto 5.2.5 differs from AWS in ways our tests depend on.

    python tools/emulator/moto_server.py --port 0 --port-file PATH [--host 127.0.0.1]
        [--aws-time SCALE] [--aws-time-durations JSON]

The launcher binds the port itself (0 picks a free one; a taken port is an error, because it
means someone else's server), writes the bound port to --port-file once the socket listens, and
serves threaded (parallel ansible forks send requests concurrently) until SIGTERM or SIGINT.
Only loopback hosts are accepted: the emulator must never be reachable from elsewhere.
With --aws-time or --aws-time-durations, resources take time as on AWS, scaled down (aws_time.py);
without, moto's instant behaviour stays.
"""

import argparse
import copy
import ipaddress
import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path


def _loopback_host(host):
    """Return host as an IP literal, refusing anything that is not loopback."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise SystemExit(f"moto_server: refusing to bind {host!r}: only loopback addresses are allowed")


def _bind(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # SO_REUSEADDR only skips TIME_WAIT leftovers; on Linux a port someone listens on still fails.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SystemExit(
            f"moto_server: cannot bind {host}:{port}: {exc.strerror}. The port is taken, which means "
            "another server (not ours) is using it; pick another port or use --port 0."
        ) from None
    sock.listen(128)
    return sock


def _enable_only(regions):
    """Emulate an account in which only ``regions`` are enabled: DescribeRegions lists just those.

    Every region a run touches costs moto a backend (default VPC, AMIs ...) to build and, on each
    reset, to rebuild: a handful keeps the CIDR scan of every enabled region cheap in tests.
    """
    from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

    original = RegionsAndZonesBackend.describe_regions

    def describe_regions(self, region_names=None):
        return [region for region in original(self, region_names) if region.name in regions]

    RegionsAndZonesBackend.describe_regions = describe_regions


def _patch_moto():
    """Correct the moto 5.2.5 behaviour that would make our tests pass or fail where AWS would not."""
    import moto

    if moto.__version__ != "5.2.5":  # the patches reach into moto internals written for 5.2.5
        print(f"moto_server: warning: patches target moto 5.2.5, found {moto.__version__}", file=sys.stderr)
    from moto.ec2.exceptions import InvalidFilter
    from moto.ec2.models.route_tables import Route
    from moto.ec2.models.subnets import SubnetBackend
    from moto.ec2.models.vpc_peering_connections import VPCPeeringConnection
    from moto.ec2.models.vpc_peering_connections import VPCPeeringConnectionBackend
    from moto.ec2.responses.vpc_peering_connections import VPCPeeringConnections
    from moto.ec2.utils import generic_filter
    from moto.moto_api._internal.recorder.models import Recorder
    from moto.rds.models import RDSBackend
    from moto.secretsmanager.models import SecretsManagerBackend

    # a. DescribeVpcPeeringConnections ignores Filters, so a second ROSA cluster "finds" the first
    # one's peering. Give the model a get_filter_value (moto's generic_filter protocol) and pass
    # the request's filters through. An unknown filter name fails the way AWS fails it
    # (InvalidParameterValue), so a test never passes on a filter that is silently ignored.
    peering_filters = {
        "vpc-peering-connection-id": lambda p: p.id,
        "status-code": lambda p: p._status.code,
        "requester-vpc-info.vpc-id": lambda p: p.vpc.id,
        "accepter-vpc-info.vpc-id": lambda p: p.peer_vpc.id,
        "requester-vpc-info.cidr-block": lambda p: p.vpc.cidr_block,
        "accepter-vpc-info.cidr-block": lambda p: p.peer_vpc.cidr_block,
        "requester-vpc-info.owner-id": lambda p: p.vpc.owner_id,
        "accepter-vpc-info.owner-id": lambda p: p.peer_vpc.owner_id,
    }
    tagged_get_filter_value = VPCPeeringConnection.get_filter_value  # handles tag:<key>, tag-key, tag-value

    def peering_get_filter_value(self, filter_name, method_name=None):
        if filter_name in peering_filters:
            return peering_filters[filter_name](self)
        return tagged_get_filter_value(self, filter_name, method_name)

    original_describe = VPCPeeringConnectionBackend.describe_vpc_peering_connections

    # b. A peering between two accounts is answered in the accepter's account with the tags the
    # requester's account set, and filtered by them. On AWS each account sees (and filters by) only
    # the tags it set itself. Seen from an account other than the requester's, a peering is viewed
    # through that account's own tags; the requester's account sees it as before.
    def seen_from(backend, pcx):
        if backend.account_id == pcx.vpc.owner_id:
            return pcx
        view = copy.copy(pcx)
        view.ec2_backend = backend  # TaggedEC2Resource reads its tags from its backend
        return view

    def describe_vpc_peering_connections(self, vpc_peering_ids=None, filters=None):
        for name in filters or {}:
            if name not in peering_filters and not name.startswith("tag:") and name not in ("tag-key", "tag-value"):
                raise InvalidFilter(name, "InvalidParameterValue")
        found = original_describe(self, vpc_peering_ids=vpc_peering_ids)
        matching = {view.id for view in generic_filter(filters, [seen_from(self, pcx) for pcx in found])}
        # The peerings themselves, not views: AWS time mode (aws_time.py) tells them apart by their backend.
        return [pcx for pcx in found if pcx.id in matching]

    def describe_response(self):
        from moto.core.responses import ActionResult

        pcxs = self.ec2_backend.describe_vpc_peering_connections(
            vpc_peering_ids=self._get_param("VpcPeeringConnectionIds", []),
            filters=self._filters_from_querystring(),
        )
        return ActionResult({"VpcPeeringConnections": [seen_from(self.ec2_backend, pcx) for pcx in pcxs]})

    VPCPeeringConnection.get_filter_value = peering_get_filter_value
    VPCPeeringConnectionBackend.describe_vpc_peering_connections = describe_vpc_peering_connections
    VPCPeeringConnections.describe_vpc_peering_connections = describe_response

    # c. DeleteSubnet leaves the subnet's route-table associations behind; DeleteRouteTable and
    # DeleteVpc then raise DependencyViolation where AWS would not. AWS drops them with the subnet.
    original_delete_subnet = SubnetBackend.delete_subnet

    def delete_subnet(self, subnet_id):
        subnet = original_delete_subnet(self, subnet_id)
        for route_table in self.route_tables.values():
            for association_id, target in list(route_table._associations.items()):
                if target == subnet_id:
                    del route_table._associations[association_id]
        return subnet

    SubnetBackend.delete_subnet = delete_subnet

    # d. DeleteDBCluster keeps the cluster's automated snapshots ("rds:<c>-<YYYY-mm-dd-HH-MM>"), so a
    # cluster created again under that name within the same minute (a restore from the final snapshot)
    # fails with DBClusterSnapshotAlreadyExistsFault. AWS removes automated backups with the cluster
    # unless DeleteAutomatedBackups=false asks to keep them.
    original_delete_db_cluster = RDSBackend.delete_db_cluster

    def delete_db_cluster(self, cluster_identifier, snapshot_name=None, **kwargs):
        cluster = original_delete_db_cluster(self, cluster_identifier, snapshot_name, **kwargs)
        for snapshot_id, snapshot in list(self.cluster_snapshots.items()):
            if snapshot.snapshot_type == "automated" and snapshot.cluster.db_cluster_identifier == cluster_identifier:
                del self.cluster_snapshots[snapshot_id]
        return cluster

    RDSBackend.delete_db_cluster = delete_db_cluster

    # e. UpdateSecretVersionStage moves the label AWSCURRENT but GetSecretValue keeps answering the old
    # version (moto reads its own default_version_id, which the move does not update). On AWS, a
    # GetSecretValue without a version answers the version labelled AWSCURRENT.
    original_update_stage = SecretsManagerBackend.update_secret_version_stage

    def update_secret_version_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id):
        result = original_update_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
        if version_stage == "AWSCURRENT" and move_to_version_id:
            self.secrets[secret_id].default_version_id = move_to_version_id
        return result

    SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage

    # f. The recorder appends each request with two writes to a freshly opened file, from every
    # server thread at once; serialise it so concurrent requests cannot interleave or tear lines.
    recorder_lock = threading.Lock()
    for name in ("reset_recording", "download_recording", "upload_recording"):
        original = getattr(Recorder, name)

        def locked(self, *args, _original=original, **kwargs):
            with recorder_lock:
                return _original(self, *args, **kwargs)

        setattr(Recorder, name, locked)

    # g. The recorder writes no time. Each entry it appends gains "time": when the request arrived
    # (seconds since the epoch, comparable with other processes' clocks), so that the requests of a
    # run can be laid out on a timeline; readers of the other fields are unaffected.
    original_record = Recorder._record_request

    def record_request(self, request, body=None):
        arrived = time.time()
        with recorder_lock:
            start = os.path.getsize(self._location) if os.path.exists(self._location) else 0
            original_record(self, request, body)
            with open(self._location, "r+b") as file:
                file.seek(start)
                written = file.read()
                if not written.strip():  # recording off, or a request the recorder skips
                    return
                entry = json.loads(written)
                entry["time"] = arrived
                file.seek(start)
                file.truncate()
                file.write(json.dumps(entry).encode() + b"\n")

    Recorder._record_request = record_request

    # h. A route's State is always "active". On AWS, a route through a peering connection that is gone
    # (deleted, rejected, failed, expired) turns "blackhole": it stays in the table and drops the traffic
    # until someone replaces or deletes it.
    gone = ("deleted", "rejected", "failed", "expired")

    def route_state(self):
        return "blackhole" if self.vpc_pcx is not None and self.vpc_pcx._status.code in gone else "active"

    Route.state = property(route_state)

    # i. DescribePendingMaintenanceActions is not implemented (HTTP 500). moto never schedules maintenance,
    # so the answer AWS gives an account with none pending is the true one: an empty list.
    from moto.core.responses import ActionResult
    from moto.rds.responses import RDSResponse

    RDSResponse.describe_pending_maintenance_actions = lambda self: ActionResult({"PendingMaintenanceActions": []})

    # j. DeleteVpcPeeringConnection deletes a peering in any state, from either account. On AWS either
    # account may delete an active peering, but one not yet active (initiating-request, pending-acceptance,
    # provisioning) only the account that requested it: the accepter's is refused (OperationNotPermitted);
    # and a failed or rejected peering cannot be deleted at all (InvalidStateTransition).
    from moto.ec2.exceptions import InvalidVPCPeeringConnectionStateTransitionError
    from moto.ec2.exceptions import OperationNotPermitted5

    original_delete_peering = VPCPeeringConnectionBackend.delete_vpc_peering_connection

    def delete_vpc_peering_connection(self, vpc_pcx_id):
        pcx = self.get_vpc_peering_connection(vpc_pcx_id)
        code = pcx._status.code
        if code in ("failed", "rejected"):
            raise InvalidVPCPeeringConnectionStateTransitionError(vpc_pcx_id)
        if code != "active" and self.account_id != pcx.vpc.owner_id:
            raise OperationNotPermitted5(self.account_id, vpc_pcx_id, "delete")
        return original_delete_peering(self, vpc_pcx_id)

    VPCPeeringConnectionBackend.delete_vpc_peering_connection = delete_vpc_peering_connection


def _make_tools_importable():
    """Run as a script, this file does not see the repository's packages: put its root on sys.path."""
    repo_root = str(Path(__file__).resolve().parents[2])
    if repo_root not in sys.path:
        sys.path.insert(0, repo_root)


def _aws_time_table(scale, durations_json):
    """The durations of the AWS time mode, or None for moto's instant mode. Checked before binding."""
    if scale is None and durations_json is None:
        return None
    _make_tools_importable()
    from tools.emulator import aws_time

    try:
        return aws_time.durations(scale, json.loads(durations_json) if durations_json else None)
    except (ValueError, TypeError, AttributeError) as exc:
        raise SystemExit(f"moto_server: --aws-time: {exc}") from None


def _state_app(app, *, timed):
    """Serve /moto-api/state (tools/emulator/state.py) in front of ``app``."""
    _make_tools_importable()
    from tools.emulator import state

    return state.control_app(app, timed=timed)


def _exit_with_parent(parent_pid):
    """Stop serving if the process that started us dies (e.g. pytest killed), instead of leaking."""
    while True:
        time.sleep(1)
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signal.SIGTERM)
            return


def _write_port_file(path, port):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as handle:
        handle.write(f"{port}\n")
    os.replace(tmp, path)  # atomic: a reader never sees a half-written port


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--port-file", help="write the bound port here once serving")
    parser.add_argument("--recording-file", help="moto request-recorder file (default: a private temp file)")
    parser.add_argument("--exit-with-parent", action="store_true", help="exit when the parent process dies")
    parser.add_argument(
        "--regions", help="comma-separated regions enabled in the emulated account (default: every region moto knows)"
    )
    parser.add_argument(
        "--aws-time",
        type=float,
        metavar="SCALE",
        help="take time as AWS does: AWS's typical durations times SCALE (e.g. 0.0033 for 1/300)",
    )
    parser.add_argument(
        "--aws-time-durations",
        metavar="JSON",
        help="with or without --aws-time: some durations in seconds, e.g. '{\"instance_create\": 2}'",
    )
    args = parser.parse_args(argv)
    aws_time_table = _aws_time_table(args.aws_time, args.aws_time_durations)

    host = _loopback_host(args.host)
    sock = _bind(host, args.port)  # before importing moto: a taken port fails fast
    port = sock.getsockname()[1]

    # The recorder reads its settings once, when moto.moto_api is imported. Recording starts off
    # (MOTO_ENABLE_RECORDING is truthy for ANY non-empty value, even "false") and is switched on by
    # /moto-api/recorder/start-recording; the file must exist or download-recording fails.
    tmpdir = None
    recording_file = args.recording_file
    if not recording_file:
        tmpdir = tempfile.TemporaryDirectory(prefix="moto-recording-")
        recording_file = os.path.join(tmpdir.name, "recording.jsonl")
    open(recording_file, "w").close()
    os.environ["MOTO_RECORDER_FILEPATH"] = recording_file
    os.environ.pop("MOTO_ENABLE_RECORDING", None)
    os.environ["MOTO_PORT"] = str(port)  # moto builds some URLs (e.g. SQS queue URLs) from it

    _patch_moto()
    if args.regions:
        _enable_only(set(args.regions.split(",")))
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from moto.moto_server.werkzeug_app import create_backend_app
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)
    if aws_time_table is not None:
        from tools.emulator import aws_time

        aws_time.install(aws_time_table)
        app = aws_time.control_app(app)
    app = _state_app(app, timed=aws_time_table is not None)
    from tools.emulator import sessions

    app = sessions.control_app(app)
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler, fd=sock.fileno())

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.exit_with_parent:
        threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()

    if args.port_file:
        _write_port_file(args.port_file, port)
    print(f"moto_server: serving on http://{host}:{port} (recording file {recording_file})", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        sock.close()
        if args.port_file and os.path.exists(args.port_file):
            os.unlink(args.port_file)
        if tmpdir:
            tmpdir.cleanup()


if __name__ == "__main__":
    main()

"""The benchmark's AWS-time group: the lifecycle against an emulator where resources take AWS's time, scaled.

One emulator in the AWS time mode (tools/emulator/aws_time.py) at SCALE; two simulated ROSA clusters,
one in the Aurora region and one in another (a cross-region peering). Measured, once each:

- the collection: playbooks/provision.yml from nothing with both ROSA hosts, then
  playbooks/delete.yml -e aurora_delete_peerings=true;
- the reference: the documented aws CLI procedure (bench/aws_cli_procedure.py), provision then delete,
  against the same emulator after a reset.

Each run is a wall time, the requests the emulator's recorder saw (with their arrival times) and the
states of the DB cluster, DB instances, peerings and RDS network interfaces, sampled every
SAMPLE_INTERVAL seconds by Describe calls from a thread (sent with SAMPLER_AGENT in their user agent,
so that the run's requests leave them out). The figures are ratios of what the emulator imposes:
provision / instance_create, delete / (instance_delete + eni_linger).
"""

import os
import shutil
import threading
import time
from dataclasses import dataclass
from dataclasses import field

import yaml

from bench import aws_cli_procedure
from tools.ansible_run import run_playbook
from tools.emulator.harness import DEFAULT_REGION
from tools.emulator.harness import Emulator
from tools.emulator.harness import is_mutating
from tools.emulator.harness import request_action
from tools.emulator.harness import request_parameters
from tools.emulator.rosa import seed_rosa_cluster

CLUSTER = "keycloak-aurora"
# instance_create = 600 s x 0.1 = 60 s: a minute of AWS's time dwarfs the seconds ansible-playbook and
# the aws CLI spend on their own, as AWS's minutes do, and the whole group stays within about 8 minutes.
SCALE = float(os.environ.get("BENCH_AWS_TIME_SCALE", "0.1"))
# The collection polls every 10 s of AWS's time at most (its own delays are 15 s for DB resources,
# 10 s between delete retries, 5 s for peerings): 1 s at SCALE 0.1, under 2 % of an instance creation.
POLL_DELAY = 10 * SCALE
SAMPLE_INTERVAL = 0.5
SAMPLER_AGENT = "keycloak-aurora-bench-sampler"
ROSA = (  # name, region, machine CIDR
    ("rosa-0", DEFAULT_REGION, "10.0.0.0/16"),
    ("rosa-1", "eu-central-1", "10.1.0.0/16"),
)
REGIONS = sorted({region for _name, region, _cidr in ROSA})
PROVISION_TARGET, DELETE_TARGET = 1.2, 1.3
OTHER = "other requests"


class BenchError(RuntimeError):
    pass


@dataclass
class Request:
    at: float  # seconds since the run started
    service: str
    action: str
    parameters: dict

    @property
    def mutating(self):
        return is_mutating(self.action)


@dataclass
class Run:
    """One measured run: its requests and the sampled states, in seconds since its start."""

    who: str  # "collection" or "aws CLI"
    operation: str  # "provision" or "delete"
    wall: float
    requests: list
    samples: list  # [(at, row, state)]
    rows: dict  # resource id (DB identifier, pcx id, VPC id) -> row name
    held: dict = field(default_factory=dict)  # the CLI's DependencyViolation retries: first, until, refusals

    def first(self, action):
        return next((r.at for r in self.requests if r.action == action), None)

    def last(self, action):
        return next((r.at for r in reversed(self.requests) if r.action == action), None)

    def count(self, action):
        return sum(r.action == action for r in self.requests)


class Sampler(threading.Thread):
    """Describe calls every SAMPLE_INTERVAL s: the states of the DB cluster, instances, peerings, RDS interfaces."""

    def __init__(self, emulator, vpc_rows):
        super().__init__(daemon=True)
        from botocore.config import Config

        def client(service, region):
            return emulator.client(service, region, config=Config(user_agent_extra=SAMPLER_AGENT))

        self.rds = client("rds", DEFAULT_REGION)
        self.ec2 = {region: client("ec2", region) for region in REGIONS}
        self.vpc_rows = vpc_rows  # ROSA VPC id -> its peering's row
        self.rows = dict(vpc_rows)
        self.samples = []
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            self.sample()
            self.stopping.wait(SAMPLE_INTERVAL)

    def sample(self):
        now = time.time()
        states = {}
        for cluster in self.rds.describe_db_clusters()["DBClusters"]:
            states[self.row(cluster["DBClusterIdentifier"], "DB cluster")] = cluster["Status"]
        for instance in self.rds.describe_db_instances()["DBInstances"]:
            states[self.row(instance["DBInstanceIdentifier"], "DB instance")] = instance["DBInstanceStatus"]
        for ec2 in self.ec2.values():  # a cross-region request shows in its requester's region first
            for peering in ec2.describe_vpc_peering_connections()["VpcPeeringConnections"]:
                row = self.vpc_rows.get(peering["RequesterVpcInfo"]["VpcId"])
                if row:
                    self.rows[peering["VpcPeeringConnectionId"]] = row
                    states[row] = peering["Status"]["Code"]
        interfaces = self.ec2[DEFAULT_REGION].describe_network_interfaces(
            Filters=[{"Name": "requester-id", "Values": ["amazon-rds"]}]
        )["NetworkInterfaces"]
        for interface in interfaces:
            number = sum(row.startswith("RDS interface") for row in self.rows.values()) + 1
            label = f"{number} ({interface['AvailabilityZone']})"
            states[self.row(interface["NetworkInterfaceId"], "RDS interface", label)] = interface["Status"]
        self.samples.extend((now, row, state) for row, state in states.items())

    def row(self, identifier, kind, label=None):
        """The row of a resource, named when first seen: its kind and its label (default: its id)."""
        self.rows.setdefault(identifier, f"{kind} {label or identifier}")
        return self.rows[identifier]

    def stop(self):
        self.stopping.set()
        self.join(30)


def requests_since(emulator, start):
    """The recorded requests but the sampler's, in seconds since `start`."""
    found = []
    for entry in emulator.recorded_requests():
        agent = next((v for k, v in (entry.get("headers") or {}).items() if k.lower() == "user-agent"), "")
        if SAMPLER_AGENT in agent:
            continue
        service, action = request_action(entry)
        parameters = {k: v[0] for k, v in request_parameters(entry).items()}
        found.append(Request(entry["time"] - start, service, action or entry.get("method"), parameters))
    return found


def measure(emulator, who, operation, vpc_rows, action):
    """Run `action()` (returns the CLI's DependencyViolation record, or {}) with the recorder and the sampler on."""
    emulator.start_recording()
    sampler = Sampler(emulator, vpc_rows)
    start = time.time()
    sampler.start()
    held = action()
    wall = time.time() - start
    sampler.stop()
    emulator.stop_recording()
    samples = [(at - start, row, state) for at, row, state in sampler.samples]
    held = {k: (v if k == "refusals" else v - start) for k, v in held.items()}
    run = Run(who, operation, wall, requests_since(emulator, start), samples, sampler.rows, held)
    print(f"  {who:10} {operation:9} {wall:6.1f}s {len(run.requests):4} requests", flush=True)
    return run


def seed(emulator):
    """The ROSA clusters, created at once (instant mode): {name: seed result}."""
    with emulator.instant():
        return {
            name: seed_rosa_cluster(emulator, name, region=region, machine_cidr=cidr, azs=1)
            for name, region, cidr in ROSA
        }


def vpc_rows(seeded):
    return {s["vpc_id"]: f"peering {name} ({s['region']})" for name, s in seeded.items()}


def collection_runs(emulator, workdir):
    emulator.reset()
    seeded = seed(emulator)
    inventory = workdir / "inventory-aws-time.yml"
    hosts = {name: ({} if region == DEFAULT_REGION else {"rosa_region": region}) for name, region, _cidr in ROSA}
    inventory.write_text(yaml.safe_dump({"rosa_clusters": {"vars": {"ansible_connection": "local"}, "hosts": hosts}}))

    def playbook(name, **extra_vars):
        def run():
            done = run_playbook(
                emulator.env(),
                name,
                extra_vars={"aurora_cluster": CLUSTER, **extra_vars},
                inventory=inventory,
                args=["-f", str(len(ROSA))],
                env={"KEYCLOAK_AURORA_POLL_DELAY": str(POLL_DELAY)},
            )
            if done.returncode != 0:
                raise BenchError(f"aws time: {name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
            return {}

        return run

    rows = vpc_rows(seeded)
    return [
        measure(emulator, "collection", "provision", rows, playbook("provision.yml")),
        measure(emulator, "collection", "delete", rows, playbook("delete.yml", aurora_delete_peerings=True)),
    ]


def cli_runs(emulator):
    emulator.reset()
    seeded = seed(emulator)
    rosas = [
        aws_cli_procedure.Rosa(name, s["region"], s["machine_cidr"], s["node_names"][0]) for name, s in seeded.items()
    ]
    env = {**os.environ, **emulator.env()}

    def procedure(operation):
        def run():
            report = aws_cli_procedure.run(operation, emulator.url, CLUSTER, rosas, waiter_scale=SCALE, env=env)
            return report.dependency_violation

        return run

    rows = vpc_rows(seeded)
    return [
        measure(emulator, "aws CLI", operation, rows, procedure(operation)) for operation in ("provision", "delete")
    ]


def run_group(workdir):
    """{(who, operation): Run} and the emulator's durations; the CLI runs are left out without an aws CLI."""
    with Emulator.start(log_path=workdir / "moto_server_aws_time.log", aws_time=SCALE) as emulator:
        durations = emulator.aws_time()["durations"]
        print(f"aws time at scale {SCALE:g}: instance_create {durations['instance_create']:g} s", flush=True)
        runs = collection_runs(emulator, workdir)
        if shutil.which("aws"):
            runs += cli_runs(emulator)
        else:
            print("aws time: no aws CLI on PATH, the reference is left out", flush=True)
    return {(r.who, r.operation): r for r in runs}, durations

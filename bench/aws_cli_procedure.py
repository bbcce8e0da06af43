"""The documented aws CLI procedure for an Aurora PostgreSQL cluster for Keycloak, replayed by a script.

The reference the collection is measured against (make bench, AWS time mode): the commands a user
types from the Keycloak high-availability guide, in its order, each one an `aws` process:

provision
  create-vpc 192.168.0.0/16 (tagged AuroraCluster=<cluster>), one subnet in each of two zones,
  the VPC's main route table associated with both, a DB subnet group, a security group,
  create-db-cluster (aurora-postgresql), then at once create-db-instance for the writer (zone a) and
  the reader (zone b), `aws rds wait db-instance-available` for each, the writer endpoint; then for
  each ROSA cluster, one after the other: the Aurora VPC and the ROSA VPC (from a worker node's
  name), create-vpc-peering-connection in the ROSA cluster's region, `aws ec2 wait
  vpc-peering-connection-exists` and accept-vpc-peering-connection in the Aurora region, a route to
  the Aurora VPC in the ROSA VPC's main route table, a route back in the Aurora VPC's main route
  table (the guide shows the first only; without the second Aurora cannot answer), and an ingress
  rule for port 5432 from the ROSA machine CIDR.

delete (the guide has none; what a script has to do)
  for each ROSA cluster its route and its peering; delete-db-instance for both instances, `aws rds
  wait db-instance-deleted`, delete-db-cluster with a final snapshot (as the collection takes one),
  `aws rds wait db-cluster-deleted`, the DB subnet group, the subnets and the security group, each
  retried while AWS answers DependencyViolation (the deleted instances' network interfaces linger
  for minutes), then the VPC.

Waiters: the CLI's poll every 30 s (DB instances and clusters) and 15 s (peering). Against an
emulator whose durations are AWS's times a scale (tools/emulator/aws_time.py), --waiter-scale gives
them the same scale (botocore reads waiter definitions from AWS_DATA_PATH first), so that they poll
as often, relative to what they wait for, as on AWS; a script's retry of DependencyViolation waits
RETRY_DELAY seconds times that scale.

    python bench/aws_cli_procedure.py provision --endpoint-url http://127.0.0.1:PORT \\
        --rosa rosa-0:eu-west-1:10.0.0.0/16:ip-10-0-0-4.eu-west-1.compute.internal [--waiter-scale 0.1]
    python bench/aws_cli_procedure.py delete --endpoint-url http://127.0.0.1:PORT --rosa ...

Prints one JSON report: the steps with their start and end (seconds since the epoch) and, for the
delete, how long DependencyViolation held the deletes up.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

AURORA_CIDR = "192.168.0.0/16"
AURORA_SUBNETS = ("192.168.0.0/19", "192.168.32.0/19")  # zones a and b
PORT = 5432
RETRY_DELAY = 10.0  # seconds between a script's attempts at a delete refused with DependencyViolation
ERROR_CODE = re.compile(r"An error occurred \(([^)]+)\)")


class CliError(RuntimeError):
    def __init__(self, command, stderr):
        match = ERROR_CODE.search(stderr)
        self.code = match.group(1) if match else None
        super().__init__(f"{' '.join(command)}: {stderr.strip()}")


@dataclass
class Rosa:
    """A ROSA cluster as the procedure knows it: its name, region, machine CIDR and one worker node's name."""

    name: str
    region: str
    machine_cidr: str
    node: str

    @classmethod
    def parse(cls, text):
        name, region, machine_cidr, node = text.split(":", 3)
        return cls(name, region, machine_cidr, node)


@dataclass
class Report:
    steps: list = field(default_factory=list)  # [{step, start, end}]
    # The deletes held up: the first refusal, the last retried delete's success, how many refusals.
    dependency_violation: dict = field(default_factory=dict)  # {first, until, refusals}


class Cli:
    """`aws` processes against one endpoint; every call is a step of the report."""

    def __init__(self, endpoint_url, region, report, *, env, data_path, retry_delay):
        self.endpoint_url, self.region, self.report, self.retry_delay = endpoint_url, region, report, retry_delay
        self.env = {**env, "AWS_PAGER": "", "AWS_DATA_PATH": str(data_path)}

    def __call__(self, service, command, *args, region=None):
        argv = [
            "aws",
            "--endpoint-url",
            self.endpoint_url,
            "--region",
            region or self.region,
            "--output",
            "json",
            service,
            command,
            *args,
        ]
        start = time.time()
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True, check=False)
        name = f"{service} {command}" + (f" {args[0]}" if command == "wait" else "")
        self.report.steps.append({"step": name, "start": start, "end": time.time()})
        if done.returncode != 0:
            raise CliError(argv[7:], done.stderr)
        return json.loads(done.stdout) if done.stdout.strip() else {}

    def retry_dependency_violation(self, service, command, *args, region=None):
        """What a script does while AWS refuses a delete for a dependency that goes away by itself."""
        held = self.report.dependency_violation
        while True:
            try:
                done = self(service, command, *args, region=region)
                if "first" in held:
                    held["until"] = time.time()
                return done
            except CliError as error:
                if error.code != "DependencyViolation":
                    raise
                held.setdefault("first", time.time())
                held["refusals"] = held.get("refusals", 0) + 1
                time.sleep(self.retry_delay)


def scaled_waiters(directory, scale):
    """An AWS_DATA_PATH in `directory` whose RDS and EC2 waiters poll `scale` times as often as botocore's."""
    import botocore.loaders

    loader = botocore.loaders.Loader()
    for service in ("rds", "ec2"):
        version = loader.determine_latest_version(service, "service-2")
        model = loader.load_service_model(service, "waiters-2", version)
        for waiter in model["waiters"].values():
            waiter["delay"] = waiter["delay"] * scale
        target = Path(directory) / service / version / "waiters-2.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(model))
    return directory


def main_route_table(aws, vpc_id, region):
    found = aws(
        "ec2",
        "describe-route-tables",
        "--filters",
        f"Name=vpc-id,Values={vpc_id}",
        "Name=association.main,Values=true",
        region=region,
    )["RouteTables"]
    if not found:
        raise RuntimeError(f"no main route table found for {vpc_id} in {region}")
    return found[0]["RouteTableId"]


def aurora_vpc(aws, cluster):
    return aws("ec2", "describe-vpcs", "--filters", f"Name=tag:AuroraCluster,Values={cluster}")["Vpcs"][0]["VpcId"]


def rosa_vpc(aws, rosa):
    reservations = aws(
        "ec2", "describe-instances", "--filters", f"Name=private-dns-name,Values={rosa.node}", region=rosa.region
    )["Reservations"]
    return reservations[0]["Instances"][0]["VpcId"]


def provision(aws, cluster, rosas):
    region = aws.region
    vpc_id = aws(
        "ec2",
        "create-vpc",
        "--cidr-block",
        AURORA_CIDR,
        "--tag-specifications",
        f"ResourceType=vpc,Tags=[{{Key=AuroraCluster,Value={cluster}}}]",
    )["Vpc"]["VpcId"]
    subnets = [
        aws(
            "ec2",
            "create-subnet",
            "--availability-zone",
            f"{region}{zone}",
            "--vpc-id",
            vpc_id,
            "--cidr-block",
            cidr,
        )["Subnet"]["SubnetId"]
        for zone, cidr in zip("ab", AURORA_SUBNETS)
    ]
    route_table = main_route_table(aws, vpc_id, region)
    for subnet in subnets:
        aws("ec2", "associate-route-table", "--route-table-id", route_table, "--subnet-id", subnet)
    subnet_group = f"{cluster}-subnet-group"
    aws(
        "rds",
        "create-db-subnet-group",
        "--db-subnet-group-name",
        subnet_group,
        "--db-subnet-group-description",
        "Aurora DB Subnet Group",
        "--subnet-ids",
        *subnets,
    )
    group_id = aws(
        "ec2",
        "create-security-group",
        "--group-name",
        f"{cluster}-security-group",
        "--description",
        "Aurora DB Security Group",
        "--vpc-id",
        vpc_id,
    )["GroupId"]
    aws(
        "rds",
        "create-db-cluster",
        "--db-cluster-identifier",
        cluster,
        "--database-name",
        "keycloak",
        "--engine",
        "aurora-postgresql",
        "--master-username",
        "keycloak",
        "--master-user-password",
        "secret99",
        "--vpc-security-group-ids",
        group_id,
        "--db-subnet-group-name",
        subnet_group,
    )
    instances = [f"{cluster}-instance-1", f"{cluster}-instance-2"]  # the writer in zone a, the reader in zone b
    for instance, zone in zip(instances, "ab"):
        aws(
            "rds",
            "create-db-instance",
            "--db-cluster-identifier",
            cluster,
            "--db-instance-identifier",
            instance,
            "--db-instance-class",
            "db.t4g.large",
            "--engine",
            "aurora-postgresql",
            "--availability-zone",
            f"{region}{zone}",
        )
    for instance in instances:
        aws("rds", "wait", "db-instance-available", "--db-instance-identifier", instance)
    aws("rds", "describe-db-clusters", "--db-cluster-identifier", cluster)  # the writer endpoint for Keycloak
    for rosa in rosas:
        peer(aws, cluster, rosa)


def peer(aws, cluster, rosa):
    region = aws.region
    aurora, rosa_vpc_id = aurora_vpc(aws, cluster), rosa_vpc(aws, rosa)
    peering = aws(
        "ec2",
        "create-vpc-peering-connection",
        "--vpc-id",
        rosa_vpc_id,
        "--peer-vpc-id",
        aurora,
        "--peer-region",
        region,
        region=rosa.region,
    )["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    aws("ec2", "wait", "vpc-peering-connection-exists", "--vpc-peering-connection-ids", peering)
    aws("ec2", "accept-vpc-peering-connection", "--vpc-peering-connection-id", peering)
    for route_table, destination, where in (
        (main_route_table(aws, rosa_vpc_id, rosa.region), AURORA_CIDR, rosa.region),
        (main_route_table(aws, aurora, region), rosa.machine_cidr, region),
    ):
        aws(
            "ec2",
            "create-route",
            "--route-table-id",
            route_table,
            "--destination-cidr-block",
            destination,
            "--vpc-peering-connection-id",
            peering,
            region=where,
        )
    group_id = aws("ec2", "describe-security-groups", "--filters", f"Name=group-name,Values={cluster}-security-group")[
        "SecurityGroups"
    ][0]["GroupId"]
    aws(
        "ec2",
        "authorize-security-group-ingress",
        "--group-id",
        group_id,
        "--protocol",
        "tcp",
        "--port",
        str(PORT),
        "--cidr",
        rosa.machine_cidr,
    )


def delete(aws, cluster, rosas):
    vpc_id = aurora_vpc(aws, cluster)
    for rosa in rosas:
        rosa_vpc_id = rosa_vpc(aws, rosa)
        route_table = main_route_table(aws, rosa_vpc_id, rosa.region)
        aws(
            "ec2",
            "delete-route",
            "--route-table-id",
            route_table,
            "--destination-cidr-block",
            AURORA_CIDR,
            region=rosa.region,
        )
        peerings = aws(
            "ec2",
            "describe-vpc-peering-connections",
            "--filters",
            f"Name=requester-vpc-info.vpc-id,Values={rosa_vpc_id}",
            f"Name=accepter-vpc-info.vpc-id,Values={vpc_id}",
            "Name=status-code,Values=active",
        )["VpcPeeringConnections"]
        for peering in peerings:
            aws(
                "ec2", "delete-vpc-peering-connection", "--vpc-peering-connection-id", peering["VpcPeeringConnectionId"]
            )
    instances = [f"{cluster}-instance-1", f"{cluster}-instance-2"]
    for instance in instances:
        aws("rds", "delete-db-instance", "--db-instance-identifier", instance)
    for instance in instances:
        aws("rds", "wait", "db-instance-deleted", "--db-instance-identifier", instance)
    aws(
        "rds",
        "delete-db-cluster",
        "--db-cluster-identifier",
        cluster,
        "--final-db-snapshot-identifier",
        f"{cluster}-final-{int(time.time())}",
    )
    aws("rds", "wait", "db-cluster-deleted", "--db-cluster-identifier", cluster)
    aws("rds", "delete-db-subnet-group", "--db-subnet-group-name", f"{cluster}-subnet-group")
    subnets = aws("ec2", "describe-subnets", "--filters", f"Name=vpc-id,Values={vpc_id}")["Subnets"]
    for subnet in subnets:
        aws.retry_dependency_violation("ec2", "delete-subnet", "--subnet-id", subnet["SubnetId"])
    group_id = aws("ec2", "describe-security-groups", "--filters", f"Name=group-name,Values={cluster}-security-group")[
        "SecurityGroups"
    ][0]["GroupId"]
    aws.retry_dependency_violation("ec2", "delete-security-group", "--group-id", group_id)
    aws("ec2", "delete-vpc", "--vpc-id", vpc_id)


def run(operation, endpoint_url, cluster, rosas, region="eu-west-1", waiter_scale=1.0, env=None):
    """Replay `operation` ("provision" or "delete") with the credentials in `env` (default: ours); the Report."""
    if shutil.which("aws") is None:
        raise RuntimeError("the aws CLI is not on PATH (pip install awscli)")
    report = Report()
    with tempfile.TemporaryDirectory(prefix="aws-cli-waiters-") as directory:
        aws = Cli(
            endpoint_url,
            region,
            report,
            env=os.environ if env is None else env,
            data_path=scaled_waiters(directory, waiter_scale),
            retry_delay=RETRY_DELAY * waiter_scale,
        )
        {"provision": provision, "delete": delete}[operation](aws, cluster, rosas)
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("operation", choices=("provision", "delete"))
    parser.add_argument("--endpoint-url", required=True, help="the emulator, e.g. http://127.0.0.1:5000")
    parser.add_argument("--cluster", default="keycloak-aurora")
    parser.add_argument("--region", default="eu-west-1", help="the Aurora cluster's region")
    parser.add_argument(
        "--rosa", action="append", default=[], type=Rosa.parse, help="NAME:REGION:MACHINE_CIDR:NODE, once per cluster"
    )
    parser.add_argument("--waiter-scale", type=float, default=1.0, help="the CLI waiters' delays times this")
    args = parser.parse_args(argv)
    report = run(args.operation, args.endpoint_url, args.cluster, args.rosa, args.region, args.waiter_scale)
    print(json.dumps(asdict(report), indent=2))


if __name__ == "__main__":
    sys.exit(main())

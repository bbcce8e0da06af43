"""Seed the emulator with what a ROSA cluster looks like from EC2.

A VPC holding the machine CIDR; per AZ one public and one private subnet; per AZ one private
route table explicitly associated with that AZ's private subnet; worker instances in the private
subnets tagged the way ROSA tags them. Nothing else (no IGW, NAT or public route table): the
collection must not depend on more than that.
"""

import hashlib
import ipaddress
import math
import string

KINDS = ("classic", "hcp")


def infra_id(name, region):
    """ROSA-like infrastructure id "<name>-<5 lowercase letters>", stable for a name and region."""
    digest = hashlib.sha256(f"{name}/{region}".encode()).digest()
    return f"{name}-" + "".join(string.ascii_lowercase[b % 26] for b in digest[:5])


def carve_subnets(machine_cidr, count):
    """(public, private) lists of `count` CIDRs each: private from the first half, public from the second."""
    network = ipaddress.ip_network(machine_cidr)
    extra_bits = math.ceil(math.log2(count)) if count > 1 else 0
    private_half, public_half = network.subnets(prefixlen_diff=1)

    def split(half):
        return [str(n) for n in half.subnets(prefixlen_diff=extra_bits)][:count]

    return split(public_half), split(private_half)


def _tags(pairs):
    return [{"Key": k, "Value": v} for k, v in pairs.items()]


def _spec(resource_type, pairs):
    return [{"ResourceType": resource_type, "Tags": _tags(pairs)}]


def seed_rosa_cluster(
    emulator_or_session_factory,
    name,
    region="eu-west-1",
    machine_cidr="10.0.0.0/16",
    kind="classic",
    azs=3,
    workers=None,
):
    """Create a simulated ROSA cluster and return its ids (see the module docstring).

    emulator_or_session_factory: an Emulator (anything with .client(service, region=...)) or a
    callable (service, region) -> boto3 client. workers: total worker count, spread round-robin
    over the AZs (default one per AZ).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    source = emulator_or_session_factory
    ec2 = source.client("ec2", region=region) if hasattr(source, "client") else source("ec2", region)
    workers = azs if workers is None else workers

    zones = sorted(
        z["ZoneName"]
        for z in ec2.describe_availability_zones(Filters=[{"Name": "state", "Values": ["available"]}])[
            "AvailabilityZones"
        ]
    )
    if len(zones) < azs:
        raise ValueError(f"{region} has only {len(zones)} availability zones, {azs} requested")
    zones = zones[:azs]
    public_cidrs, private_cidrs = carve_subnets(machine_cidr, azs)
    cluster_infra_id = infra_id(name, region) if kind == "classic" else None

    vpc_id = ec2.create_vpc(CidrBlock=machine_cidr, TagSpecifications=_spec("vpc", {"Name": f"{name}-vpc"}))["Vpc"][
        "VpcId"
    ]
    public_subnets, private_subnets, route_tables = [], [], []
    for zone, public_cidr, private_cidr in zip(zones, public_cidrs, private_cidrs):
        public_subnets.append(
            ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=public_cidr,
                AvailabilityZone=zone,
                TagSpecifications=_spec("subnet", {"Name": f"{name}-public-{zone}"}),
            )["Subnet"]["SubnetId"]
        )
        private_subnets.append(
            ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=private_cidr,
                AvailabilityZone=zone,
                TagSpecifications=_spec("subnet", {"Name": f"{name}-private-{zone}"}),
            )["Subnet"]["SubnetId"]
        )
        route_table_id = ec2.create_route_table(
            VpcId=vpc_id,
            TagSpecifications=_spec("route-table", {"Name": f"{name}-private-{zone}"}),
        )["RouteTable"]["RouteTableId"]
        ec2.associate_route_table(RouteTableId=route_table_id, SubnetId=private_subnets[-1])
        route_tables.append(route_table_id)

    instance_tags = {"api.openshift.com/name": name, "red-hat-clustertype": "rosa"}
    if cluster_infra_id:
        instance_tags[f"kubernetes.io/cluster/{cluster_infra_id}"] = "owned"
    image_id = _image_id(ec2)
    instances = []
    for index in range(workers):
        zone, subnet_id = zones[index % azs], private_subnets[index % azs]
        instances += ec2.run_instances(
            ImageId=image_id,
            InstanceType="m5.xlarge",
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet_id,
            TagSpecifications=_spec("instance", {"Name": f"{name}-worker-{zone}", **instance_tags}),
        )["Instances"]

    return {
        "name": name,
        "region": region,
        "kind": kind,
        "infra_id": cluster_infra_id,
        "vpc_id": vpc_id,
        "machine_cidr": machine_cidr,
        "availability_zones": zones,
        "private_route_table_ids": route_tables,
        "public_subnet_ids": public_subnets,
        "private_subnet_ids": private_subnets,
        "instance_ids": [i["InstanceId"] for i in instances],
        "node_names": [i["PrivateDnsName"] for i in instances],
    }


def _image_id(ec2):
    """An AMI moto ships in every region; RHEL if there is one, as ROSA nodes run RHCOS."""
    images = ec2.describe_images(Filters=[{"Name": "name", "Values": ["RHEL-*"]}])["Images"]
    images = images or ec2.describe_images(Owners=["amazon"])["Images"]
    return min(images, key=lambda i: i["ImageId"])["ImageId"]

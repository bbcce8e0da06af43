"""Seed the emulator with an Aurora deployment as the keycloak-benchmark scripts make it.

aurora_create.sh: a VPC tagged AuroraCluster=<c> and Name=Aurora Cluster <c>, two subnets, the DB subnet group
<c>-subnet-group, the security group <c>-security-group, the aurora-postgresql cluster <c> (not tagged) and its
instances <c>-instance-N. aurora_create_peering_connection.sh: a peering requested from the ROSA VPC, tagged
AuroraCluster=<c> only, accepted, with routes both ways and tcp 5432 from the ROSA machine CIDR.
"""

import ipaddress


def _tags(resource_type, pairs):
    return [{"ResourceType": resource_type, "Tags": [{"Key": k, "Value": v} for k, v in pairs.items()]}]


def scripts_deployment(emulator, cluster, *, region="eu-west-1", vpc_cidr="192.168.0.0/16", instances=1, tags=None):
    """Create ``cluster`` in ``region`` as aurora_create.sh does; ``tags`` go on the DB cluster. Returns its ids."""
    ec2, rds = emulator.client("ec2", region), emulator.client("rds", region)
    vpc_id = ec2.create_vpc(
        CidrBlock=vpc_cidr,
        TagSpecifications=_tags("vpc", {"AuroraCluster": cluster, "Name": f"Aurora Cluster {cluster}"}),
    )["Vpc"]["VpcId"]
    zones = sorted(z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"])[:2]
    first, second = (str(block) for block in ipaddress.ip_network(vpc_cidr).subnets(prefixlen_diff=1))
    subnet_ids = [
        ec2.create_subnet(AvailabilityZone=zone, VpcId=vpc_id, CidrBlock=block)["Subnet"]["SubnetId"]
        for zone, block in zip(zones, (first, second))
    ]
    rds.create_db_subnet_group(
        DBSubnetGroupName=f"{cluster}-subnet-group",
        DBSubnetGroupDescription="Aurora DB Subnet Group",
        SubnetIds=subnet_ids,
    )
    group_id = ec2.create_security_group(
        GroupName=f"{cluster}-security-group", Description="Aurora DB Security Group", VpcId=vpc_id
    )["GroupId"]
    rds.create_db_cluster(
        DBClusterIdentifier=cluster,
        Engine="aurora-postgresql",
        EngineVersion="16.1",
        MasterUsername="keycloak",
        MasterUserPassword="secret99",
        DatabaseName="keycloak",
        VpcSecurityGroupIds=[group_id],
        DBSubnetGroupName=f"{cluster}-subnet-group",
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    )
    for number in range(1, instances + 1):
        rds.create_db_instance(
            DBInstanceIdentifier=f"{cluster}-instance-{number}",
            DBClusterIdentifier=cluster,
            Engine="aurora-postgresql",
            DBInstanceClass="db.t4g.large",
        )
    return {"cluster": cluster, "region": region, "vpc_id": vpc_id, "security_group_id": group_id, "vpc_cidr": vpc_cidr}


def scripts_peering(emulator, deployment, rosa_cluster):
    """Peer ``rosa_cluster`` with ``deployment`` as aurora_create_peering_connection.sh does."""
    requester = emulator.client("ec2", rosa_cluster["region"])
    accepter = emulator.client("ec2", deployment["region"])
    peering_id = requester.create_vpc_peering_connection(
        VpcId=rosa_cluster["vpc_id"],
        PeerVpcId=deployment["vpc_id"],
        PeerRegion=deployment["region"],
        TagSpecifications=_tags("vpc-peering-connection", {"AuroraCluster": deployment["cluster"]}),
    )["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    accepter.accept_vpc_peering_connection(VpcPeeringConnectionId=peering_id)
    [main] = accepter.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [deployment["vpc_id"]]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"]
    accepter.create_route(
        RouteTableId=main["RouteTableId"],
        DestinationCidrBlock=rosa_cluster["machine_cidr"],
        VpcPeeringConnectionId=peering_id,
    )
    for table_id in rosa_cluster["private_route_table_ids"]:
        requester.create_route(
            RouteTableId=table_id, DestinationCidrBlock=deployment["vpc_cidr"], VpcPeeringConnectionId=peering_id
        )
    accepter.authorize_security_group_ingress(
        GroupId=deployment["security_group_id"],
        IpProtocol="tcp",
        FromPort=5432,
        ToPort=5432,
        CidrIp=rosa_cluster["machine_cidr"],
    )
    return peering_id

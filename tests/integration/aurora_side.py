"""What the emulator holds of an Aurora cluster's network, read with boto3 as a test checks it."""


def aurora_network(emulator, cluster):
    """(VPC, main route table, security group) of the Aurora VPC tagged AuroraCluster=``cluster``; each exactly one."""
    ec2 = emulator.client("ec2")
    [vpc] = ec2.describe_vpcs(Filters=[{"Name": "tag:AuroraCluster", "Values": [cluster]}])["Vpcs"]
    [main] = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"]
    [group] = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc["VpcId"]]},
            {"Name": "group-name", "Values": [f"{cluster}-security-group"]},
        ]
    )["SecurityGroups"]
    return vpc, main, group

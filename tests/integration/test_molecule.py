"""The molecule scenario extensions/molecule/default, run by molecule itself against the emulator.

molecule test: destroy (on an empty account), syntax, create, prepare, converge (provision.yml with two
ROSA clusters, one classic in eu-west-1 and one HCP in eu-central-1), idempotence, verify (read-only
*_info calls), destroy (delete.yml with aurora_delete_peerings=true).
"""

import shutil
import subprocess

from tools.ansible_run import BIN
from tools.ansible_run import REPO_ROOT
from tools.ansible_run import ansible_env

SCENARIO = REPO_ROOT / "extensions" / "molecule" / "default"
CLUSTER = "molecule-aurora"
SEQUENCE = ("destroy", "syntax", "create", "prepare", "converge", "idempotence", "verify", "destroy")
GONE = ("deleted", "rejected", "failed", "expired")
ROSA_CLUSTERS = {
    "CLASSIC": {
        "name": "molecule-rosa-classic",
        "region": "eu-west-1",
        "machine_cidr": "10.10.0.0/16",
        "kind": "classic",
    },
    "HCP": {"name": "molecule-rosa-hcp", "region": "eu-central-1", "machine_cidr": "10.20.0.0/16", "kind": "hcp"},
}


def _gone(emulator, region, arn):
    """True for what AWS itself keeps showing for a while after deletion."""
    if ":vpc-peering-connection/" in arn:
        peering_id = arn.rsplit("/", 1)[1]
        found = emulator.client("ec2", region).describe_vpc_peering_connections(VpcPeeringConnectionIds=[peering_id])
        return all(p["Status"]["Code"] in GONE for p in found["VpcPeeringConnections"])
    if ":secretsmanager:" in arn:
        return "DeletedDate" in emulator.client("secretsmanager", region).describe_secret(SecretId=arn)
    return False


def leftovers(emulator, regions):
    """Everything still tagged AuroraCluster=CLUSTER, and the RDS resources named after it."""
    found = []
    tag_filter = [{"Name": "tag:AuroraCluster", "Values": [CLUSTER]}]
    for region in regions:
        tagging = emulator.client("resourcegroupstaggingapi", region)
        for page in tagging.get_paginator("get_resources").paginate(
            TagFilters=[{"Key": "AuroraCluster", "Values": [CLUSTER]}]
        ):
            found += [m["ResourceARN"] for m in page["ResourceTagMappingList"]]
        found = [arn for arn in found if not _gone(emulator, region, arn)]
        ec2 = emulator.client("ec2", region)
        found += [v["VpcId"] for v in ec2.describe_vpcs(Filters=tag_filter)["Vpcs"]]
        found += [s["SubnetId"] for s in ec2.describe_subnets(Filters=tag_filter)["Subnets"]]
        found += [g["GroupId"] for g in ec2.describe_security_groups(Filters=tag_filter)["SecurityGroups"]]
        found += [
            p["VpcPeeringConnectionId"]
            for p in ec2.describe_vpc_peering_connections(Filters=tag_filter)["VpcPeeringConnections"]
            if p["Status"]["Code"] not in GONE
        ]
        rds = emulator.client("rds", region)
        found += [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]]
        found += [i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]]
        found += [
            g["DBSubnetGroupName"]
            for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]
            if g["DBSubnetGroupName"] == f"{CLUSTER}-subnet-group"
        ]
    return sorted(set(found))


def test_molecule_scenario_provisions_verifies_and_destroys(emulator, rosa, tmp_path):
    assert shutil.which("molecule", path=str(BIN)), f"molecule is not installed in {BIN}"
    assert (SCENARIO / "molecule.yml").is_file()
    env = ansible_env(
        emulator.env(),
        json_output=False,
        extra={
            # molecule keeps its state, generated inventory and ansible.cfg here, not in a shared cache.
            "MOLECULE_EPHEMERAL_DIRECTORY": str(tmp_path / "molecule"),
        },
    )
    for kind, cluster in ROSA_CLUSTERS.items():
        rosa(cluster["name"], region=cluster["region"], machine_cidr=cluster["machine_cidr"], kind=cluster["kind"])
        env[f"MOLECULE_ROSA_{kind}_NAME"] = cluster["name"]
        env[f"MOLECULE_ROSA_{kind}_REGION"] = cluster["region"]

    # From the collection root: molecule sees galaxy.yml and looks for scenarios in extensions/molecule/.
    run = subprocess.run(
        [str(BIN / "molecule"), "test", "--scenario-name", "default"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    output = run.stdout + run.stderr
    (tmp_path / "molecule.log").write_text(output)
    assert run.returncode == 0, output[-20000:]
    assert "Scenarios will be used from 'extensions/molecule'" in output
    details = [line.strip() for line in output.splitlines() if line.startswith("default > ")]
    assert details == [f"default > {step}: Executed: Successful" for step in SEQUENCE], output[-5000:]
    # The first destroy ran on an account without the cluster: nothing to delete, nothing changed.
    first_recap = output[output.index("PLAY RECAP") :].splitlines()[1]
    assert first_recap.startswith("localhost") and "changed=0 " in first_recap and "failed=0 " in first_recap

    regions = sorted({c["region"] for c in ROSA_CLUSTERS.values()})
    assert leftovers(emulator, regions) == []

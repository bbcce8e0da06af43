"""make demo: provision Aurora for Keycloak in a local AWS emulator, peer two simulated ROSA clusters,
write Keycloak's database Secret and CA ConfigMap into one of them, check from inside it that Keycloak
logs in to the database over verified TLS, and print the Keycloak settings.

Nothing leaves this machine: the emulator (moto), the Kubernetes API stand-in and PostgreSQL (which
stands for the Aurora writer inside the simulated cluster) listen on 127.0.0.1 only and are stopped
at the end; with --keep (make demo KEEP=1) they stay up for experiments until Ctrl-C.
"""

import argparse
import json
import shlex
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.ansible_run import BIN  # noqa: E402
from tools.ansible_run import COLLECTIONS_PATH  # noqa: E402
from tools.ansible_run import PLAYBOOKS  # noqa: E402
from tools.ansible_run import REPO_ROOT  # noqa: E402
from tools.ansible_run import ansible_env  # noqa: E402
from tools.emulator.certificates import certificate_authority  # noqa: E402
from tools.emulator.harness import Emulator  # noqa: E402
from tools.emulator.kubernetes_api import KubernetesAPI  # noqa: E402
from tools.emulator.postgres import PostgresServer  # noqa: E402
from tools.emulator.rosa import seed_rosa_cluster  # noqa: E402

CLUSTER = "keycloak-aurora"
# Two simulated ROSA clusters: a classic one beside Aurora, an HCP-style one in another region.
ROSA_CLUSTERS = [
    {"name": "rosa-classic", "region": "eu-west-1", "machine_cidr": "10.0.0.0/16", "kind": "classic"},
    {"name": "rosa-hcp", "region": "eu-central-1", "machine_cidr": "10.1.0.0/16", "kind": "hcp"},
]


# The ROSA cluster whose Kubernetes API the demo simulates, with Keycloak's namespace.
WIRED = "rosa-classic"
NAMESPACE = "keycloak"


def playbook(emulator, name, *extra, env=None):
    command = [str(BIN / "ansible-playbook"), str(PLAYBOOKS / name), "-e", f"aurora_cluster={CLUSTER}", *extra]
    shown = " ".join(["ansible-playbook", f"playbooks/{name}", *command[2:]])
    print(f"\n$ {shown}", flush=True)
    environment = ansible_env(emulator.env(), json_output=False, extra=env)
    subprocess.run(command, env=environment, cwd=REPO_ROOT, check=True)


def write_inventory(path, kubeconfig):
    hosts = {c["name"]: {"rosa_region": c["region"]} for c in ROSA_CLUSTERS}
    hosts[WIRED]["rosa_kubeconfig"] = str(kubeconfig)
    path.write_text(yaml.safe_dump({"rosa_clusters": {"vars": {"ansible_connection": "local"}, "hosts": hosts}}))


def simulated_cluster(emulator, workdir, postgres):
    """Seed both ROSA clusters in the emulator; the Kubernetes API of one of them, with its worker nodes."""
    tools = {"psql": str(postgres.bin_dir / "psql")}
    api = KubernetesAPI(allowed_commands=tools).start()
    api.create_namespace(NAMESPACE)
    for cluster in ROSA_CLUSTERS:
        seeded = seed_rosa_cluster(emulator, **cluster)
        print(
            f"simulated ROSA cluster {cluster['name']} ({cluster['kind']}): {seeded['vpc_id']} "
            f"{cluster['machine_cidr']} in {cluster['region']}"
        )
        if cluster["name"] == WIRED:
            for node in seeded["node_names"]:
                api.add_node(node, {"node-role.kubernetes.io/worker": ""})
    print(f"Kubernetes API of {WIRED} (stand-in) on {api.url}, namespace {NAMESPACE}")
    return api, api.write_kubeconfig(workdir / "kubeconfig")


def writer_endpoint(emulator):
    [cluster] = emulator.client("rds").describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"]
    return cluster["Endpoint"], cluster["Port"]


def take_generated_password(emulator, postgres):
    """Give the local server the master password provision.yml generated, as Aurora has it."""
    value = emulator.client("secretsmanager").get_secret_value(SecretId=f"{CLUSTER}-master-password")
    password = json.loads(value["SecretString"])["password"]
    postgres.sql("ALTER ROLE keycloak PASSWORD '{}'".format(password.replace("'", "''")))
    postgres.password = password


# What a shell needs to drive the kept emulator: its endpoint and dummy credentials, this collection,
# and the Kubernetes client's discovery cache beside the demo's other files.
KEPT_ENV = (
    "AWS_ENDPOINT_URL",
    "AWS_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


def keep_running(emulator, inventory, api):
    """Say how to drive the running emulator by hand, then wait for Ctrl-C."""
    env = emulator.env()
    print("\nThe emulator keeps running. In another shell, from this checkout:")
    for key in KEPT_ENV:
        print(f"  export {key}={shlex.quote(env[key])}")
    print(f"  export ANSIBLE_COLLECTIONS_PATH={shlex.quote(str(COLLECTIONS_PATH))}")
    print(f"  export TMPDIR={shlex.quote(str(inventory.parent))}")
    print(f"  .venv/bin/ansible-playbook playbooks/unpeer.yml -i {shlex.quote(str(inventory))} \\")
    print(f"      -e aurora_cluster={CLUSTER} --limit rosa-hcp")
    print(f"  aws rds describe-db-clusters --db-cluster-identifier {CLUSTER}")
    print(f"The Kubernetes API of {WIRED} ({api.url}): KUBECONFIG={shlex.quote(str(inventory.parent / 'kubeconfig'))}")
    print("Press Ctrl-C to stop the emulator and remove its files.", flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        print("\nstopped")


def main(keep=False):
    with (
        tempfile.TemporaryDirectory(prefix="keycloak-aurora-demo-") as directory,
        Emulator.start() as emulator,
    ):
        workdir = Path(directory)
        # AWS's RDS bundle is not downloaded here: a throwaway CA stands for it and signs the local server.
        ca = certificate_authority("demo stand-in for the RDS root CA")
        ca.server_certificate(workdir / "server.crt", workdir / "server.key")
        bundle = workdir / "demo-rds-bundle.pem"
        bundle.write_text(ca.pem)
        postgres = PostgresServer(workdir / "postgres", tls=(workdir / "server.crt", workdir / "server.key"))
        with postgres:
            demo(emulator, workdir, postgres, bundle, keep)
    return 0


def demo(emulator, workdir, postgres, bundle, keep):
    print(f"AWS emulator (moto) listening on {emulator.url}, Aurora in eu-west-1")
    api, kubeconfig = simulated_cluster(emulator, workdir, postgres)
    with api:
        inventory = workdir / "inventory.yml"
        write_inventory(inventory, kubeconfig)
        kubernetes_cache = {"TMPDIR": str(workdir)}
        playbook(
            emulator,
            "provision.yml",
            "-i",
            str(inventory),
            "-e",
            f"aurora_ca_bundle_path={bundle}",
            env=kubernetes_cache,
        )
        secret = api.get_object("Secret", "keycloak-db-secret", NAMESPACE)
        config_map = api.get_object("ConfigMap", "keycloak-aurora-rootcert", NAMESPACE)
        print(
            f"\nin {WIRED}: Secret {NAMESPACE}/keycloak-db-secret (keys {', '.join(sorted(secret['data']))}), "
            f"ConfigMap {NAMESPACE}/keycloak-aurora-rootcert (key {', '.join(config_map['data'])})"
        )
        # In the simulated cluster, the writer endpoint leads to the local PostgreSQL.
        take_generated_password(emulator, postgres)
        api.route(writer_endpoint(emulator), (postgres.host, postgres.port))
        playbook(emulator, "verify_connection.yml", "-i", str(inventory), env=kubernetes_cache)
        env_file = workdir / "keycloak-db.env"
        playbook(emulator, "endpoint.yml", "-e", f"output_file={env_file}")
        print(f"\nKeycloak settings ({env_file.name}, mode 0600, no password):")
        print(env_file.read_text(), end="")
        if keep:
            keep_running(emulator, inventory, api)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the emulator running afterwards, until Ctrl-C")
    try:
        sys.exit(main(keep=parser.parse_args().keep))
    except subprocess.CalledProcessError as e:
        sys.exit(f"demo failed: {' '.join(e.cmd[:2])} exited with {e.returncode}")

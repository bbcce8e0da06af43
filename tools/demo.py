"""make demo: provision Aurora for Keycloak in a local AWS emulator, peer two simulated ROSA clusters
and print the Keycloak settings.

Nothing leaves this machine: the emulator (moto) listens on 127.0.0.1 only and is stopped at the end.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.ansible_run import BIN  # noqa: E402
from tools.ansible_run import PLAYBOOKS  # noqa: E402
from tools.ansible_run import REPO_ROOT  # noqa: E402
from tools.ansible_run import ansible_env  # noqa: E402
from tools.emulator.harness import Emulator  # noqa: E402
from tools.emulator.rosa import seed_rosa_cluster  # noqa: E402

CLUSTER = "keycloak-aurora"
# Two simulated ROSA clusters: a classic one beside Aurora, an HCP-style one in another region.
ROSA_CLUSTERS = [
    {"name": "rosa-classic", "region": "eu-west-1", "machine_cidr": "10.0.0.0/16", "kind": "classic"},
    {"name": "rosa-hcp", "region": "eu-central-1", "machine_cidr": "10.1.0.0/16", "kind": "hcp"},
]


def playbook(emulator, name, *extra):
    command = [str(BIN / "ansible-playbook"), str(PLAYBOOKS / name), "-e", f"aurora_cluster={CLUSTER}", *extra]
    shown = " ".join(["ansible-playbook", f"playbooks/{name}", *command[2:]])
    print(f"\n$ {shown}", flush=True)
    subprocess.run(command, env=ansible_env(emulator.env(), json_output=False), cwd=REPO_ROOT, check=True)


def write_inventory(path):
    hosts = {c["name"]: {"rosa_region": c["region"]} for c in ROSA_CLUSTERS}
    path.write_text(yaml.safe_dump({"rosa_clusters": {"vars": {"ansible_connection": "local"}, "hosts": hosts}}))


def main():
    with tempfile.TemporaryDirectory(prefix="keycloak-aurora-demo-") as workdir, Emulator.start() as emulator:
        print(f"AWS emulator (moto) listening on {emulator.url}, Aurora in eu-west-1")
        for cluster in ROSA_CLUSTERS:
            seeded = seed_rosa_cluster(emulator, **cluster)
            print(
                f"simulated ROSA cluster {cluster['name']} ({cluster['kind']}): {seeded['vpc_id']} "
                f"{cluster['machine_cidr']} in {cluster['region']}"
            )
        inventory = Path(workdir) / "inventory.yml"
        write_inventory(inventory)
        playbook(emulator, "provision.yml", "-i", str(inventory))
        env_file = Path(workdir) / "keycloak-db.env"
        playbook(emulator, "endpoint.yml", "-e", f"output_file={env_file}")
        print(f"\nKeycloak settings ({env_file.name}, mode 0600, no password):")
        print(env_file.read_text(), end="")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as e:
        sys.exit(f"demo failed: {' '.join(e.cmd[:2])} exited with {e.returncode}")

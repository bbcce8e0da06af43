"""make demo: provision Aurora for Keycloak in a local AWS emulator and print the Keycloak settings.

Nothing leaves this machine: the emulator (moto) listens on 127.0.0.1 only and is stopped at the end.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.ansible_run import BIN  # noqa: E402
from tools.ansible_run import PLAYBOOKS  # noqa: E402
from tools.ansible_run import REPO_ROOT  # noqa: E402
from tools.ansible_run import ansible_env  # noqa: E402
from tools.emulator.harness import Emulator  # noqa: E402

CLUSTER = "keycloak-aurora"


def playbook(emulator, name, *extra):
    command = [str(BIN / "ansible-playbook"), str(PLAYBOOKS / name), "-e", f"aurora_cluster={CLUSTER}", *extra]
    print(f"\n$ {' '.join(['ansible-playbook', f'playbooks/{name}', *command[2:]])}", flush=True)
    subprocess.run(command, env=ansible_env(emulator.env(), json_output=False), cwd=REPO_ROOT, check=True)


def main():
    with tempfile.TemporaryDirectory(prefix="keycloak-aurora-demo-") as workdir, Emulator.start() as emulator:
        print(f"AWS emulator (moto) listening on {emulator.url}, region eu-west-1")
        playbook(emulator, "provision.yml")
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

"""Run the collection's playbooks from this checkout against an emulator: shared by tests, demo and bench."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PLAYBOOKS = REPO_ROOT / "playbooks"
COLLECTIONS_PATH = REPO_ROOT / "build" / "collections"
BIN = Path(sys.executable).parent


@dataclass
class PlaybookRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def report(self):
        """The ansible.posix.json callback's report (only for runs with json=True)."""
        return json.loads(self.stdout)

    def stats(self, host="localhost"):
        return self.report["stats"][host]

    def changed(self):
        return sum(s["changed"] for s in self.report["stats"].values())


def ansible_env(emulator_env, json_output=True, extra=None):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "ANSIBLE_"))}
    env.update(emulator_env)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_PATH),
        ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    if json_output:
        env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    env.update(extra or {})
    return env


def run_playbook(
    emulator_env,
    playbook,
    *,
    extra_vars=None,
    inventory=None,
    check=False,
    args=(),
    json_output=True,
    env=None,
    timeout=900,
):
    """``ansible-playbook playbooks/<playbook>`` with the emulator's environment; never raises on failure."""
    command = [str(BIN / "ansible-playbook"), str(PLAYBOOKS / playbook)]
    for key, value in (extra_vars or {}).items():
        command += ["-e", json.dumps({key: value})]
    if inventory:
        command += ["-i", str(inventory)]
    if check:
        command.append("--check")
    command += list(args)
    completed = subprocess.run(
        command,
        env=ansible_env(emulator_env, json_output, env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return PlaybookRun(completed.returncode, completed.stdout, completed.stderr)

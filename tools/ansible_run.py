"""Run the collection's playbooks from this checkout against an emulator: shared by tests, demo and bench."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
PLAYBOOKS = REPO_ROOT / "playbooks"
COLLECTIONS_PATH = REPO_ROOT / "build" / "collections"
BIN = Path(sys.executable).parent
# Set by the test session (tests/integration/conftest.py) to a directory of its own: its runs then
# share their AnsiballZ payloads there and skip work no test looks at (QUICK_TEST_SETTINGS). The
# demo and the benchmark leave it unset and run as a user would.
SHARED_ANSIBALLZ_CACHE = "KEYCLOAK_AURORA_ANSIBALLZ_CACHE"
KILL_GRACE = 10.0  # seconds kill_playbook waits for the killed processes to be gone
QUICK_TEST_SETTINGS = {
    # tools/ansible_plugins/callback/shared_ansiballz_cache.py: each module is built once per session.
    "ANSIBLE_CALLBACK_PLUGINS": str(REPO_ROOT / "tools" / "ansible_plugins" / "callback"),
    "ANSIBLE_CALLBACKS_ENABLED": "shared_ansiballz_cache",
    # A module is piped into its interpreter: no temporary directory, copy, chmod and removal per task.
    "ANSIBLE_PIPELINING": "1",
    # How often the controller looks for finished tasks: every millisecond by default, which keeps
    # a core busy while the modules, which do the work, wait for it.
    "ANSIBLE_INTERNAL_POLL_INTERVAL": "0.02",
}


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


def rosa_inventory(directory, hosts):
    """Write an inventory of the group rosa_clusters (one host per ROSA cluster, ``hosts``: name -> host vars)
    as a new file in ``directory``, so earlier inventories of the same test stay as they were; return its path."""
    path = Path(directory) / f"inventory-{len(list(Path(directory).glob('inventory-*.yml')))}.yml"
    path.write_text(yaml.safe_dump({"rosa_clusters": {"vars": {"ansible_connection": "local"}, "hosts": hosts}}))
    return path


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
    if env.get(SHARED_ANSIBALLZ_CACHE):
        env.update(QUICK_TEST_SETTINGS)
    env.update(extra or {})
    return env


def playbook_command(playbook, *, extra_vars=None, inventory=None, check=False, args=()):
    """The ``ansible-playbook playbooks/<playbook> ...`` command line."""
    command = [str(BIN / "ansible-playbook"), str(PLAYBOOKS / playbook)]
    for key, value in (extra_vars or {}).items():
        command += ["-e", json.dumps({key: value})]
    if inventory:
        command += ["-i", str(inventory)]
    if check:
        command.append("--check")
    return command + list(args)


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
    completed = subprocess.run(
        playbook_command(playbook, extra_vars=extra_vars, inventory=inventory, check=check, args=args),
        env=ansible_env(emulator_env, json_output, env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return PlaybookRun(completed.returncode, completed.stdout, completed.stderr)


def start_playbook(
    emulator_env, playbook, *, output, extra_vars=None, inventory=None, check=False, args=(), json_output=True, env=None
):
    """Start what run_playbook runs and return its Popen at once, for a test that kills it (kill_playbook).

    Its stdout and stderr go to the open file ``output``: a pipe nobody reads could block it.
    """
    return subprocess.Popen(
        playbook_command(playbook, extra_vars=extra_vars, inventory=inventory, check=check, args=args),
        env=ansible_env(emulator_env, json_output, env),
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_playbook(process):
    """SIGKILL a started playbook and every process under it, as a crash or ``kill -9`` would; return their pids.

    Its process group is not enough: ansible-core's workers call setsid(), so each fork, and the
    module it runs, live in a session of their own. So the whole tree is stopped first, parents
    before children (a stopped process can neither fork nor leave orphans to be re-parented),
    and then killed at once. Linux only (/proc).
    """
    tree, found = set(), {process.pid}
    while found:
        for pid in found:
            _signal(pid, signal.SIGSTOP)
        tree |= found
        found = _children(tree) - tree
    for pid in tree:
        _signal(pid, signal.SIGKILL)
    process.wait()
    # SIGKILL cannot be refused, but a process on another core may take a moment to be torn down: callers
    # are promised a dead tree, not one on its way out.
    deadline = time.monotonic() + KILL_GRACE
    while running(tree) and time.monotonic() < deadline:
        time.sleep(0.05)
    if running(tree):
        raise RuntimeError(f"processes {sorted(running(tree))} outlived SIGKILL for {KILL_GRACE} s")
    return tree


def running(pids):
    """Those of ``pids`` that still run (zombies do not: they only wait to be reaped)."""
    return {pid for pid in pids if _state(pid) not in (None, "Z", "X")}


def _signal(pid, signum):
    with contextlib.suppress(ProcessLookupError):  # it has just exited
        os.kill(pid, signum)


def _stat_fields(pid):
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces), None once gone."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _state(pid):
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def _children(pids):
    """The processes whose parent is one of ``pids``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(entry.name)
            if fields and int(fields[1]) in pids:
                found.add(int(entry.name))
    return found

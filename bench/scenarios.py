"""The benchmark's scenarios: each group starts from an emulator reset, sets up what it needs
(unmeasured), then measures one or more playbook runs in a row.

A measurement is one ansible-playbook run: wall time, CPU time of the ansible-playbook process
tree (getrusage(RUSAGE_CHILDREN) delta: its forks are reaped by ansible-playbook, which we reap),
CPU time of the emulator process, and the AWS requests the emulator's recorder saw.
"""

import collections
import re
import resource
import subprocess
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import yaml

from tools.ansible_run import BIN
from tools.ansible_run import REPO_ROOT
from tools.ansible_run import ansible_env
from tools.ansible_run import run_playbook
from tools.emulator.harness import is_mutating
from tools.emulator.rosa import seed_rosa_cluster

CLUSTER = "keycloak-aurora"
PEERING_HOSTS = (1, 5, 10, 20)
ROSA_AZS = 1  # one private route table per simulated ROSA cluster (see results.md)
CLOCK_TICKS = 100  # os.sysconf("SC_CLK_TCK") on Linux


class BenchError(RuntimeError):
    pass


@dataclass
class Measurement:
    scenario: str
    hosts: int
    wall: float
    cpu: float
    emulator_cpu: float
    actions: list = field(repr=False)  # [(service, action)] in arrival order
    changed: int | None = None

    @property
    def mutating(self):
        return [a for a in self.actions if is_mutating(a[1])]

    def counts(self):
        return collections.Counter(action for _service, action in self.actions)


def emulator_cpu_seconds(emulator):
    fields = Path(f"/proc/{emulator.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def write_inventory(workdir, hosts):
    path = workdir / f"inventory-{len(hosts)}.yml"
    body = {"rosa_clusters": {"vars": {"ansible_connection": "local"}, "hosts": {h: {} for h in hosts}}}
    path.write_text(yaml.safe_dump(body))
    return path


def seed(emulator, count):
    """`count` simulated ROSA clusters rosa-0 … with machine CIDRs 10.<n>.0.0/16, one AZ each."""
    names = [f"rosa-{n}" for n in range(count)]
    for n, name in enumerate(names):
        seed_rosa_cluster(emulator, name, machine_cidr=f"10.{n}.0.0/16", azs=ROSA_AZS)
    return names


def play(emulator, playbook, inventory, args=(), **extra_vars):
    """An unmeasured setup run; fails loudly."""
    run = run_playbook(emulator.env(), playbook, extra_vars=extra_vars, inventory=inventory, args=args)
    if run.returncode != 0:
        raise BenchError(f"setup {playbook} failed:\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}")
    return run


def measure(emulator, scenario, hosts, playbook, inventory, args=(), **extra_vars):
    emulator.start_recording()
    cpu_before, emu_before = children_cpu_seconds(), emulator_cpu_seconds(emulator)
    start = time.perf_counter()
    run = run_playbook(emulator.env(), playbook, extra_vars=extra_vars, inventory=inventory, args=args)
    wall = time.perf_counter() - start
    cpu, emu_cpu = children_cpu_seconds() - cpu_before, emulator_cpu_seconds(emulator) - emu_before
    emulator.stop_recording()
    if run.returncode != 0:
        raise BenchError(f"{scenario}: {playbook} failed:\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}")
    return Measurement(scenario, hosts, wall, cpu, emu_cpu, emulator.recorded_actions(), run.changed())


def provision_without_hosts(emulator, workdir):
    emulator.reset()
    inventory = write_inventory(workdir, [])
    return [
        measure(
            emulator, f"provision, no ROSA host, {which} run", 0, "provision.yml", inventory, aurora_cluster=CLUSTER
        )
        for which in ("first", "second")
    ]


def provision_with_one_host(emulator, workdir):
    emulator.reset()
    inventory = write_inventory(workdir, seed(emulator, 1))
    return [
        measure(emulator, "provision, 1 ROSA host, first run", 1, "provision.yml", inventory, aurora_cluster=CLUSTER)
    ]


def peering(emulator, workdir, count):
    """Peering of `count` fresh ROSA clusters with an already provisioned Aurora, then again (no change);
    with 1 host then the cascading delete, with 5 hosts then the unpeer of one of them."""
    emulator.reset()
    play(emulator, "provision.yml", write_inventory(workdir, []), aurora_cluster=CLUSTER)
    inventory = write_inventory(workdir, seed(emulator, count))
    forks = ["-f", str(count)]
    results = [
        measure(emulator, "peering, first run", count, "peering.yml", inventory, forks, aurora_cluster=CLUSTER),
        measure(emulator, "peering, second run", count, "peering.yml", inventory, forks, aurora_cluster=CLUSTER),
    ]
    if count == 1:
        results.append(
            measure(
                emulator,
                "cascading delete, 1 peered ROSA host",
                1,
                "delete.yml",
                inventory,
                aurora_cluster=CLUSTER,
                aurora_delete_peerings=True,
            )
        )
    if count == 5:
        results.append(
            measure(
                emulator,
                "unpeer one host (--limit, of 5 peered)",
                1,
                "unpeer.yml",
                inventory,
                ["--limit", "rosa-0"],
                aurora_cluster=CLUSTER,
            )
        )
    return results


def network_lookup_actions(emulator):
    """The requests of one aurora_network_info call (peering's once-per-run Aurora lookup)."""
    emulator.reset()
    play(emulator, "provision.yml", None, aurora_cluster=CLUSTER)
    emulator.start_recording()
    command = [
        str(BIN / "ansible"),
        "localhost",
        "-m",
        "keycloak.aurora.aurora_network_info",
        "-a",
        f"cluster={CLUSTER} region=eu-west-1",
        "-e",
        "ansible_python_interpreter={{ ansible_playbook_python }}",
    ]
    subprocess.run(
        command, env=ansible_env(emulator.env(), json_output=False), cwd=REPO_ROOT, check=True, capture_output=True
    )
    emulator.stop_recording()
    return emulator.recorded_actions()


PROFILE_LINE = re.compile(r"^(?P<task>.+?) -{2,} (?P<seconds>\d+\.\d+)s$")


def profile_peering(emulator, workdir, count=10, top=10):
    """Top tasks of one peering run of `count` fresh hosts, from ansible.posix.profile_tasks."""
    emulator.reset()
    play(emulator, "provision.yml", write_inventory(workdir, []), aurora_cluster=CLUSTER)
    inventory = write_inventory(workdir, seed(emulator, count))
    run = run_playbook(
        emulator.env(),
        "peering.yml",
        extra_vars={"aurora_cluster": CLUSTER},
        inventory=inventory,
        args=["-f", str(count)],
        json_output=False,
        env={"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks", "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "100"},
    )
    if run.returncode != 0:
        raise BenchError(f"profile run failed:\n{run.stdout[-3000:]}")
    summary = run.stdout.split("=" * 20, 1)[-1]
    tasks = [(m["task"].strip(), float(m["seconds"])) for m in map(PROFILE_LINE.match, summary.splitlines()) if m]
    return sorted(tasks, key=lambda t: -t[1])[:top], sum(s for _t, s in tasks)

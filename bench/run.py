"""make bench: time, CPU and AWS requests of the collection's playbooks against the local emulator.

Writes bench/results.md (tables, targets) and bench/results.png (scaling with the ROSA host count).
BENCH_RUNS (default 3) sets how many times each scenario runs; figures are medians with min–max.
Exits non-zero when a no-change run sent a mutating request or changed something.

Then the AWS-time group (bench/time_mode.py): provision and cascading delete against an emulator where
resources take AWS's time (BENCH_AWS_TIME_SCALE, default 0.1 of AWS's durations), beside the documented
aws CLI procedure replayed by bench/aws_cli_procedure.py; one run each. It writes the last section of
results.md and bench/timeline.png, bench/timeline-delete.png.

BENCH_ONLY=instant or BENCH_ONLY=aws-time runs one of the two; the other's part of results.md is kept.
"""

import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bench import scenarios  # noqa: E402
from bench import time_mode  # noqa: E402
from bench import time_mode_report  # noqa: E402
from bench.scenarios import PEERING_HOSTS  # noqa: E402
from tools.emulator.harness import Emulator  # noqa: E402

HERE = Path(__file__).resolve().parent
PEERING_FIRST, PEERING_SECOND = "peering, first run", "peering, second run"
PROVISION_FIRST, PROVISION_SECOND = "provision, no ROSA host, first run", "provision, no ROSA host, second run"
PROVISION_ONE = "provision, 1 ROSA host, first run"
REQUEST_BUDGET = 16  # per ROSA cluster, besides the once-per-run Aurora network lookup


class Figure:
    """All runs of one (scenario, hosts)."""

    def __init__(self, runs):
        self.runs = runs
        self.scenario, self.hosts = runs[0].scenario, runs[0].hosts

    def stat(self, attribute):
        values = [getattr(r, attribute) if isinstance(attribute, str) else attribute(r) for r in self.runs]
        return statistics.median(values), min(values), max(values)

    def wall(self):
        return self.stat("wall")

    def requests(self):
        return self.stat(lambda r: len(r.actions))

    def mutating(self):
        return self.stat(lambda r: len(r.mutating))

    def count(self, action):
        return self.stat(lambda r: r.counts()[action])


def spread(values, digits=1):
    median, low, high = values
    if low == high:
        return f"{median:.{digits}f}" if digits else f"{median:g}"
    return f"{median:.{digits}f} [{low:.{digits}f}–{high:.{digits}f}]" if digits else f"{median:g} [{low:g}–{high:g}]"


def run_all(runs, workdir):
    with Emulator.start(log_path=workdir / "moto_server.log") as emulator:
        lookup = scenarios.network_lookup_actions(emulator)
        measurements = []
        for index in range(runs):
            print(f"run {index + 1}/{runs}", flush=True)
            groups = [
                lambda: scenarios.provision_without_hosts(emulator, workdir),
                lambda: scenarios.provision_with_one_host(emulator, workdir),
                *[lambda n=n: scenarios.peering(emulator, workdir, n) for n in PEERING_HOSTS],
            ]
            for group in groups:
                for m in group():
                    print(f"  {m.scenario:42} {m.hosts:3} hosts {m.wall:6.1f}s {len(m.actions):4} requests", flush=True)
                    measurements.append(m)
        print("profile: peering of 10 hosts with ansible.posix.profile_tasks", flush=True)
        profile = scenarios.profile_peering(emulator, workdir)
    figures = {}
    for m in measurements:
        figures.setdefault((m.scenario, m.hosts), []).append(m)
    return {key: Figure(runs) for key, runs in figures.items()}, lookup, profile


def per_host(figure, lookup):
    if not figure.scenario.startswith("peering"):
        return ""
    return spread(figure.stat(lambda r: (len(r.actions) - len(lookup)) / r.hosts))


def no_change_violations(figures):
    """Second runs must send only reads and change nothing."""
    problems = []
    for figure in figures.values():
        if "second run" not in figure.scenario:
            continue
        for run in figure.runs:
            if run.mutating or run.changed:
                problems.append(f"{figure.scenario}, {figure.hosts} hosts: changed={run.changed}, {run.mutating}")
    return problems


def verdict(ok):
    return "**met**" if ok else "**not met**"


def targets(figures, lookup, violations):
    nproc = len(os.sched_getaffinity(0))
    peer = {n: figures[(PEERING_FIRST, n)] for n in PEERING_HOSTS}
    one = peer[1].wall()[0]
    lines = []
    for label, figure, limit in (
        ("provision without ROSA hosts < 20 s", figures[(PROVISION_FIRST, 0)], 20),
        ("provision with 1 ROSA host < 30 s", figures[(PROVISION_ONE, 1)], 30),
    ):
        median, _low, high = figure.wall()
        lines.append(f"- {label}: median {median:.1f} s, slowest {high:.1f} s: {verdict(high < limit)}")
    for hosts, factor in ((10, 2), (20, 3)):
        ratio = peer[hosts].wall()[0] / one
        lines.append(
            f"- peering {hosts} hosts ≤ {factor}× 1 host: {peer[hosts].wall()[0]:.1f} s / {one:.1f} s = "
            f"{ratio:.2f}×: {verdict(ratio <= factor)}. Controller CPU {peer[hosts].stat('cpu')[0]:.1f} s "
            f"on {nproc} CPUs: no run can be faster than {peer[hosts].stat('cpu')[0] / nproc:.1f} s here "
            f"({peer[hosts].stat('cpu')[0] / nproc / one:.2f}× 1 host)"
        )
    worst = max((len(r.actions) - len(lookup)) / r.hosts for f in peer.values() for r in f.runs)
    lines.append(
        f"- peering ≤ {REQUEST_BUDGET} AWS requests per ROSA cluster (besides the {len(lookup)} requests of the "
        f"once-per-run Aurora network lookup, aurora_network_info: {', '.join(a for _s, a in lookup)}): "
        f"at most {worst:.1f} per cluster: {verdict(worst <= REQUEST_BUDGET)}"
    )
    second = [f for f in figures.values() if "second run" in f.scenario]
    runs = sum(len(f.runs) for f in second)
    lines.append(
        f"- a second, no-change run sends only read requests: checked from the recorder on {runs} runs "
        f"(provision and peering of 1–20 hosts): {verdict(not violations)}" + "".join(f"\n  - {v}" for v in violations)
    )
    first, again = figures[(PROVISION_FIRST, 0)], figures[(PROVISION_SECOND, 0)]
    scan = [first.count("DescribeRegions")[0], first.count("DescribeVpcs")[0]]
    rescan = [again.count("DescribeRegions")[0], again.count("DescribeVpcs")[0]]
    lines.append(
        f"- the CIDR region scan runs only when a new CIDR is allocated: DescribeRegions / DescribeVpcs "
        f"{scan[0]:g} / {scan[1]:g} in the first provision run, {rescan[0]:g} / {rescan[1]:g} in the second: "
        f"{verdict(rescan[0] == 0 and rescan[1] <= 1)}. Whether the scan runs concurrently is not measured "
        "here; against the emulator every region answers at once."
    )
    return lines


def markdown(figures, lookup, profile, violations, meta):
    rows = [
        "| scenario | ROSA hosts | wall s, median [min–max] | controller CPU s | emulator CPU s "
        "| requests | mutating | requests per ROSA host |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for figure in figures.values():
        rows.append(
            f"| {figure.scenario} | {figure.hosts} | {spread(figure.wall())} | {spread(figure.stat('cpu'))} "
            f"| {spread(figure.stat('emulator_cpu'))} | {spread(figure.requests(), 0)} "
            f"| {spread(figure.mutating(), 0)} | {per_host(figure, lookup)} |"
        )
    peer = {n: figures[(PEERING_FIRST, n)] for n in PEERING_HOSTS}
    ratios = [
        "| peering, first run | wall time | requests |",
        "| --- | ---: | ---: |",
        *(
            f"| {n} hosts / 1 host | {peer[n].wall()[0] / peer[1].wall()[0]:.2f}× "
            f"| {peer[n].requests()[0] / peer[1].requests()[0]:.2f}× |"
            for n in (5, 10, 20)
        ),
    ]
    actions = []
    for figure in figures.values():
        counts = figure.runs[0].counts()
        varies = any(r.counts() != counts for r in figure.runs[1:])
        listed = ", ".join(f"{action} {n}" for action, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        actions.append(
            f"- {figure.scenario}, {figure.hosts} hosts{' (run 1; other runs differ)' if varies else ''}: {listed}"
        )
    total_profile = profile[1]
    top = [
        "| task | s | share |",
        "| --- | ---: | ---: |",
        *(f"| {task} | {seconds:.2f} | {seconds / total_profile:.0%} |" for task, seconds in profile[0]),
    ]
    text = f"""# keycloak.aurora benchmark

Generated by `make bench` (`bench/run.py`) on {meta["date"]}; this part took {meta["duration"]}.
Machine: {meta["nproc"]} CPUs (nproc), Python {meta["python"]}, ansible-core {meta["ansible"]}, moto {meta["moto"]},
{meta["system"]}; checkout {meta["commit"]}; 1-minute load average {meta["load"]} the run
(other work on the machine competes for the CPUs and inflates wall times).
Each figure is the median of {meta["runs"]} runs (`BENCH_RUNS`), with [min–max] when they differ.

How it is measured: one local AWS emulator (moto server, `tools/emulator`), reset before each scenario group;
the setup a scenario needs (a provisioned Aurora, seeded ROSA clusters) is not measured. Wall time of the
`ansible-playbook` run; controller CPU = user+sys of the `ansible-playbook` process tree (getrusage of the
reaped children); emulator CPU = user+sys of the moto server during the run (it shares the {meta["nproc"]} CPUs);
requests = what the emulator's recorder saw, mutating = every action that is not a Describe/List/Get.
Peering runs use `-f` equal to the host count. Each simulated ROSA cluster has a distinct machine CIDR
`10.<n>.0.0/16`, **one AZ** (`azs=1`: one public and one private subnet, **one private route table**
per cluster, one worker). Requests per ROSA host = (requests − the {len(lookup)} requests of the
once-per-run Aurora network lookup) / hosts. The emulator has no intermediate states (clusters and peerings are
available at once), so wait loops run one poll: on AWS, provisioning is dominated by the ~10–20 minutes
Aurora takes to create; these figures are the collection's own overhead.

## Results

{chr(10).join(rows)}

Scenarios: provision = `playbooks/provision.yml` (empty inventory, or one ROSA host); peering =
`playbooks/peering.yml` on an already provisioned Aurora with fresh peerings, then the same again (no change);
unpeer = `playbooks/unpeer.yml --limit rosa-0` after peering 5 hosts; cascading delete =
`playbooks/delete.yml -e aurora_delete_peerings=true` with 1 peered ROSA cluster.

## Scaling with the number of ROSA hosts

![time and requests against ROSA hosts](results.png)

{chr(10).join(ratios)}

## Targets

{chr(10).join(targets(figures, lookup, violations))}

## Where the time goes: peering of 10 fresh hosts, top 10 tasks

`ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks` on one extra run of `peering.yml -f 10` (not one of the
measured runs). A task's time runs from its start to the end of its slowest host (linear strategy); the share
is of the sum of all tasks ({total_profile:.1f} s).

{chr(10).join(top)}

## Requests by action

{chr(10).join(actions)}
"""
    return text


def write_plot(figures, lookup):
    fig, (times, requests) = plt.subplots(1, 2, figsize=(11, 4.2))
    for scenario, marker in ((PEERING_FIRST, "o"), (PEERING_SECOND, "s")):
        series = [figures[(scenario, n)] for n in PEERING_HOSTS]
        medians, lows, highs = zip(*(f.wall() for f in series))
        errors = [[m - low for m, low in zip(medians, lows)], [high - m for m, high in zip(medians, highs)]]
        times.errorbar(PEERING_HOSTS, medians, yerr=errors, marker=marker, capsize=3, label=scenario)
        requests.plot(PEERING_HOSTS, [f.requests()[0] for f in series], marker=marker, label=f"{scenario}: all")
    one = figures[(PEERING_FIRST, 1)].wall()[0]
    times.plot([1, 10, 20], [one, 2 * one, 3 * one], "k:", label="target: 2× at 10, 3× at 20 hosts")
    mutating = [figures[(PEERING_FIRST, n)].mutating()[0] for n in PEERING_HOSTS]
    requests.plot(PEERING_HOSTS, mutating, marker="^", label=f"{PEERING_FIRST}: mutating")
    budget = [REQUEST_BUDGET * n + len(lookup) for n in PEERING_HOSTS]
    requests.plot(PEERING_HOSTS, budget, "k:", label=f"budget: {REQUEST_BUDGET} per host + {len(lookup)} once")
    times.set(xlabel="ROSA hosts (forks = hosts)", ylabel="wall time, s (median, min–max)", title="Peering time")
    requests.set(xlabel="ROSA hosts", ylabel="AWS requests (median)", title="Peering AWS requests")
    for axes in (times, requests):
        axes.set_xticks(PEERING_HOSTS)
        axes.set_ylim(bottom=0)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(HERE / "results.png", dpi=120)


def commit():
    """The checkout measured: HEAD, and whether the collection or the tools had uncommitted changes."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE.parent, check=False
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "plugins", "roles", "playbooks", "tools"],
        capture_output=True,
        text=True,
        cwd=HERE.parent,
        check=False,
    )
    return head.stdout.strip() + (" with uncommitted changes" if dirty.stdout.strip() else "")


def split_results(text):
    """(the instant group's part, the AWS-time section) of a results.md."""
    at = text.find(time_mode_report.HEADING)
    return (text, "") if at < 0 else (text[:at], text[at:])


def instant_group(runs, meta):
    """The instant group: (its part of results.md, whether its no-change runs stayed read-only)."""
    start, load_before = time.monotonic(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="keycloak-aurora-bench-") as workdir:
        figures, lookup, profile = run_all(runs, Path(workdir))
    meta = {
        **meta,
        "duration": f"{(time.monotonic() - start) / 60:.1f} min",
        "runs": runs,
        "load": f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after",
    }
    violations = no_change_violations(figures)
    write_plot(figures, lookup)
    for violation in violations:
        print(f"NO-CHANGE RUN NOT READ-ONLY: {violation}", file=sys.stderr)
    print(f"second runs read-only: {'yes' if not violations else 'NO'}")
    return markdown(figures, lookup, profile, violations, meta), not violations


def aws_time_group(meta):
    with tempfile.TemporaryDirectory(prefix="keycloak-aurora-bench-aws-time-") as workdir:
        runs, durations = time_mode.run_group(Path(workdir))
    time_mode_report.timeline(runs, "provision", HERE / "timeline.png")
    time_mode_report.timeline(runs, "delete", HERE / "timeline-delete.png")
    return time_mode_report.section(runs, durations, meta)


def main():
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    if runs < 1:
        sys.exit("BENCH_RUNS must be at least 1")
    only = os.environ.get("BENCH_ONLY", "")
    if only not in ("", "instant", "aws-time"):
        sys.exit(f"BENCH_ONLY must be instant or aws-time, not {only!r}")
    import ansible.release
    import moto

    meta = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "ansible": ansible.release.__version__,
        "moto": moto.__version__,
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "commit": commit(),
    }
    results = HERE / "results.md"
    instant, timed = split_results(results.read_text() if results.exists() else "")
    read_only = True
    if only != "aws-time":
        instant, read_only = instant_group(runs, meta)
    if only != "instant":
        timed = aws_time_group(meta)
    results.write_text(instant.rstrip("\n") + "\n" + (f"\n{timed.rstrip()}\n" if timed else ""))
    print(results.read_text())
    return 0 if read_only else 1


if __name__ == "__main__":
    sys.exit(main())

"""The AWS-time group's section of bench/results.md, and its timelines (bench/timeline.png, timeline-delete.png)."""

import collections

import matplotlib.pyplot as plt

from bench.time_mode import DELETE_TARGET
from bench.time_mode import OTHER
from bench.time_mode import POLL_DELAY
from bench.time_mode import PROVISION_TARGET
from bench.time_mode import ROSA
from bench.time_mode import SAMPLE_INTERVAL
from bench.time_mode import SCALE

HEADING = "## AWS time mode: the lifecycle against AWS's durations"
COLLECTION, CLI = "collection", "aws CLI"
STATE_COLOURS = {
    "creating": "#f4a261",
    "available": "#2a9d8f",
    "deleting": "#e76f51",
    "initiating-request": "#b5838d",
    "pending-acceptance": "#e9c46a",
    "provisioning": "#8ecae6",
    "active": "#2a9d8f",
    "deleted": "#adb5bd",
    "in-use": "#457b9d",
}
ROW_ORDER = ("DB cluster", "DB instance", "peering", "RDS interface", OTHER)


def imposed(operation, durations):
    """(seconds, how) the emulator imposes on the critical path of `operation`."""
    if operation == "provision":
        return durations["instance_create"], "instance_create"
    return durations["instance_delete"] + durations["eni_linger"], "instance_delete + eni_linger"


def ticks(run):
    """{sample time: {row: state}}."""
    found = {}
    for at, row, state in run.samples:
        found.setdefault(at, {})[row] = state
    return dict(sorted(found.items()))


def all_reached(run, kind, state):
    """When every row of `kind` had first shown `state` (sampled), or None."""
    firsts = {}
    for at, row, seen in run.samples:
        if row.startswith(kind) and seen == state:
            firsts.setdefault(row, at)
    rows = {row for _at, row, _state in run.samples if row.startswith(kind)}
    return max(firsts.values()) if rows and rows == set(firsts) else None


def all_gone(run, kind, after):
    """The first sample after `after` in which no row of `kind` shows, or None."""
    if after is None:
        return None
    return next(
        (at for at, states in ticks(run).items() if at > after and not any(r.startswith(kind) for r in states)), None
    )


def milestones(run):
    """[(what, seconds since the start or None)] of one run."""
    first_request = run.requests[0].at if run.requests else None
    last_request = run.requests[-1].at if run.requests else None
    if run.operation == "provision":
        return [
            ("first AWS request", first_request),
            ("CreateDBCluster", run.first("CreateDBCluster")),
            ("last CreateDBInstance", run.last("CreateDBInstance")),
            ("first CreateVpcPeeringConnection", run.first("CreateVpcPeeringConnection")),
            ("every peering active (sampled)", all_reached(run, "peering", "active")),
            ("every DB instance available (sampled)", all_reached(run, "DB instance", "available")),
            ("last AWS request", last_request),
            ("end of the run", run.wall),
        ]
    deleting = run.first("DeleteDBInstance")
    return [
        ("first AWS request", first_request),
        ("first DeleteVpcPeeringConnection", run.first("DeleteVpcPeeringConnection")),
        ("first DeleteDBInstance", deleting),
        ("every DB instance gone (sampled)", all_gone(run, "DB instance", deleting)),
        ("first DeleteDBCluster", run.first("DeleteDBCluster")),
        ("every RDS interface gone (sampled)", all_gone(run, "RDS interface", deleting)),
        ("first DeleteSubnet", run.first("DeleteSubnet")),
        ("last DeleteSubnet", run.last("DeleteSubnet")),
        ("DeleteVpc", run.first("DeleteVpc")),
        ("end of the run", run.wall),
    ]


def seconds(value):
    return "–" if value is None else f"{value:.1f}"


def summary_rows(runs, durations):
    rows = [
        "| run | wall s | imposed s | wall / imposed | target | collection / aws CLI | requests | mutating |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    verdicts = []
    for operation, target in (("provision", PROVISION_TARGET), ("delete", DELETE_TARGET)):
        limit, how = imposed(operation, durations)
        collection, cli = runs[(COLLECTION, operation)], runs.get((CLI, operation))
        for run in (collection, cli):
            if run is None:
                continue
            ratio = run.wall / limit
            mutating = sum(r.mutating for r in run.requests)
            if run is collection:
                mark = f"≤ {target} {'**met**' if ratio <= target else '**not met**'}"
                versus = f"{collection.wall / cli.wall:.2f}×" if cli else "–"
                verdicts.append(
                    f"- {operation} / ({how}) ≤ {target}: {run.wall:.1f} s / {limit:g} s = {ratio:.2f}×: "
                    f"{'**met**' if ratio <= target else '**not met**'}"
                    + (f"; the aws CLI procedure: {cli.wall / limit:.2f}×" if cli else "")
                )
            else:
                mark, versus = "reference", ""
            rows.append(
                f"| {run.who}, {operation} | {run.wall:.1f} | {how} = {limit:g} | {ratio:.2f}× | {mark} | {versus} "
                f"| {len(run.requests)} | {mutating} |"
            )
    return rows, verdicts


def milestone_rows(runs, operation):
    present = [run for run in (runs.get((COLLECTION, operation)), runs.get((CLI, operation))) if run]
    rows = [f"| {operation}: s since the start | " + " | ".join(r.who for r in present) + " |"]
    rows.append("| --- |" + " ---: |" * len(present))
    table = [dict(milestones(run)) for run in present]
    for what, _at in milestones(present[0]):
        rows.append(f"| {what} | " + " | ".join(seconds(t.get(what)) for t in table) + " |")
    return rows


def held_up(runs):
    """How long deletes were refused while the deleted instances' interfaces lingered."""
    lines = []
    collection = runs[(COLLECTION, "delete")]
    first, last = collection.first("DeleteSubnet"), collection.last("DeleteSubnet")
    if first is not None:
        attempts = [r.parameters.get("SubnetId") for r in collection.requests if r.action == "DeleteSubnet"]
        lines.append(
            f"- collection: {len(attempts)} DeleteSubnet requests for {len(set(attempts))} subnets, from {first:.1f} s "
            f"to {last:.1f} s ({last - first:.1f} s; so {len(attempts) - len(set(attempts))} refused: the recorder "
            f"sees requests, not answers), DeleteVpc at {seconds(collection.first('DeleteVpc'))} s"
        )
    cli = runs.get((CLI, "delete"))
    if cli and cli.held:
        lines.append(
            f"- aws CLI script: {cli.held['refusals']} deletes refused with DependencyViolation, from "
            f"{cli.held['first']:.1f} s until the last retried delete succeeded at {cli.held['until']:.1f} s "
            f"({cli.held['until'] - cli.held['first']:.1f} s, retrying every {10 * SCALE:g} s)"
        )
    elif cli:
        lines.append("- aws CLI script: no DependencyViolation (the interfaces were gone when it deleted the subnets)")
    return lines


def section(runs, durations, meta):
    """The markdown section; `meta`: date, commit."""
    rows, verdicts = summary_rows(runs, durations)
    listed = ", ".join(f"{name} {value:g} s" for name, value in durations.items())
    cli_note = (
        ""
        if (CLI, "provision") in runs
        else "\n\n**The aws CLI was not on PATH: the reference procedure was not run.**"
    )
    return f"""{HEADING}

Measured on {meta["date"]}, checkout {meta["commit"]}, by `bench/time_mode.py` (`BENCH_ONLY=aws-time make bench`
runs this group alone and rewrites only this section). One run each (these runs take minutes; the
durations are fixed by the emulator, so the spread comes only from the tools' own seconds).

The emulator in its AWS time mode (`tools/emulator/aws_time.py`) at scale {SCALE:g} of AWS's typical durations:
{listed}. At this scale an instance takes {durations["instance_create"]:g} s to create: AWS's time dominates as it does
on AWS, while the tools' own overhead (ansible-playbook's start, each `aws` process's start, a few seconds)
is not scaled: a ratio here is a little worse than the same run would show on AWS.
Two simulated ROSA clusters: {", ".join(f"{name} in {region}" for name, region, _cidr in ROSA)}
(a cross-region peering, `initiating-request` then `pending-acceptance`).

- collection: `playbooks/provision.yml -f 2` from nothing, then `playbooks/delete.yml -e aurora_delete_peerings=true`
  (final snapshot taken), with `KEYCLOAK_AURORA_POLL_DELAY={POLL_DELAY:g}` (the collection's waits poll at most
  every {POLL_DELAY:g} s, 10 s of AWS's time).
- aws CLI: `bench/aws_cli_procedure.py`, the guide's commands in the guide's order, one `aws` process each,
  against the same emulator after a reset: the instances right after the cluster, `aws rds wait
  db-instance-available`, then each ROSA cluster in turn (peering, `wait vpc-peering-connection-exists`,
  accept, routes both ways, ingress); its delete waits for the instances and the cluster to be deleted and
  retries what DependencyViolation refuses every {10 * SCALE:g} s. The CLI's waiters poll every 30 s (15 s
  for a peering) on AWS: here they poll at the same scale ({30 * SCALE:g} s, {15 * SCALE:g} s), so that
  they are as coarse, relative to what they wait for, as a user's.{cli_note}

{chr(10).join(rows)}

{chr(10).join(verdicts)}

Imposed = the emulator's durations on the critical path: a provision cannot end before its instances
are available (instance_create from CreateDBInstance; the cluster, {durations["cluster_create"]:g} s, is
shorter), a delete not before the instances are deleted and their interfaces released (the subnets
cannot go before). Requests: what the recorder saw, without the state sampler's.

![timeline of one provision: collection and aws CLI](timeline.png)

![timeline of one cascading delete: collection and aws CLI](timeline-delete.png)

Bars: the states of the resources, sampled every {SAMPLE_INTERVAL:g} s by Describe calls from a thread
(left out of the request counts). Ticks: the requests when they arrived at the emulator (the recorder's
`time`), on the row of the resource they name (grey: reads; black and labelled: the rest).

### Where the time goes

{chr(10).join(milestone_rows(runs, "provision"))}

{chr(10).join(milestone_rows(runs, "delete"))}

Deletes refused while the interfaces of the deleted instances linger (eni_linger {durations["eni_linger"]:g} s
after each instance is gone):

{chr(10).join(held_up(runs))}

{explain(runs, durations)}
"""


def explain(runs, durations):
    """Where the time goes, in sentences made from the measured milestones."""
    provision = dict(milestones(runs[(COLLECTION, "provision")]))
    delete = dict(milestones(runs[(COLLECTION, "delete")]))
    lines = []
    available, created = provision["every DB instance available (sampled)"], provision["last CreateDBInstance"]
    peering = provision["first CreateVpcPeeringConnection"]
    if available is not None and created is not None:
        lines.append(
            f"Provision: the instances are requested {created:.1f} s into the run (ansible-playbook's start, the "
            f"network, the subnet group, the security group and the cluster before them) and are available "
            f"{available:.1f} s in; after that the run goes on for {provision['end of the run'] - available:.1f} s"
            + (
                f", the first peering request coming {peering - available:.1f} s after the instances were available"
                if peering is not None and peering > available
                else ", the peerings having been requested while the instances were creating"
                if peering is not None
                else ""
            )
            + "."
        )
    gone, end = delete["every RDS interface gone (sampled)"], delete["end of the run"]
    deleting = delete["first DeleteDBInstance"]
    if gone is not None and deleting is not None:
        lines.append(
            f"Cascading delete: the instances are deleted {deleting:.1f} s into the run (the peerings first), "
            f"their interfaces are gone {gone:.1f} s in ({gone - deleting:.1f} s later, against "
            f"{imposed('delete', durations)[0]:g} s imposed), and the run ends {end - gone:.1f} s after that."
        )
    return " ".join(lines)


def rows_of(runs):
    """The rows of the timelines, in ROW_ORDER, shared by the panels so that they line up."""
    names = {row for run in runs for _at, row, _state in run.samples} | {OTHER}
    return sorted(names, key=lambda row: (next(i for i, kind in enumerate(ROW_ORDER) if row.startswith(kind)), row))


def request_row(request, rows):
    """The row of the resource a request names (the instance before its cluster; a ROSA VPC stands for its
    peering), else OTHER."""
    for key in ("DBInstanceIdentifier", "DBClusterIdentifier", "VpcPeeringConnectionId"):
        if request.parameters.get(key) in rows:
            return rows[request.parameters[key]]
    # Not by a tag's value: CreateVpc's tag AuroraCluster=<c> names the cluster, not the request's resource.
    named = (value for key, value in request.parameters.items() if "Tag" not in key)
    return next((rows[value] for value in named if value in rows), OTHER)


def segments(run):
    """{row: [(start, end, state)]}: each sample's state lasts until the next sample."""
    times = list(ticks(run).items())
    found = {}
    for index, (at, states) in enumerate(times):
        end = times[index + 1][0] if index + 1 < len(times) else at + SAMPLE_INTERVAL
        for row, state in states.items():
            spans = found.setdefault(row, [])
            if spans and spans[-1][2] == state and spans[-1][1] == at:
                spans[-1] = (spans[-1][0], end, state)
            else:
                spans.append((at, end, state))
    return found


def draw(axes, run, rows):
    y = {row: len(rows) - 1 - i for i, row in enumerate(rows)}
    for row, spans in segments(run).items():
        for start, end, state in spans:
            axes.barh(y[row], end - start, left=start, height=0.45, color=STATE_COLOURS.get(state, "#dddddd"))
    repeats = collections.Counter((request_row(r, run.rows), r.action) for r in run.requests if r.mutating)
    labelled = set()
    for request in run.requests:
        where = request_row(request, run.rows)
        row = y[where] + 0.33
        if request.mutating:
            axes.plot(request.at, row, "k.", markersize=4)
            if (where, request.action) in labelled:  # a retry: its first request carries the count
                continue
            labelled.add((where, request.action))
            count = repeats[(where, request.action)]
            axes.annotate(
                request.action + (f" ×{count}" if count > 1 else ""),
                (request.at, row),
                rotation=70,
                fontsize=5,
                xytext=(0, 2),
                textcoords="offset points",
                ha="left",
                va="bottom",
            )
        else:
            axes.plot(request.at, row, "|", color="grey", markersize=5, alpha=0.6)
    axes.axvline(run.wall, color="k", linestyle=":", linewidth=1)
    axes.set_yticks(list(y.values()), list(y))
    axes.set_ylim(-0.6, len(rows) + 0.4)
    axes.set(xlabel="seconds since the start of the run", title=f"{run.who}: {run.operation}, {run.wall:.0f} s")
    axes.grid(axis="x", alpha=0.3)


def timeline(runs, operation, path):
    present = [run for run in (runs.get((COLLECTION, operation)), runs.get((CLI, operation))) if run]
    rows = rows_of(present)
    figure, panels = plt.subplots(
        1, len(present), figsize=(8 * len(present), 1.6 + 0.7 * len(rows)), sharex=True, sharey=True, squeeze=False
    )
    for axes, run in zip(panels[0], present):
        draw(axes, run, rows)
    panels[0][0].set_xlim(0, 1.03 * max(run.wall for run in present))  # shared: the same scale side by side
    used = sorted({state for run in present for _at, _row, state in run.samples})
    handles = [plt.Rectangle((0, 0), 1, 1, color=STATE_COLOURS.get(state, "#dddddd")) for state in used]
    figure.legend(handles, used, loc="lower center", ncol=len(used), fontsize=8, frameon=False)
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    figure.savefig(path, dpi=120)
    plt.close(figure)

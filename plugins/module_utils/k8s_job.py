# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a Kubernetes Job that ran one program (aurora_keycloak's connection check, schema reset) came to."""

from __future__ import annotations

# The conditions of a Job that will not change any more: with backoffLimit 0 there is no second attempt.
FINAL_CONDITIONS = ("Complete", "Failed")


def final_conditions(job):
    """The final condition types the Job carries as true: empty while it runs."""
    conditions = (job.get("status") or {}).get("conditions") or []
    return [
        condition["type"]
        for condition in conditions
        if condition.get("status") == "True" and condition.get("type") in FINAL_CONDITIONS
    ]


def ended(jobs):
    """Whether waiting for the Job is over: it is Complete or Failed, or gone (none of jobs, as k8s_info lists it)."""
    return not jobs or bool(final_conditions(jobs[0]))


def pod_state(pod):
    """The pod's phase, and why its containers wait (reason, message) if they do: 'Pending: ErrImagePull, ...'."""
    phase = (pod.get("status") or {}).get("phase") or "not created"
    waiting = [
        text
        for container in (pod.get("status") or {}).get("containerStatuses") or []
        for key, text in ((container.get("state") or {}).get("waiting") or {}).items()
        if key in ("reason", "message")
    ]
    return f"{phase}: {', '.join(waiting)}" if waiting else phase


def outcome(jobs, pods, log_lines, command, timeout):
    """succeeded (bool), and said: what the program printed, or why it never finished.

    jobs and pods as k8s_info lists them (none or one each); log_lines as k8s_log returns them; command the
    Job's command, whose first word names the program; timeout the seconds the Job was given.
    """
    finished = final_conditions(jobs[0]) if jobs else []
    if not finished:
        state = pod_state(pods[0] if pods else {})
        return {"succeeded": False, "said": f"the Job did not finish within {timeout} s; its pod is {state}"}
    return {"succeeded": "Complete" in finished, "said": f"{command[0]}: {' '.join(log_lines)}"}

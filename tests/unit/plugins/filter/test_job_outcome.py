from ansible_collections.keycloak.aurora.plugins.filter.job_ended import FilterModule as JobEnded
from ansible_collections.keycloak.aurora.plugins.filter.job_outcome import FilterModule as JobOutcome

job_outcome = JobOutcome().filters()["job_outcome"]
job_ended = JobEnded().filters()["job_ended"]

COMMAND = ["/bin/sh", "-c", "psql ..."]


def job(*conditions):
    return {"metadata": {"name": "aurora-connection-check"}, "status": {"conditions": list(conditions)}}


def condition(kind, status="True"):
    return {"type": kind, "status": status}


def pod(phase, *waiting):
    statuses = [{"name": "postgresql-client", "state": {"waiting": state}} for state in waiting]
    return {
        "metadata": {"name": "aurora-connection-check-x"},
        "status": {"phase": phase, "containerStatuses": statuses},
    }


def outcome(jobs, pods=(), log_lines=()):
    return job_outcome(jobs, pods=list(pods), log_lines=list(log_lines), command=COMMAND, timeout=300)


def test_a_complete_job_succeeded_and_says_what_the_program_printed():
    assert outcome([job(condition("Complete"))], [pod("Succeeded")], ["logged in as keycloak", "ok"]) == {
        "succeeded": True,
        "said": "/bin/sh: logged in as keycloak ok",
    }


def test_a_failed_job_did_not_succeed_and_says_what_the_program_printed():
    said = outcome([job(condition("Failed"))], [pod("Failed")], ["password authentication failed"])
    assert said == {"succeeded": False, "said": "/bin/sh: password authentication failed"}


def test_a_failed_job_without_a_log_says_only_the_program():
    assert outcome([job(condition("Failed"))], [pod("Failed")]) == {"succeeded": False, "said": "/bin/sh: "}


def test_a_condition_that_is_not_true_does_not_finish_the_job():
    said = outcome([job(condition("Complete", "False"), condition("Suspended"))], [pod("Running")], ["half"])
    assert said == {"succeeded": False, "said": "the Job did not finish within 300 s; its pod is Running"}


def test_a_job_that_did_not_finish_says_why_its_containers_wait():
    waiting = {"reason": "ErrImagePull", "message": "image postgres:17 not found"}
    said = outcome([job()], [pod("Pending", waiting, {"reason": "ContainerCreating"})])
    assert said == {
        "succeeded": False,
        "said": "the Job did not finish within 300 s; its pod is Pending: ErrImagePull, image postgres:17 not found, "
        "ContainerCreating",
    }


def test_a_job_without_a_status_or_a_pod_says_the_pod_was_not_created():
    said = outcome([{"metadata": {"name": "aurora-connection-check"}}])
    assert said == {"succeeded": False, "said": "the Job did not finish within 300 s; its pod is not created"}


def test_a_job_that_is_gone_did_not_finish():
    assert outcome([], [pod("Pending")]) == {
        "succeeded": False,
        "said": "the Job did not finish within 300 s; its pod is Pending",
    }


def test_waiting_ends_when_the_job_is_complete_failed_or_gone():
    assert job_ended([job(condition("Complete"))])
    assert job_ended([job(condition("Failed"))])
    assert job_ended([])


def test_waiting_goes_on_while_the_job_runs():
    assert not job_ended([job()])
    assert not job_ended([{"metadata": {"name": "aurora-connection-check"}}])
    assert not job_ended([job(condition("Failed", "False"))])

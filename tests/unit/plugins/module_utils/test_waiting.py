import botocore.exceptions
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from aws_fakes import FakeClock

from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import MIN_POLL_DELAY
from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import POLL_DELAY_VARIABLE
from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import deadline
from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import outlast
from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import poll_delay
from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import wait_patiently


def waiter_error(code=None):
    response = {"Error": {"Code": code}} if code else {"Vpcs": [{"State": "pending"}]}
    return botocore.exceptions.WaiterError(name="VpcAvailable", reason="failed", last_response=response)


class ScriptedWaiter:
    """Raises the scripted errors one per wait() call, then succeeds."""

    def __init__(self, errors):
        self.errors = list(errors)
        self.calls = []

    def get_waiter(self, name):
        assert name == "vpc_available"
        return self

    def wait(self, **kwargs):
        self.calls.append(kwargs)
        if self.errors:
            raise self.errors.pop(0)


def wait(client, clock, remaining=60):
    wait_patiently(
        client,
        "vpc_available",
        what="VPC vpc-1",
        remaining=remaining,
        retry_codes=["InvalidVpcID.NotFound"],
        sleep=clock.sleep,
        clock=clock,
        VpcIds=["vpc-1"],
    )


def test_success_at_once_needs_one_call():
    client, clock = ScriptedWaiter([]), FakeClock()
    wait(client, clock)
    assert client.calls == [{"VpcIds": ["vpc-1"], "WaiterConfig": {"Delay": 5, "MaxAttempts": 12}}]
    assert clock.sleeps == []


@pytest.mark.parametrize("code", ["RequestLimitExceeded", "Throttling", "InvalidVpcID.NotFound"])
def test_throttling_and_not_yet_visible_keep_it_waiting(code):
    client, clock = ScriptedWaiter([waiter_error(code), waiter_error(code)]), FakeClock()
    wait(client, clock)
    assert len(client.calls) == 3 and clock.sleeps == [5, 5]


def test_other_errors_end_the_wait():
    client, clock = ScriptedWaiter([waiter_error("UnauthorizedOperation")]), FakeClock()
    with pytest.raises(AnsibleAWSError, match="Failed waiting for VPC vpc-1"):
        wait(client, clock)
    assert len(client.calls) == 1


def test_the_end_of_the_time_ends_the_wait():
    client, clock = ScriptedWaiter([waiter_error("RequestLimitExceeded")] * 100), FakeClock()
    with pytest.raises(AnsibleAWSError):
        wait(client, clock, remaining=20)
    assert clock.now - 1000.0 <= 20


def test_max_attempts_without_an_error_code_is_a_timeout():
    client, clock = ScriptedWaiter([waiter_error()]), FakeClock()
    with pytest.raises(AnsibleAWSError):
        wait(client, clock)


class StuckVpc(Exception):
    pass


@pytest.mark.parametrize(
    ("explained", "expected"), [(StuckVpc("vpc-1 is stuck"), StuckVpc), (None, AnsibleAWSError)], ids=["own", "generic"]
)
def test_the_caller_may_explain_the_failure_in_its_own_terms(explained, expected):
    client, clock = ScriptedWaiter([waiter_error()]), FakeClock()
    seen = []

    def explain(error):
        seen.append(error.last_response)
        return explained

    with pytest.raises(expected):
        wait_patiently(client, "vpc_available", what="VPC vpc-1", remaining=60, explain=explain, clock=clock)
    assert seen == [{"Vpcs": [{"State": "pending"}]}]


def test_a_deadline_counts_down_one_budget_and_never_below_zero():
    clock = FakeClock()
    time_left = deadline(100, clock)
    clock.sleep(30)
    assert time_left() == 70
    clock.sleep(80)
    assert time_left() == 0


@pytest.mark.parametrize(
    ("started_ago", "left"),
    [(0, 100), (40, 60), (100, 0), (500, 0), (-5, 100)],
    ids=["just-now", "earlier-steps-took-40s", "spent", "long-spent", "clock-skew-never-adds"],
)
def test_a_run_deadline_leaves_a_later_module_only_what_earlier_steps_left(started_ago, left):
    clock = FakeClock()
    wall = 1_800_000_000.0
    time_left = deadline(100, clock, run_started=wall - started_ago, wall=lambda: wall)
    assert time_left() == left
    clock.sleep(10)
    assert time_left() == max(0, left - 10)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 15), ("", 15), ("0.5", 0.5), ("60", 15), ("0", MIN_POLL_DELAY), ("soon", 15)],
    ids=["unset", "empty", "shorter", "never-longer", "never-busy", "not-a-number"],
)
def test_the_environment_shortens_the_poll_delay_only(value, expected):
    environ = {} if value is None else {POLL_DELAY_VARIABLE: value}
    assert poll_delay(15, environ) == expected


def state_fault(code="InvalidDBClusterStateFault"):
    error = botocore.exceptions.ClientError({"Error": {"Code": code, "Message": code}}, "ModifyDBCluster")
    return AnsibleAWSError(message="modify DB cluster", exception=error)


class Refusing:
    """A call refused with a state fault the first ``times`` times."""

    def __init__(self, times, code="InvalidDBClusterStateFault"):
        self.times, self.code, self.calls = times, code, 0

    def __call__(self):
        self.calls += 1
        if self.calls <= self.times:
            raise state_fault(self.code)
        return "done"


class Stuck(Exception):
    pass


def outlast_with(call, clock, budget=60, **kwargs):
    return outlast(
        call,
        codes=["InvalidDBClusterStateFault"],
        time_left=deadline(budget, clock),
        delay=10,
        sleep=clock.sleep,
        timed_out=lambda e: Stuck(e.exception.response["Error"]["Code"]),
        **kwargs,
    )


def test_a_state_fault_is_outlasted_until_the_call_goes_through():
    clock, call = FakeClock(), Refusing(3)
    assert outlast_with(call, clock) == "done"
    assert call.calls == 4 and clock.sleeps == [10, 10, 10]


def test_a_state_fault_past_the_deadline_is_the_callers_error():
    clock, call = FakeClock(), Refusing(1000)
    with pytest.raises(Stuck, match="InvalidDBClusterStateFault"):
        outlast_with(call, clock, budget=25)
    assert clock.sleeps == [10, 10, 5]


def test_other_errors_are_not_outlasted():
    clock, call = FakeClock(), Refusing(1, code="AccessDenied")
    with pytest.raises(AnsibleAWSError):
        outlast_with(call, clock)
    assert call.calls == 1 and clock.sleeps == []


def test_a_refusal_that_means_done_ends_it_without_a_retry():
    clock, call = FakeClock(), Refusing(1)
    assert outlast_with(call, clock, progress=lambda e: True) is None
    assert call.calls == 1 and clock.sleeps == []

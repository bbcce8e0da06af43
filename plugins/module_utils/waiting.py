# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Waiting on AWS: one deadline per run, state faults outlasted, botocore waiters that keep waiting.

AWS's transitions take minutes (a DB instance is ``creating`` for 5-15 min, the network interfaces
of a deleted one linger for up to about 20 min), and while one lasts AWS refuses what depends on it
with a state fault (InvalidDBClusterStateFault, DependencyViolation, ...). amazon.aws's jittered
backoff gives up after about 3 minutes: here such a fault is retried until the run's one deadline
(``deadline(wait_timeout, run_started=...)``, shared by every step of a playbook run: each module
gets what the earlier ones left) has passed.

Polls are ``POLL_DELAY_VARIABLE`` seconds apart when that environment variable is set, and never
further apart than each caller's own delay (15 s for a DB cluster): the tests and the benchmark set
it to poll the emulator, whose AWS time mode scales AWS's minutes down to seconds, as often.

Three words for time, everywhere: ``budget`` is the user's ``wait_timeout``, the seconds the whole run
may wait, named in every timeout message; ``time_left`` is the callable ``deadline`` returns, which
tells at each moment what is left of it; ``remaining`` is what was left when one wait began, in seconds.
"""

from __future__ import annotations

import contextlib
import math
import os
import time

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import is_ansible_aws_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

POLL_DELAY_VARIABLE = "KEYCLOAK_AURORA_POLL_DELAY"
# Below this an emulator answering at once is polled in a busy loop.
MIN_POLL_DELAY = 0.05


def poll_delay(delay, environ=None):
    """``delay``, or the shorter delay the environment variable POLL_DELAY_VARIABLE sets (seconds)."""
    value = (os.environ if environ is None else environ).get(POLL_DELAY_VARIABLE)
    try:
        return min(delay, max(MIN_POLL_DELAY, float(value))) if value else delay
    except ValueError:
        return delay


def timed_out_after(remaining=None, budget=None):
    """How every wait's timeout message starts: the budget the user set, by the name they set it with.

    ``budget`` is the module's option wait_timeout as given; ``remaining`` the seconds a wait was left
    with, named instead when the budget is not known.
    """
    seconds = budget if budget is not None else int(math.ceil(remaining))
    return f"Timed out after aurora_wait_timeout (wait_timeout) {seconds}s"


def deadline(budget, clock=time.monotonic, run_started=None, wall=time.time):
    """A callable giving the seconds left of ``budget`` (never below 0): one budget shared by the
    successive waits of a run.

    Counted from now, or from ``run_started`` (seconds since the epoch) when the run began before this
    module: a playbook's modules then share the one budget, each getting what the earlier ones left.
    """
    spent = max(0.0, wall() - run_started) if run_started is not None else 0.0
    end = clock() + budget - spent
    return lambda: max(0, end - clock())


def outlast(call, *, codes, time_left, delay, timed_out, progress=None, sleep=time.sleep):
    """``call()`` until AWS stops refusing it with one of ``codes``, state faults of a transition under way.

    ``time_left`` is the run's deadline (``deadline``). ``progress(error)``, when given, tells whether
    the refusal means the work is done already (e.g. "already being deleted"): then the call is not
    repeated and None is returned. When the deadline passes, ``timed_out(error)`` gives the exception
    raised, which names the resource and the state that held it up.
    """
    while True:
        try:
            return call()
        except is_ansible_aws_error_code(list(codes)) as e:
            if progress is not None and progress(e):
                return None
            left = time_left()
            if left <= 0:
                raise timed_out(e) from e
            sleep(min(delay, left))


def wait_patiently(
    client,
    waiter_name,
    *,
    what,
    remaining,
    delay=5,
    retry_codes=(),
    explain=None,
    sleep=time.sleep,
    clock=time.monotonic,
    **params,
):
    """Run botocore's waiter ``waiter_name`` until it succeeds or the ``remaining`` seconds have passed.

    A waiter gives up on the first poll that fails with an error botocore's own retries did not
    absorb. Throttling, and ``retry_codes`` (a resource just created and not yet visible), are no
    reason to stop: wait again while time is left. Anything else, or the end of the time, raises:
    ``explain(waiter_error)`` may return the exception that says it in the caller's terms (the
    resource's state, the user's budget); without one, or when it returns None, an AnsibleAWSError.
    """
    end = clock() + remaining
    while True:
        left = max(0, end - clock())
        config = {"Delay": delay, "MaxAttempts": max(1, int(math.ceil(left / delay)))}
        try:
            client.get_waiter(waiter_name).wait(WaiterConfig=config, **params)
            return
        except botocore.exceptions.WaiterError as e:
            code = ((e.last_response or {}).get("Error") or {}).get("Code")
            if code and AWSRetry.found(code, list(retry_codes)) and end - clock() > 0:
                sleep(min(delay, max(0, end - clock())))
                continue
            explained = explain(e) if explain else None
            raise explained or AnsibleAWSError(message=f"Failed waiting for {what}", exception=e) from e

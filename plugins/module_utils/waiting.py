# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""botocore waiters that keep waiting through throttling and eventual consistency."""

from __future__ import annotations

import contextlib
import math
import time

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def deadline(timeout, clock=time.monotonic):
    """A callable giving the seconds left of ``timeout``, counted from now (never below 0): one budget
    shared by the successive waits of a run."""
    end = clock() + timeout
    return lambda: max(0, end - clock())


def wait_patiently(
    client,
    waiter_name,
    *,
    what,
    timeout,
    delay=5,
    retry_codes=(),
    explain=None,
    sleep=time.sleep,
    clock=time.monotonic,
    **params,
):
    """Run botocore's waiter ``waiter_name`` until it succeeds or ``timeout`` seconds have passed.

    A waiter gives up on the first poll that fails with an error botocore's own retries did not
    absorb. Throttling, and ``retry_codes`` (a resource just created and not yet visible), are no
    reason to stop: wait again while time is left. Anything else, or the end of the time, raises:
    ``explain(waiter_error)`` may return the exception that says it in the caller's terms (the
    resource's state, the user's budget); without one, or when it returns None, an AnsibleAWSError.
    """
    deadline = clock() + timeout
    while True:
        remaining = max(0, deadline - clock())
        config = {"Delay": delay, "MaxAttempts": max(1, int(math.ceil(remaining / delay)))}
        try:
            client.get_waiter(waiter_name).wait(WaiterConfig=config, **params)
            return
        except botocore.exceptions.WaiterError as e:
            code = ((e.last_response or {}).get("Error") or {}).get("Code")
            if code and AWSRetry.found(code, list(retry_codes)) and deadline - clock() > 0:
                sleep(min(delay, max(0, deadline - clock())))
                continue
            explained = explain(e) if explain else None
            raise explained or AnsibleAWSError(message=f"Failed waiting for {what}", exception=e) from e

# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The VPC peering connection between a ROSA VPC (requester) and an Aurora VPC (accepter), as an object:
its waits, its acceptance, its tags. link.py adds the routes and the ingress rule that use it.

The AWS calls come first, one short function each, retried with jittered backoff. Then the
waits, which take an injectable ``sleep`` and ``clock`` so unit tests never sleep. Then the
``ensure_*`` functions: they take a boto3 EC2 client and keyword arguments, return
``(changed, state)`` and raise ``AnsibleAWSError`` (``AuroraError`` for our own refusals).

``state`` is a dict: ``peering`` (the flat summary returned to the user), ``before`` and
``after`` (status and tags, for diff mode; ``after`` is the prediction in check mode).
"""

from __future__ import annotations

import contextlib
import math
import time

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils import ec2
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError
from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import deadline
from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import poll_delay
from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import timed_out_after

# Seconds between two polls: a peering appears in the accepter region, and turns active after
# acceptance, within seconds on AWS (shorter when the tests or the benchmark ask: waiting.poll_delay).
POLL_DELAY = poll_delay(5)

INITIATING = "initiating-request"
PENDING = "pending-acceptance"
PROVISIONING = "provisioning"
ACTIVE = "active"
# States a peering connection never leaves on its own: it can only be deleted and made anew.
DEAD = {
    "failed": "AWS could not establish it",
    "rejected": "the accepter rejected it",
    "expired": "it was not accepted within 7 days",
    "deleting": "it is being deleted",
    "deleted": "it was deleted",
}

# A peering just created (or accepted) may not be visible to the next call yet.
_NOT_YET_VISIBLE = ["InvalidVpcPeeringConnectionID.NotFound"]


class PeeringError(AuroraError):
    """A peering connection this collection will not converge; its message is the whole story."""

    def __init__(self, message):
        super().__init__(message=message)


# ---------------------------------------------------------------------------------------------
# AWS calls
# ---------------------------------------------------------------------------------------------


def describe_peering(client, peering_id):
    """The peering connection as this region sees it, None when it is not (yet) visible here."""
    found = ec2.describe_vpc_peering_connections(client, VpcPeeringConnectionIds=[peering_id])
    # Filter client-side too: moto ignores every filter but the id list.
    return next((p for p in found if p["VpcPeeringConnectionId"] == peering_id), None)


@ec2.EC2VpcPeeringErrorHandler.list_error_handler("describe vpc peering tags", [])
@AWSRetry.jittered_backoff()
def describe_peering_tags(client, peering_id):
    """The peering's tags in this region, read with DescribeTags.

    On AWS this equals the peering's own ``Tags`` here. moto (5.2.5) answers
    DescribeVpcPeeringConnections with the requester region's tags in both regions but keeps tags
    set in the accepter region apart, where only DescribeTags shows them: reading them this way
    keeps a second run from adding the same tags again, on AWS and on moto alike.
    """
    paginator = client.get_paginator("describe_tags")
    filters = [{"Name": "resource-id", "Values": [peering_id]}]
    found = paginator.paginate(Filters=filters).build_full_result()["Tags"]
    return {t["Key"]: t["Value"] for t in found if t.get("ResourceId", peering_id) == peering_id}


@ec2.EC2VpcPeeringErrorHandler.common_error_handler("tag vpc peering")
@AWSRetry.jittered_backoff(catch_extra_error_codes=_NOT_YET_VISIBLE)
def create_peering_tags(client, peering_id, tags):
    client.create_tags(Resources=[peering_id], Tags=ansible_dict_to_boto3_tag_list(tags))


def accept_peering(client, peering_id):
    """Accept the peering; False when a concurrent run accepted it first (AWS then refuses ours)."""
    try:
        ec2.accept_vpc_peering_connection(client, peering_id)
    except AnsibleAWSError:
        current = describe_peering(client, peering_id)
        if current and status_code(current) in (PROVISIONING, ACTIVE):
            return False
        raise
    return True


# ---------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------


def status_code(peering):
    return (peering.get("Status") or {}).get("Code")


def status_message(peering):
    return (peering.get("Status") or {}).get("Message") or ""


def current_tags(peering):
    return boto3_tag_list_to_ansible_dict(peering.get("Tags") or [])


def summary(peering):
    """The flat result of a peering connection: ids, CIDRs, regions and owners of both sides."""
    requester = peering.get("RequesterVpcInfo") or {}
    accepter = peering.get("AccepterVpcInfo") or {}
    return {
        "vpc_peering_connection_id": peering["VpcPeeringConnectionId"],
        "status": status_code(peering),
        "requester_vpc_id": requester.get("VpcId"),
        "requester_cidr_block": requester.get("CidrBlock"),
        "requester_region": requester.get("Region"),
        "requester_owner_id": requester.get("OwnerId"),
        "accepter_vpc_id": accepter.get("VpcId"),
        "accepter_cidr_block": accepter.get("CidrBlock"),
        "accepter_region": accepter.get("Region"),
        "tags": current_tags(peering),
    }


def _describe_state(peering):
    message = status_message(peering)
    return f"{status_code(peering)} ({message})" if message else str(status_code(peering))


def refuse_dead(peering):
    """Raise when the peering is in a state it never leaves: only a new peering helps."""
    status = status_code(peering)
    if status not in DEAD:
        return
    peering_id = peering["VpcPeeringConnectionId"]
    raise PeeringError(
        f"VPC peering connection {peering_id} is {_describe_state(peering)}: {DEAD[status]}, so it will never "
        f"become active. Delete it (if AWS has not already) and create a new one; "
        f"keycloak.aurora.aurora_peering replaces it on the next run."
    )


def refuse_wrong_region(peering, region):
    """Acceptance (and accepter-side tags) belong to the accepter's region, not the requester's."""
    accepter_region = (peering.get("AccepterVpcInfo") or {}).get("Region")
    if region and accepter_region and accepter_region != region:
        peering_id = peering["VpcPeeringConnectionId"]
        accepter_vpc = peering["AccepterVpcInfo"].get("VpcId")
        raise PeeringError(
            f"VPC peering connection {peering_id} is accepted in the region of its accepter VPC {accepter_vpc}, "
            f"{accepter_region}, not in {region}: set region={accepter_region}"
        )


# ---------------------------------------------------------------------------------------------
# Waits
# ---------------------------------------------------------------------------------------------


def wait_for_peering(client, peering_id, *, remaining, delay=POLL_DELAY, budget=None, sleep=time.sleep, clock=None):
    """Wait, with botocore's own waiter, until the peering is visible in this region; return it.

    A cross-region peering appears in the accepter's region a moment after it was requested.
    ``remaining`` is what is left of ``budget``, the user's wait_timeout for the run.
    """
    clock = clock or time.monotonic
    time_left = deadline(remaining, clock)
    # Most of the time it is already there: one describe, and no waiter at all.
    peering = describe_peering(client, peering_id)
    while peering is None:
        if time_left() <= 0:
            region = getattr(getattr(client, "meta", None), "region_name", None) or "this region"
            raise PeeringError(
                f"{timed_out_after(remaining, budget)}: VPC peering connection {peering_id} was not found in "
                f"{region}. Acceptance runs in the accepter's region: "
                f"check that region is the region of the accepter VPC and that the peering still exists"
            )
        config = {"Delay": delay, "MaxAttempts": max(1, int(math.ceil(time_left() / delay)))}
        try:
            client.get_waiter("vpc_peering_connection_exists").wait(
                VpcPeeringConnectionIds=[peering_id], WaiterConfig=config
            )
        except botocore.exceptions.WaiterError as e:
            code = ((e.last_response or {}).get("Error") or {}).get("Code")
            # Not found until the last attempt is the waiter's timeout; throttling is no reason to
            # stop waiting; anything else (credentials, permissions) is the real error.
            if code and not AWSRetry.found(code, _NOT_YET_VISIBLE):
                raise AnsibleAWSError(
                    message=f"Failed to wait for VPC peering connection {peering_id}", exception=e
                ) from e
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            raise AnsibleAWSError(message=f"Failed to wait for VPC peering connection {peering_id}", exception=e) from e
        # The waiter only asks for HTTP 200: AWS answers an unknown id with NotFound, but an
        # empty list (as moto does) is "not there yet" as well.
        peering = describe_peering(client, peering_id)
        if peering is None:
            sleep(min(delay, time_left()))
    return peering


def wait_for_status(
    client, peering_id, *, goal, remaining, delay=POLL_DELAY, budget=None, sleep=time.sleep, clock=None
):
    """Poll until the peering's status is one of ``goal``; return it. Dead states fail at once.

    botocore has no waiter for "pending-acceptance" or "active", hence this loop. ``remaining`` and
    ``budget`` are as in ``wait_for_peering``.
    """
    clock = clock or time.monotonic
    time_left = deadline(remaining, clock)
    wanted = " or ".join(goal)
    while True:
        peering = describe_peering(client, peering_id)
        if peering is None:
            raise PeeringError(f"VPC peering connection {peering_id} disappeared while waiting for it to be {wanted}")
        if status_code(peering) in goal:
            return peering
        refuse_dead(peering)
        if time_left() <= 0:
            raise PeeringError(
                f"{timed_out_after(remaining, budget)} waiting for "
                f"VPC peering connection {peering_id} to be {wanted}: it is still {_describe_state(peering)}"
            )
        sleep(min(delay, time_left()))


# ---------------------------------------------------------------------------------------------
# ensure_*
# ---------------------------------------------------------------------------------------------


def ensure_peering_accepted(
    client,
    *,
    peering_id,
    tags=None,
    check_mode=False,
    wait=True,
    wait_timeout=300,
    run_started=None,
    delay=POLL_DELAY,
    sleep=time.sleep,
    clock=None,
):
    """Accept ``peering_id`` in the client's region (the accepter's) and add ``tags`` there.

    Waits, whatever ``wait`` says, until the peering is visible and ready to be accepted: it
    cannot be accepted before. ``wait`` decides whether to wait for ``active`` after that.
    """
    clock = clock or time.monotonic
    time_left = deadline(wait_timeout, clock, run_started)
    waiting = dict(delay=delay, budget=wait_timeout, sleep=sleep, clock=clock)
    region = getattr(getattr(client, "meta", None), "region_name", None)

    peering = wait_for_peering(client, peering_id, remaining=time_left(), **waiting)
    refuse_wrong_region(peering, region)
    refuse_dead(peering)
    # Only this region's tags count for the tags option (see describe_peering_tags).
    region_tags = describe_peering_tags(client, peering_id) if tags else current_tags(peering)
    before = {"status": status_code(peering), "tags": region_tags}

    accepting = changed = False
    if status_code(peering) == INITIATING:
        if check_mode:
            # It will be accepted once the request reaches this region; no need to wait for that.
            accepting = changed = True
        else:
            peering = wait_for_status(
                client, peering_id, goal=(PENDING, PROVISIONING, ACTIVE), remaining=time_left(), **waiting
            )
    if status_code(peering) == PENDING:
        accepting = changed = True
        if not check_mode:
            changed = accept_peering(client, peering_id)
    if not check_mode and status_code(peering) != ACTIVE:
        if wait:
            peering = wait_for_status(client, peering_id, goal=(ACTIVE,), remaining=time_left(), **waiting)
        elif accepting:
            peering = describe_peering(client, peering_id) or peering

    to_add = ensure_peering_tags(client, peering_id=peering_id, current=region_tags, tags=tags, check_mode=check_mode)
    changed |= bool(to_add)
    after_tags = dict(region_tags, **to_add)
    # In check mode the result is the peering as it is now; "after" is the prediction.
    peering = dict(peering, Tags=ansible_dict_to_boto3_tag_list(region_tags if check_mode else after_tags))
    after_status = ACTIVE if check_mode and accepting else status_code(peering)
    return changed, {
        "peering": summary(peering),
        "before": before,
        "after": {"status": after_status, "tags": after_tags},
    }


def ensure_peering_tags(client, *, peering_id, current, tags, check_mode):
    """Add ``tags`` to the peering in the client's region, never removing any; return those added.

    ``current`` are the peering's tags in this region. On AWS, tags set in the requester's region
    are not visible in the accepter's region of a cross-region peering: whoever looks the peering
    up by tag on the accepter side needs them set here.
    """
    to_add = compare_aws_tags(current, tags or {}, purge_tags=False)[0]
    to_add = {key: str(value) for key, value in to_add.items()}
    if to_add and not check_mode:
        create_peering_tags(client, peering_id, to_add)
    return to_add

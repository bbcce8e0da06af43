"""Permissions: docs/iam-policy.json is exactly what the collection needs.

- Every AWS action the whole lifecycle sends (recorded by the emulator) is allowed by the policy, and
  so is every permission AWS checks besides the action of a recorded request (implied_permissions.py:
  tags on create, RDS's service-linked role), with the condition AWS evaluates it under.
- The policy allows exactly the actions the code can call, found by a static scan of plugins/
  (boto3 client methods, amazon.aws ec2/rds helpers of the same names, paginators, waiters) and
  of the amazon.aws modules and lookups that roles/ and playbooks/ use, and their implied
  permissions: nothing unused, nothing missing.
- botocore's documentation of every operation the code can call names no permission that the
  implied-permission table neither lists nor dismisses with a reason.
- An action answered with AccessDenied/UnauthorizedOperation (tools/emulator/faults.py) makes
  the run fail with a message that names the action and the resource.
"""

import json
import re
import time
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name
from implied_permissions import BOTOCORE_DOC
from implied_permissions import DISMISSED
from implied_permissions import IMPLIED
from implied_permissions import SESSION
from implied_permissions import accounted_for
from implied_permissions import implied_by
from implied_permissions import permission_sentences
from implied_permissions import sent_parameters

from tools.ansible_run import rosa_inventory
from tools.ansible_run import run_playbook
from tools.emulator.faults import FaultProxy
from tools.emulator.harness import request_action
from tools.emulator.rosa import seed_rosa_cluster

REPO_ROOT = Path(__file__).resolve().parents[2]
POLICY = REPO_ROOT / "docs" / "iam-policy.json"
# What a ROSA cluster in another AWS account needs there (its role's or its profile's policy).
ROSA_ACCOUNT_POLICY = REPO_ROOT / "docs" / "iam-policy-rosa-account.json"
# Actions AWS answers whatever a policy says: no policy lists them.
NEEDS_NO_PERMISSION = frozenset({"sts:GetCallerIdentity"})
CLUSTER = "keycloak-aurora"
SERVICES = ("ec2", "rds", "secretsmanager", "sts", "iam")
# Client methods that are not AWS actions.
NOT_ACTIONS = frozenset({"close", "can_paginate", "get_paginator", "get_waiter", "generate_presigned_url"})
# amazon.aws plugins used from roles/ and playbooks/, and the actions each sends as used there.
AMAZON_AWS_PLUGINS = {
    # playbooks/endpoint.yml; the module reads each cluster's tags (rds.get_tags)
    "rds_cluster_info": {"rds:DescribeDBClusters", "rds:ListTagsForResource"},
    # playbooks/endpoint.yml with include_password=true; one secret by name, no "search" terms
    "secretsmanager_secret": {"secretsmanager:GetSecretValue"},
}


# the policy


def load_policy(path=POLICY):
    return json.loads(path.read_text())


def policy_actions(policy):
    actions = set()
    for statement in policy["Statement"]:
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def _like(value, pattern):
    """IAM's StringLike: ``*`` matches any run of characters, ``?`` any one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


# The condition operators allowed() evaluates; the policy may use no other (see the document test).
CONDITION_OPERATORS = {"StringEquals": str.__eq__, "StringLike": _like}


def condition_holds(condition, context):
    """Whether a statement's Condition holds for a request whose condition keys are ``context``.

    As IAM evaluates it: every operator and every key under it must hold (keys are case-insensitive),
    one of a key's values is enough, and a key the request does not carry fails the condition.
    """
    carried = {key.lower(): value for key, value in context.items()}
    for operator, keys in condition.items():
        for key, values in keys.items():
            value = carried.get(key.lower())
            values = [values] if isinstance(values, str) else values
            if value is None or not any(CONDITION_OPERATORS[operator](value, v) for v in values):
                return False
    return True


def allowed(policy, action, context=None):
    """Whether an Allow statement lists ``service:Action`` (IAM action names are case-insensitive)
    and its Condition, if any, holds for a request with the condition keys ``context``."""
    for statement in policy["Statement"]:
        listed = statement["Action"]
        listed = [listed] if isinstance(listed, str) else listed
        if (
            statement["Effect"] == "Allow"
            and action.lower() in {a.lower() for a in listed}
            and condition_holds(statement.get("Condition", {}), context or {})
        ):
            return True
    return False


def test_allowed_evaluates_a_statement_condition_as_iam_does():
    def allows(condition, context):
        statement = {"Effect": "Allow", "Action": ["iam:CreateServiceLinkedRole"], "Condition": condition}
        return allowed({"Statement": [statement]}, "iam:CreateServiceLinkedRole", context)

    rds = {"iam:AWSServiceName": "rds.amazonaws.com"}
    assert allows({"StringEquals": rds}, {"IAM:awsservicename": "rds.amazonaws.com"})  # keys ignore case
    assert not allows({"StringEquals": rds}, {})  # a key the request does not carry fails
    assert not allows({"StringEquals": rds}, {"iam:AWSServiceName": "ec2.amazonaws.com"})
    assert allows({"StringLike": {"iam:AWSServiceName": ["ec2.*", "rds.amazon?ws.com"]}}, rds)  # one value will do
    assert not allows({"StringLike": {"iam:AWSServiceName": "rds.*"}}, {"iam:AWSServiceName": "xrds.amazonaws.com"})
    both = {"StringEquals": {**rds, "aws:RequestedRegion": "eu-west-1"}}  # every key must hold
    assert not allows(both, rds)
    assert allows(both, {**rds, "aws:RequestedRegion": "eu-west-1"})
    assert allows({}, {})


@pytest.mark.parametrize("path", [POLICY, ROSA_ACCOUNT_POLICY], ids=["aurora-account", "rosa-account"])
def test_the_policy_is_a_least_privilege_policy_document(path):
    policy = load_policy(path)
    assert policy["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in policy["Statement"]]
    assert len(sids) == len(set(sids)) and all(sids)
    actions = [a for s in policy["Statement"] for a in s["Action"]]
    assert len(actions) == len(set(actions)), "an action listed twice"
    for statement in policy["Statement"]:
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}, statement["Sid"]
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == sorted(statement["Action"]), statement["Sid"]
        for action in statement["Action"]:
            service, _colon, name = action.partition(":")
            assert service in SERVICES and re.fullmatch(r"[A-Z][A-Za-z]+", name), f"not one exact action: {action}"
        for operator in statement.get("Condition", {}):
            assert operator in CONDITION_OPERATORS, f"{statement['Sid']}: allowed() cannot evaluate {operator}"
    # A permission AWS checks under a condition (the service-linked role: RDS's only) is allowed
    # under that condition alone, never for a request without it or with another value.
    for row in IMPLIED:
        for key, _value in row.context:
            assert not allowed(policy, row.permission), f"{row.permission} without {key}"
            assert not allowed(policy, row.permission, {key: "elasticmapreduce.amazonaws.com"}), row.permission


# what the code can call (static scan)


def service_models():
    session = botocore.session.get_session()
    methods, waiters = {}, {}
    for service in SERVICES:
        model = session.get_service_model(service)
        for operation in model.operation_names:
            methods.setdefault(xform_name(operation), set()).add(f"{service}:{operation}")
        try:
            waiter_model = session.get_waiter_model(service)
        except botocore.exceptions.UnknownServiceError:  # sts has no waiters
            continue
        except Exception:  # noqa: BLE001 - botocore raises DataNotFoundError for services without waiters
            continue
        for name in waiter_model.waiter_names:
            operation = waiter_model.get_waiter(name).operation
            waiters.setdefault(xform_name(name), set()).add(f"{service}:{operation}")
    return methods, waiters


def code_actions():
    """{service:Action: [where]} of every AWS action the collection's code can send.

    plugins/: any call ``x.<method>(`` or ``<method>(`` whose name is a boto3 client method of
    SERVICES (the boto3 client itself, amazon.aws ``ec2.<helper>`` and ``rds.<helper>`` helpers and
    our own wrappers all bear the API's snake_case name), every string literal naming such a method (a
    paginator: ``get_paginator("<method>")``, amazon.aws's ``paginated_query_with_retries(client, "<method>")``),
    and every string literal naming a botocore waiter (``get_waiter(...)``, ``wait_patiently(client, "...")``):
    the waiter's operation. roles/ and playbooks/: the amazon.aws plugins in AMAZON_AWS_PLUGINS.
    """
    methods, waiters = service_models()
    found = {}

    def add(actions, where):
        for action in actions:
            found.setdefault(action, []).append(where)

    call = re.compile(r"\b(\w+)\(")
    literal = re.compile(r"[\"'](\w+)[\"']")
    for path in sorted((REPO_ROOT / "plugins").glob("module*/*.py")):
        rel = path.relative_to(REPO_ROOT)
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            where = f"{rel}:{number}"
            for name in call.findall(code):
                if name in methods and name not in NOT_ACTIONS:
                    assert len(methods[name]) == 1, f"{where}: {name} is a method of {methods[name]}: say which"
                    add(methods[name], where)
            for name in literal.findall(code):
                if name in waiters:
                    add(waiters[name], where)
                elif name in methods and name not in NOT_ACTIONS:
                    add(methods[name], where)
    uses = re.compile(r"amazon\.aws\.(\w+)")
    for path in sorted([*(REPO_ROOT / "roles").rglob("*.yml"), *(REPO_ROOT / "playbooks").glob("*.yml")]):
        rel = path.relative_to(REPO_ROOT)
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for name in uses.findall(line.split("#", 1)[0]):
                if name == "aws":  # module_defaults group/amazon.aws.aws
                    continue
                assert name in AMAZON_AWS_PLUGINS, f"{rel}:{number}: amazon.aws.{name}: list its actions"
                add(AMAZON_AWS_PLUGINS[name], f"{rel}:{number}")
    return found


def test_the_policy_allows_exactly_what_the_code_can_call():
    policy = load_policy()
    callable_actions = code_actions()
    # Whether a call will carry tags is not visible here: every implied permission of a call counts.
    implied = [row for row in IMPLIED if row.call in callable_actions]
    needed = callable_actions.keys() | {row.permission for row in implied}
    unused = sorted(policy_actions(policy) - needed)
    assert unused == [], f"the policy allows actions nothing in the code calls: {unused}"
    missing = {
        a: w for a, w in sorted(callable_actions.items()) if not allowed(policy, a) and a not in NEEDS_NO_PERMISSION
    }
    for row in implied:
        if not allowed(policy, row.permission, dict(row.context)):
            missing.setdefault(row.permission, []).append(f"implied by {row.call} ({row.source})")
    assert missing == {}, f"the code can call actions the policy does not allow: {json.dumps(missing, indent=1)}"


def test_botocore_documents_no_permission_the_table_does_not_account_for():
    callable_actions = code_actions()
    sentences = permission_sentences(callable_actions)
    unaccounted = [f"{s.call}: {s.permission or '(names none)'}: {s.text}" for s in sentences if not accounted_for(s)]
    assert unaccounted == [], "botocore documents permissions that implied_permissions.py neither lists nor " + (
        "dismisses:\n" + "\n".join(unaccounted)
    )
    # the tables stay true: no entry outlives its call or the sentence it answers
    used = {accounted_for(s) for s in sentences}
    stale = [d for d in DISMISSED if d not in used]
    stale += [row for row in IMPLIED if row.source == BOTOCORE_DOC and row not in used]
    assert stale == [], f"entries that botocore's documentation no longer calls for: {stale}"
    assert {row.call for row in IMPLIED} <= callable_actions.keys(), "rows for calls the code no longer makes"


def test_every_call_that_can_tag_what_it_creates_has_a_tag_row():
    """EC2's and RDS's tag-on-create rules are in AWS's user guides, not in botocore: a call the code
    makes that takes tags of what it creates (TagSpecifications, or Tags of an operation that is not
    itself a tagging one) needs a row, else a new one goes unchecked."""
    rows = {(row.call, row.when) for row in IMPLIED}
    # A dismissal resting on the collection never sending those tags (checked on every recorded request).
    rows |= {(d.call, parameter) for d in DISMISSED for parameter in d.never_sent}
    untabled = []
    for call in sorted(code_actions()):
        service, _colon, operation = call.partition(":")
        model = SESSION.get_service_model(service).operation_model(operation)
        members = model.input_shape.members if model.input_shape else {}
        for member in ("TagSpecifications", "Tags"):
            tags_on_create = member in members and (member == "TagSpecifications" or "Tag" not in operation)
            if tags_on_create and (call, member) not in rows:
                untabled.append(f"{call} {member}")
    assert untabled == [], f"calls that tag on create with no row in implied_permissions.py: {untabled}"
    for row in IMPLIED:  # a row's parameter is one botocore knows, else it never matches a request
        service, _colon, operation = row.call.partition(":")
        members = SESSION.get_service_model(service).operation_model(operation).input_shape.members
        assert row.when is None or row.when in members, row


# the lifecycle, recorded


def failures(run):
    """(host, task, msg) of the failed tasks of a json-callback run, or its raw output."""
    try:
        report = run.report
    except ValueError:
        return [(None, None, run.stdout[-4000:] + run.stderr[-4000:])]
    return [
        (host, task["task"]["name"], str(result.get("msg")))
        for play in report["plays"]
        for task in play["tasks"]
        for host, result in task["hosts"].items()
        if result.get("failed") or result.get("unreachable")
    ]


def test_every_action_of_the_lifecycle_is_allowed_by_the_policy(emulator, rosa, tmp_path):
    rosa("rosa-a", machine_cidr="10.0.0.0/16", kind="classic")
    rosa("rosa-b", region="eu-central-1", machine_cidr="10.1.0.0/16", kind="hcp")
    inv = rosa_inventory(tmp_path, {"rosa-a": {}, "rosa-b": {"rosa_region": "eu-central-1"}})
    named = {"aurora_cluster": CLUSTER}
    steps = [
        ("provision", "provision.yml", named, []),
        # a new instance class: ModifyDBInstance, and FailoverDBCluster before the writer's turn
        ("provision again, another class", "provision.yml", {**named, "aurora_instance_class": "db.r6g.large"}, []),
        ("peering --check", "peering.yml", named, ["--check"]),
        ("endpoint", "endpoint.yml", {**named, "output_file": str(tmp_path / "db.env"), "include_password": True}, []),
        ("unpeer rosa-a", "unpeer.yml", named, ["--limit", "rosa-a"]),
        ("unpeer all", "unpeer.yml", {"aurora_unpeer_confirm": "every-aurora-cluster"}, []),
        ("peer rosa-b again", "peering.yml", named, ["--limit", "rosa-b"]),
        ("delete --check", "delete.yml", {**named, "aurora_delete_peerings": True}, ["--check"]),
        ("delete", "delete.yml", {**named, "aurora_delete_peerings": True}, []),
    ]
    never_sent = {(d.call, parameter) for d in DISMISSED for parameter in d.never_sent}
    recorded, implied, sent_anyway, timings = {}, {}, set(), {}
    for name, playbook, extra_vars, args in steps:
        started = time.monotonic()
        emulator.start_recording()
        run = run_playbook(emulator.env(), playbook, extra_vars=extra_vars, inventory=inv, args=args)
        emulator.stop_recording()
        timings[name] = round(time.monotonic() - started, 1)
        assert run.returncode == 0, f"{name}: {failures(run)}"
        for entry in emulator.recorded_requests():
            service, action = request_action(entry)
            recorded.setdefault(f"{service}:{action}", set()).add(name)
            if action is None:
                continue
            for row in implied_by(service, action, entry):
                implied.setdefault(row, set()).add(name)
            sent_anyway |= {(f"{service}:{action}", p) for p in sent_parameters(service, action, entry)} & never_sent
    by_step = {a: sorted(steps) for a, steps in sorted(recorded.items())}
    print(f"\nseconds per step: {timings}\nrecorded actions: {json.dumps(by_step, indent=1)}")

    assert all(action.split(":")[1] != "None" for action in recorded), f"a request named no action: {recorded}"
    policy = load_policy()
    denied = {a: sorted(steps) for a, steps in sorted(recorded.items()) if not allowed(policy, a)}
    assert denied == {}, f"the lifecycle sent actions the policy does not allow: {denied}"
    denied = {
        f"{row.permission} for {row.call}": sorted(steps)
        for row, steps in implied.items()
        if not allowed(policy, row.permission, dict(row.context))
    }
    assert denied == {}, f"AWS would also check permissions the policy does not allow: {denied}"
    # the run met every kind of implied permission (else reading the requests' parameters is blind)
    assert {row.permission for row in implied} == {row.permission for row in IMPLIED}, sorted(implied)
    assert sent_anyway == set(), (
        f"parameters a dismissal of implied_permissions.py relies on never sending: {sent_anyway}"
    )
    # the static scan sees everything the run sent (else test_..._exactly_what_the_code_can_call is blind)
    assert recorded.keys() <= code_actions().keys(), sorted(recorded.keys() - code_actions().keys())
    assert {a.split(":")[0] for a in recorded} >= {"ec2", "rds", "secretsmanager"}


# a denied action: the failure names the action and the resource


def denied_provision(emulator, rosa, tmp_path, action):
    rosa_cluster = rosa("rosa-a", machine_cidr="10.0.0.0/16", kind="classic")
    inv = rosa_inventory(tmp_path, {"rosa-a": {}})
    with FaultProxy(emulator.url, share=0, deny={action}) as proxy:
        run = run_playbook(proxy.env(), "provision.yml", extra_vars={"aurora_cluster": CLUSTER}, inventory=inv)
        denied = dict(proxy.denied)
    assert run.returncode != 0
    assert sum(denied.values()) >= 1, denied
    return rosa_cluster, failures(run)


def test_a_denied_peering_names_the_action_and_the_vpc(emulator, rosa, tmp_path):
    rosa_cluster, failed = denied_provision(emulator, rosa, tmp_path, "CreateVpcPeeringConnection")
    [aurora_vpc] = emulator.client("ec2").describe_vpcs(Filters=[{"Name": "tag:AuroraCluster", "Values": [CLUSTER]}])[
        "Vpcs"
    ]
    assert len(failed) == 1, failed
    message = failed[0][2]
    assert "CreateVpcPeeringConnection" in message, failed
    assert rosa_cluster["vpc_id"] in message and aurora_vpc["VpcId"] in message, failed


def test_a_denied_cluster_creation_names_the_action_and_the_cluster(emulator, rosa, tmp_path):
    _rosa_cluster, failed = denied_provision(emulator, rosa, tmp_path, "CreateDBCluster")
    assert len(failed) == 1, failed
    message = failed[0][2]
    assert "CreateDBCluster" in message and CLUSTER in message, failed


# two accounts: each account's requests against its own policy


ROSA_ROLE = "arn:aws:iam::222222222222:role/keycloak-aurora-peering"
# In the ROSA account's policy although the lifecycle below does not send them there, and why.
ROSA_ACCOUNT_NOT_IN_THE_LIFECYCLE = {
    "ec2:ReplaceRoute": "replaces a route through a peering that is gone (a blackhole)",
    "ec2:DescribeSubnets": "lists the worker subnets of a ROSA cluster whose host sets rosa_vpc_id",
    "ec2:DeleteVpcPeeringConnection": "deletes a peering request an interrupted run left unaccepted (only the "
    "requester's account may; test_cross_account.py)",
}


def requester_key(entry):
    """The access key ID that signed a recorded request."""
    authorization = next((v for k, v in (entry.get("headers") or {}).items() if k.lower() == "authorization"), "")
    match = re.search(r"Credential=([^/]+)/", authorization)
    return match.group(1) if match else None


def test_each_account_of_a_cross_account_lifecycle_needs_only_its_own_policy(emulator, tmp_path):
    other = emulator.assume_role(ROSA_ROLE)
    seed_rosa_cluster(emulator, "rosa-a", machine_cidr="10.0.0.0/16")
    seed_rosa_cluster(
        lambda service, region: emulator.client(service, region, credentials=other),
        "rosa-b",
        region="us-east-1",
        machine_cidr="10.1.0.0/16",
    )
    inv = rosa_inventory(tmp_path, {"rosa-a": {}, "rosa-b": {"rosa_region": "us-east-1", "rosa_role_arn": ROSA_ROLE}})
    named = {"aurora_cluster": CLUSTER}
    steps = [
        ("provision", "provision.yml", named, []),
        ("unpeer rosa-b", "unpeer.yml", named, ["--limit", "rosa-b"]),
        ("peer rosa-b again", "peering.yml", named, ["--limit", "rosa-b"]),
        ("delete", "delete.yml", {**named, "aurora_delete_peerings": True, "aurora_skip_final_snapshot": True}, []),
    ]
    never_sent = {(d.call, parameter) for d in DISMISSED for parameter in d.never_sent}
    by_account = {"aurora": {}, "rosa": {}}
    implied_in = {"aurora": {}, "rosa": {}}
    sent_anyway = set()
    for name, playbook, extra_vars, args in steps:
        emulator.start_recording()
        run = run_playbook(emulator.env(), playbook, extra_vars=extra_vars, inventory=inv, args=args)
        emulator.stop_recording()
        assert run.returncode == 0, f"{name}: {failures(run)}"
        for entry in emulator.recorded_requests():
            service, action = request_action(entry)
            # The play's own key is Aurora's account; any other was handed out by AssumeRole into the ROSA account.
            account = "aurora" if requester_key(entry) == "testing" else "rosa"
            by_account[account].setdefault(f"{service}:{action}", set()).add(name)
            for row in implied_by(service, action, entry):
                implied_in[account].setdefault(row, set()).add(name)
            sent_anyway |= {(f"{service}:{action}", p) for p in sent_parameters(service, action, entry)} & never_sent

    policies = {"aurora": load_policy(POLICY), "rosa": load_policy(ROSA_ACCOUNT_POLICY)}
    for account, recorded in by_account.items():
        denied = {
            a: sorted(s)
            for a, s in recorded.items()
            if a not in NEEDS_NO_PERMISSION and not allowed(policies[account], a)
        }
        assert denied == {}, f"the {account} account sent actions its policy does not allow: {denied}"
        denied = {
            f"{row.permission} for {row.call}": sorted(s)
            for row, s in implied_in[account].items()
            if not allowed(policies[account], row.permission, dict(row.context))
        }
        assert denied == {}, f"AWS would also check permissions the {account} account's policy does not allow: {denied}"
    assert "sts:AssumeRole" in by_account["aurora"]
    assert {"ec2:CreateVpcPeeringConnection", "ec2:CreateRoute", "ec2:DeleteRoute"} <= by_account["rosa"].keys()
    assert "ec2:AcceptVpcPeeringConnection" not in by_account["rosa"]
    needed_in_rosa = by_account["rosa"].keys() | {row.permission for row in implied_in["rosa"]}
    unused = policy_actions(policies["rosa"]) - needed_in_rosa - ROSA_ACCOUNT_NOT_IN_THE_LIFECYCLE.keys()
    assert unused == set(), f"the ROSA account's policy allows actions no run sends there: {sorted(unused)}"
    assert sent_anyway == set(), sent_anyway

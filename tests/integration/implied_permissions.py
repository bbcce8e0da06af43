"""Permissions AWS checks besides the action of a call, for the calls the collection makes.

A policy that allows exactly the actions a run sends can still be refused: AWS authorizes some
calls against a second permission as well. IMPLIED lists them, each with its source: the public AWS
user-guide page for the tag-on-create rules of EC2 and RDS and for RDS's service-linked role (none
of which botocore documents), or botocore's documentation of the operation.

DISMISSED lists the permission sentences of botocore's operation documentation that do not apply to
the way the collection calls the operation, each with the reason. test_permissions.py fails on a
sentence that names a permission neither table accounts for, so a botocore upgrade that documents a
new requirement is noticed.
"""

import html
import json
import re
from typing import NamedTuple

import botocore.serialize
import botocore.session

from tools.emulator.harness import request_body
from tools.emulator.harness import request_parameters

EC2_TAG_ON_CREATE = 'Amazon EC2 User Guide, "Grant permission to tag Amazon EC2 resources during creation"'
RDS_TAG_ON_CREATE = 'Amazon RDS User Guide, "Grant permission to tag Amazon RDS resources during creation"'
RDS_SERVICE_LINKED_ROLE = 'Amazon Aurora User Guide, "Using service-linked roles for Amazon Aurora"'
BOTOCORE_DOC = "botocore's documentation of the operation"

# One session: it keeps the service models it has loaded, and a lifecycle reads them per request.
SESSION = botocore.session.get_session()


class Implied(NamedTuple):
    call: str  # the action the collection sends
    permission: str  # what AWS authorizes as well
    when: str | None  # the request parameter (botocore's member name) that brings it in; None: every call
    context: tuple  # (condition key, value) pairs AWS sets when it authorizes the permission
    source: str


class Dismissed(NamedTuple):
    call: str
    permission: str  # the permission a sentence names, or words of a sentence that names none
    reason: str
    never_sent: tuple = ()  # request parameters the reason rests on the collection never sending


IMPLIED = (
    # AuthorizeSecurityGroupIngress creates security group rules, which take tags on creation too.
    *(
        Implied(f"ec2:{operation}", "ec2:CreateTags", "TagSpecifications", (), EC2_TAG_ON_CREATE)
        for operation in (
            "AuthorizeSecurityGroupIngress",
            "CreateSecurityGroup",
            "CreateSubnet",
            "CreateVpc",
            "CreateVpcPeeringConnection",
        )
    ),
    *(
        Implied(f"rds:{operation}", "rds:AddTagsToResource", "Tags", (), RDS_TAG_ON_CREATE)
        for operation in ("CreateDBCluster", "CreateDBInstance", "CreateDBSubnetGroup", "RestoreDBClusterFromSnapshot")
    ),
    # RDS's TagSpecifications tag the automated backups a call creates.
    *(
        Implied(f"rds:{operation}", "rds:AddTagsToResource", "TagSpecifications", (), RDS_TAG_ON_CREATE)
        for operation in ("CreateDBCluster", "CreateDBInstance", "ModifyDBInstance", "RestoreDBClusterFromSnapshot")
    ),
    # The account's first DB cluster, new or restored, makes RDS create its role AWSServiceRoleForRDS
    # with the caller's permissions. No run can tell whether the role exists yet: every such call counts.
    *(
        Implied(
            f"rds:{operation}",
            "iam:CreateServiceLinkedRole",
            None,
            (("iam:AWSServiceName", "rds.amazonaws.com"),),
            RDS_SERVICE_LINKED_ROLE,
        )
        for operation in ("CreateDBCluster", "RestoreDBClusterFromSnapshot")
    ),
    Implied("secretsmanager:CreateSecret", "secretsmanager:TagResource", "Tags", (), BOTOCORE_DOC),
)

_OWN_KEY = "the collection sends no KmsKeyId: the secret is encrypted with aws/secretsmanager, which needs neither"
DISMISSED = (
    Dismissed(
        "secretsmanager:CreateSecret",
        "secretsmanager:ReplicateSecretToRegions",
        "the collection replicates no secret",
        ("AddReplicaRegions",),
    ),
    Dismissed(
        "secretsmanager:CreateSecret",
        "secretsmanager:PutResourcePolicy",
        "for a cross-account replica; the collection replicates no secret",
        ("AddReplicaRegions",),
    ),
    Dismissed("secretsmanager:CreateSecret", "kms:GenerateDataKey", _OWN_KEY, ("KmsKeyId",)),
    Dismissed("secretsmanager:CreateSecret", "kms:Decrypt", _OWN_KEY, ("KmsKeyId",)),
    Dismissed(
        "secretsmanager:GetSecretValue",
        "kms:Decrypt",
        "only for a secret the user names (master_user_password_secret) and encrypts with a customer managed "
        "key: the key is theirs, and docs/permissions.md tells them to allow it",
    ),
    Dismissed(
        "ec2:CreateTags",
        "Supported resource-level permissions",
        "a pointer to the EC2 guide on tag-based policies, no requirement",
    ),
    # AssumeRole, with rosa_role_arn: Aurora's credentials assume a role in a ROSA cluster's account.
    Dismissed(
        "sts:AssumeRole",
        "GetFederationToken or GetSessionToken",
        "the collection calls neither, with the role's credentials or any other",
    ),
    Dismissed(
        "sts:AssumeRole",
        "session policies",
        "the collection passes no session policy: the role's own policy (docs/iam-policy-rosa-account.json) applies",
        ("Policy", "PolicyArns"),
    ),
    Dismissed(
        "sts:AssumeRole",
        "role trust policy",
        "the role's trust policy lets Aurora's account assume it: docs/cross-account.md shows one",
    ),
    Dismissed(
        "sts:AssumeRole",
        "delegated from the account administrator",
        "that is sts:AssumeRole on the role itself, which docs/iam-policy.json allows (AssumeRosaAccountRole)",
    ),
    Dismissed("sts:AssumeRole", "session tags", "the collection passes no session tags", ("Tags", "TransitiveTagKeys")),
    Dismissed(
        "sts:AssumeRole",
        "aws:MultiFactorAuthPresent",
        "an unattended run has no MFA code to give: the collection sends none; the trust policy must not ask for one",
        ("SerialNumber", "TokenCode"),
    ),
    Dismissed("sts:GetCallerIdentity", "No permissions are required", "as the sentence says"),
    Dismissed("sts:GetCallerIdentity", "Permissions are not required", "as the sentence says"),
    Dismissed("sts:GetCallerIdentity", "iam:DeleteVirtualMFADevice", "an example error message, no requirement"),
)


# botocore's operation documentation


_PERMISSION = re.compile(r"\b([a-z0-9-]+:[A-Z][A-Za-z0-9]+)\b")
_PERMISSION_WORD = re.compile(r"\bpermissions?\b", re.IGNORECASE)


class Sentence(NamedTuple):
    call: str
    permission: str | None  # the permission it names besides the call's own; None when it names none
    text: str


def permission_sentences(calls):
    """The sentences of botocore's documentation of ``calls`` that name a permission or speak of one.

    A sentence that names permissions yields one Sentence per permission other than the call's own
    ("Required permissions: secretsmanager:CreateSecret" yields none); a sentence that speaks of
    permissions without naming one yields a Sentence with no permission.
    """
    found = []
    for call in sorted(calls):
        service, _colon, operation = call.partition(":")
        documentation = SESSION.get_service_model(service).operation_model(operation).documentation
        text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", documentation)))
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            named = {permission for permission in _PERMISSION.findall(sentence) if permission.lower() != call.lower()}
            if named:
                found.extend(Sentence(call, permission, sentence) for permission in sorted(named))
            elif _PERMISSION_WORD.search(sentence) and not _PERMISSION.search(sentence):
                found.append(Sentence(call, None, sentence))
    return found


def accounted_for(sentence):
    """The IMPLIED row or DISMISSED entry that covers ``sentence``, or None."""
    for row in IMPLIED:
        if (row.call, row.permission) == (sentence.call, sentence.permission):
            return row
    for dismissed in DISMISSED:
        if dismissed.call != sentence.call:
            continue
        if sentence.permission == dismissed.permission or (
            sentence.permission is None and dismissed.permission in sentence.text
        ):
            return dismissed
    return None


# recorded requests


def sent_parameters(service, action, entry):
    """botocore's names of the top-level parameters a recorded request carried with a value.

    Secrets Manager speaks JSON (a body object); EC2 and RDS send a form whose keys start with the
    parameter's wire name ("TagSpecification.1.ResourceType", "Tags.Tag.1.Key"; an empty list is a
    bare "Tags=", which parse_qs drops), named by botocore's own serializer.
    """
    model = SESSION.get_service_model(service)
    operation = model.operation_model(action)
    if model.protocol == "json":
        body = request_body(entry)
        return {name for name, value in json.loads(body or "{}").items() if value not in (None, "", [], {})}
    sent = {key.split(".", 1)[0] for key in request_parameters(entry)}
    serializer = botocore.serialize.SERIALIZERS[model.protocol]()
    members = operation.input_shape.members if operation.input_shape else {}
    return {name for name, shape in members.items() if serializer._get_serialized_name(shape, name) in sent}


def implied_by(service, action, entry):
    """The IMPLIED rows that a recorded request brings in."""
    call = f"{service}:{action}"
    rows = [row for row in IMPLIED if row.call == call]
    if not rows:
        return []
    sent = sent_parameters(service, action, entry)
    return [row for row in rows if row.when is None or row.when in sent]

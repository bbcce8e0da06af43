"""The built collection installs, ships only what it should, and runs its playbooks by FQCN."""

import subprocess
import tarfile

from tools.ansible_run import BIN
from tools.ansible_run import REPO_ROOT
from tools.ansible_run import ansible_env


def test_built_collection_runs_provision_by_fqcn(emulator, tmp_path):
    build = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", str(REPO_ROOT), "--output-path", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    [tarball] = tmp_path.glob("keycloak-aurora-*.tar.gz")
    with tarfile.open(tarball) as archive:
        top_level = {name.split("/")[0] for name in archive.getnames()}
    assert {"plugins", "roles", "playbooks", "meta", "README.md", "LICENSE"} <= top_level
    assert not top_level & {"tests", "tools", "bench", "build", ".venv", "Makefile", ".ci"}

    # Outside the checkout: no ansible.cfg, only the installed copy of keycloak.aurora.
    installed = tmp_path / "collections"
    env = ansible_env(emulator.env(), extra={"ANSIBLE_COLLECTIONS_PATH": str(installed)})
    del env["ANSIBLE_CONFIG"]
    install = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", str(tarball), "-p", str(installed), "--no-deps"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr

    run = subprocess.run(
        [str(BIN / "ansible-playbook"), "keycloak.aurora.provision", "-e", "aurora_cluster=from-tarball"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    clusters = emulator.client("rds").describe_db_clusters(DBClusterIdentifier="from-tarball")["DBClusters"]
    assert clusters[0]["Status"] == "available"

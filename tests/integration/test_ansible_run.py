"""tools/ansible_run.py: the runs of a test session build each module's AnsiballZ payload once."""

import yaml

from tools.ansible_run import SHARED_ANSIBALLZ_CACHE
from tools.ansible_run import run_playbook

PLAYBOOK = [
    {
        "name": "Read the network of an Aurora cluster that does not exist",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "tasks": [
            {"keycloak.aurora.aurora_network_info": {"cluster": "keycloak-aurora"}, "register": "aurora"},
            {"ansible.builtin.assert": {"that": ["aurora.network == {}"]}},
        ],
    }
]


def test_a_module_is_built_once_and_reused_by_the_next_run(emulator, tmp_path, monkeypatch):
    shared = tmp_path / "ansiballz_cache"
    monkeypatch.setenv(SHARED_ANSIBALLZ_CACHE, str(shared))
    playbook = tmp_path / "network_info.yml"
    playbook.write_text(yaml.safe_dump(PLAYBOOK, sort_keys=False))

    first = run_playbook(emulator.env(), playbook)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    [payload] = [p for p in shared.glob("*.aurora_network_info-*") if p.suffix != ".lock"]
    built = payload.stat()

    second = run_playbook(emulator.env(), playbook)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-2000:]
    assert (payload.stat().st_ino, payload.stat().st_mtime_ns) == (built.st_ino, built.st_mtime_ns), "not rebuilt"
    assert "callback" not in first.stderr + second.stderr, "the callback loads without a warning"

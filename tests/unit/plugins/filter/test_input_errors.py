from ansible_collections.keycloak.aurora.plugins.filter.input_errors import input_errors


def test_a_kubeconfig_under_home_is_found_as_the_kubernetes_modules_find_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "rosa-a").write_text("apiVersion: v1\n")
    values = {"aurora_region": "eu-west-1"}
    assert input_errors({**values, "rosa_kubeconfig": "~/.kube/rosa-a"}) == []
    assert input_errors({**values, "rosa_kubeconfig": "~/.kube/rosa-b"}) == [
        "rosa_kubeconfig '~/.kube/rosa-b' is not a file"
    ]

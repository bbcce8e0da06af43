"""The Keycloak CR that docs/keycloak.md shows is one the operator takes (keycloak_crd.py) and one that boots."""

import re
from pathlib import Path

import keycloak_crd
import pytest
import yaml

DOC = Path(__file__).resolve().parents[2] / "docs" / "keycloak.md"


def yaml_blocks():
    return re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.DOTALL)


def documented_keycloak():
    [keycloak] = [
        document
        for block in yaml_blocks()
        for document in yaml.safe_load_all(block)
        if isinstance(document, dict) and document.get("kind") == "Keycloak"
    ]
    return keycloak


def options(spec):
    return {option["name"]: option.get("value") for option in spec.get("additionalOptions", [])}


def test_the_documented_cr_fits_the_operators_crd():
    assert keycloak_crd.errors(documented_keycloak()) == []


def test_the_documented_cr_boots_on_aurora_with_the_collections_objects():
    spec = documented_keycloak()["spec"]
    # The AWS JDBC wrapper is not in the stock image: a custom image, built at start or prebuilt.
    assert spec["db"]["url"].startswith("jdbc:aws-wrapper:postgresql://")
    assert options(spec)["db-driver"] == "software.amazon.jdbc.Driver"
    assert spec["image"] and "quay.io/keycloak/keycloak" not in spec["image"]
    assert spec["startOptimized"] is False
    assert spec["db"]["usernameSecret"] == {"name": "keycloak-db-secret", "key": "username"}
    assert spec["db"]["passwordSecret"] == {"name": "keycloak-db-secret", "key": "password"}
    assert options(spec)["db-tls-mode"] == "verify-server"
    assert spec["truststores"] == {"aurora": {"configMap": {"name": "keycloak-aurora-rootcert"}}}
    assert "unsupported" not in spec


def test_the_secret_variant_fits_the_crd_too():
    [variant] = [
        yaml.safe_load(block)
        for block in yaml_blocks()
        if block.lstrip().startswith("truststores:") and "secret:" in block
    ]
    assert variant == {"truststores": {"aurora": {"secret": {"name": "keycloak-aurora-rootcert"}}}}
    assert keycloak_crd.check(variant, keycloak_crd.SPEC, "spec") == []


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"apiVersion": "k8s.keycloak.org/v1"}, "apiVersion: 'k8s.keycloak.org/v1' is not k8s.keycloak.org/v2beta1"),
        ({"spec": {"instances": "3"}}, "spec.instances: '3' is not of type integer"),
        ({"spec": {"startOptimized": "false"}}, "spec.startOptimized: 'false' is not of type boolean"),
        ({"spec": {"db": {"port": True}}}, "spec.db.port: True is not of type integer"),
        ({"spec": {"db": {"sslmode": "verify-full"}}}, "spec.db.sslmode: no such field"),
        (
            {"spec": {"truststores": {"aurora": {}}}},
            "spec.truststores.aurora: exactly one of secret, configMap must be set",
        ),
        ({"spec": {"truststores": {"aurora": {"configMap": {}}}}}, "spec.truststores.aurora.configMap.name: required"),
        ({"spec": {"additionalOptions": [{"value": "x"}]}}, "spec.additionalOptions[0].name: required"),
        (
            {"spec": {"additionalOptions": {"db-driver": "x"}}},
            "spec.additionalOptions: {'db-driver': 'x'} is not of type array",
        ),
    ],
)
def test_the_field_table_refuses_what_the_crd_refuses(change, error):
    keycloak = {"apiVersion": keycloak_crd.API_VERSION, "kind": "Keycloak", "metadata": {"name": "k"}, "spec": {}}
    for key, value in change.items():
        keycloak[key] = value
    assert error in keycloak_crd.errors(keycloak)

from ansible_collections.keycloak.aurora.plugins.module_utils.keycloak import keycloak_cr_missing
from ansible_collections.keycloak.aurora.plugins.module_utils.keycloak import keycloak_cr_patch
from ansible_collections.keycloak.aurora.plugins.module_utils.keycloak import keycloak_settings

WRITER = "keycloak-aurora.cluster-abc.eu-west-1.rds.amazonaws.com"


def test_settings_name_the_writer_and_the_jdbc_wrapper_url():
    settings = keycloak_settings(WRITER, 5432, "keycloak", "keycloak")
    assert settings["KC_DATABASE"] == "aurora-postgres"
    assert settings["KC_DATABASE_URL"] == WRITER
    assert settings["KC_DB_URL"] == f"jdbc:aws-wrapper:postgresql://{WRITER}:5432/keycloak"
    assert settings["KC_DB_DRIVER"] == "software.amazon.jdbc.Driver"
    assert "KC_DB_PASSWORD" not in settings


def test_password_only_when_given():
    assert (
        keycloak_settings(WRITER, 5432, "keycloak", "keycloak", "s3cretPassw0rd")["KC_DB_PASSWORD"] == "s3cretPassw0rd"
    )


def test_the_cr_patch_sets_db_and_the_aurora_truststore_only():
    patch = keycloak_cr_patch(WRITER, 5432, "keycloak")
    assert patch == {
        "spec": {
            "db": {
                "vendor": "postgres",
                "url": f"jdbc:aws-wrapper:postgresql://{WRITER}:5432/keycloak",
                "usernameSecret": {"name": "keycloak-db-secret", "key": "username"},
                "passwordSecret": {"name": "keycloak-db-secret", "key": "password"},
            },
            "truststores": {"aurora": {"configMap": {"name": "keycloak-aurora-rootcert"}, "secret": None}},
        }
    }
    as_secret = keycloak_cr_patch(WRITER, 5432, "keycloak", ca_bundle_as_secret=True)["spec"]["truststores"]
    assert as_secret == {"aurora": {"secret": {"name": "keycloak-aurora-rootcert"}, "configMap": None}}


def test_what_a_cr_lacks_beyond_the_patch():
    assert keycloak_cr_missing({}) == [
        "spec.image: an image with the AWS Advanced JDBC Wrapper in /opt/keycloak/providers",
        "additionalOptions db-driver=software.amazon.jdbc.Driver",
        "additionalOptions db-tls-mode=verify-server",
    ]
    ready = {
        "image": "quay.io/example/keycloak-aurora:26.6",
        "additionalOptions": [
            {"name": "db-driver", "value": "software.amazon.jdbc.Driver"},
            {"name": "db-tls-mode", "value": "verify-server"},
        ],
    }
    assert keycloak_cr_missing(ready) == []

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

# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The settings Keycloak needs to use an Aurora cluster."""

from __future__ import annotations

# keycloak-benchmark's name for the Aurora database kind: its scripts read KC_DATABASE and KC_DATABASE_URL,
# Keycloak does not (its options are db, db-url, db-driver, db-username, db-password: KC_DB...).
KEYCLOAK_DATABASE_KIND = "aurora-postgres"
# The AWS Advanced JDBC Wrapper fails over to the new writer without a DNS round trip.
JDBC_DRIVER = "software.amazon.jdbc.Driver"


def jdbc_url(endpoint, port, database):
    return f"jdbc:aws-wrapper:postgresql://{endpoint}:{port}/{database}"


def keycloak_settings(endpoint, port, database, username, password=None):
    """Environment variables for Keycloak, in keycloak-benchmark's names and Keycloak's own.

    The password is included only when given: callers pass it only when asked to.
    """
    settings = {
        "KC_DATABASE": KEYCLOAK_DATABASE_KIND,
        "KC_DATABASE_URL": endpoint,
        "KC_DB": "postgres",
        "KC_DB_DRIVER": JDBC_DRIVER,
        "KC_DB_URL": jdbc_url(endpoint, port, database),
        "KC_DB_USERNAME": username,
    }
    if password:
        settings["KC_DB_PASSWORD"] = password
    return settings


# The objects the role writes, and the key of spec.truststores that names the RDS bundle there.
DB_SECRET = "keycloak-db-secret"
CA_BUNDLE = "keycloak-aurora-rootcert"
TRUSTSTORE = "aurora"
# The database TLS mode of Keycloak that verifies the server's certificate and host name.
DB_TLS_MODE = "verify-server"


def keycloak_cr_patch(endpoint, port, database, ca_bundle_as_secret=False):
    """The JSON merge patch that points an existing Keycloak CR at Aurora: spec.db and spec.truststores.aurora.

    A merge patch merges objects key by key, so the CR's other db fields, its other truststores and the rest
    of it stay as they are. The aurora truststore takes one source (the CRD allows one of secret and
    configMap): the other is removed with null.
    """
    source, other = ("secret", "configMap") if ca_bundle_as_secret else ("configMap", "secret")
    return {
        "spec": {
            "db": {
                "vendor": "postgres",
                "url": jdbc_url(endpoint, port, database),
                "usernameSecret": {"name": DB_SECRET, "key": "username"},
                "passwordSecret": {"name": DB_SECRET, "key": "password"},
            },
            "truststores": {TRUSTSTORE: {source: {"name": CA_BUNDLE}, other: None}},
        }
    }


def keycloak_cr_missing(spec):
    """What a Keycloak CR's spec lacks, beyond the patch, to boot on Aurora with the server verified."""
    options = {option.get("name"): option.get("value") for option in (spec or {}).get("additionalOptions") or []}
    missing = []
    if not (spec or {}).get("image"):
        missing.append("spec.image: an image with the AWS Advanced JDBC Wrapper in /opt/keycloak/providers")
    if options.get("db-driver") != JDBC_DRIVER:
        missing.append(f"additionalOptions db-driver={JDBC_DRIVER}")
    if options.get("db-tls-mode") != DB_TLS_MODE:
        missing.append(f"additionalOptions db-tls-mode={DB_TLS_MODE}")
    return missing

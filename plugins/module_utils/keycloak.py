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

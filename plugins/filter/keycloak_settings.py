# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: keycloak_settings
version_added: 1.0.0
short_description: The Keycloak database settings for an Aurora cluster
description:
  - Turns the writer endpoint of an Aurora cluster into the environment variables Keycloak and the
    keycloak-benchmark scripts read, C(KC_DATABASE=aurora-postgres), C(KC_DATABASE_URL) (the writer
    endpoint), and Keycloak's own C(KC_DB), C(KC_DB_DRIVER), C(KC_DB_URL) (the JDBC URL of the AWS
    Advanced JDBC Wrapper) and C(KC_DB_USERNAME).
  - C(KC_DATABASE) and C(KC_DATABASE_URL) are settings of the keycloak-benchmark scripts, not Keycloak
    options; Keycloak reads C(KC_DB), C(KC_DB_URL), C(KC_DB_DRIVER), C(KC_DB_USERNAME) and C(KC_DB_PASSWORD),
    its options C(db), C(db-url), C(db-driver), C(db-username) and C(db-password).
  - C(KC_DB_PASSWORD) is added only when O(password) is given.
options:
  _input:
    description: The writer endpoint of the Aurora cluster.
    type: str
    required: true
  port:
    description: The port of the cluster.
    type: int
    default: 5432
  database:
    description: The database name.
    type: str
    default: keycloak
  username:
    description: The master user name.
    type: str
    default: keycloak
  password:
    description: The master password; only given when it should be part of the settings.
    type: str
author:
  - keycloak.aurora maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Show the Keycloak settings
  ansible.builtin.debug:
    msg: "{{ 'keycloak-aurora.cluster-abc.eu-west-1.rds.amazonaws.com' | keycloak.aurora.keycloak_settings }}"
"""

RETURN = r"""
_value:
  description: The settings, by environment variable name.
  type: dict
"""

from ansible_collections.keycloak.aurora.plugins.module_utils.keycloak import keycloak_settings


def settings(endpoint, port=5432, database="keycloak", username="keycloak", password=None):
    return keycloak_settings(endpoint, port, database, username, password)


class FilterModule:
    def filters(self):
        return {"keycloak_settings": settings}

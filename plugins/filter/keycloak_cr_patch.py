# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: keycloak_cr_patch
version_added: 1.1.0
short_description: The merge patch that points an existing Keycloak CR at an Aurora cluster
description:
  - Takes the C(spec) of an existing Keycloak custom resource (C(k8s.keycloak.org)) and returns C(patch), the JSON
    merge patch that sets C(spec.db) (vendor C(postgres), the JDBC URL of the AWS Advanced JDBC Wrapper for the
    writer endpoint, user name and password from the Secret C(keycloak-db-secret)) and C(spec.truststores.aurora)
    (the ConfigMap C(keycloak-aurora-rootcert), or the Secret of that name), and nothing else.
  - Also returns C(missing), what the CR lacks beyond the patch to start on Aurora with the server verified (an image,
    the C(db-driver) and C(db-tls-mode) options); the patch does not set them, because C(additionalOptions) is a list
    that a merge patch would replace whole.
options:
  _input:
    description: The spec of the existing Keycloak CR.
    type: dict
    required: true
  endpoint:
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
  ca_bundle_as_secret:
    description: Point the truststore at the Secret C(keycloak-aurora-rootcert) instead of the ConfigMap.
    type: bool
    default: false
author:
  - keycloak.aurora maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Point the Keycloak CR at Aurora
  kubernetes.core.k8s:
    state: patched
    merge_type: merge
    api_version: k8s.keycloak.org/v2beta1
    kind: Keycloak
    name: keycloak
    namespace: keycloak
    definition: "{{ (keycloak_cr.spec | keycloak.aurora.keycloak_cr_patch(endpoint=writer_endpoint)).patch }}"
"""

RETURN = r"""
_value:
  description: C(patch), the merge patch, and C(missing), what else the CR needs.
  type: dict
"""

from ansible_collections.keycloak.aurora.plugins.module_utils.keycloak import keycloak_cr_missing
from ansible_collections.keycloak.aurora.plugins.module_utils.keycloak import keycloak_cr_patch


def cr_patch(spec, endpoint, port=5432, database="keycloak", ca_bundle_as_secret=False):
    return {
        "patch": keycloak_cr_patch(endpoint, int(port), database, ca_bundle_as_secret),
        "missing": keycloak_cr_missing(spec),
    }


class FilterModule:
    def filters(self):
        return {"keycloak_cr_patch": cr_patch}

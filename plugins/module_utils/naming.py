# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Names and tags of everything made for an Aurora cluster.

These names are a compatibility contract with the keycloak-benchmark scripts and the
documented aws CLI procedure: deployments made by either are found, adopted and deleted
by the same names, so none of them may change.
"""

from __future__ import annotations

import re

CLUSTER_TAG = "AuroraCluster"
ROSA_CLUSTER_TAG = "RosaCluster"
# On a DB cluster this collection is creating: the instance count the creation was asked for, until
# they are all available. A run interrupted before then is finished by the next one, which reads the
# count here; without it, an existing cluster keeps the instances it has.
CREATING_TAG = "AuroraCreatingInstances"

_IDENTIFIER = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|-(?!-))*$")
IDENTIFIER_RULES = (
    "1 to 63 letters, digits or hyphens, starting with a letter, with no two consecutive hyphens and no trailing hyphen"
)


def identifier_error(identifier):
    """Return why ``identifier`` is not a valid RDS DB cluster identifier, or None."""
    if not isinstance(identifier, str) or not identifier:
        return "must be set"
    if len(identifier) > 63 or not _IDENTIFIER.match(identifier) or identifier.endswith("-"):
        return f"'{identifier}' is not allowed: use {IDENTIFIER_RULES}"
    return None


def cluster_name_error(cluster):
    """Return why ``cluster`` cannot name an Aurora cluster and everything made for it, or None.

    RDS stores DB cluster identifiers in lower case, while tags and the other names keep the case
    they were given: with capitals, the AuroraCluster tag and the names AWS shows would disagree,
    and a later run with the lower-case name would miss the VPC, the peerings and the secret.
    """
    problem = identifier_error(cluster)
    if problem is None and cluster != cluster.lower():
        problem = f"'{cluster}' has capital letters, which RDS turns into lower case: use '{cluster.lower()}'"
    return problem


def vpc_name(cluster):
    return f"Aurora Cluster {cluster}"


def subnet_group_name(cluster):
    return f"{cluster}-subnet-group"


def security_group_name(cluster):
    return f"{cluster}-security-group"


def instance_identifier(cluster, number):
    return f"{cluster}-instance-{number}"


def instance_number(cluster, identifier):
    """The N of ``<cluster>-instance-N``, or None for an instance named otherwise."""
    prefix = f"{cluster}-instance-"
    suffix = identifier[len(prefix) :] if identifier.startswith(prefix) else ""
    return int(suffix) if suffix.isdigit() and not suffix.startswith("0") else None


def master_secret_name(cluster):
    return f"{cluster}-master-password"


def cluster_tags(cluster, extra_tags=None):
    """The tags of every resource made for ``cluster``; the AuroraCluster tag always wins."""
    tags = dict(extra_tags or {})
    tags[CLUSTER_TAG] = cluster
    return tags

# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A new master password for an Aurora cluster, set on the cluster and kept in Secrets Manager.

For a cluster whose password the collection never saw (adopted, or restored from another cluster's
snapshot), and whenever the user asks. The order keeps every reader right at every moment: the new
password is staged in the secret (pending), set on the cluster, and only then made the secret's
current value. A run interrupted anywhere leaves the secret's current value matching the cluster, or
holding no password; running the reset again finishes it.
"""

from __future__ import annotations

import time

from ansible_collections.keycloak.aurora.plugins.module_utils import secret
from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import AVAILABLE
from ansible_collections.keycloak.aurora.plugins.module_utils.naming import master_secret_name
from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import POLL_DELAY
from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import describe_db_cluster
from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import modify_cluster_when_ready
from ansible_collections.keycloak.aurora.plugins.module_utils.rds_cluster import wait_for_cluster
from ansible_collections.keycloak.aurora.plugins.module_utils.waiting import deadline


def reset_master_password(
    secrets_client,
    rds_client,
    *,
    cluster,
    password=None,
    tags=None,
    check_mode=False,
    wait_timeout=3600,
    run_started=None,
    delay=POLL_DELAY,
    sleep=time.sleep,
    clock=time.monotonic,
):
    """Set a new master password on the DB cluster ``cluster`` and keep it in ``<c>-master-password``.

    ``password`` is the new password; None generates one. A given password is kept only where the
    secret exists already (the user keeps it otherwise); a generated one always is. Returns
    ``(changed, secret)`` with the secret's name and ARN, ``{}`` when no secret keeps the password.
    """
    name = master_secret_name(cluster)
    found = describe_db_cluster(rds_client, cluster)
    kept = secret.describe_secret(secrets_client, name)
    keep = password is None or kept is not None
    summary = {"Name": name, "ARN": (kept or {}).get("ARN")} if keep else {}
    if check_mode:
        return True, summary
    if found is None:
        raise AuroraError(f"there is no DB cluster {cluster} to set a new master password on")
    new_password = password or secret.generate_password()
    version = None
    if keep:
        version = secret.stage_new_password(
            secrets_client, name=name, username=found["MasterUsername"], password=new_password, tags=tags or {}
        )
    time_left = deadline(wait_timeout, clock, run_started)

    def wait_until_available():
        wait_for_cluster(
            rds_client,
            cluster,
            remaining=time_left(),
            delay=delay,
            budget=wait_timeout,
            sleep=sleep,
            clock=clock,
        )

    if found.get("Status") != AVAILABLE:
        wait_until_available()
    modify_cluster_when_ready(
        rds_client,
        cluster,
        {"MasterUserPassword": new_password},
        budget=wait_timeout,
        time_left=time_left,
        delay=delay,
        sleep=sleep,
    )
    # AWS shows the cluster resetting-master-credentials for a while: Keycloak connects after that.
    wait_until_available()
    if version:
        secret.promote_pending(secrets_client, name=name, version_id=version)
        summary["ARN"] = summary["ARN"] or secret.describe_secret(secrets_client, name)["ARN"]
    return True, summary

# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: job_ended
version_added: 1.1.0
short_description: Whether waiting for a Kubernetes Job is over
description:
  - True when the Job's condition C(Complete) or C(Failed) is true, or when the Job is gone (nothing left to wait
    for); false while it runs or waits for its pod.
options:
  _input:
    description: The resources C(kubernetes.core.k8s_info) found for the Job, none or one.
    type: list
    elements: dict
    required: true
author:
  - keycloak.aurora maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Wait until the Job is Complete or Failed
  kubernetes.core.k8s_info:
    api_version: batch/v1
    kind: Job
    name: aurora-connection-check
  register: job
  until: job.resources | keycloak.aurora.job_ended
  retries: 150
  delay: 2
"""

RETURN = r"""
_value:
  description: Whether the Job is C(Complete), C(Failed) or gone.
  type: bool
"""

from ansible_collections.keycloak.aurora.plugins.module_utils.k8s_job import ended


class FilterModule:
    def filters(self):
        return {"job_ended": ended}

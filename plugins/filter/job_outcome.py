# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: job_outcome
version_added: 1.1.0
short_description: What a Kubernetes Job that ran one program came to
description:
  - Takes the Job as C(kubernetes.core.k8s_info) lists it, its pod and the pod's log, and says whether the program
    succeeded (the Job's condition C(Complete) is true) and what it said.
  - A Job that is C(Complete) or C(Failed) says what the program printed, after the program's name. A Job that did
    not finish (still running when the wait gave up, or gone) says so, with the phase of its pod (C(not created) when
    there is none) and the reason and message of every container that waits, such as C(ErrImagePull).
options:
  _input:
    description: The resources C(kubernetes.core.k8s_info) found for the Job, none or one.
    type: list
    elements: dict
    required: true
  pods:
    description: The resources C(kubernetes.core.k8s_info) found for the Job's pod, none or one.
    type: list
    elements: dict
    required: true
  log_lines:
    description: The pod's log, as C(kubernetes.core.k8s_log) returns it in C(log_lines); empty without a log.
    type: list
    elements: str
    required: true
  command:
    description: The Job's command; its first item names the program.
    type: list
    elements: str
    required: true
  timeout:
    description: The seconds the Job was given (its C(activeDeadlineSeconds)), for the message when it did not finish.
    type: int
    required: true
author:
  - keycloak.aurora maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Keep the outcome of the Job
  ansible.builtin.set_fact:
    job_outcome: >-
      {{ job.resources | default([]) | keycloak.aurora.job_outcome(pods=pods.resources | default([]),
         log_lines=log.log_lines | default([]), command=['psql', '-c', 'select 1'], timeout=300) }}
"""

RETURN = r"""
_value:
  description:
    - C(succeeded) (bool), whether the Job is C(Complete); C(said) (str), what the program printed, or why the Job did
      not finish.
  type: dict
  sample: {"succeeded": true, "said": "psql: logged in as keycloak"}
"""

from ansible_collections.keycloak.aurora.plugins.module_utils.k8s_job import outcome


class FilterModule:
    def filters(self):
        return {"job_outcome": outcome}

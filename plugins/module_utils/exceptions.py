# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import contextlib

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError


class AuroraError(AnsibleAWSError):
    """A state the collection refuses to converge, or input it refuses; the message says why.

    An AnsibleAWSError without a boto exception, so a module's single
    ``except AnsibleAWSError: module.fail_json_aws_error(e)`` reports it as a plain message.
    """


@contextlib.contextmanager
def naming_resource(resource):
    """Add ``resource`` to the message of an AWS error raised inside, so that a denied or failed
    call says what it was acting on, not only which API it called."""
    try:
        yield
    except AuroraError:
        raise
    except AnsibleAWSError as e:
        raise type(e)(message=f"{e.message} ({resource})", exception=e.exception, **e.kwargs) from e

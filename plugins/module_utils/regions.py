# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Clients for many regions at once."""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing boto3
    import boto3

from ansible_collections.amazon.aws.plugins.module_utils.botocore import get_aws_connection_info

SCAN_WORKERS = 16


def regional_clients(module, service, regions):
    """One client per region, all from one boto3 session.

    amazon.aws's boto3_conn builds a new session, and so loads the service model again, for
    every client: about 150 ms each for EC2, seconds for a scan of every region.
    """
    _region, endpoint_url, connect_kwargs = get_aws_connection_info(module)
    session = boto3.session.Session(profile_name=connect_kwargs.pop("profile_name", None))
    config = connect_kwargs.pop("aws_config", None)
    return {
        region: session.client(service, region_name=region, endpoint_url=endpoint_url, config=config, **connect_kwargs)
        for region in regions
    }


def map_concurrently(function, items):
    """``function`` applied to every item on a thread pool: the calls are network-bound."""
    items = list(items)
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(SCAN_WORKERS, len(items))) as pool:
        return list(pool.map(function, items))

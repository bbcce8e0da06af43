# -*- coding: utf-8 -*-

# Copyright: Contributors to the keycloak.aurora project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""CIDR arithmetic for the Aurora VPC: validation, allocation and subnet plans."""

from __future__ import annotations

import ipaddress
import math

# AWS accepts VPC CIDR blocks between /16 and /28.
VPC_PREFIX_RANGE = (16, 28)
ALLOCATED_PREFIX = 24
PRIVATE_RANGES = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
PRIVATE_RANGES_TEXT = "10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"


class CidrError(ValueError):
    pass


def parse_network(text):
    """An IPv4 network from ``text``, refusing host bits so a typo is not silently widened."""
    try:
        return ipaddress.IPv4Network(str(text), strict=True)
    except ValueError as e:
        raise CidrError(f"'{text}' is not an IPv4 network in CIDR notation ({e})") from e


def vpc_cidr_error(text, min_prefix=VPC_PREFIX_RANGE[0], max_prefix=VPC_PREFIX_RANGE[1]):
    """Why ``text`` cannot be a private VPC CIDR block (or a pool of them), or None."""
    try:
        network = parse_network(text)
    except CidrError as e:
        return str(e)
    if not any(network.subnet_of(private) for private in PRIVATE_RANGES):
        return f"'{text}' is not inside the private ranges {PRIVATE_RANGES_TEXT}"
    if not min_prefix <= network.prefixlen <= max_prefix:
        return f"'{text}' must have a prefix length between /{min_prefix} and /{max_prefix}"
    return None


def overlaps(a, b):
    return parse_network(a).overlaps(parse_network(b))


def allocate(pool, taken, prefix=ALLOCATED_PREFIX):
    """The first block of size ``prefix`` in ``pool`` that overlaps none of ``taken``.

    Deterministic: the same pool and the same taken blocks always give the same answer.
    """
    pool_network = parse_network(pool)
    if pool_network.prefixlen > prefix:
        raise CidrError(f"the pool {pool} is smaller than one /{prefix}")
    taken_networks = [ipaddress.ip_network(t, strict=False) for t in taken]
    for candidate in pool_network.subnets(new_prefix=prefix):
        if not any(candidate.overlaps(t) for t in taken_networks):
            return str(candidate)
    raise CidrError(
        f"no free /{prefix} is left in the pool {pool}: every block overlaps one of {', '.join(sorted(taken))}"
    )


def subnet_blocks(vpc_cidr, count):
    """The VPC CIDR split into equal blocks, enough for ``count`` subnets (a power of two of them)."""
    network = parse_network(vpc_cidr)
    new_prefix = network.prefixlen + math.ceil(math.log2(count)) if count > 1 else network.prefixlen
    if new_prefix > VPC_PREFIX_RANGE[1]:
        raise CidrError(f"{vpc_cidr} is too small for {count} subnets of at least /{VPC_PREFIX_RANGE[1]}")
    return [str(block) for block in network.subnets(new_prefix=new_prefix)]


def plan_subnets(vpc_cidr, zones, existing):
    """Which new subnets to create so that every zone in ``zones`` has one.

    ``existing`` maps a zone to the CIDR blocks of subnets already there (adopted as they are,
    whatever their size: a VPC made by the documented procedure has two /19 in a /16).
    New subnets take the first free equal blocks of the VPC CIDR. Returns ``{zone: cidr}``.
    """
    missing = [zone for zone in zones if not existing.get(zone)]
    if not missing:
        return {}
    used = [ipaddress.ip_network(c) for cidrs in existing.values() for c in cidrs]
    free = [
        b for b in subnet_blocks(vpc_cidr, len(zones)) if not any(ipaddress.ip_network(b).overlaps(u) for u in used)
    ]
    if len(free) < len(missing):
        raise CidrError(
            f"the VPC {vpc_cidr} has no free block left for subnets in {', '.join(missing)} "
            "next to its existing subnets"
        )
    return dict(zip(missing, free))


def choose_zones(available, count, used=()):
    """``count`` zones: those already in use first, then the available ones in name order."""
    chosen = sorted(set(used))
    for zone in sorted(available):
        if len(chosen) >= count:
            break
        if zone not in chosen:
            chosen.append(zone)
    if len(chosen) < count:
        raise CidrError(
            f"{count} availability zones were asked for, but the region offers only {len(chosen)}: {', '.join(chosen)}"
        )
    return chosen

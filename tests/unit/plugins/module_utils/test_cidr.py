import pytest

from ansible_collections.keycloak.aurora.plugins.module_utils import cidr


@pytest.mark.parametrize("text", ["192.168.0.0/24", "10.0.0.0/16", "172.31.255.240/28"])
def test_private_vpc_cidrs_are_accepted(text):
    assert cidr.vpc_cidr_error(text) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("8.8.8.0/24", "private ranges"),
        ("192.168.0.1/24", "not an IPv4 network"),
        ("192.168.0.0/33", "not an IPv4 network"),
        ("banana", "not an IPv4 network"),
        ("10.0.0.0/8", "between /16 and /28"),
        ("10.0.0.0/29", "between /16 and /28"),
        ("fd00::/64", "not an IPv4 network"),
    ],
)
def test_bad_vpc_cidrs_are_explained(text, reason):
    assert reason in cidr.vpc_cidr_error(text)


def test_allocation_takes_the_first_free_block():
    assert cidr.allocate("192.168.0.0/16", []) == "192.168.0.0/24"
    assert cidr.allocate("192.168.0.0/16", ["192.168.0.0/24", "192.168.2.0/24"]) == "192.168.1.0/24"


def test_allocation_avoids_larger_and_smaller_overlaps():
    # A /16 from the documented procedure blocks the whole pool; a ROSA /25 blocks one /24.
    assert cidr.allocate("192.168.0.0/16", ["192.168.0.0/23", "192.168.2.128/25"]) == "192.168.3.0/24"
    with pytest.raises(cidr.CidrError, match="no free /24"):
        cidr.allocate("192.168.0.0/16", ["192.168.0.0/16"])


def test_allocation_is_deterministic_whatever_the_order():
    taken = ["192.168.5.0/24", "192.168.0.0/24", "192.168.1.0/24"]
    assert cidr.allocate("192.168.0.0/16", taken) == cidr.allocate("192.168.0.0/16", list(reversed(taken)))


def test_pool_exhaustion_names_the_pool():
    taken = [f"10.1.{i}.0/24" for i in range(4)]
    with pytest.raises(cidr.CidrError, match="10.1.0.0/22"):
        cidr.allocate("10.1.0.0/22", taken)


def test_pool_smaller_than_a_block():
    with pytest.raises(cidr.CidrError, match="smaller than one /24"):
        cidr.allocate("10.1.0.0/25", [])


@pytest.mark.parametrize(
    ("vpc", "count", "blocks"),
    [
        ("192.168.0.0/24", 2, ["192.168.0.0/25", "192.168.0.128/25"]),
        ("192.168.0.0/24", 3, ["192.168.0.0/26", "192.168.0.64/26", "192.168.0.128/26", "192.168.0.192/26"]),
        ("192.168.0.0/16", 1, ["192.168.0.0/16"]),
    ],
)
def test_subnet_blocks_are_equal(vpc, count, blocks):
    assert cidr.subnet_blocks(vpc, count) == blocks


def test_subnet_blocks_refuse_a_too_small_vpc():
    with pytest.raises(cidr.CidrError, match="too small"):
        cidr.subnet_blocks("10.0.0.0/28", 3)


def test_plan_subnets_on_an_empty_vpc():
    assert cidr.plan_subnets("192.168.7.0/24", ["a", "b", "c"], {}) == {
        "a": "192.168.7.0/26",
        "b": "192.168.7.64/26",
        "c": "192.168.7.128/26",
    }


def test_plan_subnets_adopts_the_documented_procedure_layout():
    existing = {"eu-west-1a": ["192.168.0.0/19"], "eu-west-1b": ["192.168.32.0/19"]}
    assert cidr.plan_subnets("192.168.0.0/16", ["eu-west-1a", "eu-west-1b"], existing) == {}
    assert cidr.plan_subnets("192.168.0.0/16", ["eu-west-1a", "eu-west-1b", "eu-west-1c"], existing) == {
        "eu-west-1c": "192.168.64.0/18"
    }


def test_plan_subnets_fills_a_gap_after_an_interruption():
    existing = {"a": ["192.168.7.0/26"], "c": ["192.168.7.128/26"]}
    assert cidr.plan_subnets("192.168.7.0/24", ["a", "b", "c"], existing) == {"b": "192.168.7.64/26"}


def test_plan_subnets_without_room():
    existing = {"a": ["192.168.7.0/25"], "b": ["192.168.7.128/25"]}
    with pytest.raises(cidr.CidrError, match="no free block"):
        cidr.plan_subnets("192.168.7.0/24", ["a", "b", "c"], existing)


def test_zones_are_sorted_and_reused():
    available = ["eu-west-1c", "eu-west-1a", "eu-west-1b"]
    assert cidr.choose_zones(available, 2) == ["eu-west-1a", "eu-west-1b"]
    assert cidr.choose_zones(available, 2, used=["eu-west-1c"]) == ["eu-west-1c", "eu-west-1a"]
    assert cidr.choose_zones(available, 1, used=["eu-west-1c", "eu-west-1b"]) == ["eu-west-1b", "eu-west-1c"]


def test_zones_beyond_what_the_region_offers():
    with pytest.raises(cidr.CidrError, match="only 2"):
        cidr.choose_zones(["a", "b"], 3)

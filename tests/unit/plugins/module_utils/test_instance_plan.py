import pytest

from ansible_collections.keycloak.aurora.plugins.module_utils import instance_plan
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import plan_instances
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import wait_progress

AZS = ["eu-west-1b", "eu-west-1a", "eu-west-1c"]  # unsorted on purpose


def member(identifier, az="eu-west-1a", writer=False, status="available", instance_class="db.t4g.large"):
    return {"id": identifier, "az": az, "writer": writer, "status": status, "instance_class": instance_class}


def test_new_cluster_round_robin_over_sorted_zones():
    plan = plan_instances("kc", 4, [], AZS)
    assert plan.create == [
        ("kc-instance-1", "eu-west-1a"),
        ("kc-instance-2", "eu-west-1b"),
        ("kc-instance-3", "eu-west-1c"),
        ("kc-instance-4", "eu-west-1a"),
    ]
    assert plan.delete == [] and plan.shortfall == 0


def test_nothing_to_do():
    members = [member("kc-instance-1", writer=True), member("kc-instance-2", "eu-west-1b")]
    plan = plan_instances("kc", 2, members, AZS)
    assert plan == instance_plan.InstancePlan(create=[], delete=[], unmanaged=[], shortfall=0)


def test_scale_up_continues_the_round_robin():
    members = [member("kc-instance-1", "eu-west-1a", writer=True), member("kc-instance-2", "eu-west-1b")]
    plan = plan_instances("kc", 5, members, AZS)
    assert plan.create == [
        ("kc-instance-3", "eu-west-1c"),
        ("kc-instance-4", "eu-west-1a"),
        ("kc-instance-5", "eu-west-1b"),
    ]


def test_scale_up_with_two_zones():
    members = [member("kc-instance-1", "eu-west-1a", writer=True), member("kc-instance-2", "eu-west-1b")]
    plan = plan_instances("kc", 3, members, ["eu-west-1a", "eu-west-1b"])
    assert plan.create == [("kc-instance-3", "eu-west-1a")]


def test_scale_up_fills_the_emptiest_zone_first():
    # Made by the scripts, which used two zones only: a, b, a.
    members = [
        member("kc-instance-1", "eu-west-1a", writer=True),
        member("kc-instance-2", "eu-west-1b"),
        member("kc-instance-3", "eu-west-1a"),
    ]
    plan = plan_instances("kc", 5, members, AZS)
    assert plan.create == [("kc-instance-4", "eu-west-1c"), ("kc-instance-5", "eu-west-1b")]


def test_new_instances_take_the_lowest_free_numbers():
    members = [member("kc-instance-1", writer=True), member("kc-instance-3", "eu-west-1c")]
    plan = plan_instances("kc", 4, members, AZS)
    assert [identifier for identifier, _az in plan.create] == ["kc-instance-2", "kc-instance-4"]


def test_unmanaged_instances_count_and_are_left_alone():
    members = [member("kc-instance-1", writer=True), member("someone-elses-reader", "eu-west-1b")]
    plan = plan_instances("kc", 3, members, AZS)
    assert plan.create == [("kc-instance-2", "eu-west-1c")]
    assert plan.unmanaged == ["someone-elses-reader"]


def test_names_are_compared_case_insensitively():
    # RDS stores identifiers in lower case.
    members = [member("kc-aurora-instance-1", writer=True), member("kc-aurora-instance-2", "eu-west-1b")]
    plan = plan_instances("KC-Aurora", 2, members, AZS)
    assert plan.create == [] and plan.unmanaged == []


def test_deleting_members_do_not_count_but_keep_their_name():
    members = [member("kc-instance-1", writer=True), member("kc-instance-2", "eu-west-1b", status="deleting")]
    plan = plan_instances("kc", 2, members, AZS)
    assert plan.create == [("kc-instance-3", "eu-west-1b")]


def test_unknown_zones_give_no_zone():
    plan = plan_instances("kc", 2, [], [])
    assert plan.create == [("kc-instance-1", None), ("kc-instance-2", None)]


def test_scale_down_removes_highest_readers_first():
    members = [
        member("kc-instance-1", writer=True),
        member("kc-instance-2"),
        member("kc-instance-3"),
        member("kc-instance-10"),
    ]
    plan = plan_instances("kc", 2, members, AZS)
    assert plan.delete == ["kc-instance-10", "kc-instance-3"]
    assert plan.create == [] and plan.shortfall == 0


def test_scale_down_never_removes_the_writer():
    members = [member("kc-instance-1"), member("kc-instance-2"), member("kc-instance-3", writer=True)]
    plan = plan_instances("kc", 1, members, AZS)
    assert plan.delete == ["kc-instance-2", "kc-instance-1"]


def test_scale_down_leaves_unmanaged_instances_and_reports_the_shortfall():
    members = [member("kc-instance-1", writer=True), member("manual-reader"), member("kc-instance-2")]
    plan = plan_instances("kc", 1, members, AZS)
    assert plan.delete == ["kc-instance-2"]
    assert plan.shortfall == 1
    assert plan.unmanaged == ["manual-reader"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("available", instance_plan.AVAILABLE),
        ("creating", instance_plan.WAITING),
        ("modifying", instance_plan.WAITING),
        ("backing-up", instance_plan.WAITING),
        ("configuring-enhanced-monitoring", instance_plan.WAITING),
        ("rebooting", instance_plan.WAITING),
        ("failed", instance_plan.FAILED),
        ("incompatible-parameters", instance_plan.FAILED),
        ("incompatible-network", instance_plan.FAILED),
        ("incompatible-restore", instance_plan.FAILED),
        ("storage-full", instance_plan.FAILED),
        ("inaccessible-encryption-credentials", instance_plan.FAILED),
        ("restore-error", instance_plan.FAILED),
        ("stopped", instance_plan.FAILED),
    ],
)
def test_classify(status, expected):
    assert instance_plan.classify(status) == expected


def test_wait_progress_done():
    members = [member("kc-instance-1"), member("kc-instance-2")]
    progress = wait_progress(members, available=["kc-instance-1", "kc-instance-2"], gone=["kc-instance-3"])
    assert progress.done and progress.pending == [] and progress.failed == []


def test_wait_progress_pending_and_missing():
    members = [member("kc-instance-1", status="creating"), member("kc-instance-3", status="deleting")]
    progress = wait_progress(members, available=["kc-instance-1", "kc-instance-2"], gone=["kc-instance-3"])
    assert not progress.done
    assert progress.pending == [
        ("kc-instance-1", "creating"),
        ("kc-instance-2", "missing"),
        ("kc-instance-3", "deleting"),
    ]


def test_wait_progress_failed():
    members = [member("kc-instance-1", status="incompatible-network"), member("kc-instance-2", status="deleting")]
    progress = wait_progress(members, available=["kc-instance-1", "kc-instance-2"])
    assert not progress.done
    assert progress.failed == [("kc-instance-1", "incompatible-network"), ("kc-instance-2", "deleting")]


def test_wait_progress_waits_for_the_new_class():
    members = [member("kc-instance-1", instance_class="db.t4g.large")]
    progress = wait_progress(members, available=["kc-instance-1"], instance_class={"kc-instance-1": "db.r6g.large"})
    assert progress.pending == [("kc-instance-1", "available, class db.t4g.large")]
    members = [member("kc-instance-1", instance_class="db.r6g.large")]
    assert wait_progress(members, available=["kc-instance-1"], instance_class={"kc-instance-1": "db.r6g.large"}).done


def test_describe_states():
    assert instance_plan.describe_states([("a", "creating"), ("b", "missing")]) == "a (creating), b (missing)"


# zones ------------------------------------------------------------------------------------------


def test_usable_zones_are_the_subnet_groups_zones_where_the_cluster_storage_lives():
    # A subnet group may span more zones than the three where Aurora keeps the cluster volume.
    subnet_group = ["eu-west-1d", "eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert instance_plan.usable_zones(["eu-west-1c", "eu-west-1b", "eu-west-1d"], subnet_group) == [
        "eu-west-1b",
        "eu-west-1c",
        "eu-west-1d",
    ]


@pytest.mark.parametrize("cluster_zones", [None, []])
def test_usable_zones_without_the_clusters_zones_are_the_subnet_groups(cluster_zones):
    assert instance_plan.usable_zones(cluster_zones, ["eu-west-1b", "eu-west-1a"]) == ["eu-west-1a", "eu-west-1b"]


def test_usable_zones_of_an_unknown_subnet_group_are_none():
    assert instance_plan.usable_zones(["eu-west-1a", "eu-west-1b"], []) == []


def test_spread_again_after_a_zone_refused_keeps_the_instances_apart():
    # kc-instance-1 was planned in eu-west-1a, which has no capacity: both go to the other zones.
    assert instance_plan.spread_over_zones(
        "kc", ["kc-instance-1", "kc-instance-2"], [], ["eu-west-1b", "eu-west-1c"]
    ) == [
        ("kc-instance-1", "eu-west-1b"),
        ("kc-instance-2", "eu-west-1c"),
    ]


def test_spread_again_counts_the_instances_already_placed():
    members = [member("kc-instance-1", "eu-west-1b", writer=True), member("kc-instance-2", "eu-west-1c")]
    assert instance_plan.spread_over_zones("kc", ["kc-instance-3"], members, ["eu-west-1b", "eu-west-1c"]) == [
        ("kc-instance-3", "eu-west-1b")
    ]


def test_spread_over_no_zones_leaves_the_choice_to_aws():
    assert instance_plan.spread_over_zones("kc", ["kc-instance-1"], [], []) == [("kc-instance-1", None)]


@pytest.mark.parametrize(
    ("requested", "members", "expected"),
    [
        # asked for: that many, whatever exists
        (1, [member("kc-instance-1", writer=True), member("kc-instance-2")], 1),
        (3, [], 3),
        # not asked for: an existing cluster keeps its count, a new one gets the default
        (None, [member("kc-instance-1", writer=True), member("kc-instance-2"), member("kc-instance-3")], 3),
        (None, [member("kc-instance-1", writer=True)], 1),
        (None, [member("hand-made", writer=True), member("kc-instance-2")], 2),
        (None, [], instance_plan.DEFAULT_INSTANCES),
        # members on their way out do not count; with none left the cluster serves nothing
        (None, [member("kc-instance-1", writer=True), member("kc-instance-2", status="deleting")], 1),
        (None, [member("kc-instance-1", status="deleting")], instance_plan.DEFAULT_INSTANCES),
    ],
)
def test_wanted_count(requested, members, expected):
    assert instance_plan.wanted_count(requested, members) == expected


def test_a_kept_count_plans_nothing():
    members = [member("kc-instance-1", writer=True), member("kc-instance-2"), member("kc-instance-3", "eu-west-1c")]
    plan = plan_instances("kc", instance_plan.wanted_count(None, members), members, AZS)
    assert plan == instance_plan.InstancePlan(create=[], delete=[], unmanaged=[], shortfall=0)

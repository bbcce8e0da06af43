import pytest

from ansible_collections.keycloak.aurora.plugins.module_utils import instance_plan
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import plan_instances
from ansible_collections.keycloak.aurora.plugins.module_utils.instance_plan import wait_progress

AZS = ["eu-west-1b", "eu-west-1a", "eu-west-1c"]  # unsorted on purpose


OLD, NEW = "db.t4g.large", "db.r6g.xlarge"


def member(identifier, az="eu-west-1a", writer=False, status="available", instance_class=OLD, pending_class=None):
    return {
        "id": identifier,
        "az": az,
        "writer": writer,
        "status": status,
        "instance_class": instance_class,
        "pending_class": pending_class,
    }


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


def test_wait_progress_waits_for_the_writer_to_move():
    members = [member("kc-instance-1", writer=True), member("kc-instance-2")]
    progress = wait_progress(members, available=["kc-instance-2"], writer="kc-instance-2")
    assert progress.pending == [("kc-instance-2", "available, not the writer yet")]
    members = [member("kc-instance-1"), member("kc-instance-2", writer=True)]
    assert wait_progress(members, available=["kc-instance-2"], writer="kc-instance-2").done


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


# class changes ----------------------------------------------------------------------------------


def test_a_class_change_takes_the_readers_by_number_then_fails_over_then_the_old_writer():
    members = [
        member("kc-instance-10"),
        member("kc-instance-3"),
        member("kc-instance-1", writer=True),
        member("kc-instance-2"),
    ]
    change = instance_plan.plan_class_change("kc", members, NEW)
    assert change.order == ["kc-instance-2", "kc-instance-3", "kc-instance-10", "kc-instance-1"]
    assert (change.writer, change.failover_to) == ("kc-instance-1", "kc-instance-2")


def test_no_class_asked_for_or_every_instance_of_it_changes_nothing():
    members = [member("kc-instance-1", writer=True), member("kc-instance-2")]
    assert instance_plan.plan_class_change("kc", members, None) == instance_plan.NO_CLASS_CHANGE
    assert instance_plan.plan_class_change("kc", members, OLD) == instance_plan.NO_CLASS_CHANGE


def test_a_writer_of_the_new_class_needs_no_failover():
    members = [member("kc-instance-1", writer=True, instance_class=NEW), member("kc-instance-2")]
    assert instance_plan.plan_class_change("kc", members, NEW) == instance_plan.ClassChange(
        order=["kc-instance-2"], writer=None, failover_to=None
    )


def test_a_lone_writer_changes_in_place():
    change = instance_plan.plan_class_change("kc", [member("kc-instance-1", writer=True)], NEW)
    assert change == instance_plan.ClassChange(order=["kc-instance-1"], writer="kc-instance-1", failover_to=None)


def test_readers_removed_by_the_run_are_neither_changed_nor_failed_over_to():
    members = [member("kc-instance-1", writer=True), member("kc-instance-2"), member("kc-instance-3")]
    change = instance_plan.plan_class_change("kc", members, NEW, excluded=["kc-instance-3"])
    assert change.order == ["kc-instance-2", "kc-instance-1"] and change.failover_to == "kc-instance-2"
    alone = instance_plan.plan_class_change("kc", members, NEW, excluded=["kc-instance-2", "kc-instance-3"])
    assert alone == instance_plan.ClassChange(order=["kc-instance-1"], writer="kc-instance-1", failover_to=None)


def test_deleting_members_are_left_out():
    members = [member("kc-instance-1", writer=True), member("kc-instance-2", status="deleting")]
    change = instance_plan.plan_class_change("kc", members, NEW)
    assert change.order == ["kc-instance-1"] and change.failover_to is None


def test_the_failover_goes_to_a_reader_of_the_new_class_first():
    members = [
        member("kc-instance-1", writer=True),
        member("kc-instance-2", instance_class=NEW),
        member("kc-instance-3", pending_class=NEW),  # on its way: AWS has taken the change
    ]
    change = instance_plan.plan_class_change("kc", members, NEW)
    assert change.order == ["kc-instance-1"] and change.failover_to == "kc-instance-2"
    members[1] = member("kc-instance-2", status="deleting")
    assert instance_plan.plan_class_change("kc", members, NEW).failover_to == "kc-instance-3"


def test_instances_named_otherwise_keep_their_class_and_take_over_only_when_nothing_else_can():
    members = [member("kc-instance-1", writer=True), member("manual-reader"), member("kc-instance-2")]
    change = instance_plan.plan_class_change("kc", members, NEW)
    assert change.order == ["kc-instance-2", "kc-instance-1"] and change.failover_to == "kc-instance-2"
    members = [member("kc-instance-1", writer=True), member("manual-reader")]
    change = instance_plan.plan_class_change("kc", members, NEW)
    assert change.order == ["kc-instance-1"] and change.failover_to == "manual-reader"
    members = [member("manual-writer", writer=True), member("kc-instance-1")]
    change = instance_plan.plan_class_change("kc", members, NEW)
    assert change == instance_plan.ClassChange(order=["kc-instance-1"], writer=None, failover_to=None)


def test_class_change_names_are_compared_case_insensitively():
    members = [member("kc-aurora-instance-1", writer=True), member("kc-aurora-instance-2")]
    change = instance_plan.plan_class_change("KC-Aurora", members, NEW)
    assert change.order == ["kc-aurora-instance-2", "kc-aurora-instance-1"]


def step(members, cluster_status="available", excluded=()):
    return instance_plan.class_change_step("kc", cluster_status, members, NEW, excluded)


def test_a_step_waits_while_an_instance_or_the_cluster_is_in_a_transition():
    members = [member("kc-instance-1", writer=True), member("kc-instance-2", status="modifying")]
    assert step(members) == (instance_plan.WAIT, ["kc-instance-2"])
    members = [member("kc-instance-1", writer=True), member("kc-instance-2", instance_class=NEW)]
    assert step(members, cluster_status="failing-over") == (instance_plan.WAIT, [])
    # a new reader is waited for before it takes over
    members = [member("kc-instance-1", writer=True), member("kc-instance-2", status="creating", instance_class=NEW)]
    assert step(members) == (instance_plan.WAIT, ["kc-instance-2"])


def test_a_change_aws_has_taken_but_not_applied_is_waited_for_not_failed_over_to():
    # Right after ModifyDBInstance AWS may still show the reader available, with the old class and the new one pending.
    taken = member("kc-instance-2", pending_class=NEW)
    assert step([member("kc-instance-1", writer=True), taken]) == (instance_plan.WAIT, ["kc-instance-2"])
    three = [member("kc-instance-1", writer=True), taken, member("kc-instance-3")]
    assert step(three) == (instance_plan.WAIT, ["kc-instance-2"]), "never two instances changing at once"
    assert instance_plan.pending_classes(three, ["kc-instance-2", "kc-instance-3"]) == {"kc-instance-2": NEW}


def test_a_step_waits_for_none_of_the_instances_it_leaves_alone():
    members = [
        member("kc-instance-1", writer=True),
        member("kc-instance-2"),
        member("kc-instance-3", status="deleting"),
        member("manual-reader", status="rebooting"),
    ]
    assert step(members) == (instance_plan.MODIFY, ["kc-instance-2"])


def apply(members, action):
    """What AWS shows once ``action`` (a MODIFY or FAILOVER step) is over."""
    kind, [identifier] = action
    for m in members:
        if kind == instance_plan.MODIFY and m["id"] == identifier:
            m["instance_class"] = NEW
        if kind == instance_plan.FAILOVER:
            m["writer"] = m["id"] == identifier


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, [("modify", "kc-instance-1")]),
        (2, [("modify", "kc-instance-2"), ("failover", "kc-instance-2"), ("modify", "kc-instance-1")]),
        (
            3,
            [
                ("modify", "kc-instance-2"),
                ("modify", "kc-instance-3"),
                ("failover", "kc-instance-2"),
                ("modify", "kc-instance-1"),
            ],
        ),
    ],
)
def test_the_steps_of_a_whole_change_never_touch_the_writer_while_another_instance_could_take_over(count, expected):
    members = [member(f"kc-instance-{n}", writer=n == 1) for n in range(1, count + 1)]
    steps = []
    while True:
        action = step(members)
        if action.action == instance_plan.DONE:
            break
        assert action.action != instance_plan.WAIT
        [target] = action.identifiers
        writer = next(m["id"] for m in members if m["writer"])
        if action.action == instance_plan.MODIFY and count > 1:
            assert target != writer
        steps.append((action.action, target))
        apply(members, action)
    assert steps == expected
    assert all(m["instance_class"] == NEW for m in members)


def test_a_rerun_goes_on_from_where_the_change_is():
    # the failover is over: the old writer is a reader of the old class
    members = [member("kc-instance-1"), member("kc-instance-2", writer=True, instance_class=NEW)]
    assert step(members) == (instance_plan.MODIFY, ["kc-instance-1"])
    # the reader has its new class, the writer not yet
    members = [member("kc-instance-1", writer=True), member("kc-instance-2", instance_class=NEW)]
    assert step(members) == (instance_plan.FAILOVER, ["kc-instance-2"])
    members = [member("kc-instance-1", instance_class=NEW), member("kc-instance-2", writer=True, instance_class=NEW)]
    assert step(members) == (instance_plan.DONE, [])

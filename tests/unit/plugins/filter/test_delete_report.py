from ansible_collections.keycloak.aurora.plugins.filter.delete_report import delete_report

NETWORK = {"vpc_id": "vpc-0123456789abcdef0", "subnets": ["subnet-a", "subnet-b"]}
NO_PEERINGS = {"changed": False, "skipped": True, "results": []}
NOTHING = {
    "peerings": NO_PEERINGS,
    "cluster": {"changed": False, "earlier_final_snapshots": []},
    "network": {"changed": False, "removed": {}},
    "secret": {"changed": False},
}


def report(results, check_mode=False):
    return delete_report(results, aurora_cluster="keycloak-aurora", aurora_region="eu-west-1", check_mode=check_mode)


def test_everything_deleted_is_reported_by_kind():
    unpeered = {
        "changed": True,
        "results": [
            {"changed": True, "removed": [{"vpc_peering_connection_id": "pcx-1"}]},
            {
                "changed": True,
                "removed": [{"vpc_peering_connection_id": "pcx-2"}, {"vpc_peering_connection_id": "pcx-3"}],
            },
        ],
    }
    cluster = {
        "changed": True,
        "final_snapshot_identifier": "keycloak-aurora-final-3",
        "earlier_final_snapshots": [
            {"db_cluster_snapshot_identifier": "keycloak-aurora-final-1"},
            {"db_cluster_snapshot_identifier": "keycloak-aurora-final-2"},
        ],
    }
    results = {
        "peerings": unpeered,
        "cluster": cluster,
        "network": {"changed": True, "removed": NETWORK},
        "secret": {"changed": True, "secret": {"name": "keycloak-aurora-master-password"}},
    }
    assert report(results) == {
        "mode": "deleted",
        "peerings": ["pcx-1", "pcx-2", "pcx-3"],
        "cluster": "keycloak-aurora",
        "final_snapshot": "keycloak-aurora-final-3",
        "earlier_final_snapshots": ["keycloak-aurora-final-1", "keycloak-aurora-final-2"],
        "network": NETWORK,
        "secret": "keycloak-aurora-master-password",
    }


def test_check_mode_says_it_would_delete():
    results = {**NOTHING, "cluster": {"changed": True, "earlier_final_snapshots": []}}
    assert report(results, check_mode=True)["mode"] == "would delete (check mode)"


def test_what_did_not_exist_is_null_or_empty():
    # A cluster already gone, whose network and secret were left behind: only those are reported.
    results = {
        **NOTHING,
        "network": {"changed": True, "removed": NETWORK},
        "secret": {"changed": True, "secret": {"name": "keycloak-aurora-master-password"}},
    }
    assert report(results) == {
        "mode": "deleted",
        "peerings": [],
        "cluster": None,
        "final_snapshot": None,
        "earlier_final_snapshots": [],
        "network": NETWORK,
        "secret": "keycloak-aurora-master-password",
    }


def test_a_secret_that_was_not_deleted_is_not_named():
    results = {**NOTHING, "cluster": {"changed": True}, "secret": {"changed": False, "secret": {"name": "kept"}}}
    assert report(results)["secret"] is None


def test_a_changed_peering_in_the_loop_counts_as_found():
    # A loop's result may carry no flag of its own: any changed item makes it changed, as Ansible's test says.
    results = {**NOTHING, "peerings": {"results": [{"changed": True, "removed": []}, {"skipped": True}]}}
    assert report(results)["peerings"] == []


def test_nothing_found_is_one_sentence():
    assert report(NOTHING) == "Nothing of the Aurora cluster keycloak-aurora was found in eu-west-1."
    assert report(NOTHING, check_mode=True) == "Nothing of the Aurora cluster keycloak-aurora was found in eu-west-1."

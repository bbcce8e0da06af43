import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.keycloak.aurora.plugins.filter.reap_plan import reap_plan

OLD = {
    "region": "eu-west-1",
    "identifier": "kc",
    "keepalive": None,
    "created": "2026-11-30T00:00:00+00:00",
    "marks": ["vpc_tag"],
}


def test_the_plan_takes_the_survey_answers_as_strings():
    plan = reap_plan([OLD], "4", "2026-11-30T05:00:00", confirmed=True)
    assert [r["identifier"] for r in plan["delete"]] == ["kc"]
    assert plan["lines"] == ["delete: eu-west-1 kc: no keepalive tag and 5.0 hours old (reap_min_age_hours=4)"]


@pytest.mark.parametrize(
    ("min_age_hours", "now", "message"),
    [
        ("four", "2026-11-30T05:00:00", "reap_min_age_hours must be a number of hours, 0 or more, not 'four'"),
        (-1, "2026-11-30T05:00:00", "reap_min_age_hours must be a number of hours, 0 or more, not '-1'"),
        (4, "tonight", "reap_now must be a time in ISO 8601 such as 2026-12-01T02:00:00, not 'tonight'"),
    ],
)
def test_bad_input_is_refused_with_the_variable_it_came_from(min_age_hours, now, message):
    with pytest.raises(AnsibleFilterError, match=message):
        reap_plan([OLD], min_age_hours, now)

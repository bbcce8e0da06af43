"""accounts: the ROSA cluster's account reached with the module's clients and other credentials."""

import pytest

from ansible_collections.keycloak.aurora.plugins.module_utils import accounts

ROLE = "arn:aws:iam::222222222222:role/keycloak-aurora-peering"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


class FakeSTS:
    def __init__(self, account, calls):
        self.account, self.calls = account, calls

    def assume_role(self, **kwargs):
        self.calls.append(("assume_role", kwargs))
        return {"Credentials": {"AccessKeyId": "ASIAROSA", "SecretAccessKey": SECRET, "SessionToken": "token"}}

    def get_caller_identity(self):
        self.calls.append(("get_caller_identity", {}))
        return {"Account": self.account}


class FakeModule:
    """AnsibleAWSModule's client(): records the connection parameters each client was built with."""

    region = "eu-west-1"

    def __init__(self):
        self.built = []
        self.sts_calls = []

    def client(self, service, **params):
        self.built.append((service, params))
        foreign = params.get("aws_access_key_id") == "ASIAROSA" or params.get("profile_name") == "rosa"
        return FakeSTS("222222222222" if foreign else "123456789012", self.sts_calls) if service == "sts" else object()


def test_both_profile_and_role_are_refused_naming_both():
    error = accounts.account_error(profile="rosa", role_arn=ROLE)
    assert "rosa_profile (rosa) and rosa_role_arn" in error and ROLE in error and "not both" in error


@pytest.mark.parametrize(
    "role", ["keycloak-aurora-peering", "arn:aws:iam::2222:role/x", "arn:aws:iam::222222222222:user/x"]
)
def test_a_role_arn_that_is_not_one_is_refused(role):
    assert accounts.account_error(profile=None, role_arn=role).startswith("rosa_role_arn must be an IAM role ARN")


@pytest.mark.parametrize("profile, role", [(None, None), ("rosa", None), (None, ROLE)])
def test_one_or_no_way_into_the_rosa_account_is_accepted(profile, role):
    assert accounts.account_error(profile=profile, role_arn=role) is None


def test_the_session_name_is_what_assume_role_takes():
    assert accounts.session_name("rosa-a") == "keycloak-aurora-rosa-a"
    long_name = accounts.session_name("r" * 80 + " x")
    assert len(long_name) == accounts.SESSION_NAME_LENGTH and " " not in long_name


def test_aurora_account_uses_the_modules_own_clients_and_asks_nobody():
    module = FakeModule()
    account = accounts.RosaAccount(module, rosa_cluster_name="rosa-a")
    rosa, aurora = accounts.ec2_clients(module, account, rosa_region="eu-west-1")
    assert rosa is aurora
    accounts.ec2_clients(module, account, rosa_region="us-east-1")
    assert account.account_ids() == (None, None)
    assert module.built == [("ec2", {}), ("ec2", {}), ("ec2", {"region": "us-east-1"})]
    assert module.sts_calls == []


def test_a_profile_replaces_the_modules_credentials_for_the_rosa_side_only():
    module = FakeModule()
    account = accounts.RosaAccount(module, profile="rosa", rosa_cluster_name="rosa-a")
    rosa, aurora = accounts.ec2_clients(module, account, rosa_region="eu-west-1")
    assert rosa is not aurora
    no_keys = {"aws_access_key_id": None, "aws_secret_access_key": None, "aws_session_token": None}
    assert module.built == [("ec2", {}), ("ec2", {"region": "eu-west-1", "profile_name": "rosa", **no_keys})]
    assert account.account_ids() == ("222222222222", "123456789012")


def test_a_role_is_assumed_once_with_auroras_credentials_and_its_keys_build_the_rosa_clients():
    module = FakeModule()
    account = accounts.RosaAccount(module, role_arn=ROLE, rosa_cluster_name="rosa-a")
    accounts.ec2_clients(module, account, rosa_region="us-west-2")
    assert account.account_ids() == ("222222222222", "123456789012")
    assert [call for call in module.sts_calls if call[0] == "assume_role"] == [
        ("assume_role", {"RoleArn": ROLE, "RoleSessionName": "keycloak-aurora-rosa-a"})
    ]
    assume = module.built[1]
    assert assume == ("sts", {})  # Aurora's credentials assume the role
    keys = {
        "profile_name": None,
        "aws_access_key_id": "ASIAROSA",
        "aws_secret_access_key": SECRET,
        "aws_session_token": "token",
    }
    assert module.built[2] == ("ec2", {"region": "us-west-2", **keys})
    assert module.built[3] == ("sts", {"region": "eu-west-1", **keys})
    assert module.built[4] == ("sts", {})


def test_a_peering_is_requested_elsewhere_when_neither_aurora_nor_the_rosa_client_is_in_its_account():
    aurora, rosa, third = "1" * 12, "2" * 12, "3" * 12
    assert not accounts.requested_elsewhere(aurora, aurora)
    assert accounts.requested_elsewhere(rosa, aurora)
    assert not accounts.requested_elsewhere(rosa, aurora, rosa)
    assert accounts.requested_elsewhere(third, aurora, rosa)

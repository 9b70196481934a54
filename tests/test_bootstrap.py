"""bootstrap's reading of the backend file's kms_key_id (the KMS key it makes for the state)."""

from __future__ import annotations

from pathlib import Path

import pytest

from platformctl.aws.bootstrap import DEFAULT_KMS_ALIAS, BackendSpec, _kms_alias
from platformctl.errors import ContractError


@pytest.mark.parametrize(
    ("kms_key_id", "alias"),
    [
        ("arn:aws:kms:us-east-1:111111111111:alias/ecommerce-platform-tfstate", "alias/ecommerce-platform-tfstate"),
        ("alias/team-state", "alias/team-state"),
        (None, DEFAULT_KMS_ALIAS),
        ("", DEFAULT_KMS_ALIAS),
    ],
)
def test_the_state_key_alias_comes_from_the_backend_file(kms_key_id: str | None, alias: str) -> None:
    assert _kms_alias(Path("dev.s3.tfbackend"), kms_key_id) == alias


def test_a_key_named_by_id_is_refused_with_what_to_write_instead() -> None:
    arn = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    with pytest.raises(ContractError, match=r"is not an alias: name the state key by alias"):
        _kms_alias(Path("dev.s3.tfbackend"), arn)


def test_the_log_bucket_is_named_after_the_state_bucket() -> None:
    spec = BackendSpec("dev", "state-bucket", "us-east-1", {})
    assert spec.log_bucket == "state-bucket-access-logs"
    assert spec.kms_key_alias == DEFAULT_KMS_ALIAS

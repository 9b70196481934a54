"""`platformctl smoke`, without a platform: its refusals, and how it recognises its own
events wherever the function put them (plain, NDJSON, base64 as Kinesis carried them).
The flow itself is tested end to end in tests/integration/test_smoke.py."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from conftest import copy_repository

from platformctl.emulators.moto_s3_policy import denies_plain_http_only
from platformctl.errors import ApprovalError
from platformctl.operate import smoke


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    return copy_repository(tmp_path / "repo")


def error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0].removeprefix("Error: ")


def test_a_gated_environment_is_refused_without_allow_gated(cli, repository: Path) -> None:
    result = cli("--root", str(repository), "smoke", "prod")
    assert result.exit_code == 1
    assert error_line(result).startswith('prod is gated (approval = "required")')
    assert "--allow-gated" in error_line(result)


def test_a_gated_environment_needs_the_typed_name(cli, repository: Path) -> None:
    # CliRunner's stdin is no terminal: nobody can type the name.
    result = cli("--root", str(repository), "smoke", "prod", "--allow-gated")
    assert result.exit_code == 1
    assert "needs its name typed at a terminal" in error_line(result)


def test_a_wrong_typed_name_puts_nothing(repository: Path) -> None:
    from platformctl.context import Context, Options

    context = Context(Options(root=repository))
    with pytest.raises(ApprovalError, match="You typed 'dev', not 'prod'"):
        smoke.run(context, "prod", allow_gated=True, typed_name=lambda: "dev")


def test_local_without_an_emulator_says_to_run_up(cli, repository: Path) -> None:
    result = cli("--root", str(repository), "smoke", "local")
    assert result.exit_code == 1
    assert "run `platformctl up local` first" in error_line(result)


def test_the_events_are_marked_and_the_invalid_one_has_no_order_id() -> None:
    orders = smoke.orders("RUN", 3)
    assert [o["order_id"] for o in orders] == ["smoke-RUN-0000", "smoke-RUN-0001", "smoke-RUN-0002"]
    assert {o["source"] for o in orders} == {smoke.SOURCE} and {o["smoke_run_id"] for o in orders} == {"RUN"}
    invalid = smoke.invalid_event("RUN")
    assert "order_id" not in invalid and invalid["smoke_id"] == "smoke-RUN-invalid"


def test_mentions_finds_a_record_plain_or_in_base64() -> None:
    record = json.dumps(smoke.invalid_event("RUN")).encode()
    queued = json.dumps({"reason": "no order_id", "data": base64.b64encode(record).decode()})
    assert smoke.mentions(queued, "smoke-RUN-invalid")
    assert smoke.mentions(json.dumps({"record": json.loads(record)}), "smoke-RUN-invalid")
    assert not smoke.mentions(queued, "smoke-OTHER-invalid")


@pytest.mark.parametrize(
    ("text", "only_smoke"),
    [
        (json.dumps({"order_id": "smoke-RUN-0000", "source": smoke.SOURCE}), True),
        ("\n".join(json.dumps(o) for o in smoke.orders("RUN", 2)) + "\n", True),
        ("\n".join(json.dumps(o) for o in [*smoke.orders("RUN", 1), {"order_id": "o-real"}]), False),
        ("not json", False),
    ],
    # Named ids: the orders carry a created_at timestamp, and an id built from it differs between
    # xdist workers that collect a second apart, which fails the whole run at collection.
    ids=["one-smoke-object", "smoke-lines", "a-real-order-among-them", "not-json"],
)
def test_only_objects_of_smoke_events_alone_are_deleted(text: str, only_smoke: bool) -> None:
    assert smoke._only_smoke(text) is only_smoke


@pytest.mark.parametrize(
    ("statement", "skipped"),
    [
        ({"Effect": "Deny", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}, True),
        ({"Effect": "Deny", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": ["false"]}}}, True),
        ({"Effect": "Deny", "Action": "s3:*"}, False),
        ({"Effect": "Deny", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}, False),
        ({"Effect": "Allow", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}, False),
        (
            {
                "Effect": "Deny",
                "Action": "s3:*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}, "StringEquals": {"aws:PrincipalAccount": "1"}},
            },
            False,
        ),
    ],
)
def test_only_the_https_only_deny_is_left_out_on_the_emulator(statement: dict[str, object], skipped: bool) -> None:
    assert denies_plain_http_only(statement) is skipped

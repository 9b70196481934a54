"""Class "writes before refusal": every check that can refuse runs before Terraform touches a
backend. TF_WORKSPACE at apply once created an empty state object in prod's bucket; a plan
from dev with a forged manifest once wrote dev's state key with prod's credentials before
`allowed_account_ids` refused. Now the backend inside the plan's bytes is checked against the
environment's own (bucket and key from its tfbackend file, default workspace) before the STS
probe, init or apply.

Runs against the tiny gated prod of tests/integration/gated.py plus a `dev` beside it, each
account on its own moto server (as in test_release.py); CI-style ambient credentials."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import start_moto

from integration.gated import (
    CI,
    DEV_ACCOUNT,
    all_objects,
    apply_ci,
    commit,
    make_gated,
    one_error,
    plan,
    reseal,
    tfbackend,
    tfvars,
)
from integration.test_release import Platform, stop
from platformctl.release import gate

pytestmark = pytest.mark.integration

DEV_BUCKET = f"tiny-tfstate-{DEV_ACCOUNT}"
DEV_KEY = "dev/terraform.tfstate"


@pytest.fixture(scope="module")
def prod_and_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, Path]]:
    """The tiny prod, a dev root beside it (its own account, bucket and moto), and a plan of dev."""
    folder = tmp_path_factory.mktemp("writes")
    platform = make_gated(folder)
    dev = platform.root / "terraform/environments/dev"
    shutil.copytree(platform.root / "terraform/environments/prod", dev)
    (dev / "prod.s3.tfbackend").unlink()
    (dev / "dev.s3.tfbackend").write_text(tfbackend(DEV_BUCKET, DEV_KEY))
    (dev / "terraform.tfvars").write_text(tfvars(DEV_ACCOUNT, ["dev-only"]))
    with (platform.root / "platform.toml").open("a") as contract:
        contract.write('\n[environments.dev]\naws_vault_profile = "tiny-dev"\nbackend_config = "dev.s3.tfbackend"\n')
    commit(platform.root, "dev")
    dev_moto = start_moto(folder / "dev-moto.log", account_id=DEV_ACCOUNT)
    platform.servers.append(dev_moto)
    try:
        import boto3

        boto3.client(
            "s3",
            region_name="us-east-1",
            endpoint_url=dev_moto.endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        ).create_bucket(Bucket=DEV_BUCKET)
        # The same bucket name where prod's credentials reach, so a write there would succeed.
        platform.s3().create_bucket(Bucket=DEV_BUCKET)
        dev_plan = folder / "dev.tfplan"
        made = platform.run("plan", "dev", "--out", str(dev_plan), env={**CI, "AWS_ENDPOINT_URL": dev_moto.endpoint})
        assert made.returncode == 2, made.stderr
        yield platform, dev_plan
    finally:
        stop(platform)


def test_a_dev_plan_with_a_forged_prod_manifest_writes_nothing(prod_and_dev: tuple[Platform, Path]) -> None:
    platform, dev_plan = prod_and_dev
    saved = plan(platform)  # a genuine prod manifest: inputs, engine, backend all prod's
    data = dev_plan.read_bytes()
    saved.plan_path.write_bytes(data)  # the dev plan under prod's saved name...
    sha = hashlib.sha256(data).hexdigest()
    reseal(saved, plan_sha256=sha)  # ...with a manifest resealed to match it
    prod_objects, dev_objects = all_objects(platform), all_objects(platform, DEV_BUCKET)
    result = apply_ci(platform, gate.read(saved.manifest_path))
    message = one_error(result)
    assert message == (
        f"Plan {saved.name} writes to backend s3 {DEV_BUCKET}/{DEV_KEY}, not prod's s3 {platform.bucket}/"
        f"{platform.state_key}: it was made for another root; nothing was applied; run `platformctl plan prod`."
    )
    assert all_objects(platform, DEV_BUCKET) == dev_objects == []  # dev's key never written with prod's credentials
    assert all_objects(platform) == prod_objects
    assert "AWS account" not in result.stderr and "Initializing" not in result.stderr  # before STS and init
    assert gate.read(saved.manifest_path).manifest.consumed is None


def test_tf_workspace_at_apply_creates_no_state_object(prod_and_dev: tuple[Platform, Path]) -> None:
    platform, _ = prod_and_dev
    saved = plan(platform)
    objects = all_objects(platform)
    message = one_error(apply_ci(platform, saved, env={"TF_WORKSPACE": "hotfix"}))
    assert message.startswith("TF_WORKSPACE is set: it changes what Terraform does, so prod (gated) refuses")
    assert all_objects(platform) == objects
    assert not [key for key, _ in objects if key.startswith("env:/")]


def test_a_plan_against_another_backend_is_never_saved(prod_and_dev: tuple[Platform, Path]) -> None:
    """.terraform/terraform.tfstate (init's record of the backend) edited to another bucket:
    Terraform plans against it, and the plan's bytes say so; platformctl saves nothing."""
    import json

    platform, _ = prod_and_dev
    plan(platform)  # initialized
    record = platform.root / "terraform/environments/prod/.terraform/terraform.tfstate"
    original = record.read_text()
    data = json.loads(original)
    data["backend"]["config"]["bucket"] = DEV_BUCKET
    record.write_text(json.dumps(data))
    plans = sorted(platform.plans.iterdir())
    try:
        result = platform.run("plan", "prod", env=CI)
    finally:
        record.write_text(original)
    message = one_error(result)
    assert message.startswith(f"The new plan writes to backend s3 {DEV_BUCKET}/prod/terraform.tfstate, not prod's")
    assert sorted(platform.plans.iterdir()) == plans
    assert all_objects(platform, DEV_BUCKET) == []

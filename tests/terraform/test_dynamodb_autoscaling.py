"""Autoscaling that sticks: capacity that Application Auto Scaling sets on an autoscaled table
and its GSI is not reset by the next plan. Real Terraform, the real provider, platformctl's moto
server, a real boto3 UpdateTable standing in for the scaling activity.

The same root holds a control: the module with autoscaling off (Terraform owns the capacity),
changed the same way, must plan an update, so the test fails if moto stopped reporting the
change or the provider stopped reading it.

moto 5.2 lacks Application Auto Scaling's tag APIs (ListTagsForResource), which the provider
calls for every scalable target, so while it does the test applies and plans only the tables
(-target); once moto_server answers them, it applies the module whole.
"""

from __future__ import annotations

import json
from pathlib import Path

from terraform.moto_roots import platformctl_moto, write_root
from terraform.tf_helpers import Terraform

TABLE = """
  tables = {
    orders = {
      hash_key = "order_id"
      attributes = [
        { name = "order_id", type = "S" },
        { name = "customer_id", type = "S" },
      ]
      read_capacity  = 5
      write_capacity = 5
      global_secondary_indexes = [
        { name = "customer_id-index", hash_key = "customer_id", read_capacity = 5, write_capacity = 5 },
      ]
    }
  }
  billing_mode           = "PROVISIONED"
  point_in_time_recovery = false
"""

ROOT = f"""
module "autoscaled" {{
  source      = "../modules/dynamodb"
  name_prefix = "sticks"
  {TABLE}
  enable_autoscaling = true
}}

module "control" {{
  source      = "../modules/dynamodb"
  name_prefix = "control"
  {TABLE}
  enable_autoscaling = false
}}
"""

AUTOSCALED = 'module.autoscaled.aws_dynamodb_table.this["orders"]'
CONTROL = 'module.control.aws_dynamodb_table.not_autoscaled["orders"]'


def _scale(dynamodb, table: str) -> None:
    """What a scale-out does: raise the table's and the GSI's provisioned capacity."""
    dynamodb.update_table(
        TableName=table,
        ProvisionedThroughput={"ReadCapacityUnits": 9, "WriteCapacityUnits": 11},
        GlobalSecondaryIndexUpdates=[
            {
                "Update": {
                    "IndexName": "customer_id-index",
                    "ProvisionedThroughput": {"ReadCapacityUnits": 17, "WriteCapacityUnits": 23},
                }
            },
        ],
    )


def _moto_tags_autoscaling(moto) -> bool:
    from botocore.exceptions import ClientError

    arn = "arn:aws:application-autoscaling:us-east-1:000000000000:scalable-target/probe"
    try:
        moto.client("application-autoscaling").list_tags_for_resource(ResourceARN=arn)
    except ClientError as exc:
        return exc.response["Error"]["Code"] not in ("InternalFailure", "500", "NotImplemented")
    return True


def test_autoscaled_capacity_survives_the_next_plan(terraform: Terraform, tmp_path: Path) -> None:
    root = write_root(tmp_path, ROOT)
    with platformctl_moto(tmp_path / "moto.log") as moto:
        terraform = terraform.at(moto.endpoint)  # this emulator, for every run below
        tables_only = ["-target=module.autoscaled.aws_dynamodb_table.this", "-target=module.control"]
        targets = [] if _moto_tags_autoscaling(moto) else tables_only
        terraform.run(root, "init", "-input=false", "-no-color")
        terraform.run(root, "apply", "-auto-approve", "-input=false", "-no-color", *targets)

        dynamodb = moto.client("dynamodb")
        for table in ("sticks-orders", "control-orders"):
            _scale(dynamodb, table)
        described = dynamodb.describe_table(TableName="sticks-orders")["Table"]
        assert described["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"]["WriteCapacityUnits"] == 23

        terraform.run(root, "plan", "-input=false", "-no-color", "-out=after-scaling.tfplan", *targets)
        plan = json.loads(terraform.run(root, "show", "-json", "after-scaling.tfplan").stdout)

    actions = {change["address"]: change["change"]["actions"] for change in plan["resource_changes"]}
    assert actions[AUTOSCALED] == ["no-op"], "the autoscaled table's capacity or GSI capacity would be reset"
    changed = [address for address, action in actions.items() if action != ["no-op"]]
    assert changed == [CONTROL], f"only the control (capacity owned by Terraform) plans a change: {changed}"
    control = next(c["change"] for c in plan["resource_changes"] if c["address"] == CONTROL)
    assert control["before"]["global_secondary_index"][0]["write_capacity"] == 23
    assert control["after"]["global_secondary_index"][0]["write_capacity"] == 5

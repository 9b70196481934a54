# Plan-only tests with a mocked provider: the module's security and cost properties, and
# every validation. Run with `terraform init && terraform test` in the module folder.

mock_provider "aws" {}

variables {
  name_prefix = "ecommerce-data-platform-dev"
  tables = {
    orders = {
      hash_key = "order_id"
      attributes = [
        { name = "order_id", type = "S" },
        { name = "customer_id", type = "S" },
        { name = "created_at", type = "S" },
      ]
      global_secondary_indexes = [
        { name = "customer_id-index", hash_key = "customer_id", range_key = "created_at" },
      ]
    }
    customer_sessions = {
      hash_key      = "session_id"
      attributes    = [{ name = "session_id", type = "S" }]
      ttl_attribute = "expires_at"
    }
  }
  tags = { Team = "data-platform" }
}

run "on_demand_tables_are_recoverable_and_encrypted" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.not_autoscaled["orders"].name == "ecommerce-data-platform-dev-orders" && aws_dynamodb_table.not_autoscaled["customer_sessions"].name == "ecommerce-data-platform-dev-customer-sessions"
    error_message = "Tables are named <name_prefix>-<key with hyphens>."
  }

  assert {
    condition     = alltrue([for t in aws_dynamodb_table.not_autoscaled : t.billing_mode == "PAY_PER_REQUEST" && t.point_in_time_recovery[0].enabled && t.server_side_encryption[0].enabled])
    error_message = "Tables default to on-demand, with point-in-time recovery and server-side encryption."
  }

  assert {
    condition     = alltrue([for t in aws_dynamodb_table.not_autoscaled : t.deletion_protection_enabled == false])
    error_message = "Deletion protection follows the variable (default off)."
  }

  assert {
    condition     = [for g in aws_dynamodb_table.not_autoscaled["orders"].global_secondary_index : g.name] == ["customer_id-index"]
    error_message = "The orders table has its customer_id GSI."
  }

  assert {
    condition     = aws_dynamodb_table.not_autoscaled["customer_sessions"].ttl[0].attribute_name == "expires_at" && aws_dynamodb_table.not_autoscaled["customer_sessions"].ttl[0].enabled
    error_message = "customer_sessions expires items through TTL."
  }

  assert {
    condition     = length(aws_appautoscaling_target.this) == 0 && length(aws_dynamodb_table.this) == 0
    error_message = "On-demand tables need no autoscaling, and are not the autoscaled variant (which ignores GSI changes)."
  }

  assert {
    condition     = aws_dynamodb_table.not_autoscaled["orders"].tags["Team"] == "data-platform"
    error_message = "Tables carry the caller's tags."
  }
}

run "provisioned_tables_autoscale_table_and_gsis" {
  command = plan

  variables {
    billing_mode        = "PROVISIONED"
    deletion_protection = true
    kms_key_arn         = "arn:aws:kms:us-east-1:222222222222:key/00000000-0000-0000-0000-000000000000"
  }

  assert {
    condition     = length(aws_dynamodb_table.this) == 2 && length(aws_dynamodb_table.not_autoscaled) == 0
    error_message = "Autoscaled tables are the variant whose lifecycle ignores table and GSI capacity (aws_dynamodb_table.this)."
  }

  assert {
    condition     = [for g in aws_dynamodb_table.this["orders"].global_secondary_index : "${g.name}:${g.read_capacity}:${g.write_capacity}"] == ["customer_id-index:5:5"]
    error_message = "The GSI starts at its configured capacity, which is also its autoscaling floor."
  }

  assert {
    condition     = aws_appautoscaling_target.this["orders/index/customer_id-index/write"].min_capacity == 5 && aws_appautoscaling_target.this["orders/index/customer_id-index/write"].max_capacity == 100
    error_message = "GSI capacity scales between its configured floor and autoscaling.max_write_capacity."
  }

  assert {
    condition     = length(aws_appautoscaling_target.this) == 6 && length(aws_appautoscaling_policy.this) == 6
    error_message = "Read and write targets and policies for two tables and one GSI (6 each)."
  }

  assert {
    condition     = aws_appautoscaling_target.this["orders/index/customer_id-index/read"].scalable_dimension == "dynamodb:index:ReadCapacityUnits" && aws_appautoscaling_target.this["orders/index/customer_id-index/read"].resource_id == "table/ecommerce-data-platform-dev-orders/index/customer_id-index"
    error_message = "GSIs get their own scalable targets."
  }

  assert {
    condition     = alltrue([for p in aws_appautoscaling_policy.this : p.policy_type == "TargetTrackingScaling" && p.target_tracking_scaling_policy_configuration[0].target_value == 70])
    error_message = "Policies track 70% utilisation."
  }

  assert {
    condition     = alltrue([for t in aws_dynamodb_table.this : t.read_capacity == 5 && t.write_capacity == 5 && t.deletion_protection_enabled])
    error_message = "Provisioned tables start at their configured capacity, deletion-protected when asked."
  }

  assert {
    condition     = alltrue([for t in aws_dynamodb_table.this : t.server_side_encryption[0].kms_key_arn == var.kms_key_arn])
    error_message = "A customer-managed key encrypts the tables when given."
  }
}

run "provisioned_without_autoscaling" {
  command = plan

  variables {
    billing_mode       = "PROVISIONED"
    enable_autoscaling = false
  }

  assert {
    condition     = length(aws_appautoscaling_target.this) == 0
    error_message = "enable_autoscaling = false creates no scaling targets."
  }

  assert {
    condition     = length(aws_dynamodb_table.this) == 0 && alltrue([for t in aws_dynamodb_table.not_autoscaled : t.read_capacity == 5 && t.write_capacity == 5])
    error_message = "Without autoscaling, Terraform owns the capacity: the tables are the variant that ignores nothing."
  }
}

run "rejects_unknown_billing_mode" {
  command = plan

  variables {
    billing_mode = "ON_DEMAND"
  }

  expect_failures = [var.billing_mode]
}

run "rejects_unknown_attribute_type" {
  command = plan

  variables {
    tables = {
      orders = {
        hash_key   = "order_id"
        attributes = [{ name = "order_id", type = "STRING" }]
      }
    }
  }

  expect_failures = [var.tables]
}

run "rejects_out_of_range_target_utilization" {
  command = plan

  variables {
    autoscaling = { target_utilization = 95 }
  }

  expect_failures = [var.autoscaling]
}

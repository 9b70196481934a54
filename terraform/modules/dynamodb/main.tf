# Two variants of one table, switched by local.autoscaling_enabled, because lifecycle
# arguments cannot depend on variables (terraform-aws-modules/dynamodb-table does the same).
#
# `this`: PROVISIONED with Application Auto Scaling. Autoscaling owns the capacity of the
# table and of every GSI, so Terraform ignores both; a GSI's capacity sits inside its
# global_secondary_index block, which can only be ignored whole. The price: GSIs added to or
# removed from an autoscaled table are ignored too, so change GSIs with enable_autoscaling =
# false for one apply (or with the AWS CLI), then switch it back. dev and prod keep their
# state addresses (they were always autoscaled `this`).
#
# `not_autoscaled`: on demand, or PROVISIONED at the configured capacity; Terraform owns
# every attribute, GSIs included.
locals {
  tables = merge(aws_dynamodb_table.this, aws_dynamodb_table.not_autoscaled)
}

resource "aws_dynamodb_table" "this" {
  #checkov:skip=CKV_AWS_119:A customer-managed key is used whenever the environment passes kms_key_arn (prod does); elsewhere the AWS-managed key aws/dynamodb encrypts the tables.
  #checkov:skip=CKV2_AWS_16:autoscaling.tf registers each PROVISIONED table and GSI (for_each over local.scaling_targets), applied and read back by tests/terraform/test_tf_remote_apply.py; checkov's graph does not link those targets to a table that has a GSI.
  for_each = local.autoscaling_enabled ? var.tables : {}

  name         = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  billing_mode = var.billing_mode
  hash_key     = each.value.hash_key
  range_key    = each.value.range_key

  read_capacity  = var.billing_mode == "PROVISIONED" ? each.value.read_capacity : null
  write_capacity = var.billing_mode == "PROVISIONED" ? each.value.write_capacity : null

  deletion_protection_enabled = var.deletion_protection

  dynamic "attribute" {
    for_each = each.value.attributes

    content {
      name = attribute.value.name
      type = attribute.value.type
    }
  }

  dynamic "global_secondary_index" {
    for_each = each.value.global_secondary_indexes

    content {
      name               = global_secondary_index.value.name
      hash_key           = global_secondary_index.value.hash_key
      range_key          = global_secondary_index.value.range_key
      projection_type    = global_secondary_index.value.projection_type
      non_key_attributes = global_secondary_index.value.projection_type == "INCLUDE" ? global_secondary_index.value.non_key_attributes : null
      read_capacity      = var.billing_mode == "PROVISIONED" ? global_secondary_index.value.read_capacity : null
      write_capacity     = var.billing_mode == "PROVISIONED" ? global_secondary_index.value.write_capacity : null
    }
  }

  dynamic "ttl" {
    for_each = each.value.ttl_attribute == null ? [] : [each.value.ttl_attribute]

    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = merge(var.tags, { Name = "${var.name_prefix}-${replace(each.key, "_", "-")}" })

  lifecycle {
    # Application Auto Scaling owns the table's and the GSIs' capacity: never reset it.
    ignore_changes = [read_capacity, write_capacity, global_secondary_index]
  }
}

resource "aws_dynamodb_table" "not_autoscaled" {
  #checkov:skip=CKV_AWS_119:A customer-managed key is used whenever the environment passes kms_key_arn (prod does); elsewhere the AWS-managed key aws/dynamodb encrypts the tables.
  #checkov:skip=CKV2_AWS_16:This variant exists only without autoscaling: PAY_PER_REQUEST tables scale by themselves, and PROVISIONED ones land here only with enable_autoscaling = false, an explicit choice (e.g. LocalStack's community image, which has no Application Auto Scaling).
  for_each = local.autoscaling_enabled ? {} : var.tables

  name         = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  billing_mode = var.billing_mode
  hash_key     = each.value.hash_key
  range_key    = each.value.range_key

  read_capacity  = var.billing_mode == "PROVISIONED" ? each.value.read_capacity : null
  write_capacity = var.billing_mode == "PROVISIONED" ? each.value.write_capacity : null

  deletion_protection_enabled = var.deletion_protection

  dynamic "attribute" {
    for_each = each.value.attributes

    content {
      name = attribute.value.name
      type = attribute.value.type
    }
  }

  dynamic "global_secondary_index" {
    for_each = each.value.global_secondary_indexes

    content {
      name               = global_secondary_index.value.name
      hash_key           = global_secondary_index.value.hash_key
      range_key          = global_secondary_index.value.range_key
      projection_type    = global_secondary_index.value.projection_type
      non_key_attributes = global_secondary_index.value.projection_type == "INCLUDE" ? global_secondary_index.value.non_key_attributes : null
      read_capacity      = var.billing_mode == "PROVISIONED" ? global_secondary_index.value.read_capacity : null
      write_capacity     = var.billing_mode == "PROVISIONED" ? global_secondary_index.value.write_capacity : null
    }
  }

  dynamic "ttl" {
    for_each = each.value.ttl_attribute == null ? [] : [each.value.ttl_attribute]

    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = merge(var.tags, { Name = "${var.name_prefix}-${replace(each.key, "_", "-")}" })
}

locals {
  autoscaling_enabled = var.billing_mode == "PROVISIONED" && var.enable_autoscaling

  # One target per table or GSI and per dimension (read, write), keyed
  # "<table>/<read|write>" or "<table>/index/<gsi>/<read|write>".
  scaling_dimensions = {
    read = {
      metric = "DynamoDBReadCapacityUtilization"
      max    = var.autoscaling.max_read_capacity
    }
    write = {
      metric = "DynamoDBWriteCapacityUtilization"
      max    = var.autoscaling.max_write_capacity
    }
  }

  scaling_targets = !local.autoscaling_enabled ? {} : merge(
    {
      for pair in setproduct(keys(var.tables), keys(local.scaling_dimensions)) :
      "${pair[0]}/${pair[1]}" => {
        table     = pair[0]
        dimension = pair[1]
        kind      = "table"
        resource  = "table/${aws_dynamodb_table.this[pair[0]].name}"
        min       = pair[1] == "read" ? var.tables[pair[0]].read_capacity : var.tables[pair[0]].write_capacity
      }
    },
    merge([
      for table_key, table in var.tables : {
        for pair in setproduct(table.global_secondary_indexes, keys(local.scaling_dimensions)) :
        "${table_key}/index/${pair[0].name}/${pair[1]}" => {
          table     = table_key
          dimension = pair[1]
          kind      = "index"
          resource  = "table/${aws_dynamodb_table.this[table_key].name}/index/${pair[0].name}"
          min       = pair[1] == "read" ? pair[0].read_capacity : pair[0].write_capacity
        }
      }
    ]...),
  )
}

resource "aws_appautoscaling_target" "this" {
  for_each = local.scaling_targets

  service_namespace  = "dynamodb"
  resource_id        = each.value.resource
  scalable_dimension = "dynamodb:${each.value.kind}:${each.value.dimension == "read" ? "ReadCapacityUnits" : "WriteCapacityUnits"}"
  min_capacity       = each.value.min
  max_capacity       = max(each.value.min, local.scaling_dimensions[each.value.dimension].max)

  tags = var.tags
}

resource "aws_appautoscaling_policy" "this" {
  for_each = aws_appautoscaling_target.this

  name               = "${replace(each.value.resource_id, "/", "-")}-${local.scaling_targets[each.key].dimension}-target-tracking"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = each.value.service_namespace
  resource_id        = each.value.resource_id
  scalable_dimension = each.value.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling.target_utilization
    scale_in_cooldown  = var.autoscaling.scale_in_cooldown
    scale_out_cooldown = var.autoscaling.scale_out_cooldown

    predefined_metric_specification {
      predefined_metric_type = local.scaling_dimensions[local.scaling_targets[each.key].dimension].metric
    }
  }
}

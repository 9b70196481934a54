resource "aws_kinesis_stream" "this" {
  for_each = var.streams

  name             = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  shard_count      = var.stream_mode == "PROVISIONED" ? each.value.shard_count : null
  retention_period = coalesce(each.value.retention_period, var.retention_hours)

  encryption_type = "KMS"
  kms_key_id      = var.kms_key_id

  stream_mode_details {
    stream_mode = var.stream_mode
  }

  tags = merge(var.tags, { Name = "${var.name_prefix}-${replace(each.key, "_", "-")}" })
}

locals {
  names = { for key in keys(var.queues) : key => "${var.name_prefix}-${replace(key, "_", "-")}" }
}

resource "aws_sqs_queue" "dlq" {
  for_each = var.queues

  name                              = "${local.names[each.key]}-dlq"
  message_retention_seconds         = each.value.dlq_retention_seconds
  sqs_managed_sse_enabled           = var.kms_master_key_id == null ? true : null
  kms_master_key_id                 = var.kms_master_key_id
  kms_data_key_reuse_period_seconds = var.kms_master_key_id == null ? null : var.kms_data_key_reuse_period_seconds

  tags = merge(var.tags, { Name = "${local.names[each.key]}-dlq", QueueRole = "dead-letter" })
}

resource "aws_sqs_queue" "this" {
  for_each = var.queues

  name                              = local.names[each.key]
  visibility_timeout_seconds        = each.value.visibility_timeout_seconds
  message_retention_seconds         = each.value.message_retention_seconds
  receive_wait_time_seconds         = each.value.receive_wait_time_seconds
  sqs_managed_sse_enabled           = var.kms_master_key_id == null ? true : null
  kms_master_key_id                 = var.kms_master_key_id
  kms_data_key_reuse_period_seconds = var.kms_master_key_id == null ? null : var.kms_data_key_reuse_period_seconds

  # Referencing the DLQ (rather than building its ARN) is the ordering SQS needs: it rejects
  # a redrive policy naming a queue that does not exist yet. The price is time: the provider
  # holds each queue for at least 25 s after creating it (6 matching reads, 5 s apart), so a
  # new pair takes 50 s, on AWS and on an emulator alike.
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn
    maxReceiveCount     = each.value.max_receive_count
  })

  tags = merge(var.tags, { Name = local.names[each.key], QueueRole = "source" })
}

# Only the queue's own source may use its DLQ (a separate resource: the DLQ's ARN is in the
# source queue's redrive policy, so the reverse reference inline would be a cycle).
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  for_each = var.restrict_dlq_sources ? var.queues : {}

  queue_url = aws_sqs_queue.dlq[each.key].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this[each.key].arn]
  })
}

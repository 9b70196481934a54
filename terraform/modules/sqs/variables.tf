variable "name_prefix" {
  type        = string
  description = "Prefix of every queue name, for example \"ecommerce-data-platform-dev\". A queue keyed order_ingest_failures becomes <name_prefix>-order-ingest-failures, its dead-letter queue <...>-dlq."
}

variable "queues" {
  type = map(object({
    visibility_timeout_seconds = optional(number, 180)
    message_retention_seconds  = optional(number, 345600)
    receive_wait_time_seconds  = optional(number, 20)
    max_receive_count          = optional(number, 5)
    dlq_retention_seconds      = optional(number, 1209600)
    depth_alarm_threshold      = optional(number)
  }))
  description = <<-EOT
    Queues keyed by logical name, each created with its own dead-letter queue and redrive policy.
    visibility_timeout_seconds must cover the consumer's processing time: when a Lambda function
    consumes the queue, set it to at least 6 times the function's timeout (AWS's guidance), so a
    message is not redelivered while a retried batch is still running. Defaults: 180 s visibility
    (a 30 s function), 4 days retention, 20 s long polling, 5 receives before the DLQ, 14 days in the DLQ.
    depth_alarm_threshold (null: none) alarms when the queue itself holds more visible messages
    than that, for queues where every message is an incident (a failure queue: 0).
  EOT
  nullable    = false

  validation {
    condition     = alltrue([for queue in values(var.queues) : queue.visibility_timeout_seconds >= 0 && queue.visibility_timeout_seconds <= 43200])
    error_message = "visibility_timeout_seconds must be between 0 and 43200 (12 hours)."
  }

  validation {
    condition = alltrue([
      for queue in values(var.queues) : (
        queue.message_retention_seconds >= 60 && queue.message_retention_seconds <= 1209600 &&
        queue.dlq_retention_seconds >= 60 && queue.dlq_retention_seconds <= 1209600
      )
    ])
    error_message = "Message retention must be between 60 seconds and 1209600 seconds (14 days)."
  }

  validation {
    condition     = alltrue([for queue in values(var.queues) : queue.dlq_retention_seconds >= queue.message_retention_seconds])
    error_message = "A dead-letter queue must keep messages at least as long as its source queue, or they expire there before anyone looks."
  }
}

variable "restrict_dlq_sources" {
  type        = bool
  description = "Give each dead-letter queue a redrive allow policy admitting only its own source queue. Turn off only on an emulator that does not return the RedriveAllowPolicy attribute (moto), where the provider would wait for it forever."
  default     = true
}

variable "kms_master_key_id" {
  type        = string
  description = "KMS key (ARN, ID or alias) for SSE-KMS. Null uses SQS-managed server-side encryption (SSE-SQS)."
  default     = null
}

variable "kms_data_key_reuse_period_seconds" {
  type        = number
  description = "How long SQS reuses a data key before calling KMS again (SSE-KMS only); longer means fewer KMS requests."
  default     = 300
}

variable "dlq_depth_alarm_threshold" {
  type        = number
  description = "Alarm when a dead-letter queue holds more than this many visible messages."
  default     = 0
}

variable "oldest_message_age_alarm_threshold_seconds" {
  type        = number
  description = "Alarm when the oldest message of a queue or its dead-letter queue is older than this many seconds."
  default     = 3600
}

variable "alarm_actions" {
  type        = list(string)
  description = "ARNs (for example the platform's alerts SNS topic) notified when an alarm of the module goes to ALARM."
  default     = []
  nullable    = false
}

variable "ok_actions" {
  type        = list(string)
  description = "ARNs (for example the platform's alerts SNS topic) notified when an alarm of the module returns to OK."
  default     = []
  nullable    = false
}

variable "tags" {
  type        = map(string)
  description = "Tags merged into every resource of the module."
  default     = {}
  nullable    = false
}


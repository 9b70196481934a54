variable "name_prefix" {
  type        = string
  description = "Prefix of every stream name, for example \"ecommerce-data-platform-dev\". A stream keyed order_events becomes <name_prefix>-order-events."
}

variable "streams" {
  type = map(object({
    shard_count      = optional(number, 1)
    retention_period = optional(number)
  }))
  description = "Streams keyed by logical name (underscores become hyphens in the stream name). shard_count applies in PROVISIONED mode; retention_period (hours) overrides retention_hours for one stream."
  nullable    = false

  validation {
    condition = alltrue([
      for stream in values(var.streams) : stream.retention_period == null ? true : (stream.retention_period >= 24 && stream.retention_period <= 8760)
    ])
    error_message = "A stream's retention_period must be between 24 and 8760 hours."
  }
}

variable "stream_mode" {
  type        = string
  description = "ON_DEMAND (capacity follows traffic) or PROVISIONED (fixed shard_count per stream)."
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "PROVISIONED"], var.stream_mode)
    error_message = "stream_mode must be ON_DEMAND or PROVISIONED."
  }
}

variable "retention_hours" {
  type        = number
  description = "Default record retention in hours, from 24 (one day) to 8760 (365 days). Retention beyond 24 hours is billed."
  default     = 24

  validation {
    condition     = var.retention_hours >= 24 && var.retention_hours <= 8760
    error_message = "retention_hours must be between 24 and 8760."
  }
}

variable "kms_key_id" {
  type        = string
  description = "KMS key (ARN, ID or alias) for server-side encryption. Defaults to the AWS-managed key alias/aws/kinesis; prod passes a customer-managed key."
  default     = "alias/aws/kinesis"
  nullable    = false
}

variable "iterator_age_alarm_threshold_ms" {
  type        = number
  description = "Alarm when the maximum GetRecords.IteratorAgeMilliseconds exceeds this many milliseconds (consumers falling behind)."
  default     = 60000
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


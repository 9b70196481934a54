variable "name_prefix" {
  type        = string
  description = "Prefix of every table name, for example \"ecommerce-data-platform-dev\". A table keyed orders becomes <name_prefix>-orders."
}

variable "tables" {
  type = map(object({
    hash_key  = string
    range_key = optional(string)
    attributes = list(object({
      name = string
      type = string
    }))
    ttl_attribute  = optional(string)
    read_capacity  = optional(number, 5)
    write_capacity = optional(number, 5)
    global_secondary_indexes = optional(list(object({
      name               = string
      hash_key           = string
      range_key          = optional(string)
      projection_type    = optional(string, "ALL")
      non_key_attributes = optional(list(string))
      read_capacity      = optional(number, 5)
      write_capacity     = optional(number, 5)
    })), [])
  }))
  description = "Tables keyed by logical name (underscores become hyphens in the table name). attributes lists only the key attributes of the table and its GSIs; capacities apply in PROVISIONED mode, where they are also the autoscaling floor."
  nullable    = false

  validation {
    condition = alltrue(flatten([
      for table in values(var.tables) : [for attribute in table.attributes : contains(["S", "N", "B"], attribute.type)]
    ]))
    error_message = "Every attribute type must be S, N or B."
  }
}

variable "billing_mode" {
  type        = string
  description = "PAY_PER_REQUEST (on demand) or PROVISIONED (capacity per table and GSI, scaled by Application Auto Scaling when enable_autoscaling is true)."
  default     = "PAY_PER_REQUEST"

  validation {
    condition     = contains(["PAY_PER_REQUEST", "PROVISIONED"], var.billing_mode)
    error_message = "billing_mode must be PAY_PER_REQUEST or PROVISIONED."
  }
}

variable "enable_autoscaling" {
  type        = bool
  description = "In PROVISIONED mode, create Application Auto Scaling targets and target-tracking policies for the read and write capacity of every table and GSI."
  default     = true
}

variable "autoscaling" {
  type = object({
    max_read_capacity  = optional(number, 100)
    max_write_capacity = optional(number, 100)
    target_utilization = optional(number, 70)
    scale_in_cooldown  = optional(number, 60)
    scale_out_cooldown = optional(number, 60)
  })
  description = "Autoscaling ceiling and target utilisation (percent of consumed over provisioned capacity). The floor is each table's or GSI's configured capacity."
  default     = {}
  nullable    = false

  validation {
    condition     = var.autoscaling.target_utilization >= 20 && var.autoscaling.target_utilization <= 90
    error_message = "DynamoDB target tracking accepts a target_utilization between 20 and 90 percent."
  }
}

variable "point_in_time_recovery" {
  type        = bool
  description = "Enable point-in-time recovery (continuous backups for 35 days)."
  default     = true
}

variable "kms_key_arn" {
  type        = string
  description = "ARN of a customer-managed KMS key for server-side encryption. Null uses the AWS-managed key aws/dynamodb."
  default     = null
}

variable "deletion_protection" {
  type        = bool
  description = "Enable deletion protection on every table (prod)."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Tags merged into every resource of the module."
  default     = {}
  nullable    = false
}

variable "function_name" {
  type        = string
  description = "Name of the Lambda function; also names its role (<name>-role) and log group (/aws/lambda/<name>)."

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,59}$", var.function_name))
    error_message = "function_name must be 1-59 letters, digits, hyphens or underscores (64 less the \"-role\" suffix of its IAM role)."
  }
}

variable "description" {
  type        = string
  description = "Description of the function."
  default     = ""
}

variable "package_path" {
  type        = string
  description = "Path of the deployment zip built by `platformctl build` (python -m platformctl.packaging), for example \"$${path.module}/../../../build/lambda/order_ingest.zip\". The zip is byte-reproducible, so its hash changes only when the source does."
}

variable "handler" {
  type        = string
  description = "Function entry point, module.function inside the zip."
  default     = "handler.lambda_handler"
}

variable "runtime" {
  type        = string
  description = "Lambda runtime identifier."
  default     = "python3.12"
}

variable "memory_size" {
  type        = number
  description = "Memory in MB (CPU scales with it), 128 to 10240."
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB between 128 and 10240."
  }
}

variable "timeout" {
  type        = number
  description = "Maximum run time of one invocation in seconds, 1 to 900. A queue consumed by this function needs a visibility timeout of at least 6 times this value."
  default     = 30

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds between 1 and 900."
  }
}

variable "reserved_concurrent_executions" {
  type        = number
  description = "Concurrency reserved for (and capping) the function, so a burst cannot starve the account's other functions. Null (the default) reserves nothing: a new account's concurrency quota is 10 and AWS keeps 10 unreserved, so any reservation there fails; set it once the quota is raised."
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null || try(var.reserved_concurrent_executions >= 0 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions, false)
    error_message = "reserved_concurrent_executions must be null (no reservation) or a whole number >= 0."
  }
}

variable "architecture" {
  type        = string
  description = "Instruction set of the function: arm64 (Graviton, about 20% cheaper per GB-second) unless a dependency ships x86-only native code. order_ingest is pure Python (boto3 is in the runtime)."
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "tracing_mode" {
  type        = string
  description = "X-Ray tracing mode: Active or PassThrough."
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough."
  }
}

variable "environment_variables" {
  type        = map(string)
  description = "Environment variables of the function: resource names only, never secrets (read those from Secrets Manager or SSM at run time)."
  default     = {}
  nullable    = false
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the function's log group in days; one of the values CloudWatch Logs accepts."
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "ARN of a customer-managed KMS key: encrypts the function's environment variables and log group, and is added to the role's kms:Decrypt/GenerateDataKey grant. Null uses AWS-managed keys."
  default     = null
}

variable "kms_key_arns" {
  type        = list(string)
  description = "ARNs of customer-managed KMS keys protecting the stream, bucket, table, queue or secrets the function uses; the role gets kms:Decrypt and kms:GenerateDataKey on exactly these, only through those services (kms:ViaService)."
  default     = []
  nullable    = false
}

variable "kinesis_stream_arn" {
  type        = string
  description = "ARN of the Kinesis stream the function consumes through an event source mapping."
}

variable "s3_bucket_arns" {
  type        = list(string)
  description = "ARNs of the buckets the function may write objects to (s3:PutObject on <arn>/*)."
  default     = []
  nullable    = false
}

variable "dynamodb_table_arns" {
  type        = list(string)
  description = "ARNs of the tables the function may upsert items in (dynamodb:PutItem; the handler's conditional puts)."
  default     = []
  nullable    = false
}

variable "failure_queue_arn" {
  type        = string
  description = "ARN of the SQS queue receiving bad records (sent by the handler) and batches that exhausted their retries (the event source mapping's on-failure destination)."
}

variable "event_source" {
  type = object({
    batch_size                         = optional(number, 100)
    maximum_batching_window_in_seconds = optional(number, 5)
    maximum_retry_attempts             = optional(number, 3)
    maximum_record_age_in_seconds      = optional(number, 3600)
    parallelization_factor             = optional(number, 1)
    starting_position                  = optional(string, "LATEST")
  })
  description = "Kinesis event source mapping settings. Failed batches are bisected to isolate the bad record, retried, then sent to failure_queue_arn."
  default     = {}
  nullable    = false

  validation {
    condition     = contains(["LATEST", "TRIM_HORIZON"], var.event_source.starting_position)
    error_message = "event_source.starting_position must be LATEST or TRIM_HORIZON."
  }

  validation {
    condition     = var.event_source.batch_size >= 1 && var.event_source.batch_size <= 10000
    error_message = "event_source.batch_size must be between 1 and 10000 for a Kinesis source."
  }
}

variable "secret_arns" {
  type        = map(string)
  description = "Secrets Manager secrets the function reads at run time, keyed by the environment variable that carries each one's ARN (for example HMAC_SECRET_ARN = <arn>). The function gets references, never values; the role may secretsmanager:GetSecretValue on exactly these ARNs."
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for name, arn in var.secret_arns : can(regex("^[A-Z][A-Z0-9_]*$", name)) && can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", arn))])
    error_message = "secret_arns maps UPPER_CASE environment variable names to Secrets Manager secret ARNs."
  }
}

variable "stream_retention_hours" {
  type        = number
  description = "Retention of the consumed stream in hours (the kinesis module's retention_hours output). With failure_queue_retention_seconds, the plan fails unless the stream keeps records at least as long as the failure queue keeps the mapping's pointers to them. Null skips the check."
  default     = null
}

variable "failure_queue_retention_seconds" {
  type        = number
  description = "Message retention of the failure queue in seconds (the sqs module's message_retention_seconds output); see stream_retention_hours."
  default     = null
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


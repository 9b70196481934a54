variable "aws_region" {
  type        = string
  description = "AWS region of the environment."
}

variable "aws_account_id" {
  type        = string
  description = "The environment's AWS account: the provider refuses to run with credentials of any other (allowed_account_ids)."

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be a 12-digit AWS account ID."
  }
}

variable "project_name" {
  type        = string
  description = "Project name: prefixes every resource name and fills the Project tag."
}

variable "environment" {
  type        = string
  description = "Environment name; fills the Environment tag and resource names."

  validation {
    condition     = var.environment == "dev"
    error_message = "This root is the dev environment: environment must be \"dev\"."
  }
}

variable "owner" {
  type        = string
  description = "Team owning the resources (Owner tag)."
}

variable "cost_center" {
  type        = string
  description = "Cost center the resources are charged to (CostCenter tag)."
}

variable "alarm_actions" {
  type        = list(string)
  description = "Extra ARNs (for example an on-call paging topic) notified by every CloudWatch alarm, besides the alerts topic (alerts.tf), which every alarm always notifies."
  default     = []
  nullable    = false
}

variable "lambda_package_path" {
  type        = string
  description = "Path of the order_ingest deployment zip; null means the repository's build/lambda/order_ingest.zip (built by `platformctl build`)."
  default     = null
}

variable "enable_budgets" {
  type        = bool
  description = "Create the monthly AWS Budgets cost budget and its e-mail alerts."
  default     = true
}

variable "monthly_budget_usd" {
  type        = number
  description = "Monthly cost budget of the environment's account in USD."
}

variable "budget_alert_emails" {
  type        = list(string)
  description = "Addresses alerted at 80% of actual and 100% of forecast monthly cost (distribution lists, not people)."
  nullable    = false

  validation {
    condition     = length(var.budget_alert_emails) >= 1 && length(var.budget_alert_emails) <= 10 && alltrue([for email in var.budget_alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", email))])
    error_message = "budget_alert_emails must hold 1 to 10 e-mail addresses (AWS Budgets' limit per notification)."
  }
}

variable "alert_emails" {
  type        = list(string)
  description = "E-mail addresses subscribed to the alerts topic (each confirms once, from the mail SNS sends)."
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for email in var.alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", email))])
    error_message = "alert_emails must be e-mail addresses."
  }
}

variable "alert_subscriptions" {
  type = list(object({
    protocol = string
    endpoint = string
  }))
  description = "Further subscriptions to the alerts topic, any protocol SNS takes (https, sqs, lambda, sms, email-json, firehose, application)."
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for s in var.alert_subscriptions : contains(["http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose"], s.protocol)])
    error_message = "alert_subscriptions: protocol must be one SNS takes: http, https, email, email-json, sms, sqs, application, lambda or firehose."
  }
}

variable "cost_anomaly_threshold_usd" {
  type        = number
  description = "Cost Anomaly Detection alerts when an anomaly's total impact reaches this many USD."
  default     = 50

  validation {
    condition     = var.cost_anomaly_threshold_usd > 0
    error_message = "cost_anomaly_threshold_usd must be positive."
  }
}

variable "billing_anomaly_band_width" {
  type        = number
  description = "Width, in standard deviations, of the expected band of estimated charges; the billing alarm fires above it."
  default     = 2

  validation {
    condition     = var.billing_anomaly_band_width > 0 && var.billing_anomaly_band_width <= 10
    error_message = "billing_anomaly_band_width must be between 0 (exclusive) and 10 standard deviations."
  }
}

variable "github_repository" {
  type        = string
  description = "The GitHub repository (OWNER/REPO) whose workflows may assume the plan and apply roles."

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be OWNER/REPO."
  }
}

variable "github_apply_environment" {
  type        = string
  description = "The GitHub environment (deploy.yml's job environment) whose jobs alone may assume the apply role."
}

variable "operator_principals" {
  type        = list(string)
  description = "IAM principals (for example the identity account's engineer roles) that may assume the operator role, with MFA; empty means this account's root, that is any of its IAM identities allowed by their own policies."
  default     = []
  nullable    = false
}

variable "state_bucket" {
  type        = string
  description = "The Terraform state bucket (the tfbackend file's bucket; a test checks they match)."
}

variable "state_key" {
  type        = string
  description = "This environment's state object key (the tfbackend file's key)."
}

variable "state_kms_key_alias" {
  type        = string
  description = "Alias (alias/...) of the KMS key platformctl bootstrap encrypts the state bucket with."

  validation {
    condition     = startswith(var.state_kms_key_alias, "alias/")
    error_message = "state_kms_key_alias must start with alias/."
  }
}

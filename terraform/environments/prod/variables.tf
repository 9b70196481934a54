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
    condition     = var.environment == "prod"
    error_message = "This root is the prod environment: environment must be \"prod\"."
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
  description = "ARNs (for example the on-call SNS topic) notified by every CloudWatch alarm."
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

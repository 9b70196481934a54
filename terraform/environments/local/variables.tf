variable "aws_region" {
  type        = string
  description = "AWS region the emulator pretends to be."
}

variable "aws_account_id" {
  type        = string
  description = "Account the provider may act in: the emulator's (000000000000), so this root can never touch a real account."

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
    condition     = var.environment == "local"
    error_message = "This root is the local environment: environment must be \"local\"."
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

variable "emulator_endpoint" {
  type        = string
  description = "URL of the AWS emulator (moto server or LocalStack), as the outputs name it; the provider reaches it through AWS_ENDPOINT_URL, which platformctl sets to the same URL."
  default     = "http://127.0.0.1:4566"

  validation {
    condition     = can(regex("^https?://", var.emulator_endpoint))
    error_message = "emulator_endpoint must be an http(s) URL."
  }
}

variable "lambda_package_path" {
  type        = string
  description = "Path of the order_ingest deployment zip; null means the repository's build/lambda/order_ingest.zip (built by `platformctl build`)."
  default     = null
}

variable "enable_autoscaling" {
  type        = bool
  description = "Application Auto Scaling of the provisioned tables, as dev and prod; false keeps their fixed capacity (for an emulator without Application Auto Scaling, such as LocalStack's community image)."
  default     = true
}

variable "enable_budgets" {
  type        = bool
  description = "A monthly AWS Budgets cost budget, as dev and prod (false for an emulator without Budgets, such as LocalStack's community image)."
  default     = true
}

variable "project_name" {
  type        = string
  description = "Project name, used in the buckets' Project tag when the caller has no provider default_tags."
}

variable "environment" {
  type        = string
  description = "Environment name (local, dev, staging or prod), used in the buckets' Environment tag."

  validation {
    condition     = contains(["local", "dev", "staging", "prod"], var.environment)
    error_message = "The environment must be one of local, dev, staging or prod."
  }
}

variable "bucket_names" {
  type        = map(string)
  description = "Bucket name per data-lake layer, for example { raw = \"...\", processed = \"...\", curated = \"...\" }. Names must be globally unique."
  nullable    = false

  validation {
    condition     = alltrue([for name in values(var.bucket_names) : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", name))])
    error_message = "Every bucket name must be 3-63 characters of lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "ARN of a customer-managed KMS key for default bucket encryption (SSE-KMS with an S3 Bucket Key). Null uses SSE-S3 (AES256)."
  default     = null
}

variable "access_log_bucket" {
  type        = string
  description = "Name of an existing bucket, outside the lake, that receives every layer's S3 server access logs under s3/<bucket name>/ (its policy must admit logging.s3.amazonaws.com). Null: no access logging."
  default     = null

  validation {
    condition     = var.access_log_bucket == null || !contains(values(var.bucket_names), coalesce(var.access_log_bucket, "-"))
    error_message = "access_log_bucket must not be a bucket of the lake: logging a bucket into itself logs its own log writes, forever."
  }
}

variable "force_destroy" {
  type        = bool
  description = "Allow `terraform destroy` to delete non-empty buckets. Only for throwaway environments (local); never in prod."
  default     = false
}

variable "lifecycle_defaults" {
  type = object({
    transition_to_ia_days                  = optional(number, 30)
    transition_to_glacier_days             = optional(number, 90)
    noncurrent_version_expiration_days     = optional(number, 30)
    abort_incomplete_multipart_upload_days = optional(number, 7)
  })
  description = "Lifecycle applied to every layer unless overridden in lifecycle_overrides: days until STANDARD_IA, days until GLACIER, days noncurrent versions are kept, days before incomplete multipart uploads are aborted."
  default     = {}
  nullable    = false

  validation {
    condition     = var.lifecycle_defaults.transition_to_ia_days >= 30
    error_message = "S3 keeps objects in STANDARD for at least 30 days before STANDARD_IA: transition_to_ia_days must be >= 30."
  }

  validation {
    condition     = var.lifecycle_defaults.transition_to_glacier_days >= var.lifecycle_defaults.transition_to_ia_days + 30
    error_message = "S3 keeps objects in STANDARD_IA for at least 30 days: transition_to_glacier_days must be >= transition_to_ia_days + 30."
  }
}

variable "lifecycle_overrides" {
  type = map(object({
    transition_to_ia_days                  = optional(number)
    transition_to_glacier_days             = optional(number)
    noncurrent_version_expiration_days     = optional(number)
    abort_incomplete_multipart_upload_days = optional(number)
  }))
  description = "Per-layer lifecycle overrides keyed like bucket_names (for example keep curated data longer in STANDARD). Unset attributes fall back to lifecycle_defaults."
  default     = {}
  nullable    = false

  # Checked on the values a layer ends up with (its overrides on top of lifecycle_defaults), so
  # an override of one transition cannot break the 30-day gap with the other's default.
  validation {
    condition = alltrue([
      for layer in values(var.lifecycle_overrides) : coalesce(layer.transition_to_ia_days, var.lifecycle_defaults.transition_to_ia_days) >= 30
    ])
    error_message = "S3 keeps objects in STANDARD for at least 30 days before STANDARD_IA: every layer's transition_to_ia_days must be >= 30."
  }

  validation {
    condition = alltrue([
      for layer in values(var.lifecycle_overrides) : (
        coalesce(layer.transition_to_glacier_days, var.lifecycle_defaults.transition_to_glacier_days) >=
        coalesce(layer.transition_to_ia_days, var.lifecycle_defaults.transition_to_ia_days) + 30
      )
    ])
    error_message = "S3 keeps objects in STANDARD_IA for at least 30 days: every layer's transition_to_glacier_days (override or default) must be >= its transition_to_ia_days + 30."
  }

  validation {
    condition     = alltrue([for layer in keys(var.lifecycle_overrides) : contains(keys(var.bucket_names), layer)])
    error_message = "lifecycle_overrides may only name layers of bucket_names."
  }
}

variable "transition_default_minimum_object_size" {
  type        = string
  description = "Which objects S3 lifecycle transitions by default: all_storage_classes_128K (no object under 128 KB transitions to any class) or varies_by_storage_class (objects under 128 KB still go to GLACIER and DEEP_ARCHIVE)."
  default     = "all_storage_classes_128K"

  validation {
    condition     = contains(["all_storage_classes_128K", "varies_by_storage_class"], var.transition_default_minimum_object_size)
    error_message = "transition_default_minimum_object_size must be all_storage_classes_128K or varies_by_storage_class."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags merged into every resource of the module."
  default     = {}
  nullable    = false
}

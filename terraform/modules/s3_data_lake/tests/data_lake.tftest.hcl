# Plan-only tests with a mocked provider: the module's security and cost properties, and
# every validation. Run with `terraform init && terraform test` in the module folder.

mock_provider "aws" {
  override_during = plan

  mock_resource "aws_s3_bucket" {
    defaults = {
      arn = "arn:aws:s3:::mock-bucket"
    }
  }
}

variables {
  project_name = "ecommerce-data-platform"
  environment  = "dev"
  bucket_names = {
    raw       = "ecommerce-data-platform-dev-raw"
    processed = "ecommerce-data-platform-dev-processed"
    curated   = "ecommerce-data-platform-dev-curated"
  }
  tags = { Team = "data-platform" }
}

run "buckets_are_private_versioned_and_encrypted" {
  command = plan

  assert {
    condition     = length(aws_s3_bucket.this) == 3 && aws_s3_bucket.this["raw"].bucket == "ecommerce-data-platform-dev-raw"
    error_message = "One bucket per layer, named as given."
  }

  assert {
    condition = alltrue([for block in aws_s3_bucket_public_access_block.this :
    block.block_public_acls && block.block_public_policy && block.ignore_public_acls && block.restrict_public_buckets])
    error_message = "Every bucket must block all public access."
  }

  assert {
    condition     = alltrue([for v in aws_s3_bucket_versioning.this : v.versioning_configuration[0].status == "Enabled"])
    error_message = "Every bucket must be versioned."
  }

  assert {
    condition     = alltrue([for o in aws_s3_bucket_ownership_controls.this : o.rule[0].object_ownership == "BucketOwnerEnforced"])
    error_message = "ACLs must be disabled (BucketOwnerEnforced)."
  }

  assert {
    condition = alltrue(flatten([for c in aws_s3_bucket_server_side_encryption_configuration.this :
    [for r in c.rule : r.apply_server_side_encryption_by_default[0].sse_algorithm == "AES256"]]))
    error_message = "Without a KMS key, buckets default to SSE-S3."
  }

  assert {
    condition     = alltrue([for b in aws_s3_bucket.this : b.force_destroy == false])
    error_message = "force_destroy must default to false."
  }

  assert {
    condition = alltrue([for p in aws_s3_bucket_policy.this :
      jsondecode(p.policy).Statement[0].Effect == "Deny" &&
    jsondecode(p.policy).Statement[0].Condition.Bool["aws:SecureTransport"] == "false"])
    error_message = "Every bucket policy must deny requests without TLS."
  }

  assert {
    condition     = aws_s3_bucket.this["raw"].tags["Team"] == "data-platform" && aws_s3_bucket.this["raw"].tags["DataLayer"] == "raw" && aws_s3_bucket.this["raw"].tags["Environment"] == "dev"
    error_message = "Buckets carry the caller's tags, their layer and environment."
  }
}

run "lifecycle_tiers_and_cleans_up" {
  command = plan

  variables {
    lifecycle_overrides = {
      curated = { transition_to_ia_days = 90, transition_to_glacier_days = 365 }
    }
  }

  assert {
    condition = alltrue([for c in aws_s3_bucket_lifecycle_configuration.this :
      c.rule[0].status == "Enabled" &&
      c.rule[0].abort_incomplete_multipart_upload[0].days_after_initiation == 7 &&
    c.rule[0].noncurrent_version_expiration[0].noncurrent_days == 30])
    error_message = "Every layer aborts incomplete uploads after 7 days and expires noncurrent versions."
  }

  assert {
    condition     = toset([for t in aws_s3_bucket_lifecycle_configuration.this["raw"].rule[0].transition : "${t.storage_class}:${t.days}"]) == toset(["STANDARD_IA:30", "GLACIER:90"])
    error_message = "Raw data moves to STANDARD_IA after 30 days and to GLACIER after 90."
  }

  assert {
    condition     = toset([for t in aws_s3_bucket_lifecycle_configuration.this["curated"].rule[0].transition : "${t.storage_class}:${t.days}"]) == toset(["STANDARD_IA:90", "GLACIER:365"])
    error_message = "A per-layer override replaces the defaults for that layer only."
  }
}

run "kms_key_switches_to_sse_kms" {
  command = plan

  variables {
    kms_key_arn   = "arn:aws:kms:us-east-1:222222222222:key/00000000-0000-0000-0000-000000000000"
    force_destroy = true
  }

  assert {
    condition = alltrue(flatten([for c in aws_s3_bucket_server_side_encryption_configuration.this :
      [for r in c.rule : r.apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" &&
        r.apply_server_side_encryption_by_default[0].kms_master_key_id == var.kms_key_arn &&
    r.bucket_key_enabled]]))
    error_message = "With a KMS key, buckets use SSE-KMS with that key and an S3 Bucket Key."
  }

  assert {
    condition     = alltrue([for b in aws_s3_bucket.this : b.force_destroy])
    error_message = "force_destroy follows the variable."
  }
}

run "rejects_unknown_environment" {
  command = plan

  variables {
    environment = "qa"
  }

  expect_failures = [var.environment]
}

run "rejects_invalid_bucket_name" {
  command = plan

  variables {
    bucket_names = { raw = "Not_A_Bucket" }
  }

  expect_failures = [var.bucket_names]
}

run "rejects_infrequent_access_before_30_days" {
  command = plan

  variables {
    lifecycle_defaults = { transition_to_ia_days = 10 }
  }

  expect_failures = [var.lifecycle_defaults]
}

run "rejects_override_before_30_days" {
  command = plan

  variables {
    lifecycle_overrides = { raw = { transition_to_ia_days = 7 } }
  }

  expect_failures = [var.lifecycle_overrides]
}

run "rejects_default_glacier_sooner_than_30_days_after_infrequent_access" {
  command = plan

  variables {
    lifecycle_defaults = { transition_to_ia_days = 30, transition_to_glacier_days = 59 }
  }

  expect_failures = [var.lifecycle_defaults]
}

run "rejects_override_glacier_sooner_than_30_days_after_infrequent_access" {
  command = plan

  variables {
    lifecycle_overrides = { curated = { transition_to_ia_days = 90, transition_to_glacier_days = 100 } }
  }

  expect_failures = [var.lifecycle_overrides]
}

run "rejects_override_infrequent_access_too_close_to_default_glacier" {
  command = plan

  variables {
    # Default GLACIER is day 90: moving STANDARD_IA alone to day 75 leaves 15 days between them.
    lifecycle_overrides = { raw = { transition_to_ia_days = 75 } }
  }

  expect_failures = [var.lifecycle_overrides]
}

run "rejects_override_glacier_too_close_to_default_infrequent_access" {
  command = plan

  variables {
    # Default STANDARD_IA is day 30: GLACIER alone at day 45 leaves 15 days between them.
    lifecycle_overrides = { processed = { transition_to_glacier_days = 45 } }
  }

  expect_failures = [var.lifecycle_overrides]
}

run "rejects_override_of_an_unknown_layer" {
  command = plan

  variables {
    lifecycle_overrides = { archive = { transition_to_ia_days = 60, transition_to_glacier_days = 120 } }
  }

  expect_failures = [var.lifecycle_overrides]
}

run "rejects_unknown_transition_default_minimum_object_size" {
  command = plan

  variables {
    transition_default_minimum_object_size = "64K"
  }

  expect_failures = [var.transition_default_minimum_object_size]
}

run "accepts_exactly_30_days_between_tiers_and_sets_the_minimum_object_size" {
  command = plan

  variables {
    lifecycle_defaults  = { transition_to_ia_days = 30, transition_to_glacier_days = 60 }
    lifecycle_overrides = { curated = { transition_to_ia_days = 90, transition_to_glacier_days = 120 } }
  }

  assert {
    condition     = alltrue([for c in aws_s3_bucket_lifecycle_configuration.this : c.transition_default_minimum_object_size == "all_storage_classes_128K"])
    error_message = "Every lifecycle configuration states which objects transition (all_storage_classes_128K by default), instead of leaving it to S3."
  }

  assert {
    condition     = toset([for t in aws_s3_bucket_lifecycle_configuration.this["raw"].rule[0].transition : "${t.storage_class}:${t.days}"]) == toset(["STANDARD_IA:30", "GLACIER:60"])
    error_message = "GLACIER exactly 30 days after STANDARD_IA is accepted."
  }

  assert {
    condition     = toset([for t in aws_s3_bucket_lifecycle_configuration.this["curated"].rule[0].transition : "${t.storage_class}:${t.days}"]) == toset(["STANDARD_IA:90", "GLACIER:120"])
    error_message = "An override holding both transitions 30 days apart is accepted."
  }
}

run "access_logs_go_to_the_named_bucket" {
  command = plan

  variables {
    access_log_bucket = "ecommerce-data-platform-dev-access-logs"
  }

  assert {
    condition     = length(aws_s3_bucket_logging.this) == 3 && alltrue([for l in aws_s3_bucket_logging.this : l.target_bucket == var.access_log_bucket])
    error_message = "Every layer logs to the named bucket."
  }

  assert {
    condition     = aws_s3_bucket_logging.this["raw"].target_prefix == "s3/ecommerce-data-platform-dev-raw/"
    error_message = "Each bucket's logs have their own prefix."
  }
}

run "no_access_logs_unless_a_bucket_is_named" {
  command = plan

  assert {
    condition     = length(aws_s3_bucket_logging.this) == 0
    error_message = "access_log_bucket defaults to null: no logging resource."
  }
}

run "rejects_logging_into_a_bucket_of_the_lake" {
  command = plan

  variables {
    access_log_bucket = "ecommerce-data-platform-dev-raw"
  }

  expect_failures = [var.access_log_bucket]
}

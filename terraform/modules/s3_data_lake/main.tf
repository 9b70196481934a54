locals {
  tags = merge(
    {
      Project     = var.project_name
      Environment = var.environment
    },
    var.tags,
  )

  # Per layer: the defaults with any non-null override on top.
  lifecycle = {
    for layer in keys(var.bucket_names) : layer => merge(
      var.lifecycle_defaults,
      { for k, v in try(var.lifecycle_overrides[layer], {}) : k => v if v != null },
    )
  }
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Access logging is the environment's choice: aws_s3_bucket_logging.this (below) sends every layer's server access logs to var.access_log_bucket when one is given, a bucket outside the lake whose policy admits logging.s3.amazonaws.com; no environment names one yet.
  #checkov:skip=CKV_AWS_144:No second-region copy: recovery within the region rests on versioning (aws_s3_bucket_versioning.this) and the noncurrent versions the lifecycle keeps (lifecycle_defaults.noncurrent_version_expiration_days); cross-region replication doubles storage cost and is a per-dataset disaster-recovery decision.
  #checkov:skip=CKV2_AWS_62:No consumer subscribes to object-created events yet; notifications are added with their consumer.
  #checkov:skip=CKV_AWS_145:SSE-KMS is used whenever the environment passes kms_key_arn (prod does); SSE-S3 elsewhere.
  for_each = var.bucket_names

  bucket        = each.value
  force_destroy = var.force_destroy

  tags = merge(local.tags, { DataLayer = each.key })
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = var.bucket_names

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = var.bucket_names

  bucket                  = aws_s3_bucket.this[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = var.bucket_names

  bucket = aws_s3_bucket.this[each.key].id

  versioning_configuration {
    status = "Enabled"
  }
}

# Server access logs, when the environment names a log bucket (which must admit
# logging.s3.amazonaws.com in its bucket policy, and must not be a bucket of the lake).
resource "aws_s3_bucket_logging" "this" {
  for_each = var.access_log_bucket == null ? {} : var.bucket_names

  bucket        = aws_s3_bucket.this[each.key].id
  target_bucket = var.access_log_bucket
  target_prefix = "s3/${each.value}/"
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = var.bucket_names

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

# Creating or changing this takes at least 55 s, on AWS and on an emulator alike: the provider
# waits 10 s, then needs 10 matching reads 5 s apart. It is the longest step of a new bucket.
resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = var.bucket_names

  bucket = aws_s3_bucket.this[each.key].id

  # Set explicitly rather than left to S3: buckets whose lifecycle predates September 2024
  # keep the old default (varies_by_storage_class) and new ones get all_storage_classes_128K,
  # so an unset value means different tiering on two buckets with the same HCL (and the
  # provider reads back whichever S3 chose). all_storage_classes_128K keeps objects under
  # 128 KB in STANDARD: moving them costs more in per-object transition requests (and, for
  # GLACIER, 40 KB of billed metadata per object) than it saves. That is why order_ingest
  # writes one newline-delimited object per batch, not one tiny object per record.
  transition_default_minimum_object_size = var.transition_default_minimum_object_size

  rule {
    id     = "${each.key}-tiering"
    status = "Enabled"

    # The whole bucket. (An explicit empty prefix rather than `filter {}`: both mean every
    # object, and this form reads back identically from S3 and from emulators.)
    filter {
      prefix = ""
    }

    transition {
      days          = local.lifecycle[each.key].transition_to_ia_days
      storage_class = "STANDARD_IA"
    }

    transition {
      days          = local.lifecycle[each.key].transition_to_glacier_days
      storage_class = "GLACIER"
    }

    noncurrent_version_expiration {
      noncurrent_days = local.lifecycle[each.key].noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = local.lifecycle[each.key].abort_incomplete_multipart_upload_days
    }
  }

  # A lifecycle rule on a bucket without versioning cannot expire noncurrent versions.
  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_policy" "this" {
  for_each = var.bucket_names

  bucket = aws_s3_bucket.this[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.this[each.key].arn, "${aws_s3_bucket.this[each.key].arn}/*"]
        Condition = {
          Bool = { "aws:SecureTransport" = "false" }
        }
      },
    ]
  })

  # PutBucketPolicy fails while the public access block is being changed.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

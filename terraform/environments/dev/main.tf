# dev: the platform in the shared development account. Real AWS, modest settings:
# provisioned tables with autoscaling (as prod, to exercise it), AWS-managed keys,
# short retention, no deletion protection, and buckets that refuse to be destroyed non-empty.

locals {
  name_prefix    = "${var.project_name}-${var.environment}"
  package_path   = coalesce(var.lambda_package_path, "${path.module}/../../../build/lambda/order_ingest.zip")
  lambda_timeout = 30
}

module "data_lake" {
  source = "../../modules/s3_data_lake"

  project_name = var.project_name
  environment  = var.environment
  bucket_names = {
    raw       = "${local.name_prefix}-raw-${var.aws_account_id}"
    processed = "${local.name_prefix}-processed-${var.aws_account_id}"
    curated   = "${local.name_prefix}-curated-${var.aws_account_id}"
  }
  lifecycle_defaults = {
    noncurrent_version_expiration_days = 7
  }
}

module "tables" {
  source = "../../modules/dynamodb"

  name_prefix = local.name_prefix
  tables = {
    orders = {
      hash_key = "order_id"
      attributes = [
        { name = "order_id", type = "S" },
        { name = "customer_id", type = "S" },
        { name = "created_at", type = "S" },
      ]
      read_capacity  = 5
      write_capacity = 5
      global_secondary_indexes = [
        { name = "customer_id-index", hash_key = "customer_id", range_key = "created_at", read_capacity = 5, write_capacity = 5 },
      ]
    }
    customer_sessions = {
      hash_key       = "session_id"
      attributes     = [{ name = "session_id", type = "S" }]
      ttl_attribute  = "expires_at"
      read_capacity  = 5
      write_capacity = 5
    }
  }
  billing_mode       = "PROVISIONED"
  enable_autoscaling = true
  autoscaling = {
    max_read_capacity  = 50
    max_write_capacity = 50
  }
  point_in_time_recovery = true
  deletion_protection    = false
}

module "streams" {
  source = "../../modules/kinesis"

  name_prefix = local.name_prefix
  streams = {
    # 14 days: as long as the failure queue keeps the on-failure pointers into this stream.
    order_events = { retention_period = 336 }
    clickstream  = {}
  }
  stream_mode     = "ON_DEMAND"
  retention_hours = 24
  alarm_actions   = local.alarm_actions
  ok_actions      = local.alarm_actions
}

module "queues" {
  source = "../../modules/sqs"

  name_prefix = local.name_prefix
  queues = {
    # Bad order events and exhausted Kinesis batches from order_ingest.
    order_ingest_failures = {
      visibility_timeout_seconds = 6 * local.lambda_timeout
      message_retention_seconds  = 14 * 24 * 3600 # the most SQS keeps; the DLQ keeps as long
      depth_alarm_threshold      = 0              # every message is a record that did not land
    }
  }
  alarm_actions = local.alarm_actions
  ok_actions    = local.alarm_actions
}

module "order_ingest" {
  source = "../../modules/lambda"

  function_name = "${local.name_prefix}-order-ingest"
  description   = "Kinesis order events to the raw bucket and the orders table."
  package_path  = local.package_path
  # benchmarks/bench_order_ingest.py: peak RSS 55 MB (batches of 100) to 59 MB (1000); 256 MB
  # keeps 4x headroom and twice 128 MB's CPU share for boto3's cold start.
  memory_size = 256
  timeout     = local.lambda_timeout

  log_retention_days = 14

  kinesis_stream_arn  = module.streams.stream_arns["order_events"]
  s3_bucket_arns      = [module.data_lake.bucket_arns["raw"]]
  dynamodb_table_arns = [module.tables.table_arns["orders"]]
  failure_queue_arn   = module.queues.queue_arns["order_ingest_failures"]
  secret_arns         = { HMAC_SECRET_ARN = aws_secretsmanager_secret.order_ingest_hmac.arn } # secrets.tf

  stream_retention_hours          = module.streams.retention_hours["order_events"]
  failure_queue_retention_seconds = module.queues.message_retention_seconds["order_ingest_failures"]

  environment_variables = {
    RAW_BUCKET        = module.data_lake.bucket_names["raw"]
    ORDERS_TABLE      = module.tables.table_names["orders"]
    FAILURE_QUEUE_URL = module.queues.queue_urls["order_ingest_failures"]
  }
  alarm_actions = local.alarm_actions
  ok_actions    = local.alarm_actions
}

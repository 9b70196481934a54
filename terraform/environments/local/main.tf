# local: the whole platform on an emulator, cheap to create and to throw away.
# Throwaway settings: force_destroy on buckets, no deletion protection, short retention. The
# rest is as in dev and prod: provisioned tables with autoscaling, a budget, DLQs restricted to
# their source queue (platformctl's moto server answers those APIs; LocalStack's community
# image lacks Budgets and Application Auto Scaling: set enable_budgets/enable_autoscaling false there).

locals {
  name_prefix  = "${var.project_name}-${var.environment}"
  package_path = coalesce(var.lambda_package_path, "${path.module}/../../../build/lambda/order_ingest.zip")
}

module "data_lake" {
  source = "../../modules/s3_data_lake"

  project_name = var.project_name
  environment  = var.environment
  bucket_names = {
    raw       = "${local.name_prefix}-raw"
    processed = "${local.name_prefix}-processed"
    curated   = "${local.name_prefix}-curated"
  }
  force_destroy = true
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
      global_secondary_indexes = [
        { name = "customer_id-index", hash_key = "customer_id", range_key = "created_at" },
      ]
    }
    customer_sessions = {
      hash_key      = "session_id"
      attributes    = [{ name = "session_id", type = "S" }]
      ttl_attribute = "expires_at"
    }
  }
  billing_mode       = "PROVISIONED" # fixed capacity (5) when enable_autoscaling is false
  enable_autoscaling = var.enable_autoscaling
  autoscaling = {
    max_read_capacity  = 20
    max_write_capacity = 20
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
}

module "queues" {
  source = "../../modules/sqs"

  name_prefix = local.name_prefix
  queues = {
    # Bad order events and exhausted Kinesis batches from order_ingest.
    order_ingest_failures = {
      visibility_timeout_seconds = 6 * 30         # 6 x the function's timeout
      message_retention_seconds  = 14 * 24 * 3600 # the most SQS keeps; the DLQ keeps as long
      depth_alarm_threshold      = 0              # every message is a record that did not land
    }
  }
}

module "order_ingest" {
  source = "../../modules/lambda"

  function_name = "${local.name_prefix}-order-ingest"
  description   = "Kinesis order events to the raw bucket and the orders table."
  package_path  = local.package_path
  # benchmarks/bench_order_ingest.py: peak RSS 55 MB (batches of 100) to 59 MB (1000); 256 MB
  # keeps 4x headroom and twice 128 MB's CPU share for boto3's cold start.
  memory_size = 256
  timeout     = 30

  log_retention_days = 7
  tracing_mode       = "PassThrough"
  # A short batching window: on a laptop an order shows up in a second, not five.
  event_source = { maximum_batching_window_in_seconds = 1 }

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
}

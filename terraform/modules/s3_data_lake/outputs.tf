output "bucket_names" {
  description = "Bucket name per data-lake layer."
  value       = { for layer, bucket in aws_s3_bucket.this : layer => bucket.id }
}

output "bucket_arns" {
  description = "Bucket ARN per data-lake layer."
  value       = { for layer, bucket in aws_s3_bucket.this : layer => bucket.arn }
}

output "bucket_regional_domain_names" {
  description = "Regional domain name per data-lake layer (for VPC endpoints and clients that need it)."
  value       = { for layer, bucket in aws_s3_bucket.this : layer => bucket.bucket_regional_domain_name }
}

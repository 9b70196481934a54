# Partial configuration: bucket, key, region and locking live in <env>.s3.tfbackend, so
# `terraform init -backend-config=<env>.s3.tfbackend` (platformctl does this) picks them up
# and no environment-specific value or credential is written here.
terraform {
  backend "s3" {}
}

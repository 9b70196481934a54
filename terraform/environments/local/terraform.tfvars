# The local environment: everything on an AWS emulator (moto server or LocalStack).
aws_region     = "us-east-1"
aws_account_id = "000000000000" # the emulator's account; the provider refuses any other

project_name = "ecommerce-data-platform"
environment  = "local"
owner        = "data-platform"
cost_center  = "data-platform-local"

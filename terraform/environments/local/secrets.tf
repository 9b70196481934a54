# The key that pseudonymizes customer identifiers (customer_id, email: HMAC-SHA256) before
# order events land in the raw bucket. Referenced, never stored: Secrets Manager generates
# the value (GetRandomPassword) in an ephemeral resource, which Terraform never writes to a
# plan or the state, and the version takes it through the write-only secret_string_wo.
# Terraform cannot see a write-only value, so secret_string_wo_version is what changes it:
# bump it to write a new key (which re-keys every pseudonym from then on). The function
# reads the key at run time (module.order_ingest's secret_arns, GetSecretValue on this
# secret alone). Plans open the ephemeral resource too: the plan role needs
# secretsmanager:GetRandomPassword (no resource-level permissions, returns nothing stored).
ephemeral "aws_secretsmanager_random_password" "order_ingest_hmac" {
  password_length     = 64
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "order_ingest_hmac" {
  #checkov:skip=CKV2_AWS_57:A pseudonymization key is rotated deliberately (bump secret_string_wo_version), since a new key changes every pseudonym; a Secrets Manager rotation schedule would need a rotation Lambda for nothing.
  #checkov:skip=CKV_AWS_149:The emulator's secret, encrypted by the AWS-managed key aws/secretsmanager; prod uses its customer-managed key (prod/secrets.tf).
  name                    = "${var.project_name}-${var.environment}-order-ingest-hmac"
  description             = "HMAC-SHA256 key order_ingest pseudonymizes customer_id and email with before writing the raw bucket."
  recovery_window_in_days = 0
}

resource "aws_secretsmanager_secret_version" "order_ingest_hmac" {
  secret_id                = aws_secretsmanager_secret.order_ingest_hmac.id
  secret_string_wo         = ephemeral.aws_secretsmanager_random_password.order_ingest_hmac.random_password
  secret_string_wo_version = 1
}

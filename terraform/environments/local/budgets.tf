# The monthly cost budget, as in dev and prod, so local exercises the same resource; on an
# emulator it costs and alerts nothing, so it has no notifications.
resource "aws_budgets_budget" "monthly_cost" {
  count = var.enable_budgets ? 1 : 0

  name         = "${var.project_name}-${var.environment}-monthly-cost"
  budget_type  = "COST"
  limit_amount = "10.00"
  limit_unit   = "USD"
  time_unit    = "MONTHLY"
}

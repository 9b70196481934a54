"""Exit codes, named once. They mean what Terraform's mean."""

OK = 0
ERROR = 1
# `plan` with -detailed-exitcode: the plan succeeded and has changes.
CHANGES = 2
# 128 + SIGINT, the shell's convention for a command stopped by Ctrl-C.
INTERRUPTED = 130

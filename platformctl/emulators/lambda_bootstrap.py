"""The child process that runs one Lambda invocation for platformctl's moto server.

`python -m platformctl.emulators.lambda_bootstrap`, started with the function's code folder
as its working directory (so it comes first on sys.path, as LAMBDA_TASK_ROOT does on AWS),
is one warm execution environment: it imports the handler named by _HANDLER at its first
invocation, then for each request line on stdin ({"request_id", "deadline_ms", "event"})
calls it with a context object like Lambda's and writes one JSON line to the file
descriptor named by PLATFORMCTL_RESULT_FD: {"result": ...} or {"errorType",
"errorMessage", "stackTrace"}.
Everything the function prints (and its logging) goes to stdout, which the server turns into
the function's CloudWatch Logs stream. Standard library only: it runs beside the function's
own imports and must not slow them down.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import resource
import sys
import time
import traceback
from typing import Any

RESULT_FD_VARIABLE = "PLATFORMCTL_RESULT_FD"
END_MARKER = "\x00platformctl-invocation-end"


class LambdaContext:
    """The attributes and the method of AWS's Python context object that functions use."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ.get("PLATFORMCTL_FUNCTION_ARN", "")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)


class _RequestIdFilter(logging.Filter):
    def __init__(self, request_id: str) -> None:
        super().__init__()
        self.request_id = request_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def _configure_logging() -> _RequestIdFilter:
    """The root logger Lambda's Python runtime sets up: every record at the function's level,
    as `[LEVEL]\\tTIMESTAMP\\tREQUEST_ID\\tmessage`. The filter carries the current request id."""
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    request_filter = _RequestIdFilter("")
    handler.addFilter(request_filter)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return request_filter


def _error(error_type: str, message: str, stack: list[str] | None = None) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "requestId": "", "stackTrace": stack or []}


def _load_handler(spec: str) -> Any:
    """The handler function, or the error document Lambda's runtime reports instead."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name or not function_name:
        return _error(
            "Runtime.MalformedHandlerName", f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)"
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        return _error("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}")
    except SyntaxError as exc:
        return _error("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}")
    except Exception as exc:  # noqa: BLE001 - an exception raised at import: Lambda reports it as the error
        return _error(type(exc).__name__, str(exc), traceback.format_list(traceback.extract_tb(exc.__traceback__)))
    handler = getattr(module, function_name, None)
    if not callable(handler):
        return _error("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return handler


def _invoke(handler: Any, event: Any, context: LambdaContext) -> dict[str, Any]:
    try:
        result = handler(event, context)
    except Exception as exc:  # noqa: BLE001 - whatever the function raises is its error document
        stack = traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:])
        print(f"[ERROR] {type(exc).__name__}: {exc}\nTraceback (most recent call last):\n{''.join(stack)}", flush=True)
        error = _error(type(exc).__name__, str(exc), stack)
        error["requestId"] = context.aws_request_id
        return error
    try:
        return {"result": json.loads(json.dumps(result))}
    except (TypeError, ValueError) as exc:
        return _error("Runtime.MarshalError", f"Unable to marshal response: {exc}")


def main() -> int:
    """Invocations, one JSON line each on stdin, until stdin closes; one answer line each on
    the result descriptor, after the marker line that ends the invocation's output."""
    channel = os.fdopen(int(os.environ.pop(RESULT_FD_VARIABLE)), "w")
    request_filter = _configure_logging()
    spec = os.environ.get("_HANDLER", "")
    handler: Any = None
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        request_id = str(request.get("request_id", ""))
        request_filter.request_id = request_id
        if handler is None:
            handler = _load_handler(spec)  # the init phase: once per execution environment
        context = LambdaContext(request_id, int(request.get("deadline_ms") or time.time() * 1000 + 3000))
        outcome = dict(handler) if isinstance(handler, dict) else _invoke(handler, request.get("event"), context)
        sys.stdout.flush()
        print(f"{END_MARKER} {request_id}", flush=True)
        outcome["maxRssKb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        channel.write(json.dumps(outcome) + "\n")
        channel.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The sandbox's stand-in for Lambda's Python runtime interface client: one invocation, then exit (stdlib only).

Copied into the runtime directory (``LAMBDA_RUNTIME_DIR``) and run as ``python3 -S -u bootstrap.py HANDLER
EVENT_FILE RESULT_FILE DEADLINE_MS REQUEST_ID FUNCTION_ARN``, never imported by the sandbox. It does what the real
runtime does for one event (aws-lambda-python-runtime-interface-client, ``awslambdaric/bootstrap.py``): splits
the handler setting at its last dot into module and function (``/`` in the module path means a package), imports
the module from the task root, calls the function with the event and a context object, and serialises the result
to JSON. Failures get the runtime's error types (``Runtime.ImportModuleError``, ``Runtime.HandlerNotFound``,
``Runtime.MarshalError``, the exception's own class name for an unhandled exception) and the ``[ERROR]`` log line
it prints.

The result goes to RESULT_FILE, not stdout: in Lambda a handler's stdout is its log, and so it is here.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

_REQUEST = [""]  # this invocation's request id, for error documents


class LambdaContext:
    """The ``context`` argument (the attributes and method the Python runtime documents).

    https://docs.aws.amazon.com/lambda/latest/dg/python-context.html
    """

    def __init__(self, deadline_ms: int, request_id: str, function_arn: str) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = function_arn
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds before the invocation times out."""
        return max(self._deadline_ms - int(time.time() * 1000), 0)


def _error(error_type: str, message: str, stack: list[str] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"errorMessage": message, "errorType": error_type, "requestId": _REQUEST[0]}
    doc["stackTrace"] = stack or []
    print(f"[ERROR] {error_type}: {message}", flush=True)
    if stack:
        print("Traceback (most recent call last):\n" + "".join(stack), end="", flush=True)
    return {"error": doc}


def _run(handler: str, event: Any, context: LambdaContext) -> dict[str, Any]:
    if "." not in handler:
        return _error(
            "Runtime.MalformedHandlerName",
            f"Bad handler '{handler}': not enough values to unpack (expected 2, got 1)",
        )
    module_name, function_name = handler.rsplit(".", 1)
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        return _error("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}")
    except SyntaxError as exc:
        return _error("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}")
    function = getattr(module, function_name, None)
    if function is None:
        return _error("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    started = time.monotonic()
    try:
        result = function(event, context)
    except Exception as exc:  # noqa: BLE001 - an unhandled exception is the function's error
        frames = traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:])
        return _error(type(exc).__name__, str(exc), frames)
    duration_ms = (time.monotonic() - started) * 1000
    try:
        payload = json.dumps(result)
    except (TypeError, ValueError) as exc:
        return _error("Runtime.MarshalError", f"Unable to marshal response: {exc}")
    return {"payload": payload, "duration_ms": duration_ms}


def main() -> int:
    """Run one invocation; the outcome goes to the result file as JSON."""
    init_started = time.monotonic()
    handler, event_file, result_file, deadline_ms, request_id, function_arn = sys.argv[1:7]
    _REQUEST[0] = request_id
    event = json.loads(Path(event_file).read_text(encoding="utf-8"))
    outcome = _run(handler, event, LambdaContext(int(deadline_ms), request_id, function_arn))
    outcome["total_ms"] = (time.monotonic() - init_started) * 1000
    sys.stdout.flush()
    sys.stderr.flush()
    tmp = Path(result_file + ".tmp")
    tmp.write_text(json.dumps(outcome), encoding="utf-8")
    tmp.replace(result_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())

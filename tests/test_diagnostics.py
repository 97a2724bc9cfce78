"""Terraform's diagnostics parsed from the shapes Terraform really prints them in.

The samples were recorded from the embedded Terraform 1.15.5 with ``-no-color`` (as atlasiam runs it);
only the lock holder's ``Who`` and a CLI config file path were replaced, and a warning's detail cut short.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from atlas_iam_tf.terraform.diagnostics import MAX_LINE, Diagnostic, LockInfo, first_error


def _jsonl(*events: dict[str, Any]) -> str:
    """Events as Terraform writes them: compact JSON, one per line."""
    return "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events)


VERSION_EVENT = {
    "@level": "info",
    "@message": "Terraform 1.15.5",
    "@module": "terraform.ui",
    "@timestamp": "2026-12-02T13:37:17.386223Z",
    "terraform": "1.15.5",
    "type": "version",
    "ui": "1.3",
}
# `terraform plan -json` on `resource "terraform_data" "this" { input = var.missing }`.
PLAN_JSON = _jsonl(
    VERSION_EVENT,
    {
        "@level": "error",
        "@message": "Error: Reference to undeclared input variable",
        "@module": "terraform.ui",
        "@timestamp": "2026-12-02T13:37:17.390223Z",
        "diagnostic": {
            "severity": "error",
            "summary": "Reference to undeclared input variable",
            "detail": 'An input variable with the name "missing" has not been declared. This variable can be '
            'declared with a variable "missing" {} block.',
            "range": {
                "filename": "main.tf",
                "start": {"line": 2, "column": 11, "byte": 45},
                "end": {"line": 2, "column": 22, "byte": 56},
            },
            "snippet": {
                "context": 'resource "terraform_data" "this"',
                "code": "  input = var.missing",
                "start_line": 2,
                "highlight_start_offset": 10,
                "highlight_end_offset": 21,
                "values": [],
            },
        },
        "type": "diagnostic",
    },
)
# `terraform validate -json` on the same module.
VALIDATE_JSON = """{
  "format_version": "1.0",
  "valid": false,
  "error_count": 1,
  "warning_count": 0,
  "diagnostics": [
    {
      "severity": "error",
      "summary": "Reference to undeclared input variable",
      "detail": "An input variable with the name \\"missing\\" has not been declared. This variable can be declared with a variable \\"missing\\" {} block.",
      "range": {
        "filename": "main.tf",
        "start": {"line": 2, "column": 11, "byte": 45},
        "end": {"line": 2, "column": 22, "byte": 56}
      },
      "snippet": {
        "context": "resource \\"terraform_data\\" \\"this\\"",
        "code": "  input = var.missing",
        "start_line": 2,
        "highlight_start_offset": 10,
        "highlight_end_offset": 21,
        "values": []
      }
    }
  ]
}
"""  # noqa: E501 - recorded verbatim
# `terraform plan -no-color` (human) on the same module: stderr.
PLAN_HUMAN = (
    '\nError: Reference to undeclared input variable\n\n  on main.tf line 2, in resource "terraform_data" "this":\n'
    '   2:   input = var.missing\n\nAn input variable with the name "missing" has not been declared. This\n'
    'variable can be declared with a variable "missing" {} block.\n'
)
# Problems with the CLI configuration are framed with box characters even with -no-color.
CLI_CONFIG_WARNING = (
    "There are some problems with the CLI configuration:\n╷\n│ Warning: Unable to open CLI configuration file\n│\n"
    '│ The CLI configuration file at "terraform.rc" does not exist.\n╵\n\n'
)
CLI_CONFIG_ERROR = (
    "There are some problems with the CLI configuration:\n╷\n"
    "│ Error: Error parsing terraform.rc: At 6:2: object expected closing RBRACE got: EOF\n│\n╵\n\n"
    "As a result of the above problems, Terraform may not behave as intended.\n\n\n"
)
# `terraform plan -json` while `terraform apply` holds the (local) state lock.
LOCK_JSON = _jsonl(
    VERSION_EVENT,
    {
        "@level": "error",
        "@message": "Error: Error acquiring the state lock",
        "@module": "terraform.ui",
        "@timestamp": "2026-12-02T13:37:35.295872Z",
        "diagnostic": {
            "severity": "error",
            "summary": "Error acquiring the state lock",
            "detail": "Error message: resource temporarily unavailable\nLock Info:\n"
            "  ID:        889165e1-ff2b-7655-5138-94e2d5151af6\n  Path:      terraform.tfstate\n"
            "  Operation: OperationTypeApply\n  Who:       alice@build-7\n  Version:   1.15.5\n"
            "  Created:   2026-12-02 13:37:29.278221145 +0000 UTC\n  Info:      \n\n\n"
            "Terraform acquires a state lock to protect the state from being written\nby multiple users at the "
            "same time. Please resolve the issue above and try\nagain. For most commands, you can disable locking "
            'with the "-lock=false"\nflag, but this is not recommended.',
        },
        "type": "diagnostic",
    },
)
# `terraform plan -no-color` (human) while the lock is held: stderr.
LOCK_HUMAN = (
    "\nError: Error acquiring the state lock\n\nError message: resource temporarily unavailable\nLock Info:\n"
    "  ID:        889165e1-ff2b-7655-5138-94e2d5151af6\n  Path:      terraform.tfstate\n"
    "  Operation: OperationTypeApply\n  Who:       alice@build-7\n  Version:   1.15.5\n"
    "  Created:   2026-12-02 13:37:29.278221145 +0000 UTC\n  Info:      \n\n\n"
    "Terraform acquires a state lock to protect the state from being written\nby multiple users at the same time. "
    "Please resolve the issue above and try\nagain. For most commands, you can disable locking with the "
    '"-lock=false"\nflag, but this is not recommended.\n'
)
# `terraform plan -json` with a terraform.tfvars value for a variable the module does not declare.
WARNING_EVENT = _jsonl(
    {
        "@level": "warn",
        "@message": "Warning: Value for undeclared variable",
        "@module": "terraform.ui",
        "@timestamp": "2026-12-02T13:39:19.678069Z",
        "diagnostic": {
            "severity": "warning",
            "summary": "Value for undeclared variable",
            "detail": 'The root module does not declare a variable named "extra" but a value was found in file '
            '"terraform.tfvars".',
        },
        "type": "diagnostic",
    }
)

UNDECLARED = Diagnostic(
    severity="error",
    summary="Reference to undeclared input variable",
    detail='An input variable with the name "missing" has not been declared. This variable can be declared with a '
    'variable "missing" {} block.',
    filename="main.tf",
    line=2,
)
UNDECLARED_LINE = (
    'Reference to undeclared input variable (main.tf:2): An input variable with the name "missing" has not been '
    'declared. This variable can be declared with a variable "missing" {} block.'
)
LOCK = LockInfo(
    id="889165e1-ff2b-7655-5138-94e2d5151af6", operation="apply", who="alice@build-7", created="2026-12-02 13:37:29"
)


def test_json_error_event() -> None:
    diag = first_error(PLAN_JSON)
    assert diag is not None and diag == UNDECLARED
    assert diag.one_line() == UNDECLARED_LINE
    assert diag.one_line(detail=False) == "Reference to undeclared input variable (main.tf:2)"


def test_validate_document_with_a_range() -> None:
    (entry,) = json.loads(VALIDATE_JSON)["diagnostics"]
    diag = Diagnostic.from_validate(entry)
    assert diag == UNDECLARED
    assert diag.one_line() == UNDECLARED_LINE


def test_validate_warning_keeps_its_severity() -> None:
    assert Diagnostic.from_validate({"severity": "warning", "summary": "Deprecated"}).severity == "warning"


def test_human_error_is_read_for_its_summary() -> None:
    assert first_error(PLAN_HUMAN) == Diagnostic("error", "Reference to undeclared input variable")


def test_human_error_in_a_box_after_a_boxed_warning() -> None:
    diag = first_error(CLI_CONFIG_WARNING + CLI_CONFIG_ERROR)
    assert diag == Diagnostic("error", "Error parsing terraform.rc: At 6:2: object expected closing RBRACE got: EOF")
    assert Diagnostic.from_human("│ Warning: Unable to open CLI configuration file") == Diagnostic(
        "warning", "Unable to open CLI configuration file"
    )


def test_warning_event_is_a_warning_not_an_error() -> None:
    diag = Diagnostic.from_event(json.loads(WARNING_EVENT))
    assert diag is not None and diag.severity == "warning" and diag.summary == "Value for undeclared variable"
    assert first_error(WARNING_EVENT) is None


def test_resource_address_beats_the_file_position() -> None:
    # The shape of a provider error during apply: it names the resource and points at its block.
    event = {
        "@level": "error",
        "@message": "Error: creating aws_instance: injected failure",
        "type": "diagnostic",
        "diagnostic": {
            "severity": "error",
            "summary": "creating aws_instance: injected failure",
            "detail": "",
            "address": "aws_instance.this",
            "range": {"filename": "host.tf", "start": {"line": 12, "column": 1, "byte": 300}},
        },
    }
    diag = Diagnostic.from_event(event)
    assert diag is not None and diag.place == "aws_instance.this"
    assert diag.one_line() == "creating aws_instance: injected failure (aws_instance.this)"


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"@level": "error", "@message": "Error: Boom"}, Diagnostic("error", "Boom")),
        ({"@level": "warn", "@message": "Warning: Careful"}, Diagnostic("warning", "Careful")),
    ],
    ids=["error", "warning"],
)
def test_event_without_a_diagnostic_object_uses_its_message(event: dict[str, str], expected: Diagnostic) -> None:
    assert Diagnostic.from_event(event) == expected


def test_event_with_nothing_to_say_is_no_diagnostic() -> None:
    assert Diagnostic.from_event({"@level": "error", "type": "diagnostic", "diagnostic": {}}) is None


@pytest.mark.parametrize(
    "text",
    [
        '{"@level":"info","@message":"Terraform 1.15.5","type":"version"}',
        '{"@level":"error", not json',
        "Terraform has been successfully initialized!",
        "",
    ],
    ids=["info-event", "broken-json", "plain-text", "empty"],
)
def test_no_error_in_text(text: str) -> None:
    assert first_error(text) is None


def test_file_without_a_line() -> None:
    assert Diagnostic("error", "Bad", filename="main.tf").one_line() == "Bad (main.tf)"


def test_one_line_is_capped() -> None:
    assert len(Diagnostic("error", "Boom", detail="word " * 400).one_line()) == MAX_LINE


def test_lock_error_json() -> None:
    diag = first_error(LOCK_JSON)
    assert diag is not None and diag.is_state_lock
    assert LockInfo.from_text(diag.detail) == LOCK
    assert LockInfo.from_text(diag.one_line()) == LOCK  # the block flattened onto one line


def test_lock_error_human() -> None:
    diag = first_error(LOCK_HUMAN)
    assert diag is not None and diag.is_state_lock and diag.detail == ""
    assert LockInfo.from_text(LOCK_HUMAN) == LOCK


def test_other_errors_are_not_lock_errors() -> None:
    diag = first_error(PLAN_JSON)
    assert diag is not None and not diag.is_state_lock


def test_lock_without_lock_info() -> None:
    assert LockInfo.from_text("Error message: resource temporarily unavailable") is None


def test_lock_describe() -> None:
    assert LOCK.describe() == (
        "lock ID 889165e1-ff2b-7655-5138-94e2d5151af6: apply, by alice@build-7, since 2026-12-02 13:37:29 UTC"
    )
    assert LockInfo(id="abc").describe() == "lock ID abc"

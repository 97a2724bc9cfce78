"""Typed views over Terraform's machine-readable output, from recorded samples."""

from __future__ import annotations

import json

from atlas_iam_tf.errors import TerraformError
from atlas_iam_tf.terraform.plan import (
    Outputs,
    parse_events,
    plan_summary_from_events,
    progress_line,
)

# Recorded from `terraform plan -json` (Terraform 1.15.5), trimmed to the fields we read.
PLAN_STREAM = [
    '{"@level":"info","@message":"Terraform 1.15.5","type":"version","terraform":"1.15.5","ui":"1.2"}',
    '{"@level":"info","@message":"aws_vpc.this: Plan to create","type":"planned_change",'
    '"change":{"resource":{"addr":"aws_vpc.this","resource_type":"aws_vpc"},"action":"create"}}',
    '{"@level":"info","@message":"aws_instance.this: Plan to replace","type":"planned_change",'
    '"change":{"resource":{"addr":"aws_instance.this","resource_type":"aws_instance"},"action":"replace",'
    '"reason":"cannot_update"}}',
    '{"@level":"info","@message":"aws_instance.this: Drift detected (delete)","type":"resource_drift",'
    '"change":{"resource":{"addr":"aws_instance.this","resource_type":"aws_instance"},"action":"delete"}}',
    '{"@level":"info","@message":"Plan: 2 to add, 0 to change, 1 to destroy.","type":"change_summary",'
    '"changes":{"add":2,"change":0,"import":0,"remove":1,"operation":"plan"}}',
    '{"@level":"info","@message":"Outputs: 1","type":"outputs","outputs":{"role_arn":{"sensitive":false,'
    '"action":"create"}}}',
    "not json at all",
]


def test_summary_from_plan_events() -> None:
    summary = plan_summary_from_events(parse_events(PLAN_STREAM))
    assert [(c.address, c.action) for c in summary.changes] == [
        ("aws_instance.this", "replace"),
        ("aws_vpc.this", "create"),
    ]
    assert summary.counts() == {"create": 1, "replace": 1}
    assert summary.drift[0].address == "aws_instance.this"
    assert summary.has_changes
    assert summary.changes[0].reason == "cannot_update"


def test_no_changes() -> None:
    events = parse_events(['{"type":"change_summary","changes":{"add":0}}'])
    assert not plan_summary_from_events(events).has_changes


def test_output_only_change_counts_as_change() -> None:
    events = parse_events(['{"type":"outputs","outputs":{"x":{"action":"update"}}}'])
    assert plan_summary_from_events(events).has_changes


def test_outputs_mask_sensitive_values() -> None:
    text = json.dumps({"a": {"value": "x", "sensitive": False}, "s": {"value": "secret", "sensitive": True}})
    outputs = Outputs.from_json(text)
    assert outputs.values["s"] == "secret"
    assert outputs.masked() == {"a": "x", "s": "(sensitive)"}


def test_progress_lines() -> None:
    events = parse_events(PLAN_STREAM)
    lines = [progress_line(e) for e in events]
    assert lines[0] is None  # version banner stays quiet
    assert lines[1] is None  # planned changes are shown as a table instead
    assert lines[3] == "aws_instance.this: Drift detected (delete)"
    diag = {"type": "diagnostic", "@level": "error", "diagnostic": {"severity": "error", "summary": "Boom"}}
    assert progress_line(diag) == "error: Boom"


def test_progress_lines_for_diagnostics_name_the_place_without_the_detail() -> None:
    error = {
        "type": "diagnostic",
        "@level": "error",
        "diagnostic": {
            "severity": "error",
            "summary": "Unsupported argument",
            "detail": "Not expected here.",
            "range": {"filename": "main.tf", "start": {"line": 3}},
        },
    }
    assert progress_line(error) == "error: Unsupported argument (main.tf:3)"
    # Terraform logs a warning at level "warn".
    warning = {"type": "diagnostic", "@level": "warn", "diagnostic": {"severity": "warning", "summary": "Deprecated"}}
    assert progress_line(warning) == "warning: Deprecated"


def test_terraform_error_names_first_json_diagnostic() -> None:
    stdout = "\n".join(
        [
            '{"@level":"info","@message":"x","type":"version"}',
            json.dumps(
                {
                    "@level": "error",
                    "@message": "Error: Unsupported argument",
                    "type": "diagnostic",
                    "diagnostic": {
                        "severity": "error",
                        "summary": "Unsupported argument",
                        "detail": 'An argument named "cidr_blok" is\nnot expected here.',
                        "range": {"filename": "main.tf"},
                    },
                }
            ),
        ]
    )
    err = TerraformError.from_process(["validate"], 1, stdout, "")
    assert err.message == (
        'terraform validate failed: Unsupported argument (main.tf): An argument named "cidr_blok" is not expected here.'
    )


def test_terraform_error_from_human_output() -> None:
    stderr = "\n╷\n│ Error: Invalid reference\n│\n│   on main.tf line 3\n╵\n"
    assert TerraformError.from_process(["plan"], 1, "", stderr).message == "terraform plan failed: Invalid reference"

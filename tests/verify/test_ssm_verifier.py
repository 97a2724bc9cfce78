"""SsmVerifier against botocore's Stubber: the exact API conversation, with a fake clock."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from atlas_iam_tf.verify.ssm import Backoff, PollSchedule, SsmVerifier, batches

CMD = "11111111-2222-3333-4444-555555555555"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def ssm() -> Any:
    return boto3.client("ssm", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def verifier(ssm: Any, clock: FakeClock) -> SsmVerifier:
    return SsmVerifier(ssm, clock=clock, sleep=clock.sleep)


def test_batches_of_fifty() -> None:
    ids = [f"i-{n:017x}" for n in range(120)]
    assert [len(b) for b in batches(ids)] == [50, 50, 20]


def test_backoff_starts_small_and_caps() -> None:
    it = iter(Backoff())
    delays = [next(it) for _ in range(12)]
    assert delays[0] == 0.05 and delays[1] == pytest.approx(0.0625) and max(delays) == 0.5


def test_poll_schedule_lag_is_a_tenth_of_the_wait_within_floor_and_cap() -> None:
    it = iter(PollSchedule())
    delays = [next(it) for _ in range(50)]
    assert delays[:3] == [0.05, 0.05, 0.05]  # the first half second: every 0.05 s
    for n in range(1, len(delays)):
        assert delays[n] == pytest.approx(min(0.5, max(0.05, 0.1 * sum(delays[:n]))))
    assert sum(1 for n in range(len(delays)) if sum(delays[:n]) < 1.0) == 18  # polls in the first second
    assert max(delays) == 0.5 and sum(d == 0.5 for d in delays) > 5  # capped: seen ≤ 0.5 s after the end
    assert sum(d < 0.5 for d in delays) < 40  # reaching the cap takes ~5 s of waiting, not minutes of polls


def _listed(status: str | None) -> dict[str, Any]:
    return {"CommandInvocations": [] if status is None else [{"InstanceId": "i-1", "Status": status}]}


def test_polls_the_list_then_reads_the_output_of_finished_hosts(ssm: Any) -> None:
    clock = FakeClock()
    with Stubber(ssm) as stub:
        stub.add_response("list_command_invocations", _listed(None))  # just sent: nothing listed yet
        stub.add_response("list_command_invocations", _listed("InProgress"))
        stub.add_response("list_command_invocations", _listed("Success"))
        done = {
            "Status": "Success",
            "StandardOutputContent": '{"probe":1}',
            "StandardErrorContent": "",
            "ResponseCode": 0,
        }
        stub.add_response("get_command_invocation", done)
        result = verifier(ssm, clock).collect({"i-1": CMD}, deadline=60)
        stub.assert_no_pending_responses()
    inv = result["i-1"]
    assert (inv.status, inv.stdout, inv.response_code) == ("Success", '{"probe":1}', 0)
    assert clock.sleeps == [0.05, 0.05]  # small first polls: the result shows up fast


def test_many_hosts_are_listed_only_when_the_command_says_some_finished(ssm: Any) -> None:
    hosts = ["i-1", "i-2", "i-3"]
    listed = {"CommandInvocations": [{"InstanceId": i, "Status": "Success"} for i in hosts[:2]]}
    with Stubber(ssm) as stub:
        stub.add_response("list_commands", {"Commands": [{"CommandId": CMD, "CompletedCount": 0}]})
        stub.add_response("list_commands", {"Commands": [{"CommandId": CMD, "CompletedCount": 2}]})
        stub.add_response("list_command_invocations", listed)
        for i in hosts[:2]:
            stub.add_response("get_command_invocation", {"Status": "Success", "StandardOutputContent": i})
        # One host left: listed directly, as cheap as asking the command.
        stub.add_response(
            "list_command_invocations", {"CommandInvocations": [{"InstanceId": "i-3", "Status": "Failed"}]}
        )
        stub.add_response("get_command_invocation", {"Status": "Failed", "StandardOutputContent": "i-3"})
        result = verifier(ssm, FakeClock()).collect(dict.fromkeys(hosts, CMD), deadline=60)
        stub.assert_no_pending_responses()
    assert [(r.status, r.stdout) for r in result.values()] == [
        ("Success", "i-1"),
        ("Success", "i-2"),
        ("Failed", "i-3"),
    ]


def test_invocation_does_not_exist_means_not_yet(ssm: Any) -> None:
    clock = FakeClock()
    with Stubber(ssm) as stub:
        stub.add_response("list_command_invocations", _listed("Success"))
        stub.add_client_error("get_command_invocation", "InvocationDoesNotExist")
        stub.add_response("list_command_invocations", _listed("Success"))
        stub.add_response("get_command_invocation", {"Status": "Success", "StandardOutputContent": "out"})
        result = verifier(ssm, clock).collect({"i-1": CMD}, deadline=60)
        stub.assert_no_pending_responses()
    assert (result["i-1"].status, result["i-1"].stdout) == ("Success", "out")


def test_deadline_marks_pending_hosts(ssm: Any) -> None:
    clock = FakeClock()
    with Stubber(ssm) as stub:
        for _ in range(40):
            stub.add_response("list_command_invocations", _listed("InProgress"))
        result = verifier(ssm, clock).collect({"i-1": CMD}, deadline=3)
    assert result["i-1"].status == "DeadlineExceeded"
    assert clock.now <= 3.0 + 1e-9


def test_throttling_is_retried(ssm: Any) -> None:
    clock = FakeClock()
    with Stubber(ssm) as stub:
        stub.add_client_error("send_command", "ThrottlingException", http_status_code=400)
        stub.add_response("send_command", {"Command": {"CommandId": CMD}})
        sent = verifier(ssm, clock).send(["i-1", "i-2"], ["echo hi"], 60)
    assert sent == {"i-1": CMD, "i-2": CMD}
    assert clock.sleeps == [0.5]


def test_other_errors_propagate(ssm: Any) -> None:
    from botocore.exceptions import ClientError

    with Stubber(ssm) as stub:
        stub.add_client_error("send_command", "InvalidInstanceId")
        with pytest.raises(ClientError):
            verifier(ssm, FakeClock()).send(["i-1"], ["echo"], 60)


def test_wait_online_polls_until_online(ssm: Any) -> None:
    clock = FakeClock()
    with Stubber(ssm) as stub:
        stub.add_response("describe_instance_information", {"InstanceInformationList": []})
        stub.add_response(
            "describe_instance_information",
            {"InstanceInformationList": [{"InstanceId": "i-1", "PingStatus": "Online"}]},
        )
        status = verifier(ssm, clock).wait_online(["i-1"], deadline=30)
    assert status == {"i-1": "Online"}


def test_wait_online_gives_up_at_the_deadline(ssm: Any) -> None:
    clock = FakeClock()
    with Stubber(ssm) as stub:
        for _ in range(30):
            stub.add_response(
                "describe_instance_information",
                {"InstanceInformationList": [{"InstanceId": "i-1", "PingStatus": "ConnectionLost"}]},
            )
        status = verifier(ssm, clock).wait_online(["i-1"], deadline=10)
    assert status == {"i-1": "ConnectionLost"} and clock.now == pytest.approx(10)

"""Run the probe on hosts over SSM Run Command: wait for Online, send once, poll with backoff.

The boto3 SSM client is passed in (never created here), so tests drive this with the sandbox's
SSM endpoint or botocore's Stubber. Time is injected too (``clock``/``sleep``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from atlas_iam_tf.verify.clients import error_code

log = logging.getLogger(__name__)

MAX_TARGETS_PER_SEND = 50  # SendCommand's InstanceIds limit
DONE_STATUSES = frozenset(
    {
        "Success",
        "Failed",
        "TimedOut",
        "Cancelled",
        "Cancelling",
        "DeliveryTimedOut",
        "Undeliverable",
        "Terminated",
        "InvalidPlatform",
        "AccessDenied",
    }
)
_THROTTLED = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})
Progress = Callable[[str], None]


@dataclass
class Invocation:
    """What one host's command invocation ended as."""

    instance_id: str
    status: str = "Pending"
    stdout: str = ""
    stderr: str = ""
    response_code: int | None = None


@dataclass
class Backoff:
    """Retry and wait delays: start at ``first``, grow by ``factor`` each time, up to ``cap``."""

    first: float = 0.05
    factor: float = 1.25
    cap: float = 0.5

    def __iter__(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(self.cap, delay * self.factor)


@dataclass(frozen=True)
class PollSchedule:
    """Gaps between result polls: each is ``ratio`` of the time already waited, kept within [floor, cap].

    How long after a command ends we see it is at most one gap. Tying the gap to the time waited
    keeps that lag a fixed share (10 %) of the run, for a number of calls that grows only with the
    log of the run's length: 20 per second for the first half second, 18 polls in the first second,
    where a probe usually ends, slowing to ``cap`` after 5 s (2 polls/s). ``floor`` bounds the calls in the
    first second (a 0.1 s floor cost ~60 ms of lag per verify, measured in ``make bench``); ``cap`` bounds
    the lag (≤ 0.5 s). Each poll is one ListCommandInvocations per command (≤ 50 hosts), not per host,
    and throttling is backed off from (``SsmVerifier._call``).
    """

    first: float = 0.05
    floor: float = 0.05
    ratio: float = 0.1
    cap: float = 0.5

    def __iter__(self) -> Iterator[float]:
        waited, delay = 0.0, self.first
        while True:
            yield delay
            waited += delay
            delay = min(self.cap, max(self.floor, self.ratio * waited))


def batches(items: Sequence[str], size: int = MAX_TARGETS_PER_SEND) -> list[list[str]]:
    """Split instance ids into SendCommand-sized batches."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _transient(err: ClientError) -> bool:
    """Throttling, or a 5xx: worth another try once botocore's own retries are used up."""
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return error_code(err) in _THROTTLED or int(status) >= 500


class SsmVerifier:
    """Sends the probe to instances and collects one invocation per instance."""

    def __init__(
        self,
        ssm: Any,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        progress: Progress | None = None,
    ) -> None:
        self.ssm = ssm
        self.clock = clock
        self.sleep = sleep
        self.progress = progress or (lambda _m: None)

    def ping_status(self, instance_ids: Sequence[str]) -> dict[str, str]:
        """PingStatus per registered instance (absent = not registered with SSM)."""
        out: dict[str, str] = {}
        for batch in batches(instance_ids):
            token: str | None = None
            while True:
                kwargs: dict[str, Any] = {"Filters": [{"Key": "InstanceIds", "Values": batch}], "MaxResults": 50}
                if token:
                    kwargs["NextToken"] = token
                page = self._call(self.ssm.describe_instance_information, **kwargs)
                for info in page.get("InstanceInformationList", []):
                    out[info["InstanceId"]] = info.get("PingStatus", "")
                token = page.get("NextToken")
                if not token:
                    break
        return out

    def wait_online(self, instance_ids: Sequence[str], deadline: float) -> dict[str, str]:
        """Poll until every instance is Online or the deadline passes; return the last PingStatus seen."""
        delays = iter(Backoff(first=0.2, cap=5.0))
        while True:
            status = self.ping_status(instance_ids)
            waiting = [i for i in instance_ids if status.get(i) != "Online"]
            if not waiting or self.clock() >= deadline:
                return status
            self.progress(f"waiting for {len(waiting)} instance(s) to come Online in SSM")
            self.sleep(min(next(delays), max(0.0, deadline - self.clock())))

    def send(self, instance_ids: Sequence[str], commands: Sequence[str], timeout_s: int) -> dict[str, str]:
        """Send AWS-RunShellScript to the instances (≤ 50 per call); return instance id -> command id."""
        sent: dict[str, str] = {}
        for batch in batches(instance_ids):
            resp = self._call(
                self.ssm.send_command,
                InstanceIds=batch,
                DocumentName="AWS-RunShellScript",
                Parameters={"commands": list(commands), "executionTimeout": [str(timeout_s)]},
                TimeoutSeconds=max(30, timeout_s),
                Comment="atlasiam verify: MONGODB-AWS probe",
            )
            command_id = resp["Command"]["CommandId"]
            sent.update(dict.fromkeys(batch, command_id))
        return sent

    def collect(self, sent: dict[str, str], deadline: float) -> dict[str, Invocation]:
        """Poll until every invocation is done or the deadline passes.

        One ListCommandInvocations call per command tells which hosts finished (after a ListCommands
        call says some did, when many wait); only those get a GetCommandInvocation, for their full
        output (up to 24,000 characters).
        """
        results = {i: Invocation(i) for i in sent}
        delays = iter(PollSchedule())
        while True:
            finished = self._finished(sent, results)
            for instance_id in finished:
                self._poll_one(sent[instance_id], results[instance_id])
            pending = [i for i, inv in results.items() if inv.status not in DONE_STATUSES]
            if not pending:
                return results
            if self.clock() >= deadline:
                for i in pending:
                    results[i].status = "DeadlineExceeded"
                return results
            self.sleep(min(next(delays), max(0.0, deadline - self.clock())))

    def _finished(self, sent: dict[str, str], results: dict[str, Invocation]) -> list[str]:
        """Hosts whose invocation reached a final status since the last poll."""
        pending = {i for i, inv in results.items() if inv.status not in DONE_STATUSES}
        done: list[str] = []
        for command_id in sorted({sent[i] for i in pending}):
            if not self._news(command_id, sent, results):
                continue
            token: str | None = None
            while True:
                kwargs: dict[str, Any] = {"CommandId": command_id, "MaxResults": 50}
                if token:
                    kwargs["NextToken"] = token
                page = self._call(self.ssm.list_command_invocations, **kwargs)
                for inv in page.get("CommandInvocations", []):
                    instance_id = inv.get("InstanceId")
                    if instance_id in pending:
                        results[instance_id].status = str(inv.get("Status", "Pending"))
                        if results[instance_id].status in DONE_STATUSES:
                            results[instance_id].status = "Finishing"  # final once the full output is read
                            done.append(instance_id)
                token = page.get("NextToken")
                if not token:
                    break
        return done

    def _news(self, command_id: str, sent: dict[str, str], results: dict[str, Invocation]) -> bool:
        """Whether a host of the command may have finished since its results were last read.

        With many hosts waiting, the command's one ListCommands row (its CompletedCount) answers that
        for far less than ListCommandInvocations' row per host, which is then listed only when it will
        show something new. With one host waiting, listing it directly costs the same.
        """
        hosts = [i for i, c in sent.items() if c == command_id]
        waiting = sum(results[i].status not in DONE_STATUSES for i in hosts)
        if waiting <= 1:
            return True
        commands = self._call(self.ssm.list_commands, CommandId=command_id).get("Commands") or [{}]
        completed = int(commands[0].get("CompletedCount", len(hosts)))  # not listed yet: look anyway
        return completed > len(hosts) - waiting

    def _poll_one(self, command_id: str, inv: Invocation) -> None:
        try:
            resp = self._call(self.ssm.get_command_invocation, CommandId=command_id, InstanceId=inv.instance_id)
        except ClientError as err:
            if error_code(err) == "InvocationDoesNotExist":  # right after send_command: not yet
                return
            raise
        inv.status = str(resp.get("Status", inv.status))
        inv.stdout = str(resp.get("StandardOutputContent", ""))
        inv.stderr = str(resp.get("StandardErrorContent", ""))
        code = resp.get("ResponseCode")
        inv.response_code = int(code) if code is not None else None

    def _call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """Call the API, backing off on throttling and 5xx bursts (botocore's own retries come first)."""
        delays = iter(Backoff(first=0.5, cap=8.0))
        for _attempt in range(6):
            try:
                return fn(**kwargs)
            except ClientError as err:  # noqa: PERF203 - retrying is the point
                if not _transient(err):
                    raise
                log.debug("SSM throttled or failed, backing off: %s", err)
                self.sleep(next(delays))
        return fn(**kwargs)

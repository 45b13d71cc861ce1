"""`make lambda-invoke`: run the low-stock function once against the local app, sending nothing to AWS.

The handler's own run (lowstock.run.run_once) is called with the real gateway client and local stand-ins for
the AWS side: the state lives in a JSON file (so a second invocation shows what "no change" looks like),
and the SNS notification and CloudWatch metrics are printed exactly as they would be sent.

    make run                                  # in another terminal: the three services on 127.0.0.1
    make lambda-invoke                        # first run: announces what is low now
    python -m tools.lambda_invoke --reset     # forget what was announced
    STOCKWIZ_API_TOKEN=... make lambda-invoke # when the gateway has API_TOKENS configured
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from lowstock import logs
from lowstock.alert import Alert
from lowstock.gateway import ApiError, GatewayClient
from lowstock.handler import DEFAULT_NAMESPACE
from lowstock.records import AnnouncedState, InvalidState
from lowstock.run import Collaborators, Metric, StateBusy, iter_metric_data, run_once

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE = ROOT / "data" / "lowstock-state.json"


class FileStateStore:
    """The SSM parameters' local stand-in: one JSON file, and an flock so two local runs cannot interleave."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def lease(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock_file:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StateBusy(f"another local run holds {lock_file.name}") from None
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def load(self) -> AnnouncedState:
        try:
            return AnnouncedState.decode(self.path.read_text())
        except FileNotFoundError:
            return AnnouncedState.empty()
        except InvalidState:
            return AnnouncedState.empty()

    def save(self, state: AnnouncedState) -> None:
        # Write-then-rename: an interrupted run leaves the previous state, never half a file.
        with tempfile.NamedTemporaryFile("w", dir=self.path.parent, delete=False, suffix=".tmp") as tmp:
            tmp.write(state.encode())
        os.replace(tmp.name, self.path)


class PrintingNotifier:
    def __init__(self, topic: str, out: TextIO) -> None:
        self._topic = topic
        self._out = out

    def publish(self, alert: Alert) -> None:
        print(f"=== SNS notification (would publish to {self._topic}) ===", file=self._out)
        print(f"Subject: {alert.subject}", file=self._out)
        print("", file=self._out)
        print(alert.text, file=self._out)
        print("--- JSON message for SQS, Lambda and HTTP subscribers ---", file=self._out)
        print(json.dumps(alert.document, indent=2, ensure_ascii=False), file=self._out)


class PrintingMetrics:
    def __init__(self, namespace: str, dimensions: dict[str, str], out: TextIO) -> None:
        self._namespace = namespace
        self._dimensions = dimensions
        self._out = out

    def put(self, metrics: Sequence[Metric]) -> None:
        print(f"=== CloudWatch metrics (would put to namespace {self._namespace}) ===", file=self._out)
        for datum in iter_metric_data(metrics, self._dimensions):
            dims = ",".join(f"{d['Name']}={d['Value']}" for d in datum["Dimensions"])
            print(
                f"  {datum['MetricName']:<18} {datum['Value']:>10.1f} {datum['Unit']:<12} [{dims}]",
                file=self._out,
            )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make lambda-invoke", description="Run the low-stock function once against the local app."
    )
    parser.add_argument("--api-url", default=os.environ.get("STOCKWIZ_API_URL", "http://127.0.0.1:8000"))
    parser.add_argument(
        "--token",
        default=os.environ.get("STOCKWIZ_API_TOKEN"),
        help="read-scope API token (default: $STOCKWIZ_API_TOKEN; none for a local gateway without tokens)",
    )
    parser.add_argument(
        "--state", type=Path, default=DEFAULT_STATE, help=f"state file (default: {DEFAULT_STATE})"
    )
    parser.add_argument("--reset", action="store_true", help="forget what earlier runs announced")
    parser.add_argument("--stack", default="local")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    args = parse_args(argv)
    # Logs go to stderr so stdout shows only what would be sent.
    logs.configure("INFO", sys.stderr)
    store = FileStateStore(args.state)
    if args.reset:
        args.state.unlink(missing_ok=True)
    token: str | None = args.token
    deps = Collaborators(
        source=GatewayClient(args.api_url, lambda: token, attempts=2),
        store=store,
        notifier=PrintingNotifier(f"stockwiz-alerts-{args.stack}", out),
        metrics=PrintingMetrics(DEFAULT_NAMESPACE, {"Stack": args.stack}, out),
        stack=args.stack,
    )
    try:
        summary = run_once(deps)
    except ApiError as exc:
        print(f"=== the invocation fails (nothing is announced): {exc}", file=out)
        return 1
    if summary["status"] == "unchanged":
        print("=== no SNS notification: nothing became low or recovered since the last run", file=out)
    print(f"=== result: {json.dumps(summary)}", file=out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

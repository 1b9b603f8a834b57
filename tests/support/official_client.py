"""The official CometD JavaScript client (npm ``cometd`` with ``cometd-nodejs-client``, the
conformance tier's pinned packages) in a Node process, as a desktop uses it
(``tests/conformance/gws_client.mjs``)."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any


class OfficialClient:
    """The npm ``cometd`` client (tests/conformance/gws_client.mjs) in a Node process, through the
    balancer; the notifications it reports are collected in a thread."""

    def __init__(self, base_url: str, auth: tuple[str, str], transport: str, ack: bool) -> None:
        modules = node_modules()
        host = base_url.removeprefix("http://")
        url = f"http://{auth[0]}:{auth[1]}@{host}/api/v2/notifications"
        self.process = subprocess.Popen(
            ["node", str(modules.parent / "gws_client.mjs"), url, transport, "true" if ack else "false"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.events: list[dict[str, Any]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.events.append(json.loads(line))

    def wait(self, predicate: Any, timeout: float = 20.0, what: str = "client") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; events: {self.events[-20:]}")
            time.sleep(0.05)

    def reference_ids(self) -> list[int]:
        return [
            e["referenceId"] for e in self.events if e["event"] == "message" and e["referenceId"] is not None
        ]

    def positions(self) -> list[int]:
        return [e["position"] for e in self.events if e["event"] == "message"]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def node_modules() -> Path:
    """The conformance tier's pinned npm packages (``npm ci`` on first use)."""
    folder = Path(__file__).parent.parent / "conformance"
    if not (folder / "node_modules" / "cometd").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=folder, check=True, timeout=300)
    return folder / "node_modules"

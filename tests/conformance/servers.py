"""The Bayeux servers the conformance scenarios run against, behind one small interface: smsdesk (the
harness of tests/bayeux) and the reference implementation cometd-nodejs-server (reference_server.mjs,
driven through its HTTP side door). Also the record of where the two differ, printed at the end."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import httpx
import msgspec

from bayeux.harness import PASSWORD, PATH, Harness, free_port

HERE = Path(__file__).parent
NODE = shutil.which("node")
SMSDESK = "smsdesk"
REFERENCE = "cometd-nodejs-server"
SERVERS = [SMSDESK, REFERENCE]

# (scenario, server) -> what a scenario observed that may legitimately differ between servers.
OBSERVED: dict[tuple[str, str], dict[str, Any]] = {}
# Differences a scenario met and normalised away; the terminal summary lists them.
NOTES: list[str] = []


def observe(scenario: str, server: str, **facts: Any) -> None:
    """Keep ``facts`` for the smsdesk-vs-reference comparison and print them, so ``-rA`` shows them."""
    OBSERVED.setdefault((scenario, server), {}).update(facts)
    print(f"[{server}] {scenario}: {json.dumps(facts, sort_keys=True)}")


def note(scenario: str, server: str, text: str) -> None:
    line = f"{scenario} [{server}]: {text}"
    if line not in NOTES:
        NOTES.append(line)
    print("DIFFERENCE " + line)


def differences() -> list[str]:
    """One line per fact that smsdesk and the reference observed differently in the same scenario."""
    lines: list[str] = []
    for (scenario, server), facts in sorted(OBSERVED.items()):
        if server != REFERENCE or (scenario, SMSDESK) not in OBSERVED:
            continue
        ours, facts = flatten(OBSERVED[(scenario, SMSDESK)]), flatten(facts)
        for key in sorted(set(ours) | set(facts)):
            if ours.get(key) != facts.get(key):
                lines.append(f"{scenario} {key}: smsdesk={ours.get(key)!r} reference={facts.get(key)!r}")
    return lines


def flatten(facts: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys, so a difference names the one field that differs."""
    flat: dict[str, Any] = {}
    for key, value in facts.items():
        if isinstance(value, dict) and (value or prefix):
            # Inside a reply an empty ext is no ext; at the top a fact's {} differs from None.
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


class Target(Protocol):
    name: str
    url: str  # the Bayeux URL a client is given

    def deliver(self, client_id: str, channel: str, data: Any, ext: dict[str, Any] | None = None) -> bool: ...

    def has_session(self, client_id: str) -> bool: ...

    def last_removal(self) -> tuple[str, str, bool] | None: ...

    def drop(self, client_id: str) -> None: ...


class SmsdeskTarget:
    name = SMSDESK

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.url = f"http://alice:{PASSWORD}@127.0.0.1:{harness.port}{PATH}"

    def deliver(self, client_id: str, channel: str, data: Any, ext: dict[str, Any] | None = None) -> bool:
        return self.harness.deliver(client_id, channel, data, ext)

    def has_session(self, client_id: str) -> bool:
        return self.harness.has_session(client_id)

    def last_removal(self) -> tuple[str, str, bool] | None:
        removed = [e for e in self.harness.listener.events if e[0] == "removed"]
        if not removed:
            return None
        kind, client_id, expired = removed[-1]
        return kind, client_id, bool(expired)

    def drop(self, client_id: str) -> None:
        """Drop the session the way production does: overflow its queue (the harness is started with
        ``max_queue=2``), so the third delivery is refused and the session removed."""

        def overflow() -> list[bool]:
            session = self.harness.server.session(client_id)
            assert session is not None
            return [self.harness.server.deliver(session, "/conformance/x", {"n": n}) for n in range(3)]

        assert self.harness.call(overflow) == [True, True, False]


class ReferenceTarget:
    """cometd-nodejs-server in a Node child process on a free loopback port."""

    name = REFERENCE

    def __init__(self, timeout_ms: int) -> None:
        assert NODE is not None
        port = free_port()
        self.process = subprocess.Popen(
            [NODE, str(HERE / "reference_server.mjs"), str(port), str(timeout_ms)],
            cwd=HERE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        # A hung start must not hang the run: kill it, and readline() below returns "".
        watchdog = threading.Timer(15, self.process.kill)
        watchdog.start()
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        watchdog.cancel()
        assert line, f"reference server exited with {self.process.wait()}"
        assert json.loads(line) == {"listening": port}
        base = f"http://127.0.0.1:{port}"
        # The reference has no authentication; the credentials are there only so both servers are
        # given the same URL shape.
        self.url = f"http://alice:{PASSWORD}@127.0.0.1:{port}{PATH}"
        self.http = httpx.Client(base_url=base + "/_test", timeout=10)

    def deliver(self, client_id: str, channel: str, data: Any, ext: dict[str, Any] | None = None) -> bool:
        if isinstance(data, msgspec.Raw):  # smsdesk embeds pre-encoded JSON; the side door takes JSON
            data = json.loads(bytes(data))
        body: dict[str, Any] = {"clientId": client_id, "channel": channel, "data": data}
        if ext is not None:
            body["ext"] = ext
        delivered: bool = self.http.post("/deliver", json=body).raise_for_status().json()["delivered"]
        return delivered

    def has_session(self, client_id: str) -> bool:
        exists: bool = self.http.get("/session", params={"clientId": client_id}).json()["exists"]
        return exists

    def last_removal(self) -> tuple[str, str, bool] | None:
        events = self.http.get("/events").json()
        if not events:
            return None
        kind, client_id, expired = events[-1]
        return kind, client_id, bool(expired)

    def drop(self, client_id: str) -> None:
        assert self.http.post("/drop", json={"clientId": client_id}).json() == {"dropped": True}

    def close(self) -> None:
        self.http.close()
        if self.process.stdin is not None:
            self.process.stdin.close()  # reference_server.mjs exits when its stdin ends
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


StartTarget = Callable[..., Target]

"""kill -9 at random moments under concurrent writers, N times: no acknowledged write is lost (every
``SendMessage`` answered ``statusCode: 0`` is in the transcript after the restarts) and no
``referenceId`` is handed out twice. ``FUZZ_KILLS`` makes the run long (``make fuzz``)."""

from __future__ import annotations

import contextlib
import json
import os
import random
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from support.agents import PASSWORD, ContactCenter

from .listener import chatting

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("FUZZ_KILLS", "3"))
REPORT = os.environ.get("FUZZ_DURABILITY_REPORT")
WRITERS_PER_AGENT = 2
WRITES_BETWEEN_KILLS = 10


@dataclass
class Writer:
    """Posts SendMessage in a loop; keeps (text, referenceId) of every acknowledged one. A request cut
    by the kill has an unknown outcome and is not counted either way."""

    name: str
    base_url: str
    user_name: str
    session_id: str
    acknowledged: list[tuple[str, int]] = field(default_factory=list)
    attempts: int = 0

    def run(self, stop: threading.Event) -> None:
        with httpx.Client(base_url=self.base_url, auth=(self.user_name, PASSWORD), timeout=5) as http:
            while not stop.is_set():
                self.attempts += 1
                text = f"{self.name}-{self.attempts}"
                body = {"operationName": "SendMessage", "text": text}
                try:
                    response = http.post(f"/api/v2/me/smssessions/{self.session_id}", json=body)
                except httpx.HTTPError:
                    time.sleep(0.02)
                    continue
                if response.status_code == 200 and response.json().get("statusCode") == 0:
                    self.acknowledged.append((text, int(response.json()["referenceId"])))


def wait_for_writes(writers: list[Writer], count: int, timeout: float = 60.0) -> None:
    target = sum(len(w.acknowledged) for w in writers) + count
    deadline = time.monotonic() + timeout
    while sum(len(w.acknowledged) for w in writers) < target:
        assert time.monotonic() < deadline, "the writers made no progress after a restart"
        time.sleep(0.01)


def test_kill_9_under_concurrent_writers_loses_no_acknowledged_write(cc: ContactCenter) -> None:
    rng = random.Random(int(os.environ.get("FUZZ_SEED", "11")))
    sessions = {}
    for index in range(3):
        agent = cc.agent(index).listen().log_in()
        sessions[agent.user_name] = chatting(agent, cc.sms, cc.customer_number())
    writers = [
        Writer(f"w{user[-1]}{n}", cc.server.base_url, user, session_id)
        for user, session_id in sessions.items()
        for n in range(WRITERS_PER_AGENT)
    ]
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in writers]
    for thread in threads:
        thread.start()
    for _ in range(KILLS):
        # Let the writers get going on the restarted server (however slow the machine), then kill
        # at a random moment: mid-request, mid-commit or between two.
        wait_for_writes(writers, WRITES_BETWEEN_KILLS)
        time.sleep(rng.uniform(0.0, 0.3))
        cc.server.restart(kill=True)
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join(15)
    cc.server.restart(kill=True)  # and once more after the last acknowledgement

    lost: list[str] = []
    reused = 0
    for user, session_id in sessions.items():
        with httpx.Client(base_url=cc.server.base_url, auth=(user, PASSWORD), timeout=30) as http:
            messages = http.get(f"/api/v2/me/smssessions/{session_id}/messages").json()["messages"]
        texts = {m.get("text") for m in messages}
        mine = [w for w in writers if w.user_name == user]
        for writer in mine:
            lost += [text for text, _ in writer.acknowledged if text not in texts]
            ids = [reference for _, reference in writer.acknowledged]
            assert ids == sorted(ids), f"{writer.name}: referenceIds went backwards"
        ids = [reference for w in mine for _, reference in w.acknowledged]
        reused += len(ids) - len(set(ids))
    acknowledged = sum(len(w.acknowledged) for w in writers)
    with contextlib.closing(sqlite3.connect(cc.server.database)) as db:
        integrity = db.execute("pragma integrity_check").fetchone()[0]
    if REPORT:
        Path(REPORT).write_text(
            json.dumps(
                {
                    "kills": KILLS + 1,
                    "writers": len(writers),
                    "acknowledged": acknowledged,
                    "lost": len(lost),
                    "reused_reference_ids": reused,
                    "integrity": integrity,
                }
            )
        )
    assert acknowledged >= WRITES_BETWEEN_KILLS * KILLS
    assert not lost, f"{len(lost)} acknowledged writes lost: {lost[:10]}"
    assert reused == 0
    assert integrity == "ok"

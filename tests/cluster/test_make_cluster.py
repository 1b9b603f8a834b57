"""``make cluster`` (``scripts/cluster.py``): starts a working cluster, and Ctrl-C leaves nothing
running and nothing on disk."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "cluster.py"


def processes_mentioning(*needles: str) -> dict[int, str]:
    """Every live process whose command line contains one of ``needles``."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(needle in command for needle in needles) and int(entry.name) != os.getpid():
            found[int(entry.name)] = command
    return found


def running_process(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def test_cluster_serves_through_nginx_and_ctrl_c_stops_everything() -> None:
    script = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        assert script.stdout is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = script.stdout.readline()
            if not line:
                break
            output.append(line)
            if line.startswith("Ctrl-C stops everything"):
                break
        text = "".join(output)
        url = re.search(r"cluster ready: (\S+)", text)
        directory = re.search(r"logs\s+(\S+)", text)
        database_port = re.search(r"PostgreSQL\s+postgresql://\S+@127\.0\.0\.1:(\d+)/", text)
        assert url and directory and database_port, text
        base_url, temp_dir = url[1], directory[1]

        # Three nodes answer behind one URL, round-robin: the demo agent is known on every one.
        pids = {httpx.get(base_url + "/readyz", timeout=5).json()["pid"] for _ in range(6)}
        assert len(pids) == 3, pids
        me = httpx.get(base_url + "/api/v2/me", auth=("agent1", "password"), timeout=5).json()
        assert me["statusCode"] == 0 and me["user"]["userName"] == "agent1"
        sent = httpx.post(
            base_url + "/simulator/sms",
            json={"from": "+15551230000", "to": "+15550100", "text": "hi"},
            timeout=5,
        )
        assert sent.json()["statusCode"] == 0

        running = processes_mentioning(temp_dir, f"127.0.0.1:{database_port[1]}/")
        assert len(running) >= 5, running  # postgres, three nodes, nginx (and their helpers)

        script.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal does
        rest, _ = script.communicate(timeout=60)
        assert script.returncode == 0, text + rest
        assert "nothing left running" in rest
        alive = {pid: command for pid, command in running.items() if running_process(pid)}
        alive |= processes_mentioning(temp_dir, f"127.0.0.1:{database_port[1]}/")
        assert not alive, alive
        assert not Path(temp_dir).exists()
    finally:
        if script.poll() is None:
            script.kill()
            script.wait()

"""Issue 11: "a server log after the whole suite has no traceback that a client caused".

Every server the suite starts (``support.server.RunningServer``, cluster nodes included) registers
its log here; at the end of the session ``tests/conftest.py`` reads them all and fails the run if
one holds a traceback that is not on :data:`ALLOWED`, the explicit list of faults the suite causes
on the *server's* side on purpose (a database taken away, an SMS peer that misbehaves). Whatever a
client can send must be answered without a traceback, so nothing a client does belongs there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

started: set[Path] = set()
"""The log of every server started in this session."""


@dataclass(frozen=True)
class Allowed:
    pattern: str
    """Searched in the traceback's text, from the log line that announced it to its last line."""
    why: str


ALLOWED: tuple[Allowed, ...] = (
    Allowed(
        r"connector \S+ raised while sending SMS",
        "an SMS peer (fake SMSC or provider) that fails on purpose: the server's side, not a client's",
    ),
    Allowed(
        r"(ConnectionDoesNotExistError|CannotConnectNowError|ConnectionRefusedError|"
        r"InterfaceError: connection is closed|AdminShutdown|TooManyConnectionsError)",
        "the database taken away or restarted under a node (cluster and durability tests)",
    ),
)


@dataclass(frozen=True)
class Found:
    log: Path
    text: str

    def __str__(self) -> str:
        return f"--- {self.log}\n{self.text}"


_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|^(INFO|WARNING|ERROR|DEBUG|CRITICAL):")


def tracebacks(text: str) -> list[str]:
    """Each traceback in a log, with the log line just before it (what announced it)."""
    lines = text.splitlines()
    found = []
    for index, line in enumerate(lines):
        if not line.startswith("Traceback (most recent call last)"):
            continue
        start = index - 1 if index > 0 and _LOG_LINE.match(lines[index - 1]) else index
        end = index + 1
        while end < len(lines) and not _LOG_LINE.match(lines[end]):
            end += 1
        found.append("\n".join(lines[start:end]))
    return found


def client_caused(logs: set[Path]) -> list[Found]:
    """The tracebacks in ``logs`` that no entry of :data:`ALLOWED` explains."""
    unexplained = []
    for log in sorted(logs):
        if not log.exists():
            continue
        for text in tracebacks(log.read_text(errors="replace")):
            if not any(re.search(entry.pattern, text) for entry in ALLOWED):
                unexplained.append(Found(log, text))
    return unexplained

"""The end-of-session check on server logs (support/server_logs.py) finds what it must."""

from __future__ import annotations

from pathlib import Path

from support.server_logs import client_caused, tracebacks

LOG = """2026-12-02 00:26:14,919 INFO    smsdesk: smsdesk listening
2026-12-02 00:26:15,001 ERROR   smsdesk.http: unhandled error on POST /simulator/sms
Traceback (most recent call last):
  File "x.py", line 1, in f
RecursionError: maximum recursion depth exceeded
2026-12-02 00:26:16,002 ERROR   smsdesk.outbound: connector smpp raised while sending SMS 7
Traceback (most recent call last):
  File "y.py", line 2, in g
ConnectionResetError: the fake SMSC hung up
INFO:     Shutting down
"""


def test_each_traceback_is_found_with_the_line_that_announced_it() -> None:
    found = tracebacks(LOG)
    assert len(found) == 2
    assert found[0].startswith("2026-12-02 00:26:15,001 ERROR") and found[0].endswith(
        "RecursionError: maximum recursion depth exceeded"
    )
    assert "Shutting down" not in found[1]


def test_only_tracebacks_no_server_side_fault_explains_are_reported(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(LOG)
    (found,) = client_caused({log, tmp_path / "never-started.log"})
    assert "RecursionError" in found.text and found.log == log

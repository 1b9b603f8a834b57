from typing import Any

from bayeux.harness import start_server

from .servers import NOTES, differences

__all__ = ["start_server"]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print, whatever the -r flags, where smsdesk and cometd-nodejs-server differed in the scenarios
    both ran: the assertions normalise those fields, so this is the only place they show."""
    lines = differences()
    if not lines and not NOTES:
        return
    terminalreporter.section("smsdesk vs cometd-nodejs-server")
    for line in lines:
        terminalreporter.write_line(line)
    for line in NOTES:
        terminalreporter.write_line(line)

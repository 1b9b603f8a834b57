"""Which users have a live Bayeux client on this node, for presence (operations/presence.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from smsdesk.bayeux import BayeuxServer
from smsdesk.operations.ports import User


def live_bayeux_users(server: BayeuxServer, live_s: float) -> Callable[[], Iterator[User]]:
    """The users of clients holding a long-poll or a websocket here, or answered within ``live_s``
    (a client between two long-polls). A cluster node's stale copy of a client served elsewhere
    now is neither, so it does not count; the node serving the client counts it."""

    def users() -> Iterator[User]:
        now = time.monotonic()
        for session in server.sessions():
            if session.removed is not None or not isinstance(session.principal, User):
                continue
            if session.connect is not None or session.push is not None or now - session.last_active < live_s:
                yield session.principal

    return users

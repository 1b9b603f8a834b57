"""Signing a user out of notifications: their Bayeux clients are dropped on every node.

On one node (SQLite) the clients live in this server's memory. On a cluster each client is owned by
one node (``realtime/shared_clients.py``): its ``bayeux_clients`` row is deleted and its owner told
(``smsdesk_clients``, "gone"), so the owner drops its copy, and any node its next message reaches
answers ``402::session_unknown``; the new handshake that follows is then refused, since the user's
HTTP sessions have ended too.
"""

from __future__ import annotations

from smsdesk.bayeux import BayeuxServer
from smsdesk.operations.ports import BayeuxClientDirectory, User


class BayeuxSignOut:
    def __init__(self, server: BayeuxServer, directory: BayeuxClientDirectory | None = None) -> None:
        self.server = server
        self.directory = directory

    async def __call__(self, user_id: str) -> int:
        removed = await self.directory.delete_of_user(user_id) if self.directory is not None else 0
        local = [
            session
            for session in self.server.sessions()
            if isinstance(session.principal, User) and session.principal.id == user_id
        ]
        for session in local:
            self.server.remove(session, "signed_out")
        return max(removed, len(local))

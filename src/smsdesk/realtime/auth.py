"""Authenticating Bayeux requests exactly like REST ones: HTTP Basic, or the JSESSIONID cookie."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any

import msgspec

from smsdesk.bayeux import Rejection
from smsdesk.gws.auth import parse_basic_authorization
from smsdesk.gws.envelope import StatusCode
from smsdesk.operations.identity import Authenticator, HttpSessions, cookie_caller
from smsdesk.operations.ports import Store, User

_DENIED = msgspec.json.encode(
    {"statusCode": int(StatusCode.NOT_AUTHENTICATED), "statusMessage": "Access denied"}
)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def bayeux_authenticator(
    authenticator: Authenticator, sessions: HttpSessions, store: Store
) -> Callable[[dict[str, Any]], Awaitable[object]]:
    async def authenticate(scope: dict[str, Any]) -> object:
        credentials = parse_basic_authorization(_header(scope, b"authorization"))
        user: User | None = None
        if credentials is not None:
            user = await authenticator.verify(*credentials)
        else:
            cookie_header = _header(scope, b"cookie")
            if cookie_header:
                cookie: SimpleCookie = SimpleCookie()
                cookie.load(cookie_header)
                morsel = cookie.get("JSESSIONID")
                found = await cookie_caller(authenticator, sessions, morsel.value if morsel else None)
                if found is not None:
                    user = found[0]
        if user is None:
            return Rejection(status=401, body=_DENIED)
        return user

    return authenticate

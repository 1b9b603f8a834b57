"""Authenticating Bayeux requests exactly like REST ones: HTTP Basic, or the JSESSIONID cookie."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from smsdesk.bayeux import Rejection
from smsdesk.gws.auth import parse_basic_authorization
from smsdesk.gws.envelope import StatusCode
from smsdesk.operations.identity import (
    BASIC_OFF,
    DEVICE_COOKIE,
    PASSWORD_OFF,
    Authenticator,
    HttpSessions,
    cookie_user,
)
from smsdesk.operations.ports import Store, User
from smsdesk.operations.signin_throttle import SignInThrottle, SignInThrottled, verify_throttled

_DENIED = msgspec.json.encode(
    {"statusCode": int(StatusCode.NOT_AUTHENTICATED), "statusMessage": "Access denied"}
)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _throttled(error: SignInThrottled) -> Rejection:
    body = msgspec.json.encode({"statusCode": int(StatusCode.NOT_AUTHENTICATED), "statusMessage": str(error)})
    return Rejection(status=429, body=body, headers=(("Retry-After", str(error.retry_after_s)),))


def _cookie(scope: dict[str, Any], wanted: str) -> str | None:
    # Split by hand, as browsers send it ("a=1; b=2"): SimpleCookie's parser costs ~30 µs on every
    # long-poll, and our cookies are URL-safe base64 that never needs its unquoting.
    cookie_header = _header(scope, b"cookie")
    if not cookie_header:
        return None
    for part in cookie_header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == wanted:
            return value.strip('"') or None
    return None


def _denied(message: str) -> Rejection:
    body = msgspec.json.encode({"statusCode": int(StatusCode.NOT_AUTHENTICATED), "statusMessage": message})
    return Rejection(status=401, body=body)


def bayeux_authenticator(
    authenticator: Authenticator,
    sessions: HttpSessions,
    store: Store,
    throttle: SignInThrottle,
    basic_auth: bool = True,
) -> Callable[[dict[str, Any]], Awaitable[object]]:

    async def authenticate(scope: dict[str, Any]) -> object:
        credentials = parse_basic_authorization(_header(scope, b"authorization"))
        cookie = _cookie(scope, "JSESSIONID")
        user: User | None = None
        if credentials is not None and not basic_auth:
            return _denied(BASIC_OFF)
        if credentials is not None:
            client = scope.get("client")
            address = str(client[0]) if client else "unknown"
            # Device cookies are issued by REST answers (the first request a desktop makes) and
            # honoured here alike.
            device = sessions.device_of(_cookie(scope, DEVICE_COOKIE), credentials[0])
            try:
                user = await verify_throttled(authenticator, throttle, *credentials, address, device)
            except SignInThrottled as error:
                return _throttled(error)
            if user is not None and not user.password_signin:
                return _denied(PASSWORD_OFF)
        elif cookie is not None:
            user = await cookie_user(authenticator, sessions, cookie)
        if user is None:
            return Rejection(status=401, body=_DENIED)
        return user

    return authenticate

"""Authentication (HTTP Basic or the JSESSIONID cookie) and GWS CSRF protection for REST requests."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from smsdesk.config import CsrfMode
from smsdesk.gws.auth import parse_basic_authorization
from smsdesk.gws.envelope import GwsError, StatusCode
from smsdesk.operations.identity import (
    BASIC_OFF,
    DEVICE_COOKIE,
    DEVICE_LIFETIME_S,
    PASSWORD_OFF,
    Authenticator,
    HttpSession,
    HttpSessions,
    cookie_caller,
)
from smsdesk.operations.ports import User
from smsdesk.operations.presence import PresenceRecorder
from smsdesk.operations.ratelimit import TokenBuckets
from smsdesk.operations.signin_throttle import SignInThrottle, verify_throttled

COOKIE = "JSESSIONID"
CSRF_HEADER = "X-CSRF-TOKEN"

_MUTATING = frozenset({"POST", "PUT", "DELETE", "PATCH"})


@dataclass(slots=True)
class Caller:
    user: User
    http_session: HttpSession
    new_session: bool
    new_device: str | None = None
    """A device cookie to give the client: it signed in with the right password without one."""

    def decorate(self, response: Response, method: str) -> None:
        if self.new_session:
            # Written directly: the id is URL-safe base64, and SimpleCookie costs ~60 µs per response.
            response.headers.append(
                "set-cookie", f"{COOKIE}={self.http_session.id}; HttpOnly; Path=/; SameSite=lax"
            )
        if self.new_device is not None:
            response.headers.append(
                "set-cookie",
                f"{DEVICE_COOKIE}={self.new_device}; HttpOnly; Path=/; SameSite=lax; Max-Age={DEVICE_LIFETIME_S}",
            )
        if method == "GET":
            response.headers["X-CSRF-HEADER"] = CSRF_HEADER
            response.headers[CSRF_HEADER] = self.http_session.csrf_token


class RequestSecurity:
    def __init__(
        self,
        authenticator: Authenticator,
        sessions: HttpSessions,
        csrf: CsrfMode,
        throttle: SignInThrottle,
        presence: PresenceRecorder,
        user_requests: TokenBuckets,
        tenant_requests: TokenBuckets,
        basic_auth: bool = True,
    ) -> None:
        self.basic_auth = basic_auth
        self.authenticator = authenticator
        self.sessions = sessions
        self.csrf = csrf
        self.throttle = throttle
        self.presence = presence
        self.user_requests = user_requests
        self.tenant_requests = tenant_requests

    async def caller(self, request: Request) -> Caller:
        cookie = request.cookies.get(COOKIE)
        authorization = request.headers.get("authorization")
        user: User | None = None
        http_session: HttpSession | None = None
        new_device: str | None = None
        if authorization is not None:
            credentials = parse_basic_authorization(authorization)
            if credentials is not None and not self.basic_auth:
                raise GwsError(StatusCode.NOT_AUTHENTICATED, BASIC_OFF)
            if credentials is not None:
                address = request.client.host if request.client else "unknown"
                device = self.sessions.device_of(request.cookies.get(DEVICE_COOKIE), credentials[0])
                user = await verify_throttled(
                    self.authenticator, self.throttle, *credentials, address, device
                )
                if user is not None and not user.password_signin:
                    raise GwsError(StatusCode.NOT_AUTHENTICATED, PASSWORD_OFF)
                if user is not None and device is None:
                    new_device = self.sessions.device_cookie(user.user_name)
            claim = self.sessions.claim(cookie) if user is not None else None
            if user is not None and claim is not None and claim.user_id == user.id:
                http_session = await self.sessions.resolve(claim, user)
        elif cookie is not None:
            found = await cookie_caller(self.authenticator, self.sessions, cookie)
            if found is not None:
                user, http_session = found
        if user is None:
            raise GwsError(StatusCode.NOT_AUTHENTICATED, "Access denied")
        # Per user first: one agent's loop uses up their own bucket before it dents the tenant's.
        self.user_requests.take(user.id)
        self.tenant_requests.take(user.tenant_id)
        self.presence.seen(user)

        new_session = False
        if http_session is None:
            http_session = self.sessions.create(user)
            new_session = True
        if request.method in _MUTATING and self._csrf_required(authorization is not None):
            token = request.headers.get(CSRF_HEADER, "")
            if new_session or not http_session.csrf_matches(token):
                raise GwsError(StatusCode.FORBIDDEN, "Missing or invalid Csrf token")
        return Caller(user, http_session, new_session, new_device)

    def _csrf_required(self, sent_authorization: bool) -> bool:
        if self.csrf == "off":
            return False
        if self.csrf == "always":
            return True
        # A cross-site page cannot make a browser send an Authorization header (the server never
        # asks for one with WWW-Authenticate), only cookies: so only cookie-borne requests need it.
        return not sent_authorization

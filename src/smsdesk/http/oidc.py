"""Single sign-on with OpenID Connect: the authorization code flow with PKCE, for the desktop and
the administration pages.

``GET /auth/oidc/login?next=/desktop/`` sends the browser to the provider with a fresh ``state``,
``nonce`` and PKCE ``code_verifier``, kept in a short-lived cookie signed with the cluster's key
(so the provider's redirect may come back to any node). ``GET /auth/oidc/callback`` checks the
state, exchanges the code (with the verifier) at the token endpoint, verifies the ID token against
the issuer's published keys (signature, issuer, audience, expiry and issue time within
``oidc_clock_skew_s``, nonce, ``at_hash``), finds the smsdesk user the configured claim names, and
gives the browser the same ``JSESSIONID`` session a password sign-in gives, valid on every node.
Anything that goes wrong sends the browser back to the page it came from with a message saying
what, where the password form stays usable (when password sign-in is allowed).

The protocol and the token checks are Authlib's (``AsyncOAuth2Client``, its OpenID claims classes)
over joserfc, as Authlib's own OpenID client does: nothing here parses or verifies JOSE by hand.
"""

from __future__ import annotations

import logging
import secrets
import time
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import msgspec
from authlib.common.errors import AuthlibBaseError
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from smsdesk.http.security import COOKIE
from smsdesk.operations.identity import Authenticator, HttpSessions
from smsdesk.operations.ports import User

with warnings.catch_warnings():
    # Authlib 1.9 deprecates its client over httpx (the HTTP client smsdesk already uses) in favour
    # of the new httpx2 package, with a warning printed at every start; moving to httpx2 is a change
    # of its own, due before Authlib 2 (docs/architecture.md §11).
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

log = logging.getLogger("smsdesk.oidc")

STATE_COOKIE = "SMSDESK_OIDC"
STATE_PURPOSE = "oidc-state"
STATE_LIFETIME_S = 600
PAGES = ("/desktop/", "/admin/")
"""Where a sign-in may return to (nothing else: no open redirect)."""
METADATA_TTL_S = 3600.0
_state_decoder = msgspec.json.Decoder(tuple[str, str, str, str, int])


@dataclass(frozen=True, slots=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str
    username_claim: str = "preferred_username"
    display_name: str = ""
    clock_skew_s: float = 60.0
    scopes: str = "openid profile"
    timeout_s: float = 5.0


class SignInRefused(Exception):
    """The sign-in cannot go on; the message is for the person at the sign-in page."""


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def check_issuer(issuer: str) -> str | None:
    """Why ``issuer`` is not usable, if it is not (https, or http on this machine for a test)."""
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"oidc_issuer must be an https URL, not {issuer!r}"
    if parts.scheme == "http" and not is_loopback(issuer):
        return f"oidc_issuer must use https (http only on this machine's loopback): {issuer!r}"
    return None


class OidcSignIn:
    def __init__(
        self,
        settings: OidcSettings,
        sessions: HttpSessions,
        authenticator: Authenticator,
        base_url: str,
        password_signin: bool,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.authenticator = authenticator
        self.redirect_uri = base_url.rstrip("/") + "/auth/oidc/callback"
        self.password_signin = password_signin
        self.issuer = settings.issuer.rstrip("/")
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._jwks: KeySet | None = None

    @property
    def name(self) -> str:
        return self.settings.display_name or urlsplit(self.issuer).hostname or "the identity provider"

    def options(self) -> dict[str, Any]:
        return {
            "passwordSignIn": self.password_signin,
            "provider": {"name": self.name, "signInUrl": "/auth/oidc/login"},
        }

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/auth/oidc/login", self.login, methods=["GET"]),
            Route("/auth/oidc/callback", self.callback, methods=["GET"]),
        ]

    # ----- the provider -----

    def _client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret,
            scope=self.settings.scopes,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            timeout=self.settings.timeout_s,
        )

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document, cached for an hour."""
        if self._metadata is not None and time.monotonic() - self._metadata_at < METADATA_TTL_S:
            return self._metadata
        url = self.issuer + "/.well-known/openid-configuration"
        try:
            async with httpx.AsyncClient(timeout=self.settings.timeout_s) as client:
                response = await client.get(url)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise SignInRefused(
                f"{self.name} cannot be reached ({type(error).__name__}: {error}); try again later"
                + (", or sign in with your password" if self.password_signin else "")
            ) from None
        if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != self.issuer:
            raise SignInRefused(
                f"{self.name} published a configuration for another issuer; ask an administrator"
            )
        self._metadata, self._metadata_at = document, time.monotonic()
        return document

    async def _key_set(self, force: bool) -> KeySet:
        if self._jwks is not None and not force:
            return self._jwks
        metadata = await self.metadata()
        try:
            async with httpx.AsyncClient(timeout=self.settings.timeout_s) as client:
                response = await client.get(str(metadata["jwks_uri"]))
            response.raise_for_status()
            self._jwks = KeySet.import_key_set(response.json())
        except (httpx.HTTPError, ValueError, KeyError, JoseError) as error:
            raise SignInRefused(
                f"{self.name}'s signing keys cannot be read ({type(error).__name__}); try again later"
            ) from None
        return self._jwks

    # ----- the flow -----

    @staticmethod
    def _page(request: Request) -> str:
        wanted = request.query_params.get("next", "/desktop/")
        return wanted if wanted in PAGES else "/desktop/"

    def _back(self, page: str, message: str) -> Response:
        log.warning("single sign-on refused: %s", message)
        response = RedirectResponse(f"{page}?{urlencode({'signin_error': message})}", status_code=303)
        response.delete_cookie(STATE_COOKIE, path="/auth/oidc")
        return response

    async def login(self, request: Request) -> Response:
        page = self._page(request)
        try:
            metadata = await self.metadata()
        except SignInRefused as refused:
            return self._back(page, str(refused))
        verifier = secrets.token_urlsafe(48)
        nonce = secrets.token_urlsafe(24)
        async with self._client() as client:
            url, state = client.create_authorization_url(
                str(metadata["authorization_endpoint"]), code_verifier=verifier, nonce=nonce
            )
        sealed = self.sessions.seal(
            STATE_PURPOSE, msgspec.json.encode((state, nonce, verifier, page, int(time.time()))).decode()
        )
        response = RedirectResponse(url, status_code=303)
        response.set_cookie(
            STATE_COOKIE, sealed, max_age=STATE_LIFETIME_S, path="/auth/oidc", httponly=True, samesite="lax"
        )
        return response

    async def callback(self, request: Request) -> Response:
        claim = self.sessions.open_seal(STATE_PURPOSE, request.cookies.get(STATE_COOKIE))
        started = _state_decoder.decode(claim) if claim is not None else None
        if started is None or time.time() - started[4] > STATE_LIFETIME_S:
            return self._back(
                "/desktop/",
                "This sign-in was not started in this browser, or took longer than 10 minutes: start again",
            )
        state, nonce, verifier, page, _ = started
        params = request.query_params
        if params.get("error"):
            return self._back(
                page,
                f"{self.name} refused the sign-in ({params.get('error')}: {params.get('error_description', '')[:200]})",
            )
        if params.get("state") != state:
            return self._back(
                page,
                "The answer from the identity provider does not belong to the sign-in this browser started "
                "(state mismatch): start again",
            )
        if not params.get("code"):
            return self._back(
                page, "The identity provider's answer carries no authorization code: start again"
            )
        try:
            user_name = await self._verified_user_name(str(params["code"]), state, verifier, nonce)
        except SignInRefused as refused:
            return self._back(page, str(refused))
        user = await self._user(user_name)
        if user is None:
            return self._back(
                page,
                f"No enabled smsdesk user is named {user_name!r} (the {self.settings.username_claim} "
                f"claim from {self.name}): ask an administrator to add you",
            )
        session = self.sessions.create(user)
        log.info("%s signed in with %s", user.user_name, self.name)
        response = RedirectResponse(page, status_code=303)
        response.delete_cookie(STATE_COOKIE, path="/auth/oidc")
        response.headers.append("set-cookie", f"{COOKIE}={session.id}; HttpOnly; Path=/; SameSite=lax")
        return response

    async def _user(self, user_name: str) -> User | None:
        async with self.sessions.store.transaction() as tx:
            user = await tx.users.by_name(user_name)
        return user if user is not None and user.enabled else None

    async def _verified_user_name(self, code: str, state: str, verifier: str, nonce: str) -> str:
        metadata = await self.metadata()
        try:
            async with self._client() as client:
                token = await client.fetch_token(
                    str(metadata["token_endpoint"]),
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=verifier,
                    state=state,
                )
        except httpx.HTTPError as error:
            raise SignInRefused(
                f"{self.name} cannot be reached ({type(error).__name__}); try again later"
            ) from None
        except ValueError:
            raise SignInRefused(f"{self.name}'s token endpoint answered something that is not JSON") from None
        except AuthlibBaseError as error:
            raise SignInRefused(
                f"{self.name} refused the sign-in code ({error.error}: {error.description or ''}); start again"
            ) from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInRefused(f"{self.name} gave no ID token (is the openid scope allowed?)")
        claims = await self._claims(id_token, token, nonce, metadata)
        user_name = claims.get(self.settings.username_claim)
        if user_name is None and metadata.get("userinfo_endpoint"):
            # Many providers put profile claims in the UserInfo answer only (the ID token then
            # carries just who it is): asked with the access token, and only for the same subject.
            user_name = await self._from_userinfo(
                str(metadata["userinfo_endpoint"]), token, str(claims["sub"])
            )
        if not isinstance(user_name, str) or not user_name:
            raise SignInRefused(
                f"Neither the ID token nor UserInfo carries the {self.settings.username_claim} claim that names the user"
            )
        return user_name

    async def _from_userinfo(self, endpoint: str, token: dict[str, Any], subject: str) -> object:
        try:
            async with self._client() as client:
                client.token = token
                response = await client.get(endpoint)
            response.raise_for_status()
            info = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise SignInRefused(
                f"{self.name}'s UserInfo cannot be read ({type(error).__name__}); try again later"
            ) from None
        if not isinstance(info, dict) or info.get("sub") != subject:
            raise SignInRefused(
                f"{self.name}'s UserInfo describes another subject than the ID token: refused"
            )
        return info.get(self.settings.username_claim)

    async def _claims(
        self, id_token: str, token: dict[str, Any], nonce: str, metadata: dict[str, Any]
    ) -> CodeIDToken:
        algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=[a for a in algorithms if a != "none"], strict_check_header=False)
        try:
            try:
                decoded = jwt.decode(id_token, await self._key_set(force=False), registry=registry)
            except InvalidKeyIdError:  # the provider rotated its keys: read them again, once
                decoded = jwt.decode(id_token, await self._key_set(force=True), registry=registry)
        except (BadSignatureError, InvalidKeyIdError):
            raise SignInRefused(
                "The ID token's signature does not match the provider's published keys (forged?): refused"
            ) from None
        except (JoseError, ValueError) as error:
            raise SignInRefused(f"The ID token cannot be read ({type(error).__name__}): refused") from None
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "value": self.issuer},
                "aud": {"essential": True, "value": self.settings.client_id},
            },
            {"nonce": nonce, "client_id": self.settings.client_id, "access_token": token.get("access_token")},
        )
        skew = self.settings.clock_skew_s
        try:
            claims.validate(leeway=int(skew))
        except ExpiredTokenError:
            raise SignInRefused(
                "The ID token has expired (beyond the allowed clock skew): start again"
            ) from None
        except (InvalidClaimError, MissingClaimError) as error:
            raise SignInRefused(_claim_message(error, self.name)) from None
        except JoseError as error:
            raise SignInRefused(f"The ID token is not valid ({error.error}): refused") from None
        issued = claims.get("iat")
        if not isinstance(issued, (int, float)) or issued > time.time() + skew:
            raise SignInRefused(
                "The ID token was issued in the future (beyond the allowed clock skew): refused"
            )
        return claims


def _claim_message(error: JoseError, provider: str) -> str:
    claim = str(getattr(error, "claim", "") or error.description or "")
    if "aud" in claim or "azp" in claim:
        return "The ID token was issued for another application (audience), not this smsdesk: refused"
    if "iss" in claim:
        return f"The ID token was not issued by {provider} (issuer): refused"
    if "nonce" in claim:
        return "The ID token belongs to another sign-in (nonce mismatch; replayed?): refused"
    if "nbf" in claim or "iat" in claim:
        return "The ID token is not valid yet (beyond the allowed clock skew): refused"
    return f"The ID token is not valid ({error.error}: {claim}): refused"

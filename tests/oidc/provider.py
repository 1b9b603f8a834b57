"""A real OpenID Connect provider on loopback (npm's oidc-provider, from tests/oidc's lockfile), and
a browser's part of the authorization code flow, driven over HTTP: to the provider, through its
login form, and back to smsdesk's callback."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from support.server import free_port

HERE = Path(__file__).resolve().parent
CLIENT_ID = "smsdesk-test"
CLIENT_SECRET = "smsdesk-test-secret-0123456789abcdef"


class Provider:
    def __init__(self, redirect_uris: list[str], log: Path) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.redirect_uris = redirect_uris
        self.log_path = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Provider:
        node = shutil.which("node")
        assert node, "Node.js is needed for the OpenID provider"
        assert (HERE / "node_modules" / "oidc-provider").exists(), (
            "run `make oidc-deps` (npm ci in tests/oidc)"
        )
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                node,
                str(HERE / "provider.mjs"),
                str(self.port),
                CLIENT_ID,
                CLIENT_SECRET,
                ",".join(self.redirect_uris),
            ],
            stdout=subprocess.PIPE,
            stderr=self.log,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        assert line.startswith("listening"), (
            f"the provider did not start: {self.log_path.read_text()[-2000:]}"
        )
        return self

    def mode(self, mode: str) -> None:
        response = httpx.post(self.issuer + "/test/mode", json={"mode": mode}, timeout=10)
        assert response.status_code == 200, response.text

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None
            self.log.close()

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "SMSDESK_OIDC_ISSUER": self.issuer,
            "SMSDESK_OIDC_CLIENT_ID": CLIENT_ID,
            "SMSDESK_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "SMSDESK_OIDC_DISPLAY_NAME": "Test ID",
            **extra,
        }


class Browser:
    """A cookie jar following redirects by hand, as a browser would, filling the provider's
    development login form with a user name."""

    def __init__(self) -> None:
        self.http = httpx.Client(timeout=15, follow_redirects=False)

    def to_callback(self, server_url: str, user_name: str, page: str = "/desktop/") -> str:
        """Start a sign-in at ``server_url`` and sign in at the provider; returns the callback URL
        the provider sends the browser back to (not requested yet)."""
        response = self.http.get(f"{server_url}/auth/oidc/login", params={"next": page})
        assert response.status_code == 303, response.text
        url = response.headers["location"]
        for _ in range(12):
            if "/auth/oidc/callback" in url:
                return url
            response = self.http.get(url)
            if response.status_code == 200 and "/interaction/" in url:
                response = self._submit(url, response.text, user_name)
            assert response.status_code in (302, 303), f"{url}: {response.status_code} {response.text[:500]}"
            url = urljoin(url, response.headers["location"])
        raise AssertionError(f"never came back to the callback: {url}")

    def _submit(self, url: str, page: str, user_name: str) -> httpx.Response:
        """The provider's interaction form (sign-in, or consent), submitted as a person would."""
        action = re.search(r'<form[^>]*action="([^"]+)"', page)
        assert action is not None, page[:500]
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
        if 'name="login"' in page:
            fields.update(login=user_name, password="any")
        return self.http.post(urljoin(url, html.unescape(action.group(1))), data=fields)

    def finish(self, callback: str) -> str:
        """Request the callback; returns where smsdesk sends the browser (a page, or a page with
        ``signin_error``)."""
        response = self.http.get(callback)
        assert response.status_code == 303, response.text
        location: str = response.headers["location"]
        return location

    def sign_in(self, server_url: str, user_name: str) -> str:
        return self.finish(self.to_callback(server_url, user_name))

    def close(self) -> None:
        self.http.close()


def error_of(location: str) -> str | None:
    values = parse_qs(urlsplit(location).query).get("signin_error")
    return values[0] if values else None


def me(server_url: str, browser: Browser) -> dict[str, Any]:
    response = browser.http.get(server_url + "/api/v2/me")
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()["user"]
    return user

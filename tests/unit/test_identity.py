"""JSESSIONID sessions: signed cookies any node can check, stored once they come back."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smsdesk.operations.identity import DEVICE_LIFETIME_S, HttpSessionLimits, HttpSessions
from smsdesk.operations.ports import User
from smsdesk.storage.sqlite import SqliteStore

ALICE = User("u-alice", "t", "alice", "", "", ("agent",), True, "hash-1")
BOB = User("u-bob", "t", "bob", "", "", ("agent",), True, "hash-2")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(str(tmp_path / "identity.db"))
    store.migrate()
    yield store
    store.close()


def sessions_on(store: SqliteStore, **limits: float) -> HttpSessions:
    sessions = HttpSessions(store, HttpSessionLimits(**{"check_s": 0.0, **limits}))  # type: ignore[arg-type]
    asyncio.run(sessions.start())
    return sessions


def test_a_cookie_issued_by_one_node_is_honoured_by_another_and_after_a_restart(store: SqliteStore) -> None:
    issued = sessions_on(store).create(ALICE)
    other_node = sessions_on(store)  # same database, same cluster key
    claim = other_node.claim(issued.id)
    assert claim is not None
    resolved = asyncio.run(other_node.resolve(claim, ALICE))
    assert resolved is not None and resolved.csrf_token == issued.csrf_token and resolved.user_id == ALICE.id


def test_a_cookie_is_refused_for_another_user_after_a_password_change_or_when_tampered(
    store: SqliteStore,
) -> None:
    sessions = sessions_on(store)
    issued = sessions.create(ALICE)
    claim = sessions.claim(issued.id)
    assert claim is not None
    assert asyncio.run(sessions.resolve(claim, BOB)) is None
    changed = User(ALICE.id, ALICE.tenant_id, ALICE.user_name, "", "", ALICE.roles, True, "hash-new")
    assert asyncio.run(sessions.resolve(claim, changed)) is None
    head, _, mac = issued.id.partition(".")
    assert sessions.claim("garbage") is None
    forged = sessions.claim(f"{head}.{'A' * len(mac)}")
    assert forged is not None and asyncio.run(sessions.resolve(forged, ALICE)) is None


def test_cookies_and_csrf_tokens_signed_before_the_switch_to_blake2b_are_still_honoured(
    store: SqliteStore,
) -> None:
    sessions = sessions_on(store)
    secret = bytes.fromhex(asyncio.run(_cluster_secret(store)))
    issued = sessions.create(ALICE)
    head = issued.id.partition(".")[0]
    claim_text = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)).decode()

    def hmac_sha256(*parts: str) -> str:
        digest = hmac.new(secret, "\0".join(parts).encode(), hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    old_cookie = f"{head}.{hmac_sha256(claim_text, ALICE.password_hash)}"
    assert old_cookie != issued.id  # new cookies are signed with keyed BLAKE2b
    claim = sessions.claim(old_cookie)
    assert claim is not None
    resolved = asyncio.run(sessions.resolve(claim, ALICE))
    assert resolved is not None and resolved.user_id == ALICE.id
    assert resolved.csrf_matches(hmac_sha256("csrf", resolved.key))
    assert resolved.csrf_matches(resolved.csrf_token)
    assert not resolved.csrf_matches(hmac_sha256("csrf", "another key"))
    assert not resolved.csrf_matches("")


async def _cluster_secret(store: SqliteStore) -> str:
    async with store.transaction() as tx:
        return await tx.cluster_secrets.get_or_create("http_sessions", "unused")


def test_an_ended_session_stays_ended_everywhere(store: SqliteStore) -> None:
    sessions, other_node = sessions_on(store), sessions_on(store)
    issued = sessions.create(ALICE)
    claim = sessions.claim(issued.id)
    assert claim is not None and asyncio.run(other_node.resolve(claim, ALICE)) is not None
    asyncio.run(sessions.invalidate(issued))
    assert asyncio.run(other_node.resolve(claim, ALICE)) is None
    assert asyncio.run(sessions.resolve(claim, ALICE)) is None


def test_idle_and_lifetime_expiry(store: SqliteStore) -> None:
    sessions = sessions_on(store, idle_s=0.2, lifetime_s=0.5)
    issued = sessions.create(ALICE)
    claim = sessions.claim(issued.id)
    assert claim is not None and asyncio.run(sessions.resolve(claim, ALICE)) is not None
    time.sleep(0.3)
    assert asyncio.run(sessions.resolve(claim, ALICE)) is None  # idle
    time.sleep(0.3)
    assert sessions.claim(issued.id) is None  # past its lifetime: refused without a lookup


def test_a_users_least_recently_used_sessions_end_beyond_the_cap_and_nobody_elses(store: SqliteStore) -> None:
    sessions = sessions_on(store, max_per_user=2)
    bobs = sessions.create(BOB)
    bob_claim = sessions.claim(bobs.id)
    assert bob_claim is not None and asyncio.run(sessions.resolve(bob_claim, BOB)) is not None
    alices = []
    for _ in range(3):
        issued = sessions.create(ALICE)
        claim = sessions.claim(issued.id)
        assert claim is not None and asyncio.run(sessions.resolve(claim, ALICE)) is not None
        alices.append(claim)
        time.sleep(0.01)
    assert asyncio.run(sessions.resolve(alices[0], ALICE)) is None
    assert all(asyncio.run(sessions.resolve(claim, ALICE)) is not None for claim in alices[1:])
    assert asyncio.run(sessions.resolve(bob_claim, BOB)) is not None
    # Cookies never sent back are never stored, so they push nobody out.
    for _ in range(50):
        sessions.create(ALICE)
    assert asyncio.run(sessions.resolve(alices[2], ALICE)) is not None


def test_a_device_cookie_names_its_device_for_its_user_only(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = sessions_on(store)
    cookie = sessions.device_cookie("alice")
    device = sessions_on(store).device_of(cookie, "alice")  # any node of the cluster
    assert device is not None and sessions.device_of(cookie, "alice") == device
    assert sessions.device_cookie("alice") != cookie  # every browser its own device
    assert sessions.device_of(cookie, "bob") is None
    head, _, mac = cookie.partition(".")
    assert sessions.device_of(f"{head}.{'A' * len(mac)}", "alice") is None
    assert sessions.device_of("garbage", "alice") is None and sessions.device_of(None, "alice") is None
    later = time.time() + DEVICE_LIFETIME_S + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert sessions.device_of(cookie, "alice") is None  # past its lifetime

"""**Extension**: standard (canned) responses.

Supervisors and administrators manage them (``smsdesk responses``, ``/api/v2/standard-responses``);
agents search them (``GET /api/v2/me/standard-responses``) and send one with the
``SendStandardResponse`` operation, its placeholders filled from the session
(``domain/placeholders.py``) and the result sent exactly as ``SendMessage`` sends a text.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace

from smsdesk.domain import placeholders
from smsdesk.domain.clock import now_ms
from smsdesk.domain.errors import DomainError, ErrorKind, invalid_value, not_found
from smsdesk.domain.model import SessionRecord
from smsdesk.operations import access
from smsdesk.operations.audit import record_change
from smsdesk.operations.contact_centers import tenant_id_named
from smsdesk.operations.ports import StandardResponse, Transaction, User
from smsdesk.operations.services import Services

log = logging.getLogger("smsdesk.standard_responses")

NAME_MAX_LENGTH = 100
CATEGORY_MAX_LENGTH = 100
WHAT = "Standard responses"


def new_response_id() -> str:
    return secrets.token_hex(8).upper()


def _snapshot(response: StandardResponse) -> dict[str, str]:
    """What the audit log keeps of a standard response."""
    return {"name": response.name, "category": response.category, "text": response.text}


def _checked(services: Services, name: str, category: str, text: str) -> tuple[str, str, str]:
    name, category = name.strip(), category.strip()
    if not name:
        raise DomainError(ErrorKind.MISSING_PARAMETER, "Missing required parameter: name")
    if not text.strip():
        raise DomainError(ErrorKind.MISSING_PARAMETER, "Missing required parameter: text")
    if len(name) > NAME_MAX_LENGTH:
        raise invalid_value(f"Invalid value for parameter name: longer than {NAME_MAX_LENGTH} characters")
    if len(category) > CATEGORY_MAX_LENGTH:
        raise invalid_value(
            f"Invalid value for parameter category: longer than {CATEGORY_MAX_LENGTH} characters"
        )
    limit = services.settings.max_text_length
    if len(text) > limit:
        raise invalid_value(
            f"Invalid value for parameter text: longer than {limit} characters (max_text_length)"
        )
    placeholders.check(text, placeholders.STANDARD_RESPONSE_NAMES, user_data=True, what="text")
    return name, category, text


async def add(
    services: Services,
    tenant_id: str,
    name: str,
    text: str,
    category: str = "",
    actor: User | None = None,
) -> StandardResponse:
    """``actor``: who adds it (None: the command line), for the audit log."""
    name, category, text = _checked(services, name, category, text)
    now = now_ms()
    response = StandardResponse(new_response_id(), tenant_id, name, category, text, now, now)
    async with services.work() as work:
        if not await work.tx.standard_responses.insert(response):
            raise DomainError(ErrorKind.ALREADY_EXISTS, f"A standard response named {name!r} already exists")
        await record_change(
            work.tx,
            tenant_id,
            actor,
            "standardResponse.create",
            "standardResponse",
            response.id,
            None,
            _snapshot(response),
        )
    log.info("standard response %r (%s) added to %s", name, response.id, tenant_id)
    return response


async def add_in(
    services: Services, tenant: str, name: str, text: str, category: str = ""
) -> StandardResponse:
    """``smsdesk responses add``: in the contact center named ``tenant``."""
    return await add(services, await tenant_id_named(services, tenant), name, text, category)


async def list_in(services: Services, tenant: str) -> list[StandardResponse]:
    tenant_id = await tenant_id_named(services, tenant)
    async with services.store.transaction() as tx:
        return await tx.standard_responses.of_tenant(tenant_id)


async def remove_named(services: Services, tenant: str, name: str) -> StandardResponse:
    """``smsdesk responses remove``: by name, in the contact center named ``tenant``."""
    tenant_id = await tenant_id_named(services, tenant)
    async with services.work() as work:
        response = await work.tx.standard_responses.by_name(tenant_id, name)
        if response is None or not await work.tx.standard_responses.delete(tenant_id, response.id):
            raise not_found(f"Standard response not found: {name}")
        await record_change(
            work.tx,
            tenant_id,
            None,
            "standardResponse.delete",
            "standardResponse",
            response.id,
            _snapshot(response),
            None,
        )
    log.info("standard response %r (%s) removed from %s", name, response.id, tenant_id)
    return response


# ----- the API for supervisors and administrators ------------------------------------------------


async def create(
    services: Services, user: User, name: str | None, category: str | None, text: str | None
) -> StandardResponse:
    access.require_manager(user, WHAT)
    return await add(services, user.tenant_id, name or "", text or "", category or "", actor=user)


async def all_of(services: Services, user: User) -> list[StandardResponse]:
    access.require_manager(user, WHAT)
    async with services.store.transaction() as tx:
        return await tx.standard_responses.of_tenant(user.tenant_id)


async def one(services: Services, user: User, response_id: str) -> StandardResponse:
    access.require_manager(user, WHAT)
    async with services.store.transaction() as tx:
        response = await tx.standard_responses.get(user.tenant_id, response_id)
    if response is None:
        raise not_found(f"Standard response not found: {response_id}")
    return response


async def change(
    services: Services,
    user: User,
    response_id: str,
    name: str | None,
    category: str | None,
    text: str | None,
) -> StandardResponse:
    """Replace the fields given; the others stay."""
    access.require_manager(user, WHAT)
    if name is None and category is None and text is None:
        raise DomainError(ErrorKind.MISSING_PARAMETER, "Missing required parameter: name, category or text")
    async with services.work() as work:
        current = await work.tx.standard_responses.get(user.tenant_id, response_id)
        if current is None:
            raise not_found(f"Standard response not found: {response_id}")
        checked_name, checked_category, checked_text = _checked(
            services,
            current.name if name is None else name,
            current.category if category is None else category,
            current.text if text is None else text,
        )
        changed = replace(
            current, name=checked_name, category=checked_category, text=checked_text, updated_ms=now_ms()
        )
        if not await work.tx.standard_responses.update(changed):
            raise DomainError(
                ErrorKind.ALREADY_EXISTS, f"A standard response named {checked_name!r} already exists"
            )
        await record_change(
            work.tx,
            user.tenant_id,
            user,
            "standardResponse.update",
            "standardResponse",
            changed.id,
            _snapshot(current),
            _snapshot(changed),
        )
    log.info("standard response %r (%s) changed by %s", changed.name, changed.id, user.user_name)
    return changed


async def delete(services: Services, user: User, response_id: str) -> None:
    access.require_manager(user, WHAT)
    async with services.work() as work:
        current = await work.tx.standard_responses.get(user.tenant_id, response_id)
        if current is None or not await work.tx.standard_responses.delete(user.tenant_id, response_id):
            raise not_found(f"Standard response not found: {response_id}")
        await record_change(
            work.tx,
            user.tenant_id,
            user,
            "standardResponse.delete",
            "standardResponse",
            response_id,
            _snapshot(current),
            None,
        )
    log.info("standard response %s deleted by %s", response_id, user.user_name)


# ----- agents -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Found:
    """A standard response an agent searched for; with a session, its text filled for it (or the
    placeholders that have no value there)."""

    response: StandardResponse
    filled: str | None = None
    missing: tuple[str, ...] = ()


def _matches(response: StandardResponse, words: list[str]) -> bool:
    haystack = f"{response.name}\n{response.category}\n{response.text}".casefold()
    return all(word in haystack for word in words)


async def search(services: Services, user: User, query: str | None, session_id: str | None) -> list[Found]:
    """The contact center's responses whose name, category or text contain every word of ``query``
    (any case), by category and name; with ``session_id`` (a session of the caller's), each filled."""
    access.require_agent(user)
    words = (query or "").casefold().split()
    async with services.store.transaction() as tx:
        record = await access.session_for_agent(tx, user, session_id) if session_id else None
        responses = [r for r in await tx.standard_responses.of_tenant(user.tenant_id) if _matches(r, words)]
    if record is None:
        return [Found(r) for r in responses]
    value_of = session_values(record, user)
    found = []
    for response in responses:
        missing = tuple(name for name in placeholders.names_in(response.text) if not value_of(name))
        filled = None if missing else placeholders.fill(response.text, value_of, "the standard response")
        found.append(Found(response, filled, missing))
    return found


def session_values(record: SessionRecord, user: User) -> Callable[[str], str | None]:
    """What each placeholder of a standard response stands for in ``record``, sent by ``user``."""
    party = record.parties.get(user.id)
    nickname = next(
        (
            p.nickname
            for p in record.participants
            if party is not None and p.participant_id == party.participant_id
        ),
        None,
    )
    fixed = {
        "customer.phoneNumber": record.customer_number,
        "agent.firstName": user.first_name,
        "agent.lastName": user.last_name,
        "agent.userName": user.user_name,
        "agent.nickname": nickname or user.first_name or user.user_name,
    }

    def value_of(name: str) -> str | None:
        key = placeholders.user_data_key(name)
        if key is None:
            return fixed.get(name) or None
        value = record.user_data.get(key)
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return None  # absent, or an object: nothing to write in a text
        return str(value) or None

    return value_of


async def text_for(tx: Transaction, user: User, record: SessionRecord, response_id: str) -> str:
    """``SendStandardResponse``: the response's text filled from the session, in the operation's
    transaction; unknown id → statusCode 6, a placeholder without a value → statusCode 2."""
    response = await tx.standard_responses.get(user.tenant_id, response_id)
    if response is None:
        raise not_found(f"Standard response not found: {response_id}")
    return placeholders.fill(
        response.text, session_values(record, user), f"standard response {response.name!r}"
    )

"""Running a contact center without a shell: users, queues, service numbers, the contact center's
settings and the audit log, for administrators (``ROLE_ADMIN``) of their own contact center.

Every change is written with its audit entry in one transaction (``operations/audit.py``). A user
who is disabled or deleted, or whose password is reset, is signed out everywhere: their HTTP
sessions end on every node (``http_sessions``), their Bayeux clients are dropped (on a cluster, by
deleting their ``bayeux_clients`` rows, whose owners then answer 402), their channels are logged
out, and the sessions they held are routed again (``release_sessions``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

from smsdesk.domain.agents import SMS_CHANNEL
from smsdesk.domain.errors import DomainError, ErrorKind, invalid_state, invalid_value, not_found
from smsdesk.domain.model import LIVE_STATES, PartyState
from smsdesk.domain.session import SmsSession
from smsdesk.operations import phone_numbers
from smsdesk.operations.admin import check_password
from smsdesk.operations.agent import notify_channels
from smsdesk.operations.audit import record_change
from smsdesk.operations.customers import ErasureReport, Scrub, erase_customer
from smsdesk.operations.identity import Authenticator, HttpSessions, hash_password
from smsdesk.operations.notify import publish_session_change
from smsdesk.operations.ports import (
    AuditEntry,
    ContactCenter,
    ServiceNumber,
    StorageConflict,
    Transaction,
    User,
)
from smsdesk.operations.services import Services, Work, new_user_id
from smsdesk.operations.statistics import record_agent_state

log = logging.getLogger("smsdesk.admin")

ADMIN_ROLE = "ROLE_ADMIN"
ROLE_NAMES = ("ROLE_AGENT", "ROLE_SUPERVISOR", "ROLE_ADMIN")
MAX_RETENTION_DAYS = 36_500
SERVICE_NUMBER = re.compile(r"\+?[0-9]{3,15}|[A-Za-z0-9]{1,11}")


def require_admin(user: User) -> None:
    if ADMIN_ROLE not in user.roles:
        raise DomainError(
            ErrorKind.NO_PERMISSION, "Only an administrator (ROLE_ADMIN) may do this; nothing was changed"
        )


@dataclass(frozen=True, slots=True)
class UserView:
    """A user as administrators read them: the record, the queues they serve and supervise."""

    user: User
    queues: tuple[str, ...]
    supervised_queues: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NewUser:
    user_name: str
    password: str
    roles: tuple[str, ...]
    first_name: str = ""
    last_name: str = ""
    enabled: bool = True
    password_signin: bool = True
    queues: tuple[str, ...] = ()
    supervised_queues: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UserChanges:
    """What a PUT changes; None leaves a field as it is."""

    first_name: str | None = None
    last_name: str | None = None
    roles: tuple[str, ...] | None = None
    enabled: bool | None = None
    password: str | None = None
    password_signin: bool | None = None
    queues: tuple[str, ...] | None = None
    supervised_queues: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class QueueView:
    name: str
    members: tuple[str, ...]
    supervisors: tuple[str, ...]
    numbers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class QueueChanges:
    members: tuple[str, ...] | None = None
    supervisors: tuple[str, ...] | None = None


SignOut = Callable[[str], Awaitable[int]]
"""Drops every Bayeux client of a user (on every node); returns how many there were."""


def _roles(roles: Sequence[str]) -> tuple[str, ...]:
    if not roles:
        raise DomainError(
            ErrorKind.MISSING_PARAMETER, "Missing required parameter: roles (at least one role)"
        )
    unknown = [role for role in roles if role not in ROLE_NAMES]
    if unknown:
        raise invalid_value(f"Unknown role {unknown[0]}; use {', '.join(ROLE_NAMES)}")
    return tuple(role for role in ROLE_NAMES if role in roles)


def _user_snapshot(view: UserView) -> dict[str, Any]:
    user = view.user
    return {
        "userName": user.user_name,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "roles": list(user.roles),
        "enabled": user.enabled,
        "passwordSignIn": user.password_signin,
        "queues": list(view.queues),
        "supervisedQueues": list(view.supervised_queues),
    }


def _queue_snapshot(view: QueueView, names: dict[str, str]) -> dict[str, Any]:
    return {
        "members": [names.get(m, m) for m in view.members],
        "supervisors": [names.get(s, s) for s in view.supervisors],
    }


@dataclass
class Administration:
    """The administrators' operations, with what signing a user out takes on this node."""

    services: Services
    http_sessions: HttpSessions | None = None
    authenticator: Authenticator | None = None
    sign_out: SignOut | None = None
    scrub: Scrub | None = None

    # ----- users -----

    async def users(self, actor: User) -> list[UserView]:
        require_admin(actor)
        async with self.services.store.transaction() as tx:
            return [await _view(tx, u) for u in await tx.users.all(actor.tenant_id)]

    async def user(self, actor: User, user_id: str) -> UserView:
        require_admin(actor)
        async with self.services.store.transaction() as tx:
            return await _view(tx, await _user_of(tx, actor, user_id))

    async def create_user(self, actor: User, new: NewUser) -> User:
        require_admin(actor)
        name = new.user_name.strip()
        if not name:
            raise DomainError(ErrorKind.MISSING_PARAMETER, "Missing required parameter: userName")
        if any(c.isspace() or c == ":" for c in name) or len(name) > 128:
            raise invalid_value("Invalid userName: no spaces or colons, at most 128 characters")
        roles = _roles(new.roles)
        check_password(self.services, new.password)
        # The hash takes tens of milliseconds by design: off the event loop, like a sign-in's check.
        password_hash = await asyncio.to_thread(hash_password, new.password)
        async with (
            self._unless_taken(lambda tx: _user_taken(tx, name), f"User already exists: {name}"),
            self.services.work() as work,
        ):
            tx = work.tx
            if await tx.users.by_name(name) is not None:
                raise DomainError(ErrorKind.ALREADY_EXISTS, f"User already exists: {name}")
            await _check_queues(tx, actor.tenant_id, (*new.queues, *new.supervised_queues))
            user = User(
                id=new_user_id(),
                tenant_id=actor.tenant_id,
                user_name=name,
                first_name=new.first_name or name,
                last_name=new.last_name,
                roles=roles,
                enabled=new.enabled,
                password_hash=password_hash,
                password_signin=new.password_signin,
            )
            await tx.users.insert(user)
            await tx.queues.set_queues_of_member(actor.tenant_id, user.id, sorted(set(new.queues)))
            await tx.queues.set_supervised_by(actor.tenant_id, user.id, sorted(set(new.supervised_queues)))
            view = await _view(tx, user)
            await record_change(
                tx, actor.tenant_id, actor, "user.create", "user", user.id, None, _user_snapshot(view)
            )
        log.info("%s added user %s (%s)", actor.user_name, name, ", ".join(roles))
        return user

    async def update_user(self, actor: User, user_id: str, changes: UserChanges) -> User:
        require_admin(actor)
        roles = _roles(changes.roles) if changes.roles is not None else None
        password_hash = None
        if changes.password is not None:
            check_password(self.services, changes.password)
            password_hash = await asyncio.to_thread(hash_password, changes.password)
        async with self.services.work() as work:
            tx = work.tx
            before = await _view(tx, await _user_of(tx, actor, user_id))
            user = before.user
            if user.id == actor.id and (
                changes.enabled is False or (roles is not None and ADMIN_ROLE not in roles)
            ):
                raise invalid_state(
                    "You cannot disable yourself or take away your own ROLE_ADMIN: ask another administrator"
                )
            await _check_queues(
                tx, actor.tenant_id, (*(changes.queues or ()), *(changes.supervised_queues or ()))
            )
            updated = replace(
                user,
                first_name=changes.first_name if changes.first_name is not None else user.first_name,
                last_name=changes.last_name if changes.last_name is not None else user.last_name,
                roles=roles if roles is not None else user.roles,
                enabled=changes.enabled if changes.enabled is not None else user.enabled,
                password_signin=(
                    changes.password_signin if changes.password_signin is not None else user.password_signin
                ),
                password_hash=password_hash if password_hash is not None else user.password_hash,
            )
            await tx.users.update(updated)
            if changes.queues is not None:
                await tx.queues.set_queues_of_member(actor.tenant_id, user.id, sorted(set(changes.queues)))
            if changes.supervised_queues is not None:
                await tx.queues.set_supervised_by(
                    actor.tenant_id, user.id, sorted(set(changes.supervised_queues))
                )
            if password_hash is not None:
                await tx.users.set_password_hash(user.id, password_hash)
            disabled = user.enabled and not updated.enabled
            if disabled:
                await _log_out_channels(self.services, work, updated)
            after = _user_snapshot(await _view(tx, updated))
            if password_hash is not None:
                after["passwordChanged"] = True
            action = "user.disable" if disabled else "user.update"
            await record_change(
                tx, actor.tenant_id, actor, action, "user", user.id, _user_snapshot(before), after
            )
        if disabled or password_hash is not None:
            await self._sign_out(updated, "disabled" if disabled else "password changed")
        elif user.password_signin and not updated.password_signin and self.authenticator is not None:
            # Passwords this node verified lately are not trusted for this user any more (other
            # nodes re-read the user within credential_trust_s).
            self.authenticator.forget(user.id)
        if disabled:
            await release_sessions(self.services, updated)
        return updated

    async def delete_user(self, actor: User, user_id: str) -> None:
        require_admin(actor)
        async with self.services.work() as work:
            tx = work.tx
            before = await _view(tx, await _user_of(tx, actor, user_id))
            user = before.user
            if user.id == actor.id:
                raise invalid_state("You cannot delete yourself: ask another administrator")
            # First out of routing and out of every channel, so nothing is offered to them meanwhile.
            disabled = replace(user, enabled=False)
            await tx.users.update(disabled)
            await _log_out_channels(self.services, work, disabled)
        await self._sign_out(disabled, "deleted")
        await release_sessions(self.services, disabled)
        async with self.services.work() as work:
            await work.tx.users.delete(user.id)
            await record_change(
                work.tx, actor.tenant_id, actor, "user.delete", "user", user.id, _user_snapshot(before), None
            )
        log.info("%s deleted user %s", actor.user_name, user.user_name)

    @asynccontextmanager
    async def _unless_taken(
        self, taken: Callable[[Transaction], Awaitable[bool]], message: str
    ) -> AsyncIterator[None]:
        """A creation that lost a race to a concurrent one (two administrators, two nodes: the
        database's unique key refused the second) is answered 409 like any duplicate, not 500."""
        try:
            yield
        except (DomainError, StorageConflict):
            raise
        except Exception:
            async with self.services.store.transaction() as tx:
                if await taken(tx):
                    raise DomainError(ErrorKind.ALREADY_EXISTS, message) from None
            raise

    async def _sign_out(self, user: User, why: str) -> None:
        """The user's HTTP sessions end on every node, and their Bayeux clients are dropped."""
        if self.http_sessions is not None:
            await self.http_sessions.invalidate_user(user.id)
        if self.authenticator is not None:
            self.authenticator.forget(user.id)
        clients = await self.sign_out(user.id) if self.sign_out is not None else 0
        log.info(
            "user %s signed out everywhere (%s; %d notification client(s) dropped)",
            user.user_name,
            why,
            clients,
        )

    # ----- queues -----

    async def queues(self, actor: User) -> list[QueueView]:
        require_admin(actor)
        async with self.services.store.transaction() as tx:
            return [
                await _queue_view(tx, actor.tenant_id, q) for q in await tx.queues.of_tenant(actor.tenant_id)
            ]

    async def queue(self, actor: User, name: str) -> QueueView:
        require_admin(actor)
        async with self.services.store.transaction() as tx:
            if not await tx.queues.exists(actor.tenant_id, name):
                raise not_found(f"Queue not found: {name}")
            return await _queue_view(tx, actor.tenant_id, name)

    async def create_queue(self, actor: User, name: str, changes: QueueChanges) -> QueueView:
        require_admin(actor)
        name = name.strip()
        if not name:
            raise DomainError(ErrorKind.MISSING_PARAMETER, "Missing required parameter: name")
        if len(name) > 128 or "/" in name:
            raise invalid_value("Invalid queue name: no slashes, at most 128 characters")
        async with (
            self._unless_taken(
                lambda tx: tx.queues.exists(actor.tenant_id, name), f"Queue already exists: {name}"
            ),
            self.services.work() as work,
        ):
            tx = work.tx
            if await tx.queues.exists(actor.tenant_id, name):
                raise DomainError(ErrorKind.ALREADY_EXISTS, f"Queue already exists: {name}")
            await tx.queues.ensure(actor.tenant_id, name, [])
            view = await self._apply_queue(tx, actor, name, changes)
            names = await _names(tx, actor.tenant_id)
            await record_change(
                tx,
                actor.tenant_id,
                actor,
                "queue.create",
                "queue",
                name,
                None,
                _queue_snapshot(view, names),
            )
        return view

    async def update_queue(self, actor: User, name: str, changes: QueueChanges) -> QueueView:
        require_admin(actor)
        async with self.services.work() as work:
            tx = work.tx
            if not await tx.queues.exists(actor.tenant_id, name):
                raise not_found(f"Queue not found: {name}")
            names = await _names(tx, actor.tenant_id)
            before = _queue_snapshot(await _queue_view(tx, actor.tenant_id, name), names)
            view = await self._apply_queue(tx, actor, name, changes)
            await record_change(
                tx,
                actor.tenant_id,
                actor,
                "queue.update",
                "queue",
                name,
                before,
                _queue_snapshot(view, names),
            )
            if changes.members is not None:
                work.routing_tenants.add(actor.tenant_id)  # new members may take what waits
        return view

    async def _apply_queue(self, tx: Transaction, actor: User, name: str, changes: QueueChanges) -> QueueView:
        if changes.members is not None:
            members = await _users_in_tenant(tx, actor.tenant_id, changes.members, "members")
            await tx.queues.set_members(actor.tenant_id, name, [u.id for u in members])
        if changes.supervisors is not None:
            supervisors = await _users_in_tenant(tx, actor.tenant_id, changes.supervisors, "supervisors")
            for user in supervisors:
                if "ROLE_SUPERVISOR" not in user.roles:
                    raise invalid_value(
                        f"{user.user_name} is not a supervisor (give them ROLE_SUPERVISOR first)"
                    )
            await tx.queues.set_supervisors(actor.tenant_id, name, [u.id for u in supervisors])
        return await _queue_view(tx, actor.tenant_id, name)

    async def delete_queue(self, actor: User, name: str) -> None:
        require_admin(actor)
        async with self.services.work() as work:
            tx = work.tx
            if not await tx.queues.exists(actor.tenant_id, name):
                raise not_found(f"Queue not found: {name}")
            view = await _queue_view(tx, actor.tenant_id, name)
            if view.numbers:
                raise DomainError(
                    ErrorKind.IN_USE,
                    f"Queue {name} is in use: service number(s) {', '.join(view.numbers)} route to it; "
                    "route them elsewhere first",
                )
            if await tx.sessions.waiting(actor.tenant_id, name):
                raise DomainError(ErrorKind.IN_USE, f"Queue {name} is in use: customers are waiting in it")
            names = await _names(tx, actor.tenant_id)
            await tx.queues.delete(actor.tenant_id, name)
            await record_change(
                tx, actor.tenant_id, actor, "queue.delete", "queue", name, _queue_snapshot(view, names), None
            )

    # ----- service numbers -----

    async def numbers(self, actor: User) -> list[ServiceNumber]:
        require_admin(actor)
        async with self.services.store.transaction() as tx:
            return await tx.service_numbers.of_tenant(actor.tenant_id)

    def _normalised(self, number: str) -> str:
        try:
            normalised = phone_numbers.normalise(number, self.services.settings.default_region)
        except phone_numbers.InvalidPhoneNumber as error:
            raise invalid_value(str(error)) from None
        if not SERVICE_NUMBER.fullmatch(normalised):
            raise invalid_value(
                f"Invalid service number {number[:40]!r}: a number in E.164 (+15550100), a short code, "
                "or an alphanumeric sender of at most 11 letters and digits"
            )
        return normalised

    async def create_number(self, actor: User, number: str, queue: str, connector: str) -> ServiceNumber:
        require_admin(actor)
        if not number.strip():
            raise DomainError(ErrorKind.MISSING_PARAMETER, "Missing required parameter: number")
        normalised = self._normalised(number)
        async with (
            self._unless_taken(
                lambda tx: _number_taken(tx, normalised), f"Service number already exists: {normalised}"
            ),
            self.services.work() as work,
        ):
            tx = work.tx
            if await tx.service_numbers.get(normalised) is not None:
                raise DomainError(ErrorKind.ALREADY_EXISTS, f"Service number already exists: {normalised}")
            await _check_queues(tx, actor.tenant_id, (queue,))
            created = ServiceNumber(actor.tenant_id, normalised, queue, connector or "simulator")
            await tx.service_numbers.ensure(created)
            await record_change(
                tx,
                actor.tenant_id,
                actor,
                "number.create",
                "number",
                normalised,
                None,
                {"number": normalised, "queue": queue, "connector": created.connector},
            )
        return created

    async def _number_of(self, tx: Transaction, actor: User, number: str) -> ServiceNumber:
        try:
            normalised = self._normalised(number)
        except DomainError:
            normalised = number
        found = await tx.service_numbers.get(normalised)
        if found is None or found.tenant_id != actor.tenant_id:
            raise not_found(f"Service number not found: {number}")
        return found

    async def update_number(
        self, actor: User, number: str, queue: str | None, connector: str | None
    ) -> ServiceNumber:
        require_admin(actor)
        async with self.services.work() as work:
            tx = work.tx
            before = await self._number_of(tx, actor, number)
            if queue is not None:
                await _check_queues(tx, actor.tenant_id, (queue,))
            after = replace(before, queue=queue or before.queue, connector=connector or before.connector)
            await tx.service_numbers.update(after)
            await record_change(
                tx,
                actor.tenant_id,
                actor,
                "number.update",
                "number",
                before.number,
                {"queue": before.queue, "connector": before.connector},
                {"queue": after.queue, "connector": after.connector},
            )
        return after

    async def delete_number(self, actor: User, number: str) -> None:
        require_admin(actor)
        async with self.services.work() as work:
            tx = work.tx
            before = await self._number_of(tx, actor, number)
            await tx.service_numbers.delete(before.number)
            await record_change(
                tx,
                actor.tenant_id,
                actor,
                "number.delete",
                "number",
                before.number,
                {"queue": before.queue, "connector": before.connector},
                None,
            )

    # ----- the contact center -----

    async def contact_center(self, actor: User) -> ContactCenter:
        require_admin(actor)
        async with self.services.store.transaction() as tx:
            center = await tx.tenants.get(actor.tenant_id)
        if center is None:
            raise not_found("Contact center not found")
        return center

    async def set_retention(self, actor: User | None, tenant_id: str, days: int | None) -> ContactCenter:
        if actor is not None:
            require_admin(actor)
        if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
            raise invalid_value(
                f"Invalid retentionDays: a whole number of days from 1 to {MAX_RETENTION_DAYS}, or null to keep"
            )
        async with self.services.work() as work:
            tx = work.tx
            center = await tx.tenants.get(tenant_id)
            if center is None:
                raise not_found(f"Contact center not found: {tenant_id}")
            await tx.tenants.set_retention_days(tenant_id, days)
            await record_change(
                tx,
                tenant_id,
                actor,
                "contactCenter.update",
                "contactCenter",
                tenant_id,
                {"retentionDays": center.retention_days},
                {"retentionDays": days},
            )
        return replace(center, retention_days=days)

    async def erase_customer(self, actor: User, number: str) -> ErasureReport:
        require_admin(actor)
        return await erase_customer(self.services, actor.tenant_id, number, actor, self.scrub)

    # ----- the audit log -----

    async def audit(self, actor: User, start_index: int, count: int) -> tuple[list[AuditEntry], int]:
        """Entries newest first: ``start_index`` 1 is the newest (0 behaves like 1)."""
        require_admin(actor)
        async with self.services.store.transaction() as tx:
            entries = await tx.admin_audit.newest(actor.tenant_id, max(start_index, 1) - 1, count)
            total = await tx.admin_audit.count(actor.tenant_id)
        return entries, total

    async def authors(self, actor: User) -> dict[str, User]:
        async with self.services.store.transaction() as tx:
            return {u.id: u for u in await tx.users.all(actor.tenant_id)}


async def _user_taken(tx: Transaction, name: str) -> bool:
    return await tx.users.by_name(name) is not None


async def _number_taken(tx: Transaction, number: str) -> bool:
    return await tx.service_numbers.get(number) is not None


async def _user_of(tx: Transaction, actor: User, user_id: str) -> User:
    """A user of the administrator's own contact center (another's is not found, as unknown)."""
    user = await tx.users.by_id(actor.tenant_id, user_id)
    if user is None:
        raise not_found(f"User not found: {user_id}")
    return user


async def _view(tx: Transaction, user: User) -> UserView:
    return UserView(
        user,
        tuple(await tx.queues.of_member(user.tenant_id, user.id)),
        tuple(await tx.queues.supervised_by(user.tenant_id, user.id)),
    )


async def _queue_view(tx: Transaction, tenant_id: str, name: str) -> QueueView:
    numbers = [n.number for n in await tx.service_numbers.of_tenant(tenant_id) if n.queue == name]
    return QueueView(
        name,
        tuple(await tx.queues.members(tenant_id, name)),
        tuple(await tx.queues.supervisors(tenant_id, name)),
        tuple(numbers),
    )


async def _names(tx: Transaction, tenant_id: str) -> dict[str, str]:
    return {u.id: u.user_name for u in await tx.users.all(tenant_id)}


async def _check_queues(tx: Transaction, tenant_id: str, queues: Sequence[str]) -> None:
    for queue in queues:
        if not await tx.queues.exists(tenant_id, queue):
            raise not_found(f"Queue not found: {queue}")


async def _users_in_tenant(tx: Transaction, tenant_id: str, ids: Sequence[str], what: str) -> list[User]:
    """Users by id (or user name), all of this contact center."""
    found: list[User] = []
    for wanted in dict.fromkeys(ids):
        user = await tx.users.by_id(tenant_id, wanted)
        if user is None:
            by_name = await tx.users.by_name(wanted)
            user = by_name if by_name is not None and by_name.tenant_id == tenant_id else None
        if user is None:
            raise not_found(f"User not found in {what}: {wanted}")
        found.append(user)
    return found


async def _log_out_channels(services: Services, work: Work, user: User) -> None:
    """As EndContactCenterSession: the user leaves every channel (routing offers them nothing)."""
    channels = [c.channel for c in await work.tx.agents.channels(user.id)]
    if not channels:
        return
    await work.tx.agents.clear_channels(user.id)
    if SMS_CHANNEL in channels:
        await record_agent_state(services, work, user, "LoggedOut")
    await notify_channels(work, user, await work.tx.reference_ids.next(), channels)


async def release_sessions(services: Services, user: User) -> int:
    """The sessions a disabled or deleted user held go on without them, one transaction each: an
    offer is withdrawn (and routed on), a conversation they had alone goes back to its queue and is
    routed again, one shared with colleagues goes on with them, a supervisor leaves, and wrap-up is
    completed."""
    async with services.store.transaction() as tx:
        held = [r.id for r in await tx.sessions.of_user(user.tenant_id, user.id)]
    released = 0
    for session_id in held:
        async with services.work() as work:
            record = await work.tx.sessions.load(user.tenant_id, session_id)
            party = record.parties.get(user.id) if record is not None else None
            if record is None or party is None or party.state not in LIVE_STATES:
                continue
            session = SmsSession(record)
            ctx = services.domain_context()
            if party.state is PartyState.INVITED:
                session.withdraw_from_absent(user.id)
            elif party.supervision is not None:
                session.leave(ctx, user.id)
            elif party.state is PartyState.CHATTING:
                if [a for a in session.chatting_agent_ids() if a != user.id]:
                    session.leave(ctx, user.id)
                else:
                    session.complete(ctx, user.id, record.queue)
            else:
                session.complete(ctx, user.id, None)
            await publish_session_change(services, work, session)
        released += 1
        log.info("SMS session %s released from %s", session_id, user.user_name)
    return released

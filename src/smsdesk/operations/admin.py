"""Administration: users, and the demo contact center."""

from __future__ import annotations

from dataclasses import dataclass

from smsdesk.domain.clock import now_ms
from smsdesk.domain.errors import DomainError, ErrorKind, not_found
from smsdesk.operations import phone_numbers
from smsdesk.operations.access import SUPERVISOR_ROLE
from smsdesk.operations.audit import record_change
from smsdesk.operations.identity import hash_password
from smsdesk.operations.ports import ServiceNumber, User
from smsdesk.operations.services import Services, new_user_id

DEFAULT_TENANT = "default"
DEMO_PASSWORD = "password"
DEMO_AGENTS = ("agent1", "agent2", "agent3")
DEMO_SUPERVISOR = "supervisor1"
DEMO_SERVICE_NUMBER = "+15550100"
DEMO_QUEUE = "sms-default"

ROLES = {"agent": ("ROLE_AGENT",), "supervisor": ("ROLE_AGENT", "ROLE_SUPERVISOR"), "admin": ("ROLE_ADMIN",)}


@dataclass(frozen=True, slots=True)
class DemoSeed:
    created_users: tuple[str, ...]


async def add_user(
    services: Services,
    user_name: str,
    password: str,
    *,
    role: str = "agent",
    tenant: str = DEFAULT_TENANT,
    first_name: str = "",
    last_name: str = "",
    queues: tuple[str, ...] = (),
) -> User:
    if role not in ROLES:
        raise DomainError(ErrorKind.INVALID_VALUE, f"Unknown role {role}; use one of {', '.join(ROLES)}")
    check_password(services, password)
    password_hash = hash_password(password)
    async with services.work() as work:
        if await work.tx.users.by_name(user_name) is not None:
            raise DomainError(ErrorKind.ALREADY_EXISTS, f"User already exists: {user_name}")
        await work.tx.tenants.ensure(tenant, tenant)
        user = User(
            id=new_user_id(),
            tenant_id=tenant,
            user_name=user_name,
            first_name=first_name or user_name,
            last_name=last_name,
            roles=ROLES[role],
            enabled=True,
            password_hash=password_hash,
        )
        await work.tx.users.insert(user)
        for queue in queues:
            await work.tx.queues.ensure(tenant, queue, [user.id])
        await record_change(
            work.tx,
            tenant,
            None,
            "user.create",
            "user",
            user.id,
            None,
            {
                "userName": user_name,
                "firstName": user.first_name,
                "lastName": last_name,
                "roles": list(user.roles),
                "queues": list(queues),
            },
        )
    return user


def check_password(services: Services, password: str) -> None:
    """A new password must not be empty (that user would sign in with ``-u bob:``) nor short."""
    minimum = services.settings.password_min_length
    if not password:
        raise DomainError(ErrorKind.MISSING_PARAMETER, "The password must not be empty")
    if len(password) < minimum:
        raise DomainError(ErrorKind.INVALID_VALUE, f"The password must be at least {minimum} characters long")


async def set_password(services: Services, user_name: str, password: str) -> None:
    check_password(services, password)
    password_hash = hash_password(password)
    async with services.work() as work:
        user = await work.tx.users.by_name(user_name)
        if user is None:
            raise not_found(f"User not found: {user_name}")
        await work.tx.users.set_password_hash(user.id, password_hash)
        # Cookies are signed over the password hash, so they all stop working anyway; this also
        # ends them in the table, for the record.
        await work.tx.http_sessions.end_all_of_user(user.id, now_ms())
        await record_change(
            work.tx, user.tenant_id, None, "user.password", "user", user.id, None, {"passwordChanged": True}
        )


async def list_users(services: Services) -> list[User]:
    async with services.store.transaction() as tx:
        return await tx.users.all()


async def seed_demo(services: Services) -> DemoSeed:
    """The demo contact center; running it again changes nothing."""
    created: list[str] = []
    demo_hash = hash_password(DEMO_PASSWORD)
    async with services.work() as work:
        tx = work.tx
        await tx.tenants.ensure(DEFAULT_TENANT, "Demo contact center")
        agent_ids: list[str] = []
        for name, role in [*((a, "agent") for a in DEMO_AGENTS), (DEMO_SUPERVISOR, "supervisor")]:
            user = await tx.users.by_name(name)
            if user is None:
                user = User(
                    new_user_id(),
                    DEFAULT_TENANT,
                    name,
                    name.capitalize(),
                    "Demo",
                    ROLES[role],
                    True,
                    demo_hash,
                )
                await tx.users.insert(user)
                created.append(name)
            agent_ids.append(user.id)
        await tx.queues.ensure(DEFAULT_TENANT, DEMO_QUEUE, agent_ids)
        supervisor = await tx.users.by_name(DEMO_SUPERVISOR)
        assert supervisor is not None
        await tx.queues.add_supervisor(DEFAULT_TENANT, DEMO_QUEUE, supervisor.id)
        await tx.service_numbers.ensure(
            ServiceNumber(DEFAULT_TENANT, DEMO_SERVICE_NUMBER, DEMO_QUEUE, "simulator")
        )
    return DemoSeed(tuple(created))


async def add_service_number(
    services: Services, number: str, *, queue: str, tenant: str = DEFAULT_TENANT, connector: str = "simulator"
) -> ServiceNumber:
    """Route SMS to ``number`` into ``queue`` of ``tenant``, sent and received through ``connector``."""
    try:
        number = phone_numbers.normalise(number, services.settings.default_region)
    except phone_numbers.InvalidPhoneNumber as error:
        raise DomainError(ErrorKind.INVALID_VALUE, str(error)) from None
    async with services.work() as work:
        existing = await work.tx.service_numbers.get(number)
        if existing is not None:
            raise DomainError(ErrorKind.ALREADY_EXISTS, f"Service number already exists: {number}")
        if await work.tx.tenants.by_name(tenant) is None:
            raise not_found(f"Contact center not found: {tenant}")
        tenant_id = await work.tx.tenants.by_name(tenant)
        assert tenant_id is not None
        await work.tx.queues.ensure(tenant_id, queue, [])
        service_number = ServiceNumber(tenant_id, number, queue, connector)
        await work.tx.service_numbers.ensure(service_number)
        await record_change(
            work.tx,
            tenant_id,
            None,
            "number.create",
            "number",
            number,
            None,
            {"number": number, "queue": queue, "connector": connector},
        )
    return service_number


async def supervise_queue(services: Services, queue: str, user_name: str) -> None:
    """``user_name`` (a supervisor) supervises ``queue`` of their own contact center."""
    async with services.work() as work:
        user = await work.tx.users.by_name(user_name)
        if user is None:
            raise not_found(f"User not found: {user_name}")
        if SUPERVISOR_ROLE not in user.roles:
            raise DomainError(
                ErrorKind.INVALID_VALUE, f"{user_name} is not a supervisor (users add --role supervisor)"
            )
        if not await work.tx.queues.exists(user.tenant_id, queue):
            raise not_found(f"Queue not found in {user.tenant_id}: {queue}")
        before = await work.tx.queues.supervisors(user.tenant_id, queue)
        await work.tx.queues.add_supervisor(user.tenant_id, queue, user.id)
        await record_change(
            work.tx,
            user.tenant_id,
            None,
            "queue.update",
            "queue",
            queue,
            {"supervisors": before},
            {"supervisors": await work.tx.queues.supervisors(user.tenant_id, queue)},
        )

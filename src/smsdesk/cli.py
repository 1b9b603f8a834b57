"""The ``smsdesk`` command line."""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Coroutine
from importlib.metadata import version as installed_version
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar, cast

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from smsdesk.config import Settings, load_settings

if TYPE_CHECKING:
    from smsdesk.operations.services import Services

app = typer.Typer(
    help="smsdesk: a GWS 8.5 SMS Session API server.", no_args_is_help=True, add_completion=False
)
users_app = typer.Typer(help="Manage agents, supervisors and administrators.", no_args_is_help=True)
numbers_app = typer.Typer(help="Manage SMS service numbers (what customers text).", no_args_is_help=True)
sms_app = typer.Typer(
    help="Play a customer's handset through the built-in SMS simulator.", no_args_is_help=True
)
app.add_typer(users_app, name="users")
queues_app = typer.Typer(help="Manage queues and who supervises them.", no_args_is_help=True)
app.add_typer(numbers_app, name="numbers")
app.add_typer(queues_app, name="queues")
app.add_typer(sms_app, name="sms")
responses_app = typer.Typer(
    help="Manage standard responses: prepared texts agents find and send, with placeholders such as "
    "{{agent.firstName}} filled from the conversation.",
    no_args_is_help=True,
)
app.add_typer(responses_app, name="responses")
customers_app = typer.Typer(help="A customer's data: erase it on request.", no_args_is_help=True)
app.add_typer(customers_app, name="customers")
retention_app = typer.Typer(
    help="How long a contact center keeps finished conversations.", no_args_is_help=True
)
app.add_typer(retention_app, name="retention")
console = Console(soft_wrap=True)  # a long line (a database URL) stays one line: scripts grep it
err = Console(stderr=True, soft_wrap=True)  # every error is one line, whatever the width
T = TypeVar("T")

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database", help="Database URL, e.g. sqlite:///var/smsdesk.db (default; env SMSDESK_DATABASE_URL)."
    ),
]
ConfigOption = Annotated[
    str | None, typer.Option("--config", help="TOML settings file (env SMSDESK_CONFIG).")
]


def _print_version(wanted: bool) -> None:
    if wanted:
        console.print(f"smsdesk {installed_version('smsdesk')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """smsdesk: a GWS 8.5 SMS Session API server."""


def _settings(config: str | None, database: str | None, **overrides: object) -> Settings:
    try:
        return load_settings(config, database_url=database, **overrides)
    except (ValueError, OSError) as exc:
        _fail(str(exc), code=2)


def _port_from_environment() -> int | None:
    """``$PORT``, which ``make run`` (and many hosting platforms) set for the server."""
    raw = os.environ.get("PORT", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        _fail(f"PORT must be a port number (1-65535), not {raw!r}", code=2)
    return int(raw)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8080, or $PORT).")] = None,
    database: DatabaseOption = None,
    demo: Annotated[bool, typer.Option("--demo", help="Seed and serve the demo contact center.")] = False,
    public_url: Annotated[
        str | None,
        typer.Option(help="Base URL clients reach us at, used in resource uris (default http://host:port)."),
    ] = None,
    config: ConfigOption = None,
    log_level: Annotated[str | None, typer.Option(help="debug, info, warning or error.")] = None,
    access_log: Annotated[
        bool,
        typer.Option("--access-log", help="Log every HTTP request (off: long-polls would flood the log)."),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="Processes sharing the port, to use every core (PostgreSQL only; default 1)."
        ),
    ] = 1,
) -> None:
    """Start the server (migrating the database first)."""
    if port is None:
        port = _port_from_environment()
    settings = _settings(
        config, database, host=host, port=port, demo=demo or None, public_url=public_url, log_level=log_level
    )
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )
    import uvicorn

    from smsdesk.app import create_app
    from smsdesk.node import is_postgres

    if workers > 1:
        if not is_postgres(settings.database_url):
            _fail(
                f"--workers {workers} needs PostgreSQL: SQLite allows one writing process. Use "
                '--database postgresql://... (docs/production.md, "PostgreSQL"), or drop --workers.',
                code=2,
            )
        # Workers get uvicorn's own protocol: the guarded one is built per process (docs/reliability.md).
        _serve_workers(settings, workers, config, access_log)
        return
    from smsdesk.gc_tuning import tune_for_serving
    from smsdesk.http.server_protocol import (
        ConnectionLimits,
        guarded_protocol,
        guarded_websocket_protocol,
        raise_open_file_limit,
    )

    open_files = raise_open_file_limit()
    logging.getLogger("smsdesk").info("open-file limit: %d", open_files)
    limits = ConnectionLimits(
        header_timeout_s=settings.header_timeout_s,
        body_timeout_s=settings.body_timeout_s,
        max_header_bytes=settings.max_header_bytes,
        max_connections_per_address=settings.max_connections_per_address,
        send_timeout_s=settings.send_timeout_s,
        websocket_high_water_bytes=settings.websocket_write_high_water_bytes,
    )
    tune_for_serving()
    uvicorn.run(
        create_app(settings),
        http=guarded_protocol(limits),
        ws=guarded_websocket_protocol(limits),
        **_server_options(settings, access_log),
    )


def _server_options(settings: Settings, access_log: bool) -> dict[str, Any]:
    """What ``uvicorn.run`` is given alike with one process or several."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "loop": "uvloop",
        "ws_per_message_deflate": settings.websocket_compression,
        # A frame larger than the endpoint takes is refused by the protocol before it is buffered.
        "ws_max_size": settings.bayeux_max_request_bytes,
        "ws_ping_interval": settings.websocket_ping_s,
        "timeout_keep_alive": max(1, round(settings.keep_alive_s)),
        "lifespan": "on",
        "access_log": access_log,
        "timeout_graceful_shutdown": 3,
    }


def _serve_workers(settings: Settings, workers: int, config: str | None, access_log: bool) -> None:
    """N uvicorn worker processes on one listening socket; uvicorn's parent restarts a worker that
    dies. Each worker builds its own app from the environment (``app_from_environment``), so the
    settings resolved here are exported for them; migrations and the demo seed run once, here."""
    import uvicorn

    from smsdesk.node import prepare_shared_database

    prepare_shared_database(settings)
    exported = {
        "SMSDESK_HOST": settings.host,
        "SMSDESK_PORT": str(settings.port),
        "SMSDESK_DATABASE_URL": settings.database_url,
        "SMSDESK_PUBLIC_URL": settings.public_url,
        "SMSDESK_DEMO": "true" if settings.demo else "false",
        "SMSDESK_LOG_LEVEL": settings.log_level,
    }
    if config:
        exported["SMSDESK_CONFIG"] = config
    os.environ.update(exported)
    uvicorn.run(
        "smsdesk.app:app_from_environment",
        factory=True,
        workers=workers,
        http="httptools",
        **_server_options(settings, access_log),
    )


@app.command()
def migrate(database: DatabaseOption = None, config: ConfigOption = None) -> None:
    """Create or upgrade the database schema."""
    from smsdesk.node import open_store

    settings = _settings(config, database)
    store = open_store(settings)
    applied = store.migrate()
    store.close()
    if applied:
        for name in applied:
            console.print(f"applied migration {name}")
    else:
        console.print(f"database {settings.database_url} is up to date")


def _services(settings: Settings) -> Services:
    from smsdesk.gws.representation import Urls
    from smsdesk.node import open_store, operation_settings
    from smsdesk.operations.services import Services

    store = open_store(settings)
    store.migrate()
    return Services(store, Urls(settings.base_url), operation_settings(settings))


def _new_password(user_name: str, given: str | None) -> str:
    """The password from the flag, or asked for twice at a terminal (a typo would otherwise lock the
    user out); a script that pipes it in gives it once, on the first line of standard input."""
    if given is not None:
        return given
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"Password for {user_name}: ")
    if getpass.getpass("The same password again: ") != first:
        _fail("the two passwords differ; nothing was changed")
    return first


def _fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code)


def _run(operation: Coroutine[Any, Any, T]) -> T:
    """Run one administrative operation to its end; a refusal (a ``DomainError``: a duplicate user,
    an unknown queue...) is one line on stderr and exit code 1, never a traceback."""
    from smsdesk.domain.errors import DomainError

    try:
        return asyncio.run(operation)
    except DomainError as exc:
        _fail(exc.message)


@users_app.command("add")
def users_add(
    user_name: Annotated[str, typer.Argument(help="Login name (unique across contact centers).")],
    password: Annotated[
        str | None, typer.Option(help="Password; prompted for when omitted (safer than the command line).")
    ] = None,
    role: Annotated[str, typer.Option(help="agent, supervisor or admin.")] = "agent",
    tenant: Annotated[str, typer.Option(help="Contact center the user belongs to.")] = "default",
    first_name: Annotated[str, typer.Option(help="First name (default: the user name).")] = "",
    last_name: Annotated[str, typer.Option(help="Last name.")] = "",
    queue: Annotated[list[str] | None, typer.Option(help="Queue to serve (repeatable).")] = None,
    database: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Add a user."""
    from smsdesk.operations.admin import add_user

    secret = _new_password(user_name, password)
    services = _services(_settings(config, database))
    user = _run(
        add_user(
            services,
            user_name,
            secret,
            role=role,
            tenant=tenant,
            first_name=first_name,
            last_name=last_name,
            queues=tuple(queue or ()),
        )
    )
    console.print(f"added {role} {user.user_name} ({user.id}) to contact center {user.tenant_id}")


@users_app.command("list")
def users_list(database: DatabaseOption = None, config: ConfigOption = None) -> None:
    """List users."""
    from smsdesk.operations.admin import list_users

    users = _run(list_users(_services(_settings(config, database))))
    table = Table("user name", "id", "contact center", "roles", "enabled")
    for user in users:
        table.add_row(
            user.user_name, user.id, user.tenant_id, ", ".join(user.roles), "yes" if user.enabled else "no"
        )
    console.print(table)


@users_app.command("passwd")
def users_passwd(
    user_name: Annotated[str, typer.Argument(help="Login name.")],
    password: Annotated[str | None, typer.Option(help="New password; prompted for when omitted.")] = None,
    database: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Change a user's password (running servers honour it within credential_trust_s seconds)."""
    from smsdesk.operations.admin import set_password

    secret = _new_password(user_name, password)
    _run(set_password(_services(_settings(config, database)), user_name, secret))
    console.print(f"password of {user_name} changed")


@numbers_app.command("add")
def numbers_add(
    number: Annotated[str, typer.Argument(help="The service number in E.164, e.g. +15550100.")],
    queue: Annotated[str, typer.Option(help="Queue its new sessions wait in.")],
    tenant: Annotated[str, typer.Option(help="Contact center it belongs to.")] = "default",
    connector: Annotated[str, typer.Option(help="Connector that sends and receives its SMS.")] = "simulator",
    database: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Add an SMS service number."""
    from smsdesk.operations.admin import add_service_number

    added = _run(
        add_service_number(
            _services(_settings(config, database)), number, queue=queue, tenant=tenant, connector=connector
        )
    )
    console.print(f"{added.number} now routes to queue {queue} of {tenant} via {connector}")


@queues_app.command("supervise")
def queues_supervise(
    queue: Annotated[str, typer.Argument(help="The queue (of the supervisor's contact center).")],
    user_name: Annotated[str, typer.Argument(help="A user with the supervisor role.")],
    database: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Make USER a supervisor of QUEUE: they may then monitor, coach, barge in on and intrude on its agents."""
    from smsdesk.operations.admin import supervise_queue

    _run(supervise_queue(_services(_settings(config, database)), queue, user_name))
    console.print(f"{user_name} now supervises queue {queue}")


@customers_app.command("erase")
def customers_erase(
    number: Annotated[str, typer.Argument(help="The customer's phone number, e.g. +15551230000.")],
    tenant: Annotated[str, typer.Option(help="Contact center whose data to erase.")] = "default",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    database: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Erase every conversation, message and user data of NUMBER in a contact center (cannot be undone).

    An opt-out (STOP) survives as a keyed digest of the number; the audit log records the erasure
    without the number. Refused while an agent still has one of the customer's conversations.
    """
    from smsdesk.node import scrub_of
    from smsdesk.operations.customers import erase_customer

    if not yes and sys.stdin.isatty():
        typer.confirm(f"Erase everything {tenant} holds about {number}? This cannot be undone", abort=True)
    services = _services(_settings(config, database))
    report = _run(erase_customer(services, tenant, number, None, scrub_of(services.store)))  # type: ignore[arg-type]
    console.print(
        f"erased {report.sessions} conversation(s), {report.messages} message(s) and "
        f"{report.notifications} notification(s) of {number} in {tenant}"
        + ("; the opt-out (STOP) is kept as a keyed digest" if report.opt_out_kept else ""),
        markup=False,
    )
    console.print(report.storage, markup=False)


@retention_app.command("set")
def retention_set(
    days: Annotated[str, typer.Argument(help="Days to keep finished conversations, or 'keep' (for ever).")],
    tenant: Annotated[str, typer.Option(help="The contact center.")] = "default",
    database: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Keep finished conversations DAYS days (then the server deletes them), or for ever."""
    from smsdesk.operations.administration import Administration

    if days != "keep" and not days.isdigit():
        _fail(f"DAYS must be a whole number of days or 'keep', not {days!r}", code=2)
    services = _services(_settings(config, database))

    async def apply() -> None:
        async with services.store.transaction() as tx:
            tenant_id = await tx.tenants.by_name(tenant)
        if tenant_id is None:
            _fail(f"contact center not found: {tenant}")
        await Administration(services).set_retention(None, tenant_id, None if days == "keep" else int(days))

    _run(apply())
    console.print(
        f"{tenant} keeps finished conversations for ever"
        if days == "keep"
        else f"{tenant} keeps finished conversations {int(days)} day(s); older ones are deleted by the server"
    )


@retention_app.command("run")
def retention_run(database: DatabaseOption = None, config: ConfigOption = None) -> None:
    """Delete now what is past every contact center's retention (the server does it every hour)."""
    from smsdesk.node import scrub_of
    from smsdesk.operations.customers import apply_retention

    services = _services(_settings(config, database))
    erased = _run(apply_retention(services, scrub_of(services.store)))  # type: ignore[arg-type]
    console.print(f"deleted {erased.sessions} finished conversation(s) and {erased.messages} message(s)")


def _day_bound(text: str, end: bool, option: str) -> int:
    """Epoch ms of a date (its whole day: the start, or the end for ``--to``) or a date and time, in
    the server's local time zone unless the value names one."""
    from datetime import datetime, timedelta

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        _fail(
            f"{option} must be a date (2026-12-01) or a date and time (2026-12-01T08:00), not {text!r}",
            code=2,
        )
    if len(text) <= 10 and end:
        moment += timedelta(days=1)
    return int(moment.timestamp() * 1000)


_CSV_COLUMNS = (
    "session_id", "received", "contact_center", "queue", "service_number", "customer_number", "chat_type",
    "disposition", "comment", "user_data", "index", "timestamp", "from", "participant_type", "visibility",
    "type", "text",
)  # fmt: skip


def _csv_rows(transcript: dict[str, Any]) -> list[list[object]]:
    import json
    from datetime import datetime

    def when(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000).astimezone().isoformat(timespec="milliseconds")

    head = [
        transcript["id"],
        when(transcript["receivedMs"]),
        transcript["contactCenter"],
        transcript["queue"],
        transcript["serviceNumber"],
        transcript["customerNumber"],
        transcript["chatType"],
        transcript["disposition"] or "",
        transcript["comment"] or "",
        json.dumps(transcript["userData"], ensure_ascii=False),
    ]
    messages = transcript["messages"] or [None]
    return [
        head + (["", "", "", "", "", "", ""] if m is None else [
            m["index"], when(m["timestampMs"]), m["from"], m["participantType"], m["visibility"], m["type"],
            m["text"] or "",
        ])
        for m in messages
    ]  # fmt: skip


@app.command("export")
def export(
    from_: Annotated[
        str, typer.Option("--from", help="First day (2026-12-01) or moment (2026-12-01T08:00).")
    ],
    to: Annotated[str, typer.Option("--to", help="Last day, included (or a moment, excluded).")],
    format_: Annotated[
        str, typer.Option("--format", help="jsonl (one conversation a line) or csv (one message a row).")
    ] = "jsonl",
    tenant: Annotated[str | None, typer.Option(help="One contact center (default: all).")] = None,
    output: Annotated[str | None, typer.Option(help="File to write (default: standard output).")] = None,
    database: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Export the transcripts of the conversations received in a period, with their user data and
    dispositions (a progress bar on a terminal)."""
    import csv
    import json

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from smsdesk.operations.customers import count_transcripts, transcripts

    if format_ not in ("jsonl", "csv"):
        _fail(f"--format must be jsonl or csv, not {format_!r}", code=2)
    start, end = _day_bound(from_, False, "--from"), _day_bound(to, True, "--to")
    if end <= start:
        _fail("--to must come after --from", code=2)
    services = _services(_settings(config, database))
    target = open(output, "w", newline="", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    writer = csv.writer(target) if format_ == "csv" else None

    async def run() -> int:
        total = await count_transcripts(services, tenant, start, end)
        if writer is not None:
            writer.writerow(_CSV_COLUMNS)
        written = 0
        with Progress(
            TextColumn("exporting"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            disable=not err.is_terminal,
            transient=True,
        ) as progress:
            task = progress.add_task("export", total=total)
            async for transcript in transcripts(services, tenant, start, end):
                if writer is not None:
                    writer.writerows(_csv_rows(transcript))
                else:
                    target.write(json.dumps(transcript, ensure_ascii=False) + "\n")
                written += 1
                progress.advance(task)
        return written

    try:
        written = _run(run())
    finally:
        if output:
            target.close()
    err.print(f"exported {written} conversation(s)" + (f" to {output}" if output else ""))


TenantOption = Annotated[str, typer.Option(help="Contact center (default: default).")]


def _print_queue_setup(stored: Any) -> None:
    """A queue's hours and replies as the CLI set them (``QueueHours``)."""
    if stored.timezone is None:
        console.print(f"queue {stored.queue}: no opening hours (always open)", markup=False)
    else:
        dates = f"; closed on {', '.join(stored.closed_dates)}" if stored.closed_dates else ""
        ends = (
            "; a session that starts while closed ends after the closed reply"
            if stored.when_closed == "complete"
            else ""
        )
        console.print(
            f"queue {stored.queue}: open {stored.weekly} ({stored.timezone}){dates}{ends}", markup=False
        )
    console.print(f"  closed reply: {stored.closed_reply or '(none)'}", markup=False)
    if stored.waiting_reply:
        console.print(
            f"  waiting reply after {stored.waiting_after_s} s: {stored.waiting_reply}", markup=False
        )
    else:
        console.print("  waiting reply: (none)", markup=False)


@queues_app.command("hours")
def queues_hours(
    queue: Annotated[str, typer.Argument(help="The queue.")],
    timezone: Annotated[
        str | None,
        typer.Option(help="IANA time zone the hours are in, e.g. Europe/Paris or America/New_York."),
    ] = None,
    weekly: Annotated[
        str | None,
        typer.Option(
            help='When it is open each week, e.g. "mon-fri 09:00-17:00; sat 10:00-14:00" (days: mon..sun, '
            "ranges like mon-fri, lists like mon,wed, or daily; several times with commas; 22:00-02:00 runs past midnight)."
        ),
    ] = None,
    closed_date: Annotated[
        list[str] | None, typer.Option(help="A date it is closed all day, YYYY-MM-DD (repeatable).")
    ] = None,
    when_closed: Annotated[
        str,
        typer.Option(
            help="What happens to a session that starts while closed: queue (default: it waits and is offered "
            "at the opening) or complete (it ends after the closed reply)."
        ),
    ] = "queue",
    always_open: Annotated[bool, typer.Option("--always-open", help="Remove the opening hours.")] = False,
    tenant: TenantOption = "default",
    database: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Set (or, with no option, show) QUEUE's opening hours. While closed, routing offers none of its
    sessions. Running servers on the same database follow within seconds."""
    from smsdesk.operations import contact_centers, opening_hours

    services = _services(_settings(config, database))

    async def act() -> Any:
        tenant_id = await contact_centers.tenant_id_named(services, tenant)
        if always_open:
            return await opening_hours.clear_hours(services, tenant_id, queue)
        if timezone is None and weekly is None and not closed_date:
            return await opening_hours.read(services, tenant_id, queue)
        if timezone is None or weekly is None:
            _fail("give both --timezone and --weekly (or --always-open)", code=2)
        return await opening_hours.set_hours(
            services, tenant_id, queue, timezone, weekly, tuple(closed_date or ()), when_closed
        )

    _print_queue_setup(_run(act()))


@queues_app.command("replies")
def queues_replies(
    queue: Annotated[str, typer.Argument(help="The queue.")],
    closed: Annotated[
        str | None,
        typer.Option(
            help="Sent once per conversation to a customer who texts while the queue is closed. "
            "Placeholders: {{queue.opensAt}}, {{queue.position}}, {{queue.name}}, {{customer.phoneNumber}}."
        ),
    ] = None,
    waiting: Annotated[
        str | None,
        typer.Option(
            help="Sent once to a customer still waiting for an agent after --waiting-after-s. "
            "Placeholders: {{queue.position}}, {{queue.name}}, {{customer.phoneNumber}}."
        ),
    ] = None,
    waiting_after_s: Annotated[
        int | None,
        typer.Option(help="Seconds a customer waits (while the queue is open) before the waiting reply."),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove both replies.")] = False,
    tenant: TenantOption = "default",
    database: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Set (or, with no option, show) QUEUE's automatic replies; the options given replace theirs
    (an empty text removes that reply). Replies travel like an agent's message (receipts, retries;
    never to a customer who texted STOP). Running servers on the same database follow within seconds."""
    from smsdesk.operations import contact_centers, opening_hours

    services = _services(_settings(config, database))

    async def act() -> Any:
        tenant_id = await contact_centers.tenant_id_named(services, tenant)
        current = await opening_hours.read(services, tenant_id, queue)
        if clear:
            return await opening_hours.set_replies(services, tenant_id, queue, None, None, None)
        if closed is None and waiting is None and waiting_after_s is None:
            return current
        # An option given replaces its part ("" removes it); the others stay as they are.
        new_closed = (closed or None) if closed is not None else current.closed_reply
        new_waiting = (waiting or None) if waiting is not None else current.waiting_reply
        after = waiting_after_s if waiting_after_s is not None else current.waiting_after_s
        return await opening_hours.set_replies(
            services,
            tenant_id,
            queue,
            new_closed,
            new_waiting,
            after if new_waiting is not None else waiting_after_s,
        )

    _print_queue_setup(_run(act()))


@responses_app.command("add")
def responses_add(
    name: Annotated[str, typer.Argument(help="Its name, unique in the contact center (agents search it).")],
    text: Annotated[
        str,
        typer.Option(
            help="The text. Placeholders filled when sent: {{customer.phoneNumber}}, {{agent.firstName}}, "
            "{{agent.lastName}}, {{agent.nickname}}, {{agent.userName}}, {{userData.KEY}}."
        ),
    ],
    category: Annotated[str, typer.Option(help="A category to group it under.")] = "",
    tenant: TenantOption = "default",
    database: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Add a standard response."""
    from smsdesk.operations import standard_responses

    added = _run(
        standard_responses.add_in(_services(_settings(config, database)), tenant, name, text, category)
    )
    console.print(f"added standard response {added.name} ({added.id}) to {tenant}", markup=False)


@responses_app.command("list")
def responses_list(
    tenant: TenantOption = "default", database: DatabaseOption = None, config: ConfigOption = None
) -> None:
    """List the standard responses."""
    from smsdesk.operations import standard_responses

    responses = _run(standard_responses.list_in(_services(_settings(config, database)), tenant))
    if not responses:
        console.print(f"no standard responses in {tenant}", markup=False)
        return
    table = Table("name", "category", "text", "id")
    for response in responses:
        table.add_row(escape(response.name), escape(response.category), escape(response.text), response.id)
    console.print(table)


@responses_app.command("remove")
def responses_remove(
    name: Annotated[str, typer.Argument(help="The standard response's name.")],
    tenant: TenantOption = "default",
    database: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Remove a standard response."""
    from smsdesk.operations import standard_responses

    removed = _run(standard_responses.remove_named(_services(_settings(config, database)), tenant, name))
    console.print(f"removed standard response {removed.name} from {tenant}", markup=False)


ServerOption = Annotated[
    str | None,
    typer.Option(
        help="Base URL of a running smsdesk with the simulator on. Default: where `smsdesk serve` "
        "listens with the same environment: $HOST and $PORT (as `make run` takes them), else the "
        "host and port settings (SMSDESK_HOST, SMSDESK_PORT, --config), else http://127.0.0.1:8080."
    ),
]


def _simulator_server(server: str | None, config: str | None) -> tuple[str, str]:
    """The server to talk to, and where that address came from (said when it cannot be reached)."""
    if server:
        return server.rstrip("/"), "--server"
    settings = _settings(config, None)
    host, port = os.environ.get("HOST", "").strip(), _port_from_environment()
    sources = [
        "$HOST" if host else "the host setting" if settings.host != Settings.host else "",
        "$PORT" if port else "the port setting" if settings.port != Settings.port else "",
    ]
    origin = " and ".join(source for source in sources if source) or "the default address"
    return f"http://{_reachable(host or settings.host)}:{port or settings.port}", origin


def _reachable(host: str) -> str:
    """A server listening on every interface is reached on loopback; IPv6 literals need brackets."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _simulator_call(method: str, server: str, origin: str, **request: Any) -> dict[str, Any]:
    """One request to the simulator's routes, every failure turned into one ``error:`` line."""
    try:
        response = httpx.request(method, server + "/simulator/sms", timeout=10, **request)
    except httpx.HTTPError as exc:
        remedy = (
            "give --server URL"
            if origin == "--server"
            else "set PORT (and HOST) as for `make run`, or give --server URL"
        )
        _fail(
            f"cannot reach {server} (from {origin}): {exc or type(exc).__name__}. Is smsdesk running there? If it listens elsewhere, {remedy}"
        )
    # An unknown route is answered "No such resource" (the simulator's own 404 names the number).
    if response.status_code == 404 and "No such resource" in response.text:
        _fail(f"{server} has no simulator (start it with --demo or the simulator connector)")
    try:
        body = response.json()
    except ValueError:
        _fail(f"{server} answered {response.status_code} with something that is not JSON: is it smsdesk?")
    if not isinstance(body, dict) or body.get("statusCode") != 0:
        _fail(str(body.get("statusMessage") if isinstance(body, dict) else body))
    return body


@sms_app.command("send")
def sms_send(
    text: Annotated[str, typer.Argument(help="The message text.")],
    sender: Annotated[str, typer.Option("--from", help="The customer's number, e.g. +15551230000.")],
    recipient: Annotated[str, typer.Option("--to", help="The service number, e.g. +15550100.")] = "+15550100",
    server: ServerOption = None,
    config: ConfigOption = None,
) -> None:
    """Send an SMS from a customer's handset to a service number, through the simulator."""
    address, origin = _simulator_server(server, config)
    _simulator_call("POST", address, origin, json={"from": sender, "to": recipient, "text": text})
    console.print(f"sent from {sender} to {recipient}")


@sms_app.command("inbox")
def sms_inbox(
    number: Annotated[str, typer.Argument(help="The customer's number whose handset to read.")],
    server: ServerOption = None,
    config: ConfigOption = None,
) -> None:
    """Show what a customer's handset has received."""
    address, origin = _simulator_server(server, config)
    messages = _simulator_call("GET", address, origin, params={"number": number}).get("messages") or []
    if not messages:
        console.print(f"no messages for {number}", markup=False)
    for message in messages:
        console.print(f"{message['from']} → {message['to']}: {message['text']}", markup=False)


def _click_exception(name: str) -> type[Exception]:
    """An exception class of the click that typer runs on (recent typers carry their own copy),
    found through typer's public ``BadParameter``, whichever click that is."""
    return next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == name)


_ClickException = _click_exception("ClickException")
_UsageError = _click_exception("UsageError")


def main() -> None:
    # Whatever goes wrong, an operator gets one line that says what, never a traceback or a box.
    try:
        code = app(standalone_mode=False)
    except _ClickException as exc:
        refusal = cast(Any, exc)
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.exit(2)  # the help has been printed: that is the answer to a bare command group
        message = escape(refusal.format_message())
        if isinstance(exc, _UsageError) and refusal.ctx is not None:
            message += f" (see {escape(refusal.ctx.command_path)} --help)"
        err.print(f"[red]error:[/red] {message}")
        sys.exit(refusal.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        err.print(f"[red]error:[/red] {escape(str(exc) or type(exc).__name__)}")
        sys.exit(1)
    if code == 130:  # typer turns Ctrl-C into this exit code
        err.print("interrupted")
    sys.exit(code if isinstance(code, int) else 0)

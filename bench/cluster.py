"""Cluster benchmark: what one SQLite node, PostgreSQL nodes and PostgreSQL scaled out cost, in one run.

Run ``.venv/bin/python bench/cluster.py`` (``make bench-cluster``; ``--quick`` for a smoke run of
under ~3 minutes whose figures mean nothing, ``--help`` for the options). Needs Debian's
``postgresql`` (with its ``pg_stat_statements``) and ``nginx``, and ``node``/``npm`` for the
CometD desktops (``bench/peers``, installed with ``npm ci`` on first use).

Deployments (``--deployments``): ``sqlite`` one SQLite node; ``pg1`` one PostgreSQL node;
``pg2w`` ``serve --workers 2`` on PostgreSQL; ``pg2n`` two PostgreSQL nodes behind nginx
round-robin, no stickiness; ``pg2a`` the same with soft affinity (nginx hashes the ``JSESSIONID``
cookie, ``hash ... consistent``, and passes a request to the other node when its own is down);
``pg1s`` (only when asked for) one PostgreSQL node with ``synchronous_commit = on``. The others
use ``synchronous_commit = off``, the durability of SQLite's default (docs/scaling.md §3).

Scenarios (``--scenarios``), reusing the two single-node benchmarks rather than rewriting them:

1. ``ops``: ``UpdateUserData`` end to end (``bench/operations.py``: HTTP in, commit,
   PropertiesUpdated delivered to the agent's Bayeux long-poll), closed loop, rounds interleaved
   across the deployments. Each agent's requests and its Bayeux client send back the
   ``JSESSIONID`` its sign-in got, as a browser does (affinity depends on it). For every
   deployment: ops/s, notification latency, the whole deployment's CPU per operation (smsdesk's
   processes, PostgreSQL's, nginx's: ``bench/deployment_cost.py`` says what each counts) and, on
   PostgreSQL, statements and committed transactions per operation (``pg_stat_statements``,
   ``pg_stat_database``) with the statements that make them up.
2. ``fanout``: 1,000 agents x 10 desktops at 200 operations/s (``bench/notifications.py`` S2,
   the official CometD client under Node, each desktop with its own cookie jar).
3. ``idle``: one PostgreSQL node, and two behind nginx, each with one subscribed desktop and no
   operations for 30 s: statements per second and which.
4. ``writes``: one PostgreSQL primary's rate for the outbox append every notifying operation
   ends with (docs/scaling.md derives the outbox ceiling from it).

Then one table per scenario and the targets, each marked met or not met. This file runs the
scenarios; ``bench/deployments.py`` starts the deployments, ``bench/deployment_cost.py`` measures
what they cost, ``bench/cluster_report.py`` prints, ``bench/outbox_rate.py`` is scenario 4.

Honesty notes: this machine has 2 cores, shared with other engineers' test runs. Nothing is pinned
here (two workers need both cores, and PostgreSQL and the load driver share them too), so every
deployment competes with the driver and PostgreSQL for the same 2 cores; the in-run ratios are more
trustworthy than the absolute figures. PostgreSQL runs with its durable defaults (fsync on). Every
wait has a deadline: a deployment that stops answering fails its scenario with the last lines of
its logs, and the run goes on with the others. Speed never fails the run; the exit status is
non-zero only when something functionally broke (errors, lost or duplicate notifications, a
scenario that could not run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "scripts")]

import notifications  # noqa: E402
import operations  # noqa: E402
from cluster_report import NO_PINNING, IdleFigures, load_average, machine, nproc, report  # noqa: E402
from deployment_cost import CpuParts, PostgresCounters, PostgresWork  # noqa: E402
from deployments import (  # noqa: E402
    DEFAULT_KEYS,
    DEPLOYMENTS,
    FANOUT_KEYS,
    IDLE_KEYS,
    Deployer,
    Deployment,
    Front,
)
from operations import HOST, progress  # noqa: E402
from outbox_rate import write_rate_scenario  # noqa: E402

from local_services import ThrowawayPostgres, files_per_worker  # noqa: E402

# --------------------------------------------------------------------------------------------------
# 1. UpdateUserData end to end (bench/operations.py).


class OperationsBench(operations.Bench):
    """``operations.Bench`` on a deployment of ours instead of its own SQLite server, measuring the
    deployment's CPU by part and, on PostgreSQL, its statements and commits, round by round."""

    def __init__(
        self,
        args: argparse.Namespace,
        workdir: Path,
        deployer: Deployer,
        deployment: Deployment,
        counters: PostgresCounters | None,
    ) -> None:
        super().__init__(args, workdir, NO_PINNING)
        self.deployer = deployer
        self.deployment = deployment
        self.counters = counters if deployment.postgres else None
        self.front: Front | None = None
        self.cpu_mark = CpuParts()
        self.commit_reading: int | None = None  # xact_commit before the last measured round
        self.awaiting_commits: operations.RoundResult | None = None

    async def start_smsdesk(self) -> None:
        database_url = self.deployer.database_url(self.deployment, "ops")
        names = [f"bench-agent{i + 1}" for i in range(self.args.agents)]
        number = "+18885550100"
        await asyncio.wait_for(operations.provision(database_url, f"http://{HOST}", names, number), 300)
        self.front = await self.deployer.start(self.deployment, database_url, self.env(), clients=200)
        self.smsdesk = self.front  # type: ignore[assignment]  # duck-typed Server
        self.servers.append(self.front)  # type: ignore[arg-type]  # stopped by close()
        self.agents = [
            operations.Agent(i, name, operations.basic_auth(name, operations.PASSWORD))
            for i, name in enumerate(names)
        ]
        await self.prepare_agents(number)
        if self.counters is not None and self.front.database is not None:
            self.counters.active_until_now(self.front.database)

    def round_started(self, result: operations.RoundResult) -> None:
        assert self.front is not None
        self.cpu_mark = self.front.cpu_parts()

    def round_ended(self, result: operations.RoundResult) -> None:
        assert self.front is not None
        result.measured["cpu"] = self.front.cpu_parts() - self.cpu_mark

    async def measured_round(self, index: int, duration: float) -> operations.RoundResult:
        """One round (index 0: the warm-up), with the statements run during it and, once they are
        reported, the transactions committed (``finish`` reads the last round's)."""
        database = self.front.database if self.front is not None else None
        if self.counters is None or database is None:
            return await self.run_round("smsdesk", index, duration)
        if index > 0:
            await self.read_commits()
            await self.counters.reset_statements()
        result = await self.run_round("smsdesk", index, duration)
        if index > 0:
            result.measured["statements"] = await self.counters.statements(database)
            self.awaiting_commits = result
        self.counters.active_until_now(database)
        return result

    async def read_commits(self) -> None:
        """Read ``xact_commit`` once settled: the previous round's commits, the next one's start."""
        assert self.counters is not None and self.front is not None and self.front.database is not None
        reading = await self.counters.settled_commits(self.front.database)
        if self.awaiting_commits is not None and self.commit_reading is not None:
            self.awaiting_commits.measured["commits"] = reading - self.commit_reading
            self.awaiting_commits = None
        self.commit_reading = reading

    async def finish(self) -> None:
        if self.counters is not None and self.front is not None and self.front.database is not None:
            await self.read_commits()


async def operations_scenario(
    args: argparse.Namespace, workdir: Path, deployer: Deployer, counters: PostgresCounters
) -> dict[str, Any]:
    ops_args = operations.parse_args(
        ["--duration", str(args.duration), "--rounds", str(args.rounds), "--agents", str(args.ops_agents)]
    )
    ops_args.server_log_level = args.server_log_level
    ops_args.desktop_ack = args.desktop_ack
    benches = [OperationsBench(ops_args, workdir, deployer, d, counters) for d in args.ops_deployments]
    results: dict[str, list[operations.RoundResult]] = {b.deployment.key: [] for b in benches}
    try:
        for bench in benches:
            progress(f"operations: starting {bench.deployment.label}")
            await bench.start_smsdesk()
        for bench in benches:  # warm-up, not counted
            warm = await bench.measured_round(0, min(2.0, args.duration))
            progress(f"  warm-up {bench.deployment.label}: {operations.brief(warm)}")
        for index in range(1, args.rounds + 1):
            for bench in benches:
                result = await bench.measured_round(index, args.duration)
                results[bench.deployment.key].append(result)
                progress(f"  round {index} {bench.deployment.label}: {operations.brief(result)}")
                progress(f"    {round_costs(result)}")
                for sample in result.error_samples:
                    print(f"    error: {sample}", flush=True)
                if result.errors and bench.front is not None:
                    print(
                        f"last lines of {bench.deployment.label}'s logs:\n{bench.front.log_tails()}",
                        flush=True,
                    )
        progress("operations: waiting for PostgreSQL to report the last rounds' commits")
        await asyncio.gather(*(bench.finish() for bench in benches))
    finally:
        for bench in benches:
            bench.close()
    return results


def round_costs(result: operations.RoundResult) -> str:
    cpu: CpuParts = result.measured["cpu"]
    ops = max(result.ops, 1)
    text = (
        f"CPU ms/op {1000 * cpu.total / ops:.3f} (smsdesk {1000 * cpu.smsdesk / ops:.3f},"
        f" PostgreSQL {1000 * cpu.postgres / ops:.3f}, nginx {1000 * cpu.nginx / ops:.3f})"
    )
    if "statements" in result.measured:
        calls = sum(s.calls for s in result.measured["statements"])
        text += f"; {calls / ops:.1f} statements/op"
    return text


# --------------------------------------------------------------------------------------------------
# 2. The 1,000 x 10 fan-out (bench/notifications.py S2).


async def fanout_scenario(args: argparse.Namespace, workdir: Path, deployer: Deployer) -> dict[str, Any]:
    notifications.ensure_node_modules()
    fan_args = notifications.parse_args(["--duration", str(args.fanout_duration)])
    fan_args.server_log_level = args.server_log_level
    if args.quick:  # the warm-up and the idle baseline before each round, as notifications.py --quick
        fan_args.warmup, fan_args.idle, fan_args.settle = 0.3, 0.5, 0.2
    bench = notifications.Bench(fan_args, workdir, NO_PINNING)
    bench.desktop_ack = args.desktop_ack
    fronts: list[Front] = []
    rounds: dict[str, list[Any]] = {d.key: [] for d in args.fanout_deployments}
    clients = args.fanout_agents * 10 + 300  # the desktops' long-polls and the operations' sockets
    try:
        for deployment in args.fanout_deployments:
            progress(f"fan-out: provisioning {args.fanout_agents} agents on {deployment.label}")
            database_url = deployer.database_url(deployment, "fanout")
            names = [f"bench-{deployment.key}-{i + 1}" for i in range(args.fanout_agents)]
            await asyncio.wait_for(asyncio.to_thread(notifications.provision, database_url, names), 600)
            front = await deployer.start(deployment, database_url, bench.env(), clients=clients)
            fronts.append(front)
            within = 120 + args.fanout_agents / 5
            bench.agents[front.name] = await asyncio.wait_for(
                notifications.prepare_agents(front.port, names), within
            )
        for index in range(args.fanout_rounds):
            for front in fronts:
                deployment = front.deployment
                progress(
                    f"fan-out {args.fanout_agents} x 10 at {args.fanout_rate:g} ops/s: {deployment.label},"
                    f" round {index + 1}"
                )
                try:
                    r = await bench.load_round(
                        notifications.SMSDESK_LP,
                        front,  # type: ignore[arg-type]  # duck-typed Server
                        args.fanout_agents,
                        10,
                        args.fanout_rate,
                        args.fanout_duration,
                    )
                except (TimeoutError, RuntimeError) as error:
                    # The driver could not get every client connected, or gave up: say why, with
                    # the deployment's logs, and go on with the other deployments.
                    reason = f"{type(error).__name__}: {error}"[:600]
                    bench.failures.append(f"{deployment.label}: round {index + 1} not run: {reason}")
                    progress(bench.failures[-1])
                    print(front.log_tails(), flush=True)
                    continue
                progress("  " + r.brief())
                bench.check(deployment.label, r)
                if r.result["errors"]:
                    print(f"last lines of {deployment.label}'s logs:\n{front.log_tails()}", flush=True)
                rounds[deployment.key].append(r)
    finally:
        for front in fronts:
            front.stop()
    return {"rounds": rounds, "failures": bench.failures}


# --------------------------------------------------------------------------------------------------
# 3. An idle node: one subscribed desktop, no operations.


async def idle_scenario(
    args: argparse.Namespace, workdir: Path, deployer: Deployer, counters: PostgresCounters
) -> dict[str, IdleFigures]:
    """Every idle deployment at once (each on its own database), measured over the same window."""
    notifications.ensure_node_modules()
    fan_args = notifications.parse_args([])
    fan_args.server_log_level = args.server_log_level
    bench = notifications.Bench(fan_args, workdir, NO_PINNING)
    bench.desktop_ack = args.desktop_ack
    env = bench.env()
    # The product's own long-poll hold and session expiry: what an idle node really does.
    env.pop("SMSDESK_BAYEUX_TIMEOUT_MS", None)
    env.pop("SMSDESK_BAYEUX_MAX_INTERVAL_MS", None)
    fronts: list[Front] = []
    drivers: list[notifications.Driver] = []
    try:
        for deployment in args.idle_deployments:
            progress(f"idle: {deployment.label} with one subscribed desktop")
            database_url = deployer.database_url(deployment, "idle")
            names = [f"idle-{deployment.key}-1"]
            await asyncio.wait_for(asyncio.to_thread(notifications.provision, database_url, names), 120)
            front = await deployer.start(deployment, database_url, env, clients=10)
            fronts.append(front)
            bench.agents[front.name] = await asyncio.wait_for(
                notifications.prepare_agents(front.port, names), 120
            )
            config = bench.driver_config(notifications.SMSDESK_LP, front, 1, 1)  # type: ignore[arg-type]
            driver = await notifications.Driver.start(config, workdir)
            drivers.append(driver)
            await driver.ready(within=120)
        progress(f"idle: settling {args.idle_settle:g} s, then {args.idle_window:g} s with nothing to do")
        await asyncio.sleep(args.idle_settle)
        await counters.reset_statements()
        marks = {front.name: front.cpu_parts() for front in fronts}
        started = time.monotonic()
        await asyncio.sleep(args.idle_window)
        window = time.monotonic() - started
        figures: dict[str, IdleFigures] = {}
        for front in fronts:
            assert front.database is not None
            work = PostgresWork(await counters.statements(front.database))
            figures[front.deployment.key] = IdleFigures(window, work, front.cpu_parts() - marks[front.name])
            progress(
                f"  {front.deployment.label}: {figures[front.deployment.key].per_second:.2f} statements/s"
            )
        return figures
    finally:
        for driver in drivers:
            await driver.quit()
        for front in fronts:
            front.stop()


# --------------------------------------------------------------------------------------------------
# Main.

SCENARIOS = ("writes", "ops", "fanout", "idle")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="What one SQLite node, PostgreSQL nodes and PostgreSQL scaled out behind nginx cost, "
        "measured in one run: UpdateUserData end to end (ops/s, latency, the whole deployment's CPU, "
        "PostgreSQL statements and commits per operation), the 1,000 x 10 fan-out, an idle node, and "
        "PostgreSQL's outbox write rate. Prints a table and the targets, met or not; exits non-zero "
        "only on functional failures.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: tiny and short (< 3 min), figures meaningless"
    )
    parser.add_argument("--rounds", type=int, default=3, help="operations rounds per deployment (default 3)")
    parser.add_argument(
        "--duration", type=float, default=5.0, help="seconds per operations round (default 5)"
    )
    parser.add_argument(
        "--ops-agents", type=int, default=50, help="agents in the operations scenario (default 50)"
    )
    parser.add_argument(
        "--fanout-agents", type=int, default=1000, help="agents in the fan-out (default 1,000)"
    )
    parser.add_argument(
        "--fanout-rate", type=float, default=200.0, help="fan-out operations per second (default 200)"
    )
    parser.add_argument(
        "--fanout-rounds", type=int, default=2, help="fan-out rounds per deployment (default 2)"
    )
    parser.add_argument(
        "--fanout-duration", type=float, default=8.0, help="seconds per fan-out round (default 8)"
    )
    parser.add_argument(
        "--idle-window", type=float, default=30.0, help="seconds of the idle measurement (default 30)"
    )
    parser.add_argument(
        "--write-duration", type=float, default=5.0, help="seconds per write-rate measurement (default 5)"
    )
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help=f"any of {', '.join(SCENARIOS)} (default all)"
    )
    parser.add_argument(
        "--deployments",
        default=",".join(DEFAULT_KEYS),
        help=f"comma-separated subset of {', '.join(d.key for d in DEPLOYMENTS)} (default "
        f"{','.join(DEFAULT_KEYS)}); the fan-out runs on those of {','.join(FANOUT_KEYS)}, the idle "
        f"scenario on those of {','.join(IDLE_KEYS)}",
    )
    parser.add_argument("--server-log-level", default="warning", help="smsdesk --log-level (default warning)")
    parser.add_argument(
        "--desktop-ack",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="desktops use the CometD ack extension, as smsdesk's own desktop does (default on; "
        "--no-desktop-ack measures clients without it, whose delivering replies cost a statement each)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (databases, logs)")
    args = parser.parse_args(argv)
    args.idle_settle = 5.0
    if args.quick:
        args.rounds, args.duration, args.ops_agents = 1, 1.5, 10
        args.fanout_agents, args.fanout_rate, args.fanout_rounds, args.fanout_duration = 20, 50.0, 1, 1.5
        args.write_duration, args.idle_window, args.idle_settle = 0.5, 8.0, 2.0
    args.scenarios = {s.strip() for s in args.scenarios.split(",") if s.strip()}
    if args.scenarios - set(SCENARIOS):
        parser.error(
            f"unknown scenario(s) {sorted(args.scenarios - set(SCENARIOS))}; known: {', '.join(SCENARIOS)}"
        )
    known = {d.key: d for d in DEPLOYMENTS}
    wanted = [k.strip() for k in args.deployments.split(",") if k.strip()]
    unknown = set(wanted) - set(known)
    if unknown:
        parser.error(f"unknown deployment(s) {sorted(unknown)}; known: {', '.join(known)}")
    if args.rounds < 1 or args.duration <= 0 or args.fanout_rounds < 1 or args.idle_window <= 0:
        parser.error("--rounds, --duration, --fanout-rounds and --idle-window must be positive")
    args.ops_deployments = [d for d in DEPLOYMENTS if d.key in wanted]
    args.fanout_deployments = [d for d in DEPLOYMENTS if d.key in wanted and d.key in FANOUT_KEYS]
    args.idle_deployments = [d for d in DEPLOYMENTS if d.key in wanted and d.key in IDLE_KEYS]
    return args


def scenario_budget(args: argparse.Namespace, name: str) -> float:
    """Seconds a scenario may take before it counts as hung (every inner wait has its own deadline;
    this is the last resort)."""
    if name == "writes":
        return 120.0 + 10 * (args.write_duration + 60)
    if name == "ops":
        per_round = args.duration + operations.DRAIN_S + operations.STUCK_S + 30
        return 300.0 + len(args.ops_deployments) * (300 + (args.rounds + 1) * per_round)
    if name == "fanout":
        setup = 600 + args.fanout_agents * 10 / 20
        per_round = 120 + args.fanout_agents * 10 / 50 + args.fanout_duration + 60
        return float(300 + len(args.fanout_deployments) * (setup + args.fanout_rounds * per_round))
    return float(300 + len(args.idle_deployments) * 400 + args.idle_window)


async def run(args: argparse.Namespace, workdir: Path) -> int:
    started_load = load_average()
    progress(f"{machine()}; nproc {nproc()}, load average {started_load}; {NO_PINNING.description}")
    progress(f"open-file limit {operations.raise_open_file_limit()}, {files_per_worker()} per nginx worker")
    postgres = ThrowawayPostgres(workdir / "postgres", durable=True, statements=True)
    await asyncio.to_thread(postgres.start)
    counters = PostgresCounters(postgres.url("postgres"))
    await counters.open()
    deployer = Deployer(workdir, postgres, args.server_log_level)
    outcomes: dict[str, Any] = {}
    failures: list[str] = []
    scenarios: dict[str, Callable[[], Awaitable[Any]]] = {
        "writes": lambda: write_rate_scenario(args, postgres),
        "ops": lambda: operations_scenario(args, workdir, deployer, counters),
        "fanout": lambda: fanout_scenario(args, workdir, deployer),
        "idle": lambda: idle_scenario(args, workdir, deployer, counters),
    }
    try:
        # One scenario failing to run must not cost the figures of the others.
        for name in SCENARIOS:
            if name not in args.scenarios:
                continue
            if name in ("fanout", "idle") and not getattr(args, f"{name}_deployments"):
                continue
            first_front = len(deployer.fronts)
            budget = scenario_budget(args, name)
            try:
                outcomes[name] = await asyncio.wait_for(scenarios[name](), budget)
            except Exception as error:
                if isinstance(error, TimeoutError):
                    text = f"did not finish within {budget:.0f} s (a wait without an answer)"
                else:
                    text = f"{type(error).__name__}: {error}"
                failures.append(f"scenario {name} did not complete: {text}"[:800])
                progress(failures[-1])
                for front in deployer.fronts[first_front:]:
                    print(f"last lines of {front.deployment.label}'s logs:\n{front.log_tails()}", flush=True)
                if not deployer.fronts[first_front:]:
                    print(f"PostgreSQL log:\n{postgres.log_tail()}", flush=True)
            finally:
                for front in deployer.fronts[first_front:]:
                    front.stop()
    finally:
        # Whatever ended the run (an error, Ctrl-C), nothing it started outlives it.
        for front in deployer.fronts:
            front.stop()
        await counters.close()
        await asyncio.to_thread(postgres.stop)
    broken = report(args, outcomes, started_load)
    for failure in failures:
        print(f"NOT MEASURED: {failure}")
    broken |= bool(failures)
    if broken:
        print(
            "FUNCTIONAL FAILURE: errors, lost or duplicate notifications, or a scenario that did not run (see above)"
        )
        args.keep = True
    return 1 if broken else 0


def interrupt(signum: int, frame: Any) -> None:
    """SIGTERM ends the run as Ctrl-C does: every deployment stopped, the temporary directory removed."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for tool in ("nginx", "psql", "node"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            print(
                f"error: {tool} not found (Debian's nginx, postgresql and nodejs packages)", file=sys.stderr
            )
            return 2
    import uvloop

    operations.raise_open_file_limit()
    signal.signal(signal.SIGTERM, interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="smsdesk-bench-cluster-"))
    workdir.chmod(0o711)  # the postgres account reaches its data directory inside
    started = time.monotonic()
    try:
        return uvloop.run(run(args, workdir))
    finally:
        progress(f"done in {time.monotonic() - started:.0f} s")
        if args.keep:
            print(f"logs and databases kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
    sys.exit(130)

"""The cluster benchmark's report: one table per scenario, then the targets, each met or not met."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import math
import os
import platform
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import notifications
import operations
from deployment_cost import QUERY_CHARS, CpuParts, PostgresWork, Statement
from deployments import PG_NGINX, PG_ONE, PG_WORKERS, SQLITE, Deployment

NO_PINNING = operations.Pinning(
    [], None, "no CPU pinning (the deployments use both cores, as production would)"
)

# The targets the report marks met or not met.
TARGET_PG_RATE = 0.7  # one PostgreSQL node's ops/s against one SQLite node's; also pg2w, pg2n
TARGET_CPU_RATIO = 1.5  # a deployment's whole CPU per operation against one SQLite node's
TARGET_STATEMENTS = 10.0  # per UpdateUserData
TARGET_COMMITS = 1.5  # per UpdateUserData
TARGET_IDLE_STATEMENTS_PER_S = 2.0  # a node with one subscribed desktop and nothing to do
TARGET_FANOUT_P99_MS = 100.0  # 1,000 x 10 at 200 ops/s, with 0 lost
FANOUT_TARGET_LOAD = (1000, 200.0)
TOP_STATEMENTS = 8
# What asyncpg's pool sends when a connection goes back to it: one round trip, four statements to
# pg_stat_statements.
POOL_RESET = {"SELECT pg_advisory_unlock_all()", "CLOSE ALL", "UNLISTEN *", "RESET ALL"}
POOL_RESET_NOTE = (
    "  (SELECT pg_advisory_unlock_all(), CLOSE ALL, UNLISTEN *, RESET ALL: asyncpg's reset of a connection"
    " returned to its pool, one round trip counted as four statements)"
)


@dataclass
class IdleFigures:
    window: float
    work: PostgresWork
    cpu: CpuParts

    @property
    def per_second(self) -> float:
        return self.work.calls / self.window


def machine() -> str:
    cpus = os.cpu_count()
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = sorted(p.name for p in Path("/usr/lib/postgresql").glob("*"))
    postgres = versions[-1] if versions else "?"
    return f"{platform.node()}: {cpus} CPU ({model}), Linux {platform.release()}, PostgreSQL {postgres}"


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def nproc() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def med(values: list[float]) -> float:
    clean = [v for v in values if not math.isnan(v)]
    return statistics.median(clean) if clean else math.nan


def fmt(value: float, digits: int = 2, suffix: str = "") -> str:
    return "-" if value is None or math.isnan(value) else f"{value:,.{digits}f}{suffix}"


@dataclass
class OpsSummary:
    """One deployment's line of the operations table: medians over its rounds."""

    deployment: Deployment
    rounds: list[operations.RoundResult]
    figures: operations.Figures
    cpu: dict[str, float]  # ms per operation by part, and "total"
    other_databases_ms: float
    statements: float  # per operation; nan on SQLite
    commits: float
    top: list[Statement]  # calls summed over the rounds

    @classmethod
    def of(cls, deployment: Deployment, rounds: list[operations.RoundResult]) -> OpsSummary:
        def per_op(part: str) -> float:
            return med([1000 * getattr(r.measured["cpu"], part) / r.ops for r in rounds if r.ops])

        cpu = {part: per_op(part) for part in ("smsdesk", "postgres", "nginx", "total")}
        statements = med(
            [
                sum(s.calls for s in r.measured["statements"]) / r.ops
                for r in rounds
                if "statements" in r.measured and r.ops
            ]
        )
        commits = med([r.measured["commits"] / r.ops for r in rounds if "commits" in r.measured and r.ops])
        merged: dict[str, int] = {}
        for r in rounds:
            for s in r.measured.get("statements", []):
                merged[s.query] = merged.get(s.query, 0) + s.calls
        top = sorted((Statement(q, c) for q, c in merged.items()), key=lambda s: -s.calls)[:TOP_STATEMENTS]
        return cls(
            deployment,
            rounds,
            operations.Figures.median(rounds),
            cpu,
            per_op("other_databases"),
            statements,
            commits,
            top,
        )

    @property
    def ops(self) -> int:
        return sum(r.ops for r in self.rounds)


@dataclass
class Verdicts:
    lines: list[str] = field(default_factory=list)

    def check(self, what: str, value: float, target: float, at_most: bool, shown: str) -> None:
        if math.isnan(value):
            self.lines.append(f"  {'NOT MEASURED':<13}{what}")
            return
        met = value <= target if at_most else value >= target
        self.lines.append(f"  {'met' if met else 'NOT MET':<13}{what}: {shown}")


def report_operations(args: argparse.Namespace, ops: dict[str, Any], verdicts: Verdicts) -> bool:
    summaries = [OpsSummary.of(d, ops[d.key]) for d in args.ops_deployments if ops.get(d.key)]
    broken = any(r.broken for s in summaries for r in s.rounds)
    print(
        f"\n1. UpdateUserData end to end: {args.ops_agents} agents, 32 keep-alive connections, "
        f"{args.rounds} x {args.duration:g} s rounds, medians; CPU = the whole deployment's, ms per operation"
    )
    print(
        f"  {'':<27}{'':>7}{'ops/s ratio':>14}{'notification':>17}{'CPU ms per operation':>30}"
        f"{'CPU':>8}{'per operation':>18}"
    )
    print(
        f"  {'deployment':<27}{'ops/s':>7}{'/SQLite':>8}{'/PG1':>6}{'p50 ms':>10}{'p99':>7}"
        f"{'total':>8}{'smsdesk':>8}{'PG':>7}{'nginx':>7}{'/SQLite':>8}{'stmts':>8}{'commits':>10}"
        f"{'lost':>5}{'err':>5}"
    )
    by_key = {s.deployment.key: s for s in summaries}
    base, pg1 = by_key.get(SQLITE.key), by_key.get(PG_ONE.key)
    for s in summaries:
        f = s.figures
        x_sqlite = f.rate / base.figures.rate if base and base.figures.rate else math.nan
        x_pg1 = f.rate / pg1.figures.rate if pg1 and pg1.figures.rate else math.nan
        cpu_x = s.cpu["total"] / base.cpu["total"] if base and base.cpu["total"] else math.nan
        print(
            f"  {s.deployment.label:<27}{f.rate:>7,.0f}{fmt(x_sqlite, 2, 'x'):>8}{fmt(x_pg1, 2, 'x'):>6}"
            f"{operations.ms(f.notification_p50):>10}{operations.ms(f.notification_p99):>7}"
            f"{fmt(s.cpu['total'], 3):>8}{fmt(s.cpu['smsdesk'], 3):>8}{fmt(s.cpu['postgres'], 3):>7}"
            f"{fmt(s.cpu['nginx'], 3):>7}{fmt(cpu_x, 2, 'x'):>8}{fmt(s.statements, 1):>8}{fmt(s.commits, 2):>10}"
            f"{f.lost:>5}{f.errors:>5}"
        )
    print(
        "  PG: the postmaster, its background processes and this deployment's backends; statements from"
        " pg_stat_statements,\n  commits from pg_stat_database.xact_commit, both for the deployment's database"
    )
    others = [s for s in summaries if s.other_databases_ms and not math.isnan(s.other_databases_ms)]
    if others:
        print(
            "  left out of PG: the other databases' backends (idle deployments, this benchmark's statistics"
            " connection), ms/op during each one's rounds: "
            + ", ".join(f"{s.deployment.key} {s.other_databases_ms:.3f}" for s in others)
        )
    for s in summaries:
        if s.top and s.ops:
            print(f"  {s.deployment.label}: top statements per operation (first {QUERY_CHARS} characters)")
            for statement in s.top:
                print(f"    {statement.calls / s.ops:>6.2f}  {statement.query}")
    if any(s.query in POOL_RESET for summary in summaries for s in summary.top):
        print(POOL_RESET_NOTE)

    if base is not None and pg1 is not None:
        ratio = pg1.figures.rate / base.figures.rate if base.figures.rate else math.nan
        verdicts.check(
            f"one PostgreSQL node >= {TARGET_PG_RATE}x one SQLite node's ops/s",
            ratio,
            TARGET_PG_RATE,
            False,
            f"{ratio:.2f}x",
        )
    if base is not None:
        for s in summaries:
            if s.deployment.postgres:
                ratio = s.cpu["total"] / base.cpu["total"] if base.cpu["total"] else math.nan
                verdicts.check(
                    f"{s.deployment.key}: whole-deployment CPU/op <= {TARGET_CPU_RATIO}x SQLite's",
                    ratio,
                    TARGET_CPU_RATIO,
                    True,
                    f"{s.cpu['total']:.3f} vs {base.cpu['total']:.3f} ms, {ratio:.2f}x",
                )
    for key in (PG_WORKERS.key, PG_NGINX.key):
        scaled_out = by_key.get(key)
        if scaled_out is None or pg1 is None or base is None:
            continue
        # Rounds are interleaved, so round i of both saw the same machine: "never below" is per round.
        worst = min(
            (
                mine.rate / theirs.rate
                for mine, theirs in zip(scaled_out.rounds, pg1.rounds, strict=False)
                if theirs.rate
            ),
            default=math.nan,
        )
        ratio = scaled_out.figures.rate / base.figures.rate if base.figures.rate else math.nan
        verdicts.check(
            f"{key} never below pg1 (worst round against pg1's)", worst, 1.0, False, f"{worst:.2f}x"
        )
        verdicts.check(
            f"{key} >= {TARGET_PG_RATE}x SQLite's ops/s", ratio, TARGET_PG_RATE, False, f"{ratio:.2f}x"
        )
    for s in summaries:
        if s.deployment.postgres:
            verdicts.check(
                f"{s.deployment.key}: <= {TARGET_STATEMENTS:g} statements per UpdateUserData",
                s.statements,
                TARGET_STATEMENTS,
                True,
                f"{s.statements:.1f}",
            )
            verdicts.check(
                f"{s.deployment.key}: <= {TARGET_COMMITS:g} commits per UpdateUserData",
                s.commits,
                TARGET_COMMITS,
                True,
                f"{s.commits:.2f}",
            )
    return broken


def report_fanout(args: argparse.Namespace, fanout: dict[str, Any], verdicts: Verdicts) -> bool:
    rounds: dict[str, list[Any]] = fanout["rounds"]
    failures: list[str] = fanout["failures"]
    print(
        f"\n2. Fan-out: {args.fanout_agents} agents x 10 desktops, {args.fanout_rate:g} ops/s, long-polling, "
        f"{args.fanout_rounds} x {args.fanout_duration:g} s rounds, medians; CPU = the whole deployment's"
    )
    print(
        f"  {'deployment':<27}{'p50 ms':>8}{'p99 ms':>8}{'lost':>6}{'dup':>5}{'ooo':>5}{'err':>5}"
        f"{'ops ok':>9}{'CPU ms/op':>10}{'ms/delivery':>12}"
    )
    summaries: dict[str, notifications.Summary] = {}
    for deployment in args.fanout_deployments:
        done = rounds.get(deployment.key) or []
        if not done:
            print(f"  {deployment.label:<27}  not measured")
            continue
        s = summaries[deployment.key] = notifications.Summary.of(deployment.label, done)
        ok = sum(r.result["ok"] for r in done)
        sent = sum(r.result["sent"] for r in done)
        per_op = med([1000 * r.server_cpu / r.result["ok"] for r in done if r.result["ok"]])
        print(
            f"  {deployment.label:<27}{s.p50:>8.2f}{s.p99:>8.2f}{s.lost:>6}{s.dup:>5}{s.ooo:>5}{s.errors:>5}"
            f"{f'{ok}/{sent}':>9}{fmt(per_op, 3):>10}{fmt(s.cpu, 3):>12}"
        )
    print(
        "  p50/p99: operation sent -> received by all 10 desktops; lost: deliveries still missing 5 s after"
        " the round's\n  last operation; CPU ms/op: the deployment's CPU over the round / operations;"
        " ms/delivery: idle CPU subtracted"
    )
    for failure in failures:
        print(f"  FAILURE: {failure}")
    full = (args.fanout_agents, args.fanout_rate) == FANOUT_TARGET_LOAD
    scaled = "" if full else " (NOT the target's load: scaled down)"
    for key in (PG_ONE.key, PG_NGINX.key):
        measured = summaries.get(key)
        what = f"fan-out 1,000 x 10 at 200 ops/s on {key}: 0 lost, p99 <= {TARGET_FANOUT_P99_MS:g} ms{scaled}"
        if measured is None:
            if any(d.key == key for d in args.fanout_deployments):
                verdicts.check(what, math.nan, 0, True, "")
            continue
        # Any loss or error misses the target whatever the latency.
        worst = measured.p99 if measured.lost + measured.errors == 0 else math.inf
        shown = f"lost {measured.lost}, errors {measured.errors}, p99 {measured.p99:.1f} ms"
        verdicts.check(what, worst, TARGET_FANOUT_P99_MS, True, shown)
    return bool(failures)


def report_idle(args: argparse.Namespace, idle: dict[str, IdleFigures], verdicts: Verdicts) -> None:
    print(
        f"\n3. Idle: one subscribed desktop (the official CometD client), no operations, {args.idle_window:g} s"
        " (the product's default long-poll hold)"
    )
    for deployment in args.idle_deployments:
        figures = idle.get(deployment.key)
        if figures is None:
            print(f"  {deployment.label:<27}  not measured")
            continue
        cpu = figures.cpu
        print(
            f"  {deployment.label:<27}{figures.per_second:>7.2f} statements/s; CPU % of a core: smsdesk"
            f" {100 * cpu.smsdesk / figures.window:.1f}, PostgreSQL {100 * cpu.postgres / figures.window:.1f},"
            f" nginx {100 * cpu.nginx / figures.window:.1f}"
        )
        for statement in figures.work.top(TOP_STATEMENTS):
            print(f"    {statement.calls / figures.window:>6.2f}/s  {statement.query}")
        # The target is an idle node's: a deployment of several nodes shares the figure out.
        per_node = figures.per_second / deployment.nodes
        verdicts.check(
            f"idle {deployment.key}: each node, one desktop, <= {TARGET_IDLE_STATEMENTS_PER_S:g} statements/s",
            per_node,
            TARGET_IDLE_STATEMENTS_PER_S,
            True,
            f"{per_node:.2f}/s per node ({figures.per_second:.2f}/s in all)",
        )
    if any(s.query in POOL_RESET for each in idle.values() for s in each.work.top(TOP_STATEMENTS)):
        print(POOL_RESET_NOTE)


def report_writes(writes: list[dict[str, float]]) -> None:
    print("\n4. One PostgreSQL primary (fsync on), outbox append transactions (1 KB row each)")
    for w in writes:
        shape = (
            "smsdesk's append, numbered at commit"
            if w.get("at_commit")
            else f"{w['heads']} head row(s), {'with   ' if w['notify'] else 'without'} NOTIFY"
        )
        print(
            f"  synchronous_commit {'on ' if w['synchronous_commit'] else 'off'}, {w['connections']:>2} connection(s),"
            f" {shape:<36}: {w['commits_per_s']:>8,.0f}"
            f" commits/s, latency p50 {w['latency_p50_ms']:.2f} ms, p99 {w['latency_p99_ms']:.2f} ms"
        )


def report(args: argparse.Namespace, outcomes: dict[str, Any], started_load: str) -> bool:
    print("\n" + "=" * 110)
    print(
        f"smsdesk cluster benchmark{' (--quick: a smoke run, figures meaningless)' if args.quick else ''},"
        f" {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC"
    )
    print(f"{machine()}; nproc {nproc()}; load average {started_load} at the start, {load_average()} now")
    print(NO_PINNING.description + "; the machine is shared: figures are noisy, in-run ratios less so")
    verdicts = Verdicts()
    broken = False
    if "ops" in outcomes:
        broken |= report_operations(args, outcomes["ops"], verdicts)
    if "fanout" in outcomes:
        broken |= report_fanout(args, outcomes["fanout"], verdicts)
    if "idle" in outcomes:
        report_idle(args, outcomes["idle"], verdicts)
    if "writes" in outcomes:
        report_writes(outcomes["writes"])
    if verdicts.lines:
        print("\nTargets")
        print("\n".join(verdicts.lines))
    return broken

"""Summarise a ``make fuzz`` run: read the reports the long runs wrote, print the figures, put them
into docs/reliability.md (``--update-docs``), and exit non-zero unless every run passed with
0 server errors and 0 acknowledged writes lost (and every flood and hostile finding held)."""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from pathlib import Path

START, END = "<!-- fuzz-results -->", "<!-- /fuzz-results -->"


def load(directory: Path, name: str) -> dict[str, object]:
    path = directory / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def verdict(code: str) -> str:
    return "passed" if code == "0" else "FAILED"


def flood_rows(floods: dict[str, object], code: str) -> list[str]:
    """One row per flood and backend of ``tests/reliability/test_floods.py``."""
    rows = []
    for name, raw in sorted(floods.items()):
        figures = raw if isinstance(raw, dict) else {}
        if name.startswith("subscriptions"):
            what = f"subscription flood {name.removeprefix('subscriptions').strip()}: {figures.get('attempts')} distinct channels"
            result = (
                f"{figures.get('accepted')} kept; RSS {figures.get('rss_before_mb')} → "
                f"{figures.get('rss_after_mb')} MB"
            )
        elif name.startswith("slow_websockets"):
            what = (
                f"slow websockets {name.removeprefix('slow_websockets').strip()}: {figures.get('clients')} clients "
                f"that never read, {figures.get('notifications_per_flood')} notifications of 20 KB, twice"
            )
            result = (
                f"all dropped; RSS {figures.get('rss_before_mb')} MB, peak {figures.get('rss_peak_mb')}, "
                f"after {figures.get('rss_after_mb')}"
            )
        else:
            what = f"file descriptors {name.removeprefix('file_descriptors').strip()}: {figures.get('idle_connections')} idle connections, limit {figures.get('open_file_limit')}"
            result = (
                f"{figures.get('refused_503')} answered 503, {figures.get('resets')} resets, served again "
                f"after {figures.get('served_again_after_s')} s"
            )
        rows.append(f"| {what} | — | 0 | {result}; {verdict(code)} |")
    return rows or [f"| floods (`tests/reliability/test_floods.py`) | — | — | no report; {verdict(code)} |"]


def findings_row(junit: Path, code: str) -> str:
    tests = failures = 0
    if junit.exists():
        for suite in ElementTree.parse(junit).getroot().iter("testsuite"):
            tests += int(suite.get("tests", 0))
            failures += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    return (
        f"| hostile findings replayed (need-to-know, sign-in throttle, status callbacks, limits' answers, "
        f"memory bounds) | {tests} tests | — | {failures} failed; {verdict(code)} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--update-docs", type=Path)
    args = parser.parse_args()
    directory: Path = args.directory
    openapi = load(directory, "openapi")
    bayeux = load(directory, "bayeux")
    durability = load(directory, "durability")
    floods = load(directory, "floods")
    codes = {
        name: (directory / f"{name}.rc").read_text().strip() if (directory / f"{name}.rc").exists() else "?"
        for name in ("openapi", "bayeux", "durability", "floods", "findings")
    }
    cases = int(openapi.get("cases", 0)) + int(bayeux.get("cases", 0))
    server_errors = int(openapi.get("server_errors", 0)) + int(bayeux.get("server_errors", 0))
    lost = durability.get("lost", "?")
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    lines = [
        f"Run {date} (`make fuzz`):",
        "",
        "| run | cases | 5xx | result |",
        "|---|---|---|---|",
        f"| OpenAPI fuzz (schemathesis, positive and negative) | {openapi.get('cases', '?')} | "
        f"{openapi.get('server_errors', '?')} | {'passed' if codes['openapi'] == '0' else 'FAILED'} |",
        f"| Bayeux parser fuzz (hypothesis) | {bayeux.get('cases', '?')} | {bayeux.get('server_errors', '?')} | "
        f"{'passed' if codes['bayeux'] == '0' else 'FAILED'} |",
        f"| kill -9 durability: {durability.get('kills', '?')} kills, {durability.get('writers', '?')} "
        f"concurrent writers | {durability.get('acknowledged', '?')} acknowledged writes | — | "
        f"lost {lost}, referenceIds reused {durability.get('reused_reference_ids', '?')}, "
        f"integrity {durability.get('integrity', '?')}; {'passed' if codes['durability'] == '0' else 'FAILED'} |",
        *flood_rows(floods, codes["floods"]),
        findings_row(directory / "findings.xml", codes["findings"]),
        "",
        f"Total: {cases} fuzz cases, {server_errors} 5xx, {lost} acknowledged writes lost.",
    ]
    block = "\n".join(lines)
    print(block)
    if args.update_docs:
        page = args.update_docs.read_text()
        before, _, rest = page.partition(START)
        _, _, after = rest.partition(END)
        args.update_docs.write_text(f"{before}{START}\n{block}\n{END}{after}")
    ok = all(code == "0" for code in codes.values()) and server_errors == 0 and lost == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Summarise a ``make fuzz`` run: read the reports the long runs wrote, print the figures, put them
into docs/reliability.md (``--update-docs``), and exit non-zero unless every run passed with
0 server errors and 0 acknowledged writes lost."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

START, END = "<!-- fuzz-results -->", "<!-- /fuzz-results -->"


def load(directory: Path, name: str) -> dict[str, object]:
    path = directory / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--update-docs", type=Path)
    args = parser.parse_args()
    directory: Path = args.directory
    openapi = load(directory, "openapi")
    bayeux = load(directory, "bayeux")
    durability = load(directory, "durability")
    codes = {
        name: (directory / f"{name}.rc").read_text().strip() for name in ("openapi", "bayeux", "durability")
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

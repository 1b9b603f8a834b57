"""One closing line for the halves of the suite that ``make pytest`` runs at once: the sum of each
half's pytest summary ("12 passed, 1 failed in 3.2s"), as ``tests: N passed, N failed``."""

from __future__ import annotations

import re
import sys
from pathlib import Path

COUNTED = ("passed", "failed", "errors", "error", "skipped", "xfailed", "xpassed")


def summary(log: Path) -> dict[str, int]:
    text = log.read_text(errors="replace") if log.exists() else ""
    lines = [line for line in text.splitlines() if re.search(r"\d+ (passed|failed|errors?)\b", line)]
    counts: dict[str, int] = {}
    if lines:
        for number, word in re.findall(r"(\d+) (\w+)", lines[-1]):
            if word in COUNTED:
                key = "errors" if word == "error" else word
                counts[key] = counts.get(key, 0) + int(number)
    return counts


def main(paths: list[str]) -> None:
    total: dict[str, int] = {}
    for path in paths:
        for key, value in summary(Path(path)).items():
            total[key] = total.get(key, 0) + value
    failed = total.get("failed", 0) + total.get("errors", 0)
    extra = "".join(f", {total[key]} {key}" for key in ("skipped", "xfailed", "xpassed") if total.get(key))
    print(f"tests: {total.get('passed', 0)} passed, {failed} failed{extra}")


if __name__ == "__main__":
    main(sys.argv[1:])

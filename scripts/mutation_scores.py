"""Print mutmut's score per module from mutants/**/*.meta (``make mutation`` runs it after ``mutmut run``).

Killed and timed-out mutants count as caught; "no tests" count against the score, as survivors do.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

# mutmut's exit codes (mutmut/stats.py): 1 and 3 killed, 0 survived, 5 and 33 no tests, timeouts 36 and SIGXCPU.
_STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 36: "timeout"}
_STATUS.update(dict.fromkeys((24, -24, 152, 255), "timeout"))


def scores(root: Path) -> list[tuple[str, Counter[str]]]:
    rows = []
    for meta in sorted(root.glob("**/*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"].values()
        module = meta.relative_to(root).as_posix().removesuffix(".meta")
        rows.append((module, Counter(_STATUS.get(c, "other") for c in codes)))
    return rows


def main() -> int:
    rows = scores(Path(sys.argv[1] if len(sys.argv) > 1 else "mutants"))
    if not rows:
        print("no mutmut results (run `mutmut run` first)", file=sys.stderr)
        return 1
    print("| module | mutants | killed | survived | no tests | score |")
    print("|---|---|---|---|---|---|")
    for module, c in rows:
        total = sum(c.values())
        caught = c["killed"] + c["timeout"]
        print(f"| `{module}` | {total} | {caught} | {c['survived']} | {c['no tests']} | {100 * caught / total:.1f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

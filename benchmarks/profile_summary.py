"""`python -m benchmarks.profile_summary FILE [N]`: the top N functions of a py-spy collapsed-stack profile.

Prints, for the N functions found in the most samples, their inclusive share (the function or anything it called
was running) and self share (the function itself was on top), over all samples of the file (written by
`BENCH_PROFILE=DIR python -m benchmarks slack`).
"""

from __future__ import annotations

import re
import sys
from collections import Counter

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _name(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/lib/python3", "/work/wt/perf/", "/tmp/perf-before/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['func']} ({path.split(':')[0]})"


def summarise(lines: list[str], top: int = 25) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_name(f) for f in stack.split(";")]
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        for name in set(frames):
            inclusive[name] += count
        own[frames[-1]] += count
    out = [f"{total} samples", f"{'inclusive':>9} {'self':>6}  function"]
    for name, count in inclusive.most_common(top):
        out.append(f"{count / total:8.1%} {own[name] / total:6.1%}  {name}")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    with open(argv[0], encoding="utf-8") as f:
        print(summarise(f.readlines(), int(argv[1]) if len(argv) > 1 else 25))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

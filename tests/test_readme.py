"""Every ```python block of README.md runs as written, and states how long it takes.

The blocks run in order in one fresh Python process (later blocks use the names earlier
ones define, as a reader pasting them into one session would), with an empty temporary
folder as the working directory. The prose before each block must state its measured
time as "about N s" or "about N min" (at most 2 minutes: the README promises snippets a
newcomer can wait for). The test does not time the blocks: a test runner's load and a
shared machine's noise make wall-clock asserts flaky (the quick start took 11 s alone on
a 2-core CPU and 217 s on a CI machine under ``pytest -n 2``), and timings belong to
``benchmarks/``. The run only has a hang guard of ``HANG_FACTOR`` times the stated total,
and prints the time each block took. Shell commands belong in ```bash blocks, which are
not run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

#: The blocks together may take this many times their stated total before the run is
#: treated as hung (not a speed check: see the module docstring).
HANG_FACTOR = 6.0
#: No README snippet may state more than this (seconds).
MAX_STATED = 120.0

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_STATED = re.compile(r"\babout (\d+(?:\.\d+)?) ?(s|min)\b")

_DRIVER = """
import json, sys, time
blocks = json.load(open(sys.argv[1]))
times = []
namespace = {"__name__": "__main__"}
for i, code in enumerate(blocks):
    print(f"=== README block {i + 1} ===", flush=True)
    t0 = time.perf_counter()
    exec(compile(code, f"README.md block {i + 1}", "exec"), namespace)
    times.append(time.perf_counter() - t0)
    json.dump(times, open(sys.argv[2], "w"))
"""


def readme_blocks(text):
    """``[(language, code, stated seconds or None)]`` of the fenced blocks of ``text``.

    The stated time is the last "about N s|min" in the prose between the previous
    block and this one.
    """
    blocks, prose_start = [], 0
    for match in _FENCE.finditer(text):
        stated = _STATED.findall(text[prose_start : match.start()])
        seconds = None
        if stated:
            value, unit = stated[-1]
            seconds = float(value) * (60.0 if unit == "min" else 1.0)
        blocks.append((match.group(1), match.group(2), seconds))
        prose_start = match.end()
    return blocks


def test_readme_blocks_are_python_or_bash_and_state_their_time():
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    assert blocks, "README.md has no code block"
    assert {lang for lang, _, _ in blocks} <= {"python", "bash"}
    python = [(code, stated) for lang, code, stated in blocks if lang == "python"]
    assert python
    for code, stated in python:
        first = code.strip().splitlines()[0]
        assert stated is not None, f"the prose before the block {first!r} states no time"
        assert stated <= MAX_STATED, f"the block {first!r} states {stated:g} s"


def test_readme_parser_reads_the_stated_time():
    text = "Runs in about 40 s.\n```python\nx = 1\n```\nabout 2 min here\n```bash\nls\n```\n"
    assert readme_blocks(text) == [("python", "x = 1\n", 40.0), ("bash", "ls\n", 120.0)]


@pytest.mark.slow
def test_readme_python_blocks_run_as_written(tmp_path):
    blocks = [
        (code, stated)
        for lang, code, stated in readme_blocks(README.read_text(encoding="utf-8"))
        if lang == "python"
    ]
    (tmp_path / "blocks.json").write_text(json.dumps([code for code, _ in blocks]))
    (tmp_path / "driver.py").write_text(_DRIVER)
    work = tmp_path / "cwd"
    work.mkdir()
    env = dict(os.environ)
    if "PYTEST_XDIST_WORKER" in env:
        # another worker shares the cores: one torch thread avoids oversubscribing them
        env["OMP_NUM_THREADS"] = "1"
    limit = HANG_FACTOR * sum(stated for _, stated in blocks) + 60  # + interpreter start-up
    proc = subprocess.run(
        [sys.executable, str(tmp_path / "driver.py"), "../blocks.json", "../times.json"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=limit,
        env=env,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    times = json.loads((tmp_path / "times.json").read_text())
    assert len(times) == len(blocks), output[-4000:]
    print(
        "README python blocks took",
        ", ".join(f"{t:.0f} s (stated {s:g} s)" for t, (_, s) in zip(times, blocks, strict=True)),
    )
    # progress, not a flood: summary lines when the output is not a terminal
    assert "\r" not in output
    assert len(output.splitlines()) < 200, output[-4000:]

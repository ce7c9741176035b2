"""The benchmark scripts' usage lines survive into their ``--help`` and ``__doc__``."""

import re
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_usage_lines_keep_their_backslashes(path):
    # in a non-raw docstring a lone backslash at the end of a line joins the next line to
    # it, so a shell command written over two lines reads as one broken line
    source = path.read_text()
    match = re.match(r'\s*(r?)"""(.*?)"""', source, re.DOTALL)
    if match is None or match.group(1):
        return
    broken = [
        line for line in match.group(2).splitlines() if re.search(r"(?<!\\)\\$", line.rstrip("\n"))
    ]
    assert not broken, f"{path.name}: write \\\\ at the end of: {broken}"

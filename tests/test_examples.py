"""The example scripts: the quick start runs end to end, and every script is well formed.

The quick start runs in a subprocess with this interpreter, as a user would run
it, and must print its accuracy table and save its figures with ``--save-dir``.
The other examples are checked for a module docstring, a ``__main__`` guard
(required for dask's worker processes) and a working ``--help``; their full runs
take longer and are exercised by ``tests/test_distributed.py`` (the dask search)
and by hand.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))


def _run(script, *args, timeout=180):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="ignore")
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=EXAMPLES.parent,
    )


def test_quick_start_prints_an_accuracy_table(tmp_path):
    proc = _run(EXAMPLES / "plot_quick_start.py", "--n-subjects", "2", "--save-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = next(line for line in lines if line.startswith("method"))
    assert header.split()[:3] == ["method", "S1", "S2"]
    assert "mean ± sd" in header and "gain ± sd" in header
    number = r"\d+\.\d"
    rows = {}
    for line in lines:
        match = re.match(
            rf"^(none|classic: [\w+ ]+?)\s+({number})\s+({number})\s+({number}) ± ", line
        )
        if match:
            rows[match.group(1)] = [float(match.group(k)) for k in (2, 3, 4)]
    assert set(rows) == {"none", "classic: jitter+scaling", "classic: all four"}, proc.stdout
    for name, (s1, s2, mean) in rows.items():
        assert 0 <= s1 <= 100 and 0 <= s2 <= 100, name
        assert mean == pytest.approx((s1 + s2) / 2, abs=0.11), name  # the mean of the subjects
        assert mean > 100 / 6, f"{name} is not better than chance (6 gestures): {mean}"
    gain_rows = [line for line in lines if line.startswith("classic")]
    assert all(re.search(r"[+-]\d+\.\d ± +\d+\.\d$", line) for line in gain_rows), gain_rows
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["gains.png", "real_vs_synthetic.png"]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_is_a_documented_script(script):
    tree = ast.parse(script.read_text(encoding="utf-8"))
    doc = ast.get_docstring(tree)
    assert doc and len(doc.splitlines()) >= 5, f"{script.name} needs a module docstring"
    guards = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)
    ]
    assert guards, f"{script.name} has no `if __name__ == '__main__':` guard"
    assert "plt.show" not in script.read_text(encoding="utf-8"), "examples never show figures"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_help(script):
    proc = _run(script, "--help", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage:")

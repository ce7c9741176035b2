"""The package's metadata agrees with itself, and the sdist carries the package alone."""

import re
from pathlib import Path

import pytest

import semgaug_sk

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_written_once_in_effect():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == semgaug_sk.__version__


def test_numpy_and_scipy_floors_admit_imbalanced_learns_floor():
    # imbalanced-learn 0.14.1 (the declared floor) needs numpy >= 1.25.2 and scipy >= 1.11.4:
    # a lower floor here could never be installed
    tomllib = pytest.importorskip("tomllib")
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    floors = dict(re.fullmatch(r"([\w-]+)>=([\d.]+)", d).groups() for d in deps)
    assert floors["imbalanced-learn"] == "0.14.1"
    as_tuple = lambda v: tuple(int(p) for p in v.split("."))  # noqa: E731
    assert as_tuple(floors["numpy"]) >= (1, 25, 2)
    assert as_tuple(floors["scipy"]) >= (1, 11, 4)


def test_sdist_leaves_out_the_tests_that_need_a_checkout():
    # tests read tests/conftest.py, tests/golden/, benchmarks/ and docs/, which the sdist
    # would not carry: setuptools adds tests/test_*.py on its own unless pruned
    lines = (ROOT / "MANIFEST.in").read_text().splitlines()
    pruned = {line.split()[1] for line in lines if line.startswith("prune ")}
    assert {"tests", "benchmarks", "docs", "examples"} <= pruned

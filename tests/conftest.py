"""Shared fixtures: the location of ../shared/data and small simulated window sets."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

SHARED_DATA = Path(
    os.environ.get(
        "SEMGAUG_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
)


def shared_data_path(name: str) -> Path:
    """Path of ``../shared/data/<name>``; skip the test, naming the folder, when it is absent."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(
            f"shared data folder {path} is absent (tests on real data need ../shared/data/{name})"
        )
    return path


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load_benchmark(name: str):
    """Import ``benchmarks/<name>.py`` as module ``bench_<name>`` (the scripts put their own
    folder on ``sys.path`` for their sibling imports)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def load_benchmark():
    """Return a function importing a script of ``benchmarks/`` by name."""
    return _load_benchmark


@pytest.fixture
def shared_data():
    """Return a function mapping a dataset folder name to its path, skipping when absent."""
    return shared_data_path


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Run torch on one thread per test process.

    The suite runs under ``pytest -n 2`` on 2-core CI machines; with torch's default of one
    thread per core the two workers oversubscribe the CPU, which made small models about 30x
    slower in our measurements. Library code never changes the thread count itself.
    """
    try:
        import torch
    except ImportError:  # pragma: no cover
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)

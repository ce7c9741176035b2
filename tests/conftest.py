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


@pytest.fixture(scope="session")
def simulator_inner_split():
    """``(fit, held_out)``: repetitions 1 and 2 of a small simulated recording, standing in
    for a benchmark's inner split of the training repetitions."""
    from semgaug_sk.datasets import make_semg_gestures
    from semgaug_sk.model_selection import select_windows
    from semgaug_sk.windows import sliding_windows

    windows = sliding_windows(
        make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=3, fs=200.0, random_state=0),
        window_ms=100,
        step_ms=50,
    )
    return (
        select_windows(windows, windows.repetition == 1),
        select_windows(windows, windows.repetition == 2),
    )


@pytest.fixture
def fake_pool_windows():
    """A stand-in for ``population.pool_windows``: two other simulated people, on the
    simulator inner split's geometry; it records each ``(dataset, target)`` it is asked for
    in its ``calls`` list."""
    from semgaug_sk.datasets import make_semg_gestures
    from semgaug_sk.windows import sliding_windows

    people = sliding_windows(
        make_semg_gestures(
            n_subjects=2, n_classes=3, n_repetitions=2, n_channels=3, fs=200.0, random_state=1
        ),
        window_ms=100,
        step_ms=50,
    )

    def fake_pool(dataset, target, max_per_subject, seed, with_repetitions=False):
        fake_pool.calls.append((dataset, target))
        if with_repetitions:
            return people.X, people.y, people.subject, people.repetition
        return people.X, people.y, people.subject

    fake_pool.calls = []
    return fake_pool


def _tiny_prior(X, y, groups, seed, prior_steps):
    """A stand-in for ``population.build_prior``: a population prior of tiny networks."""
    from semgaug_sk import SemanticEncoder
    from semgaug_sk.augmentation import DiffusionGenerator, PopulationPrior

    return PopulationPrior(
        encoder=SemanticEncoder(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=2),
        generator=DiffusionGenerator(
            n_steps=prior_steps, base_channels=8, channel_mults=(1,), batch_size=16
        ),
        random_state=seed,
    ).fit(X, y, groups=groups)


@pytest.fixture
def tiny_prior():
    """Return a stand-in for ``population.build_prior`` that pretrains tiny networks."""
    return _tiny_prior


@pytest.fixture
def shrink_adapt_unit(monkeypatch, simulator_inner_split, fake_pool_windows, tiny_prior):
    """Return ``shrink(module)``: ``benchmarks/ablate_adapt.py``'s unit (``module``) made
    tiny, with the simulator's inner split as the target and two simulated people as the
    pool; ``shrink`` returns the pool's ``calls``."""

    def shrink(adapt):
        monkeypatch.setattr(
            adapt, "inner_split", lambda dataset, subject, cut="auto": simulator_inner_split
        )
        monkeypatch.setattr(adapt, "pool_windows", fake_pool_windows)
        monkeypatch.setattr(adapt, "build_prior", tiny_prior)
        monkeypatch.setattr(adapt, "_PRIORS", {})
        sizes = {
            "sasg": dict(n_sampling_steps=2, batch_size=16, confidence_threshold=0.0),
            "stc": dict(max_epochs=2, n_temporal=4, min_steps=None),
            "tl": dict(max_epochs=2),
            "pool_windows": 10,
            "prior_steps": 2,
        }
        monkeypatch.setattr(adapt, "SIZES", sizes)
        return fake_pool_windows.calls

    return shrink


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


def _tiny_sasg_sizes(**sasg):
    """``SIZES`` for a SASG benchmark unit on the simulator: a tiny encoder, generator and
    STC (``sasg`` overrides the sampler's settings)."""
    from semgaug_sk import SemanticEncoder

    encoder = SemanticEncoder(
        embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=2, random_state=0
    )
    tiny = dict(n_steps=3, base_channels=4, channel_mults=(1,), n_sampling_steps=2)
    return {
        "sasg": dict(tiny, encoder=encoder, **sasg),
        "stc": dict(max_epochs=2, n_temporal=4, min_steps=None),
    }


@pytest.fixture(scope="session")
def tiny_sasg_sizes():
    """``tiny_sasg_sizes(**sasg_overrides)``: see :func:`_tiny_sasg_sizes`."""
    return _tiny_sasg_sizes


@pytest.fixture
def tiny_sampler_unit(load_benchmark, monkeypatch, simulator_inner_split):
    """Run one unit of a one-change sampler ablation (``ablate_sass_selection.run_unit``)
    with tiny models on the simulator: ``run(bench, **sasg_overrides) -> unit``."""

    def run(bench, **sasg):
        selection = load_benchmark("ablate_sass_selection")
        monkeypatch.setattr(
            selection, "inner_split", lambda dataset, subject, cut="auto": simulator_inner_split
        )
        monkeypatch.setattr(selection, "SIZES", _tiny_sasg_sizes(**sasg))
        unit = selection.run_unit("sim", "S1", 0, variants=bench.VARIANTS, ratio=bench.RATIO)
        for model in ("lda", "stc"):
            assert set(unit["accuracy"][model]) == {"none", *bench.VARIANTS}
        return unit

    return run


@pytest.fixture
def report_of_two_seeds(tmp_path):
    """``report(bench, unit)``: the Markdown report ``bench.write_report`` writes for ``unit``
    and a copy of it as seed 1."""
    import json

    def report(bench, unit):
        other = json.loads(json.dumps(unit))
        other["seed"] = 1
        bench.write_report([unit, other], tmp_path / "report.md")
        return (tmp_path / "report.md").read_text()

    return report


@pytest.fixture(scope="session")
def rule_units():
    """``rule_units(accuracy)``: units for a pre-registered rule's test (see :func:`_rule_units`)."""
    return _rule_units


def _rule_units(accuracy):
    """Units for a pre-registered rule's test, from ``accuracy(gain) -> {variant: accuracy}``.

    Returns ``(clear, noisy)``: two data sets x two subjects x two seeds with gains of 2 and
    3 points (a gain beyond the seed sd), and one data set whose gains of -1 and +2 points
    (mean +0.5) lie inside a seed sd of 2.1.
    """

    def unit(dataset, subject, seed, gain):
        acc = accuracy(gain)
        return {
            "dataset": dataset,
            "subject": subject,
            "seed": seed,
            "accuracy": {"lda": dict(acc), "stc": dict(acc)},
        }

    clear = [
        unit(d, s, seed, 2 + seed) for d in ("a", "b") for s in ("s1", "s2") for seed in (0, 1)
    ]
    noisy = [unit("a", s, seed, [-1, 2][seed]) for s in ("s1", "s2") for seed in (0, 1)]
    return clear, noisy


@pytest.fixture
def library_leaves_warning_filters():
    """A context manager inside which a call from ``semgaug_sk`` to
    ``warnings.simplefilter`` or ``warnings.filterwarnings`` fails the test.

    Changing the filters, even inside ``catch_warnings``, is not thread-safe: a second
    thread restoring its own copy can leave "ignore" installed for the whole process.
    Calls from other packages (scikit-learn's own) go through.
    """
    import contextlib
    import sys
    import warnings

    @contextlib.contextmanager
    def guard():
        originals = {name: getattr(warnings, name) for name in ("simplefilter", "filterwarnings")}

        def refuse_in(name):
            def call(*args, **kwargs):
                if sys._getframe(1).f_globals.get("__name__", "").startswith("semgaug_sk"):
                    raise AssertionError("the library changed the process-wide warning filters")
                return originals[name](*args, **kwargs)

            return call

        try:
            for name in originals:
                setattr(warnings, name, refuse_in(name))
            yield
        finally:
            for name, original in originals.items():
                setattr(warnings, name, original)

    return guard

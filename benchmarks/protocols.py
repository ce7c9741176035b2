"""Evaluation protocols on the shared sEMG data: who trains on what, who is tested on what.

Every split is by repetition (or session) within a subject; a test window never reaches
training, model selection, normalisation or an augmenter.

- ``low_data`` (DESIGN.md): DB1 train repetitions {1, 2}, test {3..10}; Myo (evaluation
  set) train on cycle 0 of ``training0``, test on ``Test0``; UCI train on the first
  series (repetitions {1, 2}), test on the second ({3, 4}).
- ``standard`` (the SASG-DA paper's regime): DB1 train {1, 3, 4, 6, 8, 9, 10}, test
  {2, 5, 7}; Myo train on every cycle of ``training0``, test on ``Test0`` and ``Test1``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np

from semgaug_sk.datasets import load_myo_armband, load_ninapro, load_uci_gestures
from semgaug_sk.model_selection import select_windows
from semgaug_sk.windows import sliding_windows

SHARED = Path(
    os.environ.get("SEMGAUG_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)

#: Window geometry per dataset: DB1 200 ms (20 samples at 100 Hz); Myo and UCI 260 ms.
WINDOWS = {
    "db1": dict(window_ms=200.0, step_ms=100.0),
    "myo": dict(window_ms=260.0, step_ms=100.0, rest_label=None),
    "uci": dict(window_ms=260.0, step_ms=100.0, rest_label=None),
}
REGIMES = ("low_data", "standard")
DATASETS = tuple(WINDOWS)


def subject_names(dataset):
    """Every subject of ``dataset`` in the shared data, in a fixed order.

    A missing data folder is an error that names it (a benchmark would otherwise
    run no unit and report nothing).
    """
    folders = {
        "db1": SHARED / "ninapro_db1_e1",
        "myo": SHARED / "myo_armband_cote_allard" / "EvaluationDataset",
        "uci": SHARED / "uci_emg_gestures",
    }
    if dataset in folders and not folders[dataset].is_dir():
        raise FileNotFoundError(
            f"subject_names: the {dataset} data are not at {folders[dataset]}; put the shared "
            "data folder beside the checkout, or set SEMGAUG_SHARED_DATA to it."
        )
    if dataset == "db1":
        files = folders["db1"].glob("S*_A1_E1.mat")
        names = [f"S{n}" for n in sorted(int(p.name.split("_")[0][1:]) for p in files)]
    elif dataset == "myo":
        names = [p.name for p in folders["myo"].iterdir() if p.is_dir()]
        names.sort(key=lambda n: (n.rstrip("0123456789"), int(n[len(n.rstrip("0123456789")) :])))
    elif dataset == "uci":
        names = sorted(p.name for p in folders["uci"].iterdir() if p.is_dir())
    else:
        raise ValueError(f"unknown dataset {dataset!r}; choose among {DATASETS}")
    if not names:
        raise FileNotFoundError(
            f"subject_names: {folders[dataset]} holds no subject of {dataset}; the data are "
            "incomplete (see its SOURCE.md)."
        )
    return names


def subject_split(dataset, subject, regime="low_data", windows=None):
    """``(train, test)`` window sets of one subject under ``regime``.

    ``windows`` overrides keys of :data:`WINDOWS` (e.g. longer windows for a probe); None
    keeps the protocol's.
    """
    if regime not in REGIMES:
        raise ValueError(f"unknown regime {regime!r}; choose among {REGIMES}")
    cut = {name: {**spec, **(windows or {})} for name, spec in WINDOWS.items()}
    if dataset == "db1":
        rec = load_ninapro(SHARED / "ninapro_db1_e1", subjects=[int(subject[1:])], fs=100.0)
        w = sliding_windows(rec, **cut["db1"])
        train_reps = [1, 2] if regime == "low_data" else [1, 3, 4, 6, 8, 9, 10]
        train = np.isin(w.repetition, train_reps)
        return select_windows(w, train), select_windows(w, ~train & (w.repetition > 0))
    if dataset == "myo":
        tests = ("Test0",) if regime == "low_data" else ("Test0", "Test1")
        rec = load_myo_armband(
            SHARED / "myo_armband_cote_allard",
            subjects=[subject],
            dataset="evaluation",
            sessions=("training0", *tests),
        )
        w = sliding_windows(rec, **cut["myo"])
        session = np.asarray(rec.session_names)[w.session]
        train = session == "training0"
        if regime == "low_data":
            train &= w.repetition == 0
        return select_windows(w, train), select_windows(w, np.isin(session, tests))
    if dataset == "uci":
        if regime != "low_data":
            raise ValueError("the UCI data have 4 repetitions; only the low_data regime is defined")
        rec = load_uci_gestures(SHARED / "uci_emg_gestures", subjects=[int(subject)])
        w = sliding_windows(rec, **cut["uci"])
        return (
            select_windows(w, np.isin(w.repetition, [1, 2])),
            select_windows(w, np.isin(w.repetition, [3, 4])),
        )
    raise ValueError(f"unknown dataset {dataset!r}; choose among {DATASETS}")


def code_version():
    """The checkout's commit (short hash) when this module was imported, so that units run by
    different code can be told apart.

    Read once, at import: a long run keeps running the code it imported, whatever is
    committed meanwhile. ``"<hash>+uncommitted"`` when the library or the benchmarks
    differed from that commit (a unit run on a working tree is not reproducible from the
    hash alone); ``None`` outside a git checkout.
    """
    return _CODE_AT_IMPORT


def tree_commit(tree):
    """The commit another checkout is at (``git rev-parse --short HEAD``), or "unknown".

    Benchmarks that compare this tree with another record it, so that a report names
    the code it ran against.
    """
    proc = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else "unknown"


def _read_code_version():

    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=Path(__file__).parent, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        changed = git(
            "status", "--porcelain", "--untracked-files=all", "--", ":/semgaug_sk", ":/benchmarks"
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{commit}+uncommitted" if changed else commit


_CODE_AT_IMPORT = _read_code_version()


def read_jsonl(path):
    """The records of a JSONL file, one per non-empty line; ``[]`` when it does not exist."""
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

"""Reader for the Côté-Allard Myo armband dataset (7 gestures, 8 channels, 200 Hz)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..utils.validation import caller_stacklevel
from ._common import assemble_recording, check_existing_path, natural_key

__all__ = ["load_myo_armband"]

_LOADER = "load_myo_armband"
_FS = 200.0
_N_CHANNELS = 8
_N_GESTURES = 7
_N_FILES = 28  # 4 cycles x 7 gestures per session
_DATASETS = {"evaluation": "EvaluationDataset", "pretraining": "PreTrainingDataset"}
_SESSIONS = ("training0", "Test0", "Test1")
GESTURE_NAMES = (
    "Neutral",
    "Radial Deviation",
    "Wrist Flexion",
    "Ulnar Deviation",
    "Wrist Extension",
    "Hand Close",
    "Hand Open",
)
# PreTraining Female7/8/9 training0 are byte-identical copies of Evaluation Female0's
# training0/Test0/Test1 (checked file by file, 28/28 each).
_DUPLICATES = {("pretraining", "Female7"), ("pretraining", "Female8"), ("pretraining", "Female9")}


def _as_names(values, *, name: str):
    if values is None:
        return None
    if isinstance(values, (str, Path)):
        values = [values]
    try:
        items = [str(v) for v in values]
    except TypeError:
        raise TypeError(
            f"{_LOADER}: {name} must be a string or a list of strings; got {values!r}."
        ) from None
    if not items:
        raise ValueError(
            f"{_LOADER}: {name} is empty; pass None to load all, or at least one name."
        )
    return items


def _read_experiment_csv(path: Path) -> dict:
    """Parse the ``Key,value,,`` lines of ``experiment.csv`` (sex, age, forearm size, ...)."""
    info = {}
    if not path.is_file():
        return info
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        fields = [f.strip() for f in line.split(",")]
        if not fields or not fields[0]:
            continue
        values = tuple(f for f in fields[1:] if f)
        info[fields[0]] = values[0] if len(values) == 1 else (values or None)
    return info


def _read_dat(path: Path) -> np.ndarray:
    raw = np.fromfile(path, dtype="<i2")
    if path.stat().st_size % 2:  # np.fromfile drops a dangling byte without a word
        raise ValueError(
            f"{_LOADER}: {path} has an odd number of bytes, which int16 samples cannot make; "
            "the file is truncated or corrupt. Download it again."
        )
    if raw.size == 0 or raw.size % _N_CHANNELS:
        raise ValueError(
            f"{_LOADER}: {path} holds {raw.size} int16 value(s), not a positive multiple of "
            f"{_N_CHANNELS} channels; the file is truncated or corrupt. Download it again."
        )
    if raw.min() < -128 or raw.max() > 127:
        raise ValueError(
            f"{_LOADER}: {path} has values outside the Myo's 8-bit range -128..127 "
            f"({raw.min()}..{raw.max()}); it is not a Myo armband .dat file. Pass the Myo "
            "dataset's root folder, or download the file again."
        )
    return raw.reshape(-1, _N_CHANNELS).astype(np.float32)


def load_myo_armband(
    path, subjects=None, dataset="evaluation", sessions=None, *, drop_duplicates=True
):
    """Load the Côté-Allard Myo armband dataset as one recording.

    Parameters
    ----------
    path : str or path-like
        Root folder holding ``EvaluationDataset`` and/or ``PreTrainingDataset``
        (``<dataset>/<Subject>/<session>/classe_<i>.dat``).
    subjects : str or list of str, optional
        Subject folder names such as ``"Male0"`` or ``["Female0", "Male3"]``.
        With ``dataset="both"`` a bare name matches that folder in both datasets
        (different people); qualify it as ``"evaluation/Male0"`` or
        ``"pretraining/Male0"`` to pick one. ``None`` loads every subject.
        Names match without regard to case, as ``sessions`` do.
    dataset : {"evaluation", "pretraining", "both"}, default="evaluation"
        Which sub-dataset to read.
    sessions : str or list of str, optional
        Sessions to read, from ``"training0"``, ``"Test0"``, ``"Test1"`` (case
        does not matter; the pre-training dataset only has ``"training0"``).
        ``None`` reads all. Subjects lacking every requested session are skipped.
    drop_duplicates : bool, default=True
        Skip ``PreTrainingDataset/Female7``, ``Female8`` and ``Female9``: their
        ``training0`` files are byte-identical to Evaluation ``Female0``'s
        ``training0``, ``Test0`` and ``Test1``. Keeping them counts one person as
        four subjects and leaks her data between pre-training and evaluation (or
        between cross-validation folds). Set ``False`` only to reproduce
        analyses that used them.

    Returns
    -------
    recording : sklearn.utils.Bunch
        - ``emg`` : ndarray (n_samples, 8) float32, raw Myo counts (-128..127).
        - ``fs`` : 200.0.
        - ``label`` : ndarray (n_samples,) int64, gesture ``i % 7`` of file
          ``classe_<i>.dat`` (names in ``label_names``).
        - ``repetition`` : ndarray (n_samples,) int64, cycle ``i // 7`` (0..3)
          within the session.
        - ``subject`` : ndarray (n_samples,) int64, index into ``subject_names``
          (subjects in natural order: ``Female0, Female1, Male0, Male1, ...``,
          evaluation before pre-training).
        - ``session`` : ndarray (n_samples,) int64, index into ``session_names``.
        - ``label_names``, ``subject_names``, ``session_names``, ``channel_names``,
          ``subject_info`` (``experiment.csv`` per subject: sex, age, ...),
          ``source_files``.
        - ``block`` : ndarray (n_samples,) int64, index into ``source_files``.
        - ``rest_label`` : None (there is no rest class), which
          :func:`~semgaug_sk.windows.sliding_windows` follows by default.
          Every file is a separate ~5 s recording: windows (with a prediction
          horizon too) and filters never cross a change of ``block``.

    Raises
    ------
    FileNotFoundError
        If ``path`` or a dataset folder is missing, or a session lacks files.
    ValueError
        For an unknown dataset, subject or session, or a truncated file.

    Notes
    -----
    There is no rest class: gesture 0 is "Neutral", a real class, and files are
    separate recordings with no rest between them. The recording says so
    (``rest_label=None``), and :func:`~semgaug_sk.windows.sliding_windows` keeps
    Neutral by default; a bare ``rec.emg`` stream windowed with its labels needs
    ``rest_label=None``. ``repetition`` starts at 0 here (cycle index), unlike NinaPro where 0
    marks rest, and it counts the cycles *within* a session: cycle 0 exists in
    ``training0``, ``Test0`` and ``Test1`` alike, so choose the session before the
    cycle (``repetition_split`` on a load of all three sessions would train on the
    test sessions' cycle 0 too). The paper's low-data protocol trains on cycle 0 of ``training0``
    and tests on ``Test0``/``Test1``.

    Examples
    --------
    >>> from semgaug_sk.datasets import load_myo_armband
    >>> rec = load_myo_armband("myo_armband_cote_allard", subjects="Male0")  # doctest: +SKIP
    >>> rec.emg.shape[1], rec.fs, rec.session_names  # doctest: +SKIP
    (8, 200.0, ('training0', 'Test0', 'Test1'))
    """
    root = check_existing_path(path, loader=_LOADER)
    if dataset not in ("evaluation", "pretraining", "both"):
        raise ValueError(
            f"{_LOADER}: dataset must be 'evaluation', 'pretraining' or 'both'; got {dataset!r}."
        )
    datasets = ["evaluation", "pretraining"] if dataset == "both" else [dataset]
    for ds in datasets:
        if not (root / _DATASETS[ds]).is_dir():
            raise FileNotFoundError(
                f"{_LOADER}: {root / _DATASETS[ds]} does not exist. Pass the dataset's root folder "
                f"(the one holding {_DATASETS[ds]}/), or choose another dataset=."
            )

    session_list = _as_names(sessions, name="sessions")
    if session_list is None:
        session_names = _SESSIONS
    else:
        canonical = {s.lower(): s for s in _SESSIONS}
        unknown = [s for s in session_list if s.lower() not in canonical]
        if unknown:
            raise ValueError(
                f"{_LOADER}: unknown session(s) {unknown}; choose from {list(_SESSIONS)}."
            )
        session_names = tuple(dict.fromkeys(canonical[s.lower()] for s in session_list))

    # every (dataset, folder) pair available, in natural order
    available = [
        (ds, d.name)
        for ds in datasets
        for d in sorted((root / _DATASETS[ds]).iterdir(), key=lambda p: natural_key(p.name))
        if d.is_dir() and not d.name.startswith((".", "__"))  # __MACOSX, .ipynb_checkpoints
    ]
    subject_list = _as_names(subjects, name="subjects")
    if subject_list is None:
        chosen = [pair for pair in available if not (drop_duplicates and pair in _DUPLICATES)]
    else:
        chosen = []
        for name in subject_list:
            ds_part, _, folder = name.rpartition("/")
            ds_part = ds_part.lower()
            if ds_part and ds_part not in datasets:
                fix = (
                    f"Pass dataset={ds_part!r} or dataset='both'"
                    if ds_part in _DATASETS
                    else "Qualify it with 'evaluation/' or 'pretraining/'"
                )
                raise ValueError(
                    f"{_LOADER}: subject {name!r} names dataset {ds_part!r}, which is not loaded with "
                    f"dataset={dataset!r}. {fix}, or drop the {ds_part + '/'!r} prefix."
                )
            matches = [  # case-insensitive, as sessions are: "male0" is Male0
                (ds, f)
                for ds, f in available
                if f.lower() == folder.lower() and (not ds_part or ds == ds_part)
            ]
            if not matches:
                names = sorted({f for _, f in available}, key=natural_key)
                raise ValueError(
                    f"{_LOADER}: subject {name!r} not found in dataset={dataset!r}; available "
                    f"subjects: {names}."
                )
            for pair in matches:
                if drop_duplicates and pair in _DUPLICATES:
                    if len(matches) == 1:
                        raise ValueError(
                            f"{_LOADER}: PreTraining {pair[1]} is a byte-identical copy of an "
                            "Evaluation Female0 session and is dropped by default; pass "
                            "drop_duplicates=False to load it anyway."
                        )
                    continue
                if pair not in chosen:
                    chosen.append(pair)
        chosen.sort(key=available.index)

    parts, subject_names, subject_info = [], [], {}
    for ds, folder in chosen:
        subject_dir = root / _DATASETS[ds] / folder
        present = {d.name.lower(): d for d in subject_dir.iterdir() if d.is_dir()}
        dirs = [(s, present[s.lower()]) for s in session_names if s.lower() in present]
        # the evaluation dataset records all three sessions of every subject; the
        # pre-training one only training0
        expected = (
            session_names if ds == "evaluation" else [s for s in session_names if s == "training0"]
        )
        missing = [s for s in expected if s.lower() not in present]
        if missing:
            warnings.warn(
                f"{_LOADER}: {_DATASETS[ds]}/{folder} has no session folder(s) {missing}"
                f"{'; the subject is skipped' if not dirs else ''}. Every subject of this "
                "dataset has them: download the dataset again, or pass sessions= to load "
                "only the sessions you have.",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )
        if not dirs:
            continue
        name = f"{ds}/{folder}" if dataset == "both" else folder
        sid = len(subject_names)
        subject_names.append(name)
        subject_info[name] = _read_experiment_csv(subject_dir / "experiment.csv")
        for session, session_dir in dirs:
            for i in range(_N_FILES):
                f = session_dir / f"classe_{i}.dat"
                if not f.is_file():
                    raise FileNotFoundError(
                        f"{_LOADER}: {f} is missing; every session has classe_0.dat..classe_27.dat. "
                        "Download the dataset again."
                    )
                parts.append(
                    dict(
                        name=str(f),
                        emg=_read_dat(f),
                        label=i % _N_GESTURES,
                        repetition=i // _N_GESTURES,
                        subject=sid,
                        session_name=session,
                    )
                )
    if not parts:
        raise ValueError(
            f"{_LOADER}: none of the selected subjects has session(s) {list(session_names)} in "
            f"dataset={dataset!r} (the pre-training dataset only has 'training0')."
        )
    used = {p["session_name"] for p in parts}
    session_names = tuple(s for s in session_names if s in used)
    for part in parts:
        part["session"] = session_names.index(part["session_name"])
    return assemble_recording(
        parts,
        fs=_FS,
        loader=_LOADER,
        rest_label=None,  # gesture 0 is "Neutral", a real class
        label_names=dict(enumerate(GESTURE_NAMES)),
        subject_names=tuple(subject_names),
        session_names=tuple(session_names),
        channel_names=tuple(f"ch{c}" for c in range(_N_CHANNELS)),
        subject_info=subject_info,
        source_files=tuple(p["name"] for p in parts),
    )

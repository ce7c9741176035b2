"""Reader for NinaPro ``.mat`` files (DB1, DB2, DB4, DB5, DB7 and similar layouts)."""

from __future__ import annotations

import re
import struct
import warnings
from pathlib import Path

import numpy as np
import scipy.io as sio

from ..utils.validation import caller_stacklevel
from ._common import (
    as_fs,
    as_int_filter,
    assemble_recording,
    check_existing_path,
    natural_key,
)

__all__ = ["MissingVariableError", "load_ninapro"]

_LOADER = "load_ninapro"


class MissingVariableError(ValueError, KeyError):
    """A data file lacks a variable the loader needs.

    A ``ValueError``, as every other damaged or incomplete file is, and a
    ``KeyError`` for code written when the loader raised that. Its message
    prints plainly (``str(KeyError)`` would quote it).

    Examples
    --------
    >>> err = MissingVariableError("S1_A1_E1.mat has no 'emg' variable")
    >>> isinstance(err, ValueError) and isinstance(err, KeyError), str(err)
    (True, "S1_A1_E1.mat has no 'emg' variable")
    """

    def __str__(self):
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


_FS_KEYS = ("frequency", "fs", "Fs", "FS", "sampling_frequency", "sampling_rate")
_LABEL_PAIRS = (("restimulus", "rerepetition"), ("stimulus", "repetition"))
_WANTED = ("emg", "subject", "exercise") + _FS_KEYS + tuple(k for p in _LABEL_PAIRS for k in p)
_KNOWN_FS = "DB1: 100 Hz, DB2: 2000 Hz, DB3: 2000 Hz, DB4: 2000 Hz, DB5: 200 Hz, DB7: 2000 Hz"
# "S1_A1_E1.mat", "S1_E1_A1.mat", "s12_E2_A1.mat", "S1_D1_T1.mat", "Subject_3_E1.mat"
_SUBJECT_RE = re.compile(r"^s(?:ubject)?[_-]?(\d+)(?=$|[_\-. ])", re.IGNORECASE)
_EXERCISE_RE = re.compile(r"(?:^|_)E(\d+)(?=$|_)", re.IGNORECASE)


def _subject_from_name(path: Path):
    m = _SUBJECT_RE.match(path.stem)
    return int(m.group(1)) if m else None


def _session_name(path: Path) -> str:
    """File stem without its subject part: "S1_A1_E1" -> "A1_E1"."""
    m = _SUBJECT_RE.match(path.stem)
    rest = path.stem[m.end() :].lstrip("_-. ") if m else path.stem
    return rest or path.stem


def _scalar(value, *, key: str, path: Path):
    arr = np.asarray(value)
    if arr.size != 1 or arr.dtype.kind not in "iuf":
        raise ValueError(
            f"{_LOADER}: key {key!r} of {path} should hold one number; got an array of shape "
            f"{arr.shape} and dtype {arr.dtype}. Fix or remove that key in the file."
        )
    return arr.reshape(-1)[0].item()


def _mat5_cut_short(path: Path) -> bool:
    """Whether a MATLAB 5 file ends inside one of its variables (a truncated download).

    scipy's ``loadmat`` stops quietly at the end of the file, so a file cut between or
    inside variables it skips would load with labels missing, or with the raw
    ``stimulus`` in place of ``restimulus``. The top-level data elements declare their
    byte counts in their tags (MAT-file format, "Data Element Format"); the last one must
    end at or before the end of the file. Files that are not MATLAB 5 pass.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        header = f.read(128)
        if len(header) < 128 or header[126:128] not in (b"IM", b"MI"):
            return False  # not a MATLAB 5 file: scipy's own checks apply
        endian = "<" if header[126:128] == b"IM" else ">"
        if struct.unpack(endian + "H", header[124:126])[0] != 0x0100:
            return False  # v7.3 (HDF5) also says IM; scipy's own message names it
        if size <= 128:
            return True  # a header and nothing after it: cut before its first variable
        position = 128
        while position < size:
            f.seek(position)
            tag = f.read(8)
            if len(tag) < 8:
                return True
            data_type, n_bytes = struct.unpack(endian + "II", tag)
            if data_type >> 16:  # small data element: type and size share the first word
                position += 8
                continue
            position += 8 + n_bytes
            if data_type == 14:  # miMATRIX elements are padded to 8 bytes; compressed are not
                position += -n_bytes % 8
        return position > size


def _read_mat(path: Path) -> dict:
    """Read the NinaPro variables of one file with scipy, turning scipy's errors into clear ones."""
    if _mat5_cut_short(path):
        raise ValueError(
            f"{_LOADER}: cannot read {path}: it ends inside one of its variables (or holds "
            "none), so the file is corrupt, truncated or incompletely downloaded. Download it "
            "again from the NinaPro site."
        )
    try:
        return sio.loadmat(path, variable_names=_WANTED)
    except NotImplementedError as exc:  # scipy: "Please use HDF reader for matlab v7.3 files"
        raise ValueError(
            f"{_LOADER}: {path} is a MATLAB v7.3 (HDF5) file, which scipy.io.loadmat cannot read. "
            "Re-save it in MATLAB with save(name, '-v7'), or convert it with h5py to a v7 .mat file."
        ) from exc
    except Exception as exc:  # scipy raises ValueError/OSError/IndexError/MatReadError on bad files
        raise ValueError(
            f"{_LOADER}: cannot read {path} as a MATLAB file ({type(exc).__name__}: {exc}). The file "
            "is corrupt, truncated or not a .mat file; download it again from the NinaPro site."
        ) from exc


def _subject_key(path: Path):
    """The file's ``subject`` variable alone (None when absent or unreadable)."""
    try:
        value = sio.loadmat(path, variable_names=["subject"]).get("subject")
        return None if value is None else int(np.asarray(value).reshape(-1)[0])
    except Exception:  # another subject's unreadable file: its own load would say why
        return None


def _keys_in(path: Path) -> list:
    try:
        return [name for name, _, _ in sio.whosmat(path)]
    except Exception:  # listing is only for the message; the read already failed for a reason
        return []


def _read_file(path: Path, fs_arg):
    m = _read_mat(path)

    # --- subject -------------------------------------------------------------------------------
    name_subject = _subject_from_name(path)
    if "subject" in m:
        subject = int(_scalar(m["subject"], key="subject", path=path))
        if name_subject is not None and name_subject != subject:
            warnings.warn(
                f"{_LOADER}: {path.name} says subject {name_subject} in its name but {subject} in its "
                f"'subject' key; using {subject}. Rename the file if the key is right.",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )
    elif name_subject is not None:
        subject = name_subject
    else:
        raise ValueError(
            f"{_LOADER}: {path} has no 'subject' key and its name does not start with S<number>; "
            "rename it like S1_A1_E1.mat so the subject can be identified."
        )

    # --- emg -----------------------------------------------------------------------------------
    if "emg" not in m:
        raise MissingVariableError(
            f"{_LOADER}: {path} has no 'emg' variable (it holds {sorted(_keys_in(path))}). "
            "NinaPro files store the signal as 'emg' (n_samples, n_channels); rename the variable."
        )
    emg = np.asarray(m["emg"])
    if emg.ndim == 1:
        emg = emg[:, np.newaxis]
    if emg.ndim != 2 or emg.dtype.kind not in "iuf" or 0 in emg.shape:
        raise ValueError(
            f"{_LOADER}: 'emg' in {path} must be a non-empty real (n_samples, n_channels) array; "
            f"got shape {emg.shape} and dtype {emg.dtype}."
        )
    if emg.shape[1] > emg.shape[0]:
        raise ValueError(
            f"{_LOADER}: 'emg' in {path} has shape {emg.shape}, more channels than samples; it looks "
            "transposed. Store it as (n_samples, n_channels)."
        )
    n_bad = int(emg.size - np.isfinite(emg).sum())
    if n_bad:
        raise ValueError(
            f"{_LOADER}: 'emg' in {path} contains {n_bad} NaN or infinite value(s). Clean the file "
            "(e.g. interpolate the gaps) before loading it."
        )
    peak = max(float(emg.max()), -float(emg.min()))  # no |emg| copy
    if peak > np.finfo(np.float32).max:  # the loader returns float32
        raise ValueError(
            f"{_LOADER}: 'emg' in {path} reaches {peak:.3g}, beyond float32's range (3.4e38), "
            "in which the loader returns it; the file is corrupt or in absurd units. Rescale "
            "or clean it first."
        )

    # --- labels --------------------------------------------------------------------------------
    complete = [pair for pair in _LABEL_PAIRS if pair[0] in m and pair[1] in m]
    halves = [pair for pair in _LABEL_PAIRS if (pair[0] in m) != (pair[1] in m)]
    # half a pair where the file would otherwise fall back from it: not a choice, a cut
    for pair in halves:
        if not complete or _LABEL_PAIRS.index(pair) < _LABEL_PAIRS.index(complete[0]):
            have, lack = pair if pair[0] in m else pair[::-1]
            raise ValueError(
                f"{_LOADER}: {path} has {have!r} but not {lack!r}; the file is incomplete or "
                "truncated (NinaPro stores them together). Download it again."
            )
    if not complete:
        missing = [k for k in ("stimulus", "repetition") if k not in m]
        raise MissingVariableError(
            f"{_LOADER}: {path} has neither 'restimulus'/'rerepetition' nor 'stimulus'/'repetition' "
            f"(missing {missing}; the file holds {sorted(_keys_in(path))}). NinaPro labels are stored "
            "as per-sample columns with these names; add them or rename the variables. A NinaPro "
            "download that lacks them is truncated: download it again."
        )
    label_key, rep_key = complete[0]
    if label_key != _LABEL_PAIRS[0][0]:
        warnings.warn(
            f"{_LOADER}: {path.name} has no 'restimulus'/'rerepetition'; using the raw "
            "'stimulus'/'repetition', whose movement boundaries are less exact. Every NinaPro "
            "database stores the refined ones, so a NinaPro download without them is truncated.",
            UserWarning,
            stacklevel=3,
        )
    columns = {}
    for key in (label_key, rep_key):
        col = np.asarray(m[key])
        if col.ndim == 2 and 1 in col.shape:
            col = col.reshape(-1)
        if col.ndim != 1 or col.dtype.kind not in "iuf":
            raise ValueError(
                f"{_LOADER}: {key!r} in {path} must be one number per sample; got shape {col.shape} "
                f"and dtype {col.dtype}. Store it as a column of numbers, shape (n_samples,) or "
                "(n_samples, 1), or download the file again."
            )
        if len(col) != emg.shape[0]:
            raise ValueError(
                f"{_LOADER}: mismatched lengths in {path}: 'emg' has {emg.shape[0]} samples but "
                f"{key!r} has {len(col)}. The file is inconsistent; download it again."
            )
        if col.dtype.kind == "f" and not (np.isfinite(col).all() and (col == np.round(col)).all()):
            raise ValueError(
                f"{_LOADER}: {key!r} in {path} holds non-integer or NaN values; labels and "
                "repetitions must be integers. The file is corrupt or edited: download it again, or "
                "store whole numbers (e.g. np.round(labels))."
            )
        columns[key] = col.astype(np.int64)

    # --- sampling rate -------------------------------------------------------------------------
    file_fs = None
    for key in _FS_KEYS:
        if key in m:
            file_fs = float(_scalar(m[key], key=key, path=path))
            if not np.isfinite(file_fs) or file_fs <= 0:
                raise ValueError(
                    f"{_LOADER}: {path} states a sampling rate {key}={file_fs}; it must be > 0. "
                    f"Fix or delete {key!r} in the file, then pass fs= ({_KNOWN_FS})."
                )
            break
    if file_fs is not None and fs_arg is not None and not np.isclose(file_fs, fs_arg):
        raise ValueError(
            f"{_LOADER}: fs={fs_arg} contradicts the sampling rate stored in {path} ({key}={file_fs}). "
            "Drop the fs argument (the file's value is used) or fix the file."
        )
    fs = file_fs if file_fs is not None else fs_arg
    if fs is None:
        raise ValueError(
            f"{_LOADER}: {path} does not state its sampling rate (no 'frequency' key) and fs was not "
            f"given. Pass fs= for your database ({_KNOWN_FS})."
        )

    # --- exercise ------------------------------------------------------------------------------
    if "exercise" in m:
        exercise = int(_scalar(m["exercise"], key="exercise", path=path))
    else:
        em = _EXERCISE_RE.search(path.stem)
        exercise = int(em.group(1)) if em else 0

    return dict(
        name=str(path),
        emg=emg.astype(np.float32),
        label=columns[label_key],
        repetition=columns[rep_key],
        subject=subject,
        exercise=exercise,
        session_name=_session_name(path),
        fs=float(fs),
        fs_stated=file_fs is not None,
        label_source=label_key,
        repetition_source=rep_key,
    )


#: NinaPro's protocols hold each movement for about 5 s; a median labelled movement
#: outside these bounds (in seconds) at the given fs means the fs is wrong.
_PLAUSIBLE_MOVEMENT_S = (0.5, 30.0)


def movement_durations(label, fs):
    """Durations in seconds of the runs of one non-zero label in ``label``.

    Examples
    --------
    >>> movement_durations(np.array([0, 1, 1, 0, 2, 2, 2, 0]), fs=2.0).tolist()
    [1.0, 1.5]
    """
    label = np.asarray(label)
    edges = np.flatnonzero(np.diff(label)) + 1
    starts = np.concatenate([[0], edges])
    lengths = np.diff(np.concatenate([starts, [len(label)]]))
    return lengths[label[starts] != 0] / float(fs)


def _warn_implausible_movement_durations(parts):
    """Warn when ``fs=`` (not stated by the files) makes the movements implausibly long or short.

    DB1 and DB2 files do not state their rate, so a wrong ``fs`` would otherwise go
    unnoticed and every duration (window length, step, features in Hz) would be off.
    """
    given = [p for p in parts if not p["fs_stated"]]
    if not given:
        return
    fs = given[0]["fs"]
    durations = np.concatenate([movement_durations(p["label"], fs) for p in given])
    if not len(durations):
        return
    median = float(np.median(durations))
    low, high = _PLAUSIBLE_MOVEMENT_S
    if not low <= median <= high:
        warnings.warn(
            f"{_LOADER}: at fs={fs:g} Hz the labelled movements last a median of {median:.3g} s, "
            f"where NinaPro's protocols hold each for about 5 s; check fs ({_KNOWN_FS}). The "
            f"files do not state their rate, so fs= decides every duration.",
            UserWarning,
            stacklevel=3,
        )


def _find_files(folder: Path):
    files = sorted(
        (p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() == ".mat"),
        key=lambda p: natural_key(str(p.relative_to(folder))),
    )
    ninapro = [p for p in files if _subject_from_name(p) is not None]
    if not ninapro:
        found = ", ".join(p.name for p in files[:10]) or "no .mat files at all"
        raise FileNotFoundError(
            f"{_LOADER}: no NinaPro files (named S<subject>_..._E<exercise>.mat, e.g. S1_A1_E1.mat) "
            f"in {folder} or its sub-folders (found: {found}). Point path at the folder that holds "
            "the unzipped NinaPro .mat files, or at one .mat file."
        )
    return ninapro


def _warn_shared_movement_numbers(parts):
    """Warn when two exercises use the same movement numbers (DB1 restarts them at 1)."""
    movements = {}
    for part in parts:
        labels = np.unique(np.asarray(part["label"]))
        movements.setdefault(part["exercise"], set()).update(labels[labels != 0].tolist())
    exercises = sorted(movements)
    shared = sorted(
        {
            m
            for i, a in enumerate(exercises)
            for b in exercises[i + 1 :]
            for m in movements[a] & movements[b]
        }
    )
    if shared:
        warnings.warn(
            f"{_LOADER}: exercises {exercises} use the same movement numbers ({shared[:8]}"
            f"{'...' if len(shared) > 8 else ''}), so different movements share a label (label 1 "
            "of one exercise is not label 1 of another in DB1). Load one exercise at a time, or "
            "make the labels distinct with rec.exercise (e.g. label + 100 * exercise) before "
            "training.",
            UserWarning,
            stacklevel=3,
        )


def _read_folder(path, wanted, fs):
    """Read the folder's files of the ``wanted`` subjects (all when None).

    A file's subject is its ``subject`` key when it has one, else the number in its
    name. Names select the files to read, so that a subject's files are read alone; a
    wanted subject that no name carries is then looked for in the keys of the other
    files, so a file whose name and key disagree is found by its key.
    """
    files = _find_files(path)
    if wanted is None:
        return [_read_file(p, fs) for p in files]
    named = [p for p in files if _subject_from_name(p) in wanted]
    named_parts = [_read_file(p, fs) for p in named]
    parts = [part for part in named_parts if part["subject"] in wanted]
    missing = set(wanted) - {part["subject"] for part in parts}
    if missing:
        # only each other file's 'subject' variable is read to find them (a typo in
        # subjects must not read a folder of large files)
        for other in (p for p in files if p not in named):
            if _subject_key(other) in missing:
                parts.append(_read_file(other, fs))
        missing -= {part["subject"] for part in parts}
    if missing:
        relabelled = [
            f"{Path(part['name']).name} (key {part['subject']})"
            for part in named_parts
            if part["subject"] not in wanted
        ]
        detail = (
            " Files named after them carry another 'subject' key, and the key decides: "
            f"{', '.join(relabelled)}."
            if relabelled
            else ""
        )
        raise ValueError(
            f"{_LOADER}: subject(s) {sorted(missing)} not found in {path}; available subjects: "
            f"{sorted({_subject_from_name(p) for p in files})} (by file name).{detail}"
        )
    return parts


def load_ninapro(path, subjects=None, fs=None):
    """Load NinaPro ``.mat`` recordings into one continuous recording.

    Parameters
    ----------
    path : str or path-like
        A NinaPro ``.mat`` file, or a folder searched recursively for files whose
        name starts with ``S<subject>`` (``S1_A1_E1.mat``, ``S1_E1_A1.mat``,
        ``S3_D1_T2.mat``, ...). Other ``.mat`` files in the folder are ignored.
    subjects : int or iterable of int, optional
        Subject numbers to load. ``None`` loads all. A file's subject is its
        ``subject`` key when it has one, else the ``S<n>`` of its name (a file whose
        name and key disagree warns, and the key decides). A subject that is not
        present raises an error listing those available.
    fs : float, optional
        Sampling rate in Hz, used only when a file does not state its own
        (``frequency``, ``fs``, ``Fs``, ``sampling_frequency`` or
        ``sampling_rate`` key). DB1 files (100 Hz) and DB2 files (2000 Hz) do not
        state it. A value contradicting the file's raises an error.

    Returns
    -------
    recording : sklearn.utils.Bunch
        - ``emg`` : ndarray (n_samples, n_channels) float32, files concatenated in
          (subject, file name) order.
        - ``fs`` : float, sampling rate in Hz.
        - ``label`` : ndarray (n_samples,) int64, ``restimulus`` (0 = rest), or
          ``stimulus`` when a file has no refined labels.
        - ``repetition`` : ndarray (n_samples,) int64, ``rerepetition`` (or
          ``repetition``); 0 during rest.
        - ``subject`` : ndarray (n_samples,) int64, subject number.
        - ``exercise`` : ndarray (n_samples,) int64, exercise number (the file's
          ``exercise`` key, else ``E<k>`` in its name, else 0).
        - ``session`` : ndarray (n_samples,) int64, index into ``session_names``,
          the file name without its subject part (``"A1_E1"``). Two files of one
          subject always differ in ``session``, so no window spans them.
        - ``block`` : ndarray (n_samples,) int64, index into ``source_files``.
        - ``rest_label`` : 0, which :func:`~semgaug_sk.windows.sliding_windows`
          drops by default.
        - ``session_names``, ``channel_names`` (``"ch0"``, ...), ``source_files``,
          ``label_source`` and
          ``repetition_source`` (the keys read; a tuple per file if they differ).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist or a folder holds no NinaPro file.
    MissingVariableError
        If a file lacks ``emg`` or both label pairs (a ``ValueError`` and,
        for code written against earlier releases, a ``KeyError``).
    ValueError
        For a corrupt, truncated, non-MAT or v7.3 file, mismatched array
        lengths, an unknown or contradictory sampling rate, a missing subject,
        or channel counts that differ between files.

    Notes
    -----
    Movement labels are kept exactly as stored. In DB1 every exercise numbers
    its movements from 1 again, so label 1 of exercise 2 is not label 1 of
    exercise 1; other databases may continue the numbering across exercises
    (check ``np.unique(rec.label[rec.exercise == k])``). When loading several
    exercises with overlapping numbers, separate them with ``exercise`` (for
    example ``label + offset[exercise]``) before training. Movement names depend on the
    database and exercise and are listed on the NinaPro site
    (https://ninapro.hevs.ch); they are not stored in the files.

    DB1 is recorded with Otto Bock electrodes that output a rectified,
    smoothed envelope (non-negative, 100 Hz), not raw sEMG.

    Examples
    --------
    >>> from semgaug_sk.datasets import load_ninapro
    >>> rec = load_ninapro("ninapro_db1_e1", subjects=[1, 2], fs=100)  # doctest: +SKIP
    >>> rec.emg.shape[1], rec.fs, sorted(set(rec.subject.tolist()))  # doctest: +SKIP
    (10, 100.0, [1, 2])
    """
    path = check_existing_path(path, loader=_LOADER)
    wanted = as_int_filter(subjects, name="subjects", loader=_LOADER)
    if fs is not None:
        fs = as_fs(fs, loader=_LOADER)

    if path.is_dir():
        parts = _read_folder(path, wanted, fs)
    else:
        parts = [_read_file(path, fs)]
        if wanted is not None and set(wanted) != {parts[0]["subject"]}:
            absent = sorted(set(wanted) - {parts[0]["subject"]})
            raise ValueError(
                f"{_LOADER}: {path} holds subject {parts[0]['subject']} only, so the requested "
                f"subject(s) {absent} are not in it. Pass subjects=None, the subject it holds, "
                "or the folder that holds them all."
            )

    rates = {part["fs"] for part in parts}
    if len(rates) > 1:
        detail = ", ".join(f"{Path(p['name']).name}: {p['fs']:g} Hz" for p in parts)
        raise ValueError(
            f"{_LOADER}: the files have different sampling rates ({detail}); load them separately "
            "(or resample) before concatenating."
        )

    parts.sort(key=lambda p: (p["subject"], natural_key(p["session_name"])))
    seen = {}
    for part in parts:
        key = (part["subject"], part["session_name"])
        if key in seen:
            raise ValueError(
                f"{_LOADER}: {seen[key]} and {part['name']} are the same subject and session "
                f"{key}; remove the duplicate copy from the folder."
            )
        seen[key] = part["name"]
    # a copy saved under another name ("S1_A1_E1 (1).mat") has another session name
    for i, part in enumerate(parts):
        for other in parts[:i]:
            if (
                other["subject"] == part["subject"]
                # 0: no exercise in the file or its name (a copy's name may hide it)
                and (
                    other["exercise"] == part["exercise"]
                    or 0 in (other["exercise"], part["exercise"])
                )
                and other["emg"].shape == part["emg"].shape
                and np.array_equal(other["label"], part["label"])
                and np.array_equal(other["emg"], part["emg"])
            ):
                raise ValueError(
                    f"{_LOADER}: {other['name']} and {part['name']} hold the same recording of "
                    f"subject {part['subject']}; remove the duplicate copy from the folder."
                )
    session_names = tuple(sorted({p["session_name"] for p in parts}, key=natural_key))
    for part in parts:
        part["session"] = session_names.index(part["session_name"])
        part["extra_keys"] = ("exercise",)

    def _source(key):
        values = tuple(p[key] for p in parts)
        if len(set(values)) == 1:
            return values[0]
        warnings.warn(
            f"{_LOADER}: some files have refined labels and some do not ({key} per file: "
            f"{values}); refined and raw stimulus boundaries differ, so mixing them biases results.",
            UserWarning,
            stacklevel=3,
        )
        return values

    _warn_shared_movement_numbers(parts)
    _warn_implausible_movement_durations(parts)
    n_channels = parts[0]["emg"].shape[1]
    return assemble_recording(
        parts,
        fs=parts[0]["fs"],
        loader=_LOADER,
        rest_label=0,
        channel_names=tuple(f"ch{c}" for c in range(n_channels)),
        session_names=session_names,
        source_files=tuple(p["name"] for p in parts),
        label_source=_source("label_source"),
        repetition_source=_source("repetition_source"),
    )

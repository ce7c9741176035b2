"""Reader for the UCI "EMG data for gestures" recordings (Lobov et al., 8-channel Myo)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ._common import (
    as_fs,
    as_int_filter,
    assemble_recording,
    check_existing_path,
    natural_key,
)

__all__ = ["load_uci_gestures"]

_LOADER = "load_uci_gestures"
_FILE_RE = re.compile(r"^(\d+)_raw_data_.*\.txt$", re.IGNORECASE)
LABEL_NAMES = {
    0: "unmarked",
    1: "hand at rest",
    2: "fist",
    3: "wrist flexion",
    4: "wrist extension",
    5: "radial deviation",
    6: "ulnar deviation",
    7: "extended palm",
}


def _subject_files(folder: Path):
    return sorted(
        (p for p in folder.iterdir() if p.is_file() and _FILE_RE.match(p.name)),
        key=lambda p: natural_key(p.name),
    )


def _find_files(root: Path):
    """Map subject number -> list of files, from a file, a subject folder or the root folder."""
    root = root.resolve()  # "." or a bare file name has no folder name to read the subject from
    if root.is_file():
        if not _FILE_RE.match(root.name) or not root.parent.name.isdigit():
            raise ValueError(
                f"{_LOADER}: {root} is not a UCI gestures file (<series>_raw_data_<time>_<date>.txt "
                "inside a numbered subject folder such as 01/)."
            )
        return {int(root.parent.name): [root]}
    if root.name.isdigit() and _subject_files(root):
        return {int(root.name): _subject_files(root)}
    found = {}
    for d in sorted(root.iterdir(), key=lambda p: natural_key(p.name)):
        if d.is_dir() and d.name.isdigit():
            files = _subject_files(d)
            if files:
                if int(d.name) in found:
                    raise ValueError(
                        f"{_LOADER}: folders {found[int(d.name)][0].parent.name}/ and {d.name}/ "
                        f"of {root} both name subject {int(d.name)}; keep one of them."
                    )
                found[int(d.name)] = files
    if not found:
        raise FileNotFoundError(
            f"{_LOADER}: no UCI gestures files in {root}. Expected numbered subject folders "
            "(01/, 02/, ...) holding <series>_raw_data_<time>_<date>.txt files; pass the folder "
            "that contains them, one subject folder, or one file."
        )
    return found


def _read_table(path: Path) -> np.ndarray:
    with open(path, encoding="utf-8-sig", errors="replace") as fh:  # a BOM from Excel/Notepad
        header = fh.readline().split()
    if len(header) < 3 or header[0].lower() != "time" or header[-1].lower() != "class":
        raise ValueError(
            f"{_LOADER}: {path} does not start with the header 'time channel1 ... class'; it is "
            "not a UCI gestures file (or it is corrupt). Download it again."
        )
    try:
        data = np.loadtxt(path, skiprows=1, delimiter="\t", ndmin=2)
    except ValueError as exc:
        raise ValueError(
            f"{_LOADER}: cannot parse {path} as tab-separated numbers ({exc}); the file is "
            "corrupt or truncated. Download it again."
        ) from exc
    if data.shape[0] < 2 or data.shape[1] != len(header):
        raise ValueError(
            f"{_LOADER}: {path} has {data.shape[0]} row(s) of {data.shape[1]} column(s); expected "
            f"at least 2 rows of {len(header)} columns (the header's). The file is truncated: "
            "download it again."
        )
    if not np.isfinite(data).all():
        raise ValueError(
            f"{_LOADER}: {path} contains NaN or infinite values; clean the file first."
        )
    return data


#: The longest pause between two rows the loader holds across (ms): the recordings'
#: rows lie about 1 ms apart (the shared copy's longest pause: 36 ms).
_MAX_GAP_MS = 60_000.0


def _resample_hold(data: np.ndarray, fs: float, path: Path):
    """Zero-order-hold resampling of the (time, channels..., class) table onto a uniform grid."""
    t = data[:, 0]
    gaps = np.diff(t)
    if np.any(gaps < 0):
        raise ValueError(
            f"{_LOADER}: the time column of {path} goes backwards at row "
            f"{int(np.flatnonzero(gaps < 0)[0]) + 2}; the file is corrupt. Download it again (or "
            "fix that row's time)."
        )
    if gaps.max() > _MAX_GAP_MS:
        row = int(np.argmax(gaps)) + 2  # 1-based, after the header
        raise ValueError(
            f"{_LOADER}: the time column of {path} jumps by {gaps.max() / 1000:.3g} s between "
            f"rows {row} and {row + 1} (consecutive rows lie about 1 ms apart); the timestamp is "
            "corrupt, and holding a row across such a gap would invent a constant signal. Fix "
            "or remove that row."
        )
    n = int(np.floor((t[-1] - t[0]) * fs / 1000.0)) + 1
    grid = t[0] + np.arange(n) * (1000.0 / fs)
    # the row in force at each grid time: the last one with time <= grid time
    idx = np.searchsorted(t, grid, side="right") - 1
    label = data[idx, -1]
    if not (label == np.round(label)).all() or label.min() < 0:
        raise ValueError(
            f"{_LOADER}: the class column of {path} holds non-integer or negative values; "
            "the classes are whole numbers >= 0 (0: unmarked), so the file is corrupt. "
            "Download it again."
        )
    return data[idx, 1:-1].astype(np.float32), label.astype(np.int64)


def _run_index(label: np.ndarray) -> np.ndarray:
    """Per sample, the 1-based order of its contiguous run among the runs of its class (0 for class 0)."""
    starts = np.flatnonzero(np.r_[True, label[1:] != label[:-1]])
    run_labels = label[starts]
    run_no = np.zeros(len(starts), dtype=np.int64)
    for c in np.unique(run_labels):
        mask = run_labels == c
        run_no[mask] = np.arange(1, mask.sum() + 1)
    run_no[run_labels == 0] = 0
    lengths = np.diff(np.r_[starts, len(label)])
    return np.repeat(run_no, lengths)


def load_uci_gestures(path, subjects=None, fs=200.0):
    """Load the UCI "EMG data for gestures" Myo recordings, resampled to a uniform rate.

    Parameters
    ----------
    path : str or path-like
        The dataset folder (numbered subject folders ``01/``, ``02/``, ...), one
        subject folder, or one ``<series>_raw_data_<time>_<date>.txt`` file.
    subjects : int or iterable of int, optional
        Subject numbers (the folder names) to load; ``None`` loads all.
    fs : float, default=200.0
        Rate of the uniform output grid in Hz, filled by a zero-order hold on
        the files' time stamps. The Myo streams 200 Hz EMG, but in these files
        the channel values change only about 92-109 times per second (rows
        arrive at ~1 kHz, 89 % repeating the previous one), irregularly: updates
        often come in pairs 1-2 ms apart. A 200 Hz grid keeps one update of
        each such pair, about 65-78 % of the updates (measured on subjects 01,
        03 and 04), and holds values between updates. A finer grid keeps more
        updates but repeats more samples; no uniform grid recovers the device's
        own samples, whose times the files do not record.

    Returns
    -------
    recording : sklearn.utils.Bunch
        - ``emg`` : ndarray (n_samples, 8) float32, the file values (Myo counts
          times 1e-5).
        - ``fs`` : float, the grid rate.
        - ``label`` : ndarray (n_samples,) int64, the ``class`` column: 0 =
          unmarked (between gestures, the rest/unlabelled label), 1 = hand at rest,
          2..7 = gestures (names in ``label_names``).
        - ``repetition`` : ndarray (n_samples,) int64, ``runs*(series-1) + run``
          for labelled samples, where ``run`` (1-based) is the order of the
          segment among the segments of its class in the file and ``runs`` the
          largest run count of the subject (2 in the published files, giving
          repetitions 1..4 per gesture); 0 for unmarked samples.
        - ``subject`` : ndarray (n_samples,) int64, subject number.
        - ``session`` : ndarray (n_samples,) int64, index into ``session_names``
          (``"series1"``, ``"series2"``).
        - ``block`` : ndarray (n_samples,) int64, index into ``source_files``.
        - ``rest_label`` : 0 (unmarked samples), which
          :func:`~semgaug_sk.windows.sliding_windows` drops by default.
        - ``label_names``, ``session_names``, ``channel_names``, ``source_files``
          and ``durations_s`` (recorded length of each file).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist or holds no UCI gestures files.
    ValueError
        For a missing subject, a bad ``fs``, or a corrupt file (wrong header,
        unparsable rows, time running backwards).

    Notes
    -----
    The files log a sample-and-hold stream: each row repeats the last value the
    Myo delivered until a new one arrives, at irregular 1-12 ms steps. Resampling
    therefore takes, at each grid time, the last row at or before it (zero-order
    hold, via ``np.searchsorted``), which is exactly the value the device held
    then. Linear interpolation would invent values between two held samples that
    the device never produced, and at a label transition it would produce
    fractional classes (or, rounded, shift the boundary); the hold keeps every
    label and amplitude one that was actually recorded.

    Examples
    --------
    >>> from semgaug_sk.datasets import load_uci_gestures
    >>> rec = load_uci_gestures("uci_emg_gestures", subjects=1)  # doctest: +SKIP
    >>> rec.emg.shape[1], rec.fs  # doctest: +SKIP
    (8, 200.0)
    """
    root = check_existing_path(path, loader=_LOADER)
    fs = as_fs(fs, loader=_LOADER)
    wanted = as_int_filter(subjects, name="subjects", loader=_LOADER)
    found = _find_files(root)
    if wanted is not None:
        absent = [s for s in wanted if s not in found]
        if absent:
            raise ValueError(
                f"{_LOADER}: subject(s) {absent} not found in {root}; available subjects: "
                f"{sorted(found)}."
            )
        found = {s: found[s] for s in wanted}

    all_series = sorted({int(_FILE_RE.match(f.name).group(1)) for fl in found.values() for f in fl})
    session_names = tuple(f"series{k}" for k in all_series)
    parts = []
    for subject, files in sorted(found.items()):
        by_series = {}
        for f in files:
            by_series.setdefault(int(_FILE_RE.match(f.name).group(1)), []).append(f.name)
        copies = {k: names for k, names in by_series.items() if len(names) > 1}
        if copies:
            raise ValueError(
                f"{_LOADER}: subject {subject} has several files of the same series "
                f"({copies}); each series is one file. Remove the duplicate copies."
            )
        subject_parts = []
        for f in files:
            data = _read_table(f)
            emg, label = _resample_hold(data, fs, f)
            series = int(_FILE_RE.match(f.name).group(1))
            subject_parts.append(
                dict(
                    name=str(f),
                    emg=emg,
                    label=label,
                    run=_run_index(label),
                    series=series,
                    subject=subject,
                    session=all_series.index(series),
                    duration=(data[-1, 0] - data[0, 0]) / 1000.0,
                )
            )
        runs = max(int(p["run"].max()) for p in subject_parts) or 1
        for p in subject_parts:
            p["repetition"] = np.where(p["run"] > 0, runs * (p["series"] - 1) + p["run"], 0)
        parts.extend(subject_parts)

    n_channels = parts[0]["emg"].shape[1]
    return assemble_recording(
        parts,
        fs=fs,
        loader=_LOADER,
        rest_label=0,  # unmarked samples between gestures
        label_names=dict(LABEL_NAMES),
        session_names=session_names,
        channel_names=tuple(f"ch{c}" for c in range(n_channels)),
        source_files=tuple(p["name"] for p in parts),
        durations_s=np.array([p["duration"] for p in parts]),
    )

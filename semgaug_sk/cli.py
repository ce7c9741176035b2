"""The ``semgaug`` command.

``semgaug features`` turns windows or recordings into a feature table. Each
sub-command has ``--help``. User mistakes (a missing file, a bad option value)
print one line, ``semgaug: error: ...``, and exit with status 2, with no traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

__all__ = ["main", "build_parser"]


class UserError(Exception):
    """A mistake in the command line or the input files, reported without a traceback."""


def _add_common(parser):
    parser.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:N or auto")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="show progress")


def _add_windowing(parser):
    parser.add_argument("--window-ms", type=float, default=200.0, help="window length (ms)")
    parser.add_argument("--step-ms", type=float, default=100.0, help="window hop (ms)")
    parser.add_argument(
        "--fs", type=float, default=None, help="sampling rate (Hz) when the input does not state it"
    )
    parser.add_argument("--include-rest", action="store_true", help="keep rest windows (label 0)")
    parser.add_argument(
        "--subjects", type=int, nargs="+", default=None, help="NinaPro subjects to read"
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``semgaug`` command.

    Examples
    --------
    >>> build_parser().parse_args(["features", "in.npz", "-o", "out.csv"]).command
    'features'
    """
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="semgaug",
        description=(
            "sEMG gesture recognition with little data: classical EMG features, LSTM feature "
            "imitation (LSTM-FIN) and semantic-guided diffusion augmentation (SASG-DA)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"semgaug_sk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    feats = sub.add_parser(
        "features",
        help="compute EMG features of windows or recordings",
        description=(
            "Compute classical EMG features. INPUT is a NinaPro .mat file or folder, an .npz of "
            "windows (X, optional y) or an .npz recording (emg, fs, label, ...). Recordings are "
            "cut into windows first. The output is CSV (with a header of feature names, then y, "
            "repetition and subject when known) or .npz, chosen by the output's extension."
        ),
    )
    feats.add_argument("input", help="NinaPro .mat file/folder or .npz")
    feats.add_argument("-o", "--output", required=True, help="output .csv or .npz")
    feats.add_argument(
        "--features",
        nargs="+",
        default=["hudgins"],
        help="feature names and/or groups (fin, hudgins, td, all); default: hudgins",
    )
    feats.add_argument("--threshold", type=float, default=0.0, help="zc/ssc/wamp threshold")
    _add_windowing(feats)
    _add_common(feats)
    feats.set_defaults(handler=_cmd_features)
    return parser


def _load_input(path, args):
    """Read INPUT as a window set (Bunch with X and per-window arrays)."""
    from sklearn.utils import Bunch

    from .datasets import load_ninapro
    from .windows import sliding_windows

    path = Path(path)
    if not path.exists():
        raise UserError(f"input {str(path)!r} does not exist")
    window_args = dict(
        window_ms=args.window_ms, step_ms=args.step_ms, include_rest=args.include_rest
    )
    if path.is_dir() or path.suffix.lower() == ".mat":
        rec = load_ninapro(path, subjects=args.subjects, fs=args.fs)
        return sliding_windows(rec, **window_args)
    if path.suffix.lower() != ".npz":
        raise UserError(
            f"input {str(path)!r} must be a NinaPro .mat file or folder, or an .npz file"
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {str(path)!r} as .npz: {exc}") from exc
    if "X" in data:
        X = data["X"]
        n = len(X)
        return Bunch(
            X=X,
            y=data.get("y"),
            repetition=data.get("repetition", np.zeros(n, dtype=int)),
            subject=data.get("subject", np.zeros(n, dtype=int)),
        )
    if "emg" in data:
        rec = Bunch(**data)
        if "fs" in rec:
            rec.fs = float(np.asarray(rec.fs))
        return sliding_windows(rec, fs=None if "fs" in rec else args.fs, **window_args)
    raise UserError(
        f"{str(path)!r} has neither 'X' (windows) nor 'emg' (a recording); keys: {sorted(data)}"
    )


def _cmd_features(args):
    from .features import EMGFeatures

    windows = _load_input(args.input, args)
    fs = windows.get("fs", args.fs)
    est = EMGFeatures(features=tuple(args.features), threshold=args.threshold, fs=fs)
    F = est.fit_transform(windows.X)
    names = list(est.get_feature_names_out())
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    extra = {
        k: np.asarray(windows[k])
        for k in ("y", "repetition", "subject")
        if windows.get(k) is not None
    }
    if out.suffix.lower() == ".npz":
        np.savez(out, features=F, feature_names=np.array(names), **extra)
    elif out.suffix.lower() == ".csv":
        columns = [F.astype(np.float64)] + [v.reshape(-1, 1) for v in extra.values()]
        table = np.concatenate([c.astype(object) for c in columns], axis=1)
        header = ",".join(names + list(extra))
        np.savetxt(out, table, delimiter=",", header=header, comments="", fmt="%s")
    else:
        raise UserError(f"output {str(out)!r} must end in .csv or .npz")
    print(f"wrote {F.shape[0]} windows x {F.shape[1]} features to {out}")
    return 0


def main(argv=None) -> int:
    """Run the ``semgaug`` command; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (UserError, ValueError, FileNotFoundError, RuntimeError, KeyError) as exc:
        message = str(exc).strip("'\"") or type(exc).__name__
        print(f"semgaug: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("semgaug: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

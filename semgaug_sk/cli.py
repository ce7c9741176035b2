"""The ``semgaug`` command.

``semgaug demo`` runs the main job on the built-in simulator, ``semgaug augment``
writes SASG-DA synthetic windows, and ``semgaug features`` turns windows or
recordings into a feature table. Each
sub-command has ``--help``, which shows every option's default. User mistakes (a
missing file, a bad option value) print one line, ``semgaug: error: ...``, naming
the command-line option to change, and exit with status 2, with no traceback;
warnings print one line each, ``semgaug: warning: ...``.

Output: results go to stdout; progress goes to stderr, as a live bar on a
terminal and as a few summary lines otherwise (a log file, a pipe). ``-q`` turns
progress and warnings off, ``-v`` adds the networks' per-epoch logs (on stderr, through
:func:`~semgaug_sk.utils.progress.epoch_logs_to`, which moves only the logs of the
networks the calling thread trains: concurrent ``main`` calls in threads keep their
stdout).
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import io
import math
import os
import re
import sys
import warnings
from pathlib import Path

import numpy as np

__all__ = ["main", "build_parser"]

#: Where ``semgaug demo`` saves its figure without ``--out`` (in the current folder).
DEMO_FIGURE = "semgaug_demo.png"
#: Figure formats ``--out`` may name; any other path is a folder.
_FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


class UserError(Exception):
    """A mistake in the command line or the input files, reported without a traceback."""


#: Where :class:`_StoreOnce` notes the options given so far, removed after parsing.
_GIVEN = "_semgaug_given_options"


def _shown(values):
    """An option's values as typed: ``["1", "2"]`` -> ``"1 2"``."""
    return " ".join(map(str, values)) if isinstance(values, list) else str(values)


class _StoreOnce(argparse._StoreAction):
    """Store an option's value, and refuse the option a second time: argparse keeps the
    last value silently, so ``-o a.npz ... -o b.npz`` would write one file, not two."""

    def __call__(self, parser, namespace, values, option_string=None):
        given = vars(namespace).setdefault(_GIVEN, {})
        if option_string is not None and self.dest in given:
            first, option = given[self.dest]
            parser.error(
                f"{option} {_shown(first)} and {option_string} {_shown(values)} give one option "
                "twice; give it once"
            )
        given[self.dest] = (values, option_string)
        super().__call__(parser, namespace, values, option_string)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like the other user mistakes,
    and which refuses an option given twice."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)
        self.register("action", None, _StoreOnce)
        self.register("action", "store", _StoreOnce)

    def parse_known_args(self, args=None, namespace=None):
        parsed, rest = super().parse_known_args(args, namespace)
        vars(parsed).pop(_GIVEN, None)
        return parsed, rest

    def error(self, message):
        self.exit(2, f"semgaug: error: {message} (see '{self.prog} --help')\n")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Help that shows each option's default, unless the help text states it already.

    Flags (``--cnn``, ``-v``) and options whose default is "not given" (None) state
    what happens without them in their own words.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.nargs == 0 or action.default in (None, argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


#: What ``-q`` / (nothing) / ``-v`` / ``-vv`` mean: the estimators' ``verbose``.
QUIET, PROGRESS, EPOCH_LOGS = 0, 1, 2


def _number(kind, *, minimum, strict=False, maximum=None):
    """An argparse type: a finite ``kind`` (int or float) >= ``minimum`` (> with ``strict``),
    and <= ``maximum`` when given."""
    shown = str if kind is int else "{:g}".format  # 4294967295, not 4.29497e+09
    bound = f"> {shown(minimum)}" if strict else f">= {shown(minimum)}"
    if maximum is not None:
        bound += f" and <= {shown(maximum)}"
    what = "an integer" if kind is int else "a number"

    def convert(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what} {bound}; got {text!r}") from None
        too_big = maximum is not None and value > maximum
        if not np.isfinite(value) or value < minimum or (strict and value == minimum) or too_big:
            raise argparse.ArgumentTypeError(f"must be {what} {bound}; got {text!r}")
        return value

    return convert


_SEED = _number(int, minimum=0, maximum=2**32 - 1)  # numpy's seeds
_STEPS = _number(int, minimum=1)
_RATIO = _number(float, minimum=0)
_POSITIVE = _number(float, minimum=0, strict=True)
_FRACTION = _number(float, minimum=0, maximum=1)


def _add_common(parser, *, progress=True, torch_options=True):
    if torch_options:  # the features command trains nothing and draws nothing
        parser.add_argument(
            "--device", default="cpu", help="torch device: cpu, cuda, cuda:N or auto"
        )
        parser.add_argument("--seed", type=_SEED, default=0, help="random seed")
    loud = parser.add_mutually_exclusive_group()
    if progress:
        more = (
            "more output: also the networks' per-epoch training logs (progress is shown "
            "without -v: a live bar on a terminal, a few summary lines in a log)"
        )
        quiet = "print only results and errors: no progress, no warnings"
    else:
        more = "more output (this command shows no progress; accepted for symmetry)"
        quiet = "print only results and errors: no warnings"
    loud.add_argument("-v", "--verbose", action="count", default=0, help=more)
    loud.add_argument("-q", "--quiet", action="store_true", help=quiet)


def _verbosity(args) -> int:
    """The estimators' ``verbose`` for ``-q`` (0), nothing (1, progress) and ``-v`` (2)."""
    if getattr(args, "quiet", False):
        return QUIET
    return min(PROGRESS + int(getattr(args, "verbose", 0) or 0), EPOCH_LOGS)


def _training_logs_to_stderr(verbosity):
    """Where the networks' per-epoch tables (``-v``) go: stderr, as all progress does;
    stdout holds only the results. Only the networks this call trains write there
    (:func:`~semgaug_sk.utils.progress.epoch_logs_to` is local to the calling thread);
    without ``-v`` there are no tables."""
    from .utils.progress import epoch_logs_to

    if verbosity >= EPOCH_LOGS:
        return epoch_logs_to(sys.stderr)
    return contextlib.nullcontext()


_STEPS_HELP = (
    "diffusion training steps of 256 windows (a smaller set takes more full-pass steps for the "
    "same windows seen): fewer is faster, and the synthetic windows are rougher"
)
_FS_HELP = (
    "sampling rate in Hz, for an input that does not state it: NinaPro DB1 files need "
    "--fs 100 (DB2-DB4, DB7: 2000; DB5: 200) (default: the rate stored in the input)"
)


#: ``--window-ms`` and ``--step-ms`` when not given (None marks "not given", so that
#: their use on pre-cut windows, where they cannot apply, is an error).
_DEFAULT_WINDOW_MS, _DEFAULT_STEP_MS = 200.0, 100.0


def _add_windowing(parser):
    parser.add_argument(
        "--window-ms",
        type=_POSITIVE,
        default=None,
        help=f"window length in milliseconds, to cut recordings (default: {_DEFAULT_WINDOW_MS})",
    )
    parser.add_argument(
        "--step-ms",
        type=_POSITIVE,
        default=None,
        help="hop between the starts of consecutive windows, in milliseconds, to cut recordings "
        f"(default: {_DEFAULT_STEP_MS})",
    )
    parser.add_argument("--fs", type=_POSITIVE, default=None, help=_FS_HELP)
    parser.add_argument(
        "--include-rest",
        action="store_true",
        help="keep rest windows (label 0, or the recording's own rest_label); without it they "
        "are dropped",
    )
    parser.add_argument(
        "--rest-label",
        default=None,
        metavar="LABEL",
        help="the label of rest in a recording .npz whose labels are not numbers with 0 as rest, "
        "e.g. --rest-label rest (default: the file's own rest_label, else 0)",
    )
    parser.add_argument(
        "--subjects",
        nargs="+",
        default=None,
        help="subjects to read from a folder: NinaPro or UCI numbers, Myo names such as "
        "Male0 (the evaluation set, or the only set a Myo folder holds) or pretraining/Female6 "
        "(the pre-training set) (default: all in it; for a Myo folder, all of its evaluation "
        "set, or of the only set it holds)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``semgaug`` command.

    Examples
    --------
    >>> build_parser().parse_args(["features", "in.npz", "-o", "out.csv"]).command
    'features'
    """
    from . import __version__

    parser = _Parser(
        prog="semgaug",
        description=(
            "sEMG gesture recognition with little data: classical EMG features, LSTM feature "
            "imitation (LSTM-FIN) and semantic-guided diffusion augmentation (SASG-DA). "
            "Results go to stdout, progress to stderr."
        ),
    )
    parser.add_argument("--version", action="version", version=f"semgaug_sk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser(
        "demo",
        help="train, augment with SASG and print a before/after accuracy table",
        description=(
            "The main job on the built-in simulator (or one NinaPro subject): cut windows, train on "
            "repetitions 1-2, augment them with classic transforms and with SASG-DA (semantic "
            "conditions + SASS), and print the accuracy of LDA on hudgins features on the held-out "
            "repetitions before and after. Saves a figure of real against synthetic windows "
            f"(--out, default ./{DEMO_FIGURE}). A few minutes on a CPU; fewer --steps "
            "(e.g. 300) give a quicker first look."
        ),
    )
    demo.add_argument(
        "--ninapro",
        default=None,
        help="NinaPro .mat file or folder to use instead of the simulator (default: the "
        "built-in simulator)",
    )
    demo.add_argument(
        "--subject",
        type=int,
        default=None,
        help="NinaPro subject to use, with --ninapro (default: the subject of a single .mat "
        "file, subject 1 of a folder)",
    )
    demo.add_argument("--fs", type=_POSITIVE, default=None, help=_FS_HELP)
    demo.add_argument(
        "--steps",
        type=_STEPS,
        default=375,
        help=_STEPS_HELP,
    )
    demo.add_argument(
        "--ratio",
        type=_POSITIVE,
        default=2.0,
        help="synthetic windows per real window of each class (> 0: the demo compares them)",
    )
    demo.add_argument(
        "--cnn", action="store_true", help="also train a small CNN on raw windows (slower)"
    )
    demo.add_argument(
        "--out",
        default=DEMO_FIGURE,
        help="where to save the figure of real against synthetic windows: a .png, .pdf or .svg "
        "file, or a folder (the figure is then real_vs_synthetic.png in it), created if needed",
    )
    _add_common(demo)
    demo.set_defaults(handler=_cmd_demo)

    aug = sub.add_parser(
        "augment",
        help="fit SASG on windows and write synthetic windows to .npz",
        description=(
            "Fit SASGAugmenter on the windows of INPUT (a NinaPro .mat file or folder, a Myo armband "
            "or UCI gestures folder, an .npz of windows with X and y, or of a recording with emg, "
            "label and fs) and write the synthetic windows, their labels and the parameters used "
            "to an .npz."
        ),
    )
    aug.add_argument(
        "input",
        help="NinaPro .mat file/folder, Myo armband or UCI gestures folder, or .npz with X and y",
    )
    aug.add_argument(
        "-o",
        "--output",
        required=True,
        help="the .npz to write: synthetic windows X, labels y, fs and the parameters used "
        "(an existing file is replaced once the run succeeds)",
    )
    aug.add_argument(
        "--ratio",
        type=_POSITIVE,
        default=2.0,
        help="synthetic windows per real window of each class, as SASGAugmenter's ratio (> 0: "
        "the command writes only synthetic windows); 2 is the SASG-DA paper's mix",
    )
    aug.add_argument(
        "--condition",
        choices=("semantic", "label"),
        default="semantic",
        help="what the diffusion model is conditioned on: 'semantic' = the embedding of each "
        "window by a classifier trained on the same windows (SRG, the paper's method); "
        "'label' = a learned embedding of the class label (the baseline)",
    )
    aug.add_argument(
        "--sampling",
        choices=("sass", "gmss"),
        default="sass",
        help="how new semantic conditions are drawn: 'sass' = sparse-aware sampling, pushed "
        "toward rare regions of each class and filtered by the classifier's confidence (the "
        "paper's method); 'gmss' = one Gaussian per class; ignored with --condition label",
    )
    aug.add_argument(
        "--steps",
        type=_STEPS,
        default=None,
        help=_STEPS_HELP + " (default: 750; not with --prior, whose generator is fine-tuned for "
        "--adapt-steps instead)",
    )
    aug.add_argument(
        "--confidence-threshold",
        type=_FRACTION,
        default=0.5,
        help="with --sampling sass, keep a synthetic window only when the classifier gives its "
        "class at least this probability (0 keeps every window)",
    )
    aug.add_argument(
        "--calibration",
        choices=("none", "std", "spectrum", "level"),
        default="none",
        help="correct the synthetic windows' within-window variation per class and channel "
        "towards the real windows': 'std' = one gain on each window's deviation from its mean, "
        "'spectrum' = one gain per frequency bin, 'level' = the 'std' gain and one on each "
        "window's mean (matches the class's mean absolute window mean, on an envelope its mean "
        "amplitude); 'none' leaves them as generated",
    )
    aug.add_argument(
        "--max-rounds",
        type=_STEPS,
        default=5,
        help="with --sampling sass, rounds of generation to replace the windows the confidence "
        "filter rejected",
    )
    aug.add_argument(
        "--repetitions",
        type=int,
        nargs="+",
        default=None,
        help="only use windows of these repetitions, e.g. the training repetitions 1 2 "
        "(default: all windows)",
    )
    aug.add_argument(
        "--checkpoint-dir",
        default=None,
        help="save training checkpoints here; running the same command again resumes "
        "(default: no checkpoints)",
    )
    aug.add_argument(
        "--prior",
        default=None,
        help="a population prior written by 'semgaug pretrain': adapt it to these windows "
        "instead of training from scratch (default: no prior)",
    )
    aug.add_argument(
        "--adapt-steps",
        type=_STEPS,
        default=None,
        help="generator fine-tuning steps with --prior, in batches of 256 windows (the "
        "sampler's batch_size) (default: 75)",
    )
    _add_windowing(aug)
    _add_common(aug)
    aug.set_defaults(handler=_cmd_augment)

    pre = sub.add_parser(
        "pretrain",
        help="pretrain a population prior (encoder + generator) on many subjects' windows",
        description=(
            "Fit a PopulationPrior on the windows of INPUT (a NinaPro, Myo armband or UCI "
            "folder of several subjects, or an .npz with X, y and subject) and write it, weights "
            "only, to OUTPUT. "
            "'semgaug augment --prior OUTPUT' and SASGAugmenter(prior=OUTPUT) adapt it to a new "
            "user."
        ),
    )
    pre.add_argument(
        "input",
        help="NinaPro, Myo armband or UCI folder (several subjects), or .npz with X, y, subject",
    )
    pre.add_argument(
        "-o",
        "--output",
        required=True,
        help="the weights file to write (.sgw; an existing file is replaced once the run succeeds)",
    )
    pre.add_argument(
        "--steps",
        type=_STEPS,
        default=750,
        help="diffusion training steps of the prior's generator, in batches of 256 windows (a "
        "smaller set takes more full-pass steps for the same windows seen); a population has "
        "many windows, so more steps pay off",
    )
    pre.add_argument(
        "--repetitions",
        type=int,
        nargs="+",
        default=None,
        help="only use windows of these repetitions (default: all windows)",
    )
    _add_windowing(pre)
    _add_common(pre)
    pre.set_defaults(handler=_cmd_pretrain)

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
    feats.add_argument(
        "input", help="NinaPro .mat file/folder, Myo armband or UCI gestures folder, or .npz"
    )
    feats.add_argument(
        "-o",
        "--output",
        required=True,
        help="the .csv (a header, then one row per window: the features, then y, repetition, "
        "subject, session and start where the input has them) or .npz (features, "
        "feature_names, y, ...) to write; an existing file is replaced once the run succeeds",
    )
    feats.add_argument(
        "--features",
        nargs="+",
        default=["hudgins"],
        help="feature names (rms, var, ssi, ent, mav, iav, wl, zc, ssc, wamp, dasdv, log, mnf, "
        "mdf, hjorth_mobility, hjorth_complexity, skew, kurt) and/or groups (fin, hudgins, td, "
        "all) (default: hudgins = mav wl zc ssc, the classic set for a classifier; note that "
        "EMGFeatures() in Python defaults to fin = rms var ssi ent, the features LSTM-FIN "
        "imitates: pass --features fin for those)",
    )
    feats.add_argument(
        "--threshold",
        type=_RATIO,
        default=0.0,
        help="amplitude threshold of zc, ssc and wamp, in the input's units",
    )
    _add_windowing(feats)
    _add_common(feats, progress=False, torch_options=False)
    feats.set_defaults(handler=_cmd_features)
    return parser


def _read_ninapro(path, subjects, fs):
    """``load_ninapro``, with errors about the sampling rate in terms of ``--fs``."""
    from .datasets import load_ninapro
    from .datasets.ninapro import _KNOWN_FS

    try:
        return load_ninapro(path, subjects=subjects, fs=fs)
    except ValueError as exc:
        text = " ".join(str(exc).split())
        missing = re.match(r"\S+: (.+) does not state its sampling rate", text)
        if missing:
            raise UserError(
                f"{missing.group(1)} does not state its sampling rate; pass --fs in Hz "
                f"(NinaPro {_KNOWN_FS}; e.g. --fs 100 for DB1)"
            ) from exc
        clash = re.match(r"\S+: fs=\S+ contradicts the sampling rate stored in (.+)\. ", text)
        if clash:
            raise UserError(
                f"--fs {fs:g} contradicts the sampling rate stored in {clash.group(1)}; drop "
                "--fs (the file's rate is used) or fix the file"
            ) from exc
        raise


#: Parameter names of ``sliding_windows`` as the command's options.
_WINDOW_FLAGS = (
    ("include_rest=True", "--include-rest"),
    ("window_ms", "--window-ms"),
    ("step_ms", "--step-ms"),
    ("pass fs=", "pass --fs"),
    ("leave fs=None", "drop --fs"),
)


def _cut_windows(rec, args, fs=None):
    """``sliding_windows`` with the command's options; its errors name those options.

    Metadata the recording lacks (``repetition``, ``subject``) stays absent: the windows
    do not get the zeros ``sliding_windows`` fills in.
    """
    from .windows import sliding_windows

    if getattr(args, "rest_label", None) is not None:
        rec = {**rec, "rest_label": _rest_label_like(args.rest_label, rec.get("label"))}
    absent = [key for key in ("repetition", "subject") if rec.get(key) is None]
    try:
        windows = sliding_windows(
            rec,
            fs=fs,
            window_ms=_DEFAULT_WINDOW_MS if args.window_ms is None else args.window_ms,
            step_ms=_DEFAULT_STEP_MS if args.step_ms is None else args.step_ms,
            include_rest=args.include_rest,
        )
    except ValueError as exc:
        text = str(exc)
        for name, flag in _WINDOW_FLAGS:
            text = text.replace(name, flag)
        raise UserError(text) from exc
    _note_left_out_rest(rec, windows.rest_label, args)
    for key in absent:
        windows.pop(key, None)
    return windows


def _rest_label_like(text, labels):
    """``--rest-label`` as a value of the recording's labels (a number for numeric labels,
    bytes for byte strings); one that no label equals is refused, as the user named it."""
    labels = np.asarray([] if labels is None else labels)
    kind = labels.dtype.kind
    if kind == "b":
        if text.lower() not in ("true", "false"):
            raise UserError(
                f"--rest-label {text!r}: the recording's labels are booleans; pass "
                "--rest-label False (or True)"
            )
        value = text.lower() == "true"
    elif kind in "iuf":
        try:
            value = int(text)  # exact beyond float's 2**53
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise UserError(
                    f"--rest-label {text!r} is not a number, but the recording's labels are "
                    "numbers; pass the number that marks rest (e.g. --rest-label 0)"
                ) from None
    elif kind == "S":
        value = text.encode()
    else:
        value = text
    if labels.size and not np.any(labels == value):
        distinct = np.unique(labels)
        seen = ", ".join(repr(v) for v in distinct[:8].tolist())
        raise UserError(
            f"--rest-label {text!r} is not among the recording's labels ({seen}"
            f"{', ...' if distinct.size > 8 else ''}); pass the label that marks rest"
        )
    return value


def _note_left_out_rest(rec, rest, args):
    """Say on stderr how much of the recording is rest (``rest``, the label the windows
    treated as rest), left out without --include-rest."""
    label = rec.get("label")
    if args.include_rest or rest is None or label is None or not _verbosity(args):
        return
    share = float(np.mean(np.asarray(label) == rest)) if len(label) else 0.0
    if share > 0:
        _status(
            True,
            f"semgaug: left out the rest segments (label {rest!r}, {100 * share:.0f}% of the "
            "samples); "
            "--include-rest keeps them as a class",
        )


def _load_input(path, args):
    """Read INPUT as a window set (Bunch with X and per-window arrays)."""
    from sklearn.utils import Bunch

    if not str(path).strip():
        raise UserError("the input path is empty; name a NinaPro .mat file or folder, or an .npz")
    path = Path(path)
    if not path.exists():
        raise UserError(f"input {str(path)!r} does not exist")
    layout = _folder_layout(path)
    if layout == "myo":
        return _cut_windows(_read_myo(path, args), args)
    if layout == "uci":
        return _cut_windows(_read_uci(path, args), args)
    if path.is_dir() or path.suffix.lower() == ".mat":
        return _cut_windows(_read_ninapro(path, _number_subjects(args), args.fs), args)
    if path.suffix.lower() != ".npz":
        raise UserError(
            f"input {str(path)!r} must be a NinaPro .mat file or folder, a Myo armband or UCI "
            "gestures folder (or UCI .txt file), or an .npz file"
        )
    data, files = _read_npz(path)
    if "X" in data and "emg" in data:
        raise UserError(
            f"{str(path)!r} holds both windows ('X') and a recording ('emg'), so which one to "
            "read is unclear; save them to separate .npz files"
        )
    if "X" in data:
        _refuse_windowing_options(path, args)
        X = data["X"]
        n = len(X) if np.ndim(X) else 0
        # metadata the file does not hold stays absent: no made-up repetitions or subjects
        if "y" not in data and "label" in data:
            raise UserError(
                f"{str(path)!r} holds windows ('X') with 'label', the key of a recording's "
                "per-sample labels; a windows .npz stores one label per window as 'y': save it "
                "as np.savez(..., X=X, y=labels)"
            )
        windows = Bunch(X=X, y=data.get("y"))
        for key in ("repetition", "subject", "session", "start"):
            if key in data:
                windows[key] = data[key]
        for key in ("y", "repetition", "subject", "session", "start"):
            value = windows.get(key)
            if value is not None and (np.ndim(value) != 1 or len(value) != n):
                raise UserError(
                    f"{str(path)!r}: {key!r} has shape {np.shape(value)} but 'X' holds {n} "
                    f"windows; store one {key} per window"
                )
        fs = _stored_fs(data, path, args.fs)
        if fs is None:
            fs = args.fs  # --fs states the rate of windows that do not
        if fs is not None:
            windows.fs = fs
        return windows
    if "emg" in data:
        if getattr(args, "subjects", None) is not None:
            raise UserError(
                f"--subjects selects the files of a NinaPro folder, but {str(path)!r} is one "
                "recording; drop --subjects"
            )
        if "label" not in data and "y" in data:
            raise UserError(
                f"{str(path)!r} holds a recording ('emg') with 'y', the key of a windows "
                "file's per-window labels; a recording stores one label per sample as 'label': "
                "save it as np.savez(..., emg=emg, label=labels, fs=fs)"
            )
        rec = Bunch(**data)
        fs = _stored_fs(data, path, args.fs)
        if fs is not None:
            rec.fs = fs
        else:
            rec.pop("fs", None)  # stored as NaN: not known
        return _cut_windows(rec, args, fs=None if "fs" in rec else args.fs)
    raise UserError(
        f"{str(path)!r} has neither 'X' (windows) nor 'emg' (a recording); it holds {files}"
    )


def _folder_layout(path):
    """``"myo"``, ``"uci"`` or None (NinaPro, .npz or unknown), from the files' names."""
    if path.is_file():
        return "uci" if _UCI_FILE.match(path.name) else None
    if (path / "EvaluationDataset").is_dir() or (path / "PreTrainingDataset").is_dir():
        return "myo"
    children = [c for c in path.iterdir()]
    if any(_UCI_FILE.match(c.name) for c in children) or any(
        c.is_dir() and any(_UCI_FILE.match(f.name) for f in c.iterdir()) for c in children
    ):
        return "uci"
    return None


_UCI_FILE = re.compile(r"^\d+_raw_data_.*\.txt$", re.IGNORECASE)


def _number_subjects(args):
    """``--subjects`` as numbers (NinaPro and UCI name subjects by number)."""
    if args.subjects is None:
        return None
    try:
        return [int(s) for s in args.subjects]
    except ValueError:
        raise UserError(
            f"--subjects {' '.join(args.subjects)}: NinaPro and UCI subjects are numbers "
            "(e.g. --subjects 1 3); Myo subjects are names (e.g. --subjects Male0)"
        ) from None


def _read_myo(path, args):
    """``load_myo_armband`` for a Myo armband folder: its evaluation set, or the sets that
    ``--subjects`` names (``pretraining/Female6``), or the pre-training set of a folder that
    holds only that one."""
    from .datasets import load_myo_armband

    if args.fs is not None:
        raise UserError("the Myo armband records at 200 Hz, which the loader states; drop --fs")
    named = {s.rpartition("/")[0].lower() for s in args.subjects or ()} - {""}
    unknown = named - {"evaluation", "pretraining"}
    if unknown:
        raise UserError(
            f"--subjects names the Myo set(s) {sorted(unknown)}; qualify a subject with "
            "'evaluation/' or 'pretraining/' (e.g. pretraining/Female6), or not at all for the "
            "evaluation set"
        )
    both = (path / "EvaluationDataset").is_dir() and (path / "PreTrainingDataset").is_dir()
    if named:  # both sets where both are there, so that the subjects keep the set's name
        dataset = "both" if both or len(named) == 2 else named.pop()
    else:
        dataset = "evaluation" if (path / "EvaluationDataset").is_dir() else "pretraining"
    subjects = args.subjects
    if dataset == "both":  # a bare name is the evaluation set's, as without a qualified one
        subjects = [s if "/" in s else f"evaluation/{s}" for s in subjects]
    try:
        return load_myo_armband(path, subjects=subjects, dataset=dataset)
    except (ValueError, FileNotFoundError) as exc:
        there = (
            "only its pre-training set: name those subjects (--subjects Female6 or "
            "pretraining/Female6)"
            if (path / "PreTrainingDataset").is_dir()
            else "only its evaluation set: name those subjects (--subjects Male0)"
        )
        text = str(exc).replace("or choose another dataset=.", f"or read {there}.")
        text = text.replace("pass drop_duplicates=False to load it anyway", "read another subject")
        raise UserError(text) from exc


def _read_uci(path, args):
    """``load_uci_gestures`` for a UCI gestures folder or file (--fs: the output grid)."""
    from .datasets import load_uci_gestures

    options = {} if args.fs is None else {"fs": args.fs}
    try:
        return load_uci_gestures(path, subjects=_number_subjects(args), **options)
    except ValueError as exc:
        raise UserError(str(exc)) from exc


#: The .npz entries a command reads; others (names, subject tables, ...) are never loaded,
#: so metadata saved as Python objects does not make the file unreadable.
_NPZ_KEYS = ("X", "y", "emg", "fs", "label", "repetition", "subject", "session", "block", "start")


def _read_npz(path):
    """The entries of an .npz that the commands use, loaded without unpickling anything, and
    the names of all its entries."""
    data = {}
    with open(path, "rb") as handle:
        if handle.read(2) != b"PK":  # np.savez writes a zip archive
            raise UserError(
                f"cannot read {str(path)!r} as .npz: it is not a zip archive, so not written by "
                "np.savez (a wrong path, or a corrupt or other kind of file)"
            )
    try:
        with np.load(path, allow_pickle=False) as npz:
            files = sorted(npz.files)
            for key in npz.files:
                if key in _NPZ_KEYS:
                    try:
                        data[key] = npz[key]
                    except ValueError as exc:
                        if "allow_pickle" not in str(exc):
                            raise
                        # an object array (labels from a pandas Series): np.savez wrote it
                        # fine, but reading it would unpickle, which this command never does
                        raise UserError(
                            f"{str(path)!r} stores {key!r} as an object array, which is not read "
                            f"without pickle; save it as {key}.astype(str) (labels) or as numbers"
                        ) from None
                elif key == "rest_label":
                    data[key] = _stored_rest_label(npz, key)
    except UserError:
        raise
    except Exception as exc:  # numpy/zipfile/zlib raise many types for damaged files
        raise UserError(
            f"cannot read {str(path)!r} as .npz ({type(exc).__name__}: {exc}); the file is "
            "corrupt, truncated or not written by np.savez"
        ) from exc
    return data, files


def _stored_rest_label(npz, key):
    """A recording's ``rest_label`` as np.savez stored it; None (no rest class) is an object."""
    try:
        value = npz[key]
    except ValueError:
        # np.savez stores rest_label=None as a 0-d object array, which only unpickling would
        # read; a number or a string has a plain dtype, so an object here is None
        return None
    if np.ndim(value) != 0:
        raise UserError(
            f"'rest_label' must hold one label; got shape {np.shape(value)}. Save one value, "
            "e.g. np.savez(..., rest_label=0)"
        )
    return value.item()


def _refuse_windowing_options(path, args):
    """Options that cut recordings cannot apply to an .npz of windows already cut."""
    given = [
        flag
        for flag, used in (
            ("--window-ms", getattr(args, "window_ms", None) is not None),
            ("--step-ms", getattr(args, "step_ms", None) is not None),
            ("--include-rest", getattr(args, "include_rest", False)),
            ("--rest-label", getattr(args, "rest_label", None) is not None),
            ("--subjects", getattr(args, "subjects", None) is not None),
        )
        if used
    ]
    if given:
        raise UserError(
            f"{' and '.join(given)} cut or select recordings, but {str(path)!r} holds windows "
            "already cut (X); drop the option, or pass the recording (an .npz with emg)"
        )


def _stored_fs(data, path, fs_flag):
    """The sampling rate an .npz stores (None when absent or NaN); it must agree with --fs."""
    if "fs" not in data:
        return None
    fs = np.asarray(data["fs"])
    if fs.size != 1 or fs.dtype.kind not in "iuf":
        raise UserError(
            f"{str(path)!r}: 'fs' must hold one sampling rate in Hz; got {fs.tolist()!r}"
        )
    fs = float(fs.reshape(-1)[0])
    if np.isnan(fs):  # written by a command that did not know the rate
        return None
    if fs_flag is not None and not np.isclose(fs, fs_flag):
        raise UserError(
            f"{str(path)!r} stores fs={fs:g} Hz but --fs {fs_flag:g} was given; drop --fs to "
            "use the stored rate, or resample the recording"
        )
    return fs


def _check_output(path, suffixes, *, inputs=()):
    """The output path, checked before any work: its extension, not a folder, not an input."""
    if not str(path).strip():
        raise UserError(f"the output path is empty; name a file ending in {' or '.join(suffixes)}")
    out = Path(path)
    if out.suffix.lower() not in suffixes:
        raise UserError(f"output {str(out)!r} must end in {' or '.join(suffixes)}")
    if out.is_dir():
        raise UserError(f"output {str(out)!r} is a folder; name a file inside it")
    for given in inputs:
        if given is None or not str(given).strip():  # "" is refused with its own message
            continue
        if out.exists() and Path(given).exists():
            if os.path.samefile(out, given):
                raise UserError(
                    f"output {str(out)!r} is the input {str(given)!r}: writing it would destroy "
                    "the data being read; name another output file"
                )
    return _check_writable(out, "output")


@contextlib.contextmanager
def _replacing(out):
    """A handle on a file that replaces ``out`` only once complete (``utils.io.replacing``).

    Written through a handle, so numpy adds no ``.npz`` to a name such as ``OUT.NPZ``.
    """
    from .utils.io import replacing

    with _writing(out):
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        with replacing(out) as tmp, open(tmp, "wb") as handle:
            yield handle


def _check_writable(out, what):
    """``out``, if its folder exists and is writable or can be created in a writable one.

    Checked before the long job, so that a typo in the path does not cost a training run.
    """
    folder = out.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(
            f"{what} {str(out)!r} cannot be written: {str(folder)!r} is not a writable folder"
        )
    if out.exists() and not os.access(out, os.W_OK):
        raise UserError(f"{what} {str(out)!r} exists and cannot be overwritten")
    return out


@contextlib.contextmanager
def _writing(out):
    """Report a failed write (permissions, a full disk, ...) as one line."""
    try:
        yield
    except OSError as exc:
        raise UserError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from exc


def _demo_windows(args):
    from .datasets import make_semg_gestures
    from .model_selection import repetition_split
    from .windows import sliding_windows

    if args.ninapro:
        if Path(args.ninapro).is_file() and Path(args.ninapro).suffix.lower() != ".mat":
            raise UserError(
                f"--ninapro {args.ninapro!r} is not a .mat file: demo reads NinaPro recordings "
                "(a .mat file or a folder of them); for an .npz, use semgaug features or "
                "semgaug augment"
            )
        subject = args.subject
        if subject is None and not Path(args.ninapro).is_file():
            subject = 1
        rec = _read_ninapro(args.ninapro, None if subject is None else [subject], args.fs)
        subject = int(np.unique(rec.subject)[0]) if subject is None else subject
        source = f"NinaPro subject {subject} ({rec.fs:g} Hz, {rec.emg.shape[1]} channels)"
    else:
        given = [
            flag
            for flag, value in (("--subject", args.subject), ("--fs", args.fs))
            if value is not None
        ]
        if given:
            verb, them = ("apply", "them") if len(given) > 1 else ("applies", "it")
            raise UserError(
                f"{' and '.join(given)} {verb} to --ninapro input; the built-in simulator has "
                f"its own subjects and rate. Add --ninapro PATH, or drop {them}"
            )
        rec = make_semg_gestures(random_state=args.seed)
        source = f"simulator (seed {args.seed}, {rec.fs:g} Hz, {rec.emg.shape[1]} channels)"
    windows = sliding_windows(rec, window_ms=200.0, step_ms=100.0)
    repetitions = sorted(set(np.asarray(windows.repetition).tolist()))
    if not {1, 2} < set(repetitions):  # both training repetitions, and one to test on
        raise UserError(
            f"semgaug demo trains on repetitions 1-2 and tests on the others, but the windows "
            f"of {source} have repetitions {repetitions}. Give it a recording with repetitions "
            "1, 2 and at least one more, or split yours in Python "
            "(semgaug_sk.model_selection.repetition_split)"
        )
    train, test = repetition_split(windows, [1, 2])
    return source, train, test


def _figure_path(out):
    """The figure file ``--out`` names: a figure file, or ``real_vs_synthetic.png`` in a folder."""
    names_folder = str(out).endswith(("/", os.sep))  # Path() drops the slash: "figs.v2/"
    out = Path(out)
    if out.is_dir() or names_folder or not out.suffix:
        return _check_writable(out / "real_vs_synthetic.png", "--out")
    if out.suffix.lower() not in _FIGURE_SUFFIXES:
        raise UserError(
            f"--out {str(out)!r} must end in {', '.join(_FIGURE_SUFFIXES)}, or name a folder"
        )
    return _check_writable(out, "--out")


def _status(verbose, message):
    """A progress message on stderr (not with ``-q``)."""
    if verbose:
        print(message, file=sys.stderr, flush=True)


def _check_device(args):
    """``--device`` checked before any work: a typo or an absent GPU fails at once."""
    from .utils.torch_utils import resolve_device

    try:
        resolve_device(args.device)
    except (ValueError, RuntimeError) as exc:
        raise UserError(_as_flags(str(exc))) from exc


def _cmd_demo(args):
    import time

    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline

    from .augmentation import ClassicAugmenter, SASGAugmenter
    from .encoders import SemanticEncoder
    from .features import EMGFeatures
    from .plotting import plot_real_vs_synthetic

    fig_path = _figure_path(args.out)  # checked before the long job
    _check_device(args)
    verbose = _verbosity(args)
    source, train, test = _demo_windows(args)
    n_classes = len(set(train.y.tolist()))
    print(
        f"data: {source}; {n_classes} gestures; train repetitions 1-2: {len(train.X)} windows, "
        f"test repetitions 3+: {len(test.X)} windows of {train.X.shape[1]}x{train.X.shape[2]}",
        flush=True,
    )
    sasg = SASGAugmenter(
        n_steps=args.steps,
        ratio=args.ratio,
        device=args.device,
        random_state=args.seed,
        verbose=verbose,
    )
    methods = [
        ("none", None),
        ("classic", ClassicAugmenter(ratio=args.ratio, random_state=args.seed)),
        ("SASG (semantic + SASS)", sasg),
    ]
    rows = []
    # zc counts sign changes: always 0 on an envelope (NinaPro DB1), so leave it out there
    features = ("mav", "wl", "ssc") if float(train.X.min()) >= 0 else "hudgins"
    if features != "hudgins":
        _status(verbose, "the windows are non-negative (an envelope): LDA reads mav, wl and ssc")
    for name, sampler in methods:
        if sampler is not None:
            steps = (
                f", diffusion training on {args.steps} x {sasg.batch_size} windows seen"
                if sampler is sasg
                else ""
            )
            _status(verbose, f"augmenting with {name}{steps} ...")
        t0 = time.perf_counter()
        with _training_logs_to_stderr(verbose):
            X, y = (train.X, train.y) if sampler is None else sampler.fit_resample(train.X, train.y)
        t_aug = time.perf_counter() - t0
        lda = make_pipeline(EMGFeatures(features, fs=train.fs), LinearDiscriminantAnalysis())
        acc = {"LDA": float(np.mean(lda.fit(X, y).predict(test.X) == test.y))}
        if args.cnn:
            _status(verbose, f"training the CNN on the windows of '{name}' ...")
            cnn = SemanticEncoder(
                device=args.device, random_state=args.seed, verbose=int(verbose >= EPOCH_LOGS)
            )
            with _training_logs_to_stderr(verbose):
                cnn.fit(X, y)
            acc["CNN"] = float(np.mean(cnn.predict(test.X) == test.y))
        rows.append((name, len(X), acc, t_aug))

    models = list(rows[0][2])
    header = (
        f"{'method':<24}{'train windows':>14}"
        + "".join(f"{m + ' acc':>10}{'gain':>8}" for m in models)
        + f"{'augment s':>11}"
    )
    print()
    print(header)
    print("-" * len(header))
    for name, n, acc, t_aug in rows:
        cells = "".join(
            f"{100 * acc[m]:>9.1f}%"
            + (f"{100 * (acc[m] - rows[0][2][m]):>+8.1f}" if name != "none" else f"{'':>8}")
            for m in models
        )
        print(f"{name:<24}{n:>14}{cells}{t_aug:>11.1f}")
    short = _shortfall(sasg)
    if short:
        print(f"SASG generated {short}")
    print(
        "\naccuracy on held-out repetitions, one seed; gains are in points. Judge a method over "
        "several seeds and subjects (benchmarks/augmentation.py) before trusting a difference."
    )

    _status(verbose, "drawing the figure ...")
    X_syn, y_syn = sasg.generate({c: 3 for c in sasg.classes_})
    if len(X_syn) == 0:  # the results above stand; there is nothing to draw
        print(
            "no figure: no synthetic window passed SASG's confidence filter "
            f"({_shortfall(sasg) or 'none generated'})"
        )
        return 0
    with _writing(fig_path):
        fig_path.parent.mkdir(parents=True, exist_ok=True)
        plot_real_vs_synthetic(train.X, train.y, X_syn, y_syn, fs=train.fs, path=fig_path)
    print(f"figure of real against synthetic windows: {fig_path}")
    return 0


def _labelled_windows(args, job):
    """INPUT's windows, with labels, of the ``--repetitions`` asked for."""
    from .model_selection import select_windows

    windows = _load_input(args.input, args)
    if windows.get("y") is None:
        raise UserError(
            f"{job} needs labels: store 'y' (one per window) next to 'X' in a windows .npz, or "
            "'label' (one per sample) next to 'emg' in a recording .npz"
        )
    if args.repetitions is not None:
        if windows.get("repetition") is None:
            raise UserError(
                "--repetitions needs the repetition of each window, and the input has none (store "
                "'repetition' next to 'X' in the .npz); drop --repetitions to use every window"
            )
        stored = np.asarray(windows.repetition)
        windows = select_windows(windows, np.isin(stored, args.repetitions))
        if len(windows.X) == 0:
            there = np.unique(stored).tolist()
            raise UserError(
                f"no window has a repetition in {args.repetitions}; the input's repetitions are "
                f"{there}"
            )
    return windows


def _check_prior_path(path):
    """A missing or folder ``--prior``, named before anything slow (torch) is imported."""
    if path is None:
        return
    if not str(path).strip():
        raise UserError("--prior is empty; pass the .sgw file semgaug pretrain wrote")
    if not Path(path).exists():
        raise UserError(f"--prior {path!r} does not exist; write it with semgaug pretrain")
    if Path(path).is_dir():
        raise UserError(f"--prior {path!r} is a folder; pass the .sgw file semgaug pretrain wrote")
    if not Path(path).is_file():
        raise UserError(
            f"--prior {path!r} is not a regular file (a device or a pipe); pass the .sgw file "
            "semgaug pretrain wrote"
        )


def _read_prior(path, device):
    """The PopulationPrior in the ``--prior`` file, or None; a wrong file is a UserError."""
    if path is None:
        return None
    _check_prior_path(path)
    from .augmentation import PopulationPrior
    from .persistence import load_weights

    try:
        return load_weights(path, device=device, estimator_type=PopulationPrior)
    except TypeError as exc:  # a weights file of another estimator
        raise UserError(
            f"--prior {path!r} is not a population prior ({exc}); pass a file written by "
            "semgaug pretrain"
        ) from None
    except ValueError as exc:  # corrupt, truncated, or not a weights file at all
        text = str(exc).replace(
            "Pass the file that save_weights wrote.", "Pass the .sgw file semgaug pretrain wrote."
        )
        text = re.sub(
            r"save the estimator again( with save_weights)?\.|Pass a file written by save_weights\.",
            lambda match: (
                ("write" if match.group(0)[0].islower() else "Write")
                + " it again with semgaug pretrain."
            ),
            text,
            flags=re.IGNORECASE,
        )
        raise UserError(f"--prior {path!r}: {text}") from None


def _cmd_augment(args):
    import json

    if args.prior is not None and args.steps is not None:
        raise UserError(
            "--steps sets the training of a generator from scratch; with --prior the generator "
            "is fine-tuned instead: set its length with --adapt-steps"
        )
    if args.prior is None and args.adapt_steps is not None:
        raise UserError(
            "--adapt-steps sets the fine-tuning of a population prior and needs --prior; "
            "without a prior, set the generator's training with --steps"
        )
    _check_prior_path(args.prior)  # before the import below, which loads torch
    from .augmentation import SASGAugmenter

    out = _check_output(args.output, (".npz",), inputs=(args.input, args.prior))
    _check_device(args)
    windows = _labelled_windows(args, "augmentation")
    _check_some_synthetic(windows.y, args.ratio)
    prior = _read_prior(args.prior, args.device)
    # the sampler's own default unless given (it is refused without --prior)
    adapt = {} if args.adapt_steps is None else {"adapt_steps": args.adapt_steps}
    sasg = SASGAugmenter(
        condition=args.condition,
        sampling=args.sampling,
        ratio=args.ratio,
        prior=prior,
        **adapt,
        fs=windows.get("fs"),
        n_steps=750 if args.steps is None else args.steps,
        confidence_threshold=args.confidence_threshold,
        calibration=None if args.calibration == "none" else args.calibration,
        max_rounds=args.max_rounds,
        device=args.device,
        checkpoint_dir=args.checkpoint_dir,
        random_state=args.seed,
        verbose=_verbosity(args),
    )
    with _training_logs_to_stderr(_verbosity(args)):
        X_res, y_res = sasg.fit_resample(windows.X, windows.y)
    if getattr(sasg, "resumed_steps_", 0):
        print(
            f"resumed from {sasg.resumed_steps_} trained optimiser steps (of batches of up to "
            f"{sasg.batch_size} windows; --steps counts steps of {sasg.batch_size}) in "
            f"{sasg.checkpoint_path_}"
        )
    n = len(windows.X)
    if len(X_res) == n:  # an empty file would only fail the next command
        raise UserError(
            f"no synthetic window to write: {_shortfall(sasg)}. Nothing was written; lower "
            "--confidence-threshold (0 keeps every window), raise --max-rounds, or train the "
            f"generator longer ({'--adapt-steps' if args.prior is not None else '--steps'})"
        )
    params = {k: v for k, v in sasg.get_params().items() if k not in ("encoder", "prior")}
    params["prior"] = args.prior
    # how the windows were made, so the run can be repeated from the file alone
    params["command"] = {
        k: getattr(args, k, None)
        for k in (
            "input",
            "repetitions",
            "window_ms",
            "step_ms",
            "fs",
            "include_rest",
            "rest_label",
            "subjects",
        )
    }
    if args.subjects is not None and _folder_layout(Path(args.input)) != "myo":
        params["command"]["subjects"] = _number_subjects(args)  # NinaPro, UCI: numbers
    with _replacing(out) as handle:
        np.savez(
            handle,
            X=X_res[n:],
            y=y_res[n:],
            fs=np.float64(windows.get("fs") or np.nan),
            params=np.array(json.dumps(params, default=str)),
        )
    short = _shortfall(sasg)  # said in the result line too, which -q keeps
    print(
        f"wrote {len(X_res) - n} synthetic windows ({X_res.shape[1]}x{X_res.shape[2]}) to "
        f"{out}{f'; {short}' if short else ''}"
    )
    return 0


def _check_some_synthetic(y, ratio):
    """Refuse a ``--ratio`` that asks for no synthetic window (the command writes only those)."""
    from .augmentation.base import n_synthetic_per_class

    if len(y) == 0:
        raise UserError(
            "the input holds 0 windows, so there is nothing to augment; check the file (and "
            "the --repetitions, --subjects, --include-rest and --window-ms options that select "
            "and cut its windows)"
        )
    if sum(n_synthetic_per_class(y, ratio, None).values()) == 0:
        largest = int(np.unique(y, return_counts=True)[1].max())
        # 0.5 / largest, rounded *up* to 3 significant digits: a ratio that makes one window
        scale = 10.0 ** (math.floor(math.log10(0.5 / largest)) - 2)
        enough = math.ceil(0.5 / largest / scale) * scale
        raise UserError(
            f"--ratio {ratio:g} asks for no synthetic window: ratio x windows per class rounds "
            f"to 0 for every class (the largest has {largest} windows); raise --ratio to at "
            f"least {enough:.3g}"
        )


def _shortfall(sampler):
    """What the confidence filter left short of the request, in words ("" if nothing).

    The samplers warn about it too, but ``-q`` silences warnings and keeps results.
    """
    missing = {c: m for c, m in (getattr(sampler, "last_shortfall_", None) or {}).items() if m}
    if not missing:
        return ""
    listed = ", ".join(f"{np.asarray(c).tolist()!r}: {m}" for c, m in missing.items())
    return (
        f"{sum(missing.values())} fewer than asked, rejected by the confidence filter "
        f"(per class {listed})"
    )


def _cmd_pretrain(args):
    from .augmentation import DiffusionGenerator, PopulationPrior
    from .encoders import SemanticEncoder
    from .persistence import save_weights

    out = _check_output(args.output, (".sgw",))
    _check_device(args)
    windows = _labelled_windows(args, "pretraining")
    if windows.get("subject") is None or len(np.unique(windows.subject)) < 2:
        has = "no 'subject' per window" if windows.get("subject") is None else "one subject"
        raise UserError(
            f"a population prior needs windows of at least 2 subjects; the input has {has} "
            "(give a NinaPro, Myo or UCI folder of several subjects, or an .npz with a "
            "'subject' per window)"
        )
    prior = PopulationPrior(
        encoder=SemanticEncoder(device=args.device),
        generator=DiffusionGenerator(n_steps=args.steps, device=args.device),
        fs=windows.get("fs"),
        random_state=args.seed,
        verbose=_verbosity(args),
    )
    with _training_logs_to_stderr(_verbosity(args)):
        prior.fit(windows.X, windows.y, groups=windows.subject)
    with _writing(out):
        out.parent.mkdir(parents=True, exist_ok=True)
        save_weights(prior, out)
    print(
        f"wrote a prior of {len(prior.subjects_)} subjects, {len(prior.classes_)} classes, "
        f"windows of {prior.n_channels_}x{prior.n_times_} to {out}"
    )
    return 0


def _cmd_features(args):
    from .features import EMGFeatures, resolve_features

    out = _check_output(args.output, (".csv", ".npz"), inputs=(args.input,))
    windows = _load_input(args.input, args)
    fs = windows.get("fs", args.fs)
    # ent = log(n) - a deficit that float32 loses at small units (volts): the command writes
    # float64 features, so with ent it computes them in float64, one chunk at a time
    with_ent = "ent" in resolve_features(tuple(args.features))
    est = EMGFeatures(
        features=tuple(args.features),
        threshold=args.threshold,
        fs=fs,
        dtype="float64" if with_ent else None,
    )
    spectral = [f for f in ("mnf", "mdf") if f in resolve_features(tuple(args.features))]
    if spectral and fs is None:
        warnings.warn(
            f"{' and '.join(spectral)} are in cycles per sample: the input does not state its "
            "sampling rate; pass --fs to have them in Hz",
            UserWarning,
            stacklevel=2,
        )
    F = est.fit_transform(windows.X)
    names = list(est.get_feature_names_out())
    extra = {
        k: np.asarray(windows[k])
        for k in ("y", "repetition", "subject", "session", "start")
        if windows.get(k) is not None
    }
    for key in ("subject", "session"):  # an index into the loader's names: the names
        names_of = windows.get(f"{key}_names")
        if key in extra and names_of is not None:
            extra[key] = np.asarray(names_of, dtype=str)[extra[key]]
    with _replacing(out) as handle:
        if out.suffix.lower() == ".npz":
            np.savez(handle, features=F, feature_names=np.array(names), **extra)
        else:
            _write_csv(handle, F, names, extra)
    print(f"wrote {F.shape[0]} windows x {F.shape[1]} features to {out}")
    return 0


def _write_csv(handle, F, names, extra):
    """Features, then the per-window metadata, as CSV; labels with commas or quotes are quoted."""
    import csv
    import io

    from .utils.chunked import row_blocks

    def plain(value):  # byte-string labels (dtype S) as text, not b'...'
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else value

    text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
    writer = csv.writer(text)
    writer.writerow(names + list(extra))
    # a block of rows at a time as Python objects (the whole matrix would be ~10x its size)
    for rows in row_blocks(len(F), F.shape[1] + len(extra), 2**16):
        metadata = [[plain(v) for v in np.asarray(m)[rows].tolist()] for m in extra.values()]
        for i, row in enumerate(F[rows].astype(np.float64).tolist()):
            writer.writerow([repr(v) for v in row] + [m[i] for m in metadata])
    text.flush()
    text.detach()  # the caller's handle stays open


#: Library parameters in messages, and the command's option that sets each.
_PARAMETER_FLAGS = (
    (r"\bconfidence_threshold=", "--confidence-threshold "),
    (r"\bconfidence_threshold\b", "--confidence-threshold"),
    (r"\bmax_rounds=", "--max-rounds "),
    (r"\bmax_rounds\b", "--max-rounds"),
    (r"\(window_ms in sliding_windows\)", "(--window-ms, when cutting a recording)"),
    (
        r"\(same window_ms at the same sampling rate\)",
        "(same --window-ms at the same sampling rate)",
    ),
    (
        r"drop those gestures, or pretrain",
        "drop those gestures (leave out --include-rest, for the rest class), or pretrain",
    ),
    (r"drop ('\w+') from features\b", r"drop \1 from --features"),
    (r"\(n_steps\)", "(--steps)"),
    (r"\(adapt_steps\)", "(--adapt-steps)"),
    (r"\bdevice='([^']*)'", r"--device \1"),
    (r"\bcondition='([^']*)'", r"--condition \1"),
    (r"\bcheckpoint_dir=None", "no --checkpoint-dir"),
    (r"\brest_label=None if there is no rest class", "--include-rest to keep every label"),
    (r"\(e\.g\. rest_label='rest'\)", "(e.g. --rest-label rest)"),
    (r"Pass rest_label=False\b", "Pass --rest-label False"),
    (r"\brest_label=None to say there is no rest class", "--include-rest to keep every label"),
    (r" \(see last_shortfall_\)", ""),
    (r", or pass sessions= to load only the sessions you have", ""),  # no such option
)


#: The options of the running command: a parameter is named as an option only when the
#: command has it (``demo`` has no --confidence-threshold).
_OPTIONS: contextvars.ContextVar[frozenset | None] = contextvars.ContextVar(
    "semgaug_options", default=None
)


def _as_flags(text):
    """Library parameters in a warning or an error, as the command's options (where it has them)."""
    options = _OPTIONS.get()

    def has(flag):
        return options is None or flag.split()[0] in options

    if has("--features"):
        text = re.sub(
            r"features=\(([^)]*)\)",
            lambda m: "--features " + " ".join(re.findall(r"'(\w+)'", m.group(1))),
            text,
        )
    for pattern, flag in _PARAMETER_FLAGS:
        named = re.search(r"--[\w-]+", flag)
        if named is None or has(named.group(0)):
            text = re.sub(pattern, flag, text)
    if has("--threshold"):
        text = text.replace("threshold={'wamp': ...}", "--threshold")
    return text


def _subcommand_parser(parser, args):
    """The parser of the subcommand that ``args`` runs (``parser`` itself if none)."""
    for action in parser._subparsers._group_actions:
        for sub in action.choices.values():
            if sub.get_default("handler") is args.handler:
                return sub
    return parser


def _command_options(parser, args):
    """The option strings of the subcommand that ``args`` runs."""
    sub = _subcommand_parser(parser, args)
    if sub is parser:
        return None
    return frozenset(o for a in sub._actions for o in a.option_strings)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as one line, ``semgaug: warning: ...``, without the source location."""
    text = _as_flags(" ".join(str(message).split()))
    print(f"semgaug: warning: {text}", file=sys.stderr if file is None else file, flush=True)


def main(argv=None) -> int:
    """Run the ``semgaug`` command; return its exit status."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # named by the subcommand, whose --help lists the options it has
        _subcommand_parser(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    token = _OPTIONS.set(_command_options(parser, args))
    try:
        return _run(args)
    finally:
        _OPTIONS.reset(token)


@contextlib.contextmanager
def _printable_stdout():
    """Results printed with ``\\x..`` escapes where stdout's encoding lacks a character.

    Windows writes a redirected stdout in the ANSI code page with strict errors: a path
    or class label outside it (Cyrillic, CJK) raised UnicodeEncodeError after the
    command's work was done, and the command reported a failure. stderr already
    escapes such characters.
    """
    stream = sys.stdout
    changed = getattr(stream, "errors", None) == "strict" and callable(
        getattr(stream, "reconfigure", None)
    )
    if changed:
        try:
            stream.reconfigure(errors="backslashreplace")
        except (ValueError, io.UnsupportedOperation):
            changed = False
    try:
        yield
    finally:
        if changed:
            stream.reconfigure(errors="strict")


def _run(args) -> int:
    try:
        with warnings.catch_warnings(), _printable_stdout():
            warnings.showwarning = _show_warning
            if _verbosity(args) == QUIET:
                warnings.simplefilter("ignore")
            return int(args.handler(args) or 0)
    except (UserError, ValueError, OSError, RuntimeError, KeyError, ArithmeticError) as exc:
        # str(KeyError) quotes its message; a message is printed on one line
        text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        message = " ".join(str(text).split()) or type(exc).__name__
        if not isinstance(exc, UserError):  # the library's own words, in the command's terms
            message = _as_flags(message)
        print(f"semgaug: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = ""
        folder = getattr(args, "checkpoint_dir", None)
        if folder and any(Path(folder).rglob("params.pt")):
            hint = "; run the same command again to resume from the last checkpoint"
        elif folder:
            from .augmentation import SASGAugmenter

            every = SASGAugmenter().checkpoint_every  # the command keeps the default
            hint = (
                f"; no checkpoint was written yet (the first comes after {every} training "
                "steps), so running the command again starts over"
            )
        print(f"semgaug: interrupted{hint}", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

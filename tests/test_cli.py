"""The ``semgaug`` command: help, features, and one-line errors for user mistakes."""

import argparse
import csv
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from semgaug_sk.cli import build_parser, main


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "augment", "features"):
        assert command in out


def test_features_from_windows_npz_to_csv(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 2, 30)).astype(np.float32)
    np.savez(tmp_path / "w.npz", X=X, y=np.array(["a", "b", "a", "b", "a"]))
    assert main(["features", str(tmp_path / "w.npz"), "-o", str(tmp_path / "f.csv")]) == 0
    lines = (tmp_path / "f.csv").read_text().splitlines()
    assert lines[0].split(",")[:4] == ["ch0_mav", "ch0_wl", "ch0_zc", "ch0_ssc"]
    # the file has no repetitions or subjects, so none are made up
    assert lines[0].split(",")[-2:] == ["ch1_ssc", "y"]
    assert len(lines) == 6 and lines[1].split(",")[-1] == "a"
    assert "wrote 5 windows x 8 features" in capsys.readouterr().out


def test_a_result_line_that_stdout_cannot_encode_does_not_fail_the_command(tmp_path):
    # Windows writes a redirected stdout in the ANSI code page, strictly: a Cyrillic path
    # in "wrote ... to <path>" made a finished command exit 2 with a codec error
    X = np.random.default_rng(0).standard_normal((5, 2, 30)).astype(np.float32)
    np.savez(tmp_path / "w.npz", X=X, y=np.array(["a", "b", "a", "b", "a"]))
    out = tmp_path / "Иван" / "f.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "semgaug_sk.cli", "features", "w.npz", "-o", str(out)],
        cwd=tmp_path,
        capture_output=True,
        timeout=300,
        env={**os.environ, "PYTHONIOENCODING": "cp1252", "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr.decode("cp1252", "replace")
    assert out.exists()
    assert b"wrote 5 windows x 8 features to " in proc.stdout
    assert b"\\u0418" in proc.stdout  # the path, escaped


def test_features_from_a_recording_npz_to_npz(tmp_path):
    from semgaug_sk.datasets import make_semg_gestures

    rec = make_semg_gestures(fs=250.0, random_state=0)
    np.savez(
        tmp_path / "rec.npz", emg=rec.emg, fs=rec.fs, label=rec.label, repetition=rec.repetition
    )
    out = tmp_path / "f.npz"
    assert main(["features", str(tmp_path / "rec.npz"), "-o", str(out), "--features", "fin"]) == 0
    with np.load(out) as f:
        assert f["features"].shape[1] == 8 * 4
        assert f["feature_names"][0] == "ch0_rms"
        assert len(f["y"]) == len(f["features"]) and 0 not in set(f["y"].tolist())


@pytest.mark.parametrize(
    "argv, message",
    [
        (["features", "missing.npz", "-o", "x.csv"], "does not exist"),
        (["features", "{tmp}/w.npz", "-o", "{tmp}/x.txt"], "must end in .csv or .npz"),
        (["features", "{tmp}/w.npz", "-o", "{tmp}/x.csv", "--features", "nope"], "nope"),
        (["features", "{tmp}/bad.npz", "-o", "{tmp}/x.csv"], "cannot read"),
        (["features", "{tmp}/empty.npz", "-o", "{tmp}/x.csv"], "neither 'X'"),
        (["augment", "{tmp}/nolabels.npz", "-o", "{tmp}/s.npz"], "needs labels"),
        (["demo", "--out", "{tmp}/figure.txt"], "--out"),
        (["features", "{tmp}/w.npz", "-o", ""], "the output path is empty; name a file ending"),
        (
            ["augment", "{tmp}/reps.npz", "-o", "{tmp}/s.npz", "--repetitions", "7"],
            "no window has a repetition in [7]; the input's repetitions are [1, 2]",
        ),
    ],
)
def test_user_mistakes_give_one_line_and_status_2(tmp_path, capsys, argv, message):
    np.savez(tmp_path / "w.npz", X=np.zeros((3, 1, 10)), y=np.array([0, 1, 0]))
    np.savez(tmp_path / "nolabels.npz", X=np.zeros((3, 1, 10)))
    np.savez(tmp_path / "empty.npz", other=np.zeros(3))
    np.savez(
        tmp_path / "reps.npz",
        X=np.zeros((4, 1, 10)),
        y=np.array([0, 1, 0, 1]),
        repetition=[1, 1, 2, 2],
    )
    (tmp_path / "bad.npz").write_bytes(b"not a zip file")
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("semgaug: error:") and message in err
    assert "Traceback" not in err and len(err.splitlines()) == 1


def test_augment_writes_synthetic_windows_and_resumes_from_checkpoints(tmp_path, capsys):
    from semgaug_sk.datasets import make_semg_gestures
    from semgaug_sk.windows import sliding_windows

    rec = make_semg_gestures(n_classes=2, n_repetitions=1, n_channels=2, fs=100.0, random_state=0)
    w = sliding_windows(rec, window_ms=160, step_ms=160)
    np.savez(tmp_path / "w.npz", X=w.X, y=w.y, fs=w.fs)
    argv = ["augment", str(tmp_path / "w.npz"), "-o", str(tmp_path / "s.npz"), "--steps", "3"]
    argv += ["--ratio", "1", "--sampling", "gmss", "--checkpoint-dir", str(tmp_path / "ckpt")]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert f"wrote {len(w.y)} synthetic windows" in first and "resumed" not in first
    with np.load(tmp_path / "s.npz") as f:
        assert f["X"].shape == w.X.shape and np.isfinite(f["X"]).all()
        assert sorted(set(f["y"].tolist())) == sorted(set(w.y.tolist()))
        synthetic = f["X"].copy()
    assert main(argv) == 0  # the same command again: the trained model is reloaded
    # 3 steps of 256 windows on 13 windows: 60 full-pass steps, the same windows seen
    n_steps = math.ceil(3 * 256 / len(w.y))
    assert f"resumed from {n_steps} trained optimiser steps" in capsys.readouterr().out
    with np.load(tmp_path / "s.npz") as f:
        np.testing.assert_array_equal(f["X"], synthetic)


def test_pretrain_a_prior_then_augment_with_it(tmp_path, capsys):
    rng = np.random.default_rng(0)
    y = np.tile(np.repeat(["fist", "open", "pinch"], 6), 2)
    X = rng.normal(size=(len(y), 2, 16)).astype(np.float32)
    X[y == "fist", 0] *= 4.0
    subject = np.repeat([1, 2], len(y) // 2)
    np.savez(tmp_path / "pop.npz", X=X, y=y, subject=subject)
    prior = tmp_path / "pop.sgw"
    argv = ["pretrain", str(tmp_path / "pop.npz"), "-o", str(prior), "--steps", "2", "-q"]
    assert main(argv) == 0
    assert "wrote a prior of 2 subjects, 3 classes, windows of 2x16" in capsys.readouterr().out
    np.savez(tmp_path / "new.npz", X=X[:12], y=y[:12])
    argv = ["augment", str(tmp_path / "new.npz"), "-o", str(tmp_path / "s.npz"), "-q"]
    argv += ["--prior", str(prior), "--adapt-steps", "2", "--ratio", "1"]
    assert main(argv) == 0
    with np.load(tmp_path / "s.npz") as f:
        assert f["X"].shape == (12, 2, 16) and set(f["y"].tolist()) == {"fist", "open"}
        assert json.loads(str(f["params"]))["prior"] == str(prior)  # the file, not a repr
    assert main([*argv, "--checkpoint-dir", str(tmp_path / "ck")]) == 2
    assert "a prior needs no --checkpoint-dir" in capsys.readouterr().err


def test_pretrain_puts_both_networks_on_the_device_and_shows_progress_not_epochs(
    tmp_path, capsys, monkeypatch
):
    from semgaug_sk.augmentation import PopulationPrior

    rng = np.random.default_rng(0)
    y = np.tile(np.repeat(["fist", "open"], 6), 2)
    X = rng.normal(size=(len(y), 2, 16)).astype(np.float32)
    np.savez(tmp_path / "pop.npz", X=X, y=y, subject=np.repeat([1, 2], len(y) // 2))
    devices = {}
    fit = PopulationPrior.fit

    def spy(self, X, y, groups=None):
        devices.update(encoder=self.encoder.device, generator=self.generator.device)
        return fit(self, X, y, groups=groups)

    monkeypatch.setattr(PopulationPrior, "fit", spy)
    argv = ["pretrain", str(tmp_path / "pop.npz"), "-o", str(tmp_path / "p.sgw"), "--steps", "2"]
    assert main([*argv, "--device", "auto"]) == 0
    assert devices == {"encoder": "auto", "generator": "auto"}
    captured = capsys.readouterr()
    assert "SASG diffusion (" in captured.err  # the default verbosity: progress
    assert "train_loss" not in captured.out + captured.err  # ... but no epoch table


def test_augment_refuses_a_weights_file_of_another_estimator_as_prior(tmp_path, capsys):
    from semgaug_sk.features import EMGFeatures
    from semgaug_sk.persistence import save_weights

    X = np.random.default_rng(0).normal(size=(6, 2, 16)).astype(np.float32)
    np.savez(tmp_path / "one.npz", X=X, y=np.repeat(["a", "b"], 3))
    save_weights(EMGFeatures("hudgins").fit(X), tmp_path / "features.sgw")
    argv = ["augment", str(tmp_path / "one.npz"), "-o", str(tmp_path / "s.npz")]
    assert main([*argv, "--prior", str(tmp_path / "features.sgw")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--prior" in err and "not a population prior" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["pretrain", "{tmp}/one.npz", "-o", "{tmp}/p.sgw"], "at least 2 subjects"),
        (["pretrain", "{tmp}/one.npz", "-o", "{tmp}/p.pt"], "must end in .sgw"),
        (["augment", "{tmp}/one.npz", "-o", "{tmp}/s.npz", "--prior", "{tmp}/no.sgw"], "--prior"),
        (
            ["augment", "{tmp}/one.npz", "-o", "{tmp}/s.npz", "--prior", "{tmp}/bad.sgw"],
            "Write it again with semgaug pretrain",
        ),
    ],
)
def test_prior_commands_refuse_bad_input_in_one_line(tmp_path, capsys, argv, message):
    X = np.zeros((6, 2, 16), np.float32)
    np.savez(tmp_path / "one.npz", X=X, y=np.repeat(["a", "b"], 3))
    (tmp_path / "bad.sgw").write_bytes(b"PK\x03\x04 truncated")
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


# --------------------------------------------------------------------------------------
# Help: every option is described and shows its default
# --------------------------------------------------------------------------------------
def _subparsers():
    from semgaug_sk.cli import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return parser, sub.choices


def test_every_option_of_every_command_is_described_and_shows_its_default():
    from semgaug_sk.cli import _HelpFormatter

    parser, commands = _subparsers()
    assert set(commands) == {"demo", "augment", "features", "pretrain"}
    for name, sub in commands.items():
        formatter = _HelpFormatter(sub.prog)
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            flag = "/".join(action.option_strings) or action.dest
            text = formatter._get_help_string(action) or ""
            assert len(text) > 15, f"semgaug {name} {flag} is not described: {text!r}"
            if action.option_strings and action.nargs != 0 and not action.required:
                assert "(default: " in text, f"semgaug {name} {flag} hides its default: {text!r}"
        help_text = " ".join(sub.format_help().split())
        assert "(default: " in help_text and "%(default)" not in help_text


def test_help_shows_the_defaults_the_issue_named_and_describes_condition_and_sampling():
    _, commands = _subparsers()
    feats = " ".join(commands["features"].format_help().split())
    for text in (
        "--window-ms WINDOW_MS window length in milliseconds, to cut recordings (default: 200.0)",
        "(default: 100.0)",
        "--fs FS",
        "--fs 100",
        "(default: 0.0)",
        "(default: hudgins = mav wl zc ssc,",
    ):
        assert text in feats
    aug = " ".join(commands["augment"].format_help().split())
    assert "(default: 750;" in aug and "(default: 0.5)" in aug
    assert "'semantic' = the embedding" in aug and "'label' = a learned embedding" in aug
    assert "'sass' = sparse-aware sampling" in aug and "'gmss' = one Gaussian per class" in aug
    demo = " ".join(commands["demo"].format_help().split())
    assert "(default: 375)" in demo and "(default: semgaug_demo.png)" in demo
    assert "-q, --quiet" in demo and "-v, --verbose" in demo


@pytest.mark.parametrize(
    "argv, level",
    [([], 1), (["-v"], 2), (["-vv"], 2), (["-q"], 0), (["--quiet"], 0)],
)
def test_verbosity_is_progress_by_default_quiet_with_q_and_epoch_logs_with_v(argv, level):
    from semgaug_sk.cli import _verbosity, build_parser

    parser = build_parser()
    assert _verbosity(parser.parse_args(["demo", *argv])) == level
    assert _verbosity(parser.parse_args(["augment", "in.npz", "-o", "o.npz", *argv])) == level


def test_quiet_and_verbose_together_is_a_one_line_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "-q", "-v"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("semgaug: error:") and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["augment", "in.npz", "-o", "a.npz", "--output", "b.npz"], "-o a.npz and --output b.npz"),
        (["demo", "--steps", "10", "--steps", "20"], "--steps 10 and --steps 20"),
        (
            ["features", "in.npz", "-o", "f.csv", "--features", "rms", "var", "--features", "mav"],
            "--features rms var and --features mav",
        ),
    ],
)
def test_an_option_given_twice_is_a_one_line_error_not_the_last_value(capsys, argv, message):
    # argparse keeps the last value silently: -o a.npz ... -o b.npz would write one file
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("semgaug: error:") and len(err.splitlines()) == 1
    assert message in err and "give it once" in err
    parsed = build_parser().parse_args(["augment", "in.npz", "-o", "a.npz"])
    assert not any(name.startswith("_") for name in vars(parsed))  # no bookkeeping left


# --------------------------------------------------------------------------------------
# Errors and warnings that name the command's options
# --------------------------------------------------------------------------------------
def _db1_file(shared_data):
    return shared_data("ninapro_db1_e1") / "S1_A1_E1.mat"


@pytest.mark.realdata
def test_features_on_db1_without_fs_is_one_line_naming_the_fs_option(shared_data, tmp_path, capsys):
    argv = ["features", str(_db1_file(shared_data)), "-o", str(tmp_path / "f.csv")]
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("semgaug: error:")
    assert "does not state its sampling rate; pass --fs in Hz" in err and "--fs 100" in err
    assert "fs=" not in err and "Traceback" not in err
    assert not (tmp_path / "f.csv").exists()


@pytest.mark.realdata
def test_constant_zc_on_db1_is_one_warning_line_naming_options_and_q_silences_it(
    shared_data, tmp_path, capsys
):
    argv = ["features", str(_db1_file(shared_data)), "-o", str(tmp_path / "f.csv"), "--fs", "100"]
    assert main(argv) == 0
    err = capsys.readouterr().err.strip().splitlines()
    # a note on the rest left out, then the warning, each one line
    assert len(err) == 2 and err[0].startswith("semgaug: left out the rest segments (label 0")
    assert "--include-rest" in err[0]
    assert err[1].startswith("semgaug: warning: EMGFeatures: 10 feature column")
    assert "'zc' on channels 0-9 (always 0)" in err[1] and "--features mav wl ssc" in err[1]
    assert main([*argv, "-q"]) == 0
    assert capsys.readouterr().err == ""


def test_a_stored_sampling_rate_is_used_and_a_contradicting_fs_is_refused(tmp_path, capsys):
    from semgaug_sk.datasets import make_semg_gestures

    rec = make_semg_gestures(n_classes=2, n_repetitions=1, fs=1000.0, random_state=0)
    kept = dict(emg=rec.emg, label=rec.label, repetition=rec.repetition)
    np.savez(tmp_path / "rec.npz", fs=1000.0, **kept)
    base = ["features", str(tmp_path / "rec.npz"), "--features", "mnf", "-q"]
    assert main([*base, "-o", str(tmp_path / "a.npz")]) == 0
    assert main([*base, "-o", str(tmp_path / "b.npz"), "--fs", "1000"]) == 0  # agrees
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        np.testing.assert_array_equal(a["features"], b["features"])
    capsys.readouterr()
    assert main([*base, "-o", str(tmp_path / "c.npz"), "--fs", "500"]) == 2  # once ignored
    err = capsys.readouterr().err.strip()
    assert "stores fs=1000 Hz but --fs 500 was given" in err and len(err.splitlines()) == 1
    # windows written with a stored rate (augment writes fs) keep it for the features
    np.savez(tmp_path / "w.npz", X=np.ones((2, 1, 8), np.float32), fs=250.0)
    argv = ["features", str(tmp_path / "w.npz"), "--features", "mnf", "--fs", "100"]
    assert main([*argv, "-o", str(tmp_path / "d.npz")]) == 2
    assert "stores fs=250 Hz" in capsys.readouterr().err


def test_fs_states_the_rate_of_windows_that_do_not_and_reaches_the_prior_check(tmp_path, capsys):
    X = np.random.default_rng(0).normal(size=(12, 2, 16)).astype(np.float32)
    np.savez(tmp_path / "w.npz", X=X, y=np.repeat(["a", "b", "c"], 4))
    argv = ["augment", str(tmp_path / "w.npz"), "-o", str(tmp_path / "s.npz"), "-q"]
    argv += ["--steps", "1", "--ratio", "0.5", "--fs", "2000"]
    assert main(argv) == 0
    with np.load(tmp_path / "s.npz") as f:  # written as nan (unknown) before
        assert float(f["fs"]) == 2000.0


def test_outputs_that_cannot_be_written_are_refused_before_any_work(tmp_path, capsys):
    X = np.zeros((6, 2, 16), np.float32)
    np.savez(tmp_path / "one.npz", X=X, y=np.repeat(["a", "b"], 3))
    (tmp_path / "file.txt").write_text("not a folder")
    blocked = tmp_path / "file.txt" / "out"
    for argv in (
        ["augment", str(tmp_path / "one.npz"), "-o", str(blocked / "s.npz")],
        ["features", str(tmp_path / "one.npz"), "-o", str(blocked / "f.csv")],
        ["demo", "--steps", "1", "--out", str(blocked / "fig.png")],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert "cannot be written" in err and "not a writable folder" in err, argv


@pytest.mark.parametrize("command", [["demo"], ["augment", "in.npz", "-o", "out.npz"]])
def test_ratio_zero_is_refused_at_parse_time(capsys, command):
    # augment writes only synthetic windows: ratio 0 would train a model to write none
    with pytest.raises(SystemExit) as info:
        main([*command, "--ratio", "0"])
    assert info.value.code == 2 and "must be a number > 0" in capsys.readouterr().err


def test_prior_folder_is_named_as_a_folder(tmp_path, capsys):
    np.savez(tmp_path / "one.npz", X=np.zeros((6, 2, 16), np.float32), y=np.repeat(["a", "b"], 3))
    argv = ["augment", str(tmp_path / "one.npz"), "-o", str(tmp_path / "s.npz")]
    assert main([*argv, "--prior", str(tmp_path)]) == 2
    assert "is a folder; pass the .sgw file" in capsys.readouterr().err


def test_window_errors_name_the_window_options(tmp_path, capsys):
    from semgaug_sk.datasets import make_semg_gestures

    rec = make_semg_gestures(n_classes=2, n_repetitions=1, fs=250.0, random_state=0)
    np.savez(tmp_path / "rec.npz", emg=rec.emg, label=rec.label, repetition=rec.repetition)
    base = ["features", str(tmp_path / "rec.npz"), "-o", str(tmp_path / "f.csv")]
    assert main([*base, "--fs", "250", "--window-ms", "100000"]) == 2
    err = capsys.readouterr().err
    assert "--window-ms=100000.0" in err and "Use a shorter --window-ms" in err
    assert main(base) == 2  # no fs in the file and no --fs
    err = capsys.readouterr().err
    assert "pass --fs" in err and "fs=" not in err


# --------------------------------------------------------------------------------------
# The demo: quiet logs, -q, and the figure where --out says
# --------------------------------------------------------------------------------------
def _tiny_sasg_for_the_demo(monkeypatch, sasg_class=None):
    """Make the demo build a tiny SASG (a 2-epoch encoder, 8-wide U-Net) of ``sasg_class``
    (the library's by default); returns the parameters the demo passed."""
    import semgaug_sk.augmentation as augmentation
    from semgaug_sk.encoders import SemanticEncoder

    real, seen = sasg_class or augmentation.SASGAugmenter, {}

    def tiny(**params):
        seen.update(params)
        encoder = SemanticEncoder(max_epochs=2, n_filters=8, n_blocks=1)
        return real(
            encoder=encoder, base_channels=8, n_sampling_steps=2, confidence_threshold=0, **params
        )

    monkeypatch.setattr(augmentation, "SASGAugmenter", tiny)
    return seen


@pytest.fixture
def tiny_demo(monkeypatch):
    """The demo's job with a tiny SASG; records its parameters (verbose among them)."""
    return _tiny_sasg_for_the_demo(monkeypatch)


def test_demo_quiet_prints_results_only_and_saves_the_figure_at_the_default(
    tiny_demo, tmp_path, monkeypatch, capfd
):
    from semgaug_sk.cli import DEMO_FIGURE

    monkeypatch.chdir(tmp_path)
    assert main(["demo", "-q", "--steps", "2"]) == 0
    out, err = capfd.readouterr()
    assert tiny_demo["verbose"] == 0 and err == ""
    assert "SASG (semantic + SASS)" in out and f"windows: {DEMO_FIGURE}" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == [DEMO_FIGURE]  # nothing else left behind


def test_demo_out_may_name_a_folder_and_a_bad_suffix_fails_before_the_job(
    tiny_demo, tmp_path, capfd
):
    assert main(["demo", "--steps", "2", "--out", str(tmp_path / "figs")]) == 0
    assert (tmp_path / "figs" / "real_vs_synthetic.png").is_file()
    out, err = capfd.readouterr()
    assert tiny_demo["verbose"] == 1 and "SASG diffusion (" in err and "SASG diffusion" not in out
    tiny_demo.clear()
    assert main(["demo", "--out", str(tmp_path / "fig.txt")]) == 2
    assert "--out" in capfd.readouterr().err and tiny_demo == {}  # no SASG was built


@pytest.mark.slow
def test_demo_output_in_a_log_is_a_few_lines_and_the_figure_goes_to_out(tmp_path):
    # The real job (default SASG, fewer steps); output captured, so not a terminal.
    proc = subprocess.run(
        [sys.executable, "-m", "semgaug_sk.cli", "demo", "--steps", "30", "--out", "figs/d.png"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    lines = output.splitlines()
    assert len(lines) < 100 and "\r" not in output, output
    # 30 steps of 256 windows seen on the demo's 97 training windows: 80 full-pass steps,
    # and the bar names its batch so that the two counts agree
    assert "diffusion training on 30 x 256 windows seen" in proc.stderr
    assert "SASG diffusion (97 windows/step): 0/80 steps" in proc.stderr
    assert "SASG diffusion (97 windows/step): 80/80 steps done in" in proc.stderr
    assert "figure of real against synthetic windows: figs/d.png" in proc.stdout
    assert (tmp_path / "figs" / "d.png").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figs"]


def test_augment_ratio_defaults_to_the_samplers_default():
    from semgaug_sk.augmentation import SASGAugmenter
    from semgaug_sk.cli import build_parser

    args = build_parser().parse_args(["augment", "in.npz", "-o", "out.npz"])
    assert args.ratio == SASGAugmenter().ratio == 2.0


# --------------------------------------------------------------------------------------
# Inputs as users write them: quoted labels, metadata objects, pre-cut windows
# --------------------------------------------------------------------------------------
def test_features_csv_quotes_labels_and_reads_back_column_for_column(tmp_path):
    import csv

    X = np.random.default_rng(0).standard_normal((3, 1, 30)).astype(np.float32)
    y = np.array(["Hand Close, strong", 'say "open"', "rest"])
    np.savez(tmp_path / "w.npz", X=X, y=y, repetition=np.array([1, 1, 2]))
    assert main(["features", str(tmp_path / "w.npz"), "-o", str(tmp_path / "f.csv"), "-q"]) == 0
    with open(tmp_path / "f.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["ch0_mav", "ch0_wl", "ch0_zc", "ch0_ssc", "y", "repetition"]
    assert [r[4] for r in rows[1:]] == y.tolist() and [r[5] for r in rows[1:]] == ["1", "1", "2"]
    with np.load(tmp_path / "w.npz") as f:
        from semgaug_sk.features import EMGFeatures

        expected = EMGFeatures("hudgins").fit_transform(f["X"]).astype(np.float64)
    np.testing.assert_array_equal(np.array([r[:4] for r in rows[1:]], dtype=float), expected)


@pytest.mark.parametrize(
    "options, named",
    [
        (["--window-ms", "100"], "--window-ms"),
        (["--step-ms", "50", "--include-rest"], "--step-ms and --include-rest"),
        (["--subjects", "2"], "--subjects"),
    ],
)
def test_windowing_options_on_pre_cut_windows_are_refused(tmp_path, capsys, options, named):
    np.savez(tmp_path / "w.npz", X=np.zeros((4, 2, 20), np.float32), y=np.array([1, 2, 1, 2]))
    argv = ["features", str(tmp_path / "w.npz"), "-o", str(tmp_path / "f.csv"), *options]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{named} cut or select recordings" in err and "already cut (X)" in err
    assert not (tmp_path / "f.csv").exists()


def test_repetitions_and_subjects_that_the_input_lacks_are_named(tmp_path, capsys):
    np.savez(tmp_path / "w.npz", X=np.zeros((4, 2, 20), np.float32), y=np.array([1, 2, 1, 2]))
    argv = ["augment", str(tmp_path / "w.npz"), "-o", str(tmp_path / "s.npz")]
    assert main([*argv, "--repetitions", "1", "2"]) == 2
    assert "--repetitions needs the repetition of each window" in capsys.readouterr().err
    argv = ["pretrain", str(tmp_path / "w.npz"), "-o", str(tmp_path / "p.sgw")]
    assert main(argv) == 2
    assert "at least 2 subjects" in capsys.readouterr().err


def test_an_empty_input_path_is_refused_not_read_as_the_current_folder(capsys):
    assert main(["features", "", "-o", "x.csv"]) == 2
    assert "the input path is empty" in capsys.readouterr().err


def test_a_recording_saved_with_its_metadata_objects_is_read_and_keeps_its_rest_label(tmp_path):
    from semgaug_sk.datasets import make_semg_gestures

    rec = make_semg_gestures(n_classes=2, n_repetitions=1, fs=250.0, random_state=0)
    rec.label_names = {0: "Neutral", 1: "fist", 2: "open"}  # an object entry, as loaders add
    rec.rest_label = None  # no rest class: label 0 is a real gesture (the Myo loader's record)
    np.savez(tmp_path / "rec.npz", **rec)
    out = tmp_path / "f.npz"
    assert main(["features", str(tmp_path / "rec.npz"), "-o", str(out), "-q"]) == 0
    with np.load(out) as f:
        assert set(f["y"].tolist()) == {0, 1, 2}  # label 0 kept, as the recording says
    rec.rest_label = 0
    np.savez(tmp_path / "rec.npz", **rec)
    assert main(["features", str(tmp_path / "rec.npz"), "-o", str(out), "-q"]) == 0
    with np.load(out) as f:
        assert set(f["y"].tolist()) == {1, 2}


def test_library_parameters_in_messages_are_named_as_options():
    from semgaug_sk.cli import _as_flags

    text = (
        "after max_rounds=5 SASS rounds, too few windows passed confidence_threshold=0.5 "
        "(class 2: 3 of 4 missing); returning the windows that passed (see last_shortfall_). "
        "Lower confidence_threshold, raise max_rounds, or train longer (n_steps)."
    )
    assert _as_flags(text) == (
        "after --max-rounds 5 SASS rounds, too few windows passed --confidence-threshold 0.5 "
        "(class 2: 3 of 4 missing); returning the windows that passed. "
        "Lower --confidence-threshold, raise --max-rounds, or train longer (--steps)."
    )
    assert _as_flags("or train longer (adapt_steps).") == "or train longer (--adapt-steps)."
    assert _as_flags("Use device='cpu' (or device='auto')") == "Use --device cpu (or --device auto)"
    assert _as_flags("use condition='label'") == "use --condition label"
    assert _as_flags(
        "download the dataset again, or pass sessions= to load only the sessions you have."
    ) == ("download the dataset again.")
    # a command without the option keeps the library's name rather than naming a flag it lacks
    from semgaug_sk.cli import _OPTIONS

    token = _OPTIONS.set(frozenset({"--steps", "--device", "--out"}))
    try:
        assert _as_flags("Lower confidence_threshold (n_steps)") == (
            "Lower confidence_threshold (--steps)"
        )
        assert _as_flags("features=('mav', 'wl')") == "features=('mav', 'wl')"
    finally:
        _OPTIONS.reset(token)


def test_augment_says_in_its_result_line_when_the_filter_left_classes_short(tmp_path, capsys):
    from semgaug_sk.datasets import make_semg_gestures
    from semgaug_sk.windows import sliding_windows

    rec = make_semg_gestures(n_classes=2, n_repetitions=1, n_channels=2, fs=100.0, random_state=0)
    w = sliding_windows(rec, window_ms=160, step_ms=160)
    np.savez(tmp_path / "w.npz", X=w.X, y=w.y, fs=w.fs)
    argv = ["augment", str(tmp_path / "w.npz"), "-o", str(tmp_path / "s.npz"), "--steps", "1"]
    argv += ["--confidence-threshold", "0.99", "--max-rounds", "1", "-q"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "fewer than asked, rejected by the confidence filter (per class" in out
    with np.load(tmp_path / "s.npz") as f:
        params = json.loads(str(f["params"]))
        assert params["confidence_threshold"] == 0.99
        assert params["calibration"] is None  # the library's default
        assert params["command"]["input"] == str(tmp_path / "w.npz")  # repeatable from the file
        assert params["command"]["repetitions"] is None
    with pytest.raises(SystemExit) as exc:  # a usage error, before any work
        main([*argv[:-5], "--confidence-threshold", "1.5"])
    assert exc.value.code == 2
    assert "must be a number >= 0 and <= 1" in capsys.readouterr().err


def test_augment_that_keeps_no_window_fails_and_writes_no_empty_file(tmp_path, capsys):
    # an empty file exited 0 and then failed the next command ("X has 0 window(s)")
    from semgaug_sk.datasets import make_semg_gestures
    from semgaug_sk.windows import sliding_windows

    rec = make_semg_gestures(n_classes=2, n_repetitions=1, n_channels=2, fs=100.0, random_state=0)
    w = sliding_windows(rec, window_ms=160, step_ms=160)
    np.savez(tmp_path / "w.npz", X=w.X, y=w.y, fs=w.fs)
    argv = ["augment", str(tmp_path / "w.npz"), "-o", str(tmp_path / "s.npz"), "--steps", "1"]
    assert main([*argv, "--confidence-threshold", "1", "--max-rounds", "1", "-q"]) == 2
    err = capsys.readouterr().err
    assert "no synthetic window to write: 26 fewer than asked" in err
    assert "lower --confidence-threshold" in err and "--max-rounds" in err
    assert not (tmp_path / "s.npz").exists()


def test_rest_label_option_and_no_made_up_metadata(tmp_path, capsys):
    from semgaug_sk.datasets import make_semg_gestures

    rec = make_semg_gestures(n_classes=2, n_repetitions=1, n_channels=2, fs=100.0, random_state=0)
    names = np.array(["rest", "fist", "open"])[rec.label]
    np.savez(tmp_path / "rec.npz", emg=rec.emg, label=names, fs=rec.fs)
    out = tmp_path / "f.npz"
    assert main(["features", str(tmp_path / "rec.npz"), "-o", str(out)]) == 0
    warned = capsys.readouterr().err
    # the library's advice in the command's terms
    assert "(e.g. --rest-label rest), or --include-rest to keep every label" in warned
    with np.load(out) as f:
        assert "rest" in set(f["y"].tolist())
        # the recording has no repetitions or subjects: no column of zeros stands for them
        assert "repetition" not in f.files and "subject" not in f.files
    argv = ["features", str(tmp_path / "rec.npz"), "-o", str(out), "--rest-label", "rest"]
    assert main(argv) == 0
    with np.load(out) as f:
        assert set(f["y"].tolist()) == {"fist", "open"}
    np.savez(tmp_path / "num.npz", emg=rec.emg, label=rec.label, fs=rec.fs)
    argv = ["features", str(tmp_path / "num.npz"), "-o", str(out), "--rest-label", "2"]
    assert main(argv) == 0
    with np.load(out) as f:
        assert set(f["y"].tolist()) == {0, 1}  # 2 dropped as rest, 0 kept as a class
    argv[-1] = "rest"
    assert main(argv) == 2
    assert "--rest-label 'rest' is not a number" in capsys.readouterr().err
    np.savez(tmp_path / "w.npz", X=np.zeros((4, 2, 16)), y=[1, 2, 1, 2])
    argv = ["features", str(tmp_path / "w.npz"), "-o", str(out), "--rest-label", "0"]
    assert main(argv) == 2
    assert "--rest-label cut or select recordings" in capsys.readouterr().err
    # byte-string labels: the text is matched as bytes
    np.savez(tmp_path / "bytes.npz", emg=rec.emg, label=names.astype("S"), fs=rec.fs)
    argv = ["features", str(tmp_path / "bytes.npz"), "-o", str(out), "--rest-label", "rest"]
    assert main(argv) == 0
    with np.load(out) as f:
        assert set(f["y"].tolist()) == {b"fist", b"open"}
    # a label the user named that no window has is refused, not ignored
    argv = ["features", str(tmp_path / "rec.npz"), "-o", str(out), "--rest-label", "Rest"]
    assert main(argv) == 2
    assert "--rest-label 'Rest' is not among the recording's labels ('fist', 'open', 'rest')" in (
        capsys.readouterr().err
    )


def test_absurd_window_length_and_a_demo_input_that_is_not_mat_are_named(tmp_path, capsys):
    from semgaug_sk.datasets import make_semg_gestures

    rec = make_semg_gestures(n_classes=2, n_repetitions=1, n_channels=2, fs=100.0, random_state=0)
    np.savez(tmp_path / "rec.npz", emg=rec.emg, label=rec.label, fs=rec.fs)
    argv = ["features", str(tmp_path / "rec.npz"), "-o", str(tmp_path / "f.csv")]
    assert main([*argv, "--window-ms", "1e308"]) == 2
    assert "more samples than a number holds; give --window-ms in milliseconds" in (
        capsys.readouterr().err
    )
    assert main(["demo", "--ninapro", str(tmp_path / "rec.npz")]) == 2
    assert "is not a .mat file: demo reads NinaPro recordings" in capsys.readouterr().err


def test_demo_out_names_a_folder_with_a_trailing_slash_even_with_a_dot(tiny_demo, tmp_path):
    assert main(["demo", "-q", "--steps", "2", "--out", f"{tmp_path}/figs.v2/"]) == 0
    assert (tmp_path / "figs.v2" / "real_vs_synthetic.png").is_file()


def test_frequency_features_without_a_rate_warn_about_their_unit(tmp_path, capsys):
    X = np.random.default_rng(0).standard_normal((4, 1, 30)).astype(np.float32)
    np.savez(tmp_path / "w.npz", X=X)
    base = ["features", str(tmp_path / "w.npz"), "-o", str(tmp_path / "f.npz")]
    assert main([*base, "--features", "mnf", "rms"]) == 0
    assert "mnf are in cycles per sample" in capsys.readouterr().err
    assert main([*base, "--features", "mnf", "--fs", "1000"]) == 0
    assert "cycles per sample" not in capsys.readouterr().err


def test_an_output_that_is_the_input_is_refused_before_any_work(tmp_path, capsys):
    X = np.random.default_rng(0).standard_normal((4, 1, 30)).astype(np.float32)
    np.savez(tmp_path / "w.npz", X=X, y=np.array([1, 2, 1, 2]))
    before = (tmp_path / "w.npz").read_bytes()
    for argv in (
        ["features", str(tmp_path / "w.npz"), "-o", str(tmp_path / "w.npz")],
        ["augment", str(tmp_path / "w.npz"), "-o", str(tmp_path / "w.npz"), "--steps", "1"],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "is the input" in err and "name another output file" in err
    assert (tmp_path / "w.npz").read_bytes() == before


def test_a_failed_write_keeps_the_earlier_output_whole(tmp_path, capsys, monkeypatch):
    X = np.random.default_rng(0).standard_normal((4, 1, 30)).astype(np.float32)
    np.savez(tmp_path / "w.npz", X=X, y=np.array([1, 2, 1, 2]))
    out = tmp_path / "f.npz"
    assert main(["features", str(tmp_path / "w.npz"), "-o", str(out), "-q"]) == 0
    good = out.read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    assert main(["features", str(tmp_path / "w.npz"), "-o", str(out), "-q"]) == 2
    assert "No space left" in capsys.readouterr().err
    assert out.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.npz", "w.npz"]  # no temp file left


def test_an_upper_case_npz_output_is_written_where_it_says(tmp_path):
    X = np.random.default_rng(0).standard_normal((4, 1, 30)).astype(np.float32)
    np.savez(tmp_path / "w.npz", X=X, y=np.array([b"6", b"7", b"6", b"7"]))  # byte labels
    assert main(["features", str(tmp_path / "w.npz"), "-o", str(tmp_path / "OUT.NPZ"), "-q"]) == 0
    assert (tmp_path / "OUT.NPZ").is_file() and not (tmp_path / "OUT.NPZ.npz").exists()
    assert main(["features", str(tmp_path / "w.npz"), "-o", str(tmp_path / "f.csv"), "-q"]) == 0
    rows = (tmp_path / "f.csv").read_text().splitlines()
    assert [r.split(",")[-1] for r in rows[1:]] == ["6", "7", "6", "7"]  # not b'6'


def test_flags_that_would_be_ignored_are_refused(tmp_path, capsys):
    np.savez(tmp_path / "w.npz", X=np.zeros((4, 1, 30), np.float32), y=np.array([1, 2, 1, 2]))
    assert main(["demo", "--subject", "5"]) == 2
    assert "--subject applies to --ninapro input" in capsys.readouterr().err
    assert main(["demo", "--fs", "100"]) == 2
    assert "--fs applies to --ninapro input" in capsys.readouterr().err
    argv = ["augment", str(tmp_path / "w.npz"), "-o", str(tmp_path / "s.npz")]
    assert main(argv + ["--prior", str(tmp_path / "p.sgw"), "--steps", "5"]) == 2
    assert "with --prior the generator is fine-tuned instead" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # features trains and draws nothing
        main(["features", str(tmp_path / "w.npz"), "-o", str(tmp_path / "f.csv"), "--device", "x"])
    assert exc.value.code == 2


def test_demo_on_a_recording_without_test_repetitions_says_what_it_needs(tmp_path, capsys):
    import scipy.io as sio

    n = 3000
    label = np.repeat([0, 1, 0, 2, 0, 1, 0, 2], n // 8)[:, None]
    repetition = np.repeat([0, 1, 0, 1, 0, 2, 0, 2], n // 8)[:, None]  # repetitions 1 and 2 only
    emg = np.abs(np.random.default_rng(0).normal(size=(n, 2)))
    sio.savemat(
        tmp_path / "S1_A1_E1.mat",
        dict(emg=emg, restimulus=label, rerepetition=repetition, frequency=100),
    )
    assert main(["demo", "--ninapro", str(tmp_path), "-q"]) == 2
    err = capsys.readouterr().err
    assert "have repetitions [1, 2]" in err and "repetition_split" in err


def test_features_with_ent_on_volt_scale_float32_windows_are_computed_in_float64(tmp_path, capsys):
    X = (np.random.default_rng(0).standard_normal((6, 2, 50)) * 1e-5).astype(np.float32)
    np.savez(tmp_path / "w.npz", X=X, y=np.array([1, 2] * 3))
    argv = ["features", str(tmp_path / "w.npz"), "-o", str(tmp_path / "f.npz"), "--features", "ent"]
    assert main(argv) == 0
    assert "float32" not in capsys.readouterr().err  # no warning the user could not act on
    with np.load(tmp_path / "f.npz") as f:
        ent = f["features"]
    assert ent.dtype == np.float64 and len(np.unique(ent)) == ent.size  # not rounding noise


def test_an_overwritten_output_keeps_its_mode_and_a_long_name_is_written(tmp_path):
    X = np.random.default_rng(0).standard_normal((4, 1, 30)).astype(np.float32)
    np.savez(tmp_path / "w.npz", X=X, y=np.array([1, 2, 1, 2]))
    out = tmp_path / "f.csv"
    out.write_text("old")
    os.chmod(out, 0o664)
    assert main(["features", str(tmp_path / "w.npz"), "-o", str(out), "-q"]) == 0
    assert out.stat().st_mode & 0o777 == 0o664 and out.read_text() != "old"
    long = tmp_path / ("f" * 248 + ".csv")  # 252 bytes: a temporary name must not add to it
    assert main(["features", str(tmp_path / "w.npz"), "-o", str(long), "-q"]) == 0
    assert long.is_file()


@pytest.mark.realdata
def test_features_read_myo_and_uci_folders_and_keep_sessions(shared_data, tmp_path, capsys):
    myo = shared_data("myo_armband_cote_allard")
    out = tmp_path / "m.npz"
    assert main(["features", str(myo), "--subjects", "Male0", "-o", str(out)]) == 0
    with np.load(out) as saved:
        assert {"session", "start"} <= set(saved.files)
        assert set(np.unique(saved["y"]).tolist()) == set(range(7))  # Neutral is a class
        assert len(np.unique(saved["session"])) == 3
    uci = shared_data("uci_emg_gestures")
    assert main(["features", str(uci), "--subjects", "1", "-o", str(tmp_path / "u.csv")]) == 0
    assert main(["features", str(uci), "--subjects", "Male0", "-o", str(tmp_path / "x.csv")]) == 2
    assert "Myo subjects are names" in capsys.readouterr().err


def test_npz_without_windows_or_recording_lists_what_it_holds(tmp_path, capsys):
    path = tmp_path / "bad.npz"
    np.savez(path, foo=np.zeros(3), bar=np.ones(2))
    assert main(["features", str(path), "-o", str(tmp_path / "x.csv")]) == 2
    assert "it holds ['bar', 'foo']" in capsys.readouterr().err


def test_augment_calibration_option_reaches_the_sampler_and_defaults_like_the_library(tmp_path):
    import inspect

    from semgaug_sk.augmentation import SASGAugmenter
    from semgaug_sk.cli import build_parser
    from semgaug_sk.datasets import make_semg_gestures
    from semgaug_sk.windows import sliding_windows

    default = inspect.signature(SASGAugmenter).parameters["calibration"].default
    parser = build_parser()
    args = parser.parse_args(["augment", "in.npz", "-o", "out.npz"])
    assert (None if args.calibration == "none" else args.calibration) == default
    rec = make_semg_gestures(n_classes=2, n_repetitions=1, n_channels=2, fs=100.0, random_state=0)
    w = sliding_windows(rec, window_ms=160, step_ms=80)
    np.savez(tmp_path / "w.npz", X=w.X, y=w.y, fs=w.fs)
    for mode in ("std", "level"):
        out = tmp_path / f"{mode}.npz"
        argv = ["augment", str(tmp_path / "w.npz"), "-o", str(out), "--steps", "1"]
        argv += ["--confidence-threshold", "0", "--calibration", mode, "-q"]
        assert main(argv) == 0
        with np.load(out) as f:
            assert json.loads(str(f["params"]))["calibration"] == mode


def test_npz_inputs_with_object_arrays_no_labels_or_an_empty_path_get_one_line(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    X = np.zeros((6, 2, 16), np.float32)
    np.savez("yobj.npz", X=X, y=np.array(["a", "b"] * 3, dtype=object))  # a pandas Series
    assert main(["features", "yobj.npz", "-o", "f.csv"]) == 2
    err = capsys.readouterr().err.strip()
    assert "'y' as an object array" in err and "y.astype(str)" in err and "corrupt" not in err
    np.savez("rec.npz", emg=np.zeros((400, 2), np.float32), fs=100.0)
    assert main(["augment", "rec.npz", "-o", "s.npz"]) == 2
    assert "'label' (one per sample) next to 'emg'" in capsys.readouterr().err
    (tmp_path / "f.csv").write_text("x")
    assert main(["features", "", "-o", "f.csv"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Errno" not in err


def test_a_damaged_prior_is_explained_in_the_commands_terms(tmp_path, capsys):
    np.savez(tmp_path / "one.npz", X=np.zeros((6, 2, 16), np.float32), y=np.repeat(["a", "b"], 3))
    (tmp_path / "empty.sgw").write_bytes(b"")
    (tmp_path / "text.sgw").write_text("not a weights file")
    for bad in ("empty.sgw", "text.sgw"):
        argv = ["augment", str(tmp_path / "one.npz"), "-o", str(tmp_path / "s.npz")]
        assert main([*argv, "--prior", str(tmp_path / bad)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.lower().endswith("write it again with semgaug pretrain."), err
        assert ", or Write" not in err, err  # the sentence goes on in lower case
        assert "save the estimator" not in err.lower() and "written by save_weights" not in err


def test_demo_quiet_says_when_the_filter_left_sasg_short(tmp_path, monkeypatch, capfd):
    # -q silences the sampler's warning, so the shortfall goes in the results, as in augment
    from semgaug_sk.augmentation import SASGAugmenter

    class ShortSASG(SASGAugmenter):
        def fit_resample(self, X, y):
            out = super().fit_resample(X, y)
            self.last_shortfall_ = {self.classes_[0]: 2, self.classes_[1]: 0}
            return out

    _tiny_sasg_for_the_demo(monkeypatch, ShortSASG)
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "-q", "--steps", "2"]) == 0
    out, err = capfd.readouterr()
    assert err == ""
    assert "SASG generated 2 fewer than asked, rejected by the confidence filter" in out


def test_demo_whose_filter_keeps_no_window_for_the_figure_reports_and_succeeds(
    tmp_path, monkeypatch, capfd
):
    # plot_real_vs_synthetic refused the empty set after the results were printed
    from semgaug_sk.augmentation import SASGAugmenter

    class EmptySASG(SASGAugmenter):
        def generate(self, n_per_class, *, random_state=None):
            X_syn, y_syn = super().generate(n_per_class, random_state=random_state)
            return X_syn[:0], y_syn[:0]

    _tiny_sasg_for_the_demo(monkeypatch, EmptySASG)
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "-q", "--steps", "2"]) == 0
    out, _ = capfd.readouterr()
    assert "no figure: no synthetic window passed SASG's confidence filter" in out
    assert not (tmp_path / "semgaug_demo.png").exists()


def test_features_help_names_both_defaults_of_the_shell_and_of_python(capsys):
    # the shell's default (hudgins) differs from EMGFeatures()'s: the help says so, with
    # the Python default read from the class so that the two cannot drift apart silently
    import inspect

    from semgaug_sk import EMGFeatures
    from semgaug_sk.features import FEATURE_GROUPS

    with pytest.raises(SystemExit):
        main(["features", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    python_default = tuple(inspect.signature(EMGFeatures).parameters["features"].default)
    group = next(g for g, names in FEATURE_GROUPS.items() if tuple(names) == python_default)
    assert f"defaults to {group} = {' '.join(python_default)}" in text
    assert "default: hudgins = mav wl zc ssc" in text


def test_labels_under_the_other_files_key_are_named_not_dropped(tmp_path, capsys):
    X = np.random.default_rng(0).normal(size=(6, 2, 30)).astype(np.float32)
    np.savez(tmp_path / "w.npz", X=X, label=np.array([1, 2] * 3))
    assert main(["features", str(tmp_path / "w.npz"), "-o", str(tmp_path / "f.csv")]) == 2
    err = capsys.readouterr().err
    assert "'label', the key of a recording's per-sample labels" in err and "y=labels" in err
    emg = np.random.default_rng(0).normal(size=(1000, 2))
    np.savez(tmp_path / "r.npz", emg=emg, y=np.repeat([0, 1], 500), fs=1000.0)
    assert main(["features", str(tmp_path / "r.npz"), "-o", str(tmp_path / "g.csv")]) == 2
    err = capsys.readouterr().err
    assert "'y', the key of a windows file's per-window labels" in err and "label=labels" in err
    assert not (tmp_path / "f.csv").exists() and not (tmp_path / "g.csv").exists()


def test_features_keep_every_per_window_array_of_a_windows_npz(tmp_path):
    X = np.random.default_rng(0).normal(size=(4, 2, 30)).astype(np.float32)
    extra = dict(
        y=np.array([1, 2, 1, 2]),
        repetition=np.array([1, 1, 2, 2]),
        subject=np.array([3, 3, 3, 3]),
        session=np.array([0, 0, 1, 1]),
        start=np.array([0, 30, 60, 90]),
    )
    np.savez(tmp_path / "w.npz", X=X, **extra)
    assert main(["features", str(tmp_path / "w.npz"), "-o", str(tmp_path / "f.npz")]) == 0
    with np.load(tmp_path / "f.npz") as saved:
        for key, value in extra.items():
            np.testing.assert_array_equal(saved[key], value, err_msg=key)


def test_augment_refuses_a_ratio_that_asks_for_no_window(tmp_path, capsys):
    X = np.random.default_rng(0).normal(size=(40, 2, 30)).astype(np.float32)
    np.savez(tmp_path / "w.npz", X=X, y=np.repeat([1, 2], 20))
    argv = ["augment", str(tmp_path / "w.npz"), "-o", str(tmp_path / "s.npz"), "--steps", "1"]
    assert main(argv + ["--ratio", "0.01"]) == 2
    err = capsys.readouterr().err
    assert "--ratio 0.01 asks for no synthetic window" in err and "at least 0.025" in err
    assert not (tmp_path / "s.npz").exists()
    # the hint is rounded up, so that it is itself enough (0.5 / 7 = 0.0714...)
    np.savez(tmp_path / "w7.npz", X=X[:14], y=np.repeat([1, 2], 7))
    argv[1] = str(tmp_path / "w7.npz")
    assert main(argv + ["--ratio", "0.01"]) == 2
    assert "at least 0.0715" in capsys.readouterr().err
    from semgaug_sk.augmentation.base import n_synthetic_per_class

    assert sum(n_synthetic_per_class(np.repeat([1, 2], 7), 0.0715).values()) == 2


def test_augment_refuses_an_input_of_no_windows_by_name(tmp_path, capsys):
    # numpy's "zero-size array to reduction operation maximum" before
    np.savez(tmp_path / "w.npz", X=np.zeros((0, 2, 40), np.float32), y=np.zeros(0, int))
    argv = ["augment", str(tmp_path / "w.npz"), "-o", str(tmp_path / "s.npz"), "--steps", "1"]
    assert main(argv) == 2
    assert "the input holds 0 windows, so there is nothing to augment" in capsys.readouterr().err
    assert not (tmp_path / "s.npz").exists()


def test_a_seed_beyond_numpys_range_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["demo", "--seed", str(2**32)])
    assert info.value.code == 2
    assert "--seed: must be an integer >= 0 and <= 4294967295" in capsys.readouterr().err
    assert build_parser().parse_args(["demo", "--seed", str(2**32 - 1)]).seed == 2**32 - 1


@pytest.mark.parametrize("command", ["demo", "augment", "pretrain"])
def test_a_bad_device_fails_before_any_work(tmp_path, capsys, command):
    X = np.random.default_rng(0).normal(size=(40, 2, 30)).astype(np.float32)
    np.savez(tmp_path / "w.npz", X=X, y=np.repeat([1, 2], 20), subject=np.repeat([1, 2], 20))
    out = {"demo": "d.png", "augment": "s.npz", "pretrain": "p.sgw"}[command]
    argv = [command] + ([] if command == "demo" else [str(tmp_path / "w.npz")])
    argv += ["-o" if command != "demo" else "--out", str(tmp_path / out), "--device", "gpu"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "--device gpu is not a valid torch device" in captured.err
    assert captured.out == ""  # no row of the demo, nothing loaded or trained first
    assert "device=" not in captured.err  # named as the option


@pytest.mark.realdata
def test_myo_features_name_their_subjects_and_read_the_pretraining_set(
    shared_data, tmp_path, capsys
):
    myo = shared_data("myo_armband_cote_allard")
    out = tmp_path / "m.csv"

    # one subject, then two: the subject column names them, not a per-run index
    def column(name):
        with out.open(newline="") as fh:
            return {row[name] for row in csv.DictReader(fh)}

    assert main(["features", str(myo), "--subjects", "Male3", "-o", str(out)]) == 0
    assert column("subject") == {"Male3"}
    assert column("session") == {"training0", "Test0", "Test1"}
    assert main(["features", str(myo), "--subjects", "Male5", "Male3", "-o", str(out)]) == 0
    assert column("subject") == {"Male3", "Male5"}
    npz = tmp_path / "p.npz"
    assert main(["features", str(myo), "--subjects", "pretraining/Female6", "-o", str(npz)]) == 0
    with np.load(npz) as saved:
        assert set(saved["subject"].tolist()) == {"pretraining/Female6"}
        assert set(saved["session"].tolist()) == {"training0"}
    # a bare name next to a qualified one is the evaluation set's, as on its own
    argv = ["features", str(myo), "--subjects", "pretraining/Female6", "Male0", "-o", str(npz)]
    assert main(argv) == 0
    with np.load(npz) as saved:
        assert set(saved["subject"].tolist()) == {"pretraining/Female6", "evaluation/Male0"}
    assert main(["features", str(myo), "--subjects", "practice/Male0", "-o", str(npz)]) == 2
    assert "qualify a subject with 'evaluation/' or 'pretraining/'" in capsys.readouterr().err


def test_an_interrupt_says_whether_a_rerun_resumes(tmp_path, capsys, monkeypatch):
    from semgaug_sk.augmentation import SASGAugmenter

    def interrupted(self, X, y):
        raise KeyboardInterrupt

    monkeypatch.setattr(SASGAugmenter, "fit_resample", interrupted)
    X = np.random.default_rng(0).normal(size=(20, 2, 30)).astype(np.float32)
    np.savez(tmp_path / "w.npz", X=X, y=np.repeat([1, 2], 10))
    folder = tmp_path / "ckpt"
    argv = ["augment", str(tmp_path / "w.npz"), "-o", str(tmp_path / "s.npz")]
    argv += ["--checkpoint-dir", str(folder)]
    assert main(argv) == 130
    assert "no checkpoint was written yet" in capsys.readouterr().err
    (folder / "sasg-abc" / "slot0").mkdir(parents=True)
    (folder / "sasg-abc" / "slot0" / "params.pt").write_bytes(b"")
    assert main(argv) == 130
    assert "run the same command again to resume" in capsys.readouterr().err


def test_an_unknown_option_points_at_its_subcommands_help(tmp_path, capsys):
    with pytest.raises(SystemExit) as raised:
        main(["features", str(tmp_path / "w.npz"), "-o", str(tmp_path / "f.csv"), "--bogus"])
    assert raised.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == "semgaug: error: unrecognized arguments: --bogus (see 'semgaug features --help')"


def test_an_npz_with_both_windows_and_a_recording_is_refused_not_half_read(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "both.npz",
        X=rng.normal(size=(4, 2, 30)),
        y=np.array([1, 2, 1, 2]),
        emg=rng.normal(size=(1000, 2)),
        label=np.repeat([1, 2], 500),
        fs=1000.0,
    )
    assert main(["features", str(tmp_path / "both.npz"), "-o", str(tmp_path / "f.csv")]) == 2
    err = capsys.readouterr().err
    assert "holds both windows ('X') and a recording ('emg')" in err and "separate" in err
    assert not (tmp_path / "f.csv").exists()


def test_too_short_windows_name_the_window_and_features_options(tmp_path, capsys):
    X = np.random.default_rng(0).normal(size=(4, 2, 1))
    np.savez(tmp_path / "w.npz", X=X, y=np.array([1, 2, 1, 2]))
    argv = ["features", str(tmp_path / "w.npz"), "-o", str(tmp_path / "f.csv"), "--features", "wl"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "(--window-ms, when cutting a recording)" in err and "from --features" in err
    assert "sliding_windows" not in err


def test_a_data_npz_as_prior_is_named_as_data(tmp_path, capsys):
    X = np.random.default_rng(0).normal(size=(4, 2, 30))
    np.savez(tmp_path / "w.npz", X=X, y=np.array([1, 2, 1, 2]))
    argv = ["augment", str(tmp_path / "w.npz"), "-o", str(tmp_path / "o.npz")]
    assert main([*argv, "--prior", str(tmp_path / "w.npz")]) == 2
    err = capsys.readouterr().err
    assert "NumPy .npz of arrays (X, y)" in err and "the .sgw file semgaug pretrain wrote" in err


def _pretrain_tiny(tmp_path, *flags):
    """A two-subject population in ``pop.npz``, its prior in ``pop.sgw`` (one step), and a
    target's windows in ``new.npz``; returns the prior's path."""
    rng = np.random.default_rng(0)
    y = np.tile(np.repeat(["fist", "open"], 6), 2)
    X = rng.normal(size=(len(y), 2, 16)).astype(np.float32)
    np.savez(tmp_path / "pop.npz", X=X, y=y, subject=np.repeat([1, 2], len(y) // 2))
    np.savez(tmp_path / "new.npz", X=X[:12], y=y[:12])
    prior = tmp_path / "pop.sgw"
    argv = ["pretrain", str(tmp_path / "pop.npz"), "-o", str(prior), "--steps", "1", *flags]
    assert main(argv) == 0
    return prior


def test_prior_commands_keep_stdout_for_results_and_guard_the_prior(tmp_path, capsys):
    prior = _pretrain_tiny(tmp_path, "-v")
    captured = capsys.readouterr()
    assert captured.out.strip().startswith("wrote a prior") and len(captured.out.splitlines()) == 1
    assert "train_loss" in captured.err  # -v: the epoch tables, on stderr with the progress
    argv = ["augment", str(tmp_path / "new.npz"), "-o", str(tmp_path / "s.npz"), "--ratio", "1"]
    assert main([*argv, "--prior", str(prior), "--adapt-steps", "1", "-v"]) == 0
    captured = capsys.readouterr()
    assert "train_loss" in captured.err and "train_loss" not in captured.out
    # --adapt-steps without --prior would be ignored
    assert main([*argv, "--adapt-steps", "3", "--steps", "1", "-q"]) == 2
    assert "--adapt-steps sets the fine-tuning of a population prior" in capsys.readouterr().err
    # the output may not be the prior being read
    copy = tmp_path / "copy.npz"
    copy.write_bytes(prior.read_bytes())
    out_is_prior = ["augment", str(tmp_path / "new.npz"), "-o", str(copy), "--prior", str(copy)]
    assert main([*out_is_prior, "-q"]) == 2
    assert "is the input" in capsys.readouterr().err
    assert copy.read_bytes() == prior.read_bytes()
    # an empty --prior and one that is no regular file have their own messages
    assert main([*argv, "--prior", "", "-q"]) == 2
    assert "--prior is empty" in capsys.readouterr().err
    assert main([*argv, "--prior", os.devnull, "-q"]) == 2
    assert "is not a regular file" in capsys.readouterr().err
    # no window passed the filter: the advice names the option that trains this generator
    strict = ["--confidence-threshold", "1", "--max-rounds", "1", "--adapt-steps", "1", "-q"]
    assert main([*argv, "--prior", str(prior), *strict]) == 2
    err = capsys.readouterr().err
    assert "no synthetic window to write" in err and "(--adapt-steps)" in err, err


def test_an_edited_prior_without_a_fitted_attribute_is_one_line(tmp_path, capsys):
    import torch

    prior = _pretrain_tiny(tmp_path, "-q")
    payload = torch.load(prior, weights_only=True)
    del payload["state"]["classes_"]
    torch.save(payload, prior)
    argv = ["augment", str(tmp_path / "new.npz"), "-o", str(tmp_path / "s.npz"), "-q"]
    assert main([*argv, "--prior", str(prior)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "has no fitted classes_" in err, err
    assert "Traceback" not in err


def test_prior_mismatch_messages_name_the_commands_options():
    from semgaug_sk.cli import _OPTIONS, _as_flags

    token = _OPTIONS.set(frozenset({"--window-ms", "--include-rest"}))
    try:
        text = _as_flags(
            "Cut windows of the prior's length (same window_ms at the same sampling rate)"
        )
        assert "(same --window-ms at the same sampling rate)" in text
        text = _as_flags("Use the prior's label names, drop those gestures, or pretrain a prior")
        assert "leave out --include-rest" in text
    finally:
        _OPTIONS.reset(token)

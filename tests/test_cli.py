"""The ``semgaug`` command: help, features, and one-line errors for user mistakes."""

import numpy as np
import pytest

from semgaug_sk.cli import main


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
    assert lines[0].split(",")[-3:] == ["y", "repetition", "subject"]
    assert len(lines) == 6 and lines[1].split(",")[-3] == "a"
    assert "wrote 5 windows x 8 features" in capsys.readouterr().out


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
    ],
)
def test_user_mistakes_give_one_line_and_status_2(tmp_path, capsys, argv, message):
    np.savez(tmp_path / "w.npz", X=np.zeros((3, 1, 10)), y=np.array([0, 1, 0]))
    np.savez(tmp_path / "nolabels.npz", X=np.zeros((3, 1, 10)))
    np.savez(tmp_path / "empty.npz", other=np.zeros(3))
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
    assert "resumed from 3 trained steps" in capsys.readouterr().out
    with np.load(tmp_path / "s.npz") as f:
        np.testing.assert_array_equal(f["X"], synthetic)

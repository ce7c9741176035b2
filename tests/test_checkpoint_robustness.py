"""Checkpoint folders under stress: long object arrays, parallel fits, damaged slots.

- ``param_digest`` never hashes an elided ``repr``: an object array is hashed element
  by element, so two arrays differing past numpy's 1,000-element repr threshold get
  two folders, and the digest stays the same in every process;
- two fits of the same data and parameters running at once never share a folder's
  slots: the second trains in a private sibling folder, with a warning; a lock left
  by a crashed run (a dead process) never stops the resume;
- a damaged newest slot is skipped (with a warning naming it) for the older intact one;
  with no intact slot the fit stops with an error naming the folder to delete.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from semgaug_sk.augmentation import DiffusionGenerator, SASGAugmenter
from semgaug_sk.augmentation.checkpoint import fit_folder, latest_checkpoint, param_digest
from semgaug_sk.encoders import SemanticEncoder
from semgaug_sk.nn.unet import ConditionalDenoiser
from semgaug_sk.utils.folder_lock import LOCK_NAME as _LOCK
from semgaug_sk.utils.folder_lock import _machine
from semgaug_sk.utils.folder_lock import release as _release

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(
    base_channels=8,
    channel_mults=(1,),
    n_cond_tokens=2,
    cond_token_dim=8,
    batch_size=16,
    random_state=0,
)


@pytest.fixture(scope="module")
def windows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 2, 16)).astype("float32")
    return X, np.arange(24) % 3


def generator(folder, **kwargs):
    """24 windows in batches of 12: 2 steps an epoch; n_steps=6 is 4 epochs."""
    return DiffusionGenerator(**{**TINY, "n_steps": 6, "checkpoint_dir": folder, **kwargs})


@contextlib.contextmanager
def no_warning():
    """Any warning inside the block fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ------------------------------------------------------------------------------------------
# param_digest: no elided repr
# ------------------------------------------------------------------------------------------
def test_object_arrays_beyond_the_repr_threshold_get_their_own_digest():
    a = np.array([f"value {i}" for i in range(2000)], dtype=object)
    b = a.copy()
    b[1000] = "another value"
    assert repr(a) == repr(b)  # numpy elides the middle: what the digest used to read
    assert param_digest(a) != param_digest(b)
    assert param_digest(a) == param_digest(a.copy())
    # inside a parameter, reshaped, or as a field of a structured array
    assert param_digest({"grid": [a]}) != param_digest({"grid": [b]})
    assert param_digest(a.reshape(40, 50)) != param_digest(a)
    s = np.zeros(2000, dtype=[("w", "f4"), ("name", "O")])
    s["name"] = a
    t = s.copy()
    t["name"] = b
    assert param_digest(s) != param_digest(t) and param_digest(s) == param_digest(s.copy())


def test_other_values_a_repr_or_a_missing_attribute_used_to_confuse():
    # a tensor's dtype and shape (all-zero bytes are equal), bfloat16 (no numpy dtype)
    assert param_digest(torch.zeros(4)) != param_digest(torch.zeros(2, dtype=torch.float64))
    assert param_digest(torch.zeros(2, 3)) != param_digest(torch.zeros(3, 2))
    assert len(param_digest(torch.ones(3, dtype=torch.bfloat16))) == 64
    # a set whatever its order; objects without a __dict__; functions
    assert param_digest({"a", "b"}) == param_digest({"b", "a"})
    assert param_digest({1, 2}) != param_digest({3})
    assert param_digest(np.dtype("float32")) != param_digest(np.dtype("int64"))
    assert param_digest(np.sin) != param_digest(np.cos)
    assert param_digest(torch.tanh) != param_digest(torch.sigmoid)
    assert param_digest(lambda x: x + 1) != param_digest(lambda x: x + 2)
    assert param_digest(Path("/no/such/a")) != param_digest(Path("/no/such/b"))
    cycle = []
    cycle.append(cycle)
    assert len(param_digest(cycle)) == 64


def test_digests_of_object_arrays_and_sets_are_the_same_in_every_process():
    # string hashing (and so a set's order) differs from process to process
    code = (
        "import numpy as np\n"
        "from semgaug_sk.augmentation.checkpoint import param_digest\n"
        "a = np.array([f'value {i}' for i in range(2000)], dtype=object)\n"
        "print(param_digest(a), param_digest({'fist', 'open', 'pinch', 'rest'}))\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    a = np.array([f"value {i}" for i in range(2000)], dtype=object)
    here = f"{param_digest(a)} {param_digest({'fist', 'open', 'pinch', 'rest'})}"
    assert outputs == {here}


# ------------------------------------------------------------------------------------------
# concurrent fits of the same key
# ------------------------------------------------------------------------------------------
def test_a_fit_running_in_another_thread_keeps_its_folder(tmp_path, windows):
    X, y = windows
    taken, finish, first = threading.Event(), threading.Event(), {}

    def run_first():
        first["folder"] = fit_folder(tmp_path, "demo", X, y, {}, "Demo")
        taken.set()
        finish.wait(30)
        _release(first["folder"])  # its training ended

    thread = threading.Thread(target=run_first)
    thread.start()
    try:
        assert taken.wait(30)
        shared = first["folder"]
        with pytest.warns(UserWarning, match=re.escape(shared)):
            second = fit_folder(tmp_path, "demo", X, y, {}, "Demo")
        assert second != shared and Path(second).is_dir()
        assert Path(second).parent == tmp_path
        assert Path(second).name.startswith(f"{Path(shared).name}.concurrent-")
    finally:
        finish.set()
        thread.join()
    assert not (Path(shared) / _LOCK).exists()
    with no_warning():
        assert fit_folder(tmp_path, "demo", X, y, {}, "Demo") == shared


def test_an_earlier_fit_of_this_thread_never_blocks_the_next(tmp_path, windows):
    # a fit stopped by an exception keeps its lock; the thread's next fit takes it over
    X, y = windows
    folder = fit_folder(tmp_path, "demo", X, y, {}, "Demo")
    with no_warning():
        assert fit_folder(tmp_path, "demo", X, y, {}, "Demo") == folder
    _release(folder)


HOLDER = """
import sys
from pathlib import Path
from semgaug_sk.utils.folder_lock import acquire
assert acquire(Path(sys.argv[1])) is None
print("held", flush=True)
sys.stdin.read()  # until the test closes stdin; then exit, the lock left behind (a crash)
"""


def test_a_fit_running_in_another_process_then_crashing(tmp_path, windows):
    X, y = windows
    done = generator(tmp_path).fit(X, y)
    shared = Path(done.checkpoint_path_)
    assert not (shared / _LOCK).exists()  # a finished fit leaves no lock
    saved = {p: p.stat().st_mtime_ns for p in shared.rglob("*") if p.is_file()}

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(shared)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        lock = json.loads((shared / _LOCK).read_text())
        assert lock["pid"] == holder.pid
        with pytest.warns(UserWarning, match=re.escape(str(shared))) as seen:
            second = generator(tmp_path).fit(X, y)
        private = re.search(r"checkpoints to (\S+) instead", str(seen[0].message)).group(1)
        assert Path(private).name.startswith(f"{shared.name}.concurrent-")
        assert second.resumed_steps_ == 0  # trained on its own, from the start
        assert second.n_epochs_ == done.n_epochs_
        # no later fit could resume from the private folder: it is gone with the fit
        assert second.checkpoint_path_ is None and not Path(private).exists()
        assert [p.name for p in tmp_path.iterdir()] == [shared.name]
        # the shared folder was neither read for a resume nor written
        assert {p: p.stat().st_mtime_ns for p in shared.rglob("*") if p.is_file()} == {
            **saved,
            shared / _LOCK: (shared / _LOCK).stat().st_mtime_ns,
        }
    finally:
        holder.stdin.close()
        holder.wait(30)
    assert (shared / _LOCK).exists()  # the holder "crashed": its lock stays behind

    with no_warning():
        again = generator(tmp_path).fit(X, y)
    assert Path(again.checkpoint_path_) == shared
    assert again.resumed_steps_ == again.n_train_steps_  # resumed despite the stale lock
    assert not (shared / _LOCK).exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_a_reused_process_id_does_not_hold_a_lock(tmp_path, windows):
    X, y = windows
    folder = Path(fit_folder(tmp_path, "demo", X, y, {}, "Demo"))
    _release(folder)
    # a live process, started after the lock's writer (its start time differs)
    lock = dict(pid=os.getppid(), started="0", machine=_machine(), thread=1, token="x")
    (folder / _LOCK).write_text(json.dumps(lock))
    with no_warning():
        assert fit_folder(tmp_path, "demo", X, y, {}, "Demo") == str(folder)
    assert json.loads((folder / _LOCK).read_text())["pid"] == os.getpid()
    _release(folder)


def test_unreadable_and_other_machines_locks_are_taken_over(tmp_path, windows):
    X, y = windows
    folder = Path(fit_folder(tmp_path, "demo", X, y, {}, "Demo"))
    _release(folder)
    (folder / _LOCK).write_text("")  # a lock whose writer died before writing it
    old = time.time() - 3600
    os.utime(folder / _LOCK, (old, old))
    with no_warning():
        assert fit_folder(tmp_path, "demo", X, y, {}, "Demo") == str(folder)
    _release(folder)
    other = dict(pid=os.getppid(), started=None, machine="another-node", thread=1, token="x")
    (folder / _LOCK).write_text(json.dumps(other))  # a job started again on another node
    with no_warning():
        assert fit_folder(tmp_path, "demo", X, y, {}, "Demo") == str(folder)
    _release(folder)
    assert not (folder / _LOCK).exists()


def test_an_interrupted_fit_releases_its_lock(tmp_path, windows, monkeypatch):
    from semgaug_sk.nn.unet import ConditionalDenoiser
    from semgaug_sk.utils.training import TrainingInterrupted

    X, y = windows
    original, calls = ConditionalDenoiser.forward, []

    def forward(self, *args, **kwargs):  # Ctrl-C in the third training step
        calls.append(1)
        if len(calls) > 2:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ConditionalDenoiser, "forward", forward)
    gen = generator(tmp_path, checkpoint_every=1)
    with pytest.raises(TrainingInterrupted):
        gen.fit(X, y)
    monkeypatch.undo()
    assert latest_checkpoint(gen.checkpoint_path_)[1] == 1
    assert not (Path(gen.checkpoint_path_) / _LOCK).exists()


def test_a_fit_stopped_by_an_error_releases_its_lock(tmp_path, windows, monkeypatch):
    # skorch skips on_train_end after an ordinary exception: the fit itself releases
    from semgaug_sk.nn.unet import ConditionalDenoiser

    X, y = windows
    original, calls = ConditionalDenoiser.forward, []

    def forward(self, *args, **kwargs):  # an error in the third training step
        calls.append(1)
        if len(calls) > 2:
            raise RuntimeError("boom")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ConditionalDenoiser, "forward", forward)
    with pytest.raises(RuntimeError, match="boom"):
        generator(tmp_path, checkpoint_every=1).fit(X, y)
    assert not list(tmp_path.rglob(_LOCK))
    calls.clear()
    with pytest.raises(RuntimeError, match="boom"):  # and in a SASG fit, both folders
        SASGAugmenter(
            SemanticEncoder(embedding_dim=4, n_filters=8, n_blocks=1, max_epochs=1),
            **{**TINY, "n_steps": 6},
            n_sampling_steps=2,
            checkpoint_dir=tmp_path / "sasg",
        ).fit(X, y)
    assert not list(tmp_path.rglob(_LOCK))


def test_sasg_fits_release_both_locks(tmp_path, windows):
    X, y = windows
    aug = SASGAugmenter(
        SemanticEncoder(embedding_dim=4, n_filters=8, n_blocks=1, max_epochs=1),
        **{**TINY, "n_steps": 2},
        n_sampling_steps=2,
        confidence_threshold=0.0,
        checkpoint_dir=tmp_path,
    ).fit(X, y)
    assert not list(tmp_path.rglob(_LOCK))
    assert Path(aug.generator_.checkpoint_path_).parent == Path(aug.checkpoint_path_)


def test_private_folders_are_deleted_however_the_fit_ends(tmp_path, windows):
    # a grid search repeating a candidate would leave one private folder per repeat
    X, y = windows
    shared = Path(generator(tmp_path).fit(X, y).checkpoint_path_)
    tiny_sasg = dict(
        encoder=SemanticEncoder(embedding_dim=4, n_filters=8, n_blocks=1, max_epochs=1),
        **{**TINY, "n_steps": 2},
        n_sampling_steps=2,
        confidence_threshold=0.0,
        checkpoint_dir=tmp_path / "sasg",
    )
    sasg_shared = Path(SASGAugmenter(**tiny_sasg).fit(X, y).checkpoint_path_)
    assert not (shared / _LOCK).exists() and not (sasg_shared / _LOCK).exists()
    (shared / _LOCK).touch()  # held by a running fit (an empty, fresh lock)
    (sasg_shared / _LOCK).touch()
    try:
        with pytest.warns(UserWarning, match="deleted when it ends"):
            aug = SASGAugmenter(**tiny_sasg).fit(X, y)
        assert aug.checkpoint_path_ is None and aug.generator_.checkpoint_path_ is None
        assert sorted(p.name for p in (tmp_path / "sasg").iterdir()) == [sasg_shared.name]
        with (
            pytest.warns(UserWarning, match="deleted when it ends"),
            pytest.raises(RuntimeError, match="out of memory"),
        ):
            _failing_fit(X, y, tmp_path, RuntimeError("out of memory"))
        with (
            pytest.warns(UserWarning, match="deleted when it ends"),
            pytest.raises(KeyboardInterrupt, match="private checkpoint folder, deleted now"),
        ):
            _failing_fit(X, y, tmp_path, KeyboardInterrupt)
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([shared.name, "sasg"])
    finally:
        (shared / _LOCK).unlink()
        (sasg_shared / _LOCK).unlink()


def test_a_failed_private_refit_leaves_the_earlier_model_s_folder_named(
    tmp_path, windows, monkeypatch
):
    # the refit, private because another fit held the folder, failed before it made a
    # generator: clearing "the new generator's" folder wrote None into the earlier one
    X, y = windows
    aug = SASGAugmenter(
        condition="label", **{**TINY, "n_steps": 2}, n_sampling_steps=2, checkpoint_dir=tmp_path
    ).fit(X, y)
    earlier, folder = aug.generator_, aug.generator_.checkpoint_path_
    (Path(aug.checkpoint_path_) / _LOCK).touch()  # held by a running fit
    monkeypatch.setattr(
        SASGAugmenter,
        "_resolved_cond_noise",
        lambda self, prior: 1 / 0,  # fails mid-fit
    )
    try:
        with (
            pytest.warns(UserWarning, match="deleted when it ends"),
            pytest.raises(ZeroDivisionError),
        ):
            aug.fit(X, y)
    finally:
        (Path(aug.checkpoint_path_) / _LOCK).unlink()
    assert aug.generator_ is earlier and earlier.checkpoint_path_ == folder
    assert Path(folder).is_dir()


def _failing_fit(X, y, folder, error):
    """Fit a generator whose denoiser raises ``error`` at its third training call."""
    original, calls = ConditionalDenoiser.forward, {"n": 0}

    def forward(self, *args, **kwargs):
        if self.training:
            calls["n"] += 1
            if calls["n"] > 2:
                raise error
        return original(self, *args, **kwargs)

    ConditionalDenoiser.forward = forward
    try:
        return generator(folder).fit(X, y)
    finally:
        ConditionalDenoiser.forward = original


# ------------------------------------------------------------------------------------------
# damaged slots
# ------------------------------------------------------------------------------------------
def damage(path, how="flip"):
    """Flip a byte in the middle of ``path`` (torch loads it without a word: its zip
    reader checks no CRC), or cut the file in half (torch cannot load it)."""
    data = bytearray(path.read_bytes())
    if how == "flip":
        data[len(data) // 2] ^= 0xFF
    else:
        del data[len(data) // 2 :]
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["flip", "truncate"])
def test_a_damaged_newest_slot_falls_back_to_the_older_one(tmp_path, windows, how):
    X, y = windows
    first = generator(tmp_path, checkpoint_every=1).fit(X, y)  # a checkpoint every epoch
    folder = first.checkpoint_path_
    newest, epochs = latest_checkpoint(folder)
    older = next(p for p in Path(folder).glob("slot_*") if p != newest)
    assert epochs == first.n_epochs_ == 4
    assert json.loads((older / "complete.json").read_text()) == {"epochs": 3}
    damage(newest / "params.pt", how)

    with pytest.warns(UserWarning, match=re.escape(str(newest / "params.pt"))):
        resumed = generator(tmp_path, checkpoint_every=1).fit(X, y)
    assert resumed.checkpoint_path_ == folder
    assert resumed.resumed_steps_ == 3 * 2  # the older slot's 3 epochs of 2 steps
    assert len(resumed.net_.history) == 4  # and the last epoch trained again
    with no_warning():  # the damaged slot was overwritten by the new last checkpoint
        assert latest_checkpoint(folder) == (newest, 4)


def test_no_intact_slot_is_a_clear_error(tmp_path, windows):
    X, y = windows
    folder = Path(generator(tmp_path, checkpoint_every=1).fit(X, y).checkpoint_path_)
    for slot in folder.glob("slot_*"):
        damage(slot / "ema_module.pt")
    with pytest.raises(ValueError, match=r"cannot be read .*Delete the folder"):
        generator(tmp_path, checkpoint_every=1).fit(X, y)
    assert not (folder / _LOCK).exists()  # the stopped fit does not hold the folder


def test_the_only_slot_damaged_is_a_clear_error_as_before(tmp_path, windows):
    X, y = windows
    folder = Path(generator(tmp_path).fit(X, y).checkpoint_path_)  # the last epoch only
    (slot,) = [p for p in folder.glob("slot_*") if (p / "complete.json").exists()]
    damage(slot / "history.json")
    with pytest.raises(ValueError, match=re.escape(f"Delete the folder {folder}")):
        generator(tmp_path).fit(X, y)
    # a slot without checksums (written before they existed) fails when it is loaded
    (slot / "checksums.json").unlink()
    (slot / "params.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"cannot be read .*Delete the folder"):
        generator(tmp_path).fit(X, y)
    assert not (folder / _LOCK).exists()


def test_runtime_settings_of_a_nested_estimator_do_not_move_the_checkpoint_folder():
    # an encoder moved to a GPU or made verbose started a long SASG run from scratch
    import torch

    from semgaug_sk.encoders import SemanticEncoder

    plain = param_digest(SemanticEncoder(max_epochs=3))
    for runtime in (dict(verbose=1), dict(device="auto"), dict(device=torch.device("cpu"))):
        assert param_digest(SemanticEncoder(max_epochs=3, **runtime)) == plain, runtime
    assert param_digest(SemanticEncoder(max_epochs=4)) != plain  # a shaping setting moves it


def test_unreadable_markers_are_damage_not_an_interrupted_save(tmp_path, windows):
    # both slots' markers unreadable: the fit started afresh and overwrote them, silently
    X, y = windows
    folder = Path(generator(tmp_path, checkpoint_every=1).fit(X, y).checkpoint_path_)
    for slot in folder.glob("slot_*"):
        (slot / "complete.json").write_text("{garbage")
    with pytest.raises(ValueError, match=r"marker .*complete\.json cannot be read.*Delete the"):
        generator(tmp_path, checkpoint_every=1).fit(X, y)
    # one readable slot left: the fit resumes from it, as with other damage
    newest = sorted(folder.glob("slot_*"))[0]
    (newest / "complete.json").write_text(json.dumps({"epochs": 3}))
    resumed = generator(tmp_path, checkpoint_every=1).fit(X, y)
    assert resumed.resumed_steps_ > 0


def test_unseeded_fits_get_their_own_folder_and_a_drawn_seed_shares_the_seeded_one(
    windows, tmp_path
):
    # random_state=None: the folder was named by None, so a second unseeded fit reloaded the
    # first one's weights whatever np.random.seed said
    X, c = windows
    state = np.random.get_state()  # noqa: NPY002
    try:
        _check_unseeded_fits(X, c, tmp_path)
    finally:
        np.random.set_state(state)  # noqa: NPY002


def _check_unseeded_fits(X, c, tmp_path):
    fits = []
    for global_seed in (0, 1, 1):
        np.random.seed(global_seed)  # noqa: NPY002 (random_state=None draws from it)
        fits.append(generator(tmp_path, random_state=None).fit(X, c))
    assert fits[0].checkpoint_path_ != fits[1].checkpoint_path_ == fits[2].checkpoint_path_
    draws = [g.sample(c[:4], random_state=1) for g in fits]
    assert not np.array_equal(draws[0], draws[1]) and np.array_equal(draws[1], draws[2])
    np.random.seed(1)  # noqa: NPY002
    fresh = generator(None, random_state=None).fit(X, c)  # no folder: trained from scratch
    np.testing.assert_array_equal(fresh.sample(c[:4], random_state=1), draws[1])

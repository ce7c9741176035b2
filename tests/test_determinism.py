"""The same seed gives the same output in a fresh Python process.

In-process determinism (fit twice, compare) is tested per estimator in their own
files. This file checks what those tests cannot: that nothing depends on state of
the process itself (the hash seed, hence the iteration order of sets and dicts of
string labels; module-level random generators; torch's global generator left in
some state by an earlier test; caches). Every estimator is fitted with a tiny,
seeded configuration in ONE script run in two fresh interpreters with different
``PYTHONHASHSEED`` values; each prints ``{name: sha256 of its outputs}`` as JSON,
and the two dicts must be equal. String labels are used wherever labels are.

Torch's thread count is left at its default in the children: the check is about
the configuration users run, and both children run on the same machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import hashlib
    import json
    import warnings

    import numpy as np

    from semgaug_sk import (
        ClassicAugmenter,
        EMGFeatures,
        FeatureImitator,
        FINClassifier,
        SASGAugmenter,
        SemanticEncoder,
    )
    from semgaug_sk.datasets import make_semg_gestures
    from semgaug_sk.preprocessing import WindowStandardizer
    from semgaug_sk.windows import sliding_windows


    def digest(*arrays):
        h = hashlib.sha256()
        for a in arrays:
            a = np.asarray(a)
            h.update(f"{a.dtype.kind}{a.shape}".encode())
            if a.dtype.kind in "OUS":  # labels: their values and order, as text
                h.update(json.dumps([repr(v) for v in a.ravel().tolist()]).encode())
            else:
                h.update(str(a.dtype).encode())
                h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()


    out = {}
    rec = make_semg_gestures(
        n_classes=3, n_repetitions=2, n_channels=3, fs=200.0, random_state=0
    )
    out["make_semg_gestures"] = digest(rec.emg, rec.label, rec.repetition, rec.subject)
    w = sliding_windows(rec, window_ms=100, step_ms=100)
    X = w.X
    y = np.array(["fist", "open", "pinch"])[w.y - 1]  # string labels
    out["sliding_windows"] = digest(w.X, w.y, w.start, w.repetition)
    out["EMGFeatures"] = digest(EMGFeatures("all", fs=200.0).fit_transform(X))
    out["WindowStandardizer"] = digest(WindowStandardizer().fit_transform(X))

    # validation_fraction=0 and few epochs: the fewest LSTM passes that still train
    imitator = FeatureImitator(
        ("rms", "ent"),
        hidden_size=4,
        num_layers=1,
        max_epochs=2,
        validation_fraction=0,
        random_state=0,
    ).fit(X)
    out["FeatureImitator"] = digest(imitator.transform(X))
    fin = FINClassifier(
        imitator,  # fitted: reused, only the head is trained, then fine-tuned
        head_channels=(4, 4, 4),
        max_epochs=2,
        fine_tune_epochs=1,
        validation_fraction=0,
        random_state=0,
    ).fit(X, y)
    out["FINClassifier"] = digest(fin.predict_proba(X), fin.predict(X))

    enc_params = dict(
        embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=2, validation_fraction=0
    )
    enc = SemanticEncoder(**enc_params, random_state=0).fit(X, y)
    out["SemanticEncoder"] = digest(enc.transform(X), enc.predict_proba(X), enc.predict(X))

    tiny = dict(
        n_steps=3,
        base_channels=4,
        channel_mults=(1,),
        n_cond_tokens=1,
        cond_token_dim=4,
        n_sampling_steps=2,
        max_rounds=1,
        ratio=0.5,
        random_state=0,
    )
    for name, kwargs in [
        # the default confidence filter is kept: which windows pass must be seeded too
        ("SASGAugmenter[semantic,sass]", dict(condition="semantic", sampling="sass")),
        ("SASGAugmenter[semantic,gmss]", dict(condition="semantic", sampling="gmss")),
        ("SASGAugmenter[label]", dict(condition="label")),
    ]:
        aug = SASGAugmenter(SemanticEncoder(**enc_params), **kwargs, **tiny)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # too few windows pass the filter: fine here
            X_res, y_res = aug.fit_resample(X, y)
        out[name] = digest(X_res, y_res)
    out["ClassicAugmenter"] = digest(*ClassicAugmenter(random_state=0).fit_resample(X, y))
    print(json.dumps(out))
    """
)

NAMES = {
    "make_semg_gestures",
    "sliding_windows",
    "EMGFeatures",
    "WindowStandardizer",
    "FeatureImitator",
    "FINClassifier",
    "SemanticEncoder",
    "SASGAugmenter[semantic,sass]",
    "SASGAugmenter[semantic,gmss]",
    "SASGAugmenter[label]",
    "ClassicAugmenter",
}


def _start(hash_seed):
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _digests(proc):
    try:
        stdout, stderr = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the determinism script ran for more than 300 s")
    assert proc.returncode == 0, f"the determinism script failed:\n{stderr[-4000:]}"
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_same_seed_same_output_in_fresh_processes():
    # Both children run at once: most of their time is importing torch and skorch.
    procs = [_start(1), _start(2718)]
    first, second = (_digests(p) for p in procs)
    assert set(first) == NAMES and set(second) == NAMES
    differ = sorted(name for name in NAMES if first[name] != second[name])
    assert not differ, f"outputs differ between two fresh processes for: {differ}"

"""Outputs of every estimator under fixed seeds, on the simulator, with small settings.

``python tests/golden/make_golden.py`` rewrites ``tests/golden/outputs.npz``;
``tests/test_golden.py`` recomputes the same outputs and compares. Regenerate the file
only when a change alters outputs *on purpose*, and say which and why in the commit.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

GOLDEN = Path(__file__).with_name("outputs.npz")
#: The torch release (major.minor) the outputs were computed with: float kernels differ
#: between releases, so the outputs are compared only under the same one.
TORCH_VERSION = Path(__file__).with_name("torch_version.txt")


def torch_release(version: str) -> str:
    """``"2.13"`` for ``"2.13.0+cpu"``."""
    return ".".join(version.split("+")[0].split(".")[:2])


def compute_outputs() -> dict[str, np.ndarray]:
    """Every golden output as ``{name: array}`` (labels as str arrays)."""
    import torch

    from semgaug_sk import (
        ClassicAugmenter,
        EMGFeatures,
        FeatureImitator,
        FINClassifier,
        SASGAugmenter,
        SemanticEncoder,
    )
    from semgaug_sk.augmentation import SASS
    from semgaug_sk.datasets import make_semg_gestures
    from semgaug_sk.windows import sliding_windows

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rec = make_semg_gestures(
            n_classes=3, n_repetitions=2, n_channels=3, fs=200.0, random_state=0
        )
        w = sliding_windows(rec, window_ms=100, step_ms=100)
        X = w.X
        y = np.array(["fist", "open", "pinch"])[w.y - 1]
        out = {"X": X, "y": y}

        out["EMGFeatures.transform"] = EMGFeatures("all", fs=200.0).fit_transform(X)

        imitator = FeatureImitator(
            ("rms", "ent"),
            hidden_size=4,
            num_layers=1,
            max_epochs=2,
            validation_fraction=0,
            random_state=0,
        ).fit(X)
        out["FeatureImitator.transform"] = imitator.transform(X)
        out["FeatureImitator.score"] = np.array(imitator.score(X))

        fin = FINClassifier(
            imitator,
            head_channels=(4, 4, 4),
            max_epochs=2,
            fine_tune_epochs=1,
            validation_fraction=0,
            random_state=0,
        ).fit(X, y)
        out["FINClassifier.predict_proba"] = fin.predict_proba(X)
        out["FINClassifier.score"] = np.array(fin.score(X, y))

        enc_params = dict(
            embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=3, validation_fraction=0.3
        )
        enc = SemanticEncoder(**enc_params, random_state=0).fit(X, y)
        out["SemanticEncoder.transform"] = enc.transform(X)
        out["SemanticEncoder.predict_proba"] = enc.predict_proba(X)
        out["SemanticEncoder.score"] = np.array(enc.score(X, y))

        tiny = dict(
            n_steps=3,
            base_channels=4,
            channel_mults=(1,),
            n_cond_tokens=1,
            cond_token_dim=4,
            n_sampling_steps=2,
            max_rounds=2,
            ratio=0.5,
            random_state=0,
        )
        for name, kwargs in [
            # a filter loose enough that some windows pass it with these tiny models
            (
                "semantic_sass",
                dict(condition="semantic", sampling=SASS(n_steps=2), confidence_threshold=0.34),
            ),
            ("semantic_sass_unfiltered", dict(sampling=SASS(n_steps=2), confidence_threshold=0.0)),
            ("semantic_gmss", dict(condition="semantic", sampling="gmss")),
            ("label", dict(condition="label")),
        ]:
            aug = SASGAugmenter(SemanticEncoder(**enc_params), **kwargs, **tiny)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # too few windows pass the filter: fine here
                X_res, y_res = aug.fit_resample(X, y)
                X_gen, y_gen = aug.generate(2)
            out[f"SASGAugmenter[{name}].fit_resample.X"] = X_res
            out[f"SASGAugmenter[{name}].fit_resample.y"] = y_res
            out[f"SASGAugmenter[{name}].generate.X"] = X_gen
            out[f"SASGAugmenter[{name}].generate.y"] = y_gen

        classic = ClassicAugmenter(random_state=0)
        X_res, y_res = classic.fit_resample(X, y)
        X_gen, y_gen = classic.generate(2)
        out["ClassicAugmenter.fit_resample.X"] = X_res
        out["ClassicAugmenter.fit_resample.y"] = y_res
        out["ClassicAugmenter.generate.X"] = X_gen
        out["ClassicAugmenter.generate.y"] = y_gen
    finally:
        torch.set_num_threads(threads)
    return {k: np.asarray(v) for k, v in out.items()}


if __name__ == "__main__":
    outputs = compute_outputs()
    np.savez_compressed(GOLDEN, **outputs)
    import torch

    TORCH_VERSION.write_text(torch_release(torch.__version__) + "\n")
    print(
        f"wrote {len(outputs)} arrays to {GOLDEN} (torch {TORCH_VERSION.read_text().strip()})",
        file=sys.stderr,
    )

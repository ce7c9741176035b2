"""The documentation: it builds without a warning, and it stays true to the code.

- The Sphinx build (``-W --keep-going``) runs on a copy of ``docs/`` and
  ``examples/`` in a temporary folder, so the checkout is left untouched; it is
  skipped, saying why, when the ``docs`` extra (sphinx, numpydoc) is not installed.
  Docstring sections that numpydoc does not know (and drops) fail it too.
- Every public name (``__all__``) of the documented modules appears in the API
  reference, every figure the pages use exists and is small, every example is on
  the examples page, and every error message quoted on the "errors" page is the
  one the library raises.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: Modules whose every public name must be in the API reference.
DOCUMENTED_MODULES = (
    "semgaug_sk",
    "semgaug_sk.datasets",
    "semgaug_sk.windows",
    "semgaug_sk.features",
    "semgaug_sk.preprocessing",
    "semgaug_sk.imitation",
    "semgaug_sk.encoders",
    "semgaug_sk.base",
    "semgaug_sk.classifiers",
    "semgaug_sk.augmentation",
    "semgaug_sk.augmentation.classic",
    "semgaug_sk.augmentation.functional",
    "semgaug_sk.augmentation.conditions",
    "semgaug_sk.augmentation.diffusion",
    "semgaug_sk.augmentation.sasg",
    "semgaug_sk.augmentation.generator",
    "semgaug_sk.augmentation.generator_settings",
    "semgaug_sk.augmentation.condition_sampling",
    "semgaug_sk.augmentation.filtering",
    "semgaug_sk.augmentation.calibration",
    "semgaug_sk.augmentation.nets",
    "semgaug_sk.augmentation.normalisation",
    "semgaug_sk.augmentation.selection",
    "semgaug_sk.nn.losses",
    "semgaug_sk.augmentation.semantic",
    "semgaug_sk.augmentation.checkpoint",
    "semgaug_sk.augmentation.compose",
    "semgaug_sk.utils.provenance",
    "semgaug_sk.utils.training",
    "semgaug_sk.utils.chunked",
    "semgaug_sk.metrics",
    "semgaug_sk.model_selection",
    "semgaug_sk.plotting",
    "semgaug_sk.persistence",
    "semgaug_sk.nn.encoder",
    "semgaug_sk.nn.unet",
    "semgaug_sk.nn.fin",
    "semgaug_sk.nn.heads",
    "semgaug_sk.nn.downstream",
    "semgaug_sk.nn.emg_layers",
)


def _rst_files():
    return sorted(
        p for p in DOCS.rglob("*.rst") if "_build" not in p.parts and "generated" not in p.parts
    )


@pytest.mark.slow
def test_sphinx_build_has_no_warning(tmp_path):
    pytest.importorskip(
        "sphinx", reason="the docs extra is not installed: pip install -e '.[docs]'"
    )
    pytest.importorskip(
        "numpydoc", reason="the docs extra is not installed: pip install -e '.[docs]'"
    )
    src = tmp_path / "docs"
    shutil.copytree(DOCS, src, ignore=shutil.ignore_patterns("_build", "generated", "__pycache__"))
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    out = tmp_path / "html"
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-q",
        "-b",
        "html",
        str(src),
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stdout}\n{proc.stderr}"
    # numpydoc drops a docstring section it does not know (with a Python warning, which
    # -W does not catch): its text would silently be missing from the reference.
    lost = sorted({line.strip() for line in proc.stderr.splitlines() if "Unknown section" in line})
    assert not lost, "docstring sections dropped from the API reference:\n" + "\n".join(lost)
    for page in ("index", "getting_started", "evaluation", "scaling", "errors", "examples", "api"):
        assert (out / f"{page}.html").is_file(), page
    # the API reference has a page per public object, e.g. the estimators
    generated = {p.stem for p in (out / "generated").glob("*.html")}
    assert "semgaug_sk.features.EMGFeatures" in generated
    assert "semgaug_sk.augmentation.SASGAugmenter" in generated


@pytest.mark.parametrize("module_name", DOCUMENTED_MODULES)
def test_every_public_name_is_in_the_api_reference(module_name):
    module = importlib.import_module(module_name)
    api = (DOCS / "api.rst").read_text(encoding="utf-8")
    entries = set(re.findall(r"^   (\w+)$", api, flags=re.M))  # autosummary entries
    missing = []
    for name in module.__all__:
        if name.startswith("__"):
            continue
        obj = getattr(module, name)
        if isinstance(obj, type(np)):  # a sub-module: documented as a section
            if f".. automodule:: {obj.__name__}" not in api:
                missing.append(name)
        elif name not in entries and f"``{name}``" not in api:
            missing.append(name)
    assert not missing, f"{module_name}: not in docs/api.rst: {missing}"


def test_figures_exist_and_are_small():
    used = set()
    for page in _rst_files():
        for ref in re.findall(r"\.\. (?:figure|image):: (\S+)", page.read_text(encoding="utf-8")):
            path = (page.parent / ref).resolve()
            assert path.is_file(), f"{page.name} uses missing figure {ref}"
            assert path.stat().st_size < 200_000, f"{ref} is larger than 200 kB"
            used.add(path)
    committed = set((DOCS / "_static" / "figures").glob("*.png"))
    assert committed == used, f"unused figures: {sorted(p.name for p in committed - used)}"


def test_make_figures_knows_every_committed_figure():
    spec = importlib.util.spec_from_file_location("make_figures", DOCS / "make_figures.py")
    make_figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_figures)
    committed = {p.stem for p in (DOCS / "_static" / "figures").glob("*.png")}
    assert committed == set(make_figures.FIGURES)


def test_every_example_is_on_the_examples_page():
    page = (DOCS / "examples.rst").read_text(encoding="utf-8")
    for script in sorted((ROOT / "examples").glob("*.py")):
        assert f".. literalinclude:: ../examples/{script.name}" in page, script.name


# -- the errors page quotes real messages -----------------------------------------------------
def _tiny_prior(w):
    from semgaug_sk.augmentation import DiffusionGenerator, PopulationPrior
    from semgaug_sk.encoders import SemanticEncoder

    return PopulationPrior(
        encoder=SemanticEncoder(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=1),
        generator=DiffusionGenerator(n_steps=1, base_channels=4, channel_mults=(1,)),
        random_state=0,
    ).fit(w.X, w.y, groups=np.arange(len(w.y)) % 2)


def _raise_messages():
    """(quoted text on docs/errors.rst, callable that raises an exception containing it)."""
    from semgaug_sk import ClassicAugmenter, EMGFeatures
    from semgaug_sk.augmentation import DiffusionGenerator, PopulationPrior, SASGAugmenter
    from semgaug_sk.datasets import make_semg_gestures
    from semgaug_sk.model_selection import repetition_split
    from semgaug_sk.windows import sliding_windows

    rec = make_semg_gestures(n_classes=2, n_repetitions=2, random_state=0)
    w = sliding_windows(rec)
    flat = np.zeros((1000, 2))
    return [
        (
            "The sampling rate is unknown: pass fs= (Hz) or a recording Bunch that has 'fs'.",
            lambda: sliding_windows(rec.emg),
        ),
        ("sample(s) at fs=", lambda: sliding_windows(rec.emg, fs=100, window_ms=2)),
        (
            "is longer than the longest segment (",
            lambda: sliding_windows(rec, window_ms=5000),
        ),
        (
            "No window is left: every window was rest (pass include_rest=True or rest_label=None), ",
            lambda: sliding_windows(flat, fs=1000, label=np.zeros(1000)),
        ),
        (
            "a stream must be (n_samples, n_channels). For one channel use emg[:, np.newaxis].",
            lambda: sliding_windows(rec.emg[:, 0], fs=1000),
        ),
        (
            "emg contains NaN or infinite values in ",
            lambda: sliding_windows(flat + np.nan, fs=1000),
        ),
        (
            "X must be 3-D (n_windows, n_channels, n_times); got 2-D array of shape ",
            lambda: ClassicAugmenter().fit_resample(w.X[:, 0], w.y),
        ),
        (
            "X and y have mismatched lengths: ",
            lambda: ClassicAugmenter().fit_resample(w.X, w.y[:5]),
        ),
        (
            "mixes in the unconditional prediction, whose null condition only trains with "
            "cond_drop_prob > 0 (got 0.0); use guidance_scale=1.0, or fit with cond_drop_prob > 0 "
            "(e.g. 0.1).",
            lambda: DiffusionGenerator(cond_drop_prob=0.0, guidance_scale=2.0).fit(w.X, w.y),
        ),
        (
            "SASGAugmenter: with a prior, the generator's architecture is the prior's, but this "
            "sampler sets ",
            lambda: SASGAugmenter(prior=_tiny_prior(w), base_channels=64).fit(w.X, w.y),
        ),
        (
            "window(s) have a NaN subject; such windows belong to no subject ",
            lambda: PopulationPrior().fit(w.X, w.y, groups=np.full(len(w.y), np.nan)),
        ),
        (
            "EMGFeatures: X contains ",
            lambda: EMGFeatures().fit_transform(w.X[:2] * np.nan),
        ),
        (
            "channel(s), but EMGFeatures was fitted on ",
            lambda: EMGFeatures().fit(w.X).transform(w.X[:, :3]),
        ),
        (
            "EMGFeatures: feature 'ssc' needs windows of at least 3 samples; ",
            lambda: EMGFeatures("ssc").fit_transform(w.X[:, :, :2]),
        ),
        (
            "EMGFeatures: Unknown feature 'foo'. Valid feature names: ",
            lambda: EMGFeatures("foo").fit_transform(w.X),
        ),
        (
            "train and test repetitions overlap ([",
            lambda: repetition_split(w, [1, 2], [2]),
        ),
        ("train repetitions [", lambda: repetition_split(w, [7])),
        (
            ".generate: classes [",
            lambda: ClassicAugmenter().fit(w.X, w.y).generate({99: 3}),
        ),
        (
            "instance is not fitted yet. Call 'fit' with appropriate arguments before using this estimator.",
            lambda: ClassicAugmenter().generate(3),
        ),
        (
            "All intermediate steps should be transformers and implement fit and transform or be "
            "the string 'passthrough' 'ClassicAugmenter()'",
            lambda: _sklearn_pipeline_with_sampler().fit(w.X, w.y),
        ),
    ]


def _sklearn_pipeline_with_sampler():
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline

    from semgaug_sk import ClassicAugmenter, EMGFeatures

    return make_pipeline(ClassicAugmenter(), EMGFeatures(), LinearDiscriminantAnalysis())


def _loader_messages(tmp_path):
    from scipy.io import savemat

    from semgaug_sk.datasets import load_ninapro

    mat = tmp_path / "S1_A1_E1.mat"  # NinaPro layout without a stated sampling rate, like DB1
    label = np.repeat([0, 1, 0], 50)[:, None]
    savemat(mat, {"emg": np.zeros((150, 2)), "restimulus": label, "rerepetition": label})
    return [
        (
            "does not state its sampling rate (no 'frequency' key) and fs was not given.",
            lambda: load_ninapro(mat),
        ),
        (
            "does not exist. Check the path (it is resolved relative to the current directory ",
            lambda: load_ninapro(tmp_path / "absent"),
        ),
    ]


def test_errors_page_quotes_the_raised_messages(tmp_path):
    page = re.sub(r"\s+", " ", (DOCS / "errors.rst").read_text(encoding="utf-8"))
    for quoted, trigger in _raise_messages() + _loader_messages(tmp_path):
        assert quoted in page, f"docs/errors.rst does not quote {quoted!r}"
        with pytest.raises(Exception) as excinfo:
            trigger()
        assert quoted in str(excinfo.value), (quoted, str(excinfo.value))


def test_errors_page_quotes_the_cuda_message():
    torch_utils = pytest.importorskip("semgaug_sk.utils.torch_utils")
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here, so asking for it does not fail")
    page = re.sub(r"\s+", " ", (DOCS / "errors.rst").read_text(encoding="utf-8"))
    with pytest.raises(RuntimeError) as excinfo:
        torch_utils.resolve_device("cuda")
    assert str(excinfo.value) in page


def test_the_numpy_only_parts_run_without_importing_torch():
    # docs/getting_started.rst: torch waits for a torch-backed estimator (ClassicAugmenter
    # pulled it in through utils.training)
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from semgaug_sk import ClassicAugmenter, EMGFeatures, WindowStandardizer\n"
        "from semgaug_sk.windows import sliding_windows\n"
        "from semgaug_sk.model_selection import repetition_split\n"
        "X = np.random.default_rng(0).normal(size=(20, 2, 30)).astype('float32')\n"
        "y = np.arange(20) % 2\n"
        "X_res, y_res = ClassicAugmenter(random_state=0).fit_resample(X, y)\n"
        "EMGFeatures('hudgins').fit_transform(WindowStandardizer().fit_transform(X_res))\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

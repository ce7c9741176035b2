"""Files a user passes in are opened without running code.

- No ``torch.load`` in the library without ``weights_only=True`` (checked on the
  source), and no ``np.load`` without ``allow_pickle=False``.
- A checkpoint file that would run code when unpickled is refused with the
  library's message, and its code does not run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

from semgaug_sk.augmentation import SASGAugmenter
from semgaug_sk.augmentation.checkpoint import latest_checkpoint
from semgaug_sk.encoders import SemanticEncoder

PACKAGE = Path(__file__).resolve().parents[1] / "semgaug_sk"


def _calls(module, name):
    """``(file, line, keywords)`` of every call to ``<module>.<name>`` in the package."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == name
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == module
            ):
                keywords = {
                    k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)
                }
                found.append((path.name, node.lineno, keywords))
    return found


def test_every_torch_load_is_weights_only():
    torch_loads = _calls("torch", "load")
    assert torch_loads, "expected at least the weights-file reader"
    unsafe = [c for c in torch_loads if c[2].get("weights_only") is not True]
    assert not unsafe, f"torch.load without weights_only=True: {unsafe}"


def test_every_np_load_refuses_pickles():
    np_loads = _calls("np", "load")
    assert np_loads, "expected at least the CLI's .npz reader"
    for file, line, keywords in np_loads:
        assert keywords.get("allow_pickle") is False, f"{file}:{line}"


class _RunsCode:
    """Unpickling this runs code (appends to ``ran``), as a hostile pickle would."""

    ran = []

    def __reduce__(self):
        return (_RunsCode.ran.append, ("code ran",))


def test_hostile_checkpoint_is_refused_without_running_code(tmp_path):
    rec_rng = np.random.default_rng(0)
    X = rec_rng.normal(size=(24, 2, 16)).astype("float32")
    y = np.repeat([0, 1], 12)
    params = dict(
        n_steps=2,
        base_channels=8,
        channel_mults=(1,),
        n_sampling_steps=2,
        confidence_threshold=0.0,
        checkpoint_dir=tmp_path,
        random_state=0,
    )
    encoder = SemanticEncoder(embedding_dim=4, n_filters=8, n_blocks=1, max_epochs=1)
    aug = SASGAugmenter(encoder, **params).fit(X, y)
    slot, _ = latest_checkpoint(aug.generator_.checkpoint_path_)  # the generator's sub-folder
    torch.save({"state": _RunsCode()}, slot / "params.pt")  # a pickle with code in it
    with pytest.raises(ValueError, match="cannot be read"):
        SASGAugmenter(encoder, **params).fit(X, y)
    assert _RunsCode.ran == []

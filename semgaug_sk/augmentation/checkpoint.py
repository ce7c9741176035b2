"""Resumable training checkpoints for the diffusion model of :class:`SASGAugmenter`.

A long SASG fit saves its training state every few hundred steps with skorch's
:class:`~skorch.callbacks.Checkpoint`: the denoiser's weights, the optimiser
state, the EMA weights and the history. Calling ``fit`` again with the same
data, parameters and ``checkpoint_dir`` resumes from the latest checkpoint.

Two details make this safe to interrupt at any moment:

- checkpoints alternate between two slots, and each slot is marked complete
  (``complete.json``, written last) only after all its files are written, so an
  interrupt during a save leaves the other slot intact;
- each fit gets its own sub-folder named by a fingerprint of the training data
  and of the parameters that shape the model, so a grid search or a changed
  parameter never resumes from another fit's weights.

Every file is read back with ``torch.load(..., weights_only=True)`` (skorch's
default), which rebuilds tensors and plain containers and runs no code.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
from skorch.callbacks import Checkpoint

__all__ = [
    "SlotCheckpoint",
    "fit_fingerprint",
    "fit_folder",
    "latest_checkpoint",
    "load_checkpoint",
    "param_digest",
]

_SLOTS = ("slot_a", "slot_b")
_MARKER = "complete.json"
_FILES = dict(
    f_params="params.pt",
    f_optimizer="optimizer.pt",
    f_history="history.json",
    f_ema_module="ema_module.pt",
)


def param_digest(value) -> str:
    """A digest of one parameter value that changes whenever what it makes changes.

    ``repr`` is not enough: scikit-learn cuts an estimator's repr at 700 characters,
    and the repr of a fitted estimator (a prior) shows its settings, not its weights.
    Estimators are followed through their parameters and, once fitted, their fitted
    state (a skorch network through its weights); a module given as a parameter
    through its architecture only (each fit re-draws its weights); arrays and tensors
    through their bytes; a path to a file through its content. The digest is the same
    in every process for the same value, so a run started again resumes.

    Examples
    --------
    >>> param_digest(3) == param_digest(3), param_digest([1, 2]) == param_digest([1, 3])
    (True, False)
    """
    import torch
    from sklearn.base import BaseEstimator

    h = hashlib.sha256()

    def feed(v, weights=False, depth=0):
        if depth > 32:  # a cycle or an absurdly deep object: stop, the rest is settings
            h.update(b"<deep>")
            return
        down = depth + 1
        if hasattr(v, "module_") and hasattr(v, "history") and hasattr(v, "get_params"):
            h.update(f"<net {type(v).__qualname__}>".encode())  # a fitted skorch network
            feed(v.module_, True, down)
        elif isinstance(v, BaseEstimator):
            h.update(f"<{type(v).__module__}.{type(v).__qualname__}>".encode())
            from .generator_settings import fingerprint_params

            for key, member in sorted(fingerprint_params(v.get_params(deep=False)).items()):
                h.update(key.encode())
                feed(member, False, down)
            for key in sorted(k for k in vars(v) if k.endswith("_") and not k.startswith("_")):
                h.update(key.encode())  # fitted state (a prior passed as a parameter)
                feed(vars(v)[key], True, down)
        elif isinstance(v, torch.nn.Module):
            h.update(f"<{type(v).__qualname__}>{v!r}".encode())
            for key, tensor in v.state_dict().items():
                h.update(f"{key}{tuple(tensor.shape)}{tensor.dtype}".encode())
                if weights:  # a parameter's module is re-drawn at each fit: its shape only
                    feed(tensor, True, down)
        elif isinstance(v, torch.Tensor):
            h.update(v.detach().cpu().contiguous().numpy().tobytes())
        elif isinstance(v, type):
            h.update(f"<class {v.__module__}.{v.__qualname__}>".encode())
        elif isinstance(v, np.ndarray):
            h.update(f"{v.dtype.str}{v.shape}".encode())
            h.update(np.ascontiguousarray(v).tobytes() if v.dtype != object else repr(v).encode())
        elif isinstance(v, dict):
            for key in sorted(v, key=repr):
                h.update(repr(key).encode())
                feed(v[key], weights, down)
        elif isinstance(v, (list, tuple)):
            h.update(f"<{type(v).__name__}{len(v)}>".encode())
            for member in v:
                feed(member, weights, down)
        elif isinstance(v, np.random.Generator):
            feed(v.bit_generator.state, weights, down)
        elif isinstance(v, np.random.RandomState):
            feed(v.get_state(), weights, down)
        elif isinstance(v, (str, os.PathLike)) and Path(v).suffix and Path(v).is_file():
            h.update(repr(str(v)).encode())  # a file's path and its content
            with open(v, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    h.update(block)
        elif v is None or isinstance(v, (str, bytes, bool, int, float, complex, np.generic)):
            h.update(repr(v).encode())
        else:  # another object: its class and its attributes (a repr may hold an address)
            h.update(f"<{type(v).__module__}.{type(v).__qualname__}>".encode())
            feed(getattr(v, "__dict__", {}), weights, down)

    feed(value)
    return h.hexdigest()


def fit_fingerprint(X, y, params) -> str:
    """Hex digest identifying one fit: its windows, labels and model-shaping parameters.

    Parameters
    ----------
    X : ndarray
        Training windows (validated, contiguous or not).
    y : ndarray
        Training labels.
    params : dict
        Parameters that change the trained model; their ``repr`` is hashed.

    Returns
    -------
    digest : str

    Examples
    --------
    >>> import numpy as np
    >>> a = fit_fingerprint(np.zeros((2, 1, 3)), np.array([0, 1]), {"n_steps": 10})
    >>> a == fit_fingerprint(np.zeros((2, 1, 3)), np.array([0, 1]), {"n_steps": 20})
    False
    """
    h = hashlib.sha256()
    X = np.ascontiguousarray(X)
    h.update(f"{X.dtype.str}{X.shape}".encode())
    h.update(memoryview(X.reshape(-1)).cast("B"))
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    h.update(repr(classes.tolist()).encode())
    h.update(np.ascontiguousarray(codes.ravel(), dtype=np.int64).tobytes())
    h.update(repr(sorted(params.items())).encode())
    return h.hexdigest()


def fit_folder(root, prefix, X, y, params, who) -> str:
    """Create and return ``root/<prefix>-<fingerprint>``, the checkpoint folder of one fit.

    Parameters
    ----------
    root : str or path-like
        The user's ``checkpoint_dir``.
    prefix : str
        Names the kind of fit, e.g. ``"sasg"``.
    X, y, params
        As in :func:`fit_fingerprint`.
    who : str
        Estimator named in the error.

    Returns
    -------
    folder : str

    Examples
    --------
    >>> import tempfile
    >>> folder = fit_folder(tempfile.mkdtemp(), "demo", np.zeros((2, 1, 3)), np.array([0, 1]),
    ...                     {}, "Demo")
    >>> Path(folder).name.startswith("demo-") and Path(folder).is_dir()
    True
    """
    folder = Path(root) / f"{prefix}-{fit_fingerprint(X, y, params)[:16]}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(
            f"{who}: cannot create the checkpoint folder {folder} ({exc}). Pass a writable "
            "checkpoint_dir, or checkpoint_dir=None."
        ) from exc
    return str(folder)


class SlotCheckpoint(Checkpoint):
    """skorch checkpoint every ``every`` epochs and at the last one, alternating two slots.

    Parameters
    ----------
    dirname : str or Path
        Folder of this fit's checkpoints.
    every : int
        Save after every ``every``-th epoch (counted over the whole history, so
        a resumed fit keeps the rhythm).
    total : int
        Number of epochs of the complete training; the last one is always saved.

    Examples
    --------
    >>> cp = SlotCheckpoint("/tmp/sasg-checkpoints", every=10, total=100)
    >>> cp.every, cp.total
    (10, 100)
    """

    def __init__(self, dirname, every=1, total=1):
        super().__init__(
            monitor=None, dirname=str(dirname), f_criterion=None, event_name=None, **_FILES
        )
        self.root = str(dirname)
        self.every = every
        self.total = total

    def initialize(self):
        self.dirname = self.root
        return super().initialize()

    def on_epoch_end(self, net, **kwargs):
        done = len(net.history)
        if done % self.every == 0 or done >= self.total:
            self.save_model(net)

    def save_model(self, net):
        for callback in (cb for _, cb in getattr(net, "callbacks_", ())):
            if hasattr(callback, "copy_average_to"):
                callback.copy_average_to(net)  # the running EMA, not the last finished one
        latest = latest_checkpoint(self.root)
        slot = _SLOTS[0] if latest is None or Path(latest[0]).name == _SLOTS[1] else _SLOTS[1]
        self.dirname = os.path.join(self.root, slot)
        os.makedirs(self.dirname, exist_ok=True)
        marker = Path(self.dirname) / _MARKER
        marker.unlink(missing_ok=True)
        super().save_model(net)
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(json.dumps({"epochs": len(net.history)}))
        os.replace(tmp, marker)


def latest_checkpoint(folder):
    """The complete checkpoint slot with the most epochs under ``folder``.

    Returns
    -------
    (slot, epochs) or None
        The slot's path and the number of trained epochs it holds; None when
        the folder holds no complete checkpoint.

    Examples
    --------
    >>> latest_checkpoint("/nonexistent/folder") is None
    True
    """
    best = None
    for slot in _SLOTS:
        path = Path(folder) / slot
        try:
            epochs = int(json.loads((path / _MARKER).read_text())["epochs"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if all((path / name).is_file() for name in _FILES.values()) and (
            best is None or epochs > best[1]
        ):
            best = (path, epochs)
    return best


def load_checkpoint(net, slot):
    """Load a slot's weights, optimiser state, EMA weights and history into an initialised net.

    Raises
    ------
    ValueError
        When a file of the slot cannot be read (it was altered or truncated
        outside the library); the message names the folder to delete.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from semgaug_sk.augmentation.nets import DiffusionNet
    >>> from semgaug_sk.nn.unet import ConditionalDenoiser, ConditionalUNet1d, LabelConditioner
    >>> def denoiser():
    ...     return ConditionalDenoiser(ConditionalUNet1d(2, 16, 8, base_channels=8),
    ...                                LabelConditioner(3, n_tokens=2, token_dim=8))
    >>> folder = tempfile.mkdtemp()
    >>> X = {"x0": np.zeros((8, 2, 16), "float32"), "cond": np.arange(8) % 3}
    >>> net = DiffusionNet(denoiser(), max_epochs=2, batch_size=4, train_split=None, verbose=0,
    ...                    callbacks=[SlotCheckpoint(folder, every=1, total=2)]).fit(X, None)
    >>> slot, epochs = latest_checkpoint(folder)
    >>> fresh = DiffusionNet(denoiser(), batch_size=4, train_split=None, verbose=0).initialize()
    >>> load_checkpoint(fresh, slot)
    >>> epochs, len(fresh.history)
    (2, 2)
    """
    slot = Path(slot)
    net.torch_load_kwargs = {"weights_only": True}  # skorch's default, made explicit
    try:
        net.load_params(**{key: str(slot / name) for key, name in _FILES.items()})
    except Exception as exc:
        raise ValueError(
            f"the diffusion checkpoint in {slot} cannot be read ({type(exc).__name__}: "
            f"{exc}). Delete the folder {slot.parent} to start this fit afresh."
        ) from exc

"""Resumable training checkpoints for the diffusion model of :class:`SASGAugmenter`.

A long SASG fit saves its training state every few hundred steps with skorch's
:class:`~skorch.callbacks.Checkpoint`: the denoiser's weights, the optimiser
state, the EMA weights and the history. Calling ``fit`` again with the same
data, parameters and ``checkpoint_dir`` resumes from the latest checkpoint.

Four details make this safe to interrupt at any moment, and to run in parallel:

- checkpoints alternate between two slots, and each slot is marked complete
  (``complete.json``, written last) only after all its files are written, so an
  interrupt during a save leaves the other slot intact;
- each slot records the sha256 of its files (``checksums.json``): a file altered
  afterwards is found before loading, and the fit resumes from the other slot (with a
  warning), or stops with an error naming the folder to delete when no slot is intact;
- each fit gets its own sub-folder named by a fingerprint of the training data
  and of the parameters that shape the model, so a grid search or a changed
  parameter never resumes from another fit's weights;
- a running fit holds its folder's lock (``fit.lock``): a second fit of the same
  data and parameters running at the same time trains in a private sibling folder
  instead of sharing the slots, and a lock left by a crash never stops a resume
  (:func:`fit_folder`).

Every file is read back with ``torch.load(..., weights_only=True)`` (skorch's
default), which rebuilds tensors and plain containers and runs no code.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import json
import numbers
import os
import shutil
import tempfile
import types
import warnings
from pathlib import Path

import numpy as np
from skorch.callbacks import Checkpoint

from ..utils.folder_lock import LOCK_NAME as _LOCK
from ..utils.folder_lock import acquire as _acquire
from ..utils.folder_lock import release as _release
from ..utils.io import replacing
from ..utils.validation import caller_stacklevel

__all__ = [
    "SlotCheckpoint",
    "end_fit_folder",
    "fit_fingerprint",
    "fit_folder",
    "is_private_folder",
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
_CHECKSUMS = "checksums.json"  # sha256 of each file of a slot, written before the marker

#: Values whose ``repr`` is complete (never elided) and holds no memory address.
_COMPLETE_REPR = (
    str,
    bytes,
    numbers.Number,
    np.generic,
    np.dtype,
    range,
    slice,
    type(Ellipsis),
    datetime.date,
    datetime.time,
    datetime.timedelta,
    datetime.tzinfo,
)
_FUNCTIONS = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, np.ufunc)


def param_digest(value) -> str:
    """A digest of one parameter value that changes whenever what it makes changes.

    ``repr`` is not enough: scikit-learn cuts an estimator's repr at 700 characters,
    numpy elides an array of more than 1,000 elements (``...``), and the repr of a
    fitted estimator (a prior) shows its settings, not its weights. Estimators are
    followed through their parameters and, once fitted, their fitted state (a skorch
    network through its weights); a module given as a parameter through its
    architecture only (each fit re-draws its weights); arrays and tensors through
    their dtype, shape and bytes, arrays of Python objects element by element; sets
    whatever their order; a function through its qualified name, its code, its
    defaults and the values it closes over; a path to a file through its content;
    another object through its class and attributes. A ``repr`` is hashed only where
    it is complete (numbers, strings, ...). The digest is the same in every process
    for the same value, so a run started again resumes.

    Parameters
    ----------
    value : object
        A parameter's value.

    Returns
    -------
    digest : str
        64 hexadecimal digits.

    Examples
    --------
    >>> param_digest(3) == param_digest(3), param_digest([1, 2]) == param_digest([1, 3])
    (True, False)
    >>> a = np.array([str(i) for i in range(2000)], dtype=object)
    >>> b = a.copy()
    >>> b[1000] = "changed"
    >>> param_digest(a) == param_digest(b)  # their reprs are equal: the middle is elided
    False
    """
    import torch
    from sklearn.base import BaseEstimator

    h = hashlib.sha256()
    active = set()  # ids of the values being fed: a value inside itself is named, not followed

    def feed(v, weights=False, depth=0):
        if depth > 32:  # an absurdly deep object: stop, the rest is settings
            h.update(b"<deep>")
            return
        if id(v) in active:
            h.update(b"<cycle>")
            return
        active.add(id(v))
        try:
            feed_value(v, weights, depth + 1)
        finally:
            active.discard(id(v))

    def feed_code(code, depth):
        h.update(code.co_code)
        h.update(repr((code.co_names, code.co_varnames, code.co_argcount)).encode())
        for const in code.co_consts:
            if isinstance(const, types.CodeType):  # a nested function or comprehension
                feed_code(const, depth)
            else:
                feed(const, False, depth)

    def feed_value(v, weights, down):
        nonlocal h  # a set's members are hashed apart
        if hasattr(v, "module_") and hasattr(v, "history") and hasattr(v, "get_params"):
            h.update(f"<net {type(v).__qualname__}>".encode())  # a fitted skorch network
            feed(v.module_, True, down)
        elif isinstance(v, BaseEstimator):
            h.update(f"<{type(v).__module__}.{type(v).__qualname__}>".encode())
            from .generator_settings import RUNTIME_PARAMS, fingerprint_params

            # where and how loudly it runs does not shape the model (as at the top level):
            # an encoder moved to a GPU, or made verbose, resumes its run
            shaping = {k: p for k, p in v.get_params(deep=False).items() if k not in RUNTIME_PARAMS}
            for key, member in sorted(fingerprint_params(shaping).items()):
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
            t = v.detach().cpu().contiguous()
            h.update(f"<tensor {t.dtype}{tuple(t.shape)}>".encode())
            # through bytes: numpy has no bfloat16, and a 0-d tensor has no byte view
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(v, type):
            h.update(f"<class {v.__module__}.{v.__qualname__}>".encode())
        elif isinstance(v, np.ndarray):
            h.update(f"{v.dtype.str}{v.shape}".encode())
            if v.dtype.fields is not None:  # a structured dtype: '|V8' hides its fields
                h.update(repr(v.dtype.descr).encode())
            if v.dtype.hasobject:  # pointers as bytes, an elided repr: element by element
                feed(v.ravel().tolist(), weights, down)
            else:
                h.update(np.ascontiguousarray(v).tobytes())
        elif isinstance(v, dict):
            for key in sorted(v, key=repr):
                h.update(repr(key).encode())
                feed(v[key], weights, down)
        elif isinstance(v, (list, tuple)):
            h.update(f"<{type(v).__name__}{len(v)}>".encode())
            for member in v:
                feed(member, weights, down)
        elif isinstance(v, (set, frozenset)):  # an order that changes from process to process
            outer, members = h, []
            try:
                for member in v:  # each member's own digest, then these in sorted order
                    h = hashlib.sha256()
                    feed(member, weights, down)
                    members.append(h.digest())
            finally:
                h = outer
            h.update(f"<{type(v).__name__}{len(v)}>".encode())
            for member in sorted(members):
                h.update(member)
        elif isinstance(v, types.ModuleType):  # a module (a function's closure may hold one)
            h.update(f"<module {v.__name__}>".encode())
        elif isinstance(v, np.random.Generator):
            feed(v.bit_generator.state, weights, down)
        elif isinstance(v, np.random.RandomState):
            feed(v.get_state(), weights, down)
        elif isinstance(v, (str, os.PathLike)) and Path(v).suffix and Path(v).is_file():
            h.update(repr(str(v)).encode())  # a file's path and its content
            with open(v, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    h.update(block)
        elif isinstance(v, os.PathLike):
            h.update(f"<{type(v).__name__}>{os.fspath(v)!r}".encode())
        elif isinstance(v, np.void):  # a structured scalar: through its 0-d array
            feed(np.asarray(v), weights, down)
        elif v is None or isinstance(v, _COMPLETE_REPR):  # bool, int, float are Numbers
            h.update(repr(v).encode())
        elif isinstance(v, functools.partial):
            h.update(b"<partial>")
            feed((v.func, v.args, v.keywords), weights, down)
        elif isinstance(v, _FUNCTIONS):
            name = getattr(v, "__qualname__", getattr(v, "__name__", ""))
            h.update(f"<function {getattr(v, '__module__', None)}.{name}>".encode())
            code = getattr(v, "__code__", None)
            if isinstance(code, types.CodeType):  # a lambda is only '<lambda>' by name
                feed_code(code, down)
                cells = []
                for cell in v.__closure__ or ():
                    with contextlib.suppress(ValueError):  # an empty cell
                        cells.append(cell.cell_contents)
                feed((v.__defaults__, v.__kwdefaults__, cells), weights, down)
            if isinstance(v, types.MethodType):
                feed(v.__self__, weights, down)
        else:  # another object: its class and its attributes (a repr may hold an address)
            h.update(f"<{type(v).__module__}.{type(v).__qualname__}>".encode())
            state = dict(getattr(v, "__dict__", {}))
            for klass in type(v).__mro__:
                slots = getattr(klass, "__slots__", ())
                for slot in (slots,) if isinstance(slots, str) else slots:
                    if slot not in ("__dict__", "__weakref__") and hasattr(v, slot):
                        state[f"<slot {slot}>"] = getattr(v, slot)
            if state:
                feed(state, weights, down)
            elif " at 0x" not in repr(v):  # a C object (a date, a decimal): its full repr
                h.update(repr(v).encode())

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


#: Marks the name of a private checkpoint folder (:func:`fit_folder`).
_PRIVATE = ".concurrent-"


def fit_folder(root, prefix, X, y, params, who) -> str:
    """Create and return ``root/<prefix>-<fingerprint>``, the checkpoint folder of one fit.

    The fit takes the folder's lock, a file ``fit.lock`` created atomically
    (``O_CREAT | O_EXCL``) holding its process id, so that two fits of the same data and
    parameters running at once (a grid search with a repeated candidate, the same script
    started twice) never write and read each other's checkpoints mid-training. The
    second one neither waits nor fails: it warns, naming the shared folder, and trains
    from the start in a new private sibling folder, ``<prefix>-<fingerprint>.concurrent-*``,
    which no later fit could resume from, so :func:`end_fit_folder` deletes it when the fit
    ends. Waiting could last hours and an error would stop a search for a fit that can
    simply run on its own.

    A lock never stops a crashed run from resuming. The estimator that called this
    releases it when its fit ends, however it ends (``DiffusionGenerator.fit`` and
    ``SASGAugmenter.fit`` do so in a ``finally``), and a lock left behind is taken over by
    the next fit when its process has ended (a crash), when its process id now names a
    process started after the lock was written (a reused id), or when an earlier fit of
    the same thread left it. A lock written on another machine (another host name, or
    another container's process ids) cannot be checked and is taken over too: the lock
    guards the fits of one machine, and a job started again on another node must
    resume. The warning names the lock file, to delete by hand for a fit known to be over.

    Parameters
    ----------
    root : str or path-like
        The user's ``checkpoint_dir``.
    prefix : str
        Names the kind of fit, e.g. ``"sasg"``.
    X, y, params
        As in :func:`fit_fingerprint`.
    who : str
        Estimator named in the error and in the warning.

    Returns
    -------
    folder : str
        ``root/<prefix>-<fingerprint>``, or a private sibling folder when another
        running fit holds that one.

    Raises
    ------
    ValueError
        When the folder or its lock file cannot be created.

    Warns
    -----
    UserWarning
        When another running fit holds the folder.

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
        holder = _acquire(folder)
        if holder is None:
            return str(folder)
        private = Path(tempfile.mkdtemp(prefix=f"{folder.name}{_PRIVATE}", dir=folder.parent))
    except OSError as exc:
        raise ValueError(
            f"{who}: cannot create the checkpoint folder {folder} ({exc}). Pass a writable "
            "checkpoint_dir, or checkpoint_dir=None."
        ) from exc
    warnings.warn(
        f"{who}: another fit of the same data and parameters (process "
        f"{holder.get('pid', '?')}) is using the checkpoint folder {folder}. This fit does "
        f"not resume from it and saves its checkpoints to {private} instead, deleted when "
        "it ends (no later fit could resume from there). If no such fit is running, delete "
        f"{folder / _LOCK} and fit again to resume from {folder}.",
        UserWarning,
        stacklevel=caller_stacklevel(),
    )
    return str(private)


def is_private_folder(folder) -> bool:
    """Whether ``folder`` is, or lies in, a private folder of :func:`fit_folder`.

    Parameters
    ----------
    folder : str or path-like
        A checkpoint folder.

    Returns
    -------
    bool
        True when a component of its path holds the private folders' ``.concurrent-``.

    Examples
    --------
    >>> is_private_folder("ckpt/sasg-0a1b.concurrent-x7/gen-2c3d"), is_private_folder("ckpt/sasg-0a1b")
    (True, False)
    """
    return any(_PRIVATE in part for part in Path(folder).parts)


def end_fit_folder(folder):
    """Release the lock of a fit's ``folder`` (from :func:`fit_folder`) when the fit ends.

    A private folder (another fit held the shared one) is deleted with everything in it:
    no later fit could resume from it, and a grid search that repeats a candidate would
    otherwise leave one behind per repeat.

    Parameters
    ----------
    folder : str
        The folder :func:`fit_folder` returned.

    Returns
    -------
    folder : str or None
        ``folder``, or None when it was deleted.

    Examples
    --------
    >>> import tempfile
    >>> folder = fit_folder(tempfile.mkdtemp(), "demo", np.zeros((2, 1, 3)), np.array([0, 1]),
    ...                     {}, "Demo")
    >>> end_fit_folder(folder) == folder, (Path(folder) / "fit.lock").exists()
    (True, False)
    """
    _release(folder)
    if _PRIVATE not in Path(folder).name:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    return None


# ------------------------------------------------------------------------------------------
# Checkpoint slots
# ------------------------------------------------------------------------------------------
class SlotCheckpoint(Checkpoint):
    """skorch checkpoint every ``every`` epochs and at the last one, alternating two slots.

    Each save overwrites the slot that does not hold the newest intact checkpoint, and
    records the sha256 of every file it wrote (``checksums.json``) before marking the
    slot complete, so that a file altered afterwards is found when resuming
    (:func:`latest_checkpoint`).

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
        self._written = None  # the slot this fit saved last

    def initialize(self):
        self.dirname = self.root
        self._written = None
        return super().initialize()

    def on_epoch_end(self, net, **kwargs):
        done = len(net.history)
        if done % self.every == 0 or done >= self.total:
            self.save_model(net)

    def save_model(self, net):
        for callback in (cb for _, cb in getattr(net, "callbacks_", ())):
            if hasattr(callback, "copy_average_to"):
                callback.copy_average_to(net)  # the running EMA, not the last finished one
        if self._written is None:  # the first save of this fit: keep the slot it resumed
            intact, _ = _slots(self.root)
            self._written = intact[0][0].name if intact else _SLOTS[1]
        slot = _SLOTS[1] if self._written == _SLOTS[0] else _SLOTS[0]
        self.dirname = os.path.join(self.root, slot)
        os.makedirs(self.dirname, exist_ok=True)
        marker = Path(self.dirname) / _MARKER
        marker.unlink(missing_ok=True)
        super().save_model(net)
        sums = {name: _sha256(Path(self.dirname) / name) for name in _FILES.values()}
        _write_json(Path(self.dirname) / _CHECKSUMS, sums)
        _write_json(marker, {"epochs": len(net.history)})
        self._written = slot


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_json(path, content):
    """Write ``content`` to ``path`` whole (a reader never sees half of it)."""
    with replacing(path) as tmp:
        tmp.write_text(json.dumps(content))


def _slots(folder):
    """The complete slots of ``folder``: ``(intact, damaged)``, each newest first.

    ``intact`` holds ``(slot, epochs)``; ``damaged`` holds ``(slot, epochs, why)`` for a
    slot whose files differ from the checksums it recorded, or whose checksums cannot be
    read. A slot without a marker is incomplete (a save was interrupted) and in neither;
    one written before checksums existed is intact unless loading it fails.
    """
    intact, damaged = [], []
    for slot in _SLOTS:
        path = Path(folder) / slot
        try:
            epochs = int(json.loads((path / _MARKER).read_text())["epochs"])
        except FileNotFoundError:
            continue  # incomplete: a save was interrupted before its marker
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # the marker is written whole, last: one that cannot be read was damaged since
            damaged.append((path, -1, f"its marker {path / _MARKER} cannot be read ({exc})"))
            continue
        if not all((path / name).is_file() for name in _FILES.values()):
            continue
        why = None
        if (path / _CHECKSUMS).exists():
            try:
                sums = json.loads((path / _CHECKSUMS).read_text())
                changed = [n for n in _FILES.values() if sums[n] != _sha256(path / n)]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                why = f"its file {path / _CHECKSUMS} cannot be read ({exc})"
            else:
                if changed:
                    names = ", ".join(str(path / n) for n in changed)
                    why = f"{names} changed after it was saved"
        if why is None:
            intact.append((path, epochs))
        else:
            damaged.append((path, epochs, why))
    intact.sort(key=lambda slot: -slot[1])
    damaged.sort(key=lambda slot: -slot[1])
    return intact, damaged


def latest_checkpoint(folder):
    """The intact complete checkpoint slot with the most epochs under ``folder``.

    A slot is complete once its marker is written, after all its files, and intact when
    its files still match the checksums recorded when they were saved. When the newest
    complete slot is damaged (altered or truncated outside the library) and the other
    one is intact, the fit resumes from the older one, with a warning naming the damaged
    files; the damaged slot is overwritten by the next checkpoint.

    Parameters
    ----------
    folder : str or path-like
        A fit's checkpoint folder.

    Returns
    -------
    (slot, epochs) or None
        The slot's path and the number of trained epochs it holds; None when
        the folder holds no complete checkpoint.

    Raises
    ------
    ValueError
        When the folder holds complete checkpoints and none is intact; the message
        names the damaged files and the folder to delete (as :func:`load_checkpoint`
        does for a file it cannot read).

    Warns
    -----
    UserWarning
        When the newest checkpoint is damaged and an older one is used.

    Examples
    --------
    >>> latest_checkpoint("/nonexistent/folder") is None
    True
    """
    intact, damaged = _slots(folder)
    if damaged and not intact:
        slot, _, why = damaged[0]
        raise ValueError(
            f"the diffusion checkpoint in {slot} cannot be read ({why}). Delete the folder "
            f"{Path(folder)} to start this fit afresh."
        )
    if not intact:
        return None
    for slot, epochs, why in damaged:
        if epochs >= intact[0][1]:
            warnings.warn(
                f"the newest diffusion checkpoint, in {slot} ({epochs} epochs), is damaged "
                f"({why}); resuming from the older one in {intact[0][0]} ({intact[0][1]} "
                "epochs) instead. The next checkpoint overwrites the damaged one.",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )
    return intact[0]


def load_checkpoint(net, slot):
    """Load a slot's weights, optimiser state, EMA weights and history into an initialised net.

    Parameters
    ----------
    net : DiffusionNet
        An initialised network.
    slot : str or path-like
        A slot returned by :func:`latest_checkpoint`.

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

"""Small torch helpers shared by the skorch-backed estimators."""

from __future__ import annotations

import contextlib
import copyreg
import os
import sys
import threading
import warnings
import weakref

import numpy as np
import torch

__all__ = [
    "resolve_device",
    "torch_seed",
    "to_numpy",
    "fused_adam_kwargs",
    "device_available",
    "cpu_fallback_state",
    "CPUFallbackOwner",
    "pickle_on_any_device",
]

#: Device types on which torch (>= 2.4) has fused Adam/AdamW kernels.
_FUSED_ADAM_DEVICES = frozenset({"cpu", "cuda"})


def resolve_device(device) -> str:
    """Return a torch device string, failing clearly when CUDA is asked for but absent.

    Parameters
    ----------
    device : str or torch.device
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` or ``"auto"`` (CUDA when
        available, else CPU).

    Returns
    -------
    device : str

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    """
    device = str(device)
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(
            f"device={device!r} was requested but CUDA is not available on this machine. "
            "Use device='cpu' (or device='auto' to pick CUDA only when present)."
        )
    try:
        kind = torch.device(device).type
    except RuntimeError as exc:
        raise ValueError(
            f"device={device!r} is not a valid torch device; use 'cpu', 'cuda', 'cuda:N' or 'auto'."
        ) from exc
    if kind == "mps" and not device_available(device):
        raise RuntimeError(
            f"device={device!r} was requested but this torch build or machine has no MPS "
            "(Apple GPU) support. Use device='cpu' (or device='auto')."
        )
    if kind == "meta":  # shapes without data: a network trained there learns nothing
        raise ValueError(
            f"device={device!r} holds no data, so nothing can be trained or generated on it; "
            "use 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto'."
        )
    if not device_available(device):  # xpu, hpu, ...: only where torch has them
        raise RuntimeError(
            f"device={device!r} was requested but this torch build or machine has no "
            f"{kind!r} device. Use device='cpu' (or device='auto')."
        )
    return device


#: Held by every seeded block: torch's global generator is one per process.
_GLOBAL_GENERATOR = threading.RLock()


def _new_generator_lock():
    # a child forked while another thread held the lock would wait for it forever
    global _GLOBAL_GENERATOR
    _GLOBAL_GENERATOR = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_generator_lock)


@contextlib.contextmanager
def torch_seed(seed: int):
    """Seed torch's global CPU and CUDA generators inside a block, restoring them after.

    skorch draws initial weights and DataLoader shuffles from torch's global
    generator, so seeding it around ``initialize``/``fit`` makes training
    reproducible on CPU without leaking the seed into the caller's program.
    torch has one such generator per process, so seeded blocks in threads of one
    process (joblib's ``threading`` back-end, a dask cluster with
    ``processes=False``) run one at a time: their results are those of processes,
    and the caller's generator is restored, but they gain nothing from the threads.
    Run parallel fits in processes (joblib's default ``loky``) to gain speed.

    CUDA generators already in use when the block starts get their states back.
    Where CUDA has not started yet (reading the states would start it on every GPU),
    the block seeds CUDA lazily, for a fit that starts it inside; after the block,
    CUDA's generators are seeded again with the seed of the caller's CPU generator
    (:func:`torch.initial_seed`: that of the caller's :func:`torch.manual_seed`, or
    torch's default), at once if CUDA started inside the block, else when it starts.
    They are then as CUDA would have started without the block. (A seed given to
    CUDA alone, by ``torch.cuda.manual_seed_all`` before CUDA started, is not kept:
    the seed of the block replaced it.) On Apple silicon the MPS generator is seeded
    too and gets its state back; other devices' generators (XPU, ...) are not touched.

    Parameters
    ----------
    seed : int
        The seed of the CPU, CUDA and MPS generators inside the block.

    Examples
    --------
    >>> with torch_seed(0):
    ...     a = torch.rand(1)
    >>> with torch_seed(0):
    ...     b = torch.rand(1)
    >>> bool(a == b)
    True
    """
    with _GLOBAL_GENERATOR:
        cpu_state = torch.random.get_rng_state()
        caller_seed = torch.random.initial_seed()
        # only when CUDA is already in use: reading the states would otherwise open a
        # context on every GPU (and fail in a worker forked from a CUDA parent)
        cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
        # the generators of the devices the library runs on, each given back below (not
        # torch.manual_seed, which also seeds MPS, XPU, ... and leaves them seeded)
        mps_state = torch.mps.get_rng_state() if _mps_available() else None
        torch.random.default_generator.manual_seed(int(seed))
        if not torch.cuda._is_in_bad_fork():
            torch.cuda.manual_seed_all(int(seed))  # now if started, else when it starts
        if mps_state is not None:
            torch.mps.manual_seed(int(seed))
        try:
            yield
        finally:
            torch.random.set_rng_state(cpu_state)
            if mps_state is not None:
                torch.mps.set_rng_state(mps_state)
            if cuda_states is not None:
                torch.cuda.set_rng_state_all(cuda_states)
            elif not torch.cuda._is_in_bad_fork():
                # CUDA had not started: whether it started inside the block (its
                # generators seeded with `seed` and drawn from) or not (`seed` queued for
                # when it starts), give it back the caller's seed, as torch.manual_seed
                # does: at once if started, else when it starts
                torch.cuda.manual_seed_all(caller_seed)


def _mps_available():
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def to_numpy(tensor) -> np.ndarray:
    """Detach a tensor to a CPU numpy array (numpy input passes through)."""
    if isinstance(tensor, torch.Tensor):
        return tensor.detach().cpu().numpy()
    return np.asarray(tensor)


def fused_adam_kwargs(device) -> dict:
    """skorch arguments selecting torch's fused Adam/AdamW where the device has it.

    The fused implementation updates every parameter in one kernel instead of
    several small operations per tensor, which matters where that bookkeeping
    is a large share of a training step: small networks on short windows, as
    here (``benchmarks/bench_optimizer.py`` measures it; figures in
    ``results/bench_optimizer.md``). It is deterministic on CPU;
    its results agree with the per-tensor loop to rounding error, not bit for
    bit.

    Parameters
    ----------
    device : str, torch.device or None
        The training device; ``None`` (device placement left to Accelerate)
        and device types without fused kernels give ``{}``.

    Returns
    -------
    kwargs : dict
        ``{"optimizer__fused": True}`` or ``{}``.

    Examples
    --------
    >>> fused_adam_kwargs("cpu")
    {'optimizer__fused': True}
    >>> fused_adam_kwargs(None)
    {}
    """
    if device is None or torch.device(device).type not in _FUSED_ADAM_DEVICES:
        return {}
    return {"optimizer__fused": True}


# ------------------------------------------------------------------------------------------
# unpickling a model saved on a device (CUDA, MPS) that is absent here
# ------------------------------------------------------------------------------------------
#: Per thread, the owners being unpickled:
#: ``[(weakref to the owner, [(name, device), ...], id of the frame running the load)]``.
_unpickling = threading.local()


def _open_owners():
    """The owners being unpickled in this thread, innermost last.

    An owner whose load failed is dropped: once it is garbage, or once the frame that
    ran its load has left the stack (a failed load's traceback may keep the half-built
    owner alive, and a later load's warnings must not be given to it).
    """
    frames = getattr(_unpickling, "frames", None)
    if frames is None:
        frames = _unpickling.frames = []
    if frames:
        running, frame = set(), sys._getframe(1)
        while frame is not None:
            running.add(id(frame))
            frame = frame.f_back
        frames[:] = [f for f in frames if f[0]() is not None and f[2] in running]
    return frames


def _new_owner(cls):
    """``cls.__new__(cls)`` for unpickling, collecting the CPU fallbacks of its parts."""
    obj = cls.__new__(cls)
    # the frame that runs the whole load: the C unpickler's caller, copy's _reconstruct,
    # or the load loop of the pure-Python unpickler (joblib's) that called this
    loader = sys._getframe(1)
    if loader.f_globals.get("__name__") == "pickle" and loader.f_back is not None:
        loader = loader.f_back
    _open_owners().append((weakref.ref(obj), [], id(loader)))
    return obj


def pickle_on_any_device(net, *attributes):
    """Have skorch pickle ``attributes`` of ``net`` the way it pickles ``module_``.

    skorch keeps a module *instance* passed as ``module`` (the very object that becomes
    ``module_``) as a plain attribute, and so are extra modules such as an EMA copy; a
    plain pickle of their CUDA tensors cannot be read where CUDA is absent. skorch maps
    the attributes that ``cuda_dependent_attributes_`` names (by prefix) to the device
    available when it unpickles, and pickles them together, so that an instance shared
    with ``module_`` is stored once.

    Parameters
    ----------
    net : skorch.NeuralNet
    *attributes : str
        Attribute names (prefixes), e.g. ``"module"``.

    Returns
    -------
    net : skorch.NeuralNet
        The same net.

    Examples
    --------
    >>> from skorch import NeuralNetRegressor
    >>> net = pickle_on_any_device(NeuralNetRegressor(torch.nn.Linear(2, 1)), "module")
    >>> "module" in net.cuda_dependent_attributes_
    True
    """
    listed = list(net.cuda_dependent_attributes_)
    net.cuda_dependent_attributes_ = listed + [a for a in attributes if a not in listed]
    return net


def device_available(device) -> bool:
    """Whether the type of the concrete torch ``device`` exists on this machine.

    ``"cpu"`` always does; CUDA, MPS and other accelerator types only where torch
    reports them available. The index is not checked: ``"cuda:7"`` on a one-GPU
    machine counts as available. ``None``, ``"auto"`` and other values that name no
    concrete device give ``True``: there is nothing to fall back from.

    Parameters
    ----------
    device : str, torch.device or None

    Returns
    -------
    available : bool

    Examples
    --------
    >>> device_available("cpu"), device_available("auto")
    (True, True)
    """
    if not isinstance(device, (str, torch.device)):
        return True
    try:
        kind = torch.device(device).type
    except RuntimeError:  # "auto" and the like: resolved when fitting
        return True
    if kind in ("cpu", "meta"):
        return True
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        return _mps_available()
    is_available = getattr(getattr(torch, kind, None), "is_available", None)
    return bool(callable(is_available) and is_available())


def _device_label(device) -> str:
    """``"CUDA"``, ``"MPS"``, ...: the device type as the warnings name it."""
    return torch.device(device).type.upper()


def cpu_fallback_state(state, owner_name, *, owner=None):
    """``state`` with ``device`` set to ``"cpu"`` when it names a device absent here.

    Call it from ``__setstate__``: a model trained on a GPU (CUDA, or MPS on Apple
    silicon) then unpickles on a CPU-only machine, with a ``UserWarning``. Inside
    the unpickling of a :class:`CPUFallbackOwner` the warning is left to the owner,
    which gives one warning for itself and all its parts.

    Parameters
    ----------
    state : dict
        The pickled ``__dict__`` (not changed: ``copy.copy`` passes the original's).
    owner_name : str
        The estimator named in the warning.
    owner : CPUFallbackOwner, optional
        The object being restored, when it is an owner.

    Returns
    -------
    state : dict
        A copy of ``state``, its ``device`` set to ``"cpu"`` where it fell back.

    Examples
    --------
    >>> cpu_fallback_state({"device": "cpu"}, "DiffusionGenerator")
    {'device': 'cpu'}
    """
    state = dict(state)
    device = state.get("device")
    fell_back = not device_available(device)
    if fell_back:
        state["device"] = "cpu"
    frames = _open_owners()
    parts = []
    if owner is not None and frames and frames[-1][0]() is owner:
        parts = frames.pop()[1]
    found = ([(owner_name, str(device))] if fell_back else []) + parts
    if not found:
        return state
    if frames:  # a part of an owner still being unpickled: the owner warns
        frames[-1][1].extend(found)
        return state
    names = [name for name, _ in found]
    verb = "was"
    if fell_back:
        who = owner_name
        others = sorted(set(names[1:]) - {owner_name})
        if others:
            who += f" (and its {', '.join(others)})"
    else:
        who = f"The {' and '.join(sorted(set(names)))} in {owner_name}"
        verb = "were" if len(set(names)) > 1 else "was"
    warnings.warn(
        f"{who} {verb} saved with device={found[0][1]!r}, but {_device_label(found[0][1])} is not "
        "available here; the weights are loaded on the CPU and device is set to 'cpu'.",
        UserWarning,
        stacklevel=3,
    )
    return state


class CPUFallbackOwner:
    """Mixin: unpickling gives one CPU-fallback warning for the object and its parts.

    Put it before the estimator base; its ``__setstate__`` must call
    :func:`cpu_fallback_state` with ``owner=self``. Parts that call
    :func:`cpu_fallback_state` while the owner is being unpickled (a nested
    generator or encoder) leave their warning to it.
    """

    def __reduce_ex__(self, protocol):
        reduced = super().__reduce_ex__(protocol)
        if isinstance(reduced, tuple) and reduced[0] is copyreg.__newobj__ and len(reduced[1]) == 1:
            return (_new_owner, reduced[1][:1], *reduced[2:])
        return reduced

"""skorch nets whose pickles travel: they load where their device is absent, and repeat.

skorch maps a pickled net to the CPU when it was saved on CUDA and CUDA is absent,
but a net saved with ``device="mps"`` (Apple silicon) or another accelerator
fails to load anywhere else. The library's nets add the same fallback for every
device type.

torch pickles a tensor's storage under its memory address, so the same fitted net
pickles to other bytes in another process, and a Pipeline's ``memory`` cache
(joblib hashes the pickle of a step's parameters) misses for a fitted network
given as a parameter. The library's nets pickle their storages by content instead
(:func:`stable_torch_dumps`).
"""

from __future__ import annotations

import io
import pickle
import warnings

import torch
from skorch import NeuralNetClassifier, NeuralNetRegressor
from skorch.exceptions import DeviceWarning

from semgaug_sk.utils.torch_utils import device_available

__all__ = [
    "CPUFallbackNetMixin",
    "PortableNetClassifier",
    "PortableNetRegressor",
    "stable_torch_dumps",
]


class _StableTorchPickler(pickle.Pickler):
    """Pickler that writes a tensor storage by its content, not by its address."""

    def reducer_override(self, obj):
        if isinstance(obj, torch.TypedStorage):
            # torch's own reduction writes the legacy format, whose records are
            # keyed by the storage's address; the zip format numbers them. The
            # loader is torch's own, which skorch's unpickler maps to a device.
            buffer = io.BytesIO()
            torch.save(obj, buffer)
            return torch.storage._load_from_bytes, (buffer.getvalue(),)
        return NotImplemented


def stable_torch_dumps(obj):
    """Pickle ``obj`` so that equal tensors give equal bytes in every process.

    torch pickles each tensor storage with :func:`torch.save`'s legacy format,
    which keys the storage by its memory address: the same object pickles to
    other bytes in another process. Here every storage is written in the zip
    format, which numbers its records, and read back by the same loader
    (``torch.storage._load_from_bytes``), so :func:`pickle.loads` and skorch's
    unpickler (with its ``map_location``) read the result unchanged.

    Parameters
    ----------
    obj : object
        Anything picklable, typically a dict of torch modules and optimizers.

    Returns
    -------
    bytes
        The pickle.

    Examples
    --------
    >>> import pickle, torch
    >>> weights = torch.arange(3.0)
    >>> stable_torch_dumps(weights) == stable_torch_dumps(weights.clone())
    True
    >>> pickle.loads(stable_torch_dumps(weights))
    tensor([0., 1., 2.])
    """
    buffer = io.BytesIO()
    _StableTorchPickler(buffer, protocol=pickle.DEFAULT_PROTOCOL).dump(obj)
    return buffer.getvalue()


class CPUFallbackNetMixin:
    """Mixin for a skorch net: unpickle on the CPU when its saved device is absent here.

    Put it before the skorch base. skorch's own fallback covers CUDA; this one
    covers the other device types (MPS, XPU, ...) the same way: the weights are
    mapped to the CPU, ``device`` becomes ``"cpu"`` and a
    :class:`skorch.exceptions.DeviceWarning` says so.

    The net also pickles its modules, criteria and optimizers by content
    (:func:`stable_torch_dumps`), so the same net gives the same pickle, and the
    same :func:`joblib.hash`, in every process; skorch's pickle keys their
    tensors by memory address. The format is skorch's, and skorch reads it.

    Examples
    --------
    >>> import pickle, torch
    >>> net = PortableNetRegressor(torch.nn.Linear(2, 1), device="cpu").initialize()
    >>> pickle.loads(pickle.dumps(net)).device
    'cpu'
    """

    def __getstate__(self):
        # skorch's NeuralNet.__getstate__, with the device-dependent attributes (modules,
        # criteria, optimizers) pickled by content; skorch's __setstate__ reads them
        state = self.__dict__.copy()
        prefixes = tuple(self.cuda_dependent_attributes_)
        moved = {
            key: state.pop(key)
            for key in list(state)
            if isinstance(key, str) and key.startswith(prefixes)
        }
        state["__cuda_dependent_attributes__"] = stable_torch_dumps(moved)
        return state

    def __setstate__(self, state):
        device = state.get("device")
        # an unavailable device parses (device_available said so); CUDA is skorch's
        if not device_available(device) and torch.device(device).type != "cuda":
            warnings.warn(
                f"Setting self.device = cpu since the requested device ({device}) is not "
                "available.",
                DeviceWarning,
                stacklevel=2,
            )
            state = {**state, "device": "cpu"}
        super().__setstate__(state)


class PortableNetClassifier(CPUFallbackNetMixin, NeuralNetClassifier):
    """:class:`skorch.NeuralNetClassifier` that unpickles where its device is absent."""


class PortableNetRegressor(CPUFallbackNetMixin, NeuralNetRegressor):
    """:class:`skorch.NeuralNetRegressor` that unpickles where its device is absent."""

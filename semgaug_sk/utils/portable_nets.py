"""skorch nets that unpickle on the CPU when the device they were saved on is absent.

skorch maps a pickled net to the CPU when it was saved on CUDA and CUDA is absent,
but a net saved with ``device="mps"`` (Apple silicon) or another accelerator
fails to load anywhere else. The library's nets add the same fallback for every
device type.
"""

from __future__ import annotations

import warnings

import torch
from skorch import NeuralNetClassifier, NeuralNetRegressor
from skorch.exceptions import DeviceWarning

from semgaug_sk.utils.torch_utils import device_available

__all__ = ["CPUFallbackNetMixin", "PortableNetClassifier", "PortableNetRegressor"]


class CPUFallbackNetMixin:
    """Mixin for a skorch net: unpickle on the CPU when its saved device is absent here.

    Put it before the skorch base. skorch's own fallback covers CUDA; this one
    covers the other device types (MPS, XPU, ...) the same way: the weights are
    mapped to the CPU, ``device`` becomes ``"cpu"`` and a
    :class:`skorch.exceptions.DeviceWarning` says so.

    Examples
    --------
    >>> import pickle, torch
    >>> net = PortableNetRegressor(torch.nn.Linear(2, 1), device="cpu").initialize()
    >>> pickle.loads(pickle.dumps(net)).device
    'cpu'
    """

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

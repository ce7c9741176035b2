"""Hugging Face Accelerate plumbing shared by the skorch-backed estimators.

skorch's :class:`~skorch.hf.AccelerateMixin` does the work; these helpers adapt it to
nets that hold frozen modules (an EMA copy, a loss without weights), to early stopping
under distributed data parallelism, and to gradient clipping of mixed-precision runs.
"""

from __future__ import annotations

import warnings
import weakref

import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback, EarlyStopping
from skorch.dataset import unpack_data
from skorch.hf import AccelerateMixin
from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present

from .portable_nets import CPUFallbackNetMixin
from .progress import ContextSinkMixin
from .validation import caller_stacklevel

__all__ = [
    "AcceleratedGradientClipping",
    "AcceleratedNetClassifier",
    "AcceleratedNetMixin",
    "UnwrappedEarlyStopping",
    "accelerate_net_kwargs",
    "accelerator_device",
    "check_accelerator_instance",
    "trained_module",
]


def accelerate_net_kwargs(accelerator, verbose) -> dict:
    """skorch keyword arguments of a net trained through ``accelerator``.

    Device placement is left to Accelerate (``device=None``, as skorch's
    :class:`~skorch.hf.AccelerateMixin` requires). The epoch log is printed
    once, by the main process (``accelerator.print``), and only when
    ``verbose`` asks for it.
    """
    return {
        "accelerator": accelerator,
        "device": None,
        "callbacks__print_log__sink": "auto" if verbose else print,
    }


def accelerator_device(accelerator) -> str:
    """The device (as a string) of this process under ``accelerator``.

    Accelerate names the CPU of a multi-process CPU run ``cpu:0``, which skorch
    cannot map when unpickling; it is returned as ``"cpu"``.
    """
    device = torch.device(accelerator.device)
    return "cpu" if device.type == "cpu" else str(device)


class AcceleratedNetMixin(AccelerateMixin):
    """skorch's :class:`~skorch.hf.AccelerateMixin`, preparing only what has trainable weights.

    Modules and criteria without trainable parameters (a cross-entropy loss, an
    EMA copy of the weights) are moved to the process's device instead of
    being prepared: under distributed data parallelism there is nothing to
    synchronise in them, and PyTorch refuses to wrap them. The training step
    computes the loss under ``accelerator.autocast()`` and back-propagates
    after leaving it.
    """

    def _initialize_accelerator(self):
        if self._wrapped_with_accelerator:
            return self

        def trainable(name):
            obj = getattr(self, name + "_", None)
            return not isinstance(obj, torch.nn.Module) or any(
                p.requires_grad for p in obj.parameters()
            )

        modules, criteria = self._modules, self._criteria
        frozen = [name for name in modules + criteria if not trainable(name)]
        self._modules = [name for name in modules if name not in frozen]
        self._criteria = [name for name in criteria if name not in frozen]
        try:
            super()._initialize_accelerator()
        finally:
            self._modules, self._criteria = modules, criteria
        for name in frozen:
            getattr(self, name + "_").to(self.accelerator.device)
        return self

    def train_step_single(self, batch, **fit_params):
        """skorch's accelerated training step, back-propagating after ``accelerator.autocast()``.

        The loss is computed under autocast and ``accelerator.backward`` runs after
        the block, as PyTorch's automatic mixed precision asks (the backward ops take
        the dtypes their forward ops chose).
        """
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        with self.accelerator.autocast():
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        self.accelerator.backward(loss)
        return {"loss": loss, "y_pred": y_pred}


class AcceleratedNetClassifier(AcceleratedNetMixin, CPUFallbackNetMixin, NeuralNetClassifier):
    """``NeuralNetClassifier`` trained through Hugging Face Accelerate (used by ``accelerator=``).

    Early stopping must take the same decision in every process (a process
    that stops alone leaves the others waiting forever), so each validation
    batch's loss is averaged over the processes. Accelerate gives every
    process a shard of the validation windows (padded to equal batches), so
    the logged ``valid_acc`` is the process's own.
    """

    def validation_step(self, batch, **fit_params):
        step = super().validation_step(batch, **fit_params)
        step["loss"] = self.accelerator.reduce(step["loss"].detach(), reduction="mean")
        return step


class UnwrappedEarlyStopping(ContextSinkMixin, EarlyStopping):
    """``EarlyStopping`` whose best weights also fit the module unwrapped after training.

    Under distributed data parallelism the module is wrapped while training,
    so the weights skorch captures carry the wrapper's ``module.`` prefix; the
    AccelerateMixin unwraps the module before this callback restores them.
    The prefix is removed only where it is the wrapper's: when the captured
    keys are not those of ``net.module_`` as it is now, and removing one
    ``module.`` makes them so. The weights of a module that was never wrapped
    (or is still wrapped, with ``unwrap_after_train=False``) are restored as
    captured, so a network whose own child is named ``module`` keeps its keys.
    """

    _WRAPPER_PREFIX = "module."

    def on_train_end(self, net, **kwargs):
        weights = getattr(self, "best_model_weights_", None)
        if weights is not None and _captured_from_wrapper(
            weights, net.module_.state_dict().keys(), self._WRAPPER_PREFIX
        ):
            consume_prefix_in_state_dict_if_present(weights, self._WRAPPER_PREFIX)
        return super().on_train_end(net, **kwargs)


def _captured_from_wrapper(weights, module_keys, prefix):
    """Whether ``weights`` are the state of a wrapper around a module with ``module_keys``.

    True when the keys differ from ``module_keys``, every key starts with ``prefix``
    (a wrapper prefixes all of them), and removing it once from each gives exactly
    ``module_keys``.
    """
    keys, module_keys = set(weights.keys()), set(module_keys)
    if not keys or keys == module_keys or not all(k.startswith(prefix) for k in keys):
        return False
    return {k[len(prefix) :] for k in keys} == module_keys


def trained_module(net):
    """``net.module_`` without the wrappers an accelerator adds while training."""
    accelerator = getattr(net, "accelerator", None)
    if accelerator is None:
        return net.module_
    return accelerator.unwrap_model(net.module_)


class AcceleratedGradientClipping(Callback):
    """Gradient-norm clipping through ``accelerator.clip_grad_norm_`` (unscales fp16 gradients).

    Under gradient accumulation the gradients are clipped once, when they are
    complete (``accelerator.sync_gradients``): clipping each micro-batch's
    partial sum would change the update's direction, and fp16's gradient scaler
    refuses to unscale twice before a step.
    """

    def __init__(self, gradient_clip_value=1.0):
        self.gradient_clip_value = gradient_clip_value

    def on_grad_computed(self, net, named_parameters, **kwargs):
        if net.accelerator.sync_gradients:
            net.accelerator.clip_grad_norm_(
                [p for _, p in named_parameters], self.gradient_clip_value
            )


#: Accelerators already warned about fp16 on a CPU: SASG, its encoder and its generator
#: each check the same accelerator in one fit, and the user needs to read it once.
_FP16_NOTICED = weakref.WeakSet()


def _first_fp16_notice(accelerator):
    """True the first time ``accelerator`` is seen here (always, if it takes no weak reference)."""
    try:
        if accelerator in _FP16_NOTICED:
            return False
        _FP16_NOTICED.add(accelerator)
    except TypeError:
        pass
    return True


def check_accelerator_instance(accelerator, who, random_state=0):
    """Refuse the ``Accelerator`` class where an instance is meant (it has the methods too),
    and an unseeded fit across several processes; warn when fp16 was asked for and
    Accelerate left it off (it does on a CPU).

    Every process of a multi-process run must draw the same initial weights and hold
    out the same validation windows: with ``random_state=None`` each would draw its
    own seed, and gradient averaging would train on windows another process validates
    on.

    Examples
    --------
    >>> check_accelerator_instance(None, "DiffusionGenerator")
    """
    if isinstance(accelerator, type):
        raise TypeError(
            f"{who}: accelerator is the class {accelerator.__name__}, not an instance; pass "
            f"accelerator={accelerator.__name__}() (created once, in the training script)."
        )
    state = getattr(accelerator, "state", None)
    if accelerator is not None and getattr(state, "initialized", True) is False:
        # an Accelerator pickled into another process (a search's worker, a loaded pickle):
        # accelerate's process state is not set up there, and it fails deep inside prepare
        raise ValueError(
            f"{who}: the accelerator was created in another process and reached this one by "
            "pickling (GridSearchCV or cross_validate with n_jobs > 1, a dask worker, or a "
            "loaded pickle), where accelerate is not initialised. An Accelerator works in "
            "the process that created it (the one `accelerate launch` starts): create one "
            "in this process first (Accelerator()), search with n_jobs=1, or drop accelerator=."
        )
    device = getattr(accelerator, "device", None)
    if (
        accelerator is not None
        and getattr(accelerator, "mixed_precision", "no") == "fp16"
        and getattr(accelerator, "native_amp", True) is False
        and getattr(device, "type", None) == "cpu"
        and _first_fp16_notice(accelerator)
    ):
        # DeepSpeed and Megatron-LM also leave native_amp off, but on a GPU, where they
        # handle fp16 themselves
        warnings.warn(
            "the accelerator asks for mixed_precision='fp16', which Accelerate leaves off on "
            "a CPU: the fit runs in float32. Use mixed_precision='bf16' for reduced precision "
            "on a CPU, or 'no' to silence this.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
    n_processes = getattr(accelerator, "num_processes", 1) if accelerator is not None else 1
    if random_state is None and isinstance(n_processes, int) and n_processes > 1:
        raise ValueError(
            f"{who}: random_state=None under an accelerator with {n_processes} processes lets "
            "each process draw its own seed, so each would hold out other validation windows "
            "and start from other weights. Pass the same integer random_state in every process."
        )

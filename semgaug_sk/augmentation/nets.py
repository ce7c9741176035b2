"""The skorch pieces of the diffusion generator.

:class:`DiffusionNet` (and ``_AcceleratedDiffusionNet``, its Accelerate twin)
trains an x0-predicting conditional denoiser; :class:`EMACallback` keeps EMA
weights; :func:`make_diffusion_net` builds a generator's net,
:func:`fit_diffusion_net` trains it with checkpoints and resumption, and
:func:`diffusion_net_weights` / :func:`load_diffusion_net` store and rebuild it.
"""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, GradientNormClipping
from skorch.dataset import unpack_data
from skorch.history import History
from skorch.utils import to_tensor
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ..utils.accelerate import (
    AcceleratedGradientClipping,
    AcceleratedNetMixin,
    accelerate_net_kwargs,
    accelerator_device,
    trained_module,
)
from ..utils.portable_nets import CPUFallbackNetMixin
from ..utils.progress import progress
from ..utils.torch_utils import (
    fused_adam_kwargs,
    pickle_on_any_device,
    resolve_device,
    torch_seed,
)
from ..utils.training import interrupted_by_user
from ..utils.validation import caller_stacklevel
from .checkpoint import SlotCheckpoint, latest_checkpoint, load_checkpoint
from .diffusion import cosine_alpha_bar, diffusion_loss

__all__ = [
    "DiffusionNet",
    "EMACallback",
    "diffusion_net_weights",
    "fit_diffusion_net",
    "load_diffusion_net",
    "make_diffusion_net",
]


class DiffusionNet(CPUFallbackNetMixin, NeuralNet):
    """skorch net that trains a conditional denoiser (x0, noise or velocity prediction).

    ``fit(X)`` takes ``X = {"x0": windows, "cond": conditions}`` (``y=None``).
    Each training step draws a timestep and noise per window, drops conditions
    with probability ``cond_drop_prob`` and minimises
    ``criterion(pred, target) + fourier_weight * fourier_loss(x0_hat, x0)`` (see
    :func:`semgaug_sk.augmentation.diffusion.diffusion_loss`). Everything else
    (optimiser, callbacks, logging, checkpointing, devices, pickling) is skorch's.
    Add :class:`EMACallback` to keep exponential-moving-average weights in
    ``ema_module_``. As in skorch, a module *instance* is trained in place: a
    second ``fit`` continues from the weights the first left in it. For a fresh
    start, pass a new instance (or the module class with ``module__`` arguments).

    Parameters
    ----------
    module : torch.nn.Module
        ``module(x_t, t, cond, drop_mask) -> prediction``, e.g.
        :class:`~semgaug_sk.nn.unet.ConditionalDenoiser`.
    n_timesteps : int, default=500
        Diffusion steps of the cosine schedule.
    prediction : {"x0", "eps", "v"}, default="x0"
        What the module predicts (:data:`~semgaug_sk.augmentation.diffusion.PREDICTIONS`).
    fourier_weight : float, default=0.1
        Weight of the rFFT-magnitude L1 loss.
    cond_drop_prob : float, default=0.1
        Probability of replacing a window's condition by the null condition.
    cond_noise : float, default=0.0
        Sd of the Gaussian noise added to vector conditions at each training step
        (:func:`~semgaug_sk.augmentation.diffusion.diffusion_loss`).
    criterion : torch loss class, default=torch.nn.MSELoss
        Loss between the prediction and its target.
    **kwargs
        Any :class:`skorch.NeuralNet` parameter.

    Examples
    --------
    >>> from semgaug_sk.nn.unet import ConditionalUNet1d, LabelConditioner, ConditionalDenoiser
    >>> import numpy as np
    >>> den = ConditionalDenoiser(ConditionalUNet1d(2, 16, 8, base_channels=8),
    ...                           LabelConditioner(3, n_tokens=2, token_dim=8))
    >>> net = DiffusionNet(den, max_epochs=1, batch_size=4, train_split=None, verbose=0)
    >>> X = {"x0": np.zeros((8, 2, 16), "float32"), "cond": np.arange(8) % 3}
    >>> len(net.fit(X, None).history)
    1
    """

    def __init__(
        self,
        module,
        *,
        n_timesteps=500,
        prediction="x0",
        fourier_weight=0.1,
        cond_drop_prob=0.1,
        cond_noise=0.0,
        criterion=torch.nn.MSELoss,
        **kwargs,
    ):
        super().__init__(module, criterion=criterion, **kwargs)
        self.n_timesteps = n_timesteps
        self.prediction = prediction
        self.fourier_weight = fourier_weight
        self.cond_drop_prob = cond_drop_prob
        self.cond_noise = cond_noise
        # the denoiser instance and its EMA copy load on a CPU-only machine after CUDA
        pickle_on_any_device(self, "module", "ema_module_")

    def initialize_module(self):
        """Build ``module_`` and its EMA copy ``ema_module_`` (same weights, no gradients)."""
        super().initialize_module()
        ema = copy.deepcopy(self.module_)
        for p in ema.parameters():
            p.requires_grad_(False)
        self.ema_module_ = ema
        return self

    def get_all_learnable_params(self):
        """Only ``module_`` is optimised; ``ema_module_`` is averaged by :class:`EMACallback`."""
        yield from self.module_.named_parameters()

    def _batch_loss(self, batch):
        Xi, _ = unpack_data(batch)
        Xi = to_tensor(Xi, device=self.device)
        alpha_bar = cosine_alpha_bar(self.n_timesteps, device=Xi["x0"].device)
        loss, _ = diffusion_loss(
            self.module_,
            Xi["x0"],
            Xi["cond"],
            alpha_bar,
            prediction=self.prediction,
            cond_drop_prob=self.cond_drop_prob,
            cond_noise=self.cond_noise,
            fourier_weight=self.fourier_weight,
            criterion=self.criterion_,
        )
        return loss

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        loss = self._batch_loss(batch)
        loss.backward()
        return {"loss": loss, "y_pred": None}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        with torch.no_grad():
            loss = self._batch_loss(batch)
        return {"loss": loss, "y_pred": None}


class _AcceleratedDiffusionNet(AcceleratedNetMixin, DiffusionNet):
    """:class:`DiffusionNet` trained through Hugging Face Accelerate (``accelerator=``).

    The mixin's training step computes a classifier's loss; this one computes
    the diffusion loss under ``accelerator.autocast()`` and back-propagates
    with ``accelerator.backward`` after leaving it: PyTorch's automatic mixed
    precision runs the forward pass only under autocast (the backward ops
    take the dtypes their forward ops chose). The EMA copy has no trainable
    weights, so the accelerator only moves it to the process's device.
    """

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        with self.accelerator.autocast():
            loss = self._batch_loss(batch)
        self.accelerator.backward(loss)
        return {"loss": loss, "y_pred": None}


class EMACallback(Callback):
    """Keep exponential-moving-average weights of a skorch net's module.

    Uses :class:`torch.optim.swa_utils.AveragedModel` with
    :func:`~torch.optim.swa_utils.get_ema_multi_avg_fn`, updated after every
    optimizer step (under an accelerator's gradient accumulation, once per
    accumulated step, not per micro-batch). At the end of training the averaged weights are copied into
    ``net.ema_module_`` (a plain module built by :class:`DiffusionNet`, so the
    net stays picklable and skorch maps it between devices like its other
    modules).

    Parameters
    ----------
    decay : float, default=0.999
        EMA decay per step.

    Examples
    --------
    >>> EMACallback(decay=0.99).decay
    0.99
    """

    def __init__(self, decay=0.999):
        self.decay = decay

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        resuming = len(net.history) > 0  # partial_fit or a resumed checkpoint
        start = net.ema_module_ if resuming else trained_module(net)
        self.averaged_ = AveragedModel(
            start, multi_avg_fn=get_ema_multi_avg_fn(self.decay), use_buffers=True
        )
        if resuming:
            self.averaged_.n_averaged.fill_(1)  # go on averaging instead of restarting

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        accelerator = getattr(net, "accelerator", None)
        # a micro-batch of an accumulated step leaves the weights as they were
        if training and (accelerator is None or accelerator.sync_gradients):
            self.averaged_.update_parameters(trained_module(net))

    def copy_average_to(self, net):
        """Copy the running average into ``net.ema_module_`` (e.g. before a checkpoint)."""
        averaged = getattr(self, "averaged_", None)
        if averaged is not None:
            net.ema_module_.load_state_dict(averaged.module.state_dict())

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.copy_average_to(net)
        self.__dict__.pop("averaged_", None)
        net.ema_module_.eval()


class _StepProgress(Callback):
    """Progress over training steps (``utils.progress``); dropped at the end for pickling."""

    def __init__(self, total, desc):
        self.total = total
        self.desc = desc

    def on_train_begin(self, net, **kwargs):
        accelerator = getattr(net, "accelerator", None)
        main = accelerator is None or accelerator.is_local_main_process
        self.bar_ = progress(total=self.total, desc=self.desc, unit="steps", disable=not main)

    def on_batch_end(self, net, training=None, loss=None, **kwargs):
        if training and hasattr(self, "bar_"):
            self.bar_.update(1)
            if self.bar_.n % 50 == 0 and loss is not None:
                self.bar_.set_postfix(
                    loss=f"{float(loss.detach() if hasattr(loss, 'detach') else loss):.4f}"
                )

    def on_train_end(self, net, **kwargs):
        bar = self.__dict__.pop("bar_", None)
        if bar is not None:
            bar.close()


def make_diffusion_net(
    gen, denoiser, *, batch_size, epochs, device, accelerator=None, extra=(), progress_steps=None
):
    """The skorch net that trains ``denoiser`` with the settings of a generator.

    AdamW, gradient-norm clipping at 1, EMA weights (``gen.ema_decay_``) and,
    with ``verbose``, a progress bar; accelerated when ``accelerator`` is given.

    Parameters
    ----------
    gen : DiffusionGenerator
        Supplies ``n_timesteps``, ``fourier_weight``, ``cond_drop_prob``, ``lr``,
        ``weight_decay``, ``verbose``, ``ema_decay_`` and ``n_train_steps_``.
    denoiser : torch.nn.Module
    batch_size, epochs : int
    device : str or None
    accelerator : None or accelerate.Accelerator, default=None
    extra : sequence of (name, callback), default=()
        Callbacks run after the EMA (e.g. a checkpoint, which saves it).
    progress_steps : int, optional
        Steps the progress bar counts (default ``gen.n_train_steps_``; fewer when a
        fit resumes).

    Returns
    -------
    net : DiffusionNet
    """
    if accelerator is None:
        from ..base import PlainPrintLog  # the epoch table without colour codes in log files

        cls, kwargs = DiffusionNet, {"device": device, "callbacks__print_log": PlainPrintLog()}
        clip = GradientNormClipping(gradient_clip_value=1.0)
    else:
        cls = _AcceleratedDiffusionNet
        kwargs = accelerate_net_kwargs(accelerator, gen.verbose >= 2)
        clip = AcceleratedGradientClipping(gradient_clip_value=1.0)
    callbacks = [("grad_clip", clip), ("ema", EMACallback(gen.ema_decay_))]
    if gen.verbose:
        # the bar counts optimizer steps, which differ from n_steps on a set smaller than
        # a batch (the budget is n_steps * gen.batch_size windows seen), so it names its batch
        desc = f"SASG diffusion ({batch_size} windows/step)"
        total = gen.n_train_steps_ if progress_steps is None else progress_steps
        callbacks.append(("progress", _StepProgress(total, desc)))
    callbacks += list(extra)
    return cls(
        denoiser,
        n_timesteps=gen.n_timesteps,
        prediction=gen.prediction,
        fourier_weight=gen.fourier_weight,
        cond_drop_prob=gen.cond_drop_prob,
        cond_noise=getattr(gen, "cond_noise", 0.0),
        optimizer=torch.optim.AdamW,
        optimizer__weight_decay=gen.weight_decay,
        **fused_adam_kwargs(kwargs["device"] if accelerator is None else accelerator.device),
        lr=gen.lr,
        batch_size=batch_size,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        callbacks=callbacks,
        verbose=int(gen.verbose >= 2),
        **kwargs,
    )


#: A budget in windows seen that takes more than this many times n_steps optimiser steps
#: (a training set of fewer than batch_size / 8 windows), and more than _LONG_FIT_STEPS in
#: all (minutes on a CPU), is named in a warning.
_MANY_STEPS, _LONG_FIT_STEPS = 8, 2000


def fit_diffusion_net(gen, Xn, cond, seed):
    """Train a generator's denoiser on normalised windows; return its fitted attributes.

    Shows the denoiser ``gen.n_steps * gen.batch_size`` windows (per process), rounded up
    to whole epochs: ``gen.n_steps`` optimizer steps when the epoch is a whole number of
    batches, more on a set smaller than a batch or an epoch ending in a partial batch. It resumes from the latest complete checkpoint in ``gen.checkpoint_path_`` (if
    any), saves new ones there, and detects a user's interrupt.

    Parameters
    ----------
    gen : DiffusionGenerator
        Its parameters, ``checkpoint_path_`` and ``_build_denoiser()``.
    Xn : ndarray of shape (n_windows, n_channels, n_times)
        Normalised windows.
    cond : ndarray
        Model-space conditions.
    seed : int
        Seed of the initial weights and the batches.

    Returns
    -------
    attributes : dict
        ``net_``, ``n_train_steps_``, ``n_epochs_``, ``ema_decay_``,
        ``resumed_steps_``, ``training_interrupted_`` and ``n_unet_levels_``.
    """
    accelerator = gen.accelerator
    device = resolve_device(gen.device) if accelerator is None else None
    n = len(Xn)
    batch_size = min(gen.batch_size, n)
    # the windows spread evenly over an epoch's batches: 257 windows in batches of 256
    # would otherwise step on 1 window every other step, at the full learning rate
    batch_size = math.ceil(n / math.ceil(n / batch_size))
    # Steps per epoch in each process: data-parallel training splits the batches over them.
    n_processes = 1 if accelerator is None else int(accelerator.num_processes)
    per_epoch = math.ceil(math.ceil(n / batch_size) / n_processes)
    # The budget is in windows seen (n_steps batches in each process), not in steps: a set
    # smaller than a batch, or an epoch ending in a partial batch, takes more steps.
    epochs = math.ceil(gen.n_steps * gen.batch_size * n_processes / n)
    gen.n_train_steps_ = epochs * per_epoch
    if gen.n_train_steps_ > max(_MANY_STEPS * gen.n_steps, _LONG_FIT_STEPS):
        warnings.warn(
            f"{type(gen).__name__}: the training set has only {n} windows, so the budget of "
            f"n_steps={gen.n_steps} batches of {gen.batch_size} windows seen takes "
            f"{gen.n_train_steps_:,} full-pass steps ({gen.n_train_steps_ / gen.n_steps:.0f}x "
            "n_steps), and the fit takes as much longer. With so few windows, lower n_steps "
            "(or batch_size) to fit faster.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
    # the average moves once per optimizer step: a micro-batch of gradient accumulation is
    # not one, and Accelerate also steps at the end of every epoch
    accumulation = 1 if accelerator is None else int(accelerator.gradient_accumulation_steps)
    n_updates = epochs * math.ceil(per_epoch / accumulation)
    decay = gen.ema_decay
    if decay is None:
        decay = float(np.clip(1.0 - 10.0 / n_updates, 0.5, 0.9999))
    elif getattr(gen, "_init", None) is None:
        _warn_long_ema(gen, decay, n_updates)
    gen.ema_decay_ = decay
    resume, extra = None, []
    if gen.checkpoint_path_ is not None:
        resume = latest_checkpoint(gen.checkpoint_path_)
        every = math.ceil(gen.checkpoint_every / per_epoch)
        extra = [("checkpoint", SlotCheckpoint(gen.checkpoint_path_, every, epochs))]
    done = 0 if resume is None else min(resume[1], epochs)
    with torch_seed(seed if resume is None else seed + done):
        denoiser = gen._build_denoiser()
        net = make_diffusion_net(
            gen,
            denoiser,
            batch_size=batch_size,
            epochs=epochs - done,
            device=device,
            accelerator=accelerator,
            extra=extra,
            progress_steps=(epochs - done) * per_epoch,  # a resumed fit runs the rest only
        )
        data = {"x0": Xn, "cond": cond}
        if resume is None:
            net.fit(data, None)
        else:
            net.initialize()
            load_checkpoint(net, resume[0])
            if done < epochs:
                net.partial_fit(data, None)
    interrupted = interrupted_by_user(net, epochs)
    if accelerator is not None:
        # A plain net on this process's device: sampling runs in each process on its
        # own, and the fitted generator pickles like one trained without Accelerate.
        with torch_seed(seed):  # its throwaway initial draws leave the caller's generator alone
            plain = make_diffusion_net(
                gen,
                net.accelerator.unwrap_model(net.module_, keep_fp32_wrapper=False),
                batch_size=batch_size,
                epochs=epochs,
                device=accelerator_device(accelerator),
            ).initialize()
        plain.ema_module_ = net.ema_module_
        plain.history = net.history
        net = plain
    return {
        "net_": net,
        "n_train_steps_": gen.n_train_steps_,
        "n_epochs_": epochs,
        "ema_decay_": decay,
        "resumed_steps_": done * per_epoch,
        "training_interrupted_": interrupted,
        "n_unet_levels_": denoiser.unet.n_levels,
    }


def diffusion_net_weights(net):
    """A trained net as plain data: ``module`` and ``ema_module`` state dicts, ``history``.

    Parameters
    ----------
    net : DiffusionNet
        An initialised (usually trained) net, with ``module_`` and ``ema_module_``.

    Returns
    -------
    weights : dict
        ``"module"`` and ``"ema_module"``: state dicts (the tensors are not copied);
        ``"history"``: the epochs of ``net.history`` as a list of dicts.
    """
    return {
        "module": net.module_.state_dict(),
        "ema_module": net.ema_module_.state_dict(),
        "history": list(net.history),
    }


def _warn_long_ema(gen, decay, n_updates):
    """Warn when an explicit ``ema_decay`` leaves the first step's weights in the average.

    The average starts at the weights after the first step (nearly the initial ones) and
    keeps ``decay ** (n_updates - 1)`` of them (``n_updates`` optimizer steps): 0.999 over
    750 steps keeps 47 %, and the generator samples from that blend. Fine-tuning starts
    from a prior's trained weights, which may stay.
    """
    kept = float(decay) ** max(n_updates - 1, 0)
    if kept > 0.05:
        warnings.warn(
            f"{type(gen).__name__}: ema_decay={decay} over {n_updates:,} optimizer "
            f"steps keeps {100 * kept:.0f}% of the first step's (nearly untrained) weights in "
            "the averaged weights that generate. Use ema_decay=None (the default, which "
            "spans the last tenth of training), or a decay below "
            f"{1 - 3 / n_updates:.4g}.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )


def load_diffusion_net(gen, weights, *, device):
    """The net of fitted generator ``gen`` on ``device``, from :func:`diffusion_net_weights`.

    Parameters
    ----------
    gen : DiffusionGenerator
        A fitted generator: its parameters, ``_build_denoiser()``, ``n_windows_fit_``,
        ``n_epochs_``, ``n_unet_levels_`` and the attributes :func:`make_diffusion_net` reads.
    weights : dict
        The output of :func:`diffusion_net_weights`.
    device : str or torch.device
        Device of the rebuilt net.

    Returns
    -------
    net : DiffusionNet
        Initialised, with the stored weights, EMA weights (in eval mode) and history.

    Raises
    ------
    RuntimeError
        When the rebuilt U-Net has another number of levels than the stored one.
    """
    with torch_seed(0):  # initial weights are overwritten below; the caller's RNG is left alone
        denoiser = gen._build_denoiser()
        batch_size = min(gen.batch_size, gen.n_windows_fit_)
        net = make_diffusion_net(
            gen, denoiser, batch_size=batch_size, epochs=gen.n_epochs_, device=device
        ).initialize()
    # before the weights: other levels have other keys, and torch would only list them
    if denoiser.unet.n_levels != gen.n_unet_levels_:
        raise RuntimeError(
            f"the rebuilt U-Net has {denoiser.unet.n_levels} levels, the stored one "
            f"{gen.n_unet_levels_}"
        )
    net.module_.load_state_dict(weights["module"])
    net.ema_module_.load_state_dict(weights["ema_module"])
    net.ema_module_.eval()
    net.history = History(weights["history"])
    return net

"""Weights-only persistence: share fitted estimators without pickle.

:func:`save_weights` writes a fitted estimator as torch tensors and plain data
(numbers, strings, lists, dicts) with :func:`torch.save`; :func:`load_weights`
reads it back with ``torch.load(..., weights_only=True)`` and rebuilds the
estimator: same parameters, same fitted attributes, same network weights, so
``predict_proba``, ``transform`` and ``generate`` give the same output.

**Trust model.**

- A pickle or joblib file (``joblib.dump``, ``pickle.dump``) can execute any
  code when it is loaded. Open such files only when you made them yourself or
  trust their source completely.
- A weights file holds no code. :func:`load_weights` opens it with
  ``weights_only=True``, which only rebuilds tensors and plain containers and
  refuses anything else, and it only instantiates the estimator classes of
  this library named in :data:`WEIGHTED_ESTIMATORS` (and scikit-learn's
  ``FrozenEstimator`` around one of them), from parameters that are validated
  like any constructor argument. Loading a file from an untrusted source is
  therefore as safe as torch's weights-only loader, with one caveat:
  a malicious file can still ask for a huge network or array and exhaust the
  memory.
- The library never calls ``torch.load`` without ``weights_only=True`` on a path
  given by a user.

**Protocol for estimator classes.** An estimator class is supported when its
name is in :data:`WEIGHTED_ESTIMATORS` (the allow-list of classes a file may
name). Its constructor parameters are
stored as plain data; parameters that cannot be (a custom ``torch.nn.Module``,
a callable) are recorded by type name and must be passed again to
:func:`load_weights` with ``params=``. Its fitted state is, by default, every
instance attribute that is not a constructor parameter
(:func:`fitted_attributes`); that works for estimators whose fitted state is
numpy arrays, numbers, strings, lists, dicts, numpy random generators and other
supported estimators, also inside :class:`sklearn.frozen.FrozenEstimator` (a
pre-fitted ``encoder`` kept through ``clone``). An estimator holding torch
networks defines two methods:

``_get_weights_state(self) -> dict``
    The fitted state with each network replaced by its ``state_dict()`` (and
    whatever plain data rebuilds it, e.g. the training history). Usually
    ``fitted_attributes(self)`` with a few entries replaced.
``_set_weights_state(self, state, *, device)``
    Called on ``cls(**params)`` with the decoded state: sets the attributes,
    rebuilds the networks on ``device`` (a resolved torch device string) and
    loads their weights.

A class may also list in ``_weights_required`` the fitted attributes every file it is saved
to holds; a file without one of them (an edited file) is refused at load. It may have,
when the networks are built from its parameters, ``_record_params_at_fit(self)``
(called at the end of ``fit`` and after loading), which keeps those parameters in
``_params_at_fit``: a file saved after ``set_params`` changed one stores the fitted
value, with a warning.

The accelerator of an estimator trained with Hugging Face Accelerate
(``accelerator=``) is a handle on the running processes, not part of the
model: it is stored as ``None``.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import os
import pickle
import re
import stat
import sys
import warnings
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.utils._metadata_requests import SIMPLE_METHODS
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from .utils.io import replacing
from .utils.torch_utils import resolve_device
from .utils.validation import caller_stacklevel

__all__ = [
    "save_weights",
    "load_weights",
    "fitted_attributes",
    "WEIGHTS_FORMAT_VERSION",
    "WEIGHTED_ESTIMATORS",
]

#: Version of the file layout written by :func:`save_weights`. Readers accept
#: files of this version or older and reject newer ones with a clear error.
WEIGHTS_FORMAT_VERSION = 1

#: Estimator classes a weights file may name, mapped to the module defining
#: them (imported only when a file names the class).
WEIGHTED_ESTIMATORS = {
    "EMGFeatures": "semgaug_sk.features",
    "WindowStandardizer": "semgaug_sk.preprocessing",
    "ClassicAugmenter": "semgaug_sk.augmentation.classic",
    "ComposedAugmenter": "semgaug_sk.augmentation.compose",
    "SemanticEncoder": "semgaug_sk.encoders",
    "SASGAugmenter": "semgaug_sk.augmentation.sasg",
    "DiffusionGenerator": "semgaug_sk.augmentation.generator",
    "PopulationPrior": "semgaug_sk.augmentation.prior",
    "GMSS": "semgaug_sk.augmentation.condition_sampling",
    "SASS": "semgaug_sk.augmentation.condition_sampling",
    "FeatureImitator": "semgaug_sk.imitation",
    "FINClassifier": "semgaug_sk.imitation",
    "SpatioTemporalClassifier": "semgaug_sk.classifiers",
    "ConvTransformerClassifier": "semgaug_sk.classifiers",
}

_FORMAT = "semgaug_sk.weights"
_TAG = "__semgaug__"
#: Parameters that describe the running processes, not the model: stored as None.
_RUNTIME_PARAMS = frozenset({"accelerator"})
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
_PLAIN = (bool, int, float, str, type(None))


def _a(name: str) -> str:
    """``name`` with its indefinite article: "an object", "a list", "an EMGFeatures"."""
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


class _Unencodable(TypeError):
    """A value that a weights file cannot hold (raised internally, with its location)."""

    def __init__(self, where, value):
        self.where = where
        self.type_name = f"{type(value).__module__}.{type(value).__qualname__}"
        super().__init__(f"{where} is {_a(self.type_name)}")


# ------------------------------------------------------------------------------------------
# the estimator classes
# ------------------------------------------------------------------------------------------
def _registered_class(name):
    if not isinstance(name, str) or name not in WEIGHTED_ESTIMATORS:
        raise ValueError(
            f"the weights file names the estimator {name!r}, which is not one of the classes a "
            f"weights file may hold ({', '.join(sorted(WEIGHTED_ESTIMATORS))})."
        )
    module_name = WEIGHTED_ESTIMATORS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(
            f"the weights file holds {_a(name)}, but {module_name} cannot be imported in this "
            f"installation ({exc}). Install a semgaug_sk version that has it."
        ) from exc
    return getattr(module, name)


def _class_name(estimator, where):
    name = type(estimator).__name__
    cls = None
    if name in WEIGHTED_ESTIMATORS:
        try:
            cls = _registered_class(name)
        except ValueError:
            cls = None
    if cls is not type(estimator):
        advice = (
            "Save the estimator it wraps (frozen.estimator), or save it with joblib.dump"
            if type(estimator) is FrozenEstimator
            else "Save it with joblib.dump"
        )
        raise TypeError(
            f"save_weights: {where} is {_a(type(estimator).__qualname__)}, which weights-only files "
            f"cannot hold; they hold the estimators of semgaug_sk "
            f"({', '.join(sorted(WEIGHTED_ESTIMATORS))}). {advice} instead "
            "(and load that file only where you trust it)."
        )
    return name


#: Attributes that describe this process, not the model (a sampler's record of which
#: rows of its last output are real: a weights file is not loaded with that array; SASS's
#: cache of class radii, filled by sampling and recomputed on demand).
_PROCESS_LOCAL = ("_output_provenance", "_knn_radii", "_params_at_fit")


def _same_value(a, b):
    """Whether two parameter values are equal (a tuple and a list of equal items are)."""
    if a is b:
        return True
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except Exception:  # objects that cannot be compared: taken as changed
        return False


def _params_to_record(est, where):
    """``est``'s parameters, with those changed since fit at their fitted values.

    A network is rebuilt at load from the parameters the file records: a parameter
    changed by ``set_params`` after fit (``n_heads``, ``base_channels``) would build
    another network than the one whose weights were saved, which then fails to load
    or loads and behaves differently. Estimators whose networks are built from their
    parameters record those (``_record_params_at_fit``) when fit and when loaded;
    the parameters that only train or serve a network are recorded as they are now.
    """
    params = est.get_params(deep=False)
    at_fit = getattr(est, "_params_at_fit", None)
    if at_fit is None or not _is_fitted(est):
        return params
    changed = [
        key
        for key, value in params.items()
        if key in at_fit and not _same_value(value, at_fit[key])
    ]
    if changed:
        listed = ", ".join(f"{k}={at_fit[k]!r} (now {params[k]!r})" for k in changed)
        warnings.warn(
            f"save_weights: {where} is saved with the parameters it was fitted with, {listed}, "
            "so that it loads as the fitted model; fit it again to save the new values.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
    return {**params, **{key: at_fit[key] for key in changed}}


def fitted_attributes(estimator) -> dict:
    """The fitted state of an estimator: its instance attributes that are not parameters.

    The default state that :func:`save_weights` stores; estimator classes holding
    torch networks start from it in their ``_get_weights_state`` (see the module
    documentation). scikit-learn's private bookkeeping (``_sklearn_*``,
    ``_metadata_request``) and a sampler's record of its last output are left out.

    Parameters
    ----------
    estimator : BaseEstimator
        A fitted estimator.

    Returns
    -------
    state : dict
        ``{attribute name: value}``, in definition order.

    Examples
    --------
    >>> import numpy as np
    >>> from semgaug_sk.preprocessing import WindowStandardizer
    >>> sorted(fitted_attributes(WindowStandardizer().fit(np.ones((4, 2, 8)))))
    ['_fitted_2d', 'mean_', 'n_channels_', 'n_features_in_', 'n_times_', 'scale_']
    """
    params = estimator.get_params(deep=False)
    return {
        key: value
        for key, value in vars(estimator).items()
        if key not in params
        and not key.startswith(("_sklearn", "_metadata_request"))
        and key not in _PROCESS_LOCAL
    }


def _is_fitted(estimator):
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


# ------------------------------------------------------------------------------------------
# encoding: Python objects -> tensors and plain containers
# ------------------------------------------------------------------------------------------
def _encode_array(a, where):
    kind = a.dtype.kind
    head = {_TAG: "ndarray", "dtype": a.dtype.str, "shape": list(a.shape)}
    if kind == "O":
        return {**head, "items": [_encode(x, f"{where}[{i}]") for i, x in enumerate(a.ravel())]}
    if kind == "U":
        return {**head, "items": [str(x) for x in a.ravel().tolist()]}
    if kind == "S":
        return {**head, "items": [x.decode("latin-1") for x in a.ravel().tolist()]}
    if kind in "biufc":
        native = a.astype(a.dtype.newbyteorder("="), copy=False)
        try:
            data = torch.from_numpy(np.ascontiguousarray(native))
        except TypeError:  # a dtype torch does not hold (e.g. float128): keep it as numbers
            return {**head, "items": a.ravel().tolist()}
        return {**head, "data": data}
    raise _Unencodable(where, a)


def _encode_estimator(est, where):
    name = _class_name(est, where)
    params = {}
    for key, value in _params_to_record(est, where).items():
        if key in _RUNTIME_PARAMS:
            params[key] = None
            continue
        try:
            params[key] = _encode(value, f"{where}.{key}")
        except (_Unencodable, TypeError) as exc:
            params[key] = {_TAG: "missing", "type": getattr(exc, "type_name", type(value).__name__)}
    state = None
    if _is_fitted(est):
        getter = getattr(est, "_get_weights_state", None)
        raw = getter() if callable(getter) else fitted_attributes(est)
        state = {key: _encode(value, f"{where}.{key}") for key, value in raw.items()}
    encoded = {_TAG: "estimator", "class": name, "params": params, "state": state}
    config = _sklearn_config(est)
    if config:
        encoded["config"] = config
    return encoded


def _sklearn_config(est):
    """What ``set_output`` and the ``set_*_request`` methods set on ``est``, as plain data.

    ``clone`` and pickling keep both; a weights file keeps them too, so a loaded
    transformer gives the same output type and a loaded network the same routing.
    """
    config = {}
    output = vars(est).get("_sklearn_output_config")
    if output:
        config["output"] = {str(k): str(v) for k, v in output.items()}
    request = vars(est).get("_metadata_request")
    if request is not None:
        requests = {}
        for method in SIMPLE_METHODS:
            asked = getattr(getattr(request, method, None), "requests", None)
            if asked:
                requests[method] = {
                    str(k): v for k, v in asked.items() if v is None or type(v) in (bool, str)
                }
        if requests:
            config["requests"] = requests
    return config


def _apply_sklearn_config(est, config):
    """Restore :func:`_sklearn_config`'s record on a rebuilt estimator."""
    if not isinstance(config, Mapping):
        raise _Malformed(f"its config is {type(config).__name__}, not a dict")
    output = config.get("output") or {}
    bad = {k: v for k, v in dict(output).items() if v not in ("default", "pandas", "polars")}
    if bad:
        raise _Malformed(f"its set_output config {bad!r} names no output container")
    if output and callable(getattr(est, "set_output", None)):
        est.set_output(**output)
    # the set_*_request methods exist only with routing enabled; config_context is
    # thread-local, so this enables it for this thread and only here
    with sklearn.config_context(enable_metadata_routing=True):
        for method, asked in (config.get("requests") or {}).items():
            setter = getattr(est, f"set_{method}_request", None)
            if callable(setter) and asked:
                setter(**asked)


def _encode(value, where):
    """Turn ``value`` into tensors and plain containers that ``weights_only`` loading accepts."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, np.ndarray):
        return _encode_array(value, where)
    if isinstance(value, np.generic):
        if value.dtype.kind not in "biufUS":
            raise _Unencodable(where, value)
        item = value.item()
        if isinstance(item, bytes):
            item = item.decode("latin-1")
        return {_TAG: "scalar", "dtype": value.dtype.str, "value": item}
    if isinstance(value, np.dtype):
        if value.fields is not None:
            raise _Unencodable(where, value)
        return {_TAG: "dtype", "dtype": value.str}
    if isinstance(value, torch.device):
        return {_TAG: "device", "value": str(value)}
    if isinstance(value, np.random.Generator):
        return {_TAG: "generator", "state": _encode(value.bit_generator.state, where)}
    if isinstance(value, np.random.RandomState):
        return {_TAG: "random_state", "state": _encode(value.get_state(legacy=False), where)}
    if type(value) is FrozenEstimator:  # the estimator it wraps, under its own tag
        return {
            _TAG: "frozen",
            "estimator": _encode_estimator(value.estimator, f"{where}.estimator"),
        }
    if isinstance(value, BaseEstimator):
        return _encode_estimator(value, where)
    if type(value) is tuple:
        return {_TAG: "tuple", "items": [_encode(x, f"{where}[{i}]") for i, x in enumerate(value)]}
    if type(value) is list:
        return [_encode(x, f"{where}[{i}]") for i, x in enumerate(value)]
    if isinstance(value, dict) and type(value) in (dict, OrderedDict):
        if type(value) is dict and _TAG not in value and all(type(k) is str for k in value):
            return {k: _encode(v, f"{where}[{k!r}]") for k, v in value.items()}
        return {
            _TAG: "odict" if type(value) is OrderedDict else "dict",
            "items": [[_encode(k, where), _encode(v, f"{where}[{k!r}]")] for k, v in value.items()],
        }
    if isinstance(value, list):  # e.g. skorch's History: a list subclass of plain dicts
        return [_encode(x, f"{where}[{i}]") for i, x in enumerate(value)]
    raise _Unencodable(where, value)


# ------------------------------------------------------------------------------------------
# decoding: the inverse of _encode
# ------------------------------------------------------------------------------------------
class _Malformed(ValueError):
    """The file's content does not follow the weights layout."""


def _decode_array(obj):
    dtype = np.dtype(obj["dtype"])
    shape = tuple(int(n) for n in obj["shape"])
    if "data" in obj:
        data = obj["data"]
        if not isinstance(data, torch.Tensor):
            raise _Malformed("array data is not a tensor")
        return data.numpy().astype(dtype, copy=False).reshape(shape)
    items = obj["items"]
    if dtype.kind == "O":
        out = np.empty(len(items), dtype=object)
        for i, x in enumerate(items):
            out[i] = _decode(x)
        return out.reshape(shape)
    if dtype.kind == "S":
        items = [x.encode("latin-1") for x in items]
    return np.array(items, dtype=dtype).reshape(shape)


def _decode_generator(state, cls):
    state = _decode(state)
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in _BIT_GENERATORS:
        raise _Malformed(f"unknown bit generator {name!r}")
    # a fixed seed, then the saved state: seeded from OS entropy, the generator's pickled
    # SeedSequence would differ at every load, and so would joblib.hash (a memory cache miss)
    if cls is np.random.RandomState:
        rs = np.random.RandomState(0)
        rs.set_state(state)
        return rs
    bit_generator = getattr(np.random, name)(0)
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def _decode(obj, *, device=None, device_param=None):
    if type(obj) in _PLAIN or isinstance(obj, torch.Tensor):
        return obj
    if type(obj) is list:
        return [_decode(x, device=device, device_param=device_param) for x in obj]
    if not isinstance(obj, dict):
        raise _Malformed(f"unexpected {type(obj).__name__} in the file")
    kind = obj.get(_TAG)
    if kind is None:
        return {k: _decode(v, device=device, device_param=device_param) for k, v in obj.items()}
    if kind == "ndarray":
        return _decode_array(obj)
    if kind == "scalar":
        return np.dtype(obj["dtype"]).type(obj["value"])
    if kind == "dtype":
        return np.dtype(obj["dtype"])
    if kind == "device":
        return torch.device(obj["value"])
    if kind == "tuple":
        return tuple(_decode(x, device=device, device_param=device_param) for x in obj["items"])
    if kind in ("dict", "odict"):
        pairs = [
            (_decode(k), _decode(v, device=device, device_param=device_param))
            for k, v in obj["items"]
        ]
        return OrderedDict(pairs) if kind == "odict" else dict(pairs)
    if kind == "generator":
        return _decode_generator(obj["state"], np.random.Generator)
    if kind == "random_state":
        return _decode_generator(obj["state"], np.random.RandomState)
    if kind == "estimator":
        return _decode_estimator(obj, device=device, device_param=device_param)
    if kind == "frozen":
        return FrozenEstimator(
            _decode_estimator(_frozen_inner(obj), device=device, device_param=device_param)
        )
    if kind == "missing":
        raise _Malformed("a nested parameter was not stored")
    raise _Malformed(f"unknown entry kind {kind!r}")


def _split_overrides(overrides):
    """``{"a": 1, "enc__m": 2}`` -> ``({"a": 1}, {"enc": {"m": 2}})`` (scikit-learn's ``__``)."""
    direct, nested = {}, {}
    for key, value in (overrides or {}).items():
        head, sep, rest = key.partition("__")
        if sep:
            nested.setdefault(head, {})[rest] = value
        else:
            direct[key] = value
    return direct, nested


def _is_stored_estimator(value):
    """Whether a stored entry is an estimator (or a FrozenEstimator around one)."""
    return isinstance(value, dict) and value.get(_TAG) in ("estimator", "frozen")


def _frozen_inner(obj):
    """The estimator a stored FrozenEstimator wraps."""
    inner = obj.get("estimator")
    if not (isinstance(inner, dict) and inner.get(_TAG) == "estimator"):
        raise _Malformed("a FrozenEstimator without the estimator it wraps")
    return inner


def _decode_member(name, value, nested, *, device, device_param, where, prefix):
    """A stored parameter or fitted attribute. A nested estimator takes the overrides of
    its parameter (``encoder__...`` reaches ``encoder`` and the fitted ``encoder_``; a
    FrozenEstimator's take scikit-learn's ``encoder__estimator__...``)."""
    if not _is_stored_estimator(value):
        return _decode(value, device=device, device_param=device_param)
    stem = name[:-1] if name.endswith("_") else name
    prefix, overrides = f"{prefix}{stem}__", nested.get(stem)
    frozen = value[_TAG] == "frozen"
    if frozen:  # its one parameter is the estimator it wraps
        direct, inner = _split_overrides(overrides)
        unknown = sorted(
            {prefix + k for k in direct}
            | {f"{prefix}{k}__{rest}" for k, v in inner.items() if k != "estimator" for rest in v}
        )
        if unknown:
            raise ValueError(
                f"load_weights: params={unknown!r} are not parameters of the stored "
                f"estimator; {prefix[:-2]} is a FrozenEstimator, whose estimator's "
                f"parameters are named {prefix}estimator__<name>."
            )
        value, overrides, prefix = (
            _frozen_inner(value),
            inner.get("estimator"),
            f"{prefix}estimator__",
        )
    est = _decode_estimator(
        value,
        device=device,
        device_param=device_param,
        overrides=overrides,
        where=where,
        prefix=prefix,
    )
    return FrozenEstimator(est) if frozen else est


def _decode_params(
    encoded,
    *,
    device,
    device_param,
    overrides=None,
    where="the file",
    accepted=None,
    prefix="",
    fitted_estimators=(),
):
    overrides, nested = _split_overrides(overrides)
    # a parameter the file predates may be set too (e.g. to undo a newer default)
    known = set(encoded) | set(accepted or ())
    # a nested override reaches a stored estimator parameter or fitted estimator (encoder_
    # of encoder=None): both are rebuilt from the file
    reachable = {k for k, v in encoded.items() if _is_stored_estimator(v)} | set(fitted_estimators)
    unknown = sorted(
        {prefix + k for k in set(overrides) - known}
        | {
            f"{prefix}{head}__{rest}"
            for head, inner in nested.items()
            if head not in reachable
            for rest in inner
        }
    )
    if unknown:
        raise ValueError(
            f"load_weights: params={unknown!r} are not parameters of the stored estimator; "
            f"its parameters are {sorted(prefix + k for k in known)!r}."
        )
    params, missing = {}, []
    for key, value in encoded.items():
        if key in overrides:
            params[key] = overrides[key]
        elif isinstance(value, dict) and value.get(_TAG) == "missing":
            missing.append(f"{prefix}{key} ({_a(str(value.get('type')))})")
        else:
            params[key] = _decode_member(
                key,
                value,
                nested,
                device=device,
                device_param=device_param,
                where=where,
                prefix=prefix,
            )
    params.update({k: v for k, v in overrides.items() if k not in encoded})
    if missing:
        raise ValueError(
            f"load_weights: {where} was saved with parameters that a weights file cannot hold: "
            f"{', '.join(missing)}. Pass them again, e.g. load_weights(path, params="
            f"{{{missing[0].split(' ')[0]!r}: ...}}), with the same object used for training."
        )
    if "device" in params and device_param is not None:
        params["device"] = device_param
    return params


#: Parameters added after files were written, with the value those files implied (a new
#: default must not change what an old file's model does). Format version 1 files that
#: lack one were written before it existed.
_LEGACY_PARAMS = {
    # files from before max_lstm_steps read one sample per LSTM step
    "FeatureImitator": {"entropy_density": False, "max_lstm_steps": None},
    # files from before max_length never folded windows into patches
    "DiffusionGenerator": {
        "prediction": "x0",
        "sampler": "ddim",
        "timestep_spacing": "uniform",
        "max_length": None,
    },
    "SASGAugmenter": {
        "prediction": "x0",
        "sampler": "ddim",
        "timestep_spacing": "uniform",
        "quantize": None,
        "max_length": None,
    },
    # files from before min_steps trained max_epochs alone (STC's default is now 4000);
    # files from before input_scaling divided every channel by one RMS
    "ConvTransformerClassifier": {
        "max_tokens": None,
        "min_steps": None,
        "input_scaling": "global",
    },
    "SpatioTemporalClassifier": {"min_steps": None, "input_scaling": "global"},
    # the first files time-warped linearly, kept continuous values and drew every
    # synthetic window's transforms in one block
    "ClassicAugmenter": {
        "time_warp_interpolation": "linear",
        "quantize": None,
        "generate_batch_size": sys.maxsize,
    },
}


class _UnknownParameters(ValueError):
    """The file holds constructor parameters that this version's class does not have."""

    def __init__(self, cls_name, names):
        self.cls_name, self.names = cls_name, names
        super().__init__(f"{cls_name} parameters {names!r}")


def _constructor_parameters(cls):
    return [
        name
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def _check_state_names(cls, state, params):
    """Refuse fitted state that would replace a parameter or a method (an altered file)."""
    for key in state:
        if not isinstance(key, str) or not key.isidentifier() or key.startswith("__"):
            raise _Malformed(f"the fitted state has an invalid attribute name {key!r}")
        if key in params:
            raise _Malformed(f"the fitted state would replace the parameter {key!r}")
        found = inspect.getattr_static(cls, key, None)
        if isinstance(found, (property, staticmethod, classmethod)) or inspect.isfunction(found):
            raise _Malformed(f"the fitted state would replace {cls.__name__}.{key}")


def _decode_estimator(obj, *, device, device_param, overrides=None, where="the file", prefix=""):
    cls = _registered_class(obj["class"])
    accepted = _constructor_parameters(cls)
    params = _decode_params(
        obj["params"],
        device=device,
        device_param=device_param,
        overrides=overrides,
        where=where,
        accepted=accepted,
        prefix=prefix,
        fitted_estimators=[
            key[:-1]
            for key, value in (obj.get("state") or {}).items()
            if key.endswith("_") and _is_stored_estimator(value)
        ],
    )
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise _UnknownParameters(obj["class"], unknown)
    for key, value in _LEGACY_PARAMS.get(obj["class"], {}).items():
        params.setdefault(key, value)
    est = cls(**params)
    if hasattr(est, "_parameter_constraints"):
        est._validate_params()
    elif callable(getattr(est, "_check_params", None)):
        try:
            est._check_params()  # EMGFeatures, WindowStandardizer: their own checks
        except (TypeError, ValueError) as exc:
            given = [name for name in overrides or {} if f"{name} " in str(exc)]
            if given:  # the caller's params=, not the file
                raise ValueError(f"load_weights: params {given!r}: {exc}") from exc
            raise
    state = obj["state"]
    if state is not None:
        _check_state_names(cls, state, params)
        _, nested = _split_overrides(overrides)
        decoded = {
            key: _decode_member(
                key,
                value,
                nested,
                device=device,
                device_param=device_param,
                where=where,
                prefix=prefix,
            )
            for key, value in state.items()
        }
        setter = getattr(est, "_set_weights_state", None)
        if callable(setter):
            try:
                setter(decoded, device=device)
            except RuntimeError as exc:
                raise ValueError(
                    f"load_weights: the stored weights do not fit the {obj['class']} network "
                    f"rebuilt from the stored parameters ({exc}). If you passed params=, pass "
                    "the network used for training."
                ) from exc
        else:
            vars(est).update(decoded)
        # what every file save_weights writes holds: an edited file would fail later, in an
        # AttributeError far from the load
        missing = [name for name in getattr(est, "_weights_required", ()) if not hasattr(est, name)]
        if missing:
            raise ValueError(
                f"load_weights: {where} is malformed: its {obj['class']} has no fitted "
                f"{', '.join(missing)}, which every file save_weights writes holds (an edited "
                "file). Save the estimator again."
            )
        record = getattr(est, "_record_params_at_fit", None)
        if callable(record):  # the stored parameters are those of the stored networks
            record()
    _apply_sklearn_config(est, obj.get("config", {}))  # files before it hold none
    return est


# ------------------------------------------------------------------------------------------
# public functions
# ------------------------------------------------------------------------------------------
def save_weights(estimator, path) -> None:
    """Save a fitted estimator as tensors and plain data, without pickle.

    The file holds everything needed to rebuild the fitted estimator: the
    constructor parameters (those a network is built from at their fitted
    values), the fitted attributes (classes, normalisation
    statistics, class Gaussians, training embeddings, random generator state,
    ...) and the networks' ``state_dict`` (including the EMA weights of the
    diffusion model). Read it with :func:`load_weights`; unlike a pickle or
    joblib file it contains no code, so it can be shared and opened safely (see
    the module documentation for the trust model).

    Parameters
    ----------
    estimator : estimator
        A fitted estimator of this library (a class listed in
        :data:`WEIGHTED_ESTIMATORS`).
    path : str, path-like or binary file object
        Destination, conventionally ending in ``.pt``. A path is written
        through a temporary file in the same folder, so an existing file is
        only replaced by a complete one.

    Raises
    ------
    TypeError
        When the estimator (or an estimator inside it) is not a class of this
        library, or a fitted attribute cannot be stored.
    sklearn.exceptions.NotFittedError
        When the estimator is not fitted.

    Warns
    -----
    UserWarning
        When ``set_params`` changed, since fit, a parameter a network is built
        from: the file stores the fitted value, so that it loads as the fitted
        model.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from semgaug_sk.preprocessing import WindowStandardizer
    >>> scaler = WindowStandardizer().fit(np.arange(24.0).reshape(3, 2, 4))
    >>> path = os.path.join(tempfile.mkdtemp(), "scaler.pt")
    >>> save_weights(scaler, path)
    >>> load_weights(path).mean_.tolist() == scaler.mean_.tolist()
    True
    """
    name = _class_name(estimator, "estimator")
    check_is_fitted(estimator)
    try:
        encoded = _encode_estimator(estimator, name)
    except _Unencodable as exc:
        raise TypeError(
            f"save_weights: {exc.where} is {_a(exc.type_name)}, which a weights-only file cannot "
            "hold. Save the estimator with joblib.dump instead (and load that file only where "
            "you trust it)."
        ) from exc
    payload = {
        "format": _FORMAT,
        "format_version": WEIGHTS_FORMAT_VERSION,
        "semgaug_sk_version": importlib.import_module("semgaug_sk").__version__,
        "torch_version": str(torch.__version__),
        "estimator": name,
        "params": encoded["params"],
        "state": encoded["state"],
    }
    if "config" in encoded:  # set_output / set_*_request
        payload["config"] = encoded["config"]
    path = _path_or_binary_file(path, "save_weights", writing=True)
    if hasattr(path, "write"):
        torch.save(payload, path)
        return
    path = Path(path)
    folder = Path(os.path.realpath(path)).parent  # where replacing writes: a link's target's
    if not folder.is_dir():
        link = f" ({str(path)!r} is a link into it)" if os.path.islink(path) else ""
        raise FileNotFoundError(
            f"save_weights: the folder {str(folder)!r} does not exist{link}; create it first "
            "(e.g. Path(folder).mkdir(parents=True))."
        )
    if path.is_dir():
        raise IsADirectoryError(
            f"save_weights: {str(path)!r} is a folder; name a file inside it (e.g. "
            f"{str(path / 'model.pt')!r})."
        )
    with replacing(path) as tmp:  # whole or not at all, the file's mode kept
        torch.save(payload, tmp)


def _fspath(path, who):
    """``path`` as a str (bytes decoded as ``os.fsdecode`` does), with a clear error for
    what is neither a path nor a file object."""
    try:
        return os.fsdecode(path)
    except TypeError:
        raise TypeError(
            f"{who}: path must be a str, a path-like object or a binary file object; got "
            f"{path!r} ({type(path).__name__}). Pass e.g. 'model.pt'."
        ) from None


def _path_or_binary_file(path, who, *, writing):
    """``path`` as a str, or the file object itself once it is known to be binary and
    open for what ``who`` does (torch's own errors for a text-mode or read-only handle
    name neither)."""
    if not hasattr(path, "write" if writing else "read"):
        return _fspath(path, who)
    mode = "wb" if writing else "rb"
    # a tempfile.NamedTemporaryFile("w") wraps its text stream in .file
    if isinstance(path, io.TextIOBase) or isinstance(getattr(path, "file", None), io.TextIOBase):
        raise TypeError(
            f"{who}: the file object is open in text mode, and a weights file is binary; "
            f"open it with mode {mode!r}."
        )
    able = getattr(path, "writable" if writing else "readable", None)
    try:
        refused = callable(able) and not able()
    except ValueError:  # a closed file
        raise ValueError(f"{who}: the file object is closed; open it with mode {mode!r}.") from None
    if refused:
        action = "written to" if writing else "read from"
        raise io.UnsupportedOperation(
            f"{who}: the file object cannot be {action}; open it with mode {mode!r}."
        )
    return path


def _seekable(file):
    """Whether a file object can seek (``seekable()`` where it tells, else ``seek``)."""
    seekable = getattr(file, "seekable", None)
    if callable(seekable):
        try:
            return bool(seekable())
        except (OSError, ValueError):  # a closed file: torch.load names that
            return True
    return callable(getattr(file, "seek", None)) and callable(getattr(file, "tell", None))


class _Slice(io.RawIOBase):
    """Bytes ``[start, stop)`` of a seekable binary file, read as a file of their own."""

    def __init__(self, file, start, stop):
        super().__init__()
        self._file, self._start, self._size, self._pos = file, start, stop - start, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self._pos

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(base + offset, 0)
        return self._pos

    def readinto(self, buffer):
        self._file.seek(self._start + self._pos)
        data = self._file.read(max(0, min(len(buffer), self._size - self._pos)))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def _archive_end(path, start, where):
    """Where the zip archive that begins at ``start`` ends, and where the file ends.

    A zip reader starts from the end record at the end of the file: where archives
    follow each other (``save_weights`` twice into one file object) that is the last
    one's, so those after the first are cut off one by one. The archive's end is
    ``None`` for a file that is no zip archive (a legacy torch file or a pickle,
    which torch.load checks).
    """
    corrupt = ValueError(
        f"load_weights: {where} is corrupt: its zip directory names records outside the "
        "archive, or it holds archives one after another and the bytes before the last one "
        "are no whole archive (a damaged copy or an edited file). Copy it again or save the "
        "estimator again with save_weights."
    )
    opened = contextlib.nullcontext(path) if hasattr(path, "read") else open(path, "rb")
    with opened as file:
        stop = end = file.seek(0, io.SEEK_END)
        while True:
            try:
                with zipfile.ZipFile(_Slice(file, start, stop)) as archive:
                    # torch writes an archive's first record at its first byte: one further
                    # on starts a later archive, and the archive before it ends there
                    first = min((info.header_offset for info in archive.infolist()), default=0)
            except zipfile.BadZipFile:
                if stop == end:
                    return None, end
                raise corrupt from None
            except (NotImplementedError, UnicodeDecodeError, EOFError) as exc:  # a damaged field
                raise corrupt from exc
            if first == 0:
                return stop, end
            if not 0 < first < stop - start:  # an edited directory: no archive ends there
                raise corrupt
            stop = start + first


def _is_folder_record(info):
    """Whether a zip record is marked as a folder (by its name, or its DOS or Unix mode)."""
    return (
        info.is_dir() or bool(info.external_attr & 0x10) or stat.S_ISDIR(info.external_attr >> 16)
    )


def _check_integrity(path, where, start, stop):
    """Refuse an archive whose bytes were damaged: torch.load does not check the CRCs.

    The bytes tested are those torch read, ``[start, stop)``; see :func:`_archive_end`.
    """
    opened = contextlib.nullcontext(path) if hasattr(path, "read") else open(path, "rb")
    try:
        with opened as file, zipfile.ZipFile(_Slice(file, start, stop)) as archive:
            # the checksums do not cover the directory's attributes: a record flagged as a
            # folder is skipped by torch, which then leaves its tensor's memory as it was
            folders = [info.filename for info in archive.infolist() if _is_folder_record(info)]
            damaged = None if folders else archive.testzip()
    except (zipfile.BadZipFile, NotImplementedError, UnicodeDecodeError, EOFError) as exc:
        raise ValueError(
            f"load_weights: {where} is corrupt: its zip directory cannot be read "
            f"({type(exc).__name__}: {exc}; a damaged copy or an edited file). Copy it again "
            "or save the estimator again with save_weights."
        ) from exc
    if folders:
        raise ValueError(
            f"load_weights: {where} is corrupt: its zip directory marks {folders[0]!r} as a "
            "folder, so its data would not be read (a damaged copy or an edited file). Copy it "
            "again or save the estimator again with save_weights."
        )
    if damaged is not None:
        raise ValueError(
            f"load_weights: {where} is corrupt: the stored bytes of {damaged!r} do not match "
            "their checksum (a damaged copy or an edited file). Copy it again or save the "
            "estimator again with save_weights."
        )


_NOT_WEIGHTS_ONLY = (
    "load_weights: {where} is not a weights-only file: it holds Python objects that a "
    "weights-only load refuses, so it is probably a pickle or joblib file. Such files can run "
    "code when loaded; open them with joblib.load only if you trust their source, or ask for "
    "a file written by save_weights."
)


def _head(path, start, n=2):
    """The first ``n`` bytes at ``start`` of ``path`` (b"" when unreadable)."""
    try:
        if hasattr(path, "read"):
            path.seek(start)
            return path.read(n)
        with open(path, "rb") as handle:
            return handle.read(n)
    except OSError:
        return b""


def _starts_as_zip(path, start):
    """Whether the bytes at ``start`` of ``path`` open a zip archive (a damaged weights
    file, rather than a pickle)."""
    return _head(path, start) == b"PK"


def _npz_arrays(path, start):
    """The array names of a NumPy .npz at ``path`` (from ``start``), or [] if it is not one."""
    import zipfile

    try:
        if hasattr(path, "read"):
            path.seek(start)
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return []
    if names and all(name.endswith(".npy") for name in names):
        return [name[: -len(".npy")] for name in names]
    return []


def _read(path):
    where = "the file object" if hasattr(path, "read") else repr(_fspath(path, "load_weights"))
    if hasattr(path, "read") and not _seekable(path):
        raise io.UnsupportedOperation(
            "load_weights: the file object cannot seek (a pipe, a socket or a network "
            "stream), and a weights file is a zip archive, read by seeking. Read it into "
            "memory first: load_weights(io.BytesIO(f.read()))."
        )
    if not hasattr(path, "read"):
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"load_weights: {where} does not exist. Check the path (relative paths are "
                f"resolved from {os.getcwd()!r})."
            )
        if os.path.isdir(path):
            raise IsADirectoryError(
                f"load_weights: {where} is a folder; pass the file written by save_weights."
            )
        with open(path, "rb") as handle:
            head = handle.read(4)
        # save_weights writes a zip archive (torch's format); a pickle starts with the
        # PROTO opcode; anything else (text, a .npz's .npy member...) is neither
        if not head:
            raise ValueError(
                f"load_weights: {where} is empty (0 bytes): a corrupt or truncated copy. Copy it "
                "again, or save the estimator again with save_weights."
            )
        if head[:2] != b"PK" and head[:1] != b"\x80":
            raise ValueError(
                f"load_weights: {where} is not a weights file (it is neither a zip archive, as "
                "save_weights writes, nor a pickle): a wrong path, or another kind of file. "
                "Pass a file written by save_weights."
            )
    start = path.tell() if hasattr(path, "read") else 0  # where torch starts to read
    if _head(path, start, 1) == b"\x80":
        # a pickle (save_weights always writes a zip archive): refused before torch, which
        # would warn about its protocol first
        if hasattr(path, "read"):
            path.seek(start)
        raise ValueError(_NOT_WEIGHTS_ONLY.format(where=where))
    stop, end = _archive_end(path, start, where)
    source = path
    if hasattr(path, "read"):
        path.seek(start)
        if stop not in (None, end):  # torch would read the last archive's end record
            source = _Slice(path, start, stop)
    try:
        payload = torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only load failed" in str(exc).lower() and _starts_as_zip(path, start):
            raise ValueError(
                f"load_weights: {where} is corrupt or truncated: a damaged zip archive (torch "
                "fell back to reading it as a pickle). Copy it again, or save the estimator "
                "again with save_weights."
            ) from exc
        if "weights only load failed" in str(exc).lower():
            raise ValueError(_NOT_WEIGHTS_ONLY.format(where=where)) from exc
        raise ValueError(
            f"load_weights: {where} is corrupt or truncated ({exc}). Save the estimator again "
            "with save_weights."
        ) from exc
    except Exception as exc:  # torch raises many types for damaged archives
        arrays = _npz_arrays(path, start)
        if arrays:
            raise ValueError(
                f"load_weights: {where} is not a weights file but a NumPy .npz of arrays "
                f"({', '.join(arrays[:4])}{', ...' if len(arrays) > 4 else ''}): data, not a "
                "fitted estimator. Pass the file that save_weights wrote."
            ) from exc
        raise ValueError(
            f"load_weights: {where} is corrupt, truncated, or not written by save_weights "
            f"({type(exc).__name__}: {exc}). Save the estimator again with save_weights."
        ) from exc
    if stop is not None:
        _check_integrity(path, where, start, stop)
        if hasattr(path, "read"):
            path.seek(stop)  # the next archive, if any, loads next
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError(
            f"load_weights: {where} is a torch file but not a semgaug_sk weights file (for "
            "instance a bare state_dict). Write it with semgaug_sk.persistence.save_weights."
        )
    version = payload.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ValueError(
            f"load_weights: {where} has an invalid format_version {version!r}; the file was "
            "edited or damaged. Save the estimator again with save_weights."
        )
    if version > WEIGHTS_FORMAT_VERSION:
        raise ValueError(
            f"load_weights: {where} was written in weights format version {version} (by "
            f"semgaug_sk {payload.get('semgaug_sk_version')}); this semgaug_sk reads versions up "
            f"to {WEIGHTS_FORMAT_VERSION}. Upgrade semgaug_sk (pip install -U semgaug_sk)."
        )
    return payload, where


def load_weights(path, *, device="cpu", estimator_type=None, params=None):
    """Rebuild a fitted estimator from a file written by :func:`save_weights`.

    The file is opened with ``torch.load(..., weights_only=True)``: it cannot run
    code, and only the estimator classes of this library can be built from it
    (see the module documentation for the trust model).

    Parameters
    ----------
    path : str, path-like or binary file object
        A file written by :func:`save_weights`. A file object must be seekable
        (read a stream into ``io.BytesIO(f.read())`` first); it is read from its
        position and left at the end of the archive read, so that files saved one
        after another into one file object load one after another.
    device : str, default="cpu"
        Where the networks are rebuilt: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or
        ``"auto"``. The ``device`` parameter of the estimator (and of the
        estimators inside it) is set to this value. The ``accelerator``
        parameter of an estimator trained with Accelerate is ``None``.
    estimator_type : class or tuple of classes, optional
        The expected estimator class, e.g. ``SASGAugmenter``: a file holding
        another one raises ``TypeError``.
    params : dict, optional
        Constructor parameters the file could not store (a custom
        ``torch.nn.Module``, a callable ``sampling_strategy``): pass the same
        objects as for training. The error for a file that needs them names
        them. A nested estimator's take scikit-learn's ``__`` names, e.g.
        ``{"encoder__module": MyNet}`` for a prior whose encoder had a custom
        module; the same name reaches the fitted ``encoder_``, also where the
        ``encoder`` parameter is None. The error names one such path at a time.

    Returns
    -------
    estimator : estimator
        The fitted estimator.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        When the file is corrupt or truncated, is a pickle/joblib file or
        another torch file, was written by a newer format version, or needs
        ``params``; ``io.UnsupportedOperation`` (a ValueError) for a file object
        that cannot seek.
    TypeError
        When the file holds another estimator class than ``estimator_type``.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from semgaug_sk.encoders import SemanticEncoder
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 2, 16)).astype("float32"); y = np.repeat(["a", "b"], 15)
    >>> enc = SemanticEncoder(embedding_dim=4, n_filters=8, max_epochs=2, random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "encoder.pt")
    >>> save_weights(enc, path)
    >>> loaded = load_weights(path, estimator_type=SemanticEncoder)
    >>> bool((loaded.predict_proba(X) == enc.predict_proba(X)).all()), loaded.classes_.tolist()
    (True, ['a', 'b'])
    """
    resolved = resolve_device(device)
    if params is not None and not isinstance(params, Mapping):
        raise TypeError(
            f"load_weights: params must be a dict {{parameter name: value}}; got {params!r}."
        )
    payload, where = _read(_path_or_binary_file(path, "load_weights", writing=False))
    try:
        cls = _registered_class(payload["estimator"])
    except ValueError as exc:
        raise ValueError(f"load_weights: {where}: {exc}") from exc
    except KeyError as exc:
        raise ValueError(f"load_weights: {where} is malformed (no {exc}).") from exc
    if estimator_type is not None:
        expected = estimator_type if isinstance(estimator_type, tuple) else (estimator_type,)
        if not expected or not all(isinstance(t, type) for t in expected):
            raise TypeError(
                f"load_weights: estimator_type must be a class or a tuple of classes (e.g. "
                f"estimator_type=SASGAugmenter); got {estimator_type!r}."
            )
        if not issubclass(cls, expected):
            names = " or ".join(getattr(t, "__name__", repr(t)) for t in expected)
            raise TypeError(
                f"load_weights: {where} holds {_a(cls.__name__)}, not {_a(names)}. Load the file "
                f"as {_a(cls.__name__)}, or pick the file saved from {_a(names)}."
            )
    if not isinstance(payload.get("state"), Mapping):
        # save_weights always stores the fitted state (it refuses unfitted estimators)
        raise ValueError(
            f"load_weights: {where} is malformed (no fitted state, which every file "
            "save_weights writes holds: an edited file). Save the estimator again."
        )
    obj = {_TAG: "estimator", "class": payload["estimator"]}
    obj["params"], obj["state"] = payload.get("params"), payload.get("state")
    if "config" in payload:
        obj["config"] = payload["config"]
    try:
        return _decode_estimator(
            obj, device=resolved, device_param=device, overrides=params, where=where
        )
    except _UnknownParameters as exc:
        writer = payload.get("semgaug_sk_version")
        here = importlib.import_module("semgaug_sk").__version__
        raise ValueError(
            f"load_weights: {where} was written by semgaug_sk {writer} with {exc.cls_name} "
            f"parameters {exc.names!r} that this semgaug_sk ({here}) does not have, so its "
            "model cannot be rebuilt as it was. Load it with the semgaug_sk version that wrote "
            "it (pip install semgaug_sk==<that version>; upgrade if it is newer), or train the "
            "estimator again."
        ) from None
    except (_Malformed, KeyError, IndexError, AttributeError, TypeError, ValueError) as exc:
        if type(exc) is ValueError and str(exc).startswith("load_weights:"):
            raise  # our own message (parameters to pass again, unknown overrides)
        named = re.search(r"The '(\w+)' parameter", str(exc))
        if isinstance(exc, InvalidParameterError) and named and named.group(1) in (params or {}):
            raise  # the caller's params= (scikit-learn names the parameter and its range)
        if isinstance(exc, InvalidParameterError):
            raise ValueError(
                f"load_weights: {where} stores a parameter value this estimator refuses "
                f"({exc}); the file was altered or written by another version. Pass the "
                "parameter again (load_weights(..., params={name: value})) or save the "
                "estimator again."
            ) from exc
        raise ValueError(
            f"load_weights: {where} is malformed ({type(exc).__name__}: {exc}); it was not "
            "written by save_weights or was altered. Save the estimator again."
        ) from exc

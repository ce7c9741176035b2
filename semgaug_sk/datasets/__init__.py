"""Dataset loaders and the sEMG simulator.

Every function returns a *recording*: a :class:`sklearn.utils.Bunch` with ``emg``
``(n_samples, n_channels)`` float32, ``fs`` in Hz and per-sample integer arrays
``label`` (0 = rest or unlabelled), ``repetition``, ``subject`` and ``session``,
plus metadata. Cut it into windows with :func:`semgaug_sk.windows.sliding_windows`.

- :func:`load_ninapro`: NinaPro ``.mat`` files (DB1, DB2, ...).
- :func:`load_myo_armband`: the Côté-Allard Myo armband dataset (7 gestures, 200 Hz).
- :func:`load_uci_gestures`: the UCI "EMG data for gestures" Myo recordings, resampled.
- :func:`make_semg_gestures`: a seeded simulator of multi-channel sEMG gestures.

These modules use numpy and scipy only (no torch).
"""

from .myo import load_myo_armband
from .ninapro import MissingVariableError, load_ninapro
from .simulator import make_semg_gestures
from .uci import load_uci_gestures

__all__ = [
    "MissingVariableError",
    "load_ninapro",
    "load_myo_armband",
    "load_uci_gestures",
    "make_semg_gestures",
]

"""Honest early stopping after augmentation: networks validate on real windows only.

A sampler of this library records which rows of the array it returns are real and which
real window each synthetic row was made from; a network fitted on that very array holds
out real windows only and drops the synthetic copies of the held-out ones.
"""

from __future__ import annotations

import gc
import os
import warnings

import numpy as np
import pytest
from imblearn.pipeline import Pipeline

from semgaug_sk import ClassicAugmenter, SemanticEncoder, SpatioTemporalClassifier
from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.utils.provenance import (
    Provenance,
    chain_provenance,
    current_provenance,
    fitting_on,
    provenance_of,
    record_provenance,
)
from semgaug_sk.windows import sliding_windows


def _spy_on_split(monkeypatch, cls, every_call=False):
    """Record what ``cls._validation_split`` sees: the current record and the split.

    Returns a dict of the last call, or with ``every_call`` a list of one dict per call.
    """
    calls, original = [], cls._validation_split

    def spy(self, y=None, *, seed, n=None):
        split = original(self, y, seed=seed, n=n)
        calls.append({"provenance": current_provenance(), "split": split})
        last.update(calls[-1])
        return split

    last = {}
    monkeypatch.setattr(cls, "_validation_split", spy)
    return calls if every_call else last


@pytest.fixture(scope="module")
def windows():
    rec = make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=3, fs=200.0, random_state=0)
    w = sliding_windows(rec, window_ms=100, step_ms=100)
    return w.X, np.array(["fist", "open", "pinch"])[w.y - 1]


def test_record_follows_the_rows_not_the_object():
    X = np.arange(40, dtype=np.float32).reshape(5, 2, 4)
    record_provenance(X, 3, [2, -1])
    p = provenance_of(X)
    assert p.n_real == 3 and p.sources.tolist() == [2, -1]
    assert p.is_real.tolist() == [True, True, True, False, False]
    assert p.rows_made_from([2]).tolist() == [3]
    # an exact copy (e.g. from a Pipeline's memory cache) has the same rows: the same record
    assert provenance_of(X.copy()) == p
    # a slice, a cast or a reordering is other rows: no record
    assert provenance_of(X[:4]) is None and provenance_of(X.astype(np.float64)) is None
    assert provenance_of(X[::-1].copy()) is None
    # reordered in place, the object no longer holds the rows the record describes
    Y = X.copy()
    record_provenance(Y, 3, [2, -1])
    Y[:] = Y[[4, 3, 2, 1, 0]]
    assert provenance_of(Y) is None
    key = id(X)
    del X, p
    gc.collect()
    from semgaug_sk.utils import provenance as module

    assert key not in module._RECORDS  # the record goes with the array


def test_a_wrong_number_of_sources_claims_nothing():
    X = np.zeros((4, 1, 2))
    record_provenance(X, 2, [0])
    assert provenance_of(X).sources.tolist() == [-1, -1]


def test_classic_records_the_source_of_every_copy(windows):
    X, y = windows
    aug = ClassicAugmenter(random_state=0)
    X_res, y_res = aug.fit_resample(X, y)
    p = provenance_of(X_res)
    assert p.n_real == len(X) and p.n_rows == len(X_res)
    assert (p.sources >= 0).all()
    np.testing.assert_array_equal(y[p.sources], y_res[len(X) :])  # a copy keeps its class


def test_networks_validate_on_real_windows_they_never_saw_in_any_form(windows, monkeypatch):
    X, y = windows
    X_res, y_res = ClassicAugmenter(random_state=0).fit_resample(X, y)
    p = provenance_of(X_res)
    clf = SpatioTemporalClassifier(
        min_steps=None, validation_fraction=0.25, max_epochs=1, random_state=0
    )
    y_codes = np.unique(y_res, return_inverse=True)[1]
    with fitting_on(X_res):
        train, valid = clf._validation_split(y_codes, seed=0)
    assert (valid < p.n_real).all()  # only real windows are held out
    made_from_valid = p.rows_made_from(valid)
    assert len(made_from_valid) > 0
    assert not np.isin(made_from_valid, train).any()  # their copies are not trained on
    assert np.union1d(train, np.union1d(valid, made_from_valid)).tolist() == list(range(len(X_res)))
    assert len(np.unique(y_codes[valid])) == 3  # still stratified

    # the same happens inside an imblearn Pipeline, where the network sees only (X, y)
    seen = _spy_on_split(monkeypatch, SemanticEncoder)
    Pipeline(
        [
            ("aug", ClassicAugmenter(random_state=0)),
            ("net", SemanticEncoder(n_filters=4, embedding_dim=4, max_epochs=1, random_state=0)),
        ]
    ).fit(X, y)
    assert isinstance(seen["provenance"], Provenance)
    assert seen["provenance"].n_real == len(X)
    assert (seen["split"][1] < len(X)).all()


def test_a_scaler_between_sampler_and_network_passes_the_record_on(windows, monkeypatch):
    from semgaug_sk.preprocessing import WindowStandardizer

    X, y = windows
    seen = _spy_on_split(monkeypatch, SemanticEncoder)
    pipe = Pipeline(
        [
            ("aug", ClassicAugmenter(random_state=0)),
            ("scale", WindowStandardizer()),
            ("net", SemanticEncoder(n_filters=4, embedding_dim=4, max_epochs=1, random_state=0)),
        ]
    )
    pipe.fit(X, y)
    assert isinstance(seen["provenance"], Provenance)
    assert seen["provenance"].n_real == len(X)
    assert (seen["split"][1] < len(X)).all()
    # the scaled array carries the sampler's record, sources included
    X_res, _ = ClassicAugmenter(random_state=0).fit_resample(X, y)
    scaled = WindowStandardizer().fit_transform(X_res)
    np.testing.assert_array_equal(provenance_of(scaled).sources, provenance_of(X_res).sources)
    assert provenance_of(WindowStandardizer().fit_transform(X)) is None  # no record, none made


def test_a_step_that_drops_the_record_is_named_in_a_warning(windows, monkeypatch):
    from sklearn.preprocessing import FunctionTransformer

    X, y = windows
    seen = _spy_on_split(monkeypatch, SemanticEncoder)
    pipe = Pipeline(
        [
            ("aug", ClassicAugmenter(random_state=0)),
            ("log", FunctionTransformer(np.abs)),  # keeps the rows, drops the record
            ("net", SemanticEncoder(n_filters=4, embedding_dim=4, max_epochs=1, random_state=0)),
        ]
    )
    with pytest.warns(UserWarning, match=r"carry no record .*pass_on_provenance\(X, Xt\)"):
        pipe.fit(X, y)
    assert seen["provenance"] is None


def test_without_a_record_the_split_is_the_plain_one(windows):
    X, y = windows
    clf = SpatioTemporalClassifier(
        min_steps=None, validation_fraction=0.25, max_epochs=1, random_state=0
    )
    y_codes = np.unique(y, return_inverse=True)[1]
    assert current_provenance() is None
    train, valid = clf._validation_split(y_codes, seed=0)
    assert len(train) + len(valid) == len(X)


@pytest.mark.parametrize(
    "make",
    [
        lambda: SemanticEncoder(
            embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=2, random_state=0
        ),  # a shuffled split
        lambda: SpatioTemporalClassifier(
            min_steps=None, max_epochs=2, n_temporal=4, random_state=0
        ),  # sorted
    ],
)
def test_a_set_recorded_as_all_real_trains_as_the_same_set_without_a_record(windows, make):
    X, y = windows
    plain = make().fit(X.copy(), y)
    recorded = X.copy()
    record_provenance(recorded, len(recorded))
    with_record = make().fit(recorded, y)
    np.testing.assert_array_equal(with_record.predict_proba(X), plain.predict_proba(X))
    est = make()
    y_codes = np.unique(y, return_inverse=True)[1]
    with fitting_on(recorded):
        split = est._validation_split(y_codes, seed=0)
    for a, b in zip(split, est._validation_split(y_codes, seed=0), strict=True):
        np.testing.assert_array_equal(a, b)


def test_two_samplers_in_a_row_keep_the_real_rows_and_the_real_sources(windows, monkeypatch):
    # the second sampler used to record every row it was given as real: copies made by
    # the first were then held out for validation
    X, y = windows
    first = ClassicAugmenter(ratio=1.0, random_state=0)
    second = ClassicAugmenter(ratio=1.0, random_state=1)
    X1, y1 = first.fit_resample(X, y)
    X2, y2 = second.fit_resample(X1, y1)
    p = provenance_of(X2)
    assert p.n_real == len(X) and p.n_rows == len(X2)
    assert (p.sources >= 0).all() and (p.sources < len(X)).all()  # real windows only
    np.testing.assert_array_equal(y[p.sources], y2[len(X) :])

    seen = _spy_on_split(monkeypatch, SemanticEncoder)
    net = SemanticEncoder(
        n_filters=4, embedding_dim=4, max_epochs=1, validation_fraction=0.25, random_state=0
    )
    Pipeline([("a1", first), ("a2", second), ("net", net)]).fit(X, y)
    train, valid = seen["split"]
    record = seen["provenance"]
    assert (valid < len(X)).all()
    assert not np.isin(record.rows_made_from(valid), train).any()


def test_a_pipeline_memory_cache_hit_keeps_the_record(windows, monkeypatch, tmp_path):
    # the cache returns a copy of the sampler's output: it used to have no record
    X, y = windows
    calls = _spy_on_split(monkeypatch, SpatioTemporalClassifier, every_call=True)
    for lr in (1e-3, 3e-3):  # the second fit is a cache hit for the sampler
        net = SpatioTemporalClassifier(
            min_steps=None, max_epochs=1, n_temporal=4, lr=lr, random_state=0
        )
        aug = ClassicAugmenter(random_state=0)
        Pipeline([("aug", aug), ("net", net)], memory=str(tmp_path)).fit(X, y)
    seen = [call["provenance"] for call in calls]
    assert len(seen) == 2 and all(p is not None and p.n_real == len(X) for p in seen)


def test_a_split_that_would_leave_a_class_out_of_training_is_skipped_with_a_warning():
    # the totals allowed it, but stratified rounding left the 2-window class out of training
    y = np.repeat([0, 1], [2, 100])
    enc = SemanticEncoder(validation_fraction=0.8)
    with pytest.warns(UserWarning, match=r"would leave 1 class\(es\) out of the training"):
        train, valid = enc._plain_split(y, seed=0, n=len(y))
    assert valid is None and len(train) == len(y)
    # out of validation only: early stopping on the other classes, as before
    y = np.repeat(np.arange(7), [4, 4, 40, 40, 40, 40, 40])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train, valid = enc.set_params(validation_fraction=0.1)._plain_split(y, seed=0, n=len(y))
    assert valid is not None and set(y[train]) == set(range(7))


@pytest.mark.parametrize(
    "make",
    [
        lambda: SpatioTemporalClassifier(
            min_steps=None, max_epochs=2, n_temporal=4, random_state=0
        ),
        lambda: SemanticEncoder(embedding_dim=4, n_filters=4, max_epochs=2, random_state=0),
    ],
)
def test_prediction_is_skorchs_and_leaves_the_callers_generator_alone(windows, make):
    # skorch's DataLoader drew a seed from torch's global generator at every prediction
    import torch

    X, y = windows
    net = make().fit(X, y)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    proba = net.predict_proba(X)
    assert torch.equal(torch.rand(3), expected)
    np.testing.assert_array_equal(proba, net.net_.predict_proba(net._net_input(net._check_X(X))))


def test_inputs_are_prepared_chunk_by_chunk_with_the_same_results():
    # SemanticEncoder standardised all windows (float64) before batching: memory grew with
    # the data; chunks of whole batches give the very same batches and results
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2, 16)).astype(np.float32)
    y = np.arange(300) % 3
    enc = SemanticEncoder(
        embedding_dim=4, n_filters=4, max_epochs=1, batch_size=4, random_state=0
    ).fit(X, y)
    assert len(X) > enc.batch_size * enc._INPUT_CHUNK_BATCHES  # several chunks
    np.testing.assert_array_equal(enc.transform(X), enc._embed(enc._net_input(X)))
    np.testing.assert_array_equal(enc.predict_proba(X), enc.net_.predict_proba(enc._net_input(X)))


@pytest.mark.parametrize("standardize", [False, True])
def test_a_warm_cache_in_a_later_process_trains_the_same_network(
    windows, monkeypatch, tmp_path, standardize
):
    # the cache reloads the sampler's output and the fitted sampler from disk in a later
    # process, where no record exists: the sampler carries its output's record and
    # registers it again when unpickled, so the split (and the network) is the cold one's.
    # A WindowStandardizer after it is reloaded the same way, with its own output: it
    # carries that output's record too (it had none, so the network split plainly)
    import semgaug_sk.utils.provenance as provenance
    from semgaug_sk.preprocessing import WindowStandardizer

    X, y = windows
    calls = _spy_on_split(monkeypatch, SpatioTemporalClassifier, every_call=True)

    def fit():
        net = SpatioTemporalClassifier(
            min_steps=None, max_epochs=2, n_temporal=4, validation_fraction=0.3, random_state=0
        )
        steps = [("aug", ClassicAugmenter(random_state=0))]
        steps += [("std", WindowStandardizer())] if standardize else []
        pipe = Pipeline([*steps, ("net", net)])
        pipe.set_params(memory=str(tmp_path))
        return pipe.fit(X, y)

    cold = fit()
    monkeypatch.setattr(provenance, "_RECORDS", {})  # a later process: nothing recorded
    monkeypatch.setattr(provenance, "_BY_CONTENT", type(provenance._BY_CONTENT)())
    warm = fit()
    assert calls[1]["provenance"] is not None
    assert calls[1]["provenance"].n_real == calls[0]["provenance"].n_real == len(X)
    np.testing.assert_array_equal(calls[1]["split"][1], calls[0]["split"][1])
    np.testing.assert_array_equal(warm.predict_proba(X), cold.predict_proba(X))


def test_the_record_stays_out_of_weight_files(windows, tmp_path):
    from semgaug_sk.persistence import fitted_attributes

    X, y = windows
    aug = ClassicAugmenter(random_state=0)
    aug.fit_resample(X, y)
    assert aug._output_provenance["n_real"] == len(X)
    assert "_output_provenance" not in fitted_attributes(aug)


def test_interpolants_list_both_parents_and_chains_keep_them():
    # a SMOTE row is made from two real windows: holding either out drops it
    first = Provenance(3, np.array([[0, 1], [2, -1]]))
    assert first.rows_made_from([1]).tolist() == [3] and first.rows_made_from([2]).tolist() == [4]
    # a later sampler copying rows 4 (made from 2), 3 (from 0 and 1), 1, and nothing
    n_real, sources = chain_provenance(first, 5, np.array([4, 3, 1, -1]))
    assert n_real == 3
    assert sources.tolist() == [[0, 1], [2, -1], [2, -1], [0, 1], [1, -1], [-1, -1]]
    assert Provenance(n_real, sources).rows_made_from([1]).tolist() == [3, 6, 7]
    # one parent before, two now
    n_real, sources = chain_provenance(Provenance(2, np.array([1])), 3, np.array([[0, 2]]))
    assert sources.tolist() == [[1, -1], [0, 1]]


def test_a_function_sampler_of_your_own_records_its_real_rows(windows, monkeypatch):
    """imblearn's FunctionSampler returns what its function returns (``validate=False``:
    3-D windows), so a function that records its output keeps early stopping honest."""
    from imblearn import FunctionSampler

    def mirror_copies(X, y):
        X_res = np.concatenate([X, -X])  # real windows first, then one copy of each
        record_provenance(X_res, len(X), sources=np.arange(len(X)))
        return X_res, np.concatenate([y, y])

    X, y = windows
    seen = _spy_on_split(monkeypatch, SemanticEncoder)
    net = SemanticEncoder(n_filters=4, embedding_dim=4, max_epochs=1, random_state=0)
    Pipeline([("aug", FunctionSampler(func=mirror_copies, validate=False)), ("net", net)]).fit(X, y)
    train, valid = seen["split"]
    assert seen["provenance"].n_real == len(X)
    assert (valid < len(X)).all()  # real windows only are held out
    assert not np.isin(valid + len(X), train).any()  # and their mirror copies are not trained on

    # without the record, the plain split (and a warning, as a sampler just made that many rows)
    def unrecorded(X, y):
        return np.concatenate([X, 2 * X]), np.concatenate([y, y])

    seen = _spy_on_split(monkeypatch, SemanticEncoder)
    unrecorded_pipe = Pipeline(
        [("aug", FunctionSampler(func=unrecorded, validate=False)), ("net", net)]
    )
    with pytest.warns(UserWarning, match="carry no record"):
        unrecorded_pipe.fit(X, y)
    assert seen["provenance"] is None


def test_a_sampler_after_a_step_that_dropped_the_record_says_so(windows):
    # it counted the earlier sampler's synthetic windows as real, silently
    from sklearn.preprocessing import FunctionTransformer

    X, y = windows
    first = ClassicAugmenter(random_state=0)
    X1, y1 = first.fit_resample(X, y)
    X2 = FunctionTransformer(lambda Z: Z * 1000.0).fit_transform(X1)  # the record is dropped
    with pytest.warns(UserWarning, match=r"ClassicAugmenter: these \d+ windows carry no record"):
        ClassicAugmenter(random_state=1).fit_resample(X2, y1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ClassicAugmenter(random_state=1).fit_resample(X1, y1)  # the record: no warning


def _a_fold_output_as_many_as_the_set(windows):
    """``(X, y, X_fold)``: an even number of real windows, and the output of ClassicAugmenter
    (ratio 1) on every other one, as many rows as ``X`` (a 2-fold CV's training output)."""
    X, y = windows
    n = len(X) - len(X) % 2
    X, y = X[:n], y[:n]
    fold = np.arange(n) % 2 == 0
    X_fold, _ = ClassicAugmenter(ratio=1.0, random_state=0).fit_resample(X[fold], y[fold])
    return X, y, X_fold


def test_real_windows_as_many_as_an_earlier_output_are_not_taken_for_it(windows):
    # a grid search's final fit on all the windows its folds augmented: as many rows as a
    # fold's output, other labels; the row count alone warned about every such fit
    X, y, X_fold = _a_fold_output_as_many_as_the_set(windows)
    n = len(X)
    order = np.random.default_rng(0).permutation(n)  # all the real windows, shuffled
    assert len(X_fold) == n
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ClassicAugmenter(random_state=0).fit_resample(X[order], y[order])
        # nor a network early-stopping on them (it compares the labels as given)
        SemanticEncoder(n_filters=4, embedding_dim=4, max_epochs=1, validation_fraction=0.2).fit(
            X[order], y[order]
        )


def test_a_scaled_fold_output_is_not_taken_for_real_windows_as_many(windows):
    # a transformer passing the record on registered its output again without labels,
    # which matched any labels of as many rows: every later fit on real windows of that
    # size warned (cross-validation with ratio=1 over 2 folds)
    from semgaug_sk.preprocessing import WindowStandardizer

    X, y, X_fold = _a_fold_output_as_many_as_the_set(windows)
    n = len(X)
    scaled = WindowStandardizer().fit_transform(X_fold)
    assert len(scaled) == n and provenance_of(scaled).n_real == n // 2  # passed on
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ClassicAugmenter(random_state=0).fit_resample(X, y)
        SemanticEncoder(n_filters=4, embedding_dim=4, max_epochs=1, validation_fraction=0.2).fit(
            X, y
        )


def test_a_frozen_inner_sampler_s_sources_are_not_taken_for_this_set(windows):
    # a sampler fitted on other windows names rows of those: the composition used them as
    # rows of its own input (wrong parents, or an IndexError after another sampler)
    from sklearn.frozen import FrozenEstimator

    from semgaug_sk.augmentation import ComposedAugmenter

    X, y = windows
    half = len(X) // 2
    frozen = ClassicAugmenter(["scaling"], random_state=0).fit(X, y)
    aug = ComposedAugmenter(
        FrozenEstimator(frozen), ClassicAugmenter(["jitter"]), ratio=1.0, random_state=0
    )
    X_res, y_res = aug.fit_resample(X[half:], y[half:])
    assert aug.last_sources_ is None
    record = provenance_of(X_res)
    assert record.n_real == len(X) - half and (record.sources == -1).all()
    X_more, _ = ClassicAugmenter(random_state=0).fit_resample(X_res, y_res)  # chains
    assert provenance_of(X_more).n_real == len(X) - half
    # fitted here, its sources are this set's rows
    own = ComposedAugmenter(ClassicAugmenter(["scaling"]), ClassicAugmenter(["jitter"]), ratio=1.0)
    own.set_params(random_state=0).fit_resample(X[half:], y[half:])
    assert (own.last_sources_ >= 0).all() and own.last_sources_.max() < len(X) - half


def test_records_of_rows_that_do_not_exist_are_refused():
    X = np.zeros((4, 1, 3))
    for n_real, match in ((5, "n_real=5 must lie between 0 and the 4 rows"), (-1, "n_real=-1")):
        with pytest.raises(ValueError, match=match):
            record_provenance(X, n_real)
    with pytest.raises(ValueError, match=r"sources must index the n_real real rows \(0 to 1"):
        record_provenance(X, 2, [0, 7])
    with pytest.raises(TypeError, match="X must be the numpy array returned"):
        record_provenance([[0.0]] * 4, 2)
    with pytest.raises(ValueError, match=r"chain_provenance: sources must index the 5 input"):
        chain_provenance(None, 5, np.array([0, 9]))


def test_a_sampler_that_makes_nothing_after_interpolants_keeps_their_record():
    # a 2-D record followed by ratio=0 (the grid's "no augmentation" point) crashed
    first = Provenance(3, np.array([[0, 1]]))
    n_real, sources = chain_provenance(first, 4, np.empty(0, dtype=np.int64))
    assert n_real == 3 and sources.tolist() == [[0, 1]]


def test_a_split_of_the_real_rows_names_them_and_all_it_was_given(windows, monkeypatch):
    X, y = windows
    rare = np.array(y, dtype=object)
    rare[: len(rare) - 1] = "fist"  # one window of the other class
    X_res, y_res = ClassicAugmenter(random_state=0).fit_resample(X, rare)
    net = SemanticEncoder(n_filters=4, embedding_dim=4, max_epochs=1, validation_fraction=0.3)
    with pytest.warns(UserWarning, match=rf"{len(X)} real windows of the {len(X_res)} given"):
        net.fit(X_res, y_res)


def test_a_network_names_the_keyword_it_would_ignore(windows):
    X, y = windows
    with pytest.raises(TypeError, match=r"\['sample_weight'\].*Per-class weights: class_weight="):
        SpatioTemporalClassifier(min_steps=None, max_epochs=1).fit(
            X, y, sample_weight=np.ones(len(y))
        )
    with pytest.raises(TypeError, match=r"\['epochs'\]: it takes only X and y"):
        SemanticEncoder(max_epochs=1).fit(X, y, epochs=3)


def _split_in_a_worker(X_res, y_res, record):
    """Run in a joblib worker: the array arrives without a record unless one is carried."""
    if record is not None:
        record_provenance(X_res, record.n_real, record.sources)
    clf = SpatioTemporalClassifier(
        min_steps=None, validation_fraction=0.25, max_epochs=1, random_state=0
    )
    codes = np.unique(y_res, return_inverse=True)[1]
    with fitting_on(X_res):
        return provenance_of(X_res), clf._validation_split(codes, seed=0)


def test_a_record_carried_to_another_process_keeps_the_split_honest(windows):
    """A resampled array sent to a worker has no record there; carrying it restores the split."""
    from joblib import Parallel, delayed

    X, y = windows
    X_res, y_res = ClassicAugmenter(random_state=0).fit_resample(X, y)
    record = provenance_of(X_res)
    (lost, _), (kept, (train, valid)) = Parallel(n_jobs=2, backend="loky")(
        delayed(_split_in_a_worker)(X_res, y_res, r) for r in (None, record)
    )
    assert lost is None  # the documented limit: no record in another process
    assert kept.n_real == len(X)
    np.testing.assert_array_equal(kept.sources, record.sources)
    assert (valid < len(X)).all()
    assert not np.isin(record.rows_made_from(valid), train).any()


def _record_seen_in_worker(X):
    record = provenance_of(X)
    return None if record is None else record.n_real


@pytest.mark.skipif(not hasattr(os, "register_at_fork"), reason="no fork on this system")
def test_a_forked_worker_sees_no_record_as_a_spawned_one_does(windows):
    # a fork inherited the content records: a copy sent to a worker kept its record on
    # Linux only, and the same code trained differently on macOS and Windows (spawn)
    import multiprocessing

    X, y = windows
    X_res, _ = ClassicAugmenter(random_state=0).fit_resample(X, y)
    assert provenance_of(X_res.copy()).n_real == len(X)  # an exact copy, in this process
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply(_record_seen_in_worker, (X_res,)) is None
    assert provenance_of(X_res.copy()).n_real == len(X)  # the parent keeps its records

"""Join runs of the augmentation benchmark that ran other methods on the same units.

A long benchmark is often run in parts by method: none, repeat, classic and SMOTE first
(no diffusion fit), the SASG rows later, each part with ``none`` as its own reference.
This script pairs the parts' units on (subject, seed), checks that every method they
share (at least ``none``) scored the same in each part, up to ``--tolerance``
(accuracy as a fraction), and writes one units log and one report
(``augmentation_<dataset>.md``/``.json``, as ``benchmarks/augmentation.py`` writes them)
holding every method: the sections that compare SASS with classic, SMOTE and ``repeat``
then read one table. Shared methods keep the first part's values; units missing from a
part are left out and named.

The parts must share the preset, the downstream models and the tracked network
parameters (``networks``, e.g. STC's ``min_steps``), and hold one dataset each.

Usage::

    python benchmarks/join_runs.py results/standard_floor/augmentation_db1.units.jsonl \\
        results/standard_floor_sasg/augmentation_db1.units.jsonl \\
        --dataset db1 --out results/standard_floor_joined
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import augmentation  # noqa: E402
from protocols import read_jsonl  # noqa: E402


def _part(path):
    """``(stamp, {(subject, seed): record})`` of one part's units log."""
    units = read_jsonl(path)
    if not units:
        raise FileNotFoundError(
            f"{path}: no units; give the augmentation_<dataset>.units.jsonl that "
            "benchmarks/augmentation.py writes into its --out folder."
        )
    stamps = {
        json.dumps(
            {
                "preset": u["preset"],
                "models": u["models"],
                "networks": augmentation._networks_of(u),
            },
            sort_keys=True,
        )
        for u in units
    }
    if len(stamps) > 1:
        raise ValueError(
            f"{path} mixes units of several presets, model sets or network settings; "
            "join one setting at a time."
        )
    records = {(u["record"]["subject"], u["record"]["seed"]): u["record"] for u in units}
    return json.loads(stamps.pop()), records


def join_records(parts, tolerance=0.0):
    """Join the records of several parts, paired on (subject, seed).

    Parameters
    ----------
    parts : list of dict
        ``{(subject, seed): record}`` per part, as logged by ``augmentation.py``.
    tolerance : float, default=0.0
        Largest difference of accuracy (a fraction) allowed between parts on a method they
        share.

    Returns
    -------
    joined : list of dict
        One record per (subject, seed) present in every part, sorted.
    report : dict
        ``shared`` (methods in more than one part), ``max_difference`` (the largest
        difference between parts on them) and ``left_out`` (units missing from a part).

    Examples
    --------
    >>> a = {("S1", 0): {"subject": "S1", "seed": 0, "n_train": 9, "n_test": 9,
    ...      "accuracy": {"lda": {"none": 0.5, "classic": 0.6}}, "quality": {},
    ...      "time": {"classic": 1.0}, "unit_seconds": 2.0, "code": "abc"}}
    >>> b = {("S1", 0): {"subject": "S1", "seed": 0, "n_train": 9, "n_test": 9,
    ...      "accuracy": {"lda": {"none": 0.5, "sasg_sass": 0.7}}, "quality": {},
    ...      "time": {"sasg_sass": 9.0}, "unit_seconds": 10.0, "code": "def"}}
    >>> joined, report = join_records([a, b])
    >>> joined[0]["accuracy"], joined[0]["code"], report["shared"]
    ({'lda': {'none': 0.5, 'classic': 0.6, 'sasg_sass': 0.7}}, 'abc+def', ['none'])
    """
    keys = set(parts[0])
    for part in parts[1:]:
        keys &= set(part)
    left_out = sorted({k for part in parts for k in part} - keys)
    if not keys:
        raise ValueError("the parts share no (subject, seed) unit; nothing to join.")
    joined, shared, worst = [], set(), 0.0
    for key in sorted(keys):
        first = parts[0][key]
        record = json.loads(json.dumps(first))
        for part in parts[1:]:
            other = part[key]
            for field in ("n_train", "n_test"):
                if other.get(field) != first.get(field):
                    raise ValueError(
                        f"unit {key}: {field} is {first.get(field)} in one part and "
                        f"{other.get(field)} in another; the parts split the data differently."
                    )
            if set(other["accuracy"]) != set(first["accuracy"]):
                raise ValueError(
                    f"unit {key}: the parts ran the models {sorted(first['accuracy'])} and "
                    f"{sorted(other['accuracy'])}; join parts run with the same --models."
                )
            for model, scores in other["accuracy"].items():
                for method, accuracy in scores.items():
                    if method in record["accuracy"][model]:
                        shared.add(method)
                        diff = abs(accuracy - record["accuracy"][model][method])
                        worst = max(worst, diff)
                        if diff > tolerance:
                            raise ValueError(
                                f"unit {key}, {model}, {method}: {record['accuracy'][model][method]:.4f} "
                                f"in one part and {accuracy:.4f} in another (tolerance {tolerance}); "
                                "the parts do not share their reference. Rerun one part, or raise "
                                "--tolerance knowingly."
                            )
                    else:
                        record["accuracy"][model][method] = accuracy
            for field in ("quality", "time"):
                record[field] = {**other.get(field, {}), **record.get(field, {})}
            # a part without SASS records an empty filter report
            if other.get("sass_filter") and not record.get("sass_filter"):
                record["sass_filter"] = other["sass_filter"]
            record["unit_seconds"] = record.get("unit_seconds", 0.0) + other.get(
                "unit_seconds", 0.0
            )
            record["code"] = f"{record.get('code')}+{other.get('code')}"
        joined.append(record)
    return joined, {"shared": sorted(shared), "max_difference": worst, "left_out": left_out}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("units", nargs="+", help="units logs of the parts (2 or more)")
    parser.add_argument("--dataset", required=True, help="the report's name, e.g. db1")
    parser.add_argument("--out", required=True)
    parser.add_argument("--tolerance", type=float, default=0.0)
    args = parser.parse_args(argv)
    if len(args.units) < 2:
        parser.error("give at least two units logs to join")
    stamped = [_part(Path(p)) for p in args.units]
    stamp = stamped[0][0]
    for path, (other, _) in zip(args.units[1:], stamped[1:], strict=True):
        if other != stamp:
            raise SystemExit(
                f"{path} was run with {other}, {args.units[0]} with {stamp}; join parts of "
                "one preset, one set of models and the same network settings."
            )
    out = Path(args.out)
    for path in args.units:
        if Path(path).resolve().parent == out.resolve():
            raise SystemExit(
                f"--out {args.out} holds the part {path}: the joined units log would "
                "overwrite it; write the join to a folder of its own."
            )
    records, report = join_records([r for _, r in stamped], tolerance=args.tolerance)
    out.mkdir(parents=True, exist_ok=True)
    methods = augmentation._record_methods(records)
    settings = augmentation.report_settings(dict(stamp, methods=methods))
    settings["joined_from"] = list(args.units)
    with (out / f"augmentation_{args.dataset}.units.jsonl").open("w") as fh:
        for record in records:
            fh.write(json.dumps(dict(stamp, methods=methods, record=record)) + "\n")
    runs = _parts_runs(args.units)
    note = (
        f"Joined by `benchmarks/join_runs.py` from {', '.join(args.units)}: {len(records)} "
        f"units; the methods the parts share ({', '.join(report['shared'])}) agree within "
        f"{report['max_difference']:.2g} (the first part's values are shown); the wall time "
        "is the parts' together"
        + (f"; left out (not in every part): {report['left_out']}" if report["left_out"] else "")
        + "."
    )
    md = augmentation.write_report(
        args.dataset,
        stamp["preset"],
        records,
        augmentation._total_wall(runs) if runs else None,
        [args.dataset],
        out,
        settings,
        runs=runs,
        notes=[note],
    )
    print(md)
    return 0


def _parts_runs(paths):
    """The invocations behind the parts (the ``runs`` of each ``augmentation_<name>.json``
    beside its units log), or None when a part has no finished report."""
    runs = []
    for path in paths:
        path = Path(path)
        if not path.name.endswith(".units.jsonl"):
            return None
        report = path.with_name(path.name[: -len(".units.jsonl")] + ".json")
        if not report.is_file():
            return None
        saved = json.loads(report.read_text())
        if not saved.get("runs") or saved.get("from_units_log"):
            return None
        runs += saved["runs"]
    return runs


if __name__ == "__main__":
    sys.exit(main())

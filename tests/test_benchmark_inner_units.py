"""The inner-split ablations' shared driver: units logged as they finish, resumed, reported."""

import argparse
import json

import pytest


@pytest.fixture(scope="module")
def units(load_benchmark):
    return load_benchmark("inner_units")


def _unit(dataset, subject, seed, cut):
    return {"dataset": dataset, "subject": subject, "seed": seed, "inner_split": cut}


def _report(out_dir):
    n = len((out_dir / "demo.jsonl").read_text().splitlines())
    (out_dir / "demo.md").write_text(f"{n} units\n")


def test_units_are_logged_resumed_and_reported(units, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(units, "subject_names", lambda dataset: ["A", "B", "C"])
    monkeypatch.setattr(units, "code_version", lambda: "abc1234")
    parser = argparse.ArgumentParser()
    units.add_unit_arguments(parser, out=str(tmp_path), subjects=2)
    args = parser.parse_args(["--datasets", "d", "--seeds", "0", "1", "--n-jobs", "1"])
    assert units.run_units(args, "demo", _unit, _report) == 0
    records = [json.loads(line) for line in (tmp_path / "demo.jsonl").read_text().splitlines()]
    assert sorted((r["subject"], r["seed"]) for r in records) == [
        ("A", 0),
        ("A", 1),
        ("B", 0),
        ("B", 1),
    ]
    assert {r["code"] for r in records} == {"abc1234"}
    assert "4 units" in capsys.readouterr().out
    # a rerun with one more subject runs only what is missing
    args.subjects = 3
    units.run_units(args, "demo", _unit, _report)
    assert (tmp_path / "demo.md").read_text() == "6 units\n"
    # another inner split in the same folder is refused, not mixed in
    args.inner_split = "time"
    with pytest.raises(SystemExit, match="holds units of --inner-split auto"):
        units.run_units(args, "demo", _unit, _report)


def test_missing_shared_data_is_named_not_a_run_of_no_units(load_benchmark, monkeypatch, tmp_path):
    protocols = load_benchmark("protocols")
    monkeypatch.setattr(protocols, "SHARED", tmp_path / "absent")
    for dataset in ("db1", "myo", "uci"):
        with pytest.raises(FileNotFoundError, match=rf"the {dataset} data are not at .*absent"):
            protocols.subject_names(dataset)
    with pytest.raises(ValueError, match="unknown dataset 'emg'"):
        protocols.subject_names("emg")
    (tmp_path / "absent" / "ninapro_db1_e1").mkdir(parents=True)  # there, but empty
    with pytest.raises(FileNotFoundError, match="holds no subject of db1"):
        protocols.subject_names("db1")

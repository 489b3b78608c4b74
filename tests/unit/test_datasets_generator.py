"""The synthetic generator: the Kaggle data's properties at scale 1, determinism, and known defects."""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from retailstream.datasets import layout
from retailstream.datasets.generator import GenerationRequest, generate, store_table
from retailstream.datasets.loader import load, load_lenient
from retailstream.datasets.profile import profile_path

REAL_SALES_ROWS = 421_570
REAL_HOLIDAY_WEEKS_IN_SALES = [
    "2010-02-12",
    "2010-09-10",
    "2010-11-26",
    "2010-12-31",
    "2011-02-11",
    "2011-09-09",
    "2011-11-25",
    "2011-12-30",
    "2012-02-10",
    "2012-09-07",
]


@pytest.fixture(scope="module")
def scale_one(tmp_path_factory) -> tuple[Path, dict, float]:
    """The acceptance tree: scale 1, seed 42 (what `make data` writes)."""
    out = tmp_path_factory.mktemp("scale1")
    started = time.perf_counter()
    manifest = generate(out, GenerationRequest(scale=1, seed=42))
    return out / "incoming", manifest, time.perf_counter() - started


@pytest.fixture(scope="module")
def scale_one_profile(scale_one) -> dict:
    return profile_path(scale_one[0])


def test_scale_one_has_the_properties_of_the_kaggle_data(scale_one, scale_one_profile):
    _, manifest, seconds = scale_one
    profile = scale_one_profile

    assert seconds < 30
    assert profile["stores"] == 45
    assert profile["store_types"] == {"A": 22, "B": 17, "C": 6}
    assert profile["departments"] == 81
    assert profile["sales_weeks"] == 143
    assert (profile["first_sales_week"], profile["last_sales_week"]) == ("2010-02-05", "2012-10-26")
    assert profile["feature_weeks"] == 182
    assert profile["holiday_weeks_in_sales"] == REAL_HOLIDAY_WEEKS_IN_SALES
    assert profile["first_markdown_week"] == "2011-11-11"
    assert profile["first_week_without_cpi"] == "2013-05-03"
    assert 0 < profile["negative_sales"] < 0.01 * profile["rows"]["sales"]
    assert abs(profile["rows"]["sales"] / REAL_SALES_ROWS - 1) <= 0.02
    assert profile["rows"] == manifest["rows"] | {"sales": profile["rows"]["sales"]}
    assert profile["rows"]["features"] == 45 * 182
    assert profile["rows"]["store_traffic"] == 45 * 143
    assert sum(profile["rejected_rows"].values()) == 0

    missing = profile["missing_values"]
    weeks_before_markdowns, weeks_without_macro = 92, 13
    for number in range(1, 6):  # all missing before 2011-11-11, partly missing after
        assert missing["features"][f"markdown{number}"] > 45 * weeks_before_markdowns
    assert missing["features"]["cpi"] == missing["features"]["unemployment"] == 45 * weeks_without_macro
    assert missing["features"]["temperature"] == missing["features"]["fuel_price"] == 0
    for kind in ("sales", "stores", "store_traffic"):
        assert set(missing[kind].values()) == {0}


def test_scale_one_values_look_like_the_real_chain(scale_one):
    incoming, _, _ = scale_one
    stores = load(incoming / layout.STORES_FILE)
    features = pd.concat([load(path) for path in sorted((incoming / "features").glob("*.csv"))])
    traffic = load(incoming / layout.TRAFFIC_FILE)

    sizes = stores.groupby("store_type")["size"].agg(["min", "max"])
    assert sizes.loc["A", "min"] >= 150_000 and sizes.loc["A", "max"] <= 220_000
    assert sizes.loc["B", "min"] >= 35_000 and sizes.loc["B", "max"] <= 140_000
    assert sizes.loc["C", "min"] >= 35_000 and sizes.loc["C", "max"] <= 45_000

    assert (features["unemployment"] > 8).mean() > 0.1
    assert features["temperature"].between(-20, 110).all()
    july = features[features["week_date"].dt.month == 7]["temperature"].mean()
    january = features[features["week_date"].dt.month == 1]["temperature"].mean()
    assert july - january > 20
    fuel_by_year = features.groupby(features["week_date"].dt.year)["fuel_price"].mean()
    assert fuel_by_year[2011] - fuel_by_year[2010] > 0.5  # the 2011 price rise
    markdowns = features[[f"markdown{number}" for number in range(1, 6)]]
    assert (markdowns < 0).to_numpy().sum() > 0
    assert markdowns[features["week_date"] < "2011-11-11"].isna().all().all()
    assert features["is_holiday"].sum() == 45 * 13

    # Per store: departments 60..79; Thanksgiving and the week before Christmas beat an ordinary week.
    store_one = pd.concat([load(path) for path in sorted((incoming / "sales/store=01").glob("*.csv"))])
    departments = {
        path.name: load(path)["dept"].nunique()
        for path in (incoming / "sales").glob("store=*/sales_2011-07.csv")
    }
    assert min(departments.values()) >= 60 and max(departments.values()) <= 79
    weekly = store_one.groupby("week_date")["weekly_sales"].sum()
    ordinary = weekly.median()
    assert weekly[pd.Timestamp("2010-11-26")] > 1.2 * ordinary
    assert weekly[pd.Timestamp("2011-12-23")] > 1.2 * ordinary

    by_store = traffic.groupby("store")["customers"].mean()
    assert by_store.corr(stores.set_index("store")["size"]) > 0.5
    weekly_customers = traffic[traffic["store"] == 1].set_index("week_date")["customers"]
    assert weekly_customers.corr(weekly) > 0.8


def test_scale_one_looks_like_a_retail_chain(scale_one_profile):
    """The shapes of the real chain (issue 17), not its numbers."""
    chain = scale_one_profile["chain"]

    # The top store changes over time; several departments trade the top spot.
    assert chain["top_stores"]["distinct"] >= 3
    assert chain["top_stores"]["top"][0]["share_pct"] <= 50
    assert chain["top_departments"]["distinct"] >= 3
    assert chain["top_departments"]["top"][0]["share_pct"] < 100

    # Holiday weeks lift type B most, then A; type C hardly moves.
    uplift = chain["holiday_uplift_pct_by_type"]
    assert uplift["B"] > uplift["A"] > uplift["C"]
    assert uplift["A"] > 2 and abs(uplift["C"]) < 3

    # The weeks before Christmas and Thanksgiving are the year's peaks; January is the weakest month.
    largest = [week["label"] for week in chain["largest_weeks"]]
    assert set(largest[:4]) == {"before_christmas", "thanksgiving"}
    months = chain["month_index"]
    assert max(months, key=months.get) == "Dec" and min(months, key=months.get) == "Jan"

    assert 0 < chain["negative_sales_pct"] < 1
    assert chain["markdowns"]["first_week"] == "2011-11-11"
    assert chain["markdowns"]["store_weeks_pct"] > 95
    assert 0 < chain["markdowns"]["negative_amounts_pct"] < 2


def test_manifest_lists_every_file_with_its_sha256_and_rows(scale_one):
    incoming, manifest, _ = scale_one
    on_disk = sorted(str(path.relative_to(incoming)) for path in incoming.rglob("*.csv"))
    assert [entry["path"] for entry in manifest["files"]] == on_disk
    assert len([name for name in on_disk if name.startswith("sales/")]) == 45 * 33
    for entry in manifest["files"][:: len(on_disk) // 20]:
        data = (incoming / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data) == entry["bytes"]
    assert manifest["request"] == {"scale": 1, "seed": 42, "defects": 0, "stores": None}
    stores_file = (incoming / layout.STORES_FILE).read_bytes()
    assert b"\n" not in stores_file and stores_file.count(b"\r") == 46
    first_features = (incoming / "features/features_2010.csv").read_text().splitlines()[1]
    assert first_features.startswith("1,05/02/2010,") and first_features.endswith(",FALSE")


def _tree_bytes(incoming: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(incoming)): path.read_bytes() for path in incoming.rglob("*") if path.is_file()
    }


def test_same_seed_is_byte_identical_and_stores_do_not_depend_on_each_other(tmp_path, scale_one):
    request = GenerationRequest(scale=1, seed=42, stores=3)
    generate(tmp_path / "first", request)
    generate(tmp_path / "second", request)
    first = _tree_bytes(tmp_path / "first/incoming")
    assert first == _tree_bytes(tmp_path / "second/incoming")

    # A store's sales are the same whether 3 or 45 stores are generated.
    full = scale_one[0]
    for name in (name for name in first if name.startswith("sales/store=02/")):
        assert first[name] == (full / name).read_bytes()

    generate(tmp_path / "other", GenerationRequest(scale=1, seed=7, stores=3))
    other = _tree_bytes(tmp_path / "other/incoming")
    changed = [name for name in first if name.endswith(".csv") and first[name] != other.get(name)]
    assert len(changed) > 0.9 * len([name for name in first if name.endswith(".csv")])


def test_scale_continues_the_store_mix_deterministically():
    stores = store_table(42, 135)
    assert [store.store for store in stores] == list(range(1, 136))
    assert Counter(store.store_type for store in stores) == {"A": 66, "B": 51, "C": 18}
    assert store_table(42, 45) == stores[:45]
    assert [s.store_type for s in stores[45:90]] != [s.store_type for s in stores[:45]]


def test_scale_two_doubles_the_rows(tmp_path):
    manifest = generate(tmp_path, GenerationRequest(scale=2, seed=42))
    assert manifest["stores"] == 90
    assert abs(manifest["rows"]["sales"] / (2 * REAL_SALES_ROWS) - 1) <= 0.03
    assert (tmp_path / "incoming/sales/store=90").is_dir()


def test_defects_reconcile_input_with_loaded_quarantined_and_duplicates(tmp_path):
    manifest = generate(tmp_path, GenerationRequest(scale=1, seed=42, defects=14, stores=4))
    incoming = tmp_path / "incoming"
    defects = json.loads((incoming / layout.DEFECTS_NAME).read_text())
    assert defects["summary"] == {"bad_rows": 14, "duplicate_keys": 14}
    assert Counter(entry["kind"] for entry in defects["bad_rows"]) == {
        kind: 2
        for kind in (
            "bad_date",
            "non_numeric_sales",
            "missing_dept",
            "unknown_store",
            "not_a_friday",
            "wrong_field_count",
            "bad_holiday_flag",
        )
    }

    known = load(incoming / layout.STORES_FILE)["store"].tolist()
    valid, rejected = [], []
    for path in sorted((incoming / "sales").rglob("*.csv")):
        good, bad = load_lenient(path, known_stores=known, name=str(path.relative_to(incoming)))
        valid.append(good.assign(source=str(path.relative_to(incoming))))
        rejected.append(bad)
    valid, rejected = pd.concat(valid), pd.concat(rejected)

    assert sorted(zip(rejected["source"], rejected["line"], strict=True)) == sorted(
        (entry["file"], entry["line"]) for entry in defects["bad_rows"]
    )
    assert set(rejected["raw"]) == {entry["text"] for entry in defects["bad_rows"]}
    # An unknown store is a store id RDS could hold (SMALLINT UNSIGNED), just not one of the stores.
    kinds = {(entry["file"], entry["line"]): entry["kind"] for entry in defects["bad_rows"]}
    unknown = [
        reason
        for source, line, reason in rejected[["source", "line", "reason"]].itertuples(index=False)
        if kinds[(source, line)] == "unknown_store"
    ]
    assert len(unknown) == 2 and all(reason.startswith("unknown store id") for reason in unknown)

    # Newest file wins: a resubmission (_v2) replaces the keys it repeats.
    (resubmission,) = defects["resubmissions"]
    valid["version"] = valid["source"].str.contains("_v2").astype(int)
    newest = valid.sort_values("version").drop_duplicates(["store", "dept", "week_date"], keep="last")
    duplicates = len(valid) - len(newest)
    assert duplicates == resubmission["rows"] == 14
    assert manifest["rows"]["sales"] == len(newest) + len(rejected) + duplicates
    resent = newest[newest["version"] == 1]
    assert len(resent) == 14
    assert {
        (s, d, str(w.date())) for s, d, w in resent[["store", "dept", "week_date"]].itertuples(index=False)
    } == {tuple(key) for key in resubmission["keys"]}

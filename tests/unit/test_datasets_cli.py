"""`retailstream data …`: generate, prepare (synthetic or real Kaggle files) and profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from retailstream.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["data", *args])


def tree_bytes(incoming: Path) -> dict[str, bytes]:
    return {str(p.relative_to(incoming)): p.read_bytes() for p in incoming.rglob("*.csv")}


def test_generate_writes_the_tree_and_reports_it(tmp_path):
    result = run("generate", "--out", str(tmp_path), "--stores", "2", "--defects", "3", "--seed", "5")
    assert result.exit_code == 0, result.output
    assert "sales" in result.output and "injected 3 bad rows" in result.output
    manifest = json.loads((tmp_path / "incoming/_manifest.json").read_text())
    assert manifest["request"] == {"scale": 1, "seed": 5, "defects": 3, "stores": 2}
    assert (tmp_path / "incoming/_defects.json").is_file()


def test_prepare_generates_once_then_is_idempotent(tmp_path):
    first = run("prepare", "--out", str(tmp_path))
    assert first.exit_code == 0, first.output
    assert "generated (synthetic data)" in first.output
    before = tree_bytes(tmp_path / "incoming")

    second = run("prepare", "--out", str(tmp_path))
    assert "up to date" in second.output

    damaged = tmp_path / "incoming/sales/store=07/sales_2011-03.csv"
    damaged.write_text("Store,Dept,Date,Weekly_Sales,IsHoliday\n")
    third = run("prepare", "--out", str(tmp_path))
    assert "generated" in third.output
    assert tree_bytes(tmp_path / "incoming") == before


@pytest.fixture
def kaggle_dir(tmp_path) -> tuple[Path, dict[str, bytes]]:
    """Real-shaped Kaggle files ("Retail Data Analytics" names: dd/mm/yyyy, CRLF) made from a small tree."""
    source = tmp_path / "source"
    run("generate", "--out", str(source), "--stores", "2")
    incoming = source / "incoming"
    datasets = tmp_path / "datasets"
    datasets.mkdir()

    def data_lines(pattern: str) -> list[str]:
        return [line for p in sorted(incoming.glob(pattern)) for line in p.read_text().splitlines()[1:]]

    def day_first(line: str) -> str:
        store, dept, day, sales, holiday = line.split(",")
        return ",".join((store, dept, f"{day[8:10]}/{day[5:7]}/{day[0:4]}", sales, holiday))

    sales_header = "Store,Dept,Date,Weekly_Sales,IsHoliday"
    sales = [sales_header, *(day_first(line) for line in data_lines("sales/store=*/*.csv"))]
    (datasets / "sales data-set.csv").write_bytes("\r\n".join(sales).encode() + b"\r\n")
    features_header = (incoming / "features/features_2010.csv").read_text().splitlines()[0]
    features = [features_header, *data_lines("features/*.csv")]
    (datasets / "Features data set.csv").write_bytes("\r\n".join(features).encode() + b"\r\n")
    (datasets / "stores data-set.csv").write_bytes((incoming / "stores/stores.csv").read_bytes())
    expected = {
        name: data for name, data in tree_bytes(incoming).items() if not name.startswith("store_traffic")
    }
    return datasets, expected


def test_prepare_splits_real_kaggle_files_into_the_same_layout(kaggle_dir):
    datasets, expected = kaggle_dir
    result = run("prepare", "--out", str(datasets))
    assert result.exit_code == 0, result.output
    assert "split (kaggle data)" in result.output
    assert "no store traffic" in result.output
    assert tree_bytes(datasets / "incoming") == expected

    again = run("prepare", "--out", str(datasets))
    assert "up to date" in again.output


def test_prepare_with_a_bad_real_file_exits_2_naming_file_line_and_column(kaggle_dir):
    datasets, _ = kaggle_dir
    path = datasets / "sales data-set.csv"
    lines = path.read_bytes().split(b"\r\n")
    lines[5] = b"1,1,05/02/2010,n/a,FALSE"
    path.write_bytes(b"\r\n".join(lines))
    result = run("prepare", "--out", str(datasets))
    assert result.exit_code == 2
    assert "sales data-set.csv, line 6, column Weekly_Sales: not a number, got 'n/a'" in result.output
    assert "Traceback" not in result.output


def test_prepare_refuses_an_incomplete_set_of_real_files(kaggle_dir):
    datasets, _ = kaggle_dir
    (datasets / "stores data-set.csv").unlink()
    result = run("prepare", "--out", str(datasets))
    assert result.exit_code == 2
    assert "no stores file" in result.output


def test_profile_prints_the_properties_and_json(tmp_path):
    run("generate", "--out", str(tmp_path), "--stores", "3")
    table = run("profile", str(tmp_path / "incoming"))
    assert table.exit_code == 0, table.output
    assert "departments" in table.output and "first markdown week" in table.output
    as_json = json.loads(run("profile", str(tmp_path / "incoming"), "--json").output)
    assert as_json["stores"] == 3 and as_json["sales_weeks"] == 143


def test_profile_compares_with_the_real_kaggle_files_of_a_folder(kaggle_dir, tmp_path):
    datasets, _ = kaggle_dir
    run("prepare", "--out", str(datasets))  # the folder now also holds incoming/, split from the real files
    run("generate", "--out", str(tmp_path / "synthetic"), "--stores", "3", "--seed", "9")
    synthetic = str(tmp_path / "synthetic/incoming")

    wide = {"COLUMNS": "200"}  # rich wraps at the terminal's width
    table = runner.invoke(app, ["data", "profile", synthetic, "--compare", str(datasets)], env=wide)
    assert table.exit_code == 0, table.output
    assert "┃ property " in table.output and "┃ incoming " in table.output and "┃ datasets " in table.output
    assert "holiday uplift by store type" in table.output and "top departments" in table.output

    both = json.loads(run("profile", synthetic, "--compare", str(datasets), "--json").output)
    assert (both["profile"]["stores"], both["compare"]["stores"]) == (3, 2)
    real_sales = (datasets / "sales data-set.csv").read_bytes().count(b"\r\n") - 1
    assert both["compare"]["rows"]["sales"] == real_sales  # the real files only, not also incoming/
    assert both["compare"]["chain"]["top_stores"]["distinct"] <= 2
    assert run("profile", synthetic, "--compare", str(tmp_path / "absent")).exit_code == 2


def test_profile_of_a_broken_file_exits_2_without_a_traceback(tmp_path):
    broken = tmp_path / "train.csv"
    broken.write_text("Store;Dept;Date;Weekly_Sales;IsHoliday\n1;1;2010-02-05;10;FALSE\n")
    result = run("profile", str(broken))
    assert result.exit_code == 2
    assert "train.csv, line 1: wrong delimiter" in result.output
    assert "Traceback" not in result.output
    assert run("profile", str(tmp_path / "absent")).exit_code == 2

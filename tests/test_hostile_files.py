"""Files and arguments that used to end in a traceback or slip through (issue 19): each now gets one
paragraph naming the file (or option), the column where there is one and the fix, a non-zero exit, and
leaves the store as it was (no MLflow run, no Optuna study). Small real files made here; the CSV cases
that `check` and `run` both meet (a cell over the csv module's limit, non-finite or absurd targets, dates
far outside the window) are in the quirks corpus, tests/test_quirks.py."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from pipelines import cards, data, settings
from pipelines.cli import app

HEAT = "heat-treatment-hardness"


def _invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, [*args], env={"COLUMNS": "250", **(env or {})})


def _nothing_created() -> None:
    client = MlflowClient()
    assert client.search_runs([e.experiment_id for e in client.search_experiments()]) == []
    storage = settings.optuna_storage()
    assert not Path(storage.removeprefix("sqlite:///")).exists() or optuna.get_all_study_names(storage) == []


def _refused(result, *phrases: str) -> None:
    assert result.exit_code == 2, result.output[-3000:]
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    for phrase in phrases:
        assert phrase in " ".join(result.output.split()), f"{phrase!r} not in:\n{result.output[-3000:]}"


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    frame = data.load(cards.load_card(HEAT)).frame.iloc[:300].reset_index(drop=True)
    frame["Batch_Time"] = frame["Batch_Time"].dt.strftime("%Y-%m-%d %H:%M:%S")
    return frame


# --- Excel: what a small .xlsx unpacks to, and the grid it spans -------------------------------------------

def _xlsx(path: Path, header: list[str], body, refs: bool = True) -> Path:
    """A minimal workbook written as Excel writes it (inline strings, numbers): ``body`` yields rows of
    (column number, value) pairs, so a sheet can be dense or hold a far cell alone."""
    letters = lambda n: (letters((n - 1) // 26) if n > 26 else "") + chr(65 + (n - 1) % 26)  # noqa: E731
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.'
        'xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
        'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
        'worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="log" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.'
        'org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
    }

    def cell(number: int, row: int, value) -> str:
        ref = f' r="{letters(number)}{row}"' if refs else ""
        if isinstance(value, str):
            return f'<c{ref} t="inlineStr"><is><t>{value}</t></is></c>'
        return f"<c{ref}><v>{value}</v></c>"

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                        b'spreadsheetml/2006/main"><sheetData>')
            sheet.write(f'<row r="1">{"".join(cell(i + 1, 1, h) for i, h in enumerate(header))}</row>'.encode())
            for number, cells in enumerate(body, start=2):
                sheet.write(f'<row r="{number}">{"".join(cell(c, number, v) for c, v in cells)}</row>'.encode())
            sheet.write(b"</sheetData></worksheet>")
    return path


def test_a_small_workbook_that_unpacks_past_the_size_limit_is_refused_before_it_is_read(store, tmp_path):
    # 200,000 rows of inline strings: about 1 MB on disk, about 10 MB unpacked (issue 19: 155 s to read)
    path = _xlsx(tmp_path / "log.xlsx", ["Carbon_pct"], ([(1, "0.4")] for _ in range(200_000)))
    assert path.stat().st_size < 2 * 2**20
    began = time.perf_counter()
    result = _invoke("run", HEAT, "--data", str(path), "--quiet", env={"WORKBENCH_MAX_FILE_MB": "2"})
    _refused(result, str(path), "unpacked", "over the limit of 2 MB", "WORKBENCH_MAX_FILE_MB")
    assert time.perf_counter() - began < 30  # refused from the archive's directory, not after reading it
    _nothing_created()


def test_a_sheet_spanning_more_cells_than_the_limit_is_refused_with_its_rows_and_columns(store, tmp_path, rows):
    body = ([(i + 1, v) for i, v in enumerate(row) if v == v] for row in rows.itertuples(index=False))
    path = _xlsx(tmp_path / "batches.xlsx", list(rows.columns), body)
    assert _invoke("check", HEAT, "--data", str(path)).exit_code == 0  # under the default limit it reads
    result = _invoke("run", HEAT, "--data", str(path), "--quiet", env={"WORKBENCH_MAX_EXCEL_CELLS": "2000"})
    _refused(result, str(path), "sheet 'log' spans 301 rows x 15 columns (4,515 cells)", "limit of 2,000 cells",
             "CSV UTF-8")
    _nothing_created()


def test_one_far_cell_spans_a_grid_and_so_do_cells_without_references(tmp_path):
    # a cell in column XFD of row 3000 makes pandas hold a 3000 x 16384 grid, though 3 cells are filled
    far = _xlsx(tmp_path / "far.xlsx", ["Carbon_pct"], iter([[(1, 0.4)]] + [[]] * 2997 + [[(16384, "x")]]))
    result = _invoke("check", HEAT, "--data", str(far))
    _refused(result, "spans 3,000 rows x 16,384 columns (49,152,000 cells)")
    plain = _xlsx(tmp_path / "plain.xlsx", ["a", "b", "c"], ([(1, 1), (2, 2), (3, 3)] for _ in range(999)), refs=False)
    result = _invoke("check", HEAT, "--data", str(plain), env={"WORKBENCH_MAX_EXCEL_CELLS": "2000"})
    _refused(result, "spans 1,000 rows x 3 columns (3,000 cells)")


# --- predict's output, checked before anything is read or written ----------------------------------------

def test_predict_never_overwrites_an_existing_file_without_force_nor_writes_onto_a_folder(store, tmp_path, rows):
    source, existing = tmp_path / "new.csv", tmp_path / "scored.csv"
    rows.to_csv(source, index=False)
    existing.write_text("yesterday's predictions\n")
    result = _invoke("predict", HEAT, "--input", str(source), "--output", str(existing), "--quiet")
    _refused(result, f"--output {existing} already exists", "--force")
    assert existing.read_text() == "yesterday's predictions\n"
    folder = tmp_path / "out.csv"
    folder.mkdir()
    result = _invoke("predict", HEAT, "--input", str(source), "--output", str(folder), "--quiet")
    _refused(result, f"--output {folder} is a folder", f"{folder / (HEAT + '-predictions.csv')}")
    assert list(folder.iterdir()) == []
    _nothing_created()


# --- arguments and cards ------------------------------------------------------------------------------

@pytest.mark.parametrize("pair, phrase", [("Carbon=Carbon_pct", "names columns that are not in the file: 'Carbon'"),
                                          ("Carbon_pct=Carbon", "maps onto names the card does not have: 'Carbon'")])
def test_a_bad_map_for_the_reference_data_is_refused_before_any_run_exists(store, pair, phrase):
    result = _invoke("run", HEAT, "--map", pair, "--trials", "1", "--quiet", "--lang", "en")
    _refused(result, f"reference data of {HEAT}", phrase, "Fix:")
    assert not (store / "mlflow.db").exists() and not (store / "optuna.db").exists()  # the store was not touched


def test_a_card_with_a_yaml_error_is_listed_as_broken_while_the_others_list(catalog_copy):
    broken = catalog_copy.catalog / "press-anomaly.yaml"
    broken.write_text(broken.read_text(encoding="utf-8") + "\nsplit: [time\n", encoding="utf-8")
    for command in (["list"], ["catalog"], ["catalog", "--markdown"]):
        result = _invoke(*command)
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output[-2000:]
        assert HEAT in result.output and "injection-molding-quality" in result.output  # the others are listed
        said = " ".join(result.output.split())
        assert f"broken card: Card {broken} is not valid: YAML does not parse at line" in said
        assert "1 card(s) could not be loaded" in said
    result = _invoke("show", "press-anomaly")
    _refused(result, str(broken), "YAML does not parse at line")


def test_rich_markup_in_user_text_is_printed_as_written(catalog_copy, tmp_path, rows):
    def markup(raw):
        furnace = next(c for c in raw["columns"] if c["name"] == "Furnace_ID")
        furnace.update(name="Furnace[/]ID", ko="[bold]로[/bold] [red]")
        raw["name"]["en"] = "Hardness [/] [link=x]"
    catalog_copy.edit(HEAT, markup)
    for command in (["show", HEAT], ["list"], ["catalog"]):
        result = _invoke(*command)
        assert result.exit_code == 0 and result.exception is None, (command, result.output[-2000:])
    shown = _invoke("show", HEAT).output
    assert "Furnace[/]ID" in shown and "[bold]로[/bold] [red]" in shown and "Hardness [/] [link=x]" in shown
    path = tmp_path / "log[bold].csv"
    rows.rename(columns={"Furnace_ID": "Furnace[/]ID", "Carbon_pct": "탄소[/b]"}).to_csv(path, index=False)
    result = _invoke("check", HEAT, "--data", str(path), "--lang", "en")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "탄소[/b]" in result.output


def test_numbers_in_messages_read_as_numbers_not_numpy_reprs(tmp_path):
    frame = data.load(cards.load_card("injection-molding-quality")).frame.iloc[:200]
    path = tmp_path / "one_class.csv"
    frame.assign(PassOrFail=np.int64(-1)).to_csv(path, index=False)
    result = _invoke("check", "injection-molding-quality", "--data", str(path), "--lang", "en")
    assert result.exit_code == 2 and "np." not in result.output
    assert "the target has one class only (-1 in all 200 rows)" in result.output

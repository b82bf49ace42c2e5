"""Workbooks as plant software saves them (pipelines/workbooks.py): an Excel 97-2003 .xls, an HTML table or
Excel 2003 XML saved as .xls, an .xlsx renamed .csv. Each is read as what its bytes are, and the same rows
in any of them validate to the same frame."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines import cards, data, reading, workbooks
from pipelines.cli import app

from plant_exports import OLD_XLS, html_export, spreadsheet_xml

HEAT = cards.load_card("heat-treatment-hardness")


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    """The committed Excel 97-2003 workbook's rows (both monthly sheets), as its reader gives them."""
    frame = reading.read_table(OLD_XLS, sheet="all")
    assert frame.attrs["reading"]["format"] == "xls" and frame.attrs["reading"]["read_sheets"] == ["1월", "2월"]
    return frame.reset_index(drop=True)


def _xlsx(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_excel(out, index=False)
    return out.getvalue()


WRITERS = {  # name -> (file name, bytes)
    "html_named_xls": lambda f: ("이력조회.xls", html_export(f)),
    "html_utf8_named_xls": lambda f: ("export.xls", html_export(f, encoding="utf-8")),
    "spreadsheet_xml_named_xls": lambda f: ("열처리.xls", spreadsheet_xml(f)),
    "xlsx_renamed_csv": lambda f: ("renamed.csv", _xlsx(f)),
    "tab_text_named_xls": lambda f: ("text.xls", f.to_csv(index=False, sep="\t").encode("cp949")),
}


@pytest.mark.parametrize("name", WRITERS)
def test_the_same_rows_in_any_export_format_validate_to_the_same_frame(name, rows, tmp_path):
    file_name, content = WRITERS[name](rows)
    path = tmp_path / file_name
    path.write_bytes(content)
    expected = data.load(HEAT, OLD_XLS, sheet="all")
    found = data.load(HEAT, path)
    assert len(found.frame) == len(rows) == 300
    pd.testing.assert_frame_equal(found.frame.reset_index(drop=True), expected.frame.reset_index(drop=True))
    assert found.sha256 == expected.sha256
    [(code, fields)] = [n for n in found.notes if n[0] == "content_not_name"]
    assert fields["suffix"] == path.suffix and fields["what"] == workbooks.DESCRIBED[workbooks.kind_of(path)]


def test_a_file_named_for_what_it_is_gets_no_note_and_the_xls_reads_one_sheet_by_default(tmp_path):
    found = data.load(HEAT, OLD_XLS)
    assert len(found.frame) == 150
    assert [c for c, _ in found.notes] == ["alike_sheets_unread"]
    page = tmp_path / "page.html"
    page.write_bytes(html_export(reading.read_table(OLD_XLS)))
    assert "content_not_name" not in [c for c, _ in data.load(HEAT, page).notes]


def test_html_tables_keep_merged_cells_in_place_as_excel_shows_them():
    page = """<table><tr><td>layout<table><tr><td>inner</td><td>1</td></tr></table></td></tr></table>
    <table>
      <tr><th rowspan="2">설비</th><th colspan="2">온도</th><th>경도</th></tr>
      <tr><th>상부</th><th>하부</th><th>HRC</th></tr>
      <tr><td rowspan="2">F1</td><td>850</td><td> 1,234 </td><td>45.5</td></tr>
      <tr><td>860</td><td>&nbsp;</td><td>46</td></tr>
    </table>"""
    book = workbooks.open_book(None, "html", page)
    assert book.sheet_names == ["table 1", "table 2", "table 3"]
    assert book.default_sheet == "table 3"  # the biggest: the data, not the layout around it
    assert book.grid("table 1").iloc[0, 0] == "layout"  # the inner table read on its own, not inside the cell
    assert book.grid("table 2").iloc[0].tolist() == ["inner", 1]
    grid = book.grid("table 3")
    assert grid.iloc[0].tolist() == ["설비", "온도", None, "경도"]
    assert grid.iloc[1].tolist() == [None, "상부", "하부", "HRC"]
    assert grid.iloc[2].tolist() == ["F1", 850, "1,234", 45.5]  # a thousands separator stays text for the validation
    assert grid.iloc[3].tolist() == [None, 860, None, 46]


def test_spreadsheet_xml_keeps_skipped_rows_and_cells_in_place(tmp_path):
    frame = pd.DataFrame({"a": [1.5, None, 3.0], "b": ["x", "y", None], "c": [pd.Timestamp("2024-03-01 08:30"), None, None]})
    path = tmp_path / "book.xml"
    path.write_bytes(spreadsheet_xml(frame))
    book = workbooks.open_book(path, workbooks.kind_of(path))
    grid = book.grid("열처리")
    assert grid.iloc[0, 0] == "열처리 이력" and grid.iloc[1].isna().all()  # the empty row ss:Index skipped
    assert grid.shape == (6, 5)  # the title merged across five columns
    assert grid.iloc[2].tolist()[:3] == ["a", "b", "c"]
    assert grid.iloc[3].tolist()[:3] == [1.5, "x", pd.Timestamp("2024-03-01 08:30")]
    assert grid.iloc[4].tolist()[:3] == [None, "y", None]  # the cell after a gap, at its ss:Index
    assert grid.iloc[5].tolist()[:3] == [3, None, None]


def test_xml_that_names_other_files_is_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password123")
    path = tmp_path / "evil.xls"
    path.write_text(f"""<?xml version="1.0"?>
<!DOCTYPE Workbook [<!ENTITY s SYSTEM "file://{secret}">]>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
<Worksheet ss:Name="a"><Table><Row><Cell><Data ss:Type="String">x</Data></Cell><Cell><Data ss:Type="String">y</Data></Cell></Row>
<Row><Cell><Data ss:Type="String">&s;</Data></Cell><Cell><Data ss:Type="Number">1</Data></Cell></Row></Table></Worksheet></Workbook>""")
    frame = reading.read_table(path)
    assert "password123" not in frame.to_csv()


@pytest.mark.parametrize(("name", "content", "phrase"), [
    ("page.html", b"just some text, no table\n", "files ending in '.html' cannot be read"),
    ("broken.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "could not be read as Excel 97-2003 .xls"),
    ("empty_page.xls", b"<html><body><table></table></body></html>", "empty"),
])
def test_what_cannot_be_read_is_refused_with_the_file_named(name, content, phrase, tmp_path):
    path = tmp_path / name
    path.write_bytes(content)
    result = CliRunner().invoke(app, ["check", HEAT.id, "--data", str(path), "--lang", "en"], env={"COLUMNS": "250"})
    assert result.exit_code == 2, result.output
    assert phrase in result.output and str(path) in result.output and "Traceback" not in result.output


def _two_row_header(tmp_path, top: list, sub: list, body: list[list]) -> str:
    path = tmp_path / "two_rows.csv"
    path.write_text("\n".join(",".join(map(str, row)) for row in [top, sub, *body]) + "\n", encoding="utf-8")
    return path


def test_a_header_over_two_rows_names_each_column_from_both_unless_the_sub_header_names_more_card_columns(tmp_path):
    body = [[f"2024-01-0{d} 06:00", 850 + d, 860 + d, 40 + d] for d in range(1, 8)]
    path = _two_row_header(tmp_path, ["일자", "온도", "", "경도"], ["", "상부", "하부", ""], body)
    frame = reading.read_table(path)
    assert list(frame.columns) == ["일자", "온도 상부", "온도 하부", "경도"]
    assert frame["온도 상부"].dtype.kind == "i" and frame.index[0] == 1  # typed below the sub-headers, numbered as in the file
    joined = frame.attrs["reading"]["joined_header"]
    assert joined["rows"] == [1, 2] and joined["names"] == ["온도 상부", "온도 하부"]
    prefer = lambda header: sum(h in ("상부", "하부") for h in header)  # noqa: E731 - a card naming the sub-headers
    assert list(reading.read_table(path, prefer=prefer).columns) == ["일자", "상부", "하부", "경도"]


def test_a_header_over_two_rows_whose_names_still_repeat_numbers_them(tmp_path):
    body = [[f"2024-01-0{d} 06:00", 850 + d, 860 + d, 40 + d] for d in range(1, 8)]
    path = _two_row_header(tmp_path, ["일자", "온도", "", "온도 1"], ["", "1", "1", ""], body)
    frame = reading.read_table(path, lang="en")
    assert list(frame.columns) == ["일자", "온도 1", "온도 1 (2)", "온도 1 (3)"]
    assert frame["온도 1 (3)"].tolist() == [41, 42, 43, 44, 45, 46, 47]


def test_columns_that_share_a_name_are_read_once_when_equal_and_numbered_when_not(tmp_path):
    path = tmp_path / "repeated.csv"
    path.write_text("a,b,a,비고,비고,b\n1,2,1,x,y,3\n4,5,4,z,w,6\n", encoding="utf-8")
    frame = reading.read_table(path)
    assert list(frame.columns) == ["a", "b", "비고", "비고 (2)", "b (2)"]
    assert frame["b (2)"].tolist() == [3, 6] and frame["비고 (2)"].tolist() == ["y", "w"]
    assert frame.attrs["reading"]["duplicate_columns"] == [
        {"name": "a", "times": 2, "distinct": 1, "names": ["a"]},
        {"name": "b", "times": 2, "distinct": 2, "names": ["b", "b (2)"]},
        {"name": "비고", "times": 2, "distinct": 2, "names": ["비고", "비고 (2)"]}]


def test_formulas_are_counted_only_where_no_value_was_calculated(tmp_path):
    import zipfile

    sheet = (b'<?xml version="1.0"?><x:worksheet xmlns:x="s"><x:sheetData><x:row r="2">'
             b'<x:c r="A2"><x:v>1</x:v></x:c><x:c r="B2"><x:f>A2*2</x:f><x:v>2</x:v></x:c>'
             b'<x:c r="C2"><x:f>A2*3</x:f><x:v></x:v></x:c><x:c r="AA2" t="str"><x:f>A2</x:f></x:c><x:c r="D2"/>'
             b'</x:row></x:sheetData></x:worksheet>')
    path = tmp_path / "book.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("sheet1.xml", sheet)
    with zipfile.ZipFile(path) as archive:
        assert workbooks._uncalculated(archive, "sheet1.xml") == {2: 1, 26: 1}  # C and AA; B has its value


def _daily_files(folder, rows: pd.DataFrame) -> None:
    """A data logger's file a day (day1.csv ... day10.csv, 30 rows each), one of them as Excel, a README
    with its own header and a stray note beside them."""
    folder.mkdir()
    for day in range(10):
        part = rows.iloc[day * 30:(day + 1) * 30]
        if day == 4:
            part.to_excel(folder / f"day{day + 1}.xlsx", index=False)
        else:
            part.to_csv(folder / f"day{day + 1}.csv", index=False, encoding="cp949")
    pd.DataFrame({"설명": ["열처리 로그"]}).to_csv(folder / "README.csv", index=False)
    (folder / "notes.txt").write_text("checked by 김\n", encoding="utf-8")
    (folder / "~$day5.xlsx").write_bytes(b"lock")


def test_a_folder_of_daily_files_reads_as_one_file_in_day_order(rows, tmp_path):
    folder = tmp_path / "로그"
    wanted = rows.astype({"탄소 함량": object})
    wanted.loc[9 * 30 + 6, "탄소 함량"] = "측정불가"  # day10.csv, its 7th data row: line 8 of that file
    _daily_files(folder, wanted)
    found = data.load(HEAT, folder)
    expected = data.load(HEAT, OLD_XLS, sheet="all")
    assert len(found.frame) == 300
    pd.testing.assert_series_equal(found.frame["Hardness_HRC"].reset_index(drop=True),
                                   expected.frame["Hardness_HRC"].reset_index(drop=True))  # day 10 last, not after day 1
    [(code, fields)] = [n for n in found.notes if n[0] == "files_combined"]
    assert fields["count"] == 10 and fields["files"] == "day1.csv, day2.csv, day3.csv, ... day10.csv"
    assert fields["skipped"] == "README.csv, notes.txt (unreadable)"
    result = CliRunner().invoke(app, ["check", HEAT.id, "--data", str(folder), "--lang", "en"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "'측정불가' in row(s) day10.csv!8" in result.output


def test_a_folder_without_table_files_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "photo.png").write_bytes(b"\x89PNG")
    result = CliRunner().invoke(app, ["check", HEAT.id, "--data", str(tmp_path / "empty"), "--lang", "en"])
    assert result.exit_code == 2 and "the folder holds no table files" in result.output


@pytest.mark.parametrize(("encoding", "frame"), [
    ("cp932", pd.DataFrame({"日時": ["2024-03-01 08:00", "2024-03-01 08:01"], "主軸回転数": [1200, 1250], "アラーム": ["なし", "過負荷"]})),
    ("cp1252", pd.DataFrame({"Température (°C)": [20.5, 21.0], "Débit": [1, 2], "Opérateur": ["José", "Zoë"]})),
    ("cp949", pd.DataFrame({"일시": ["2024-03-01 08:00", "2024-03-01 08:01"], "압력": [1.2, 1.3], "비고": ["정상", "점검"]})),
])
def test_a_japanese_machines_shift_jis_log_reads_beside_korean_and_western_exports(encoding, frame, tmp_path):
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False, encoding=encoding)
    read = reading.read_table(path)
    assert read.attrs["reading"]["encoding"] == encoding
    assert list(read.columns) == list(frame.columns) and read.iloc[-1].tolist() == frame.iloc[-1].tolist()


def _report_with_merged_blocks(rows: pd.DataFrame, column: str) -> tuple[bytes, bytes, int]:
    """The rows grouped by ``column`` as a report shows them: each group's value written once, in a cell
    merged down over its rows; as .xlsx and as an HTML page (rowspan). Also the cells left blank."""
    from openpyxl import Workbook

    rows = rows.sort_values(column, kind="stable").reset_index(drop=True)
    at = list(rows.columns).index(column)
    book = Workbook()
    sheet = book.active
    sheet.append(["열처리 보고서"])
    sheet.append(list(rows.columns))
    for values in rows.astype(object).itertuples(index=False):
        sheet.append([None if pd.isna(v) else v for v in values])
    blocks = [(rows.index[rows[column] == v].min(), rows.index[rows[column] == v].max()) for v in rows[column].unique()]
    html_rows = []
    for first, last in blocks:
        sheet.merge_cells(start_row=first + 3, start_column=at + 1, end_row=last + 3, end_column=at + 1)
        for i in range(first, last + 1):
            cells = [f"<td>{'' if pd.isna(v) else v}</td>" for v in rows.iloc[i]]
            cells[at] = f'<td rowspan="{last - first + 1}">{rows.iloc[i, at]}</td>' if i == first else ""
            html_rows.append("<tr>" + "".join(cells) + "</tr>")
    out = io.BytesIO()
    book.save(out)
    page = ("<table><tr><td colspan='3'>열처리 보고서</td></tr><tr>" + "".join(f"<th>{c}</th>" for c in rows.columns)
            + "</tr>" + "\n".join(html_rows) + "</table>")
    return out.getvalue(), page.encode("utf-8"), sum(last - first for first, last in blocks)


def test_cells_merged_down_over_a_reports_rows_give_every_row_the_value(rows, tmp_path):
    column = "열처리로 번호"  # the furnace: a report's block of batches
    plain = rows.sort_values(column, kind="stable")
    xlsx, page, blank = _report_with_merged_blocks(rows, column)
    (tmp_path / "plain.csv").write_bytes(plain.to_csv(index=False).encode("utf-8"))
    expected = data.load(HEAT, tmp_path / "plain.csv")
    for name, content in (("report.xlsx", xlsx), ("report.xls", page)):
        (tmp_path / name).write_bytes(content)
        found = data.load(HEAT, tmp_path / name)
        pd.testing.assert_frame_equal(found.frame.reset_index(drop=True), expected.frame.reset_index(drop=True))
        [(_, fields)] = [n for n in found.notes if n[0] == "merged_down"]
        assert fields["count"] == blank and fields["columns"] == f"{column} ({blank})"


def test_decimal_commas_read_as_the_same_numbers_as_decimal_points(rows, tmp_path):
    (tmp_path / "points.csv").write_text(rows.to_csv(index=False), encoding="utf-8")
    (tmp_path / "commas.csv").write_text(rows.to_csv(index=False, sep=";", decimal=","), encoding="utf-8")
    points, commas = data.load(HEAT, tmp_path / "points.csv"), data.load(HEAT, tmp_path / "commas.csv")
    assert commas.sha256 == points.sha256 and ("decimal_comma", {"thousands": "-"}) in commas.notes


@pytest.mark.parametrize(("lines", "sep", "style"), [
    (["a;12,5;x", "b;3,25;y"], ";", {"decimal": ",", "thousands": None}),
    (["a;1.234,5;x", "b;3,25;y"], ";", {"decimal": ",", "thousands": "."}),
    (["a;12,5;x", "b;3.25;y"], ";", {"thousands": None}),  # a point decimal: the comma is not one
    (["a,12.5", "b,3.25"], ",", {"thousands": None}),
    (["a\t7\t2024.03.01"], "\t", {"thousands": None}),  # dates with points are not decimals
])
def test_the_number_style_comes_from_the_data_lines(lines, sep, style):
    assert reading.number_style(lines, sep) == style


@pytest.mark.parametrize(("name", "content", "phrase"), [
    ("secret.xlsx", workbooks.OLE + b"\x00" * 1000 + workbooks.ENCRYPTED + b"\x00" * 1000, "protected with a password"),
    ("drm.xlsx", b"\x9b\x20DRMONE\x00\x01" + bytes(range(256)) * 8, "document-security (DRM) copy"),
    ("drm.xls", b"SCDSA004\x00\x00" + bytes(range(256)) * 8, "document-security (DRM) copy"),
])
def test_a_protected_workbook_is_refused_with_how_to_unprotect_it(name, content, phrase, tmp_path):
    path = tmp_path / name
    path.write_bytes(content)
    result = CliRunner().invoke(app, ["check", HEAT.id, "--data", str(path), "--lang", "en"], env={"COLUMNS": "250"})
    assert result.exit_code == 2 and phrase in result.output and "Fix:" in result.output, result.output

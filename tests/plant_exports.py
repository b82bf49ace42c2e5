"""Files as plant software exports them under an Excel name, written from a frame: what an MES "엑셀
다운로드" button writes (an HTML page named .xls, in CP949) and Excel 2003 XML. The Excel 97-2003 workbook
is committed (tests/data/exports, written by make_exports.py with a writer the product does not use)."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from pipelines.cli import app

OLD_XLS = Path(__file__).parent / "data" / "exports" / "heat_treatment_mes_1997.xls"  # 1월 and 2월, 150 rows each


def _text(value) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "" if pd.isna(value) else str(value)


def html_export(frame: pd.DataFrame, encoding: str = "cp949") -> bytes:
    """The search conditions in a table of their own, then the data under a title row spanning it; an
    empty cell written as &nbsp;, as such exports do."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "\n".join("<tr>" + "".join(f"<td>{html.escape(_text(v)) or '&nbsp;'}</td>" for v in row) + "</tr>"
                     for row in frame.itertuples(index=False))
    page = f"""<html><head><meta http-equiv="Content-Type" content="application/vnd.ms-excel; charset=euc-kr">
<style>td {{ mso-number-format: "\\@"; }}</style></head><body>
<table><tr><th>조회기간</th><td>2023-01-01 ~ 2023-12-31</td></tr><tr><th>설비</th><td>전체</td></tr></table>
<table border="1"><tr><td colspan="{len(frame.columns)}">열처리 이력 조회</td></tr>
<tr>{head}</tr>
{rows}
</table></body></html>"""
    return page.encode(encoding)


def spreadsheet_xml(frame: pd.DataFrame) -> bytes:
    """Excel's "XML Spreadsheet 2003": typed cells, a title merged across, the header after an empty row
    (ss:Index), an empty cell skipped by the next cell's ss:Index."""
    def cell(value, at: int, after_gap: bool) -> str:
        index = f' ss:Index="{at}"' if after_gap else ""
        if isinstance(value, pd.Timestamp):
            return f'<Cell{index}><Data ss:Type="DateTime">{value:%Y-%m-%dT%H:%M:%S}.000</Data></Cell>'
        kind = "Number" if isinstance(value, (int, float)) and not isinstance(value, bool) else "String"
        return f'<Cell{index}><Data ss:Type="{kind}">{html.escape(str(value))}</Data></Cell>'

    def row(values) -> str:
        cells, gap = [], False
        for at, value in enumerate(values, start=1):
            if pd.isna(value):
                gap = True
                continue
            cells.append(cell(value.item() if hasattr(value, "item") else value, at, gap))
            gap = False
        return "<Row>" + "".join(cells) + "</Row>"

    header = "".join(f'<Cell><Data ss:Type="String">{html.escape(str(c))}</Data></Cell>' for c in frame.columns)
    body = "\n".join(row(r) for r in frame.itertuples(index=False))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<?mso-application progid="Excel.Sheet"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
<Worksheet ss:Name="열처리"><Table>
<Row><Cell ss:MergeAcross="4"><Data ss:Type="String">열처리 이력</Data></Cell></Row>
<Row ss:Index="3">{header}</Row>
{body}
</Table></Worksheet></Workbook>""".encode("utf-8")


def invoke(*args: str):
    """A ``workbench`` command as a user types it, answered in English."""
    return CliRunner().invoke(app, [*args, "--lang", "en"], env={"COLUMNS": "250"})


def trained_on(card_id: str, wide: pd.DataFrame, folder: Path) -> Path:
    """A model of ``card_id`` (site ``shop``, version 1, one trial) trained on ``wide`` as a plain CSV: the CSV."""
    train = folder / "wide.csv"
    wide.to_csv(train, index=False)
    ran = invoke("run", card_id, "--data", str(train), "--trials", "1", "--quiet", "--site", "shop")
    assert ran.exit_code == 0, ran.output[-3000:]
    return train

"""Workbooks as plant software saves them, behind one small interface (sheet names, a sheet's cells as a
grid, its size), so that reading.py finds the sheet, the header and the rows the same
way in each:

- Excel .xlsx / .xlsm (openpyxl);
- Excel 97-2003 .xls (python-calamine): what older MES, SCADA and ERP systems still export;
- an HTML table saved as .xls: what many Korean MES and ERP "엑셀 다운로드" buttons write (Excel opens
  it with a warning);
- Excel 2003 XML (SpreadsheetML), also saved as .xls.

What a file is, is judged on its first bytes, not on its name (``kind_of``): an .xlsx renamed .csv, or
tab-separated text named .xls, is read as what it is, and reading.py says so.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pandas as pd

KINDS = {  # what a file holds -> (the suffixes that name it, how the messages call it)
    "xlsx": ((".xlsx", ".xlsm"), "Excel .xlsx"),
    "xls": ((".xls",), "Excel 97-2003 .xls"),
    "html": ((".html", ".htm"), "HTML table"),
    "xml2003": ((".xml",), "Excel 2003 XML"),
    "text": ((".csv", ".tsv", ".txt", ".dat", ""), "text (CSV)"),
}
DESCRIBED = {  # what a file is, in a note that its name says otherwise
    "xlsx": {"en": "an Excel .xlsx workbook", "ko": "Excel .xlsx 통합 문서"},
    "xls": {"en": "an Excel 97-2003 workbook (.xls)", "ko": "Excel 97-2003 통합 문서(.xls)"},
    "html": {"en": "an HTML table (as many MES 'Excel download' buttons save it)",
             "ko": "HTML 표(MES의 '엑셀 다운로드'가 흔히 이렇게 저장합니다)"},
    "xml2003": {"en": "an Excel 2003 XML workbook", "ko": "Excel 2003 XML 통합 문서"},
    "text": {"en": "text (CSV)", "ko": "텍스트(CSV)"},
}
SUFFIXES = {suffix for suffixes, _ in KINDS.values() for suffix in suffixes}
MARKUP = (".html", ".htm", ".xml")  # named as markup but holding text: not a table file
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE2 compound file: .xls (or a password-protected .xlsx)
SPREADSHEET_NS = "urn:schemas-microsoft-com:office:spreadsheet"


def kind_of(path: Path) -> str:
    """'xlsx', 'xls', 'html', 'xml2003' or 'text', from the file's first 4 kB."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(OLE):
        return "xls"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<?xml") and SPREADSHEET_NS.encode() in text:
        return "xml2003"
    if text.startswith(b"<") and re.search(rb"<(html|table|!doctype html)\b", text):
        return "html"
    return "text"


ENCRYPTED = "EncryptedPackage".encode("utf-16-le")  # the stream a password-protected .xlsx keeps in its OLE2 container


def encrypted(path: Path) -> bool:
    """An OLE2 file that holds a password-protected workbook (MS-OFFCRYPTO's EncryptedPackage stream)."""
    with open(path, "rb") as handle:
        return handle.read(8) == OLE and ENCRYPTED in handle.read(1 << 20)


def open_book(path: Path, kind: str, text: str | None = None):
    """The workbook of a file ``kind_of`` judged: an ``ExcelBook`` or a ``TableBook``; ``text``: an HTML
    file's decoded text. Raises the reader's own exception for a file it cannot read."""
    if kind in ("xlsx", "xls"):
        return ExcelBook(path, kind)
    if kind == "html":
        return TableBook("html", *_html_tables(text))
    if kind == "xml2003":
        return TableBook("xml2003", *_spreadsheet_xml(path))
    raise ValueError(kind)


class ExcelBook:
    """An .xlsx (openpyxl) or .xls (calamine) workbook through pandas."""

    def __init__(self, path: Path, kind: str):
        self.path, self.format = path, kind
        self.file = pd.ExcelFile(path, engine="openpyxl" if kind == "xlsx" else "calamine")
        self.sheet_names = self.file.sheet_names
        self.default_sheet = self.sheet_names[0]

    def grid(self, name: str, nrows: int | None = None) -> pd.DataFrame:
        return pd.read_excel(self.file, sheet_name=name, header=None, dtype=object, nrows=nrows)

    def size(self, name: str) -> tuple[int, int, int] | None:
        """(rows, columns, cells) of a sheet before it is read, or None where that cannot be told cheaply."""
        if self.format == "xls":  # at most 65,536 x 256 a sheet, and the file size limit holds
            sheet = self.file.book.get_sheet_by_name(name)
            return sheet.height, sheet.width, sheet.height * sheet.width
        return self._scan(name, _grid, None)  # None: an openpyxl without the sheet's part; the size limit holds

    def merges(self, name: str) -> list[tuple[int, int, int, int]]:
        """The sheet's merged ranges as (first row, first column, last row, last column), 0 for row 1 and A."""
        if self.format == "xls":
            ranges = self.file.book.get_sheet_by_name(name).merged_cell_ranges or []
            return [(a[0], a[1], b[0], b[1]) for a, b in ranges]
        return self._scan(name, _merge_refs, [])

    def uncalculated(self, name: str) -> dict[int, int]:
        """Formula cells without a calculated value, by the sheet's column (0 for A): a workbook written by a
        program, not saved by Excel, may hold formulas only, and those read as empty cells."""
        return self._scan(name, _uncalculated, {}) if self.format == "xlsx" else {}

    def _scan(self, name: str, scan, otherwise):
        """``scan(archive, member)`` over the sheet's XML part (openpyxl's read-only sheet knows which)."""
        try:
            member = self.file.book[name]._worksheet_path
            with zipfile.ZipFile(self.path) as archive:
                return scan(archive, member)
        except (AttributeError, KeyError, OSError, zipfile.BadZipFile):
            return otherwise


class TableBook:
    """Tables parsed here (an HTML page's tables, a SpreadsheetML workbook's sheets) as lists of rows. A
    merged cell holds its value in its first cell only and leaves the others empty, as Excel does."""

    def __init__(self, kind: str, sheets: dict[str, list[list]], merged: dict[str, list] | None = None):
        self.format, self.merged = kind, merged or {}
        self.sheets = {name: rows for name, rows in sheets.items() if any(v is not None for row in rows for v in row)}
        self.sheet_names = list(self.sheets) or list(sheets)[:1]
        # an HTML page: a search form or a title table often comes first; the data is the biggest table
        self.default_sheet = (max(self.sheet_names, key=lambda n: _cells(self.sheets.get(n, [])))
                              if kind == "html" and self.sheet_names else (self.sheet_names or [None])[0])

    def grid(self, name: str, nrows: int | None = None) -> pd.DataFrame:
        rows = self.sheets.get(name, [])[:nrows]
        width = max((len(r) for r in rows), default=0)
        return pd.DataFrame([r + [None] * (width - len(r)) for r in rows], dtype=object)

    def merges(self, name: str) -> list[tuple[int, int, int, int]]:
        return self.merged.get(name, [])

    def uncalculated(self, name: str) -> dict[int, int]:
        return {}  # cells parsed from text hold values, never formulas

    def size(self, name: str) -> tuple[int, int, int]:
        rows = self.sheets.get(name, [])
        width = max((len(r) for r in rows), default=0)
        return len(rows), width, _cells(rows)


def _cells(rows: list[list]) -> int:
    return sum(v is not None for row in rows for v in row)


NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
INTEGER = re.compile(r"[+-]?\d{1,15}")


def _typed(text: str | None):
    """A cell's text as Excel would take it on opening the file: a plain number becomes a number (a
    thousands separator, a unit or a word stays text, for the validation to read or report)."""
    if text is None:
        return None
    text = " ".join(text.split())
    if not text:
        return None
    if NUMBER.fullmatch(text):
        return int(text) if INTEGER.fullmatch(text) else float(text)
    return text


def _html_tables(text: str) -> tuple[dict[str, list[list]], dict[str, list]]:
    """Each <table> of the page as rows of cells (``table 1``, ``table 2``, ... in the page's order), and
    the cells that span rows (rowspan) as merged ranges; a table that holds tables (a page's layout)
    keeps only its own cells."""
    from lxml import etree

    page = etree.fromstring(text, etree.HTMLParser())
    if page is None:
        return {}, {}
    tables, merged = {}, {}
    for number, table in enumerate(list(page.iter("table")), start=1):  # listed first: inner tables are cut out below
        for nested in table.findall(".//table"):  # a layout table's inner tables: read on their own
            nested.getparent().remove(nested)
        rows, spanned, spans = [], set(), []  # (row, column) taken by a cell above (rowspan)
        for r, tr in enumerate(table.xpath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr")):
            row: list = []
            for cell in tr.iterchildren("td", "th"):
                while spanned and (r, len(row)) in spanned:
                    row.append(None)
                across, down = _span(cell.get("colspan")), _span(cell.get("rowspan"))
                if down > 1:
                    spanned.update((r + below, len(row) + k) for below in range(1, down) for k in range(across))
                    spans.append((r, len(row), r + down - 1, len(row) + across - 1))
                row.append(_typed("".join(cell.itertext())))
                row += [None] * (across - 1)
            while spanned and (r, len(row)) in spanned:
                row.append(None)
            rows.append(row)
        tables[f"table {number}"], merged[f"table {number}"] = rows, spans
    return tables, merged


def _span(value: str | None) -> int:
    if value is None:
        return 1
    try:
        return max(1, min(int(value), 1000))
    except ValueError:
        return 1


def _spreadsheet_xml(path: Path) -> tuple[dict[str, list[list]], dict[str, list]]:
    """Each <Worksheet> of an Excel 2003 XML workbook as rows of typed cells, ss:Index gaps and
    ss:MergeAcross spans kept in place, and its ss:MergeDown cells as merged ranges. Entities are never
    resolved (a file cannot read other files)."""
    from lxml import etree

    ss = f"{{{SPREADSHEET_NS}}}"
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    root = etree.parse(str(path), parser).getroot()
    sheets, merged = {}, {}
    for number, sheet in enumerate(root.iter(f"{ss}Worksheet"), start=1):
        rows: list[list] = []
        spans = []
        for tr in sheet.iter(f"{ss}Row"):
            if tr.get(f"{ss}Index"):
                rows += [[] for _ in range(int(tr.get(f"{ss}Index")) - 1 - len(rows))]
            row: list = []
            for cell in tr.iter(f"{ss}Cell"):
                if cell.get(f"{ss}Index"):
                    row += [None] * (int(cell.get(f"{ss}Index")) - 1 - len(row))
                value = cell.find(f"{ss}Data")
                across, down = int(cell.get(f"{ss}MergeAcross") or 0), int(cell.get(f"{ss}MergeDown") or 0)
                if down:
                    spans.append((len(rows), len(row), len(rows) + down, len(row) + across))
                row.append(None if value is None else _xml_value(value.text, value.get(f"{ss}Type")))
                row += [None] * across
            rows.append(row)
        name = sheet.get(f"{ss}Name") or f"Sheet{number}"
        sheets[name], merged[name] = rows, spans
    return sheets, merged


def _xml_value(text: str | None, kind: str | None):
    if text is None or not text.strip():
        return None
    if kind == "Number":
        number = float(text)
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "DateTime":
        return pd.Timestamp(text)
    if kind == "Boolean":
        return text.strip() == "1"
    return text


# --- .xlsx sizes -------------------------------------------------------------------------------------

def _blocks(archive: zipfile.ZipFile, member: str, keep=lambda prefix: b"<"):
    """A sheet's XML in blocks of about 4 MB with the namespace prefix its tags carry (``x:`` or none), each
    block cut before the last ``keep(prefix)`` in it (a tag or a cell cut in two waits for the next block),
    so a scan reads a large sheet without parsing it (about 80 MB/s)."""
    carry, prefix = b"", None
    with archive.open(member) as stream:
        while True:
            chunk = stream.read(1 << 22)
            block = carry + chunk
            if prefix is None:  # <worksheet> or <x:worksheet>: the namespace prefix every tag then carries
                root = re.search(rb"<([\w.-]+:)?worksheet[\s>]", block)
                prefix = (root.group(1) or b"") if root else b""
            cut = block.rfind(keep(prefix)) if chunk else -1
            block, carry = (block[:cut], block[cut:]) if cut > 0 else (block, b"")
            yield block, prefix
            if not chunk:
                break


def _grid(archive: zipfile.ZipFile, member: str) -> tuple[int, int, int]:
    """(rows, columns, cells) of a sheet's XML: the reader fills the rows and columns a sheet skips, so
    pandas holds a grid of the last row's number x the widest row's columns, however few cells are
    filled; that product is what reading costs."""
    rows = last = cells = width = 0  # rows counted, the highest row number written
    for block, prefix in _blocks(archive, member):
        tag = b"<" + prefix
        cells += sum(block.count(tag + end) for end in (b"c ", b"c>", b"c/"))
        numbered = re.findall(re.escape(tag) + rb'row[\s>][^>]*?\br="(\d+)"', block)
        rows += sum(block.count(tag + end) for end in (b"row ", b"row>", b"row/"))
        last = max([last, *map(int, numbered)])
        letters = set(re.findall(re.escape(tag) + rb'c [^>]*?\br="([A-Z]{1,3})\d', block))
        width = max([width, *map(_column_number, letters)])
    rows = max(rows, last)
    if rows and cells:  # cells without references: at least the mean row's width
        width = max(width, -(-cells // rows))
    return rows, width, cells


def _uncalculated(archive: zipfile.ZipFile, member: str) -> dict[int, int]:
    """Cells of a sheet's XML with a formula (``<f>``) and no value (``<v>`` missing or empty), by column."""
    counts: dict[int, int] = {}
    for block, prefix in _blocks(archive, member, keep=lambda prefix: b"<" + prefix + b'c r="'):
        tag = re.escape(prefix)
        cell = b"<" + tag + rb'c r="([A-Z]{1,3})\d+"[^>]*?(?<!/)>(.*?)</' + tag + b"c>"
        for letters, body in re.findall(cell, block, re.S):
            if b"<" + prefix + b"f" in body and not re.search(b"<" + tag + rb"v>[^<]", body):
                column = _column_number(letters) - 1
                counts[column] = counts.get(column, 0) + 1
    return counts


def _merge_refs(archive: zipfile.ZipFile, member: str) -> list[tuple[int, int, int, int]]:
    """``<mergeCell ref="B5:B9"/>`` of a sheet's XML as (4, 1, 8, 1) (they come after the cells)."""
    return [(int(r1) - 1, _column_number(c1) - 1, int(r2) - 1, _column_number(c2) - 1)
            for block, _ in _blocks(archive, member)
            for c1, r1, c2, r2 in re.findall(rb'<(?:[\w.-]+:)?mergeCell ref="([A-Z]{1,3})(\d+):([A-Z]{1,3})(\d+)"', block)]


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number

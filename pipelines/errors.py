"""Errors a user can act on: each carries the file, the field or column, and the fix.

The command line prints ``str(error)`` (one paragraph) and exits non-zero; no traceback.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class: the message is already written for the person who has to fix it."""

    exit_code = 2


class CardError(WorkbenchError):
    def __init__(self, path, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__(
            f"Card {self.path} is not valid: " + "; ".join(problems)
            + ". Fix these fields (see DESIGN.md section 3 for the card schema) and run again."
        )


class DataError(WorkbenchError):
    """A problem in a user's data file. ``code`` names the kind of problem (see pipelines/messages.py),
    ``rows`` a few offending row numbers as the user sees them in a spreadsheet (header = row 1)."""

    _WORDS = {"en": ("Data", "column", "Fix"), "ko": ("데이터", "열", "해결 방법")}

    def __init__(self, source, message: str, column: str | None = None, fix: str | None = None,
                 code: str | None = None, rows: list[int] | None = None, lang: str = "en"):
        self.source = str(source)
        self.column = column
        self.fix = fix
        self.code = code
        self.rows = list(rows or [])
        self.message = message
        data, col, fix_word = self._WORDS.get(lang, self._WORDS["en"])
        where = f"{self.source}" + (f", {col} '{column}'" if column else "")
        text = f"{data} {where}: {message}"
        if fix:
            text += f" {fix_word}: {fix}"
        super().__init__(text)


class NotebookError(WorkbenchError):
    def __init__(self, notebook, cell_index: int, ename: str, evalue: str, executed: str | None = None):
        self.notebook = str(notebook)
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue
        self.executed = executed
        text = (
            f"Notebook {self.notebook} failed in cell {cell_index} with {ename}: {evalue.strip()}."
            " The MLflow run is marked FAILED and nothing was registered."
        )
        if executed:
            text += f" The executed notebook with the full traceback is at {executed}."
        super().__init__(text)

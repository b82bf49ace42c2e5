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
            + ". Fix these fields (docs/cards.md describes each one) and run again."
        )


class UnknownCard(CardError):
    """A card id the catalog lacks: the closest ids (difflib) and where the catalog is listed."""

    def __init__(self, path, card_id: str, known: list[str]):
        import difflib

        self.path, self.card_id, self.known = str(path), card_id, known
        close = difflib.get_close_matches(card_id, known, n=3, cutoff=0.6)
        if not close:  # a fragment of an id: "molding" -> the ids that hold it
            close = [k for k in known if card_id and card_id.lower() in k][:3]
        self.suggestions = close
        self.problems = ["no such card"]
        hint = (f" Did you mean {' or '.join(close)}? `workbench list` shows the whole catalog." if close else
                f" `workbench list` shows the catalog (known cards: {', '.join(known) or 'none'}).")
        WorkbenchError.__init__(self, f"No card named {card_id!r} (no file {self.path}).{hint}")


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

"""Batch prediction on a file with a registered model, through the same column mapping and validation as
training data, in chunks: memory stays flat however long the file is.

CSV is streamed in row chunks and Parquet by its row groups; Excel (at most a million rows) is read
whole. Each chunk is mapped and validated like a training file, scored, and appended to the output
(CSV or Parquet, written beside the target and renamed into place only when complete).
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pandas as pd

from . import cards, data, messages, partials, reading, registry, tracking
from .errors import DataError, WorkbenchError

CHUNK_ROWS = 100_000
HISTORY_ROWS = 1_000  # rows of the previous chunk a model with lag/rolling features sees again as history
PARQUET = (".parquet", ".pq")
EXCEL = (".xlsx", ".xlsm", ".xls")
TEXT = (".csv", ".tsv", ".txt", ".dat", "")  # streamed


@dataclass
class Written:
    rows: int
    version: int
    seconds: float = 0.0  # all of it
    load_seconds: float = 0.0  # finding and loading the model, before the first row

    @property
    def rows_per_second(self) -> float:
        """The scoring rate: reading, validating, predicting and writing, after the model is loaded."""
        scoring = self.seconds - self.load_seconds
        return self.rows / scoring if scoring > 0 else float("nan")


def predict_file(card_id: str, input_path: str | Path, output_path: str | Path, alias: str = "champion",
                 version: int | None = None, column_map: dict | None = None, sheet: str | int | None = None,
                 lang: str | None = None, chunk_rows: int = CHUNK_ROWS, progress: bool = False,
                 on_chunk: Callable[[pd.DataFrame], None] | None = None,
                 options: data.Options | dict | None = None, interval: float | None = None,
                 overwrite: bool = False) -> Written:
    """Score ``input_path`` with ``card_id``'s registered model; write the validated input columns, the
    prediction (with probability or score where the task has one), the model id and version, and
    ``input_row`` (the row's number in the input file, from 1) to ``output_path``, which must not exist
    unless ``overwrite``."""
    started = time.perf_counter()
    card = cards.load_card(card_id)
    input_path, output_path = Path(input_path), Path(output_path)
    check_output(output_path, input_path, card.id, overwrite)
    chunks = _ahead(_prepared(input_path, card, column_map, chunk_rows, sheet, lang, data.Options.of(options)))
    first = next(chunks, None)  # a bad file is refused before any store or model is touched
    if first is None:
        raise DataError(input_path, "the file has a header but no data rows.", fix="export it again with its rows.")
    tracking.configure()
    mv = registry.resolve(card.id, alias, version)
    model = registry.load_model(card.id, version=int(mv.version))
    if interval is not None and getattr(model, "conformal", None) is not None:
        model.interval_level = interval  # prediction_lower / prediction_upper at this level
    lacking = [c for c in model.input_columns if c not in first[0].columns]
    if lacking:  # the model, not the card, decides what a file must hold to be scored
        raise messages.error("model_columns_missing", input_path, column=lacking[0], lang=lang, card=card.id,
                             version=mv.version, count=len(lacking), names=", ".join(lacking[:8]))
    history = model.features is not None  # a plain model scores each row on its own: no history needed
    loaded = time.perf_counter() - started

    partial = partials.partial_path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    partials.sweep(output_path.parent)  # what killed predicts left here
    rows, previous = 0, None
    bar = _bar(input_path, progress)
    try:
        with partials.claimed(partial):  # the ledger knows it until it is renamed into place
            with _Writer(partial, parquet=output_path.suffix.lower() in PARQUET) as writer:
                for frame, done in itertools.chain([first], chunks):
                    inputs = frame.drop(columns="input_row")
                    if on_chunk is not None:  # each validated chunk, e.g. to `workbench predict`'s drift sample
                        on_chunk(inputs)
                    if history and previous is not None:
                        scored = model.predict(pd.concat([previous, inputs], ignore_index=True)).iloc[len(previous):]
                    else:
                        scored = model.predict(inputs)
                    previous = inputs.tail(HISTORY_ROWS) if history else None
                    out = frame.copy()
                    out["model_id"] = card.id
                    out["model_version"] = int(mv.version)
                    for col in scored.columns:
                        out[col] = scored[col].to_numpy()
                    writer.write(out)
                    rows += len(frame)
                    bar.update(done - bar.n)
                    bar.set_postfix(rows=rows, refresh=False)
            if rows == 0:
                raise DataError(input_path, "the file has a header but no data rows.", fix="export it again with its rows.")
            os.replace(partial, output_path)
    finally:
        bar.close()
        partial.unlink(missing_ok=True)
    return Written(rows=rows, version=int(mv.version), seconds=time.perf_counter() - started, load_seconds=loaded)


def check_output(output_path: Path, input_path: Path, card_id: str, overwrite: bool = False) -> None:
    """Refuse an output that is a folder, has another format, is the input, or exists (unless ``overwrite``),
    before anything is read or written."""
    if output_path.is_dir():
        raise WorkbenchError(f"--output {output_path} is a folder: name a file in it, e.g. "
                             f"--output {output_path / f'{card_id}-predictions.csv'}.")
    if output_path.suffix.lower() not in (".csv", *PARQUET):
        raise WorkbenchError(f"Write predictions to a .csv or .parquet file, not {output_path.name}.")
    if output_path.resolve() == input_path.resolve():
        raise WorkbenchError("The output file would overwrite the input: choose another --output.")
    if output_path.exists() and not overwrite:
        raise WorkbenchError(f"--output {output_path} already exists: choose another name, or pass --force to "
                             f"replace it (it is replaced only once every row is scored).")
    if output_path.parent.exists() and not output_path.parent.is_dir():
        raise WorkbenchError(f"--output {output_path}: {output_path.parent} is a file, not a folder.")


def _prepared(path: Path, card, column_map, chunk_rows: int, sheet, lang,
              options: data.Options) -> Iterator[tuple[pd.DataFrame, int]]:
    """Validated chunks of the input and the reading progress after each."""
    start = 1
    for raw, done in read_chunks(path, chunk_rows, sheet=sheet, lang=lang):
        source = path if start == 1 else f"{path} rows {start}-{start + len(raw) - 1}"
        yield _prepare(raw, card, column_map, source, lang, options), done
        start += len(raw)


def _prepare(raw: pd.DataFrame, card, column_map, source, lang: str | None, options=None) -> pd.DataFrame:
    mapped = data.map_columns(raw, card, column_map, source, lang=lang, with_target=False)
    found = data.accepted(mapped, card, source, with_target=False, lang=lang, options=options)
    frame = found.frame
    # the row's number in the file, kept through dropped footers and sorting by time or group
    frame.insert(0, "input_row", found.input_rows + 1)  # chunks carry the file's row positions as their index
    if card.task == "forecast" and card.target.column in mapped:  # a forecast reads the target's history
        history = pd.to_numeric(mapped[card.target.column], errors="coerce")
        frame[card.target.column] = history.loc[found.input_rows].to_numpy()  # in the frame's (sorted) order
    return frame


def _ahead(chunks: Iterator) -> Iterator:
    """The same items, the next one read and validated in a thread while the caller scores this one:
    the boosters release the GIL while they predict, so reading and scoring overlap (1M rows: 12 to
    18 % faster). At most one chunk waits, so memory stays flat; a reading error is raised here."""
    from concurrent.futures import ThreadPoolExecutor

    done = object()
    with ThreadPoolExecutor(1, thread_name_prefix="predict-reader") as reader:
        pending = reader.submit(next, chunks, done)
        while (item := pending.result()) is not done:
            pending = reader.submit(next, chunks, done)
            yield item


# --- reading in chunks -------------------------------------------------------------------------------

def read_chunks(path: Path, rows: int = CHUNK_ROWS, sheet: str | int | None = None,
                lang: str | None = None) -> Iterator[tuple[pd.DataFrame, int]]:
    """``(chunk, progress)`` pairs: progress in bytes read (CSV) or rows read (Parquet, Excel)."""
    if not path.exists():
        raise DataError(path, "file not found.", fix="check the path (relative paths start where you run the command).")
    suffix = path.suffix.lower()
    try:
        if suffix in PARQUET:
            import pyarrow.parquet as pq

            done = 0
            try:
                parquet = pq.ParquetFile(path)
            except Exception as exc:  # noqa: BLE001 - the same message a whole-file read gives
                raise reading.error("unreadable", path, lang=lang, kind="Parquet", detail=reading._short(exc)) from None
            for batch in parquet.iter_batches(batch_size=rows):
                chunk = batch.to_pandas()
                chunk.index = pd.RangeIndex(done, done + len(chunk))  # the file's row positions, as CSV chunks have
                done += batch.num_rows
                yield chunk, done
        elif suffix not in TEXT:  # Excel and what is not a table file: read whole (and refused) as for training
            frame = data.read_table(path, sheet=sheet, lang=lang)
            for start in range(0, len(frame), rows):
                yield frame.iloc[start:start + rows], min(start + rows, len(frame))
        else:
            # The head decides encoding, delimiter and header line with all of read_table's checks; then
            # the file streams, so memory stays flat however long it is.
            layout = reading.sniff_text(path, lang)
            with open(path, "rb") as handle:
                for chunk in pd.read_csv(handle, sep=layout["delimiter"], encoding=layout["encoding"],
                                         skiprows=layout["header_line"] - 1, chunksize=rows, thousands=None,
                                         skipinitialspace=True, skip_blank_lines=True):
                    chunk = chunk.dropna(how="all")
                    chunk.attrs["reading"] = layout
                    yield chunk, handle.tell()
    except (DataError, WorkbenchError):
        raise
    except Exception as exc:  # the reader's own message, with the file named
        raise DataError(path, f"could not be read ({type(exc).__name__}: {exc}).",
                        fix="save it as UTF-8 CSV, Excel .xlsx or Parquet.") from None


def _bar(path: Path, progress: bool):
    from tqdm.auto import tqdm

    if path.suffix.lower() in PARQUET:
        import pyarrow.parquet as pq

        total, unit, scale = (pq.ParquetFile(path).metadata.num_rows if path.exists() else None), "rows", False
    elif path.suffix.lower() in EXCEL:
        total, unit, scale = None, "rows", False
    else:
        total, unit, scale = (path.stat().st_size if path.exists() else None), "B", True
    return tqdm(total=total, unit=unit, unit_scale=scale, disable=not progress, desc=f"scoring {path.name}")


# --- writing in chunks -------------------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet reads as the start of a formula


def defused(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula (``=HYPERLINK(...)``, ``+cmd|...``, ``@SUM``)
    prefixed with an apostrophe, which Excel and LibreOffice show as plain text (CSV injection). Only
    text columns change (category columns are written as their text); numbers stay numbers."""
    out = frame.copy(deep=False)
    for col in frame.columns:
        values = frame[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype("str")  # CSV holds text anyway; every chunk the same type
        elif not (pd.api.types.is_string_dtype(values) or values.dtype == object):
            continue
        risky = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_START), na_action="ignore")
        risky = risky.fillna(False).astype(bool)
        out[col] = values.mask(risky, "'" + values.astype("str")) if risky.any() else values
    return out


class _Writer:
    """Appends chunks to one CSV (UTF-8 with BOM, so Excel shows Korean; text that would run as a formula
    defused) or Parquet file (a row group per chunk); every chunk is cast to the first chunk's column
    types."""

    def __init__(self, path: Path, parquet: bool):
        self.path, self.parquet = path, parquet
        self.handle = self.writer = self.schema = None

    def __enter__(self):
        return self

    def write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa

        table = pa.Table.from_pandas(frame if self.parquet else defused(frame), preserve_index=False)
        if self.writer is None:
            self.schema = table.schema
            if self.parquet:
                import pyarrow.parquet as pq

                self.writer = pq.ParquetWriter(self.path, self.schema)
            else:
                import pyarrow.csv as pacsv

                self.handle = open(self.path, "wb")
                self.handle.write(b"\xef\xbb\xbf")
                self.writer = pacsv.CSVWriter(self.handle, self.schema)
        elif not table.schema.equals(self.schema, check_metadata=False):
            table = table.cast(self.schema)
        self.writer.write_table(table)

    def __exit__(self, *exc):
        if self.writer is not None:
            self.writer.close()
        if self.handle is not None:
            self.handle.close()
        return False

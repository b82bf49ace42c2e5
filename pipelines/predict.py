"""Batch prediction on a file with a registered model, through the same column mapping and validation as
training data, in chunks: memory stays flat however long the file is.

CSV is streamed in row chunks and Parquet by its row groups; Excel (at most a million rows) is read
whole. Each chunk is mapped and validated like a training file, scored, and appended to the output,
written beside the target and renamed into place only when complete. The output's suffix picks its
format: CSV (UTF-8 with BOM; time stamps as the input wrote them, or ISO without nanoseconds) and
Parquet (typed) hold the validated card columns; Excel (.xlsx, one sheet of at most 1,048,576 rows)
holds the input's own columns as they were, with the added columns' numbers formatted. With
``lang="ko"`` the added columns get Korean headers (예측, 불량 확률, 하한, 상한, 모델, 버전, 입력 행).
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pandas as pd

from . import cards, data, messages, parsing, partials, reading, registry, tracking, workbooks
from .mapping import reshaped, reshapes
from .history import HISTORY_ROWS  # rows of the previous chunk a model with lag/rolling features sees again
from .errors import DataError, WorkbenchError

log = logging.getLogger("pipelines.data")  # its notes print as the file's own do

CHUNK_ROWS = 100_000
PARQUET = (".parquet", ".pq")
EXCEL = (".xlsx", ".xlsm", ".xls")
TEXT = (".csv", ".tsv", ".txt", ".dat", "")  # streamed
OUTPUTS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "excel"}  # what predict writes
EXCEL_ROWS = 1_048_576  # rows in one Excel sheet, the header's included
ADDED = ("model_id", "model_version")  # besides input_row and the model's outputs


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
                 overwrite: bool = False, site: str | None = None) -> Written:
    """Score ``input_path`` with the registered model of ``card_id`` (of its data line ``site`` when given:
    ``<card>.<site>``); write the validated input columns (Excel: the input's own columns), the
    prediction (with probability or score where the task has one), the model id and version, and
    ``input_row`` (the row's number in the input file, from 1) to ``output_path``, a .csv, .xlsx or
    .parquet file that must not exist unless ``overwrite``. ``lang="ko"`` heads the added columns in
    Korean."""
    started = time.perf_counter()
    card = cards.load_card(card_id)
    name = registry.model_name(card.id, site)
    input_path, output_path = Path(input_path), Path(output_path)
    check_output(output_path, input_path, name, overwrite, lang)
    kind = OUTPUTS[output_path.suffix.lower()]
    orders: dict[str, str] = {}  # date column -> the order the rows are read in, the first chunk's for the rest

    def from_the_top():
        return _prepared(input_path, card, column_map, chunk_rows, sheet, lang, data.Options.of(options),
                         keep_raw=True, one_sheet=kind == "excel", orders=orders)

    chunks, undecided = from_the_top(), None
    try:
        first = next(chunks, None)  # a bad file is refused before any store or model is touched
    except DataError as error:
        if error.code != "ambiguous_dates":
            raise
        first, undecided = None, error  # the model may know the order: its training file told it
    if first is None and undecided is None:
        raise DataError(input_path, "the file has a header but no data rows.", fix="export it again with its rows.")
    tracking.configure()
    try:
        mv = registry.resolve(name, alias, version)
    except WorkbenchError:
        if undecided is not None:  # no model to ask: the file's own problem first
            raise undecided from None
        raise
    model = registry.load_model(name, version=int(mv.version))
    trained = _trained_orders(model, orders, undecided is not None)
    if undecided is not None and not trained:
        raise undecided
    if trained:  # read again from the top as the training file was read
        for column, order in trained.items():
            if orders.get(column) != order:
                log.info(messages.note("date_order_trained", lang, column=column, order=order, version=mv.version,
                                       flag="--dayfirst" if order != parsing.DAY_FIRST else "--monthfirst"))
        orders.clear()
        orders.update(trained)
        chunks = from_the_top()
        first = next(chunks)
    chunks = _ahead(chunks)
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
    headers = {c: messages.output_column(c, lang, card.task, card.problem) for c in ("input_row", *ADDED)}
    try:
        with partials.claimed(partial):  # the ledger knows it until it is renamed into place
            with _writer(kind, partial, input_path, lang) as writer, _Behind(writer) as behind:
                for frame, done, raw in itertools.chain([first], chunks):
                    inputs = frame.drop(columns="input_row")
                    if on_chunk is not None:  # each validated chunk, e.g. to `workbench predict`'s drift sample
                        on_chunk(inputs)
                    if history and previous is not None:
                        scored = model.predict(pd.concat([previous, inputs], ignore_index=True)).iloc[len(previous):]
                    else:
                        scored = model.predict(inputs)
                    previous = inputs.tail(HISTORY_ROWS) if history else None
                    out = (_raw_rows(raw, frame) if kind == "excel" else _as_written(frame, raw, kind))
                    added = {"model_id": name, "model_version": int(mv.version),
                             **{col: scored[col].to_numpy() for col in scored.columns}}
                    for col, values in added.items():
                        header = headers.get(col) or messages.output_column(col, lang, card.task, card.problem)
                        out[header] = values
                    if kind == "excel":  # the row numbers after the model's columns, beside the user's own
                        out[headers["input_row"]] = frame["input_row"].to_numpy()
                    else:
                        out = out.rename(columns={"input_row": headers["input_row"]})
                    places = raw.attrs.get("reading", {}).get("places")
                    if places:  # several sheets read as one (--sheet all): where each row is, as messages say
                        out[messages.output_column("input_sheet_row", lang)] = reading.sheet_rows(
                            frame["input_row"].to_numpy() - 1, places)
                    behind.write(out, added=[headers.get(c) or messages.output_column(c, lang, card.task, card.problem)
                                             for c in added])
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


def check_output(output_path: Path, input_path: Path, card_id: str, overwrite: bool = False,
                 lang: str | None = None) -> None:
    """Refuse an output that is a folder, has another format, is the input, or exists (unless ``overwrite``),
    before anything is read or written."""
    say = messages.say
    if output_path.is_dir():
        raise WorkbenchError(say("output_folder", lang, path=output_path,
                                 example=output_path / f"{card_id}-predictions.csv"))
    if output_path.suffix.lower() not in OUTPUTS:
        raise WorkbenchError(say("output_format", lang, name=output_path.name))
    if output_path.resolve() == input_path.resolve():
        raise WorkbenchError(say("output_is_input", lang))
    if output_path.exists() and not overwrite:
        raise WorkbenchError(say("output_exists", lang, path=output_path))
    if output_path.parent.exists() and not output_path.parent.is_dir():
        raise WorkbenchError(say("output_parent", lang, path=output_path, parent=output_path.parent))


def _fits_a_sheet(path: Path, lang: str | None) -> None:
    """An Excel output of a file with more rows than a sheet holds is refused before anything is scored:
    exactly for Parquet (its metadata), by its lines for a text file (a few blank lines may be counted)."""
    rows = None
    if path.suffix.lower() in PARQUET and path.exists():
        import pyarrow.parquet as pq

        try:
            rows = pq.ParquetFile(path).metadata.num_rows
        except Exception:  # noqa: BLE001 - an unreadable file is refused by the reader with its own message
            return
    elif path.suffix.lower() in TEXT and path.is_file():
        lines, last = 0, b"\n"
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                lines += block.count(b"\n")
                last = block[-1:]
        rows = lines + (last != b"\n") - 1  # the header
    if rows is not None and rows > EXCEL_ROWS - 1:
        raise WorkbenchError(messages.say("excel_rows", lang, source=path, rows=rows, limit=EXCEL_ROWS - 1))


def _trained_orders(model, decided: dict[str, str], undecided: bool) -> dict[str, str]:
    """The date orders to read the file in again, as the model's training file was read: where the
    file's first rows could not tell day from month, or where training read two-digit years first
    ('24.03.05') and the file's were read day-first (its year above 12 looked like a day). Empty when the
    file's own reading stands."""
    trained = getattr(model, "date_orders", None) or {}
    wins = {k: v for k, v in trained.items() if v != decided.get(k)
            and (undecided or (v == parsing.SHORT_YEAR_FIRST and decided.get(k) == parsing.DAY_FIRST))}
    return {**decided, **wins} if wins else {}


def _prepared(path: Path, card, column_map, chunk_rows: int, sheet, lang,
              options: data.Options, keep_raw: bool = False, one_sheet: bool = False,
              orders: dict[str, str] | None = None) -> Iterator[tuple]:
    """Validated chunks of the input and the reading progress after each (and, with ``keep_raw``, the
    chunk as read: its index labels are the rows' positions in the file, as ``input_row - 1``). With
    ``one_sheet`` (an Excel output) a file with more rows than a sheet holds is refused before any is scored.
    ``orders`` (date column -> order) reads the dates in those orders and takes in the ones a chunk
    decides, so a file's later chunks read as its first (a chunk of a day's log may hold no day above 12)."""
    orders = {} if orders is None else orders
    start = 1
    chunks = read_chunks(path, chunk_rows, sheet=sheet, lang=lang, prefer=data.card_columns_in(card))
    first = next(chunks, None)
    if first is not None and reshapes(first[0], card, column_map):
        # one reading per row (a time stamp's readings may straddle chunks, a tag's last value carries over),
        # a report laid sideways or a column per machine: reshaped here, so an Excel output shows the rows
        # that were scored (map_columns then finds nothing left to reshape)
        [(raw, done)] = _read_whole(path, None, sheet, lang, data.card_columns_in(card))
        wide = reshaped(raw, card, column_map)
        if one_sheet and len(wide) > EXCEL_ROWS - 1:
            raise WorkbenchError(messages.say("excel_rows", lang, source=path, rows=len(wide), limit=EXCEL_ROWS - 1))
        chunks = iter([(wide, done)])
    else:
        if one_sheet:
            _fits_a_sheet(path, lang)
        chunks = itertools.chain([first] if first is not None else [], chunks)
    for raw, done in chunks:
        source = path if start == 1 else f"{path} rows {start}-{start + len(raw) - 1}"
        frame = _prepare(raw, card, column_map, source, lang, options, orders)
        yield (frame, done, raw) if keep_raw else (frame, done)
        start += len(raw)


def _raw_rows(raw: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """The input's own columns and values of the rows ``frame`` kept, in its order (Excel output)."""
    out = raw.loc[frame["input_row"].to_numpy() - 1].reset_index(drop=True)
    out.attrs = {}
    return out


def _as_written(frame: pd.DataFrame, raw: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The validated columns; for CSV a time stamp as the input wrote it when it was text there, else ISO
    8601 without the nanoseconds pandas would print (``2024-01-02 05:08:40``)."""
    out = frame.reset_index(drop=True)
    if kind != "csv":
        return out
    mapping = getattr(raw.attrs.get("_mapped_names"), "get", None)
    for col in out.columns:
        if not pd.api.types.is_datetime64_any_dtype(out[col]):
            continue
        source = mapping(col) if mapping else None
        text = raw[source] if source is not None and source in raw.columns else None
        if text is not None and (pd.api.types.is_string_dtype(text) or text.dtype == object):
            out[col] = text.loc[frame["input_row"].to_numpy() - 1].to_numpy(dtype=object, na_value=None)
        else:
            out[col] = _iso(out[col])
    return out


def _iso(values: pd.Series) -> pd.Series:
    """Time stamps as ISO text: seconds, and fractions only when a value has them; the offset when aware."""
    has_fraction = bool(((values.dt.microsecond != 0) | (values.dt.nanosecond != 0)).any())
    text = values.dt.strftime("%Y-%m-%d %H:%M:%S.%f" if has_fraction else "%Y-%m-%d %H:%M:%S")
    if getattr(values.dt, "tz", None) is not None:
        text = text + values.dt.strftime("%z").str.replace(r"(\d\d)$", r":\1", regex=True)
    return text.where(values.notna(), None)


def _prepare(raw: pd.DataFrame, card, column_map, source, lang: str | None, options=None,
             orders: dict[str, str] | None = None) -> pd.DataFrame:
    card = card.with_date_orders(orders)
    mapped = data.map_columns(raw, card, column_map, source, lang=lang, with_target=False)
    # card column -> the input's own header, for writing a time stamp as the input had it
    raw.attrs["_mapped_names"] = {m.card: m.user for m in mapped.attrs["mapping"].matches}
    found = data.accepted(mapped, card, source, with_target=False, lang=lang, options=options)
    if orders is not None:
        for column, order in found.facts.get("date_orders", {}).items():
            orders.setdefault(column, order)
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


class _Behind:
    """A writer's ``write`` in a thread, one chunk behind: Arrow encodes and writes a chunk (GIL released)
    while the next is featurized and scored. At most one chunk waits, so memory stays flat; a writing
    error is raised at the next write or on leaving."""

    def __init__(self, writer):
        from concurrent.futures import ThreadPoolExecutor

        self.writer, self.pending = writer, None
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="predict-writer")

    def __enter__(self):
        return self

    def write(self, frame: pd.DataFrame, added: list[str] | None = None) -> None:
        self._wait()
        self.pending = self.pool.submit(self.writer.write, frame, added)

    def _wait(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def __exit__(self, exc_type, *exc):
        try:
            if exc_type is None:
                self._wait()
        finally:
            self.pool.shutdown(wait=True)  # the file is closed only after its last write
        return False


# --- reading in chunks -------------------------------------------------------------------------------

def read_chunks(path: Path, rows: int = CHUNK_ROWS, sheet: str | int | None = None,
                lang: str | None = None, prefer=None) -> Iterator[tuple[pd.DataFrame, int]]:
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
        elif path.is_dir() or suffix not in TEXT or workbooks.kind_of(path) != "text":
            # a workbook (also one named .csv) and what is not a table file: read whole (or refused) as for training
            yield from _read_whole(path, rows, sheet, lang, prefer)
        else:
            # The head decides encoding, delimiter and header line with all of read_table's checks; then
            # the file streams, so memory stays flat however long it is.
            layout = reading.sniff_text(path, lang, prefer)
            if layout.get("duplicate_columns") or layout.get("spaces"):  # judged on the whole file; fields between spaces
                yield from _read_whole(path, rows, sheet, lang, prefer)
                return
            joined = layout.get("joined_header")  # a header over two rows: read below both, named as joined
            headless = (layout.get("by_position") or {}).get("names")  # no header line: named as the card's columns
            named = joined["columns"] if joined else headless
            # the lines above the first data row (header_line: the header's line, or those above the data)
            skip = layout["header_line"] + 1 if joined else layout["header_line"] if headless else layout["header_line"] - 1
            with open(path, "rb") as handle:
                for chunk in pd.read_csv(handle, sep=layout["delimiter"], encoding=layout["encoding"],
                                         skiprows=skip, chunksize=rows,
                                         header=None if named else "infer", names=named,
                                         thousands=layout.get("thousands"), decimal=layout.get("decimal", "."),
                                         index_col=False if layout.get("trailing_separator") else None,
                                         skipinitialspace=True, skip_blank_lines=True):
                    chunk = chunk.dropna(how="all")
                    if joined:
                        chunk.index = chunk.index + 1  # numbered as read_table numbers them
                    chunk.attrs["reading"] = layout
                    yield chunk, handle.tell()
    except (DataError, WorkbenchError):
        raise
    except Exception as exc:  # the reader's own message, with the file named
        raise DataError(path, f"could not be read ({type(exc).__name__}: {exc}).",
                        fix="save it as UTF-8 CSV, Excel .xlsx or Parquet.") from None


def _read_whole(path: Path, rows: int | None, sheet, lang, prefer) -> Iterator[tuple[pd.DataFrame, int]]:
    """The file read at once, as training reads it, then given in chunks of ``rows`` (None: one chunk), with
    the progress ``_bar`` counts: bytes for a text file, rows otherwise."""
    frame = data.read_table(path, sheet=sheet, lang=lang, prefer=prefer)
    rows = rows or max(len(frame), 1)
    size = path.stat().st_size if path.is_file() and path.suffix.lower() in TEXT else None
    for start in range(0, len(frame), rows):
        end = min(start + rows, len(frame))
        yield frame.iloc[start:end], end if size is None else size * end // len(frame)


def _bar(path: Path, progress: bool):
    from tqdm.auto import tqdm

    if path.suffix.lower() in PARQUET:
        import pyarrow.parquet as pq

        total, unit, scale = (pq.ParquetFile(path).metadata.num_rows if path.exists() else None), "rows", False
    elif path.suffix.lower() in EXCEL or path.is_dir():
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
        risky = risky.eq(True)  # a missing cell is not a formula
        out[col] = values.mask(risky, "'" + values.astype("str")) if risky.any() else values
    return out


class _Writer:
    """Appends chunks to one CSV (UTF-8 with BOM, so Excel shows Korean; text that would run as a formula
    defused) or Parquet file (a row group per chunk). Every chunk is cast to the first chunk's column types;
    a CSV chunk that cannot be (codes that were numbers and are text further down) is written as it is,
    a Parquet one is refused with the column named."""

    def __init__(self, path: Path, parquet: bool, source: Path, lang: str | None = None):
        self.path, self.parquet, self.source, self.lang = path, parquet, source, lang
        self.handle = self.writer = self.schema = None
        self.rows = 0

    def __enter__(self):
        return self

    def write(self, frame: pd.DataFrame, added: list[str] | None = None) -> None:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        table = pa.Table.from_pandas(frame if self.parquet else defused(frame), preserve_index=False)
        if self.schema is None:
            self.schema = table.schema
            if self.parquet:
                import pyarrow.parquet as pq

                self.writer = pq.ParquetWriter(self.path, self.schema)
            else:
                self.handle = open(self.path, "wb")
                self.handle.write(b"\xef\xbb\xbf")
                pacsv.write_csv(table.slice(0, 0), self.handle)  # the header
        elif not table.schema.equals(self.schema, check_metadata=False):
            try:
                table = table.cast(self.schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                if self.parquet or table.schema.names != self.schema.names:  # (CSV: same columns, any type)
                    self._refuse(table)
        if self.parquet:
            self.writer.write_table(table)
        else:
            pacsv.write_csv(table, self.handle, write_options=pacsv.WriteOptions(include_header=False))
        self.rows += table.num_rows

    def _refuse(self, table) -> None:
        if table.schema.names != self.schema.names:  # every chunk is validated to the same columns
            raise WorkbenchError(f"{self.source}: the columns changed from one chunk to the next "
                                 f"({self.schema.names} then {table.schema.names})")
        for field in self.schema:
            later = table.schema.field(field.name).type
            try:
                table.column(field.name).cast(field.type)
            except Exception:  # noqa: BLE001 - the first column that cannot be cast is the one to name
                raise WorkbenchError(messages.say("output_types", self.lang, source=self.source, column=field.name,
                                                  row=self.rows + 1, first=_kind(field.type, self.lang),
                                                  later=_kind(later, self.lang))) from None

    def __exit__(self, *exc):
        if self.writer is not None:
            self.writer.close()
        if self.handle is not None:
            self.handle.close()
        return False


_KINDS = {"numbers": "숫자", "time stamps": "시각", "text": "문자"}


def _kind(arrow_type, lang: str | None) -> str:
    import pyarrow as pa

    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type):
        kind = "numbers"
    elif pa.types.is_timestamp(arrow_type):
        kind = "time stamps"
    elif pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        kind = "text"
    else:
        return str(arrow_type)
    return _KINDS[kind] if messages.lang_or_default(lang) == "ko" else kind


def _writer(kind: str, path: Path, source: Path, lang: str | None):
    return _ExcelWriter(path, source, lang) if kind == "excel" else _Writer(path, kind == "parquet", source, lang)


class _ExcelWriter:
    """Appends chunks to one sheet of an .xlsx (openpyxl's write-only mode: rows go to a temporary file as
    they come, so memory holds about one chunk). The header is bold and frozen; the columns predict adds
    get number formats (probabilities as percentages, values with up to three decimals), the input's own
    columns keep their values as read; text is always text, never a formula; time stamps are Excel dates.
    More rows than a sheet holds stop with a clear error."""

    def __init__(self, path: Path, source: Path, lang: str | None):
        from openpyxl import Workbook

        self.path, self.source, self.lang = path, source, lang
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet("예측" if messages.lang_or_default(lang) == "ko" else "predictions")
        self.rows = 0
        self.columns: list[str] | None = None

    def __enter__(self):
        return self

    def write(self, frame: pd.DataFrame, added: list[str] | None = None) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        if self.rows + len(frame) > EXCEL_ROWS - 1:
            raise WorkbenchError(messages.say("excel_rows", self.lang, source=self.source, rows=self.rows + len(frame),
                                              limit=EXCEL_ROWS - 1))
        if self.columns is None:
            self.columns = [str(c) for c in frame.columns]
            for i, col in enumerate(self.columns):
                sample = [len(str(v)) for v in frame.iloc[:50, i].tolist()]
                width = max([len(col) * (2 if any(ord(ch) > 0x1100 for ch in col) else 1), *sample]) + 2
                self.sheet.column_dimensions[_letter(i)].width = min(max(width, 8), 50)
            self.sheet.freeze_panes = "A2"
            bold = Font(bold=True)
            header = []
            for col in self.columns:
                cell = WriteOnlyCell(self.sheet, value=col)
                cell.data_type = "s"
                cell.font = bold
                header.append(cell)
            self.sheet.append(header)
        formats = [_number_format(frame.iloc[:, i], str(col) in (added or [])) for i, col in enumerate(frame.columns)]
        columns = [_cells(frame.iloc[:, i]) for i in range(frame.shape[1])]
        for values in zip(*columns):
            row = []
            for value, fmt in zip(values, formats):
                if isinstance(value, str) or fmt is not None:
                    cell = WriteOnlyCell(self.sheet, value=value)
                    if isinstance(value, str):
                        cell.data_type = "s"  # '=HYPERLINK(...)' stays text: no formula in our output
                    elif fmt is not None and value is not None:
                        cell.number_format = fmt
                    row.append(cell)
                else:
                    row.append(value)
            self.sheet.append(row)
        self.rows += len(frame)

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.book.save(self.path)
        else:
            self.book.close()
        return False


def _number_format(values: pd.Series, added: bool) -> str | None:
    if pd.api.types.is_datetime64_any_dtype(values):
        return "yyyy-mm-dd hh:mm:ss"
    if not added or not pd.api.types.is_float_dtype(values):
        return None
    name = str(values.name)
    if name.startswith("probability") or "확률" in name:
        return "0.0%"
    return "#,##0.0##"


def _cells(values: pd.Series) -> list:
    """A column as the plain Python values openpyxl writes: None for missing, naive datetimes."""
    if pd.api.types.is_datetime64_any_dtype(values):
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_localize(None)
        return [None if v is pd.NaT else v.to_pydatetime() for v in values]
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    out = values.to_numpy(dtype=object)
    return [None if (v is None or v is pd.NA or (isinstance(v, float) and v != v)) else
            (v.item() if hasattr(v, "item") else v) for v in out]


def _letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i + 1)

"""Serving: one champion through MLflow's own scoring server, or every card's champion from one ASGI
process (FastAPI on uvicorn, the stack MLflow already brings).

The multi-model app keeps each champion loaded and answers a request in a few milliseconds: the JSON
is checked against the card's columns in plain Python (names mapped onto the card the way files are,
types, ranges), and only the model itself sees pandas. Anything wrong with a request is the caller's
to fix and gets a 4xx naming the column; a 5xx means a bug here.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from . import cards, data, registry, settings, tracking
from .cards import Card, Column

FORMATS = ("dataframe_split", "dataframe_records", "inputs", "instances")  # MLflow's request keys
MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_ROWS = 100_000
TYPES = {"numeric": "double", "category": "string", "datetime": "datetime"}


# --- one champion: MLflow's scoring server ----------------------------------------------------------

def mlflow_serve_command(card_id: str, alias: str = registry.CHAMPION, version: int | None = None,
                         host: str = "127.0.0.1", port: int = 5001) -> list[str]:
    """The ``mlflow models serve`` command for a registered model (it must exist: checked here, so the
    user gets our message rather than MLflow's traceback)."""
    tracking.configure()
    registry.resolve(card_id, alias, version)
    uri = f"models:/{card_id}/{version}" if version is not None else f"models:/{card_id}@{alias}"
    return [sys.executable, "-m", "mlflow", "models", "serve", "-m", uri, "--env-manager", "local",
            "--host", host, "--port", str(port)]


def serve_one(card_id: str, alias: str = registry.CHAMPION, version: int | None = None, host: str = "127.0.0.1",
              port: int = 5001, threads: int = 1) -> int:
    cmd = mlflow_serve_command(card_id, alias, version, host, port)
    if os.name == "posix":  # become the server: signals (Ctrl-C, kill) reach MLflow, not a waiting parent
        sys.stdout.flush()
        os.execve(cmd[0], cmd, mlflow_serve_env(threads))
    return subprocess.call(cmd, env=mlflow_serve_env(threads))


def mlflow_serve_env(threads: int = 1) -> dict[str, str]:
    """MLflow starts ``uvicorn`` by name: put this interpreter's scripts first on PATH (a venv used
    without activating it has them nowhere else)."""
    scripts = os.path.dirname(sys.executable)
    return {**os.environ, "MLFLOW_TRACKING_URI": settings.tracking_uri(), "OMP_NUM_THREADS": str(threads),
            "PATH": scripts + os.pathsep + os.environ.get("PATH", "")}


# --- request checking -------------------------------------------------------------------------------

class RequestError(Exception):
    """A request the caller must fix: HTTP status, message, and the column when there is one."""

    def __init__(self, status: int, message: str, column: str | None = None):
        super().__init__(message)
        self.status, self.message, self.column = status, message, column

    def body(self) -> dict:
        code = {400: "BAD_REQUEST", 404: "RESOURCE_DOES_NOT_EXIST", 413: "REQUEST_TOO_LARGE",
                415: "UNSUPPORTED_MEDIA_TYPE", 422: "INVALID_PARAMETER_VALUE"}.get(self.status, "BAD_REQUEST")
        return {"error_code": code, "message": self.message, **({"column": self.column} if self.column else {})}


def parse(body: bytes, positional: list[str]) -> dict[str, list]:
    """MLflow's JSON request formats to ``{column: values}``: ``dataframe_split``, ``dataframe_records``,
    ``inputs``/``instances`` as columns (``{"a": [..]}``), records, or rows in ``positional`` order."""
    if not body or not body.strip():
        raise RequestError(400, "The request body is empty: send a JSON object such as "
                                '{"dataframe_records": [{"column": value, ...}]}.')
    try:
        payload = json.loads(body.decode("utf-8-sig"))  # JSON on the wire is UTF-8 (RFC 8259), nothing else
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise RequestError(400, f"The request body is not valid UTF-8 JSON ({type(exc).__name__}: "
                                f"{str(exc)[:200]}).") from None
    if not isinstance(payload, dict):
        raise RequestError(400, f"The body must be a JSON object with one of {list(FORMATS[:3])}, "
                                f"not a {type(payload).__name__}.")
    keys = [k for k in payload if k in FORMATS]
    extra = [k for k in payload if k not in FORMATS and k != "params"]
    if len(keys) != 1 or extra:
        raise RequestError(400, f"The body must have exactly one of {list(FORMATS[:3])} (and optionally "
                                f"'params'); it has {list(payload)[:10]}.")
    kind, content = keys[0], payload[keys[0]]
    if kind == "dataframe_split":
        return _split(content)
    if kind == "dataframe_records":
        return _records(content, kind)
    if isinstance(content, dict):
        return _column_dict(content, kind)
    if isinstance(content, list) and content and all(isinstance(r, list) for r in content):
        return _split({"columns": positional, "data": content}, kind)
    return _records(content, kind)


def _rows(n: int) -> None:
    if n == 0:
        raise RequestError(400, "The request has no rows.")
    if n > MAX_ROWS:
        raise RequestError(413, f"The request has {n} rows; at most {MAX_ROWS} per request. Split it, or "
                                f"score files with `workbench predict`.")


def _split(content, kind="dataframe_split") -> dict[str, list]:
    if not isinstance(content, dict) or set(content) - {"columns", "data", "index"}:
        raise RequestError(400, f"{kind} must be an object with 'columns' and 'data' (and optionally 'index').")
    columns, rows = content.get("columns"), content.get("data")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise RequestError(400, f"{kind}.columns must be a list of column names.")
    if len(set(columns)) != len(columns):
        raise RequestError(400, f"{kind}.columns names a column twice.")
    if not isinstance(rows, list):
        raise RequestError(400, f"{kind}.data must be a list of rows.")
    _rows(len(rows))
    width = len(columns)
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            raise RequestError(400, f"{kind}.data row {i} must be a list of {width} values, one per column.")
    return {name: [row[j] for row in rows] for j, name in enumerate(columns)}


def _records(content, kind) -> dict[str, list]:
    if not isinstance(content, list) or not all(isinstance(r, dict) for r in content):
        raise RequestError(400, f"{kind} must be a list of records (objects of column: value).")
    _rows(len(content))
    names = dict.fromkeys(k for record in content for k in record)  # union of keys, in first-seen order
    return {name: [record.get(name) for record in content] for name in names}


def _column_dict(content: dict, kind) -> dict[str, list]:
    lists = {k: v for k, v in content.items() if isinstance(v, list)}
    if lists and len(lists) != len(content):
        raise RequestError(400, f"{kind} as an object needs a list of values for every column, or a single "
                                f"value for every column.")
    if not lists:
        content = {k: [v] for k, v in content.items()}
    lengths = {len(v) for v in content.values()}
    if len(lengths) > 1:
        raise RequestError(400, f"{kind}: the columns have different numbers of values {sorted(lengths)}.")
    _rows(lengths.pop() if lengths else 0)
    return dict(content)


def card_names(card: Card, names: tuple[str, ...], cache: dict) -> tuple[str, ...]:
    """Request names mapped onto card names exactly as a file's header is (Korean aliases, case, units);
    remembered per model, since clients send the same header again and again."""
    found = cache.get(names)
    if found is None:
        found = tuple(data.map_columns(pd.DataFrame(columns=list(names)), card, None, "request").columns)
        if len(cache) < 256:  # a client inventing names cannot grow it without bound
            cache[names] = found
    return found


def frame_from(columns: dict[str, list], card: Card, specs: list[Column], cache: dict | None = None) -> pd.DataFrame:
    """Check request columns against the card (present, typed, in range) and build the model's frame.
    Raises RequestError(422) naming the column."""
    mapped = card_names(card, tuple(columns), {} if cache is None else cache)
    if len(set(mapped)) != len(mapped):
        twice = sorted({m for m in mapped if mapped.count(m) > 1})
        raise RequestError(400, f"Two request columns mean the same card column {twice[0]}.", column=twice[0])
    values = dict(zip(mapped, columns.values()))
    missing = [c for c in specs if c.required and c.name not in values]
    if missing:
        described = ", ".join(f"{c.name} ({TYPES[c.kind]}{', ' + c.unit if c.unit else ''})" for c in missing[:8])
        raise RequestError(422, f"Missing column(s): {described}. See GET /models/{card.id}/schema.",
                           column=missing[0].name)
    present = [c for c in specs if c.name in values]
    numeric = [c for c in present if c.kind == "numeric"]
    numbers = np.empty((len(numeric), len(next(iter(values.values()), []))))
    for k, col in enumerate(numeric):
        numbers[k] = _numbers(values[col.name], col)
    _check_ranges(numbers, numeric, values)
    # The numbers as one 2-D block, the few text and date columns put in their places: a block per
    # column (what a dict of arrays gives) makes every later step of a feature function slower.
    frame = pd.DataFrame(numbers.T, columns=pd.Index([c.name for c in numeric], dtype=object), copy=False)
    for i, col in enumerate(present):
        if col.kind != "numeric":
            frame.insert(i, col.name, _dates(values[col.name], col) if col.kind == "datetime"
                         else _labels(values[col.name], col))
    return frame


def _bad(col: Column, i: int, value, expected: str) -> RequestError:
    shown = json.dumps(value)[:60] if not isinstance(value, float) else repr(value)
    return RequestError(422, f"Column {col.name}, row {i}: expected {expected}, got {shown}.", column=col.name)


def _labels(values: list, col: Column):
    out = []
    for i, v in enumerate(values):
        if v is None or type(v) is str:
            out.append(v)
        elif type(v) in (int, float, bool):
            out.append(None if v != v else str(v))
        else:
            raise _bad(col, i, v, "a text or number label")
    return pd.array(out, dtype="str")


def _numbers(values: list, col: Column) -> list[float]:
    """JSON numbers, nulls and numbers written as text ("1,234.5") as floats; anything else names the column."""
    out = []
    for i, v in enumerate(values):
        t = type(v)
        if t is float:
            out.append(v)
        elif t is int:
            try:
                out.append(float(v))
            except OverflowError:
                raise _bad(col, i, v, "a number in the double range") from None
        elif v is None:
            out.append(np.nan)
        elif t is str:
            try:
                out.append(float(v.replace(",", "").strip() or "nan"))
            except ValueError:
                raise _bad(col, i, v, f"a number{' in ' + col.unit if col.unit else ''}") from None
        else:
            raise _bad(col, i, v, f"a number{' in ' + col.unit if col.unit else ''}")
    return out


def _check_ranges(numbers: np.ndarray, numeric: list[Column], values: dict[str, list]) -> None:
    """Every numeric column against the card's range at once (one row per column in ``numbers``)."""
    low = np.array([-np.inf if c.min is None else c.min for c in numeric])[:, None]
    high = np.array([np.inf if c.max is None else c.max for c in numeric])[:, None]
    bad = np.isinf(numbers) | (numbers < low) | (numbers > high)  # NaN (missing) is allowed
    if bad.any():
        k, i = (int(x) for x in np.argwhere(bad)[0])
        col = numeric[k]
        unit = f" {col.unit}" if col.unit else ""
        raise RequestError(422, f"Column {col.name}, row {i}: {values[col.name][i]!r} is outside the allowed "
                                f"range [{col.min}, {col.max}]{unit}.", column=col.name)


def _dates(values: list, col: Column):
    stamps = []
    for i, v in enumerate(values):
        if v is None:
            stamps.append(None)
            continue
        if type(v) is not str:
            raise _bad(col, i, v, "a date string such as \"2024-05-01 08:30:00\"")
        try:
            stamp = datetime.fromisoformat(v)
        except ValueError:
            stamp = pd.to_datetime(v, errors="coerce")  # other spellings pandas reads in files too
            if stamp is pd.NaT:
                raise _bad(col, i, v, "a date such as \"2024-05-01 08:30:00\"") from None
        if stamp.tzinfo is not None:  # the plant's wall clock, as in the training files
            stamp = stamp.replace(tzinfo=None)
        stamps.append(stamp)
    return np.array(stamps, dtype="datetime64[ns]")


# --- the champions one process serves ---------------------------------------------------------------

@dataclass
class Served:
    card: Card
    version: int
    model: object  # StandardModel
    run_id: str | None
    metrics: dict[str, float]
    positional: list[str]  # column order of the model signature (for `inputs` given as rows)
    specs: list[Column] = field(default_factory=list)
    names: dict = field(default_factory=dict)  # request header -> card names

    @classmethod
    def load(cls, card: Card, version: int, run_id: str | None, threads: int = 1) -> "Served":
        import mlflow

        pyfunc = mlflow.pyfunc.load_model(f"models:/{card.id}/{version}")
        model = pyfunc.unwrap_python_model().model
        for booster in model.boosters.values():  # one thread per request: a single row gains nothing from more
            if hasattr(booster, "set_param"):
                booster.set_param({"nthread": threads})
        schema = pyfunc.metadata.get_input_schema()
        specs = input_specs(card, schema, model.input_columns)
        positional = schema.input_names() if schema is not None else [c.name for c in specs]
        return cls(card=card, version=version, model=model, run_id=run_id, metrics=registry.run_metrics(run_id),
                   positional=[str(n) for n in positional], specs=specs)

    def columns(self) -> list[dict]:
        return [{"name": c.name, "type": TYPES[c.kind], "unit": c.unit, "ko": c.ko, "min": c.min, "max": c.max,
                 "required": c.required} for c in self.specs]

    def describe(self) -> dict:
        card = self.card
        return {"id": card.id, "version": self.version, "name": card.name.en, "name_ko": card.name.ko,
                "task": card.task, "target": {"column": card.target.column, "unit": card.target.unit},
                "metric": {"primary": card.metric.primary, "accept": card.metric.accept},
                "metrics": self.metrics, "run_id": self.run_id, "columns": self.columns()}

    def predict(self, body: bytes) -> list[dict]:
        frame = frame_from(parse(body, self.positional), self.card, self.specs, self.names)
        out = self.model.predict_columns(frame)
        cols = [[_plain(v) for v in values.tolist()] for values in out.values()]
        return [dict(zip(out, row)) for row in zip(*cols)]


def input_specs(card: Card, signature=None, inputs: list[str] | None = None) -> list[Column]:
    """The columns a request may carry: the card's inputs; a forecast also reads the target's history;
    and any input of the model's signature the card no longer lists (the model still reads it). Those
    the trained model reads (``inputs``) are required; the card's others are accepted and ignored."""
    specs = [c for c in card.columns if c.name not in card.exclude]
    if card.task == "forecast":
        specs.append(Column(name=card.target.column, ko=card.target.ko, unit=card.target.unit))
    known = {c.name for c in specs} | {card.target.column}
    for spec in signature.inputs if signature is not None else []:
        if spec.name and spec.name not in known:
            kind = {"string": "category", "datetime": "datetime"}.get(getattr(spec.type, "name", ""), "numeric")
            specs.append(Column(name=spec.name, kind=kind))
    reads = set(inputs if inputs is not None else [c.name for c in specs])
    return [c.model_copy(update={"required": c.name in reads}) for c in specs]


def _plain(v):
    if isinstance(v, float):
        return None if v != v or math.isinf(v) else v
    if isinstance(v, np.generic):
        return _plain(v.item())
    return v


class Champions:
    """Every card's current champion, loaded once; ``reload`` swaps in newly promoted versions."""

    def __init__(self, threads: int = 1):
        self.threads = threads
        self.models: dict[str, Served] = {}
        self.errors: dict[str, str] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, threads: int = 1) -> "Champions":
        found = cls(threads)
        found.reload()
        return found

    def reload(self) -> dict:
        """Look up every card's champion alias; load what changed. A model that fails to load keeps
        its previous version in service and is reported, never taking the others down."""
        with self._lock:
            tracking.configure()
            current, models, errors = self.models, {}, {}
            loaded, unchanged = [], []
            for card_id in cards.list_ids():
                try:
                    card = cards.load_card(card_id)
                    mv = registry.version_by_alias(card_id, registry.CHAMPION)
                    if mv is None:
                        continue
                    old = current.get(card_id)
                    if old is not None and old.version == int(mv.version) and old.card == card:
                        models[card_id] = old
                        unchanged.append(card_id)
                        continue
                    models[card_id] = Served.load(card, int(mv.version), mv.run_id, self.threads)
                    loaded.append(f"{card_id} v{mv.version}")
                except Exception as exc:  # noqa: BLE001 - reported per card, the rest keep serving
                    errors[card_id] = f"{type(exc).__name__}: {exc}"[:500]
                    if card_id in current:
                        models[card_id] = current[card_id]
            removed = sorted(set(current) - set(models))
            self.models, self.errors = models, errors  # one assignment: requests see old or new, never half
            return {"loaded": loaded, "unchanged": unchanged, "removed": removed, "errors": errors}

    def get(self, card_id: str) -> Served:
        served = self.models.get(card_id)
        if served is None:
            known = ", ".join(sorted(self.models)) or "none yet"
            if card_id in cards.list_ids():
                raise RequestError(404, f"{card_id} has no champion being served: run `workbench run {card_id}` "
                                        f"(or `workbench promote`), then POST /reload. Served: {known}.")
            raise RequestError(404, f"No standard model {card_id!r}. Served: {known}.")
        return served


# --- the ASGI app -----------------------------------------------------------------------------------

def create_app(champions: Champions, poll_s: float = 0.0):
    """FastAPI app over loaded champions. ``poll_s`` > 0 also re-reads the registry that often."""
    @asynccontextmanager
    async def lifespan(app):
        _one_openmp_thread(champions.threads)
        poller = asyncio.create_task(_poll(champions, poll_s)) if poll_s > 0 else None
        yield
        if poller:
            poller.cancel()

    app = FastAPI(title="Standard Model Workbench", lifespan=lifespan,
                  description="Every card's champion: GET /models, POST /models/{id}/invocations.")

    def _json(content, status: int = 200) -> Response:
        return Response(json.dumps(content, ensure_ascii=False, default=str), status_code=status,
                        media_type="application/json")

    @app.exception_handler(RequestError)
    async def _request_error(request, exc: RequestError):
        return _json(exc.body(), exc.status)

    @app.exception_handler(Exception)
    async def _bug(request, exc: Exception):  # ours to fix: say so plainly, never a stack trace
        return JSONResponse({"error_code": "INTERNAL_ERROR", "message": f"{type(exc).__name__}: {exc}"[:500]},
                            status_code=500)

    @app.get("/health")
    async def health():
        return _json({"status": "ok", "models": len(champions.models), "errors": champions.errors})

    @app.get("/models")
    async def models():
        return _json({"models": [s.describe() for _, s in sorted(champions.models.items())]})

    @app.get("/models/{card_id}/schema")
    async def schema(card_id: str):
        served = champions.get(card_id)
        return _json({"id": card_id, "version": served.version, "columns": served.columns(),
                      "formats": list(FORMATS[:3])})

    @app.post("/models/{card_id}/invocations")
    async def invocations(card_id: str, request: Request):
        served = champions.get(card_id)
        kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if kind != "application/json":
            raise RequestError(415, f"Send JSON (Content-Type: application/json), not {kind!r}.")
        body = await _body(request)
        return _json({"predictions": served.predict(body), "model": {"id": card_id, "version": served.version}})

    @app.post("/reload")
    async def reload():
        return _json(await asyncio.to_thread(champions.reload))

    return app


async def _body(request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise RequestError(413, f"The body has {int(declared)} bytes; at most {MAX_BODY_BYTES} per request.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise RequestError(413, f"The body is over {MAX_BODY_BYTES} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def _poll(champions: Champions, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(champions.reload)
        except Exception:  # noqa: BLE001 - a registry hiccup must not stop serving; the next poll retries
            pass


def _one_openmp_thread(threads: int) -> None:
    """LightGBM predicts with every OpenMP thread by default; on a busy machine a single row then waits
    for all of them (10 ms instead of 1). The limit applies to the thread that runs requests."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="openmp")


def serve_all(host: str = "127.0.0.1", port: int = 8000, poll_s: float = 60.0, threads: int = 1) -> None:
    import uvicorn

    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    champions = Champions.load(threads)
    served = ", ".join(f"{k} v{m.version}" for k, m in sorted(champions.models.items()))
    print(f"{len(champions.models)} champion(s): {served or 'none yet (run `workbench run CARD_ID`)'}", flush=True)
    for card_id, problem in champions.errors.items():
        print(f"not served: {card_id}: {problem}", flush=True)
    app = create_app(champions, poll_s=poll_s)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)

"""Serving: every card's champion (`workbench serve --all`) or one registered model (`workbench serve
ID`) from one ASGI process (FastAPI on uvicorn, the stack MLflow already brings). Both are the same app,
so they check requests against the card the same way (pipelines/serve_checks.py), refuse the same
requests with the same messages, and guard the same way (pipelines/serve_guard.py).

A request's work (decoding, checking, predicting, encoding) runs in a bounded pool of worker threads,
never on the event loop, so ``/health`` and small requests are answered while a large one is scored;
a request waits at most ``Limits.queue_seconds`` for a worker and works at most ``Limits.seconds``,
else 503 with Retry-After. Anything wrong with a request is the caller's to fix and gets a 4xx with one
paragraph naming the column; a 5xx means a bug here, and its body says only that (the log has the rest).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import Response

from . import cards, drift, jsonstream, registry, tracking
from .cards import Card, Column
from .serve_checks import FORMATS, TYPES, Deadline, Limits, RequestError, frame_from, parse  # noqa: F401
from .serve_guard import Guard, allowed_hosts, token_from_env
from .unit_memory import UnitMemory

log = logging.getLogger("pipelines.serving")
RECENT_ROWS = 5000  # rows kept per served model for GET /models/{id}/drift


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
    reference: dict | None = None  # the training rows' drift profile (pipelines/drift.py); None for older runs
    recent: object = None  # drift.Recent: the last rows scored, compared with ``reference`` on GET .../drift
    name: str = ""  # the registered name, the model's id here: the card id, or <card id>.<site>
    history: list[str] = field(default_factory=list)  # features a row sent alone is scored without (history.py)
    memory: UnitMemory | None = None  # the recent rows kept per unit for those features (None: stateless)

    @property
    def id(self) -> str:
        return self.name or self.card.id

    @property
    def site(self) -> str:
        return registry.split_name(self.id)[1]

    @classmethod
    def load(cls, card: Card, version: int, run_id: str | None, threads: int = 1, name: str | None = None,
             remember: bool = False) -> "Served":
        import mlflow

        pyfunc = mlflow.pyfunc.load_model(f"models:/{name or card.id}/{version}")
        model = pyfunc.unwrap_python_model().model
        for booster in model.boosters.values():  # one thread per request: a single row gains nothing from more
            if hasattr(booster, "set_param"):
                booster.set_param({"nthread": threads})
        card = model.card_as_trained(card)  # a request's '24.03.05' reads as the training file's dates did
        schema = pyfunc.metadata.get_input_schema()
        specs = input_specs(card, schema, model.input_columns)
        positional = schema.input_names() if schema is not None else [c.name for c in specs]
        reference = drift.load_profile(run_id)
        metrics, tags = registry.run_facts(run_id)
        history = [n for n in tags.get("model.history_features", "").split(", ") if n]
        kept = int(tags.get("model.history_rows") or 0) if history and remember else 0
        memory = UnitMemory(kept, card.group.column if card.group else None, card.time.column if card.time else None) \
            if kept else None
        if history:
            log.info("%s v%s: %d features need the earlier rows of the same unit (%s); %s", name or card.id, version,
                     len(history), ", ".join(history[:5]), f"the last {kept} rows of each unit are kept" if kept else
                     "a request should carry them before the row to score (--remember keeps them)")
        return cls(card=card, version=version, model=model, run_id=run_id, metrics=metrics,
                   positional=[str(n) for n in positional], specs=specs, reference=reference,
                   recent=drift.Recent(reference, RECENT_ROWS) if reference else None, name=name or card.id,
                   history=history, memory=memory)

    def columns(self) -> list[dict]:
        return [{"name": c.name, "type": TYPES[c.kind], "unit": c.unit, "ko": c.ko, "min": c.min, "max": c.max,
                 "required": c.required} for c in self.specs]

    def needs_history(self) -> dict:
        """What a client must send for features that look back in time: the unit's earlier rows first."""
        card = self.card
        unit = card.group.column if card.group else None
        rows = f"the same {unit}'s recent rows" if unit else "the recent rows"
        kept = self.memory.rows if self.memory else 0
        each = f"each {unit}" if unit else "the stream"
        if not self.history:
            advice = "each row is scored from its own values"
        elif kept:
            advice = (f"{len(self.history)} features look back over earlier rows: the server keeps the last {kept} "
                      f"rows of {each} it is sent, so send rows as they come, in time order (after a restart the "
                      f"first rows of a unit are scored without history)")
        else:
            advice = (f"{len(self.history)} features look back over earlier rows: send {rows}, oldest first, with "
                      f"the row to score and read the last prediction (or start the server with --remember)")
        return {"features": self.history, "unit": unit, "order": card.time.column if card.time else None,
                "remembered_rows": kept, "advice": advice}

    def describe(self) -> dict:
        card = self.card
        return {"id": self.id, "card": card.id, "site": self.site, "version": self.version, "name": card.name.en,
                "name_ko": card.name.ko,
                "task": card.task, "target": {"column": card.target.column, "unit": card.target.unit},
                "metric": {"primary": card.metric.primary, "accept": card.metric.accept},
                "metrics": self.metrics, "run_id": self.run_id, "columns": self.columns(),
                "history": self.needs_history()}

    def predict(self, body: bytes, limits: Limits = Limits(), deadline: Deadline | None = None) -> list[dict]:
        """One dict per row of the request body (prediction, and probability or score where the task has one)."""
        deadline = deadline or Deadline(limits.seconds)
        frame = frame_from(parse(body, self.positional, limits), self.card, self.specs, self.names, deadline)
        deadline.check()
        if self.recent is not None:
            self.recent.add(frame)
        if self.memory is None:
            out = self.model.predict_columns(frame)
        else:  # the unit's remembered rows first, as the rows before it in a file; only the request's are answered
            # (two requests for one unit at the same moment both see the rows kept before either: a client
            # that sends a unit's rows one at a time, waiting for each answer, never meets that)
            before = self.memory.before(frame)
            out = self.model.predict_columns(pd.concat([before, frame], ignore_index=True), last=len(frame)) \
                if len(before) else self.model.predict_columns(frame)
            self.memory.remember(frame)
        deadline.check()
        cols = [[_plain(v) for v in values.tolist()] for values in out.values()]
        return [dict(zip(out, row)) for row in zip(*cols)]

    def drift(self) -> dict:
        """The last rows scored set against the training data's profile (pipelines/drift.py)."""
        if self.reference is None:
            raise RequestError(404, f"{self.id} v{self.version} has no drift profile: it was trained before "
                                    f"profiles were logged. Train a new version with `workbench run {self.card.id}`.")
        found = drift.compare(self.reference, self.recent.frame())
        return {"id": self.id, "version": self.version, "window": self.recent.size, **found.as_dict()}

    def answer(self, body: bytes, limits: Limits = Limits(), deadline: Deadline | None = None) -> bytes:
        """The JSON answer to a request body: the predictions and the model's id and version."""
        rows = self.predict(body, limits, deadline)
        model = jsonstream.json.dumps({"id": self.id, "version": self.version})
        text = f'{{"predictions": {jsonstream.dumps_list(rows)}, "model": {model}}}'
        return text.encode("utf-8", "backslashreplace")


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
    """The models one process serves: every registered model's champion (a card's reference model and each
    site's ``<card>.<site>``, each under its registered name), or (``only``) one registered model by alias
    or version; loaded once, and ``reload`` swaps in newly promoted versions."""

    def __init__(self, threads: int = 1, only: str | None = None, alias: str = registry.CHAMPION,
                 version: int | None = None, remember: bool = False):
        self.threads, self.only, self.alias, self.version = threads, only, alias, version
        self.remember = remember  # keep recent rows per unit for models whose features look back
        self.models: dict[str, Served] = {}
        self.errors: dict[str, str] = {}
        self._lock = threading.Lock()
        self._last: tuple[float, dict] | None = None

    @classmethod
    def load(cls, threads: int = 1, only: str | None = None, alias: str = registry.CHAMPION,
             version: int | None = None, remember: bool = False) -> "Champions":
        found = cls(threads, only, alias, version, remember)
        found.reload()
        return found

    def _version(self, name: str):
        if self.only and self.version is not None:
            return registry.resolve(name, version=self.version)
        return registry.version_by_alias(name, self.alias if self.only else registry.CHAMPION)

    def _names(self) -> list[str]:
        """The registered names to serve: ``only``, or every one whose card is in the catalog."""
        if self.only:
            return [self.only]
        known = set(cards.list_ids())
        return [n for n in registry.site_names() if registry.split_name(n)[0] in known]

    def reload_shared(self) -> dict:
        """``reload``; or, while one is already running, that one's answer when it ends: clients posting
        /reload together (or in a loop) share one reload instead of queueing many."""
        if self._lock.acquire(blocking=False):
            self._lock.release()
            return self.reload()
        with self._lock:
            return self._last[1] if self._last else {}

    def reload(self) -> dict:
        """Look up every card's champion alias; load what changed. A model that fails to load keeps
        its previous version in service and is reported, never taking the others down."""
        with self._lock:
            tracking.configure()
            current, models, errors = self.models, {}, {}
            loaded, unchanged = [], []
            for card_id in self._names():  # a registered name: the card id, or <card id>.<site>
                try:
                    card = cards.load_card(registry.split_name(card_id)[0])
                    mv = self._version(card_id)
                    if mv is None:
                        continue
                    old = current.get(card_id)
                    if old is not None and old.version == int(mv.version) and old.card == card:
                        models[card_id] = old
                        unchanged.append(card_id)
                        continue
                    models[card_id] = Served.load(card, int(mv.version), mv.run_id, self.threads, name=card_id,
                                                  remember=self.remember)
                    if old is not None and old.memory and models[card_id].memory:  # a new version: units go on
                        models[card_id].memory.take_over(old.memory)
                    loaded.append(f"{card_id} v{mv.version}")
                except Exception as exc:  # noqa: BLE001 - reported per card, the rest keep serving
                    log.warning("%s could not be loaded", card_id, exc_info=True)
                    errors[card_id] = f"could not be loaded ({type(exc).__name__}; the server's log has the detail)"
                    if card_id in current:
                        models[card_id] = current[card_id]
            removed = sorted(set(current) - set(models))
            self.models, self.errors = models, errors  # one assignment: requests see old or new, never half
            # Everything loaded so far (libraries, models) out of the garbage collector's sight: a full
            # collection then walks only what requests make, instead of holding the interpreter for
            # half a second in the middle of a large request while /health waits (measured).
            gc.freeze()
            answer = {"loaded": loaded, "unchanged": unchanged, "removed": removed, "errors": errors}
            self._last = (time.monotonic(), answer)
            return answer

    def get(self, card_id: str) -> Served:
        served = self.models.get(card_id)
        if served is None:
            known = ", ".join(sorted(self.models)) or "none yet"
            if self.only:
                raise RequestError(404, f"This server serves {self.only} only; {card_id[:80]!r} is served by "
                                        f"`workbench serve --all`.")
            if registry.split_name(card_id)[0] in cards.list_ids():
                raise RequestError(404, f"{card_id} has no champion being served: run `workbench run "
                                        f"{registry.split_name(card_id)[0]}` (or `workbench promote`), then POST "
                                        f"/reload. Served: {known}.")
            raise RequestError(404, f"No standard model {card_id[:80]!r}. Served: {known}.")
        return served


# --- the ASGI app -----------------------------------------------------------------------------------

class Workers:
    """A bounded pool of threads for request work. A request waits for a free worker at most
    ``limits.queue_seconds`` and is answered after at most ``limits.seconds``; work that overruns keeps
    its worker until it stops (at its next deadline check), so the pool never grows."""

    def __init__(self, count: int, threads: int = 1):
        self.count = count
        self.pool = ThreadPoolExecutor(count, thread_name_prefix="serve-worker", initializer=_one_openmp_thread,
                                       initargs=(threads,))
        self._slots: asyncio.Semaphore | None = None

    async def run(self, work, limits: Limits):
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.count)
        try:
            await asyncio.wait_for(self._slots.acquire(), limits.queue_seconds)
        except (TimeoutError, asyncio.TimeoutError):
            raise RequestError(503, f"All {self.count} worker(s) are busy with other requests: try again shortly.",
                               retry_after=max(1, int(limits.queue_seconds))) from None
        deadline = Deadline(limits.seconds)
        try:
            future = asyncio.get_running_loop().run_in_executor(self.pool, work, deadline)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        try:
            return await asyncio.wait_for(asyncio.shield(future), limits.seconds + 1)
        except (TimeoutError, asyncio.TimeoutError):
            future.add_done_callback(_forget)
            raise RequestError(503, f"The request took more than {limits.seconds:g} s of work and was stopped: "
                                    f"send fewer rows per request, or score files with `workbench predict`.",
                               retry_after=max(1, int(limits.seconds))) from None


def _forget(future) -> None:
    """An abandoned request's outcome, read so that asyncio does not report it as never retrieved."""
    if not future.cancelled():
        future.exception()


def create_app(champions: Champions, poll_s: float = 0.0, limits: Limits = Limits(), workers: int = 2,
               hosts: set[str] | None = None, token: str | None = None, cors_origins: list[str] | None = None):
    """The ASGI app over loaded models (``champions``). ``poll_s`` > 0 also re-reads the registry that
    often; ``hosts`` are the Host names answered (default loopback), ``token`` the bearer token every
    path but /health needs (default: ``WORKBENCH_SERVE_TOKEN``), ``cors_origins`` the web origins
    allowed to call it from a browser (default none)."""
    pool = Workers(workers, champions.threads)

    @asynccontextmanager
    async def lifespan(app):
        poller = asyncio.create_task(_poll(champions, poll_s)) if poll_s > 0 else None
        yield
        if poller:
            poller.cancel()
        pool.pool.shutdown(wait=False, cancel_futures=True)

    single = champions.only
    app = FastAPI(title="Standard Model Workbench", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description=(f"{single}: POST /invocations." if single else
                               "Every card's champion: GET /models, POST /models/{id}/invocations."))

    def _json(content, status: int = 200, headers: dict | None = None) -> Response:
        text = jsonstream.json.dumps(content, ensure_ascii=False, default=str)
        return Response(text.encode("utf-8", "backslashreplace"), status_code=status, headers=headers,
                        media_type="application/json")

    def _refused(request, exc: RequestError) -> Response:
        log.info("%s %s -> %s: %s", request.method, request.url.path, exc.status, exc.message)
        return _json(exc.body(), exc.status, exc.headers())

    def _bug(request, exc: Exception) -> Response:  # ours to fix: logged in full, answered in one line
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _json({"error_code": "INTERNAL_ERROR", "message": "The server failed on this request; its log has "
                      "the detail. Please report it with the request that caused it."}, 500)

    @app.exception_handler(RequestError)
    async def _request_error(request, exc: RequestError):
        return _refused(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request, exc: Exception):
        return _bug(request, exc)

    @app.get("/health")
    async def health():
        return _json({"status": "ok", "models": len(champions.models), "errors": champions.errors})

    @app.get("/ping")
    async def ping():  # MLflow's scoring server's health path, for clients that poll it
        return _json({"status": "ok", "models": len(champions.models)})

    @app.get("/models")
    async def models():
        return _json({"models": [s.describe() for _, s in sorted(champions.models.items())]})

    @app.get("/models/{card_id}/schema")
    async def schema(card_id: str):
        served = champions.get(card_id)
        return _json({"id": card_id, "version": served.version, "columns": served.columns(),
                      "history": served.needs_history(), "formats": list(FORMATS[:3])})

    @app.get("/models/{card_id}/drift")
    async def drift_report(card_id: str):
        served = champions.get(card_id)
        return _json(await pool.run(lambda deadline: served.drift(), limits))

    held = Bodies(limits.body_bytes * (workers + 2))

    async def _invoke(card_id: str, request: Request) -> Response:
        taken = [0]
        try:
            served = champions.get(card_id)
            body = await _body(request, limits, held, taken)
            answer = await pool.run(lambda deadline: served.answer(body, limits, deadline), limits)
        except RequestError as exc:
            return _refused(request, exc)
        except Exception as exc:  # noqa: BLE001 - answered here: the connection stays usable
            return _bug(request, exc)
        finally:
            held.release(taken[0])
        return Response(answer, media_type="application/json")

    @app.post("/models/{card_id}/invocations")
    async def invocations(card_id: str, request: Request):
        return await _invoke(card_id, request)

    if single:
        @app.post("/invocations")
        async def invocations_one(request: Request):  # MLflow's scoring server's path
            return await _invoke(single, request)

    @app.post("/reload")
    async def reload():
        return _json(await asyncio.to_thread(champions.reload_shared))

    guarded = Guard(app, hosts if hosts is not None else allowed_hosts("127.0.0.1"),
                    token if token is not None else token_from_env())
    if cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        guarded = CORSMiddleware(guarded, allow_origins=cors_origins, allow_methods=["GET", "POST"],
                                 allow_headers=["authorization", "content-type"])
    guarded.app_for_tests = app  # the FastAPI app itself (routes, OpenAPI schema)
    return guarded


class Bodies:
    """The request bodies held in memory at once (arriving, waiting for a worker, being worked on), in
    bytes: many large requests together are told to come back rather than piling up in memory."""

    def __init__(self, most: int):
        self.most, self.now = most, 0

    def take(self, n: int, taken: list[int]) -> None:
        if self.now + n > self.most:
            raise RequestError(503, "The server holds as many request bodies as it may at once: try again shortly.",
                               retry_after=2)
        self.now += n
        taken[0] += n

    def release(self, n: int) -> None:
        self.now -= n


async def _body(request, limits: Limits, held: Bodies, taken: list[int]) -> bytes:
    """The request body, within the size and time limits, counted in ``held`` until the request ends."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.body_bytes:
        raise RequestError(413, f"The body has {int(declared)} bytes; at most {limits.body_bytes} per request.")

    async def read() -> bytes:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.body_bytes:
                raise RequestError(413, f"The body is over {limits.body_bytes} bytes.")
            held.take(len(chunk), taken)
            chunks.append(chunk)
        return b"".join(chunks)

    try:
        return await asyncio.wait_for(read(), limits.body_seconds)
    except (TimeoutError, asyncio.TimeoutError):
        raise RequestError(408, f"The body did not arrive within {limits.body_seconds:g} s.") from None


async def _poll(champions: Champions, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(champions.reload)
        except Exception:  # noqa: BLE001 - a registry hiccup must not stop serving; the next poll retries
            log.warning("polling the registry failed", exc_info=True)


def _one_openmp_thread(threads: int) -> None:
    """LightGBM predicts with every OpenMP thread by default; on a busy machine a single row then waits
    for all of them (10 ms instead of 1). The limit is per thread: each worker sets it when it starts."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="openmp")


def serve(host: str = "127.0.0.1", port: int = 8000, poll_s: float = 60.0, threads: int = 1,
          only: str | None = None, alias: str = registry.CHAMPION, version: int | None = None,
          allow_hosts: list[str] | None = None, cors_origins: list[str] | None = None, workers: int = 2,
          limits: Limits = Limits(), remember: bool = False) -> None:
    """Run the server in this process until Ctrl-C: every champion, or ``only`` one registered model
    (by ``alias`` or ``version``; refused with our message when it does not exist)."""
    import uvicorn

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    tracking.configure()
    if only:
        cards.load_card(registry.split_name(only)[0])
        registry.resolve(only, alias, version)
    champions = Champions.load(threads, only, alias, version, remember)
    served = ", ".join(f"{k} v{m.version}" for k, m in sorted(champions.models.items()))
    print(f"{len(champions.models)} model(s): {served or 'none yet (run `workbench run CARD_ID`)'}", flush=True)
    for card_id, problem in champions.errors.items():
        print(f"not served: {card_id}: {problem}", flush=True)
    if host in ("0.0.0.0", "::") and not allow_hosts:
        print("note: open to the network, but answering only requests addressed to 127.0.0.1 or localhost: add "
              "the names or addresses clients use with --allow-host", flush=True)
    app = create_app(champions, poll_s=poll_s, limits=limits, workers=workers,
                     hosts=allowed_hosts(host, allow_hosts), cors_origins=cors_origins)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, server_header=False,
                date_header=False, timeout_keep_alive=5, limit_concurrency=256)


def serve_all(host: str = "127.0.0.1", port: int = 8000, poll_s: float = 60.0, threads: int = 1, **kwargs) -> None:
    serve(host=host, port=port, poll_s=poll_s, threads=threads, **kwargs)


def serve_one(card_id: str, alias: str = registry.CHAMPION, version: int | None = None, host: str = "127.0.0.1",
              port: int = 5001, threads: int = 1, poll_s: float = 60.0, site: str | None = None, **kwargs) -> None:
    """One registered model (``card_id``'s, or its data line ``site``'s): the same app, checks and messages
    as `serve --all`, restricted to it, with MLflow's scoring paths (POST /invocations, GET /ping) beside
    ours."""
    serve(host=host, port=port, poll_s=poll_s if version is None else 0.0, threads=threads,
          only=registry.model_name(card_id, site), alias=alias, version=version, **kwargs)

"""Serving through real servers on free loopback ports and real HTTP: every champion from one process
(uvicorn in a thread, and the `workbench serve --all` command), one registered model (`workbench serve
ID`, the same app restricted to it); predictions equal `pyfunc.load_model(...).predict`; hundreds of
malformed requests answered 4xx, never 5xx; a promoted champion served after reload; concurrent clients
all answered. Hostile clients: tests/test_serving_hostile.py."""

from __future__ import annotations

import json
import random
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import mlflow
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import pipelines as wb
from pipelines import data, serving
from pipelines.cli import app as cli
from serving_support import (CARD, free_port, promote, server_thread, start_command, stop_command, temporary_store,
                             train, wait_for)

# one worker, module after module, each training once (with pytest 9.2 loadgroup ignores the mark:
# pytest-xdist#1386; until that is fixed each worker trains its own, which is slower, not wrong)
pytestmark = pytest.mark.xdist_group("serving")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two registered versions of CARD (v2 on fewer rows, so it predicts differently); v1 is champion."""
    with temporary_store(tmp_path_factory.mktemp("serving")) as uri:
        card = wb.load_card(CARD)
        first = train(CARD, seed=0)
        few = wb.load_data(card)
        few.frame = few.frame.head(600)
        few.sha256 = "first-600-rows"
        second = train(CARD, data=few, seed=1)
        promote(first)
        yield {"uri": uri, "card": card, "v1": first, "v2": second}


@pytest.fixture(scope="module")
def rows(store):
    """20 input rows as a validated frame and as JSON-ready records (dates as ISO text)."""
    card = store["card"]
    frame = wb.load_data(card).frame[card.input_columns].sample(20, random_state=3).reset_index(drop=True)
    frame = data.validate(frame, card, "test rows", with_target=False)
    records = json.loads(frame.to_json(orient="records", date_format="iso", date_unit="s"))
    for record in records:  # the plant's clock: no time zone suffix
        record["Batch_Time"] = record["Batch_Time"].replace("T", " ")
    return frame, records


@pytest.fixture(scope="module")
def server(store):
    champions = serving.Champions.load()
    with server_thread(serving.create_app(champions)) as url:
        yield url, champions


def _pyfunc(version: int, frame: pd.DataFrame) -> pd.DataFrame:
    return mlflow.pyfunc.load_model(f"models:/{CARD}/{version}").predict(frame)


def _post(url, body, content_type="application/json", model=CARD):
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return httpx.post(f"{url}/models/{model}/invocations", content=content, headers={"content-type": content_type},
                      timeout=30)


def test_predictions_equal_pyfunc_in_every_request_format(server, store, rows):
    url, champions = server
    frame, records = rows
    expected = _pyfunc(store["v1"], frame)["prediction"].to_numpy()
    columns = list(records[0])
    positional = champions.get(CARD).positional  # the signature's column order
    bodies = {
        "dataframe_records": {"dataframe_records": records},
        "dataframe_split": {"dataframe_split": {"columns": columns, "data": [[r[c] for c in columns] for r in records]}},
        "inputs as columns": {"inputs": {c: [r[c] for r in records] for c in columns}},
        "inputs as records": {"inputs": records},
        "inputs as rows": {"inputs": [[r.get(c) for c in positional] for r in records]},
        "instances": {"instances": records},
        "Korean headers": {"dataframe_records": [{wb.load_card(CARD).column(k).ko or k: v for k, v in r.items()}
                                                  for r in records]},
    }
    for name, body in bodies.items():
        answer = _post(url, body)
        assert answer.status_code == 200, (name, answer.text)
        got = answer.json()
        assert got["model"] == {"id": CARD, "version": store["v1"]}
        np.testing.assert_array_equal([p["prediction"] for p in got["predictions"]], expected, err_msg=name)
    one = _post(url, {"inputs": records[0]})  # a single row as one object of scalars
    assert one.json()["predictions"][0]["prediction"] == expected[0]


def test_models_schema_and_health_describe_what_is_served(server, store):
    url, _ = server
    card = store["card"]
    listed = httpx.get(f"{url}/models", timeout=30).json()["models"]
    [entry] = [m for m in listed if m["id"] == CARD]
    assert entry["version"] == store["v1"] and entry["task"] == "regression"
    assert entry["metrics"]["test_rmse"] > 0 and "cv_rmse" in entry["metrics"]
    units = {c["name"]: c["unit"] for c in entry["columns"]}
    assert units["Austenitize_Temp_C"] == "degC" and units["Section_Thickness_mm"] == "mm"
    schema = httpx.get(f"{url}/models/{CARD}/schema", timeout=30).json()
    assert [c["name"] for c in schema["columns"]] == [c.name for c in card.columns if c.name not in card.exclude]
    kinds = {c["name"]: c["type"] for c in schema["columns"]}
    assert all(c["required"] for c in schema["columns"])  # trained on every card column: every one is required
    assert kinds["Batch_Time"] == "datetime" and kinds["Furnace_ID"] == "string" and kinds["Carbon_pct"] == "double"
    # a batch's hardness comes from its own readings: no earlier rows to send (turbofan-rul's: tests/test_runs.py)
    assert schema["history"] == entry["history"] and schema["history"]["features"] == []
    assert schema["history"]["advice"] == "each row is scored from its own values"
    assert httpx.get(f"{url}/health", timeout=30).json()["status"] == "ok"
    unknown = httpx.get(f"{url}/models/no-such-card/schema", timeout=30)
    assert unknown.status_code == 404 and "no-such-card" in unknown.json()["message"]
    untrained = _post(url, {"inputs": {"x": 1}}, model="turbofan-rul")  # a card with no champion yet
    assert untrained.status_code == 404 and "workbench run turbofan-rul" in untrained.json()["message"]


def _malformed(records: list[dict], card, specs) -> list[tuple[str, bytes, str, int | None, str | None]]:
    """(what, body, content type, expected status or None for any 4xx, column the message must name);
    ``specs`` are the served model's columns (those it was trained with are required)."""
    good = json.dumps({"dataframe_records": records[:3]})
    cases = []

    def add(what, body, status=400, column=None, content_type="application/json"):
        cases.append((what, body if isinstance(body, bytes) else body.encode(), content_type, status, column))

    for text in ["", "   ", "{", "[", "null", "true", "42", '"text"', "[]", "{}", "{'single': 'quotes'}",
                 '{"dataframe_records": null}', '{"dataframe_records": {}}', '{"dataframe_records": []}',
                 '{"dataframe_records": [1, 2]}', '{"dataframe_records": [[1, 2]]}', '{"dataframe_records": "x"}',
                 '{"dataframe_split": []}', '{"dataframe_split": {"columns": "a", "data": []}}',
                 '{"dataframe_split": {"columns": [1, 2], "data": [[1, 2]]}}',
                 '{"dataframe_split": {"columns": ["a", "b"], "data": [[1]]}}',
                 '{"dataframe_split": {"columns": ["a", "a"], "data": [[1, 2]]}}',
                 '{"dataframe_split": {"columns": ["a"], "data": 5}}',
                 '{"dataframe_split": {"columns": ["a"], "data": [], "extra": 1}}',
                 '{"dataframe_split": {"columns": ["a"], "data": [5]}}',
                 '{"inputs": []}', '{"inputs": "x"}', '{"inputs": 3}', '{"inputs": {}}', '{"inputs": [[1, 2]]}',
                 '{"inputs": {"a": [1], "b": [1, 2]}}', '{"inputs": {"a": [1], "b": 2}}', '{"instances": null}',
                 '{"data": [[1]]}', '{"columns": ["a"], "data": [[1]]}', '{"dataframe_records": NaN}',
                 '{"dataframe_records": [{}], "inputs": {}}', '{"dataframe_records": [{"a": 1}], "extra": true}',
                 "[" * 100000 + "]" * 100000, '{"inputs": ' + "[" * 50000 + "]" * 50000 + "}"]:
        add(f"structure {text[:40]!r}", text)
    add("not UTF-8", b"\xff\xfe{\x00")
    add("UTF-16 JSON", good.encode("utf-16"))
    for cut in np.linspace(1, len(good) - 1, 12).astype(int):
        add(f"truncated at {cut}", good[:cut])
    add("unknown columns only", json.dumps({"dataframe_records": [{"a": 1, "b": 2}]}), 422, "Batch_Time")
    for content_type in ["text/plain", "text/csv", "application/x-www-form-urlencoded", "application/xml"]:
        add(f"content type {content_type}", good, 415, content_type=content_type)
    bad_numbers = [("text", "abc"), ("boolean", True), ("list", [1.0]), ("object", {"v": 1}), ("huge float", 1e400),
                   ("huge int", "HUGE_INT"), ("far below range", -1e9), ("far above range", 1e9),
                   ("infinity text", "Infinity")]
    bad_labels = [("list", ["a"]), ("object", {"v": 1})]
    bad_dates = [("text", "not a date"), ("number", 12345), ("boolean", True), ("list", ["2024-01-01"]),
                 ("impossible date", "2024-13-45 25:00:00")]
    for col in specs:
        if col.name in card.exclude or col.name == card.target.column:
            continue
        if col.required:
            dropped = [{k: v for k, v in r.items() if k != col.name} for r in records[:3]]
            add(f"missing {col.name}", json.dumps({"dataframe_records": dropped}), 422, col.name)
        bad = bad_dates if col.kind == "datetime" else bad_labels if col.kind == "category" else bad_numbers
        for what, value in bad:
            if col.kind == "numeric" and what == "far below range" and col.min is None:
                continue
            if col.kind == "numeric" and what == "far above range" and col.max is None:
                continue
            broken = [dict(r) for r in records[:3]]
            broken[1][col.name] = value
            for fmt in ("dataframe_records", "dataframe_split"):
                if fmt == "dataframe_records":
                    body = json.dumps({fmt: broken})
                else:
                    names = list(broken[0])
                    body = json.dumps({fmt: {"columns": names, "data": [[r[c] for c in names] for r in broken]}})
                body = body.replace('"HUGE_INT"', "1" + "0" * 400)
                add(f"{col.name} {what} ({fmt})", body, 422, col.name)
    return cases


def test_hundreds_of_malformed_requests_get_4xx_naming_the_column_and_never_5xx(server, store, rows):
    url, champions = server
    _, records = rows
    cases = _malformed(records, store["card"], champions.models[CARD].specs)
    assert sum(what.startswith("missing ") for what, *_ in cases) == 14  # the model reads every card column
    assert len(cases) >= 200
    failures = []
    with httpx.Client(timeout=60) as client:
        for what, body, content_type, status, column in cases:
            answer = client.post(f"{url}/models/{CARD}/invocations", content=body,
                                 headers={"content-type": content_type})
            ok = 400 <= answer.status_code < 500 and (status is None or answer.status_code == status)
            if ok and column:
                found = answer.json()
                ok = found.get("column") == column and column in found["message"]
            if not ok:
                failures.append((what, answer.status_code, answer.text[:200]))
        # random single-byte corruptions of a valid body: whatever they become, never a server error
        rng = random.Random(0)
        good = json.dumps({"dataframe_split": {"columns": list(records[0]),
                                               "data": [list(r.values()) for r in records[:2]]}}).encode()
        for _ in range(60):
            mutated = bytearray(good)
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            answer = client.post(f"{url}/models/{CARD}/invocations", content=bytes(mutated),
                                 headers={"content-type": "application/json"})
            if answer.status_code >= 500 or answer.status_code not in (200, 400, 422):
                failures.append((f"mutated {bytes(mutated)[:80]!r}", answer.status_code, answer.text[:200]))
    assert not failures, f"{len(failures)} of {len(cases) + 60} answered wrongly, e.g. {failures[:5]}"
    assert httpx.get(f"{url}/health", timeout=30).status_code == 200  # still serving after all that
    # limits: a body, a row count or rows x columns over the server's limits is refused before it costs anything
    small = serving.Limits(rows=5, body_bytes=20_000, columns=20, cells=60)
    with server_thread(serving.create_app(champions, limits=small)) as limited:
        assert _post(limited, {"dataframe_records": records[:6]}).status_code == 413
        padded = json.dumps({"dataframe_records": records[:2]}) + " " * 30_000
        assert _post(limited, padded).status_code == 413
        wide = _post(limited, {"dataframe_records": [{**records[0], **{f"x{k}": 1 for k in range(7)}}]})
        assert wide.status_code == 413 and "at most 20" in wide.json()["message"]
        cells = _post(limited, {"dataframe_records": records[:5]})  # 5 rows x 14 columns > 60 values
        assert cells.status_code == 413 and "60 values" in cells.json()["message"]


def test_concurrent_clients_are_all_answered_correctly(server, store, rows):
    url, _ = server
    frame, records = rows
    expected = _pyfunc(store["v1"], frame)["prediction"].to_numpy()

    def client(k: int) -> list[tuple[int, float | None]]:
        out = []
        with httpx.Client(timeout=60) as session:
            for i in range(25):
                j = (k * 25 + i) % len(records)
                body = {"dataframe_records": [records[j]]} if i % 5 else {"dataframe_records": [{"Carbon_pct": "x"}]}
                answer = session.post(f"{url}/models/{CARD}/invocations", content=json.dumps(body),
                                      headers={"content-type": "application/json"})
                value = answer.json()["predictions"][0]["prediction"] if answer.status_code == 200 else None
                out.append((j if i % 5 else -1, answer.status_code, value))
        return out

    with ThreadPoolExecutor(8) as pool:
        answers = [a for batch in pool.map(client, range(8)) for a in batch]
    assert len(answers) == 200
    for j, status, value in answers:
        if j < 0:
            assert status == 422
        else:
            assert status == 200 and value == expected[j]


def test_a_promoted_champion_is_served_after_reload_and_by_polling(store, rows):
    frame, records = rows
    v1, v2 = store["v1"], store["v2"]
    before, after = _pyfunc(v1, frame)["prediction"].to_numpy(), _pyfunc(v2, frame)["prediction"].to_numpy()
    assert not np.array_equal(before, after), "the two versions must differ for this test to mean anything"
    runner = CliRunner()
    champions = serving.Champions.load()
    try:
        with server_thread(serving.create_app(champions)) as url:
            assert _post(url, {"dataframe_records": records}).json()["model"]["version"] == v1
            promoted = runner.invoke(cli, ["promote", CARD, "--version", str(v2)])
            assert promoted.exit_code == 0, promoted.output
            assert f"v{v2} is champion (before: v{v1})" in promoted.output
            assert _post(url, {"dataframe_records": records}).json()["model"]["version"] == v1  # not yet
            reloaded = httpx.post(f"{url}/reload", json={}, timeout=120).json()  # loads models: slow on a busy machine
            assert reloaded["loaded"] == [f"{CARD} v{v2}"] and not reloaded["errors"]
            got = _post(url, {"dataframe_records": records}).json()
            assert got["model"]["version"] == v2
            np.testing.assert_array_equal([p["prediction"] for p in got["predictions"]], after)
        promote(v1)
        with server_thread(serving.create_app(serving.Champions.load(), poll_s=0.3)) as url:
            assert _post(url, {"dataframe_records": records}).json()["model"]["version"] == v1
            promote(v2)
            wait_until = time.time() + 90  # a poll reloads the model: slow when the machine is busy
            while _post(url, {"dataframe_records": records}).json()["model"]["version"] != v2:
                assert time.time() < wait_until, "polling never picked up the new champion"
                time.sleep(0.2)
    finally:
        promote(v1)


def test_cli_models_lists_versions_and_aliases_and_promote_refuses_unknown_versions(store):
    runner = CliRunner()
    listed = runner.invoke(cli, ["models", CARD], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    lines = [line for line in listed.output.splitlines() if CARD in line]
    assert len(lines) == 2
    champion_line = next(line for line in lines if "champion" in line)
    assert f"│ {store['v1']} " in champion_line and "rmse" in champion_line
    none = runner.invoke(cli, ["models", "turbofan-rul"])
    assert none.exit_code == 0 and "no registered models" in none.output
    refused = runner.invoke(cli, ["promote", CARD, "--version", "99"])
    assert refused.exit_code != 0 and "No version 99" in refused.output and "[1, 2]" in refused.output
    nothing = runner.invoke(cli, ["promote", "turbofan-rul", "--version", "1"])
    assert nothing.exit_code != 0 and "nothing is registered" in nothing.output
    for args in (["serve"], ["serve", CARD, "--all"]):
        confused = runner.invoke(cli, args)
        assert confused.exit_code != 0 and "--all" in confused.output




@pytest.mark.slow
def test_workbench_serve_all_command_serves_the_champion(store, rows):
    frame, records = rows
    port = free_port()
    proc = start_command(["serve", "--all", "--port", str(port), "--poll", "0"])
    try:
        wait_for(f"http://127.0.0.1:{port}/health", 120, proc)
        got = _post(f"http://127.0.0.1:{port}", {"dataframe_records": records}).json()
        np.testing.assert_array_equal([p["prediction"] for p in got["predictions"]],
                                      _pyfunc(store["v1"], frame)["prediction"].to_numpy())
    finally:
        stop_command(proc)


@pytest.mark.slow
def test_workbench_serve_one_model_serves_that_version_with_the_checks_of_serve_all(store, rows):
    frame, records = rows
    port = free_port()
    proc = start_command(["serve", CARD, "--version", str(store["v2"]), "--port", str(port)])
    try:
        wait_for(f"http://127.0.0.1:{port}/ping", 180, proc)
        columns = list(records[0])
        body = {"dataframe_split": {"columns": columns, "data": [[r[c] for c in columns] for r in records]}}
        answer = httpx.post(f"http://127.0.0.1:{port}/invocations", json=body, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json()["model"] == {"id": CARD, "version": store["v2"]}
        np.testing.assert_allclose([p["prediction"] for p in answer.json()["predictions"]],
                                   _pyfunc(store["v2"], frame)["prediction"].to_numpy(), rtol=1e-12)
        assert httpx.post(f"http://127.0.0.1:{port}/invocations", content="{", timeout=30,
                          headers={"content-type": "application/json"}).status_code == 400
        # the same refusal, word for word, as the all-in-one server gives
        bad = {"dataframe_records": [{**records[0], "Carbon_pct": -999999}]}
        one = httpx.post(f"http://127.0.0.1:{port}/invocations", json=bad, timeout=30)
        with server_thread(serving.create_app(serving.Champions.load())) as url:
            every = _post(url, bad)
        assert one.status_code == every.status_code == 422 and one.json() == every.json()
        assert "Carbon_pct" in one.json()["message"]
        other = httpx.get(f"http://127.0.0.1:{port}/models/turbofan-rul/schema", timeout=30)
        assert other.status_code == 404 and "serves heat-treatment-hardness only" in other.json()["message"]
    finally:
        stop_command(proc)
    refused = CliRunner().invoke(cli, ["serve", CARD, "--alias", "no-such-alias"])
    assert refused.exit_code != 0 and "workbench run" in refused.output

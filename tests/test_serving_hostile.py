"""Serving against a hostile or careless client, through real servers and real HTTP on loopback: both
`workbench serve --all` and `workbench serve ID` started as users start them, each sent well over a
thousand payloads that hypothesis generates (broken JSON, wrong shapes, hostile values in the card's
columns, odd encodings and content types) and never answering 5xx, leaking an internal detail or dying,
its memory bounded; then a fixed regression for every case of issue 14, and the guards (Host names,
JSON-only POST, CORS, bearer token, size and time caps) on servers started in this process."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psutil
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import pipelines as wb
from pipelines import data, serving
from pipelines import settings as wb_settings
from serving_support import (CARD, free_port, promote, server_thread, start_command, stop_command, temporary_store,
                             train, wait_for)

pytestmark = pytest.mark.xdist_group("serving")

PAYLOADS = int(os.environ.get("WORKBENCH_HOSTILE_PAYLOADS", "1000"))  # per server kind
LEAKS = ("Traceback", "site-packages", 'File "', str(wb_settings.REPO_ROOT), sys.prefix, "lightgbm", "xgboost",
         "mlflow", "uvicorn", "starlette", "pandas", "numpy")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with temporary_store(tmp_path_factory.mktemp("hostile"), rows=800) as uri:
        card = wb.load_card(CARD)
        promote(train(CARD, seed=0))
        yield {"uri": uri, "card": card}


@pytest.fixture(scope="module")
def records(store):
    card = store["card"]
    frame = wb.load_data(card).frame[card.input_columns].head(5)
    frame = data.validate(frame, card, "test rows", with_target=False)
    found = json.loads(frame.to_json(orient="records", date_format="iso", date_unit="s"))
    for record in found:
        record["Batch_Time"] = record["Batch_Time"].replace("T", " ")
    return found




@pytest.fixture(scope="module")
def servers(store):
    """Both server kinds as users start them, on free loopback ports: {kind: (base URL, process, paths)}."""
    all_port, one_port = free_port(), free_port()
    procs = {"all": start_command(["serve", "--all", "--port", str(all_port), "--poll", "0"]),
             "one": start_command(["serve", CARD, "--port", str(one_port), "--poll", "0"])}
    found = {"all": (f"http://127.0.0.1:{all_port}", procs["all"], [f"/models/{CARD}/invocations"]),
             "one": (f"http://127.0.0.1:{one_port}", procs["one"], ["/invocations", f"/models/{CARD}/invocations"])}
    try:
        for url, proc, _ in found.values():
            wait_for(f"{url}/health", 180, proc)
        yield found
    finally:
        for proc in procs.values():
            stop_command(proc)


# --- generated hostile payloads ------------------------------------------------------------------

TRICKY = ["now", "today", "9999-12-31", "0001-01-01", "2300-01-01", "2024-05-01 08:30:00", "01/08/2024 18:06:12",
          "2024년 5월 1일 오후 6시", "1,234.5", "Infinity", "NaN", "-999999", "\ud800", "\udfff", "=HYPERLINK(1)", "",
          " ", "null", "1e309", "0x10", "٣", "１２", "2024-02-30", "24:00", "F2", "oil"]


def _scalars():
    return st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.integers(-10**400, 10**400),
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                     st.sampled_from(TRICKY))


def _values():
    return st.recursive(_scalars(), lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
        st.text(max_size=4), kids, max_size=3), max_leaves=5)


def _odd_but_valid(card):
    """Records a careless client sends that the card allows: every value inside its limits, but nulls,
    numbers as text, labels never seen in training, extreme stamps inside the date window."""
    from datetime import datetime

    def column(col):
        if col.kind == "datetime":
            stamps = st.datetimes(datetime(1970, 1, 1), datetime(2099, 12, 31)).map(lambda d: d.isoformat(sep=" "))
            return st.none() | stamps
        if col.kind == "category":
            return st.none() | st.text(max_size=8) | st.sampled_from(["F1", "F2", "oil", "water", "1", "=1+1"])
        number = st.floats(col.min if col.min is not None else -1e12, col.max if col.max is not None else 1e12)
        return st.none() | number | number.map(str) | number.map(lambda v: f"{v:,.3f}")

    reads = [c for c in card.columns if c.name not in card.exclude]
    return st.fixed_dictionaries({c.name: column(c) for c in reads})


def _payloads(card, records: list[dict]):
    """Bodies (bytes) a careless or hostile client sends, from wholly random to almost right."""
    names = [c.name for c in card.columns] + [c.ko for c in card.columns if c.ko]
    names += [n.lower().replace("_", " ") for n in names[:6]] + [card.target.column, "zzz", "", "params"]
    key = st.sampled_from(names) | st.text(max_size=10)
    hostile_record = st.builds(
        lambda base, changes, drop: {**{k: v for k, v in base.items() if k not in drop}, **changes},
        st.sampled_from(records), st.dictionaries(key, _values(), max_size=4),
        st.sets(st.sampled_from(list(records[0])), max_size=3))
    random_record = st.dictionaries(key, _values(), max_size=8)
    rows = st.lists(hostile_record | random_record | _odd_but_valid(card), min_size=0, max_size=4)
    split = st.builds(lambda cols, width, cells: {"columns": cols, "data": [cells[i:i + width] for i in
                                                                            range(0, len(cells), max(1, width))]},
                      st.lists(key, max_size=6), st.integers(0, 6), st.lists(_values(), max_size=12))
    careless = st.builds(lambda r: {"dataframe_records": r}, st.lists(_odd_but_valid(card), min_size=1, max_size=4))
    shaped = st.one_of(
        careless,
        st.builds(lambda r: {"dataframe_records": r}, rows),
        st.builds(lambda s: {"dataframe_split": s}, split | st.dictionaries(st.text(max_size=6), _values(), max_size=3)),
        st.builds(lambda k, r: {k: r}, st.sampled_from(["inputs", "instances"]),
                  rows | hostile_record | st.dictionaries(key, st.lists(_scalars(), max_size=3), max_size=5)),
        st.builds(lambda k, v: {k: v}, st.sampled_from(["dataframe_records", "dataframe_split", "inputs", "params"])
                  | st.text(max_size=8), _values()),
        _values(),
    )
    as_json = st.builds(lambda doc, ascii_: json.dumps(doc, ensure_ascii=ascii_).encode("utf-8", "surrogatepass"),
                        shaped, st.booleans())
    good = json.dumps({"dataframe_records": records[:2]}).encode()
    flipped = st.builds(lambda at, byte: good[:at] + bytes([byte]) + good[at + 1:],
                        st.integers(0, len(good) - 1), st.integers(0, 255))
    cut = st.builds(lambda at: good[:at], st.integers(0, len(good)))
    return st.one_of(as_json, as_json, as_json, flipped, cut, st.binary(max_size=64))


CONTENT_TYPES = ["application/json"] * 8 + ["application/json; charset=utf-8", "text/plain", None,
                                            "application/x-www-form-urlencoded", "APPLICATION/JSON", "multipart/form-data"]


def _check(answer: httpx.Response, what) -> None:
    assert answer.status_code < 500, (what, answer.status_code, answer.text[:300])
    if answer.status_code >= 400:
        for leak in LEAKS:
            assert leak not in answer.text, (what, leak, answer.text[:300])
        found = answer.json()
        assert found.get("message") or found.get("detail"), (what, answer.text[:300])
    assert "server" not in answer.headers  # no library name and version in the headers either


@pytest.mark.parametrize("kind", ["all", "one"])
def test_generated_hostile_payloads_never_get_a_5xx_nor_stop_the_server(servers, store, records, kind):
    url, proc, paths = servers[kind]
    server = psutil.Process(proc.pid)
    before = server.memory_info().rss
    sent = {"count": 0, "ok": 0}
    client = httpx.Client(base_url=url, timeout=60)

    @settings(max_examples=PAYLOADS, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    @given(body=_payloads(store["card"], records), content_type=st.sampled_from(CONTENT_TYPES),
           path=st.sampled_from(paths))
    def hostile(body, content_type, path):
        headers = {"content-type": content_type} if content_type else {}
        answer = client.post(path, content=body, headers=headers)
        sent["count"] += 1
        sent["ok"] += answer.status_code == 200
        _check(answer, body[:200])

    try:
        hostile()
    finally:
        client.close()
    assert sent["count"] >= PAYLOADS and sent["ok"] >= PAYLOADS // 20  # the model itself was reached, often
    assert proc.poll() is None, "the server died"
    assert httpx.get(f"{url}/health", timeout=30).json()["status"] == "ok"
    grown = (server.memory_info().rss - before) / 2**20
    assert grown < 300, f"the server grew by {grown:.0f} MB over {sent['count']} requests"
    print(f"{kind}: {sent['count']} generated payloads, {sent['ok']} answered 200, the rest 4xx; "
          f"RSS {before / 2**20:.0f} -> {server.memory_info().rss / 2**20:.0f} MB")


# --- the cases of issue 14, on both server kinds -------------------------------------------------

def _post(client: httpx.Client, path: str, body, content_type="application/json"):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(path, content=content, headers={"content-type": content_type} if content_type else {})


@pytest.mark.parametrize("kind", ["all", "one"])
def test_the_cases_of_the_issue_are_refused_with_the_column_named_and_the_connection_kept(servers, records, kind):
    url, _, paths = servers[kind]
    path = paths[0]
    good = {"dataframe_records": records[:2]}
    with httpx.Client(base_url=url, timeout=60) as client:
        def refused(body, status, column=None, content_type="application/json"):
            answer = _post(client, path, body, content_type)
            _check(answer, body if not isinstance(body, bytes) else body[:100])
            assert answer.status_code == status, (body if not isinstance(body, bytes) else body[:100], answer.text)
            if column:
                assert answer.json()["column"] == column and column in answer.json()["message"], answer.text
            # the same keep-alive connection answers the next request
            assert _post(client, path, good).status_code == 200
            return answer.json()

        # 1. two columns that both match one card column; a lone surrogate in a label
        loose = {k: v for k, v in records[0].items() if k != "Carbon_pct"}
        twice = refused({"dataframe_records": [{**loose, "carbon_pct": 0.4, "Carbon pct": 0.4}]}, 422, "Carbon_pct")
        assert "Carbon_pct" in twice["message"]
        refused(b'{"dataframe_records": [' + json.dumps({**records[0], "Furnace_ID": "X"}).encode()
                .replace(b'"X"', b'"\\ud800"') + b"]}", 400)
        refused(b'{"dataframe_records": [{"\\udfff": 1}]}', 400)
        # 2. a record without the card's columns is not scored
        refused({"dataframe_records": [records[0], {"zzz": 1}, {}]}, 422, "Batch_Time")
        refused({"dataframe_records": [records[0], {k: None for k in records[0]}]}, 422)
        # 3. dates never wrap; words are not time stamps
        for stamp in ["9999-12-31", "0001-01-01", "2300-01-01", "1969-12-31 23:59:59", "now", "today", "tomorrow",
                      "2024-02-30"]:
            message = refused({"dataframe_records": [{**records[0], "Batch_Time": stamp}]}, 422, "Batch_Time")
            assert stamp in message["message"]
        # 5. what the single-model server used to accept or crash on
        refused({"dataframe_records": [{**records[0], "Carbon_pct": -999999}]}, 422, "Carbon_pct")
        refused({"dataframe_records": [{**records[0], "Furnace_ID": {"part": 1}}]}, 422, "Furnace_ID")
        refused({"dataframe_records": [{**records[0], "Carbon_pct": True}]}, 422, "Carbon_pct")
        refused(b'{"inputs": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", 400)
        refused(json.dumps(good).encode(), 415, content_type=None)
        refused(json.dumps({"dataframe_records": [{**records[0], "Carbon_pct": "BIG"}]}).encode()
                .replace(b'"BIG"', b"1" * 5000), 400)
        refused({"dataframe_records": [{**records[0], "Carbon_pct": "BIG"}]}, 422, "Carbon_pct")
        # 4. 50,000 invented column names are refused at once, not compared with the card's names
        began = time.perf_counter()
        refused({"dataframe_records": [{f"col{k}": 1 for k in range(50_000)}]}, 413)
        assert time.perf_counter() - began < 30  # was minutes of name suggestions; generous for a busy machine


@pytest.mark.parametrize("kind", ["all", "one"])
def test_health_is_answered_while_a_large_request_is_worked_on(servers, records, kind):
    """Order, not time: /health answers while 20,000 rows are still being scored (its latency while
    100,000 rows are scored is measured in benchmarks/serving_hostile.py)."""
    url, _, paths = servers[kind]
    columns = list(records[0])
    rows = [[f"2024-05-{1 + k % 28:02d} {k % 24:02d}:{k % 60:02d}:00" if c == "Batch_Time" else
             records[k % len(records)][c] for c in columns] for k in range(20_000)]
    body = json.dumps({"dataframe_split": {"columns": columns, "data": rows}}).encode()
    done = threading.Event()
    answers = {}

    def big():
        answers["big"] = httpx.post(f"{url}{paths[0]}", content=body, timeout=300,
                                    headers={"content-type": "application/json"})
        done.set()

    thread = threading.Thread(target=big)
    thread.start()
    health = []
    while not done.is_set():
        health.append(httpx.get(f"{url}/health", timeout=30).status_code)
        if len(health) >= 5:
            break
    still_busy = not done.is_set()
    thread.join(300)
    assert answers["big"].status_code == 200, answers["big"].text[:300]
    assert len(answers["big"].json()["predictions"]) == 20_000
    assert health == [200] * 5 and still_busy, "GET /health waited behind the 20,000-row request"


# --- guards and caps, on servers started in this process -----------------------------------------

@pytest.fixture(scope="module")
def champions(store):
    return serving.Champions.load()


def test_host_names_other_than_loopback_are_refused_unless_allowed(champions, records):
    good = json.dumps({"dataframe_records": records[:1]})
    with server_thread(serving.create_app(champions)) as url:
        for host in ["evil.example", "evil.example:8000", "127.0.0.1.nip.io", "10.0.0.5"]:
            answer = httpx.get(f"{url}/models", headers={"host": host}, timeout=30)
            assert answer.status_code == 400 and "--allow-host" in answer.json()["message"]
        for host in ["localhost:1234", "127.0.0.1", "[::1]:80"]:
            assert httpx.get(f"{url}/models", headers={"host": host}, timeout=30).status_code == 200
        probe = httpx.get(f"{url}/health", headers={"host": "10.0.0.5:8000"}, timeout=30)  # a balancer, by address
        assert probe.status_code == 200 and set(probe.json()) == {"status", "models", "errors"}
        refused = httpx.post(f"{url}/health", content="{}", timeout=30,
                             headers={"host": "evil.example", "content-type": "application/json"})
        assert refused.status_code == 400  # only reading the health is open
    hosts = serving.allowed_hosts("127.0.0.1", ["plant-pc"])
    with server_thread(serving.create_app(champions, hosts=hosts)) as url:
        answer = httpx.post(f"{url}/models/{CARD}/invocations", content=good, timeout=30,
                            headers={"host": "PLANT-PC:8000", "content-type": "application/json"})
        assert answer.status_code == 200


def test_a_cross_origin_page_can_neither_reload_nor_read_without_cors_configured(champions):
    page = {"origin": "http://evil.example", "content-type": "text/plain"}
    with server_thread(serving.create_app(champions)) as url:
        assert httpx.post(f"{url}/reload", content="{}", headers=page, timeout=30).status_code == 415
        assert httpx.post(f"{url}/reload", timeout=30).status_code == 415  # no content type at all
        preflight = httpx.options(f"{url}/reload", timeout=30, headers={
            "origin": "http://evil.example", "access-control-request-method": "POST",
            "access-control-request-headers": "content-type"})
        assert "access-control-allow-origin" not in preflight.headers
        read = httpx.get(f"{url}/models", headers={"origin": "http://evil.example"}, timeout=30)
        assert "access-control-allow-origin" not in read.headers
    with server_thread(serving.create_app(champions, cors_origins=["http://dashboard:3000"])) as url:
        preflight = httpx.options(f"{url}/models/{CARD}/invocations", timeout=30, headers={
            "origin": "http://dashboard:3000", "access-control-request-method": "POST",
            "access-control-request-headers": "content-type"})
        assert preflight.headers.get("access-control-allow-origin") == "http://dashboard:3000"
        other = httpx.get(f"{url}/models", headers={"origin": "http://evil.example"}, timeout=30)
        assert "access-control-allow-origin" not in other.headers


def test_with_a_token_every_path_but_health_needs_it(champions, records):
    good = json.dumps({"dataframe_records": records[:1]})
    with server_thread(serving.create_app(champions, token="s3cret-token")) as url:
        assert httpx.get(f"{url}/health", timeout=30).status_code == 200
        for method, path in [("GET", "/models"), ("GET", f"/models/{CARD}/schema"), ("POST", "/reload"),
                             ("POST", f"/models/{CARD}/invocations"), ("GET", "/openapi.json")]:
            for auth in [None, "Bearer wrong", "Basic s3cret-token", "s3cret-token", "Bearer", "bearer s3cret-tokenX"]:
                headers = {"content-type": "application/json", **({"authorization": auth} if auth else {})}
                answer = httpx.request(method, f"{url}{path}", content=good, headers=headers, timeout=30)
                assert answer.status_code == 401 and "WORKBENCH_SERVE_TOKEN" in answer.json()["message"]
                assert answer.headers["www-authenticate"] == "Bearer"
        answer = httpx.post(f"{url}/models/{CARD}/invocations", content=good, timeout=30,
                            headers={"content-type": "application/json", "authorization": "Bearer s3cret-token"})
        assert answer.status_code == 200


def test_requests_over_the_time_or_queue_caps_get_503_with_retry_after(champions, records):
    many = json.dumps({"dataframe_records": [records[k % len(records)] for k in range(20_000)]})
    slow = serving.Limits(seconds=0.01)
    with server_thread(serving.create_app(champions, limits=slow)) as url:
        answer = httpx.post(f"{url}/models/{CARD}/invocations", content=many, timeout=60,
                            headers={"content-type": "application/json"})
        assert answer.status_code == 503 and int(answer.headers["retry-after"]) >= 1
        assert "workbench predict" in answer.json()["message"]
    queue = serving.Limits(queue_seconds=0.01)
    with server_thread(serving.create_app(champions, limits=queue, workers=1)) as url:
        def post(_):
            return httpx.post(f"{url}/models/{CARD}/invocations", content=many, timeout=120,
                              headers={"content-type": "application/json"})

        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(post, range(3)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses[0] == 200 and statuses[-1] == 503, statuses
        busy = next(a for a in answers if a.status_code == 503)
        assert "busy" in busy.json()["message"] and busy.headers["retry-after"] == "1"
        assert httpx.get(f"{url}/health", timeout=30).status_code == 200


def test_many_bodies_arriving_at_once_are_told_to_come_back_rather_than_held(champions, records):
    """Bodies in memory are bounded (the limit x (workers + 2)): seven slow uploads, each sending its first
    1,000 bytes and then waiting, against room for 6,000 bytes: those that do not fit get 503 with
    Retry-After, the others are scored when their bodies are complete."""
    body = json.dumps({"dataframe_records": records[:1]}).encode()
    body += b" " * (1900 - len(body))
    assert len(body) == 1900

    def slowly():
        yield body[:1000]
        time.sleep(2.0)
        yield body[1000:]

    tight = serving.Limits(body_bytes=2000)
    with server_thread(serving.create_app(champions, limits=tight, workers=1)) as url:
        def post(_):
            return httpx.post(f"{url}/models/{CARD}/invocations", content=slowly(), timeout=60,
                              headers={"content-type": "application/json"})

        with ThreadPoolExecutor(7) as pool:
            answers = list(pool.map(post, range(7)))
        statuses = sorted(a.status_code for a in answers)
        assert 200 in statuses and 503 in statuses and set(statuses) == {200, 503}, statuses
        assert all(a.headers["retry-after"] for a in answers if a.status_code == 503)
        again = httpx.post(f"{url}/models/{CARD}/invocations", content=body, timeout=60,
                           headers={"content-type": "application/json"})
        assert again.status_code == 200  # what the refused requests held was given back

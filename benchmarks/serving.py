"""Serving and batch prediction, measured: single-row latency, throughput under concurrent clients and
batch `workbench predict` rows per second with peak memory.

Trains each card's champion with its own notebook (2 Optuna trials) in a temporary MLflow store, then
starts the servers as users do, on free loopback ports: `workbench serve --all` (every champion from
one process) and `workbench serve CARD` (the same app, one model), and

- sends at least 2,000 sequential single-row requests to each, interleaved in blocks so that both see
  the same machine load, and reports p50/p99 (beside the same server's GET /health or /ping, the floor
  the HTTP stack and the machine's scheduler set);
- runs 8 concurrent clients for a fixed time and reports requests per second and latency under load;
- scores, for each card, a 1,000,000-row CSV and Parquet file (rows drawn at random from the card's
  reference data, in time order) with `workbench predict` in a fresh process, and a 100,000-row file,
  reporting rows per second and peak memory (the memory of the two sizes shows whether it grows with the
  file), beside the rate of the champion's boosters alone on the same rows.

    python benchmarks/serving.py                       # about 5-10 minutes on 2 cores
    python benchmarks/serving.py --requests 5000 --rows 2000000

Writes benchmarks/results/serving.md with what it measured, the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CARDS = ("heat-treatment-hardness", "injection-molding-quality")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", *args], env=env, cwd=ROOT,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_for(url: str, proc: subprocess.Popen, seconds: float = 300) -> float:
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        if proc.poll() is not None:
            raise SystemExit(f"server for {url} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.perf_counter() - began
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds} s")


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process and its children, the largest of them, in MB."""
    procs = [psutil.Process(pid)] + psutil.Process(pid).children(recursive=True)
    peaks = []
    for proc in procs:
        try:
            text = Path(f"/proc/{proc.pid}/status").read_text()
            peaks.append(int(re.search(r"VmHWM:\s+(\d+) kB", text).group(1)) / 1024)
        except (OSError, AttributeError):
            pass
    return max(peaks) if peaks else float("nan")


def bodies(frame: pd.DataFrame, count: int = 500) -> list[bytes]:
    rows = json.loads(frame.head(count).to_json(orient="split", date_format="iso", date_unit="s", index=False))
    cols = rows["columns"]
    return [json.dumps({"dataframe_split": {"columns": cols, "data": [[v.replace("T", " ") if isinstance(v, str)
                                                                          and "T" in v[:11] else v for v in r]]}}).encode()
            for r in rows["data"]]


class Target:
    def __init__(self, name: str, url: str, floor_url: str, proc: subprocess.Popen, payloads: list[bytes]):
        self.name, self.url, self.floor_url, self.proc, self.payloads = name, url, floor_url, proc, payloads
        self.client = httpx.Client(timeout=30, headers={"content-type": "application/json"})
        self.latencies: list[float] = []
        self.floor: list[float] = []
        self.errors = 0
        self.cpu = 0.0  # server CPU seconds spent on this target's requests (queueing on a busy machine excluded)

    def server_cpu(self) -> float:
        procs = [psutil.Process(self.proc.pid)] + psutil.Process(self.proc.pid).children(recursive=True)
        return sum(sum(p.cpu_times()[:2]) for p in procs)

    def block(self, n: int, offset: int) -> None:
        cpu = self.server_cpu()
        for i in range(n):
            body = self.payloads[(offset + i) % len(self.payloads)]
            began = time.perf_counter()
            answer = self.client.post(self.url, content=body)
            self.latencies.append(time.perf_counter() - began)
            self.errors += answer.status_code != 200
            if i % 10 == 0:  # the floor: the same server's cheapest endpoint, under the same load
                began = time.perf_counter()
                self.client.get(self.floor_url)
                self.floor.append(time.perf_counter() - began)
        self.cpu += self.server_cpu() - cpu


def concurrent(target: Target, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(k: int) -> None:
        mine = []
        with httpx.Client(timeout=60, headers={"content-type": "application/json"}) as session:
            i = k
            while time.perf_counter() < stop_at:
                began = time.perf_counter()
                answer = session.post(target.url, content=target.payloads[i % len(target.payloads)])
                mine.append(time.perf_counter() - began)
                if answer.status_code != 200:
                    with lock:
                        errors[0] += 1
                i += clients
        with lock:
            latencies.extend(mine)

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    ms = np.array(latencies) * 1e3
    return {"requests": len(ms), "rps": len(ms) / wall, "p50": float(np.median(ms)),
            "p99": float(np.percentile(ms, 99)), "errors": errors[0]}


def batch(card_id: str, source: Path, out: Path, env: dict) -> dict:
    """`workbench predict` in a fresh process: wall time, its own report (model loading, then rows/s),
    its CPU time, and its peak memory, read from /proc/self/status (VmHWM) as it exits: a forked
    child's getrusage would also count the parent's memory at the fork."""
    log = out.with_suffix(".log")
    report = ("import atexit, re, sys; atexit.register(lambda: sys.stderr.write('VmHWM ' + "
              "re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1) + '\\n')); "
              "from pipelines.cli import app; sys.argv[0] = 'workbench'; app()")
    began = time.perf_counter()
    with open(log, "w") as handle:
        proc = subprocess.Popen([sys.executable, "-c", report, "predict", card_id, "--input", str(source),
                                 "--output", str(out), "--quiet"], env={**env, "COLUMNS": "200"}, cwd=ROOT,
                                stdout=handle, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - began
    text = " ".join(log.read_text().split())
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"predict failed: {text[-2000:]}")
    found = re.search(r"wrote (\d+) predictions.* in ([\d.]+) s \(model loaded in ([\d.]+) s, then ([\d,]+) rows/s\)",
                      text)
    peak = re.search(r"VmHWM (\d+)", text)
    return {"rows": int(found.group(1)), "wall": wall, "seconds": float(found.group(2)),
            "load": float(found.group(3)), "rate": float(found.group(4).replace(",", "")),
            "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": int(peak.group(1)) / 1024,
            "file_mb": source.stat().st_size / 1e6}


def resample(frame: pd.DataFrame, rows: int, time_column: str | None, seed: int = 0) -> pd.DataFrame:
    """``rows`` rows drawn at random from the reference data, the time column spread evenly over the
    reference period so the file is in time order with no two rows alike. (Drawing sorted indices instead
    repeats each reference row in a run, which halves the boosters' cost through branch prediction: a
    flattering file, not a plant's.)"""
    rng = np.random.default_rng(seed)
    big = frame.iloc[rng.integers(0, len(frame), rows)].reset_index(drop=True)
    if time_column:
        stamps = pd.to_datetime(frame[time_column])
        big[time_column] = pd.date_range(stamps.min(), stamps.max(), periods=rows).floor("s")
    return big


def booster_alone(card_id: str, frame: pd.DataFrame) -> float:
    """Rows per second of the champion's boosters alone on the file's rows (features and matrix made
    beforehand), with every core: the ceiling that batch scoring can approach."""
    from pipelines import boosters, registry

    model = registry.load_model(card_id, version=int(registry.version_by_alias(card_id, registry.CHAMPION).version))
    featurized = model.featurize(frame)
    matrices = {key: model.matrix(featurized, model.signal_features.get(key)) for key in model.boosters}
    began = time.perf_counter()
    for key, booster in model.boosters.items():
        boosters.predict(model.kind, booster, matrices[key])
    return len(frame) / (time.perf_counter() - began)


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", nargs="*", default=list(CARDS))
    parser.add_argument("--requests", type=int, default=2000, help="sequential single-row requests per server")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the concurrent run per server")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the batch file")
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--store", type=Path, help="keep the trained store here and reuse it next time "
                                                        "(default: a temporary folder, removed at the end)")
    parser.add_argument("--latency-only", action="store_true", help="skip the throughput and batch parts")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "serving.md")
    args = parser.parse_args()

    work = args.store or Path(tempfile.mkdtemp(prefix="workbench-serving-bench-"))
    (work / "mlruns").mkdir(parents=True, exist_ok=True)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlruns' / 'mlflow.db'}"
    os.environ.pop("WORKBENCH_OPTUNA_STORAGE", None)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    from pipelines import cards, data, runner

    notes = [f"Measured {datetime.now():%Y-%m-%d %H:%M} on {psutil.cpu_count()} CPU cores, "
             f"{psutil.virtual_memory().total / 2**30:.0f} GiB; load average (1/5/15 min) at the start {load_text()}."]
    frames = {}
    from pipelines import registry, tracking

    tracking.configure()
    for card_id in args.cards:
        card = cards.load_card(card_id)
        frames[card_id] = data.load(card).frame[card.input_columns]
        if registry.version_by_alias(card_id, registry.CHAMPION) is not None:
            print(f"{card_id}: champion already in {work}", flush=True)
            continue
        began = time.perf_counter()
        outcome = runner.run_card(card_id, n_trials=args.trials, seed=0, output_dir=work / card_id, progress=False)
        print(f"{card_id}: champion v{outcome.decision['version']} in {time.perf_counter() - began:.0f} s "
              f"(promoted: {outcome.decision['promoted']})", flush=True)
        if not outcome.decision["promoted"]:
            raise SystemExit(f"{card_id} did not become champion; nothing to serve")

    # --- latency: every server, interleaved blocks, same rows -----------------------------------------
    first = args.cards[0]
    port_all, port_one = free_port(), free_port()
    all_proc = start(["serve", "--all", "--port", str(port_all), "--poll", "0"], env)
    one_proc = start(["serve", first, "--port", str(port_one)], env)
    servers = []
    try:
        ready_all = wait_for(f"http://127.0.0.1:{port_all}/health", all_proc)
        ready_one = wait_for(f"http://127.0.0.1:{port_one}/ping", one_proc)
        print(f"servers up: serve --all in {ready_all:.1f} s, serve {first} in {ready_one:.1f} s", flush=True)
        for card_id in args.cards:
            servers.append(Target(f"`serve --all` {card_id}",
                                  f"http://127.0.0.1:{port_all}/models/{card_id}/invocations",
                                  f"http://127.0.0.1:{port_all}/health", all_proc, bodies(frames[card_id])))
        servers.append(Target(f"`serve {first}`", f"http://127.0.0.1:{port_one}/invocations",
                              f"http://127.0.0.1:{port_one}/ping", one_proc, bodies(frames[first])))
        for target in servers:  # warm up: first requests pay for lazy imports and caches
            target.block(50, 0)
            target.latencies, target.floor, target.cpu = [], [], 0.0
        load_before = load_text()
        for offset in range(0, args.requests, 100):
            for target in servers:
                target.block(100, offset)
        load_after = load_text()
        rows = []
        for target in servers:
            ms, floor = np.array(target.latencies) * 1e3, np.array(target.floor) * 1e3
            rows.append(f"| {target.name} | {len(ms)} | {np.median(ms):.2f} | {np.percentile(ms, 90):.2f} | "
                        f"{np.percentile(ms, 99):.2f} | {np.median(floor):.2f} / {np.percentile(floor, 99):.2f} | "
                        f"{target.cpu / (len(ms) + len(floor)) * 1e3:.2f} | {target.errors} |")
            print(rows[-1], flush=True)
        latency = ("| server, model | requests | p50 ms | p90 ms | p99 ms | floor p50 / p99 ms (GET health) | "
                   "server CPU ms per request | errors |\n|---|---|---|---|---|---|---|---|\n" + "\n".join(rows))

        conc_rows = []
        for target in (servers[0], servers[-1]) if not args.latency_only else ():
            found = concurrent(target, args.clients, args.seconds)
            conc_rows.append(f"| {target.name} | {args.clients} | {found['requests']} | {found['rps']:.0f} | "
                             f"{found['p50']:.1f} | {found['p99']:.1f} | {found['errors']} | "
                             f"{peak_rss_mb(target.proc.pid):.0f} |")
            print(conc_rows[-1], flush=True)
        throughput = ("| server, model | clients | requests | requests/s | p50 ms | p99 ms | errors | server peak RSS MB |\n"
                      "|---|---|---|---|---|---|---|---|\n" + "\n".join(conc_rows))
    finally:
        for target in servers:
            target.client.close()
        stop(all_proc)
        stop(one_proc)

    if args.latency_only:
        text = (f"# Single-row latency\n\n{' '.join(notes)} Load average during the run: {load_before} before, "
                f"{load_after} after.\n\n{latency}\n")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"wrote {args.out}")
        return

    # --- batch predict: every card, with its boosters' own rate beside it ---------------------------
    batch_rows = []
    for card_id in args.cards:
        card = cards.load_card(card_id)
        big = resample(frames[card_id], args.rows, card.time.column if card.time else None)
        ceiling = booster_alone(card_id, big)
        small = big.head(args.rows // 10)
        files = {"csv": work / "big.csv", "parquet": work / "big.parquet", "small": work / "small.csv"}
        big.to_csv(files["csv"], index=False)
        big.to_parquet(files["parquet"], index=False, row_group_size=100_000)
        small.to_csv(files["small"], index=False)
        del big, small
        for label, source, target in [(f"{args.rows // 10:,} rows CSV -> CSV", files["small"], work / "small_out.csv"),
                                      (f"{args.rows:,} rows CSV -> CSV", files["csv"], work / "big_out.csv"),
                                      (f"{args.rows:,} rows Parquet -> Parquet", files["parquet"],
                                       work / "big_out.parquet")]:
            found = batch(card_id, source, target, env)
            batch_rows.append(f"| {card_id} | {label} | {found['file_mb']:.1f} | {found['load']:.1f} | "
                              f"{found['rate']:,.0f} | {ceiling:,.0f} | {found['wall']:.1f} | "
                              f"{found['rows'] / found['wall']:,.0f} | {found['rows'] / found['cpu']:,.0f} | "
                              f"{found['peak_mb']:.0f} |")
            print(batch_rows[-1], flush=True)
    batch_table = ("| model | file | input MB | model load s | rows/s (scoring) | boosters alone rows/s | command wall s "
                   "| rows/s (wall) | rows per CPU-second | peak RSS MB |\n|---|---|---|---|---|---|---|---|---|---|\n"
                   + "\n".join(batch_rows))

    notes.append(f"Load average during the sequential latency run: {load_before} before, {load_after} after; "
                 f"at the end {load_text()}.")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    kept = re.search(r"<!-- serving_hostile.py: begin -->.*?<!-- serving_hostile.py: end -->\n",
                     args.out.read_text() if args.out.exists() else "", flags=re.S)  # benchmarks/serving_hostile.py's
    args.out.write_text(
        "# Serving and batch prediction\n\n" + " ".join(notes) + "\n\n"
        f"Champions trained by each card's notebook ({args.trials} Optuna trials) in a temporary store; servers "
        f"started with `workbench serve` on free loopback ports; clients are httpx in one Python process.\n\n"
        f"## Single-row latency ({args.requests} sequential requests per server, interleaved in blocks of 100)\n\n"
        f"{latency}\n\n## Throughput ({args.clients} concurrent clients, {args.seconds:.0f} s per server)\n\n"
        f"{throughput}\n\n## Batch `workbench predict` (rows drawn at random from each card's reference data, "
        f"in time order)\n\n{batch_table}\n\n'boosters alone' is the champion's boosters on the same "
        f"{args.rows:,} rows with every core, features and matrix made beforehand: the ceiling batch scoring can "
        f"approach, set by the model's size. 'rows/s (scoring)' is what `predict` reports after loading the model (reading, "
        f"validating, scoring, writing); 'wall' adds the process start, imports and model loading; 'rows per "
        f"CPU-second' divides by the process's user+system CPU time, which queueing behind other processes does "
        f"not inflate. Peak RSS is the `predict` process's own high-water mark (VmHWM).\n"
        + ("\n" + kept.group(0) if kept else ""))
    for name in files.values():
        name.unlink(missing_ok=True)
    if args.store is None:
        shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""`workbench serve --remember` against the default, on the champions of cards whose features look back.

Trains each card's champion with its own notebook (2 Optuna trials, as benchmarks/serving.py does), starts
`workbench serve --all` twice on free loopback ports, once with `--remember`, and sends the rows of one
unit (the card's group, the middle one of the reference data; the last 600 rows where a card has none),
one request per row, in time order, to both. Reports per card:

- how many rows the run measured the features need (``model.history_rows``, what `--remember` keeps);
- the RMS difference of each server's answers from the same rows scored as one file (the champion's
  pyfunc on all of them): what a client sending one row at a time gets wrong;
- p50 / p99 latency of each server over the second half of the rows (the memory filled).

    python benchmarks/serving_memory.py --store /tmp/bench-memory
    python benchmarks/serving_memory.py --cards turbofan-rul bearing-rul

Writes benchmarks/results/serving_memory.md with the figures, the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np
import psutil

from serving import ROOT, free_port, load_text, start, stop, train_champions, wait_for

CARDS = ["turbofan-rul", "bearing-rul", "casting-furnace-energy", "demand-forecast", "press-anomaly",
         "smt-solder-defect", "battery-pack-quality", "semiconductor-yield"]  # each has features that look back
ROWS = 600  # rows sent one at a time per card and server


def unit_rows(card, frame, columns):
    """One unit's rows in time order (the middle unit of the reference data), or the stream's last ROWS."""
    if card.group and card.group.column in frame.columns:
        unit = frame[card.group.column].iloc[len(frame) // 2]
        frame = frame[frame[card.group.column] == unit]
    return frame[columns].tail(ROWS).reset_index(drop=True)


def one_at_a_time(url: str, rows, key: str) -> tuple[np.ndarray, np.ndarray]:
    records = json.loads(rows.to_json(orient="records", date_format="iso", date_unit="s"))
    answers, seconds = [], []
    with httpx.Client(timeout=60) as client:
        for record in records:
            record = {k: v.replace("T", " ") if isinstance(v, str) and "T" in v[:11] else v for k, v in record.items()}
            began = time.perf_counter()
            answer = client.post(url, json={"dataframe_records": [record]})
            seconds.append(time.perf_counter() - began)
            answer.raise_for_status()
            answers.append(answer.json()["predictions"][0][key])
    return np.array(answers, dtype=float), np.array(seconds) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", nargs="*", default=CARDS)
    parser.add_argument("--store", type=Path, help="keep the trained store here and reuse it next time")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "serving_memory.md")
    args = parser.parse_args()
    work = args.store or Path(tempfile.mkdtemp(prefix="workbench-memory-bench-"))
    (work / "mlruns").mkdir(parents=True, exist_ok=True)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlruns' / 'mlflow.db'}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    import mlflow
    from mlflow.tracking import MlflowClient

    from pipelines import cards, data, registry, tracking

    tracking.configure()
    started = f"{datetime.now():%Y-%m-%d %H:%M}, load average (1/5/15 min) {load_text()}"
    by_hand = train_champions(args.cards, 2, work)
    servers = {}
    try:
        for name, extra in (("default", []), ("remember", ["--remember"])):
            port = free_port()
            proc = start(["serve", "--all", "--port", str(port), "--poll", "0", *extra], env)
            wait_for(f"http://127.0.0.1:{port}/health", proc)
            servers[name] = (port, proc)
        lines = []
        for card_id in args.cards:
            mv = registry.version_by_alias(card_id, registry.CHAMPION)
            if mv is None:
                continue
            card = cards.load_card(card_id)
            pyfunc = mlflow.pyfunc.load_model(f"models:/{card_id}/{mv.version}")
            model = pyfunc.unwrap_python_model().model
            rows = unit_rows(card, data.load(card).frame, model.input_columns)
            scored = pyfunc.predict(rows)
            key = next(k for k in ("probability", "score", "prediction") if k in scored)  # a number to compare
            in_file = scored[key].to_numpy(dtype=float)
            kept = MlflowClient().get_run(mv.run_id).data.tags.get("model.history_rows", "?")
            found = {}
            for name, (port, _) in servers.items():
                answers, ms = one_at_a_time(f"http://127.0.0.1:{port}/models/{card_id}/invocations", rows, key)
                half = ms[len(ms) // 2:]
                found[name] = (float(np.sqrt(np.mean((answers - in_file) ** 2))), np.median(half), np.percentile(half, 99))
            d, r = found["default"], found["remember"]
            lines.append(f"| {card_id} ({key}) | {kept} | {len(rows)} | {d[0]:.4g} | {r[0]:.4g} | {d[1]:.2f} / {d[2]:.2f} | "
                         f"{r[1]:.2f} / {r[2]:.2f} |")
            print(lines[-1], flush=True)
    finally:
        for _, proc in servers.values():
            stop(proc)
    hand = "".join(f"\n- {c}: {n}" for c, n in by_hand.items())
    text = (f"# Serving rows one at a time: `serve --remember` against the default\n\n"
            f"Measured {started} on {psutil.cpu_count()} CPU cores: `python benchmarks/serving_memory.py`. "
            f"Champions trained by each card's notebook (2 Optuna trials).{hand}\n\n"
            "Rows of one unit sent one request per row, in time order, to `workbench serve --all` and to "
            "`workbench serve --all --remember` (real HTTP, loopback). 'RMS from the file': the difference from the "
            "same rows scored as one file. Latency over the second half of the rows (the memory filled).\n\n"
            "| card | rows kept per unit (`model.history_rows`) | rows sent | RMS from the file, default | "
            "RMS from the file, --remember | p50 / p99 ms, default | p50 / p99 ms, --remember |\n"
            "|---|---|---|---|---|---|---|\n" + "\n".join(lines) + "\n")
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())

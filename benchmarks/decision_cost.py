"""What a served row's decision outputs cost: issue 13 says intervals and thresholds add at most 1 ms to a
single row. For every champion in a store, one-row requests are scored in-process (the scoring server's
own call, ``StandardModel.predict_columns``) with and without the part that makes the decision output:

- regression, RUL and forecast: ``prediction_lower`` / ``prediction_upper`` from the conformal intervals
  (the model's ``conformal`` set aside for the 'without' runs);
- binary: the cost-chosen threshold against none (the score alone: the verdict's comparison left out).

Each is the best of 7 passes over 40 rows of the card's reference data, the two ways alternated, so both
see the same machine. Needs a store with champions, e.g. the one benchmarks/serving.py keeps:

    python benchmarks/decision_cost.py --store /tmp/bench

Writes benchmarks/results/decision_cost.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIMIT_MS = 1.0  # issue 13


def best_ms(model, rows, passes: int = 7) -> tuple[float, float]:
    """Best time a row (ms) with the decision output and without it, the two alternated."""
    conformal, task = model.conformal, model.task
    times = {"with": [], "without": []}
    for _ in range(passes):
        for way in ("with", "without"):
            if way == "without":
                model.conformal = None
                if task == "binary":
                    model.task = "plain score"  # _outputs' fall-through: the score alone, no verdict
            began = time.perf_counter()
            for row in rows:
                model.predict_columns(row)
            times[way].append((time.perf_counter() - began) / len(rows) * 1e3)
            model.conformal, model.task = conformal, task
    return min(times["with"]), min(times["without"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="a folder with mlruns/mlflow.db holding champions")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "decision_cost.md")
    args = parser.parse_args()
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{args.store / 'mlruns' / 'mlflow.db'}"
    from pipelines import cards, data, registry, tracking

    tracking.configure()
    lines, worst = [], 0.0
    for card_id in cards.list_ids():
        mv = registry.version_by_alias(card_id, registry.CHAMPION)
        if mv is None:
            continue
        model = registry.load_model(card_id, version=int(mv.version))
        if model.conformal is None and model.task != "binary":
            continue
        frame = data.load(cards.load_card(card_id)).frame
        inputs = frame[[c for c in model.input_columns if c in frame]]
        rows = [inputs.iloc[[i]] for i in np.linspace(0, len(inputs) - 1, 40).astype(int)]
        for row in rows[:5]:  # warm: the interval library's import and first fit belong to loading
            model.predict_columns(row)
        with_ms, without_ms = best_ms(model, rows)
        added = with_ms - without_ms
        worst = max(worst, added)
        what = "threshold" if model.task == "binary" else "90 % interval"
        lines.append(f"| {card_id} | {model.task} | {what} | {with_ms:.3f} | {without_ms:.3f} | {added:+.3f} |")
        print(lines[-1], flush=True)
    one, five, fifteen = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "# What a served row's decision outputs cost\n\n"
        f"Measured {datetime.now():%Y-%m-%d %H:%M} on {psutil.cpu_count()} CPU cores; load average at the end "
        f"{one:.1f} / {five:.1f} / {fifteen:.1f}. `python benchmarks/decision_cost.py --store ...`: in-process, one "
        "row a call, best of 7 passes over 40 rows, with and without the decision output alternated.\n\n"
        f"Largest addition: {worst:.3f} ms a row (issue 13's limit: {LIMIT_MS:g} ms).\n\n"
        "| card | task | decision output | ms a row with it | without | added ms |\n|---|---|---|---|---|---|\n"
        + "\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

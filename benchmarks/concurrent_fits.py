"""Boosters trained by two processes at once on the same cores, with libgomp's own spin count and with
the workbench's (pipelines/__init__.py sets GOMP_SPINCOUNT=1000 unless the environment has a value).

LightGBM and XGBoost train with OpenMP. GNU libgomp's idle threads spin 300,000 turns before they sleep,
so two processes that each start a thread per core (two notebooks, a run beside ``serve``, runs side by
side on one study) spin on the cores the other needs. Each fit below goes through the engine's own
``boosters.fit`` (a thread per core unless WORKBENCH_THREADS says otherwise), in a fresh process:

- alone: one process;
- two at once: two processes started together, each timed.

With ``--runs`` it also times two ``workbench run`` of different cards (fixed trials) alone and at once.
A fit past ``--limit`` seconds (a run past 2.5 times that) is stopped and reported as "> limit". Writes
benchmarks/results/concurrent_fits.md:

    python benchmarks/concurrent_fits.py --runs
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBGOMP_DEFAULT = "300000"  # libgomp's own spin count, the environment before the workbench set one

# name -> (booster, objective, rows, features, classes, rounds, fits)
CASES = {
    "LightGBM, 7 classes, 1,200 rows x 27 (steel plates' size), 5 fits of 50 rounds":
        ("lightgbm", "multiclass", 1_200, 27, 7, 50, 5),
    "LightGBM, regression, 300,000 rows x 20, 200 rounds": ("lightgbm", "regression", 300_000, 20, 0, 200, 1),
    "XGBoost, regression, 30,000 rows x 20, 200 rounds": ("xgboost", "regression", 30_000, 20, 0, 200, 1),
    "XGBoost, 7 classes, 1,200 rows x 27, 5 fits of 50 rounds": ("xgboost", "multiclass", 1_200, 27, 7, 50, 5),
}
RUNS = [("steel-plate-fault-type", 4), ("battery-pack-quality", 4)]


def child(case: str) -> None:
    """One process: fit the case through the engine and print the seconds it took."""
    sys.path.insert(0, str(ROOT))
    import numpy as np
    import pandas as pd

    from pipelines import boosters  # first: the workbench's spin count applies before a booster loads

    kind, objective, rows, width, classes, rounds, fits = CASES[case]
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.standard_normal((rows, width)), columns=[f"x{i}" for i in range(width)])
    signal = X["x0"] * 2 + np.sin(X["x1"] * 3) + X["x2"] * X["x3"]
    y = (pd.qcut(signal + rng.standard_normal(rows) * 0.5, classes, labels=False).to_numpy() if classes
         else (signal + rng.standard_normal(rows) * 0.3).to_numpy())
    began = time.perf_counter()
    for seed in range(fits):
        boosters.fit(kind, objective, {}, X, y, n_classes=classes, seed=seed, rounds=rounds)
    print(f"{time.perf_counter() - began:.2f}")


def timed(commands: list[list[str]], env: dict, limit: float) -> list[str]:
    """Start the commands together; each one's seconds (what a fit child printed, else the wall time it
    ran), or "> limit" where it was stopped."""
    # output to files, not pipes: a child that fills a pipe nobody reads while polling would stall
    outputs = [(tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")) for _ in commands]
    began = time.perf_counter()
    procs = [subprocess.Popen(c, env=env, cwd=ROOT, stdout=o, stderr=e, text=True)
             for c, (o, e) in zip(commands, outputs)]
    ended: dict[int, float] = {}
    while len(ended) < len(procs) and time.perf_counter() - began < limit:
        for i, proc in enumerate(procs):
            if i not in ended and proc.poll() is not None:
                ended[i] = time.perf_counter() - began
        time.sleep(0.05)
    out = []
    for i, (proc, (stdout_file, stderr_file)) in enumerate(zip(procs, outputs)):
        if i not in ended:
            proc.kill()
            proc.wait()
            out.append(f"> {limit:.0f}")
            continue
        stdout, stderr = (f.seek(0) or f.read() for f in (stdout_file, stderr_file))
        if proc.returncode:
            raise SystemExit(f"{proc.args[:4]} failed:\n{stderr[-2000:]}")
        out.append(stdout.split()[-1] if "--child" in proc.args else f"{ended[i]:.1f}")
    return out


def environments() -> dict[str, dict]:
    base = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "WORKBENCH_THREADS")}
    return {f"libgomp's own ({LIBGOMP_DEFAULT})": {**base, "GOMP_SPINCOUNT": LIBGOMP_DEFAULT},
            "the workbench's (1000)": base}


def fit_rows(limit: float) -> list[str]:
    lines = ["| fit | spin count | alone s (three times) | two at once s (each) |", "|---|---|---|---|"]
    for case in CASES:
        command = [sys.executable, __file__, "--child", case]
        alone = {label: [] for label in environments()}
        for _ in range(3):  # the two settings alternated: both see the same machine
            for label, env in environments().items():
                alone[label].append(timed([command], env, limit)[0])
        for label, env in environments().items():
            both = timed([command, command], env, limit)
            lines.append(f"| {case} | {label} | {' / '.join(alone[label])} | {' / '.join(both)} |")
            print(lines[-1], flush=True)
    return lines


def run_rows(limit: float) -> list[str]:
    lines = ["| runs | spin count | " + " | ".join(f"{c} alone s (twice)" for c, _ in RUNS) + " | both at once s (each) |",
             "|---|---|" + "---|" * (len(RUNS) + 1)]
    for label, env in environments().items():
        with tempfile.TemporaryDirectory(prefix="concurrent-runs-") as tmp:
            def command(card: str, trials: int, where: str) -> list[str]:
                return [sys.executable, "-m", "pipelines.cli", "run", card, "--trials", str(trials), "--quiet",
                        "--output-dir", str(Path(tmp) / where / card)]

            def store(where: str) -> dict:
                folder = Path(tmp) / where
                folder.mkdir(exist_ok=True)
                return {**env, "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
                        "WORKBENCH_OPTUNA_STORAGE": f"sqlite:///{folder / 'optuna.db'}"}

            alone = [" / ".join(timed([command(c, n, f"alone{i}-{c}")], store(f"alone{i}-{c}"), limit)[0]
                                for i in range(2)) for c, n in RUNS]
            both = timed([command(c, n, "both") for c, n in RUNS], store("both"), limit)
        lines.append(f"| {' + '.join(f'{c} --trials {n}' for c, n in RUNS)} | {label} | {' | '.join(alone)} | "
                     f"{' / '.join(both)} |")
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--runs", action="store_true", help="also time two `workbench run` at once")
    parser.add_argument("--limit", type=float, default=120.0, help="stop a process after this many seconds")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "concurrent_fits.md")
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    import psutil

    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    head = ["# Boosters trained by two processes at once", "",
            f"Measured {datetime.now():%Y-%m-%d %H:%M} on {platform.machine()} with {psutil.cpu_count()} cores "
            f"({platform.platform()}), Python {platform.python_version()}; load average at the start {load}: "
            f"`python benchmarks/concurrent_fits.py{' --runs' if args.runs else ''}`. Each process starts a "
            "booster thread per core (the engine's default). A fit's seconds are its boosters' own (not the "
            "process's start); a run's are its command's wall time.", ""]
    body = fit_rows(args.limit)
    if args.runs:
        body += ["", *run_rows(args.limit * 2.5)]
    args.out.write_text("\n".join(head + body) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

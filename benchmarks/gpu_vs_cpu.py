"""The same Optuna study on the CPU and on a CUDA GPU: wall time and test metric, per booster.

Runs on a machine with an NVIDIA GPU (on one without, ``--device cuda`` falls back to the CPU and the
script says so). Uses each card's simulator at a size where a GPU can matter, so it needs no public data:

    python benchmarks/gpu_vs_cpu.py --rows 200000 --trials 6

Writes benchmarks/results/gpu_vs_cpu.md with the figures it measured.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import optuna

from pipelines import cards, data, devices
from pipelines.evaluation import evaluate
from pipelines.tuning import tune

CARDS = ("injection-molding-quality", "heat-treatment-hardness", "steel-plate-fault-type")


def measure(card, dataset, device: str, booster: str, trials: int, seed: int):
    card = card.model_copy(update={"models": [booster]})
    start = time.perf_counter()
    result = tune(card, dataset, n_trials=trials, seed=seed, device=device,
                  storage=optuna.storages.InMemoryStorage())
    seconds = time.perf_counter() - start
    params = (devices.xgboost_params if booster == "xgboost" else devices.lightgbm_params)(result.device)
    return evaluate(result, plots=False).value, seconds, params.get("device") or params.get("device_type")


def write(path: Path, args, gpu: str, rows: list[str]) -> None:
    """Rewritten after every row, so a run cut short still leaves what it measured."""
    header = ("| card | rows | booster | metric | CPU | GPU | CPU time | GPU time (device used) | speed-up |\n"
              "|---|---|---|---|---|---|---|---|---|")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# CPU vs GPU, same study (seed {args.seed}, {args.trials} trials, simulator data)\n\n"
                    f"Machine: {os.cpu_count()} CPU threads, {gpu}; xgboost CUDA {devices.xgboost_has_cuda()}, "
                    f"LightGBM OpenCL GPU {devices.lightgbm_has_gpu()}.\n\n{header}\n" + "\n".join(rows) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cards", nargs="*", default=list(CARDS))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "gpu_vs_cpu.md")
    args = parser.parse_args()
    os.environ.pop("WORKBENCH_DATA_DIR", None)  # simulator at --rows, on every machine alike
    gpu = f"{devices.gpu_count()} GPU(s)" if devices.gpu_count() else "no GPU"
    print(f"xgboost CUDA: {devices.xgboost_has_cuda()}, LightGBM OpenCL GPU: {devices.lightgbm_has_gpu()}, {gpu}")
    rows = []
    for card_id in args.cards:
        card = cards.load_card(card_id)
        sim = card.reference_data.simulator.model_copy(update={"rows": args.rows})
        card = card.model_copy(update={"reference_data": card.reference_data.model_copy(update={"simulator": sim})})
        dataset = data.load(card)
        for booster in card.models:
            (cpu_value, cpu_s, _), (gpu_value, gpu_s, used) = (
                measure(card, dataset, device, booster, args.trials, args.seed) for device in ("cpu", "cuda"))
            rows.append(f"| {card_id} | {dataset.rows:,} | {booster} | {card.metric.primary} | {cpu_value:.4f} | "
                        f"{gpu_value:.4f} | {cpu_s:.0f} s | {gpu_s:.0f} s ({used}) | {cpu_s / gpu_s:.1f}x |")
            print(rows[-1], flush=True)
            write(args.out, args, gpu, rows)
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()

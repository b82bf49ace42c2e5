"""Tuned (Optuna over LightGBM and XGBoost) against default-parameter LightGBM, same data, split and
seed, on every card whose public dataset is present. Both sides see the card's raw columns (no notebook
features), so the difference is the tuning alone.

    WORKBENCH_DATA_DIR=../shared/datasets python benchmarks/tuned_vs_default.py --trials 20

Writes benchmarks/results/tuned_vs_default.md with the figures it measured.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import optuna

from pipelines import cards, data, sources
from pipelines.evaluation import evaluate
from pipelines.tuning import tune


def measure(card, dataset, trials: int, seed: int, lightgbm_defaults_only: bool):
    card = card.model_copy(update={"models": ["lightgbm"]}) if lightgbm_defaults_only else card
    start = time.perf_counter()
    result = tune(card, dataset, n_trials=1 if lightgbm_defaults_only else trials, seed=seed,
                  storage=optuna.storages.InMemoryStorage())
    report = evaluate(result, plots=False)
    return report.value, time.perf_counter() - start, len(result.study.trials)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "tuned_vs_default.md")
    args = parser.parse_args()
    rows = []
    for card in cards.list_cards():
        public = card.reference_data.public
        if not public or not sources.available(public):
            continue
        dataset = data.load(card)
        default, t_default, _ = measure(card, dataset, args.trials, args.seed, lightgbm_defaults_only=True)
        tuned, t_tuned, n = measure(card, dataset, args.trials, args.seed, lightgbm_defaults_only=False)
        arrow = "higher" if card.higher_is_better else "lower"
        rows.append(f"| {card.id} | {public} | {card.metric.primary} ({arrow} is better) | {default:.4f} | "
                    f"{tuned:.4f} | {n} | {t_default:.0f} s / {t_tuned:.0f} s |")
        print(rows[-1], flush=True)
    header = ("| card | dataset | metric | LightGBM defaults | tuned | trials | time default / tuned |\n"
              "|---|---|---|---|---|---|---|")
    text = (f"# Tuned vs default LightGBM (seed {args.seed}, {args.trials} trials, raw card columns)\n\n"
            f"{header}\n" + "\n".join(rows) + "\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()

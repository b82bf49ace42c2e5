"""Batch prediction on a file with a registered model, through the same reader, column mapping and
validation as training data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import cards, data, registry, tracking
from .errors import WorkbenchError


@dataclass
class Written:
    rows: int
    version: int


def predict_file(card_id: str, input_path: str | Path, output_path: str | Path, alias: str = "champion",
                 version: int | None = None, column_map: dict | None = None, sheet: str | int | None = None,
                 lang: str | None = None) -> Written:
    card = cards.load_card(card_id)
    frame = data.load_new(card, input_path, column_map, sheet=sheet, lang=lang)  # before any store is touched
    tracking.configure()
    mv = (registry.MlflowClient().get_model_version(card.id, str(version)) if version
          else registry.version_by_alias(card.id, alias))
    if mv is None:
        raise WorkbenchError(f"No registered model {card.id}@{alias}: run `workbench run {card.id}` first, "
                             f"or name a version with --version.")
    model = registry.load_model(card.id, version=int(mv.version))
    out = model.predict(frame)
    out.insert(0, "model_version", int(mv.version))
    out.insert(0, "model_id", card.id)
    out = pd.concat([frame.reset_index(drop=True), out], axis=1)
    output_path = Path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    if output_path.suffix.lower() in (".parquet", ".pq"):
        out.to_parquet(output_path, index=False)
    else:
        out.to_csv(output_path, index=False, encoding="utf-8-sig")
    return Written(rows=len(out), version=int(mv.version))

"""``workbench template``: an input file a factory engineer can fill for a card.

The header is the one the card matches (Korean names with ``--lang ko``, units in brackets, which the
column mapping ignores); the example rows come from the card's simulator, picked so that the file
passes ``workbench check`` as it is (every class on both sides of the card's split). Excel gets a
second sheet that explains each column; a CSV gets the same guide beside it as ``*_columns.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import simulate
from .cards import Card
from .reading import read_table
from .inspection import validate

GUIDE = {
    "en": {"sheet": "data", "guide": "columns", "cols": ["header", "card column", "Korean name", "unit", "kind",
                                                          "min", "max", "required", "role"],
           "target": "target (what the model predicts)", "time": "time stamp (orders rows, splits by time)",
           "group": "machine/unit (kept in one split)", "excluded": "not a model input (would leak the target)",
           "setting": "controllable setting", "input": "input", "yes": "yes", "no": "no"},
    "ko": {"sheet": "데이터", "guide": "열 설명", "cols": ["머리글", "카드 열", "한국어 이름", "단위", "종류",
                                                    "최솟값", "최댓값", "필수", "역할"],
           "target": "목표 (모델이 예측하는 값)", "time": "시각 (행 순서, 시간 분할)",
           "group": "설비/단위 (한쪽 분할에만 들어감)", "excluded": "모델 입력 아님 (정답이 새어 들어감)",
           "setting": "조정 가능한 설정값", "input": "입력", "yes": "예", "no": "아니오"},
}
KINDS_KO = {"numeric": "숫자", "category": "범주", "datetime": "날짜/시각"}


def header(name: str, ko: str | None, unit: str | None, lang: str) -> str:
    shown = (ko or name) if lang == "ko" else name
    return f"{shown} ({unit})" if unit else shown


def write_template(card: Card, path: str | Path, lang: str = "en", rows: int = 30) -> Path:
    path = Path(path)
    examples = example_rows(card, rows)
    names = {c.name: header(c.name, c.ko, c.unit, lang) for c in card.columns}
    names[card.target.column] = header(card.target.column, card.target.ko, card.target.unit, lang)
    table = examples[[c for c in names if c in examples.columns]].rename(columns=names)
    guide = column_guide(card, names, lang)
    words = GUIDE[lang]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".xlsx":
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            table.to_excel(writer, sheet_name=words["sheet"], index=False)
            guide.to_excel(writer, sheet_name=words["guide"], index=False)
            for sheet, frame in ((words["sheet"], table), (words["guide"], guide)):
                for i, col in enumerate(frame.columns):
                    width = max([len(str(col))] + [len(str(v)) for v in frame[col].head(50)]) + 2
                    writer.sheets[sheet].column_dimensions[_letter(i)].width = min(width * 1.3, 60)
    else:
        table.to_csv(path, index=False, encoding="utf-8-sig")  # the BOM makes Excel read the Korean right
        guide.to_csv(path.with_name(f"{path.stem}_columns.csv"), index=False, encoding="utf-8-sig")
    return path


def column_guide(card: Card, names: dict[str, str], lang: str) -> pd.DataFrame:
    w = GUIDE[lang]
    special = {card.time.column if card.time else None: w["time"], card.group.column if card.group else None: w["group"]}
    rows = []
    for c in card.columns:
        role = special.get(c.name) or (w["excluded"] if c.name in card.exclude else
                                       w["setting"] if c.name in card.settings else w["input"])
        rows.append([names[c.name], c.name, c.ko or "", c.unit or "", KINDS_KO[c.kind] if lang == "ko" else c.kind,
                     c.min, c.max, w["yes"] if c.required else w["no"], role + (f": {c.description}" if c.description else "")])
    t = card.target
    rows.append([names[t.column], t.column, t.ko or "", t.unit or "", "", None, None, w["yes"],
                 w["target"] + (f", defect = {t.positive!r}" if t.positive is not None else "")])
    return pd.DataFrame(rows, columns=w["cols"])


def example_rows(card: Card, rows: int) -> pd.DataFrame:
    """A few realistic rows that keep every class on both sides of the card's split."""
    ref = card.reference_data
    if ref.file:
        frame = read_table(ref.file, sheet=ref.sheet)
        source = ref.file
    else:
        sim = ref.simulator
        frame, _ = simulate.simulate(sim.family, rows=sim.rows, seed=sim.seed, params=sim.params)  # rare classes need all
        source = f"simulator:{sim.family}"
    frame = validate(frame, card, source)
    if card.task == "forecast":  # lags need consecutive rows
        picked = np.arange(min(rows, len(frame)))
    elif card.task in ("binary", "multiclass", "anomaly"):
        labels = frame[card.target.column]
        counts = labels.value_counts()
        picked = []
        for label, count in counts.items():
            want = max(4, int(round(rows * count / len(frame))))
            where = np.flatnonzero((labels == label).to_numpy())
            picked += list(where[np.unique(np.linspace(0, len(where) - 1, min(want, len(where))).round().astype(int))])
        picked = np.array(sorted(picked))
    else:
        picked = np.unique(np.linspace(0, len(frame) - 1, min(rows, len(frame))).round().astype(int))
    out = frame.iloc[picked].reset_index(drop=True)
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].round(3)
        elif pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d %H:%M:%S")
    return out


def _letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i + 1)

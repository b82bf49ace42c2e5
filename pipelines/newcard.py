"""``workbench new``: a card and a notebook for a process that has none yet, drafted from a data file.

Columns get a kind inferred from their values (numbers, dates, categories; identifiers and constant
columns are left out with the reason), a range widened from the observed one, and the task is guessed
from the target (two labels: binary, a few labels: multiclass, numbers: regression) and said back so
the engineer can confirm or correct it. The card's reference data is the file itself, so
``workbench run ID`` trains it like any other card. The draft is validated as a card and the file
against it before anything is written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from . import settings
from .cards import Card, card_path, load_card
from .errors import WorkbenchError
from .mapping import columns_holding, normal
from .messages import lang_or_default
from .reading import read_table
from . import long_format, sideways, time_parts
from .inspection import MOSTLY, class_labels, parse_dates, parse_numbers, reading_notes, validate

TEMPLATE = "_template.ipynb"
SKIPPED = {
    "empty": {"en": "empty", "ko": "비어 있음"},
    "constant": {"en": "the same value {value!r} in every row", "ko": "모든 행이 같은 값 {value!r}"},
    "date": {"en": "a date column other than --time", "ko": "--time 이 아닌 날짜 열"},
    "joined": {"en": "joined with the other into the time column {time!r}", "ko": "다른 열과 합쳐 시간 열 {time!r}이 됨"},
    "identifier": {"en": "looks like an identifier ({count} distinct values)", "ko": "식별 번호로 보임 (서로 다른 값 {count}개)"},
}
PROBLEM = {"binary": "quality", "multiclass": "quality", "regression": "quality", "forecast": "forecast",
           "rul": "maintenance"}


@dataclass
class NewCard:
    card: Card
    card_file: Path
    notebook: Path
    task_guessed: bool
    target_labels: dict
    kinds: dict[str, int]
    skipped: dict[str, tuple] = field(default_factory=dict)  # column -> (reason code, fields)
    leaks: list[str] = field(default_factory=list)
    reading: dict = field(default_factory=dict)  # what reading the file decided (a long file widened)

    def summary(self, lang: str | None = None) -> str:
        """What was made and every guess to confirm, in ``lang`` (the sentences are in messages.SAY)."""
        from .messages import WORDS, note, say

        lang = lang_or_default(lang)
        c = self.card
        labels = ", ".join(f"{k!r} {v}" for k, v in list(self.target_labels.items())[:6])
        kind_words = {"numeric": {"en": "numeric", "ko": "숫자"}, "category": {"en": "category", "ko": "범주"},
                      "datetime": {"en": "datetime", "ko": "날짜/시각"}}
        kinds = ", ".join((f"{kind_words.get(k, {}).get(lang, k)} {v}개" if lang == "ko" else f"{v} {k}")
                          for k, v in self.kinds.items())
        sign = "≥" if c.higher_is_better else "≤"
        notes: list = []
        reading_notes(self.reading, notes)
        lines = [say("new_wrote", lang, card_file=self.card_file, notebook=self.notebook),
                 *(note(code, lang, **fields) for code, fields in notes),
                 say("new_task", lang, task=c.task, how=say("new_task_guessed" if self.task_guessed else "new_task_given",
                                                            lang), target=c.target.column, labels=labels),
                 say("new_task_wrong", lang)]
        if c.target.positive is not None:
            lines.append(say("new_positive", lang, positive=c.target.positive))
        lines.append(say("new_columns", lang, kinds=kinds) + (say("new_time", lang, column=c.time.column) if c.time else "")
                     + (say("new_group", lang, column=c.group.column) if c.group else ""))
        lines.append(say("new_ranges", lang))
        split = WORDS.get(c.split.kind, {}).get(lang, c.split.kind) if lang == "ko" else c.split.kind
        lines.append(say("new_split", lang, kind=split, share=c.split.test_size, metric=c.metric.primary, sign=sign,
                         accept=c.metric.accept))
        lines += [say("new_left_out", lang, column=k, why=SKIPPED[v[0]][lang].format(**v[1])) for k, v in self.skipped.items()]
        lines += [say("new_leak", lang, column=k) for k in self.leaks]
        lines.append(say("new_next", lang, card=c.id))
        return "\n".join(lines)


def new_card(card_id: str, data: str | Path, target: str, task: str | None = None, time: str | None = None,
             group: str | None = None, sheet: str | None = None, lang: str | None = None,
             overwrite: bool = False, dates: str | None = None) -> NewCard:
    """``dates``: the day/month order of slashed dates when the user said (parsing.DAY_FIRST/MONTH_FIRST)."""
    lang = lang_or_default(lang)
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", card_id):
        raise WorkbenchError(f"Card id {card_id!r}: use lower-case letters, digits and dashes, e.g. my-press-quality.")
    out_card = card_path(card_id)
    out_nb = settings.notebooks_dir() / f"{card_id}.ipynb"
    if not overwrite and (out_card.exists() or out_nb.exists()):
        raise WorkbenchError(f"Card {card_id} already exists ({out_card}); choose another id or pass --force.")
    if task not in (None, "binary", "multiclass", "regression", "forecast", "rul"):
        raise WorkbenchError(f"--task {task!r}: `new` makes binary, multiclass, regression, forecast or rul cards "
                             "(an anomaly card needs its signals chosen by hand).")
    path = Path(data).resolve()
    frame = read_table(path, sheet=sheet, lang=lang)
    if target is not None and not _has(frame, target):  # the target is a tag or an item, not a column
        sideways_layout = sideways.itemized(frame, target)
        if sideways_layout is not None:  # a daily report laid sideways: its times make the time column
            frame = sideways.turn(frame, sideways_layout)
            time = time or (sideways.TIME if frame[sideways.TIME].map(lambda v: isinstance(v, pd.Timestamp)).all() else None)
        else:  # a file of one reading per row
            frame = _widened(frame, target, time, group)
    target, time, group = (_find(frame, name, role) for name, role in ((target, "--target"), (time, "--time"), (group, "--group")))
    joined = None
    if time is None:  # a time stamp written in pieces (작업일자 | 작업시간, 년 | 월 | 일 | 시) makes the time column
        found = time_parts.pieces(frame, [c for c in frame.columns if c not in (target, group)])
        if found is not None:
            joined, how = found
            time = " ".join(joined)
            frame = frame.assign(**{time: time_parts.stamps(frame, joined, how)})
    if task == "forecast" and not time:
        raise WorkbenchError("--task forecast needs --time (the series' time stamp column).")
    if task == "rul" and not group:
        raise WorkbenchError("--task rul needs --group (the unit that runs to failure).")

    columns, skipped, kinds = [], {}, {"numeric": 0, "category": 0, "datetime": 0}
    for name in frame.columns:
        if name == target:
            continue
        if joined and name in joined:
            skipped[name] = ("joined", {"time": time})
            continue
        spec, why = _column(frame[name], name, time=name == time, group=name == group, dates=dates)
        if spec is None:
            skipped[name] = why
            continue
        columns.append(spec)
        kinds[spec.get("kind", "numeric")] += 1
    y = class_labels(frame[target]).dropna()
    if y.empty:
        raise WorkbenchError(f"--target {target}: the column is empty.")
    leaks = [c["name"] for c in columns if c.get("kind") == "category" and _decides(frame[c["name"]], frame[target])]
    guessed = task is None
    task = task or _guess_task(y)
    target_spec: dict = {"column": target}
    counts = y.value_counts()
    if task == "binary":
        if len(counts) != 2:
            raise WorkbenchError(f"--target {target}: a binary card needs two labels, the file has {len(counts)}.")
        rare = counts.sort_values(kind="stable").index[0]
        target_spec["positive"] = rare.item() if hasattr(rare, "item") else rare
    elif task != "multiclass":
        values, bad = parse_numbers(frame[target])
        if bad.any():
            raise WorkbenchError(f"--target {target}: {task} needs numbers, but the column holds text such as "
                                 f"{frame[target][bad].iloc[0]!r}; choose --task binary or multiclass.")
        y = values.dropna()
    split = ("time" if task == "forecast" else "group" if task == "rul" or group else "time" if time
             else "stratified" if task in ("binary", "multiclass") else "random")
    raw = {
        "id": card_id, "version": 1,
        "name": {"ko": f"{card_id} (새 카드)", "en": f"{card_id} (new card)"},
        "industry": "plant", "equipment": {"ko": path.stem, "en": path.stem},
        "problem": PROBLEM[task], "task": task,
        "summary": {"ko": f"{path.name} 에서 `workbench new` 로 만든 카드입니다. 공정 설명을 적어 주세요.",
                    "en": f"Drafted by `workbench new` from {path.name}. Describe the process here."},
        "target": target_spec, "columns": columns,
        **({"time": {"column": time}} if time else {}), **({"group": {"column": group}} if group else {}),
        "split": {"kind": split, "test_size": 0.2, "folds": 3},
        "metric": _metric(task, y, target_spec.get("positive")),
        "models": ["lightgbm", "xgboost"],
        **({"exclude": leaks} if leaks else {}),
        "reference_data": {"file": str(path), **({"sheet": str(sheet)} if sheet is not None else {})},
        **({"forecast": {"horizon": 1}} if task == "forecast" else {}),
    }
    try:
        card = Card.model_validate(raw)
    except Exception as exc:  # noqa: BLE001 - pydantic's message names the field
        raise WorkbenchError(f"The drafted card for {card_id} is not valid: {exc}") from None
    validate(frame, card, str(path), lang=lang)  # the file must pass its own card before anything is written
    out_card.parent.mkdir(parents=True, exist_ok=True)
    out_card.write_text("# Drafted by `workbench new`: check the task, ranges, split and metric, then describe the process.\n"
                        + yaml.safe_dump(raw, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
    _write_notebook(card, out_nb)
    return NewCard(card=load_card(card_id), card_file=out_card, notebook=out_nb, task_guessed=guessed,
                   target_labels={str(k): int(v) for k, v in counts.items()} if task in ("binary", "multiclass")
                   else {"min": float(y.min()), "max": float(y.max())},
                   kinds={k: v for k, v in kinds.items() if v}, skipped=skipped, leaks=leaks,
                   reading=frame.attrs.get("reading", {}))


def _has(frame: pd.DataFrame, name: str) -> bool:
    return any(normal(c) == normal(name) for c in frame.columns)


def _widened(frame: pd.DataFrame, target: str, time: str | None, group: str | None) -> pd.DataFrame:
    """A long file (시간, 태그, 값) whose tag column names the target among its values, widened to a row per
    time stamp (or per --time and --group where given) with a column per tag; unchanged when none does."""
    tags = columns_holding(frame, target)
    if len(tags) != 1:
        return frame
    keys = {role: _find(frame, name, role) for name, role in ((time, "--time"), (group, "--group"))}
    layout = long_format.tagged(frame, tags[0], time=keys["--time"], unit=keys["--group"])
    return frame if layout is None or layout["tags"] < long_format.MIN_TAGS else long_format.widen(frame, layout)


def _find(frame: pd.DataFrame, name: str | None, role: str) -> str | None:
    if name is None:
        return None
    if name in frame.columns:
        return name
    hits = [c for c in frame.columns if normal(c) == normal(name)]
    if len(hits) == 1:
        return hits[0]
    raise WorkbenchError(f"{role} {name!r} is not a column of the file (columns: {', '.join(map(str, frame.columns[:20]))}).")


def _column(series: pd.Series, name: str, time: bool, group: bool, dates: str | None = None) -> tuple[dict | None, tuple]:
    present = series.dropna()
    if time:
        found = parse_dates(series, dates)
        if found.ambiguous is not None:
            raise WorkbenchError(f"--time {name}: dates such as {found.ambiguous!r} can be read day-first or month-first "
                                 "and the rows do not tell which: run again with --dayfirst or --monthfirst.")
        if found.bad.sum() > MOSTLY * max(int(series.notna().sum()), 1):
            raise WorkbenchError(f"--time {name}: values such as {series[found.bad].iloc[0]!r} are not dates the "
                                 "workbench can read; write them as 2024-01-02 06:00.")
        # the card keeps the order (day-, month- or year-first as in '24.03.05'): a short file later reads alike
        return {"name": name, "kind": "datetime", **({"date_order": found.order} if found.order else {})}, ()
    if present.empty:
        return None, ("empty", {})
    if present.astype(str).nunique() == 1 and not group:
        return None, ("constant", {"value": present.astype(str).iloc[0]})
    values, bad = parse_numbers(series)
    if not bad.any() and not group:
        lo, hi = float(values.min()), float(values.max())
        span = hi - lo
        low = lo - span if lo < 0 else max(0.0, lo - span)
        return {"name": name, "min": _round(low), "max": _round(hi + span),
                "description": f"observed {_round(lo)} to {_round(hi)}"}, ()
    if not parse_dates(series).bad[series.notna()].any():
        return None, ("date", {})
    distinct = present.astype(str).nunique()
    if not group and distinct > 50 and distinct > 0.5 * len(present):
        return None, ("identifier", {"count": distinct})
    return {"name": name, "kind": "category", "description": f"{distinct} distinct values"}, ()


def _decides(column: pd.Series, target: pd.Series) -> bool:
    """A text column whose every value goes with one target value (a defect reason, an inspection
    result) tells the model the answer: it would leak the target."""
    both = pd.DataFrame({"c": column.astype(str), "y": target.astype(str)})[column.notna() & target.notna()]
    return bool(len(both)) and both["c"].nunique() > 1 and bool((both.groupby("c")["y"].nunique() == 1).all())


def _guess_task(y: pd.Series) -> str:
    distinct = y.nunique()
    if distinct == 2:
        return "binary"
    numeric = pd.api.types.is_numeric_dtype(y)
    if not numeric and distinct <= 30:
        return "multiclass"
    if numeric and distinct <= 10 and (y == y.round()).all():
        return "multiclass"
    if numeric:
        return "regression"
    raise WorkbenchError(f"The target has {distinct} different text values: too many classes to guess a task; "
                         "pass --task.")


def _metric(task: str, y: pd.Series, positive) -> dict:
    if task == "binary":
        rate = float((y.astype(str) == str(positive)).mean())
        accept = round(min(0.9, max(2 * rate, rate + 0.05)), 3)
        return {"primary": "average_precision", "accept": accept,
                "why": f"Defects are {rate:.1%} of the rows, so guessing scores AP about {rate:.3f}; the bar asks for "
                       "clearly better than chance. Raise it once the plant knows what precision is useful."}
    if task == "multiclass":
        share = float(y.value_counts(normalize=True).iloc[0])
        return {"primary": "accuracy", "accept": round(min(0.95, share + 0.05), 3),
                "why": f"Always answering the largest class scores {share:.1%}; the bar asks for 5 points more."}
    return {"primary": "r2", "accept": 0.3,
            "why": "A first bar: explain at least 30 % of the target's variance (predicting the mean scores 0). "
                   "Replace it with an error in the target's unit once the plant knows what accuracy is useful."}


def _round(value: float) -> float:
    return float(f"{value:.6g}")


def _write_notebook(card: Card, path: Path) -> None:
    source = settings.notebooks_dir() / TEMPLATE
    if not source.exists():
        source = settings.REPO_ROOT / "notebooks" / TEMPLATE
    nb = json.loads(source.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        text = "".join(cell["source"]).replace("__CARD_ID__", card.id).replace("__TARGET__", card.target.column)
        cell["source"] = text.splitlines(keepends=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

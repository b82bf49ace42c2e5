"""Cards: one YAML file per standard model, validated with pydantic at load time.

The card is the single source of truth about a model: what it reads (columns with units, ranges and
Korean aliases), what it predicts, how it is split and judged, and where its reference data comes from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from . import metrics, settings
from .errors import CardError, UnknownCard

Task = Literal["binary", "multiclass", "regression", "rul", "anomaly", "forecast"]
Problem = Literal["quality", "maintenance", "anomaly", "optimisation", "forecast"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilingual(_Strict):
    ko: str
    en: str


OutOfRange = Literal["missing", "drop-row", "error"]


class Column(_Strict):
    name: str
    ko: str | None = None
    unit: str | None = None
    kind: Literal["numeric", "category", "datetime"] = "numeric"
    min: float | None = None  # physical limits: a reading outside them is a faulty reading
    max: float | None = None
    # Only where the model makes no sense without the column; any other column a file lacks is a note
    # and the model trains on what the file has.
    required: bool = False
    missing_values: list[float | str] = Field(default_factory=list)  # sensor codes for "no reading": -9999, 1449
    out_of_range: OutOfRange | None = None  # this column's policy (default: the card's)
    # dates such as 03/04/2024, or 24.03.05 for year-first (default: from the data)
    date_order: Literal["day-first", "month-first", "year-first"] | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _range(self):
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"column {self.name}: min {self.min} is above max {self.max}")
        return self


class Target(_Strict):
    column: str
    ko: str | None = None
    unit: str | None = None
    positive: str | int | float | None = None  # binary/anomaly: the label value that means "bad"
    clip: float | None = None  # rul: cap training targets (piecewise-linear RUL)


class TimeSpec(_Strict):
    column: str | None = None  # None: rows are already in time order
    within: str | None = None  # a finer clock inside ``column`` (KAMP files: an integer date, then the hour)


class GroupSpec(_Strict):
    column: str


SplitKind = Literal["random", "stratified", "time", "group"]


class Split(_Strict):
    kind: SplitKind
    test_size: float = Field(0.2, gt=0.0, lt=0.6)
    folds: int = Field(3, ge=2, le=10)
    # When a file lacks the time column a time split needs: stratified for classifiers, random otherwise
    # (a forecast keeps the file's row order as time).
    fallback: Literal["random", "stratified"] | None = None
    # A time split's test period must hold this many events (positives of a binary or anomaly card), or it
    # reaches further back (to half the rows at most) and says so: AP on a handful of defects means nothing.
    min_test_events: int = Field(10, ge=1)
    # A process that drifts (a combustor retuned, an analyser recalibrated): a training row's weight halves
    # for every this share of the training rows (in time order) that came after it. 0.33 over three years of
    # rows: a row a year old counts half, one three years old an eighth. Time splits; not the anomaly
    # cards' per-signal models.
    recency_half_life: float | None = Field(None, gt=0.0, le=10.0)


class MetricSpec(_Strict):
    primary: str
    accept: float
    tolerance: float = 0.0  # how much worse than the champion still counts as "not worse"
    why: str | None = None  # where the acceptance threshold comes from (chance level, published result)


class Validation(_Strict):
    """Tolerances of the nightly checks (``workbench validate``). The defaults suit a card whose
    champion was tuned longer than the nightly run is: a little worse is noise, a lot is a regression."""
    champion_tolerance: float = Field(0.05, ge=0)  # share of the champion's metric value it may fall behind
    probe_rows: int = Field(200, ge=10)  # the first rows of the reference data, scored by both models
    probe_tolerance: float = Field(0.1, ge=0, le=1)  # agreement with the champion on them must be >= 1 - this


class Simulator(_Strict):
    family: str
    rows: int = Field(8000, gt=50)
    seed: int = 7
    params: dict[str, Any] = Field(default_factory=dict)


class ReferenceData(_Strict):
    simulator: Simulator | None = None
    public: str | None = None  # dataset id in datasets/sources.yaml, used when present
    file: str | None = None  # a plant's own file (cards made by `workbench new`): used instead of the others
    sheet: str | None = None  # the Excel sheet of ``file``
    # Public data that shows the real machine but cannot train or test the card (unlabelled, or one class
    # only): the notebook compares it with the simulator and a test checks the card's ranges hold it.
    explore: str | None = None

    @model_validator(mode="after")
    def _some_data(self):
        if self.simulator is None and self.file is None:
            raise ValueError("reference_data needs a simulator or a file")
        return self


class Forecast(_Strict):
    horizon: int = Field(1, ge=1)  # rows ahead (steps of the series)
    # Seasonal-naive baseline: the value one season earlier (rows; 7 for daily data with a weekly
    # rhythm). Without it the baseline is persistence (the value now).
    season: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _season(self):
        if self.season is not None and self.season < self.horizon:
            raise ValueError(f"forecast.season {self.season} must be at least the horizon {self.horizon}")
        return self


class Costs(_Strict):
    """What a wrong alarm costs the plant, in one unit. A binary card's decision threshold is the one that
    minimises their expected sum on out-of-fold predictions (``workbench run --costs 1:20`` overrides)."""
    false_alarm: float = Field(gt=0)  # an alarm on a good part or machine: an unneeded stop or inspection
    missed: float = Field(gt=0)  # no alarm on a defect or failure: scrap, rework, a claim, a breakdown
    unit: str | None = None  # 원, minutes of downtime, ...
    why: str | None = None  # where the figures come from

    @classmethod
    def parse(cls, text: str, unit: str | None = None) -> "Costs":
        """``"1:20"`` -> a false alarm costs 1, a missed defect 20 (in ``unit``)."""
        try:
            false_alarm, missed = (float(part) for part in str(text).split(":"))
            return cls(false_alarm=false_alarm, missed=missed, unit=unit, why=f"given as {text}")
        except (ValueError, TypeError):
            raise ValueError(f"costs {text!r}: write FALSE_ALARM:MISSED with two positive numbers, e.g. 1:20 "
                             f"(a missed defect costs twenty unneeded inspections)") from None


class Anomaly(_Strict):
    signals: list[str] = Field(min_length=1)  # each is predicted from the rest; residuals score


class Card(_Strict):
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    version: int = Field(ge=1)
    name: Bilingual
    industry: str
    equipment: Bilingual
    process: Bilingual | None = None
    problem: Problem
    task: Task
    summary: Bilingual | None = None
    target: Target
    columns: list[Column] = Field(min_length=1)
    time: TimeSpec | None = None
    group: GroupSpec | None = None
    split: Split
    metric: MetricSpec
    models: list[Literal["lightgbm", "xgboost"]] = Field(default_factory=lambda: ["lightgbm", "xgboost"], min_length=1)
    reference_data: ReferenceData
    settings: list[str] = Field(default_factory=list)  # controllable inputs: `workbench optimize` searches them
    settings_goal: Literal["minimize", "maximize"] = "minimize"  # regression target; binary minimises P(defect)
    exclude: list[str] = Field(default_factory=list)  # columns that leak the target: never features
    out_of_range: OutOfRange = "missing"  # what a value outside a column's [min, max] becomes (see Column)
    forecast: Forecast | None = None
    anomaly: Anomaly | None = None
    costs: Costs | None = None  # binary cards: the alarm threshold minimises the expected cost
    validation: Validation = Field(default_factory=Validation)

    @model_validator(mode="after")
    def _consistent(self):
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError("columns: a column name appears twice")
        known = set(names)
        if self.target.column in known:
            raise ValueError(f"target.column {self.target.column} is also listed under columns")
        for field, cols in (("settings", self.settings), ("exclude", self.exclude)):
            unknown = [c for c in cols if c not in known]
            if unknown:
                raise ValueError(f"{field}: {unknown} are not card columns")
        if self.metric.primary not in metrics.for_task(self.task):
            raise ValueError(
                f"metric.primary {self.metric.primary!r} is not a {self.task} metric; "
                f"choose one of {sorted(metrics.for_task(self.task))}"
            )
        if self.split.kind == "stratified" and self.task not in ("binary", "multiclass", "anomaly"):
            raise ValueError("split.kind stratified needs a classification task")
        if self.split.kind == "group" and self.group is None:
            raise ValueError("split.kind group needs a group column (group.column)")
        if self.task == "forecast" and (self.forecast is None or self.split.kind != "time"):
            raise ValueError("a forecast card needs a forecast section and split.kind time")
        if self.task == "rul" and self.group is None:
            raise ValueError("a rul card needs group.column (the unit that runs to failure)")
        if self.task == "anomaly":
            if self.anomaly is None:
                raise ValueError("an anomaly card needs an anomaly section listing the signals")
            unknown = [s for s in self.anomaly.signals if s not in known]
            if unknown:
                raise ValueError(f"anomaly.signals: {unknown} are not card columns")
        if self.task in ("binary", "anomaly") and self.target.positive is None:
            raise ValueError("target.positive: say which label value is the defect/failure/fault")
        if self.costs is not None and self.task != "binary":
            raise ValueError("costs: only a binary card chooses its alarm threshold by cost")
        if self.split.fallback == "stratified" and self.task not in ("binary", "multiclass", "anomaly"):
            raise ValueError("split.fallback stratified needs a classification task")
        return self

    # --- derived views, so callers never re-derive them differently ---
    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def feature_columns(self) -> list[str]:
        """Input columns the model may read: every card column that is not excluded for leakage."""
        special = {self.time.column if self.time else None, self.group.column if self.group else None}
        return [c.name for c in self.columns if c.name not in self.exclude and c.name not in special]

    @property
    def input_columns(self) -> list[str]:
        """Every column a model of this card may read to predict (the target is not needed); a model
        trained on a file without some of them reads fewer (its ``input_columns``)."""
        return [c.name for c in self.columns if c.name not in self.exclude]

    @property
    def fallback_split(self) -> str:
        """The split used when the file lacks the time column the card's time split needs."""
        if self.split.fallback:
            return self.split.fallback
        if self.task == "forecast":
            return "time"  # the file's row order is the series' order
        return "stratified" if self.task in ("binary", "multiclass", "anomaly") else "random"

    def with_date_orders(self, orders: dict[str, str] | None) -> "Card":
        """This card with the order its date columns were read in elsewhere (the model's training file, a
        file's first chunk) where the card itself says none: a file too short to tell '24.03.05' or
        03/04/2024 apart is read as that one was."""
        unsaid = {c.name for c in self.columns if c.date_order is None}
        orders = {k: v for k, v in (orders or {}).items() if k in unsaid}
        if not orders:
            return self
        return self.model_copy(update={"columns": [c.model_copy(update={"date_order": orders[c.name]})
                                                   if c.name in orders else c for c in self.columns]})

    def out_of_range_policy(self, column: str) -> str:
        return self.column(column).out_of_range or self.out_of_range

    @property
    def is_classifier(self) -> bool:
        return self.task in ("binary", "multiclass")

    @property
    def higher_is_better(self) -> bool:
        return metrics.get(self.task, self.metric.primary).higher_is_better


def card_path(card_id: str) -> Path:
    return settings.catalog_dir() / f"{card_id}.yaml"


def load_card(card: str | Path) -> Card:
    """Load a card by id (``catalog/<id>.yaml``) or by path; raise CardError naming file and fields."""
    path = Path(card)
    if path.suffix not in (".yaml", ".yml"):
        path = card_path(str(card))
    if not path.exists():
        raise UnknownCard(path, str(card), list_ids())
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:  # one line: where, and what the parser expected
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise CardError(path, [f"YAML does not parse{where}: {what}"]) from None
    if not isinstance(raw, dict):
        raise CardError(path, ["the file must hold a YAML mapping"])
    try:
        parsed = Card.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or 'card'}: {e['msg']}" for e in exc.errors()]
        raise CardError(path, problems) from None
    if parsed.id != path.stem:
        raise CardError(path, [f"id: {parsed.id!r} must equal the file name {path.stem!r}"])
    return parsed


def list_ids() -> list[str]:
    return sorted(p.stem for p in settings.catalog_dir().glob("*.yaml"))


def list_cards(broken: list[CardError] | None = None) -> list[Card]:
    """Every card of the catalog. Given a list as ``broken``, a card that does not load is added to it
    instead of raised, so that one bad file does not hide the other cards from a listing."""
    found = []
    for card_id in list_ids():
        try:
            found.append(load_card(card_id))
        except CardError as exc:
            if broken is None:
                raise
            broken.append(exc)
    return found


CATALOG_HEADER = ("id", "industry", "equipment", "설비", "task", "metric", "reference data")


def catalog_rows(industry: str | None = None, equipment: str | None = None, task: str | None = None,
                 broken: list[CardError] | None = None) -> list[tuple]:
    """One row per card, filtered (industry and task exactly, equipment by words in either language);
    ``broken`` as in ``list_cards``."""
    rows = []
    for card in list_cards(broken):
        if industry and card.industry != industry or task and card.task != task:
            continue
        if equipment and equipment.lower() not in f"{card.equipment.en} {card.equipment.ko}".lower():
            continue
        sign = "≥" if card.higher_is_better else "≤"
        ref = card.reference_data
        source = (f"file {Path(ref.file).name}" if ref.file else
                  f"public {ref.public}{_kind_note(ref.public)}, else simulator" if ref.public else "simulator")
        if ref.explore:
            source += f" (public {ref.explore} for exploration)"
        rows.append((card.id, card.industry, card.equipment.en, card.equipment.ko, card.task,
                     f"{card.metric.primary} {sign} {card.metric.accept}", source))
    return rows


def catalog_markdown(rows: list[tuple]) -> str:
    """The catalog as a Markdown page (docs/catalog.md is exactly this for the whole catalog)."""
    lines = ["# Standard model catalog", "",
             "Generated by `workbench catalog --markdown > docs/catalog.md`; a test keeps it in sync with catalog/.",
             "", "| " + " | ".join(CATALOG_HEADER) + " |", "|" + "---|" * len(CATALOG_HEADER)]
    lines += ["| " + " | ".join(str(v).replace("|", "/") for v in row) + " |" for row in rows]
    return "\n".join(lines) + f"\n\n{len(rows)} standard models.\n"


def _kind_note(dataset: str) -> str:
    """`` (real + injected faults)`` for a public dataset whose loader adds to the real records, else ``""``."""
    from . import sources

    kind = sources.catalog()[dataset].kind if dataset in sources.catalog() else "real"
    return "" if kind == "real" else f" ({kind})"


def data_kind(card: Card) -> tuple[str, str | None]:
    """Where the card's figures come from here: ``("real", dataset)`` when its public dataset is present
    under WORKBENCH_DATA_DIR (its ``kind`` in datasets/sources.yaml, e.g. ``"real + injected faults"``,
    where the loader adds to the real records), ``("file", name)`` for a plant's own file, else
    ``("simulated", None)``."""
    from . import sources

    ref = card.reference_data
    if ref.file:
        return "file", Path(ref.file).name
    if ref.public and ref.public in sources.catalog() and sources.available(ref.public):
        return sources.get(ref.public).kind, ref.public
    return "simulated", None


def last_real_results(card_ids: list[str]) -> dict[str, tuple[float, float | None]]:
    """Per card, the test metric and the naive baseline of its latest finished run on public data in
    the MLflow store (``{}`` when there is no store yet: this never creates one)."""
    uri = settings.tracking_uri()
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        return {}
    from mlflow.tracking import MlflowClient

    from . import tracking

    tracking.configure(uri)
    client, out = MlflowClient(), {}
    for card_id in card_ids:
        experiment = client.get_experiment_by_name(card_id)
        if experiment is None:
            continue
        primary = load_card(card_id).metric.primary
        runs = client.search_runs([experiment.experiment_id], max_results=1, order_by=["attributes.start_time DESC"],
                                  filter_string="attributes.status = 'FINISHED' and tags.`data.source` LIKE 'public:%'")
        metrics = runs[0].data.metrics if runs else {}
        if f"test_{primary}" in metrics:
            out[card_id] = (metrics[f"test_{primary}"], metrics.get(f"baseline_{primary}"))
    return out


SHORT_METRICS = {"average_precision": "AP", "balanced_accuracy": "bal. acc.", "macro_f1": "macro F1"}


def catalog_table_rows(rows: list[tuple], results: dict[str, tuple[float, float | None]]) -> list[tuple]:
    """The terminal listing (fits 100 columns): id, metric, where the figures come from (``real`` and
    the dataset id beneath, ``simulated`` or ``file``), and the last real-data test metric beside its
    baseline."""
    out = []
    for row in rows:
        card = load_card(row[0])
        kind, dataset = data_kind(card)
        sign = "≥" if card.higher_is_better else "≤"
        metric = f"{SHORT_METRICS.get(card.metric.primary, card.metric.primary)} {sign} {card.metric.accept:g}"
        value = results.get(card.id)
        last = "" if value is None else f"{value[0]:.3g}" + ("" if value[1] is None else f" (base {value[1]:.3g})")
        out.append((card.id, metric, kind if dataset is None else f"{kind}\n{dataset}", last))
    return out


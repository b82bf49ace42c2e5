"""Test-split evaluation: the task's metrics next to a naive baseline, and the plots people look at
(confusion matrix or residuals, forecast trace, anomaly scores, feature importance and SHAP values
taken from the booster itself)."""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib

if matplotlib.get_backend().lower() not in ("module://matplotlib_inline.backend_inline", "inline"):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import confusion_matrix, precision_recall_curve  # noqa: E402

from . import alarms, boosters, metrics, splits  # noqa: E402
from .intervals import coverage as interval_coverage  # noqa: E402
from .cards import Card  # noqa: E402
from .model import StandardModel  # noqa: E402
from .plotting import korean_fonts  # noqa: E402
from .tuning import TestSet, TuneResult  # noqa: E402

korean_fonts()  # SHAP and importance plots name Korean columns of KAMP files


@dataclass
class Report:
    card: Card
    metrics: dict[str, float]
    baseline: dict[str, float]
    predictions: pd.DataFrame
    figures: dict[str, plt.Figure] = field(default_factory=dict)
    data_notes: list[str] = field(default_factory=list)  # what the file decided: absent columns, split, values set missing
    counts: dict[str, int] = field(default_factory=dict)  # test_rows, and test_positives for binary/anomaly cards
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)  # test_<metric>: bootstrap 90 % interval
    interval_block: int = 1  # the intervals drew the test rows in runs of this many, in time order (time splits)
    interval_groups: int = 0  # the intervals drew whole groups (group splits), of this many in the test part
    untrusted: dict[str, str] = field(default_factory=dict)  # test_<metric>: why it cannot be trusted
    # what the plant decides with: the alarm threshold and its cost per row (binary cards with costs), or
    # how often the prediction interval held the truth and how wide it was (regression, RUL, forecast)
    decisions: dict[str, float] = field(default_factory=dict)

    @property
    def trusted(self) -> bool:
        """Can the primary metric decide a promotion?"""
        return f"test_{self.primary}" not in self.untrusted

    @property
    def primary(self) -> str:
        return self.card.metric.primary

    @property
    def value(self) -> float:
        return self.metrics[f"test_{self.primary}"]

    @property
    def passed(self) -> bool:
        return metrics.better(self.card.task, self.primary, self.value, self.card.metric.accept)

    def table(self) -> pd.DataFrame:
        """Every test metric beside the baseline's, the card's primary metric first."""
        names = sorted(metrics.for_task(self.card.task), key=lambda n: n != self.primary)
        return pd.DataFrame({"model": [self.metrics.get(f"test_{n}") for n in names],
                             "baseline": [self.baseline.get(f"baseline_{n}") for n in names]}, index=names)

    def summary(self) -> str:
        """What the notebook prints and the run's description leads with: the primary metric beside its
        acceptance threshold and the naive baseline, then why accuracy may sit below the baseline."""
        text = headline(self.card, self.metrics, self.baseline, self.intervals)
        note = accuracy_note(self.card, self.metrics, self.baseline)
        if note:
            text += f"\n{note}"
        if self.counts:
            text += "\ntest: " + ", ".join(f"{v} {k.removeprefix('test_').replace('_', ' ')}"
                                           for k, v in self.counts.items())
        if self.interval_block > 1 or self.interval_groups:
            from .messages import say

            text += "\n" + (say("run_interval_runs", "en", block=self.interval_block) if self.interval_block > 1 else
                            say("run_interval_groups", "en", groups=self.interval_groups, unit=self.card.group.column))
        for name, why in self.untrusted.items():
            text += f"\n{name} cannot be trusted: {why}"
        d = self.decisions
        if "test_expected_cost" in d:
            unit = f" {self.card.costs.unit}" if self.card.costs and self.card.costs.unit else ""
            text += (f"\nalarm threshold {d['decision_threshold']:.3f} chosen for the costs on the training folds: "
                     f"{d['test_expected_cost']:.3f}{unit} per test row, against {d['test_cost_at_0.5']:.3f} at 0.5 "
                     f"and {d['test_cost_never_alarm']:.3f} never alarming")
        if "test_alarm_rate" in d:
            from .messages import say

            text += "\n" + say("run_alarm_rate", "en", threshold=d["decision_threshold"], rate=d["test_alarm_rate"])
        if "test_interval_coverage" in d:
            text += (f"\n{self.card.target.column} {d['interval_level']:.0%} prediction interval: held the truth in "
                     f"{d['test_interval_coverage']:.1%} of the test rows, {d['test_interval_width']:.3g} wide on average")
        if self.data_notes:
            text += "\nWhat the data decided:\n" + "\n".join(f"  - {n}" for n in self.data_notes)
        return text


def _metric_values(task: str, y: np.ndarray, score: np.ndarray, label: np.ndarray) -> dict[str, float]:
    out = {}
    for name, metric in metrics.for_task(task).items():
        if name == "roc_auc" and len(np.unique(y)) < 2:
            continue
        arg = score if metric.needs in ("score", "value") else label
        out[name] = metric.fn(y, arg)
    return out


METRIC_WORDS = {"average_precision": "average precision", "roc_auc": "ROC AUC", "rmse": "RMSE", "mae": "MAE",
                "r2": "R²", "mape": "MAPE (%)", "nasa_score": "NASA score", "macro_f1": "macro F1",
                "balanced_accuracy": "balanced accuracy", "f1": "F1"}
_BASELINE_WORDS = {"binary": "the defect rate as every score", "anomaly": "the fault rate as every score",
                   "multiclass": "always the most common class", "regression": "always the training mean",
                   "rul": "always the training mean", "forecast": "the last known value"}


def metric_words(name: str) -> str:
    """``average_precision`` -> ``average precision``: a metric as people say it."""
    return METRIC_WORDS.get(name, name.replace("_", " "))


def objective_words(card: Card) -> str:
    """What the tuning's ``best=`` is: the cross-validated figure Optuna maximises or minimises."""
    if card.anomaly:  # each signal predicted from the others: the residuals' error, not a labelled metric
        return "CV normalised RMSE of the signals (lower is better)"
    return f"CV {metric_words(card.metric.primary)}"


def headline(card: Card, values: dict, baseline: dict, intervals: dict | None = None, lang: str | None = "en") -> str:
    """One line: the card's primary metric on the test rows, its acceptance threshold and whether it passes,
    beside the naive baseline (``values``/``baseline``/``intervals`` keyed ``test_*``/``baseline_*``), in
    ``lang`` (MLflow's descriptions keep English)."""
    from .messages import say

    name = card.metric.primary
    value = values.get(f"test_{name}")
    if value is None:
        return say("run_headline_none", lang, card=card.id, metric=metric_words(name))
    passed = metrics.better(card.task, name, value, card.metric.accept)
    lo, hi = (intervals or {}).get(f"test_{name}", (None, None))
    interval = "" if lo is None or lo != lo else say("run_interval", lang, lo=lo, hi=hi)
    base = baseline.get(f"baseline_{name}")
    how = (_BASELINE_WORDS_KO if lang == "ko" else _BASELINE_WORDS).get(card.task, "naive")
    base_text = "" if base is None else say("run_baseline", lang, value=base, how=how)
    return say("run_headline", lang, card=card.id, metric=metric_words(name), value=value, interval=interval,
               verdict=say("run_passes" if passed else "run_fails", lang), sign="≥" if card.higher_is_better else "≤",
               accept=card.metric.accept, baseline=base_text)


_BASELINE_WORDS_KO = {"binary": "모든 점수를 불량률로", "anomaly": "모든 점수를 이상 비율로",
                      "multiclass": "늘 가장 흔한 부류", "regression": "늘 학습 평균", "rul": "늘 학습 평균",
                      "forecast": "마지막으로 알려진 값"}


def accuracy_note(card: Card, values: dict, baseline: dict, lang: str | None = "en") -> str | None:
    """Why accuracy sits below the majority-class baseline (None when it does not): on rare defects the
    baseline that never alarms is right most of the time, and the model's alarms cost accuracy."""
    acc, base = values.get("test_accuracy"), baseline.get("baseline_accuracy")
    if acc is None or base is None or acc >= base:
        return None
    from .messages import say

    primary = metric_words(card.metric.primary)
    if card.task == "multiclass":
        return say("accuracy_below_multiclass", lang, acc=acc, base=base, primary=primary)
    events = say(f"events_{card.problem if card.problem in ('maintenance', 'anomaly') else 'quality'}", lang)
    return say("accuracy_below_rare", lang, acc=acc, base=base, rate=1 - base, events=events, primary=primary)


def test_scores(card: Card, model: StandardModel, test: TestSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predict the test rows (with their history) and return ``(y, score, label)`` over scored rows."""
    raw = model.raw_scores(model.featurize(test.raw))[test.rows][test.scored]
    y = test.y[test.scored]
    if card.task == "multiclass":
        label = np.asarray(model.classes, dtype=object)[raw.argmax(axis=1)]
        return y, raw, label
    if card.task in ("binary", "anomaly"):
        return y.astype(int), raw, (raw >= model.threshold).astype(int)
    if card.task == "rul":
        raw = np.clip(raw, 0, None)
    return y.astype(float), raw, raw


def score(card: Card, model: StandardModel, test: TestSet) -> dict[str, float]:
    """``test_<metric>`` for a model on a test set: used for the challenger and, on the same rows,
    for the current champion."""
    y, s, label = test_scores(card, model, test)
    return {f"test_{k}": v for k, v in _metric_values(card.task, y, s, label).items()}


def baseline(card: Card, result: TuneResult) -> dict[str, float]:
    """Naive reference: prevalence/majority class, the training mean, or persistence (forecast; the
    seasonal naive forecast where the card gives ``forecast.season``)."""
    test = result.test
    y = test.y[test.scored]
    if card.task in ("binary", "anomaly"):
        s = np.full(len(y), float(np.nanmean(result.y_train)))
        label = np.zeros(len(y), dtype=int)
    elif card.task == "multiclass":
        majority = pd.Series(result.y_train).mode().iloc[0]
        label = np.full(len(y), result.model.classes[int(majority)], dtype=object)
        s = label
    elif card.task == "forecast":
        s = _naive_forecast(card, test.raw)[test.rows][test.scored]
        label = s
    else:
        s = np.full(len(y), float(np.nanmean(result.y_train)))
        label = s
    return {f"baseline_{k}": v for k, v in _metric_values(card.task, y.astype(float) if card.task not in
                                                           ("multiclass",) else y, s, label).items()}


def _naive_forecast(card: Card, raw: pd.DataFrame) -> np.ndarray:
    """Persistence (the value now), or with ``forecast.season`` the seasonal naive forecast: the
    target's value one season before the moment forecast (persistence where that is not known yet)."""
    now = raw[card.target.column].astype(float)
    back = (card.forecast.season or card.forecast.horizon) - card.forecast.horizon
    if not back:
        return now.to_numpy()
    earlier = now.groupby(raw[card.group.column], sort=False).shift(back) if card.group else now.shift(back)
    return earlier.fillna(now).to_numpy()


def evaluate(result: TuneResult, plots: bool = True, lang: str | None = None) -> Report:
    """The test rows scored once beside the naive baseline, with plots; ``lang="ko"`` (default: the
    ``WORKBENCH_LANG`` or locale, as ``workbench run --lang`` sets it) labels the plots' columns with the
    card's Korean names."""
    card, model, test = result.card, result.model, result.test
    y, s, label = test_scores(card, model, test)
    values = {f"test_{k}": v for k, v in _metric_values(card.task, y, s, label).items()}
    predictions = pd.DataFrame({"y_true": y, "prediction": label})
    if card.task != "multiclass":
        predictions["score"] = s
    counts = {"test_rows": int(len(y))}
    if card.task in ("binary", "anomaly"):
        counts["test_positives"] = int(np.sum(y == 1))
    intervals, untrusted = {}, {}
    order, block, groups = _resampling(card, test, len(y))
    for name, metric in metrics.for_task(card.task).items():
        if f"test_{name}" not in values:
            continue
        scored = s if metric.needs in ("score", "value") else label
        intervals[f"test_{name}"] = metrics.interval(metric, y[order], scored[order], seed=result.seed, block=block,
                                                     groups=groups)
        why = metrics.untrusted(card.task, name, y)
        if why:
            untrusted[f"test_{name}"] = why
    decisions = {}
    if card.task == "binary" and card.costs is not None:
        decisions = alarms.test_costs(y, s, model.threshold, card.costs)
    if card.task == "anomaly" and not result.y_train.any() and model.threshold is not None:
        # no fault marked (the plant's own unlabelled history): how often it would alarm is what a test can say
        decisions = {"decision_threshold": float(model.threshold), "test_alarm_rate": float(np.mean(label == 1))}
    if model.conformal is not None:
        lower, upper = model.conformal.bounds(s, model.interval_level)
        predictions["lower"], predictions["upper"] = lower, upper
        decisions = {"interval_level": model.interval_level, **interval_coverage(y, lower, upper)}
    report = Report(card=card, metrics=values, baseline=baseline(card, result), predictions=predictions,
                    data_notes=result.data.notes_text(), counts=counts, intervals=intervals, interval_block=block,
                    interval_groups=0 if groups is None else int(pd.Series(groups).nunique(dropna=False)),
                    untrusted=untrusted,
                    decisions=decisions)
    if plots:
        report.figures = figures(result, report, lang=lang)
    return report


def _resampling(card: Card, test: TestSet, rows: int) -> tuple[np.ndarray, int, np.ndarray | None]:
    """How the scored test rows are resampled for their intervals: their order, the run length and the
    groups. A time split's rows in time order, drawn in runs (metrics.block_length); a group split's whole
    groups where a group holds several scored rows (an engine's cycles, a batch's parts); any other
    split's rows one by one."""
    scored = test.raw.iloc[test.rows[test.scored]]
    if card.split.kind == "time":
        return splits.time_order(card, scored), metrics.block_length(rows), None
    if card.split.kind == "group" and card.group and card.group.column in scored.columns:
        groups = scored[card.group.column].to_numpy()
        if pd.Series(groups).nunique(dropna=False) < rows:  # one scored row per group: rows are groups
            return np.arange(rows), 1, groups
    return np.arange(rows), 1, None


# --- plots --------------------------------------------------------------------------------------------

def figures(result: TuneResult, report: Report, lang: str | None = None) -> dict[str, plt.Figure]:
    from .settings import language

    korean_fonts()  # again: a cell or a library may have reset matplotlib's fonts since the import
    card = result.card
    lang = lang if lang in ("ko", "en") else language()
    out: dict[str, plt.Figure] = {}
    p = report.predictions
    if card.task in ("binary", "multiclass", "anomaly"):
        out["confusion_matrix"] = _confusion(p["y_true"], p["prediction"], card, result.model.classes, lang)
    if card.task in ("binary", "anomaly"):
        out["precision_recall"] = _pr_curve(p["y_true"], p["score"], report)
    if "test_expected_cost" in report.decisions:
        out["cost_curve"] = _cost_curve(result, report)
    if card.task in ("regression", "rul", "forecast"):
        out["residuals"] = _residuals(p["y_true"], p["score"], card)
    if "lower" in p:
        out["interval_coverage"] = _interval_plot(p, report)
    if card.task == "forecast":
        out["forecast"] = _forecast_trace(p["y_true"], p["score"], card)
    if card.task == "anomaly":
        out["anomaly_scores"] = _anomaly_trace(p["y_true"], p["score"], result.model.threshold)
    out["feature_importance"] = _importance(result.model, card=card, lang=lang)
    out["shap_summary"] = _shap_summary(result, lang=lang)
    for fig in out.values():  # shown where a notebook displays them, not a second time by the inline backend
        plt.close(fig)
    return out


def class_labels(card: Card, classes: list, lang: str = "en") -> dict[str, str]:
    """How the confusion matrix names each class: a binary card's 0/1 as the labels its data uses, the
    positive one marked (``N (defect)``); multiclass labels as they are."""
    if card.task not in ("binary", "anomaly"):
        return {}
    word = {"ko": {"maintenance": "고장", "anomaly": "이상"}.get(card.problem, "불량"),
            "en": {"maintenance": "failure", "anomaly": "fault"}.get(card.problem, "defect")}[lang]
    negative, positive = classes if len(classes) == 2 else ("정상" if lang == "ko" else "normal", card.target.positive)
    return {"0": str(negative), "1": f"{positive} ({word})"}


def _confusion(y, pred, card: Card, classes: list | None = None, lang: str = "en") -> plt.Figure:
    """Counts with each row's share (of the actual class), sized from the number of classes, the title on
    lines of its own so that it is never cut."""
    codes = sorted(pd.unique(pd.concat([pd.Series(y), pd.Series(pred)]).astype(str)))
    if card.task in ("binary", "anomaly"):
        codes = ["0", "1"]  # both rows even when the test rows or the predictions hold one class only
    cm = confusion_matrix(pd.Series(y).astype(str), pd.Series(pred).astype(str), labels=codes)
    names = class_labels(card, list(classes or []), lang)
    labels = [names.get(c, c) for c in codes]
    n = len(codes)
    side = max(4.2, 1.9 + 0.75 * n)
    fig, ax = plt.subplots(figsize=(side + 0.8, side))
    ax.imshow(cm, cmap="Blues")
    shares = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    small = n > 8
    for (i, j), v in np.ndenumerate(cm):
        text = str(v) if small else f"{v}\n{shares[i, j]:.0%}"
        ax.text(j, i, text, ha="center", va="center", fontsize=8 if small else 10,
                color="white" if v > cm.max() / 2 else "black")
    ax.set_xticks(range(n), labels, rotation=30 if max(map(len, labels)) > 6 else 0, ha="right" if max(map(len, labels)) > 6 else "center")
    ax.set_yticks(range(n), labels)
    target = (card.target.ko if lang == "ko" and card.target.ko else card.target.column)
    ax.set_xlabel(f"{'예측' if lang == 'ko' else 'predicted'} {target}")
    ax.set_ylabel(f"{'실제' if lang == 'ko' else 'actual'} {target}")
    name = card.name.ko if lang == "ko" else card.name.en
    ax.set_title(f"{name}\n{'혼동 행렬 (시험 데이터; 비율: 실제 클래스별)' if lang == 'ko' else 'confusion matrix, test rows (share of each actual class)'}",
                 fontsize=10, wrap=True)
    fig.tight_layout()
    return fig


def _pr_curve(y, s, report: Report) -> plt.Figure:
    precision, recall, _ = precision_recall_curve(y, s)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(recall, precision, label=f"model (AP {report.metrics.get('test_average_precision', float('nan')):.3f})")
    ax.axhline(np.mean(y), color="grey", linestyle="--", label=f"baseline (prevalence {np.mean(y):.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("precision-recall on the test split")
    ax.legend()
    fig.tight_layout()
    return fig


def _cost_curve(result: TuneResult, report: Report) -> plt.Figure:
    """Expected cost per row against the threshold: on the training folds (where it was chosen) and on
    the test rows, with the chosen threshold, 0.5 and never alarming marked."""
    costs, d = result.card.costs, report.decisions
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, y, s in (("training folds (chooses)", result.y_train, result.oof),
                       ("test rows", report.predictions["y_true"].to_numpy(), report.predictions["score"].to_numpy())):
        found = alarms.curve(y, s, costs)
        ax.step(found.thresholds[:-1], found.per_row[:-1], where="post", label=name)
    ax.axvline(d["decision_threshold"], color="black", linestyle="--",
               label=f"chosen {d['decision_threshold']:.3f}: {d['test_expected_cost']:.3f} per test row")
    ax.axvline(0.5, color="grey", linestyle=":", label=f"0.5: {d['test_cost_at_0.5']:.3f}")
    ax.axhline(d["test_cost_never_alarm"], color="red", linestyle=":",
               label=f"never alarm: {d['test_cost_never_alarm']:.3f}")
    unit = f" [{costs.unit}]" if costs.unit else ""
    ax.set_xlabel("alarm threshold (probability of a defect)")
    ax.set_ylabel(f"expected cost per row{unit}")
    ax.set_title(f"cost of the alarm decision (false alarm {costs.false_alarm:g} : missed {costs.missed:g})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _interval_plot(p: pd.DataFrame, report: Report, points: int = 300) -> plt.Figure:
    """The test rows sorted by prediction, their intervals as a band and the truths as dots: red where
    the truth fell outside."""
    d = report.decisions
    part = p.sort_values("score").iloc[np.linspace(0, len(p) - 1, min(points, len(p))).astype(int)]
    x = np.arange(len(part))
    outside = (part["y_true"] < part["lower"]) | (part["y_true"] > part["upper"])
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.fill_between(x, part["lower"], part["upper"], color="C0", alpha=0.25,
                    label=f"{d['interval_level']:.0%} interval")
    ax.plot(x, part["score"], color="C0", linewidth=1, label="prediction")
    ax.scatter(x[~outside], part["y_true"][~outside], s=6, color="black", label="actual")
    ax.scatter(x[outside], part["y_true"][outside], s=10, color="red", label="actual, outside")
    ax.set_xlabel("test rows, sorted by prediction")
    unit = f" [{report.card.target.unit}]" if report.card.target.unit else ""
    ax.set_ylabel(f"{report.card.target.column}{unit}")
    ax.set_title(f"prediction intervals on the test rows: coverage {d['test_interval_coverage']:.1%}, "
                 f"mean width {d['test_interval_width']:.3g}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _residuals(y, s, card: Card) -> plt.Figure:
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.scatter(y, s, s=6, alpha=0.4)
    lo, hi = float(np.nanmin([y.min(), s.min()])), float(np.nanmax([y.max(), s.max()]))
    a.plot([lo, hi], [lo, hi], color="black", linewidth=1)
    unit = f" [{card.target.unit}]" if card.target.unit else ""
    a.set_xlabel(f"actual {card.target.column}{unit}")
    a.set_ylabel("predicted")
    a.set_title("predicted vs actual (test)")
    b.hist(np.asarray(s) - np.asarray(y), bins=40)
    b.set_xlabel(f"residual (predicted - actual){unit}")
    b.set_title("residuals")
    fig.tight_layout()
    return fig


def _forecast_trace(y, s, card: Card, points: int = 96 * 7) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(11, 3.5))
    ax.plot(np.asarray(y)[-points:], label="actual", linewidth=1)
    ax.plot(np.asarray(s)[-points:], label="forecast", linewidth=1)
    ax.set_title(f"last {min(points, len(y))} test steps: {card.target.column}, {card.forecast.horizon} step(s) ahead")
    ax.legend()
    fig.tight_layout()
    return fig


def _anomaly_trace(y, s, threshold: float) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(11, 3.5))
    x = np.arange(len(s))
    ax.plot(x, s, linewidth=0.6, label="anomaly score")
    ax.scatter(x[np.asarray(y) == 1], np.asarray(s)[np.asarray(y) == 1], color="red", s=8, label="labelled fault")
    ax.axhline(threshold, color="black", linestyle="--", label="threshold")
    ax.set_title("anomaly score over the test period")
    ax.legend()
    fig.tight_layout()
    return fig


def _first_booster(model: StandardModel):
    name = "target" if "target" in model.boosters else next(iter(model.boosters))
    names = model.feature_names if name == "target" else model.signal_features[name]
    return name, model.boosters[name], names


def display_names(card: Card, names, lang: str = "en") -> list[str]:
    """Feature names as a plot shows them: with ``lang="ko"`` a card column becomes its Korean name, and a
    feature built from one keeps its suffix (``Cycle_Time_mean20`` -> ``사이클 시간_mean20``)."""
    names = [str(n) for n in names]
    if lang != "ko":
        return names
    korean = {c.name: c.ko for c in card.columns if c.ko}
    if card.target.ko:
        korean[card.target.column] = card.target.ko
    longest_first = sorted(korean, key=len, reverse=True)
    out = []
    for n in names:
        if n in korean:
            out.append(korean[n])
            continue
        base = next((c for c in longest_first if n.startswith(f"{c}_")), None)
        out.append(f"{korean[base]}{n[len(base):]}" if base else n)
    return out


def _importance(model: StandardModel, top: int = 20, card: Card | None = None, lang: str = "en") -> plt.Figure:
    name, booster, names = _first_booster(model)
    gain = boosters.importance(model.kind, booster, names).sort_values().tail(top)
    fig, ax = plt.subplots(figsize=(7.5, 0.3 * len(gain) + 1.2))
    ax.barh(display_names(card, gain.index, lang) if card else list(gain.index), gain.to_numpy())
    of = "" if name == "target" else (f", {name} 모델" if lang == "ko" else f", model of {name}")
    ax.set_title(f"특성 중요도 (총 이득{of})" if lang == "ko" else f"feature importance (total gain{of})")
    fig.tight_layout()
    return fig


def shap_values(result: TuneResult, rows: int = 2000) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SHAP values (TreeSHAP from the booster) for up to ``rows`` test rows: ``(values, inputs)``;
    multiclass gives mean |SHAP| over classes."""
    model = result.model
    name, booster, names = _first_booster(model)
    frame = model.featurize(result.test.raw).iloc[result.test.rows]
    frame = frame.sample(min(rows, len(frame)), random_state=0) if len(frame) > rows else frame
    X = model.design(frame, names)
    contrib = boosters.contributions(model.kind, booster, X)
    if contrib.ndim == 3:
        contrib = np.abs(contrib).mean(axis=1)
    elif contrib.shape[1] != len(names) + 1:
        contrib = np.abs(contrib.reshape(len(X), -1, len(names) + 1)).mean(axis=1)
    return pd.DataFrame(contrib[:, :-1], columns=names), frame[names].reset_index(drop=True)


def _shap_summary(result: TuneResult, top: int = 12, lang: str = "en") -> plt.Figure:
    values, inputs = shap_values(result)
    order = values.abs().mean().sort_values(ascending=False).index[:top][::-1]
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(order) + 1.5))
    rng = np.random.default_rng(0)
    for i, col in enumerate(order):
        x = inputs[col]
        colour = pd.to_numeric(x, errors="coerce") if pd.api.types.is_numeric_dtype(x) else x.astype("category").cat.codes
        colour = (colour - np.nanmin(colour)) / ((np.nanmax(colour) - np.nanmin(colour)) or 1)
        ax.scatter(values[col], i + rng.uniform(-0.25, 0.25, len(values)), c=colour, cmap="coolwarm", s=5, alpha=0.6)
    ax.set_yticks(range(len(order)), display_names(result.card, order, lang))
    ax.axvline(0, color="grey", linewidth=0.8)
    if lang == "ko":
        ax.set_xlabel("SHAP 값 (모델 출력에 미치는 영향); 색: 특성 값 낮음(파랑) ~ 높음(빨강)")
        ax.set_title("SHAP 요약 (시험 데이터)")
    else:
        ax.set_xlabel("SHAP value (impact on the model output); colour: feature value low (blue) to high (red)")
        ax.set_title("SHAP summary (test rows)")
    fig.tight_layout()
    return fig

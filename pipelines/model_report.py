"""One page per registered model version, for a plant manager who never opens MLflow.

``gather`` reads everything from the version's MLflow run (the card as trained, test metrics with their
90 % intervals beside the naive baseline and the acceptance threshold, the alarm costs or prediction
intervals when the run has them, the data notes, SHAP and importance plots, the drift profile, the
promotion decision); ``render`` makes one self-contained HTML page of it in Korean or English: images
embedded as base64, and the Hangul it shows in a subset of a CJK font embedded as a web font, so the
page reads the same on a PC without Korean fonts. ``log_report`` logs ``report.html`` (English) and
``report_ko.html`` into a run once it is registered; ``workbench report`` writes one for any version.
"""

from __future__ import annotations

import base64
import io
import logging
import re
from datetime import datetime, timezone
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from . import drift

_templates = Environment(loader=PackageLoader("pipelines", "templates"), autoescape=select_autoescape(["j2"]),
                         trim_blocks=True, lstrip_blocks=True)

REPORT, REPORT_KO = "report.html", "report_ko.html"
PLOTS = {  # artifact: what it shows, in the order the page shows them
    "plots/cost_curve.png": "cost", "plots/interval_coverage.png": "interval",
    "plots/shap_summary.png": "shap", "plots/feature_importance.png": "importance",
    "plots/confusion_matrix.png": "result", "plots/residuals.png": "result", "plots/precision_recall.png": "result",
}

LABELS = {
    "en": {
        "title": "Model report", "version": "version", "for": "What the model is for", "equipment": "Equipment",
        "process": "Process", "task": "Task", "target": "Predicts", "positive": "alarm on",
        "result": "How good it is (test rows it never saw)", "metric": "metric", "model": "model",
        "interval": "90 % interval", "baseline": "naive baseline", "accept": "acceptance", "passes": "passes",
        "misses": "misses", "other_metrics": "Other test figures", "decision": "Alarm threshold and costs",
        "threshold": "alarm threshold (chosen on the training folds)", "cost_model": "expected cost per test row, this threshold",
        "cost_half": "at threshold 0.5", "cost_never": "never alarming", "intervals": "Prediction intervals",
        "coverage": "share of test rows inside their interval", "width": "mean interval width",
        "level": "level", "data": "The data it was trained on", "source": "source", "rows": "rows",
        "rows_fit": "rows the registered model was fitted on", "period": "period", "split": "test split",
        "test_rows": "test rows", "absent": "card columns not in the file", "set_missing": "values set missing",
        "notes": "what the data decided", "drivers": "What drives its predictions",
        "shap": "SHAP values: each dot a test row, right = pushes the prediction up",
        "importance": "feature importance", "drift": "Reference for drift checks",
        "drift_intro": "New data is compared with these training inputs by `workbench drift`, after `predict`, "
                       "by the server and in the nightly validation.",
        "column": "input", "kind": "kind", "typical": "typical values (5 % / median / 95 %)", "missing": "missing",
        "limits": "Known limits", "no_limits": "none found", "champion": "Champion decision", "aliases": "aliases",
        "reason": "why", "promotion": "registry note", "footer": "made", "run": "MLflow run", "git": "code",
        "none": "none", "not_registered": "a validation run: compared with the champion, never registered",
        "simulated": "trained on simulated reference data, not a plant's own file: retrain on your data before use",
        "untrusted": "cannot be trusted",
        "recency": "recent rows weigh more: a row's weight halves every {share:.0%} of the rows after it",
        "fallback": "the card's {card} split was not possible; split {used} instead",
        "refit": "tested with the model fitted on the training part ({test} rows); the registered model is refit "
                 "on all {all} rows",
        "few_rows": "only {n} test rows: the interval is wide", "drift_ref_missing": "no drift profile in this run",
        "history": "{n} of {total} features need the earlier rows of the same unit ({names}): a request of one row "
                   "is scored as if it were its unit's first row, so send the recent history with the row, or "
                   "serve with --remember (it keeps the last {kept} rows of each unit)",
    },
    "ko": {
        "title": "모델 보고서", "version": "버전", "for": "이 모델의 용도", "equipment": "설비", "process": "공정",
        "task": "과제", "target": "예측 대상", "positive": "경보 대상",
        "result": "성능 (학습에 쓰지 않은 시험 데이터)", "metric": "지표", "model": "모델", "interval": "90 % 구간",
        "baseline": "단순 기준", "accept": "합격 기준", "passes": "합격", "misses": "불합격",
        "other_metrics": "다른 시험 지표", "decision": "경보 기준과 비용",
        "threshold": "경보 기준 (학습 데이터의 교차 검증으로 선택)", "cost_model": "시험 행당 기대 비용, 이 기준",
        "cost_half": "기준 0.5일 때", "cost_never": "경보를 전혀 안 할 때", "intervals": "예측 구간",
        "coverage": "구간 안에 든 시험 행의 비율", "width": "평균 구간 폭", "level": "수준",
        "data": "학습 데이터", "source": "출처", "rows": "행 수", "rows_fit": "등록된 모델이 학습한 행",
        "period": "기간", "split": "시험 분할", "test_rows": "시험 행", "absent": "파일에 없던 카드 열",
        "set_missing": "빈 값으로 바꾼 값", "notes": "데이터에 따른 결정", "drivers": "예측을 움직이는 요인",
        "shap": "SHAP 값: 점 하나가 시험 행 하나, 오른쪽 = 예측을 높임", "importance": "특징 중요도",
        "drift": "데이터 변화 확인의 기준",
        "drift_intro": "새 데이터는 `workbench drift`, `predict` 후, 서버, 야간 검증에서 이 학습 입력과 비교됩니다.",
        "column": "입력", "kind": "종류", "typical": "대표 값 (5 % / 중앙값 / 95 %)", "missing": "빈 값",
        "limits": "알려진 한계", "no_limits": "발견되지 않음", "champion": "챔피언 결정", "aliases": "별칭",
        "reason": "이유", "promotion": "등록 기록", "footer": "작성", "run": "MLflow 실행", "git": "코드",
        "none": "없음", "not_registered": "검증 실행: 챔피언과 비교만 하고 등록하지 않음",
        "simulated": "공장 파일이 아닌 모의(시뮬레이터) 기준 데이터로 학습했습니다: 쓰기 전에 공장 데이터로 다시 학습하세요",
        "untrusted": "신뢰할 수 없음",
        "recency": "최근 행일수록 가중치가 큽니다: 뒤에 오는 행이 전체의 {share:.0%}만큼 쌓일 때마다 가중치가 절반으로 줄어듭니다",
        "fallback": "카드의 {card} 분할을 할 수 없어 {used} 분할을 썼습니다",
        "refit": "학습 부분({test}행)으로 학습한 모델로 시험했고, 등록된 모델은 전체 {all}행으로 다시 학습했습니다",
        "few_rows": "시험 행이 {n}개뿐이라 구간이 넓습니다", "drift_ref_missing": "이 실행에는 변화 기준 프로파일이 없습니다",
        "history": "특징 {total}개 중 {n}개는 같은 단위의 이전 행이 있어야 합니다 ({names}): 한 행만 보내면 그 단위의 "
                   "첫 행처럼 계산되므로, 최근 이력을 함께 보내거나 --remember 로 서빙하세요 (단위마다 최근 {kept}행을 기억)",
    },
}


# --- what the page says, from MLflow ----------------------------------------------------------------

def resolve(card_id: str, version: int | None = None, alias: str = "champion"):
    """The registered version a command means (a WorkbenchError that says what to run otherwise)."""
    from . import registry, tracking

    tracking.configure()
    return registry.resolve(card_id, alias, version)


def gather(run_id: str, version=None) -> dict:
    """Everything the page shows, from the run (and the registered ``version`` when there is one)."""
    import os

    saved = os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"  # a page, not a terminal's worth of bars
    try:
        return _gather(run_id, version)
    finally:
        if saved is None:
            os.environ.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)
        else:
            os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = saved


def _gather(run_id: str, version=None) -> dict:
    from mlflow.tracking import MlflowClient

    from . import cards, registry

    client = MlflowClient()
    run = client.get_run(run_id)
    tags, metrics, params = run.data.tags, run.data.metrics, run.data.params
    card_id = tags.get("card.id")
    card = _run_card(run_id, card_id) or cards.load_card(card_id)
    artifacts = _artifact_paths(client, run_id)
    facts = {"card": card, "run_id": run_id, "tags": tags, "metrics": metrics, "params": params,
             "version": None, "aliases": [], "promotion": None, "created": None,
             "profile": drift.load_profile(run_id) if drift.PROFILE_PATH in artifacts else None,
             "notes": _load_json(run_id, "data/notes.json") if "data/notes.json" in artifacts else None,
             "plots": {p: _read_artifact(run_id, p) for p in PLOTS if p in artifacts}}
    number = version.version if version is not None else tags.get("registry.version")
    if number is not None:
        name = registry.model_name(card.id, tags.get(registry.SITE_TAG))  # a site's file: <card>.<site>
        mv = version if version is not None else client.get_model_version(name, str(number))
        facts["version"] = int(mv.version)
        facts["aliases"] = sorted(a for a, v in client.get_registered_model(name).aliases.items()
                                  if int(v) == int(mv.version))
        facts["promotion"] = (mv.tags or {}).get("promotion")
        facts["created"] = mv.creation_timestamp
    return facts


def _run_card(run_id: str, card_id: str | None):
    """The card as the run was trained with (its artifact), or None when it is missing or no longer
    parses; the catalog's card stands in then."""
    import mlflow

    from . import cards
    from .errors import WorkbenchError

    if not card_id:
        return None
    try:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=f"card/{card_id}.yaml")
        return cards.load_card(Path(path))
    except (WorkbenchError, OSError, Exception):  # noqa: BLE001 - an older run: the catalog's card stands in
        return None


def _artifact_paths(client, run_id: str, path: str | None = None) -> set[str]:
    found = set()
    for item in client.list_artifacts(run_id, path):
        if item.is_dir:
            if item.path.split("/")[0] in ("plots", "data", "drift", "card"):
                found |= _artifact_paths(client, run_id, item.path)
        else:
            found.add(item.path)
    return found


def _read_artifact(run_id: str, path: str) -> bytes:
    import mlflow

    return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path)).read_bytes()


def _load_json(run_id: str, path: str):
    import json

    return json.loads(_read_artifact(run_id, path))


# --- the page -----------------------------------------------------------------------------------------

def _fmt(value, digits: int = 4) -> str:
    if value is None or value != value:
        return "–"
    return f"{value:.{digits}g}"


def _view(facts: dict, lang: str) -> dict:
    """The facts worded for the template (numbers formatted, notes in ``lang``, limits listed)."""
    card, tags, metrics, params = facts["card"], facts["tags"], facts["metrics"], facts["params"]
    words = LABELS[lang]
    primary = card.metric.primary
    value = metrics.get(f"test_{primary}")
    passes = None
    if value is not None:
        passes = value >= card.metric.accept if card.higher_is_better else value <= card.metric.accept
    main = {"name": primary, "value": _fmt(value), "low": _fmt(metrics.get(f"test_{primary}.ci90_low")),
            "high": _fmt(metrics.get(f"test_{primary}.ci90_high")), "baseline": _fmt(metrics.get(f"baseline_{primary}")),
            "accept": f"{'≥' if card.higher_is_better else '≤'} {card.metric.accept:g}", "passes": passes,
            "why": card.metric.why}
    others = []
    for key in sorted(metrics):
        name = key.removeprefix("test_")
        if key.startswith("test_") and "." not in key and name != primary and f"baseline_{name}" in metrics:
            others.append({"name": name, "value": _fmt(metrics[key]), "low": _fmt(metrics.get(f"{key}.ci90_low")),
                           "high": _fmt(metrics.get(f"{key}.ci90_high")), "baseline": _fmt(metrics[f"baseline_{name}"])})
    cost = None
    if "decision_threshold" in metrics and "test_expected_cost" in metrics:
        unit = card.costs.unit if card.costs is not None else ""
        cost = {"threshold": _fmt(metrics["decision_threshold"], 3), "model": _fmt(metrics["test_expected_cost"]),
                "half": _fmt(metrics.get("test_cost_at_0.5")), "never": _fmt(metrics.get("test_cost_never_alarm")),
                "unit": unit or "", "costs": card.costs}
    interval = None
    if "test_interval_coverage" in metrics:
        interval = {"coverage": f"{metrics['test_interval_coverage']:.1%}", "width": _fmt(metrics.get("test_interval_width")),
                    "level": f"{metrics.get('interval_level', 0.9):.0%}", "unit": card.target.unit or ""}
    notes = facts["notes"] or {}
    data_facts = notes.get("facts") or {}
    profile = facts["profile"] or {}
    period = None
    if profile.get("period"):
        period = f"{profile['period']['first'][:16]} – {profile['period']['last'][:16]}"
    elif (data_facts.get("time") or {}).get("first"):
        period = f"{data_facts['time']['first'][:16]} – {data_facts['time']['last'][:16]}"
    set_missing = {k.removeprefix("data.out_of_range."): int(v) for k, v in metrics.items()
                   if k.startswith("data.out_of_range.") and v}
    split = tags.get("split.kind", card.split.kind)
    data = {"source": tags.get("data.source", "–"), "rows": params.get("data.rows", "–"),
            "rows_fit": params.get("model.rows_fit", "–"), "period": period or "–",
            "split": f"{split}" + (f", {float(tags['split.test_share']):.0%}" if tags.get("split.test_share") else "")
                     + (f"; {words['recency'].format(share=float(tags['split.recency_half_life']))}"
                        if tags.get("split.recency_half_life") else ""),
            "test_rows": _fmt(metrics.get("test_rows"), 6), "absent": tags.get("data.absent_columns") or words["none"],
            "set_missing": ", ".join(f"{k} {v}" for k, v in set_missing.items()) or words["none"],
            "notes": (notes.get("text") or {}).get(lang, []), "sha": tags.get("data.sha256", "")[:12]}
    limits = []
    if tags.get("test.untrusted"):
        limits.append(f"{words['untrusted']}: {tags['test.untrusted']}")
    if tags.get("split.fallback") or tags.get("split.card_kind"):
        limits.append(words["fallback"].format(card=tags.get("split.card_kind", card.split.kind), used=split))
    if tags.get("data.absent_columns"):
        limits.append(f"{words['absent']}: {tags['data.absent_columns']}")
    if tags.get("data.source", "").startswith("simulator"):
        limits.append(words["simulated"])
    if tags.get("model.refit") == "all_rows":
        limits.append(words["refit"].format(test=params.get("model.rows_test_fit", "?"), all=params.get("model.rows_fit", "?")))
    if tags.get("model.history_features"):
        names = tags["model.history_features"].split(", ")
        shown = ", ".join(names[:8]) + (", …" if len(names) > 8 else "")
        limits.append(words["history"].format(n=params.get("features.need_history", len(names)),
                                             total=params.get("features.count", "?"), names=shown,
                                             kept=tags.get("model.history_rows", "?")))
    if metrics.get("test_rows") is not None and metrics["test_rows"] < 200:
        limits.append(words["few_rows"].format(n=int(metrics["test_rows"])))
    if facts["version"] is None:
        limits.append(words["not_registered"])
    aliases = {c.name: c.ko for c in card.columns}
    drift_rows = []
    for name, ref in (profile.get("columns") or {}).items():
        shown = f"{name} ({aliases[name]})" if lang == "ko" and aliases.get(name) else name
        share = ref["missing"] / max(ref["rows"], 1)
        if ref["kind"] == "numeric" and ref.get("quantiles"):
            q = ref["quantiles"]
            typical = f"{_fmt(q['5'])} / {_fmt(q['50'])} / {_fmt(q['95'])}"
        elif ref["kind"] == "numeric":
            typical = "–"
        else:
            filled = max(sum(ref["counts"].values()), 1)
            top = sorted(ref["counts"].items(), key=lambda kv: -kv[1])[:4]
            typical = ", ".join(f"{k} {v / filled:.0%}" for k, v in top)
        drift_rows.append({"name": shown, "kind": ref["kind"], "typical": typical, "missing": f"{share:.1%}"})
    images = {kind: [] for kind in set(PLOTS.values())}
    for path, raw in facts["plots"].items():
        images[PLOTS[path]].append({"name": Path(path).stem.replace("_", " "),
                                    "src": "data:image/png;base64," + base64.b64encode(raw).decode("ascii")})
    name = card.name.ko if lang == "ko" else card.name.en
    summary = card.summary and (card.summary.ko if lang == "ko" else card.summary.en)
    target = card.target.column + (f" ({card.target.ko})" if lang == "ko" and card.target.ko else "") + \
        (f", {card.target.unit}" if card.target.unit else "")
    created = facts["created"] and datetime.fromtimestamp(facts["created"] / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return {"w": words, "lang": lang, "card": card, "name": name, "summary": summary, "target": target,
            "equipment": card.equipment.ko if lang == "ko" else card.equipment.en,
            "process": card.process and (card.process.ko if lang == "ko" else card.process.en),
            "version": facts["version"], "aliases": facts["aliases"], "created": created, "main": main,
            "others": others, "cost": cost, "interval": interval, "data": data, "limits": limits,
            "drift_rows": drift_rows, "drift_rows_total": profile.get("rows"), "images": images,
            "promotion": facts["promotion"], "reason": tags.get("registry.reason"),
            "promoted": tags.get("registry.promoted"), "run_id": facts["run_id"], "git": tags.get("git.sha", "")[:10],
            "made": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def render(facts: dict, lang: str = "en") -> str:
    """The page in ``lang`` (ko | en), with the CJK font it needs embedded when this machine has one."""
    view = _view(facts, lang if lang in LABELS else "en")
    html = _templates.get_template("model_report.html.j2").render(**view)
    face = font_face(re.sub(r"(?s)<style>.*?</style>", " ", html))
    return html.replace("/*FONT-FACE*/", face, 1) if face else html


def write(card_id: str, output: str | Path, version: int | None = None, alias: str = "champion",
          lang: str = "en") -> Path:
    """``workbench report``: the page of a registered version (or the alias's), written to ``output``."""
    mv = resolve(card_id, version, alias)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(gather(mv.run_id, mv), lang), encoding="utf-8")
    return output


def log_report(run_id: str) -> None:
    """Log ``report.html`` (English) and ``report_ko.html`` into a finished training run."""
    import tempfile

    from mlflow.tracking import MlflowClient

    facts = gather(run_id)
    with tempfile.TemporaryDirectory() as tmp:
        for name, lang in ((REPORT, "en"), (REPORT_KO, "ko")):
            (Path(tmp) / name).write_text(render(facts, lang), encoding="utf-8")
            MlflowClient().log_artifact(run_id, str(Path(tmp) / name))


# --- a Korean font inside the page ------------------------------------------------------------------------

CJK = re.compile(r"[\u1100-\u11ff\u3000-\u303f\u3130-\u318f\uac00-\ud7af\u4e00-\u9fff\uff00-\uffef]")


def font_file() -> tuple[str, int] | None:
    """A font with Hangul: the one koreanize-matplotlib bundles when installed, else a system CJK font
    (the files pipelines/plotting.py looks for); ``(path, index in a collection)``."""
    import glob
    from os.path import expanduser

    from .plotting import FONT_DIRS, FONT_FILES

    try:
        import koreanize_matplotlib

        bundled = sorted(Path(koreanize_matplotlib.__file__).parent.rglob("*.ttf"))
        if bundled:
            return str(bundled[0]), 0
    except ImportError:
        pass
    for folder in FONT_DIRS:
        for name in FONT_FILES:
            for path in glob.glob(f"{expanduser(folder)}/**/{name}", recursive=True):
                return path, _korean_index(path)
    return None


def _korean_index(path: str) -> int:
    """In a font collection (.ttc) the member named for Korean (``... KR``), else the first."""
    if not path.lower().endswith(".ttc"):
        return 0
    from fontTools.ttLib import TTCollection

    for i, font in enumerate(TTCollection(path, lazy=True).fonts):
        if "KR" in (font["name"].getDebugName(1) or ""):
            return i
    return 0


def font_face(text: str) -> str:
    """An ``@font-face`` rule with a subset of a CJK font holding exactly the CJK characters of ``text``
    (WOFF, base64), or "" when the text has none or this machine has no such font (the page then names
    the fonts Korean Windows, macOS and Linux have)."""
    chars = "".join(sorted(set(CJK.findall(text))))
    found = font_file() if chars else None
    if not found:
        return ""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    path, index = found
    logging.getLogger("fontTools").setLevel(logging.ERROR)  # tables it drops (hinting sources) are not news
    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = ["*"]
    font = TTFont(path, fontNumber=index, lazy=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.flavor = "woff"
    font.save(buffer)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return ("@font-face { font-family: 'Workbench Korean'; font-style: normal; font-weight: 100 900; "
            f"src: url(data:font/woff;base64,{data}) format('woff'); }}")

"""The one-page model report from a real MLflow store: a regression version (prediction intervals, no
alarm costs) and a binary one (alarm costs, no intervals), each trained and registered as a notebook does;
`workbench report` (the real command) writes it in Korean and English, self-contained (images and the
Korean font inside, nothing fetched); headless Chromium renders it where installed. Runs through the
runner log it too: tests/test_nightly_drift.py checks that on the shared nightly batch."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess

import pytest
import yaml
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from pipelines import model_report
from pipelines.cli import app as cli
import pipelines as wb
from serving_support import CARD, temporary_store

# the module's trained store is made once: every test of it on one worker (--dist loadgroup)
pytestmark = pytest.mark.xdist_group("model_report")


BINARY = "machine-failure"


def train(card_id: str, seed: int = 0) -> int:
    """Tune (2 trials), evaluate with its plots, log and register, as a notebook does."""
    import mlflow

    card = wb.load_card(card_id)
    data = wb.load_data(card)
    wb.start_run(card, data)
    result = wb.tune(card, data, n_trials=2, seed=seed)
    report = wb.evaluate(result)
    decision = wb.register(result, report, wb.log_result(result, report))
    mlflow.end_run()
    return decision.version


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    with temporary_store(folder, rows=1200) as uri:
        path = folder / "catalog" / f"{BINARY}.yaml"
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        raw["reference_data"]["simulator"]["rows"] = 2000
        raw["reference_data"].pop("public", None)  # its simulator: small and the same everywhere
        path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
        yield {"uri": uri, "regression": train(CARD, seed=0), "binary": train(BINARY, seed=0)}


def _report(tmp_path, card, lang, *extra):
    out = tmp_path / f"{card}-{lang}.html"
    result = CliRunner().invoke(cli, ["report", card, "--lang", lang, "--output", str(out), *extra])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<style>.*?</style>", " ", html)))


def test_the_page_says_what_the_run_recorded(store, tmp_path):
    html = _report(tmp_path, CARD, "en")
    run = MlflowClient().get_run(MlflowClient().get_model_version(CARD, str(store["regression"])).run_id)
    metrics, text = run.data.metrics, _text(html)
    assert f"{metrics['test_rmse']:.4g}" in text and f"{metrics['baseline_rmse']:.4g}" in text
    assert f"{metrics['test_rmse.ci90_low']:.4g} – {metrics['test_rmse.ci90_high']:.4g}" in text
    assert "≤ 50" in text  # the acceptance threshold of the test catalog
    assert f"{metrics['test_interval_coverage']:.1%}" in text and "Alarm threshold" not in text
    assert "Heat treatment hardness prediction" in text and "Rockwell C hardness" in text  # the card summary
    assert run.data.params["model.rows_fit"] in text and "simulator:heat_treatment" in text
    assert "Austenitize_Temp_C" in text  # the drift reference
    assert "first version to pass the acceptance threshold" in text and "champion" in text
    assert "simulated reference data" in text  # a known limit
    # self-contained: every image inline, nothing to fetch
    assert html.count('src="data:image/png;base64,') >= 3 and not re.search(r'(src|href)="(https?:|file:|/)', html)


def test_a_binary_page_shows_the_alarm_costs_and_no_intervals(store, tmp_path):
    text = _text(_report(tmp_path, BINARY, "en"))
    metrics = MlflowClient().get_run(MlflowClient().get_model_version(BINARY, "1").run_id).data.metrics
    assert "Alarm threshold" in text and f"{metrics['decision_threshold']:.3g}" in text
    assert f"{metrics['test_cost_never_alarm']:.4g}" in text and "Prediction intervals" not in text


def test_a_sites_page_reads_its_own_registered_model(store, tmp_path):
    """A plant's own file registers as ``<card>.<site>``: its run's page (and `workbench report` of that
    name) shows that model's version, not the reference model's (it once looked up the card id)."""
    import mlflow

    card = wb.load_card(CARD)
    path = tmp_path / "line2.csv"
    wb.load_data(card).frame.head(600).to_csv(path, index=False)
    data = wb.load_data(card, path)
    wb.start_run(card, data)
    mlflow.set_tag("site", "line2")  # what `workbench run --data line2.csv` tags the run with
    run_id = mlflow.active_run().info.run_id
    result = wb.tune(card, data, n_trials=1, seed=1)
    report = wb.evaluate(result, plots=False)
    decision = wb.register(result, report, wb.log_result(result, report))
    mlflow.end_run()
    assert decision.model != CARD
    mine = MlflowClient().get_model_version(decision.model, str(decision.version))
    facts = model_report.gather(run_id)
    assert facts["version"] == decision.version and facts["created"] == mine.creation_timestamp
    assert "champion" in facts["aliases"]
    text = _text(_report(tmp_path, decision.model, "en"))
    assert f"{MlflowClient().get_run(run_id).data.metrics['test_rmse']:.4g}" in text


def test_korean_page_carries_its_font(store, tmp_path):
    html = _report(tmp_path, CARD, "ko", "--version", str(store["regression"]))
    text = _text(html)
    assert "열처리 경도 예측" in text and "학습 데이터" in text and "알려진 한계" in text
    hangul = set(re.findall(r"[\uac00-\ud7af]", text))
    if model_report.font_file() is None:
        pytest.skip("no CJK font on this machine (apt-get install fonts-noto-cjk, or pip install koreanize-matplotlib): "
                    "the page names the system fonts instead")
    from fontTools.ttLib import TTFont

    face = re.search(r"url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\)", html)
    assert face, "no embedded font"
    cmap = TTFont(io.BytesIO(base64.b64decode(face.group(1))))["cmap"].getBestCmap()
    assert hangul and all(ord(c) in cmap for c in hangul)  # no syllable left to a box


def test_report_errors_are_one_paragraph(store, tmp_path):
    result = CliRunner().invoke(cli, ["report", CARD, "--version", "42", "--output", str(tmp_path / "x.html")])
    assert result.exit_code == 2 and "No version 42" in result.output and "Traceback" not in result.output


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="Debian's chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
def test_the_korean_page_renders_in_headless_chromium(store, tmp_path):
    _report(tmp_path, CARD, "ko")
    url = (tmp_path / f"{CARD}-ko.html").resolve().as_uri()
    flags = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True).stdout
    assert "열처리 경도 예측" in dom and "챔피언 결정" in dom
    shot = tmp_path / "report.png"
    subprocess.run([*flags, "--window-size=1100,2400", f"--screenshot={shot}", url], capture_output=True,
                   timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000  # a rendered page

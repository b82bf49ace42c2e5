"""The nightly validation's drift line: the champion's training inputs against the card's reference data,
on the real batch that tests/test_nightly.py builds once per session (a champion of CARD, then a
validation batch of CARD and a broken copy without a champion), and on the same reference data moved."""

from __future__ import annotations

import shutil
import subprocess

import pytest

import pipelines as wb
from pipelines import nightly
from test_nightly import BROKEN, CARD, _copy_catalog, _edit_card, _small, shared  # noqa: F401 - the shared batch

pytestmark = pytest.mark.slow


def test_the_champion_trained_on_the_reference_data_does_not_drift(shared):  # noqa: F811
    results = {r.card_id: r for r in shared["batch"].results}
    found = results[CARD].drift
    assert found["verdict"] == "stable" and found["version"] == 1 and found["drifted"] == []
    assert found["rows"] == 1000 and "학습 데이터" in found["text_ko"]
    assert results[BROKEN].drift["verdict"] is None and "no champion" in results[BROKEN].drift["text"]
    html = shared["paths"]["html"].read_text(encoding="utf-8")
    assert "champion vs reference data" in html and found["text"] in html


def test_reference_data_that_moved_under_the_champion_is_flagged(shared, tmp_path):  # noqa: F811
    with pytest.MonkeyPatch.context() as mp:
        cat, _ = _copy_catalog(tmp_path, mp)
        _edit_card(cat, CARD, _small(accept=50.0))
        card = wb.load_card(CARD)
        dataset = wb.load_data(card)
        dataset.frame["Temper_Time_h"] = dataset.frame["Temper_Time_h"] * 2  # tempered twice as long
        found = nightly._check_drift(card, dataset)
    assert found["verdict"] == "drift" and found["drifted"] == ["Temper_Time_h"]


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="Debian's chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
def test_the_drift_column_renders(shared):  # noqa: F811
    url = shared["paths"]["html"].resolve().as_uri()
    dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert 'class="drift"' in dom and ">stable<" in dom


def test_every_run_through_the_runner_has_its_report(shared):  # noqa: F811
    """The champion's training run and the validation run both logged report.html and report_ko.html."""
    from mlflow.tracking import MlflowClient

    from test_nightly import _shared_store_client

    client: MlflowClient = _shared_store_client()
    card = {r.card_id: r for r in shared["batch"].results}[CARD]
    for run_id in (shared["champion_run_id"], card.run_id):
        names = {a.path for a in client.list_artifacts(run_id)}
        assert {"report.html", "report_ko.html"} <= names
    page = client.download_artifacts(card.run_id, "report_ko.html")
    text = open(page, encoding="utf-8").read()
    assert "검증 실행" in text  # a validation run says it was never registered

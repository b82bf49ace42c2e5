"""The Korean engineer's path in one language (issue 18): template -> check -> run -> predict with --lang ko
prints no English sentence, and --lang en says the same things in English. Real commands through typer's
runner, a real papermill kernel and a real SQLite store; the card's reference data thinned to 1,500 rows."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app

CARD = "heat-treatment-hardness"
# Three English words in a row (a word: letters only, not part of an id, a path, a flag or a column name
# such as test_rmse) is a sentence left untranslated; commands and ids may appear in Korean text.
WORD = r"(?<![\w./-])[A-Za-z]{2,}(?![\w./-])"
SENTENCE = re.compile(rf"{WORD}(?: +{WORD}){{2,}}")
COMMAND = re.compile(r"workbench [a-z]+(?: [\w.-]+)*(?: --?[\w-]+(?: [\w.=:/-]+)?)*")


def english_sentences(output: str) -> list[str]:
    found = []
    for line in output.splitlines():
        text = COMMAND.sub(" ", line)
        found += [m.group(0) for m in SENTENCE.finditer(text)]
    return found


@pytest.mark.slow
def test_template_check_run_and_predict_speak_korean_or_english_throughout(store, catalog_copy, tmp_path):
    catalog_copy.edit(CARD, lambda raw: raw["reference_data"]["simulator"].update(rows=1500))
    # one line per sentence: piped, the console folds at COLUMNS (80 in pytest-xdist's workers)
    cli = CliRunner(env={"COLUMNS": "250"})
    outputs = {}
    for lang in ("en", "ko"):  # the second run adds no trial: the registry's 'unchanged' decision, in Korean
        template = tmp_path / f"template-{lang}.csv"
        outputs[f"template {lang}"] = cli.invoke(app, ["template", CARD, "--lang", lang, "--output", str(template)])
        run = cli.invoke(app, ["run", CARD, "--trials", "1", "--seed", "0", "--quiet", "--lang", lang])
        assert run.exit_code == 0, run.output[-3000:]
        outputs[f"run {lang}"] = run
        rows = tmp_path / f"rows-{lang}.csv"
        pd.read_csv(template).to_csv(rows, index=False)
        outputs[f"check {lang}"] = cli.invoke(app, ["check", CARD, "--data", str(rows), "--lang", lang])
        outputs[f"predict {lang}"] = cli.invoke(app, ["predict", CARD, "--input", str(rows), "--output",
                                                      str(tmp_path / f"결과-{lang}.csv"), "--lang", lang])
    for name, result in outputs.items():
        assert result.exit_code == 0, f"{name}: {result.output[-2000:]}"
    run_ko, run_en = outputs["run ko"].output, outputs["run en"].output
    for name, result in outputs.items():
        if name.endswith(" ko"):
            assert not english_sentences(result.output), (name, english_sentences(result.output), result.output)
            assert re.search(r"[가-힣]", result.output), name
    # the same facts in both: the primary metric and its threshold, the decision, the refit
    assert "주 지표 시험 RMSE" in run_ko and "합격 기준 ≤" in run_ko and "primary metric test RMSE" in run_en
    assert "등록 모델 heat-treatment-hardness 버전 1: 챔피언 (모델이 그대로입니다" in run_ko
    assert "registered model heat-treatment-hardness version 1: champion (first version" in run_en
    assert "전체 1500행으로 다시 학습했습니다" in run_ko and "refit on all 1500 rows" in run_en
    assert english_sentences(run_en), "the sentence check must find English where there is English"

"""Plots and summaries a person can read (issue 17): Hangul from the font the lock file brings, the card's
Korean column names with --lang ko, a confusion matrix sized for its classes and named with the card's
labels, and a summary that leads with the primary metric. Real tuning on a small simulated card."""

from __future__ import annotations

import re
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import pipelines as wb  # noqa: E402
from pipelines import cards, evaluation  # noqa: E402
from pipelines.plotting import bundled_font, korean_fonts  # noqa: E402

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def test_the_bundled_font_has_every_hangul_syllable_the_cards_use():
    from fontTools.ttLib import TTFont

    path = bundled_font()
    assert path is not None, "koreanize-matplotlib (requirements.lock) is not installed"
    cmap = TTFont(str(path))["cmap"].getBestCmap()
    used = set()
    for card in cards.list_cards():
        texts = [card.name.ko, card.equipment.ko, card.target.ko or "", *(c.ko or "" for c in card.columns)]
        used |= set(HANGUL.findall(" ".join(texts)))
    assert used and not [c for c in used if ord(c) not in cmap]


def test_korean_and_the_minus_sign_render_without_missing_glyphs(tmp_path):
    assert korean_fonts() == "NanumGothic"  # the bundled font first: the same plots on every machine
    fig, ax = plt.subplots()
    ax.set_title("최대 사출 압력 (bar) · 불량률 −3 ℃")
    ax.plot([-1, 1], [-2, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(tmp_path / "korean.png")
    plt.close(fig)


def _inside(fig, artist) -> bool:
    fig.canvas.draw()
    box, frame = artist.get_window_extent(), fig.bbox
    return box.x0 >= frame.x0 - 1 and box.x1 <= frame.x1 + 1 and box.y1 <= frame.y1 + 1


def test_confusion_matrix_names_the_cards_classes_and_grows_with_them():
    binary = cards.load_card("injection-molding-quality")
    y, pred = np.array([0, 0, 1, 1, 0]), np.array([0, 1, 1, 0, 0])
    fig = evaluation._confusion(y, pred, binary, ["Y", "N"], "en")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Y", "N (defect)"]
    assert _inside(fig, ax.title)
    small = fig.get_size_inches()
    many = cards.load_card("steel-plate-fault-type")
    labels = np.array(["Bumps", "Dirtiness", "K_Scatch", "Other_Faults", "Pastry", "Stains", "Z_Scratch"])
    big = evaluation._confusion(labels[[0, 1, 2, 3, 4, 5, 6, 6]], labels[[0, 1, 2, 3, 4, 5, 6, 0]], many, [], "ko")
    assert big.get_size_inches()[0] > small[0] and _inside(big, big.axes[0].title)
    assert [t.get_text() for t in big.axes[0].get_xticklabels()] == sorted(labels)
    plt.close(fig), plt.close(big)


@pytest.fixture
def tuned(store, catalog_copy):
    catalog_copy.edit("heat-treatment-hardness", lambda raw: raw["reference_data"]["simulator"].update(rows=800))
    card = cards.load_card("heat-treatment-hardness")
    return wb.tune(card, wb.load_data(card), n_trials=2, seed=0)


def test_lang_ko_labels_importance_and_shap_with_the_cards_korean_names(tuned):
    card = tuned.card
    korean = {c.ko for c in card.columns if c.ko}
    report = wb.evaluate(tuned, lang="ko")
    for name in ("feature_importance", "shap_summary"):
        ticks = {t.get_text() for t in report.figures[name].axes[0].get_yticklabels()}
        assert ticks & korean and not ticks & {c.name for c in card.columns if c.ko}, (name, ticks)
    english = wb.evaluate(tuned, lang="en").figures["shap_summary"].axes[0].get_yticklabels()
    assert not any(HANGUL.search(t.get_text()) for t in english)
    assert evaluation.display_names(card, ["Temper_Temp_C", "Temper_Temp_C_mean20", "hour"], "ko") == \
        ["뜨임 온도", "뜨임 온도_mean20", "hour"]


def test_the_summary_leads_with_the_primary_metric_threshold_and_baseline(tuned):
    report = wb.evaluate(tuned, plots=False)
    first = report.summary().splitlines()[0]
    value, base = report.metrics["test_rmse"], report.baseline["baseline_rmse"]
    assert first.startswith(f"heat-treatment-hardness: primary metric test RMSE {value:.4f}")
    assert f"the acceptance threshold ≤ {tuned.card.metric.accept:g}" in first and f"naive baseline {base:.4f}" in first
    assert list(report.table().index)[0] == "rmse"
    assert evaluation.objective_words(tuned.card) == "CV RMSE"


def test_accuracy_below_a_majority_baseline_is_explained_on_rare_defects():
    card = cards.load_card("injection-molding-quality")
    note = evaluation.accuracy_note(card, {"test_accuracy": 0.961}, {"baseline_accuracy": 0.9785})
    assert note and "defects are rare (2.1% of the test rows)" in note and "average precision decides" in note
    assert evaluation.accuracy_note(card, {"test_accuracy": 0.99}, {"baseline_accuracy": 0.98}) is None

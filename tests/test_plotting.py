"""Korean labels render where a Korean font is installed (no missing-glyph warnings)."""

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from pipelines.plotting import korean_fonts  # noqa: E402


def test_hangul_renders_without_missing_glyphs(tmp_path):
    family = korean_fonts()
    if family is None:
        pytest.skip("no Korean font on this machine (install fonts-noto-cjk); plots fall back to boxes")
    fig, ax = plt.subplots()
    ax.set_title("용해 온도(℃) · 불량률 −3")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(tmp_path / "korean.png")
    plt.close(fig)

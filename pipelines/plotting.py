"""Plots in notebooks: Korean text, and panels for columns a file may lack.

Korean: KAMP column names and the cards' Korean labels are Hangul, which matplotlib's default font lacks
(every glyph a box, and a warning each). NanumGothic comes with the lock file as a Python package
(koreanize-matplotlib, whose font file is registered without importing the package: its import restyles
every plot and needs distutils, gone from Python 3.12), so plots read the same on a fresh machine; a CJK
font the system has (Noto Sans CJK, Malgun Gothic, ...) is the fallback behind it. Where neither exists,
say once how to get one instead of warning per glyph.

Panels: a plant file often lacks some of a card's columns; ``panel`` lets a notebook draw what the file
allows and say in the empty panel which columns were missing, instead of failing.
"""

from __future__ import annotations

import glob
import importlib.util
import warnings
from pathlib import Path

FONT_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKkr-Regular.otf", "NanumGothic.ttf", "malgun.ttf",
              "AppleSDGothicNeo.ttc")
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "/Library/Fonts",
             "/System/Library/Fonts", "C:/Windows/Fonts")
_families: list[str] | None = None  # found once per process


def bundled_font() -> Path | None:
    """NanumGothic as koreanize-matplotlib ships it (a dependency in the lock file), or None."""
    spec = importlib.util.find_spec("koreanize_matplotlib")  # finds the package without importing it
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "fonts" / "NanumGothic.ttf"
    return path if path.exists() else None


KOREAN_FAMILIES = ("NanumGothic", "Noto Sans CJK KR", "Malgun Gothic", "Apple SD Gothic Neo")


def korean_fonts() -> str | None:
    """Make Hangul render in matplotlib; returns the font family used, or None where there is none.
    The fonts are found once; the font settings are put back on every call, since a library or a
    notebook cell may reset matplotlib's settings (rcdefaults, a style) after the first."""
    global _families
    import matplotlib.pyplot as plt

    if _families is None:
        _families = _find_korean_fonts()
    if not _families:
        return None
    # The Korean fonts by name, then DejaVu Sans (the symbols NanumGothic lacks, such as the minus sign):
    # matplotlib falls back glyph by glyph over named families only, not within "sans-serif".
    wanted = [*_families, "DejaVu Sans", "sans-serif"]
    if list(plt.rcParams["font.family"]) != wanted:
        plt.rcParams["font.family"] = wanted
        plt.rcParams["font.sans-serif"] = [*_families, *[f for f in plt.rcParams["font.sans-serif"] if f not in _families]]
        plt.rcParams["axes.unicode_minus"] = False  # CJK fonts lack the Unicode minus sign
    return _families[0]


def _find_korean_fonts() -> list[str]:
    """Register the bundled NanumGothic and any system CJK font with matplotlib; the Korean families found."""
    import matplotlib.font_manager as fm
    from os.path import expanduser

    bundled = bundled_font()
    if bundled is not None:
        fm.fontManager.addfont(str(bundled))
    for folder in FONT_DIRS:
        for name in FONT_FILES:
            for path in glob.glob(f"{expanduser(folder)}/**/{name}", recursive=True):
                fm.fontManager.addfont(path)
    present = {f.name for f in fm.fontManager.ttflist}
    families = [f for f in KOREAN_FAMILIES if f in present]
    if not families:
        warnings.filterwarnings("ignore", message="Glyph .* missing from (current )?font")
        warnings.warn("No Korean font found: Korean labels in plots show as boxes. Reinstall from "
                      "requirements.lock (koreanize-matplotlib brings NanumGothic), or install one, e.g. "
                      "`apt install fonts-noto-cjk` (Debian/Ubuntu).", stacklevel=3)
    return families


def panel(ax, frame, *columns: str) -> bool:
    """True when ``frame`` has every one of ``columns`` (draw on ``ax``); else ``ax`` says which are not
    in the file, and False."""
    absent = [c for c in columns if c not in frame.columns]
    if not absent:
        return True
    ax.text(0.5, 0.5, "not in this file:\n" + ", ".join(absent), ha="center", va="center", transform=ax.transAxes,
            color="grey", wrap=True)
    ax.set_xticks([]), ax.set_yticks([])
    return False

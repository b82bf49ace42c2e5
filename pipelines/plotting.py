"""Plots in notebooks: Korean text, and panels for columns a file may lack.

Korean: KAMP column names and the cards' Korean labels are Hangul, which matplotlib's default font lacks
(every glyph a box, and a warning each). Register a CJK font the system has and put it behind the
default one; where none is installed, say once how to get one instead of warning per glyph.

Panels: a plant file often lacks some of a card's columns; ``panel`` lets a notebook draw what the file
allows and say in the empty panel which columns were missing, instead of failing.
"""

from __future__ import annotations

import glob
import warnings

FONT_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKkr-Regular.otf", "NanumGothic.ttf", "malgun.ttf",
              "AppleSDGothicNeo.ttc")
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "/Library/Fonts",
             "/System/Library/Fonts", "C:/Windows/Fonts")
_done = False


def korean_fonts() -> str | None:
    """Make Hangul render in matplotlib; returns the font family used, or None where there is none."""
    global _done
    import matplotlib.font_manager as fm
    import matplotlib.pyplot as plt

    if _done:
        return next((f for f in plt.rcParams["font.sans-serif"] if "CJK" in f or "Gothic" in f), None)
    _done = True
    from os.path import expanduser

    for folder in FONT_DIRS:
        for name in FONT_FILES:
            for path in glob.glob(f"{expanduser(folder)}/**/{name}", recursive=True):
                fm.fontManager.addfont(path)
    family = next((f.name for f in fm.fontManager.ttflist
                   if f.name in ("Noto Sans CJK KR", "NanumGothic", "Malgun Gothic", "Apple SD Gothic Neo")), None)
    if family is None:
        warnings.filterwarnings("ignore", message="Glyph .* missing from (current )?font")
        warnings.warn("No Korean font found: Korean labels in plots show as boxes. Install one, e.g. "
                      "`apt install fonts-noto-cjk` (Debian/Ubuntu) or NanumGothic.", stacklevel=2)
        return None
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["font.sans-serif"] = [family, *[f for f in plt.rcParams["font.sans-serif"] if f != family]]
    plt.rcParams["axes.unicode_minus"] = False  # CJK fonts lack the Unicode minus sign
    return family


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

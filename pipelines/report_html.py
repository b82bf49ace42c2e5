"""The validation report as one self-contained HTML file: one row per card (status, metric against
threshold and champion, a sparkline of the metric over past validation runs, wall time, a link to
the executed notebook) with each check's message beneath it. Inline CSS and SVG; no script, no fetch."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

_templates = Environment(loader=PackageLoader("pipelines", "templates"), autoescape=select_autoescape(["j2"]),
                         trim_blocks=True, lstrip_blocks=True)


def sparkline(values: list[float], accept: float | None, higher_is_better: bool, width: int = 110,
              height: int = 30) -> Markup:
    """An inline SVG line of ``values`` (oldest first) with the acceptance threshold dashed; the
    last point is green when it meets the threshold, red when not."""
    if not values:
        return Markup('<span class="muted">no history</span>')
    span = [*values, *([accept] if accept is not None else [])]
    low, high = min(span), max(span)
    pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    low, high = low - pad, high + pad

    def x(i: int) -> float:
        return 4 + (width - 8) * (i / (len(values) - 1) if len(values) > 1 else 1.0)

    def y(v: float) -> float:
        return height - 3 - (height - 6) * (v - low) / (high - low)

    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    last = values[-1]
    ok = accept is None or (last >= accept if higher_is_better else last <= accept)
    parts = [f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'role="img" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{len(values)} validation runs: " + ", ".join(f"{v:.4g}" for v in values) + "</title>"]
    if accept is not None:
        parts.append(f'<line x1="0" x2="{width}" y1="{y(accept):.1f}" y2="{y(accept):.1f}" class="accept"/>')
    if len(values) > 1:
        parts.append(f'<polyline points="{points}" class="line"/>')
    parts.append(f'<circle cx="{x(len(values) - 1):.1f}" cy="{y(last):.1f}" r="3" class="{"ok" if ok else "bad"}"/>')
    return Markup("".join(parts) + "</svg>")


def write_html(batch, path: Path, notebook_links: dict[str, str]) -> Path:
    rows = []
    for r in batch.results:
        rows.append({"r": r, "notebook": notebook_links.get(r.card_id), "sign": "≥" if r.higher_is_better else "≤",
                     "spark": sparkline(r.history, r.accept, r.higher_is_better)})
    failed = sum(1 for r in batch.results if not r.passed)
    html = _templates.get_template("validation_report.html.j2").render(batch=batch, rows=rows, failed=failed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path

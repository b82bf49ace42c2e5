"""docs/catalog.md is the catalog; `workbench catalog` filters as it says."""

from pathlib import Path

from typer.testing import CliRunner

from pipelines import cards
from pipelines.cli import app

DOC = Path(__file__).resolve().parent.parent / "docs" / "catalog.md"


def test_docs_catalog_matches_the_cards():
    expected = cards.catalog_markdown(cards.catalog_rows())
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/catalog.md is stale: run `workbench catalog --markdown > docs/catalog.md`")
    for card in cards.list_cards():
        assert f"| {card.id} |" in expected


def test_catalog_filters():
    every = cards.list_cards()
    binary = CliRunner().invoke(app, ["catalog", "--task", "binary", "--markdown"]).output
    listed = [line.split("|")[1].strip() for line in binary.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert sorted(listed) == sorted(c.id for c in every if c.task == "binary")
    casting = cards.catalog_rows(industry="casting")
    assert {r[0] for r in casting} == {c.id for c in every if c.industry == "casting"}
    assert cards.catalog_rows(equipment="다이캐스팅") == [r for r in cards.catalog_rows() if "다이캐스팅" in r[3]]

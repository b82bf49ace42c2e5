"""The `workbench` command follows the conventions people expect of a CLI (issue 17): -h and --help,
--version, flags without type metavars, help text as paragraphs, "did you mean" for a mistyped card id,
errors that point at files the repository has, and listings that read at 100 columns. Typer's own runner,
the real catalog; no store is created."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from pipelines import cards
from pipelines.cli import app
from pipelines.errors import CardError, UnknownCard

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def test_dash_h_is_help_and_flags_show_no_type():
    short, long = runner.invoke(app, ["run", "-h"]), runner.invoke(app, ["run", "--help"])
    assert short.exit_code == long.exit_code == 0 and short.output == long.output
    assert "--quiet" in short.output and "<bool>" not in short.output
    assert re.search(r"--trials\s+TRIALS", short.output)
    top = runner.invoke(app, ["-h"])
    assert top.exit_code == 0 and "<bool>" not in top.output and "--version" in top.output


def test_version_names_the_package_and_its_engines():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith(f"workbench {importlib.metadata.version('standard-model-workbench')} ")
    assert f"mlflow {importlib.metadata.version('mlflow')}" in result.output


def test_docstrings_read_as_paragraphs_and_the_command_list_shows_first_sentences():
    listing = runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    row = next(line for line in listing.splitlines() if re.match(r"^\W*run\s", line))
    assert "register (champion if it earns it)." in row and "The model trains" not in listing
    page = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "200"}).output
    # the docstring's own line break (after "earns it).") no longer breaks the paragraph
    assert re.search(r"earns it\)\. The model trains on the card columns your file has;", page)


@pytest.mark.parametrize("typed, meant", [("injection-molding-qualty", "injection-molding-quality"),
                                          ("turbofan", "turbofan-rul"), ("heat-treatment-hardnes", "heat-treatment-hardness")])
def test_a_mistyped_card_id_gets_a_did_you_mean(typed, meant):
    with pytest.raises(UnknownCard) as info:
        cards.load_card(typed)
    assert meant in info.value.suggestions and isinstance(info.value, CardError)
    result = runner.invoke(app, ["show", typed])
    assert result.exit_code == 2 and f"Did you mean {meant}" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_card_errors_point_at_a_file_the_repository_has(catalog_copy):
    catalog_copy.edit("heat-treatment-hardness", lambda raw: raw.update(task="clustering"))
    with pytest.raises(CardError) as info:
        cards.load_card("heat-treatment-hardness")
    pointed = re.findall(r"\b((?:docs|catalog|pipelines)/[\w./-]+\.(?:md|py|yaml))", str(info.value))
    assert pointed and all((ROOT / p).exists() for p in pointed), pointed
    assert "DESIGN.md" not in str(info.value)


def test_docs_cards_md_describes_every_card_field():
    text = (ROOT / "docs" / "cards.md").read_text(encoding="utf-8")
    missing = [name for name in cards.Card.model_fields if f"`{name}`" not in text]
    assert not missing, f"docs/cards.md lacks {missing}"


@pytest.mark.parametrize("command", [["catalog"], ["list"]])
def test_listings_read_at_100_columns_with_ids_whole(command, tmp_path):
    store = tmp_path / "none" / "mlflow.db"  # no store: the listing must not create one
    result = runner.invoke(app, command, env={"COLUMNS": "100", "MLFLOW_TRACKING_URI": f"sqlite:///{store}"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(cell_len(line) for line in lines) <= 100
    for card_id in cards.list_ids():
        assert any(re.match(rf"^\s*{re.escape(card_id)}(\s|$)", line) for line in lines), card_id
    assert not store.parent.exists()


def test_run_on_a_scheduler_that_does_not_answer_fails_before_any_run_and_says_what_to_start(store):
    """A real Dask client against a loopback port where nothing listens: refused in seconds, with the commands
    that start a scheduler and its workers, and no MLflow store or Optuna study made."""
    from serving_support import free_port

    address = f"tcp://127.0.0.1:{free_port()}"
    result = runner.invoke(app, ["run", "heat-treatment-defect-rate", "--scheduler", address, "--trials", "1"],
                           env={"COLUMNS": "250"})
    assert result.exit_code == 2, result.output
    assert f"No Dask scheduler answers at {address}" in result.output and f"dask worker {address}" in result.output
    assert list(store.iterdir()) == []
    both = runner.invoke(app, ["run", "heat-treatment-defect-rate", "--scheduler", address, "--workers", "2"])
    assert both.exit_code == 2 and "not both" in both.output

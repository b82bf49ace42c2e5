"""The ``workbench`` command: parses arguments, calls the engine, prints results. No logic here."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import cards, settings
from .errors import WorkbenchError

class _HelpFlag:
    """-h/--help is a flag like any other: shown without a type (typer would print ``<bool>``)."""

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None and option.metavar is None:
            option.metavar = ""
        return option


class _Group(_HelpFlag, typer.core.TyperGroup):
    pass


class _Command(_HelpFlag, typer.core.TyperCommand):
    pass


app = typer.Typer(help="Standard Model Workbench: KAMP's AI standard models for manufacturing, run, tracked and served.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, cls=_Group,
                  context_settings={"help_option_names": ["-h", "--help"]})
# Piped into a file or a CI log there is no terminal to fit: print wide rather than fold names (COLUMNS rules).
console = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS", "").isdigit() else 160)
err = Console(stderr=True)


def _fail(exc: WorkbenchError) -> None:
    err.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code)


def _parse_map(values: list[str] | None, lang: str | None = None) -> dict[str, str] | None:
    """--map: 'YOUR_COLUMN=CARD_COLUMN' (repeatable) or a YAML file of 'your column: card column'."""
    from .mapping import parse_map

    return parse_map(values, lang=lang)


def _check_map_on_reference(card_id: str, column_map: dict[str, str], lang: str | None) -> None:
    """--map without --data renames the card's reference data: its names must be there, and its targets card
    columns, or the run would fail inside the notebook, after its MLflow run exists."""
    from .data import reference
    from .mapping import match

    card = cards.load_card(card_id)
    frame, _, source = reference(card)
    match(frame.columns, card, column_map, f"reference data of {card_id} ({source})", lang=lang)


def _lang(value: str | None) -> str | None:
    if value not in (None, "ko", "en"):
        raise typer.BadParameter("--lang must be ko or en")
    return value


class _NoteHandler(logging.Handler):
    """Notes from reading and validation (ignored columns, sorting) printed for the user."""

    def emit(self, record):
        err.print(f"[dim]note:[/] {escape(record.getMessage())}", highlight=False, soft_wrap=True)


def _check_cluster(scheduler: str | None, workers: int | None) -> None:
    """--scheduler and --workers name two clusters; a SQLite study on other machines' workers is one
    file they may not reach (said, not refused: workers on this host do reach it)."""
    if scheduler and workers:
        raise typer.BadParameter("give --scheduler (an existing Dask cluster) or --workers (a local one), not both")
    if scheduler:
        _check_scheduler(scheduler)
    storage = settings.optuna_storage()
    if scheduler and storage.startswith("sqlite"):
        console.print(f"note: the trials' study is the SQLite file {storage.removeprefix('sqlite:///')}: workers on "
                      f"other machines cannot reach it. Set WORKBENCH_OPTUNA_STORAGE=postgresql://... for them "
                      f"(docs/scale-out.md).", highlight=False, soft_wrap=True)


def _check_scheduler(address: str) -> None:
    """The cluster answers, has workers, and each can run the workbench: before anything is started."""
    from .cluster import check_scheduler

    try:
        check_scheduler(address)
    except WorkbenchError as exc:
        _fail(exc)


def _show_notes() -> None:
    logger = logging.getLogger("pipelines.data")
    logger.setLevel(logging.INFO)
    if not any(isinstance(h, _NoteHandler) for h in logger.handlers):
        logger.addHandler(_NoteHandler())


def _version(value: bool) -> None:
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version

    def of(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    typer.echo(f"workbench {of('standard-model-workbench')} (Python {sys.version.split()[0]}; mlflow {of('mlflow')}, "
               f"optuna {of('optuna')}, lightgbm {of('lightgbm')}, xgboost {of('xgboost')})")
    raise typer.Exit()


@app.callback()
def _startup(ctx: typer.Context,
             version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                          help="print the workbench's version (and its engines') and exit")) -> None:
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and not sys.stdout.isatty():  # piped, but told how wide to be
        console.width = int(columns)
    # Runs that a killed process left RUNNING are marked KILLED first (pipelines/stale_runs.py).
    from .stale_runs import recover_quietly

    for dead in recover_quietly(ctx.invoked_subcommand):
        trials = f"; {dead.trials_failed} running trial(s) marked FAIL" if dead.trials_failed else ""
        versions = (f"; the version(s) it registered ({', '.join(f'v{v}' for v in dead.versions)}) are tagged "
                    f"unfinished_run (see `workbench models`)") if dead.versions else ""
        err.print(f"[dim]note:[/] MLflow run {dead.run_id} ({escape(dead.card_id)}) was left RUNNING by a process "
                  f"that is gone (killed?): marked KILLED{trials}{versions}", highlight=False, soft_wrap=True)


MAP_HELP = "YOUR_COLUMN=CARD_COLUMN, or a YAML file of such pairs (repeatable)"
SPLIT_HELP = "time | group | stratified | random: split this way instead of as the card says"
STRICT_HELP = "refuse instead of tolerating: absent card columns, values outside the ranges, unreadable cells, footers"
POSITIVE_HELP = ("pass/fail and anomaly cards: the target label that marks a defect or failure in your file "
                 "(e.g. NG, 불량) when it is not the card's")
LABELS_HELP = ("a file of the target (QC results: LOT and 판정) kept apart from --data, joined on the column both "
               "files share")
ON_HELP = "with --labels: the key column both files share (a LOT or serial number), where they share several"
FAILED_HELP = ("life (RUL) cards without the remaining life in the file: the units that ran to failure, e.g. "
               "\"Bearing 3,Bearing 4\"; the others stopped first (a rig stopped, a pump still in service)")
NA_HELP = "COLUMN=VALUE: a code the sensor writes for 'no reading' (e.g. -9999), read as missing (repeatable)"


def _options(split: str | None = None, strict: bool = False, dayfirst: bool = False, monthfirst: bool = False,
             na: list[str] | None = None, costs: str | None = None, positive: str | None = None,
             labels: Path | None = None, on: str | None = None, failed: str | None = None):
    """The data flags of check, run, predict and new as the engine's Options."""
    from .inspection import DAY_FIRST, MONTH_FIRST, SPLITS, Options

    if split is not None and split not in SPLITS:
        raise typer.BadParameter(f"--split must be one of {', '.join(SPLITS)}")
    if dayfirst and monthfirst:
        raise typer.BadParameter("give --dayfirst or --monthfirst, not both")
    codes: dict[str, list] = {}
    for pair in na or []:
        column, sep, value = pair.partition("=")
        if not sep or not column.strip() or not value.strip():
            raise typer.BadParameter(f"--na takes COLUMN=VALUE (e.g. upper_mold_temp3=1449), not {pair!r}")
        text = value.strip()
        try:
            code = float(text)
        except ValueError:
            code = text
        codes.setdefault(column.strip(), []).append(code)
    if costs is not None:
        from .cards import Costs

        try:
            Costs.parse(costs)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    return Options(split=split, strict=strict, dates=DAY_FIRST if dayfirst else MONTH_FIRST if monthfirst else None,
                   missing_values=codes, costs=costs, positive=positive.strip() if positive else None,
                   labels=str(labels) if labels else None, on=on.strip() if on else None,
                   failed=failed.strip() if failed else None)
LANG_HELP = "language of messages: ko | en (default: from the locale, or WORKBENCH_LANG)"
SHEET_HELP = "Excel sheet name or number (default: the first sheet); all: every sheet with the header most sheets share"


def _broken_cards(broken: list) -> None:
    """After a listing: each card that did not load, with its error; exit 2 so scripts notice."""
    if not broken:
        return
    for exc in broken:
        err.print(f"[bold red]broken card:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    err.print(f"{len(broken)} card(s) could not be loaded and are not listed above; fix them and run again.")
    raise typer.Exit(2)


@app.command("list")
def list_cmd(lang: Optional[str] = typer.Option(None, "--lang", help="the names in ko | en only (default: both)")):
    """List the standard models in the catalog: id and name, task, primary metric and its acceptance threshold,
    and the champion where one is registered (version, test metric, date). A card that does not load is
    named, with its error."""
    broken: list = []
    found = cards.list_cards(broken)
    lang = _lang(lang)
    champions = _champions([c.id for c in found])
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)  # fits 100 columns: the id whole, the names beneath it
    table.add_column({"en": "card", "ko": "card / 이름"}.get(lang, "card / name / 이름"), no_wrap=False,
                     min_width=max((len(c.id) for c in found), default=2))
    table.add_column("task", no_wrap=True)
    table.add_column("metric ≥/≤ accept", no_wrap=True)
    table.add_column("champion (test metric)", no_wrap=True)
    for card in found:
        sign = "≥" if card.higher_is_better else "≤"
        metric = cards.SHORT_METRICS.get(card.metric.primary, card.metric.primary)
        name = {"ko": card.name.ko, "en": card.name.en}.get(lang, f"{card.name.en}\n{card.name.ko}")
        table.add_row(f"[bold]{escape(card.id)}[/]\n[dim]{escape(name)}[/]", card.task,
                      escape(f"{metric} {sign} {card.metric.accept:g}"), escape(champions.get(card.id, "")))
    console.print(table)
    shown = sum(1 for c in found if c.id in champions)
    console.print(f"{len(found)} standard models, {shown} with a champion (`workbench models` lists every version)")
    _broken_cards(broken)


def _champions(card_ids: list[str]) -> dict[str, str]:
    """Per card, its champion as ``v3 · 0.412 · 2026-12-03`` (the card's primary test metric, from the
    version's tag). Reads the store only when it exists: a listing never creates one."""
    from pathlib import Path as _Path

    uri = settings.tracking_uri() if os.environ.get("MLFLOW_TRACKING_URI") else None
    path = _Path(uri.removeprefix("sqlite:///")) if uri and uri.startswith("sqlite:///") else \
        (settings.mlruns_dir() / "mlflow.db" if uri is None else None)
    if path is not None and not path.exists():
        return {}
    from datetime import datetime

    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from . import tracking

    tracking.configure(uri or settings.tracking_uri())
    client, out = MlflowClient(), {}
    registered = {m.name for m in client.search_registered_models(max_results=1000)}
    for card_id in card_ids:
        if card_id not in registered:
            continue
        try:
            mv = client.get_model_version_by_alias(card_id, "champion")
        except MlflowException:
            continue
        primary = cards.load_card(card_id).metric.primary
        value = mv.tags.get(f"test_{primary}")
        when = datetime.fromtimestamp(int(mv.creation_timestamp) / 1000).strftime("%Y-%m-%d") if mv.creation_timestamp else ""
        out[card_id] = " · ".join(x for x in (f"v{mv.version}", f"{float(value):.3g}" if value else "", when) if x)
    return out


@app.command()
def show(card_id: str = typer.Argument(..., help="card id, e.g. injection-molding-quality")):
    """Show one card: equipment, task, columns with units and ranges, split and metric."""
    try:
        card = cards.load_card(card_id)
    except WorkbenchError as exc:
        _fail(exc)
    e = lambda value: escape(str(value))  # noqa: E731 - card text is the user's: never read as Rich markup
    console.print(f"[bold]{e(card.id)}[/] v{card.version}: {e(card.name.en)} / {e(card.name.ko)}")
    console.print(f"equipment: {e(card.equipment.en)} ({e(card.equipment.ko)}); industry: {e(card.industry)}; "
                  f"problem: {card.problem}; task: {card.task}")
    if card.summary:
        console.print(e(card.summary.en))
        console.print(e(card.summary.ko))
    console.print(f"target: {e(card.target.column)}" + (f" (positive = {e(repr(card.target.positive))})"
                                                        if card.target.positive is not None else ""))
    console.print(f"split: {card.split.kind}, test {card.split.test_size:.0%}, {card.split.folds} CV folds; "
                  f"metric: {card.metric.primary}, accept {card.metric.accept}")
    if card.metric.why:
        console.print(f"why this threshold: {e(card.metric.why)}")
    ref = card.reference_data
    if ref.file:
        console.print(f"reference data: file {e(ref.file)}" + (f", sheet {e(ref.sheet)}" if ref.sheet else ""))
    else:
        console.print(f"reference data: simulator {e(ref.simulator.family)} ({ref.simulator.rows} rows)"
                      + (f", public dataset {e(ref.public)} when present" if ref.public else ""))
    table = Table()
    table.add_column("column", no_wrap=True)  # never folded: users type these names into their files
    for header in ("한국어", "unit", "kind", "range", "note"):
        table.add_column(header)
    for col in card.columns:
        rng = "" if col.min is None and col.max is None else f"[{col.min if col.min is not None else ''}, {col.max if col.max is not None else ''}]"
        note = "excluded (leaks target)" if col.name in card.exclude else ("setting" if col.name in card.settings else "")
        table.add_row(*map(e, (col.name, col.ko or "", col.unit or "", col.kind, rng, note)))
    console.print(table)


SITE_RUN_HELP = ("the data line (plant, machine line) of a --data file: the model registers as CARD.SITE, with its own "
                 "champion (default: a label from the file name; the reference data registers as CARD)")
SCHEDULER_RUN_HELP = ("spread the trials over the workers of this Dask scheduler; every worker must reach the "
                      "Optuna storage (WORKBENCH_OPTUNA_STORAGE=postgresql://...) and have the workbench installed")
SITE_HELP = "the data line whose registered model to use (CARD.SITE; default: the card's reference-data model)"


def _run_site(card_id: str, data: Path | None, site: str | None, lang: str | None) -> dict[str, str]:
    """The ``site`` tag of a run (and, for a file without --site, the label made from its name, said
    once): its registered name is CARD, or CARD.SITE for a plant's own data line."""
    from . import messages, registry

    label, derived = registry.site_for(data, site, lang)
    if data is not None:
        name = registry.model_name(card_id, label)
        console.print(escape(messages.say("site_derived" if derived else "site_given", lang, site=label, model=name)),
                      highlight=False, soft_wrap=True)
    return {registry.SITE_TAG: label, **({"site.from": "file name"} if derived else {})}


def _model(card_id: str, site: str | None, lang: str | None = None) -> tuple[str, str]:
    """``(card id, registered name)`` from a card id and --site, or from a registered name as
    `workbench models` lists it (CARD.SITE)."""
    from . import registry

    card, named = registry.split_name(card_id)
    if site is not None and named != registry.REFERENCE_SITE and registry.site_label(site, lang) != named:
        raise typer.BadParameter(f"{card_id} names site {named}, --site says {site}: give one of them")
    return card, registry.model_name(card, site if site is not None else named)


@app.command()
def run(card_id: str = typer.Argument(..., help="card id"),
        data: Optional[Path] = typer.Option(None, "--data", help="your CSV/Excel/Parquet file, or a folder of them "
                                                 "(a file a day, read one below the other; default: reference data)"),
        trials: int = typer.Option(20, "--trials", min=1, help="Optuna trials (total for the study; a rerun resumes)"),
        timeout: Optional[float] = typer.Option(None, "--timeout", help="stop tuning after this many seconds"),
        device: str = typer.Option("auto", "--device", help="auto | cpu | cuda"),
        seed: int = typer.Option(42, "--seed", help="random seed for splits, sampler and boosters"),
        map_: Optional[list[str]] = typer.Option(None, "--map", help=MAP_HELP),
        sheet: Optional[str] = typer.Option(None, "--sheet", help=SHEET_HELP),
        lang: Optional[str] = typer.Option(None, "--lang", help=LANG_HELP),
        output_dir: Optional[Path] = typer.Option(None, "--output-dir", help="where the executed notebook goes"),
        split: Optional[str] = typer.Option(None, "--split", help=SPLIT_HELP),
        strict: bool = typer.Option(False, "--strict", help=STRICT_HELP),
        dayfirst: bool = typer.Option(False, "--dayfirst", help="dates such as 03/04/2024 are 3 April"),
        monthfirst: bool = typer.Option(False, "--monthfirst", help="dates such as 03/04/2024 are 4 March"),
        na: Optional[list[str]] = typer.Option(None, "--na", help=NA_HELP),
        no_refit: bool = typer.Option(False, "--no-refit", help="register the model fitted on the internal "
                                      "train part only (default: refit on every row after the test)"),
        retrain: bool = typer.Option(False, "--retrain", help="register a new version even when the run only "
                                     "repeats a registered one (no new trial on the same data and code)"),
        costs: Optional[str] = typer.Option(None, "--costs", help="binary cards: FALSE_ALARM:MISSED, what an "
                                            "unneeded alarm and a missed defect cost (e.g. 1:20; default: the card's)"),
        positive: Optional[str] = typer.Option(None, "--positive", help=POSITIVE_HELP),
        labels: Optional[Path] = typer.Option(None, "--labels", help=LABELS_HELP),
        on: Optional[str] = typer.Option(None, "--on", help=ON_HELP),
        failed: Optional[str] = typer.Option(None, "--failed", help=FAILED_HELP),
        site: Optional[str] = typer.Option(None, "--site", help=SITE_RUN_HELP),
        scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="tcp://HOST:PORT",
                                                help=SCHEDULER_RUN_HELP),
        workers: Optional[int] = typer.Option(None, "--workers", min=1, help="spread the trials over a local "
                                              "Dask cluster of this many worker processes"),
        quiet: bool = typer.Option(False, "--quiet", help="no progress bar")):
    """Run a card's notebook end to end: tune, evaluate, log to MLflow, register (champion if it earns it).
    The model trains on the card columns your file has; every decision (absent columns, fallback split,
    values set missing) is printed and logged to MLflow."""
    from .runner import run_card

    if device not in ("auto", "cpu", "cuda"):
        raise typer.BadParameter("--device must be auto, cpu or cuda")
    lang = _lang(lang)
    options = _options(split, strict, dayfirst, monthfirst, na, costs, positive, labels, on, failed)
    if labels is not None and data is None:
        raise typer.BadParameter("--labels joins a results file to your --data file: give --data too")
    _check_cluster(scheduler, workers)
    _show_notes()
    try:
        column_map = _parse_map(map_, lang)
        if column_map and data is None:  # a --map for the reference data: checked before any run exists
            _check_map_on_reference(card_id, column_map, lang)
        site_tags = _run_site(card_id, data, site, lang)
        outcome = run_card(card_id, data_path=str(data) if data else None, n_trials=trials, timeout_s=timeout,
                           device=device, seed=seed, column_map=column_map, output_dir=output_dir,
                           progress=not quiet, sheet=sheet, lang=lang, options=options, refit=not no_refit,
                           retrain=retrain, tags=site_tags, scheduler=scheduler, workers=workers)
    except WorkbenchError as exc:
        _fail(exc)
    s = outcome.summary
    d = outcome.decision
    from .evaluation import accuracy_note, headline
    from .messages import counts_text, decision_reason, say, untrusted_text

    card = cards.load_card(card_id)
    lang = lang or settings.language()
    intervals, untrusted = s.get("intervals", {}), s.get("untrusted", {})
    console.print(f"[bold]{escape(say('run_finished', lang, card=card_id, seconds=outcome.seconds, device=s.get('device', '?'), trials=s.get('trials', '?')))}[/]",
                  highlight=False)
    if s.get("engine") not in (None, "this process"):
        console.print(escape(say("run_engine", lang, engine=s["engine"])), highlight=False)
    if s.get("metrics"):
        console.print(escape(headline(card, s["metrics"], s.get("baseline", {}), intervals, lang)), highlight=False,
                      soft_wrap=True)
        note = accuracy_note(card, s["metrics"], s.get("baseline", {}), lang)
        if note:
            console.print(f"[dim]{escape(note)}[/]", highlight=False, soft_wrap=True)
    primary = f"test_{card.metric.primary}"
    table = Table(*say("run_table", lang).split("|"))
    for name, value in sorted(s.get("metrics", {}).items(), key=lambda kv: kv[0] != primary):
        base = s.get("baseline", {}).get(name.replace("test_", "baseline_"))
        lo, hi = intervals.get(name, (None, None))
        label = name + (say("run_primary", lang) if name == primary else "") + (" (!)" if name in untrusted else "")
        table.add_row(f"[bold]{label}[/]" if name == primary else label, f"{value:.4f}",
                      "" if lo is None else say("run_to", lang, lo=lo, hi=hi), "" if base is None else f"{base:.4f}")
    console.print(table)
    counts = s.get("counts", {})
    if counts:
        console.print(say("run_counts", lang, counts=counts_text(counts, lang)), highlight=False)
    if s.get("interval_block", 1) > 1:
        console.print(say("run_interval_runs", lang, block=s["interval_block"]), highlight=False, soft_wrap=True)
    elif s.get("interval_groups"):
        console.print(say("run_interval_groups", lang, groups=s["interval_groups"], unit=s.get("group_column")),
                      highlight=False, soft_wrap=True)
    for name, why in untrusted.items():
        console.print(f"[yellow]{escape(say('run_untrusted', lang, name=name, why=untrusted_text(why, lang)))}[/]")
    decided = s.get("decisions") or {}
    if "test_expected_cost" in decided:
        console.print(say("run_costs", lang, threshold=decided["decision_threshold"], cost=decided["test_expected_cost"],
                          half=decided["test_cost_at_0.5"], never=decided["test_cost_never_alarm"]), highlight=False)
    if "test_alarm_rate" in decided:
        console.print(say("run_alarm_rate", lang, threshold=decided["decision_threshold"], rate=decided["test_alarm_rate"]),
                      highlight=False)
    if "test_interval_coverage" in decided:
        console.print(say("run_intervals", lang, level=decided["interval_level"], coverage=decided["test_interval_coverage"],
                          width=decided["test_interval_width"]), highlight=False)
    if s.get("split") and s["split"] != card.split.kind:
        console.print(escape(say("run_split", lang, split=s["split"])), highlight=False)
    if data is None and s.get("data_notes"):
        for line in s["data_notes"]:
            console.print(f"[dim]{say('run_note', lang)}[/] {escape(line)}", highlight=False, soft_wrap=True)
    rows = s.get("rows") or {}
    if rows.get("registered_model") and rows["registered_model"] > rows.get("train", 0):
        console.print(say("run_refit", lang, test=rows["test"], train=rows["train"], rows=rows["registered_model"]),
                      highlight=False)
    if d:
        state = f"[green]{say('run_champion', lang)}[/]" if d["promoted"] else f"[yellow]{say('run_challenger', lang)}[/]"
        console.print(say("run_registered", lang, model=escape(d.get("model") or card_id), version=d["version"], state=state,
                          reason=escape(decision_reason(d, card_id, lang))), soft_wrap=True)
    console.print(escape(say("run_mlflow", lang, run=outcome.run_id, store=settings.tracking_uri())), highlight=False)
    console.print(escape(say("run_notebook", lang, path=str(outcome.executed_notebook))), highlight=False)
    console.print(escape(say("run_ui", lang, card=card_id)), highlight=False, soft_wrap=True)


@app.command()
def predict(card_id: str = typer.Argument(..., help="card id"),
            input: Path = typer.Option(..., "--input", help="CSV/Excel/Parquet with the card's input columns, "
                                                          "or a folder of them"),
            output: Path = typer.Option(..., "--output", help="where to write predictions: .csv, .xlsx (the input's "
                                        "columns, one sheet) or .parquet"),
            site: Optional[str] = typer.Option(None, "--site", help=SITE_HELP),
            alias: str = typer.Option("champion", "--alias", help="registered model alias"),
            version: Optional[int] = typer.Option(None, "--version", help="registered model version (instead of alias)"),
            map_: Optional[list[str]] = typer.Option(None, "--map", help=MAP_HELP),
            sheet: Optional[str] = typer.Option(None, "--sheet", help=SHEET_HELP),
            lang: Optional[str] = typer.Option(None, "--lang", help=LANG_HELP),
            chunk_rows: int = typer.Option(100_000, "--chunk-rows", min=1, help="rows scored at a time (memory)"),
            strict: bool = typer.Option(False, "--strict", help=STRICT_HELP),
            dayfirst: bool = typer.Option(False, "--dayfirst", help="dates such as 03/04/2024 are 3 April"),
            monthfirst: bool = typer.Option(False, "--monthfirst", help="dates such as 03/04/2024 are 4 March"),
            na: Optional[list[str]] = typer.Option(None, "--na", help=NA_HELP),
            interval: float = typer.Option(0.9, "--interval", min=0.5, max=0.99, help="level of the "
                                           "prediction_lower/prediction_upper columns (regression, RUL, forecast)"),
            force: bool = typer.Option(False, "--force", help="replace an existing --output file"),
            quiet: bool = typer.Option(False, "--quiet", help="no progress bar")):
    """Score a file with a registered model, in chunks: input columns, prediction, probability or score,
    model id and version, and the input row number (Korean headers with --lang ko); then one line on
    whether the file still looks like the model's training data (`workbench drift` gives the whole
    comparison)."""
    from . import messages
    from .drift import Sample
    from .predict import predict_file

    lang = messages.lang_or_default(_lang(lang))
    options = _options(None, strict, dayfirst, monthfirst, na)
    _show_notes()
    try:
        card_id, name = _model(card_id, site, lang)
        written = predict_file(card_id, input, output, alias=alias, version=version,
                               column_map=_parse_map(map_, lang), sheet=sheet, lang=lang,
                               chunk_rows=chunk_rows, progress=not quiet, options=options, interval=interval,
                               on_chunk=(sample := Sample()).add, overwrite=force, site=_site_of(name))
    except WorkbenchError as exc:
        _fail(exc)
    console.print(escape(messages.say("predict_done", lang, rows=written.rows, model=name, version=written.version,
                                      path=output, seconds=written.seconds, load=written.load_seconds,
                                      rate=written.rows_per_second)), highlight=False, soft_wrap=True)
    _drift_line(card_id, written.version, sample, lang, site=_site_of(name))


@app.command()
def serve(card_id: Optional[str] = typer.Argument(None, help="card id, or CARD.SITE (or --all)"),
          all_: bool = typer.Option(False, "--all", help="every registered model's champion from one process: each "
                                    "card's reference model and each site's CARD.SITE, by its own id"),
          site: Optional[str] = typer.Option(None, "--site", help=SITE_HELP + " (one model)"),
          alias: str = typer.Option("champion", "--alias", help="registered model alias (one model)"),
          version: Optional[int] = typer.Option(None, "--version", help="registered model version (one model)"),
          host: str = typer.Option("127.0.0.1", "--host", help="loopback by default; 0.0.0.0 opens it to the network"),
          port: Optional[int] = typer.Option(None, "--port", help="default 5001 for one model, 8000 for --all"),
          poll: float = typer.Option(60.0, "--poll", help="re-read the registry every N s for newly promoted "
                                     "models (0: only POST /reload)"),
          threads: int = typer.Option(1, "--threads", min=1, help="booster threads per request"),
          workers: int = typer.Option(2, "--workers", min=1, help="requests worked on at once (the rest wait)"),
          remember: bool = typer.Option(False, "--remember", help="keep each unit's recent rows for models whose "
                                        "features look back, so rows sent one at a time are scored as in a file "
                                        "(7-22 ms a row instead of 2-4)"),
          timeout: float = typer.Option(60.0, "--timeout", min=1, help="seconds of work one request may take (503)"),
          allow_host: Optional[list[str]] = typer.Option(None, "--allow-host", help="a Host name clients use beside "
                                                         "127.0.0.1/localhost, e.g. the PC's name (repeatable; * any)"),
          cors_origin: Optional[list[str]] = typer.Option(None, "--cors-origin", help="a web origin allowed to call "
                                                          "it from a browser, e.g. http://dashboard:3000 (repeatable)")):
    """Serve a registered model, or (--all) every champion, from one process: requests checked against the
    card, Host names and (with WORKBENCH_SERVE_TOKEN set) a bearer token checked on every request."""
    from . import serving
    from .serve_checks import Limits

    if all_ == (card_id is not None):
        raise typer.BadParameter("give a card id, or --all (not both)")
    if all_ and site is not None:
        raise typer.BadParameter("--all serves every site's champion already: --site goes with one card id")
    port = port or (8000 if all_ else 5001)
    options = dict(host=host, port=port, poll_s=poll, threads=threads, workers=workers,
                   limits=Limits(seconds=timeout), allow_hosts=allow_host, cors_origins=cors_origin,
                   remember=remember)
    try:
        if all_:
            console.print(f"serving every champion on http://{host}:{port}  "
                          f"(GET /models, POST /models/ID/invocations, POST /reload); Ctrl-C stops it")
            serving.serve_all(**options)
        else:
            card_id, name = _model(card_id, site)
            console.print(f"serving {escape(name)}{'/' + str(version) if version else '@' + alias} on "
                          f"http://{host}:{port}/invocations; Ctrl-C stops it")
            serving.serve_one(card_id, alias=alias, version=version, site=_site_of(name), **options)
    except WorkbenchError as exc:
        _fail(exc)


@app.command()
def promote(card_id: str = typer.Argument(..., help="card id, or a registered name CARD.SITE as `workbench models` lists it"),
            version: int = typer.Option(..., "--version", help="the version to make champion"),
            site: Optional[str] = typer.Option(None, "--site", help=SITE_HELP)):
    """Make a registered version the champion by hand (recorded on the version)."""
    from . import registry, tracking

    try:
        card_id, name = _model(card_id, site)
        tracking.configure()
        before = registry.promote(name, version)
    except WorkbenchError as exc:
        _fail(exc)
    was = f"v{before}" if before else "none"
    console.print(f"{escape(name)} v{version} is champion (before: {was}). A running `workbench serve --all` picks it "
                  f"up at its next poll, or at once with POST /reload.")


@app.command()
def models(card_id: Optional[str] = typer.Argument(None, help="one card id (default: every registered model)")):
    """Registered models by card and site (the card's reference data, or a plant's data line registered as
    CARD.SITE, each with its own champion): versions, aliases (champion, challenger) and test metrics."""
    from datetime import datetime

    from . import registry, tracking

    tracking.configure()
    try:
        rows = registry.versions(card_id=registry.split_name(card_id)[0]) if card_id else registry.versions()
        if card_id and registry.split_name(card_id)[1] != registry.REFERENCE_SITE:  # one site: CARD.SITE
            rows = [r for r in rows if r.name == card_id]
    except WorkbenchError as exc:
        _fail(exc)
    if not rows:
        console.print("no registered models yet: `workbench run CARD_ID` trains and registers one")
        return
    from .stale_runs import unfinished_versions

    unfinished = unfinished_versions()  # registered by a run that was killed before it finished
    table = Table()
    table.add_column("id", no_wrap=True)  # what people copy into `promote`, `predict` and `serve`
    for header in ("site", "v", "aliases", "test metric", "registered", *(["note"] if unfinished else [])):
        table.add_column(header, no_wrap=header not in ("test metric", "note"))
    primary = {}
    previous = None
    for row in rows:
        if previous is not None and previous != row.name:
            table.add_section()  # one block per registered model: a card's reference model, then each site's
        previous = row.name
        if row.card_id not in primary:
            try:
                primary[row.card_id] = cards.load_card(row.card_id).metric.primary
            except WorkbenchError:  # a registered model whose card is gone: show what it has
                primary[row.card_id] = next((k[5:] for k in row.metrics if k.startswith("test_")), "")
        name = primary[row.card_id]
        value = row.metrics.get(f"test_{name}")
        when = datetime.fromtimestamp(row.created / 1000).strftime("%m-%d %H:%M") if row.created else ""
        note = (["[yellow]unfinished run[/] (killed before it ended: no notebook or report; promote by hand or "
                 "delete)" if (row.name, row.version) in unfinished else ""] if unfinished else [])
        table.add_row(escape(row.name), escape(row.site), str(row.version), ", ".join(row.aliases),
                      f"{name} {value:.4g}" if value is not None else "", when, *note)
    console.print(table)


@app.command()
def optimize(card_id: str = typer.Argument(..., help="card id of a quality card with `settings`"),
             fix: Optional[list[str]] = typer.Option(None, "--fix", help="COLUMN=VALUE held fixed (repeatable)"),
             top: int = typer.Option(5, "--top", min=1, help="how many recommendations"),
             trials: int = typer.Option(300, "--trials", min=1, help="Optuna trials on the champion model"),
             data: Optional[Path] = typer.Option(None, "--data", help="operating data (default: reference data)"),
             map_: Optional[list[str]] = typer.Option(None, "--map", help=MAP_HELP),
             alias: str = typer.Option("champion", "--alias", help="registered model alias"),
             seed: int = typer.Option(0, "--seed")):
    """Recommend settings: search the card's controllable inputs on the champion model, within the card's bounds."""
    from . import data as data_module
    from .optimize import recommend

    fixed = {}
    for pair in fix or []:
        name, _, value = pair.partition("=")
        try:
            fixed[name.strip()] = float(value)
        except ValueError:
            raise typer.BadParameter(f"--fix takes COLUMN=NUMBER, not {pair!r}") from None
    try:
        card = cards.load_card(card_id)
        dataset = data_module.load(card, data, _parse_map(map_))
        found = recommend(card, dataset, top=top, n_trials=trials, fixed=fixed, alias=alias, seed=seed, progress=True)
    except WorkbenchError as exc:
        _fail(exc)
    # One row per setting, one column per recommendation: setting names stay whole on narrow terminals.
    table = Table("", "median settings", *[f"#{i + 1}" for i in range(len(found.table))])
    table.columns[0].no_wrap = True
    shown = {**found.median_settings.to_dict(), **fixed, "predicted": found.median_predicted,
             "distance_sd": 0.0, "inside_data": True}
    for name in found.table.columns:
        cells = [shown.get(name, ""), *found.table[name]]
        table.add_row(escape(name), *[f"{v:.4g}" if isinstance(v, float) else escape(str(v)) for v in cells])
    console.print(table)
    console.print(escape(found.summary()))


@app.command()
def check(card_id: str = typer.Argument(..., help="card id"),
          data: Path = typer.Option(..., "--data", help="your CSV/TSV/Excel/Parquet file, or a folder of them"),
          map_: Optional[list[str]] = typer.Option(None, "--map", help=MAP_HELP),
          sheet: Optional[str] = typer.Option(None, "--sheet", help=SHEET_HELP),
          lang: Optional[str] = typer.Option(None, "--lang", help=LANG_HELP),
          for_predict: bool = typer.Option(False, "--predict", help="check new data to score (no target needed)"),
          split: Optional[str] = typer.Option(None, "--split", help=SPLIT_HELP),
          strict: bool = typer.Option(False, "--strict", help=STRICT_HELP),
          dayfirst: bool = typer.Option(False, "--dayfirst", help="dates such as 03/04/2024 are 3 April"),
          monthfirst: bool = typer.Option(False, "--monthfirst", help="dates such as 03/04/2024 are 4 March"),
          na: Optional[list[str]] = typer.Option(None, "--na", help=NA_HELP),
          positive: Optional[str] = typer.Option(None, "--positive", help=POSITIVE_HELP),
          labels: Optional[Path] = typer.Option(None, "--labels", help=LABELS_HELP),
          on: Optional[str] = typer.Option(None, "--on", help=ON_HELP),
          failed: Optional[str] = typer.Option(None, "--failed", help=FAILED_HELP)):
    """Check a file against a card without training: columns matched, missing values, ranges, target balance,
    time order, duplicates, and whether the card's split is possible; every decision `run` would make on
    it (absent columns, fallback split, values set missing) as a note. Exit code 2 when it has problems."""
    from .check_report import check as check_file

    lang = _lang(lang)
    options = _options(split, strict, dayfirst, monthfirst, na, positive=positive, labels=labels, on=on, failed=failed)
    try:
        card = cards.load_card(card_id)
        report = check_file(card, data, column_map=_parse_map(map_, lang), sheet=sheet, lang=lang,
                            for_predict=for_predict, options=options)
    except WorkbenchError as exc:
        _fail(exc)
    typer.echo(report.render(lang))
    if not report.ok:
        raise typer.Exit(report.errors[0].exit_code)


@app.command()
def template(card_id: str = typer.Argument(..., help="card id"),
             lang: Optional[str] = typer.Option(None, "--lang", help="header language: ko (Korean names) | en"),
             format_: str = typer.Option("csv", "--format", help="csv | xlsx"),
             output: Optional[Path] = typer.Option(None, "--output", help="file to write (default: <card>_template.<format>)"),
             rows: int = typer.Option(30, "--rows", min=1, help="example rows")):
    """Write an input file for a card: the header it expects (with units), example rows, and for Excel a second
    sheet explaining each column (unit, allowed range, kind). Fill it with your data, then `workbench check`."""
    from . import messages
    from .templates import write_template

    lang = _lang(lang) or settings.language()
    if format_ not in ("csv", "xlsx"):
        raise typer.BadParameter(messages.say("template_format", lang, value=format_))
    try:
        card = cards.load_card(card_id)
        path = write_template(card, output or Path(f"{card.id}_template.{format_}"), lang=lang, rows=rows)
    except WorkbenchError as exc:
        _fail(exc)
    console.print(escape(messages.say("template_done", lang, path=path, columns=len(card.columns) + 1, rows=rows)),
                  highlight=False, soft_wrap=True)
    console.print(escape(messages.say("template_next", lang, card=card.id, path=path)), highlight=False, soft_wrap=True)


@app.command()
def new(card_id: str = typer.Argument(..., help="id of the new card, e.g. my-press-quality"),
        data: Path = typer.Option(..., "--data", help="your CSV/TSV/Excel/Parquet file"),
        target: str = typer.Option(..., "--target", help="the column to predict"),
        task: Optional[str] = typer.Option(None, "--task", help="binary | multiclass | regression | forecast | rul "
                                                                 "(default: guessed from the target)"),
        time: Optional[str] = typer.Option(None, "--time", help="time stamp column (time split)"),
        group: Optional[str] = typer.Option(None, "--group", help="machine/unit column (group split)"),
        sheet: Optional[str] = typer.Option(None, "--sheet", help=SHEET_HELP),
        lang: Optional[str] = typer.Option(None, "--lang", help=LANG_HELP),
        dayfirst: bool = typer.Option(False, "--dayfirst", help="dates such as 03/04/2024 are 3 April"),
        monthfirst: bool = typer.Option(False, "--monthfirst", help="dates such as 03/04/2024 are 4 March"),
        force: bool = typer.Option(False, "--force", help="overwrite an existing card and notebook")):
    """Make a card and a notebook for a process that has none yet, from a data file: columns, inferred kinds and
    observed ranges, the task guessed from the target. Then `workbench run ID` trains it like any other card."""
    from .newcard import new_card

    lang = _lang(lang)
    try:
        made = new_card(card_id, data, target, task=task, time=time, group=group, sheet=sheet, lang=lang,
                        overwrite=force, dates=_options(dayfirst=dayfirst, monthfirst=monthfirst).dates)
    except WorkbenchError as exc:
        _fail(exc)
    typer.echo(made.summary(lang))


@app.command()
def catalog(industry: Optional[str] = typer.Option(None, "--industry", help="e.g. casting, welding"),
            equipment: Optional[str] = typer.Option(None, "--equipment", help="words of the equipment name (en or ko)"),
            task: Optional[str] = typer.Option(None, "--task", help="binary | multiclass | regression | rul | anomaly | forecast"),
            markdown: bool = typer.Option(False, "--markdown", help="print Markdown (docs/catalog.md is this output)")):
    """The catalog as a table: industry, equipment, task, metric and reference data of every standard model."""
    broken: list = []
    rows = cards.catalog_rows(industry=industry, equipment=equipment, task=task, broken=broken)
    if markdown:
        typer.echo(cards.catalog_markdown(rows), nl=False)
        _broken_cards(broken)
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)  # fits 100 columns: the ids never wrap
    for header in ("id", "metric", "data", "last real test (baseline)"):
        table.add_column(header, no_wrap=header in ("id", "metric"), min_width=26 if header == "data" else None)
    listing = cards.catalog_table_rows(rows, cards.last_real_results([r[0] for r in rows]))
    for row in listing:
        table.add_row(*map(escape, row))
    console.print(table)
    real = sum(1 for row in listing if row[2].startswith("real"))
    console.print(f"{len(rows)} standard models, {real} on real data here, {len(rows) - real} on their simulator "
                  f"or a plant file (public data: WORKBENCH_DATA_DIR, see datasets/sources.yaml)")
    _broken_cards(broken)


@app.command()
def validate(card_ids: Optional[list[str]] = typer.Argument(None, help="card ids (or --all)"),
             all_: bool = typer.Option(False, "--all", help="every card in the catalog"),
             budget: str = typer.Option("nightly", "--budget", help="smoke | nightly | full"),
             workers: Optional[int] = typer.Option(None, "--workers", min=1,
                                                   help="local worker processes (default: sized to the machine)"),
             scheduler: Optional[str] = typer.Option(None, "--scheduler",
                                                     help="an existing Dask cluster, e.g. tcp://10.0.0.5:8786"),
             report: Path = typer.Option(Path("reports/validation"), "--report",
                                         help="folder for report.html, junit.xml and the executed notebooks")):
    """Nightly validation: run cards' notebooks in parallel (Dask), check each, write JUnit XML and an HTML report.

    Validation runs are tagged workbench.kind=validation in MLflow and never replace a champion.
    Exits 1 when any check fails."""
    from . import nightly as validation

    if budget not in validation.BUDGETS:
        raise typer.BadParameter(f"--budget must be one of {', '.join(validation.BUDGETS)}")
    if all_ == bool(card_ids):
        raise typer.BadParameter("name card ids or pass --all (not both)")
    known = cards.list_ids()
    unknown = [c for c in card_ids or [] if c not in known]
    if unknown:
        _fail(WorkbenchError(f"Unknown card(s) {', '.join(unknown)}; known cards: {', '.join(known)}."))
    ids = known if all_ else list(dict.fromkeys(card_ids))
    if scheduler:
        _check_scheduler(scheduler)
    chosen = validation.BUDGETS[budget]
    console.print(f"validating {len(ids)} card(s) at the {budget} budget ({chosen.n_trials} trials, "
                  f"tuning ≤ {chosen.timeout_s} s, card ≤ {chosen.wall_s:.0f} s)")

    def progress(result):
        state = "[green]passed[/]" if result.passed else f"[red]failed[/] ({', '.join(result.failed_checks)})"
        console.print(f"  {result.card_id}: {state} in {result.seconds:.0f} s")

    batch = validation.validate(ids, chosen, workers=workers, scheduler=scheduler, on_result=progress)
    written = validation.write_reports(batch, report)
    table = Table("", title=f"validation ({budget}): {len(batch.results)} cards in {batch.seconds:.0f} s, "
                            f"{batch.engine}")
    table.add_column("card", no_wrap=True)
    for header in ("test metric", "baseline", "data", "champion", "s", "failed checks"):
        table.add_column(header)
    for r in batch.results:
        sign = "≥" if r.higher_is_better else "≤"
        metric = "" if r.value is None else f"{r.metric} {r.value:.4g} {sign} {r.accept}"
        champion = "" if r.champion_value is None else f"{r.champion_value:.4g} v{r.champion_version}"
        baseline = "" if r.baseline is None else f"{r.baseline:.4g}"
        table.add_row("[green]PASS[/]" if r.passed else "[red]FAIL[/]", r.card_id, metric, baseline, r.data_kind,
                      champion, f"{r.seconds:.0f}", ", ".join(r.failed_checks))
    console.print(table)
    console.print(f"HTML report: {escape(str(written['html']))}\nJUnit XML:   {escape(str(written['junit']))}")
    failing = sum(not r.passed for r in batch.results)
    if failing:
        console.print(f"[bold red]{failing} of {len(batch.results)} card(s) failed a check[/]")
        raise typer.Exit(1)
    console.print(f"[bold green]all {len(batch.results)} card(s) passed every check[/]")


def _drift_line(card_id: str, version: int, sample, lang: str | None, site: str | None = None) -> None:
    """One line after `predict`: the scored rows against the version's training data."""
    from . import messages
    from .drift import compare, for_version

    try:
        _, reference = for_version(card_id, version=version, site=site)
    except WorkbenchError as exc:
        err.print(f"[dim]{escape(messages.say('drift_not_checked', lang, why=exc))}[/]", highlight=False, soft_wrap=True)
        return
    found = compare(reference, sample.frame())
    style = {"drift": "bold red", "watch": "yellow"}.get(found.verdict, "green")
    details = messages.say("drift_details", lang, card=card_id, version=version, site=f" --site {site}" if site else "")
    console.print(f"[{style}]{escape(found.summary(lang))}[/] [dim]({escape(details)})[/]", highlight=False,
                  soft_wrap=True)


def _site_of(name: str) -> str | None:
    """The site of a registered name, None for the reference-data model."""
    from . import registry

    site = registry.split_name(name)[1]
    return None if site == registry.REFERENCE_SITE else site


@app.command()
def drift(card_id: str = typer.Argument(..., help="card id"),
          input: Path = typer.Option(..., "--input", help="CSV/Excel/Parquet to compare, read as `predict` reads it"),
          site: Optional[str] = typer.Option(None, "--site", help=SITE_HELP),
          version: Optional[int] = typer.Option(None, "--version", help="registered model version (instead of alias)"),
          alias: str = typer.Option("champion", "--alias", help="registered model alias"),
          json_: bool = typer.Option(False, "--json", help="print the comparison as JSON"),
          fail_on_drift: bool = typer.Option(False, "--fail-on-drift", help="exit 1 when an input drifted (for CI)"),
          map_: Optional[list[str]] = typer.Option(None, "--map", help=MAP_HELP),
          sheet: Optional[str] = typer.Option(None, "--sheet", help=SHEET_HELP),
          lang: Optional[str] = typer.Option(None, "--lang", help=LANG_HELP),
          dayfirst: bool = typer.Option(False, "--dayfirst", help="dates such as 03/04/2024 are 3 April"),
          monthfirst: bool = typer.Option(False, "--monthfirst", help="dates such as 03/04/2024 are 4 March"),
          na: Optional[list[str]] = typer.Option(None, "--na", help=NA_HELP)):
    """Does a file still look like the data a registered model was trained on? Per input a PSI and a two-sample
    test (KS for numbers, chi-square for categories), a verdict per input and overall. Exit 0 with the report;
    with --fail-on-drift, 1 when an input drifted."""
    import json

    from . import messages
    from .drift import check_file

    lang = messages.lang_or_default(_lang(lang))
    options = _options(None, False, dayfirst, monthfirst, na)
    try:
        card_id, name = _model(card_id, site, lang)
        mv, found, seen = check_file(card_id, input, alias=alias, version=version, column_map=_parse_map(map_, lang),
                                     sheet=sheet, lang=lang, options=options, site=_site_of(name))
    except WorkbenchError as exc:
        _fail(exc)
    if json_:
        typer.echo(json.dumps({"card": card_id, "model": name, "version": int(mv.version), "file": str(input),
                               "rows_read": seen, **found.as_dict()}, ensure_ascii=False, indent=2))
    else:
        table = Table(*messages.DRIFT_HEADERS[lang], title=f"{escape(name)} v{mv.version} · {escape(input.name)}")
        table.columns[0].no_wrap = True
        styles = {"drift": "bold red", "absent": "bold red", "watch": "yellow", "stable": "green"}
        for c in found.columns:
            p = "" if c.p_adjusted is None else f"{c.p_adjusted:.2g}"
            word = messages.drift_word(c.verdict, lang)
            table.add_row(escape(c.column), c.kind, escape(c.reference), escape(c.new), "" if c.psi is None else f"{c.psi:.3f}",
                          c.test, p, f"[{styles.get(c.verdict, 'dim')}]{word}[/]")
        console.print(table)
        console.print(escape(found.summary(lang)), highlight=False, soft_wrap=True)
        console.print(f"[dim]{escape(found.rule(lang))}[/]", highlight=False, soft_wrap=True)
    if fail_on_drift and found.has_drift:
        raise typer.Exit(1)


@app.command()
def report(card_id: str = typer.Argument(..., help="card id"),
           site: Optional[str] = typer.Option(None, "--site", help=SITE_HELP),
           version: Optional[int] = typer.Option(None, "--version", help="registered model version (instead of alias)"),
           alias: str = typer.Option("champion", "--alias", help="registered model alias"),
           lang: Optional[str] = typer.Option(None, "--lang", help="ko | en (default: from the locale, or WORKBENCH_LANG)"),
           output: Optional[Path] = typer.Option(None, "--output", help="HTML file to write "
                                                 "(default: <card>-v<version>-report-<lang>.html)")):
    """One self-contained HTML page on a registered model for a plant manager: what it is for, the data it
    learnt from, its test result beside the naive baseline and the acceptance threshold, alarm costs or
    prediction intervals, what drives it, the drift reference, known limits and the champion decision."""
    from . import messages, model_report

    lang = messages.lang_or_default(_lang(lang))
    card_id, name = _model(card_id, site, lang)  # a site's model (CARD.SITE) as predict and drift name it
    try:
        mv = model_report.resolve(name, version, alias)
        path = model_report.write(name, output or Path(f"{name}-v{mv.version}-report-{lang}.html"),
                                  version=int(mv.version), lang=lang)
    except WorkbenchError as exc:
        _fail(exc)
    console.print(f"wrote {escape(str(path))}: {name} v{mv.version} ({lang}, {path.stat().st_size / 1e3:,.0f} kB, "
                  f"images and fonts inside; open it in any browser)")


BROWSER_HELP = "open a web browser on it (default: when this machine has a display; never in a container or over ssh)"


def _has_display() -> bool:
    """A browser can open here: Windows and macOS always; elsewhere an X11 or Wayland display is set."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _in_container() -> bool:
    return Path("/.dockerenv").exists() or Path("/run/.containerenv").exists()


def _reach_note(host: str, port: int, flag: str = "--host") -> None:
    """In a container a loopback server cannot be reached from the host's browser: say how, once."""
    if host in ("127.0.0.1", "localhost", "::1") and _in_container():
        console.print(f"[dim]note: this looks like a container, where 127.0.0.1 is the container's own: to open it "
                      f"from the host, publish the port (docker run -p {port}:{port} ...) and pass {flag} 0.0.0.0[/]",
                      highlight=False, soft_wrap=True)


def _open_browser_soon(url: str, delay_s: float = 2.0) -> None:
    import threading
    import webbrowser

    threading.Timer(delay_s, webbrowser.open, args=(url,)).start()


@app.command()
def ui(port: int = typer.Option(5000, "--port"), host: str = typer.Option("127.0.0.1", "--host"),
       browser: Optional[bool] = typer.Option(None, "--browser/--no-browser", help=BROWSER_HELP)):
    """Open the MLflow UI on the workbench's store (loopback only by default)."""
    uri = settings.tracking_uri()
    cmd = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", host, "--port", str(port)]
    root = settings.artifact_root(uri)
    if root:
        cmd += ["--default-artifact-root", root]
    console.print(f"MLflow UI on http://{host}:{port}  (store {uri}); Ctrl-C stops it")
    _reach_note(host, port)
    if browser if browser is not None else _has_display():
        _open_browser_soon(f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}")
    raise typer.Exit(subprocess.call(cmd))


def card_studies(card_id: str, storage: str) -> list[tuple[int, str, int]]:
    """The card's Optuna studies in ``storage`` (one per data and design), newest first, as
    ``(study id, name, trials)``; an absent SQLite file is not created."""
    import optuna

    if storage.startswith("sqlite:///") and not Path(storage.removeprefix("sqlite:///")).exists():
        return []
    from .tuning import open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rdb = open_storage(storage)  # waits out a run that is creating the tables this moment
    found = [(s._study_id, s.study_name, rdb.get_n_trials(s._study_id)) for s in rdb.get_all_studies()
             if s.study_name == card_id or s.study_name.startswith(f"{card_id}-")]
    rdb.remove_session()
    return sorted(found, reverse=True)


@app.command()
def dashboard(card_id: str = typer.Argument(..., help="card id"),
              port: int = typer.Option(8080, "--port"),
              host: str = typer.Option("127.0.0.1", "--host", help="loopback by default; 0.0.0.0 opens it to the network"),
              browser: Optional[bool] = typer.Option(None, "--browser/--no-browser", help=BROWSER_HELP)):
    """Open optuna-dashboard on the card's Optuna study: every trial, the optimisation history, parameter
    importances and slices, live while a run tunes (the same storage as `workbench run`, loopback by default)."""
    try:
        card = cards.load_card(card_id)
    except WorkbenchError as exc:
        _fail(exc)
    storage = settings.optuna_storage()
    studies = card_studies(card.id, storage)
    if not studies:
        _fail(WorkbenchError(f"No Optuna study of {card.id} in {storage} yet: `workbench run {card.id}` tunes one "
                             f"(WORKBENCH_OPTUNA_STORAGE or MLFLOW_TRACKING_URI point at another store)."))
    study_id, name, n = studies[0]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}/dashboard/studies/{study_id}"
    others = f"; {len(studies) - 1} older stud{'y' if len(studies) == 2 else 'ies'} of it in the list" if len(studies) > 1 else ""
    console.print(f"optuna-dashboard on {url}  (study {escape(name)}, {n} trials{others}; storage {escape(storage)}); "
                  f"Ctrl-C stops it", highlight=False, soft_wrap=True)
    _reach_note(host, port)
    if browser if browser is not None else _has_display():
        _open_browser_soon(url)
    cmd = [sys.executable, "-c", "from optuna_dashboard._cli import main; main()", storage, "--host", host,
           "--port", str(port)]
    raise typer.Exit(subprocess.call(cmd))


def lab_command(port: int, host: str, browser: bool, as_root: bool) -> list[str]:
    """The JupyterLab command line: as root (every container) Lab refuses to start without --allow-root."""
    cmd = [sys.executable, "-m", "jupyter", "lab", "--ip", host, "--port", str(port),
           f"--ServerApp.root_dir={settings.notebooks_dir()}"]
    if not browser:
        cmd.append("--no-browser")
    if as_root:
        cmd.append("--allow-root")
    return cmd


@app.command()
def lab(port: int = typer.Option(8888, "--port"),
        host: str = typer.Option("127.0.0.1", "--host", help="loopback by default; 0.0.0.0 in a container whose port "
                                 "is published"),
        browser: Optional[bool] = typer.Option(None, "--browser/--no-browser", help=BROWSER_HELP)):
    """JupyterLab in notebooks/, logging to the same MLflow store as `workbench run`. Run as root (as in most
    containers) it starts with Jupyter's --allow-root, and says so."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": settings.tracking_uri()}
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if as_root:
        console.print("[dim]note: running as root (a container?): JupyterLab is started with --allow-root; its "
                      "kernels, like Lab, run as root[/]", highlight=False, soft_wrap=True)
    _reach_note(host, port)
    cmd = lab_command(port, host, browser if browser is not None else _has_display(), as_root)
    raise typer.Exit(subprocess.call(cmd, env=env, cwd=settings.notebooks_dir()))


def _conventions(typer_app: typer.Typer) -> None:
    """What every command's help follows, set once here rather than on each option: a flag shows no type
    (``--quiet``, not ``--quiet <bool>``), an option that takes a value shows its name in capitals
    (``--trials TRIALS``), and docstrings read as paragraphs (their line breaks are the source's, not the
    reader's), with the first sentence as the command list's short help."""
    import inspect
    import re

    for command in typer_app.registered_commands + [typer_app.registered_callback]:
        if command is None or command.callback is None:
            continue
        for parameter in inspect.signature(command.callback).parameters.values():
            info = parameter.default
            if isinstance(info, typer.models.OptionInfo) and info.metavar is None:
                flag = parameter.annotation in (bool, "bool", Optional[bool], "Optional[bool]")
                longest = max((d for d in info.param_decls or () if d.startswith("--")), key=len, default="")
                info.metavar = "" if flag else longest.split("/")[0].lstrip("-").upper().replace("-", "_")
            elif isinstance(info, typer.models.ArgumentInfo) and info.metavar is None:
                info.metavar = parameter.name.upper()
        cls = getattr(command, "cls", None)
        if command is not typer_app.registered_callback and (not isinstance(cls, type) or cls is typer.core.TyperCommand):
            command.cls = _Command
        doc = command.help or inspect.getdoc(command.callback) or ""
        if doc and command.help is None:
            paragraphs = [re.sub(r"\s*\n\s*", " ", p.strip()) for p in doc.split("\n\n")]
            command.help = "\n\n".join(paragraphs)
            if command.short_help is None:
                first = re.split(r"(?<=\.)\s", paragraphs[0], maxsplit=1)[0]
                command.short_help = first


_conventions(app)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()

"""Hidden partial outputs (``.NAME.partial``) that a killed `workbench predict` left behind.

`predict` writes under a hidden name and renames the file when every row is scored, so a kill never
leaves a half file under the name asked for; but the hidden file stays (issue 19: 14.7 MB). Each
predict records its partial file in a small ledger beside the store (one JSON file per predict: the
partial's path and the writing process as ``stale_runs.process_tag`` gives it) and removes the entry
when it ends. Any later `workbench` command sweeps the ledger: a partial whose writer is gone is
deleted. A predict also sweeps the folder it writes to, which catches partials the ledger does not know
(written under another store, or by a version before the ledger) once nothing has written to them for
``QUIET_S``: a live predict writes a chunk every few seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from pathlib import Path

from . import settings, stale_runs

SUFFIX = ".partial"
QUIET_S = 15 * 60  # a partial nobody claims and nobody wrote to for this long is a dead predict's


def partial_path(output: Path) -> Path:
    return output.with_name(f".{output.name}{SUFFIX}")


def ledger_dir(uri: str | None = None) -> Path:
    """Beside a local SQLite store (so each store, and each test's, has its own), else under mlruns/."""
    db = settings._sqlite_path(uri or settings.tracking_uri())
    return (db.parent if db else settings.mlruns_dir()) / ".partials"


@contextlib.contextmanager
def claimed(partial: Path):
    """Record ``partial`` as this process's while the block runs."""
    folder = ledger_dir()
    entry = folder / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        entry.write_text(json.dumps({"partial": str(partial.resolve()), "process": stale_runs.process_tag()}))
    except OSError:  # a read-only store folder: the folder sweep still finds it later
        entry = None
    try:
        yield
    finally:
        if entry is not None:
            entry.unlink(missing_ok=True)


def _entries(folder: Path) -> list[tuple[Path, Path, bool | None]]:
    """(ledger entry, partial, writer alive?) for each entry of the ledger."""
    found = []
    for entry in folder.glob("*.json") if folder.is_dir() else []:
        try:
            record = json.loads(entry.read_text())
            found.append((entry, Path(record["partial"]), stale_runs.alive(record["process"])))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # being written just now, or not ours
    return found


def sweep(folder: Path | None = None, uri: str | None = None) -> list[Path]:
    """Delete the partials of dead predicts: those in the ledger, and (given ``folder``) unclaimed ones in
    that folder untouched for ``QUIET_S``. Returns the partial files deleted."""
    removed = []
    entries = _entries(ledger_dir(uri))
    for entry, partial, alive in entries:
        if alive is False:  # None: written on another host, which this one cannot judge
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
                removed.append(partial)
            entry.unlink(missing_ok=True)
    if folder is not None and folder.is_dir():
        claimed_by_live = {p for _, p, alive in entries if alive is not False}
        for partial in folder.glob(f".*{SUFFIX}"):
            try:
                quiet = time.time() - partial.stat().st_mtime > QUIET_S
            except FileNotFoundError:
                continue
            if quiet and partial.resolve() not in claimed_by_live:
                partial.unlink(missing_ok=True)
                removed.append(partial)
    return removed

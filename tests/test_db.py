"""The embedded database's engine: what `sqlite://` and a file URL give."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import Database


def test_an_in_memory_database_keeps_its_rows_between_transactions_and_makes_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db = Database("sqlite://")
    with db.transaction() as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
        session.execute(text("INSERT INTO t VALUES (1)"))
    with db.transaction() as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
    db.dispose()
    assert list(tmp_path.iterdir()) == []


def test_a_file_database_gets_its_folder(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/var/unionbot.sqlite3")
    db.check_reachable()
    db.dispose()
    assert (tmp_path / "var" / "unionbot.sqlite3").exists()

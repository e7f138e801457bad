"""``isp-support agents add|list|disable|password``."""

from __future__ import annotations

import asyncio

import pytest

from app.cli import main
from dispatcher.agents import Agents
from reference.directory import default_directory
from storage import make_engine, make_sessionmaker


@pytest.fixture
def database(tmp_path, monkeypatch):
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PASSWORD_HASH_PROFILE", "insecure-fast")
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    return url


def _login(url: str, login: str, password: str):
    async def run():
        from datetime import timedelta

        engine = make_engine(url)
        try:
            agents = Agents(make_sessionmaker(engine), default_directory(), session_idle=timedelta(hours=1),
                            presence_timeout=timedelta(minutes=1))
            return await agents.login(login, password)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_add_list_password_disable(database, capsys, monkeypatch):
    assert main(["agents", "add", "anna", "--password", "pw1", "--cities", "Уфа,москва", "--departments", "subscriber"]) == 0
    assert main(["agents", "add", "chief", "--password", "pw2", "--cities", "all", "--departments", "all", "--supervisor"]) == 0
    assert main(["agents", "add", "anna", "--password", "x", "--cities", "all", "--departments", "all"]) == 1
    capsys.readouterr()
    assert main(["agents", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split("\t") == ["anna", "anna", "cities=Уфа,Москва", "departments=subscriber", "agent", "active"]
    assert out[1].split("\t")[2:5] == ["cities=all", "departments=all", "supervisor"]
    assert _login(database, "anna", "pw1") is not None

    answers = iter(["new-secret", "new-secret"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["agents", "password", "anna"]) == 0
    assert _login(database, "anna", "pw1") is None
    assert _login(database, "anna", "new-secret") is not None

    assert main(["agents", "disable", "anna"]) == 0
    assert _login(database, "anna", "new-secret") is None
    assert main(["agents", "disable", "nobody"]) == 1


def test_bad_scope_is_refused(database, capsys):
    assert main(["agents", "add", "x", "--password", "p", "--cities", "Атлантида", "--departments", "all"]) == 2
    assert "unknown city" in capsys.readouterr().err
    assert main(["agents", "add", "x", "--password", "p", "--cities", "all", "--departments", "sales"]) == 2

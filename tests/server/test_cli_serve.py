from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from server.app import create_app
from server.cli import main
from server.settings import Settings

from .conftest import AUTH, make_settings


def test_session_events_prints_the_log_as_jsonl(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path))) as client:
        client.post("/api/live/session/start", json={}, headers=AUTH)
        client.post("/api/live/pin", json={"code": "A2"}, headers=AUTH)
    result = CliRunner().invoke(main, ["session", "events", "1", "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["type"] for r in records] == ["session_started", "product_pinned"]
    assert records[1]["code"] == "A2" and records[1]["t"].endswith("Z")
    listed = CliRunner().invoke(main, ["session", "list", "--data", str(tmp_path)])
    assert listed.output.startswith("1\t")


def test_unknown_session_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["session", "events", "42", "--data", str(tmp_path)])
    assert result.exit_code == 1
    assert "no live session 42" in result.output


def test_catalog_import_names_the_bad_row_and_keeps_data(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(
        "code,name,price,unit,stock,aliases\nC1,Mắm tôm,30000,hũ,5,mắm\n", encoding="utf-8"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,name,price,unit,stock,aliases\nC1,Đổi,1,hũ,5,\nC2,x,-3,hũ,1,\n", encoding="utf-8"
    )
    data = ["--data", str(tmp_path / "d")]
    assert (
        CliRunner().invoke(main, ["catalog", "import", str(good), *data]).output
        == "1 added, 0 updated\n"
    )
    failed = CliRunner().invoke(main, ["catalog", "import", str(bad), *data])
    assert failed.exit_code == 1
    assert "row 3, column 'price'" in failed.output
    out = tmp_path / "out.xlsx"
    assert CliRunner().invoke(main, ["catalog", "export", str(out), *data]).exit_code == 0
    from chotdon.catalog import read_catalog

    assert [(r.code, r.name) for r in read_catalog(out)] == [("C1", "Mắm tôm")]


def test_settings_come_from_environment_and_flags_win(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CHOTDON_PORT", "9100")
    monkeypatch.setenv("CHOTDON_HELPER_TOKEN", "from-env-token")
    assert Settings().port == 9100
    assert Settings(port=9200).port == 9200
    assert Settings().helper_token == "from-env-token"


def test_bad_setting_is_a_clear_cli_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--port", "99999", "--data", str(tmp_path)])
    assert result.exit_code == 1 and "setting port" in result.output


def test_generated_secrets_are_kept_across_restarts(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = create_app(settings).state.ctx.secrets
    second = create_app(settings).state.ctx.secrets
    assert (
        first == second
        and len(first.helper_token) >= 12
        and first.helper_token != first.overlay_key
    )
    assert oct((tmp_path / "secrets.json").stat().st_mode)[-3:] == "600"

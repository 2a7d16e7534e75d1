"""Clip jobs on PostgreSQL (issue 15, item 4): the server queues, render workers run them.

A real PostgreSQL (tests/pg.py), a real ``chotdon render-worker`` process, real
ffmpeg on a short generated recording (tests/studio/conftest.py) and an injected
transcript, so no Whisper model runs; clips are 3-6 s to keep the renders short.
Waiting is polling a job's row for a named condition, with a deadline.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select

from server.app import create_app
from server.cli import main
from server.db import live_sessions, open_database
from server.events import append_event
from server.studio_queue import studio_jobs
from tests.studio.conftest import (  # noqa: F401 (fixtures)
    MakeRecording,
    iso,
    make_recording,
    sentences,
    speech_wav,
    transcript_json,
)

from .conftest import AUTH, make_settings

ROOT = Path(__file__).resolve().parents[2]
SAYINGS = ["Hạt dẻ giá một trăm nghìn.", "Chốt đơn nhé cả nhà.", "Còn ít hàng lắm."]
DEADLINE = 240.0  # seconds: renders on a loaded two-core machine
T = TypeVar("T")


def poll(what: str, probe: Callable[[], T | None], deadline: float = DEADLINE) -> T:
    """``probe()`` until it gives something, checked every 20 ms up to ``deadline``."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        found = probe()
        if found is not None and found is not False:
            return found
        time.sleep(0.02)  # the interval between looks, not a synchronisation
    raise AssertionError(f"timed out waiting for {what}")


def logged_session(engine: Engine, recording: Path) -> int:
    timeline: list[tuple[str, float, dict[str, Any]]] = [
        ("session_started", 0.0, {"title": "Live"}),
        ("recording_started", 0.0, {}),
        ("product_pinned", 2.0, {"code": "A1"}),
        ("order_created", 4.0, {"code": "A1", "qty": 1}),
        ("product_pinned", 14.0, {"code": "B4"}),
        ("session_stopped", 27.0, {}),
        ("recording_stopped", 28.0, {"path": str(recording)}),
    ]
    with engine.begin() as conn:
        session_id = conn.execute(
            insert(live_sessions).values(started_at=iso(0), title="Live")
        ).inserted_primary_key[0]
        for type_, at, data in timeline:
            append_event(conn, session_id, type_, t=iso(at), **data)
    return int(session_id)


class Worker:
    """A ``chotdon render-worker`` process (its own process group: ffmpeg dies with it)."""

    def __init__(self, url: str, data_dir: Path, log: Path) -> None:
        env = {**os.environ, "CHOTDON_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
        args = [sys.executable, "-c", "from server.cli import main; main()", "render-worker"]
        args += ["--data", str(data_dir), "--name", log.stem]
        # Short timings so a dead worker's job is taken back within seconds.
        args += ["--heartbeat", "0.3", "--stalled-after", "1.5", "--check-every", "0.3"]
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def hub(
    tmp_path: Path,
    postgres_url: str,
    make_recording: MakeRecording,  # noqa: F811
) -> Iterator[dict[str, Any]]:
    """A server on PostgreSQL with a logged session, and a way to start workers."""
    recording = tmp_path / "recordings" / "live.mp4"
    recording.parent.mkdir()
    shutil.copyfile(make_recording("queue-live.mp4", 28), recording)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    engine = open_database(data_dir / "chotdon.db", postgres_url)
    session_id = logged_session(engine, recording)
    transcript = tmp_path / "t.json"
    segments = sentences(0, 28, SAYINGS, every=2.0, length=1.8)
    transcript.write_text(json.dumps(transcript_json(segments)), encoding="utf-8")
    workers: list[Worker] = []

    def start_worker(name: str) -> Worker:
        worker = Worker(postgres_url, data_dir, tmp_path / f"{name}.log")
        workers.append(worker)
        return worker

    settings = make_settings(data_dir, database_url=postgres_url)
    try:
        with TestClient(create_app(settings)) as client:
            yield {
                "client": client,
                "session": session_id,
                "transcript": transcript,
                "recording": recording,
                "data": data_dir,
                "engine": engine,
                "url": postgres_url,
                "worker": start_worker,
            }
    finally:
        for worker in workers:
            worker.stop()
        engine.dispose()


def finished(
    client: TestClient, job_id: int, worker: Worker, auth: dict[str, str] = AUTH
) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        assert worker.process.poll() is None, f"the worker died:\n{worker.output()[-4000:]}"
        body: dict[str, Any] = client.get(f"/api/jobs/{job_id}", headers=auth).json()
        return body if body["status"] in ("done", "failed") else None

    return poll(f"job {job_id} to finish", probe)


def clip_files(data_dir: Path, session_id: int) -> list[Path]:
    return sorted((data_dir / "studio" / f"session-{session_id}" / "clips").glob("*.mp4"))


@pytest.mark.postgres
def test_a_worker_process_renders_what_the_server_queued(hub: dict[str, Any]) -> None:
    client, session_id = hub["client"], hub["session"]
    # The studio's session list reads the event log from PostgreSQL.
    listed = client.get("/api/studio/sessions", headers=AUTH).json()["sessions"]
    assert [(s["id"], s["recording"], s["recording_found"]) for s in listed] == [
        (session_id, str(hub["recording"]), True)
    ]
    body = {"transcript": str(hub["transcript"]), "min_len": 3, "max_len": 6}
    answer = client.post(f"/api/sessions/{session_id}/clips", json=body, headers=AUTH)
    assert answer.status_code == 200, answer.text
    job_id = answer.json()["job"]
    # Queued, and nothing runs it in the server process.
    queued = client.get(f"/api/sessions/{session_id}/clips", headers=AUTH).json()
    assert [j["status"] for j in queued["jobs"]] == ["queued"] and queued["clips"] == []
    assert queued["render_workers"] == 0  # the page says that no worker runs yet

    worker = hub["worker"]("worker-a")
    job = finished(client, job_id, worker)
    assert job["status"] == "done", job
    assert job["progress"] == 1.0 and job["attempts"] == 1 and job["worker"] == "worker-a"

    listing = client.get(f"/api/sessions/{session_id}/clips", headers=AUTH).json()
    assert listing["jobs"] == [] and listing["last_job"]["id"] == job_id
    assert listing["render_workers"] == 1
    clips = {c["code"]: c for c in listing["clips"]}
    assert set(clips) == {"A1", "B4"}
    assert all(c["status"] == "ready" and c["error"] is None for c in clips.values())
    files = clip_files(hub["data"], session_id)
    assert sorted(f.name for f in files) == sorted(c["file"] for c in clips.values())
    assert client.get(clips["A1"]["video"]).content[4:8] == b"ftyp"

    # An edit, re-rendered by the worker; only that clip's file changes.
    a1 = clips["A1"]
    mtimes = {f.name: f.stat().st_mtime_ns for f in files}
    edited = client.patch(f"/api/clips/{a1['id']}", json={"style": "plain"}, headers=AUTH)
    assert edited.json()["stale"] is True
    render = client.post(f"/api/clips/{a1['id']}/render", headers=AUTH).json()["job"]
    assert finished(client, render, worker)["status"] == "done"
    after = {f.name: f.stat().st_mtime_ns for f in clip_files(hub["data"], session_id)}
    assert after[a1["file"]] != mtimes[a1["file"]]
    assert after[clips["B4"]["file"]] == mtimes[clips["B4"]["file"]]
    again = client.get(f"/api/sessions/{session_id}/clips", headers=AUTH).json()["clips"]
    assert {c["id"]: (c["status"], c["stale"]) for c in again}[a1["id"]] == ("ready", False)

    # The recording gone from the shared folder: the render fails naming clip and file.
    hub["recording"].rename(hub["recording"].with_name("moved.mp4"))
    client.patch(f"/api/clips/{a1['id']}", json={"style": "karaoke"}, headers=AUTH)
    failing = client.post(f"/api/clips/{a1['id']}/render", headers=AUTH).json()["job"]
    failed = finished(client, failing, worker)
    assert failed["status"] == "failed"
    assert a1["id"] in failed["error"] and a1["file"] in failed["error"]
    assert f"recording not found on this machine: {hub['recording']}" in failed["error"]
    shown = client.get(f"/api/sessions/{session_id}/clips", headers=AUTH).json()
    assert shown["last_job"]["error"] == failed["error"]
    clip = {c["id"]: c for c in shown["clips"]}[a1["id"]]
    assert clip["render"] == "failed" and str(hub["recording"]) in clip["error"]


@pytest.mark.postgres
def test_a_job_of_a_killed_worker_is_run_again_by_another(hub: dict[str, Any]) -> None:
    client, session_id, engine = hub["client"], hub["session"], hub["engine"]
    body = {"transcript": str(hub["transcript"]), "min_len": 3, "max_len": 6}
    job_id = client.post(f"/api/sessions/{session_id}/clips", json=body, headers=AUTH).json()["job"]
    first = hub["worker"]("worker-a")

    def rendering() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(f"/api/jobs/{job_id}", headers=AUTH).json()
        assert job["status"] != "done", "the job finished before the worker could be killed"
        # Past planning (0.35): the clips are being rendered.
        return job if job["status"] == "running" and job["progress"] >= 0.35 else None

    poll("the job to be rendering", rendering)
    first.kill()  # SIGKILL to the worker and its ffmpeg: no goodbye, no heartbeat
    with engine.connect() as conn:
        row = conn.execute(select(studio_jobs).where(studio_jobs.c.id == job_id)).one()
    assert (row.status, row.attempts, row.worker) == ("running", 1, "worker-a")

    second = hub["worker"]("worker-b")
    job = finished(client, job_id, second)
    assert job["status"] == "done", job
    assert job["attempts"] == 2 and job["worker"] == "worker-b"
    assert "worker-a" in second.output()  # its log says whose job it took back
    clips = client.get(f"/api/sessions/{session_id}/clips", headers=AUTH).json()["clips"]
    assert {c["code"] for c in clips} == {"A1", "B4"}
    assert all(c["status"] == "ready" for c in clips)
    assert sorted(f.name for f in clip_files(hub["data"], session_id)) == sorted(
        c["file"] for c in clips
    )


@pytest.mark.postgres
def test_clips_by_session_reads_the_log_from_postgresql(hub: dict[str, Any]) -> None:
    out = hub["data"].parent / "out"
    args = ["clips", "--session", str(hub["session"]), "--data", str(hub["data"])]
    args += ["--transcript", str(hub["transcript"]), "--plan-only", "--out", str(out)]
    args += ["--min-len", "3", "--max-len", "6"]
    env = {"CHOTDON_DATABASE_URL": hub["url"]}
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    plan = json.loads((out / "clips.json").read_text(encoding="utf-8"))
    assert sorted(c["code"] for c in plan["clips"]) == ["A1", "B4"]
    missing = CliRunner().invoke(main, [*args[:1], "--session", "999", *args[3:]], env=env)
    assert missing.exit_code != 0 and "no live session 999" in missing.output


def test_render_worker_refuses_sqlite(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["render-worker", "--data", str(tmp_path)])
    assert result.exit_code != 0 and "CHOTDON_DATABASE_URL" in result.output


@pytest.mark.postgres
def test_without_the_hub_extra_the_server_runs_and_refuses_jobs(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "procrastinate", None)  # as if not installed
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    engine = open_database(data_dir / "chotdon.db", postgres_url)
    session_id = logged_session(engine, tmp_path / "live.mp4")
    engine.dispose()
    settings = make_settings(data_dir, database_url=postgres_url)
    with TestClient(create_app(settings)) as client:
        answer = client.post(f"/api/sessions/{session_id}/clips", json={}, headers=AUTH)
        # Checked first: the recording named by the log does not exist.
        assert answer.status_code == 422 and answer.json()["field"] == "recording"
        (tmp_path / "live.mp4").write_bytes(b"")
        answer = client.post(f"/api/sessions/{session_id}/clips", json={}, headers=AUTH)
        assert answer.status_code == 503
        assert answer.json() == {
            "error": "clip jobs on PostgreSQL need procrastinate: pip install 'chotdon[hub]'",
            "field": "job",
        }
        listing = client.get(f"/api/sessions/{session_id}/clips", headers=AUTH).json()
        assert listing["jobs"] == [] and listing["render_workers"] == 0


@pytest.mark.postgres
def test_one_worker_renders_each_shops_jobs_in_that_shops_store(
    hub: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from server import context
    from server.shops import add_shop, open_shop_store, shop_data_dir

    monkeypatch.setattr(context, "RELOAD_EVERY_S", 0.0)  # find the new shop at once
    client, data = hub["client"], hub["data"]
    bravo = add_shop(hub["engine"], "Bravo")
    b_auth = {"Authorization": f"Bearer {bravo.helper_token}"}
    b_folder = shop_data_dir(data, bravo)
    b_session = logged_session(open_shop_store(hub["engine"], b_folder, bravo), hub["recording"])
    body = {"transcript": str(hub["transcript"]), "min_len": 3, "max_len": 6}
    jobs = {}
    for name, auth, session_id in (("default", AUTH, hub["session"]), ("bravo", b_auth, b_session)):
        answer = client.post(f"/api/sessions/{session_id}/clips", json=body, headers=auth)
        assert answer.status_code == 200, answer.text
        jobs[name] = answer.json()["job"]
    worker = hub["worker"]("worker-a")
    assert finished(client, jobs["bravo"], worker, b_auth)["status"] == "done"
    assert finished(client, jobs["default"], worker)["status"] == "done"
    # Each shop's clips in its own folder, listed to its own token only.
    b_clips = client.get(f"/api/sessions/{b_session}/clips", headers=b_auth).json()["clips"]
    assert {c["code"] for c in b_clips} == {"A1", "B4"}
    assert sorted(f.name for f in clip_files(b_folder, b_session)) == sorted(
        c["file"] for c in b_clips
    )
    assert len(clip_files(data, hub["session"])) == 2

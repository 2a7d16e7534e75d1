"""The clip studio over HTTP (issue 14): plan and render a logged session in the
background, trim past the plan, fix a caption, re-render only that clip, export.

The recording is a tiny synthetic one (tests/studio/conftest.py) and the transcript
is injected, so no Whisper model runs; clips are 3-6 s to keep the renders short.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from server.app import create_app
from server.db import live_sessions, open_database
from server.events import append_event
from studio.media import probe
from tests.studio.conftest import (  # noqa: F401 (fixtures)
    MakeRecording,
    iso,
    make_recording,
    sentences,
    speech_wav,
    transcript_json,
)

from .conftest import AUTH, make_settings

SAYINGS = ["Hạt dẻ giá một trăm nghìn.", "Chốt đơn nhé cả nhà.", "Còn ít hàng lắm."]


def logged_session(data_dir: Path, recording: Path) -> int:
    """A session whose log says OBS recorded ``recording`` from its first second."""
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = open_database(data_dir / "chotdon.db")
    timeline: list[tuple[str, float, dict[str, Any]]] = [
        ("session_started", 0.0, {"title": "Live"}),
        ("recording_started", 0.0, {}),
        ("product_pinned", 2.0, {"code": "A1"}),
        ("order_created", 4.0, {"code": "A1", "qty": 1}),
        ("order_created", 5.0, {"code": "A1", "qty": 2}),
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
    engine.dispose()
    return int(session_id)


def write_transcript(path: Path) -> Path:
    segments = sentences(0, 28, SAYINGS, every=2.0, length=1.8)
    path.write_text(json.dumps(transcript_json(segments)), encoding="utf-8")
    return path


def wait(client: TestClient, job_id: int) -> dict[str, Any]:
    job = client.app.state.studio_jobs.get(job_id)  # type: ignore[attr-defined]
    assert job.done.wait(240), "the studio job did not finish"
    body = client.get(f"/api/jobs/{job_id}", headers=AUTH).json()
    assert body["status"] == "done", body
    assert body["progress"] == 1.0
    return dict(body)


@pytest.fixture
def studio(tmp_path: Path, make_recording: MakeRecording) -> Any:  # noqa: F811
    recording = make_recording("studio-live.mp4", 28)
    data_dir = tmp_path / "data"
    session_id = logged_session(data_dir, recording)
    with TestClient(create_app(make_settings(data_dir))) as client:
        yield client, session_id, write_transcript(tmp_path / "t.json")


def test_plan_trim_caption_rerender_and_export(studio: Any) -> None:
    client, session_id, transcript = studio
    body = {"transcript": str(transcript), "min_len": 3, "max_len": 6}
    answer = client.post(f"/api/sessions/{session_id}/clips", json=body, headers=AUTH)
    assert answer.status_code == 200, answer.text
    wait(client, answer.json()["job"])

    listing = client.get(f"/api/sessions/{session_id}/clips", headers=AUTH).json()
    clips = {c["code"]: c for c in listing["clips"]}
    assert set(clips) == {"A1", "B4"}
    first = clips["A1"]
    assert first["status"] == "ready" and first["error"] is None
    assert first["reason"] == "A1 on screen, 2 orders in 1 minute, price said"
    assert 2.0 <= first["start"] < first["end"] <= 14.0
    assert first["captions"] and all(c["start"] >= first["start"] for c in first["captions"])
    video = client.get(first["video"])
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    assert client.get(first["thumbnail"]).headers["content-type"] == "image/jpeg"
    # A link opens its own file only.
    forged = first["video"].replace(first["file"], clips["B4"]["file"])
    assert client.get(forged).status_code == 403

    # Trim past the planned end (the recording is kept) and fix the first caption.
    planned_end = first["planned"][1]
    cues = first["captions"]
    cues[0]["text"] = "Hạt dẻ Ngân Sơn 150k"
    patch = {"end": planned_end + 3.1, "captions": cues}
    edited = client.patch(f"/api/clips/{first['id']}", json=patch, headers=AUTH)
    assert edited.status_code == 200, edited.text
    clip = edited.json()
    # Snapped to the end of the last word at or before the asked time (a word edge).
    word_ends = {
        w["end"] for w in client.get(f"/api/clips/{clip['id']}/words", headers=AUTH).json()["words"]
    }
    assert clip["end"] in word_ends and abs(clip["end"] - (planned_end + 3.1)) <= 1.0
    assert clip["end"] > planned_end and clip["stale"] is True
    assert clip["captions"][0]["text"] == "Hạt dẻ Ngân Sơn 150k"
    # The words the transcript did not have become the shop's hotwords.
    glossary = client.get(f"/api/sessions/{session_id}/clips", headers=AUTH).json()["glossary"]
    assert glossary == ["Ngân", "Sơn", "150k"]

    mtime_b4 = _clip_file(client, session_id, clips["B4"]).stat().st_mtime_ns
    job = client.post(f"/api/clips/{clip['id']}/render", headers=AUTH).json()["job"]
    wait(client, job)
    after = _by_id(client, session_id, clip["id"])
    assert after["status"] == "ready" and after["stale"] is False
    path = _clip_file(client, session_id, after)
    assert probe(path).duration == pytest.approx(after["end"] - after["start"], abs=0.25)
    srt = path.with_suffix(".srt").read_text(encoding="utf-8")
    assert "Hạt dẻ Ngân Sơn 150k" in srt
    last_cue_end = max(c["end"] for c in after["captions"]) - after["start"]
    assert last_cue_end > planned_end - after["start"]  # captions reach into the extension
    # Only the edited clip was rendered again.
    assert _clip_file(client, session_id, clips["B4"]).stat().st_mtime_ns == mtime_b4

    # A later render keeps the caption edit (and skips, nothing changed).
    again = client.post(f"/api/clips/{clip['id']}/render", headers=AUTH).json()["job"]
    wait(client, again)
    assert "Hạt dẻ Ngân Sơn 150k" in path.with_suffix(".srt").read_text(encoding="utf-8")

    # The other clip: no card, a fixed crop at the left; a trim too short is refused.
    other = clips["B4"]
    short = {"start": other["start"], "end": other["start"] + 0.2}
    refused = client.patch(f"/api/clips/{other['id']}", json=short, headers=AUTH)
    assert refused.status_code == 422 and refused.json()["field"] == "end"
    look = {"card": False, "framing": {"mode": "fixed", "x": 0.1}, "style": "plain"}
    assert client.patch(f"/api/clips/{other['id']}", json=look, headers=AUTH).json()["stale"]
    wait(client, client.post(f"/api/clips/{other['id']}/render", headers=AUTH).json()["job"])
    redone = _by_id(client, session_id, other["id"])
    assert redone["status"] == "ready" and not redone["stale"] and redone["style"] == "plain"
    assert _clip_file(client, session_id, other).stat().st_mtime_ns != mtime_b4
    state_dir = _clip_file(client, session_id, other).parent / ".studio"
    sidecar = json.loads((state_dir / (Path(other["file"]).stem + ".json")).read_text())
    assert sidecar["framing"] == "crop"

    # Asking again keeps the plan and its edits: a render of what changed (nothing).
    files = [_clip_file(client, session_id, c) for c in (redone, after)]
    before = [f.stat().st_mtime_ns for f in files]
    again = client.post(f"/api/sessions/{session_id}/clips", json={}, headers=AUTH).json()
    assert client.get(f"/api/jobs/{again['job']}", headers=AUTH).json()["kind"] == "render"
    wait(client, again["job"])
    assert before == [f.stat().st_mtime_ns for f in files]
    assert _by_id(client, session_id, clip["id"])["captions"][0]["text"] == "Hạt dẻ Ngân Sơn 150k"

    assert client.get(f"/api/sessions/{session_id}/clips.zip", headers=AUTH).status_code == 404
    approved = client.patch(f"/api/clips/{clip['id']}", json={"status": "approved"}, headers=AUTH)
    assert approved.json()["status"] == "approved"
    archive = client.get(f"/api/sessions/{session_id}/clips.zip", headers=AUTH)
    assert archive.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    stem = Path(after["file"]).stem
    assert sorted(names) == sorted(
        f"{stem}/{stem}{ext}" for ext in (".mp4", ".jpg", ".txt", ".srt")
    )


def _by_id(client: TestClient, session_id: int, clip_id: str) -> dict[str, Any]:
    clips = client.get(f"/api/sessions/{session_id}/clips", headers=AUTH).json()["clips"]
    return next(c for c in clips if c["id"] == clip_id)


def _clip_file(client: TestClient, session_id: int, clip: dict[str, Any]) -> Path:
    store = client.app.state.studio_store  # type: ignore[attr-defined]
    return Path(store.clips_dir(session_id)) / clip["file"]


def test_bad_requests_name_their_field(studio: Any, tmp_path: Path) -> None:
    client, session_id, _ = studio
    missing = {"recording": str(tmp_path / "nope.mp4")}
    answer = client.post(f"/api/sessions/{session_id}/clips", json=missing, headers=AUTH)
    assert answer.status_code == 422 and answer.json()["field"] == "recording"
    answer = client.post(
        f"/api/sessions/{session_id}/clips", json={"recording_start": "soon"}, headers=AUTH
    )
    assert answer.json() == {"error": "not an ISO-8601 time", "field": "recording_start"}
    assert client.post("/api/sessions/99/clips", json={}, headers=AUTH).status_code == 404
    assert client.get(f"/api/sessions/{session_id}/clips", headers=AUTH).json()["clips"] == []
    assert client.patch("/api/clips/x", json={"card": False}, headers=AUTH).status_code == 404
    assert client.get("/api/jobs/12345", headers=AUTH).json()["field"] == "job"
    assert client.get(f"/api/sessions/{session_id}/clips").status_code == 401


def test_a_failed_plan_is_told_on_the_list(studio: Any, tmp_path: Path) -> None:
    client, session_id, _ = studio
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    body = {"transcript": str(broken), "min_len": 3, "max_len": 6}
    job_id = client.post(f"/api/sessions/{session_id}/clips", json=body, headers=AUTH).json()["job"]
    assert client.app.state.studio_jobs.get(job_id).done.wait(60)  # type: ignore[attr-defined]
    listing = client.get(f"/api/sessions/{session_id}/clips", headers=AUTH).json()
    assert listing["clips"] == [] and listing["jobs"] == []
    assert listing["last_job"]["status"] == "failed"
    assert listing["render_workers"] is None  # SQLite: this server renders itself
    assert "not valid JSON" in listing["last_job"]["error"]


def test_edited_cues_replace_only_what_they_overlap() -> None:
    from studio.subtitles import clip_cues

    segments = sentences(0, 20, SAYINGS, every=2.0, length=1.8)
    plain = clip_cues(segments, 4.0, 12.0)
    fixed = clip_cues(segments, 4.0, 12.0, [(6.0, 7.8, "Giá 150k"), (30.0, 31.0, "outside")])
    assert [c.start for c in plain] == [c.start for c in fixed]
    changed = [c for c in fixed if c.lines == ("Giá 150k",)]
    assert len(changed) == 1 and changed[0].start == pytest.approx(2.0) and not changed[0].words
    assert [c for c in fixed if c not in changed] == [c for c in plain if c.start != 2.0]

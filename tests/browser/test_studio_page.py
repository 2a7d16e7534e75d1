"""Real Chromium: the clip studio page on a rendered session (issue 14).

An editor trims a clip past its planned end ("end at this word"), fixes a caption and
renders again; the new file is as long as the new bounds and its captions carry the
fix and the words of the extension. Then approves it with the keyboard and downloads
the approved clips as one zip. Tiny recording, injected transcript: no Whisper here.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from studio.media import probe
from tests.server.test_studio_api import logged_session, write_transcript
from tests.studio.conftest import MakeRecording, make_recording, speech_wav  # noqa: F401

FIXED = "Hạt dẻ Ngân Sơn 150k"


@pytest.fixture
def wide(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    yield context.new_page()
    context.close()


def _wait_job(live_server: Any, job_id: int) -> None:
    job = live_server.app.state.studio_jobs.get(job_id)
    assert job.done.wait(240) and job.status == "done", job


def test_trim_past_the_plan_fix_a_caption_and_render_again(
    live_server: Any,
    api: httpx.Client,
    wide: Any,
    make_recording: MakeRecording,  # noqa: F811
    tmp_path: Path,
) -> None:
    recording = make_recording("page-live.mp4", 28)
    session = logged_session(live_server.data_dir, recording)
    body = {"transcript": str(write_transcript(tmp_path / "t.json")), "min_len": 3, "max_len": 6}
    answer = api.post(f"/api/sessions/{session}/clips", json=body)
    assert answer.status_code == 200, answer.text
    _wait_job(live_server, answer.json()["job"])
    clips = api.get(f"/api/sessions/{session}/clips").json()["clips"]
    first = next(c for c in clips if c["code"] == "A1")
    planned_end = first["planned"][1]

    wide.goto(f"{live_server.base_url}/studio?session={session}#token={live_server.helper_token}")
    wide.wait_for_selector("body[data-ready='1']")
    item = wide.locator(f"li.clip[data-id='{first['id']}']")
    assert (
        item.locator(".reason").inner_text() == "A1 trên màn hình, 2 đơn trong 1 phút, có nói giá"
    )
    assert item.locator(".status").inner_text() == "Sẵn sàng"
    assert item.locator("img.thumb").evaluate("img => img.complete && img.naturalWidth > 0")
    item.click()
    wide.wait_for_selector("#words .word")

    # End at a word 2-4 s after the planned end: past what the plan chose.
    later = wide.locator("#words .word").evaluate_all(
        f"""words => words.map(w => ({{end: Number(w.dataset.end), i: Number(w.dataset.index)}}))
            .filter(w => w.end > {planned_end + 2} && w.end < {planned_end + 4})"""
    )
    assert later, "no transcript word after the planned end"
    wide.locator(f"#words .word[data-index='{later[0]['i']}']").click()
    wide.locator("#end-here").click()
    assert float(wide.locator("#end").input_value()) == pytest.approx(later[0]["end"], abs=0.01)
    wide.locator("#cues textarea").first.fill(FIXED)

    old_src = wide.locator("#player").get_attribute("data-src")
    wide.locator("#render").click()
    wide.wait_for_function(
        """([id, old]) => {
            const item = document.querySelector(`li.clip[data-id='${id}']`);
            const src = document.querySelector('#player').dataset.src;
            return item && item.dataset.status === 'ready' && src !== old;
        }""",
        arg=[first["id"], old_src],
        timeout=240_000,
    )
    assert wide.locator("#stale").is_hidden()
    assert wide.locator("#cues li.edited textarea").first.input_value() == FIXED

    after = next(
        c
        for c in api.get(f"/api/sessions/{session}/clips").json()["clips"]
        if c["id"] == first["id"]
    )
    assert after["end"] == pytest.approx(later[0]["end"], abs=0.01) and after["end"] > planned_end
    path = live_server.app.state.studio_store.clips_dir(session) / after["file"]
    length = probe(path).duration
    assert length == pytest.approx(after["end"] - after["start"], abs=0.25)
    assert length > planned_end - after["start"] + 1.5
    srt = path.with_suffix(".srt").read_text(encoding="utf-8")
    assert FIXED in srt
    tail = [c for c in after["captions"] if c["start"] >= planned_end]
    assert tail and all(c["text"].replace("\n", " ") in srt.replace("\n", " ") for c in tail)
    # What plays is the new file.
    assert wide.locator("#player").evaluate("v => v.currentSrc").endswith(after["video"])

    if os.environ.get("CHOTDON_STUDIO_SCREENSHOT"):  # docs/studio-page.png
        wide.wait_for_selector("#job", state="hidden")
        wide.locator("#player").evaluate(
            "v => new Promise(done => { v.addEventListener('seeked', done, {once: true}); "
            "v.currentTime = 1; })"
        )
        wide.screenshot(path=os.environ["CHOTDON_STUDIO_SCREENSHOT"], full_page=True)

    # "a" approves the open clip (and opens the next); the zip holds it with its files.
    wide.locator("body").press("a")
    wide.wait_for_selector(f"li.clip[data-id='{first['id']}'][data-status='approved']")
    with wide.expect_download() as download:
        wide.locator("#download").click()
    names = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())).namelist()
    stem = Path(after["file"]).stem
    assert sorted(names) == sorted(
        f"{stem}/{stem}{ext}" for ext in (".mp4", ".jpg", ".txt", ".srt")
    )

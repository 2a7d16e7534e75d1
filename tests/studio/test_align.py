"""Finding the recording's start from the product cards burned into it."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from assets import DEMO_DIR
from overlays.card import render_card
from studio.align import align_from_cards
from studio.catalog import read_catalog
from studio.errors import StudioError
from studio.events import Event
from studio.media import probe

from .conftest import FFMPEG, T0

PRODUCTS = read_catalog(DEMO_DIR / "catalog.csv")
PHOTOS = {code: p.image for code, p in PRODUCTS.items() if p.image is not None}
# Where each card is on screen in the recording (seconds), as OBS captured it.
SHOWN = (("A1", 8.0, 20.0), ("A2", 20.0, 31.0), ("B1", 36.0, 50.0))
SECONDS = 50
LATE = 0.4  # the card shows up this long after the helper's tap (socket + animation)
RECORDING_START = T0 + timedelta(seconds=37.2)  # the session began before the recording


def _card(code: str, folder: Path) -> Path:
    product = PRODUCTS[code]
    card = render_card(product.name, product.price, product.unit, image=product.image, width=520)
    path = folder / f"card-{code}.png"
    card.save(path)
    return path


@pytest.fixture(scope="module")
def overlaid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1280x720 live with a moving subject, a flashing box and a ticking bar
    (distractors), and the pinned product's card at the bottom left."""
    folder = tmp_path_factory.mktemp("align")
    cards = [_card(code, folder) for code, _, _ in SHOWN]
    inputs = [
        "-f", "lavfi", "-i", f"color=c=0x30475e:s=1280x720:r=15:d={SECONDS}",
        "-f", "lavfi", "-i", "color=c=0xe8c39e:s=160x160:r=15",
        "-f", "lavfi", "-i", "color=c=white:s=90x90:r=15",
        "-f", "lavfi", "-i", f"sine=frequency=300:duration={SECONDS}",
    ]  # fmt: skip
    for card in cards:
        inputs += ["-loop", "1", "-framerate", "15", "-i", str(card)]
    first_card = 4  # after the background, the subject, the flashing box and the tone
    graph = [
        "[0][1]overlay=x='560+300*sin(t/2)':y=120:shortest=1[a]",
        "[a][2]overlay=x=1100:y=40:enable='lt(mod(t,1),0.5)'[b]",  # flashes every second
        "[b]drawbox=x=0:y=690:w='mod(t*200,1280)':h=30:c=yellow:t=fill[c]",
    ]
    last = "c"
    for index, (_, start, end) in enumerate(SHOWN):
        shown = f"enable='between(t,{start},{end})'"
        graph.append(f"[{last}][{index + first_card}]overlay=x=24:y=430:{shown}[o{index}]")
        last = f"o{index}"
    out = folder / "live.mp4"
    subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *inputs,
         "-filter_complex", ";".join(graph), "-map", f"[{last}]", "-map", "3:a",
         "-t", str(SECONDS), "-c:a", "aac",
         "-c:v", "libx264", "-preset", "ultrafast", "-crf", "28", str(out)],
        check=True,
    )  # fmt: skip
    return out


def _pins(shift: float = 0.0) -> list[Event]:
    """The event log of this live: each pin LATE seconds before its card shows."""
    events = [Event(T0, "session_started")]
    for code, start, _ in SHOWN:
        at = RECORDING_START + timedelta(seconds=start - LATE + shift * (code == "B1"))
        events.append(Event(at, "product_pinned", {"code": code}))
    return events


def test_the_cards_place_the_recording_on_the_event_clock(overlaid: Path) -> None:
    alignment = align_from_cards(probe(overlaid), _pins(), PHOTOS)
    error = (alignment.recording_start - RECORDING_START).total_seconds()
    # The first sampled frame with the card (2 per second) is up to half a second late.
    assert -LATE - 0.05 <= error <= 0.55
    assert [s.code for s in alignment.sightings] == ["A1", "A2", "B1"]
    assert alignment.confidence >= 0.8


def test_pins_that_disagree_with_the_cards_are_refused(overlaid: Path) -> None:
    shifted = _pins(shift=6.0)  # B1's pin 6 s off: two agree, the third is left out
    assert align_from_cards(probe(overlaid), shifted, PHOTOS).confidence < 0.8
    wild = [
        Event(T0, "session_started"),
        Event(RECORDING_START + timedelta(seconds=2), "product_pinned", {"code": "A1"}),
        Event(RECORDING_START + timedelta(seconds=40), "product_pinned", {"code": "A2"}),
    ]
    with pytest.raises(StudioError, match=r"disagree by up to 26\.0 s"):
        align_from_cards(probe(overlaid), wild, PHOTOS)


def test_a_recording_without_the_overlay_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.mp4"
    subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "testsrc=size=640x360:rate=10:duration=12", "-c:v", "libx264",
         "-preset", "ultrafast", str(plain)],
        check=True,
    )  # fmt: skip
    with pytest.raises(StudioError, match=r"0 of 3 pinned cards were seen in plain\.mp4"):
        align_from_cards(probe(plain), _pins(), PHOTOS)
    with pytest.raises(StudioError, match="at least two pins"):
        align_from_cards(probe(plain), _pins()[:2], PHOTOS)


def test_clips_takes_the_start_from_the_cards_unless_a_flag_gives_it(
    overlaid: Path, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from studio.cli import clips

    events = tmp_path / "events.jsonl"
    lines = [json.dumps({"t": e.t.isoformat(), "type": e.type, **e.data}) for e in _pins()]
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    transcript = tmp_path / "t.json"
    transcript.write_text('{"segments": []}', encoding="utf-8")
    common = [str(overlaid), "--events", str(events), "--catalog", str(DEMO_DIR / "catalog.csv"),
              "--transcript", str(transcript), "--min-len", "5", "--plan-only"]  # fmt: skip
    found = CliRunner().invoke(clips, [*common, "--out", str(tmp_path / "a")])
    assert found.exit_code == 0, found.output
    assert "Recording start found from 3 product cards on screen" in found.stderr
    plan = json.loads((tmp_path / "a" / "clips.json").read_text(encoding="utf-8"))
    start = datetime.fromisoformat(plan["recording_start"])
    assert abs((start - RECORDING_START).total_seconds()) <= 0.6
    flagged = CliRunner().invoke(clips, [*common, "--offset", "0", "--out", str(tmp_path / "b")])
    assert flagged.exit_code == 0, flagged.output
    assert "product cards" not in flagged.stderr

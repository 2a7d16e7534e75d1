"""Rate limits: the token bucket on a fake clock, then wrong-token and ingestion floods
against the app (REST 429 with Retry-After, socket close code 4429)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from server.ratelimit import Limits, RateLimiter, comment_count
from server.settings import Settings

from .conftest import AUTH, HELPER, OVERLAY, FakeClock, comment, open_client

WRONG = {"Authorization": "Bearer not-the-token-000"}


# -- the bucket ------------------------------------------------------------------------


def test_bucket_allows_a_burst_then_says_how_long_to_wait(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=2.0, burst=4, clock=clock)
    assert [limiter.take("a") for _ in range(4)] == [0.0] * 4
    assert limiter.take("a") == pytest.approx(0.5)
    assert limiter.take("a", cost=3) == pytest.approx(1.5)  # refusals draw nothing
    clock.now += 0.5
    assert limiter.take("a") == 0.0 and limiter.take("a") > 0
    clock.now += 60
    assert limiter.level("a") == 4  # refills up to the burst, no further


def test_buckets_are_per_key(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=1.0, burst=2, clock=clock)
    limiter.take("10.0.0.5", 2)
    assert limiter.take("10.0.0.5") > 0
    assert limiter.take("10.0.0.6") == 0.0 and limiter.take("127.0.0.1") == 0.0


def test_a_cost_above_the_burst_passes_on_a_full_bucket(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=10.0, burst=100, clock=clock)
    assert limiter.take("a", 1000) == 0.0
    assert limiter.take("a", 1000) == pytest.approx(10.0)


def test_many_addresses_do_not_grow_the_table_without_bound(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=1.0, burst=5, clock=clock, max_keys=100)
    for n in range(1000):
        limiter.take(f"10.1.{n // 250}.{n % 250}")
        clock.now += 0.01
    assert len(limiter) <= 100
    assert limiter.level("10.1.3.249") < 5  # the latest address is still remembered


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(rate=0, burst=1)


def test_limits_follow_the_settings(tmp_path: Path) -> None:
    limits = Limits.from_settings(
        Settings(data_dir=tmp_path, auth_failures_per_minute=6, ingest_rate=50, ingest_burst=80)
    )
    assert (limits.auth.rate, limits.auth.burst) == (0.1, 6)
    assert (limits.ingest.rate, limits.ingest.burst) == (50, 80)
    default = Settings(data_dir=tmp_path)
    assert default.ingest_rate >= 10 * 200  # ten times a busy live's 200 comments/s


def test_comment_count_is_a_list_length_or_one() -> None:
    assert comment_count(b'[{"a": 1}, {"b": 2}, {}]') == 3
    assert comment_count('{"platform": "sim"}') == 1
    assert comment_count(b"[]") == 1 and comment_count(b"{nope") == 1
    assert comment_count(b"\xff\xfe") == 1


# -- wrong tokens --------------------------------------------------------------------


def test_rest_wrong_token_flood_gets_429_after_ten(client: Any, clock: FakeClock) -> None:
    codes = [client.get("/api/live", headers=WRONG).status_code for _ in range(10)]
    assert codes == [401] * 10
    refused = client.post("/api/live/pin", json={"code": "A1"}, headers=WRONG)
    assert refused.status_code == 429
    assert refused.json()["error"] == "too many wrong tokens from this address"
    assert 1 <= int(refused.headers["Retry-After"]) <= 6
    assert client.get("/api/products").status_code == 429  # no token at all is wrong too
    # The right token is never held back, even from the address being refused.
    assert client.post("/api/live/pin", json={"code": "A1"}, headers=AUTH).status_code == 200
    clock.now += 6  # one attempt's worth refills every six seconds
    assert client.get("/api/live", headers=WRONG).status_code == 401
    assert client.get("/api/live", headers=WRONG).status_code == 429


def test_right_tokens_never_draw_from_the_failed_attempts_bucket(client: Any) -> None:
    for _ in range(30):
        assert client.get("/api/live", headers=AUTH).status_code == 200
    assert client.app.state.limits.auth.level("testclient") == 10
    assert client.get("/api/live", headers=WRONG).status_code == 401


@pytest.mark.parametrize(
    "path",
    [f"/ws/overlay?key={HELPER}", "/ws/panel?token=wrong-token-1", "/ws/ingest?token=nope"],
)
def test_socket_wrong_token_flood_gets_4429(client: Any, path: str) -> None:
    codes = [_close_code(client, path) for _ in range(11)]
    assert codes[-1] == 4429 and 4429 not in codes[:10]
    assert _close_code(client, f"/ws/overlay?key={OVERLAY}") is None  # the right key joins


def test_rest_and_socket_failures_share_one_bucket(client: Any) -> None:
    for _ in range(5):
        client.get("/api/live", headers=WRONG)
        _close_code(client, "/ws/panel?token=wrong-token-1")
    assert _close_code(client, "/ws/overlay?key=wrong-key-22") == 4429
    assert client.get("/api/live", headers=WRONG).status_code == 429


def _close_code(client: Any, path: str) -> int | None:
    """The close code a socket gets right after connecting; None if it was let in."""
    try:
        with client.websocket_connect(path) as ws:
            if "/ws/ingest" in path:
                ws.send_text("[]")
            return None if ws.receive_json()["type"] in ("snapshot", "ack") else -1
    except WebSocketDisconnect as closed:
        return closed.code


# -- ingestion -----------------------------------------------------------------------


def _batch(start: int, size: int) -> list[dict[str, Any]]:
    return [comment(f"f{start + i}", "hay quá", f"u{i}") for i in range(size)]


def test_ingestion_beyond_the_limit_gets_429_with_retry_after(
    tmp_path: Path, clock: FakeClock
) -> None:
    with open_client(tmp_path / "data", clock, ingest_rate=100, ingest_burst=200) as client:
        assert client.post("/api/comments", json=_batch(0, 150), headers=AUTH).status_code == 200
        refused = client.post("/api/comments", json=_batch(150, 100), headers=AUTH)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
        assert "too many comments" in refused.json()["error"]
        listed = client.get("/api/comments?limit=500", headers=AUTH).json()
        assert len(listed) == 150  # nothing of the refused batch was stored
        clock.now += 1
        assert client.post("/api/comments", json=_batch(150, 100), headers=AUTH).status_code == 200
        # A small batch within the rate still goes through after the refusal.
        assert client.post("/api/comments", json=_batch(250, 1), headers=AUTH).status_code == 200


def test_socket_ingestion_beyond_the_limit_closes_with_4429(
    tmp_path: Path, clock: FakeClock
) -> None:
    with (
        open_client(tmp_path / "data", clock, ingest_rate=100, ingest_burst=200) as client,
        client.websocket_connect(f"/ws/ingest?token={HELPER}") as ws,
    ):
        ws.send_json(_batch(0, 150))
        assert len(ws.receive_json()["results"]) == 150
        ws.send_json(_batch(150, 100))
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4429
        listed = client.get("/api/comments?limit=500", headers=AUTH).json()
        assert len(listed) == 150

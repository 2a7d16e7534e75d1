from __future__ import annotations

import asyncio

from server.hub import QUEUE_SIZE, Client, Hub


def test_slow_client_is_dropped_without_blocking_others() -> None:
    async def scenario() -> tuple[list[str], bool, int]:
        hub = Hub()
        received: list[str] = []
        gate = asyncio.Event()

        async def fast_send(text: str) -> None:
            received.append(text)

        async def stuck_send(text: str) -> None:
            await gate.wait()

        fast = Client("overlay", fast_send)
        slow = Client("overlay", stuck_send)
        tasks = [
            asyncio.create_task(hub.serve(fast, "snap")),
            asyncio.create_task(hub.serve(slow, "snap")),
        ]
        await asyncio.sleep(0)
        for i in range(QUEUE_SIZE + 5):
            hub.publish({"i": i})
            await asyncio.sleep(0)
        remaining = hub.count()
        hub.close_all()
        gate.set()
        await asyncio.gather(*tasks)
        return received, slow.dropped, remaining

    received, dropped, remaining = asyncio.run(scenario())
    assert dropped is True
    assert remaining == 1
    assert received[0] == "snap" and len(received) == QUEUE_SIZE + 6
    assert received[-1] == f'{{"i":{QUEUE_SIZE + 4}}}'


def test_publish_respects_roles() -> None:
    hub = Hub()
    panel = Client("panel", send=lambda text: asyncio.sleep(0))
    overlay = Client("overlay", send=lambda text: asyncio.sleep(0))
    hub._clients.update({panel, overlay})
    hub.publish({"type": "feed"}, roles=("panel",))
    assert panel.queue.qsize() == 1 and overlay.queue.qsize() == 0


def test_drained_waits_for_every_write_and_forgets_dropped_clients() -> None:
    async def scenario() -> list[bool]:
        hub = Hub()
        gate = asyncio.Event()
        written: list[str] = []

        async def send(text: str) -> None:
            written.append(text)

        async def stuck_send(text: str) -> None:
            if text != "snap":
                await gate.wait()

        fast, slow = Client("overlay", send), Client("overlay", stuck_send)
        tasks = [asyncio.create_task(hub.serve(c, "snap")) for c in (fast, slow)]
        await asyncio.sleep(0)  # both registered, their snapshots queued
        out = [await hub.drained(1.0)]  # the snapshots are written
        hub.publish({"i": 1})
        out.append(await hub.drained(0.05))  # the stuck one has not written it
        out.append(written[-1] == '{"i":1}')  # the fast one has
        gate.set()
        out.append(await hub.drained(1.0))
        gate.clear()
        hub.publish({"i": 2})
        hub.detach(slow)  # a dropped client's backlog is never written: not waited for
        out.append(await hub.drained(1.0))
        hub.close_all()
        gate.set()
        await asyncio.gather(*tasks)
        return out

    assert asyncio.run(scenario()) == [True, False, True, True, True]

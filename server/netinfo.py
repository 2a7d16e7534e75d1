"""The laptop's address on the shop's Wi-Fi, for the URLs helpers scan."""

from __future__ import annotations

import ipaddress
import socket

__all__ = ["is_loopback", "lan_address", "overlay_url", "panel_url"]


def lan_address() -> str:
    """The IPv4 address other devices on the LAN reach this machine at.

    A UDP socket ``connect`` only picks the outgoing interface from the routing
    table; no packet is sent. Without a route (no Wi-Fi at all) we fall back to
    loopback, which still works for OBS on the same laptop.
    """
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: documentation range, never routed to
        address = str(probe.getsockname()[0])
    except OSError:
        address = "127.0.0.1"
    finally:
        probe.close()
    return address


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def panel_url(host: str, port: int, token: str) -> str:
    return f"http://{host}:{port}/panel#token={token}"


def overlay_url(host: str, port: int, key: str, layout: str = "portrait") -> str:
    return f"http://{host}:{port}/overlay?key={key}&layout={layout}"

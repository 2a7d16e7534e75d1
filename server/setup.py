"""What the seller sets on the laptop's setup page, kept in ``setup.json`` in the data folder.

Precedence, lowest first: the defaults, then ``setup.json``, then whatever the
server was started with (``CHOTDON_*`` environment variables, CLI flags, values
given in code). A field set at start is *locked*: the page shows it read-only
and a save that tries to change it is refused, naming the variable.

The file holds platform tokens and keys, so it is created owner-only (0600),
written atomically, and its secrets never leave the server in full: the page
gets ``••••1234`` (the last four characters of a long secret, nothing of a
short one). Every problem is an :class:`~server.errors.InvalidInput` naming the
field, which the API edge turns into the one error shape ``{"error", "field"}``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ValidationError

from .errors import InvalidInput
from .settings import Settings

__all__ = [
    "FIELDS",
    "FILE_NAME",
    "SECRETS",
    "SetupField",
    "SetupStore",
    "env_name",
    "mask",
]

logger = logging.getLogger(__name__)

FILE_NAME = "setup.json"
MASK = "••••"
_TAIL_FROM = 10  # secrets at least this long show their last four characters

Kind = Literal["text", "secret", "number", "bool"]


@dataclass(frozen=True)
class SetupField:
    """One field of the page: its :class:`Settings` name, how it is edited, its longest value."""

    name: str
    kind: Kind = "text"
    max_length: int = 200


FIELDS: tuple[SetupField, ...] = (
    SetupField("shop_name", max_length=100),
    SetupField("tiktok_unique_id", max_length=40),
    SetupField("tiktok_sign_api_key", "secret", 500),
    SetupField("facebook_page_token", "secret", 1000),
    SetupField("shopee_partner_id", max_length=20),
    SetupField("shopee_partner_key", "secret", 500),
    SetupField("shopee_shop_id", max_length=20),
    SetupField("shopee_user_id", max_length=20),
    SetupField("shopee_access_token", "secret", 500),
    SetupField("shopee_refresh_token", "secret", 500),
    SetupField("shopee_session_id", max_length=30),
    SetupField("bank_bin", max_length=6),
    SetupField("bank_account", max_length=30),
    SetupField("bank_account_name", max_length=50),
    SetupField("obs_url", max_length=200),
    SetupField("obs_password", "secret", 200),
    SetupField("whisper_model", max_length=500),
    SetupField("order_confidence", "number"),
    SetupField("mask_nicknames", "bool"),
)
_BY_NAME = {f.name: f for f in FIELDS}
SECRETS = frozenset(f.name for f in FIELDS if f.kind == "secret")

_TIKTOK_HANDLE = re.compile(r"^[A-Za-z0-9._]{2,24}$")
_DIGITS = re.compile(r"^\d+$")
_SHOPEE_REQUIRED = (
    "shopee_partner_id",
    "shopee_partner_key",
    "shopee_access_token",
    "shopee_session_id",
)
_SHOPEE_ANY = (*_SHOPEE_REQUIRED, "shopee_shop_id", "shopee_user_id", "shopee_refresh_token")


def env_name(name: str) -> str:
    """The environment variable that sets (and locks) a field."""
    return f"CHOTDON_{name.upper()}"


def mask(value: str) -> str:
    """A secret as the page may show it: ``""`` when unset, else dots and maybe a short tail."""
    if not value:
        return ""
    return MASK + (value[-4:] if len(value) >= _TAIL_FROM else "")


def _default(name: str) -> Any:
    return Settings.model_fields[name].default


class SetupStore:
    """The page's values on disk, merged with the settings the server started with.

    ``base`` is what the server started with; it is never changed, so the fields
    it set stay locked however often the page saves.
    """

    def __init__(self, data_dir: Path, base: Settings) -> None:
        self.path = data_dir / FILE_NAME
        self.base = base
        self.locked = frozenset(f.name for f in FIELDS if f.name in base.model_fields_set)
        self.problem: str | None = None  # why setup.json was ignored, for the page
        self.stored = self._read()

    # -- reading -----------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        """The stored values that are still valid; a broken file is reported, not fatal."""
        if not self.path.exists():
            return {}
        if os.name == "posix" and self.path.stat().st_mode & 0o077:
            os.chmod(self.path, 0o600)  # copied in from elsewhere, readable by others
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.problem = f"{FILE_NAME} could not be read ({exc}); using the defaults"
            logger.error("%s", self.problem)
            return {}
        if not isinstance(raw, dict):
            self.problem = f"{FILE_NAME} is not a JSON object; using the defaults"
            logger.error("%s", self.problem)
            return {}
        stored: dict[str, Any] = {}
        for name, value in raw.items():
            try:
                stored[name] = clean(name, value)
            except InvalidInput as exc:
                logger.warning("%s: ignoring %s: %s", FILE_NAME, name, exc.message)
        return stored

    def settings(self) -> Settings:
        """The settings the server runs with: defaults < stored < start-up values."""
        return self._merge(self.stored)

    def _merge(self, stored: Mapping[str, Any]) -> Settings:
        data = self.base.model_dump()
        data.update({k: v for k, v in stored.items() if k not in self.locked})
        try:
            # model_validate, unlike Settings(), reads no environment variables.
            return Settings.model_validate(data)
        except ValidationError as exc:
            raise _invalid(exc) from exc

    def view(self) -> dict[str, Any]:
        """What ``GET /api/setup`` answers: every field, secrets masked, locks named."""
        current = self.settings()
        fields: dict[str, dict[str, Any]] = {}
        for spec in FIELDS:
            value = getattr(current, spec.name)
            secret = spec.kind == "secret"
            fields[spec.name] = {
                "kind": spec.kind,
                "value": mask(value) if secret else value,
                "set": value != _default(spec.name),
                "locked": spec.name in self.locked,
                "env": env_name(spec.name) if spec.name in self.locked else None,
                "max_length": spec.max_length if spec.kind in ("text", "secret") else None,
            }
        return {"fields": fields, "problem": self.problem}

    # -- changing ----------------------------------------------------------------------

    def preview(self, changes: Mapping[str, Any], *, replace: bool = False) -> Settings:
        """The settings ``changes`` would give, validated, without saving anything."""
        return self._merge(self._updated(changes, replace=replace))

    def save(self, changes: Mapping[str, Any], *, replace: bool = False) -> Settings:
        """Validate ``changes``, write them to ``setup.json`` and return the new settings.

        ``replace`` (PUT): fields left out go back to their defaults, except secrets,
        which the page never has and so cannot send back. Otherwise (PATCH) fields
        left out are kept. A secret given as ``null`` or as its own mask is kept
        too; ``""`` clears any field.
        """
        stored = self._updated(changes, replace=replace)
        settings = self._merge(stored)
        _write_private(self.path, stored)
        self.stored = stored
        self.problem = None
        logger.info("setup saved: %s", ", ".join(sorted(changes)) or "nothing changed")
        return settings

    def _updated(self, changes: Mapping[str, Any], *, replace: bool) -> dict[str, Any]:
        current = self.settings()
        if replace:
            stored = {k: v for k, v in self.stored.items() if k in SECRETS}
        else:
            stored = dict(self.stored)
        for name, raw in changes.items():
            if name not in _BY_NAME:
                raise InvalidInput(f"{name}: not a setting of the setup page", field=name)
            if name in SECRETS and (
                raw is None or (raw and raw == mask(current.model_dump()[name]))
            ):
                continue  # unchanged: the page only ever saw the mask
            value = clean(name, raw)
            if name in self.locked:
                if value != getattr(current, name):
                    raise InvalidInput(
                        f"{name} is set by the environment variable {env_name(name)} "
                        "and cannot be changed here",
                        field=name,
                    )
                continue
            stored[name] = value
        stored = {k: v for k, v in stored.items() if v != _default(k)}
        _check_together(self._merge(stored))
        return stored


def clean(name: str, value: Any) -> Any:
    """One field's value, checked and normalised (``@shop`` -> ``shop``), or InvalidInput."""
    spec = _BY_NAME.get(name)
    if spec is None:
        raise InvalidInput(f"{name}: not a setting of the setup page", field=name)
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise InvalidInput(f"{name}: must be true or false", field=name)
        return value
    if spec.kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"{name}: must be a number between 0 and 1", field=name)
        if not 0.0 <= float(value) <= 1.0:
            raise InvalidInput(f"{name}: must be between 0 and 1, not {value}", field=name)
        return float(value)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name}: must be text", field=name)
    text = value.strip()
    if len(text) > spec.max_length:
        raise InvalidInput(f"{name}: at most {spec.max_length} characters", field=name)
    if any(ord(ch) < 32 for ch in text):
        raise InvalidInput(f"{name}: must be one line without control characters", field=name)
    return _TEXT_RULES.get(name, _plain)(name, text)


def _plain(_name: str, text: str) -> str:
    return text


def _tiktok(name: str, text: str) -> str:
    handle = text.removeprefix("@")
    if handle and not _TIKTOK_HANDLE.match(handle):
        raise InvalidInput(
            f"{name}: a TikTok @handle has 2-24 letters, digits, dots or underscores", field=name
        )
    return handle


def _digits(name: str, text: str) -> str:
    if text and not _DIGITS.match(text):
        raise InvalidInput(f"{name}: digits only", field=name)
    return text


def _bank_bin(name: str, text: str) -> str:
    if text and not re.fullmatch(r"\d{6}", text):
        raise InvalidInput(f"{name}: the bank BIN is 6 digits (e.g. 970415)", field=name)
    return text


def _bank_account(name: str, text: str) -> str:
    account = re.sub(r"[\s.-]", "", text)  # typed as "1133 6666 8888" or with dashes
    if account and not re.fullmatch(r"[0-9A-Za-z]{1,19}", account):
        raise InvalidInput(f"{name}: up to 19 letters or digits", field=name)
    return account


def _obs_url(name: str, text: str) -> str:
    if not text:
        return text
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise InvalidInput(f"{name}: not a valid address ({exc})", field=name) from exc
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise InvalidInput(
            f"{name}: an obs-websocket address such as ws://127.0.0.1:4455", field=name
        )
    return text


_TEXT_RULES = {
    "tiktok_unique_id": _tiktok,
    "shopee_partner_id": _digits,
    "shopee_shop_id": _digits,
    "shopee_user_id": _digits,
    "shopee_session_id": _digits,
    "bank_bin": _bank_bin,
    "bank_account": _bank_account,
    "obs_url": _obs_url,
}


def _check_together(settings: Settings) -> None:
    """Fields that only work together: a bank needs an account, Shopee needs all its keys."""
    if bool(settings.bank_bin) != bool(settings.bank_account):
        field = "bank_account" if settings.bank_bin else "bank_bin"
        raise InvalidInput(
            f"{field}: the payment QR needs both the bank BIN and the account number "
            "(or clear both)",
            field=field,
        )
    values = settings.model_dump()
    if any(values[name] for name in _SHOPEE_ANY):
        for name in _SHOPEE_REQUIRED:
            if not values[name]:
                raise InvalidInput(f"{name}: Shopee needs this too", field=name)
        if not (settings.shopee_user_id or settings.shopee_shop_id):
            raise InvalidInput(
                "shopee_user_id: Shopee needs the user id (or the shop id)",
                field="shopee_user_id",
            )


def _invalid(exc: ValidationError) -> InvalidInput:
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first.get("loc", ())) or None
    message = str(first.get("msg") or "invalid value")
    return InvalidInput(f"{field}: {message}" if field else message, field=field)


def _write_private(path: Path, values: Mapping[str, Any]) -> None:
    """Write ``values`` as JSON, owner-only from the first byte, replacing ``path`` atomically."""
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)  # O_CREAT keeps the mode of a file already there
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(values, out, ensure_ascii=False, indent=1, sort_keys=True)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)

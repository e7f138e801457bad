"""A thin async client of the Viber REST bot API (``POST <api base>/<method>``, header
``X-Viber-Auth-Token``, JSON both ways).

Viber answers HTTP 200 with ``{"status": 0, ...}`` on success and another ``status``
(with ``status_message``) on a refusal: that becomes :class:`ViberRefused`. Network
errors and 5xx become :class:`ViberUnavailable` (a passing failure). Status 12 ("too
many requests") is waited out and tried again a bounded number of times.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from bots.viber.config import ViberConfig

log = logging.getLogger(__name__)

AUTH_HEADER = "X-Viber-Auth-Token"

# Viber's status codes (REST bot API, "Error codes") this adapter acts on.
OK = 0
RECEIVER_NOT_REGISTERED = 5
RECEIVER_NOT_SUBSCRIBED = 6
TOO_MANY_REQUESTS = 12
NOT_SUBSCRIBED = (RECEIVER_NOT_REGISTERED, RECEIVER_NOT_SUBSCRIBED)


class ViberError(Exception):
    pass


class ViberRefused(ViberError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"status {status}: {message}")
        self.status = status
        self.message = message


class ViberUnavailable(ViberError):
    """Viber did not answer usefully (network, timeout, 5xx, not JSON): try later."""


class ViberApi:
    def __init__(self, config: ViberConfig, *, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._client = client or httpx.AsyncClient(timeout=config.request_timeout)

    async def close(self) -> None:
        await self._client.aclose()

    async def call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """One API call; status 12 is retried after ``retry_wait``·attempt seconds."""
        attempt = 1
        while True:
            try:
                return await self._call_once(method, body)
            except ViberRefused as error:
                if error.status != TOO_MANY_REQUESTS or attempt >= self.config.retry_attempts:
                    raise
                wait = self.config.retry_wait * attempt
                log.info("Viber %s: too many requests, retrying in %.1fs (attempt %d)", method, wait, attempt + 1)
                await asyncio.sleep(wait)
                attempt += 1

    async def _call_once(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.config.api_base}/{method}"
        try:
            response = await self._client.post(url, json=body, headers={AUTH_HEADER: self.config.auth_token})
        except httpx.HTTPError as error:
            raise ViberUnavailable(f"{method}: {type(error).__name__}") from error
        if response.status_code >= 500 or response.status_code == 429:
            raise ViberUnavailable(f"{method}: HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise ViberUnavailable(f"{method}: HTTP {response.status_code}, not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("status"), int):
            raise ViberUnavailable(f"{method}: HTTP {response.status_code}, no status")
        if data["status"] != OK:
            raise ViberRefused(data["status"], str(data.get("status_message") or ""))
        return data

    # -- the methods this adapter uses -------------------------------------------------------
    async def send_message(self, message: dict[str, Any]) -> str:
        """The message token of the sent message (receipts refer to it)."""
        data = await self.call("send_message", message)
        return str(data.get("message_token", ""))

    async def set_webhook(self, url: str, event_types: list[str], *, send_name: bool, send_photo: bool) -> dict[str, Any]:
        body = {"url": url, "event_types": event_types, "send_name": send_name, "send_photo": send_photo}
        return await self.call("set_webhook", body)

    async def get_account_info(self) -> dict[str, Any]:
        return await self.call("get_account_info", {})

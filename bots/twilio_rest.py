"""One builder of the official ``twilio`` REST client, shared by the SMS sender and the
WhatsApp channel (both talk to the same Twilio account).

* The async HTTP client (``AsyncTwilioHttpClient``: aiohttp) is created lazily, on the
  running loop, and closed by :meth:`TwilioRest.aclose`.
* The API base URL is configurable (a proxy or a test double): the library builds
  every Messages URL from ``client.api.base_url`` (``twilio.base.domain.Domain
  .absolute_url``; the default is ``https://api.twilio.com``), so that attribute is
  what we override.
* The library falls back to ``os.environ`` for any of TWILIO_ACCOUNT_SID / AUTH_TOKEN /
  EDGE / REGION not given and for an *empty* ``environment`` mapping
  (``base/client_base.py``), so we pass an explicit one with edge and region blank:
  configuration comes from the settings only.
* The async client ignores its own timeout setting, so callers bound each call with
  :data:`REQUEST_TIMEOUT_SECONDS` (``asyncio.wait_for``).
"""

from __future__ import annotations

from types import MappingProxyType

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

REQUEST_TIMEOUT_SECONDS = 15.0
# Non-empty on purpose (an empty mapping makes twilio read os.environ).
_NO_ENVIRONMENT = MappingProxyType({"TWILIO_EDGE": "", "TWILIO_REGION": ""})


class TwilioRest:
    """A lazily built ``twilio.rest.Client`` on the async HTTP client."""

    def __init__(self, account_sid: str, auth_token: str, api_base: str | None = None) -> None:
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._api_base = api_base.rstrip("/") if api_base else None
        self._client: Client | None = None
        self._http: AsyncTwilioHttpClient | None = None

    @property
    def client(self) -> Client:
        # Built on first use: the aiohttp session inside must be created on the running loop.
        if self._client is None:
            self._http = AsyncTwilioHttpClient()
            client = Client(
                self._account_sid,
                self._auth_token,
                http_client=self._http,
                environment=_NO_ENVIRONMENT,
            )
            if self._api_base:
                client.api.base_url = self._api_base
            self._client = client
        return self._client

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
            self._client = None

    def __repr__(self) -> str:  # never print the token
        return f"TwilioRest(account_sid={self._account_sid!r}, api_base={self._api_base!r})"

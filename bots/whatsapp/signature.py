"""Twilio's request signature (``X-Twilio-Signature``), checked with the twilio
library's ``RequestValidator``.

Twilio signs the URL it called plus the sorted form fields. Behind a proxy the app
sees another host (and scheme), so the URL is rebuilt from ``PUBLIC_BASE_URL`` and the
request's path and query. A request that names its algorithm in
``X-Twilio-Webhooks-Signature-Settings`` is checked with that algorithm (the library
reads the header); the secret is always the auth token — webhook SharedKeys are not
configured here, so a request signed with one is refused.
"""

from __future__ import annotations

from typing import Any

from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

__all__ = ["SIGNATURE_HEADER", "SIGNATURE_SETTINGS_HEADER", "TwilioSignature"]


class TwilioSignature:
    def __init__(self, auth_token: str, public_base_url: str | None) -> None:
        self._validator = RequestValidator(auth_token)
        self._base = public_base_url.rstrip("/") if public_base_url else None

    def url_for(self, path: str, query: str = "") -> str | None:
        if self._base is None:
            return None
        return f"{self._base}{path}" + (f"?{query}" if query else "")

    def valid(self, path: str, query: str, params: Any, headers: Any) -> bool:
        """``params``: the form fields (a multi-dict); ``headers``: the request headers.
        Without PUBLIC_BASE_URL nothing can be checked, so nothing is accepted."""
        signature = headers.get(SIGNATURE_HEADER)
        url = self.url_for(path, query)
        if not signature or url is None:
            return False
        algorithm = get_signature_algorithm(headers.get(SIGNATURE_SETTINGS_HEADER))
        return bool(self._validator.validate(url, params, signature, algorithm))

"""Reply texts live in ``ru.toml`` beside this module: one key per message,
``str.format`` placeholders for the values. Skills refer to texts by key only."""

from __future__ import annotations

import tomllib
from pathlib import Path


class TextCatalog:
    def __init__(self, path: Path | None = None) -> None:
        path = path or Path(__file__).with_name("ru.toml")
        self._texts: dict[str, str] = {}
        self._flatten("", tomllib.loads(path.read_text("utf-8")))

    def _flatten(self, prefix: str, table: dict) -> None:
        for key, value in table.items():
            full = f"{prefix}{key}"
            if isinstance(value, dict):
                self._flatten(full + ".", value)
            else:
                self._texts[full] = str(value).strip("\n")

    def __contains__(self, key: str) -> bool:
        return key in self._texts

    def keys(self) -> list[str]:
        return list(self._texts)

    def render(self, key: str, **values: object) -> str:
        return self._texts[key].format(**values)

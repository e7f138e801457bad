"""The provider's reference data, loaded from the TOML files beside this module.

Cities, phones, time zones, offices, department hours and payment methods are
data, not code: a provider edits the files (or points ``REFERENCE_DIR`` at its own
copy) without touching the dialog logic.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from reference.hours import WeeklyHours

DEFAULT_DIR = Path(__file__).parent
DEPARTMENTS = ("subscriber", "tech")


@dataclass(frozen=True)
class City:
    name: str
    phones: tuple[str, ...]
    tz: ZoneInfo
    office: str
    office_hours: WeeklyHours
    aliases: tuple[str, ...]

    def local_now(self, now: datetime) -> datetime:
        return now.astimezone(self.tz)


@dataclass(frozen=True)
class Department:
    id: str  # "subscriber" | "tech"
    title: str
    hours: WeeklyHours


@dataclass(frozen=True)
class PaymentMethod:
    id: str
    title: str
    steps: tuple[str, ...]
    commission_free: bool


@dataclass(frozen=True)
class ServiceLine:
    phone: str
    hours: WeeklyHours
    support_phones: tuple[str, ...]
    support_email: str
    messengers_phone: str


@dataclass(frozen=True)
class CannedReply:
    id: str
    title: str
    text: str


class Directory:
    def __init__(self, folder: Path | str = DEFAULT_DIR) -> None:
        folder = Path(folder)
        self.folder = folder
        service = tomllib.loads((folder / "service.toml").read_text("utf-8"))
        cities = tomllib.loads((folder / "cities.toml").read_text("utf-8"))
        methods = tomllib.loads((folder / "payment_methods.toml").read_text("utf-8"))

        default_office_hours = WeeklyHours.parse(service["offices"]["hours"])
        self.cities: tuple[City, ...] = tuple(
            City(
                name=c["name"],
                phones=tuple(c["phones"]),
                tz=ZoneInfo(c["tz"]),
                office=c["office"],
                office_hours=(
                    WeeklyHours.parse(c["office_hours"]) if "office_hours" in c else default_office_hours
                ),
                aliases=tuple(c.get("aliases", ())),
            )
            for c in cities["city"]
        )
        self.departments: dict[str, Department] = {
            key: Department(id=key, title=d["title"], hours=WeeklyHours.parse(d["hours"]))
            for key, d in service["departments"].items()
        }
        line, support = service["service_line"], service["support_lines"]
        self.service_line = ServiceLine(
            phone=line["phone"],
            hours=WeeklyHours.parse(line["hours"]),
            support_phones=tuple(support["phones"]),
            support_email=support["email"],
            messengers_phone=support["messengers_phone"],
        )
        # Optional in a provider's own folder: the bundled facts apply until it adds its own.
        own = folder / "self_service.toml"
        self.self_service: dict = tomllib.loads(
            (own if own.exists() else DEFAULT_DIR / "self_service.toml").read_text("utf-8")
        )
        self.payment_methods: tuple[PaymentMethod, ...] = tuple(
            PaymentMethod(
                id=m["id"],
                title=m["title"],
                steps=tuple(m["steps"]),
                commission_free=bool(m.get("commission_free", True)),
            )
            for m in methods["method"]
        )

    @cached_property
    def _cities_by_name(self) -> dict[str, City]:
        return {c.name.casefold(): c for c in self.cities}

    def city(self, name: str | None) -> City | None:
        if not name:
            return None
        return self._cities_by_name.get(name.strip().casefold())

    def department(self, dep_id: str) -> Department:
        return self.departments[dep_id]

    @cached_property
    def canned_replies(self) -> dict[str, tuple[CannedReply, ...]]:
        """The agent console's canned replies per department (canned_replies.toml;
        a provider's folder without one has none)."""
        path = self.folder / "canned_replies.toml"
        if not path.exists():
            return {}
        data = tomllib.loads(path.read_text("utf-8"))
        return {
            department: tuple(CannedReply(id=str(r["id"]), title=r["title"], text=r["text"]) for r in replies)
            for department, replies in data.items()
            if isinstance(replies, list)
        }

    def payment_method(self, method_id: str) -> PaymentMethod | None:
        return next((m for m in self.payment_methods if m.id == method_id), None)


_default: Directory | None = None


def default_directory() -> Directory:
    """The bundled reference data (loaded once; it is read-only)."""
    global _default
    if _default is None:
        _default = Directory()
    return _default

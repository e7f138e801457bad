"""Fast unit tests of the dialog layer's rules: formatting, payloads, hours, texts."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from reference.directory import default_directory
from reference.hours import WeeklyHours
from dialogs import formatting, payloads
from dialogs.conversation import Conversation
from dialogs.texts.catalog import TextCatalog

MSK = ZoneInfo("Europe/Moscow")


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("50"), "50\u00a0₽"),
        (Decimal("1200.00"), "1\u00a0200\u00a0₽"),
        (Decimal("820.5"), "820,50\u00a0₽"),
        (Decimal("-20"), "−20\u00a0₽"),
        (Decimal("1234567.89"), "1\u00a0234\u00a0567,89\u00a0₽"),
    ],
)
def test_money(amount, shown):
    assert formatting.money(amount) == shown


def test_when_is_relative_to_the_local_day():
    now = datetime(2026, 11, 18, 12, 0, tzinfo=MSK)  # Wednesday
    assert formatting.when(datetime(2026, 11, 18, 14, 20, tzinfo=MSK), now) == "сегодня в 14:20"
    assert formatting.when(datetime(2026, 11, 19, 9, 0, tzinfo=MSK), now) == "завтра в 09:00"
    assert formatting.when(datetime(2026, 11, 23, 9, 0, tzinfo=MSK), now) == "в понедельник в 09:00"
    assert formatting.when(datetime(2026, 12, 5, 9, 0, tzinfo=MSK), now) == "5 декабря в 09:00"


def test_phone_formatting_and_masking():
    assert formatting.phone("+79001234567") == "+7 900 123-45-67"
    assert formatting.masked_phone("+79000000002") == "+7 900 ***-**-02"
    assert formatting.day(date(2026, 12, 1)) == "1 декабря 2026"


def test_payloads_round_trip_and_reject_unknown():
    payload = payloads.make("payment_methods", payment_method="card")
    parsed = payloads.parse(payload)
    assert parsed.intent == "payment_methods" and parsed.entities == {"payment_method": "card"}
    assert parsed.confidence == 1.0
    assert payloads.parse("inform?city=Уфа").entities == {"city": "Уфа"}
    assert payloads.parse("drop table") is None
    assert payloads.parse("balance?=") is None


def test_payloads_are_the_same_made_again_in_any_order_of_entities_and_with_unhashable_values():
    first = payloads.make("callback", action="cancel", id="7")
    assert payloads.make("callback", action="cancel", id="7") == first == "callback?action=cancel&id=7"
    assert payloads.make("callback", id="7", action="cancel") == "callback?id=7&action=cancel"
    assert payloads.make(payloads.INFORM, city="Нижний Новгород") == "inform?city=Нижний%20Новгород"
    # An entity a Rasa server sent as a list cannot be a cache key: made without the cache.
    assert payloads.make("operator", department=["tech"]) == "operator?department=['tech']"


def test_every_payload_fits_telegram_callback_data():
    directory = default_directory()
    longest_city = max((c.name for c in directory.cities), key=len)
    for payload in (
        payloads.make(payloads.INFORM, city=longest_city),
        payloads.make("payment_methods", payment_method="terminal"),
        payloads.make("callback", action="cancel", id="999999999"),
        payloads.make(payloads.INFORM, account="12345678901234567890"),
    ):
        assert len(payload.encode()) <= 64, payload


def test_weekly_hours_open_and_next_opening():
    hours = WeeklyHours.parse({"mon-fri": "09:00-21:00", "sat-sun": "09:00-18:00"})
    assert hours.is_open(datetime(2026, 11, 18, 20, 59, tzinfo=MSK))
    assert not hours.is_open(datetime(2026, 11, 18, 21, 0, tzinfo=MSK))
    assert hours.next_opening(datetime(2026, 11, 18, 22, 0, tzinfo=MSK)) == datetime(2026, 11, 19, 9, 0, tzinfo=MSK)
    assert hours.closes_at(datetime(2026, 11, 21, 10, 0, tzinfo=MSK)) == datetime(2026, 11, 21, 18, 0, tzinfo=MSK)
    assert hours.describe() == "пн–пт 09:00–21:00, сб–вс 09:00–18:00"
    office = WeeklyHours.parse({"mon-fri": "09:00-20:00", "sat": "10:00-16:00"})
    assert office.next_opening(datetime(2026, 11, 22, 12, 0, tzinfo=MSK)) == datetime(2026, 11, 23, 9, 0, tzinfo=MSK)
    assert "вс выходной" in office.describe()
    assert WeeklyHours.parse("24/7").is_open(datetime(2026, 11, 22, 3, 0, tzinfo=MSK))


def test_reference_data_has_the_sixteen_cities_of_the_seeds():
    directory = default_directory()
    assert len(directory.cities) == 16
    assert directory.city("Нальчик").phones == ("+7 (8662) 760-400", "+7 (8662) 777-400")
    zones = {c.name: c.tz.key for c in directory.cities}
    assert zones["Уфа"] == zones["Белорецк"] == zones["Нефтекамск"] == "Asia/Yekaterinburg"
    assert zones["Томск"] == "Asia/Tomsk" and zones["Владивосток"] == "Asia/Vladivostok"
    assert zones["Москва"] == "Europe/Moscow"
    assert directory.service_line.phone == "+7 (8652) 333-333"
    ids = {m.id for m in directory.payment_methods}
    assert {"card", "sberbank", "autopay", "app", "wallet", "terminal", "office", "mobile", "bonus"} <= ids
    assert all(m.commission_free and m.steps for m in directory.payment_methods)


def test_conversation_state_round_trips_and_ignores_unknown_fields():
    conv = Conversation(key="webchat:1", verified_account="1000002", form_slots={"account": "1"})
    again = Conversation.loads("webchat:1", conv.dumps())
    assert again == conv
    assert Conversation.loads("k", '{"unknown": 1, "city": "Уфа"}').city == "Уфа"


def test_every_text_key_used_in_code_exists_and_every_text_is_used():
    catalog = TextCatalog()
    root = Path(__file__).resolve().parents[2] / "dialogs"
    source = "\n".join(p.read_text("utf-8") for p in root.rglob("*.py"))
    used = set(re.findall(r'"((?:menu|form|city|verify|balance|payments|offices|trust|callback|handoff|tech|buttons|cabinet|app|security|request|tariff|block)\.[a-z_]+)"', source))
    missing = used - set(catalog.keys())
    assert not missing, f"texts used in code but missing in ru.toml: {missing}"
    unused = set(catalog.keys()) - used
    assert not unused, f"texts in ru.toml that no code uses: {unused}"


def test_texts_are_polite_russian():
    catalog = TextCatalog()
    for key in catalog.keys():
        text = catalog.render(key, **{name: "X" for name in re.findall(r"{(\w+)}", catalog._texts[key])})  # noqa: SLF001
        assert not re.search(r"\bты\b|\bтебе\b|\bтвой\b", text, re.I), key

"""Menus of 4–10 buttons as WhatsApp list pickers (Content API ``twilio/list-picker``).

The Twilio double knows the list-picker templates as they would be created through the
Content API (``body`` ``{{1}}``, ``button`` ``{{2}}``, item *i* ``{{3i}}`` with id
``{{3i+1}}``) and renders each message the way Twilio fills a template, so the tests
read the list the subscriber gets. Choices come back as signed webhooks with
``ListId`` / ``ListTitle``. Journeys run on both databases.

The demo menus: the main menu has 6 buttons, the payment methods 10, the offices' cities 16.
"""

from __future__ import annotations

from typing import AsyncIterator

import pytest

from app.settings import Settings
from bots.whatsapp import channel_from_settings
from bots.whatsapp.config import WhatsAppConfig, parse_list_pickers
from bots.whatsapp.form import parse_inbound
from bots.whatsapp.rendering import LIST_ITEM_TITLE_LIMIT, WhatsAppRenderer
from bots.whatsapp.texts import LIST_BUTTON, MENU_PROMPT
from dialogs.messages import Button, Reply
from tests.doubles.twilio_api import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    ContentTemplate,
    FakeTwilioApi,
    SentMessage,
)
from tests.whatsapp.harness import (
    QUICK_REPLY_SIDS,
    SUBSCRIBER,
    WhatsAppHarness,
    inbound_form,
    joined,
    whatsapp_app,
    whatsapp_settings,
)

LIST_SIDS = {6: "HX" + "6" * 32, 10: "HX" + "a" * 32}
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def list_picker_template(items: int) -> ContentTemplate:
    """A ``twilio/list-picker`` Content resource laid out as the README says."""
    types = {
        "twilio/list-picker": {
            "body": "{{1}}",
            "button": "{{2}}",
            "items": [{"item": f"{{{{{3 * i}}}}}", "id": f"{{{{{3 * i + 1}}}}}"} for i in range(1, items + 1)],
        }
    }
    samples = {"1": "Выберите пункт", "2": "Выбрать"}
    for i in range(1, items + 1):
        samples[str(3 * i)], samples[str(3 * i + 1)] = f"Пункт {i}", f"sample-{i}"
    return ContentTemplate(types=types, variables=samples)


def list_settings(database_url, api: FakeTwilioApi, tmp_path, sizes=(6, 10), **overrides) -> Settings:
    for size in sizes:
        api.contents[LIST_SIDS[size]] = list_picker_template(size)
    value = ",".join(f"{size}={LIST_SIDS[size]}" for size in sizes)
    return whatsapp_settings(database_url, api, tmp_path, twilio_content_sid_list_picker=value, **overrides)


@pytest.fixture
async def wa_lists(database_url, twilio_api, tmp_path) -> AsyncIterator[WhatsAppHarness]:
    async with whatsapp_app(list_settings(database_url, twilio_api, tmp_path), twilio_api) as harness:
        yield harness


def item_titles(message: SentMessage) -> list[str]:
    return [item["item"] for item in message.list_picker["items"]]


def choice_form(message: SentMessage, title: str, **extra: str) -> dict[str, str]:
    """Twilio's webhook for the subscriber tapping ``title`` in the list picker ``message``."""
    item = next(i for i in message.list_picker["items"] if i["item"] == title)
    return inbound_form(SUBSCRIBER, title, ListId=item["id"], ListTitle=title, MessageType="interactive", **extra)


async def pick(wa: WhatsAppHarness, message: SentMessage, title: str, **extra: str) -> str:
    return joined([m.text for m in await wa.deliver(choice_form(message, title, **extra))])


async def payload_of(wa: WhatsAppHarness, form: dict[str, str]) -> str | None:
    """What the engine gets for ``form`` (the Body alone would often be understood as
    text too, so the journeys check the choice resolves to the button's payload)."""
    inbound = await wa.channel.inbound_of(parse_inbound(form))
    assert inbound.payload is None or inbound.text is None
    return inbound.payload


# -- settings -------------------------------------------------------------------------------------------
def test_the_setting_names_a_template_per_number_of_items():
    sid4, sid10 = "HX" + "4" * 32, "HX" + "b" * 32
    assert parse_list_pickers(None) == () and parse_list_pickers("  ") == ()
    assert parse_list_pickers(sid10) == ((10, sid10),)  # a bare SID: a template with 10 items
    assert parse_list_pickers(f" 10={sid10}, 4={sid4} ,") == ((4, sid4), (10, sid10))
    for wrong in ("HX123", f"11={sid4}", f"0={sid4}", f"four={sid4}", f"4=AC{'0' * 32}"):
        with pytest.raises(ValueError, match="TWILIO_CONTENT_SID_LIST_PICKER"):
            parse_list_pickers(wrong)


def test_a_malformed_setting_stops_the_start_and_a_good_one_enables_buttons(tmp_path):
    base = dict(
        database_url="sqlite+aiosqlite://", secret_key_file=tmp_path / "s", twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN, twilio_whatsapp_from="+14155238886",
    )
    with pytest.raises(ValueError, match="TWILIO_CONTENT_SID_LIST_PICKER"):
        channel_from_settings(Settings(**base, twilio_content_sid_list_picker="HXnot-a-sid"))
    channel = channel_from_settings(Settings(**base, twilio_content_sid_list_picker=f"6={LIST_SIDS[6]}"))
    assert channel.supports_buttons() and channel.max_buttons == 6


# -- rendering --------------------------------------------------------------------------------------------
def test_rendering_picks_quick_replies_then_a_list_picker_then_the_numbered_menu():
    config = WhatsAppConfig(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number="+14155238886",
        quick_reply_sids=QUICK_REPLY_SIDS, list_picker_sids=((2, "HX" + "2" * 32), (5, "HX" + "5" * 32)),
    )
    long_title = "Очень длинное название пункта меню"
    buttons = [Button(title=long_title, payload="p1")] + [Button(title=f"Пункт {i}", payload=f"p{i}") for i in range(2, 6)]
    replies = [Reply("Два", tuple(buttons[:2])), Reply("Пять", tuple(buttons)), Reply("Четыре", tuple(buttons[:4]))]
    rendered = WhatsAppRenderer(config).render(replies, "abcdef01")
    two, five, four = rendered.messages
    assert two.content_sid == QUICK_REPLY_SIDS[1]  # quick replies win for up to three buttons
    assert five.content_sid == "HX" + "5" * 32 and five.body is None
    variables = five.content_variables
    assert variables["1"] == "Пять" and variables["2"] == LIST_BUTTON
    assert len(variables["3"]) <= LIST_ITEM_TITLE_LIMIT and variables["3"].endswith("…")
    assert long_title.startswith(variables["3"][:-1])
    # Numbers run on across the replies of one send: the list's ids are 3…7.
    assert [variables[str(3 * i + 1)] for i in range(1, 6)] == [f"abcdef01.{n}" for n in range(3, 8)]
    assert variables["15"] == "Пункт 5" and "18" not in variables
    assert four.content_sid is None and MENU_PROMPT in four.body
    assert "8 — Очень длинное название пункта меню" in four.body  # the menu keeps full titles
    assert rendered.menu == ["p1", "p2"] + [b.payload for b in buttons] + ["p1", "p2", "p3", "p4"]


def test_a_long_text_goes_before_the_list_picker():
    config = WhatsAppConfig(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number="+1", list_picker_sids=((4, "HX" + "4" * 32),)
    )
    text = "\n\n".join(["Абзац " * 100] * 3)  # 1,800 characters: over a template variable's 1,024
    buttons = tuple(Button(title=f"Пункт {i}", payload=f"p{i}") for i in range(4))
    head, *rest = WhatsAppRenderer(config).render([Reply(text, buttons)], "abcdef01").messages
    assert head.body and rest[-1].content_sid == "HX" + "4" * 32
    assert all(len(m.body or m.content_variables["1"]) <= 1024 for m in [head, *rest])


# -- journeys (both databases) -------------------------------------------------------------------------------
async def test_menus_of_six_and_ten_go_as_list_pickers_and_a_choice_runs_its_button(wa_lists):
    wa = wa_lists
    await wa.say("привет")
    menu = wa.api.messages[-1]
    assert menu.content_sid == LIST_SIDS[6] and "Body" not in menu.form
    picker = menu.list_picker
    assert "Здравствуйте" in picker["body"] and MENU_PROMPT not in picker["body"]
    assert picker["button"] == LIST_BUTTON
    assert item_titles(menu) == [
        "Баланс", "Как оплатить", "Доверительный платёж", "Заказать звонок", "Офисы и часы работы", "Оператор",
    ]
    assert all(len(title) <= LIST_ITEM_TITLE_LIMIT for title in item_titles(menu))
    assert len({item["id"] for item in picker["items"]}) == 6  # unique ids

    # The item's id resolves to its button's payload (the 2nd of the menu).
    expected = await wa.channel.state.payload_for_digit(SUBSCRIBER, "2")
    assert expected and await payload_of(wa, choice_form(menu, "Как оплатить")) == expected
    answer = await pick(wa, menu, "Как оплатить")
    assert "без комиссии" in answer
    methods = wa.api.messages[-1]
    assert methods.content_sid == LIST_SIDS[10] and len(item_titles(methods)) == 10
    assert "Бонусными баллами" in item_titles(methods)

    last = choice_form(methods, "Бонусными баллами")
    expected = await wa.channel.state.payload_for_digit(SUBSCRIBER, "10")
    assert expected and await payload_of(wa, last) == expected
    steps = await pick(wa, methods, "Бонусными баллами")
    assert "балл" in steps.lower() and steps != answer


async def test_a_list_choice_also_carrying_button_payload_runs_once(wa_lists):
    """Some accounts send ButtonPayload as well as ListId: the same id, one effect."""
    wa = wa_lists
    await wa.say("привет")
    menu = wa.api.messages[-1]
    balance_id = next(i["id"] for i in menu.list_picker["items"] if i["item"] == "Баланс")
    both = choice_form(menu, "Баланс", ButtonPayload=balance_id, ButtonText="Баланс")
    assert await payload_of(wa, both) == await payload_of(wa, choice_form(menu, "Баланс")) is not None
    answer = await pick(wa, menu, "Баланс", ButtonPayload=balance_id, ButtonText="Баланс")
    assert "Баланс: 50" in answer


async def test_a_stale_list_id_is_read_as_its_title(wa_lists):
    wa = wa_lists
    await wa.say("привет")
    stale = inbound_form(
        SUBSCRIBER, "Как оплатить", ListId="deadbeef.2", ListTitle="Как оплатить", MessageType="interactive"
    )
    assert await payload_of(wa, stale) is None
    assert "без комиссии" in joined([m.text for m in await wa.deliver(stale)])
    # An id of a shape we never send is read as the title too.
    odd = inbound_form(SUBSCRIBER, "", ListId="payment-methods", ListTitle="Офисы и часы работы", MessageType="interactive")
    assert "город" in joined([m.text for m in await wa.deliver(odd)])


async def test_more_than_ten_buttons_go_as_a_numbered_menu(wa_lists):
    wa = wa_lists
    answer = joined(await wa.say("офисы"))
    assert MENU_PROMPT in answer and "16 — Элиста" in answer
    assert wa.api.messages[-1].content_sid is None
    assert "Уфа" in joined(await wa.choose("Уфа"))


@SQLITE_ONLY
async def test_without_a_template_for_that_many_items_a_numbered_menu(database_url, twilio_api, tmp_path):
    settings = list_settings(database_url, twilio_api, tmp_path, sizes=(10,))  # no 6-item template
    async with whatsapp_app(settings, twilio_api) as wa:
        main = joined(await wa.say("привет"))
        assert MENU_PROMPT in main and "6 — Оператор" in main and wa.api.messages[-1].content_sid is None
        await wa.choose("Как оплатить")
        assert wa.api.messages[-1].content_sid == LIST_SIDS[10]  # the 10-item menu does get a list


@SQLITE_ONLY
async def test_without_any_list_picker_template_a_numbered_menu(wa):
    answer = joined(await wa.say("способы оплаты"))
    assert MENU_PROMPT in answer and "10 — Бонусными баллами" in answer
    assert all(m.content_sid is None for m in wa.api.messages)
    assert not wa.channel.supports_buttons()

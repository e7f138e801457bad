"""Rasa's action-call JSON posted to rasa-sdk's /webhook, answered by our engine."""

from __future__ import annotations

import json

from bots.rasa import ACTION_INTENTS
from tests.rasa.conftest import RasaConversation, make_settings, served


def texts(result: dict) -> str:
    return "\n".join(r["text"] for r in result["responses"])


async def test_health_and_action_list(actions):
    health = await actions.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    listed = await actions.get("/actions")
    assert listed.status_code == 200
    assert {a["name"] for a in listed.json()} == set(ACTION_INTENTS)
    assert "action_isp_continue" in ACTION_INTENTS and "action_isp_balance" in ACTION_INTENTS


async def test_help_answers_with_rasa_buttons(actions):
    rasa = RasaConversation()
    rasa.user_says("что ты умеешь?", "help")
    result = await rasa.run(actions, "action_isp_help")
    assert result["responses"], result
    buttons = [b for r in result["responses"] for b in r["buttons"]]
    assert buttons, "the help menu offers buttons"
    assert all(set(b) == {"title", "payload"} and b["title"] for b in buttons)
    # Rasa's own button syntax: pressing one sends /intent{...}, parsed without NLU.
    assert all(b["payload"].startswith("/") for b in buttons), buttons
    assert "/balance" in {b["payload"] for b in buttons}
    assert result["events"] == []  # nobody verified, the slot is already empty


async def test_office_hours_for_a_city_entity(actions):
    rasa = RasaConversation()
    rasa.user_says("когда работает офис в Томске?", "office_hours", entities={"city": "Томске"})
    result = await rasa.run(actions, "action_isp_office_hours")
    answer = texts(result)
    assert "Томск" in answer
    assert "по местному времени" in answer and "сейчас" in answer
    # A follow-up naming only a city, through the generic action with Rasa's "inform".
    rasa.user_says("а во Владивостоке?", "inform", entities={"city": "Владивосток"})
    follow_up = texts(await rasa.run(actions, "action_isp_continue"))
    assert "Владивосток" in follow_up and "по местному времени" in follow_up


async def test_the_action_intent_wins_over_rasa_intent(actions):
    rasa = RasaConversation()
    rasa.user_says("Уфа", "greet", confidence=0.31, entities={"city": "Уфа"})
    answer = texts(await rasa.run(actions, "action_isp_office_hours"))
    assert "Уфа" in answer and "по местному времени" in answer


async def test_verify_over_three_calls_then_balance(actions):
    rasa = RasaConversation()
    rasa.user_says("хочу войти в личный кабинет", "verify")
    first = await rasa.run(actions, "action_isp_verify")
    assert "лицев" in texts(first).lower()  # asks for the account number
    assert first["events"] == []

    rasa.user_says("1000002", "inform", entities={"account": "1000002"})
    second = await rasa.run(actions, "action_isp_continue")
    assert "парол" in texts(second).lower()

    # Rasa's NLU makes something of the password; the engine reads it only as the secret.
    rasa.user_says("demo2", "nlu_fallback", confidence=0.2)
    third_raw = await actions.post("/webhook", json=rasa.action_call("action_isp_continue"))
    assert third_raw.status_code == 200
    assert "demo2" not in third_raw.text
    third = third_raw.json()
    rasa.apply("action_isp_continue", third)
    assert "1000002" in texts(third)
    assert third["events"] == [
        {"event": "slot", "timestamp": None, "name": "isp_verified_account", "value": "1000002"}
    ]
    assert rasa.slots["isp_verified_account"] == "1000002"

    rasa.user_says("какой у меня баланс", "balance")
    balance = await rasa.run(actions, "action_isp_balance")
    assert "Баланс: 50" in texts(balance)
    assert balance["events"] == []  # still the same account: nothing to tell Rasa

    rasa.user_says("выйти", "logout")
    logout = await rasa.run(actions, "action_isp_logout")
    assert logout["events"] == [{"event": "slot", "timestamp": None, "name": "isp_verified_account", "value": None}]


async def test_a_password_never_reaches_rasa_events(actions):
    rasa = RasaConversation()
    rasa.user_says("мой счёт 1000002", "verify", entities={"account": "1000002"})
    await rasa.run(actions, "action_isp_verify")
    # The password carries digits Rasa takes for an account number.
    rasa.user_says("demo2", "verify", confidence=0.97, entities={"account": "demo2"})
    answer = await actions.post("/webhook", json=rasa.action_call("action_isp_verify"))
    assert answer.status_code == 200
    result = answer.json()
    assert "demo2" not in json.dumps(result, ensure_ascii=False)
    assert [e["value"] for e in result["events"]] == ["1000002"]


async def test_a_wrong_password_is_not_echoed(actions):
    rasa = RasaConversation()
    rasa.user_says("войти, счёт 1000002", "verify", entities={"account": "1000002"})
    await rasa.run(actions, "action_isp_verify")
    rasa.user_says("Tr0ub4dor&3", "nlu_fallback", confidence=0.1)
    answer = await actions.post("/webhook", json=rasa.action_call("action_isp_continue"))
    assert answer.status_code == 200
    assert "Tr0ub4dor" not in answer.text
    assert "парол" in texts(answer.json()).lower()
    assert answer.json()["events"] == []


async def test_a_button_press_comes_back_as_a_button(actions):
    rasa = RasaConversation()
    rasa.user_says("как оплатить?", "payment_methods")
    menu = await rasa.run(actions, "action_isp_payment_methods")
    card = next(b for r in menu["responses"] for b in r["buttons"] if '"payment_method":"card"' in b["payload"])
    assert card["payload"] == '/payment_methods{"payment_method":"card"}'
    # Rasa's regex handler parses the payload into intent + entities with confidence 1.
    rasa.user_says(card["payload"], "payment_methods", confidence=1.0)
    rasa.latest_message["entities"] = [{"entity": "payment_method", "value": "card"}]
    steps = await rasa.run(actions, "action_isp_payment_methods")
    assert steps["responses"] and texts(steps) != texts(menu)


async def test_non_canonical_entity_values_are_read_by_our_nlu(actions):
    rasa = RasaConversation()
    rasa.user_says("офис во владивастоке", "office_hours", entities={"city": "во владивастоке"})
    answer = texts(await rasa.run(actions, "action_isp_office_hours"))
    assert "Владивосток" in answer and "по местному времени" in answer


async def test_a_retried_call_is_answered_again_without_a_second_turn(actions):
    rasa = RasaConversation()
    rasa.user_says("хочу войти", "verify")
    call = rasa.action_call("action_isp_verify")
    first = (await actions.post("/webhook", json=call)).json()
    again = (await actions.post("/webhook", json=call)).json()
    assert again["responses"] == first["responses"] and first["responses"]
    # A second action Rasa runs for the same message is its own turn, not a duplicate.
    rasa.apply("action_isp_verify", first)
    help_ = await actions.post("/webhook", json=rasa.action_call("action_isp_help"))
    assert texts(help_.json()) != texts(first)


async def test_unknown_action_is_rasa_sdks_404(actions):
    rasa = RasaConversation()
    rasa.user_says("привет", "greet")
    answer = await actions.post("/webhook", json=rasa.action_call("action_does_not_exist"))
    assert answer.status_code == 404
    assert answer.json() == {
        "error": "No registered action found for name 'action_does_not_exist'.",
        "action_name": "action_does_not_exist",
    }


async def test_silent_while_an_agent_holds_the_conversation(tmp_path):
    async with served(make_settings(tmp_path)) as (client, app):
        rasa = RasaConversation()
        rasa.user_says("соедините с оператором в Уфе, абонентский отдел", "operator",
                       entities={"city": "Уфа", "department": "subscriber"})
        queued = await rasa.run(client, "action_isp_operator")
        assert queued["responses"]
        handoffs = app.ctx.container.handoffs
        record = await handoffs.current(f"rasa:{rasa.sender_id}")
        assert record is not None, texts(queued)
        assert await handoffs.claim(record.id, "agent-1")

        rasa.user_says("какой у меня баланс", "balance")
        held = await rasa.run(client, "action_isp_balance")
        assert held == {"events": [], "responses": []}


async def test_token_guards_webhook_but_not_health(tmp_path):
    async with served(make_settings(tmp_path), token="s3cret-token") as (client, _app):
        rasa = RasaConversation()
        rasa.user_says("помощь", "help")
        call = rasa.action_call("action_isp_help")
        assert (await client.post("/webhook", json=call)).status_code == 401
        assert (await client.post("/webhook?token=wrong", json=call)).status_code == 401
        assert (await client.get("/actions")).status_code == 401
        assert (await client.get("/health")).status_code == 200
        ok = await client.post("/webhook?token=s3cret-token", json=call)
        assert ok.status_code == 200 and ok.json()["responses"]


async def test_the_container_lives_with_the_server(tmp_path):
    async with served(make_settings(tmp_path)) as (_client, app):
        container = app.ctx.container
        assert container.engine is not None
    assert app.ctx.container is None  # closed in after_server_stop


async def test_a_very_long_sender_id_keeps_one_conversation(actions):
    rasa = RasaConversation(sender_id="channel-" + "x" * 400)
    rasa.user_says("войти", "verify")
    await rasa.run(actions, "action_isp_verify")
    rasa.user_says("1000002", "inform")
    assert "парол" in texts(await rasa.run(actions, "action_isp_continue")).lower()


async def test_a_failing_turn_gets_an_apology_not_an_echo_of_the_request(tmp_path, caplog):
    async with served(make_settings(tmp_path)) as (client, app):
        # A real failure: the handoff queue's table is gone.
        async with app.ctx.container.db_engine.begin() as connection:
            await connection.exec_driver_sql("DROP TABLE handoffs")
        rasa = RasaConversation()
        rasa.user_says("позовите оператора, Уфа, абонентский отдел, мой пароль hunter2", "operator",
                       entities={"city": "Уфа", "department": "subscriber"})
        answer = await client.post("/webhook", json=rasa.action_call("action_isp_operator"))
        assert answer.status_code == 200
        assert "hunter2" not in answer.text
        result = answer.json()
        assert result["events"] == []
        assert "техническая неполадка" in texts(result) and "333-333" in texts(result)
    assert "turn failed on rasa" in caplog.text and "hunter2" not in caplog.text


async def test_typed_text_rasa_is_sure_of_is_still_an_answer_to_our_question(actions):
    """Rasa's confidence reaches the engine unchanged: only ``Inbound.via`` says
    "button", so an open form reads typed text first, however sure Rasa is."""
    rasa = RasaConversation()
    rasa.user_says("хочу войти", "verify")
    await rasa.run(actions, "action_isp_verify")
    rasa.user_says("1000002", "balance", confidence=1.0)
    answer = texts(await rasa.run(actions, "action_isp_continue"))
    assert "парол" in answer.lower()  # the account number was taken; the password is asked

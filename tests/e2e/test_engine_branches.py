"""Branches that channels other than the web chat reach: phones the channel vouches
for (WhatsApp sender, Telegram/Viber shared contact), and the limits of verification.
Driven through the real engine of the real container, on both stacks."""

from __future__ import annotations

import itertools

from dialogs.messages import Inbound

_ids = itertools.count(1)


async def say(stack, user: str, text: str | None = None, *, payload: str | None = None, phone: str | None = None,
              channel: str = "whatsapp"):
    result = await stack.container.engine.handle(
        Inbound(channel=channel, user_id=user, message_id=f"m{next(_ids)}", text=text, payload=payload,
                vouched_phone=phone)
    )
    return result, "\n".join(r.text for r in result.replies)


async def test_vouched_phone_verifies_when_the_balance_is_asked(stack):
    _, text = await say(stack, "+79000000002", "какой у меня баланс", phone="+79000000002")
    assert "Вы вошли по номеру телефона +7 900 ***-**-02: лицевой счёт 1000002" in text
    assert "Баланс: 50" in text


async def test_vouched_phone_with_several_accounts_asks_which(stack):
    result, text = await say(stack, "+79000000006", "баланс", phone="+79000000006")
    assert "несколько лицевых счетов" in text
    titles = [b.title for r in result.replies for b in r.buttons]
    assert titles == ["Счёт 1000006 (Нальчик)", "Счёт 1000007 (Нальчик)"]
    _, text = await say(stack, "+79000000006", "1000001", phone="+79000000006")  # not one of theirs
    assert "Такого счёта нет среди оформленных на ваш номер" in text
    _, text = await say(stack, "+79000000006", payload="inform?account=1000007", phone="+79000000006")
    assert "лицевой счёт 1000007" in text
    assert "Задолженность: 130" in text  # the pending balance question is answered


async def test_shared_contact_alone_verifies_or_says_it_is_unknown(stack):
    _, text = await say(stack, "42", None, phone="+79000000001", channel="telegram")
    assert "лицевой счёт 1000001" in text
    _, text = await say(stack, "43", None, phone="+79995550000", channel="telegram")
    assert "не указан ни в одном договоре" in text


async def test_vouched_phone_that_matches_no_contract_falls_back_to_the_form(stack):
    _, text = await say(stack, "+79995550000", "баланс", phone="+79995550000")
    assert "номер лицевого счёта" in text


async def test_vouched_phone_fills_the_callback_phone(stack):
    await say(stack, "+79001112233", "перезвоните мне", phone="+79001112233")
    await say(stack, "+79001112233", payload="inform?department=tech", phone="+79001112233")
    _, text = await say(stack, "+79001112233", "Елец", phone="+79001112233")
    assert "На какой номер" not in text  # the channel already told us the number
    assert "Когда вам удобно" in text


async def test_too_many_guesses_in_one_conversation_lock_it(stack):
    user = "guesser"
    for account in ("1000001", "1000002", "1000003"):
        await say(stack, user, "войти", channel="webchat")
        await say(stack, user, account, channel="webchat")
        for attempt in range(4):
            _, text = await say(stack, user, f"wrong{attempt}", channel="webchat")
            if "Слишком много" in text:
                break
    assert "Слишком много неверных попыток" in text


async def test_sms_codes_are_not_sent_without_limit(stack):
    user = "sms-lover"
    for _ in range(4):
        await say(stack, user, "войти", channel="webchat")
        await say(stack, user, "1000002", channel="webchat")
        _, text = await say(stack, user, payload="inform?method=sms", channel="webchat")
        await say(stack, user, payload="cancel", channel="webchat")
    assert "Коды уже отправлялись несколько раз" in text


async def test_an_answer_that_does_not_fit_is_asked_again(stack):
    await say(stack, "u1", "перезвоните", channel="webchat")
    _, text = await say(stack, "u1", "ну даже не знаю", channel="webchat")
    assert "не ответ на мой вопрос" in text
    assert "Кто вам должен перезвонить?" in text


async def test_the_password_is_not_given_to_the_nlu_and_is_flagged_secret(stack):
    await say(stack, "u2", "войти", channel="telegram")
    await say(stack, "u2", "1000002", channel="telegram")
    result, _ = await say(stack, "u2", "demo2", channel="telegram")
    assert result.inbound_was_secret
    result, _ = await say(stack, "u2", "баланс", channel="telegram")
    assert not result.inbound_was_secret


async def test_other_city_button_asks_again(stack):
    await say(stack, "u3", "офис в уфе", channel="webchat")
    _, text = await say(stack, "u3", payload="office_hours?city=?", channel="webchat")
    assert "В каком вы городе?" in text
    _, text = await say(stack, "u3", payload="inform?city=Елец", channel="webchat")
    assert text.startswith("Елец, сейчас")


async def test_contact_shared_while_asked_for_the_account_logs_in_and_answers(stack):
    _, text = await say(stack, "77", "сколько у меня денег", channel="telegram")
    assert "номер лицевого счёта" in text
    _, text = await say(stack, "77", None, phone="+79000000004", channel="telegram")
    assert "лицевой счёт 1000004" in text
    assert "Баланс: 0" in text


async def test_account_gone_after_login_gets_a_clear_answer(stack):
    from sqlalchemy import text

    await say(stack, "u4", "войти", channel="webchat")
    await say(stack, "u4", "1000008", channel="webchat")
    await say(stack, "u4", "demo8", channel="webchat")
    async with stack.container.db_engine.begin() as connection:
        await connection.execute(text("DELETE FROM accounts WHERE number = '1000008'"))
    _, text_ = await say(stack, "u4", "баланс", channel="webchat")
    assert "Не удалось получить данные счёта" in text_ and "333-333" in text_
    _, text_ = await say(stack, "u4", payload="trust_payment", channel="webchat")
    assert "Не удалось получить данные счёта" in text_


async def test_a_forged_department_button_is_refused(stack):
    await say(stack, "u5", "перезвоните", channel="webchat")
    _, text_ = await say(stack, "u5", payload="inform?department=sales", channel="webchat")
    assert "Выберите отдел кнопкой" in text_

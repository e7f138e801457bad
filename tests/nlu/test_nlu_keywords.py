"""Department and payment-method entities."""

import pytest


@pytest.mark.parametrize(
    ("text", "department"),
    [
        ("соедините с абонентским отделом", "subscriber"),
        ("вопрос по оплате", "subscriber"),
        ("перезвоните по договору", "subscriber"),
        ("мне в бухгалтерию", "subscriber"),
        ("соедините с техподдержкой", "tech"),
        ("нужна техническая помощь", "tech"),
        ("пусть мастер позвонит", "tech"),
        ("нужна настройка роутера", "tech"),
        ("не работает интернет", "tech"),
        ("у меня инета нет", "tech"),
        ("каналы пропали", "tech"),
        ("роутер мигает красным", "tech"),
        ("tech support please", "tech"),
        ("tehpodderzhka", "tech"),
    ],
)
def test_department(nlu, text, department):
    assert nlu.parse(text).entities.get("department") == department


@pytest.mark.parametrize(
    "text",
    ["какого числа спишется абонентская плата", "интернет отключили нет денег", "привет", "как настроить автоплатеж"],
)
def test_no_department(nlu, text):
    assert "department" not in nlu.parse(text).entities


@pytest.mark.parametrize(
    ("text", "method"),
    [
        ("можно оплатить картой на сайте", "card"),
        ("оплата банковской карточкой", "card"),
        ("оплатить через личный кабинет", "cabinet"),
        ("можно заплатить в лк", "cabinet"),
        ("оплата через сбербанк онлайн", "sberbank"),
        ("через сбер заплачу", "sberbank"),
        ("как подключить автоплатеж", "autopay"),
        ("автоплатёж в сбербанк онлайн", "autopay"),
        ("оплатить в мобильном приложении", "app"),
        ("картой через приложение можно заплатить", "app"),
        ("оплата webmoney", "wallet"),
        ("киви кошелек", "wallet"),
        ("юмани принимаете оплату", "wallet"),
        ("яндекс деньгами можно", "wallet"),
        ("где терминал", "terminal"),
        ("банкомат сбербанка", "terminal"),
        ("через comepay", "terminal"),
        ("оплатить в связном", "office"),
        ("наличными можно", "office"),
        ("евросеть", "office"),
        ("оплатить с телефона", "mobile"),
        ("со счёта мобильного", "mobile"),
        ("оплатить баллами", "bonus"),
        ("списать бонусы", "bonus"),
        ("oplata kartoy", "card"),
        ("can I pay with qiwi", "wallet"),
    ],
)
def test_payment_method(nlu, text, method):
    assert nlu.parse(text).entities.get("payment_method") == method


@pytest.mark.parametrize(
    "text",
    ["войти в личный кабинет", "войти в лк", "адрес офиса в Уфе", "приложение не работает", "пишу с телефона", "какой баланс"],
)
def test_no_payment_method_outside_payment_talk(nlu, text):
    assert "payment_method" not in nlu.parse(text).entities


@pytest.mark.parametrize(
    ("text", "method"),
    [
        ("приложение", "app"),
        ("личный кабинет", "cabinet"),
        ("через лк", "cabinet"),
        ("на сайте", "card"),
        ("с телефона", "mobile"),
        ("через приложение пожалуйста", "app"),
    ],
)
def test_bare_answer_names_a_payment_method(nlu, text, method):
    """What people reply to "how would you like to pay?"."""
    assert nlu.parse(text).entities.get("payment_method") == method

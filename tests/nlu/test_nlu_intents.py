"""Intents for typical phrasings, and what the confidence means."""

import pytest

from dialogs.nlu import INTENTS, ParseResult

TYPICAL = {
    "greet": ["привет", "добрый день", "здрасте", "Здравствуйте!", "privet", "hello"],
    "thanks_bye": ["спасибо", "пока", "до свидания", "спасибо, всё понятно", "thank you"],
    "help": ["что ты умеешь", "меню", "помощь", "/start", "what can you do"],
    "verify": ["войти", "авторизоваться", "мой лицевой счёт 1000002", "это мой номер договора", "log in"],
    "password_reset": ["забыл пароль", "как восстановить пароль", "не помню пароль", "zabyl parol", "forgot password"],
    "logout": ["выйти", "сменить аккаунт", "забудь меня", "log out"],
    "balance": [
        "сколько денег",
        "баланс",
        "какой долг",
        "когда списание",
        "balans",
        "skolko deneg na schetu",
        "what's my balance",
    ],
    "payment_methods": [
        "как оплатить",
        "где заплатить",
        "оплата через сбербанк",
        "можно ли картой",
        "терминалы",
        "комиссия",
        "how can I pay",
    ],
    "office_hours": [
        "когда работаете",
        "часы работы",
        "адрес офиса в Уфе",
        "телефон в Нальчике",
        "вы сейчас открыты",
        "opening hours",
    ],
    "trust_payment": [
        "доверительный платёж",
        "обещанный платёж",
        "отсрочка",
        "дайте в долг до зарплаты",
        "интернет отключили нет денег",
    ],
    "callback": [
        "перезвоните мне",
        "закажите звонок",
        "обратный звонок",
        "позвоните на номер 89001234567",
        "call me back",
    ],
    "operator": ["оператор", "живой человек", "соедините со специалистом", "позовите человека", "talk to a human"],
    "tech_issue": [
        "интернет не работает",
        "нет сигнала",
        "тв не показывает",
        "медленный интернет",
        "роутер мигает",
        "internet ne rabotaet",
    ],
    "cabinet_access": ["как зарегистрироваться в личном кабинете", "где взять логин от лк", "бизнес кабинет"],
    "new_connection": ["хочу подключить интернет", "подключите интернет в новую квартиру", "заявка на подключение"],
    "voluntary_block": ["добровольная блокировка", "хочу заблокировать счёт на время отпуска", "снять блокировку"],
    "tariff": ["какой у меня тариф", "хочу сменить тариф", "какие есть тарифы"],
    "mobile_app": ["мобильное приложение", "где скачать приложение", "есть приложение для айфона"],
    "security": ["безопасно ли платить в личном кабинете", "какой пароль надёжный", "как часто менять пароль"],
    "contract_termination": ["расторгнуть договор", "хочу отказаться от услуг", "как расторгнуть договор"],
    "out_of_scope": [
        "какая погода",
        "расскажи анекдот",
        "купи слона",
        "кто будет президентом",
        "фывафыва",
        "tell me a joke",
    ],
}
CASES = [(intent, text) for intent, texts in TYPICAL.items() for text in texts]


def test_every_intent_has_cases():
    assert set(TYPICAL) == set(INTENTS)


@pytest.mark.parametrize(("intent", "text"), CASES)
def test_typical_phrasing(nlu, intent, text):
    result = nlu.parse(text)
    assert result.intent == intent, result


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("СКОЛЬКО ДЕНЕГ НА СЧЕТУ", "balance"),  # caps
        ("скока деняг на щету", "balance"),  # typos and slang
        ("сколко денег на счету", "balance"),
        ("забыл пороль", "password_reset"),
        ("ghbdtn", "greet"),  # «привет» typed in the English layout
        ("привeт", "greet"),  # a Latin "e" inside a Russian word
        ("интернет не работает!!!", "tech_issue"),
        ("перезвоните мне на +7 900 000-00-01", "callback"),
        ("doveritelnyy platezh", "trust_payment"),
        ("call me back please", "callback"),
    ],
)
def test_robust_to_noise(nlu, text, intent):
    assert nlu.parse(text).intent == intent


def test_result_shape(nlu):
    result = nlu.parse("Перезвоните мне в Уфе на 89000000001")
    assert isinstance(result, ParseResult)
    assert result.text == "Перезвоните мне в Уфе на 89000000001"
    assert result.intent in INTENTS
    assert 0.0 <= result.confidence <= 1.0
    assert result.entities == {"city": "Уфа", "phone": "+79000000001"}


def test_confidence_is_high_for_clear_requests(nlu):
    for text in ("забыл пароль", "перезвоните мне", "какой у меня баланс"):
        assert nlu.parse(text).confidence > 0.9


def test_gibberish_is_out_of_scope(nlu):
    for text in ("ывапролджэ", "qzxqzx", "ъъъъ", "...", "   ", ""):
        assert nlu.parse(text).intent == "out_of_scope", text


def test_uncertain_guess_becomes_out_of_scope(nlu):
    """Below the threshold the best in-scope guess is not returned."""
    from reference.directory import default_directory
    from dialogs.nlu import NLU

    strict = NLU(default_directory(), threshold=0.999999)
    result = strict.parse("ну может оплатить")
    assert result.intent == "out_of_scope"
    assert result.confidence < 0.5
    ranking = strict.classify(strict.analyze("ну может оплатить"))
    assert ranking[0][0] != "out_of_scope"
    assert abs(sum(p for _, p in ranking) - 1.0) < 1e-9

"""Domain concepts: word prefixes that mean the same thing to a support desk.

With a thousand-odd training sentences, a word seen once («консультант») teaches
the classifier little; mapping it to the concept it shares with «оператор» and
«живой человек» lets every example of the concept vote for it. Prefixes are
matched against normalised words (Cyrillic, typos corrected) and English words.
"""

from __future__ import annotations

CONCEPTS: dict[str, str] = {
    "greet": "привет превет здравств здраств здрав здрас здраст здоров здаров салют хай хелл хелоу хеллоу "
             "приветств hello hi hey morning evening afternoon",
    "thanks": "спасиб спасибк пасиб спс сенкс благодар мерси thank thanks thx cheers",
    "bye": "пока покед свидан прощ бывай встреч bye goodbye",
    "help": "помощ помог помоч помощь справк меню инструкц функци команд умеешь умеет умеете можешь "
            "возможност опци раздел старт начать start help menu command option feature",
    "bot": "бот робот чатбот bot robot",
    "login": "войти войд вход зайти захож залогин логин авториз идентифиц login sign signin",
    "logout": "выйти выйд выход выйти разлогин перелогин перезайт отвяз отвязат деавториз logout signout",
    "other": "другой другим другого чужой чужого сменить смена поменять переключ switch another other change",
    "forget": "забыл забыт забуд забудь помню вспомн потерял потерян утерян утрач восстанов востанов сброс сбросить "
              "forgot forget lost reset recover remember",
    "password": "пароль пароля паролем пароли пороль парол пасворд password passwd",
    "account_word": "лицев счет счета договор аккаунт учетк учетн абонент account contract",
    "money": "деньг денег денежк бабк бабл средств сумм рубл money cash",
    "balance": "баланс балланс остат минус долг задолж должен должна balance debt owe",
    "tariff": "тариф абонплат абонентк абонентск ежемесяч plan tariff subscription monthly",
    "charge": "списан спиш списыв начислен charge charged",
    "pay": "оплат оплач заплат плат плачу пополн внест внес внош перевест перевод перечисл закин кинуть "
           "pay paying payment top",
    "method": "карт карточк сбер терминал банкомат киви кошел вебмани юмани яндекс наличн наличк связн евросет "
              "касс приложен бонус балл автоплат автооплат комисси реквизит card qiwi webmoney terminal atm "
              "wallet app commission",
    "trust": "доверит доверительн обещан отсроч кредит займ заним позже попозже потом зарплат получк аванс "
             "trust promised later defer credit salary",
    "cutoff": "отключ отруб заблок блокир выключ неуплат неоплат disconnect blocked cut",
    "hours": "работаете работают график часы режим открыт открыва закрыт закрыва выходн суббот "
             "воскрес праздн обед перерыв open close hours",
    "place": "адрес адресс офис находит располож добрат подойти приехать контакт почта email address office "
             "contact located",
    "call": "перезвон позвон звонок звонк звонит набер набир звяк брякн созвон call calling callback ring",
    "human": "оператор опретор оператр аператор человек люди живой живого живым специалист консультант менеджер "
             "сотрудник агент operator human person people agent specialist",
    "service": "интернет инет интырнет тв телевиз телевид канал роутер модем вайфай вай wifi приставк сигнал кабел "
               "провод скорост пинг видео ютуб internet tv router signal wifi connection speed",
    "broken": "неработ пропа пропал тормоз медленн лаг лага глюч завис мига мегает сломал поломк авари ошибк "
              "плох ужасн отвратит упал отвал сыпет грузит грузят загруж broken slow down dropping error lag",
    "fix": "мастер ремонт настро настраив починит почин техник техподдерж поддерж support technician repair fix",
}

PREFIX_MIN = 3
PREFIX_MAX = 12


def _build() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for concept, prefixes in CONCEPTS.items():
        for prefix in prefixes.split():
            concepts = index.setdefault(prefix, [])
            if concept not in concepts:
                concepts.append(concept)
    return {prefix: tuple(concepts) for prefix, concepts in index.items()}


PREFIXES = _build()


def concepts(word: str) -> tuple[str, ...]:
    """Concepts of ``word``: those of the word itself or of its longest listed prefix."""
    found = PREFIXES.get(word)
    if found:
        return found
    for end in range(min(len(word), PREFIX_MAX), PREFIX_MIN - 1, -1):
        found = PREFIXES.get(word[:end])
        if found:
            return found
    return ()

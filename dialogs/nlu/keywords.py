"""Department and payment-method entities: keyword rules over normalised text.

The text they see is the analyser's view of the utterance: Cyrillic words (Latin
input transliterated, typos corrected to known words) followed by the original
Latin words, each separated by single spaces. So "sberbank", «сбер» and «сбербанке»
all reach the same rule, and English words ("card", "terminal") are matched
as typed.
"""

from __future__ import annotations

import re

# Payment methods, most specific first: "автоплатёж в Сбербанк Онлайн" is autopay,
# "банкомат Сбербанка" a terminal, "картой в приложении" the app. The first rule
# that matches wins. Rules marked ``needs_context`` name things that are not only
# ways to pay («войти в личный кабинет», «приложение не работает», «адрес офиса»):
# they count only when the utterance is about paying.
_PAYMENT_RULES: tuple[tuple[str, bool, str], ...] = (
    ("autopay", False, r"\bавто\s?(?:плат|оплат|списан|пополн)\w*|\bautopay\w*|\bauto\s?pay\w*|"
                       r"\bавтоматическ\w* (?:оплат|списан|платеж|пополнен)\w*"),
    ("bonus", False, r"\bбалл\w*|\bбонус\w*|\bbonus\w*|\bpoints?\b"),
    ("terminal", False, r"\bтерминал\w*|\bбанкомат\w*|\bcomepay\b|\bкомеп[еэа]й\w*|\bкамип[еэа]й\w*|\batm\b|"
                        r"\bterminal\w*|\bплатежн\w* (?:автомат|аппарат)\w*|\bинфокиоск\w*"),
    ("wallet", False, r"\bвеб\s?мани\b|\bвебмоней\b|\bwebmoney\b|\bwm\b|\bкошел\w*|\bwallet\w*|\bю\s?мани\b|"
                      r"\byoomoney\b|\byumoney\b|\bюmoney\b|\bяндекс\s?(?:деньг|кошел)\w*|\byandex\w*|"
                      r"\bqiwi\b|\bкиви\b|\bэлектронн\w* (?:деньг|кошел)\w*|\bpaypal\b"),
    ("app", True, r"\bприложени\w*|\bприлаг\w*|\bapp\b|\bapplication\b"),
    ("mobile", False, r"\bсо? (?:счета|баланса) (?:мобильн\w*|телефон\w*|сим\w*)|\bмобильн\w* сч[её]т\w*|"
                      r"\bсч[её]т\w* (?:мобильн\w*|телефон\w*)|\bбаланс\w* (?:мобильн\w*|телефон\w*)|"
                      r"\bmobile balance\b|\bphone balance\b"),
    ("mobile", True, r"\b(?:с|со) (?:мобильн\w*|сотов\w*|телефон\w*|мобил\w*|смартфон\w*)|\bпо смс\b|"
                     r"\bfrom (?:my )?(?:phone|mobile)\b"),
    ("office", False, r"\bсвязн\w*|\bевросет\w*|\bкасс[аеуыой]\w*|\bналичн\w*|\bналичк\w*|\bналом\b|"
                      r"\bcash\b|\beuroset\b|\bsvyaznoy\b"),
    ("office", True, r"\bв (?:ваш\w* )?(?:офис|салон|отделени)\w*|\bin (?:the|your )?office\b"),
    ("sberbank", False, r"\bсбер\w*|\bsber\w*|\bсбол\w*"),
    ("cabinet", True, r"\bличн\w* кабинет\w*|\bкабинет\w*|\bлк\b|\blk\b|\bcabinet\b|\bpersonal account\b"),
    ("card", False, r"\bкарт(?:а|ы|е|у|ой|ою|ами|ам|очк\w*|оч\w*)?\b|\bкредитк\w*|\bдебетов\w*|\bcard\w*|"
                    r"\bvisa\b|\bmastercard\b|\bмастеркард\w*"),
    ("card", True, r"\bна сайте\b|\bчерез сайт\w*|\bна сайт\b|\bon (?:the |your )?(?:web)?site\b|\bonline\b|\bонлайн\b"),
)
_PAYMENT = tuple((method, needs_context, re.compile(pattern)) for method, needs_context, pattern in _PAYMENT_RULES)
_PAYING = re.compile(
    r"\b(?:о|за|до|у|вы|пере|по)?пл[ао]т\w*|\bплач\w*|\bпополн\w*|\bвн[ео]с\w*|\bвнест\w*|\bперевест\w*|"
    r"\bперевод\w*|\bперечисл\w*|\bкинуть\b|\bзакин\w*|\bположить\b|\bден(?:ь?г|ег)\w*|\bкомисси\w*|\bсредств\w*|"
    r"\bpay\w*|\btop up\b|\bcommission\b|\bfee\b"
)


# Words that may surround a bare answer: «через приложение», «в лк пожалуйста».
_FILLERS = frozenset("в во на через с со по из мой моя мое мой ваш ваше вашем вашу ну давайте пожалуйста лучше".split())


def _bare_answer(text: str, match: re.Match) -> bool:
    rest = (text[: match.start()] + " " + text[match.end() :]).split()
    return all(word in _FILLERS for word in rest)


def payment_method(text: str, about_paying: bool = False) -> str | None:
    """The payment method named in ``text``; ``about_paying`` when the intent already says so.

    A context-dependent name also counts when it is the whole reply, give or take a
    preposition or a please («приложение», «через личный кабинет»): that is how people answer
    "how would you like to pay?".
    """
    paying: bool | None = about_paying or None
    for method, needs_context, pattern in _PAYMENT:
        match = pattern.search(text)
        if not match:
            continue
        if needs_context:
            if paying is None:
                paying = bool(_PAYING.search(text))
            if not paying and not _bare_answer(text, match):
                continue
        return method
    return None


# Departments: the earliest mention wins ("не техподдержку, а абонентский отдел" is
# rare enough; the first is what people usually ask for). A description of a fault
# ("роутер мигает", "инета нет", "каналы пропали") means tech support: a service
# word and a fault word within two words of each other, in either order.
_SERVICE = (
    r"(?:интернет\w*|инет\w*|интырнет\w*|тв|телевиз\w*|телевид\w*|канал\w*|сигнал\w*|связь|связи|"
    r"соединени\w*|роутер\w*|модем\w*|вай ?фай\w*|wi ?fi|wifi|приставк\w*|изображени\w*|картинк\w*|"
    r"звук\w*|сайт\w*|скорост\w*|пинг\w*|internet|tv|signal|connection|router|speed)"
)
_FAULT = (
    r"(?:пропа\w*|отвал\w*|тормоз\w*|лаг\w*|глюч\w*|упал\w*|слетел\w*|лежит|лег|сдох\w*|барахл\w*|туп\w*|"
    r"рв[её]т\w*|обрыв\w*|мига\w*|мерца\w*|зависа\w*|висит|низк\w*|маленьк\w*|медленн\w*|плох\w*|"
    r"ужасн\w*|отвратительн\w*|down|dropping|drops|slow|broken|bad)"
)
_DEPARTMENT_RULES: tuple[tuple[str, str], ...] = (
    ("tech", r"\bтехпод\w*|\bтех\.? ?поддерж\w*|\bтех ?отдел\w*|\bтехник\w*|\bтехническ\w*|\bмастер\w*|"
             r"\bнастро[ийя]\w*\b(?! (?:авто|оплат))|\bнастраив\w*|\bсаппорт\w*|\bsupport\b|\btech\w*|"
             r"\b(?:не|еле|плохо) (?:работ|показ|груз|загруж|открыв|ловит|подключ|включ|гори|ид[её]т|паш|фурыч|"
             r"разда|видит|тян)\w*|\bнеработ\w*|"
             rf"\b{_SERVICE} (?:\w+ ){{0,2}}?{_FAULT}\b|\b{_FAULT} (?:\w+ ){{0,2}}?{_SERVICE}\b|"
             rf"\bнет {_SERVICE}\b|\b{_SERVICE} нет\b|"
             r"\bпроблем\w* (?:с|со) (?:\w+ )?" + _SERVICE + r"|\bнет (?:подключени|доступа к)\w*|"
             r"\bсломал\w*|\bполомк\w*|\bнеисправ\w*|\bремонт\w*|\bавари\w*|\bпочин\w*|"
             r"\bdoesn t work\b|\bnot working\b|\bno (?:internet|signal|connection)\b"),
    ("subscriber", r"\bабонентск\w*\b(?! плат)|\bабон\w* отдел\w*|\bбухгалтер\w*|\bфинанс\w*|"
                   r"\bпо (?:вопрос\w* )?(?:оплат|договор|сч[её]т|баланс|тариф|деньг|платеж|начислен|"
                   r"списани|долг|задолжен)\w*|\bbilling\b|\bsubscriber department\b|\baccounts? department\b"),
)
_DEPARTMENT = tuple((dep, re.compile(pattern)) for dep, pattern in _DEPARTMENT_RULES)


def department(text: str) -> str | None:
    best: tuple[int, str] | None = None
    for dep, pattern in _DEPARTMENT:
        match = pattern.search(text)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), dep)
    return best[1] if best else None

"""The texts the WhatsApp adapter writes itself (everything else comes from the
dialog engine): subscribers read the first group, agents the second."""

from __future__ import annotations

# -- to subscribers -----------------------------------------------------------------------------
MENU_PROMPT = "Ответьте цифрой:"
MENU_LINE = "{number} — {title}"
LIST_BUTTON = "Выбрать"  # the button that opens a list picker (WhatsApp: at most 20 characters)
MEDIA_NOTE = (
    "Спасибо! Пока я понимаю только текст: фото, голосовые сообщения и файлы не читаю. "
    "Напишите, пожалуйста, ваш вопрос словами или отправьте «меню»."
)

# -- to agents (DeliveryResult.reason) ----------------------------------------------------------
WINDOW_CLOSED_NO_TEMPLATE = (
    "Абонент не писал в WhatsApp больше 24 часов: WhatsApp принимает только одобренный шаблон, "
    "а он не настроен. Сообщение не доставлено — позвоните абоненту."
)
WINDOW_CLOSED = (
    "Окно 24 часа в WhatsApp закрыто, и Twilio не принял сообщение без шаблона. "
    "Сообщение не доставлено — позвоните абоненту."
)
WINDOW_CLOSED_ADVICE = (
    "24-часовое окно WhatsApp закрыто (абонент не писал больше суток): сообщение уйдёт "
    "одобренным шаблоном, без кнопок."
)
UNSUBSCRIBED = "Абонент отписался от сообщений в WhatsApp (STOP): сообщение не доставлено."
NOT_ON_WHATSAPP = "Номер абонента недоступен в WhatsApp: сообщение не доставлено."
TEMPLATE_REJECTED = "WhatsApp не принял шаблон сообщения (проверьте настройки шаблона): сообщение не доставлено."
UNREACHABLE = "WhatsApp (Twilio) сейчас недоступен; сообщение не доставлено, повторите позже."
REFUSED = "WhatsApp (Twilio) отказал в доставке, ошибка {code}: сообщение не доставлено."

# Twilio error codes (twilio.com/docs/api/errors) → what an agent reads.
ERROR_REASONS = {
    63016: WINDOW_CLOSED,
    21610: UNSUBSCRIBED,
    63003: NOT_ON_WHATSAPP,
    63024: NOT_ON_WHATSAPP,
    21211: NOT_ON_WHATSAPP,
    21614: NOT_ON_WHATSAPP,
    63005: TEMPLATE_REJECTED,
    63027: TEMPLATE_REJECTED,
    21656: TEMPLATE_REJECTED,
}
# Passing refusals: rate limits and outages on Twilio's or Meta's side.
RETRYABLE_CODES = {20429, 63018, 63038, 30001}


def reason_for(code: int | str | None) -> str:
    try:
        number = int(code) if code is not None else None
    except ValueError:
        number = None
    if number in RETRYABLE_CODES:
        return UNREACHABLE
    return ERROR_REASONS.get(number, REFUSED.format(code=code or "?"))  # type: ignore[arg-type]

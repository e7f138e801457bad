"""The few texts the Viber adapter says itself (everything else comes from the dialog
engine), and the reasons an agent reads when a message did not go out."""

from __future__ import annotations

SHARE_PHONE_BUTTON = "📱 Поделиться моим номером"
NOT_TEXT_NOTE = (
    "Я понимаю только текстовые сообщения. Напишите, пожалуйста, ваш вопрос словами "
    "или нажмите кнопку меню."
)
CHOOSE_PROMPT = "Выберите вариант:"

# DeliveryResult reasons (shown to the agent in the console).
NOT_SUBSCRIBED = "Абонент отписался от бота в Viber: сообщение не доставлено. Свяжитесь с ним по телефону."
UNANSWERED_LIMIT = (
    "Абонент не отвечает: Viber разрешает не больше {limit} сообщений в час без ответа. "
    "Подождите ответа абонента или повторите позже."
)
PAID_REFUSED = (
    "Абонент не писал в Viber больше 24 часов: это сообщение открыло бы платную сессию, "
    "а платные сообщения отключены в настройках. Позвоните абоненту."
)
PAID_NOTE = "Сообщение открыло платную сессию Viber (абонент не писал больше 24 часов)."
TOO_MANY_REQUESTS = "Viber просит отправлять реже; сообщение не ушло, повторите через минуту."
REFUSED = "Viber не принял сообщение: {error}"
UNREACHABLE = "Viber сейчас недоступен; повторите позже."

# Told to the agent before writing (ViberSender.advise).
PAID_ADVICE = (
    "Сообщение откроет платную сессию Viber: абонент не писал больше 24 часов. "
    "Если вопрос терпит, дождитесь его ответа или позвоните."
)

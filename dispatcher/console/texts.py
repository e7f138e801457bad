"""What the subscriber is told in their channel about agents (Russian, polite «вы»)."""

OPERATOR_JOINED = "К разговору подключился оператор {name}. Пишите здесь — оператор ответит в этом чате."
OPERATOR_LEFT = (
    "Оператор завершил разговор. Я снова на связи: напишите вопрос или «меню», чтобы увидеть, что я умею."
)
# {when}: the expected answer time (the bot's own «Оператор ответит примерно через …»
# sentence, dialogs/texts/ru.toml handoff.eta_*), or WHEN_UNKNOWN.
BACK_IN_QUEUE = (
    "Оператор сейчас не может ответить, поэтому вы снова в очереди, ваше место — {position}-е. {when}"
)
TRANSFERRED = "Ваш вопрос передан: {department}, {city}. Вы в очереди, ваше место — {position}-е. {when}"
ANSWERED_HERE = "Ответ придёт сюда, в этот чат."
WHEN_UNKNOWN = "Следующий свободный оператор ответит здесь, в этом чате."
CALLBACK_GAVE_UP = (
    "Мы {attempts} раз(а) не смогли дозвониться по номеру {phone} и закрыли заявку на обратный звонок №{id}. "
    "Если звонок ещё нужен, оставьте новую заявку здесь или позвоните нам: {service_phone}."
)
ANY_CITY = "город не указан"

# Transcript notes for agents (direction "system").
NOTE_TAKEN = "Оператор {login} взял разговор."
NOTE_RELEASED = "Оператор {login} вернул разговор боту."
NOTE_REQUEUED = "Разговор вернулся в очередь: {why}."
NOTE_TRANSFERRED = "Разговор передан: {department}, {city} ({login})."
NOTE_NOT_DELIVERED = "Не доставлено: {reason}"
WHY_IDLE = "оператор {login} не отвечал"
WHY_OFFLINE = "оператор {login} вышел из сети"
NOTE_CALLBACK_GAVE_UP = "Заявка на звонок №{id} закрыта после {attempts} попыток; абоненту сообщено."

REASONS = {"asked": "Попросил оператора", "not_understood": "Бот не понял вопрос"}

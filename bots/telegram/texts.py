"""The few texts the Telegram adapter says itself (everything else comes from the
dialog engine). Russian, polite «вы», with a concrete next step."""

from __future__ import annotations

GROUP_CHAT_NOTE = (
    "Я отвечаю только в личных сообщениях, чтобы данные вашего счёта не видели другие. "
    "Откройте чат со мной и напишите ваш вопрос там."
)
NOT_TEXT_NOTE = (
    "Я понимаю только текстовые сообщения. Напишите, пожалуйста, ваш вопрос словами "
    "или нажмите /start, чтобы открыть меню."
)
EDITED_NOTE = (
    "Я не читаю исправления в уже отправленных сообщениях. "
    "Пожалуйста, отправьте исправленный текст новым сообщением."
)
STALE_BUTTON_NOTE = "Эта кнопка устарела. Нажмите /start, чтобы открыть меню заново."
SHARE_PHONE_BUTTON = "📱 Поделиться моим номером"
MORE_CHOICES_PROMPT = "Или выберите вариант:"
CHOOSE_PROMPT = "Выберите вариант:"

# The bot's command menu (set_my_commands), shown next to the input field.
COMMAND_DESCRIPTIONS = {
    "start": "Главное меню",
    "help": "Что умеет бот",
    "logout": "Выйти из лицевого счёта",
}

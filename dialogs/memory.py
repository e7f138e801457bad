"""What a conversation remembers of what the subscriber named: a city, a department,
an account number — whatever skill answered the message, so a later request does
not ask again (the engine applies these after every turn; naming another value
replaces the old one, «until the subscriber says otherwise»).

The offer a reply made («Подключить доверительный платёж?») lives one turn only:
``forget_unanswered_offer`` drops it unless this turn made a new one.
"""

from __future__ import annotations

from dialogs.conversation import Conversation
from dialogs.events import AccountRemembered, CityRemembered, DepartmentRemembered, Event, Offered
from dialogs.nlu.base import ParseResult
from reference.directory import Directory


def named_in(parse: ParseResult, directory: Directory) -> list[Event]:
    """Events remembering the known values ``parse`` names (unknown ones are ignored:
    a city not served is no city to come back to)."""
    events: list[Event] = []
    city = directory.city(parse.entities.get("city"))
    if city is not None:
        events.append(CityRemembered(city.name))
    department = parse.entities.get("department")
    if department in directory.departments:
        events.append(DepartmentRemembered(department))
    account = parse.entities.get("account")
    if account and account.isdigit():
        events.append(AccountRemembered(account))
    return events


def forget_unanswered_offer(conversation: Conversation, events: list[Event]) -> None:
    if not any(isinstance(e, Offered) for e in events):
        conversation.offer = None

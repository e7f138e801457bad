"""SkillRouter: filters that read like sentences, data handed to handlers, nesting,
first match wins, a handler may pass, nothing matched → None."""

from __future__ import annotations

from dialogs.events import CityRemembered, LastIntent
from dialogs.nlu.base import ParseResult
from dialogs.router import HasEntity, IntentIs, SkillRouter


def parsed(intent: str, **entities: str) -> ParseResult:
    return ParseResult(text="", intent=intent, confidence=0.9, entities=entities)


async def test_filters_hand_what_they_extracted_to_the_handler(make_turn, say):
    router = SkillRouter("offices")
    seen = {}

    @router.on(IntentIs("office_hours"), HasEntity("city"))
    async def hours_in(turn, say, city):
        seen["city"] = city
        return [CityRemembered(city)]

    events = await router.dispatch(make_turn(parse=parsed("office_hours", city="Уфа")), say)
    assert events == [CityRemembered("Уфа")]
    assert seen == {"city": "Уфа"}


async def test_a_failing_filter_skips_the_handler_and_the_next_one_answers(make_turn, say):
    router = SkillRouter("offices")

    @router.on(IntentIs("office_hours"), HasEntity("city"))
    async def with_city(turn, say, city):
        return [CityRemembered(city)]

    @router.on(IntentIs("office_hours"))
    async def without_city(turn, say):
        return [LastIntent("office_hours")]

    assert await router.dispatch(make_turn(parse=parsed("office_hours")), say) == [LastIntent("office_hours")]


async def test_first_match_wins_across_nested_routers(make_turn, say):
    root, first, second = SkillRouter("root"), SkillRouter("first"), SkillRouter("second")

    @first.on(IntentIs("balance"))
    async def first_balance(turn, say):
        return [LastIntent("first")]

    @second.on(IntentIs("balance", "help"))
    async def second_balance(turn, say):
        return [LastIntent("second")]

    root.include(first, second)
    assert await root.dispatch(make_turn(parse=parsed("balance")), say) == [LastIntent("first")]
    assert await root.dispatch(make_turn(parse=parsed("help")), say) == [LastIntent("second")]
    assert [r.handler for r in root.handlers()] == [first_balance, second_balance]


async def test_own_handlers_come_before_the_included_routers(make_turn, say):
    root, child = SkillRouter("root"), SkillRouter("child")
    root.include(child)

    @child.on(IntentIs("greet"))
    async def child_greet(turn, say):
        return [LastIntent("child")]

    @root.on(IntentIs("greet"))
    async def root_greet(turn, say):
        return [LastIntent("root")]

    assert await root.dispatch(make_turn(parse=parsed("greet")), say) == [LastIntent("root")]


async def test_a_handler_returning_none_passes_the_turn_on(make_turn, say):
    router = SkillRouter("policies")

    @router.on()
    async def passes(turn, say, ctx):
        ctx.append("passed")
        return None

    @router.on()
    async def answers(turn, say, ctx):
        ctx.append("answered")
        return []

    trail: list[str] = []
    assert await router.dispatch(make_turn(parse=parsed("greet")), say, ctx=trail) == []
    assert trail == ["passed", "answered"]  # the context reached both handlers


async def test_nothing_matched_is_none(make_turn, say):
    router = SkillRouter("balance")

    @router.on(IntentIs("balance"))
    async def balance(turn, say):  # pragma: no cover - must not run
        raise AssertionError

    assert await router.dispatch(make_turn(parse=parsed("greet")), say) is None
    assert await SkillRouter("empty").dispatch(make_turn(parse=parsed("greet")), say) is None
    assert say.replies == []


def test_has_entity_passes_nothing_for_an_empty_value(make_turn):
    assert HasEntity("city")(make_turn(parse=parsed("office_hours", city=""))) is False
    assert HasEntity("city")(make_turn(parse=parsed("office_hours", city="Уфа"))) == {"city": "Уфа"}
    assert IntentIs("a", "b")(make_turn(parse=parsed("b"))) is True


async def test_a_handler_registered_in_a_child_after_a_dispatch_is_found(make_turn, say):
    # The handler list is flattened once for speed; a later registration anywhere in the
    # tree must still count.
    root, child = SkillRouter("root"), SkillRouter("child")
    root.include(child)
    assert await root.dispatch(make_turn(parse=parsed("balance")), say) is None

    @child.on(IntentIs("balance"))
    async def late(turn, say):
        return [LastIntent("late")]

    assert await root.dispatch(make_turn(parse=parsed("balance")), say) == [LastIntent("late")]


async def test_a_handler_that_changes_the_intent_and_passes_hands_the_turn_to_that_intents_handler(make_turn, say):
    # As the follow-up policy does («а в Уфе?» becomes the last request's intent): the
    # intent is read again for each handler, not once per dispatch.
    router = SkillRouter("policies")

    @router.on(IntentIs("greet"))
    async def rewrite(turn, say):
        turn.parse = parsed("office_hours", city="Уфа")
        return None

    @router.on(IntentIs("greet"))
    async def greet(turn, say):
        return [LastIntent("greet")]

    @router.on(IntentIs("office_hours"), HasEntity("city"))
    async def hours(turn, say, city):
        return [CityRemembered(city)]

    assert await router.dispatch(make_turn(parse=parsed("greet")), say) == [CityRemembered("Уфа")]


async def test_two_intent_filters_on_one_handler_both_must_pass(make_turn, say):
    router = SkillRouter("skills")

    @router.on(IntentIs("balance", "help"), IntentIs("help", "greet"))
    async def only_help(turn, say):
        return [LastIntent("help")]

    assert await router.dispatch(make_turn(parse=parsed("help")), say) == [LastIntent("help")]
    assert await router.dispatch(make_turn(parse=parsed("balance")), say) is None
    assert await router.dispatch(make_turn(parse=parsed("greet")), say) is None

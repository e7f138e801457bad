"""Repeated messages are parsed once: the same answer, and never a shared mutable one."""

from reference.directory import default_directory
from dialogs.nlu import NLU
from dialogs.nlu import nlu as nlu_module


def test_a_repeated_message_gets_the_same_parse_without_analysing_it_again(monkeypatch):
    nlu = NLU(default_directory())
    first = nlu.parse("Нет интернета в Уфе, какой номер техподдержки?")
    analysed: list[str] = []
    analyze = nlu._analyzer.analyze
    monkeypatch.setattr(nlu._analyzer, "analyze", lambda text: analysed.append(text) or analyze(text))
    again = nlu.parse("Нет интернета в Уфе, какой номер техподдержки?")
    assert again == first and again.entities["city"] == "Уфа"
    assert analysed == []
    nlu.parse("Когда работает офис в Уфе?")
    assert analysed == ["Когда работает офис в Уфе?"]


def test_a_caller_changing_its_entities_does_not_change_the_next_parse():
    nlu = NLU(default_directory())
    nlu.parse("Как оплатить картой?").entities["day"] = "2026-12-01"
    assert "day" not in nlu.parse("Как оплатить картой?").entities


def test_long_texts_are_not_kept_and_the_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(nlu_module, "UTTERANCE_CACHE_SIZE", 3)
    nlu = NLU(default_directory())
    nlu.parse("баланс " * 40)
    assert nlu._utterances == {}
    for text in ("баланс", "оператор", "спасибо", "привет"):
        nlu.parse(text)
    assert list(nlu._utterances) == ["привет"]  # full at three: started afresh

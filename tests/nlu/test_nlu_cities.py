"""City entity: every reference city from inflected forms, transliteration, typos and aliases."""

import shutil

import pytest

from reference.directory import DEFAULT_DIR, Directory, default_directory
from dialogs.nlu import NLU
from dialogs.nlu.inflect import name_forms

# Written by hand (not produced by the rules under test): two or more inflected
# forms and a transliteration for every city in cities.toml.
CITY_MENTIONS = {
    "Белгород": ["в Белгороде", "из Белгорода", "belgorod", "v belgorode"],
    "Белорецк": ["в Белорецке", "по Белорецку", "beloretsk", "v beloretske"],
    "Владивосток": ["во Владивостоке", "из Владивостока", "vladivostok", "vo vladivostoke"],
    "Елец": ["в Ельце", "из Ельца", "елец", "elets", "v eltse"],
    "Ефремов": ["в Ефремове", "под Ефремовом", "efremov", "v efremove"],
    "Кочубеевское": ["в Кочубеевском", "из Кочубеевского", "kochubeevskoe", "v kochubeevskom"],
    "Липецк": ["в Липецке", "по Липецку", "lipetsk", "v lipetske"],
    "Москва": ["в Москве", "из Москвы", "по Москве", "moskva", "v moskve", "moscow"],
    "Нальчик": ["в Нальчике", "из Нальчика", "nalchik", "v nalchike"],
    "Невинномысск": ["в Невинномысске", "по Невинномысску", "nevinnomyssk", "v nevinnomysske"],
    "Нефтекамск": ["в Нефтекамске", "из Нефтекамска", "neftekamsk", "v neftekamske"],
    "Ставрополь": ["в Ставрополе", "из Ставрополя", "stavropol", "v stavropole"],
    "Тамбов": ["в Тамбове", "под Тамбовом", "tambov", "v tambove"],
    "Томск": ["в Томске", "по Томску", "tomsk", "v tomske"],
    "Уфа": ["в Уфе", "из Уфы", "по Уфе", "ufa", "v ufe"],
    "Элиста": ["в Элисте", "из Элисты", "elista", "v eliste"],
}
CASES = [(city, mention) for city, mentions in CITY_MENTIONS.items() for mention in mentions]


def test_every_reference_city_is_covered():
    assert set(CITY_MENTIONS) == {c.name for c in default_directory().cities}


@pytest.mark.parametrize(("city", "mention"), CASES)
def test_city_in_a_sentence(nlu, city, mention):
    result = nlu.parse(f"подскажите телефон офиса {mention} пожалуйста")
    assert result.entities.get("city") == city


@pytest.mark.parametrize(
    ("text", "city"),
    [
        ("интернет не работает в Невиномыске", "Невинномысск"),
        ("офис во Владивастоке", "Владивосток"),
        ("телефон в Нальчеке", "Нальчик"),
        ("в ставрополи где офис", "Ставрополь"),
        ("v nalchike ne rabotaet internet", "Нальчик"),
        ("в мск есть офис", "Москва"),
        ("во владике до скольки работаете", "Владивосток"),
        ("в невинке телефон", "Невинномысск"),
        ("из КОЧУБЕЕВКИ пишу", "Кочубеевское"),
        ("Уфа", "Уфа"),
        ("Ельцом", "Елец"),
    ],
)
def test_typos_aliases_and_bare_names(nlu, text, city):
    assert nlu.parse(text).entities.get("city") == city


@pytest.mark.parametrize(
    "text",
    ["купить москвич", "томный вечер", "интернет не работает", "у меня уфология", "добрый день", "где мой пароль"],
)
def test_no_city_where_there_is_none(nlu, text):
    assert "city" not in nlu.parse(text).entities


def test_first_city_wins(nlu):
    assert nlu.parse("переехал из Уфы в Томск").entities["city"] == "Уфа"


@pytest.mark.parametrize(
    ("name", "forms"),
    [
        ("Нижний Новгород", {"нижнем новгороде", "нижнего новгорода", "нижним новгородом"}),
        ("Пермь", {"перми", "пермью"}),
        ("Химки", {"химках", "химок"}),
        ("Иваново", {"иванове", "иванова"}),
        ("Старая Купавна", {"старой купавне", "старую купавну"}),
        ("Елец", {"ельце", "ельца", "ельцом"}),
        ("Кочубеевское", {"кочубеевском", "кочубеевского", "кочубеевскому"}),
    ],
)
def test_inflection_rules(name, forms):
    assert forms <= name_forms(name)


def test_cities_come_from_the_directory(tmp_path):
    """A provider with other cities gets them recognised without code changes."""
    for file in ("service.toml", "payment_methods.toml"):
        shutil.copy(DEFAULT_DIR / file, tmp_path / file)
    (tmp_path / "cities.toml").write_text(
        "\n".join(
            [
                "[[city]]",
                'name = "Нижний Новгород"',
                'phones = ["+7 (831) 000-00-00"]',
                'tz = "Europe/Moscow"',
                'office = "ул. Большая Покровская, 1"',
                'aliases = ["nizhniy novgorod", "нижний"]',
                "[[city]]",
                'name = "Пермь"',
                'phones = ["+7 (342) 000-00-00"]',
                'tz = "Asia/Yekaterinburg"',
                'office = "ул. Ленина, 1"',
            ]
        ),
        "utf-8",
    )
    nlu = NLU(Directory(tmp_path))
    assert nlu.parse("интернет не работает в Нижнем Новгороде").entities["city"] == "Нижний Новгород"
    assert nlu.parse("адрес офиса в Перми").entities["city"] == "Пермь"
    assert nlu.parse("ofis v permi").entities["city"] == "Пермь"
    assert "city" not in nlu.parse("адрес офиса в Уфе").entities

import pytest
from tests.whatsapp.harness import joined

@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_smoke(wa):
    print(joined(await wa.say("привет")))
    print("----")
    print(joined(await wa.say("баланс")))
    print("----")
    print(joined(await wa.choose("оплат")))
    print(wa.api.messages[-1].form)

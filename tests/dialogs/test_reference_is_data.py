"""Domain rules are data: a provider's own reference folder changes the answers
without code (here: a payment method that charges a commission, other office hours)."""

from __future__ import annotations

import itertools
import shutil
from datetime import datetime, timezone

from app.container import build_container
from app.settings import Settings
from reference.directory import DEFAULT_DIR
from dialogs.messages import Inbound


async def test_a_providers_own_reference_folder_changes_the_answers(tmp_path):
    reference = tmp_path / "reference"
    shutil.copytree(DEFAULT_DIR, reference, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    methods = (reference / "payment_methods.toml").read_text("utf-8")
    (reference / "payment_methods.toml").write_text(
        methods.replace('id = "mobile"\ntitle = "С баланса мобильного телефона"\ncommission_free = true',
                        'id = "mobile"\ntitle = "С баланса мобильного телефона"\ncommission_free = false'),
        "utf-8",
    )
    cities = (reference / "cities.toml").read_text("utf-8")
    (reference / "cities.toml").write_text(
        cities.replace('name = "Тамбов"\nphones = ["+7 (4752) 49-49-49"]\ntz = "Europe/Moscow"\noffice = "ул. Интернациональная, 16"',
                       'name = "Тамбов"\nphones = ["+7 (4752) 49-49-49"]\ntz = "Europe/Moscow"\noffice = "ул. Интернациональная, 16"\n'
                       'office_hours = { mon-sun = "08:00-22:00" }'),
        "utf-8",
    )
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        reference_dir=reference,
        secret_key="x" * 40,
        _env_file=None,
    )
    container = await build_container(settings, clock=lambda: datetime(2026, 11, 22, 18, 0, tzinfo=timezone.utc))
    ids = itertools.count()
    try:
        async def ask(**kwargs) -> str:
            result = await container.engine.handle(Inbound("webchat", "u", str(next(ids)), **kwargs))
            return "\n".join(r.text for r in result.replies)

        answer = await ask(payload="payment_methods?payment_method=mobile")
        assert "Может взиматься комиссия" in answer
        answer = await ask(text="офис в тамбове")  # Sunday 21:00 in Tambov
        assert "пн–вс 08:00–22:00" in answer and "сейчас открыто до 22:00" in answer
    finally:
        await container.close()

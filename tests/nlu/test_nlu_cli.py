"""``run_parse``: one utterance per line in, one JSON object per line out."""

import io
import json

from dialogs.nlu.cli import run_parse


def test_run_parse_writes_one_json_object_per_line(nlu):
    stdin = io.StringIO("привет\n\nперезвоните на +7 900 000-00-01 в Уфе\r\nwhat's my balance\n")
    stdout = io.StringIO()

    assert run_parse(stdin, stdout, nlu) == 3

    raw_lines = stdout.getvalue().splitlines()
    assert len(raw_lines) == 3
    assert "Уфе" in raw_lines[1]  # ensure_ascii=False: Cyrillic as is
    rows = [json.loads(line) for line in raw_lines]
    for row in rows:
        assert set(row) == {"text", "intent", "confidence", "entities"}
        assert isinstance(row["confidence"], float)
    assert rows[0] == {"text": "привет", "intent": "greet", "confidence": rows[0]["confidence"], "entities": {}}
    assert rows[1]["text"] == "перезвоните на +7 900 000-00-01 в Уфе"
    assert rows[1]["intent"] == "callback"
    assert rows[1]["entities"] == {"phone": "+79000000001", "city": "Уфа"}
    assert rows[2]["intent"] == "balance"


def test_run_parse_on_empty_input(nlu):
    stdout = io.StringIO()
    assert run_parse(io.StringIO(""), stdout, nlu) == 0
    assert stdout.getvalue() == ""

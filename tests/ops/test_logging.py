"""LOG_FORMAT=json: one JSON object per log line, for a log shipper."""

from __future__ import annotations

import json
import logging

from app.cli import _logging
from app.settings import Settings


def test_json_log_lines(capsys):
    _logging(Settings(log_format="json", log_level="INFO"))
    try:
        logging.getLogger("isp.test").warning("queue %s is long", "Уфа/tech")
        line = capsys.readouterr().err.strip().splitlines()[-1]
        record = json.loads(line)
        assert record["message"] == "queue Уфа/tech is long"
        assert (record["level"], record["logger"]) == ("WARNING", "isp.test")
        assert "asctime" in record
    finally:
        logging.basicConfig(handlers=[logging.NullHandler()], force=True)


def test_text_log_lines_by_default(capsys):
    _logging(Settings(log_level="INFO"))
    try:
        logging.getLogger("isp.test").warning("plain")
        assert capsys.readouterr().err.strip().endswith("WARNING isp.test: plain")
    finally:
        logging.basicConfig(handlers=[logging.NullHandler()], force=True)

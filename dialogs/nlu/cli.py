"""Line-oriented parsing, for the ``isp-support parse`` command.

One utterance per input line; one JSON object per output line:
``{"text", "intent", "confidence", "entities": {...}}``. Blank lines are skipped.
"""

from __future__ import annotations

import json
from typing import TextIO

from dialogs.nlu.nlu import NLU


def run_parse(stdin: TextIO, stdout: TextIO, nlu: NLU) -> int:
    """Parse every line of ``stdin``; return the number of utterances written."""
    count = 0
    for line in stdin:
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        stdout.write(json.dumps(nlu.parse(text).to_dict(), ensure_ascii=False) + "\n")
        count += 1
    stdout.flush()
    return count

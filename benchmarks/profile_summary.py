"""Where a server's CPU time goes, from py-spy's raw output (``--format raw
--nolineno``: one line per distinct stack, ``frame;frame;…;frame COUNT``, each frame
``function (path)``, with ``--full-filenames``). Only samples of busy threads are recorded (py-spy leaves idle
ones out), so the shares are of the CPU the server used."""

from __future__ import annotations

import collections
import re

_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^()]*)\)$")
OUR_PACKAGES = (
    "app/",
    "bots/",
    "dialogs/",
    "dispatcher/",
    "billing/",
    "reference/",
    "storage/",
)

# (layer, path fragments): the first layer a frame matches names it; a sample counts
# once per layer it passes through (inclusive share).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("NLU (dialogs/nlu)", ("dialogs/nlu/",)),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("asyncpg", ("asyncpg/",)),
    ("aiosqlite / sqlite3", ("aiosqlite/", "sqlite3/")),
    ("redis-py", ("redis/",)),
    (
        "FastAPI / Starlette / pydantic",
        ("fastapi/", "starlette/", "pydantic/", "pydantic_core/"),
    ),
    ("uvicorn / httptools", ("uvicorn/", "httptools/")),
    ("prometheus_client", ("prometheus_client/",)),
    ("logging", ("logging/",)),
    ("json", ("json/",)),
    ("phonenumbers", ("phonenumbers/",)),
    ("csv", ("csv.py",)),
    (
        "pickling / process pool",
        ("multiprocessing/", "concurrent/", "pickle.py", "copyreg.py"),
    ),
]


def short_path(path: str) -> str:
    """``…/site-packages/sqlalchemy/orm/session.py`` -> ``sqlalchemy/orm/session.py``;
    ``/repo/dialogs/engine.py`` -> ``dialogs/engine.py``; ``…/lib/python3.11/json/…`` -> ``json/…``."""
    for marker in (
        "/site-packages/",
        "/lib/python3.11/",
        "/lib/python3.12/",
        "/lib/python3.13/",
    ):
        if marker in path:
            return path.split(marker, 1)[1]
    for package in OUR_PACKAGES:
        index = path.rfind("/" + package)
        if index >= 0:
            return path[index + 1 :]
    return path


# Innermost frames of a worker thread waiting for work: py-spy reports a thread blocked
# in a C-level queue get as busy (its idle detection misses it; lines showed
# ``work_queue.get(block=True)``), so these samples are waits, not CPU, and are left out.
IDLE_WAITS = {("_worker", "concurrent/futures/thread.py")}


def parse(raw: str) -> list[tuple[list[tuple[str, str]], int]]:
    stacks = []
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = []
        for frame in stack.split(";"):
            match = _FRAME.match(frame)
            if match:
                frames.append((match["function"], short_path(match["path"])))
        if frames and frames[-1] in IDLE_WAITS:
            continue
        stacks.append((frames, int(count)))
    return stacks


def layer_of(path: str) -> str | None:
    for layer, fragments in LAYERS:
        if any(path.startswith(fragment) for fragment in fragments):
            return layer
    if path.startswith(OUR_PACKAGES):
        return "our code: " + path.split("/", 1)[0]
    return None


# Entry points and middleware every request passes through: listed apart, not as "top".
WRAPPERS = ("app/cli.py", "app/server.py", "app/asgi.py", "app/metrics.py:observe_request")


def summarize(raw: str, top: int = 12) -> list[str]:
    """Three views: (1) exclusive share by layer — each sample goes to the innermost
    frame that belongs to a known library or to our packages (the standard library
    and the event loop count for their caller; none at all: "event loop / other");
    (2) our functions, inclusive, the request wrappers left out; (3) the innermost of
    our functions with the layer it was in at the time (where our code spends it)."""
    stacks = parse(raw)
    total = sum(count for _, count in stacks)
    if not total:
        return ["no samples (was the server busy?)"]
    layers: collections.Counter = collections.Counter()
    ours: collections.Counter = collections.Counter()
    spent: collections.Counter = collections.Counter()
    for frames, count in stacks:
        innermost_layer = next(
            (
                layer
                for layer in map(layer_of, (path for _, path in reversed(frames)))
                if layer
            ),
            None,
        )
        layers[innermost_layer or "event loop / other (stdlib, no library frame)"] += (
            count
        )
        seen = {
            f"{path}:{function}"
            for function, path in frames
            if path.startswith(OUR_PACKAGES)
        }
        for name in seen:
            if not name.startswith(WRAPPERS):
                ours[name] += count
        inner_ours = next(
            (
                (function, path)
                for function, path in reversed(frames)
                if path.startswith(OUR_PACKAGES)
            ),
            None,
        )
        if inner_ours:
            function, path = inner_ours
            spent[f"{path}:{function} → {innermost_layer or 'stdlib'}"] += count

    def share(count: int) -> str:
        return f"{count / total:5.1%}"

    lines = [
        f"{total:,} CPU samples; exclusive share by layer (innermost library or package of each sample):"
    ]
    lines += [f"  {share(count)}  {layer}" for layer, count in layers.most_common()]
    lines.append(
        "our functions, inclusive (request wrappers and entry points left out):"
    )
    lines += [f"  {share(count)}  {name}" for name, count in ours.most_common(top)]
    lines.append("innermost of our functions → the layer the sample was in:")
    lines += [f"  {share(count)}  {name}" for name, count in spent.most_common(top)]
    return lines

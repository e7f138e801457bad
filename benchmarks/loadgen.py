"""One closed-loop load generator for both sides of the side-by-side run: ``wrk``
(Debian package ``wrk``: C, one thread, a Lua script picking the token and the body
of each request) when installed, else an httpx generator in this process.

Both servers get the same requests: ``POST`` of the same JSON bodies with the same
``Authorization`` header; only the path differs (the web chat's messages endpoint or
the bare echo). wrk costs the server's cores far less than httpx (~0.7 ms of CPU per
request here), so only wrk's ratio is comparable with the issue's table.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.infra import Latency

WRK_INSTALL_HINT = "wrk is not installed (Debian: apt-get install -y wrk); using the slower Python load generator"


@dataclass(frozen=True)
class LoadResult:
    generator: str  # "wrk" | "httpx"
    requests: int  # answered with a 2xx
    seconds: float
    p50: float
    p99: float
    max: float
    errors: int  # connect/read/write/timeouts and non-2xx answers
    connections: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def describe(self) -> str:
        return (
            f"{self.per_second:,.0f} req/s ({self.generator}, {self.connections} connections, {self.seconds:.1f} s); "
            f"p50 {self.p50 * 1e3:.1f} / p99 {self.p99 * 1e3:.1f} / max {self.max * 1e3:.0f} ms; errors {self.errors}"
        )


def wrk_path() -> str | None:
    return shutil.which("wrk")


def _lua_string(value: str) -> str:
    return (
        '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    )


def wrk_script(path: str, tokens: list[str], bodies: list[str], *, pace_ms: int | None = None) -> str:
    """Request i goes to session i mod len(tokens) with body (i div len(tokens)) mod
    len(bodies): every session asks the questions in turn. ``done`` prints one JSON
    line (times in µs) for the caller to parse. ``pace_ms``: each connection waits
    this long after an answer before its next request (wrk's ``delay`` hook)."""
    # Uniform within ±50% of the pause: equal pauses would keep the connections in step,
    # all 32 arriving at once every cycle (a burst, not a rate).
    pacing = (
        f"math.randomseed(20261130)\ndelay = function()\n  return math.floor({int(pace_ms)} * (0.5 + math.random()))\nend\n"
        if pace_ms is not None else ""
    )
    token_list = ",\n".join(_lua_string(token) for token in tokens)
    body_list = ",\n".join(_lua_string(body) for body in bodies)
    return f"""
local tokens = {{
{token_list}
}}
local bodies = {{
{body_list}
}}
local i = 0
request = function()
  local t = tokens[(i % #tokens) + 1]
  local b = bodies[(math.floor(i / #tokens) % #bodies) + 1]
  i = i + 1
  return wrk.format("POST", {_lua_string(path)},
    {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. t}}, b)
end
{pacing}done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def run_wrk(
    base_url: str,
    path: str,
    tokens: list[str],
    bodies: list[str],
    *,
    connections: int,
    seconds: float,
    pace_ms: int | None = None,
) -> LoadResult:
    with tempfile.NamedTemporaryFile(
        "w", suffix=".lua", encoding="utf-8", delete=False
    ) as script:
        script.write(wrk_script(path, tokens, bodies, pace_ms=pace_ms))
    try:
        completed = subprocess.run(
            [wrk_path() or "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
             "-s", script.name, base_url],
            capture_output=True, text=True, timeout=seconds + 30, check=False,
        )  # fmt: skip
    finally:
        Path(script.name).unlink(missing_ok=True)
    line = next(
        (row for row in completed.stdout.splitlines() if row.startswith("WRKJSON ")),
        None,
    )
    if completed.returncode != 0 or line is None:
        raise RuntimeError(
            f"wrk failed ({completed.returncode}): {completed.stderr.strip() or completed.stdout.strip()}"
        )
    figures = json.loads(line.removeprefix("WRKJSON "))
    errors = sum(
        figures[kind] for kind in ("connect", "read", "write", "status", "timeout")
    )
    return LoadResult(
        generator="wrk",
        requests=figures["requests"] - figures["status"],
        seconds=figures["duration_us"] / 1e6,
        p50=figures["p50_us"] / 1e6,
        p99=figures["p99_us"] / 1e6,
        max=figures["max_us"] / 1e6,
        errors=errors,
        connections=connections,
    )


async def run_httpx(
    base_url: str,
    path: str,
    tokens: list[str],
    bodies: list[str],
    *,
    connections: int,
    seconds: float,
) -> LoadResult:
    """The same closed loop as wrk: ``connections`` workers, each sending its next request
    as soon as the previous one is answered; small clients (httpx's pool gets slow
    with many connections)."""
    clients = [
        httpx.AsyncClient(
            base_url=base_url,
            timeout=10.0,
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=4),
        )
        for _ in range((connections + 3) // 4)
    ]
    latencies: list[float] = []
    errors = [0]
    counter = [0]
    started = time.perf_counter()
    deadline = started + seconds

    async def worker(index: int) -> None:
        client = clients[index // 4]
        while time.perf_counter() < deadline:
            i = counter[0]
            counter[0] += 1
            token = tokens[i % len(tokens)]
            body = bodies[(i // len(tokens)) % len(bodies)]
            sent = time.perf_counter()
            try:
                response = await client.post(
                    path,
                    content=body.encode(),
                    headers={
                        "Content-Type": "application/json",
                        "Authorization": f"Bearer {token}",
                    },
                )
            except httpx.HTTPError:
                errors[0] += 1
                continue
            if response.is_success:
                latencies.append(time.perf_counter() - sent)
            else:
                errors[0] += 1

    try:
        await asyncio.gather(*(worker(index) for index in range(connections)))
    finally:
        for client in clients:
            await client.aclose()
    latency = Latency.of(latencies)
    return LoadResult(
        "httpx",
        len(latencies),
        time.perf_counter() - started,
        latency.p50,
        latency.p99,
        latency.max,
        errors[0],
        connections,
    )


async def closed_loop(
    base_url: str,
    path: str,
    tokens: list[str],
    bodies: list[str],
    *,
    connections: int,
    seconds: float,
) -> LoadResult:
    if wrk_path():
        return await asyncio.to_thread(
            run_wrk,
            base_url,
            path,
            tokens,
            bodies,
            connections=connections,
            seconds=seconds,
        )
    return await run_httpx(
        base_url, path, tokens, bodies, connections=connections, seconds=seconds
    )


async def paced(
    base_url: str,
    path: str,
    tokens: list[str],
    bodies: list[str],
    *,
    connections: int,
    rate: float,
    seconds: float,
) -> LoadResult | None:
    """About ``rate`` requests/s from wrk: each of ``connections`` waits between an
    answer and its next request (a paced closed loop; None without wrk). A short
    calibration run first measures what a cycle costs beyond the pause, so the pause
    can be shortened to hit the rate. Not an open loop: while the server stalls, fewer
    requests are sent — which is why the achieved rate is reported beside the latency —
    but the generator costs the shared cores almost nothing, unlike the Python open
    loop, whose own CPU delays the answers it times."""
    if not wrk_path():
        return None
    cycle = connections / rate  # seconds between two requests of one connection
    pause = max(0, round(cycle * 1000))
    calibration = await asyncio.to_thread(
        run_wrk, base_url, path, tokens, bodies, connections=connections, seconds=3, pace_ms=pause
    )
    if calibration.per_second > 0:
        overhead = connections / calibration.per_second - pause / 1000  # the answer and wrk's own time
        pause = max(0, round((cycle - overhead) * 1000))
    return await asyncio.to_thread(
        run_wrk, base_url, path, tokens, bodies, connections=connections, seconds=seconds, pace_ms=pause
    )

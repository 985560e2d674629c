"""Replay a dataset as live metrics: ``python -m dashboard.prometheus.exporter --data scenario:default``.

The data (a generated scenario by default, or any file a source reads) is served on
``/metrics`` in Prometheus's text format, one data tick per ``--tick-seconds`` of wall
time, shaped like what real fleets expose, so the ``prometheus`` source's default mapping
reads it back unchanged:

- node_exporter's series: ``node_cpu_seconds_total{mode="idle"}``, ``node_memory_MemTotal_bytes``
  and ``node_memory_MemAvailable_bytes``, ``node_disk_{read,written}_bytes_total``,
  ``node_network_{receive,transmit}_bytes_total``;
- an application's: ``http_request_duration_seconds`` (a summary: ``_sum``/``_count``),
  ``http_requests_total{code="200"|"500"}``, ``jvm_gc_pause_seconds`` (``_sum``/``_count``).

Every server is one ``instance`` (its name) with a ``role`` label (its profile); the
exporter is one scrape target for the whole fleet, so Prometheus must keep those labels
(``honor_labels: true``). Counters grow linearly inside a tick, so ``rate()`` over any
window gives back the replayed values. ``fleet_replay_tick`` says which data tick is
being served. Thirteen series per server: 13,000 for a 1,000-server fleet.
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from ..errors import DashboardError
from ..settings import Settings

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
REQUESTS_PER_S = 100.0  # every server answers this many requests a second
GC_PER_S = 1.0  # and collects garbage once a second
MEMORY_GIB = (8, 16, 32, 64)  # a server's memory, by a hash of its name


def _label_value(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Replay:
    """The metrics of a dataset at any wall-clock time, as Prometheus text."""

    def __init__(
        self,
        servers: Sequence[str],
        profiles: Sequence[str],
        metrics: dict[str, np.ndarray],
        *,
        tick_seconds: float = 1.0,
        start_tick: int = 0,
        loop: bool = False,
        started: float | None = None,
    ):
        self.servers = [str(s) for s in servers]
        self.profiles = [str(p) for p in profiles]
        n = len(self.servers)
        self.tick_seconds = float(tick_seconds)
        self.loop = bool(loop)
        self.started = time.time() if started is None else float(started)

        def metric(name: str, fill: float) -> np.ndarray:
            values = metrics.get(name)
            if values is None:
                return np.full((self.n_ticks_of(metrics), n), fill, dtype=np.float64)
            return np.asarray(values, dtype=np.float64)

        self.n_ticks = self.n_ticks_of(metrics)
        if self.n_ticks == 0 or n == 0:
            raise DashboardError("the data to replay has no ticks or no servers")
        if not 0 <= start_tick < self.n_ticks:
            raise DashboardError(f"--start-tick {start_tick} is outside the data's ticks 0..{self.n_ticks - 1}")
        self.start_tick = int(start_tick)
        cpu, mem = metric("cpu_pct", np.nan), metric("mem_pct", np.nan)
        self.present = np.isfinite(cpu) | np.isfinite(mem) | np.isfinite(metric("latency_ms", np.nan))
        memory = np.array([MEMORY_GIB[sum(s.encode()) % len(MEMORY_GIB)] << 30 for s in self.servers], dtype=np.float64)
        self.memory = memory
        self.available = memory * (1.0 - np.clip(np.nan_to_num(mem, nan=0.0), 0, 100) / 100.0)
        errors = np.clip(np.nan_to_num(metric("error_rate", 0.0)), 0.0, 1.0)
        latency_s = np.maximum(np.nan_to_num(metric("latency_ms", 0.0)), 0.0) / 1000.0
        gc_s = np.maximum(np.nan_to_num(metric("gc_pause_ms", 0.0)), 0.0) / 1000.0
        disk = np.maximum(np.nan_to_num(metric("disk_io_mb_s", 0.0)), 0.0) * 1e6
        # counter name, labels, rate per second (T, N)
        self.counters: list[tuple[str, str, np.ndarray]] = [
            ("node_cpu_seconds_total", 'cpu="0",mode="idle"', 1.0 - np.clip(np.nan_to_num(cpu, nan=0.0), 0, 100) / 100.0),
            ("node_disk_read_bytes_total", 'device="sda"', disk / 2),
            ("node_disk_written_bytes_total", 'device="sda"', disk / 2),
            ("node_network_receive_bytes_total", 'device="eth0"', np.maximum(np.nan_to_num(metric("net_in_mb_s", 0.0)), 0) * 1e6),
            ("node_network_transmit_bytes_total", 'device="eth0"', np.maximum(np.nan_to_num(metric("net_out_mb_s", 0.0)), 0) * 1e6),
            ("http_request_duration_seconds_sum", "", REQUESTS_PER_S * latency_s),
            ("http_request_duration_seconds_count", "", np.full_like(latency_s, REQUESTS_PER_S)),
            ("http_requests_total", 'code="200"', REQUESTS_PER_S * (1.0 - errors)),
            ("http_requests_total", 'code="500"', REQUESTS_PER_S * errors),
            ("jvm_gc_pause_seconds_sum", "", GC_PER_S * gc_s),
            ("jvm_gc_pause_seconds_count", "", np.full_like(gc_s, GC_PER_S)),
        ]
        # each counter's value at the start of every tick, and over one whole pass
        self.totals = []
        for _, _, rate in self.counters:
            per_tick = rate * self.tick_seconds
            starts = np.zeros((self.n_ticks + 1, n), dtype=np.float64)
            np.cumsum(per_tick, axis=0, out=starts[1:])
            self.totals.append(starts)
        base = [f'instance="{_label_value(s)}",role="{_label_value(p)}"' for s, p in zip(self.servers, self.profiles, strict=True)]
        self._prefixes: list[list[str]] = []
        for name, extra, _ in self.counters:
            self._prefixes.append([f"{name}{{{b}{',' + extra if extra else ''}}} " for b in base])
        self._gauges = [
            [f"node_memory_MemTotal_bytes{{{b}}} " for b in base],
            [f"node_memory_MemAvailable_bytes{{{b}}} " for b in base],
        ]

    @staticmethod
    def n_ticks_of(metrics: dict[str, np.ndarray]) -> int:
        for values in metrics.values():
            return int(np.asarray(values).shape[0])
        return 0

    def position(self, now: float) -> tuple[int, int, float]:
        """(passes completed, data tick, seconds into it) at wall time ``now``."""
        elapsed = max(0.0, now - self.started)
        k = self.start_tick + int(elapsed // self.tick_seconds)
        into = elapsed - (k - self.start_tick) * self.tick_seconds
        if k >= self.n_ticks:
            if not self.loop:  # the last tick held: its values stay, so counters keep their rates
                last = self.n_ticks - 1
                return 0, last, elapsed - (last - self.start_tick) * self.tick_seconds
            return k // self.n_ticks, k % self.n_ticks, into
        return 0, k, into

    def render(self, now: float | None = None) -> str:
        """The exposition text at wall time ``now``."""
        passes, k, into = self.position(time.time() if now is None else now)
        present = self.present[k]
        lines: list[str] = [
            "# HELP fleet_replay_tick The data tick being replayed.",
            "# TYPE fleet_replay_tick gauge",
            f"fleet_replay_tick {k}",
        ]
        families: dict[str, list[str]] = {}
        for (name, _, rate), starts, prefixes in zip(self.counters, self.totals, self._prefixes, strict=True):
            value = starts[k] + rate[k] * into + passes * starts[-1]
            family = name.removesuffix("_sum").removesuffix("_count")
            families.setdefault(family, []).extend(_lines(prefixes, value, present))
        memory = [_lines(self._gauges[0], self.memory, present), _lines(self._gauges[1], self.available[k], present)]
        kinds = {"http_request_duration_seconds": "summary", "jvm_gc_pause_seconds": "summary"}
        for family, body in families.items():
            lines.append(f"# TYPE {family} {kinds.get(family, 'counter')}")
            lines.extend(body)
        lines.append("# TYPE node_memory_MemTotal_bytes gauge")
        lines.extend(memory[0])
        lines.append("# TYPE node_memory_MemAvailable_bytes gauge")
        lines.extend(memory[1])
        return "\n".join(lines) + "\n"

    @property
    def series_per_server(self) -> int:
        return len(self.counters) + 2


def _lines(prefixes: list[str], values: np.ndarray, present: np.ndarray) -> list[str]:
    text = np.char.mod("%.17g", values).tolist()
    if present.all():
        return [p + v for p, v in zip(prefixes, text, strict=True)]
    return [p + v for p, v, keep in zip(prefixes, text, present.tolist(), strict=True) if keep]


def replay_of(spec: str, settings: Settings, **kwargs: Any) -> Replay:
    """A :class:`Replay` of everything ``spec`` holds (any source the dashboard opens)."""
    from ..sources import open_source

    with open_source(spec, settings=settings) as source:
        n = source.n_ticks()
        if n == 0:
            raise DashboardError(f"{spec}: has no ticks to replay")
        window = source.window(n - 1, n)
        servers = source.servers()
    return Replay(servers["server_name"].tolist(), servers["profile"].tolist(), dict(window.metrics), **kwargs)


class _Handler(BaseHTTPRequestHandler):
    replay: Replay

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            body = self.server.replay.render().encode()  # type: ignore[attr-defined]
            self._send(200, body, CONTENT_TYPE)
        elif path == "/":
            self._send(200, b"fleet replay exporter: metrics at /metrics\n", "text/plain; charset=utf-8")
        else:
            self._send(404, b"not found\n", "text/plain; charset=utf-8")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class ExporterServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], replay: Replay):
        super().__init__(address, _Handler)
        self.replay = replay


def build_parser() -> argparse.ArgumentParser:
    from ..argtypes import non_negative_int, port, positive_float

    parser = argparse.ArgumentParser(
        prog="python -m dashboard.prometheus.exporter",
        description=(
            "Replay a dataset as live Prometheus metrics (node_exporter's and an application's), one data tick "
            "per --tick-seconds, for Prometheus to scrape (with honor_labels: true). The dashboard then reads it "
            "back through a prometheus target."
        ),
    )
    parser.add_argument("--data", default="scenario:default", help="what to replay: a scenario or a data file spec (default %(default)s)")
    parser.add_argument("--tick-seconds", type=positive_float, default=1.0, help="wall seconds per data tick (default %(default)s)")
    parser.add_argument("--start-tick", type=non_negative_int, default=0, help="the data tick to start from (default %(default)s)")
    parser.add_argument("--loop", action="store_true", help="start over at the end (default: hold the last tick)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default %(default)s)")
    parser.add_argument("--port", type=port, default=9105, help="port (default %(default)s)")
    return parser


def main(argv: Sequence[str] | None = None, *, settings: Settings | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        replay = replay_of(args.data, settings or Settings(), tick_seconds=args.tick_seconds, start_tick=args.start_tick, loop=args.loop)
    except DashboardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        server = ExporterServer((args.host, args.port), replay)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    n = len(replay.servers)
    duration = replay.n_ticks * replay.tick_seconds
    print(
        f"replaying {args.data}: {n:,} servers x {replay.series_per_server} series, {replay.n_ticks:,} ticks "
        f"({_clock(duration)} at {args.tick_seconds:g} s per tick{', looping' if args.loop else ''}) "
        f"on http://{args.host}:{server.server_address[1]}/metrics",
        flush=True,
    )
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    return 0


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(math.ceil(seconds)), 60)
    return f"{minutes}:{rest:02d}"


__all__ = ["ExporterServer", "Replay", "build_parser", "main", "replay_of"]


if __name__ == "__main__":
    try:
        _settings = Settings.from_env()
    except DashboardError as _exc:  # a bad variable: its message, never a traceback
        print(f"error: {_exc}", file=sys.stderr)
        raise SystemExit(2) from None
    raise SystemExit(main(settings=_settings))

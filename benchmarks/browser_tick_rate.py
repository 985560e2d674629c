"""Does the displayed tick keep up in a real browser? Headless Chromium against a live server.

Starts ``python -m dashboard`` on an in-memory fleet (1,000 servers by default) with a
1 s refresh, opens it in headless Chromium, and for 60 s counts the refresh requests the
page sends and how often the displayed tick advanced. Prints the share of refreshes on
which it advanced, and the mean time between advances.

    python benchmarks/browser_tick_rate.py
    python benchmarks/browser_tick_rate.py --servers 5000 --seconds 30
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options

PROBE_JS = """
window.__probe = {requests: 0, advances: 0, stalls: 0, last: null, times: []};
const tickOf = () => {
    const m = /tick ([\\d,]+)/.exec(document.getElementById("live-progress").textContent || "");
    return m ? parseInt(m[1].replace(/,/g, ""), 10) : null;
};
window.__probe.last = tickOf();
const originalFetch = window.fetch;
window.fetch = function (url, options) {
    if (String(url).includes("_dash-update-component") && options && typeof options.body === "string"
            && options.body.includes('"changedPropIds":["live-interval.n_intervals"]')) {
        window.__probe.requests += 1;
    }
    return originalFetch.apply(this, arguments);
};
new MutationObserver(() => {
    const tick = tickOf();
    if (tick !== null && window.__probe.last !== null && tick > window.__probe.last) {
        window.__probe.advances += 1;
        window.__probe.times.push(performance.now());
    }
    if (tick !== null) window.__probe.last = tick;
}).observe(document.getElementById("live-progress"), {childList: true, subtree: true, characterData: true});
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the dashboard did not answer on {url} within {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--refresh", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--chromium", default=os.environ.get("DASH_TEST_CHROMEPATH", "/usr/bin/chromium")
    )
    args = parser.parse_args(argv)
    if not shutil.which("chromedriver"):
        raise SystemExit("chromedriver is not on PATH (Debian: apt-get install chromium-driver)")

    ticks_needed = int(args.seconds / args.refresh) + 80
    duration_min = max(5, ticks_needed * 5 / 60)
    spec = f"scenario:default?fleet_size={args.servers}&duration={duration_min:g}"
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dashboard",
            spec,
            "--refresh",
            str(args.refresh),
            "--port",
            str(port),
            "--no-browser",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    options = Options()
    options.binary_location = args.chromium
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1440,1000",
    ):
        options.add_argument(flag)
    driver = None
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_http(url, 120)
        driver = webdriver.Chrome(options=options)
        driver.set_script_timeout(30)
        driver.get(url)
        deadline = time.time() + 120
        while not any("tick" in e.text for e in driver.find_elements("id", "live-progress")):
            if time.time() > deadline:
                raise SystemExit("the page never showed a tick")
            time.sleep(0.2)
        time.sleep(3 * args.refresh)  # past the first paint
        driver.execute_script(PROBE_JS)
        time.sleep(args.seconds)
        probe = driver.execute_script("return window.__probe")
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        server.wait(timeout=30)
    requests, advances = probe["requests"], probe["advances"]
    times = probe["times"]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    share = advances / requests if requests else 0.0
    mean_gap = sum(gaps) / len(gaps) / 1000 if gaps else float("nan")
    print(
        f"{args.servers:,} servers, refresh {args.refresh:g} s, {args.seconds:g} s in headless Chromium"
    )
    print(f"  refresh requests sent:        {requests}")
    print(f"  displayed tick advanced:      {advances} times ({share:.1%} of refreshes)")
    print(f"  mean time between advances:   {mean_gap:.2f} s")
    print(f"  browser console errors:       {len(errors)}")
    return 0 if share >= 0.95 and not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""The web console in Debian's headless chromium: how long each page takes to become
interactive, against the least a document costs from the same server in the same browser,
and how long one chart redraw takes against a frame.

    .venv/bin/python benchmarks/console.py [--loads 5] [--invocations 3000]

- The app (benchmarks/console.yaml) gets some history first: the function invoked
  `--invocations` times (its log and duration chart), 1,000 objects in the bucket.
- page interactive: a fresh document per load (about:blank between), from navigation start
  to the `console-interactive` mark (app.js sets it once the page has rendered its data,
  which it fetched); median of `--loads`.
- floor: the same browser loading a tiny document from the console's port (its 404 answer,
  through the same token check): the browser's and the server's least per page.
- chart: one redraw of the duration chart's class (static/js/chart.js) with 10,000 and
  100,000 points, against a 60 Hz frame (16.7 ms).
Target (issue #15): pages interactive in under 300 ms; charts smooth with 10,000 points.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from invoke import sigv4_headers, start_faaslab
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # (the repository: tests/chromium.py)
from tests.chromium import NoChromium, headless_chromium  # noqa: E402

PAGES = ("lambda", "rds", "s3", "secrets")
FRAME_MS = 1000 / 60


def start(state: Path) -> tuple[subprocess.Popen[bytes], int, str]:
    """`faaslab up` on free ports; (process, edge port, the console URL from the banner)."""
    log = state.parent / "faaslab.log"
    proc, port = start_faaslab(
        state, "--no-request-log", template=HERE / "console.yaml", stderr=log.open("wb")
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        m = re.search(r"console: (http://\S+)", log.read_text())
        if m:
            return proc, port, m.group(1)
        time.sleep(0.05)
    raise SystemExit(f"no console URL in the banner:\n{log.read_text()}")


def history(port: int, invocations: int) -> None:
    """Invocations over one keep-alive connection; 1,000 small objects."""
    path = "/2015-03-31/functions/echo/invocations"
    body = b'{"n": 1}'
    headers = sigv4_headers(port, path, body)
    conn = http.client.HTTPConnection("127.0.0.1", port)
    for _ in range(invocations):
        conn.request("POST", path, body, headers)
        conn.getresponse().read()
    conn.close()
    import boto3
    from botocore.config import Config

    from faaslab.cliutil import LOCAL_KEYS

    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        **LOCAL_KEYS,
        config=Config(s3={"addressing_style": "path"}),
    )
    for i in range(1000):
        s3.put_object(Bucket="console-bench", Key=f"obj/{i:04d}.txt", Body=b"x" * 100)


def browser() -> WebDriver:
    try:
        return headless_chromium()
    except NoChromium as e:
        raise SystemExit(str(e)) from None


def wait_css(b: WebDriver, css: str) -> None:
    WebDriverWait(b, 60, poll_frequency=0.02).until(lambda d: d.find_elements(By.CSS_SELECTOR, css))


def page_ms(b: WebDriver, base: str, page: str) -> float:
    b.get("about:blank")
    b.get(f"{base}/_console/#/{page}")
    wait_css(b, f'main[data-ready="{page}"]')
    mark = b.execute_script(
        "const m = performance.getEntriesByName('console-interactive')[0];"
        "return m ? m.startTime : null;"
    )
    assert mark is not None, page
    return float(mark)


def floor_ms(b: WebDriver, base: str) -> float:
    b.get("about:blank")
    b.get(f"{base}/_console/no-such-page")
    return float(
        b.execute_script("return performance.getEntriesByType('navigation')[0].domInteractive;")
    )


def chart_ms(b: WebDriver) -> dict[str, float]:
    return dict(
        b.execute_script(
            "const { LineChart } = await import('./static/js/chart.js');"
            "const out = {};"
            "for (const n of [10000, 100000]) {"
            "  const c = document.createElement('canvas'); c.className = 'chart';"
            "  document.querySelector('main').append(c);"
            "  const chart = new LineChart(c, {label: 'bench'});"
            "  chart.points = Array.from({length: n},"
            "    (_, i) => [i, Math.sin(i / 50) + Math.random()]);"
            "  chart.draw();"
            "  const t = performance.now(); for (let i = 0; i < 20; i++) chart.draw();"
            "  out[n] = (performance.now() - t) / 20; c.remove(); }"
            "return out;"
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loads", type=int, default=5, help="loads of each page (median)")
    ap.add_argument("--invocations", type=int, default=3000, help="history before measuring")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, port, url = start(Path(tmp) / "state")
        b = None
        try:
            history(port, args.invocations)
            b = browser()
            b.get(url)  # the session cookie
            wait_css(b, "main[data-ready]")
            base = url.split("/_console/", 1)[0]
            floor = statistics.median(floor_ms(b, base) for _ in range(args.loads))
            results: dict[str, Any] = {"floor_ms": round(floor, 1), "pages": {}}
            print(f"floor (a 404 document from the console's port): {floor:.1f} ms")
            print(f"{'page':<8} {'p50 ms':>8} {'max ms':>8} {'x floor':>8}  target 300 ms")
            for page in PAGES:
                times = [page_ms(b, base, page) for _ in range(args.loads)]
                p50 = statistics.median(times)
                results["pages"][page] = {"p50": round(p50, 1), "max": round(max(times), 1)}
                verdict = "met" if p50 < 300 else "MISSED"
                print(f"{page:<8} {p50:>8.1f} {max(times):>8.1f} {p50 / floor:>8.1f}  {verdict}")
            charts = chart_ms(b)
            results["chart_redraw_ms"] = charts
            for n, ms in charts.items():
                print(
                    f"chart redraw, {int(n):>7,} points: {ms:.2f} ms = {ms / FRAME_MS:.2f} frames"
                )
            print(json.dumps(results))
        finally:
            if b is not None:
                b.quit()
            proc.terminate()
            proc.wait(timeout=60)


if __name__ == "__main__":
    main()

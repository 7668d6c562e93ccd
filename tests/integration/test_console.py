"""The web console in a real browser: Debian's chromium, headless, driven by Selenium.

One `faaslab up` and one browser for the module. The browser opens the URL `up` printed,
invokes a function and reads its response, watches a cluster pause and resume (as it
happens, through the event stream), runs a query in the Query Editor, uploads and
downloads an object, reveals a secret. Screenshots go to test-artifacts/console/ (kept
after the run; git-ignored), with the page-load timings measured in the browser
(timings.json). The security tests talk HTTP directly: no token, a wrong one, another
origin, a forged Host, the edge's origin, a function.
"""

from __future__ import annotations

import json
import re
import struct
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.conftest import (
    FIXTURES,
    ROOT,
    Faaslab,
    invoke,
    mounts_under,
    running_faaslab,
    start_faaslab,
)

selenium = pytest.importorskip("selenium", reason="pip install selenium (make install)")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from tests.chromium import NoChromium, headless_chromium  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts" / "console"
WAIT_S = 90  # generous: a busy 2-core machine, a database engine starting
TIME_SCALE = "60"  # the cluster pauses 300 emulated seconds after its last use: 5 s
T = TypeVar("T")


@pytest.fixture(scope="module")
def fl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faaslab]:
    state = tmp_path_factory.mktemp("console") / "s"
    yield from running_faaslab(FIXTURES / "console.yaml", state, "--time-scale", TIME_SCALE)


@pytest.fixture(scope="module")
def console_url(fl: Faaslab) -> str:
    """The URL `faaslab up` printed in its ready banner."""
    deadline = time.monotonic() + 30
    while True:
        m = re.search(r"console: (http://\S+/_console/\?token=\S+)", fl.log_path.read_text())
        if m:
            return m.group(1)
        assert time.monotonic() < deadline, fl.log_path.read_text()
        time.sleep(0.05)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    downloads = tmp_path_factory.mktemp("downloads")
    try:
        b = headless_chromium(downloads)
    except NoChromium as e:
        pytest.fail(f"the console tests {e}")
    b.downloads = downloads  # type: ignore[attr-defined]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield b
    b.quit()


@pytest.fixture
def shot(browser: WebDriver, request: pytest.FixtureRequest) -> Iterator[None]:
    """A screenshot of how each test left the page (or failed), as an artefact."""
    yield
    size = browser.get_window_size()
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(size["width"], max(size["height"], min(int(height), 6000)))
    browser.save_screenshot(str(ARTIFACTS / f"{request.node.name}.png"))  # the whole page
    browser.set_window_size(size["width"], size["height"])


def wait(browser: WebDriver, condition: Callable[[WebDriver], T], timeout: float = WAIT_S) -> T:
    return WebDriverWait(browser, timeout, poll_frequency=0.1).until(condition)


def element(browser: WebDriver, css: str, timeout: float = WAIT_S) -> WebElement:
    return wait(browser, lambda b: b.find_element(By.CSS_SELECTOR, css), timeout)


def text_of(browser: WebDriver, css: str) -> str:
    try:
        return str(browser.find_element(By.CSS_SELECTOR, css).text)
    except WebDriverException:
        return ""


def open_page(browser: WebDriver, console_url: str, page: str, reload: bool = False) -> None:
    """Go to #/PAGE[/...] and wait until the page has rendered (a new document if
    `reload` or if the page is already open, else the hash route of the open one). The
    first time, through the printed URL: the session cookie."""
    if not browser.get_cookies():
        browser.get(console_url)
        element(browser, "main[data-ready]")
    target = console_url.split("?")[0] + f"#/{page}"
    if reload or browser.current_url == target:  # (the same hash again: no new route)
        browser.get("about:blank")
    browser.get(target)
    element(browser, f'main[data-ready="{page.split("/")[0]}"]')


# -- in the browser


def test_printed_url_opens_the_console_and_drops_the_token(
    browser: WebDriver, console_url: str, shot: None
) -> None:
    browser.get(console_url)
    element(browser, 'main[data-ready="lambda"]')
    assert browser.current_url.endswith("/_console/"), browser.current_url  # token gone
    cookies = {c["name"]: c for c in browser.get_cookies()}
    port = console_url.split(":")[2].split("/")[0]
    cookie = cookies[f"faaslab_console_{port}"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie
    # page-interactive times, measured by the browser (reported, not asserted)
    timings: dict[str, Any] = {}
    for page in ("lambda", "rds", "s3", "secrets") * 3:  # (three loads each: a busy machine)
        open_page(browser, console_url, page, reload=True)
        timings.setdefault(page, []).append(
            browser.execute_script(
                "const n = performance.getEntriesByType('navigation')[0];"
                "const m = performance.getEntriesByName('console-interactive')[0];"
                "return {domInteractive: n.domInteractive,"
                " domContentLoaded: n.domContentLoadedEventEnd,"
                " consoleInteractive: m ? m.startTime : null};"
            )
        )
    # a chart of 10,000 and of 100,000 points: the time of one redraw (decimated per column)
    timings["chart_redraw_ms"] = browser.execute_script(
        "const { LineChart } = await import('./static/js/chart.js');"
        "const out = {};"
        "for (const n of [10000, 100000]) {"
        "  const c = document.createElement('canvas'); c.className = 'chart';"
        "  document.querySelector('main').append(c);"
        "  const chart = new LineChart(c, {label: 'test'});"
        "  chart.points = Array.from({length: n}, (_, i) => [i, Math.sin(i / 50) + Math.random()]);"
        "  const t = performance.now(); for (let i = 0; i < 10; i++) chart.draw();"
        "  out[n] = (performance.now() - t) / 10; c.remove(); }"
        "return out;"
    )
    (ARTIFACTS / "timings.json").write_text(json.dumps(timings, indent=2))
    print("console page-interactive (ms):", json.dumps(timings))


def test_invoke_a_function_and_read_its_response(
    browser: WebDriver, console_url: str, fl: Faaslab, shot: None
) -> None:
    open_page(browser, console_url, "lambda/probe")
    editor = element(browser, "#event-json")
    editor.clear()
    editor.send_keys("{not json")
    element(browser, "#invoke").click()  # refused as the Invoke API refuses it
    wait(browser, lambda b: "InvalidRequestContentException" in text_of(b, "#invoke-status"))
    editor.clear()
    editor.send_keys('{"from": "the console"}')
    element(browser, "#event-name").clear()
    element(browser, "#event-name").send_keys("console-event")
    browser.find_element(By.XPATH, "//button[text()='Save']").click()
    saved = fl.state_dir / "console" / "test-events" / "probe" / "console-event.json"
    wait(browser, lambda b: saved.exists())
    assert json.loads(saved.read_text()) == {"from": "the console"}
    element(browser, "#invoke").click()
    wait(browser, lambda b: '"uses"' in text_of(b, "#invoke-response"))
    response = json.loads(text_of(browser, "#invoke-response"))
    assert response["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "probe"
    assert response["env"]["GREETING"] == "hello"
    assert text_of(browser, "#invoke-report").startswith("REPORT RequestId:")
    assert "Succeeded" in text_of(browser, "#invoke-status")
    # live, without reloading: the environment appears, the log tail gets the REPORT line
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#env-rows tr"))
    wait(browser, lambda b: "REPORT RequestId" in text_of(b, "#log-lines"))
    # the duration chart has the invocation, marked as a cold start (Init Duration)
    chart = element(browser, "#latency-chart")
    wait(browser, lambda b: "1 cold start" in (chart.get_attribute("aria-label") or ""))
    # invoked again: warm reuse of the same environment, on the timeline
    element(browser, "#invoke").click()
    lanes = element(browser, "#env-timeline")
    wanted = "1 environment(s), 2 invocation(s), 1 cold start(s)"
    wait(browser, lambda b: wanted in (lanes.get_attribute("aria-label") or ""))
    # logs filtered with CloudWatch's term patterns (by the server, as FilterLogEvents)
    filt = element(browser, "#log-filter")

    def lines_matching(pattern: str) -> list[str]:
        filt.clear()
        filt.send_keys(pattern)

        def settled(b: WebDriver) -> list[str] | None:  # the lines shown for this pattern
            # one read of both: the page may render between two WebDriver calls
            shown, counted = b.execute_script(
                "return [document.querySelector('#log-lines').innerText,"
                " document.querySelector('#log-count').innerText]"
            )
            lines = str(shown).splitlines()
            counted = str(counted)
            done = counted.startswith(f"{len(lines)} line") and counted.endswith(
                f"matching {pattern}"
            )
            return lines if done else None

        return wait(browser, settled)

    warm = lines_matching("REPORT -Init")
    assert len(warm) == 1 and "Billed Duration" in warm[0] and "Init" not in warm[0], warm
    cold = lines_matching('"Init Duration"')
    assert len(cold) == 1 and "REPORT" in cold[0] and "Init Duration" in cold[0], cold


def test_watch_a_cluster_pause_and_resume(browser: WebDriver, console_url: str, shot: None) -> None:
    open_page(browser, console_url, "rds/cdb")
    element(browser, "#cluster-status .badge")
    # every status the page shows, recorded as it changes (the page is never reloaded)
    browser.execute_script(
        "window.seen = [];"
        "const s = document.getElementById('cluster-status');"
        "const note = () => { const t = s.querySelector('.badge').textContent;"
        "  if (window.seen[window.seen.length - 1] !== t) window.seen.push(t); };"
        "note(); new MutationObserver(note).observe(s, {childList: true, subtree: true});"
    )
    wait(browser, lambda b: "paused" in b.execute_script("return window.seen"))
    # a query resumes it (the Data API answers DatabaseResumingException meanwhile)
    run_query(browser, "SELECT 1 AS one")
    wait(browser, lambda b: "RDS-EVENT-0148" in text_of(b, "#event-rows"))
    seen = browser.execute_script("return window.seen")
    after = seen[seen.index("paused") :]
    assert "available" in after, seen
    assert "RDS-EVENT-0145" in text_of(browser, "#event-rows")  # paused, as an event too


def run_query(browser: WebDriver, sql: str) -> None:
    """Select the secret, type the SQL, Run; again while the cluster resumes."""
    secret = element(browser, "#qe-secret")
    wait(browser, lambda b: secret.find_elements(By.TAG_NAME, "option"))
    for option in secret.find_elements(By.TAG_NAME, "option"):
        if option.text == "console-creds":
            option.click()
    box = element(browser, "#qe-sql")
    box.clear()
    box.send_keys(sql)

    browser.execute_script("document.getElementById('qe-status').textContent = ''")
    browser.find_element(By.CSS_SELECTOR, "#qe-run").click()

    def done(b: WebDriver) -> bool:
        status = text_of(b, "#qe-status")
        if status in ("", "Running…"):
            return False
        if "row" in status:
            return True
        assert "DatabaseResumingException" in status, status
        b.find_element(By.CSS_SELECTOR, "#qe-run").click()
        return False

    wait(browser, done)


def test_run_a_query_in_the_query_editor(browser: WebDriver, console_url: str, shot: None) -> None:
    open_page(browser, console_url, "rds/cdb")
    run_query(browser, "SELECT 41 + 1 AS answer, 'console' AS source")
    headers = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#qe-table th")]
    cells = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#qe-table td")]
    assert headers == ["answer", "source"] and cells == ["42", "console"], (headers, cells)
    assert text_of(browser, "#qe-status") == "1 row"


def test_create_form_shows_rds_refusal(browser: WebDriver, console_url: str, shot: None) -> None:
    """The create form sends the `faaslab db create` options; a refusal is shown as RDS
    words it (no engine is started for an invalid request)."""
    open_page(browser, console_url, "rds")
    form = element(browser, "#create-cluster")
    values = {"Identifier": "formdb", "Master password": "Form-pass99", "Min capacity (ACU)": "4"}
    values["Max capacity (ACU)"] = "1"
    for label, value in values.items():
        target = form.find_element(By.XPATH, f".//label[text()='{label}']").get_attribute("for")
        form.find_element(By.ID, str(target)).send_keys(value)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, lambda b: "apacity" in form.find_element(By.CSS_SELECTOR, "p.error").text)


def test_modify_a_cluster_from_its_page(
    browser: WebDriver, console_url: str, fl: Faaslab, shot: None
) -> None:
    """The Modify form, prefilled with the cluster's settings, sends them as `faaslab db
    modify` does; a refusal is shown as RDS words it, a change shows on the page (live)."""
    open_page(browser, console_url, "rds/cdb")
    form = element(browser, "#modify-cluster")

    def labelled(label: str) -> WebElement:
        target = form.find_element(By.XPATH, f".//label[text()='{label}']").get_attribute("for")
        return form.find_element(By.ID, str(target))

    low, high = labelled("Min capacity (ACU)"), labelled("Max capacity (ACU)")
    assert (low.get_attribute("value"), high.get_attribute("value")) == ("0", "2")
    assert labelled("Data API").is_selected()

    def modify(min_capacity: str, max_capacity: str) -> str:
        """The form's answer, submitted with Enter (again while the cluster is pausing)."""
        for box, value in ((low, min_capacity), (high, max_capacity)):
            box.clear()
            box.send_keys(value)

        def send() -> None:
            browser.execute_script("document.getElementById('modify-status').textContent = ''")
            high.send_keys(Keys.ENTER)

        def answered(b: WebDriver) -> str | None:
            status = text_of(b, "#modify-status")
            if "is not in the available state" in status:
                send()
                return None
            return status if status not in ("", "Modifying…") else None

        send()
        return wait(browser, answered)

    refused = modify("4", "1")
    assert "MinCapacity 4 is greater than MaxCapacity 1" in refused, refused
    assert "error" in str(element(browser, "#modify-status").get_attribute("class"))
    new_range = "0\N{EN DASH}4"  # (as the page writes a range)
    assert modify("0", "4").startswith(f"Modified: {new_range} ACU"), text_of(
        browser, "#modify-status"
    )
    wait(browser, lambda b: f"{new_range} ACU" in text_of(b, "#cluster-facts"))
    wait(browser, lambda b: new_range in text_of(b, 'tr[data-cluster="cdb"]'))
    described = fl.get("/_faaslab/db/cdb")
    assert (described["MinCapacity"], described["MaxCapacity"]) == (0, 4)


def test_upload_and_download_an_object(
    browser: WebDriver, console_url: str, fl: Faaslab, tmp_path: Path, shot: None
) -> None:
    body = ("a line of the console's upload test\n" * 6000).encode()  # ~200 KB
    source = tmp_path / "notes.txt"
    source.write_bytes(body)
    open_page(browser, console_url, "s3/console-files")
    element(browser, "#upload-file").send_keys(str(source))
    element(browser, "#upload").click()
    wait(browser, lambda b: "Uploaded notes.txt" in text_of(b, "#upload-status"))
    assert browser.find_element(By.CSS_SELECTOR, "#upload-progress").get_attribute("value") == "100"
    stored = fl.aws("s3").get_object(Bucket="console-files", Key="notes.txt")["Body"].read()
    assert stored == body
    # the page's S3 calls are S3's, in the request log as on the edge
    log = fl.state_dir / "requests.log"
    wait(browser, lambda b: "s3.PUT /console-files/notes.txt => 200" in log.read_text())
    row = element(browser, 'tr[data-key="notes.txt"]')
    row.find_element(By.XPATH, ".//button[text()='Preview']").click()
    wait(browser, lambda b: text_of(b, "#preview-text").startswith("a line of the console's"))
    row.find_element(By.XPATH, ".//a[text()='Download']").click()
    downloaded = Path(browser.downloads) / "notes.txt"  # type: ignore[attr-defined]
    wait(browser, lambda b: downloaded.exists() and downloaded.read_bytes() == body)


def png(width: int, height: int) -> bytes:
    """A real PNG of that size (grey), written by hand: no imaging library needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_preview_an_image(browser: WebDriver, console_url: str, fl: Faaslab, shot: None) -> None:
    fl.aws("s3").put_object(
        Bucket="console-files", Key="pics/dot.png", Body=png(3, 2), ContentType="image/png"
    )
    open_page(browser, console_url, "s3/console-files")
    element(browser, 'tr[data-prefix="pics/"] button').click()  # into the folder
    row = element(browser, 'tr[data-key="pics/dot.png"]')
    row.find_element(By.XPATH, ".//button[text()='Preview']").click()
    img = element(browser, 'img[alt="Preview of pics/dot.png"]')
    wait(browser, lambda b: b.execute_script("return arguments[0].naturalWidth", img) == 3)
    assert browser.execute_script("return arguments[0].naturalHeight", img) == 2


def test_versions_of_an_object(
    browser: WebDriver, console_url: str, fl: Faaslab, shot: None
) -> None:
    s3 = fl.aws("s3")
    s3.create_bucket(Bucket="console-versions")
    s3.put_bucket_versioning(
        Bucket="console-versions", VersioningConfiguration={"Status": "Enabled"}
    )
    ids = [
        s3.put_object(Bucket="console-versions", Key="v.txt", Body=f"version {i}")["VersionId"]
        for i in (1, 2)
    ]
    open_page(browser, console_url, "s3/console-versions")
    row = element(browser, 'tr[data-key="v.txt"]')
    row.find_element(By.XPATH, ".//button[text()='Versions']").click()
    wait(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "#versions tbody tr")) == 2)
    assert [
        td.text for td in browser.find_elements(By.CSS_SELECTOR, "#versions tbody td:first-child")
    ] == ids[::-1]
    # the older version, downloaded through the console
    link = browser.find_elements(By.CSS_SELECTOR, "#versions tbody a")[1].get_attribute("href")
    cookie = next(c for c in browser.get_cookies() if c["name"].startswith("faaslab_console_"))
    got = urllib.request.urlopen(
        urllib.request.Request(link, headers={"Cookie": f"{cookie['name']}={cookie['value']}"}),
        timeout=30,
    ).read()
    assert got == b"version 1"


def test_reveal_a_secret_on_click(browser: WebDriver, console_url: str, shot: None) -> None:
    open_page(browser, console_url, "secrets")
    row = element(browser, 'tr[data-secret="console-creds"]')
    assert "Console-pass99" not in row.text
    row.find_element(By.CSS_SELECTOR, "button[data-reveal]").click()
    wait(browser, lambda b: "Console-pass99" in row.text)


# roles whose element must have an accessible name (what a screen reader announces)
NAMED_ROLES = frozenset(
    {
        "button",
        "link",
        "textbox",
        "searchbox",
        "combobox",
        "listbox",
        "checkbox",
        "radio",
        "spinbutton",
        "slider",
        "switch",
        "img",
        "image",
        "progressbar",
        "table",
        "region",
    }
)


def unnamed(browser: WebDriver) -> list[str]:
    """Elements chromium's own accessibility tree gives no name, as `role <tag#id>`."""
    tree = browser.execute_cdp_cmd("Accessibility.getFullAXTree", {})
    out = []
    for node in tree["nodes"]:
        role = node.get("role", {}).get("value")
        name = str(node.get("name", {}).get("value", "")).strip()
        if node.get("ignored") or role not in NAMED_ROLES or name:
            continue
        described = browser.execute_cdp_cmd(
            "DOM.describeNode", {"backendNodeId": node["backendDOMNodeId"]}
        )["node"]
        attrs = described.get("attributes", [])
        ident = dict(zip(attrs[::2], attrs[1::2], strict=True)).get("id", "")
        out.append(f"{role} <{described['localName']}#{ident}>")
    return out


def test_accessible_names_and_the_keyboard(
    browser: WebDriver, console_url: str, shot: None
) -> None:
    """Every control, chart and table on every page has a name in chromium's accessibility
    tree; the Lambda page's invoke works from the keyboard alone, with a visible focus."""
    for page in ("lambda/probe", "rds/cdb", "s3/console-files", "secrets"):
        open_page(browser, console_url, page)
        element(browser, "table")  # (the page's data, rendered)
        assert unnamed(browser) == [], page
    open_page(browser, console_url, "lambda/probe", reload=True)
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    first = browser.switch_to.active_element
    assert first.text == "Skip to content", first.text
    for _ in range(80):  # Tab on until the Invoke button has the focus
        active = browser.switch_to.active_element
        if active.get_attribute("id") == "invoke":
            break
        assert active.value_of_css_property("outline-style") != "none", active.tag_name
        active.send_keys(Keys.TAB)
    else:
        pytest.fail("the Invoke button is not reachable with Tab")
    assert active.value_of_css_property("outline-style") != "none"
    before = text_of(browser, "#invoke-report")
    active.send_keys(Keys.ENTER)
    wait(browser, lambda b: text_of(b, "#invoke-report") not in ("", before))
    assert text_of(browser, "#invoke-report").startswith("REPORT RequestId:")
    # a service from the navigation, by keyboard: the new page takes the focus
    link = browser.find_element(By.CSS_SELECTOR, 'nav a[data-page="secrets"]')
    browser.execute_script("arguments[0].focus()", link)
    link.send_keys(Keys.ENTER)
    element(browser, 'main[data-ready="secrets"]')
    wait(browser, lambda b: b.switch_to.active_element.get_attribute("id") == "main")


# -- security, over plain HTTP


def console_base(console_url: str) -> str:
    """The console's origin (its own port, not the edge's)."""
    return console_url.split("/_console/", 1)[0]


def request(
    base: str,
    path: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=30) as r:
            data = r.read()
            return r.status, json.loads(data) if data.startswith(b"{") else {}, dict(r.headers)
    except urllib.error.HTTPError as e:
        data = e.read()
        return e.code, json.loads(data) if data.startswith(b"{") else {}, dict(e.headers)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kw: Any) -> None:
        return None


def session(console_url: str) -> tuple[str, str]:
    """(Cookie header, CSRF value) as the browser gets them."""
    base = console_base(console_url)
    status, _, headers = request(base, console_url[len(base) :])
    assert status == 303, status
    cookie = headers["Set-Cookie"].split(";")[0]
    page = urllib.request.urlopen(
        urllib.request.Request(base + "/_console/", headers={"Cookie": cookie}), timeout=30
    ).read()
    m = re.search(rb'name="faaslab-csrf" content="([0-9a-f]+)"', page)
    assert m is not None
    return cookie, m.group(1).decode()


def test_no_token_is_refused(console_url: str) -> None:
    base = console_base(console_url)
    for path in (
        "/_console/",
        "/_console/static/js/app.js",
        "/_console/api/functions",
        "/_console/api/events",
    ):
        status, body, _ = request(base, path)
        assert status == 403 and "token" in body["message"], (path, status, body)
    status, body, _ = request(base, "/_console/?token=not-the-token")
    assert status == 403 and "wrong console token" in body["message"], body
    status, body, _ = request(
        base,
        "/_console/api/functions",
        headers={"Cookie": f"faaslab_console_{base.rsplit(':', 1)[1]}=guess"},
    )
    assert status == 403, body


def test_cross_origin_post_is_refused(fl: Faaslab, console_url: str) -> None:
    cookie, csrf = session(console_url)
    own = base = console_base(console_url)
    invoke = "/_console/api/functions/probe/invoke"
    headers = {"Cookie": cookie, "Content-Type": "application/json"}
    cases = [
        ({"Origin": "http://evil.example", "X-Faaslab-Csrf": csrf}, "cross-origin"),
        ({"Origin": fl.url, "X-Faaslab-Csrf": csrf}, "cross-origin"),  # the edge's pages
        ({"Origin": own}, "CSRF"),  # same origin, no CSRF header
        ({"Origin": own, "X-Faaslab-Csrf": "0" * 64}, "CSRF"),
        ({"Sec-Fetch-Site": "cross-site", "X-Faaslab-Csrf": csrf}, "cross-site"),
    ]
    for extra, word in cases:
        status, body, _ = request(own, invoke, "POST", {**headers, **extra}, b"{}")
        assert status == 403 and word in body["message"], (extra, status, body)
    status, body, _ = request(
        base, "/_console/api/functions", headers={"Cookie": cookie, "Host": "evil.example:80"}
    )
    assert status == 403 and "127.0.0.1" in body["message"], body
    # the same request from the console's own page goes through
    status, body, _ = request(
        base, invoke, "POST", {**headers, "Origin": own, "X-Faaslab-Csrf": csrf}, b"{}"
    )
    assert status == 200 and '"uses"' in body["payload"], body


def test_functions_cannot_use_the_console(fl: Faaslab, console_url: str) -> None:
    """Even with the cookie: no route from a function's network to the console's port, and
    the edge, which functions reach, does not serve the console."""
    cookie, _ = session(console_url)
    for url in (console_base(console_url), fl.url):
        _, out = invoke(
            fl.client(),
            "fetcher",
            {"url": url + "/_console/api/secrets", "headers": {"Cookie": cookie}},
        )
        if url == fl.url:
            assert out["status"] == 404, out
        else:
            assert out["status"] is None and out["error"], out  # (no connection at all)


def test_the_edge_does_not_serve_the_console(fl: Faaslab, console_url: str) -> None:
    """The edge's origin also serves the template's API routes, whose pages must not read
    the console: the console answers on its own port only."""
    assert console_base(console_url) != fl.url
    cookie, _ = session(console_url)
    token = console_url.split("token=", 1)[1]
    for path in ("/_console/", f"/_console/?token={token}", "/_console/api/secrets"):
        status, body, headers = request(fl.url, path, headers={"Cookie": cookie})
        assert status == 404 and "Set-Cookie" not in headers, (path, status, body)


def test_s3_requests_only_from_the_page(fl: Faaslab, console_url: str) -> None:
    """`/_console/s3/...` hands the page's signed requests to S3: never a link's or a
    form's (no CSRF header), never another origin's, never without the session; what S3
    answers cannot run on the console's origin."""
    base = console_base(console_url)
    cookie, csrf = session(console_url)
    status, signed, _ = request(
        base,
        "/_console/api/s3/sign",
        "POST",
        {"Cookie": cookie, "X-Faaslab-Csrf": csrf, "Origin": base},
        json.dumps({"operation": "ListObjectsV2", "params": {"Bucket": "console-files"}}).encode(),
    )
    assert status == 200 and signed["url"].startswith("/_console/s3/console-files?"), signed
    page = {"Cookie": cookie, **signed["headers"]}
    listing = urllib.request.urlopen(
        urllib.request.Request(base + signed["url"], headers=page), timeout=30
    )
    assert b"<ListBucketResult" in listing.read()
    assert "sandbox" in listing.headers["Content-Security-Policy"]
    without_csrf = {k: v for k, v in page.items() if k != "X-Faaslab-Csrf"}
    without_cookie = {k: v for k, v in page.items() if k != "Cookie"}
    for headers, word in (
        (without_csrf, "CSRF"),
        (without_cookie, "token"),
        ({**page, "Origin": fl.url}, "cross-origin"),
    ):
        status, body, _ = request(base, signed["url"], headers=headers)
        assert status == 403 and word in body["message"], (headers, status, body)
    # an upload without the page's header is refused before its body
    status, body, _ = request(
        base, "/_console/s3/console-files/x.html", "PUT", without_csrf, b"<script>1</script>"
    )
    assert status == 403 and "CSRF" in body["message"], body
    listed = fl.aws("s3").list_objects_v2(Bucket="console-files", Prefix="x.html")
    assert listed["KeyCount"] == 0, listed


def test_no_console(tmp_path: Path) -> None:
    """`--no-console`: no console line in the banner, and no console anywhere (the edge
    gives /_console to the template's catch-all route like any other path)."""
    off = start_faaslab(FIXTURES / "services.yaml", tmp_path / "s", "--no-console")
    try:
        deadline = time.monotonic() + WAIT_S  # (the banner follows the health check)
        while "ready:" not in off.log_path.read_text():
            assert time.monotonic() < deadline, off.log_path.read_text()
            time.sleep(0.05)
        assert "console:" not in off.log_path.read_text()
        status, body, _ = request(off.url, "/_console/?token=x")
        assert "console" not in json.dumps(body), (status, body)
    finally:
        assert off.stop() == 0
    assert mounts_under(tmp_path) == []

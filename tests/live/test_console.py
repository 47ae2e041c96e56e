"""The browser console (/console): static checks of the page, then a real headless Chromium that
loads it from a live filmd under the console's own Content-Security-Policy and clicks through
every action. Saves a screenshot to docs/console.png."""
from __future__ import annotations

import json
import re
import shutil
import sys
import time
from html.parser import HTMLParser

import pytest

from filmd_server import REPO

sys.path.insert(0, str(REPO / "tests" / "clients"))
from client_support import seed  # noqa: E402

CONSOLE = REPO / "assets" / "console"
SCREENSHOT = REPO / "docs" / "console.png"
CONSOLE_CSP = {
    "default-src": "'none'", "script-src": "'self'", "style-src": "'self'", "connect-src": "'self'",
    "img-src": "'self'", "frame-ancestors": "'none'", "base-uri": "'none'", "form-action": "'none'",
}
REQUIRED_IDS = {"film-name", "film-studio", "film-year", "film-id", "film-likes", "film-dislikes", "like",
                "dislike", "next", "add-form", "api-key", "add-name", "add-studio", "add-year", "status",
                "request-id", "ratelimit", "ratelimit-policy", "retry-after", "problem", "problem-title",
                "problem-detail", "problem-errors", "location", "history", "csp-violations"}
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


# -- static: nothing inline, stable ids --------------------------------------------------------
class _Audit(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.problems: list[str] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for name in attrs:
            if name.startswith("on"):
                self.problems.append(f"inline event handler {name} on <{tag}>")
        if "style" in attrs:
            self.problems.append(f"inline style on <{tag}>")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            if not attrs.get("src"):
                self.problems.append("inline <script>")
            else:
                self.scripts.append(attrs["src"])
            self._in_script = True
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.styles.append(attrs.get("href", ""))
        for name in ("href", "src", "action"):
            if (attrs.get(name) or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in {name}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append("script element with content")


def test_page_has_no_inline_script_or_style_and_stable_ids():
    audit = _Audit()
    audit.feed((CONSOLE / "index.html").read_text(encoding="utf-8"))
    assert audit.problems == []
    assert audit.scripts == ["/console/console.js"]
    assert audit.styles == ["/console/console.css"]
    assert REQUIRED_IDS <= audit.ids, REQUIRED_IDS - audit.ids


def test_script_keeps_the_key_out_of_urls_and_storage():
    source = (CONSOLE / "console.js").read_text(encoding="utf-8")
    js = "\n".join(line for line in source.splitlines() if not line.strip().startswith("//"))
    assert '"X-API-Key"' in js
    for forbidden in ("localStorage", "sessionStorage", "document.cookie", "innerHTML", "outerHTML",
                      "insertAdjacentHTML", "document.write", "eval(", "new Function", ".style."):
        assert forbidden not in js, forbidden


def test_console_is_served_with_its_strict_policy(server):
    page = server.request("GET", "/console")
    assert page.status == 200, page
    assert (page.header("Content-Type") or "").startswith("text/html")
    assert page.body == (CONSOLE / "index.html").read_bytes()
    csp = parse_csp(page.header("Content-Security-Policy") or "")
    for directive, value in CONSOLE_CSP.items():
        assert csp.get(directive) == value, f"{directive}: {csp.get(directive)!r} in {page.header('Content-Security-Policy')!r}"
    assert "'unsafe-inline'" not in (page.header("Content-Security-Policy") or "")
    assert page.header("X-Content-Type-Options") == "nosniff"
    for path, ctype, name in (("/console/console.js", ("text/javascript", "application/javascript"), "console.js"),
                              ("/console/console.css", ("text/css",), "console.css")):
        resp = server.request("GET", path)
        assert resp.status == 200, resp
        assert (resp.header("Content-Type") or "").split(";")[0].strip() in ctype, resp.header("Content-Type")
        assert resp.body == (CONSOLE / name).read_bytes()
        assert resp.header("X-Content-Type-Options") == "nosniff"


def parse_csp(header: str) -> dict[str, str]:
    out = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = " ".join(words[1:])
    return out


# -- a real browser ------------------------------------------------------------------------
def _chrome_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium missing: run scripts/install-client-test-deps.sh")
    chrome, driver_path = _chrome_binary(), shutil.which("chromedriver")
    if not chrome or not driver_path:
        pytest.fail("chromium and chromedriver are needed: run scripts/install-client-test-deps.sh")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chrome
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000", "--force-device-scale-factor=1", "--no-first-run",
                "--disable-extensions", "--disable-background-networking", "--lang=en-US"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _text(driver, element_id: str) -> str:
    return driver.find_element("id", element_id).text.strip()


def _calls(driver) -> int:
    return int(driver.find_element("tag name", "body").get_attribute("data-calls") or "0")


def _wait(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as exc:  # element not there yet
            last = exc
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def _act(driver, element_id: str):
    """Click and wait for the call it starts to finish; returns the status the page shows."""
    before = _calls(driver)
    driver.find_element("id", element_id).click()
    _wait(lambda: _calls(driver) > before and driver.find_element("tag name", "body").get_attribute("data-busy") == "false",
          what=f"the call started by #{element_id}")
    return int(driver.find_element("id", "status").get_attribute("data-status"))


def _fill(driver, element_id: str, value: str):
    el = driver.find_element("id", element_id)
    el.clear()
    if value:
        el.send_keys(value)


def _csp_problems(driver) -> list[str]:
    logs = driver.get_log("browser")
    bad = [e["message"] for e in logs
           if re.search(r"Content[- ]Security[- ]Policy|Refused to", e.get("message", ""), re.I)]
    count = int(driver.find_element("id", "csp-violations").get_attribute("data-count") or "0")
    if count:
        bad.append(f"{count} securitypolicyviolation event(s): {_text(driver, 'csp-violations')}")
    return bad


def _sent_requests(driver) -> list[dict]:
    """Requests the page made, from Chrome's DevTools performance log."""
    out = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            request = message["params"]["request"]
            out.append({"url": request["url"], "method": request["method"], "headers": request.get("headers", {})})
    return out


def test_console_in_headless_chromium(make_server, browser):
    # Rate limits on (generous) so that the page has RateLimit headers to show.
    server = make_server({"rate_limits": {"enabled": True, "default": "1000 per hour", "application": "",
                                          "routes": {}}})
    films = seed(server)
    known_names = {f["name"] for f in films}
    driver = browser
    driver.get(server.base_url + "/console")
    _wait(lambda: driver.find_element("tag name", "body").get_attribute("data-ready") == "true", what="console.js to run")
    _wait(lambda: _calls(driver) >= 1, what="the first random film")

    # A random film is shown, with status, request id and rate-limit headers.
    assert int(driver.find_element("id", "status").get_attribute("data-status")) == 200, _text(driver, "status")
    assert _text(driver, "film-name") in known_names
    assert _text(driver, "film-studio")
    assert REQUEST_ID.match(_text(driver, "request-id")), _text(driver, "request-id")
    first_ratelimit = (_text(driver, "ratelimit"), _text(driver, "ratelimit-policy"))  # checked at the end
    assert driver.find_element("id", "problem").is_displayed() is False

    # Like: the count goes up by one, on the page and in the catalogue.
    film_id = int(_text(driver, "film-id"))
    likes = int(_text(driver, "film-likes"))
    first_request_id = _text(driver, "request-id")
    assert _act(driver, "like") == 200
    assert int(_text(driver, "film-id")) == film_id
    assert int(_text(driver, "film-likes")) == likes + 1
    assert _text(driver, "request-id") != first_request_id
    assert server.request("GET", f"/films/{film_id}").json()["likes"] == likes + 1

    # Dislike.
    dislikes = int(_text(driver, "film-dislikes"))
    assert _act(driver, "dislike") == 200
    assert int(_text(driver, "film-dislikes")) == dislikes + 1

    # Another film.
    assert _act(driver, "next") == 200
    assert _text(driver, "film-name") in known_names

    # Add a film: 201, the new film on show, its Location.
    _fill(driver, "add-name", "Paprika")
    _fill(driver, "add-studio", "Madhouse")
    _fill(driver, "add-year", "2006")
    assert _act(driver, "add-submit") == 201, _text(driver, "status")
    assert _text(driver, "status").startswith("201")
    assert _text(driver, "film-name") == "Paprika"
    assert _text(driver, "film-studio") == "Madhouse"
    new_id = int(_text(driver, "film-id"))
    assert _text(driver, "location") == f"/films/{new_id}"
    assert server.request("GET", f"/films/{new_id}").json()["name"] == "Paprika"
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOT))

    # Markup in a name is shown as text, never run.
    _fill(driver, "add-name", "<img src=x id=injected>")
    _fill(driver, "add-studio", "<b>Studio</b>")
    _fill(driver, "add-year", "")
    assert _act(driver, "add-submit") == 201
    assert _text(driver, "film-name") == "<img src=x id=injected>"
    assert driver.find_elements("id", "injected") == []

    # A bad add: 400 with the problem's title, detail and the fields at fault.
    _fill(driver, "add-name", "   ")
    _fill(driver, "add-studio", "Ghibli")
    _fill(driver, "add-year", "1700")
    assert _act(driver, "add-submit") == 400
    assert driver.find_element("id", "problem").is_displayed()
    assert _text(driver, "problem-title")
    assert _text(driver, "problem-detail")
    fields = {li.get_attribute("data-field") for li in driver.find_elements("css selector", "#problem-errors li")}
    assert {"name", "year"} <= fields, fields
    assert REQUEST_ID.match(_text(driver, "request-id"))

    # A good call hides the problem again.
    assert _act(driver, "next") == 200
    assert driver.find_element("id", "problem").is_displayed() is False

    # The API key travels as X-API-Key only: an unknown key is refused with 401 and shown.
    _fill(driver, "api-key", "filmd_not_a_real_key")
    assert _act(driver, "next") == 401
    assert driver.find_element("id", "problem").is_displayed()
    sent = [r for r in _sent_requests(driver) if r["url"].startswith(server.base_url + "/films")]
    with_key = [r for r in sent if {k.lower(): v for k, v in r["headers"].items()}.get("x-api-key") == "filmd_not_a_real_key"]
    assert with_key, "the key was not sent as X-API-Key"
    for r in _sent_requests(driver) + sent:
        assert "filmd_not_a_real_key" not in r["url"]
    assert "filmd_not_a_real_key" not in driver.current_url
    storage = driver.execute_script(
        "return [localStorage.length, sessionStorage.length, document.cookie, location.href];")
    assert storage[0] == 0 and storage[1] == 0 and storage[2] == "", storage
    _fill(driver, "api-key", "")

    history = driver.find_elements("css selector", "#history li")
    assert len(history) >= 8
    assert not _csp_problems(driver)

    # The rate-limit headers of the first call were shown.
    assert re.search(r"r=\d+", first_ratelimit[0]), first_ratelimit
    assert re.search(r"q=\d+", first_ratelimit[1]), first_ratelimit


def test_console_shows_retry_after_when_rate_limited(make_server, browser):
    server = make_server({"rate_limits": {"enabled": True, "default": "1000 per hour", "application": "",
                                          "routes": {"GET /films/random": "2 per minute"}}})
    seed(server)
    driver = browser
    driver.get(server.base_url + "/console")
    _wait(lambda: _calls(driver) >= 1, what="the first random film")
    statuses = [int(driver.find_element("id", "status").get_attribute("data-status"))]
    for _ in range(3):
        statuses.append(_act(driver, "next"))
        if statuses[-1] == 429:
            break
    assert statuses[-1] == 429, statuses
    assert int(_text(driver, "retry-after")) >= 1
    assert driver.find_element("id", "problem").is_displayed()
    assert _text(driver, "problem-title")
    assert re.search(r"r=0", _text(driver, "ratelimit")), _text(driver, "ratelimit")
    assert not _csp_problems(driver)

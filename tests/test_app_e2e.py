"""The explorer end to end, as a user meets it: `streamlit run` on loopback, opened in headless Chromium.

AppTest runs a page's script but not the browser: the JavaScript that renders it, the widgets' events and
the layout at a real width. Here Debian's `chromium` and `chromium-driver` (which `.ci/run` installs) open
every page at 1400 px, fail on any exception the page shows or any page wider than the window, and move a
Playground slider until the drawn chart changes. Screenshots land in `test-artifacts/e2e/` (or under
`$TEST_ARTIFACTS`) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from studies.config import plan_study
from studies.runner import run_study

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app" / "streamlit_app.py"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", ROOT / "test-artifacts")) / "e2e"
# URL paths; the default page (Study) is served at the root only.
PAGES = {"Playground": "playground", "Study": "", "Agents": "agents", "Compare": "compare", "SQL": "sql"}
WIDTH, HEIGHT = 1400, 1000
SLIDER = '.st-key-playground_publication_bias input[type="range"]'  # the publication-bias slider
START_TIMEOUT_S = 60
PAGE_TIMEOUT_S = 90  # a cold page compiles nothing, but 2 busy cores run its first simulation slowly

webdriver = pytest.importorskip("selenium.webdriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="Debian's chromium and chromium-driver are not installed (`.ci/run` installs them)",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small publication study and a small election study, so that every page has something to show."""
    db = tmp_path_factory.mktemp("e2e") / "results.duckdb"
    publication = {
        "study": {"name": "e2e_publication", "rounds": 40, "replications": 2, "seed": 3},
        "game": {"n_researchers": 20},
        "sweep": {"publish_null_prob": [0.0, 1.0]},
    }
    election = {
        "study": {"name": "e2e_election", "game": "election", "rounds": 20, "replications": 2, "seed": 3},
        "game": {"n_voters": 30},
        "sweep": {"media_attention_bias": [0.0, 0.5]},
    }
    for config in (election, publication):
        run_study(plan_study(config), db, progress=False)
    return db


@pytest.fixture(scope="module")
def explorer(results: Path) -> Iterator[str]:
    """The explorer served on loopback for this module; its address."""
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        "--", "--db", str(results),
    ]  # fmt: skip
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "streamlit.log"
    with open(log, "w") as out:
        server = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                        if reply.read().strip() == b"ok":
                            break
                except OSError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the explorer did not start: see {log}")
                time.sleep(0.5)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=20)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(PAGE_TIMEOUT_S)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(condition: Callable[[], object], what: str, timeout: float = PAGE_TIMEOUT_S) -> object:
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:  # a rerun redraws the page: an element found a moment ago may be gone; look again
            found = condition()
        except StaleElementReferenceException:
            found = None
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def settled(driver) -> bool:
    """The script has run to its end: the app is drawn, a title is shown and nothing is running."""
    from selenium.webdriver.common.by import By

    running = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]')
    drawn = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMain"] h1')
    return bool(drawn) and not any(element.is_displayed() for element in running)


def wait_until_settled(driver, what: str) -> None:
    """Settled twice in a row a second apart: a rerun can start right after a first run ends."""
    wait_for(lambda: settled(driver) and (time.sleep(1.0) or settled(driver)), what)


def shown_exceptions(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    return [element.text for element in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')]


@pytest.mark.parametrize("title", PAGES)
def test_every_page_opens_without_an_exception_and_fits_the_window(
    title: str, explorer: str, browser
) -> None:
    browser.get(f"{explorer}/{PAGES[title]}")
    wait_until_settled(browser, f"the {title} page")
    browser.save_screenshot(str(ARTIFACTS / f"{PAGES[title] or 'study'}.png"))
    assert shown_exceptions(browser) == [], f"the {title} page shows an exception"
    assert not dialogs(browser), f"the {title} page shows {dialogs(browser)}"
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the {title} page is {overflow} px wider than the {WIDTH} px window"


def dialogs(driver) -> list[str]:
    """Streamlit's own notices (such as "Page not found") come as dialogs."""
    from selenium.webdriver.common.by import By

    return [element.text for element in driver.find_elements(By.CSS_SELECTOR, '[role="dialog"]')]


def chart_picture(driver) -> bytes:
    """The first chart of the main area, as drawn."""
    from selenium.webdriver.common.by import By

    (chart, *_) = wait_for(
        lambda: driver.find_elements(
            By.CSS_SELECTOR, '[data-testid="stMain"] [data-testid="stVegaLiteChart"]'
        ),
        "a chart",
    )
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", chart)
    return chart.screenshot_as_png


def test_moving_a_playground_slider_redraws_the_chart(explorer: str, browser) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{explorer}/{PAGES['Playground']}")
    wait_until_settled(browser, "the Playground page")
    before = wait_for(lambda: chart_picture(browser), "the chart drawn")
    browser.save_screenshot(str(ARTIFACTS / "playground-before.png"))
    # Streamlit draws a slider as react-aria's: a visually hidden range input that takes the keys.
    def slider_value() -> str:
        return browser.find_element(By.CSS_SELECTOR, SLIDER).get_attribute("value")

    start = slider_value()
    browser.execute_script("arguments[0].focus()", browser.find_element(By.CSS_SELECTOR, SLIDER))
    ActionChains(browser).send_keys(Keys.HOME).perform()  # the least publication bias; the default is more
    wait_for(lambda: slider_value() != start, "the slider to move", timeout=10)
    wait_until_settled(browser, "the Playground page to rerun")
    wait_for(lambda: chart_picture(browser) != before, "the chart to change")
    browser.save_screenshot(str(ARTIFACTS / "playground-after.png"))
    assert shown_exceptions(browser) == []

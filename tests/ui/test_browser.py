"""The app in a real browser: `codx ui` serves it, headless Debian Chromium (driven by Selenium through Debian's
chromedriver, so nothing is downloaded) completes a consultation to a diagnosis, reloads and resumes,
downloads the PDF and switches to doctor mode. Screenshots go to `.ci-artifacts/ui/` (or $CODX_UI_ARTIFACTS).

Skipped with a reason when Chromium or chromedriver is not installed (`.ci/run` installs both as root).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.clinic import save_clinic
from support.servers import free_port, running
from ui_harness import clinic_env

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("CODX_UI_ARTIFACTS") or Path(__file__).resolve().parents[2] / ".ci-artifacts" / "ui")
WAIT_S = 90

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver); "
        "apt-get install chromium chromium-driver (.ci/run does this as root)",
    ),
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`codx ui` on a free loopback port, over a data directory with the clinic pack."""
    port = free_port()
    env = {**os.environ, **clinic_env(save_clinic(tmp_path / "data"))}
    flags = ["--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true"]
    flags += ["--server.fileWatcherType", "none", "--global.developmentMode", "false"]
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "codx.cli.main", "ui", *flags]
    with running(cmd, env, tmp_path / "server.log", f"{url}/_stcore/health", wait_s=WAIT_S):
        yield url


@pytest.fixture
def browser(tmp_path: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=1440,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads  # type: ignore[attr-defined]
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def _wait(driver, condition, what: str):
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        wait = WebDriverWait(driver, WAIT_S, poll_frequency=0.2, ignored_exceptions=[StaleElementReferenceException])
        return wait.until(condition)
    except TimeoutException:
        _shot(driver, f"failed-{what.replace(' ', '-')}")
        raise AssertionError(f"timed out waiting for {what}") from None


def _idle(driver) -> None:
    """Streamlit has finished the script run and drawn every element (none stale), chat input ready."""
    from selenium.webdriver.common.by import By

    def ready(d):
        app = d.find_elements(By.CSS_SELECTOR, "[data-testid='stApp']")
        state = app[0].get_attribute("data-test-script-state") if app else None
        stale = d.find_elements(By.CSS_SELECTOR, "[data-stale='true']")
        inputs = d.find_elements(By.CSS_SELECTOR, "textarea[data-testid='stChatInputTextArea']")
        return state == "notRunning" and not stale and inputs

    _wait(driver, ready, "the page to render")
    time.sleep(0.3)  # charts draw after the script ends


def _click(driver, element) -> None:
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    element.click()


def _messages(driver) -> int:
    from selenium.webdriver.common.by import By

    return len(driver.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']"))


def _after_turn(driver, before: int) -> None:
    """Wait until the turn's messages are on the page and Streamlit is done drawing."""
    _wait(driver, lambda d: _messages(d) > before, "the turn's messages")
    _idle(driver)


def _button(driver, text: str):
    from selenium.webdriver.common.by import By

    xpath = f"//button[.//p[normalize-space(.)='{text}']] | //button[normalize-space(.)='{text}']"
    return [b for b in driver.find_elements(By.XPATH, xpath) if b.is_displayed() and b.is_enabled()]


def _page_text(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def _say(driver, text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.CSS_SELECTOR, "textarea[data-testid='stChatInputTextArea']")
    box.click()
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def test_a_consultation_in_the_browser(server: str, browser) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server)
    _idle(browser)
    _wait(browser, lambda d: "thread=" in d.current_url, "the thread id in the URL")
    thread_url = browser.current_url
    assert "not a medical device" in _page_text(browser)
    _shot(browser, "01-start")

    before = _messages(browser)
    _say(browser, "I have a sore throat")
    _after_turn(browser, before)
    _wait(browser, lambda d: _button(d, "Yes"), "the quick replies")
    assert _button(browser, "No") and _button(browser, "Not sure")
    _shot(browser, "02-question")

    for _ in range(10):  # answer "yes" until codx reports
        buttons = _button(browser, "Yes")
        if not buttons:
            break
        before = _messages(browser)
        _click(browser, buttons[0])
        _after_turn(browser, before)
    _wait(browser, lambda d: "These are possibilities" in _page_text(d), "the diagnosis")
    assert "Chain of Diagnosis" in _page_text(browser)
    _shot(browser, "03-diagnosis")

    browser.refresh()
    _idle(browser)
    _wait(browser, lambda d: "These are possibilities" in _page_text(d), "the resumed consultation")
    assert browser.current_url == thread_url, "the reload stays on the same consultation"
    assert "I have a sore throat" in _page_text(browser)
    _shot(browser, "04-resumed")

    pdf_button = _wait(
        browser,
        lambda d: [b for b in d.find_elements(By.XPATH, "//button[contains(., 'Download PDF')]") if b.is_displayed()],
        "the PDF button",
    )[0]
    _click(browser, pdf_button)
    pdfs = _wait(browser, lambda d: [p for p in d.downloads.glob("*.pdf") if p.stat().st_size > 0], "the PDF download")
    time.sleep(0.5)
    assert pdfs[0].read_bytes().startswith(b"%PDF-")
    (ARTIFACTS / "consultation.pdf").write_bytes(pdfs[0].read_bytes())

    doctor = _wait(
        browser,
        lambda d: [
            e for e in d.find_elements(By.XPATH, "//label[.//p[normalize-space(.)='Doctor']]") if e.is_displayed()
        ],
        "the mode switch",
    )[0]
    _click(browser, doctor)
    _wait(browser, lambda d: "Next-best questions" in _page_text(d), "doctor mode")
    _idle(browser)
    assert "Findings" in _page_text(browser) and "C:sore_throat" in _page_text(browser)
    assert _wait(browser, lambda d: d.find_elements(By.XPATH, "//button[contains(., 'Phenopacket')]"), "phenopacket")
    _shot(browser, "05-doctor")

    # a new consultation in Spanish: the page switches language after the first message and stays usable
    _click(browser, _button(browser, "New consultation")[0])
    _wait(browser, lambda d: d.current_url != thread_url, "a new consultation")
    _idle(browser)
    before = _messages(browser)
    _say(browser, "Tengo dolor de garganta")
    _after_turn(browser, before)
    _wait(browser, lambda d: _button(d, "Sí"), "the Spanish quick replies")
    assert "¿Tiene" in _page_text(browser) and "no es un dispositivo médico" in _page_text(browser)
    before = _messages(browser)
    _click(browser, _button(browser, "Sí")[0])
    _after_turn(browser, before)
    assert "¿Tiene" in _page_text(browser) or "Son posibilidades" in _page_text(browser), "still in Spanish"
    _shot(browser, "06-spanish")

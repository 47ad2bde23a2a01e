"""GET /docs in a real browser: Debian's chromium, driven through Debian's chromium-driver by
Selenium (test/deploy/requirements.txt), against the cvgate of test/deploy/with-cvgate.sh.

    docs_browser.py ARTEFACT_DIR

Checks, as a user of the page would see it:
  - every operation of /openapi.json is rendered (method and path), and nothing else;
  - the browser console has no error (nor a failed load, nor a Content-Security-Policy refusal);
  - "Try it out" on GET /healthz executes and shows 200;
  - "Try it out" on POST /jobs/submit with a PDF chosen in the file input executes and shows 202,
    and the job is real: its file on the volume, its document served by GET /jobs/{id}/status.
Screenshots go to ARTEFACT_DIR (docs.png: the page; docs-submit.png: the submit's answer).
Exits 1 with one line per failed check.
"""

import json
import os
import re
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

URL = os.environ["CVGATE_URL"]
VOLUME = os.environ["CVGATE_VOLUME"]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT = 60  # seconds for the page to do something; a limit for a hang, not a timing check

failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The driver's path is given: Selenium Manager never runs, nothing is downloaded.
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def operations():
    with urllib.request.urlopen(URL + "/openapi.json", timeout=10) as r:
        spec = json.load(r)
    return {(method.upper(), path) for path, item in spec["paths"].items()
            for method in item if method in ("get", "post", "put", "delete", "patch")}


def opblock(driver, method, path):
    """The rendered operation, expanded."""
    block = driver.find_element(
        By.XPATH, f'//div[contains(@class, "opblock-{method.lower()}")]'
                  f'[.//*[contains(@class, "opblock-summary-path")][@data-path="{path}"]]')
    if "is-open" not in block.get_attribute("class"):
        block.find_element(By.CLASS_NAME, "opblock-summary").click()
        WebDriverWait(driver, WAIT).until(lambda d: "is-open" in block.get_attribute("class"))
    driver.execute_script("arguments[0].scrollIntoView(true);", block)
    return block


def try_it_out(block):
    block.find_element(By.CSS_SELECTOR, "button.try-out__btn").click()
    return block


def run(driver, block):
    """Execute; the live response's status and body."""
    block.find_element(By.CSS_SELECTOR, "button.execute").click()
    status = WebDriverWait(driver, WAIT).until(lambda d: block.find_element(
        By.CSS_SELECTOR, ".live-responses-table .response .response-col_status")).text.strip()
    body = block.find_element(By.CSS_SELECTOR, ".live-responses-table .response .response-col_description").text
    return status, body


def console_errors(driver):
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def main():
    artefacts = sys.argv[1]
    os.makedirs(artefacts, exist_ok=True)
    expected = operations()
    driver = browser()
    try:
        driver.get(URL + "/docs")
        try:
            # Every operation rendered, or Swagger UI's own error box ("Failed to load API
            # definition"): no use waiting longer then.
            WebDriverWait(driver, WAIT).until(
                lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= len(expected)
                or d.find_elements(By.CSS_SELECTOR, ".errors-wrapper, .loading-container .errors"))
        except TimeoutException:
            pass
        rendered = set()
        for summary in driver.find_elements(By.CSS_SELECTOR, ".opblock-summary"):
            method = summary.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text.strip()
            path = summary.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path")
            rendered.add((method.upper(), path))
        check(rendered == expected,
              f"the page renders the {len(expected)} operations of /openapi.json"
              + ("" if rendered == expected else
                 f" (missing: {sorted(expected - rendered)}, extra: {sorted(rendered - expected)})"))
        title = driver.find_elements(By.CSS_SELECTOR, ".info .title")
        check(bool(title) and "cvgate" in title[0].text.lower(), f"the page shows the API's title: "
              f"{title[0].text if title else None!r}")
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1400, min(max(height, 1000), 8000))
        driver.save_screenshot(os.path.join(artefacts, "docs.png"))
        driver.set_window_size(1400, 1000)

        if ("GET", "/healthz") in rendered:
            block = try_it_out(opblock(driver, "GET", "/healthz"))
            status, body = run(driver, block)
            check(status == "200", f"Try it out: GET /healthz shows {status}: {body[:200]!r}")

        if ("POST", "/jobs/submit") in rendered:
            block = try_it_out(opblock(driver, "POST", "/jobs/submit"))
            form = block.find_element(By.CSS_SELECTOR, ".opblock-section-request-body")
            jd = form.find_element(By.XPATH, './/tr[.//*[contains(@class, "parameter__name")]'
                                             '[starts-with(normalize-space(.), "jd_text")]]')
            jd.find_element(By.CSS_SELECTOR, "input, textarea").send_keys(
                "We are looking for a C++ engineer who opens the API documentation in a browser.")
            delay = form.find_element(By.XPATH, './/tr[.//*[contains(@class, "parameter__name")]'
                                                '[starts-with(normalize-space(.), "use_delay")]]')
            Select(delay.find_element(By.TAG_NAME, "select")).select_by_visible_text("false")
            files = form.find_element(By.XPATH, './/tr[.//*[contains(@class, "parameter__name")]'
                                                '[starts-with(normalize-space(.), "files")]]')
            if not files.find_elements(By.CSS_SELECTOR, 'input[type="file"]'):
                files.find_element(By.XPATH, './/button[normalize-space(.)="Add item"]').click()
            pdf = os.path.join(artefacts, "resume-from-the-browser.pdf")
            with open(pdf, "wb") as f:
                f.write(b"%PDF-1.4\n% sent by chromium from /docs " + str(time.time()).encode()
                        + b"\n%%EOF\n")
            files.find_element(By.CSS_SELECTOR, 'input[type="file"]').send_keys(pdf)
            status, body = run(driver, block)
            driver.execute_script("arguments[0].scrollIntoView(true);", block.find_element(
                By.CSS_SELECTOR, ".live-responses-table"))
            driver.save_screenshot(os.path.join(artefacts, "docs-submit.png"))
            if check(status == "202", f"Try it out: POST /jobs/submit with a PDF shows {status}: {body[:300]!r}"):
                job_id = re.search(r'"job_id":\s*"([0-9a-f-]{36})"', body).group(1)
                names = os.listdir(os.path.join(VOLUME, job_id)) if os.path.isdir(
                    os.path.join(VOLUME, job_id)) else []
                stored = open(os.path.join(VOLUME, job_id, names[0]), "rb").read() if names else b""
                check(names == [job_id[:8] + "_000.pdf"] and stored == open(pdf, "rb").read(),
                      f"the browser's file is on the volume: {job_id}/{names}")
                with urllib.request.urlopen(f"{URL}/jobs/{job_id}/status", timeout=10) as r:
                    doc = json.load(r)
                check(doc.get("_id") == job_id and doc.get("expected_files") == 1,
                      f"the job is in MongoDB: GET /jobs/{job_id}/status {doc}")

        errors = console_errors(driver)
        check(not errors, "no error in the browser console"
              + "".join(f"\n      {e['level']} {e['message']}" for e in errors))
    finally:
        driver.quit()
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

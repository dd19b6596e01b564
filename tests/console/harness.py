"""What the dashboard's browser tests and its screenshots stand on: a real `refahd --demo` (plaintext,
loopback, any free ports, a temporary data directory), refahctl against it, and Debian's Chromium,
headless, driven through chromium-driver by python3-selenium.

Environment: REFAHD and REFAHCTL (the executables; default build/server/refahd and
build/tools/refahctl), CHROMIUM (default /usr/bin/chromium), CHROMEDRIVER (default
/usr/bin/chromedriver).
"""

import json
import os
import re
import signal
import subprocess
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
REFAHD = os.environ.get("REFAHD", os.path.join(SOURCE_DIR, "build", "server", "refahd"))
REFAHCTL = os.environ.get("REFAHCTL", os.path.join(SOURCE_DIR, "build", "tools", "refahctl"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")

ADMIN, AUDITOR, HOOD_COUNCIL, COUNTY_COUNCIL = 1, 2, 3, 4  # docs/OPERATIONS.md, "Keys"

PERSIAN_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


def number(text):
    """The integer a page shows ("۱٬۲۳۴", "1,234", "-5"), whatever its digits and separators."""
    digits = text.translate(PERSIAN_DIGITS)
    negative = digits.strip().startswith(("-", "−", "\u200e-"))
    digits = re.sub(r"[^0-9]", "", digits)
    if not digits:
        raise ValueError("no number in %r" % text)
    return -int(digits) if negative else int(digits)


class Demo:
    """`refahd --demo --plaintext` on free loopback ports in a temporary directory."""

    def __init__(self, cards=400, rate=5.0, venues=4, day_s=30.0):
        self.tmp = tempfile.TemporaryDirectory(prefix="refah-console-")
        self.data = os.path.join(self.tmp.name, "data")
        self.log_path = os.path.join(self.tmp.name, "refahd.log")
        self.args = ["--demo-cards", str(cards), "--demo-rate", str(rate), "--demo-venues", str(venues),
                     "--demo-day-s", str(day_s)]
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [REFAHD, "--demo", "--plaintext", "--data", self.data, "--listen", "127.0.0.1:0",
             "--admin-listen", "", "--console-listen", "127.0.0.1:0", "--status-every", "0"] + self.args,
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = self.read_log()
            serving = re.search(r" serving 127\.0\.0\.1:(\d+) ", text)
            console = re.search(r"console: http://127\.0\.0\.1:(\d+)/api/v1/", text)
            if serving and console and "demo: console sign-ins" in text:
                self.port, self.console_port = int(serving.group(1)), int(console.group(1))
                self.url = "http://127.0.0.1:%d/" % self.console_port
                self.passwords = self._passwords()
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("refahd --demo did not start:\n" + self.read_log())

    def _passwords(self):
        out = {}
        with open(os.path.join(self.data, "demo-console-passwords.txt")) as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    client, _role, password = line.split()
                    out[int(client)] = password
        return out

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def public_key(self):
        """The checkpoint key's public half, as refahd logs it at start."""
        return re.search(r"checkpoints: public key ([0-9a-f]{64})", self.read_log()).group(1)

    def refahctl(self, client, *args):
        """refahctl --json as `client`: the answer's JSON."""
        cmd = [REFAHCTL, "--plaintext", "--connect", "127.0.0.1:%d" % self.port,
               "--keys", os.path.join(self.data, "demo-keys.toml"), "--client", str(client), "--json"] + list(args)
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError("%s: exit %d\n%s%s" % (" ".join(cmd), done.returncode, done.stdout, done.stderr))
        return json.loads(done.stdout.splitlines()[0])

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.log.close()
        self.proc = None
        self.tmp.cleanup()


class Browser:
    """Headless Chromium through chromium-driver, with its own empty profile (no cookie, no
    localStorage) and no way off this machine: every host but loopback resolves to nothing and
    every request but loopback goes to a proxy that is not there."""

    def __init__(self, width=1360, height=900):
        for path in (CHROMIUM, CHROMEDRIVER):
            if not os.access(path, os.X_OK):
                raise RuntimeError("%s is missing: apt-get install chromium chromium-driver (scripts/dev.sh does)" % path)
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=%d,%d" % (width, height), "--force-device-scale-factor=1",
                    "--hide-scrollbars", "--no-first-run", "--no-default-browser-check",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-extensions", "--disable-default-apps", "--disable-domain-reliability",
                    "--disable-client-side-phishing-detection", "--metrics-recording-only",
                    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
                    "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1",
                    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # Chromium leaves its singleton-socket folder in TMPDIR: give it one of its own, removed at quit.
        self.tmp = tempfile.TemporaryDirectory(prefix="refah-chromium-", ignore_cleanup_errors=True)
        env = dict(os.environ, TMPDIR=self.tmp.name)
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER, env=env), options=options)
        self.driver.set_page_load_timeout(30)
        self.log = []  # the browser's log entries so far (get_log hands each out once)
        self.checked = 0  # how many of them severe() has looked at

    def quit(self):
        try:
            self.driver.quit()
        finally:
            self.tmp.cleanup()

    def open(self, url):
        """Loads `url` afresh (a page load, even when only the fragment differs)."""
        self.driver.get("about:blank")
        self.driver.get(url)
        self.wait(lambda d: d.execute_script("return document.body.dataset.state") in ("signed-in", "signed-out"))

    def wait(self, condition, timeout=20):
        return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(condition)

    def state(self):
        return self.driver.execute_script("return document.body.dataset.state")

    def sign_in(self, client, password):
        d = self.driver
        d.find_element(By.ID, "client").clear()
        d.find_element(By.ID, "client").send_keys(str(client))
        d.find_element(By.ID, "password").send_keys(password)
        d.find_element(By.ID, "sign-in-submit").click()
        self.wait(lambda d: self.state() == "signed-in")
        self.wait(lambda d: d.execute_script("return document.getElementById('view').dataset.ready"))

    def go(self, page):
        self.driver.execute_script("location.hash = arguments[0]", "#/" + page)
        self.wait_ready(page)

    def wait_ready(self, page):
        self.wait(lambda d: d.execute_script("return document.getElementById('view').dataset.ready") in (page, "error"))
        ready = self.driver.execute_script("return document.getElementById('view').dataset.ready")
        if ready != page:
            raise AssertionError("page %s: %s" % (page, self.driver.find_element(By.ID, "view").text))

    def figures(self):
        """Every data-figure element's text, read in one script (so of one moment)."""
        return self.driver.execute_script(
            "const out = {};"
            "for (const e of document.querySelectorAll('[data-figure]')) out[e.dataset.figure] = e.textContent;"
            "return out;")

    def nav(self):
        return self.driver.execute_script(
            "return [...document.querySelectorAll('#nav a')].map(a => a.dataset.page);")

    def severe(self, allow=()):
        """The browser log's SEVERE entries since the last call, less those matching a pattern of `allow`."""
        self.log += self.driver.get_log("browser")
        new, self.checked = self.log[self.checked:], len(self.log)
        return [e["message"] for e in new
                if e["level"] == "SEVERE" and not any(re.search(p, e["message"]) for p in allow)]

    def warnings(self, pattern):
        """Every entry of the browser's log so far, of any level, that matches `pattern`."""
        self.log += self.driver.get_log("browser")
        return [e["message"] for e in self.log if re.search(pattern, e["message"])]

    def screenshot(self, path, max_height=1500):
        """A PNG of the page: its whole height, or its first `max_height` pixels."""
        d = self.driver
        width = d.execute_script("return window.innerWidth")
        height = min(max_height, d.execute_script("return Math.ceil(document.documentElement.scrollHeight)"))
        d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                          {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        time.sleep(0.5)  # the charts follow the new size
        d.save_screenshot(path)
        d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

"""The dashboard's screenshots in docs/img/ (README.md and docs/HTTP.md show them): a demo on a fast
clock (a day every 3 s, so that a few minutes hold weeks of visits, top-ups, settlements and lapses),
then each page in headless Chromium, in Persian, the overview in English too, and a council's view.

    REFAHD=build/server/refahd REFAHCTL=build/tools/refahctl /usr/bin/python3 tests/console/screenshots.py [--out docs/img] [--seconds 170]
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import ADMIN, COUNTY_COUNCIL, SOURCE_DIR, Browser, Demo  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

MAX_HEIGHT = 1500  # pixels of a page in its screenshot; the rollups' page all of its groups
TALLER = {"rollups": 2400}


def busiest_venue(browser, days):
    """The venue with the most visits over the last `days` days (asked from the page, signed in)."""
    return browser.driver.execute_async_script(
        "const [days, done] = arguments;"
        "(async () => {"
        " const get = async (u) => (await fetch(u, {credentials: 'same-origin'})).json();"
        " const today = (await get('/api/v1/coverage')).today;"
        " const venues = (await get('/api/v1/venues')).venues;"
        " let best = [0, -1];"
        " for (const v of venues) {"
        "  const u = await get('/api/v1/venue-usage?venue=' + v.id + '&from_day=' + (today - days + 1) + '&to_day=' + today);"
        "  if (u.total.visits > best[1]) best = [v.id, u.total.visits];"
        " }"
        " done(best[0]);"
        "})();", days)


def pick(browser, select_id, value, page):
    browser.driver.execute_script(
        "const s = document.getElementById(arguments[0]); s.value = String(arguments[1]);"
        "s.dispatchEvent(new Event('change'));", select_id, value)
    time.sleep(0.3)
    browser.wait_ready(page)


def shoot(browser, out, name):
    path = os.path.join(out, "console-%s.png" % name)
    browser.screenshot(path, TALLER.get(name, MAX_HEIGHT))
    print(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(SOURCE_DIR, "docs", "img"))
    parser.add_argument("--seconds", type=float, default=170, help="how long the demo runs first")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    demo = Demo(cards=2000, rate=150, venues=4, day_s=3).start()
    browser = None
    try:
        print("the demo runs for %.0f s first" % args.seconds)
        time.sleep(args.seconds)
        browser = Browser(1360, 900)
        browser.open(demo.url)
        shoot(browser, args.out, "sign-in")
        browser.sign_in(ADMIN, demo.passwords[ADMIN])
        venue = busiest_venue(browser, 30)
        for page in ["overview", "coverage", "rollups", "usage", "activity", "settlements", "audit"]:
            browser.go(page)
            if page == "usage":
                pick(browser, "usage-venue", venue, page)
            if page == "settlements":
                pick(browser, "settlements-venue", venue, page)
            if page == "activity":
                time.sleep(40)  # a chart with some history
            shoot(browser, args.out, page)
        browser.driver.find_element(By.ID, "lang").click()
        browser.go("overview")
        shoot(browser, args.out, "overview-en")
        browser.go("usage")
        shoot(browser, args.out, "usage-en")
        browser.driver.find_element(By.ID, "lang").click()
        browser.driver.find_element(By.ID, "sign-out").click()
        browser.wait(lambda _: browser.state() == "signed-out")
        browser.sign_in(COUNTY_COUNCIL, demo.passwords[COUNTY_COUNCIL])
        browser.go("overview")
        shoot(browser, args.out, "council")
        errors = browser.severe()
        if errors:
            raise SystemExit("errors in the browser's log: %s" % errors)
    finally:
        if browser:
            browser.quit()
        demo.stop()


if __name__ == "__main__":
    main()

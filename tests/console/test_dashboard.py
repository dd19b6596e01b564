"""The dashboard (share/console) in a real browser: Debian's Chromium, headless, through chromium-driver
and python3-selenium, against a live `refahd --demo` whose venues keep posting visits.

- every page loads for an admin (and the council's pages for a council) with no error in the browser's log;
- the overview's figures, the coverage ranking, the rollups and the groups equal what refahctl prints
  for the same seq (the page states the seq of each answer; refahctl asks `--as-of-seq` it);
- a council's pages show its area only, and its navigation has no budgets, settlements or audit;
- a signed-out visitor, or one whose session the server no longer knows, sees the sign-in form and
  none of the data;
- the live activity moves as the demo's venues post visits;
- English works as well as Persian, and every string has both.

    REFAHD=build/server/refahd REFAHCTL=build/tools/refahctl python3 -m unittest discover -s tests/console -v
"""

import datetime
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import ADMIN, AUDITOR, COUNTY_COUNCIL, HOOD_COUNCIL, Browser, Demo, number  # noqa: E402
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

ADMIN_PAGES = ["overview", "coverage", "rollups", "usage", "activity", "settlements", "audit"]
COUNCIL_PAGES = ["overview", "coverage", "rollups", "usage", "activity"]
TOTALS = ["cards", "active_cards", "balance_rials", "credited_rials", "spent_rials", "lapsed_rials",
          "refunded_rials", "released_rials", "visits", "visits_cancelled", "venues", "neighbourhoods"]
BUDGETS = ["allocated_rials", "committed_rials", "spent_rials", "lapsed_rials", "released_rials",
           "remaining_rials", "outstanding_rials"]
# A 401 the test causes on purpose (a wrong password, a session the server forgot) is logged by the
# browser as a failed load: those, and nothing else, may be in the log.
EXPECTED_401 = r"/api/v1/\S+ - Failed to load resource: the server responded with a status of 401"


def women_and_children(cells):
    """docs/PROJECTIONS.md, "Coverage by group", over refahctl's cells: per key, active cards of women
    (female, 18 or over) and of children (0-17, whatever their sex)."""
    out = {}
    for c in cells:
        row = out.setdefault(c["key"], {"active": 0, "women": 0, "children": 0})
        row["active"] += c["active_cards"]
        if c["sex"] == "female" and c["age_band"] in ("18-30", "31-59", "60+"):
            row["women"] += c["active_cards"]
        if c["age_band"] in ("0-11", "12-17"):
            row["children"] += c["active_cards"]
    return out


class DashboardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.demo = Demo(cards=400, rate=5, venues=4).start()

    @classmethod
    def tearDownClass(cls):
        cls.demo.stop()

    def setUp(self):
        self.browser = Browser()  # a fresh profile: no cookie, no localStorage
        self.addCleanup(self.browser.quit)

    def sign_in(self, client):
        self.browser.open(self.demo.url)
        self.browser.sign_in(client, self.demo.passwords[client])

    def assertNoBrowserErrors(self, allow=()):
        self.assertEqual(self.browser.severe(allow), [], "errors in the browser's log")

    def rows(self, selector, attribute, columns):
        """Each table row matching `selector`: {attribute: value, column: text, ...} (one script)."""
        return self.browser.driver.execute_script(
            "const [sel, attr, cols] = arguments; return [...document.querySelectorAll(sel)].map(tr => {"
            " const o = {key: tr.dataset[attr]};"
            " for (const c of cols) { const td = tr.querySelector('td[data-col=\"' + c + '\"]'); o[c] = td ? td.textContent : null; }"
            " return o; });", selector, attribute, columns)

    # ---- signed out --------------------------------------------------------------------------------

    def test_signed_out_visitor_sees_only_the_sign_in(self):
        b, d = self.browser, self.browser.driver
        names = [n["name"] for n in self.demo.refahctl(ADMIN, "coverage")["neighbourhoods"]]
        for page in ["", "#/overview", "#/coverage", "#/settlements", "#/audit"]:
            b.open(self.demo.url + page)
            self.assertEqual(b.state(), "signed-out", page)
            self.assertTrue(d.find_element(By.ID, "sign-in").is_displayed(), page)
            self.assertFalse(d.find_element(By.ID, "app").is_displayed(), page)
            shell = d.execute_script(
                "return ['view', 'nav', 'who'].map(id => document.getElementById(id).innerHTML).join('')")
            self.assertEqual(shell, "", page)
            text = d.find_element(By.TAG_NAME, "body").text
            for name in names:
                self.assertNotIn(name, text, page)
            # Nothing was asked of the API: the page knows it was never signed in.
            asked = d.execute_script(
                "return performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('/api/'))")
            self.assertEqual(asked, [], page)
        self.assertNoBrowserErrors()

        # A wrong password: still signed out, with the reason.
        d.find_element(By.ID, "client").send_keys("1")
        d.find_element(By.ID, "password").send_keys("not the password")
        d.find_element(By.ID, "sign-in-submit").click()
        b.wait(lambda _: d.find_element(By.ID, "sign-in-error").is_displayed())
        self.assertIn("گذرواژه", d.find_element(By.ID, "sign-in-error").text)
        self.assertEqual(b.state(), "signed-out")
        self.assertEqual(d.execute_script("return document.getElementById('view').innerHTML"), "")
        self.assertNoBrowserErrors(allow=[EXPECTED_401])

        # The client id as a Persian keyboard types it.
        d.find_element(By.ID, "password").clear()
        b.sign_in("۲", self.demo.passwords[AUDITOR])
        self.assertEqual(number(b.figures()["who.client"]), AUDITOR)

    def test_sign_out_and_a_session_the_server_forgot(self):
        b, d = self.browser, self.browser.driver
        self.sign_in(AUDITOR)
        d.find_element(By.ID, "sign-out").click()
        b.wait(lambda _: b.state() == "signed-out")
        self.assertEqual(d.execute_script("return document.getElementById('view').innerHTML"), "")
        # The server cleared the cookie: the API refuses this browser now, and a reload stays signed out.
        status = d.execute_async_script(
            "const done = arguments[0]; fetch('/api/v1/whoami', {credentials: 'same-origin'}).then(r => done(r.status));")
        self.assertEqual(status, 401)
        b.open(self.demo.url + "#/coverage")
        self.assertEqual(b.state(), "signed-out")

        # Signed in again, then the cookie is gone (as after a restart or a keys reload, when the
        # server refuses the token): the next call's 401 takes the page back to the sign-in, emptied.
        b.sign_in(AUDITOR, self.demo.passwords[AUDITOR])
        b.go("coverage")
        d.delete_all_cookies()
        d.execute_script("location.hash = '#/rollups'")
        b.wait(lambda _: b.state() == "signed-out")
        self.assertTrue(d.find_element(By.ID, "sign-in").is_displayed())
        shell = d.execute_script("return ['view', 'nav', 'who'].map(id => document.getElementById(id).innerHTML).join('')")
        self.assertEqual(shell, "")
        self.assertNoBrowserErrors(allow=[EXPECTED_401])

    # ---- an admin's pages ------------------------------------------------------------------------

    def test_every_page_loads(self):
        b = self.browser
        self.sign_in(ADMIN)
        self.assertEqual(b.nav(), ADMIN_PAGES)
        charts = {"rollups": 3, "usage": 1, "activity": 1}
        for page in ADMIN_PAGES:
            b.go(page)
            d = b.driver
            self.assertTrue(d.find_element(By.CSS_SELECTOR, "#view h2").text, page)
            drawn = d.execute_script(
                "return [...document.querySelectorAll('canvas[data-chart]')].filter(c => Chart.getChart(c)).length")
            self.assertGreaterEqual(drawn, charts.get(page, 0), page)
            self.assertNoBrowserErrors()
        figures = b.figures()
        self.assertEqual(len(figures["checkpoint.head_hash"]), 64)
        self.assertEqual(figures["checkpoint.public_key"], self.demo.public_key())

    def busy_answers(self, route, reason, times):
        """From now on the page's first `times` calls to /api/v1/<route> are answered 503 `reason` with
        `Retry-After: 0`, as refahd answers when a class's query threads are all taken; the rest go
        to the server. Returns a script that reads how many calls the route had."""
        self.browser.driver.execute_script(
            "const [route, reason, times] = arguments; const real = window.refahFetch || (window.refahFetch = window.fetch);"
            "window.refahCalls = 0;"
            "window.fetch = (path, init) => {"
            "  if (!String(path).startsWith('/api/v1/' + route + '?') && String(path) !== '/api/v1/' + route) return real(path, init);"
            "  if (++window.refahCalls > times) return real(path, init);"
            "  return Promise.resolve(new Response(JSON.stringify({error: reason, code: 0, message: 'busy, made up by the test'}),"
            "    {status: 503, headers: {'Content-Type': 'application/json', 'Retry-After': '0'}}));"
            "};", route, reason, times)
        return "return window.refahCalls"

    def test_a_busy_answer_is_asked_again(self):
        # OVERLOADED (the query threads of the visitor's class busy) is asked again after the
        # answer's Retry-After, up to five times in all: the page loads as if nothing happened.
        # (Retry-After: 0 here, so the waits themselves are not timed.)
        b = self.browser
        self.sign_in(ADMIN)
        b.go("coverage")
        # Three made up, then the server's: two tries are left should the server be busy too.
        calls = self.busy_answers("totals", "OVERLOADED", 3)
        b.go("overview")
        self.assertGreaterEqual(b.driver.execute_script(calls), 4)
        self.assertTrue(b.figures()["totals.cards"])
        # Five busy answers in a row: the page says so, with the answer's message.
        b.go("coverage")
        calls = self.busy_answers("totals", "OVERLOADED", 5)
        b.driver.execute_script("location.hash = '#/overview'")
        b.wait(lambda d: d.execute_script("return document.getElementById('view').dataset.ready") == "error")
        self.assertEqual(b.driver.execute_script(calls), 5)
        self.assertIn("busy, made up by the test", b.driver.find_element(By.ID, "view").text)
        # Any other 503 (failed storage, a stopping refahd) is shown at once, never asked again.
        b.go("coverage")
        calls = self.busy_answers("totals", "STORAGE_FAILED", 1)
        b.driver.execute_script("location.hash = '#/overview'")
        b.wait(lambda d: d.execute_script("return document.getElementById('view').dataset.ready") == "error")
        self.assertEqual(b.driver.execute_script(calls), 1)
        self.assertNoBrowserErrors()

    def test_the_audit_page_shows_the_saved_checkpoint_and_writes_none(self):
        b = self.browser
        checkpoints = os.path.join(self.demo.data, "checkpoints")
        self.sign_in(ADMIN)
        b.go("audit")
        first = b.figures()
        saved = sorted(os.listdir(checkpoints))
        self.assertGreaterEqual(len(saved), 1)
        self.assertIn(str(number(first["checkpoint.head_seq"])) + ".checkpoint", saved)
        # The demo's venues keep posting: the head moves on, the saved checkpoint stays as it is
        # and viewing it again signs and writes nothing.
        b.wait(lambda _: self.demo.refahctl(ADMIN, "totals")["seq"] > number(first["head.seq"]))
        b.go("overview")
        b.go("audit")
        second = b.figures()
        self.assertGreater(number(second["head.seq"]), number(first["head.seq"]))
        for field in ("head_seq", "signed_at", "head_hash", "signature"):
            self.assertEqual(second["checkpoint." + field], first["checkpoint." + field], field)
        self.assertEqual(number(second["head.since"]), number(second["head.seq"]) - number(first["checkpoint.head_seq"]))
        self.assertEqual(sorted(os.listdir(checkpoints)), saved)
        self.assertNoBrowserErrors()

    def test_overview_equals_refahctl(self):
        b = self.browser
        self.sign_in(ADMIN)
        b.go("overview")
        f = b.figures()
        seq = number(f["totals.seq"])
        totals = self.demo.refahctl(ADMIN, "totals", "--as-of-seq", str(seq))
        for field in TOTALS:
            self.assertEqual(number(f["totals." + field]), totals[field], field)

        seq = number(f["budgets.seq"])
        envelopes = self.demo.refahctl(ADMIN, "budgets", "--as-of-seq", str(seq))["envelopes"]
        self.assertTrue(envelopes)
        for field in BUDGETS:
            self.assertEqual(number(f["budgets." + field]), sum(e[field] for e in envelopes), field)

        # Today, as the page dates it (Jalali, Persian digits), is refahctl's Jalali date too.
        jalali = "-".join("%02d" % number(part) for part in f["today.date"].split("/"))
        usage = self.demo.refahctl(ADMIN, "--calendar", "jalali", "usage", "--from", jalali, "--to", jalali,
                                   "--as-of-seq", str(number(f["today.seq"])))
        self.assertEqual(number(f["today.visits"]), usage["total"]["visits"])
        self.assertEqual(number(f["today.subsidy_rials"]), usage["total"]["subsidy_rials"])
        self.assertEqual(number(f["today.cancelled"]), usage["total"]["cancelled"])
        self.assertNoBrowserErrors()

    def test_coverage_rollups_and_groups_equal_refahctl(self):
        b = self.browser
        self.sign_in(ADMIN)
        b.go("coverage")
        seq = number(b.figures()["coverage.seq"])
        want = self.demo.refahctl(ADMIN, "coverage", "--as-of-seq", str(seq))
        shown = self.rows("tr[data-neighbourhood]", "neighbourhood", ["rank", "name", "active_cards", "reach", "visits"])
        self.assertEqual([int(r["key"]) for r in shown], [n["id"] for n in want["neighbourhoods"]])  # need order
        for row, n in zip(shown, want["neighbourhoods"]):
            self.assertEqual(row["name"], n["name"])
            self.assertEqual(number(row["rank"]), n["need_rank"])
            for col in ("active_cards", "reach", "visits"):
                self.assertEqual(number(row[col]), n[col], (n["id"], col))
        flagged = b.driver.execute_script("return [...document.querySelectorAll('tr[data-flagged=yes]')].map(tr => +tr.dataset.neighbourhood)")
        self.assertEqual(flagged, [n["id"] for n in want["neighbourhoods"] if set(n["need_flags"]) - {"high need"}])

        b.go("rollups")
        seq = number(b.figures()["coverage.seq"])
        want = self.demo.refahctl(ADMIN, "coverage", "--as-of-seq", str(seq))
        for attr, rows in (("county", want["counties"]), ("tier", want["tiers"])):
            shown = self.rows("tr[data-%s]" % attr, attr, ["active_cards", "reach", "visits"])
            shown = [r for r in shown if r["active_cards"] is not None]  # the rollup tables, not the groups'
            self.assertEqual([int(r["key"]) for r in shown], [r["key"] for r in rows], attr)
            for row, r in zip(shown, rows):
                for col in ("active_cards", "reach", "visits"):
                    self.assertEqual(number(row[col]), r[col], (attr, r["key"], col))
        groups = women_and_children(want["county_groups"])
        shown = self.rows("tr[data-county]", "county", ["active", "women", "children"])
        shown = [r for r in shown if r["women"] is not None]
        self.assertEqual([int(r["key"]) for r in shown], sorted(groups))
        for row in shown:
            g = groups[int(row["key"])]
            for col in ("active", "women", "children"):
                self.assertEqual(number(row[col]), g[col], (row["key"], col))
        self.assertNoBrowserErrors()

    # ---- a council -----------------------------------------------------------------------------

    def test_a_council_sees_only_its_area(self):
        b, d = self.browser, self.browser.driver
        everyone = self.demo.refahctl(ADMIN, "coverage")["neighbourhoods"]
        for client in (HOOD_COUNCIL, COUNTY_COUNCIL):
            area = self.demo.refahctl(client, "coverage")
            self.assertLess(len(area["neighbourhoods"]), len(everyone))
            b.open(self.demo.url)
            b.sign_in(client, self.demo.passwords[client])
            self.assertEqual(b.nav(), COUNCIL_PAGES, client)

            b.go("coverage")
            shown = self.rows("tr[data-neighbourhood]", "neighbourhood", ["name", "county"])
            self.assertEqual(sorted(int(r["key"]) for r in shown), sorted(n["id"] for n in area["neighbourhoods"]), client)
            cells = set(d.execute_script("return [...document.querySelectorAll('td')].map(td => td.textContent)"))
            mine = {n["name"] for n in area["neighbourhoods"]}
            self.assertTrue(mine <= cells, client)
            self.assertFalse({n["name"] for n in everyone} - mine & cells, client)

            b.go("rollups")
            counties = self.rows("tr[data-county]", "county", ["active_cards"])
            self.assertEqual(sorted({int(r["key"]) for r in counties}), sorted(c["key"] for c in area["counties"]), client)

            b.go("usage")
            venues = d.execute_script("return [...document.querySelectorAll('#usage-venue option')].map(o => +o.value)")
            self.assertEqual(venues, [v["id"] for v in self.demo.refahctl(client, "venues")["venues"]], client)

            b.go("overview")
            f = b.figures()
            self.assertIn("budgets.hidden", f)
            self.assertFalse([k for k in f if k.startswith("budgets.") and k != "budgets.hidden"], client)
            totals = self.demo.refahctl(client, "totals")
            for field in ("cards", "venues", "neighbourhoods"):  # the area's, which the demo's visits do not move
                self.assertEqual(number(f["totals." + field]), totals[field], (client, field))

            # A page the role may not see, asked by its address: the overview, and no call for it.
            d.execute_script("location.hash = '#/settlements'")
            b.wait_ready("overview")
            self.assertEqual(d.execute_script("return location.hash"), "#/overview")
            asked = d.execute_script(
                "return performance.getEntriesByType('resource').map(e => e.name)"
                ".filter(n => /\\/api\\/v1\\/(settlements|budgets|checkpoint|rule-sets|cards)/.test(n))")
            self.assertEqual(asked, [], client)
            self.assertNoBrowserErrors()
            d.find_element(By.ID, "sign-out").click()
            b.wait(lambda _: b.state() == "signed-out")

    # ---- live activity -------------------------------------------------------------------------

    def test_live_activity_moves_as_visits_are_posted(self):
        b, d = self.browser, self.browser.driver
        self.sign_in(ADMIN)
        b.go("activity")
        b.wait(lambda _: d.execute_script("return +(document.getElementById('view').dataset.samples || 0)") >= 2)
        first = b.figures()
        seq, visits = number(first["activity.seq"]), number(first["activity.visits"])
        # The stream's figures are the ledger's at their seq.
        self.assertEqual(self.demo.refahctl(ADMIN, "totals", "--as-of-seq", str(seq))["visits"], visits)

        def moved(_):
            f = b.figures()
            rate = f["activity.rate"]
            return (number(f["activity.seq"]) > seq and number(f["activity.visits"]) > visits
                    and any(ch not in "0۰.٫,٬ " for ch in rate) and f)

        try:
            later = b.wait(moved, timeout=30)
        except TimeoutException:
            self.fail("the live activity did not move in 30 s from seq %d, %d visits: %s" % (seq, visits, b.figures()))
        self.assertGreater(number(later["activity.visits"]), visits)
        points = d.execute_script(
            "return Chart.getChart(document.querySelector('canvas[data-chart=activity]')).data.datasets[0].data")
        self.assertGreaterEqual(len(points), 2)
        self.assertTrue(any(p > 0 for p in points), points)
        self.assertNoBrowserErrors()

    # ---- English -------------------------------------------------------------------------------

    def test_english_and_persian_show_the_same_figures(self):
        b, d = self.browser, self.browser.driver
        self.sign_in(ADMIN)
        self.assertEqual(d.execute_script("return [document.documentElement.lang, document.documentElement.dir]"), ["fa", "rtl"])
        b.go("audit")  # figures that do not move while the test reads them
        fa = b.figures()
        self.assertTrue(any("\u06f0" <= ch <= "\u06f9" for ch in fa["checkpoint.head_seq"]))  # Persian digits
        d.find_element(By.ID, "lang").click()
        b.wait(lambda _: d.execute_script("return document.documentElement.lang") == "en")
        self.assertEqual(d.execute_script("return document.documentElement.dir"), "ltr")
        en = b.figures()
        self.assertEqual(number(en["checkpoint.head_seq"]), number(fa["checkpoint.head_seq"]))
        self.assertEqual(en["checkpoint.head_hash"], fa["checkpoint.head_hash"])
        self.assertEqual(d.find_element(By.CSS_SELECTOR, "#nav a[data-page=overview]").text, "Overview")
        # Remembered: a reload stays in English.
        b.open(self.demo.url + "#/overview")
        b.wait_ready("overview")
        self.assertEqual(d.execute_script("return document.documentElement.lang"), "en")
        for page in ADMIN_PAGES:
            b.go(page)
        self.assertNoBrowserErrors()
        # No string fell back to its key in either language (i18n.js warns when one does).
        d.find_element(By.ID, "lang").click()
        for page in ADMIN_PAGES:
            b.go(page)
        self.assertEqual(b.warnings("refah: no "), [])


if __name__ == "__main__":
    unittest.main()

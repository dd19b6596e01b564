"""End to end through the Python client (refah_client.py), written from docs/PROTOCOL.md alone: a real
refahd on a loopback port, plaintext (docs/OPERATIONS.md: "a loopback test only"), in a temporary
data directory, with a keys file written here as an operator writes one.

Environment: REFAHD (the refahd executable), FLATC (flatc), REFAH_SOURCE_DIR (the repository, for
the schemas; default: two folders up from this file).
    REFAHD=build/server/refahd FLATC=flatc python3 -m unittest discover -s tests/python -v
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import refah_client as rc  # noqa: E402

SOURCE_DIR = os.environ.get("REFAH_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
REFAHD = os.environ.get("REFAHD", os.path.join(SOURCE_DIR, "build", "server", "refahd"))
FLATC = os.environ.get("FLATC", "flatc")

ADMIN, AUDITOR, VENUE_CLIENT = 1, 2, 100017
VENUE, OTHER_VENUE, HOOD, CARD = 17, 18, 7, 5001
SECONDS = 1_000_000  # microseconds

# The rule set (docs/PROTOCOL.md, "PublishRuleSet"): tier 1..5 shares and caps by VenueCategory.
SHARE_BP = [2000, 3500, 5000, 6500, 8000]
CAPS = [800_000, 1_200_000, 300_000, 300_000, 700_000, 400_000]
TIER = 5
INITIAL_CREDIT = 5_000_000


def now_us():
    return time.time_ns() // 1000


def new_id():
    return secrets.token_bytes(16)


def subsidy(price, category=0):
    """docs/PROTOCOL.md, RecordVisit: min(floor(price * share[tier-1] / 10000), cap[category])."""
    return min(price * SHARE_BP[TIER - 1] // 10_000, CAPS[category])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Refahd:
    """refahd --plaintext on a free loopback port, in a temporary directory, as OPERATIONS.md starts it."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.secrets = {c: secrets.token_bytes(32) for c in (ADMIN, AUDITOR, VENUE_CLIENT)}
        self.keys = os.path.join(tmp, "keys.toml")
        with open(self.keys, "w") as f:
            f.write('[[client]]\nid = %d\nname = "programme office"\nrole = "admin"\nsecret = "%s"\n\n'
                    % (ADMIN, self.secrets[ADMIN].hex()))
            f.write('[[client]]\nid = %d\nname = "auditor"\nrole = "auditor"\nsecret = "%s"\n\n'
                    % (AUDITOR, self.secrets[AUDITOR].hex()))
            f.write('[[client]]\nid = %d\nname = "Ahvaz Olympic pool"\nrole = "venue"\nvenue = %d\n'
                    'secret = "%s"\n' % (VENUE_CLIENT, VENUE, self.secrets[VENUE_CLIENT].hex().upper()))
        os.chmod(self.keys, 0o600)  # refahd refuses a keys file others may read
        self.log_path = os.path.join(tmp, "refahd.log")
        self.proc = None

    def start(self):
        for _ in range(3):  # a port taken between free_port() and the bind: try another
            self.port = free_port()
            self.log = open(self.log_path, "w")
            self.proc = subprocess.Popen(
                [REFAHD, "--plaintext", "--data", os.path.join(self.tmp, "data"), "--keys", self.keys,
                 "--listen", "127.0.0.1:%d" % self.port, "--admin-listen", "", "--status-every", "0"],
                stdout=self.log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if " serving 127.0.0.1:%d" % self.port in self.read_log():
                    return
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
            self.stop()
        raise RuntimeError("refahd did not start:\n" + self.read_log())

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        """SIGTERM (a clean stop, exit 0); kill after 15 s. Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        status, self.proc = self.proc.returncode, None
        return status

    def connect(self, client_id):
        conn = rc.Connection("127.0.0.1", self.port)
        try:
            conn.handshake(client_id, self.secrets[client_id])
        except BaseException:
            conn.close()
            raise
        return conn


class ClientTest(unittest.TestCase):
    """One server for the whole class; the tests run in name order and build on each other."""

    @classmethod
    def setUpClass(cls):
        cls.tmpdir = tempfile.TemporaryDirectory(prefix="refah-pyclient-")
        cls.gen = os.path.join(cls.tmpdir.name, "generated")
        rc.generate_code(FLATC, SOURCE_DIR, cls.gen)
        cls.server = Refahd(cls.tmpdir.name)
        try:
            cls.server.start()
            cls.admin = cls.server.connect(ADMIN)
            cls.venue = cls.server.connect(VENUE_CLIENT)
        except BaseException:
            cls.server.stop()
            cls.tmpdir.cleanup()
            raise
        cls.visits = []       # (seq, outcome, client_event_id, price) of accepted visits
        cls.balance = None    # the card's balance after the last outcome

    @classmethod
    def tearDownClass(cls):
        for conn in (cls.admin, cls.venue):
            conn.close()
        status = cls.server.stop()
        log = cls.server.read_log()
        cls.tmpdir.cleanup()
        if status != 0:
            raise AssertionError("refahd exited %s:\n%s" % (status, log))

    def ok(self, outcome):
        self.assertEqual(outcome.reason, 0, outcome)
        self.assertFalse(outcome.duplicate, outcome)
        self.assertGreater(outcome.seq, 0, outcome)

    def visit(self, price, txn):
        return (new_id(), "RecordVisit", {"card": CARD, "venue": VENUE, "venue_txn_id": txn,
                                          "list_price_rials": price, "occurred_at_us": now_us()})

    @staticmethod
    def rule_set(effective_from_us, version=1):
        return (new_id(), "PublishRuleSet", {"version": version, "effective_from_us": effective_from_us,
                                             "subsidy_share_bp": SHARE_BP, "visit_cap_rials": CAPS,
                                             "visits_per_card_per_day": 8,
                                             "visits_per_card_per_venue_per_day": 8,
                                             "cancel_window_us": 24 * 3600 * SECONDS,
                                             "visit_max_age_us": 24 * 3600 * SECONDS,
                                             "utc_offset_minutes": 210, "credit_valid_days": 365})

    def test_00_mac_worked_example(self):
        """docs/PROTOCOL.md, "Handshake", the worked example."""
        secret, nonce, binding = bytes(range(32)), bytes(range(0x20, 0x40)), bytes(range(0x40, 0x60))
        self.assertEqual(rc.auth_mac(secret, nonce, 100017, binding).hex(),
                         "ddf3566d9a31cb1c1e38d9e0fc2136875f6eb25505db8dd2462192154c2aac62")
        self.assertEqual(rc.auth_mac(secret, nonce, 100017).hex(),
                         "5a430d175905f87c360c6f09c4b8d2d4deedac1d250cda6af66a350673a8415e")

    def test_01_handshake(self):
        self.assertEqual(self.admin.authenticated["role"], 2)  # Admin
        self.assertEqual(self.admin.authenticated["venue"], 0)
        self.assertEqual(self.admin.authenticated["client_id"], ADMIN)
        self.assertEqual(self.venue.authenticated["role"], 1)  # Venue
        self.assertEqual(self.venue.authenticated["venue"], VENUE)
        with self.server.connect(AUDITOR) as auditor:
            self.assertEqual(auditor.authenticated["role"], 3)
        # A wrong MAC: AUTH_FAILED under the Authenticate's id, then the server closes.
        with rc.Connection("127.0.0.1", self.server.port) as conn:
            with self.assertRaises(rc.ServerError) as err:
                conn.handshake(ADMIN, secrets.token_bytes(32))
            self.assertEqual(err.exception.reason, rc.R["AUTH_FAILED"])
            self.assertNotEqual(err.exception.id, 0)
            with self.assertRaises((ConnectionError, OSError)):
                conn.read_frame()

    def test_02_programme_setup(self):
        """The admin defines a neighbourhood, two venues, a rule set that starts a second from now
        (the server accepts "now or later" by its own clock) and a card, in one Submit."""
        margin = 1 * SECONDS
        effective = now_us() + margin
        outcomes = self.admin.submit([
            (new_id(), "DefineNeighbourhood", {"id": HOOD, "county": 3, "name": "Qal'eh Chenan",
                                               "target_population": 12_000, "tier": TIER,
                                               "active_from_us": 0}),
            (new_id(), "RegisterVenue", {"id": VENUE, "name": "Ahvaz Olympic pool", "neighbourhood": HOOD,
                                         "category": 0, "daily_capacity": 500}),
            (new_id(), "RegisterVenue", {"id": OTHER_VENUE, "name": "کتاب‌خانه", "neighbourhood": HOOD,
                                         "category": 3, "daily_capacity": 100}),
            self.rule_set(effective),
            (new_id(), "IssueCard", {"card": CARD, "holder_ref": secrets.token_bytes(16),
                                     "neighbourhood": HOOD, "category": 0,
                                     "initial_credit_rials": INITIAL_CREDIT,
                                     "valid_until_us": now_us() + 365 * 86400 * SECONDS,
                                     "expires_on_day": 0, "source": 0}),
        ])
        self.assertEqual(len(outcomes), 5)
        # "now or later" is the ledger's now when it decides: on a loaded machine a second may not be
        # enough; a refusal leaves nothing behind, so publish again further ahead.
        while outcomes[3].reason == rc.R["INVALID_ARGUMENT"] and margin < 8 * SECONDS:
            self.assertEqual(outcomes[3].field, "effective_from_us")
            margin *= 2
            effective = now_us() + margin
            outcomes[3] = self.admin.submit([self.rule_set(effective)])[0]
        for o in outcomes:
            self.ok(o)
        self.assertEqual(outcomes[4].balance_after_rials, INITIAL_CREDIT)
        type(self).balance = INITIAL_CREDIT
        # A rule set that started in the past is refused, naming its field.
        [late] = self.admin.submit([self.rule_set(now_us() - 60 * SECONDS, version=2)])
        self.assertEqual((late.reason, late.field, late.seq),
                         (rc.R["INVALID_ARGUMENT"], "effective_from_us", 0))
        # Visits wait for the rule set to be in force.
        time.sleep(max(0, effective - now_us()) / SECONDS + 0.05)

    def test_03_visit_and_resend(self):
        command = self.visit(500_000, 9001)
        [first] = self.venue.submit([command])
        self.ok(first)
        self.assertEqual(first.subsidy_rials, subsidy(500_000))
        self.assertEqual(first.copay_rials, 500_000 - subsidy(500_000))
        self.assertEqual(first.balance_after_rials, self.balance - subsidy(500_000))
        type(self).balance = first.balance_after_rials
        self.visits.append((first.seq, first, command[0], 500_000))
        # The same command with the same id: the first answer again, marked duplicate.
        [again] = self.venue.submit([command])
        self.assertTrue(again.duplicate, again)
        self.assertEqual(again.key(), first.key())
        # The same id with another command: ID_CONFLICT.
        changed = (command[0], "RecordVisit", dict(command[2], venue_txn_id=9002))
        [conflict] = self.venue.submit([changed])
        self.assertEqual((conflict.reason, conflict.seq), (rc.R["ID_CONFLICT"], 0))

    def test_04_batch(self):
        """Several visits in one Submit, one outcome each in order; an invalid one names its field."""
        prices = [1_500_000, 333_333, -1, 0]
        commands = [self.visit(p, 9100 + i) for i, p in enumerate(prices)]
        # The first command again at the end: answered like a resend, within the same Submit.
        outcomes = self.venue.submit(commands + [commands[0]])
        self.assertEqual(len(outcomes), 5)
        self.assertEqual([o.field for o in outcomes], ["", "", "list_price_rials", "", ""])
        self.assertTrue(outcomes[4].duplicate, outcomes[4])
        self.assertEqual(outcomes[4].key(), outcomes[0].key())
        self.assertEqual(outcomes[2].reason, rc.R["INVALID_ARGUMENT"])
        self.assertEqual(outcomes[2].seq, 0)
        balance = self.balance
        for o, c, p in zip(outcomes, commands, prices):
            if p < 0:
                continue
            self.ok(o)
            balance -= subsidy(p)
            self.assertEqual((o.subsidy_rials, o.copay_rials, o.balance_after_rials),
                             (subsidy(p), p - subsidy(p), balance))
            self.visits.append((o.seq, o, c[0], p))
        self.assertLess(outcomes[0].seq, outcomes[1].seq)
        self.assertLess(outcomes[1].seq, outcomes[3].seq)
        type(self).balance = balance

    def test_05_refusals(self):
        """Refusals as outcomes (the rules) and as Error frames (the request as a whole)."""
        # A visit at another venue, and an admin's visit: NOT_YOUR_VENUE.
        [o] = self.venue.submit([(new_id(), "RecordVisit", {
            "card": CARD, "venue": OTHER_VENUE, "venue_txn_id": 1, "list_price_rials": 1000,
            "occurred_at_us": now_us()})])
        self.assertEqual(o.reason, rc.R["NOT_YOUR_VENUE"])
        [o] = self.admin.submit([self.visit(1000, 2)])
        self.assertEqual(o.reason, rc.R["NOT_YOUR_VENUE"])
        # An unknown card; a visit an hour ahead of the ledger's clock.
        [o] = self.venue.submit([(new_id(), "RecordVisit", {
            "card": 999_999, "venue": VENUE, "venue_txn_id": 3, "list_price_rials": 1000,
            "occurred_at_us": now_us()})])
        self.assertEqual(o.reason, rc.R["UNKNOWN_CARD"])
        [o] = self.venue.submit([(new_id(), "RecordVisit", dict(self.visit(1000, 4)[2],
                                                                occurred_at_us=now_us() + 3600 * SECONDS))])
        self.assertEqual(o.reason, rc.R["STALE_VISIT"])
        # A venue may not subscribe, nor read the totals: Error NOT_PERMITTED under the request's id.
        with self.assertRaises(rc.ServerError) as err:
            self.venue.request("GetTotals", {}, "Totals")
        self.assertEqual(err.exception.reason, rc.R["NOT_PERMITTED"])
        self.assertNotEqual(err.exception.id, 0)
        # An auditor's Submit is refused as a whole.
        with self.server.connect(AUDITOR) as auditor:
            with self.assertRaises(rc.ServerError) as err:
                auditor.submit([self.visit(1000, 5)])
            self.assertEqual(err.exception.reason, rc.R["NOT_PERMITTED"])
        # An empty Submit: INVALID_ARGUMENT as a whole. The connection stays open.
        with self.assertRaises(rc.ServerError) as err:
            self.venue.submit([])
        self.assertEqual(err.exception.reason, rc.R["INVALID_ARGUMENT"])
        self.assertTrue(self.venue.get_balance(CARD).Found())

    def test_06_cancel(self):
        seq, visit, _, price = self.visits[1]  # the 1,500,000 visit: subsidy capped
        self.assertEqual(visit.subsidy_rials, CAPS[0])
        [o] = self.venue.submit([(new_id(), "CancelVisit", {"visit_seq": seq, "reason": 1})])
        self.ok(o)
        self.assertEqual(o.subsidy_rials, visit.subsidy_rials)
        self.assertEqual(o.balance_after_rials, self.balance + visit.subsidy_rials)
        self.assertEqual((o.copay_rials, o.duplicate), (0, False))
        type(self).balance = o.balance_after_rials
        type(self).cancel = (o.seq, seq, visit.subsidy_rials)
        [again] = self.venue.submit([(new_id(), "CancelVisit", {"visit_seq": seq, "reason": 1})])
        self.assertEqual(again.reason, rc.R["ALREADY_CANCELLED"])
        [bad] = self.venue.submit([(new_id(), "CancelVisit", {"visit_seq": 1, "reason": 1})])
        self.assertEqual(bad.reason, rc.R["UNKNOWN_VISIT"])

    def test_07_balance(self):
        for conn in (self.venue, self.admin):
            b = conn.get_balance(CARD)
            self.assertTrue(b.Found())
            self.assertEqual(b.Card(), CARD)
            self.assertEqual(b.Status(), 0)  # Active
            self.assertEqual(b.Neighbourhood(), HOOD)
            self.assertEqual(b.BalanceRials(), self.balance)
            self.assertGreaterEqual(b.Seq(), self.cancel[0])
            # Figures PROTOCOL.md leaves to PROJECTIONS.md, read by their names alone.
            spent = sum(v[1].subsidy_rials for v in self.visits)
            self.assertEqual(b.CreditedRials(), INITIAL_CREDIT)
            self.assertEqual(b.SpentRials(), spent)
            self.assertEqual(b.RefundedRials(), self.cancel[2])
            self.assertEqual(b.Visits(), len(self.visits))
            self.assertEqual(b.VisitsCancelled(), 1)
            lots = [b.Lots(i) for i in range(b.LotsLength())]
            self.assertEqual(sum(lot.RemainingRials() for lot in lots), self.balance)
        self.assertFalse(self.venue.get_balance(424242).Found())

    def test_08_subscription(self):
        """Subscribe from seq 1: every event chains by hash; the visits and the cancel are there;
        then a visit posted meanwhile arrives live."""
        with self.server.connect(AUDITOR) as auditor:
            head = self.cancel[0]
            sub = auditor.subscribe(1)
            events = rc.verify_chain(auditor.read_events(sub, head))
            self.assertEqual(events[0].seq, 1)
            by_seq = {e.seq: e for e in events}
            for seq, outcome, client_event_id, price in self.visits:
                e = by_seq[seq]
                self.assertEqual(e.kind, "VisitRecorded")
                self.assertEqual((e.event.ActorId(), e.event.ActorRole()), (VENUE_CLIENT, 1))
                self.assertEqual(e.event.RulesetVersion(), 1)
                self.assertEqual(e.client_event_id(), client_event_id)
                p = e.payload
                self.assertEqual((p.Card(), p.Venue(), p.ListPriceRials()), (CARD, VENUE, price))
                self.assertEqual((p.SubsidyRials(), p.CopayRials(), p.BalanceAfterRials()),
                                 (outcome.subsidy_rials, outcome.copay_rials,
                                  outcome.balance_after_rials))
            cancel_seq, visit_seq, refund = self.cancel
            c = by_seq[cancel_seq]
            self.assertEqual(c.kind, "VisitCancelled")
            self.assertEqual((c.payload.VisitSeq(), c.payload.RefundRials(), c.payload.Card()),
                             (visit_seq, refund, CARD))
            kinds = [e.kind for e in events]
            for kind in ("NeighbourhoodDefined", "VenueRegistered", "RuleSetPublished", "CardIssued"):
                self.assertIn(kind, kinds)
            times = [e.event.RecordedAtUs() for e in events]
            self.assertEqual(times, sorted(times))
            # Live: a visit posted now comes in the next batch, chained to what came before.
            [o] = self.venue.submit([self.visit(100_000, 9200)])
            self.ok(o)
            more = auditor.read_events(sub, o.seq)
            tail = rc.verify_chain(more, prev=events[-1].hash)
            self.assertEqual(tail[0].seq, events[-1].seq + 1)
            self.assertEqual(tail[-1].kind, "VisitRecorded")
            self.assertEqual(tail[-1].payload.SubsidyRials(), o.subsidy_rials)
            # A changed byte breaks the chain.
            last = bytearray(events[-1].value)
            last[40] ^= 1
            with self.assertRaises(rc.ProtocolError):
                rc.verify_chain([(events[-1].seq, bytes(last))], prev=events[-2].hash)

if __name__ == "__main__":
    unittest.main()

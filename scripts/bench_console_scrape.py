#!/usr/bin/env python3
"""Venues' p99 with and without a scrape of the console's API, in one run (docs/BENCHMARKS.md,
"Console scrape under load").

Starts `refahd --demo --demo-bench` (TLS with the demo's certificate, no simulated venues), signs in
to the console as the demo's admin, then runs one long `refah-load tcp` (paced venue visits, each
visit's send time and latency written to a file) while the time is cut into windows of a few
seconds, in pairs: in one window of each pair (which one is drawn at random) a scraper reads every
read route of the API once a second over one kept-alive HTTPS connection and holds the live activity
stream open; in the other nothing scrapes. Each window's visits give its p99; the result is the
median over the pairs of (p99 scraped / p99 alone), so a slow moment of the machine or the disk (a
memtable flush) moves one pair, not the answer. Prints that, the pooled p99s, and one JSON line.

Usage: scripts/bench_console_scrape.py [--build build] [--pairs 30] [--window 2] [--rate 1500]
                                       [--cards 300000] [--scraper-idle] [--refahd PATH]
"""
import argparse
import bisect
import http.client
import json
import os
import random
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROUTES = ["/api/v1/totals", "/api/v1/coverage?by_need=true&groups=true", "/api/v1/venue-usage",
          "/api/v1/budgets", "/api/v1/venues", "/api/v1/neighbourhoods", "/api/v1/rule-sets",
          "/api/v1/settlements?venue=1", "/api/v1/cards/1000001/balance",
          "/api/v1/cards/1000001/statement?limit=50"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_refahd(build, data, cards, refahd=None):
    port, console = free_port(), free_port()
    log = open(os.path.join(data, "refahd.log"), "w")
    proc = subprocess.Popen([refahd or os.path.join(build, "server/refahd"), "--demo", "--demo-bench", "--demo-cards", str(cards),
                             "--demo-venues", "0", "--data", data, "--listen", "127.0.0.1:%d" % port,
                             "--admin-listen", "", "--console-listen", "127.0.0.1:%d" % console,
                             "--status-every", "0"], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 180
    while time.time() < deadline:
        with open(os.path.join(data, "refahd.log")) as f:
            if "serving" in f.read():
                return proc, port, console
        if proc.poll() is not None:
            sys.exit("refahd exited: see " + os.path.join(data, "refahd.log"))
        time.sleep(0.5)
    sys.exit("refahd did not start within 180 s")


def sign_in(console, tls, data):
    with open(os.path.join(data, "demo-console-passwords.txt")) as f:
        password = next(line.split()[2] for line in f if line.startswith("1 "))
    c = http.client.HTTPSConnection("127.0.0.1", console, context=tls)
    c.request("POST", "/api/v1/sign-in", json.dumps({"client": 1, "password": password}),
              {"Content-Type": "application/json"})
    return json.loads(c.getresponse().read())["token"]


class Scraper:
    """While a window is on: every route once a second on one kept-alive connection, and the live
    activity stream open. Off between windows."""

    def __init__(self, console, tls, token, idle):
        self.console, self.tls, self.token, self.idle = console, tls, token, idle
        self.stop = threading.Event()
        self.active = threading.Event()
        self.activity_sock = None
        self.requests = self.errors = self.events = 0
        self.slowest = {}  # route: its slowest answer, seconds

    def lower_priority(self):
        """The scraper's own CPU at idle priority, as if it ran on another machine (--scraper-idle)."""
        if self.idle:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # this thread only

    def wait_active(self):
        while not self.stop.is_set():
            if self.active.wait(0.05):
                return True
        return False

    def run_routes(self):
        self.lower_priority()
        c = http.client.HTTPSConnection("127.0.0.1", self.console, context=self.tls)
        while self.wait_active():
            started = time.monotonic()
            for route in ROUTES:
                t0 = time.monotonic()
                c.request("GET", route, headers={"Authorization": "Bearer " + self.token})
                r = c.getresponse()
                r.read()
                self.slowest[route] = max(self.slowest.get(route, 0.0), time.monotonic() - t0)
                self.requests += 1
                self.errors += r.status != 200
            while self.active.is_set() and time.monotonic() - started < 1.0:
                time.sleep(0.01)

    def run_activity(self):
        self.lower_priority()
        while self.wait_active():
            c = http.client.HTTPSConnection("127.0.0.1", self.console, context=self.tls, timeout=5)
            c.request("GET", "/api/v1/activity", headers={"Authorization": "Bearer " + self.token})
            sock = c.sock  # getresponse() lets go of it: the answer says Connection: close
            r = c.getresponse()
            sock.settimeout(None)
            self.activity_sock = sock
            try:
                while self.active.is_set():
                    line = r.fp.readline()  # an event a second; deactivate() ends the wait
                    if not line:
                        break
                    self.events += line.startswith(b"event: totals")
            except (OSError, ValueError):
                pass
            self.activity_sock = None
            c.close()

    def activate(self):
        self.active.set()

    def deactivate(self):
        self.active.clear()
        sock = self.activity_sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self):
        self.threads = [threading.Thread(target=self.run_routes), threading.Thread(target=self.run_activity)]
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.deactivate()
        self.stop.set()
        for t in self.threads:
            t.join()


def start_load(args, data, port, latencies):
    seconds = args.pairs * 2 * args.window + 2
    return subprocess.Popen([os.path.join(args.build, "tools/refah-load"), "tcp", "--connect", "127.0.0.1:%d" % port,
                             "--keys", os.path.join(data, "demo-keys.toml"), "--cards", str(args.cards),
                             "--tls-ca", os.path.join(data, "tls/refahd.crt"), "--connections", "64", "--batch", "1",
                             "--rate", str(args.rate), "--duration", str(seconds), "--warmup", "1",
                             "--latencies", latencies], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_windows(args, scraper, load):
    """Windows of args.window seconds, in pairs (one scraped, one not, in a random order), until
    the load ends. Returns [(start_ns, end_ns, scraped)]."""
    rng, windows = random.Random(args.seed), []
    while load.poll() is None:
        for scraped in ([True, False] if rng.random() < 0.5 else [False, True]):
            start = time.monotonic_ns()
            if scraped:
                scraper.activate()
            while load.poll() is None and time.monotonic_ns() - start < args.window * 1e9:
                time.sleep(0.005)
            scraper.deactivate()
            windows.append((start, time.monotonic_ns(), scraped))
    return windows


def p99(values):
    values = sorted(values)
    return values[min(len(values) - 1, int(0.99 * len(values)))] / 1e3


def window_p99s(windows, latencies, min_samples):
    """Each pair's (p99 scraped, p99 alone) in microseconds, for pairs whose two windows both
    have min_samples visits sent in them."""
    samples = [[] for _ in windows]
    starts = [w[0] for w in windows]
    for sent, latency in latencies:
        i = bisect.bisect_right(starts, sent) - 1
        if i >= 0 and sent < windows[i][1]:
            samples[i].append(latency)
    pairs = []
    for k in range(0, len(windows) - 1, 2):
        a, b = k, k + 1
        if len(samples[a]) < min_samples or len(samples[b]) < min_samples:
            continue
        on, off = (a, b) if windows[a][2] else (b, a)
        pairs.append((p99(samples[on]), p99(samples[off])))
    return pairs, samples


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default="build")
    p.add_argument("--refahd", help="the refahd to measure (default: BUILD/server/refahd), e.g. an earlier commit's")
    p.add_argument("--pairs", type=int, default=30, help="pairs of windows (one scraped, one not)")
    p.add_argument("--window", type=float, default=2.0, help="seconds a window lasts")
    p.add_argument("--rate", type=int, default=1500, help="venue visits/s over 64 connections, paced")
    p.add_argument("--cards", type=int, default=300000)
    p.add_argument("--seed", type=int, default=1, help="the windows' order")
    p.add_argument("--scraper-idle", action="store_true",
                   help="run the scraper's threads at idle CPU priority (SCHED_IDLE), as if on another machine")
    args = p.parse_args()
    data = tempfile.mkdtemp(prefix="refah-scrape-")
    proc, port, console = start_refahd(args.build, data, args.cards, args.refahd)
    try:
        tls = ssl.create_default_context(cafile=os.path.join(data, "tls/refahd.crt"))
        token = sign_in(console, tls, data)
        latencies_file = os.path.join(data, "latencies.txt")
        with Scraper(console, tls, token, args.scraper_idle) as scraper:
            load = start_load(args, data, port, latencies_file)
            windows = run_windows(args, scraper, load)
        out, err = load.communicate()
        if load.returncode != 0:
            sys.exit("refah-load tcp failed (%d): %s" % (load.returncode, err[-2000:]))
        with open(latencies_file) as f:
            latencies = [tuple(map(int, line.split())) for line in f]
        pairs, samples = window_p99s(windows, latencies, int(args.rate * args.window * 0.8))
        if not pairs:
            sys.exit("no complete pair of windows")
        ratios = [on / off for on, off in pairs]
        scraped = [l for w, s in zip(windows, samples) if w[2] for l in s]
        alone = [l for w, s in zip(windows, samples) if not w[2] for l in s]
        median_on = statistics.median(on for on, _ in pairs)
        median_off = statistics.median(off for _, off in pairs)
        print("%d pairs of %.0f s windows at %d visits/s: window p99 median %.0f us scraped, %.0f us alone; "
              "median of the pairs' ratios %.3f; all visits' p99 %.0f us scraped, %.0f us alone (x%.2f)"
              % (len(pairs), args.window, args.rate, median_on, median_off, statistics.median(ratios),
                 p99(scraped), p99(alone), p99(scraped) / p99(alone)), file=sys.stderr)
        print("scrape: %d requests, %d not 200, %d activity events; slowest answer per route (ms): %s"
              % (scraper.requests, scraper.errors, scraper.events,
                 ", ".join("%s %.1f" % (k, v * 1000) for k, v in scraper.slowest.items())), file=sys.stderr)
        print(json.dumps({"scenario": "console_scrape", "pairs": len(pairs), "window_s": args.window,
                          "rate": args.rate, "cards": args.cards, "scraper_idle": args.scraper_idle,
                          "window_p99_median_scraped_us": round(median_on), "window_p99_median_alone_us": round(median_off),
                          "ratio_median": round(statistics.median(ratios), 3),
                          "p99_scraped_us": round(p99(scraped)), "p99_alone_us": round(p99(alone)),
                          "scrape_requests": scraper.requests, "scrape_errors": scraper.errors}))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()

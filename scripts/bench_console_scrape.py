#!/usr/bin/env python3
"""Venues' p99 with and without a scrape of the console's API, in one run (docs/BENCHMARKS.md,
"Console scrape under load").

Starts `refahd --demo --demo-bench` (TLS with the demo's certificate, no simulated venues), signs in
to the console as the demo's admin, then runs rounds of `refah-load tcp` (paced venue visits) twice
each, once alone and once while a scraper reads every read route of the API once a second over one
kept-alive HTTPS connection and holds the live activity stream open. The order alternates between
rounds. Prints each round's p99 and the median of the per-round ratios (with / without), then one
JSON line.

Usage: scripts/bench_console_scrape.py [--build build] [--rounds 6] [--rate 4000] [--duration 6]
"""
import argparse
import http.client
import json
import os
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


def start_refahd(build, data, cards):
    port, console = free_port(), free_port()
    log = open(os.path.join(data, "refahd.log"), "w")
    proc = subprocess.Popen([os.path.join(build, "server/refahd"), "--demo", "--demo-bench", "--demo-cards", str(cards),
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
    """Every route once a second on one kept-alive connection, and the activity stream held open."""

    def __init__(self, console, tls, token):
        self.console, self.tls, self.token = console, tls, token
        self.stop = threading.Event()
        self.requests = self.errors = self.events = 0
        self.slowest = {}  # route: its slowest answer, seconds

    def run_routes(self):
        c = http.client.HTTPSConnection("127.0.0.1", self.console, context=self.tls)
        while not self.stop.is_set():
            started = time.time()
            for route in ROUTES:
                t0 = time.time()
                c.request("GET", route, headers={"Authorization": "Bearer " + self.token})
                r = c.getresponse()
                r.read()
                self.slowest[route] = max(self.slowest.get(route, 0.0), time.time() - t0)
                self.requests += 1
                self.errors += r.status != 200
            self.stop.wait(max(0.0, 1.0 - (time.time() - started)))

    def run_activity(self):
        c = http.client.HTTPSConnection("127.0.0.1", self.console, context=self.tls, timeout=5)
        c.request("GET", "/api/v1/activity", headers={"Authorization": "Bearer " + self.token})
        r = c.getresponse()
        while not self.stop.is_set():
            line = r.fp.readline()
            if not line:
                break
            self.events += line.startswith(b"event: totals")
        c.close()

    def __enter__(self):
        self.threads = [threading.Thread(target=self.run_routes), threading.Thread(target=self.run_activity)]
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


def venue_p99(args, data, port):
    out = subprocess.run([os.path.join(args.build, "tools/refah-load"), "tcp", "--connect", "127.0.0.1:%d" % port,
                          "--keys", os.path.join(data, "demo-keys.toml"), "--cards", str(args.cards),
                          "--tls-ca", os.path.join(data, "tls/refahd.crt"), "--connections", "64", "--batch", "1",
                          "--rate", str(args.rate), "--duration", str(args.duration), "--warmup", "1"],
                         capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout.strip():
        sys.exit("refah-load tcp failed (%d): %s" % (out.returncode, out.stderr[-2000:]))
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default="build")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--rate", type=int, default=4000, help="venue visits/s over 64 connections, paced")
    p.add_argument("--duration", type=float, default=6)
    p.add_argument("--cards", type=int, default=100000)
    args = p.parse_args()
    data = tempfile.mkdtemp(prefix="refah-scrape-")
    proc, port, console = start_refahd(args.build, data, args.cards)
    try:
        tls = ssl.create_default_context(cafile=os.path.join(data, "tls/refahd.crt"))
        token = sign_in(console, tls, data)
        ratios, rows = [], []
        for i in range(args.rounds):
            results = {}
            for phase in (["alone", "scraped"] if i % 2 == 0 else ["scraped", "alone"]):
                if phase == "alone":
                    results[phase] = venue_p99(args, data, port)
                else:
                    with Scraper(console, tls, token) as s:
                        results[phase] = venue_p99(args, data, port)
                    results["scrape"] = (s.requests, s.errors, s.events)
                    results["slowest"] = s.slowest
            ratio = results["scraped"]["p99_us"] / results["alone"]["p99_us"]
            ratios.append(ratio)
            rows.append(results)
            print("round %d: p99 alone %.0f us, scraped %.0f us (x%.2f); visits/s %.0f / %.0f; scrape: %d requests, "
                  "%d not 200, %d activity events" % (i + 1, results["alone"]["p99_us"], results["scraped"]["p99_us"],
                                                      ratio, results["alone"]["events_per_s"],
                                                      results["scraped"]["events_per_s"], *results["scrape"]),
                  file=sys.stderr)
        slowest = {}
        for r in rows:
            for route, t in r["slowest"].items():
                slowest[route] = max(slowest.get(route, 0.0), t)
        print("slowest answer per route (ms): " + ", ".join("%s %.1f" % (k, v * 1000) for k, v in slowest.items()),
              file=sys.stderr)
        median = statistics.median(ratios)
        print("median of the per-round ratios (p99 scraped / alone): %.3f" % median, file=sys.stderr)
        print(json.dumps({"scenario": "console_scrape", "rounds": args.rounds, "rate": args.rate,
                          "p99_alone_us": [r["alone"]["p99_us"] for r in rows],
                          "p99_scraped_us": [r["scraped"]["p99_us"] for r in rows],
                          "ratio_median": round(median, 3)}))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()

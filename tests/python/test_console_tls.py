"""The console over TLS (docs/HTTP.md, "Address and TLS"), from outside with Python's ssl and
http.client: refahd --demo serves HTTPS with its own certificate on the console's address, a client
that trusts that certificate signs in and reads, one that does not is refused at the handshake,
plain HTTP gets no answer, and the session cookie is Secure.

Environment: REFAHD (the refahd executable), as for test_client.py.
"""
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("REFAH_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
REFAHD = os.environ.get("REFAHD", os.path.join(SOURCE_DIR, "build", "server", "refahd"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ConsoleOverTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="refah-console-tls-")
        cls.data = os.path.join(cls.tmp.name, "demo")
        cls.console = free_port()
        cls.log = open(os.path.join(cls.tmp.name, "refahd.log"), "w+")
        cls.proc = subprocess.Popen(
            [REFAHD, "--demo", "--demo-cards", "50", "--demo-venues", "0", "--data", cls.data,
             "--listen", "127.0.0.1:%d" % free_port(), "--admin-listen", "",
             "--console-listen", "127.0.0.1:%d" % cls.console, "--status-every", "0"],
            stdout=cls.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            cls.log.seek(0)
            text = cls.log.read()
            if "console: https://127.0.0.1:%d/" % cls.console in text and " serving " in text:
                break
            if cls.proc.poll() is not None:
                raise RuntimeError("refahd exited:\n" + text)
            time.sleep(0.1)
        else:
            raise RuntimeError("refahd did not start")
        cls.trusting = ssl.create_default_context(cafile=os.path.join(cls.data, "tls", "refahd.crt"))
        with open(os.path.join(cls.data, "demo-console-passwords.txt")) as f:
            cls.passwords = {int(line.split()[0]): line.split()[2] for line in f if not line.startswith("#")}

    @classmethod
    def tearDownClass(cls):
        cls.proc.send_signal(signal.SIGTERM)
        cls.proc.wait(30)
        cls.log.close()
        cls.tmp.cleanup()

    def https(self, context=None):
        return http.client.HTTPSConnection("127.0.0.1", self.console, context=context or self.trusting, timeout=10)

    def sign_in(self, body):
        c = self.https()
        c.request("POST", "/api/v1/sign-in", json.dumps(body), {"Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        c.close()
        return r, body

    def test_a_trusting_client_signs_in_and_reads_over_tls(self):
        r, body = self.sign_in({"client": 2, "password": self.passwords[2]})
        self.assertEqual(r.status, 200, body)
        token = json.loads(body)["token"]
        c = self.https()
        c.request("GET", "/api/v1/totals", headers={"Authorization": "Bearer " + token})
        r = c.getresponse()
        totals = json.loads(r.read())
        self.assertEqual(r.status, 200)
        self.assertEqual(totals["cards"], 50)
        self.assertGreater(totals["seq"], 0)
        self.assertEqual(c.sock.version(), "TLSv1.3")
        c.close()

    def test_the_session_cookie_is_secure_over_tls(self):
        r, body = self.sign_in({"client": 1, "password": self.passwords[1], "session": "cookie"})
        self.assertEqual(r.status, 200, body)
        cookie = r.getheader("Set-Cookie")
        for attribute in ("HttpOnly", "SameSite=Strict", "Secure"):
            self.assertIn(attribute, cookie)
        self.assertNotIn("token", json.loads(body))

    def test_a_client_that_does_not_trust_the_certificate_is_refused(self):
        c = self.https(ssl.create_default_context())  # the system's authorities only
        with self.assertRaises(ssl.SSLCertVerificationError):
            c.request("GET", "/api/v1/whoami")
        c.close()

    def test_plain_http_gets_no_answer(self):
        c = http.client.HTTPConnection("127.0.0.1", self.console, timeout=10)
        with self.assertRaises((http.client.HTTPException, ConnectionError, OSError)):
            c.request("GET", "/api/v1/whoami")
            c.getresponse().read()
        c.close()


if __name__ == "__main__":
    unittest.main()

"""Drives gale pycached's /admin page in headless Chromium, for
pycached_admin.bats.

    pycached_admin.py HTTP_PORT JSON_PORT WORKDIR

Starts /usr/bin/chromedriver on a free loopback port and speaks the W3C
WebDriver protocol to it over plain HTTP (standard library only), opens
http://127.0.0.1:HTTP_PORT/admin, and through the page's forms sets a
key, reads it back, and deletes another; after each step it waits
(bounded) for the table to show the change and checks the store itself
over the JSON protocol on JSON_PORT.  Values hold markup, which must
show as text.  Prints "ok" and exits 0, or names the failure and exits 1.
Whatever it started is stopped by pid and process group before it exits.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"   # the W3C element reference key
WAIT = 10.0                                         # seconds for the page to catch up


class Failure(Exception):
    pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class WebDriver:
    """The few WebDriver commands the test needs, over one HTTP connection each."""

    def __init__(self, port):
        self.port, self.session = port, None

    def call(self, method, path, body=None, timeout=60):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = None if body is None else json.dumps(body).encode()
            headers = {"Content-Type": "application/json"} if data else {}
            c.request(method, path, body=data, headers=headers)
            r = c.getresponse()
            answer = json.loads(r.read() or b"{}")
        finally:
            c.close()
        if r.status != 200:
            raise Failure("webdriver %s %s: %s %s" % (method, path, r.status,
                                                      json.dumps(answer)[:400]))
        return answer.get("value")

    def wait_ready(self, proc):
        end = time.monotonic() + WAIT
        while time.monotonic() < end:
            if proc.poll() is not None:
                raise Failure("chromedriver exited with status %s" % proc.returncode)
            try:
                if self.call("GET", "/status", timeout=2).get("ready"):
                    return
            except (OSError, Failure, ValueError):
                pass
            time.sleep(0.1)
        raise Failure("chromedriver not ready after %.0f s" % WAIT)

    def start(self, profile):
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--user-data-dir=" + profile, "--no-first-run", "--no-default-browser-check"]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}}}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def quit(self):
        if self.session:
            session, self.session = self.session, None
            self.call("DELETE", "/session/" + session, timeout=20)

    def s(self, path):
        return "/session/%s%s" % (self.session, path)

    def go(self, url):
        self.call("POST", self.s("/url"), {"url": url})

    def find(self, css):
        return self.call("POST", self.s("/element"), {"using": "css selector", "value": css})[ELEMENT]

    def type_into(self, css, text):
        eid = self.find(css)
        self.call("POST", self.s("/element/%s/clear" % eid), {})
        self.call("POST", self.s("/element/%s/value" % eid), {"text": text})

    def click(self, css):
        self.call("POST", self.s("/element/%s/click" % self.find(css)), {})

    def script(self, code):
        return self.call("POST", self.s("/execute/sync"), {"script": code, "args": []})


# The table as the page shows it, and whether any markup got into it.
TABLE = """
const rows = Array.from(document.querySelectorAll('#items tbody tr'));
return {
  rows: rows.map(tr => Array.from(tr.cells).slice(0, 4).map(td => td.textContent)),
  markup: document.querySelectorAll('#items tbody b, #items tbody i, #got *').length,
  got: document.getElementById('got').textContent,
  message: document.getElementById('message').textContent,
};"""


def wait_for(driver, what, ok):
    """Polls the page until ok(state) holds, at most WAIT seconds."""
    end = time.monotonic() + WAIT
    state = None
    while time.monotonic() < end:
        state = driver.script(TABLE)
        if ok(state):
            return state
        time.sleep(0.1)
    raise Failure("the page never showed %s; it shows %s" % (what, json.dumps(state)[:600]))


def row_of(state, key):
    return next((r for r in state["rows"] if r[0] == key), None)


def json_command(port, request):
    """One request over pycached's JSON protocol; the decoded reply."""
    with socket.create_connection(("127.0.0.1", port), 5) as s:
        s.settimeout(5)
        s.sendall(json.dumps(request).encode())
        buf = b""
        while not buf.endswith(b"\n") and len(buf) < 1 << 20:
            data = s.recv(65536)
            if not data:
                break
            buf += data
    return json.loads(buf)


def check_set(driver, jport):
    key, value = "from-the-page", 'he said "hi" & <i>left</i>'
    driver.type_into("#set-key", key)
    driver.type_into("#set-value", value)
    driver.click("#set-submit")
    state = wait_for(driver, "the new row", lambda s: (row_of(s, key) or [None, None])[1] == value)
    row = row_of(state, key)
    if row[3] != "0" or not row[2]:
        raise Failure("the row should show a time and 0 reads: %r" % row)
    if state["markup"]:
        raise Failure("markup from a value became elements in the page")
    reply = json_command(jport, {"command": "get", "key": key})
    if reply != {"status": "ok", "value": value}:
        raise Failure("the store holds %r" % reply)
    return key, value


def check_get(driver, key, value):
    driver.type_into("#get-key", key)
    driver.click("#get-submit")
    state = wait_for(driver, "the value read", lambda s: s["got"] == value)
    # Two reads: check_set's over the JSON protocol, and this one.
    wait_for(driver, "the read counted", lambda s: (row_of(s, key) or [0, 0, 0, 0])[3] == "2")
    if state["markup"]:
        raise Failure("markup from a value became elements in the page")


def check_delete(driver, jport):
    driver.type_into("#delete-key", "before")
    driver.click("#delete-submit")
    wait_for(driver, "the row gone", lambda s: s["rows"] and row_of(s, "before") is None)
    reply = json_command(jport, {"command": "get", "key": "before"})
    if reply.get("status") == "ok":
        raise Failure("the deleted key is still in the store: %r" % reply)


def run(driver, hport, jport):
    # An item from before the page opened, with markup in it.
    json_command(jport, {"command": "set", "key": "before", "value": "<b>bold</b>"})
    driver.go("http://127.0.0.1:%d/admin" % hport)
    state = wait_for(driver, "the first item", lambda s: row_of(s, "before") is not None)
    if row_of(state, "before")[1] != "<b>bold</b>" or state["markup"]:
        raise Failure("the stored markup is not shown as text: %r" % state)
    key, value = check_set(driver, jport)
    check_get(driver, key, value)
    check_delete(driver, jport)


def processes_using(marker):
    """Pids of processes whose command line holds marker (our profile dir)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def stop(proc, profile):
    """chromedriver by pid, then its process group, then anything still
    running with our profile (by pid).  Returns the pids that outlived
    all of that for 5 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    try:
        os.killpg(proc.pid, signal.SIGKILL)     # its own group: start_new_session
    except ProcessLookupError:
        pass
    end = time.monotonic() + 5
    left = processes_using(profile)
    while left and time.monotonic() < end:
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
        left = processes_using(profile)
    return left


def main():
    hport, jport, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    profile = os.path.join(work, "chromium-profile")
    os.makedirs(profile, exist_ok=True)
    env = dict(os.environ, HOME=work, XDG_CONFIG_HOME=work, XDG_CACHE_HOME=work)
    port = free_port()
    log = open(os.path.join(work, "chromedriver.log"), "wb")
    proc = subprocess.Popen([CHROMEDRIVER, "--port=%d" % port], stdout=log,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    driver = WebDriver(port)
    failure = None
    try:
        driver.wait_ready(proc)
        driver.start(profile)
        run(driver, hport, jport)
    except (Failure, OSError, ValueError, KeyError, TypeError) as e:
        failure = "%s: %s" % (type(e).__name__, e)
    finally:
        try:
            driver.quit()
        except (Failure, OSError, ValueError) as e:
            failure = failure or "deleting the session: %s" % e
        left = stop(proc, profile)
        log.close()
    if left and not failure:
        failure = "chromium processes survive SIGKILL: %s" % left
    if failure:
        print(failure, file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Clients for pycached_memcached.bats and pycached_nutcracker.bats.

  mc.py x PORT SEND WANT      sends SEND on a new connection; the reply
                              must be exactly WANT and nothing more.
                              Escapes in both: \\r \\n \\t \\\\ \\xNN, and in
                              WANT \\* for any text up to the line's end.
  mc.py SCENARIO MCPORT [JSONPORT]
                              one of the scenarios below, by name.
  mc.py shutdown MCPORT JSONPORT GALEPID
                              stops gale with SIGTERM mid-conversation.
  mc.py nutcracker PROXYPORT PORT_A PORT_B
                              100 keys through nutcracker in front of two
                              instances.

Every read has a deadline.  Exits 1 with what was wrong on stderr.
"""
import json, os, re, signal, socket, sys, time

DEADLINE = 5.0
QUIET = 0.3          # how long "nothing more" is waited for

checks = []


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def check(cond, what):
    checks.append(what)
    if not cond:
        fail("failed: " + what)


def unescape(s, wildcard=False):
    """The escapes above; returns bytes, or a compiled pattern for WANT."""
    out, parts, i = bytearray(), [], 0
    simple = {"r": b"\r", "n": b"\n", "t": b"\t", "\\": b"\\"}
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            e = s[i + 1]
            if e in simple:
                out += simple[e]
                i += 2
                continue
            if e == "x" and i + 3 < len(s):
                out.append(int(s[i + 2:i + 4], 16))
                i += 4
                continue
            if e == "*" and wildcard:
                parts.append(bytes(out))
                out = bytearray()
                i += 2
                continue
        out += c.encode("latin1")
        i += 1
    if not wildcard:
        return bytes(out)
    parts.append(bytes(out))
    return re.compile(b"[^\r\n]*".join(re.escape(p) for p in parts), re.S)


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", int(port)), timeout=DEADLINE)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def fill(self, until):
        """Reads until until(buf) is true or the deadline passes."""
        end = time.monotonic() + DEADLINE
        while not until(self.buf):
            left = end - time.monotonic()
            if left <= 0:
                return False
            self.s.settimeout(left)
            try:
                d = self.s.recv(1 << 20)
            except socket.timeout:
                return False
            if not d:
                return False
            self.buf += d
        return True

    def take(self, n):
        if not self.fill(lambda b: len(b) >= n):
            fail("wanted %d bytes, got %r" % (n, self.buf[:300]))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def line(self):
        if not self.fill(lambda b: b"\r\n" in b):
            fail("no whole line, got %r" % self.buf[:300])
        out, self.buf = self.buf.split(b"\r\n", 1)
        return out

    def expect(self, want):
        got = self.take(len(want))
        if got != want:
            fail("wanted %r\n   got %r" % (want, got))

    def quiet(self):
        """Nothing more arrives for a moment (and the peer did not close)."""
        self.s.settimeout(QUIET)
        try:
            d = self.s.recv(65536)
        except socket.timeout:
            return
        fail("unexpected %r" % (self.buf + d)[:300] if d else "the server closed")

    def closed(self):
        """The server closes within the deadline (what it sent is dropped)."""
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            self.s.settimeout(end - time.monotonic())
            try:
                d = self.s.recv(1 << 20)
            except socket.timeout:
                break
            except ConnectionResetError:
                return True
            if not d:
                return True
            self.buf += d
        return False

    def ask(self, data, want):
        self.send(data)
        self.expect(want)

    def value(self, key):
        """get KEY: the value's bytes, or None."""
        self.send(b"get " + key + b"\r\n")
        head = self.line()
        if head == b"END":
            return None
        m = re.fullmatch(rb"VALUE (\S+) (\d+) (\d+)", head)
        if not m or m.group(1) != key:
            fail("bad VALUE line %r" % head)
        v = self.take(int(m.group(3)) + 2)[:-2]
        self.expect(b"END\r\n")
        return v

    def stats(self, group=b""):
        self.send(b"stats" + (b" " + group if group else b"") + b"\r\n")
        out = {}
        while True:
            l = self.line()
            if l == b"END":
                return out
            parts = l.split(b" ", 2)
            if len(parts) != 3 or parts[0] != b"STAT":
                fail("bad stats line %r" % l)
            out[parts[1].decode()] = parts[2].decode()


def x(port, send, want):
    c = Conn(port)
    c.send(unescape(send))
    pat = unescape(want, wildcard=True)
    if not c.fill(lambda b: pat.fullmatch(b) is not None):
        fail("wanted %s\n   got %r" % (want, c.buf[:400]))
    c.quiet()


# ---- scenarios ----------------------------------------------------------

def quit_(port, *_):
    c = Conn(port)
    c.send(b"get k\r\nquit\r\nget k\r\n")
    c.expect(b"END\r\n")
    check(c.closed() and c.buf == b"", "quit closes before the next command")


def gets_many(port, *_):
    c = Conn(port)
    c.ask(b"set a 0 0 1\r\nx\r\nset b 4 0 2\r\nyy\r\n", b"STORED\r\nSTORED\r\n")
    c.send(b"gets a b zz\r\n")
    la, va = c.line(), c.take(3)
    lb, vb = c.line(), c.take(4)
    c.expect(b"END\r\n")
    ma = re.fullmatch(rb"VALUE a 0 1 (\d+)", la)
    mb = re.fullmatch(rb"VALUE b 4 2 (\d+)", lb)
    check(ma and mb and va == b"x\r\n" and vb == b"yy\r\n", "gets: VALUE key flags bytes cas")
    check(ma.group(1) != mb.group(1), "each item its own cas")
    c.send(b"gets a\r\n")
    check(c.line() == la, "the same cas while unchanged")
    c.take(3 + 5)
    c.ask(b"set a 0 0 1\r\nz\r\n", b"STORED\r\n")
    c.send(b"gets a\r\n")
    check(c.line() != la, "a new cas after a set")
    c.take(3 + 5)
    c.quiet()


def cas_of(c, key):
    c.send(b"gets " + key + b"\r\n")
    m = re.fullmatch(rb"VALUE \S+ \d+ (\d+) (\d+)", c.line())
    if not m:
        fail("no gets reply for %r" % key)
    c.take(int(m.group(1)) + 2)
    c.expect(b"END\r\n")
    return int(m.group(2))


def cas(port, *_):
    c = Conn(port)
    before = c.stats()
    c.ask(b"set k 0 0 1\r\nx\r\n", b"STORED\r\n")
    n = cas_of(c, b"k")
    c.ask(b"cas k 0 0 1 %d\r\ny\r\n" % (n + 1), b"EXISTS\r\n")
    c.ask(b"cas k 0 0 1 %d\r\ny\r\n" % n, b"STORED\r\n")
    c.ask(b"cas k 0 0 1 %d\r\nz\r\n" % n, b"EXISTS\r\n")
    c.ask(b"cas zz 0 0 1 %d\r\nz\r\n" % n, b"NOT_FOUND\r\n")
    m = cas_of(c, b"k")
    check(m != n, "the cas changed with the value")
    c.send(b"cas k 0 0 1 %d noreply\r\nw\r\n" % m)
    check(c.value(b"k") == b"w", "cas noreply stored silently")
    after = c.stats()
    d = lambda f: int(after[f]) - int(before[f])
    check(d("cas_hits") == 2 and d("cas_badval") == 2 and d("cas_misses") == 1,
          "cas_hits, cas_badval, cas_misses counted")
    c.quiet()


def gats(port, *_):
    c = Conn(port)
    c.ask(b"set k 2 0 1\r\nx\r\n", b"STORED\r\n")
    n = cas_of(c, b"k")
    before = c.stats()
    c.ask(b"gats 100 k zz\r\n", b"VALUE k 2 1 %d\r\nx\r\nEND\r\n" % n)
    after = c.stats()
    d = lambda f: int(after[f]) - int(before[f])
    check(d("cmd_touch") == 2 and d("touch_hits") == 1 and d("touch_misses") == 1 and
          d("cmd_get") == 0, "gat counts as touches, not gets")
    c.quiet()


def long_keys(port, *_):
    c = Conn(port)
    k250, k251 = b"k" * 250, b"q" * 251
    c.ask(b"set " + k250 + b" 0 0 1\r\nx\r\n", b"STORED\r\n")
    check(c.value(k250) == b"x", "a 250-byte key")
    c.ask(b"set " + k251 + b" 0 0 1\r\nx\r\n",
          b"CLIENT_ERROR bad command line format\r\nERROR\r\n")
    c.ask(b"get " + k250 + b" " + k251 + b"\r\n", b"CLIENT_ERROR bad command line format\r\n")
    c.ask(b"delete " + k251 + b"\r\nincr " + k251 + b" 1\r\ntouch " + k251 + b" 1\r\n",
          b"CLIENT_ERROR bad command line format\r\n" * 3)
    c.quiet()


def pipeline(port, *_):
    n = 300
    c = Conn(port)
    sets = b"".join(b"set k%d %d 0 %d\r\n%d\r\n" % (i, i, len(b"%d" % i), i) for i in range(n))
    gets = b"".join(b"get k%d\r\n" % i for i in range(n))
    c.send(sets + gets + b"incr k7 3\r\nget k7 k8\r\n")
    c.expect(b"STORED\r\n" * n)
    for i in range(n):
        v = b"%d" % i
        c.expect(b"VALUE k%d %d %d\r\n%s\r\nEND\r\n" % (i, i, len(v), v))
    c.expect(b"10\r\nVALUE k7 7 2\r\n10\r\nVALUE k8 8 1\r\n8\r\nEND\r\n")
    c.quiet()
    print("pipelined %d sets and %d gets in one write, in order" % (n, n))


def trickle(port, *_):
    c = Conn(port)
    for b in b"set t 0 0 5\r\nhe\r\nl\r\nget t\r\n":
        c.send(bytes([b]))
        time.sleep(0.002)
    c.expect(b"STORED\r\nVALUE t 0 5\r\nhe\r\nl\r\nEND\r\n")
    c.quiet()


def long_lines(port, *_):
    c = Conn(port)
    c.send(b"x" * 3000)
    check(c.closed(), "3000 bytes without a newline: closed")
    c = Conn(port)
    c.send(b"set k 0 0 1" + b" " * 2100 + b"\r\nx\r\n")
    check(c.closed(), "a set line over 2048 bytes: closed")
    keys = b" ".join(b"key%05d" % i for i in range(2000))      # 16 KB of keys
    c = Conn(port)
    c.ask(b"set key00042 0 0 2\r\nhi\r\n", b"STORED\r\n")
    c.send(b"get " + keys)
    c.quiet()                                                   # still open, waiting
    c.ask(b"\r\n", b"VALUE key00042 0 2\r\nhi\r\nEND\r\n")
    c.send(b"get " + b"k " * 40000)
    check(c.closed(), "a key list over 64 KiB: closed")


def ttl(port, *_):
    c = Conn(port)
    now = int(time.time())
    c.ask(b"set a 0 1 1\r\na\r\n", b"STORED\r\n")
    c.ask(b"set b 0 %d 1\r\nb\r\n" % (now + 2), b"STORED\r\n")
    c.ask(b"set n 0 -1 1\r\nn\r\n", b"STORED\r\n")
    c.ask(b"set d 0 0 1\r\nd\r\ntouch d 1\r\n", b"STORED\r\nTOUCHED\r\n")
    c.ask(b"set e 0 0 1\r\ne\r\ngat 1 e\r\n", b"STORED\r\nVALUE e 0 1\r\ne\r\nEND\r\n")
    c.ask(b"set f 0 1 1\r\nf\r\ntouch f 100\r\n", b"STORED\r\nTOUCHED\r\n")
    c.ask(b"set m 0 2592000 1\r\nm\r\n", b"STORED\r\n")          # 30 days: still relative
    check(c.value(b"n") is None, "a negative exptime: stored and gone")
    for k in b"abdefm":
        check(c.value(bytes([k])) is not None, "%c there at first" % k)
    time.sleep(3.2)
    for k in b"abde":
        check(c.value(bytes([k])) is None, "%c expired" % k)
    check(c.value(b"f") == b"f" and c.value(b"m") == b"m", "touched and 30-day items live on")
    c.quiet()


def flush_delay(port, *_):
    c = Conn(port)
    before = int(c.stats()["cmd_flush"])
    c.ask(b"set k 0 0 1\r\nx\r\nflush_all 2\r\n", b"STORED\r\nOK\r\n")
    c.ask(b"set later 0 0 1\r\ny\r\n", b"STORED\r\n")
    check(c.value(b"k") == b"x" and c.value(b"later") == b"y", "still there before the delay")
    check(int(c.stats()["cmd_flush"]) == before + 1, "cmd_flush counted")
    time.sleep(3.3)
    check(c.value(b"k") is None and c.value(b"later") is None, "gone after the delay")
    c.ask(b"set k 0 0 1\r\nx\r\nflush_all 1 noreply\r\nflush_all noreply\r\nget k\r\n",
          b"STORED\r\nEND\r\n")
    c.ask(b"set k 0 0 1\r\nx\r\n", b"STORED\r\n")
    time.sleep(2.2)
    check(c.value(b"k") == b"x", "a flush now cancels a pending one")
    c.quiet()


GENERAL = """pid uptime time version libevent pointer_size rusage_user rusage_system
max_connections curr_connections total_connections cmd_get cmd_set cmd_flush cmd_touch
get_hits get_misses get_expired get_flushed delete_misses delete_hits incr_misses
incr_hits decr_misses decr_hits cas_misses cas_hits cas_badval touch_hits touch_misses
bytes_read bytes_written limit_maxbytes threads bytes curr_items total_items evictions
reclaimed""".split()


def stats(port, *_):
    c = Conn(port)
    s0 = c.stats()
    missing = [f for f in GENERAL if f not in s0]
    check(not missing, "every general field is there (missing %s)" % missing)
    check(list(s0) == GENERAL, "in memcached's order")
    for f in GENERAL:
        if f not in ("version", "libevent", "rusage_user", "rusage_system"):
            check(s0[f].isdigit(), "%s is a number (%s)" % (f, s0[f]))
    check(re.fullmatch(r"\d+\.\d{6}", s0["rusage_user"]) is not None, "rusage as seconds.micro")
    check(s0["threads"] == "1" and s0["pointer_size"] in ("32", "64"), "threads, pointer_size")
    check(s0["limit_maxbytes"] == str(64 << 20), "limit_maxbytes is --max-memory")
    check(int(s0["curr_connections"]) >= 1 and abs(int(s0["time"]) - time.time()) < 5,
          "curr_connections and time")
    c.send(b"set a 0 0 1\r\n1\r\nget a\r\nget zz\r\ndelete a\r\ndelete a\r\nincr a 1\r\n"
           b"set n 0 0 1\r\n1\r\nincr n 1\r\ndecr n 1\r\ndecr zz 1\r\ntouch n 5\r\ntouch zz 5\r\n")
    c.expect(b"STORED\r\nVALUE a 0 1\r\n1\r\nEND\r\nEND\r\nDELETED\r\nNOT_FOUND\r\nNOT_FOUND\r\n"
             b"STORED\r\n2\r\n1\r\nNOT_FOUND\r\nTOUCHED\r\nNOT_FOUND\r\n")
    s1 = c.stats()
    d = lambda f: int(s1[f]) - int(s0[f])
    want = dict(cmd_get=2, cmd_set=2, get_hits=1, get_misses=1, delete_hits=1, delete_misses=1,
                incr_hits=1, incr_misses=1, decr_hits=1, decr_misses=1, cmd_touch=2,
                touch_hits=1, touch_misses=1, total_items=4, curr_items=1)
    got = {f: d(f) for f in want}
    check(got == want, "counters moved: %s" % got)
    check(d("bytes_read") > 100 and d("bytes_written") > 100, "bytes read and written")
    c.ask(b"stats reset\r\n", b"RESET\r\n")
    s2 = c.stats()
    check(all(s2[f] == "0" for f in ("cmd_get", "get_hits", "cmd_set", "total_items",
                                     "delete_hits", "touch_hits")), "reset zeroes counters")
    check(s2["curr_items"] == "1", "but not curr_items")
    c.ask(b"get n\r\n", b"VALUE n 0 1\r\n1\r\nEND\r\n")
    check(c.stats()["get_hits"] == "1", "and they count again")
    st = c.stats(b"settings")
    check(st.get("item_size_max") == str(512 * 1024), "settings: item_size_max")
    check(st.get("tcpport") == str(port) and st.get("maxbytes") == str(64 << 20),
          "settings: tcpport, maxbytes")
    c.quiet()


def too_large(port, *_):
    c = Conn(port)
    ok, big = b"a" * 4096, b"b" * 5000
    c.ask(b"set k 0 0 4096\r\n" + ok + b"\r\n", b"STORED\r\n")
    check(c.value(b"k") == ok, "exactly --max-item-size is stored")
    c.ask(b"set j 0 0 1\r\nj\r\nappend j 0 0 5000\r\n" + big + b"\r\n",
          b"STORED\r\nSERVER_ERROR object too large for cache\r\n")
    check(c.value(b"j") == b"j", "a refused append leaves the value")
    c.ask(b"set k 0 0 5000\r\n" + big + b"\r\n", b"SERVER_ERROR object too large for cache\r\n")
    check(c.value(b"k") is None, "a refused set leaves no stale value, as memcached")
    c.send(b"set k 0 0 5000 noreply\r\n" + big[:1000])
    time.sleep(0.1)
    c.send(big[1000:3000])
    time.sleep(0.1)
    c.send(big[3000:] + b"\r\nversion\r\n")
    c.expect(b"VERSION 1.6.18 gale-")
    c.line()
    c.ask(b"set k 0 0 2147483647\r\n", b"CLIENT_ERROR bad command line format\r\n")
    c.quiet()


def slow_reader(port, *_):
    c = Conn(port)
    big = bytes(range(256)) * 800                      # 200 KB, every byte value
    c.ask(b"set big 0 0 %d\r\n%s\r\n" % (len(big), big), b"STORED\r\n")
    n = 100
    c.send(b"get big\r\n" * n + b"version\r\n")
    time.sleep(1)
    reply = b"VALUE big 0 %d\r\n%s\r\nEND\r\n" % (len(big), big)
    for i in range(n):
        got = c.take(len(reply))
        if got != reply:
            fail("reply %d of %d differs" % (i, n))
    c.expect(b"VERSION ")
    c.line()
    c.quiet()
    print("%d replies of %d bytes read late, all in order" % (n, len(reply)))


def half_close(port, *_):
    c = Conn(port)
    c.send(b"set h 0 0 1\r\nx\r\nget h\r\nget h")
    c.s.shutdown(socket.SHUT_WR)
    c.expect(b"STORED\r\nVALUE h 0 1\r\nx\r\nEND\r\n")
    check(c.closed() and c.buf == b"", "answered, then closed (the partial line dropped)")


def pymemcache(port, *_):
    from pymemcache.client.base import Client
    c = Client(("127.0.0.1", int(port)), connect_timeout=DEADLINE, timeout=DEADLINE,
               default_noreply=False)
    check(c.set("a", b"1") is True and c.get("a") == b"1", "set, get")
    check(c.incr("a", 41) == 42 and c.decr("a", 50) == 0, "incr, decr to 0")
    check(c.add("a", b"x") is False and c.add("b", b"\r\nbin\x00\xff") is True, "add")
    check(c.get("b") == b"\r\nbin\x00\xff", "binary value with CRLF inside")
    check(c.replace("zz", b"x") is False and c.replace("a", b"mid") is True, "replace")
    check(c.append("a", b">") and c.prepend("a", b"<") and c.get("a") == b"<mid>",
          "append, prepend")
    v, token = c.gets("a")
    check(v == b"<mid>" and c.cas("a", b"new", token) is True, "gets, cas stored")
    check(c.cas("a", b"newer", token) is False and c.cas("nokey", b"x", token) is None,
          "cas exists and not found")
    check(c.get_many(["a", "b", "zz"]) == {"a": b"new", "b": b"\r\nbin\x00\xff"}, "get_many")
    big = b"z" * 500000
    check(c.set("big", big) and c.get("big") == big, "a 500 KB value")
    check(c.touch("a", 100) is True and c.touch("zz", 100) is False, "touch")
    check(c.delete("a") is True and c.delete("a") is False, "delete")
    check(c.set("t", b"v", expire=-1) and c.get("t") is None, "negative expire")
    check(c.version().startswith(b"1.6.18 gale-"), "version")
    st = c.stats()
    check(st[b"cmd_set"] >= 8 and st[b"threads"] == 1, "stats parsed")
    check(c.flush_all() is True and c.get("b") is None, "flush_all")
    c.close()
    print("pymemcache: %d checks passed" % len(checks))


def json_ask(port, req):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=DEADLINE)
    s.sendall(json.dumps(req).encode() + b"\n")
    buf = b""
    while b"\n" not in buf:
        d = s.recv(65536)
        if not d:
            fail("the JSON service closed")
        buf += d
    s.close()
    return buf.split(b"\n")[0]


def json_(port, jport, *_):
    c = Conn(port)
    check(json_ask(jport, {"command": "set", "key": "k", "value": "v"}) == b'{"status": "ok"}',
          "JSON set")
    c.ask(b"get k\r\n", b'VALUE k 0 3\r\n"v"\r\nEND\r\n')
    check(json_ask(jport, {"command": "set", "key": "n", "value": 41}) == b'{"status": "ok"}',
          "JSON set of a number")
    c.ask(b"incr n 1\r\n", b"42\r\n")
    check(json_ask(jport, {"command": "get", "key": "n"}) == b'{"status": "ok", "value": 42}',
          "a number incremented through memcached")
    doc = {"a": [1, "two", None], "b": {"c": True}}
    json_ask(jport, {"command": "set", "key": "doc", "value": doc})
    reply = json_ask(jport, {"command": "get", "key": "doc"})
    text = reply[len(b'{"status": "ok", "value": '):-1]
    check(json.loads(text) == doc, "JSON get of a document")
    check(c.value(b"doc") == text, "memcached gives the JSON text as stored")
    c.ask(b"set m 3 0 5\r\nhello\r\n", b"STORED\r\n")
    check(json_ask(jport, {"command": "get", "key": "m"}) == b'{"status": "ok", "value": "hello"}',
          "a memcached value read through JSON is a string")
    c.quiet()


def shutdown(port, _jport, pid):
    """SIGTERM to gale PID: idle and half-sent lines close at once, a data
    block in progress is finished and answered first."""
    idle, partial, busy = Conn(port), Conn(port), Conn(port)
    busy.ask(b"version\r\n", b"VERSION ")
    busy.line()
    partial.send(b"get k")
    busy.send(b"set k 0 0 5\r\nab")
    time.sleep(0.2)
    t0 = time.monotonic()
    os.kill(int(pid), signal.SIGTERM)
    check(idle.closed() and idle.buf == b"", "an idle connection is closed")
    check(partial.closed() and partial.buf == b"", "a half-sent line is not waited for")
    check(time.monotonic() - t0 < 2, "at once, not after --shutdown-timeout")
    busy.send(b"cde\r\nget k\r\n")
    busy.expect(b"STORED\r\nVALUE k 0 5\r\nabcde\r\nEND\r\n")
    check(busy.closed() and busy.buf == b"", "the busy one is answered, then closed")


def nutcracker(proxy, a, b):
    """100 keys through the proxy: all read back, spread over a and b."""
    p, ca, cb = Conn(proxy), Conn(a), Conn(b)
    keys = [b"key:%d" % i for i in range(100)]
    p.send(b"".join(b"set %s 0 0 %d\r\nv%s\r\n" % (k, len(k) + 1, k) for k in keys))
    p.expect(b"STORED\r\n" * len(keys))
    for k in keys:
        check(p.value(k) == b"v" + k, "%s read back one by one" % k.decode())
    # A multi-get is split by the proxy over both instances and merged.
    p.send(b"get " + b" ".join(keys) + b"\r\n")
    got = {}
    for _ in keys:
        m = re.fullmatch(rb"VALUE (\S+) 0 (\d+)", p.line())
        check(m is not None, "a VALUE line from the multi-get")
        got[m.group(1)] = p.take(int(m.group(2)) + 2)[:-2]
    p.expect(b"END\r\n")
    check(got == {k: b"v" + k for k in keys}, "the multi-get gives all 100")
    na, nb = int(ca.stats()["curr_items"]), int(cb.stats()["curr_items"])
    check(na + nb == 100 and 0 < na < 100, "both instances hold some: %d + %d" % (na, nb))
    on_a = {k for k in keys if ca.value(k) is not None}
    on_b = {k for k in keys if cb.value(k) is not None}
    check(len(on_a) == na and not on_a & on_b and on_a | on_b == set(keys),
          "each key on exactly one instance")
    p.ask(b"incr counter 1\r\nset counter 0 0 1\r\n5\r\nincr counter 10\r\n"
          b"delete key:0\r\ntouch key:1 100\r\n",
          b"NOT_FOUND\r\nSTORED\r\n15\r\nDELETED\r\nTOUCHED\r\n")
    print("through nutcracker: %d keys on one instance, %d on the other" % (na, nb))


SCENARIOS = {
    "quit": quit_, "gets_many": gets_many, "cas": cas, "gats": gats,
    "long_keys": long_keys, "pipeline": pipeline, "trickle": trickle,
    "long_lines": long_lines, "ttl": ttl, "flush_delay": flush_delay, "stats": stats,
    "too_large": too_large, "slow_reader": slow_reader, "half_close": half_close,
    "pymemcache": pymemcache, "json": json_, "nutcracker": nutcracker,
    "shutdown": shutdown,
}


def main(argv):
    if len(argv) == 4 and argv[0] == "x":
        x(argv[1], argv[2], argv[3])
        return
    if len(argv) >= 2 and argv[0] in SCENARIOS:
        SCENARIOS[argv[0]](*argv[1:])
        return
    fail(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])

"""A SOCKS client for the socks*.bats tests, python standard library only.

  socks_client.py raw PORT STEP...      one connection to the proxy on
                                        127.0.0.1:PORT, the STEPs in order
  socks_client.py bind5 PORT            SOCKS5 BIND end to end
  socks_client.py bind4 PORT            SOCKS4 BIND end to end
  socks_client.py udp PORT              SOCKS5 UDP ASSOCIATE end to end
  socks_client.py halfclose PORT        CONNECT with half-closes both ways
  socks_client.py idle PORT             a client that goes quiet
  socks_client.py connect-timeout PORT  CONNECT to a target that never answers
  socks_client.py listening PORT        waits until something listens there
  socks_client.py bndcheck PORT --dest ADDR    the CONNECT reply's address
  socks_client.py optimistic PORT [--slow]     pipelined / byte-by-byte client
  socks_client.py many PORT -n N        N CONNECTs open at once
  socks_client.py udp-drop PORT [--from ADDR] [--dest ADDR]
                                        datagrams the relay must drop
  bind5/bind4 --from ADDR: the remote connects from ADDR (not the address
  the client named) and must be refused

Options (all commands): --user U --password P authenticate (RFC 1929);
--timeout S for every read (default 3).  See each command's docstring.

raw STEPs:
  HEX               send these bytes ("050100"; '_' may separate)
  greet=HEXMETHODS  SOCKS5 greeting offering these methods ("greet=0002")
  auth=USER,PASS    the RFC 1929 request
  c5=CMD,HOST,PORT  a SOCKS5 request: CMD connect, bind, udp or a number;
                    HOST an IPv4 or IPv6 address (ATYP 1, 4) or a name (3)
  c4=CMD,HOST,PORT[,USERID]
                    a SOCKS4 request; SOCKS4a when HOST is a name
  text=TEXT         send TEXT (\\r \\n escapes)
  rep=N,HEX         send HEX repeated N times
  rand=N            send N random bytes (always the same ones)
  shut              shut the writing half
  sleep=S           pause
  @N                read N bytes: "read HEX" ("read HEX short" if closed first)
  @m                a method reply: "method VER METHOD" (hex bytes)
  @a                an RFC 1929 reply: "auth VER STATUS"
  @5                a SOCKS5 reply: "reply5 rep=N addr=A port=P"
  @4                a SOCKS4 reply: "reply4 cd=N addr=A port=P"
  A read that meets the end of the stream prints "<kind> none" (nothing
  came) or "<kind> short HEX".  After the last step the rest is read until
  the proxy closes or --timeout passes: "rest HEX" when anything came, then
  "end eof", "end reset" or "end open" (still open after --timeout).
  Exit status 0 unless the proxy cannot be reached.

The scenarios print key=value lines and exit 1 with the reason on stderr
when anything differs from what the spec says.
"""
import argparse, errno, hashlib, ipaddress, os, random, select, socket, struct, sys
import threading, time

TIMEOUT = 3.0
PROXY = "127.0.0.1"


def fail(msg):
    print(msg, file=sys.stderr)
    sys.stdout.flush()
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail("failed: " + msg)


# ---- encoding ------------------------------------------------------------

COMMANDS = {"connect": 1, "bind": 2, "udp": 3}


def enc_addr5(host, port):
    """ATYP, address and port of RFC 1928 for host (address or name)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        name = host.encode()
        return bytes([3, len(name)]) + name + struct.pack(">H", port)
    if ip.version == 4:
        return b"\x01" + ip.packed + struct.pack(">H", port)
    return b"\x04" + ip.packed + struct.pack(">H", port)


def req5(cmd, host, port):
    cmd = COMMANDS.get(cmd) or int(cmd, 0)
    return bytes([5, cmd, 0]) + enc_addr5(host, int(port))


def req4(cmd, host, port, userid=""):
    cmd = COMMANDS.get(cmd) or int(cmd, 0)
    try:
        ip = ipaddress.IPv4Address(host).packed
        name = None
    except ValueError:
        ip, name = b"\0\0\0\x01", host          # SOCKS4a
    out = bytes([4, cmd]) + struct.pack(">H", int(port)) + ip + userid.encode() + b"\0"
    if name is not None:
        out += name.encode() + b"\0"
    return out


def auth_req(user, password):
    u, p = user.encode(), password.encode()
    return bytes([1, len(u)]) + u + bytes([len(p)]) + p


def unescape(s):
    return s.replace("\\r", "\r").replace("\\n", "\n").encode()


# ---- reading ---------------------------------------------------------------

class Closed(Exception):
    def __init__(self, got):
        self.got = got


def recv_exact(s, n):
    """n bytes, or Closed(what came) at the end of the stream or a reset."""
    buf = b""
    while len(buf) < n:
        try:
            d = s.recv(n - len(buf))
        except ConnectionResetError:
            d = b""
        if not d:
            raise Closed(buf)
        buf += d
    return buf


def dec_addr5(s):
    """Reads ATYP, address and port; returns (text address, port)."""
    atyp = recv_exact(s, 1)[0]
    if atyp == 1:
        a = socket.inet_ntop(socket.AF_INET, recv_exact(s, 4))
    elif atyp == 4:
        a = socket.inet_ntop(socket.AF_INET6, recv_exact(s, 16))
    elif atyp == 3:
        a = recv_exact(s, recv_exact(s, 1)[0]).decode(errors="replace")
    else:
        raise ValueError("reply with ATYP %d" % atyp)
    return a, struct.unpack(">H", recv_exact(s, 2))[0]


def read_reply5(s, strict=True):
    """(rep, addr, port) of a SOCKS5 reply; Closed at the end of the stream."""
    head = recv_exact(s, 3)
    if head[0] != 5 and not strict:
        raise Closed(head + s.recv(100))
    check(head[0] == 5, "reply version %d, want 5" % head[0])
    addr, port = dec_addr5(s)
    return head[1], addr, port


def read_reply4(s):
    r = recv_exact(s, 8)
    return r[1], socket.inet_ntop(socket.AF_INET, r[4:8]), struct.unpack(">H", r[2:4])[0]


def read_rest(s, timeout):
    """(bytes, how) until EOF, a reset or timeout s of silence overall."""
    end = time.monotonic() + timeout
    buf = b""
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return buf, "open"
        s.settimeout(left)
        try:
            d = s.recv(65536)
        except socket.timeout:
            return buf, "open"
        except ConnectionResetError:
            return buf, "reset"
        if not d:
            return buf, "eof"
        buf += d


def proxy_connect(port, timeout=None):
    return socket.create_connection((PROXY, port), timeout=timeout or TIMEOUT)


def handshake5(s, a):
    """Method negotiation (and RFC 1929 when --user is given)."""
    if a.user is not None:
        s.sendall(b"\x05\x01\x02")
        m = recv_exact(s, 2)
        check(m == b"\x05\x02", "method reply %s, want 0502" % m.hex())
        s.sendall(auth_req(a.user, a.password))
        r = recv_exact(s, 2)
        check(r == b"\x01\x00", "auth reply %s, want 0100" % r.hex())
    else:
        s.sendall(b"\x05\x01\x00")
        m = recv_exact(s, 2)
        check(m == b"\x05\x00", "method reply %s, want 0500" % m.hex())


def connect5(port, host, dport, a):
    """A SOCKS5 CONNECT; returns the socket once the reply says 0."""
    s = proxy_connect(port)
    handshake5(s, a)
    s.sendall(req5("connect", host, dport))
    rep, addr, bport = read_reply5(s)
    check(rep == 0, "CONNECT %s:%s: reply %d" % (host, dport, rep))
    return s, addr, bport


# ---- raw -------------------------------------------------------------------

def cmd_raw(a):
    try:
        s = proxy_connect(a.port)
    except OSError as e:
        fail("cannot connect to the proxy: %s" % e)
    closed = False
    for step in a.steps:
        try:
            if step.startswith("@"):
                what = step[1:]
                kind = {"m": "method", "a": "auth", "5": "reply5", "4": "reply4"}.get(what, "read")
                try:
                    if what in ("m", "a"):
                        r = recv_exact(s, 2)
                        print("%s %02x %02x" % (kind, r[0], r[1]))
                    elif what == "5":
                        print("reply5 rep=%d addr=%s port=%d" % read_reply5(s, strict=False))
                    elif what == "4":
                        print("reply4 cd=%d addr=%s port=%d" % read_reply4(s))
                    else:
                        print("read %s" % recv_exact(s, int(what)).hex())
                except Closed as e:
                    print("%s %s" % (kind, "short " + e.got.hex() if e.got else "none"))
                    closed = True
                    break
                except socket.timeout:
                    print("%s timeout" % kind)
                    break
                continue
            if step == "shut":
                s.shutdown(socket.SHUT_WR)
                continue
            key, eq, val = step.partition("=")
            if not eq:
                data = bytes.fromhex(step.replace("_", ""))
            elif key == "greet":
                m = bytes.fromhex(val)
                data = bytes([5, len(m)]) + m
            elif key == "auth":
                data = auth_req(*val.split(",", 1))
            elif key == "c5":
                data = req5(*val.split(","))
            elif key == "c4":
                data = req4(*val.split(","))
            elif key == "text":
                data = unescape(val)
            elif key == "rep":
                n, h = val.split(",")
                data = bytes.fromhex(h) * int(n)
            elif key == "rand":
                data = random.Random(6).randbytes(int(val))
            elif key == "sleep":
                time.sleep(float(val))
                continue
            else:
                fail("unknown step %r" % step)
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            print("send failed: %s" % e.__class__.__name__)
            break
    rest, how = read_rest(s, a.timeout)
    if rest:
        print("rest %s" % rest.hex())
    print("end %s" % ("eof" if closed and how == "open" else how))
    s.close()


# ---- BIND ------------------------------------------------------------------

def bind_common(a, first, second, s):
    """After the request: first() reads the first reply, the 'remote
    server' connects there, second() reads the second reply; data flows
    both ways, each side half-closing in turn."""
    rep, baddr, bport = first()
    print("first_reply rep=%d addr=%s port=%d" % (rep, baddr, bport))
    check(rep == 0, "first BIND reply %d" % rep)
    check(bport != 0, "BIND reply names port 0")
    target = baddr
    if a.v4 and baddr == "0.0.0.0":   # SOCKS4: 0.0.0.0 means the proxy's address
        target = PROXY
    if a.peer_from:
        bind_foreign(a, target, bport, second, s)
        return
    remote = socket.create_connection((target, bport), timeout=TIMEOUT)
    rport = remote.getsockname()[1]
    rep, paddr, pport = second()
    print("second_reply rep=%d addr=%s port=%d" % (rep, paddr, pport))
    check(rep == 0, "second BIND reply %d" % rep)
    check(paddr == "127.0.0.1" and pport == rport,
          "second reply names %s:%d, the remote is 127.0.0.1:%d" % (paddr, pport, rport))
    up = random.Random(2).randbytes(300000)
    down = random.Random(3).randbytes(200000)
    # client -> remote, then the client half-closes
    t = threading.Thread(target=lambda: (s.sendall(up), s.shutdown(socket.SHUT_WR)))
    t.start()
    remote.settimeout(10)
    got, how = read_rest(remote, 10)
    t.join()
    check(how == "eof", "the remote did not see EOF (%s)" % how)
    check(got == up, "the remote got %d bytes, the client sent %d (or others)" % (len(got), len(up)))
    # remote -> client after the client's half-close
    remote.sendall(down)
    remote.shutdown(socket.SHUT_WR)
    got, how = read_rest(s, 10)
    check(how == "eof", "the client did not see EOF (%s)" % how)
    check(got == down, "the client got %d bytes, the remote sent %d (or others)" % (len(got), len(down)))
    print("to_remote=%d to_client=%d" % (len(up), len(down)))
    remote.close()
    s.close()


def bind_foreign(a, target, bport, second, s):
    """The 'remote' connects from a.peer_from, not the address the client
    named: it must not be handed to the client (no success reply, nothing
    relayed)."""
    remote = socket.socket()
    remote.bind((a.peer_from, 0))
    remote.settimeout(TIMEOUT)
    try:
        remote.connect((target, bport))
    except OSError as e:
        print("foreign_connect=%s" % e.__class__.__name__)
    s.settimeout(1.5)
    try:
        rep, paddr, pport = second()
        print("second_reply rep=%d addr=%s port=%d" % (rep, paddr, pport))
        check(rep != 0, "a peer from %s was accepted for a BIND that named 127.0.0.1" % a.peer_from)
    except socket.timeout:
        print("second_reply none")
    except Closed as e:
        print("second_reply closed %s" % e.got.hex())
    try:
        remote.sendall(b"from the wrong peer")
        remote.settimeout(1)
        got, how = read_rest(remote, 1)
    except OSError:
        pass
    s.settimeout(0.5)
    try:
        leaked = s.recv(100)
    except (socket.timeout, OSError):
        leaked = b""
    check(b"wrong peer" not in leaked, "bytes of the foreign peer reached the client")
    print("foreign_peer=rejected")


def cmd_bind5(a):
    """SOCKS5 BIND for DST 127.0.0.1:0; the first reply must name the
    address and port to reach (not 0.0.0.0), the second the remote peer."""
    s = proxy_connect(a.port)
    handshake5(s, a)
    s.sendall(req5("bind", "127.0.0.1", 0))
    s.settimeout(10)
    a.v4 = False
    bind_common(a, lambda: read_reply5(s), lambda: read_reply5(s), s)


def cmd_bind4(a):
    s = proxy_connect(a.port)
    s.sendall(req4("bind", "127.0.0.1", 0, "tester"))
    s.settimeout(10)
    a.v4 = True

    def r4():
        cd, addr, port = read_reply4(s)
        return (0 if cd == 90 else cd), addr, port
    bind_common(a, r4, r4, s)


# ---- UDP ASSOCIATE ---------------------------------------------------------

class UdpEcho:
    """An echo server on (host, free port) in a thread; counts datagrams."""

    def __init__(self, host):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.s = socket.socket(fam, socket.SOCK_DGRAM)
        self.s.bind((host, 0))
        self.host, self.port = host, self.s.getsockname()[1]
        self.count = 0
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            d, peer = self.s.recvfrom(65536)
            self.count += 1
            self.s.sendto(b"echo:" + d, peer)


def udp_header(host, port, frag=0):
    return b"\0\0" + bytes([frag]) + enc_addr5(host, port)


def parse_udp(d):
    check(len(d) >= 4 and d[0:2] == b"\0\0" and d[2] == 0, "bad reply header %s" % d[:8].hex())
    atyp = d[3]
    if atyp == 1:
        addr, rest = socket.inet_ntop(socket.AF_INET, d[4:8]), d[8:]
    elif atyp == 4:
        addr, rest = socket.inet_ntop(socket.AF_INET6, d[4:20]), d[20:]
    else:
        fail("reply datagram with ATYP %d" % atyp)
    return addr, struct.unpack(">H", rest[:2])[0], rest[2:]


def udp_roundtrip(u, relay, echo, payload, frag=0, wait=TIMEOUT):
    """Sends payload for echo through the relay; returns the reply or None."""
    u.sendto(udp_header(echo.host, echo.port, frag) + payload, relay)
    u.settimeout(wait)
    try:
        d, src = u.recvfrom(65536)
    except socket.timeout:
        return None
    check(src == relay, "reply from %s, the relay is %s" % (src, relay))
    return d


def cmd_udp(a):
    """Associates, then through the relay: a datagram to a v4 and a v6 echo
    server (payload and header checked), a fragment (must be dropped), and
    after the TCP connection closes, nothing is relayed any more."""
    e4, e6 = UdpEcho("127.0.0.1"), UdpEcho("::1")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    s = proxy_connect(a.port)
    handshake5(s, a)
    if a.zeros:
        s.sendall(req5("udp", "0.0.0.0", 0))
    else:
        s.sendall(req5("udp", "127.0.0.1", u.getsockname()[1]))
    rep, raddr, rport = read_reply5(s)
    print("associate rep=%d addr=%s port=%d" % (rep, raddr, rport))
    check(rep == 0, "UDP ASSOCIATE reply %d" % rep)
    check(rport != 0 and raddr == PROXY,
          "the relay is named %s:%d, want %s and a port" % (raddr, rport, PROXY))
    relay = (raddr, rport)
    for echo in (e4, e6):
        for i, size in enumerate((1, 1000, 8000)):
            payload = bytes([65 + i]) * size + echo.host.encode()
            d = udp_roundtrip(u, relay, echo, payload)
            check(d is not None, "no reply via the relay from %s:%d" % (echo.host, echo.port))
            addr, port, body = parse_udp(d)
            check(ipaddress.ip_address(addr) == ipaddress.ip_address(echo.host) and port == echo.port,
                  "reply header names %s:%d, the echo server is %s:%d" % (addr, port, echo.host, echo.port))
            check(body == b"echo:" + payload, "payload differs (%d bytes, want %d)"
                  % (len(body), 5 + len(payload)))
        print("echo_%s=ok" % ("v6" if ":" in echo.host else "v4"))
    n = e4.count
    d = udp_roundtrip(u, relay, e4, b"fragment", frag=1, wait=1.0)
    check(d is None, "a fragment (FRAG=1) was answered")
    check(e4.count == n, "a fragment (FRAG=1) reached the echo server")
    print("fragment=dropped")
    # the association still works after the fragment
    d = udp_roundtrip(u, relay, e4, b"again")
    check(d is not None and parse_udp(d)[2] == b"echo:again", "no relay after the fragment")
    s.close()
    time.sleep(0.5)
    n = e4.count
    try:
        d = udp_roundtrip(u, relay, e4, b"after close", wait=1.0)
    except ConnectionRefusedError:
        d = None
    check(d is None, "a datagram was relayed after the TCP connection closed")
    check(e4.count == n, "the echo server got a datagram after the TCP connection closed")
    print("after_close=not_relayed")


def cmd_udp_drop(a):
    """Associates from 127.0.0.1; then (1) a datagram for the v4 echo
    server sent from a.peer_from instead of the client's address, and (2)
    one for an echo server on a.dest (a denied destination), must both be
    dropped, while the client's own datagrams to the v4 server pass."""
    e4 = UdpEcho("127.0.0.1")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    s = proxy_connect(a.port)
    handshake5(s, a)
    s.sendall(req5("udp", "127.0.0.1", u.getsockname()[1]))
    rep, raddr, rport = read_reply5(s)
    check(rep == 0, "UDP ASSOCIATE reply %d" % rep)
    relay = (raddr, rport)
    d = udp_roundtrip(u, relay, e4, b"first")
    check(d is not None and parse_udp(d)[2] == b"echo:first", "the client's own datagram was not relayed")
    if a.peer_from:
        f = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        f.bind((a.peer_from, 0))
        n = e4.count
        d = udp_roundtrip(f, relay, e4, b"from a stranger", wait=1.0)
        check(d is None and e4.count == n,
              "a datagram from %s (not the client's address) was relayed" % a.peer_from)
        print("foreign_source=dropped")
    if a.dest:
        ed = UdpEcho(a.dest)
        d = udp_roundtrip(u, relay, ed, b"to a denied address", wait=1.0)
        check(d is None and ed.count == 0, "a datagram to the denied %s was relayed" % a.dest)
        print("denied_dest=dropped")
    d = udp_roundtrip(u, relay, e4, b"last")
    check(d is not None and parse_udp(d)[2] == b"echo:last", "the association died")
    print("association=alive")


# ---- CONNECT with half-closes ----------------------------------------------

def cmd_halfclose(a):
    """Target A reads to EOF, then answers; target B speaks first and
    half-closes, then reads the client's bytes to EOF."""
    size = a.size
    up = random.Random(4).randbytes(size)
    down = random.Random(5).randbytes(size // 2 + 7)

    def listener():
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(4)
        return ls

    la, lb = listener(), listener()
    res = {}

    def target_a():
        c, _ = la.accept()
        got, how = read_rest(c, 20)
        res["a"] = (got == up, how)
        c.sendall(hashlib.sha256(got).hexdigest().encode() + b"\n" + down)
        c.close()

    def target_b():
        c, _ = lb.accept()
        c.sendall(down)
        c.shutdown(socket.SHUT_WR)
        got, how = read_rest(c, 20)
        res["b"] = (got == up, how)
        c.close()

    ta = threading.Thread(target=target_a, daemon=True)
    tb = threading.Thread(target=target_b, daemon=True)
    ta.start()
    tb.start()
    # A: client sends, half-closes, then reads the whole answer
    s, _, _ = connect5(a.port, "127.0.0.1", la.getsockname()[1], a)
    s.sendall(up)
    s.shutdown(socket.SHUT_WR)
    got, how = read_rest(s, 20)
    ta.join(5)
    check(res.get("a", (False,))[0] and res["a"][1] == "eof",
          "target A did not get the client's bytes and EOF: %s" % (res.get("a"),))
    check(how == "eof", "the client saw %s after A's answer" % how)
    want = hashlib.sha256(up).hexdigest().encode() + b"\n" + down
    check(got == want, "A's answer differs: %d bytes, want %d" % (len(got), len(want)))
    print("client_half_close=ok")
    s.close()
    # B: the target half-closes first; the client then still sends
    s, _, _ = connect5(a.port, "127.0.0.1", lb.getsockname()[1], a)
    s.settimeout(20)
    buf = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    check(buf == down, "B's bytes differ: %d, want %d" % (len(buf), len(down)))
    s.sendall(up)
    s.shutdown(socket.SHUT_WR)
    got, how = read_rest(s, 20)
    tb.join(5)
    check(res.get("b", (False,))[0] and res["b"][1] == "eof",
          "target B did not get the client's bytes after its own half-close: %s" % (res.get("b"),))
    check(how == "eof" and got == b"", "after B closed: %s %r" % (how, got[:20]))
    print("target_half_close=ok")


# ---- CONNECT: the reply's address, pipelined and slow clients, many ---------

class EchoTarget:
    """A TCP echo server on (host, free port) in threads; records peers."""

    def __init__(self, host):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.ls = socket.socket(fam, socket.SOCK_STREAM)
        self.ls.bind((host, 0))
        self.ls.listen(1024)
        self.host, self.port = host, self.ls.getsockname()[1]
        self.peers = []
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            c, peer = self.ls.accept()
            self.peers.append(peer[:2])
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    @staticmethod
    def serve(c):
        with c:
            while True:
                try:
                    d = c.recv(65536)
                except OSError:
                    return
                if not d:
                    return
                c.sendall(d)


def cmd_bndcheck(a):
    """CONNECT to an echo target on a.dest: the reply's BND.ADDR and
    BND.PORT must be what the target sees as its peer."""
    t = EchoTarget(a.dest)
    s, baddr, bport = connect5(a.port, a.dest, t.port, a)
    s.sendall(b"ping")
    check(recv_exact(s, 4) == b"ping", "no echo")
    check(len(t.peers) == 1, "the target saw %d connections" % len(t.peers))
    paddr, pport = t.peers[0]
    print("reply addr=%s port=%d, the target's peer %s port %d" % (baddr, bport, paddr, pport))
    check(ipaddress.ip_address(baddr) == ipaddress.ip_address(paddr) and bport == pport,
          "BND %s:%d is not the proxy's outgoing address %s:%d" % (baddr, bport, paddr, pport))
    print("bnd=real")


def cmd_optimistic(a):
    """Greeting, request and the first data in one write (or, with --slow,
    every byte written alone, 20 ms apart): the replies come in order and
    the data reaches the target, nothing lost or doubled."""
    t = EchoTarget("127.0.0.1")
    msg = b"optimistic data " * 8
    data = b"\x05\x01\x00" + req5("connect", "127.0.0.1", t.port) + msg
    s = proxy_connect(a.port, timeout=10)
    if a.slow:
        for i in range(len(data) - len(msg)):
            s.send(data[i:i + 1])
            time.sleep(0.02)
        s.sendall(msg)
    else:
        s.sendall(data)
    m = recv_exact(s, 2)
    check(m == b"\x05\x00", "method reply %s" % m.hex())
    rep, _, _ = read_reply5(s)
    check(rep == 0, "reply %d" % rep)
    got = recv_exact(s, len(msg))
    check(got == msg, "the echo differs: %r" % got[:40])
    s.shutdown(socket.SHUT_WR)
    rest, how = read_rest(s, 5)
    check(rest == b"" and how == "eof", "after the echo: %r %s" % (rest[:40], how))
    print("optimistic=ok")


def cmd_many(a):
    """a.n CONNECTs at once, all open together, each echoing its own message."""
    import asyncio
    t = EchoTarget("127.0.0.1")

    async def one(i):
        r, w = await asyncio.open_connection(PROXY, a.port)
        w.write(b"\x05\x01\x00")
        await w.drain()
        check(await r.readexactly(2) == b"\x05\x00", "method reply")
        w.write(req5("connect", "127.0.0.1", t.port))
        await w.drain()
        head = await r.readexactly(4)
        check(head[:2] == b"\x05\x00", "connection %d: reply %s" % (i, head.hex()))
        await r.readexactly({1: 4, 4: 16}[head[3]] + 2)
        return r, w

    async def main():
        conns = await asyncio.gather(*(one(i) for i in range(a.n)))
        print("open=%d" % len(conns))

        async def talk(i, r, w):
            msg = ("message %d of %d %s\n" % (i, a.n, "x" * (i % 50))).encode()
            w.write(msg)
            await w.drain()
            check(await r.readexactly(len(msg)) == msg, "connection %d: echo differs" % i)
            w.close()
            return 1
        ok = await asyncio.gather(*(talk(i, r, w) for i, (r, w) in enumerate(conns)))
        print("echoed=%d" % sum(ok))

    asyncio.run(asyncio.wait_for(main(), 20))


# ---- timeouts --------------------------------------------------------------

def cmd_idle(a):
    """Connects, sends a.send (hex) if given, then waits for the proxy to
    close (with --trickle HEX, sending HEX every 0.3 s meanwhile): prints
    closed_after=SECONDS and what came (got=HEX)."""
    t0 = time.monotonic()
    s = proxy_connect(a.port)
    if a.send:
        s.sendall(bytes.fromhex(a.send.replace("_", "")))
    if a.trickle:
        # one more byte every 0.3 s: busy, but never done
        got, how = b"", "open"
        while time.monotonic() - t0 < a.timeout:
            try:
                s.sendall(bytes.fromhex(a.trickle))
            except OSError:
                how = "reset"
                break
            d, how = read_rest(s, 0.3)
            got += d
            if how != "open":
                break
    else:
        got, how = read_rest(s, a.timeout)
    print("got=%s" % got.hex())
    if how == "open":
        print("still_open_after=%.1f" % a.timeout)
    else:
        print("closed_after=%.3f how=%s" % (time.monotonic() - t0, how))


def cmd_connect_timeout(a):
    """A target whose accept queue is full drops SYNs: CONNECT to it must
    end with reply 6 (TTL expired) after about --connect-timeout."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    port = ls.getsockname()[1]
    fill = []
    for _ in range(4):
        f = socket.socket()
        f.setblocking(False)
        try:
            f.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fill.append(f)
    time.sleep(0.2)
    probe = socket.socket()
    probe.settimeout(0.5)
    try:
        probe.connect(("127.0.0.1", port))
        fail("the black hole accepts connections; cannot test")
    except socket.timeout:
        pass
    s = proxy_connect(a.port, timeout=a.timeout)
    handshake5(s, a)
    t0 = time.monotonic()
    s.sendall(req5("connect", "127.0.0.1", port))
    try:
        rep, addr, bport = read_reply5(s)
    except socket.timeout:
        fail("no reply within %.1f s" % a.timeout)
    except Closed as e:
        fail("closed without a reply (%s)" % e.got.hex())
    print("reply5 rep=%d after=%.3f" % (rep, time.monotonic() - t0))


def cmd_listening(a):
    """Until a TCP socket listens on port (per /proc/net/tcp*), at most
    a.timeout s; no connection is made, so the proxy logs none."""
    want = ":%04X" % a.port
    end = time.monotonic() + a.timeout
    while time.monotonic() < end:
        for name in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(name) as f:
                    for line in f.readlines()[1:]:
                        fields = line.split()
                        if fields[1].endswith(want) and fields[3] == "0A":
                            return
            except OSError:
                pass
        time.sleep(0.03)
    fail("nothing listens on port %d after %.0f s" % (a.port, a.timeout))


def main():
    global TIMEOUT
    p = argparse.ArgumentParser()
    p.add_argument("cmd")
    p.add_argument("port", type=int)
    p.add_argument("steps", nargs="*")
    p.add_argument("--user")
    p.add_argument("--password", default="")
    p.add_argument("--timeout", type=float, default=3.0)
    p.add_argument("--send", default="")
    p.add_argument("--size", type=int, default=1 << 20)
    p.add_argument("--zeros", action="store_true")
    p.add_argument("--slow", action="store_true")
    p.add_argument("--trickle", default="")
    p.add_argument("--dest", default="")
    p.add_argument("--from", dest="peer_from", default="")
    p.add_argument("-n", type=int, default=200)
    a = p.parse_args()
    TIMEOUT = a.timeout
    fn = {"raw": cmd_raw, "bind5": cmd_bind5, "bind4": cmd_bind4, "udp": cmd_udp,
          "halfclose": cmd_halfclose, "idle": cmd_idle,
          "connect-timeout": cmd_connect_timeout, "listening": cmd_listening,
          "bndcheck": cmd_bndcheck, "optimistic": cmd_optimistic, "many": cmd_many,
          "udp-drop": cmd_udp_drop}.get(a.cmd)
    if fn is None:
        fail("unknown command %s" % a.cmd)
    try:
        fn(a)
    except Closed as e:
        fail("the proxy closed the connection early (after %s)" % (e.got.hex() or "nothing"))
    except socket.timeout:
        fail("timed out after %.1f s" % TIMEOUT)


if __name__ == "__main__":
    main()

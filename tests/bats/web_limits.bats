#!/usr/bin/env bats
# gale web, end to end: limits and timeouts.  Over-long request lines
# and heads, too many fields, a client that trickles its head, bodies
# over --max-body or never finished, an idle keep-alive connection, and a
# client that stops reading a big file.
# Clients are python3 raw sockets (fixtures/web/rawhttp.py); every wait
# is bounded.

bats_require_minimum_version 1.5.0

load helpers

setup_file() {
    quick_python
}

setup() {
    common_setup
    PORT=$(free_port)
    ROOT=$BATS_TEST_TMPDIR/www
    mkdir -p "$ROOT"
    printf 'hello\n' >"$ROOT/a.txt"
}

teardown() {
    common_teardown
}

@test "a request line over --max-request-line is 414; one under it is served" {
    start_web --path "$ROOT" --max-request-line 100
    long=$(printf 'a%.0s' {1..200})
    run rawhttp "GET /$long HTTP/1.1\r\nHost: x\r\n\r\n"
    assert_success
    assert_line status=414
    # "GET /a.txt?" + 70 bytes + " HTTP/1.1" is 90 bytes.
    short=$(printf 'q%.0s' {1..70})
    run rawhttp "GET /a.txt?$short HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    assert_line status=200
}

@test "a request head over --max-header-size is 431" {
    start_web --path "$ROOT" --max-header-size 1k
    big=$(printf 'b%.0s' {1..2000})
    run rawhttp "GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Big: $big\r\n\r\n"
    assert_success
    assert_line status=431
    mid=$(printf 'b%.0s' {1..500})
    run rawhttp "GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Mid: $mid\r\nConnection: close\r\n\r\n"
    assert_line status=200
}

@test "more header fields than --max-headers is 431" {
    start_web --path "$ROOT" --max-headers 5
    run rawhttp 'GET /a.txt HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\n\r\n'
    assert_success
    assert_line status=431
    run rawhttp 'GET /a.txt HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nConnection: close\r\n\r\n'
    assert_line status=200
}

@test "the default limits: a request line over 8192 bytes is 414, a 40 KiB head 431" {
    start_web --path "$ROOT"
    long=$(head -c 9000 /dev/zero | tr '\0' a)
    run rawhttp "GET /$long HTTP/1.1\r\nHost: x\r\n\r\n"
    assert_line status=414
    big=$(head -c 40000 /dev/zero | tr '\0' b)
    run rawhttp "GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Big: $big\r\n\r\n"
    assert_line status=431
    many=$(for i in {1..120}; do printf 'X-H%d: %d\\r\\n' "$i" "$i"; done)
    run rawhttp "GET /a.txt HTTP/1.1\r\nHost: x\r\n$many\r\n"
    assert_line status=431
}

@test "a client that trickles its head is cut off by --header-timeout" {
    start_web --path "$ROOT" --header-timeout 1
    # One byte every 0.3 s of a head that would take 30 s to send.
    run web_py '
import select, time
head = b"GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 100 + b"\r\n\r\n"
s = connect(PORT)
t0 = time.monotonic()
got, closed = b"", False
for byte in head:
    try:
        s.send(bytes([byte]))
    except OSError:
        closed = True
        break
    if select.select([s], [], [], 0.3)[0]:
        try:
            data = s.recv(65536)
        except ConnectionResetError:
            data = b""
        got += data
        if not data:
            closed = True
            break
    if time.monotonic() - t0 > 10:
        break
took = time.monotonic() - t0
assert closed, "still open after %.1f s" % took
assert 0.8 <= took <= 3.0, "closed after %.1f s" % took
assert got == b"" or got.startswith(b"HTTP/1.1 408 "), got[:80]
print("ok")'
    assert_success
    assert_output ok
}

@test "an idle keep-alive connection is closed after --keepalive-timeout" {
    start_web --path "$ROOT" --keepalive-timeout 1 --header-timeout 10
    run web_py '
import time
s = connect(PORT)
f = reader(s)
s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
assert read_response(f).body == b"hello\n"
t0 = time.monotonic()
assert not closed_within(s, 0.5), "closed at once"
# Still usable before the timeout.
s.settimeout(5)
s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
assert read_response(f).body == b"hello\n"
t0 = time.monotonic()
assert closed_within(s, 5), "still open after 5 s"
took = time.monotonic() - t0
assert 0.7 <= took <= 3.0, "closed after %.1f s" % took
print("ok")'
    assert_success
    assert_output ok
}

@test "clients that stop reading a 50 MiB file do not make gale grow" {
    truncate -s 50M "$ROOT/big.bin"
    start_web --path "$ROOT"
    GALE_PID=$GALE_PID run web_py '
import socket, time
def rss():
    for line in open("/proc/%s/status" % os.environ["GALE_PID"]):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
warm = connect(PORT)
warm.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
read_response(reader(warm))
before = rss()
def slow(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect(("127.0.0.1", PORT))
    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n" * n)
    return s
one, many = slow(1), slow(20)       # the second pipelines 20 requests
time.sleep(2)
grew = rss() - before
assert grew < 10 * 1024, "VmRSS grew by %d KiB" % grew
# The stalled response is whole once read.
f = reader(one)
r = read_response(f, head=True)
assert r.status == 200 and r.get("content-length") == str(50 << 20), r.headers
got = 0
while got < 50 << 20:
    chunk = f.read(min((50 << 20) - got, 1 << 20))
    if not chunk:
        break
    got += len(chunk)
assert got == 50 << 20, got
print("ok", grew)'
    assert_success
    assert_output --regexp '^ok [0-9-]+$'
}

@test "a client that reads nothing is dropped after --send-timeout" {
    truncate -s 50M "$ROOT/big.bin"
    start_web --path "$ROOT" --send-timeout 1
    run web_py '
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.settimeout(10)
s.connect(("127.0.0.1", PORT))
s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(3)
got, t0 = 0, time.monotonic()
while time.monotonic() - t0 < 10:
    try:
        data = s.recv(1 << 20)
    except ConnectionResetError:
        break
    if not data:
        break
    got += len(data)
assert got < 50 << 20, "the whole file came: no timeout"
print("ok")'
    assert_success
    assert_output ok
}

@test "a body over --max-body is 413 and ends the connection; one under it is dropped, the next request served" {
    start_web --path "$ROOT" --max-body 1k
    run web_py '
nxt = b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"
# Over, by its Content-Length: 413 instead of the file, then the close;
# the pipelined request is never answered.
s = connect(PORT)
f = reader(s)
s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n" + b"x" * 2048 + nxt)
r = read_response(f)
assert r.status == 413 and r.get("connection") == "close", (r.status, r.headers)
assert f.pending() == b"" and closed_within(s, 3), "not closed after 413"
# Over, chunked: the file was sent before the body passed the limit;
# the connection ends there.
s = connect(PORT)
f = reader(s)
s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
          b"320\r\n" + b"y" * 800 + b"\r\n" + b"320\r\n" + b"y" * 800 + b"\r\n0\r\n\r\n" + nxt)
r = read_response(f)
assert r.status == 200 and r.body == b"hello\n", (r.status, r.body)
assert f.pending() == b"" and closed_within(s, 3), "not closed after a chunked body over the limit"
# Exactly at the limit, both ways: dropped, and the connection goes on.
s = connect(PORT)
f = reader(s)
s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n" + b"z" * 1024 + nxt +
          b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
          b"400\r\n" + b"z" * 1024 + b"\r\n0\r\n\r\n" + nxt)
for _ in range(4):
    r = read_response(f)
    assert r.status == 200 and r.body == b"hello\n", (r.status, r.body)
assert f.pending() == b"" and not closed_within(s, 0.5), "closed"
print("ok")'
    assert_success
    assert_output ok
}

@test "a client that stops sending a body is cut off by --header-timeout" {
    start_web --path "$ROOT" --header-timeout 1
    run web_py '
import time
s = connect(PORT)
f = reader(s)
s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
r = read_response(f)
assert r.status == 200 and r.body == b"hello\n", (r.status, r.body)
t = time.monotonic()
assert closed_within(s, 5), "still open"
assert time.monotonic() - t < 4, time.monotonic() - t
print("ok")'
    assert_success
    assert_output ok
}

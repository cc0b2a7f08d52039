#!/usr/bin/env bats
# gale portforward, end to end: real clients (python3, socat) through gale
# to real targets, all on loopback.  Targets and clients are small python3
# programs written to $BATS_FILE_TMPDIR/pf.py by setup_file; every server
# announces readiness with a file, every wait is bounded.

load helpers

setup_file() {
    quick_python
    cat >"$BATS_FILE_TMPDIR/pf.py" <<'PY'
"""Targets and clients for portforward.bats.

Targets write READY (atomically) once they listen, then serve until killed.
Clients exit 0 on success and print key=value lines; on failure they print
why to stderr and exit 1.  Data is a deterministic pattern, so a reordered,
lost or doubled byte changes the digest.
"""
import argparse, asyncio, hashlib, os, random, socket, sys, threading, time

BLOCK = random.Random(1).randbytes(1 << 20)


def pattern(size, seed=0):
    """Yields size bytes in 1 MiB chunks; each chunk is stamped with its index."""
    i = 0
    while size > 0:
        chunk = (i + seed * 1000003).to_bytes(8, "big") + BLOCK[8:]
        chunk = chunk[:size]
        yield chunk
        size -= len(chunk)
        i += 1


def digest(size, seed=0):
    h = hashlib.sha256()
    for c in pattern(size, seed):
        h.update(c)
    return h.hexdigest()


def ready(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    os.rename(tmp, path)


def listen(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(4096)
    return s


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


# ---- targets ----------------------------------------------------------

def t_echo(a):
    async def handle(r, w):
        try:
            while True:
                data = await r.read(256 * 1024)
                if not data:
                    break
                w.write(data)
                await w.drain()
            w.write_eof()
            await w.drain()
        except OSError:
            pass
        w.close()

    async def main():
        srv = await asyncio.start_server(handle, sock=listen(a.host, a.port))
        ready(a.ready, a.port)
        await srv.serve_forever()

    asyncio.run(main())


def t_reply(a):
    """Reads to EOF, then answers "TAG N SHA256\\n" and a.reply pattern bytes."""
    def serve(c):
        with c:
            if a.sleep:
                time.sleep(a.sleep)
            h, n = hashlib.sha256(), 0
            while True:
                try:
                    d = c.recv(1 << 20)
                except OSError:
                    break
                if not d:
                    break
                h.update(d)
                n += len(d)
            if a.log:
                with open(a.log, "a") as f:
                    f.write("%d %s\n" % (n, h.hexdigest()))
            try:
                c.sendall(("%s %d %s\n" % (a.tag, n, h.hexdigest())).encode())
                for chunk in pattern(a.reply, 7):
                    c.sendall(chunk)
            except OSError:
                pass

    s = listen(a.host, a.port)
    ready(a.ready, a.port)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def t_first(a):
    """Speaks first: sends a.reply bytes, shuts its write side, then reads
    to EOF and appends "N SHA256" to a.log."""
    def serve(c):
        with c:
            for chunk in pattern(a.reply, 7):
                c.sendall(chunk)
            c.shutdown(socket.SHUT_WR)
            h, n = hashlib.sha256(), 0
            while True:
                d = c.recv(1 << 20)
                if not d:
                    break
                h.update(d)
                n += len(d)
            with open(a.log, "a") as f:
                f.write("%d %s\n" % (n, h.hexdigest()))

    s = listen(a.host, a.port)
    ready(a.ready, a.port)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


# ---- clients ----------------------------------------------------------

def connect(port, timeout):
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    print("client_port=%d" % c.getsockname()[1])
    return c


def recv_all(c):
    h, n, head = hashlib.sha256(), 0, b""
    while True:
        d = c.recv(1 << 20)
        if not d:
            return n, h.hexdigest(), head
        if len(head) < 4096:
            head += d[:4096 - len(head)]
        h.update(d)
        n += len(d)


def c_echo(a):
    """Sends a.size bytes while reading the echo back, both at once."""
    c = connect(a.port, 60)
    err = []

    def send():
        try:
            for chunk in pattern(a.size, 3):
                c.sendall(chunk)
            c.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(e)

    t = threading.Thread(target=send)
    t.start()
    n, sha, _ = recv_all(c)
    t.join()
    if err:
        fail("send failed: %s" % err[0])
    want = digest(a.size, 3)
    print("received=%d" % n)
    if n != a.size or sha != want:
        fail("echo differs: got %d bytes sha %s, sent %d sha %s" % (n, sha, a.size, want))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def c_request(a):
    """Sends a.size bytes, shuts the write side, checks the target's answer."""
    rss = {"max": 0}
    stop = threading.Event()
    if a.rss_pid:
        rss["start"] = rss["max"] = rss_kib(a.rss_pid)

        def watch():
            while not stop.wait(0.02):
                rss["max"] = max(rss["max"], rss_kib(a.rss_pid))
        threading.Thread(target=watch, daemon=True).start()
    c = connect(a.port, 60)
    t0 = time.monotonic()
    for chunk in pattern(a.size, 5):
        c.sendall(chunk)
    print("send_seconds=%.3f" % (time.monotonic() - t0))
    c.shutdown(socket.SHUT_WR)
    n, sha, head = recv_all(c)
    stop.set()
    print("received=%d" % n)
    if a.rss_pid:
        print("rss_start_kib=%d rss_max_kib=%d rss_growth_kib=%d"
              % (rss["start"], rss["max"], rss["max"] - rss["start"]))
    line, _, rest = head.partition(b"\n")
    want_line = "%s %d %s" % (a.tag, a.size, digest(a.size, 5))
    print("answer=%s" % line.decode(errors="replace"))
    if line.decode(errors="replace") != want_line:
        fail("target saw other bytes: %r, want %r" % (line, want_line))
    if n != len(line) + 1 + a.reply:
        fail("reply has %d bytes after the line, want %d" % (n - len(line) - 1, a.reply))
    if rest and rest != b"".join(pattern(a.reply, 7))[:len(rest)]:
        fail("reply bytes differ")


def c_eof(a):
    """Expects the connection to be closed, without data, within a.within s."""
    t0 = time.monotonic()
    c = connect(a.port, a.within)
    try:
        if not a.silent:
            c.sendall(b"hello\n")
        d = c.recv(100)
    except socket.timeout:
        fail("still open after %.1f s" % a.within)
    except OSError as e:   # a reset counts as closed
        d = b""
        print("reset=%s" % e)
    print("closed_after=%.3f" % (time.monotonic() - t0))
    if d:
        fail("got data %r" % d)


def c_trickle(a):
    """One byte every a.every s for a.seconds s, each echo checked."""
    c = connect(a.port, 10)
    end = time.monotonic() + a.seconds
    i = 0
    while time.monotonic() < end:
        b = bytes([65 + i % 26])
        c.sendall(b)
        if c.recv(1) != b:
            fail("echo %d lost" % i)
        i += 1
        time.sleep(a.every)
    c.shutdown(socket.SHUT_WR)
    if c.recv(1) != b"":
        fail("data after the echoes")
    print("bytes=%d" % i)


def c_late(a):
    """Reads the target's bytes to EOF, then sends a.size bytes and closes."""
    c = connect(a.port, 30)
    n, sha, _ = recv_all(c)
    if n != a.reply or sha != digest(a.reply, 7):
        fail("got %d bytes, want %d, or other bytes" % (n, a.reply))
    for chunk in pattern(a.size, 5):
        c.sendall(chunk)
    c.shutdown(socket.SHUT_WR)
    if c.recv(1) != b"":
        fail("data after EOF")
    c.close()
    print("want=%d %s" % (a.size, digest(a.size, 5)))


def c_reset(a):
    """Sends a.size bytes, then closes with RST (SO_LINGER 0)."""
    c = connect(a.port, 30)
    for chunk in pattern(a.size, 5):
        c.sendall(chunk)
    time.sleep(0.3)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
    c.close()


def c_many(a):
    """Opens a.n connections, holds them all, then checks one echo on each."""
    async def main():
        sem = asyncio.Semaphore(a.n)

        async def open_one(i):
            for attempt in range(50):
                try:
                    return await asyncio.open_connection("127.0.0.1", a.port)
                except OSError:
                    await asyncio.sleep(0.1)
            raise RuntimeError("connection %d: cannot connect" % i)

        conns = await asyncio.gather(*(open_one(i) for i in range(a.n)))
        print("open=%d" % len(conns))

        async def talk(i, r, w):
            msg = ("message %d of %d: %s\n" % (i, a.n, "x" * (i % 97))).encode()
            w.write(msg)
            await w.drain()
            got = await r.readexactly(len(msg))
            if got != msg:
                raise RuntimeError("connection %d: echo %r != %r" % (i, got, msg))
            return 1

        ok = await asyncio.gather(*(talk(i, r, w) for i, (r, w) in enumerate(conns)))
        print("echoed=%d" % sum(ok))
        for r, w in conns:
            w.close()
        await asyncio.gather(*(w.wait_closed() for r, w in conns), return_exceptions=True)

    try:
        asyncio.run(asyncio.wait_for(main(), a.timeout))
    except Exception as e:
        fail("%s: %s" % (type(e).__name__, e))


p = argparse.ArgumentParser()
sub = p.add_subparsers(dest="cmd", required=True)
for name, fn in (("echo", t_echo), ("reply", t_reply), ("first", t_first)):
    q = sub.add_parser(name)
    q.set_defaults(fn=fn)
    q.add_argument("host")
    q.add_argument("port", type=int)
    q.add_argument("ready")
    q.add_argument("--tag", default="ok")
    q.add_argument("--reply", type=int, default=0)
    q.add_argument("--sleep", type=float, default=0)
    q.add_argument("--log")
for name, fn in (("echo-client", c_echo), ("request", c_request), ("expect-eof", c_eof),
                 ("reset", c_reset), ("many", c_many), ("trickle", c_trickle), ("late", c_late)):
    q = sub.add_parser(name)
    q.set_defaults(fn=fn)
    q.add_argument("port", type=int)
    q.add_argument("--size", type=int, default=0)
    q.add_argument("--tag", default="ok")
    q.add_argument("--reply", type=int, default=0)
    q.add_argument("--rss-pid", type=int, default=0)
    q.add_argument("--within", type=float, default=3)
    q.add_argument("--silent", action="store_true")
    q.add_argument("--seconds", type=float, default=2)
    q.add_argument("--every", type=float, default=0.25)
    q.add_argument("-n", type=int, default=1000)
    q.add_argument("--timeout", type=float, default=60)
a = p.parse_args()
a.fn(a)
PY
}

setup() {
    common_setup
    PF="$BATS_FILE_TMPDIR/pf.py"
    LOG="$BATS_TEST_TMPDIR/gale.log"
}

teardown() {
    common_teardown
}

# ---- helpers for this file ---------------------------------------------

# target KIND HOST ARGS...: starts a pf.py target on a free port; sets TPORT.
target() {
    local kind=$1 host=$2 ready
    shift 2
    TPORT=$(free_port)
    ready="$BATS_TEST_TMPDIR/ready.$TPORT"
    python3 "$PF" "$kind" "$host" "$TPORT" "$ready" "$@" \
        >>"$BATS_TEST_TMPDIR/target.log" 2>&1 &
    track_pid $!
    wait_file "$ready"
}

# gale_forward N ARGS...: starts gale portforward and waits (at most 10 s)
# until it logs N listening forwards; no probe connection is made.
gale_forward() {
    local n=$1 i
    shift
    start_gale portforward "$@"
    for ((i = 0; i < 200; i++)); do
        [ "$(grep -c 'event=forward ' "$LOG" 2>/dev/null)" = "$n" ] && return 0
        kill -0 "$GALE_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "gale did not start $n forwards" >&2
    cat "$LOG" >&2
    return 1
}

# lo PORT: the loopback endpoint for PORT.
lo() {
    echo "tcp:$1:interface=127.0.0.1"
}

# close_line CLIENT_PORT: waits (at most 10 s) for gale's close line of the
# connection from that client port; prints it.
close_line() {
    local i line
    for ((i = 0; i < 200; i++)); do
        line=$(grep " event=close client=127.0.0.1:$1 " "$LOG" 2>/dev/null) &&
            { echo "$line"; return 0; }
        sleep 0.05
    done
    echo "no close line for client port $1 after 10 s" >&2
    return 1
}

# count_lines PATTERN N: waits (at most 20 s) until gale.log holds N lines
# matching PATTERN.
count_lines() {
    local i
    for ((i = 0; i < 400; i++)); do
        [ "$(grep -c -- "$1" "$LOG")" -ge "$2" ] && return 0
        sleep 0.05
    done
    echo "only $(grep -c -- "$1" "$LOG") lines match '$1', want $2" >&2
    return 1
}

# fd_count: how many descriptors gale holds.
fd_count() {
    ls "/proc/$GALE_PID/fd" | wc -l
}

# ---- tests --------------------------------------------------------------

@test "default options: -p PORT -d PORT forwards to localhost" {
    target reply 127.0.0.1 --tag default --reply 5
    local p
    p=$(free_port)
    gale_forward 1 -p "$p" -d "$TPORT"
    grep -Eq "event=forward listen=\"?$p\"? target=\"?localhost:$TPORT\"?( |$)" "$LOG"
    run timeout 10 socat -t5 - "TCP:127.0.0.1:$p" <<<"hello"
    assert_success
    assert_line --index 0 --regexp "^default 6 [0-9a-f]{64}$"
}

@test "100 MiB each way at once arrive byte-exact" {
    target echo 127.0.0.1
    local p
    p=$(free_port)
    gale_forward 1 -p "$(lo "$p")" -h 127.0.0.1 -d "$TPORT"
    run timeout 60 python3 "$PF" echo-client "$p" --size $((100 << 20))
    assert_success
    assert_line "received=$((100 << 20))"
    local line
    line=$(close_line "${lines[0]#client_port=}")
    [[ $line == *" to_target=$((100 << 20)) to_client=$((100 << 20)) "* ]]
}

@test "half-close: the target sees EOF and its reply still arrives in full" {
    # a shell target that answers only after EOF, behind socat
    cat >half.sh <<'EOF'
f=$(mktemp)
cat >"$f"
echo "done $(wc -c <"$f")"
rm -f "$f"
EOF
    local t p q
    t=$(free_port)
    socat "TCP-LISTEN:$t,bind=127.0.0.1,reuseaddr,fork" EXEC:"sh half.sh" &
    track_pid $!
    wait_port "$t"
    target reply 127.0.0.1 --tag done --reply $((3 << 20))
    p=$(free_port)
    q=$(free_port)
    gale_forward 2 -p "$(lo "$p")" -h 127.0.0.1 -d "$TPORT" --forward "$(lo "$q")=127.0.0.1:$t"
    run timeout 30 python3 "$PF" request "$p" --size $((1 << 20)) --tag done --reply $((3 << 20))
    assert_success
    run timeout 10 socat -t5 - "TCP:127.0.0.1:$q" < <(head -c 100000 /dev/zero)
    assert_success
    assert_output "done 100000"
}

@test "half-close from the target: its EOF reaches the client, which still sends" {
    target first 127.0.0.1 --reply $((2 << 20)) --log "$BATS_TEST_TMPDIR/seen"
    local p
    p=$(free_port)
    gale_forward 1 -p "$(lo "$p")" -h 127.0.0.1 -d "$TPORT"
    run timeout 30 python3 "$PF" late "$p" --reply $((2 << 20)) --size $((3 << 20))
    assert_success
    wait_file "$BATS_TEST_TMPDIR/seen"
    local want
    want=$(sed -n 's/^want=//p' <<<"$output")
    close_line "${lines[0]#client_port=}"
    [ "$(cat "$BATS_TEST_TMPDIR/seen")" = "$want" ]
}

@test "curl downloads a file over HTTP through the forward, byte-exact" {
    mkdir www
    head -c $((20 << 20)) /dev/urandom >www/blob
    local t p
    t=$(free_port)
    python3 -m http.server --bind 127.0.0.1 --directory www "$t" \
        >>"$BATS_TEST_TMPDIR/target.log" 2>&1 &
    track_pid $!
    wait_port "$t"
    p=$(free_port)
    gale_forward 1 -p "$(lo "$p")" -h 127.0.0.1 -d "$t"
    run timeout 30 curl -sS --max-time 25 -o got "http://127.0.0.1:$p/blob"
    assert_success
    [ "$(sha256sum <got)" = "$(sha256sum <www/blob)" ]
}

@test "unreachable target: the client is closed at once, logged, and gale goes on" {
    local p closed
    p=$(free_port)
    closed=$(free_port)
    gale_forward 1 -p "$(lo "$p")" -h 127.0.0.1 -d "$closed"
    local fds
    fds=$(fd_count)
    run timeout 10 python3 "$PF" expect-eof "$p" --within 2
    assert_success
    local cport line
    cport=${lines[0]#client_port=}
    line=$(close_line "$cport")
    [[ $line == *' error="connection refused"'* ]]
    [[ $line == *" target=127.0.0.1:$closed "* ]]
    [[ $line == *" to_target=0 to_client=0 "* ]]
    kill -0 "$GALE_PID"
    [ "$(fd_count)" = "$fds" ]
    # the same port, now with a target behind it, is served
    TPORT=$closed
    python3 "$PF" reply 127.0.0.1 "$closed" "$BATS_TEST_TMPDIR/ready.late" --tag late \
        >>"$BATS_TEST_TMPDIR/target.log" 2>&1 &
    track_pid $!
    wait_file "$BATS_TEST_TMPDIR/ready.late"
    run timeout 10 python3 "$PF" request "$p" --size 1000 --tag late
    assert_success
}

@test "a host that does not resolve closes the client and logs why" {
    # Resolving asks the machine's name server, so this runs in a network
    # namespace of its own where only loopback exists: no query leaves.
    if ! unshare -n ip link set lo up 2>/dev/null; then
        skip "no network namespace of its own (unshare -n, ip) here"
    fi
    local p
    p=$(free_port)
    cat >inner.sh <<EOF
ip link set lo up
"$GALE" portforward -p "$(lo "$p")" --host no-such-host.invalid -d 80 >>"$LOG" 2>&1 &
g=\$!
for i in \$(seq 200); do grep -q event=forward "$LOG" && break; sleep 0.05; done
python3 "$PF" expect-eof "$p" --within 10; rc=\$?
sleep 0.3
kill -0 \$g || rc=9
kill \$g; wait \$g
exit \$rc
EOF
    run timeout 30 unshare -n bash inner.sh
    assert_success
    local cport line
    cport=${lines[0]#client_port=}
    line=$(close_line "$cport")
    [[ $line == *' target=no-such-host.invalid:80 '* ]]
    [[ $line == *' error="cannot resolve no-such-host.invalid: '* ]]
}

@test "1000 connections at once, each with its own echo" {
    target echo 127.0.0.1
    local p
    p=$(free_port)
    gale_forward 1 -p "$(lo "$p")" -h 127.0.0.1 -d "$TPORT"
    local fds
    fds=$(fd_count)
    run timeout 70 python3 "$PF" many "$p" -n 1000 --timeout 60
    assert_success
    assert_line "open=1000"
    assert_line "echoed=1000"
    count_lines " event=close " 1000
    run grep -c ' error=' "$LOG"
    assert_output 0
    # every descriptor and pipe of those relays is closed again
    [ "$(fd_count)" = "$fds" ]
}

@test "several --forward in one process, each to its own target" {
    target reply 127.0.0.1 --tag first
    local ta=$TPORT tb pa pb
    target reply 127.0.0.1 --tag second
    tb=$TPORT
    pa=$(free_port)
    pb=$(free_port)
    gale_forward 2 --forward "$(lo "$pa")=127.0.0.1:$ta" --forward "$(lo "$pb")=localhost:$tb"
    sleep 0.2
    # --forward alone replaces the -p/-h/-d forward (6666 -> localhost:6665)
    run grep -c "event=forward " "$LOG"
    assert_output 2
    run timeout 10 python3 "$PF" request "$pa" --size 100 --tag first
    assert_success
    run timeout 10 python3 "$PF" request "$pb" --size 200 --tag second
    assert_success
    run timeout 10 nc -N -w 5 127.0.0.1 "$pb" <<<"through nc"
    assert_success
    assert_output --regexp "^second 11 [0-9a-f]{64}$"
    run timeout 10 python3 "$PF" request "$pa" --size 300 --tag first
    assert_success
}

@test "-p with --forward keeps the -p/-h/-d forward too" {
    target reply 127.0.0.1 --tag classic
    local tc=$TPORT pc pf
    target reply 127.0.0.1 --tag extra
    pc=$(free_port)
    pf=$(free_port)
    gale_forward 2 -p "$(lo "$pc")" -h 127.0.0.1 -d "$tc" --forward "$(lo "$pf")=127.0.0.1:$TPORT"
    run timeout 10 python3 "$PF" request "$pc" --size 10 --tag classic
    assert_success
    run timeout 10 python3 "$PF" request "$pf" --size 10 --tag extra
    assert_success
}

@test "IPv6 target: -h ::1 and --forward ...=[::1]:PORT" {
    if ! python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
        skip "this machine has no ::1"
    fi
    target reply ::1 --tag six --reply 1000
    local p q
    p=$(free_port)
    q=$(free_port)
    gale_forward 2 -p "$(lo "$p")" -h ::1 -d "$TPORT" --forward "$(lo "$q")=[::1]:$TPORT"
    run timeout 10 python3 "$PF" request "$p" --size 5000 --tag six --reply 1000
    assert_success
    local line
    line=$(close_line "${lines[0]#client_port=}")
    [[ $line == *" target=[::1]:$TPORT "* ]]
    run timeout 10 python3 "$PF" request "$q" --size 6000 --tag six --reply 1000
    assert_success
    line=$(close_line "${lines[0]#client_port=}")
    [[ $line == *" target=[::1]:$TPORT "* ]]
}

@test "backpressure: 50 MiB to a target that reads late, gale's memory stays flat" {
    target reply 127.0.0.1 --tag late --sleep 2
    local p
    p=$(free_port)
    gale_forward 1 -p "$(lo "$p")" -h 127.0.0.1 -d "$TPORT"
    run timeout 60 python3 "$PF" request "$p" --size $((50 << 20)) --tag late --rss-pid "$GALE_PID"
    echo "$output"
    assert_success
    local growth
    growth=$(sed -n 's/.*rss_growth_kib=\([0-9]*\).*/\1/p' <<<"$output")
    [ -n "$growth" ]
    [ "$growth" -lt $((20 * 1024)) ]
    # the sender was held back while the target slept
    local secs
    secs=$(sed -n 's/^send_seconds=//p' <<<"$output")
    python3 -c "import sys; sys.exit(0 if float('$secs') >= 1.5 else 1)"
}

@test "a client that resets mid-stream: the target is closed, gale goes on" {
    target reply 127.0.0.1 --tag r --log "$BATS_TEST_TMPDIR/seen"
    local p
    p=$(free_port)
    gale_forward 1 -p "$(lo "$p")" -h 127.0.0.1 -d "$TPORT"
    run timeout 10 python3 "$PF" reset "$p" --size 100000
    assert_success
    wait_file "$BATS_TEST_TMPDIR/seen"
    close_line "${lines[0]#client_port=}"
    run timeout 10 python3 "$PF" request "$p" --size 10 --tag r
    assert_success
}

@test "--idle-timeout closes a silent connection, not a slow one" {
    target echo 127.0.0.1
    local p line
    p=$(free_port)
    gale_forward 1 -p "$(lo "$p")" -h 127.0.0.1 -d "$TPORT" --idle-timeout 1
    run timeout 20 python3 "$PF" trickle "$p" --seconds 2.5 --every 0.25
    assert_success
    line=$(close_line "${lines[0]#client_port=}")
    [[ $line != *error=* ]]
    run timeout 20 python3 "$PF" expect-eof "$p" --silent --within 5
    assert_success
    local secs
    secs=$(sed -n 's/^closed_after=//p' <<<"$output")
    python3 -c "import sys; sys.exit(0 if 0.9 <= float('$secs') <= 4 else 1)"
    line=$(close_line "${lines[0]#client_port=}")
    [[ $line == *' error="idle timeout"'* ]]
}

@test "the close line: client, target and byte counts each way" {
    target reply 127.0.0.1 --tag n --reply 54321
    local p
    p=$(free_port)
    gale_forward 1 -p "$(lo "$p")" -h 127.0.0.1 -d "$TPORT"
    run timeout 10 python3 "$PF" request "$p" --size 12345 --tag n --reply 54321
    assert_success
    local cport received line
    cport=${lines[0]#client_port=}
    received=$(sed -n 's/^received=//p' <<<"$output")
    line=$(close_line "$cport")
    echo "$line"
    [[ $line =~ \ info\ portforward:\ id=[0-9]+\ event=close\ client=127\.0\.0\.1:$cport\ target=127\.0\.0\.1:$TPORT\ to_target=12345\ to_client=$received\ duration=[0-9]+\.[0-9]{3}$ ]]
}

@test "--connect-timeout against a target that never answers" {
    skip "needs a SYN that is never answered, which loopback cannot give without sending traffic elsewhere"
}

#!/usr/bin/env bats
# gale pycached's JSON protocol, end to end: a python3 client (written to
# $BATS_FILE_TMPDIR/jc.py by setup_file) speaks it over loopback to
# `gale pycached --port tcp:P1 --http tcp:P2` on free ports.  Replies are
# compared as the exact lines the server sends, so spacing counts.  Every
# read has a deadline; every server is stopped by pid in teardown.

load helpers

setup_file() {
    # The python3 on PATH may be a slow shim: use the interpreter itself.
    mkdir -p "$BATS_FILE_TMPDIR/bin"
    ln -sf /usr/bin/python3 "$BATS_FILE_TMPDIR/bin/python3"
    export PATH="$BATS_FILE_TMPDIR/bin:$PATH"
    cat >"$BATS_FILE_TMPDIR/jc.py" <<'PY'
"""A client for pycached_json.bats.

  jc.py ask PORT N [--pause S] [--eof] [--after open|closed] CHUNK...
      sends each CHUNK (raw bytes of the argument; pausing S seconds
      between chunks), half-closes with --eof, prints the first N reply
      lines; --after open then checks that the connection still answers,
      --after closed that the server closes it (prints OPEN or CLOSED).
  jc.py original PORT       the original project's python client
  jc.py pipeline PORT N     N sets and N gets in one send each
  jc.py slowreader PORT     big replies to a client that reads late
  jc.py huge PORT SIZE      a set of SIZE bytes sent whole: the reply line,
                            then whether the server closes
Exits 1 with a message on stderr when a reply is late or wrong.
"""
import json, os, socket, sys, time

DEADLINE = 10.0


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def connect(port):
    return socket.create_connection(("127.0.0.1", int(port)), timeout=DEADLINE)


class Lines:
    def __init__(self, sock):
        self.s, self.buf = sock, b""

    def read(self, n):
        end = time.monotonic() + DEADLINE
        out = []
        while len(out) < n:
            while b"\n" in self.buf and len(out) < n:
                line, self.buf = self.buf.split(b"\n", 1)
                out.append(line)
            if len(out) == n:
                break
            left = end - time.monotonic()
            if left <= 0:
                fail("only %d of %d replies in %.0f s" % (len(out), n, DEADLINE))
            self.s.settimeout(left)
            d = self.s.recv(1 << 20)
            if not d:
                fail("closed after %d of %d replies" % (len(out), n))
            self.buf += d
        return out

    def closed(self):
        """True when the server closes within 5 s (after any data)."""
        end = time.monotonic() + 5
        while time.monotonic() < end:
            self.s.settimeout(max(0.01, end - time.monotonic()))
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                return False
            except ConnectionResetError:
                return True
            if not d:
                return True
        return False


def ask(args):
    port, n = args[0], int(args[1])
    pause, eof, after, chunks = 0.0, False, None, []
    i = 2
    while i < len(args):
        a = args[i]
        if a == "--pause":
            pause, i = float(args[i + 1]), i + 2
        elif a == "--eof":
            eof, i = True, i + 1
        elif a == "--after":
            after, i = args[i + 1], i + 2
        else:
            chunks.append(os.fsencode(a))
            i += 1
    s = connect(port)
    lines = Lines(s)
    for k, c in enumerate(chunks):
        if k and pause:
            time.sleep(pause)
        s.sendall(c)
    if eof:
        s.shutdown(socket.SHUT_WR)
    for line in lines.read(n):
        sys.stdout.buffer.write(line + b"\n")
    if after == "open":
        s.sendall(b'{"command": "version"}')
        got = lines.read(1)[0]
        print("OPEN" if got.startswith(b'{"status": "ok", "value": "') else "WRONG " + repr(got))
    elif after == "closed":
        print("CLOSED" if lines.closed() else "OPEN")


class PyCachedClient:
    """The original project's client (client/python/client.py), in
    Python 3: json.dumps with no newline, one recv(1024), json.loads."""

    def __init__(self, port):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.settimeout(DEADLINE)
        self.s.connect(("127.0.0.1", int(port)))

    def _receive(self):
        received = self.s.recv(1024)
        decoded = json.loads(received.decode().rstrip("\n"))
        self.last = decoded
        return decoded["value"] if "value" in decoded else None

    def _send(self, command, options={}):
        request = {"command": command}
        request.update(options)
        self.s.sendall(json.dumps(request).encode())

    def call(self, command, **options):
        self._send(command, options)
        return self._receive()


def original(args):
    c = PyCachedClient(args[0])
    t0 = int(time.time())
    checks = []
    def check(ok, what):
        checks.append(what)
        if not ok:
            fail("original client: %s (last reply %r)" % (what, c.last))
    v = c.call("version")
    check(isinstance(v, str) and v, "version is a string")
    check(c.call("clear") is None and c.last == {"status": "ok"}, "clear gives no value")
    check(c.call("set", key="name", value="Ada") is None, "set gives no value")
    check(c.call("set", key="list", value=[1, "two", {"3": None}]) is None, "set a list")
    check(c.call("get", key="name") == "Ada", "get gives the value")
    check(c.call("get", key="name") == "Ada", "get again")
    check(c.call("get", key="list") == [1, "two", {"3": None}], "get a list back")
    check(c.call("count") == 2, "count is 2")
    items = c.call("items")
    check(isinstance(items, dict) and set(items) == {"name", "list"}, "items has both keys")
    name = items["name"]
    check(isinstance(name, list) and len(name) == 3 and name[0] == "Ada", "[value, time, reads]")
    check(isinstance(name[1], int) and abs(name[1] - t0) <= 5, "time_set is unix seconds")
    check(name[2] == 2 and items["list"][2] == 1, "reads are counted")
    st = c.call("status")
    check(isinstance(st, dict) and isinstance(st["uptime"], float) and st["uptime"] >= 0,
          "status has an uptime")
    check(c.call("delete", key="name") is None, "delete gives no value")
    check(c.call("get", key="name") is None and c.last["status"] == "error", "gone after delete")
    check(c.call("count") == 1, "count is 1")
    print("original client: %d checks passed" % len(checks))


def pipeline(args):
    port, n = args[0], int(args[1])
    s = connect(port)
    lines = Lines(s)
    sets = b"".join(json.dumps({"command": "set", "key": "k%d" % i, "value": i}).encode()
                    for i in range(n))
    s.sendall(sets)
    got = lines.read(n)
    if any(g != b'{"status": "ok"}' for g in got):
        fail("a set failed: %r" % [g for g in got if g != b'{"status": "ok"}'][:3])
    gets = b"\n".join(json.dumps({"command": "get", "key": "k%d" % i}).encode()
                      for i in range(n)) + b"\n"
    s.sendall(gets)
    for i, g in enumerate(lines.read(n)):
        if g != b'{"status": "ok", "value": %d}' % i:
            fail("reply %d out of order or wrong: %r" % (i, g))
    print("pipelined %d sets and %d gets in order" % (n, n))


def slowreader(args):
    """100 gets of a 100 KB value sent at once; read only after 1 s."""
    s = connect(args[0])
    lines = Lines(s)
    big = "x" * 100000
    s.sendall(json.dumps({"command": "set", "key": "big", "value": big}).encode())
    lines.read(1)
    s.sendall(b'{"command": "get", "key": "big"}' * 100 + b'{"command": "count"}')
    time.sleep(1)
    want = b'{"status": "ok", "value": "' + big.encode() + b'"}'
    got = lines.read(101)
    if any(g != want for g in got[:100]) or got[100] != b'{"status": "ok", "value": 1}':
        fail("a reply was lost or changed")
    print("101 replies in order, 10 MB read late")


def huge(args):
    s = connect(args[0])
    lines = Lines(s)
    req = b'{"command": "set", "key": "k", "value": "' + b"x" * int(args[1]) + b'"}'
    try:
        s.sendall(req)
    except OSError as e:
        fail("the server reset the connection while the request was sent: %s" % e)
    print(lines.read(1)[0].decode())
    print("CLOSED" if lines.closed() else "OPEN")


{"ask": ask, "original": original, "pipeline": pipeline,
 "slowreader": slowreader, "huge": huge}[sys.argv[1]](sys.argv[2:])
PY
}

setup() {
    common_setup
    JC="$BATS_FILE_TMPDIR/jc.py"
}

teardown() {
    common_teardown
}

# ---- helpers for this file ---------------------------------------------

# start_pyc [ARGS...]: gale pycached on free loopback ports P1 (JSON) and
# P2 (HTTP), with ARGS; returns once the JSON port listens.
start_pyc() {
    P1=$(free_port)
    P2=$(free_port)
    start_gale pycached --port "tcp:$P1" --http "tcp:$P2" "$@"
    wait_port "$P1"
}

# ask N [jc.py ask options] CHUNK...: the first N reply lines.
ask() {
    timeout 30 python3 "$JC" ask "$P1" "$@"
}

ok_value() {
    printf '{"status": "ok", "value": %s}' "$1"
}

err_line() {
    printf '{"status": "error", "error": "%s"}' "$1"
}

OK='{"status": "ok"}'

# ---- the commands ---------------------------------------------------------

@test "version: gale's version as a string" {
    start_pyc
    want=$("$GALE" --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n1)
    run ask 1 '{"command": "version"}'
    assert_success
    assert_output "$(ok_value "\"$want\"")"
}

@test "set, get, count, delete, clear: each reply as json.dumps writes it" {
    start_pyc
    run ask 12 '{"command": "count"}' '{"command": "set", "key": "a", "value": "x"}' \
        '{"command": "set", "key": "b", "value": 2}' '{"command": "get", "key": "a"}' \
        '{"command": "count"}' '{"command": "delete", "key": "a"}' \
        '{"command": "get", "key": "a"}' '{"command": "delete", "key": "a"}' \
        '{"command": "count"}' '{"command": "clear"}' '{"command": "count"}' \
        '{"command": "get", "key": "b"}'
    assert_success
    assert_line --index 0 "$(ok_value 0)"
    assert_line --index 1 "$OK"
    assert_line --index 2 "$OK"
    assert_line --index 3 "$(ok_value '"x"')"
    assert_line --index 4 "$(ok_value 2)"
    assert_line --index 5 "$OK"
    assert_line --index 6 "$(err_line 'no such key: a')"
    assert_line --index 7 "$(err_line 'no such key: a')"
    assert_line --index 8 "$(ok_value 1)"
    assert_line --index 9 "$OK"
    assert_line --index 10 "$(ok_value 0)"
    assert_line --index 11 "$(err_line 'no such key: b')"
}

@test "items: {key: [value, time_set, reads]} in unix seconds" {
    start_pyc
    now=$(date +%s)
    run ask 5 '{"command": "items"}' '{"command":"set","key":"k","value":[1,{"a":null}]}' \
        '{"command":"get","key":"k"}' '{"command":"get","key":"k"}' '{"command": "items"}'
    assert_success
    assert_line --index 0 "$(ok_value '{}')"
    assert_line --index 3 "$(ok_value '[1,{"a":null}]')"
    [[ ${lines[4]} =~ ^\{\"status\":\ \"ok\",\ \"value\":\ \{\"k\":\ \[\[1,\{\"a\":null\}\],\ ([0-9]+),\ 2\]\}\}$ ]]
    t=${BASH_REMATCH[1]}
    (( t >= now - 2 && t <= now + 5 ))
}

@test "status: the uptime in seconds" {
    start_pyc
    sleep 1
    run ask 1 '{"command": "status"}'
    assert_success
    [[ $output =~ ^\{\"status\":\ \"ok\",\ \"value\":\ \{\"uptime\":\ ([0-9]+)\.[0-9]+\}\}$ ]]
    (( BASH_REMATCH[1] >= 1 && BASH_REMATCH[1] < 60 ))
}

@test "every JSON type is given back as it was sent" {
    start_pyc
    vals=('"text"' '-12.5e3' '0' '{"a": [1, 2], "b": {"c": "d"}}' '[]' '[1,"two",[3]]' \
          'true' 'false' 'null' '{}' '  "spaced"  ')
    for v in "${vals[@]}"; do
        run ask 2 "{\"command\": \"set\", \"key\": \"v\", \"value\": $v}" \
            '{"command": "get", "key": "v"}'
        assert_success
        assert_line --index 0 "$OK"
        trimmed=${v#  }
        assert_line --index 1 "$(ok_value "${trimmed%  }")"
    done
}

@test "unicode and escapes: keys decode, values stay as sent" {
    start_pyc
    run ask 6 '{"command":"set","key":"cl\u00e9 \u2603","value":"\u00e9\n\"q\" \ud83d\ude00 é"}' \
        '{"command":"get","key":"clé ☃"}' \
        '{"command":"set","key":"tab\there","value":1}' \
        '{"command":"get","key":"tab\u0009here"}' \
        '{"command":"set","key":"\ud83d\ude00","value":"😀"}' \
        '{"command":"items"}'
    assert_success
    assert_line --index 1 "$(ok_value '"\u00e9\n\"q\" \ud83d\ude00 é"')"
    assert_line --index 3 "$(ok_value 1)"
    assert_line --index 5 --partial '"clé ☃": ["\u00e9\n\"q\" \ud83d\ude00 é", '
    assert_line --index 5 --partial '"tab\there": [1, '
    assert_line --index 5 --partial '"😀": ["😀", '
}

@test "ttl: an item expires after its seconds" {
    start_pyc
    run ask 4 '{"command":"set","key":"short","value":1,"ttl":1}' \
        '{"command":"set","key":"long","value":2,"ttl":60}' \
        '{"command":"get","key":"short"}' '{"command":"count"}'
    assert_success
    assert_line --index 2 "$(ok_value 1)"
    assert_line --index 3 "$(ok_value 2)"
    sleep 2.2
    run ask 3 '{"command":"get","key":"short"}' '{"command":"get","key":"long"}' \
        '{"command":"count"}'
    assert_success
    assert_line --index 0 "$(err_line 'no such key: short')"
    assert_line --index 1 "$(ok_value 2)"
    assert_line --index 2 "$(ok_value 1)"
}

@test "a value set through memcached comes back as a JSON string" {
    P3=$(free_port)
    start_pyc --memcached "tcp:$P3"
    wait_port "$P3"
    run bash -c "printf 'set raw 0 0 7\r\na\"b\\\\c\r\n\r\n' | timeout 10 socat -T 2 - TCP:127.0.0.1:$P3"
    assert_output --partial STORED
    run ask 2 '{"command":"get","key":"raw"}' '{"command":"items"}'
    assert_success
    assert_line --index 0 "$(ok_value '"a\"b\\c\r\n"')"
    assert_line --index 1 --regexp '^\{"status": "ok", "value": \{"raw": \["a\\"b\\\\c\\r\\n", [0-9]+, 1\]\}\}$'
}

# ---- framing ----------------------------------------------------------------

@test "framing: no newline, newlines, CRLF, and several requests in one send" {
    start_pyc
    run ask 5 $'{"command": "count"}{"command": "count"}\n{"command": "count"}\r\n  \n{"command":"count"}\t{"command":"count"}'
    assert_success
    assert_equal "$(printf '%s\n' "${lines[@]}" | sort -u)" "$(ok_value 0)"
    assert_equal "${#lines[@]}" 5
}

@test "framing: a request split across reads, inside strings and escapes too" {
    start_pyc
    run ask 3 --pause 0.2 '{"comm' 'and": "se' 't", "key": "k\' 'u00e9", "value": {"a": "}' \
        '\\' '\"{[" }  }' $'\n{"command": "get", ' '"key": "ké"}' '{' '"command"' ':' '"count"' '}'
    assert_success
    assert_line --index 0 "$OK"
    assert_line --index 1 "$(ok_value '{"a": "}\\\"{[" }')"
    assert_line --index 2 "$(ok_value 1)"
}

@test "framing: 300 pipelined sets and gets answered in order" {
    start_pyc
    run timeout 60 python3 "$JC" pipeline "$P1" 300
    assert_success
    assert_output "pipelined 300 sets and 300 gets in order"
}

@test "backpressure: replies to a client that reads late all arrive, in order" {
    start_pyc
    run timeout 60 python3 "$JC" slowreader "$P1"
    assert_success
    assert_output "101 replies in order, 10 MB read late"
}

@test "framing: a half-closed connection gets its replies, then is closed" {
    start_pyc
    run ask 2 --eof --after closed '{"command":"count"}' '{"command":"count"'
    assert_success
    assert_line --index 0 "$(ok_value 0)"
    assert_line --index 1 "$(err_line 'invalid JSON: unexpected end of the request')"
    assert_line --index 2 CLOSED
    run ask 1 --eof --after closed '42'
    assert_line --index 0 "$(err_line 'a request must be a JSON object')"
    assert_line --index 1 CLOSED
}

# ---- errors ---------------------------------------------------------------

# bad REQUEST MESSAGE: REQUEST gets MESSAGE and the connection goes on.
bad() {
    run ask 1 --after open "$1"
    assert_success
    assert_line --index 0 "$(err_line "$2")"
    assert_line --index 1 OPEN
}

@test "errors: every message, and the connection stays usable" {
    start_pyc
    bad '{"command": "get", "key": "nope"}' 'no such key: nope'
    bad '{"command": "delete", "key": "nope"}' 'no such key: nope'
    bad '{"command": "fly"}' 'unknown command: fly (the commands are version, count, clear, items, status, get, set, delete)'
    bad '{"key": "k"}' 'missing argument \"command\"'
    bad '{"command": "get"}' 'missing argument \"key\" for get'
    bad '{"command": "delete"}' 'missing argument \"key\" for delete'
    bad '{"command": "set", "key": "k"}' 'missing argument \"value\" for set'
    bad '{"command": "set", "value": 1}' 'missing argument \"key\" for set'
    bad '{"command": 7}' '\"command\" must be a string, not a number'
    bad '{"command": "get", "key": ["k"]}' '\"key\" must be a string, not an array'
    bad '{"command": "set", "key": "k", "value": 1, "ttl": "5"}' '\"ttl\" must be a number, not a string'
    bad '{"command": "set", "key": "k", "value": 1, "ttl": 1e99}' 'ttl must be a number of seconds up to 315360000'
    bad '{"command": "get", "key": ""}' 'a key must be 1 to 250 bytes'
    bad "{\"command\": \"get\", \"key\": \"$(printf 'k%.0s' {1..251})\"}" 'a key must be 1 to 250 bytes'
    bad "{\"command\": \"get\", \"key\": \"$(printf '\\u00e9%.0s' {1..200})\"}" 'a key must be 1 to 250 bytes'
    bad '{"command": "get", "key": "k", "key": "j"}' 'duplicate member \"key\"'
    bad '{"command": "get", "colour": "red"}' 'unknown member \"colour\"'
    bad '{"command": "get", "key": "k",}' 'invalid JSON at byte 30: expected a member name'
    bad '{"command": "get" "key": "k"}' "invalid JSON at byte 18: expected ',' or '}'"
    bad '{"command": "set", "key": "k", "value": tru}' 'invalid JSON at byte 40: unexpected character'
    bad '{"command": "set", "key": "k", "value": "\x"}' 'invalid JSON at byte 40: invalid escape in a string'
    bad '{"command": "set", "key": "k", "value": "\ud800"}' 'invalid JSON at byte 40: unpaired surrogate in a string'
    bad $'{"command": "set", "key": "k", "value": "\xff"}' 'invalid JSON at byte 40: invalid UTF-8 in a string'
    bad '[1, 2]' 'a request must be a JSON object'
    bad '"count"' 'a request must be a JSON object'
    bad $'hello\n' 'a request must be a JSON object'
    bad "{\"command\": \"set\", \"key\": \"k\", \"value\": $(printf '[%.0s' {1..70})$(printf ']%.0s' {1..70})}" 'invalid JSON at byte 103: nested too deeply'
}

@test "errors: a value over --max-item-size is refused, the connection goes on" {
    start_pyc --max-item-size 1k
    v=$(head -c 2000 /dev/zero | tr '\0' x)
    run ask 2 --after open "{\"command\": \"set\", \"key\": \"k\", \"value\": \"$v\"}" \
        '{"command": "count"}'
    assert_success
    assert_line --index 0 "$(err_line 'value too large: 2002 bytes, the limit is 1024 bytes')"
    assert_line --index 1 "$(ok_value 0)"
    assert_line --index 2 OPEN
}

@test "errors: a request too large to frame is answered, then closed" {
    start_pyc --max-item-size 1k
    v=$(head -c 20000 /dev/zero | tr '\0' x)
    run ask 2 --after closed '{"command": "count"}' "{\"command\": \"set\", \"key\": \"k\", \"value\": \"$v\"}"
    assert_success
    assert_line --index 0 "$(ok_value 0)"
    assert_line --index 1 --regexp '^\{"status": "error", "error": "request too large: the limit is [0-9]+ bytes"\}$'
    assert_line --index 2 CLOSED
    # The server itself goes on.
    run ask 1 '{"command": "count"}'
    assert_line --index 0 "$(ok_value 0)"
    # Megabytes more after the limit: read and thrown away, not a reset,
    # so the client still gets the reply.
    run timeout 30 python3 "$JC" huge "$P1" 5000000
    assert_success
    assert_line --index 0 --regexp '^\{"status": "error", "error": "request too large: the limit is [0-9]+ bytes"\}$'
    assert_line --index 1 CLOSED
}

# ---- the original client ---------------------------------------------------

@test "the original project's python client works unchanged" {
    start_pyc
    run timeout 30 python3 "$JC" original "$P1"
    assert_success
    assert_output --regexp '^original client: [0-9]+ checks passed$'
}

@test "many clients at once each get their own replies" {
    start_pyc
    pids=()
    for i in 1 2 3 4 5 6; do
        timeout 60 python3 "$JC" pipeline "$P1" 200 >"$BATS_TEST_TMPDIR/c$i.out" 2>&1 &
        pids+=($!)
    done
    for p in "${pids[@]}"; do
        wait "$p"
    done
    for i in 1 2 3 4 5 6; do
        run cat "$BATS_TEST_TMPDIR/c$i.out"
        assert_output "pipelined 200 sets and 200 gets in order"
    done
}

@test "TLS: an ssl: endpoint answers pipelined requests in order" {
    openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 \
        -keyout key.pem -out cert.pem 2>/dev/null
    P1=$(free_port)
    P2=$(free_port)
    start_gale pycached --port "ssl:$P1:privateKey=$PWD/key.pem:certKey=$PWD/cert.pem" \
        --http "tcp:$P2"
    wait_port "$P1"
    run timeout 20 python3 -c '
import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10))
s.sendall(b"{\"command\": \"set\", \"key\": \"k\", \"value\": \"v\"}\n"
          b"{\"command\": \"get\", \"key\": \"k\"}{\"command\": \"nope\"}")
f = s.makefile("rb")
for _ in range(3):
    sys.stdout.write(f.readline().decode())
' "$P1"
    assert_success
    assert_line --index 0 "$OK"
    assert_line --index 1 "$(ok_value '"v"')"
    assert_line --index 2 --partial '"status": "error"'
}

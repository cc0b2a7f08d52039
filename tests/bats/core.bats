#!/usr/bin/env bats
# The shared core, seen through portforward: pidfiles, --daemon, logs
# (reopen, JSON, levels), privilege drop, unix, ssl and systemd
# endpoints, graceful shutdown, sd_notify and dual-stack listening.

bats_require_minimum_version 1.5.0

load helpers

setup_file() {
    quick_python
}

setup() {
    common_setup
    TARGET=$(free_port)
    PORT=$(free_port)
    while [ "$PORT" = "$TARGET" ]; do PORT=$(free_port); done
    start_echo "$TARGET"
    FWD=(-h 127.0.0.1 -d "$TARGET")
    EP=tcp:$PORT:interface=127.0.0.1
}

teardown() {
    common_teardown
}

# pf [GLOBAL OPTIONS] [-- PORTFORWARD OPTIONS]: starts gale (start_gale)
# forwarding to the echo target, listening on $EP unless -p is given.
# Callers wait for it to listen.
pf() {
    local globals=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        globals+=("$1")
        shift
    done
    if [ $# -gt 0 ]; then
        shift
    fi
    local args=("$@")
    [[ " ${args[*]} " == *" -p "* ]] || args=(-p "$EP" "${args[@]}")
    start_gale "${globals[@]}" portforward "${FWD[@]}" "${args[@]}"
}

# stop_gale PID: SIGTERM, then until it is gone; sets EXIT to its status.
stop_gale() {
    kill -TERM "$1"
    wait_gone "$1"
    EXIT=0
    wait "$1" || EXIT=$?
}

# hold.py HOST PORT DIR: connects, has "first" echoed, writes DIR/held;
# then waits (at most 20 s) for DIR/go, has "second" echoed and writes
# what came back (or the error) to DIR/second; closes.
write_holder() {
    cat >"$BATS_TEST_TMPDIR/hold.py" <<'PY'
import os, socket, sys, time
host, port, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def put(name, text):
    with open(os.path.join(d, name + ".tmp"), "w") as f:
        f.write(text)
    os.rename(os.path.join(d, name + ".tmp"), os.path.join(d, name))
def echo(s, msg):
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    return got.decode()
s = socket.create_connection((host, port), 5)
s.settimeout(5)
put("held", echo(s, b"first"))
for _ in range(400):
    if os.path.exists(os.path.join(d, "go")):
        break
    time.sleep(0.05)
else:
    sys.exit(3)
try:
    put("second", echo(s, b"second"))
except OSError as e:
    put("second", "error: %r" % e)
s.close()
PY
}

# --- pidfile -------------------------------------------------------------

@test "pidfile: holds the pid while running and is removed on SIGTERM" {
    pf --pidfile "$BATS_TEST_TMPDIR/gale.pid"
    wait_port "$PORT"
    assert_equal "$(cat "$BATS_TEST_TMPDIR/gale.pid")" "$GALE_PID"
    run through pid "TCP:127.0.0.1:$PORT"
    assert_output pid
    stop_gale "$GALE_PID"
    assert_equal "$EXIT" 0
    assert_file_not_exists "$BATS_TEST_TMPDIR/gale.pid"
}

@test "pidfile: a second instance refuses, naming the running pid; the first runs on" {
    local pidf=$BATS_TEST_TMPDIR/gale.pid
    pf --pidfile "$pidf"
    wait_port "$PORT"
    local first=$GALE_PID
    local port2
    port2=$(free_port)
    run --separate-stderr timeout 5 "$GALE" --pidfile "$pidf" portforward "${FWD[@]}" \
        -p "tcp:$port2:interface=127.0.0.1"
    assert [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]
    [[ $stderr == *"$first"* ]]
    refused "$port2"
    kill -0 "$first"
    assert_equal "$(cat "$pidf")" "$first"
    run through still-here "TCP:127.0.0.1:$PORT"
    assert_output still-here
}

@test "pidfile: a stale one with a dead pid is taken over" {
    local pidf=$BATS_TEST_TMPDIR/gale.pid
    sh -c 'echo $$' >"$pidf"    # the pid of a process that has exited
    pf --pidfile "$pidf"
    wait_port "$PORT"
    assert_equal "$(cat "$pidf")" "$GALE_PID"
    stop_gale "$GALE_PID"
    assert_file_not_exists "$pidf"

    printf '999999\n' >"$pidf"
    pf --pidfile "$pidf"
    wait_port "$PORT"
    assert_equal "$(cat "$pidf")" "$GALE_PID"
    run through taken-over "TCP:127.0.0.1:$PORT"
    assert_output taken-over
}

# --- --daemon ------------------------------------------------------------

@test "--daemon: returns once listening; detached; SIGTERM removes the pidfile" {
    local pidf=$BATS_TEST_TMPDIR/d.pid status=0
    timeout 10 "$GALE" --daemon --pidfile "$pidf" portforward "${FWD[@]}" -p "$EP" \
        >out 2>err || status=$?
    local pid
    pid=$(cat "$pidf" 2>/dev/null) || true
    [ -n "$pid" ] && track_pid "$pid"
    assert_equal "$status" 0
    # No waiting: it must accept the moment the command has returned.
    run through at-once "TCP:127.0.0.1:$PORT"
    assert_output at-once
    assert_equal "$(cat out err)" ""
    kill -0 "$pid"
    local ppid sid
    ppid=$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status")
    sid=$(awk '{ print $6 }' "/proc/$pid/stat")
    assert [ "$ppid" != "$$" ]
    assert [ "$ppid" != "$BASHPID" ]
    assert_equal "$sid" "$pid"          # its own session: no terminal
    assert_equal "$(readlink "/proc/$pid/fd/0")" /dev/null
    assert_equal "$(readlink "/proc/$pid/fd/1")" /dev/null
    assert_equal "$(readlink "/proc/$pid/fd/2")" /dev/null
    kill -TERM "$pid"
    wait_exited "$pid"
    untrack_pid "$pid"
    assert_file_not_exists "$pidf"
    refused "$PORT"
}

@test "--daemon: a port in use makes it fail with the reason on stderr" {
    local pidf=$BATS_TEST_TMPDIR/d.pid status=0
    # The echo target holds $TARGET.
    timeout 10 "$GALE" --daemon --pidfile "$pidf" portforward "${FWD[@]}" \
        -p "tcp:$TARGET:interface=127.0.0.1" >out 2>err || status=$?
    cat err
    assert [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]
    grep -q "in use" err
    assert_file_not_exists "$pidf"
    run pgrep -f -- "-p tcp:$TARGET:interface=127.0.0.1"
    assert_failure
}

# --- logs ----------------------------------------------------------------

@test "SIGHUP reopens the log file" {
    local log=$BATS_TEST_TMPDIR/pf.log
    pf -l "$log"
    wait_port "$PORT"
    run through before "TCP:127.0.0.1:$PORT"
    wait_grep 'event=close' "$log"
    mv "$log" "$log.1"
    kill -HUP "$GALE_PID"
    wait_file "$log"
    run through after "TCP:127.0.0.1:$PORT"
    assert_output after
    wait_grep 'event=close .* to_target=5 to_client=5' "$log"
    grep -q 'event=close .* to_target=6 to_client=6' "$log.1"
}

@test "--log-format json: every line is a JSON object; the close line has its fields" {
    local log=$BATS_TEST_TMPDIR/pf.json
    pf --log-format json -l "$log"
    wait_port "$PORT"
    run through json "TCP:127.0.0.1:$PORT"
    assert_output json
    wait_grep '"event": ?"close"' "$log"
    stop_gale "$GALE_PID"
    run python3 - "$log" "$TARGET" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines, "empty log"
objs = [json.loads(l) for l in lines]
for o in objs:
    assert isinstance(o, dict), o
    for k in ("time", "level", "server"):
        assert k in o, (k, o)
    assert o["server"] == "portforward", o
# wait_port's probe made a connection of its own, with no bytes.
close = [o for o in objs if o.get("event") == "close" and str(o.get("to_target")) != "0"]
assert len(close) == 1, close
c = close[0]
for k in ("id", "event", "client", "target", "to_target", "to_client"):
    assert k in c, (k, c)
assert c["level"] == "info", c
assert c["client"].startswith("127.0.0.1:"), c
assert c["target"] == "127.0.0.1:" + sys.argv[2], c
assert str(c["to_target"]) == "4" and str(c["to_client"]) == "4", c
print("ok")
PY
    assert_success
    assert_output ok
}

@test "--log-format json: a value with a space in it stays one value" {
    local dir="$BATS_TEST_TMPDIR/with space" log=$BATS_TEST_TMPDIR/pf.json
    mkdir "$dir"
    pf --log-format json -l "$log" -- -p "unix:$dir/s.sock"
    wait_grep '"event": ?"forward"' "$log"
    run python3 - "$log" "unix:$dir/s.sock" "127.0.0.1:$TARGET" <<'PY'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]).read().splitlines()]
listen = [o for o in objs if o.get("event") == "listen"]
forward = [o for o in objs if o.get("event") == "forward"]
assert listen and listen[0].get("endpoint") == sys.argv[2], listen
assert forward and forward[0].get("listen") == sys.argv[2], forward
assert forward[0].get("target") == sys.argv[3], forward
print("ok")
PY
    assert_success
    assert_output ok
}

@test "-v logs debug lines" {
    local log=$BATS_TEST_TMPDIR/pf.log
    pf -v -l "$log"
    wait_port "$PORT"
    run through verbose "TCP:127.0.0.1:$PORT"
    wait_grep 'event=close' "$log"
    grep -Eq '^[^ ]+ debug portforward: id=[0-9]+ event=accept client=127\.0\.0\.1:' "$log"
}

@test "-q hides info lines; without it they show" {
    local log=$BATS_TEST_TMPDIR/pf.log
    pf -q -l "$log"
    wait_port "$PORT"
    run through quiet "TCP:127.0.0.1:$PORT"
    assert_output quiet
    stop_gale "$GALE_PID"
    run grep -E ' (info|debug) ' "$log"
    assert_failure
    pf -l "$log.plain"
    wait_port "$PORT"
    run through plain "TCP:127.0.0.1:$PORT"
    wait_grep ' info portforward: id=1 event=close' "$log.plain"
}

# --- privileges ------------------------------------------------------------

@test "--uid nobody: binds, then runs as nobody and still forwards" {
    pf --uid nobody
    wait_port "$PORT"
    local uid gid
    uid=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$GALE_PID/status")
    gid=$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/$GALE_PID/status")
    local n
    n=$(id -u nobody)
    assert_equal "$uid" "$n $n $n $n"
    n=$(id -g nobody)
    assert_equal "$gid" "$n $n $n $n"
    run through as-nobody "TCP:127.0.0.1:$PORT"
    assert_output as-nobody
}

# --- unix endpoints -------------------------------------------------------

@test "unix endpoint: round trip, mode 0600, socket removed on exit" {
    local sock=$BATS_TEST_TMPDIR/s.sock
    pf -- -p "unix:$sock:mode=0600"
    wait_file "$sock"
    run through over-unix "UNIX-CONNECT:$sock"
    assert_output over-unix
    assert_equal "$(stat -c %a "$sock")" 600
    [ -S "$sock" ]
    stop_gale "$GALE_PID"
    assert_equal "$EXIT" 0
    assert_not_exists "$sock"
}

@test "unix endpoint: a stale socket file (after kill -9) is replaced" {
    local sock=$BATS_TEST_TMPDIR/s.sock
    pf -- -p "unix:$sock"
    wait_file "$sock"
    run through first "UNIX-CONNECT:$sock"
    assert_output first
    kill -9 "$GALE_PID"
    wait_gone "$GALE_PID"
    [ -S "$sock" ]
    pf -l "$BATS_TEST_TMPDIR/second.log" -- -p "unix:$sock"
    wait_grep 'event=listen endpoint="unix:' "$BATS_TEST_TMPDIR/second.log"
    kill -0 "$GALE_PID"
    run nc -U -N "$sock" <<<second
    assert_output second
}

# --- ssl endpoints --------------------------------------------------------

@test "ssl endpoint: TLS round trip to a plain target; TLS 1.1 is refused" {
    openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 \
        -keyout key.pem -out cert.pem 2>/dev/null
    pf -- -p "ssl:$PORT:privateKey=$PWD/key.pem:certKey=$PWD/cert.pem:interface=127.0.0.1"
    wait_port "$PORT"
    run through over-tls "OPENSSL:127.0.0.1:$PORT,verify=0"
    assert_success
    assert_output over-tls
    run timeout 10 openssl s_client -brief -tls1_2 -connect "127.0.0.1:$PORT" </dev/null
    assert_success
    assert_output --partial TLSv1.2
    # SECLEVEL=0 lets this client offer TLS 1.1, so a refusal is the server's.
    run timeout 10 openssl s_client -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' \
        -connect "127.0.0.1:$PORT" </dev/null
    assert_failure
    [ "$status" -ne 124 ]
    assert_output --partial 'alert protocol version'
}

# --- systemd socket activation --------------------------------------------

@test "systemd:domain=INET:index=0 takes the socket systemd-socket-activate passes" {
    systemd-socket-activate -l "127.0.0.1:$PORT" "$GALE" portforward "${FWD[@]}" \
        -p systemd:domain=INET:index=0 >>gale.log 2>&1 &
    local pid=$!
    track_pid "$pid"
    wait_port "$PORT"
    run through activated "TCP:127.0.0.1:$PORT"
    assert_output activated
    assert_equal "$(readlink "/proc/$pid/exe")" "$(readlink -f "$GALE")"
    wait_grep 'event=listen endpoint="systemd:domain=INET:index=0"' gale.log
    run through again "TCP:127.0.0.1:$PORT"
    assert_output again
}

@test "systemd:name=NAME finds the socket by its --fdname" {
    systemd-socket-activate -l "127.0.0.1:$PORT" --fdname=fwd "$GALE" portforward \
        "${FWD[@]}" -p systemd:name=fwd >>gale.log 2>&1 &
    local pid=$!
    track_pid "$pid"
    wait_port "$PORT"
    run through by-name "TCP:127.0.0.1:$PORT"
    assert_output by-name
    assert_equal "$(readlink "/proc/$pid/exe")" "$(readlink -f "$GALE")"
    wait_grep 'event=listen endpoint="systemd:name=fwd"' gale.log
}

# --- shutdown ------------------------------------------------------------

@test "SIGTERM: refuses new clients at once, lets an open one finish, then exits 0" {
    write_holder
    pf
    wait_port "$PORT"
    python3 hold.py 127.0.0.1 "$PORT" "$BATS_TEST_TMPDIR" &
    track_pid $!
    wait_file held
    assert_equal "$(cat held)" first
    kill -TERM "$GALE_PID"
    wait_refused "$PORT"
    kill -0 "$GALE_PID"                      # still serving the open one
    touch go
    wait_file second
    assert_equal "$(cat second)" second
    wait_gone "$GALE_PID"
    local status=0
    wait "$GALE_PID" || status=$?
    assert_equal "$status" 0
}

@test "--shutdown-timeout 1: an idle open connection is cut and gale exits 0 in 1-3 s" {
    write_holder
    pf --shutdown-timeout 1
    wait_port "$PORT"
    python3 hold.py 127.0.0.1 "$PORT" "$BATS_TEST_TMPDIR" &
    track_pid $!
    wait_file held
    local t0=$EPOCHREALTIME
    kill -TERM "$GALE_PID"
    wait_gone "$GALE_PID"
    local took
    took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
    echo "exited after $took s"
    awk -v t="$took" 'BEGIN { exit !(t >= 0.9 && t <= 3) }'
    grep -q 'event=shutdown-timeout open=1' gale.log
    local status=0
    wait "$GALE_PID" || status=$?
    assert_equal "$status" 0
}

@test "NOTIFY_SOCKET receives READY=1, then STOPPING=1" {
    local ns=$BATS_TEST_TMPDIR/notify
    python3 - "$ns" "$BATS_TEST_TMPDIR/notes" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    msg = s.recv(4096)
    with open(sys.argv[2], "a") as f:
        f.write(msg.decode() + "\n")
PY
    track_pid $!
    wait_file "$ns"
    NOTIFY_SOCKET=$ns pf
    wait_grep '^READY=1$' notes
    refute grep -q STOPPING notes
    refused "$PORT" && fail "READY=1 came before the port listened"
    kill -TERM "$GALE_PID"
    wait_grep '^STOPPING=1$' notes
    assert_equal "$(cat notes)" "READY=1
STOPPING=1"
}

# --- IPv6 ------------------------------------------------------------------

@test "tcp:PORT without an interface accepts on 127.0.0.1 and ::1 (dual stack)" {
    if ! python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
        skip "no IPv6 loopback here"
    fi
    pf -- -p "tcp:$PORT"
    wait_port "$PORT"
    wait_port "$PORT" ::1
    run through v4 "TCP4:127.0.0.1:$PORT"
    assert_output v4
    run through v6 "TCP6:[::1]:$PORT"
    assert_output v6
    wait_grep 'event=close client=\[::1\]:' gale.log
    grep -q 'event=close client=127\.0\.0\.1:' gale.log
}

@test "out of descriptors: accept pauses instead of spinning, and serves again once fds free up" {
    start_echo "$TARGET"
    # A handful of descriptors: a few connections exhaust them.
    bash -c 'ulimit -n 32; exec "$0" portforward -p "tcp:$1:interface=127.0.0.1" -h 127.0.0.1 -d "$2"' \
        "$GALE" "$PORT" "$TARGET" >>"$BATS_TEST_TMPDIR/gale.log" 2>&1 &
    GALE_PID=$!
    track_pid "$GALE_PID"
    wait_port "$PORT"
    run python3 - "$PORT" "$GALE_PID" <<'PY'
import socket, sys, time
port, pid = int(sys.argv[1]), sys.argv[2]
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
time.sleep(1.0)
cpu = lambda: sum(int(x) for x in open(f"/proc/{pid}/stat").read().split(")")[1].split()[11:13])
before = cpu(); time.sleep(1.0); spent = cpu() - before
for s in held:
    s.close()
time.sleep(0.5)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"after"); s.shutdown(socket.SHUT_WR)
print("cpu_ticks", spent, "echo", s.recv(100).decode())
PY
    assert_success
    assert_output --regexp 'echo after$'
    # Less than a fifth of a second of CPU in a second while out of fds: no spin.
    [[ $(awk '{print $2}' <<<"$output") -lt 20 ]]
    grep -q 'event=accept-paused' "$BATS_TEST_TMPDIR/gale.log"
}

#!/usr/bin/env bats
# gale pycached, the store as a whole: loopback by default, option checks,
# least-recently-used eviction under a small --max-memory, and snapshots
# kept across restarts (clean stop, kill -9 after an interval, damaged
# files refused and left alone).  Driven through the JSON protocol.

load helpers

setup_file() {
    cat >"$BATS_FILE_TMPDIR/pj.py" <<'PY'
"""pj.py PORT REQUEST...: sends each JSON request on one connection and
prints each reply line.  A request 'fill:N:SIZE' sets keys k0..k(N-1) to
SIZE-byte strings instead, and prints how many were refused."""
import socket, sys

s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rb")
for req in sys.argv[2:]:
    if req.startswith("fill:"):
        _, n, size = req.split(":")
        value = "x" * int(size)
        refused = 0
        for i in range(int(n)):
            s.sendall(('{"command": "set", "key": "k%d", "value": "%s"}\n' % (i, value)).encode())
            if b'"ok"' not in f.readline():
                refused += 1
        print("refused=%d" % refused)
        continue
    s.sendall(req.encode())
    print(f.readline().decode().rstrip("\n"))
PY
}

setup() {
    common_setup
    JP=$(free_port)
    HP=$(free_port)
}

teardown() {
    common_teardown
}

pj() {
    /usr/bin/python3 "$BATS_FILE_TMPDIR/pj.py" "$JP" "$@"
}

start_pyc() {
    start_gale pycached --port "tcp:$JP" --http "tcp:$HP" "$@"
    wait_port "$JP"
}

@test "pycached: listens on loopback unless an interface is given" {
    start_pyc
    wait_grep 'service=json endpoint="tcp:'"$JP"':interface=127.0.0.1"' gale.log
    wait_grep 'service=http endpoint="tcp:'"$HP"':interface=127.0.0.1"' gale.log
    run ss -Hltn "sport = :$JP"
    assert_output --partial "127.0.0.1:$JP"
    refute_output --partial "0.0.0.0:$JP"
}

@test "pycached: --no-http leaves the HTTP port closed" {
    start_pyc --no-http
    run pj '{"command": "count"}'
    assert_output '{"status": "ok", "value": 0}'
    run curl -s -o /dev/null "http://127.0.0.1:$HP/"
    assert_failure 7
}

@test "pycached: memory limits are checked at start" {
    run "$GALE" pycached --port "tcp:$JP" --max-memory 100k
    assert_failure
    assert_output --partial "--max-memory: must be at least 1m"
    run "$GALE" pycached --port "tcp:$JP" --max-memory 2m --max-item-size 2m
    assert_failure
    assert_output --partial "--max-item-size: must be at most half of --max-memory"
}

@test "pycached: the least recently used items are evicted at --max-memory" {
    start_pyc --max-memory 1m --max-item-size 64k
    run pj fill:3000:1000
    assert_output "refused=0"
    run pj '{"command": "count"}'
    count=$(echo "$output" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')
    [ "$count" -gt 100 ] && [ "$count" -lt 1000 ]
    run pj '{"command": "get", "key": "k0"}'
    assert_output '{"status": "error", "error": "no such key: k0"}'
    run pj '{"command": "get", "key": "k2999"}'
    assert_output --partial '"status": "ok"'
}

@test "pycached: a snapshot keeps items, expiry and read counts across a restart" {
    start_pyc --snapshot "$BATS_TEST_TMPDIR/store.snap"
    run pj '{"command": "set", "key": "a", "value": {"x": [1, 2]}}' \
           '{"command": "set", "key": "b", "value": "text"}' \
           '{"command": "set", "key": "gone", "value": 1, "ttl": 1}' \
           '{"command": "get", "key": "a"}'
    assert_success
    kill "$GALE_PID"
    wait_gone "$GALE_PID"
    wait_grep 'event=snapshot path=.* items=3' gale.log
    [ -s "$BATS_TEST_TMPDIR/store.snap" ]
    sleep 2.2
    start_pyc --snapshot "$BATS_TEST_TMPDIR/store.snap"
    wait_grep 'event=snapshot-loaded .* items=2' gale.log
    run pj '{"command": "get", "key": "a"}' '{"command": "get", "key": "b"}' \
           '{"command": "get", "key": "gone"}' '{"command": "count"}'
    assert_line --index 0 '{"status": "ok", "value": {"x": [1, 2]}}'
    assert_line --index 1 '{"status": "ok", "value": "text"}'
    assert_line --index 2 '{"status": "error", "error": "no such key: gone"}'
    assert_line --index 3 '{"status": "ok", "value": 2}'
    run pj '{"command": "items"}'
    # a: read once before the restart and once after
    echo "$output" | /usr/bin/python3 -c '
import json, sys
v = json.load(sys.stdin)["value"]
assert v["a"][2] == 2, v
assert v["b"][2] == 1, v'
}

@test "pycached: kill -9 loses at most one --snapshot-interval" {
    start_pyc --snapshot "$BATS_TEST_TMPDIR/store.snap" --snapshot-interval 0.5
    run pj '{"command": "set", "key": "kept", "value": 42}'
    assert_success
    sleep 1.5
    kill -9 "$GALE_PID"
    wait_gone "$GALE_PID"
    start_pyc --snapshot "$BATS_TEST_TMPDIR/store.snap"
    run pj '{"command": "get", "key": "kept"}'
    assert_output '{"status": "ok", "value": 42}'
}

@test "pycached: a damaged snapshot is refused and left as it is" {
    printf 'GALEPYC1 this is not a snapshot at all, just text' >"$BATS_TEST_TMPDIR/bad.snap"
    before=$(sha256sum <"$BATS_TEST_TMPDIR/bad.snap")
    run "$GALE" pycached --port "tcp:$JP" --http "tcp:$HP" --snapshot "$BATS_TEST_TMPDIR/bad.snap"
    assert_failure
    assert_output --partial "bad.snap is damaged"
    assert_output --partial "move it away"
    [ "$(sha256sum <"$BATS_TEST_TMPDIR/bad.snap")" = "$before" ]
}

@test "pycached: a truncated snapshot is refused" {
    start_pyc --snapshot "$BATS_TEST_TMPDIR/s.snap"
    run pj '{"command": "set", "key": "a", "value": "0123456789"}'
    kill "$GALE_PID"
    wait_gone "$GALE_PID"
    size=$(stat -c %s "$BATS_TEST_TMPDIR/s.snap")
    truncate -s $((size - 5)) "$BATS_TEST_TMPDIR/s.snap"
    run "$GALE" pycached --port "tcp:$JP" --http "tcp:$HP" --snapshot "$BATS_TEST_TMPDIR/s.snap"
    assert_failure
    assert_output --partial "is damaged"
    [ "$(stat -c %s "$BATS_TEST_TMPDIR/s.snap")" -eq $((size - 5)) ]
}

@test "pycached: memcached clients may pipeline far more than the input limit" {
    MP=$(free_port)
    start_pyc --memcached "tcp:$MP" --max-memory 64m --max-item-size 64k
    wait_port "$MP"
    run /usr/bin/python3 - "$MP" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
v = b"v" * 100
# 100,000 sets (13 MB) written without reading, then one get to sync
s.sendall(b"".join(b"set key:%06d 0 0 100 noreply\r\n%s\r\n" % (i, v) for i in range(100000)))
s.sendall(b"get key:099999\r\nstats\r\n")
d = b""
while not d.endswith(b"END\r\n") or b"STAT" not in d:
    chunk = s.recv(65536)
    if not chunk:
        sys.exit("closed: %r" % d[-200:])
    d += chunk
print([l for l in d.decode().split("\r\n") if l.startswith(("VALUE", "STAT curr_items"))])
PY
    assert_success
    assert_output "['VALUE key:099999 0 100', 'STAT curr_items 100000']"
}

#!/usr/bin/env bats
# gale pycached's HTTP service (--http), end to end: GET / and its
# uptime line, POST / forms running each command, the store shared with
# the JSON protocol (--port), CORS and preflight, /metrics, /admin,
# keep-alive and pipelining, and the answers to bad requests.
# Clients: curl, python3 sockets for the JSON protocol, and
# fixtures/web/rawhttp.py where the bytes on the wire matter.

bats_require_minimum_version 1.5.0

load helpers

setup_file() {
    quick_python
}

# One server per test: the JSON protocol on $JPORT, HTTP on $HPORT (also
# $PORT, for rawhttp).
setup() {
    common_setup
    JPORT=$(free_port)
    HPORT=$(free_port)
    while [ "$HPORT" = "$JPORT" ]; do HPORT=$(free_port); done
    PORT=$HPORT
    start_gale pycached --port "tcp:$JPORT" --http "tcp:$HPORT"
    wait_port "$JPORT"
    wait_port "$HPORT"
}

teardown() {
    common_teardown
    # Built with GALE_SANITIZE, a report in the log fails the test.
    if grep -Eq 'Sanitizer|runtime error' "$BATS_TEST_TMPDIR/gale.log" 2>/dev/null; then
        grep -E -A20 'Sanitizer|runtime error' "$BATS_TEST_TMPDIR/gale.log" >&3
        return 1
    fi
}

URL() { printf 'http://127.0.0.1:%s%s' "$HPORT" "${1:-/}"; }

# post FORM [CURL ARGS]: POSTs the urlencoded FORM to /; prints the body,
# then a line with the status.
post() {
    curl -sS --max-time 10 -w '\n%{http_code}' "${@:2}" --data "$1" "$(URL /)"
}

# head_of PATH [CURL ARGS]: the response head, CRs stripped.
head_of() {
    curl -sS --max-time 10 -D - -o /dev/null "${@:2}" "$(URL "$1")" | tr -d '\r'
}

# json REQUEST: sends one request over the JSON protocol, prints the
# reply line (without its newline); at most 10 s.
json() {
    timeout 10 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.settimeout(5)
s.sendall(sys.argv[2].encode())
buf = b""
while not buf.endswith(b"\n") and len(buf) < 1 << 20:
    data = s.recv(65536)
    if not data:
        break
    buf += data
sys.stdout.write(buf.decode().rstrip("\n"))' "$JPORT" "$1"
}

# slow_py CODE: python3 CODE with rawhttp.py's functions and PORT, as
# web_py, for at most 90 s.
slow_py() {
    PORT=$PORT PYTHONPATH=$(dirname "$RAWHTTP") timeout 90 python3 -c "import os
from rawhttp import *
PORT = int(os.environ['PORT'])
$1"
}

# metric NAME: the value of the sample line NAME (labels included) in /metrics.
metric() {
    curl -sS --max-time 10 "$(URL /metrics)" | awk -v n="$1" '$1 == n { print $2 }'
}

@test "GET / tells the uptime as text/plain, with two decimals" {
    run curl -sS --max-time 10 "$(URL /)"
    assert_success
    assert_output --regexp '^PyCached is up since [0-9]+\.[0-9]{2} seconds$'
    run head_of /
    assert_line --index 0 'HTTP/1.1 200 OK'
    assert_line --regexp '^Content-Type: text/plain'
    assert_line --regexp '^Content-Length: [0-9]+$'
}

@test "HEAD / has GET's headers and no body" {
    run curl -sS --max-time 10 -I "$(URL /)"
    assert_success
    assert_line --partial 'HTTP/1.1 200 OK'
    assert_line --regexp '^Content-Length: 3[0-9]'
    refute_output --partial 'PyCached is up'
}

@test "POST set answers an empty 200, get the value as text" {
    run post 'command=set&key=k&value=v'
    assert_success
    assert_output $'\n200'
    run post 'command=get&key=k'
    assert_output $'v\n200'
}

@test "form fields are decoded: + is a space, %XX a byte, UTF-8 kept" {
    run post 'command=set&key=a+b%2Fc&value=x+%26+y%3Dz+%C3%A9%25'
    assert_output $'\n200'
    run post 'command=get&key=a%20b/c'
    assert_output $'x & y=z é%\n200'
    # curl encodes for us, too.
    run curl -sS --max-time 10 --data-urlencode 'command=get' --data-urlencode 'key=a b/c' "$(URL /)"
    assert_output 'x & y=z é%'
}

@test "a value that looks like JSON stays text" {
    post 'command=set&key=j&value=%7B%22a%22%3A+1%7D' >/dev/null
    run post 'command=get&key=j'
    assert_output $'{"a": 1}\n200'
    run json '{"command": "get", "key": "j"}'
    assert_output '{"status": "ok", "value": "{\"a\": 1}"}'
}

@test "delete removes the key; a missing key is 404 naming it" {
    post 'command=set&key=k&value=v' >/dev/null
    run post 'command=delete&key=k'
    assert_output $'\n200'
    run post 'command=get&key=k'
    assert_line --index 1 404
    assert_line --index 0 --partial 'no such key'
    run post 'command=delete&key=k'
    assert_line --index 1 404
    assert_line --index 0 --partial 'no such key'
}

@test "count, items, status, version and clear answer as the original" {
    post 'command=set&key=a&value=1' >/dev/null
    post 'command=set&key=b&value=two' >/dev/null
    post 'command=get&key=b' >/dev/null
    run post 'command=count'
    assert_output $'2\n200'
    run post 'command=items'
    assert_line --index 1 200
    run python3 -c '
import json, sys
items = json.loads(sys.argv[1])
assert sorted(items) == ["a", "b"], items
assert items["a"][0] == "1" and items["b"][0] == "two", items
assert items["a"][2] == 0 and items["b"][2] == 1, items
assert isinstance(items["a"][1], (int, float)) and items["a"][1] > 1.5e9, items
print("ok")' "${lines[0]}"
    assert_output ok
    run post 'command=status'
    assert_line --index 1 200
    run python3 -c '
import json, sys
st = json.loads(sys.argv[1])
assert isinstance(st["uptime"], (int, float)) and 0 <= st["uptime"] < 600, st
print("ok")' "${lines[0]}"
    assert_output ok
    run post 'command=version'
    assert_line --index 1 200
    assert_line --index 0 --regexp '^[0-9]'
    run post 'command=clear'
    assert_output $'\n200'
    run post 'command=count'
    assert_output $'0\n200'
    run post 'command=items'
    assert_output $'{}\n200'
}

@test "ttl: the item expires; a ttl that is no number is 400" {
    run post 'command=set&key=t&value=v&ttl=1'
    assert_output $'\n200'
    run post 'command=get&key=t'
    assert_output $'v\n200'
    sleep 2.2
    run post 'command=get&key=t'
    assert_line --index 1 404
    run post 'command=set&key=t&value=v&ttl=soon'
    assert_line --index 1 400
    assert_line --index 0 --partial ttl
    # An empty ttl (the admin page's blank field) means none.
    run post 'command=set&key=t&value=w&ttl='
    assert_output $'\n200'
}

@test "a key set over HTTP is read over the JSON protocol" {
    post 'command=set&key=k&value=v' >/dev/null
    run json '{"command": "get", "key": "k"}'
    assert_success
    assert_output '{"status": "ok", "value": "v"}'
}

@test "a key set over the JSON protocol is read over HTTP" {
    run json '{"command": "set", "key": "fromjson", "value": "hello there"}'
    assert_output '{"status": "ok"}'
    run post 'command=get&key=fromjson'
    assert_output $'hello there\n200'
    # A value that is not a string comes back as its JSON.
    json '{"command": "set", "key": "n", "value": [1, 2.5, {"x": null}]}' >/dev/null
    run post 'command=get&key=n'
    assert_line --index 1 200
    run python3 -c 'import json, sys; print(json.loads(sys.argv[1]))' "${lines[0]}"
    assert_output "[1, 2.5, {'x': None}]"
}

@test "an unknown command is 400 with a message; a form without command too" {
    run post 'command=frobnicate&key=k'
    assert_line --index 1 400
    assert_line --index 0 --partial frobnicate
    run post 'key=k'
    assert_line --index 1 400
    assert_line --index 0 --partial command
    run post 'command=get&key=%zz'
    assert_line --index 1 400
    run post 'command=get&key=a&key=b'
    assert_line --index 1 400
}

@test "CORS headers on POST, GET and error answers" {
    for args in "-d command=count" "-d command=get&key=missing" ""; do
        # shellcheck disable=SC2086
        run head_of / $args
        assert_line 'Access-Control-Allow-Origin: *'
        assert_line 'Access-Control-Allow-Methods: *'
        assert_line 'Access-Control-Allow-Headers: *'
        assert_line 'Access-Control-Max-Age: 3600'
    done
}

@test "OPTIONS is a preflight: 204 with the CORS headers, on any path" {
    for path in / /anything; do
        run head_of "$path" -X OPTIONS -H 'Origin: http://example.org' \
            -H 'Access-Control-Request-Method: POST'
        assert_line --index 0 'HTTP/1.1 204 No Content'
        assert_line 'Access-Control-Allow-Origin: *'
        assert_line 'Access-Control-Allow-Methods: *'
        assert_line 'Access-Control-Allow-Headers: *'
        assert_line 'Access-Control-Max-Age: 3600'
        refute_line --regexp '^Content-Length'
    done
}

@test "/metrics is Prometheus text with every metric, and counts move" {
    run head_of /metrics
    assert_line --index 0 'HTTP/1.1 200 OK'
    assert_line --regexp '^Content-Type: text/plain; version=0\.0\.4'
    run curl -sS --max-time 10 "$(URL /metrics)"
    for m in pycached_items pycached_bytes pycached_limit_bytes pycached_hits_total \
        pycached_misses_total pycached_evictions_total pycached_reclaimed_total \
        pycached_connections pycached_connections_total pycached_commands_total \
        pycached_uptime_seconds; do
        assert_line "# TYPE $m $( [[ $m == *_total ]] && echo counter || echo gauge)"
        assert_line --regexp "^# HELP $m "
    done
    assert_line --regexp '^pycached_connections\{service="http"\} [1-9]'
    assert_line 'pycached_connections{service="json"} 0'
    assert_line --regexp '^pycached_uptime_seconds [0-9.]+$'
    [ "$(metric pycached_items)" = 0 ]
    [ "$(metric pycached_hits_total)" = 0 ]
    post 'command=set&key=k&value=v' >/dev/null
    post 'command=get&key=k' >/dev/null
    post 'command=get&key=k' >/dev/null
    post 'command=get&key=nope' >/dev/null
    [ "$(metric pycached_items)" = 1 ]
    [ "$(metric pycached_hits_total)" = 2 ]
    [ "$(metric pycached_misses_total)" = 1 ]
    [ "$(metric pycached_bytes)" -gt 0 ]
    [ "$(metric pycached_limit_bytes)" -ge 1048576 ]
    run curl -sS --max-time 10 "$(URL /metrics)"
    assert_line --regexp '^pycached_commands_total\{service="http",command="get"\} 3$'
    assert_line --regexp '^pycached_commands_total\{service="http",command="set"\} 1$'
}

@test "/admin is one self-contained HTML page" {
    run head_of /admin
    assert_line --index 0 'HTTP/1.1 200 OK'
    assert_line --regexp '^Content-Type: text/html'
    run curl -sS --max-time 10 "$(URL /admin)"
    assert_line --index 0 '<!DOCTYPE html>'
    assert_output --partial '<table id="items">'
    assert_output --partial 'id="set-form"'
    assert_output --partial '</html>'
    # No external assets, and data only ever set as text.
    refute_output --regexp '(src|href)='
    refute_output --partial 'innerHTML'
}

@test "keep-alive: two requests on one connection" {
    run curl -sS --max-time 10 -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' \
        "$(URL /)" "$(URL /metrics)"
    assert_output $'200 1\n200 0'
}

@test "pipelining: requests sent at once are answered in order" {
    local form='command=set&key=p&value=42'
    run rawhttp "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${#form}\r\n\r\n${form}POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\ncommand=get&key=pGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" -n 3
    assert_success
    assert_line --index 0 'status=200'
    assert_line "body=b'42'"
    assert_line 'status=404'
    assert_line 'closed=yes'
    [ "$(grep -c '^status=' <<<"$output")" = 3 ]
}

@test "a bad request gets 400 and the connection closes" {
    run rawhttp 'GET / HTTP/1.1\r\n\r\n'           # HTTP/1.1 without Host
    assert_line 'status=400'
    assert_line 'closed=yes'
    run rawhttp 'NOT A REQUEST\r\n\r\n'
    assert_line 'status=400'
}

@test "unknown paths are 404, other methods 405 with Allow" {
    run head_of /nope
    assert_line --index 0 'HTTP/1.1 404 Not Found'
    run head_of /metrics -X POST
    assert_line --index 0 'HTTP/1.1 405 Method Not Allowed'
    assert_line 'Allow: GET, HEAD, OPTIONS'
    run head_of / -X DELETE
    assert_line --index 0 'HTTP/1.1 405 Method Not Allowed'
    assert_line 'Allow: GET, HEAD, POST, OPTIONS'
}

@test "bodies: chunked is 411, too large 413, other types 415, 100-continue honoured" {
    run rawhttp 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'
    assert_line 'status=411'
    run rawhttp 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n'
    assert_line 'status=413'
    assert_line 'closed=yes'
    run post 'command=count' -H 'Content-Type: application/json'
    assert_equal "${lines[-1]}" 415
    # curl sends Expect: 100-continue with a body over 1 KiB.
    local big
    big=$(head -c 6000 /dev/zero | tr '\0' q)
    run post "command=set&key=big&value=$big" -H 'Expect: 100-continue'
    assert_output $'\n200'
    run post 'command=get&key=big'
    assert_output "$big"$'\n200'
}

@test "HTTP/1.0 closes after the answer unless keep-alive is asked" {
    run rawhttp 'GET / HTTP/1.0\r\n\r\n'
    assert_line 'status=200'
    assert_line 'closed=yes'
    run rawhttp 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'
    assert_line 'status=200'
    assert_line 'header connection: keep-alive'
    assert_line 'closed=no'
}

@test "timeouts: 408 for a request not finished in time, idle keep-alive closed" {
    J2=$(free_port)
    PORT=$(free_port)
    start_gale pycached --port "tcp:$J2" --http "tcp:$PORT" \
        --http-request-timeout 2 --http-idle-timeout 4
    wait_port "$PORT"
    # Both connections at once, so the test takes the longer timeout only.
    run slow_py '
import time
slow = connect(PORT, timeout=10)
slow.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\ncommand=")
idle = connect(PORT, timeout=10)
idle.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
assert read_response(reader(idle)).status == 200
start = time.monotonic()
r = read_response(reader(slow))
took = time.monotonic() - start
assert r.status == 408, r.status
assert 1.5 < took < 3.5, took
assert closed_within(slow, 2)
assert not closed_within(idle, 0.5), "idle closed after %.1f s" % (time.monotonic() - start)
assert closed_within(idle, 8 - (time.monotonic() - start))
took = time.monotonic() - start
assert 3.5 < took < 6, took
print("ok")'
    assert_success
    assert_output ok
}

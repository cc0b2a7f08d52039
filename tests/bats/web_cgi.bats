#!/usr/bin/env bats
# gale web, end to end: CGI scripts (*.cgi) and --processor programs.
# The environment, request bodies (plain, chunked, 100-continue, too
# large), what a script answers (Status, Location, failure, timeout),
# how its output is framed (Content-Length, chunked, close), and that a
# script dies with its client.  Scripts are small sh files made per test.

bats_require_minimum_version 1.5.0

load helpers

setup_file() {
    quick_python
}

# cgi NAME BODY: an executable sh script $ROOT/NAME with BODY after the
# shebang line.
cgi() {
    printf '#!/bin/sh\n%s\n' "$2" >"$ROOT/$1"
    chmod +x "$ROOT/$1"
}

# $MARK is in the command line of the scripts a test wants to see die and
# of the sleep ($ROOT/$MARK-sleep) they run, so that pgrep -f finds them;
# teardown kills what is left of them by pid.
setup() {
    common_setup
    PORT=$(free_port)
    ROOT=$BATS_TEST_TMPDIR/www
    MARK=galecgi$$x${BATS_TEST_NUMBER}
    mkdir -p "$ROOT"
    printf 'hello\n' >"$ROOT/a.txt"
    cgi env.cgi "printf 'Content-Type: text/plain\\r\\n\\r\\n'
env | LC_ALL=C sort"
    cgi echo.cgi "printf 'Content-Type: application/octet-stream\\r\\nX-Length: %s\\r\\n\\r\\n' \"\$CONTENT_LENGTH\"
exec cat"
    cgi lines.cgi "printf 'Content-Type: text/plain\\r\\n\\r\\n'
for i in 1 2 3 4 5; do echo \"line \$i\"; done"
    ln -s "$(command -v sleep)" "$ROOT/$MARK-sleep"
}

teardown() {
    local pid
    for pid in $(pgrep -f -- "$MARK"); do
        kill -9 "$pid" 2>/dev/null || true
    done
    common_teardown
}

# wait_no_proc PATTERN: until pgrep -f finds nothing, at most 3 s.
wait_no_proc() {
    local i
    for ((i = 0; i < 60; i++)); do
        pgrep -f -- "$1" >/dev/null || return 0
        sleep 0.05
    done
    echo "still running after 3 s:" >&2
    pgrep -a -f -- "$1" >&2
    return 1
}

@test "CGI environment: query, method, script name, PATH_INFO, protocol, peer, headers" {
    HTTP_PROXY=http://leak.invalid:1 start_web --path "$ROOT"
    run web_get '/env.cgi/extra/path?a=1&b=%20x' -f -A 'test agent' -H 'Proxy: http://evil.invalid:1'
    assert_success
    assert_line 'QUERY_STRING=a=1&b=%20x'
    assert_line REQUEST_METHOD=GET
    assert_line SCRIPT_NAME=/env.cgi
    assert_line PATH_INFO=/extra/path
    assert_line SERVER_PROTOCOL=HTTP/1.1
    assert_line REMOTE_ADDR=127.0.0.1
    assert_line 'HTTP_USER_AGENT=test agent'
    assert_line GATEWAY_INTERFACE=CGI/1.1
    refute_line --regexp '^HTTP_PROXY='
    refute_line --partial evil.invalid
    refute_line --partial leak.invalid
    run web_get /env.cgi -f
    assert_line PATH_INFO=
    assert_line QUERY_STRING=
}

@test "a POST body reaches the script's stdin exactly, small and 1 MiB" {
    start_web --path "$ROOT"
    run web_get /echo.cgi -f --data-binary 'a=1&b=2'
    assert_output 'a=1&b=2'
    run web_head /echo.cgi --data-binary 'a=1&b=2'
    assert_line 'X-Length: 7'
    head -c 1048576 /dev/urandom >"$BATS_TEST_TMPDIR/body"
    web_get /echo.cgi -f -H 'Expect:' --data-binary "@$BATS_TEST_TMPDIR/body" \
        -o "$BATS_TEST_TMPDIR/back"
    cmp "$BATS_TEST_TMPDIR/body" "$BATS_TEST_TMPDIR/back"
}

@test "a chunked request body is decoded for the script" {
    head -c 300000 /dev/urandom >"$BATS_TEST_TMPDIR/body"
    start_web --path "$ROOT"
    web_get /echo.cgi -f -H 'Transfer-Encoding: chunked' \
        --data-binary "@$BATS_TEST_TMPDIR/body" -D "$BATS_TEST_TMPDIR/head" \
        -o "$BATS_TEST_TMPDIR/back"
    cmp "$BATS_TEST_TMPDIR/body" "$BATS_TEST_TMPDIR/back"
    run tr -d '\r' <"$BATS_TEST_TMPDIR/head"
    assert_line 'X-Length: 300000'
}

@test "Expect: 100-continue gets 100 before the body is sent, and the body arrives" {
    start_web --path "$ROOT"
    run web_py '
s = connect(PORT)
f = reader(s)
s.sendall(b"POST /echo.cgi HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n")
r = read_response(f, interim=True)       # sent nothing yet: only a 100 can come
assert r.status == 100, r.status
s.sendall(b"0123456789")
r = read_response(f)
assert r.status == 200 and r.body == b"0123456789", (r.status, r.body)
print("ok")'
    assert_success
    assert_output ok
    # curl waits for the 100 before a 2 MiB body.
    head -c 2097152 /dev/urandom >"$BATS_TEST_TMPDIR/body"
    curl -sS --max-time 20 -f -v -H 'Expect: 100-continue' \
        --data-binary "@$BATS_TEST_TMPDIR/body" -o "$BATS_TEST_TMPDIR/back" \
        "http://127.0.0.1:$PORT/echo.cgi" 2>"$BATS_TEST_TMPDIR/curl.err"
    cmp "$BATS_TEST_TMPDIR/body" "$BATS_TEST_TMPDIR/back"
    grep -q '< HTTP/1.1 100 Continue' "$BATS_TEST_TMPDIR/curl.err"
}

@test "a body over --max-body is 413, plain or chunked; the script does not run" {
    cgi count.cgi "touch '$BATS_TEST_TMPDIR/ran'
printf 'Content-Type: text/plain\\r\\n\\r\\nran\\n'"
    start_web --path "$ROOT" --max-body 1k
    head -c 2048 /dev/zero >"$BATS_TEST_TMPDIR/body"
    run web_head /count.cgi -H 'Expect:' --data-binary "@$BATS_TEST_TMPDIR/body"
    assert_line --index 0 --regexp '^HTTP/1.1 413 '
    run web_head /count.cgi -H 'Transfer-Encoding: chunked' \
        --data-binary "@$BATS_TEST_TMPDIR/body"
    assert_line --index 0 --regexp '^HTTP/1.1 413 '
    [ ! -e "$BATS_TEST_TMPDIR/ran" ]
    run web_get /count.cgi -f --data-binary 'small'
    assert_output ran
}

@test "a Status header from the script becomes the response status" {
    cgi gone.cgi "printf 'Status: 404 Gone away\\r\\nContent-Type: text/plain\\r\\n\\r\\nnot here\\n'"
    start_web --path "$ROOT"
    run web_head /gone.cgi
    assert_line --index 0 --regexp '^HTTP/1.1 404 '
    run web_get /gone.cgi
    assert_output 'not here'
}

@test "a Location header from the script is a 302 redirect" {
    cgi redirect.cgi "printf 'Location: /x\\r\\n\\r\\n'"
    start_web --path "$ROOT"
    run web_head /redirect.cgi
    assert_line --index 0 'HTTP/1.1 302 Found'
    assert_line 'Location: /x'
}

@test "a script that exits 1 with no output is 502" {
    cgi fail.cgi 'exit 1'
    start_web --path "$ROOT"
    run web_head /fail.cgi
    assert_line --index 0 'HTTP/1.1 502 Bad Gateway'
    # The server goes on serving.
    run web_get /a.txt
    assert_output hello
}

@test "a script that runs past --cgi-timeout is 504 and is killed" {
    cgi "slow-$MARK.cgi" "\"$ROOT/$MARK-sleep\" 30"
    start_web --path "$ROOT" --cgi-timeout 1
    SECONDS=0
    web_head "/slow-$MARK.cgi" >"$BATS_TEST_TMPDIR/head" &
    track_pid $!
    # The script and its sleep run meanwhile (the marker finds them)...
    for ((i = 0; i < 40; i++)); do
        pgrep -f -- "$MARK-sleep 30" >/dev/null && break
        sleep 0.05
    done
    pgrep -f -- "sh $ROOT/slow-$MARK.cgi"
    pgrep -f -- "$MARK-sleep 30"
    wait_grep 'HTTP/1.1' "$BATS_TEST_TMPDIR/head"
    run cat "$BATS_TEST_TMPDIR/head"
    assert_line --index 0 'HTTP/1.1 504 Gateway Timeout'
    [ "$SECONDS" -le 4 ]
    # ...and are gone once the time is up.
    wait_no_proc "sh $ROOT/slow-$MARK.cgi"
    wait_no_proc "$MARK-sleep 30"
}

@test "HTTP/1.1: output without Content-Length is chunked and the connection goes on" {
    start_web --path "$ROOT"
    run web_py '
s = connect(PORT)
f = reader(s)
s.sendall(b"GET /lines.cgi HTTP/1.1\r\nHost: x\r\n\r\n")
r = read_response(f)
assert r.status == 200, r.status
assert r.chunked and r.get("content-length") is None, r.headers
assert r.body == b"".join(b"line %d\n" % i for i in range(1, 6)), r.body
s.sendall(b"GET /lines.cgi HTTP/1.1\r\nHost: x\r\n\r\n")
r = read_response(f)
assert r.status == 200 and r.body.startswith(b"line 1\n"), (r.status, r.body)
s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
assert read_response(f).body == b"hello\n"
print("ok")'
    assert_success
    assert_output ok
    run curl -sS --max-time 10 --raw "http://127.0.0.1:$PORT/lines.cgi"
    assert_line --index 0 --regexp $'^[0-9a-fA-F]+\r?$'
}

@test "requests pipelined behind CGI requests are answered in order" {
    start_web --path "$ROOT"
    run web_py '
s = connect(PORT)
f = reader(s)
s.sendall(b"POST /echo.cgi HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst"
          b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"
          b"HEAD /lines.cgi HTTP/1.1\r\nHost: x\r\n\r\n"
          b"POST /echo.cgi HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
          b"3\r\nsec\r\n3\r\nond\r\n0\r\n\r\n"
          b"GET /lines.cgi HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
assert read_response(f).body == b"first"
assert read_response(f).body == b"hello\n"
r = read_response(f, head=True)
assert r.status == 200 and r.get("content-type") == "text/plain", r.headers
assert read_response(f).body == b"second"
assert read_response(f).body.startswith(b"line 1\n")
assert f.pending() == b"" and closed_within(s, 3)
print("ok")'
    assert_success
    assert_output ok
}

@test "HTTP/1.0: the script's output runs until the connection closes" {
    start_web --path "$ROOT"
    run rawhttp 'GET /lines.cgi HTTP/1.0\r\n\r\n'
    assert_success
    assert_line status=200
    refute_line --regexp '^header (content-length|transfer-encoding):'
    assert_line "body=b'line 1\\nline 2\\nline 3\\nline 4\\nline 5\\n'"
}

@test "a client that goes away kills its script" {
    cgi "loop-$MARK.cgi" "printf 'Content-Type: text/plain\\r\\n\\r\\n'
while :; do echo tick; \"$ROOT/$MARK-sleep\" 0.2; done"
    start_web --path "$ROOT"
    MARK=$MARK run web_py '
import subprocess, time
s = connect(PORT)
f = reader(s)
s.sendall(b"GET /loop-%s.cgi HTTP/1.1\r\nHost: x\r\n\r\n" % os.environ["MARK"].encode())
r = read_head(f)
assert r.status == 200, r.status
assert b"tick" in f.readline(100) + f.readline(100)
running = subprocess.run(["pgrep", "-f", "sh .*/loop-" + os.environ["MARK"]],
                         capture_output=True).stdout
assert running.strip(), "the script is not running"
s.close()
print("ok")'
    assert_success
    assert_output ok
    wait_no_proc "sh .*/loop-$MARK"
    wait_no_proc "$MARK-sleep"
}

@test "--processor runs files of that extension through the program" {
    cat >"$BATS_TEST_TMPDIR/render.sh" <<'SH'
#!/bin/sh
printf 'Content-Type: text/html\r\nX-Processor: render\r\n\r\n'
echo "<h1>rendered $SCRIPT_NAME</h1>"
cat "$1"
SH
    chmod +x "$BATS_TEST_TMPDIR/render.sh"
    printf '<p>template body</p>\n' >"$ROOT/page.tpl"
    start_web --path "$ROOT" --processor ".tpl=$BATS_TEST_TMPDIR/render.sh"
    run web_head /page.tpl
    assert_line --index 0 'HTTP/1.1 200 OK'
    assert_line 'X-Processor: render'
    run web_get /page.tpl -f
    assert_output "$(printf '<h1>rendered /page.tpl</h1>\n<p>template body</p>')"
}

@test "an executable file that is not .cgi is served, not run" {
    cgi run.sh "touch '$BATS_TEST_TMPDIR/ran'
printf 'Content-Type: text/plain\\r\\n\\r\\nran\\n'"
    cp "$ROOT/run.sh" "$ROOT/run.txt"
    start_web --path "$ROOT"
    run web_get /run.sh -f
    assert_output "$(cat "$ROOT/run.sh")"
    run web_get /run.txt -f
    assert_output "$(cat "$ROOT/run.sh")"
    [ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

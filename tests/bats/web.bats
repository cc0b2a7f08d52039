#!/usr/bin/env bats
# gale web, end to end: HTTP semantics of the static file server.
# Methods and headers, HTTP/1.0 and 1.1 connections and pipelining,
# conditional and range requests, directories and listings, error pages.
# Clients: curl, and python3 raw sockets (fixtures/web/rawhttp.py) where
# the bytes on the wire matter.  Paths, logs and TLS: web_files.bats;
# limits and timeouts: web_limits.bats; CGI: web_cgi.bats.

bats_require_minimum_version 1.5.0

load helpers

setup_file() {
    quick_python
}

# A fresh tree per test in $ROOT; "digits" is 100 bytes in which every
# position is told apart: "00" "01" ... "49".
setup() {
    common_setup
    PORT=$(free_port)
    ROOT=$BATS_TEST_TMPDIR/www
    mkdir -p "$ROOT/sub" "$ROOT/list/adir" "$ROOT/list/zdir"
    printf 'hello\n' >"$ROOT/a.txt"
    printf 'body { color: red }\n' >"$ROOT/style.css"
    printf '<!DOCTYPE html>\n<title>page</title>\n' >"$ROOT/page.html"
    printf 'what am I\n' >"$ROOT/data.zzqq"
    printf '%02d' {0..49} >"$ROOT/digits"
    printf 'sub index\n' >"$ROOT/sub/index.html"
    printf 'bbb' >"$ROOT/list/b.txt"
    head -c 1500 /dev/zero | tr '\0' a >"$ROOT/list/a.txt"
    touch -d '2020-01-02 03:04:05 UTC' "$ROOT/digits"
}

teardown() {
    common_teardown
}

@test "GET serves a file with Date, Server, Content-Length, Content-Type, Last-Modified, ETag" {
    start_web --path "$ROOT"
    run web_head /digits
    assert_success
    assert_line --index 0 'HTTP/1.1 200 OK'
    assert_line --regexp '^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$'
    assert_line --regexp '^Server: gale/[0-9]'
    assert_line 'Content-Length: 100'
    assert_line 'Last-Modified: Thu, 02 Jan 2020 03:04:05 GMT'
    assert_line --regexp '^ETag: (W/)?"[^"]+"$'
    run web_get /digits
    assert_output "$(cat "$ROOT/digits")"
}

@test "HEAD answers the headers GET would, with no body" {
    start_web --path "$ROOT"
    # HEAD then GET on one connection: a body after the HEAD head would
    # be read as the second response.
    run web_py '
s = connect(PORT)
s.sendall(b"HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
f = reader(s)
h = read_response(f, head=True)
g = read_response(f)
strip = lambda r: [x for x in r.headers if x[0] != "date"]
assert h.status == g.status == 200, (h.status, g.status)
assert strip(h) == strip(g), (strip(h), strip(g))
assert g.body == b"hello\n", g.body
assert h.get("content-length") == "6"
assert f.pending() == b"", f.pending()
print("ok")'
    assert_success
    assert_output ok
}

@test "Content-Type follows the extension: html, css, txt; others are octet-stream" {
    start_web --path "$ROOT"
    run web_head /page.html
    assert_line --regexp '^Content-Type: text/html(; charset=utf-8)?$'
    run web_head /style.css
    assert_line --regexp '^Content-Type: text/css(; charset=utf-8)?$'
    run web_head /a.txt
    assert_line --regexp '^Content-Type: text/plain(; charset=utf-8)?$'
    run web_head /data.zzqq
    assert_line 'Content-Type: application/octet-stream'
}

@test "-m sets the type of files with an unknown extension" {
    start_web --path "$ROOT" -m application/x-gale-test
    run web_head /data.zzqq
    assert_line 'Content-Type: application/x-gale-test'
    run web_head /a.txt
    assert_line --regexp '^Content-Type: text/plain'
}

@test "OPTIONS answers Allow, for a file and for *" {
    start_web --path "$ROOT"
    run web_head /a.txt -X OPTIONS
    assert_line --index 0 --regexp '^HTTP/1.1 (200|204) '
    assert_line 'Allow: GET, HEAD, OPTIONS'
    run rawhttp 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
    assert_success
    assert_line --regexp '^status=(200|204)$'
    assert_line --regexp '^header allow: .*GET'
}

@test "PUT and DELETE on a file are 405 with Allow, and the file stays" {
    start_web --path "$ROOT"
    run web_head /a.txt -X PUT --data-binary changed
    assert_line --index 0 'HTTP/1.1 405 Method Not Allowed'
    assert_line 'Allow: GET, HEAD, OPTIONS'
    run web_head /a.txt -X DELETE
    assert_line --index 0 'HTTP/1.1 405 Method Not Allowed'
    assert_line 'Allow: GET, HEAD, OPTIONS'
    assert_equal "$(cat "$ROOT/a.txt")" hello
}

@test "HTTP/1.1 without Host is 400" {
    start_web --path "$ROOT"
    run rawhttp 'GET /a.txt HTTP/1.1\r\n\r\n'
    assert_success
    assert_line status=400
    refute_line --partial "body=b'hello"
}

@test "HTTP/1.0 without keep-alive: the connection closes after the response" {
    start_web --path "$ROOT"
    run rawhttp 'GET /a.txt HTTP/1.0\r\n\r\n' --wait 3
    assert_success
    assert_line status=200
    assert_line "body=b'hello\\n'"
    refute_line --regexp '^header connection: keep-alive'
    assert_line closed=yes
}

@test "HTTP/1.0 with Connection: keep-alive stays open for the next request" {
    start_web --path "$ROOT"
    run web_py '
s = connect(PORT)
f = reader(s)
s.sendall(b"GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
r = read_response(f)
assert r.status == 200 and r.body == b"hello\n", (r.status, r.body)
assert (r.get("connection") or "").lower() == "keep-alive", r.headers
assert not closed_within(s, 1.0), "closed a keep-alive connection"
s.settimeout(5)
s.sendall(b"GET /style.css HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
r = read_response(f)
assert r.status == 200 and r.body.startswith(b"body {"), (r.status, r.body)
print("ok")'
    assert_success
    assert_output ok
}

@test "pipelined requests on one connection come back complete and in order" {
    head -c 200000 /dev/urandom >"$ROOT/big.bin"
    start_web --path "$ROOT"
    run web_py '
import hashlib
big = open(os.environ["ROOT"] + "/big.bin", "rb").read()
reqs = [("GET", "/a.txt", 200, b"hello\n"), ("GET", "/big.bin", 200, big),
        ("HEAD", "/page.html", 200, b""), ("GET", "/nope", 404, None),
        ("GET", "/digits", 200, open(os.environ["ROOT"] + "/digits", "rb").read()),
        ("GET", "/big.bin", 200, big), ("GET", "/style.css", 200, b"body { color: red }\n")]
wire = b"".join(b"%s %s HTTP/1.1\r\nHost: x\r\n\r\n" % (m.encode(), p.encode()) for m, p, _, _ in reqs)
wire += b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
s = connect(PORT)
s.sendall(wire)
f = reader(s)
for m, p, st, body in reqs:
    r = read_response(f, head=(m == "HEAD"))
    assert r.status == st, (p, r.status)
    if body is not None:
        assert r.body == body, (p, len(r.body))
r = read_response(f)
assert r.body == b"hello\n"
assert f.pending() == b"" and closed_within(s, 3), "not closed after Connection: close"
print("ok")'
    assert_success
    assert_output ok
}

@test "a GET with a body: the body is never taken for the next request" {
    printf 'SMUGGLED\n' >"$ROOT/smuggled.txt"
    start_web --path "$ROOT"
    # The body is a whole request.  The server may skip it or close the
    # connection, but must not answer it.
    run web_py '
import socket
inner = b"GET /smuggled.txt HTTP/1.1\r\nHost: x\r\n\r\n"
for framing in (b"Content-Length: %d\r\n\r\n%s" % (len(inner), inner),
                b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(inner), inner)):
    s = connect(PORT)
    f = reader(s)
    s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n" + framing)
    r = read_response(f)
    assert r.status in (200, 400, 411, 413) and b"SMUGGLED" not in r.body, (r.status, r.body)
    s.settimeout(1.0)
    try:
        extra = f.pending() or s.recv(65536)
    except socket.timeout:
        extra = b""
    except ConnectionResetError:
        extra = b""
    assert not extra, "a second response: %r" % extra[:200]
    s.close()
print("ok")'
    assert_success
    assert_output ok
}

@test "a GET or HEAD with a Content-Length body, pipelined with a GET: both answered, kept alive" {
    printf 'SMUGGLED\n' >"$ROOT/smuggled.txt"
    start_web --path "$ROOT"
    # Each body looks like a request: answering it would show as an extra
    # response, and a body taken for a head would break the framing.
    run web_py '
import time
inner = b"GET /smuggled.txt HTTP/1.1\r\nHost: x\r\n\r\n"
for method in (b"GET", b"HEAD"):
    s = connect(PORT)
    f = reader(s)
    s.sendall(method + b" /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
              b"GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n" % (len(inner), inner))
    r = read_response(f, head=(method == b"HEAD"))
    assert r.status == 200 and r.body == (b"hello\n" if method == b"GET" else b""), (r.status, r.body)
    r = read_response(f)
    assert r.status == 200 and r.body == b"body { color: red }\n", (r.status, r.body)
    assert f.pending() == b"" and not closed_within(s, 0.5), "closed after the body"
    s.close()
# The body in pieces, the next request in the same segment as its end.
s = connect(PORT)
f = reader(s)
s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(inner))
r = read_response(f)
assert r.status == 200 and r.body == b"hello\n", (r.status, r.body)
for piece in (inner[:5], inner[5:20], inner[20:] + b"GET /digits HTTP/1.1\r\nHost: x\r\n\r\n"):
    time.sleep(0.1)
    s.sendall(piece)
r = read_response(f)
assert r.status == 200 and r.body.startswith(b"000102"), (r.status, r.body)
assert f.pending() == b"" and not closed_within(s, 0.5)
print("ok")'
    assert_success
    assert_output ok
}

@test "a GET with a chunked body (extensions, trailers), pipelined with a GET: both answered" {
    printf 'SMUGGLED\n' >"$ROOT/smuggled.txt"
    start_web --path "$ROOT"
    run web_py '
inner = b"GET /smuggled.txt HTTP/1.1\r\nHost: x\r\n\r\n"
body = (b"5;name=value\r\n" + inner[:5] + b"\r\n"
        b"%x; quoted=\"a;b\" ;flag\r\n" % (len(inner) - 5) + inner[5:] + b"\r\n"
        b"0;last\r\nX-Trailer: 0\r\nChecksum: 1\r\n\r\n")
s = connect(PORT)
f = reader(s)
s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body +
          b"GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n"
          b"HEAD /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
          b"GET /digits HTTP/1.1\r\nHost: x\r\n\r\n")
r = read_response(f)
assert r.status == 200 and r.body == b"hello\n", (r.status, r.body)
r = read_response(f)
assert r.status == 200 and r.body == b"body { color: red }\n", (r.status, r.body)
r = read_response(f, head=True)
assert r.status == 200 and r.get("content-length") == "6", (r.status, r.headers)
r = read_response(f)
assert r.status == 200 and r.body.startswith(b"000102"), (r.status, r.body)
assert f.pending() == b"" and not closed_within(s, 0.5), "closed"
print("ok")'
    assert_success
    assert_output ok
}

@test "a POST to a file is 405 with Allow; its body is dropped and the connection goes on" {
    start_web --path "$ROOT"
    run web_py '
s = connect(PORT)
f = reader(s)
s.sendall(b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n"
          b"name=value\n"
          b"PUT /nope HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n"
          b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
r = read_response(f)
assert r.status == 405 and r.get("allow") == "GET, HEAD, OPTIONS", (r.status, r.headers)
r = read_response(f)
assert r.status in (404, 405), (r.status, r.body)
r = read_response(f)
assert r.status == 200 and r.body == b"hello\n", (r.status, r.body)
assert f.pending() == b"" and not closed_within(s, 0.5), "closed"
print("ok")'
    assert_success
    assert_output ok
}

@test "a body sent with Expect: 100-continue to a file: no 100, and Connection: close" {
    start_web --path "$ROOT"
    # The client may never send a body it was not asked for, so the
    # server cannot wait for it to find the next request.
    run rawhttp 'GET /a.txt HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n'
    assert_success
    assert_line 'status=200'
    assert_line 'header connection: close'
    assert_line "body=b'hello\\n'"
    assert_line 'closed=yes'
}

@test "a changed file is served fresh, with a new ETag" {
    start_web --path "$ROOT"
    etag=$(web_head /a.txt | sed -n 's/^ETag: //p')
    [ -n "$etag" ]
    printf 'changed content\n' >"$ROOT/a.txt"
    touch -d '2021-05-06 07:08:09 UTC' "$ROOT/a.txt"
    run web_get /a.txt
    assert_output 'changed content'
    run web_head /a.txt -H "If-None-Match: $etag"
    assert_line --index 0 'HTTP/1.1 200 OK'
    assert_line 'Last-Modified: Thu, 06 May 2021 07:08:09 GMT'
    refute_line "ETag: $etag"
}

@test "If-None-Match with the ETag, or *, is 304; another tag is 200" {
    start_web --path "$ROOT"
    etag=$(web_head /a.txt | sed -n 's/^ETag: //p')
    [ -n "$etag" ]
    run web_head /a.txt -H "If-None-Match: $etag"
    assert_line --index 0 'HTTP/1.1 304 Not Modified'
    assert_line "ETag: $etag"
    run web_get /a.txt -H "If-None-Match: $etag"
    assert_output ''
    run web_head /a.txt -H 'If-None-Match: *'
    assert_line --index 0 'HTTP/1.1 304 Not Modified'
    run web_head /a.txt -H 'If-None-Match: "not-the-tag"'
    assert_line --index 0 'HTTP/1.1 200 OK'
}

@test "If-Modified-Since: the same date or later is 304, earlier is 200" {
    start_web --path "$ROOT"
    run web_head /digits -H 'If-Modified-Since: Thu, 02 Jan 2020 03:04:05 GMT'
    assert_line --index 0 'HTTP/1.1 304 Not Modified'
    run web_head /digits -H 'If-Modified-Since: Fri, 03 Jan 2020 03:04:05 GMT'
    assert_line --index 0 'HTTP/1.1 304 Not Modified'
    run web_head /digits -H 'If-Modified-Since: Thu, 02 Jan 2020 03:04:04 GMT'
    assert_line --index 0 'HTTP/1.1 200 OK'
    assert_line 'Content-Length: 100'
}

@test "Range: one range is 206 with Content-Range and exactly those bytes" {
    start_web --path "$ROOT"
    run web_head /digits -H 'Range: bytes=10-19'
    assert_line --index 0 'HTTP/1.1 206 Partial Content'
    assert_line 'Content-Range: bytes 10-19/100'
    assert_line 'Content-Length: 10'
    run web_get /digits -H 'Range: bytes=10-19'
    assert_output 0506070809
}

@test "Range: a suffix (-5) and an open range (90-)" {
    start_web --path "$ROOT"
    run web_head /digits -H 'Range: bytes=-5'
    assert_line --index 0 'HTTP/1.1 206 Partial Content'
    assert_line 'Content-Range: bytes 95-99/100'
    run web_get /digits -H 'Range: bytes=-5'
    assert_output 74849
    run web_head /digits -H 'Range: bytes=90-'
    assert_line 'Content-Range: bytes 90-99/100'
    run web_get /digits -H 'Range: bytes=90-'
    assert_output 4546474849
}

@test "Range: several ranges are multipart/byteranges with each part exact" {
    start_web --path "$ROOT"
    run web_py '
s = connect(PORT)
f = reader(s)
s.sendall(b"GET /digits HTTP/1.1\r\nHost: x\r\nRange: bytes=0-3,50-59\r\n\r\n")
r = read_response(f)
assert r.status == 206, r.status
ctype = r.get("content-type")
assert ctype.startswith("multipart/byteranges; boundary="), ctype
boundary = ctype.split("boundary=", 1)[1].strip("\"").encode()
parts = r.body.split(b"--" + boundary)
assert parts[-1].strip() == b"--", parts[-1]
got = []
for p in parts[1:-1]:
    head, _, data = p.partition(b"\r\n\r\n")
    assert data.endswith(b"\r\n"), data
    got.append((sorted(l for l in head.decode().strip().split("\r\n")), data[:-2]))
want = [(["Content-Range: bytes 0-3/100", "Content-Type: application/octet-stream"], b"0001"),
        (["Content-Range: bytes 50-59/100", "Content-Type: application/octet-stream"], b"2526272829")]
assert got == want, got
# The Content-Length was exact: the next response on the connection parses.
s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
assert read_response(f).body == b"hello\n"
print("ok")'
    assert_success
    assert_output ok
}

@test "Range: unsatisfiable is 416 with Content-Range bytes */SIZE" {
    start_web --path "$ROOT"
    run web_head /digits -H 'Range: bytes=100-200'
    assert_line --index 0 'HTTP/1.1 416 Range Not Satisfiable'
    assert_line 'Content-Range: bytes */100'
}

@test "If-Range: a matching ETag gives 206, a stale one the whole file" {
    start_web --path "$ROOT"
    etag=$(web_head /digits | sed -n 's/^ETag: //p')
    [ -n "$etag" ]
    run web_get /digits -H 'Range: bytes=0-3' -H "If-Range: $etag"
    assert_output 0001
    run web_head /digits -H 'Range: bytes=0-3' -H 'If-Range: "stale-etag"'
    assert_line --index 0 'HTTP/1.1 200 OK'
    assert_line 'Content-Length: 100'
    run web_get /digits -H 'Range: bytes=0-3' -H 'If-Range: "stale-etag"'
    assert_output "$(cat "$ROOT/digits")"
}

@test "/dir is 301 to /dir/, keeping the query" {
    start_web --path "$ROOT"
    run web_head /sub
    assert_line --index 0 'HTTP/1.1 301 Moved Permanently'
    assert_line 'Location: /sub/'
    run web_head '/sub?x=1&y=2'
    assert_line 'Location: /sub/?x=1&y=2'
    run web_get /sub -L
    assert_output 'sub index'
}

@test "the /dir redirect never points at another host" {
    start_web --path "$ROOT"
    # "//evil.example/../sub" is the directory sub; echoed back as the
    # Location it would be a network-path reference to evil.example.
    for p in '//evil.example/../sub' '//evil.example/%2e%2e/sub' '///evil.example/../sub'; do
        run web_head "$p" --path-as-is
        assert_line --index 0 'HTTP/1.1 301 Moved Permanently'
        assert_line --regexp '^Location: /[^/]'
        refute_line --partial evil.example
    done
}

@test "/dir/ is served by its index.html, or by a file named index" {
    mkdir "$ROOT/bare"
    printf 'bare index\n' >"$ROOT/bare/index"
    start_web --path "$ROOT"
    run web_get /sub/
    assert_output 'sub index'
    run web_get /bare/
    assert_output 'bare index'
    run web_head /sub/
    assert_line --regexp '^Content-Type: text/html'
}

@test "-i NAME makes NAME the index file" {
    printf 'home page\n' >"$ROOT/sub/home.htm"
    start_web --path "$ROOT" -i home.htm
    run web_get /sub/
    assert_output 'home page'
}

@test "a directory without an index is listed: directories first, sorted, with sizes" {
    start_web --path "$ROOT"
    run web_head /list/
    assert_line --index 0 'HTTP/1.1 200 OK'
    assert_line --regexp '^Content-Type: text/html'
    page=$(web_get /list/)
    run grep -o 'href="[^"]*"' <<<"$page"
    assert_output "$(printf 'href="%s"\n' ../ adir/ zdir/ a.txt b.txt)"
    # Sizes: 1500 bytes and 3 bytes, each in its own row.
    run grep -E 'href="a\.txt".*(1500|1\.5 ?K)' <<<"$page"
    assert_success
    run grep -E 'href="b\.txt".*>3( B| bytes)?<' <<<"$page"
    assert_success
}

@test "the listing escapes a hostile name and its link leads back to the file" {
    name='<b>&"x".txt'
    printf 'hostile\n' >"$ROOT/list/$name"
    start_web --path "$ROOT"
    page=$(web_get /list/)
    refute [ -z "$page" ]
    [[ $page != *'<b>&"x"'* ]]
    [[ $page == *'&lt;b&gt;&amp;'* ]]
    href=$(grep -o 'href="[^"]*x[^"]*\.txt"' <<<"$page" | sed 's/^href="//; s/"$//')
    [ -n "$href" ]
    [[ $href != *'<'* && $href != *'"'* && $href != *' '* ]]
    # An href is HTML: &amp; in it is a plain & in the URL.
    url=${href//&amp;/&}
    run web_get "/list/$url" -f
    assert_success
    assert_output hostile
}

@test "--no-listing answers 403 for a directory without an index" {
    start_web --path "$ROOT" --no-listing
    run web_head /list/
    assert_line --index 0 'HTTP/1.1 403 Forbidden'
    run web_get /list/
    refute_output --partial b.txt
    run web_get /sub/
    assert_output 'sub index'
}

# error_page STATUS-TEXT PATH [CURL ARGS]: the response to PATH is
# STATUS-TEXT ("404 Not Found") with a small HTML page naming it.
error_page() {
    run web_head "$2" "${@:3}"
    assert_line --index 0 "HTTP/1.1 $1"
    assert_line --regexp '^Content-Type: text/html'
    run web_get "$2" "${@:3}"
    assert_output --partial "<title>$1</title>"
    [ "${#output}" -lt 1024 ]
}

@test "error responses are small HTML pages that name the status" {
    start_web --path "$ROOT"
    error_page '404 Not Found' /missing
    error_page '405 Method Not Allowed' /a.txt -X DELETE
    error_page '416 Range Not Satisfiable' /digits -H 'Range: bytes=500-'
    run rawhttp 'GET /x HTTP/1.1\r\n\r\n'
    assert_line status=400
    assert_line --regexp '^header content-type: text/html'
    assert_line --partial '<title>400 Bad Request</title>'
}

@test "with no --path, gale web serves the current directory" {
    mkdir "$BATS_TEST_TMPDIR/cwd"
    printf 'from the cwd\n' >"$BATS_TEST_TMPDIR/cwd/here.txt"
    cd "$BATS_TEST_TMPDIR/cwd"
    start_gale web --port "tcp:$PORT:interface=127.0.0.1"
    wait_port "$PORT"
    run web_get /here.txt
    assert_output 'from the cwd'
    run web_get /
    assert_output --partial 'href="here.txt"'
}

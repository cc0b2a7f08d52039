#!/usr/bin/env bats
# gale web, end to end: what is served and how it is logged.  Hostile
# request paths, symlinks, --path FILE, --add-header, --ignore-ext, the
# access log (Combined Log Format, SIGHUP, JSON), a recursive wget
# mirror, and HTTPS with a certificate made at test time.

bats_require_minimum_version 1.5.0

load helpers

setup_file() {
    quick_python
    # One self-signed certificate for the TLS tests: CN and SAN localhost.
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
        -keyout "$BATS_FILE_TMPDIR/key.pem" -out "$BATS_FILE_TMPDIR/cert.pem" 2>/dev/null
}

# $ROOT is served; $SECRET lies just outside it and must never be.
setup() {
    common_setup
    PORT=$(free_port)
    ROOT=$BATS_TEST_TMPDIR/www
    SECRET=$BATS_TEST_TMPDIR/secret.txt
    mkdir -p "$ROOT/sub/deeper"
    printf 'TOPSECRET\n' >"$SECRET"
    printf 'hello\n' >"$ROOT/a.txt"
    printf '<p>page</p>\n' >"$ROOT/page.html"
    printf 'a note\n' >"$ROOT/note.txt"
    printf 'deep\n' >"$ROOT/sub/deeper/d.txt"
}

teardown() {
    common_teardown
}

@test "hostile paths are 400 or 404 and never reveal a file outside the root" {
    start_web --path "$ROOT"
    run web_py '
paths = [
    "/../secret.txt", "/../../../../../../etc/passwd", "/sub/../../secret.txt",
    "/./../secret.txt", "/sub/deeper/../../../secret.txt",
    "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/.%2e/secret.txt",
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/sub/%2e%2e/%2e%2e/secret.txt",
    "/a/%2f..%2f", "/sub/%2f..%2f..%2fsecret.txt", "/%2fetc%2fpasswd",
    "/..%5c..%5cetc/passwd", "/..%5csecret.txt", "/sub\\..\\..\\secret.txt",
    "/..\\..\\..\\etc\\passwd", "/a.txt%00.html", "/%00", "/sub/%00/../a.txt",
    "/%c0%ae%c0%ae/secret.txt", "/%c0%ae%c0%ae/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "/%e0%80%ae%e0%80%ae/secret.txt", "/%252e%252e/secret.txt", "//etc/passwd",
    "http://x/../secret.txt", "http://x/%2e%2e/secret.txt",
]
bad = []
for p in paths:
    s = connect(PORT)
    s.sendall(b"GET " + p.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    r = read_response(reader(s))
    s.close()
    leaked = b"TOPSECRET" in r.body or b"root:" in r.body
    if r.status not in (400, 404) or leaked:
        bad.append((p, r.status, r.body[:60]))
print(bad or "ok")'
    assert_success
    assert_output ok
}

@test "curl --path-as-is with dot segments gets 400 or 404" {
    start_web --path "$ROOT"
    for p in /../secret.txt /sub/../../secret.txt /%2e%2e/%2e%2e/etc/passwd; do
        run curl -sS --max-time 10 --path-as-is -o "$BATS_TEST_TMPDIR/out" \
            -w '%{http_code}' "http://127.0.0.1:$PORT$p"
        assert_output --regexp '^(400|404)$'
        run grep -c -e TOPSECRET -e root: "$BATS_TEST_TMPDIR/out"
        assert_output 0
    done
}

@test "a symlink to a file inside the root is served" {
    ln -s a.txt "$ROOT/link.txt"
    ln -s ../a.txt "$ROOT/sub/up.txt"
    start_web --path "$ROOT"
    run web_get /link.txt -f
    assert_output hello
    run web_get /sub/up.txt -f
    assert_output hello
}

@test "a symlink out of the root is 404 without --follow-symlinks" {
    ln -s "$SECRET" "$ROOT/out.txt"
    ln -s /etc/passwd "$ROOT/passwd"
    ln -s "$BATS_TEST_TMPDIR" "$ROOT/updir"
    start_web --path "$ROOT"
    run web_head /out.txt
    assert_line --index 0 'HTTP/1.1 404 Not Found'
    run web_get /passwd
    refute_output --partial root:
    run web_head /passwd
    assert_line --index 0 'HTTP/1.1 404 Not Found'
    run web_get /updir/secret.txt
    refute_output --partial TOPSECRET
}

@test "--follow-symlinks serves a symlink that leads out of the root" {
    ln -s "$SECRET" "$ROOT/out.txt"
    ln -s /etc/passwd "$ROOT/passwd"
    start_web --path "$ROOT" --follow-symlinks
    run web_get /out.txt -f
    assert_output TOPSECRET
    run web_get /passwd -f
    assert_output "$(cat /etc/passwd)"
}

@test "--path FILE answers that file for every path" {
    start_web --path "$ROOT/note.txt"
    for p in / /note.txt /other.html /a/b/c '/x?y=1'; do
        run web_get "$p" -f
        assert_success
        assert_output 'a note'
    done
    run web_head /whatever
    assert_line 'Content-Length: 7'
}

@test "--add-header adds the header to every response, errors included" {
    start_web --path "$ROOT" --add-header 'X-Test: 1' --add-header 'X-Other: two words'
    etag=$(web_head /a.txt | sed -n 's/^ETag: //p')
    for args in /a.txt /missing /sub /sub/ '/a.txt -X OPTIONS' '/a.txt -X DELETE' \
        "/a.txt -H If-None-Match:$etag" '/a.txt -H Range:bytes=0-1' \
        '/a.txt -H Range:bytes=50-'; do
        # shellcheck disable=SC2086
        run web_head $args
        assert_line 'X-Test: 1'
        assert_line 'X-Other: two words'
    done
    run rawhttp 'GET / HTTP/1.1\r\n\r\n'
    assert_line status=400
    assert_line 'header x-test: 1'
}

@test "--ignore-ext .html lets /page find page.html" {
    start_web --path "$ROOT" --ignore-ext .html
    run web_get /page -f
    assert_output '<p>page</p>'
    run web_head /page
    assert_line --regexp '^Content-Type: text/html'
    run web_head /note
    assert_line --index 0 'HTTP/1.1 404 Not Found'
}

@test "--allow-ignore-ext lets /note find note.txt" {
    start_web --path "$ROOT" --allow-ignore-ext
    run web_get /note -f
    assert_output 'a note'
    run web_get /page -f
    assert_output '<p>page</p>'
    run web_head /nothing
    assert_line --index 0 'HTTP/1.1 404 Not Found'
}

CLF_TIME='\[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}\]'

@test "-l writes one Combined Log Format line per request" {
    start_web --path "$ROOT" -l "$BATS_TEST_TMPDIR/access.log"
    web_get /a.txt -e ref -A ua >/dev/null
    web_get /missing -e 'http://r.example/?q="x"' -A 'ua 2' >/dev/null
    curl -sS -I --max-time 10 -A ua3 "http://127.0.0.1:$PORT/a.txt" >/dev/null
    wait_grep '"HEAD ' "$BATS_TEST_TMPDIR/access.log"
    run cat "$BATS_TEST_TMPDIR/access.log"
    assert_equal "${#lines[@]}" 3
    assert_line --index 0 --regexp "^127\\.0\\.0\\.1 - - $CLF_TIME \"GET /a\\.txt HTTP/1\\.1\" 200 6 \"ref\" \"ua\"\$"
    assert_line --index 1 --regexp "^127\\.0\\.0\\.1 - - $CLF_TIME \"GET /missing HTTP/1\\.1\" 404 [0-9]+ \"http://r\\.example/\\?q=\\\\\"x\\\\\"\" \"ua 2\"\$"
    assert_line --index 2 --regexp "^127\\.0\\.0\\.1 - - $CLF_TIME \"HEAD /a\\.txt HTTP/1\\.1\" 200 - \"-\" \"ua3\"\$"
}

@test "the access log is reopened on SIGHUP after it was moved" {
    log=$BATS_TEST_TMPDIR/access.log
    start_web --path "$ROOT" -l "$log"
    web_get /a.txt -A before >/dev/null
    wait_grep '"before"' "$log"
    mv "$log" "$log.1"
    kill -HUP "$GALE_PID"
    wait_file "$log"
    web_get /a.txt -A after >/dev/null
    wait_grep '"after"' "$log"
    run cat "$log"
    assert_equal "${#lines[@]}" 1
    run cat "$log.1"
    assert_equal "${#lines[@]}" 1
    assert_output --partial '"before"'
}

@test "--log-format json makes the access log one JSON object per request" {
    log=$BATS_TEST_TMPDIR/access.json
    start_gale --log-format json web --listen "tcp:$PORT:interface=127.0.0.1" \
        --path "$ROOT" -l "$log"
    wait_port "$PORT"
    web_get /a.txt -A 'json "ua"' >/dev/null
    web_get '/missing?q=1' -A ua2 >/dev/null
    wait_grep 'ua2' "$log"
    run python3 - "$log" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 2, rows
want = [dict(method="GET", target="/a.txt", status=200, bytes=6, client="127.0.0.1",
             user_agent='json "ua"'),
        dict(method="GET", target="/missing?q=1", status=404, client="127.0.0.1",
             user_agent="ua2")]
for row, w in zip(rows, want):
    for k, v in w.items():
        assert row.get(k) == v, (k, row)
assert rows[1]["bytes"] > 0, rows[1]
print("ok")
PY
    assert_success
    assert_output ok
}

@test "wget -r mirrors a tree byte for byte" {
    tree=$BATS_TEST_TMPDIR/tree
    mkdir -p "$tree/d1/d2/d3" "$tree/d1/sub dir" "$tree/ünï"
    printf 'top\n' >"$tree/top.txt"
    printf 'spaces\n' >"$tree/with space.txt"
    printf 'accents\n' >"$tree/héllo wörld.txt"
    head -c 5000 /dev/urandom >"$tree/日本語.bin"
    head -c 300000 /dev/urandom >"$tree/d1/d2/d3/deep.bin"
    : >"$tree/d1/empty.txt"
    printf 'pct\n' >"$tree/d1/100%.txt"
    printf 'amp\n' >"$tree/d1/a&b+c.txt"
    printf 'in sub dir\n' >"$tree/d1/sub dir/x.txt"
    head -c 70000 /dev/urandom >"$tree/ünï/ö.dat"
    start_web --path "$tree"
    mkdir "$BATS_TEST_TMPDIR/out"
    cd "$BATS_TEST_TMPDIR/out"
    run timeout 60 wget -q -r -np -nH -e robots=off --restrict-file-names=nocontrol \
        --reject 'index.html*' "http://127.0.0.1:$PORT/"
    assert_success
    run diff -r "$tree" "$BATS_TEST_TMPDIR/out"
    assert_success
    assert_output ''
}

@test "--https serves files over TLS with -c and -k" {
    head -c 300000 /dev/urandom >"$ROOT/big.bin"
    start_gale web --https "$PORT" -c "$BATS_FILE_TMPDIR/cert.pem" \
        -k "$BATS_FILE_TMPDIR/key.pem" --path "$ROOT"
    wait_port "$PORT"
    run curl -sS --max-time 10 --cacert "$BATS_FILE_TMPDIR/cert.pem" \
        --resolve "localhost:$PORT:127.0.0.1" -o "$BATS_TEST_TMPDIR/big.out" \
        "https://localhost:$PORT/big.bin"
    assert_success
    cmp "$ROOT/big.bin" "$BATS_TEST_TMPDIR/big.out"
    run curl -sS --max-time 10 --cacert "$BATS_FILE_TMPDIR/cert.pem" \
        --resolve "localhost:$PORT:127.0.0.1" "https://localhost:$PORT/a.txt"
    assert_output hello
}

@test "--listen ssl:PORT:privateKey=...:certKey=... serves files over TLS" {
    head -c 300000 /dev/urandom >"$ROOT/big.bin"
    start_gale web --path "$ROOT" --listen \
        "ssl:$PORT:privateKey=$BATS_FILE_TMPDIR/key.pem:certKey=$BATS_FILE_TMPDIR/cert.pem:interface=127.0.0.1"
    wait_port "$PORT"
    run curl -sS --max-time 10 --cacert "$BATS_FILE_TMPDIR/cert.pem" \
        --resolve "localhost:$PORT:127.0.0.1" -o "$BATS_TEST_TMPDIR/big.out" \
        "https://localhost:$PORT/big.bin" "https://localhost:$PORT/big.bin" \
        -o "$BATS_TEST_TMPDIR/big2.out"
    assert_success
    cmp "$ROOT/big.bin" "$BATS_TEST_TMPDIR/big.out"
    cmp "$ROOT/big.bin" "$BATS_TEST_TMPDIR/big2.out"
    # Plain HTTP on the TLS port is no request.
    run curl -sS --max-time 5 "http://127.0.0.1:$PORT/a.txt"
    refute_output hello
}

# --- the file cache: a hit is checked against the disk every time ---------

@test "a file rewritten in place, same size and mtime, is served fresh at once" {
    printf 'version 1\n' >"$ROOT/f.txt"
    start_web --path "$ROOT"
    # One keep-alive connection, all within a fraction of a second: the
    # bytes, size, inode and mtime (to the nanosecond) stay; only the
    # contents and the ctime change.
    run web_py '
ROOT = os.environ["ROOT"]
p = os.path.join(ROOT, "f.txt")
s = connect(PORT)
f = reader(s)
def get(extra=b""):
    s.sendall(b"GET /f.txt HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n")
    return read_response(f)
for _ in range(2):
    r = get()
    assert r.status == 200 and r.body == b"version 1\n", (r.status, r.body)
etag, lm = r.get("etag"), r.get("last-modified")
before = os.stat(p)
with open(p, "r+b") as w:
    w.write(b"version 2\n")
os.utime(p, ns=(before.st_atime_ns, before.st_mtime_ns))
after = os.stat(p)
assert (after.st_ino, after.st_size, after.st_mtime_ns) == \
    (before.st_ino, before.st_size, before.st_mtime_ns)
r = get()
assert r.status == 200 and r.body == b"version 2\n", (r.status, r.body)
r = get(b"If-None-Match: " + etag.encode() + b"\r\n")
assert r.status == 200 and r.body == b"version 2\n", (r.status, r.body)
assert r.get("etag") != etag and r.get("last-modified") == lm, (etag, r.headers)
print("ok")'
    assert_success
    assert_output ok
}

@test "a file replaced by rename, small or large, is served fresh at once; deleted, 404 at once" {
    head -c 100000 /dev/urandom >"$ROOT/big.bin"
    start_web --path "$ROOT"
    run web_py '
ROOT = os.environ["ROOT"]
s = connect(PORT)
f = reader(s)
def get(path, extra=b""):
    s.sendall(b"GET /%s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (path.encode(), extra))
    return read_response(f)
for name, new in (("a.txt", b"HELLO\n"), ("big.bin", os.urandom(100000))):
    p = os.path.join(ROOT, name)
    old = open(p, "rb").read()
    assert len(old) == len(new)
    for _ in range(2):
        r = get(name)
        assert r.status == 200 and r.body == old, (name, r.status)
    etag = r.get("etag")
    mtime = os.stat(p).st_mtime_ns
    with open(p + ".tmp", "wb") as w:
        w.write(new)
    os.utime(p + ".tmp", ns=(mtime, mtime))
    os.rename(p + ".tmp", p)
    r = get(name)
    assert r.status == 200 and r.body == new, (name, r.status, len(r.body))
    r = get(name, b"If-None-Match: " + etag.encode() + b"\r\n")
    assert r.status == 200 and r.body == new, (name, r.status)
    os.unlink(p)
    r = get(name)
    assert r.status == 404, (name, r.status)
print("ok")'
    assert_success
    assert_output ok
}

@test "a retargeted symlinked directory and a removed index file are seen at once" {
    mkdir -p "$ROOT/v1" "$ROOT/v2" "$ROOT/site"
    printf 'one\n' >"$ROOT/v1/x.txt"
    printf 'two\n' >"$ROOT/v2/x.txt"
    printf 'index\n' >"$ROOT/site/index.html"
    ln -s v1 "$ROOT/cur"
    start_web --path "$ROOT"
    run web_py '
ROOT = os.environ["ROOT"]
s = connect(PORT)
f = reader(s)
def get(path):
    s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path)
    return read_response(f)
for _ in range(2):
    assert get(b"/cur/x.txt").body == b"one\n"
    assert get(b"/site/").body == b"index\n"
os.symlink("v2", os.path.join(ROOT, "cur.new"))
os.rename(os.path.join(ROOT, "cur.new"), os.path.join(ROOT, "cur"))
assert get(b"/cur/x.txt").body == b"two\n"
os.unlink(os.path.join(ROOT, "site", "index.html"))
r = get(b"/site/")
assert r.status == 200 and b"Index of /site/" in r.body, (r.status, r.body[:200])
print("ok")'
    assert_success
    assert_output ok
}

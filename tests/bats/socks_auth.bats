#!/usr/bin/env bats
# gale socks, who may use it and where to: RFC 1929 username/password
# through curl and raw bytes (socks_client.py), --user and --users FILE with
# plain and crypt(3) passwords, the refusals (a wrong password, no-auth
# offered alone, SOCKS4/4a), --allow, --deny-dest, and the warning for an
# open proxy.  The destination is a python HTTP server on 127.0.0.1.

load helpers

setup_file() {
    quick_python
    local www=$BATS_FILE_TMPDIR/www
    mkdir -p "$www"
    printf 'hello through socks\n' >"$www/hello.txt"
    HP=$(free_port)
    export HP
    python3 -m http.server --bind 127.0.0.1 --directory "$www" "$HP" >"$BATS_FILE_TMPDIR/http.log" 2>&1 &
    HTTP_PID=$!
    export HTTP_PID
    wait_port "$HP"
}

teardown_file() {
    kill "$HTTP_PID" 2>/dev/null || true
    wait_gone "$HTTP_PID" || kill -9 "$HTTP_PID" 2>/dev/null || true
}

setup() {
    common_setup
    LOG="$BATS_TEST_TMPDIR/gale.log"
    # the system python for the client (the python3 on PATH may be a slow shim)
    if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=$(command -v python3); fi
    SC=("$PY" "$BATS_TEST_DIRNAME/socks_client.py")
    URL="http://127.0.0.1:$HP/hello.txt"
}

teardown() {
    common_teardown
}

# start_socks ARGS...: gale socks -p $P ARGS (P set here); returns once it
# listens, without connecting.
start_socks() {
    P=$(free_port)
    start_gale socks -p "$P" "$@"
    "${SC[@]}" listening "$P" --timeout 10 || { cat "$LOG" >&2; return 1; }
    kill -0 "$GALE_PID"
}

sc() {
    timeout 30 "${SC[@]}" "$@"
}

# fetch URL CURL-ARGS...: the body of URL through the proxy, at most 10 s.
fetch() {
    curl -sS --max-time 10 "${@:2}" "$1"
}

# serving: a fresh client still gets a file through the proxy on $P (no
# users), and gale still runs.
serving() {
    kill -0 "$GALE_PID" || { echo "gale (pid $GALE_PID) is gone" >&2; return 1; }
    run fetch "$URL" --socks5 "127.0.0.1:$P"
    assert_success
    assert_output "hello through socks"
}

# get USER:PASS: the file through the proxy as USER (socks5h:// URL).
get() {
    curl -sS --max-time 10 -x "socks5h://$1@127.0.0.1:$P" "$URL"
}

@test "--user: curl with the right password, by socks5h:// URL and by --proxy-user" {
    start_socks --user alice:secret
    run get alice:secret
    assert_success
    assert_output "hello through socks"
    run curl -sS --max-time 10 --socks5 "127.0.0.1:$P" --proxy-user alice:secret "$URL"
    assert_success
    assert_output "hello through socks"
    # the close line names the user
    wait_grep "event=close .*user=\"?alice\"?( |$)" "$LOG"
    wait_grep "event=close .*outcome=\"?succeeded" "$LOG"
}

@test "raw RFC 1929: method 2 chosen, status 0, then CONNECT" {
    start_socks --user alice:secret
    run sc raw "$P" greet=0002 @m auth=alice,secret @a "c5=connect,127.0.0.1,$HP" @5 shut
    assert_success
    assert_line "method 05 02"
    assert_line "auth 01 00"
    assert_line --regexp "^reply5 rep=0 addr=127\.0\.0\.1 port=[1-9][0-9]*$"
}

@test "a wrong password is refused: non-zero status, close, curl fails, the log says so" {
    start_socks --user alice:secret
    run sc raw "$P" greet=02 @m auth=alice,wrong @a "c5=connect,127.0.0.1,$HP" @5
    assert_line "method 05 02"
    assert_line --regexp "^auth 01 (0[1-9a-f]|[1-9a-f][0-9a-f])$"
    refute_line --regexp "^reply5 rep=0"
    assert_line --regexp "^end (eof|reset)$"
    run sc raw "$P" greet=02 @m auth=mallory,secret @a
    assert_line --regexp "^auth 01 (0[1-9a-f]|[1-9a-f][0-9a-f])$"
    assert_line --regexp "^end (eof|reset)$"
    run sc raw "$P" greet=02 @m auth=alice,secre @a   # a prefix is not the password
    assert_line --regexp "^auth 01 (0[1-9a-f]|[1-9a-f][0-9a-f])$"
    run sc raw "$P" greet=02 @m auth=alice,secretX @a
    assert_line --regexp "^auth 01 (0[1-9a-f]|[1-9a-f][0-9a-f])$"
    run get alice:wrong
    assert_failure
    refute_output --partial "hello through socks"
    wait_grep "auth[a-z]* *(failed|failure|refused|denied)|outcome=\"?auth" "$LOG"
}

@test "with users, no-auth offered alone gets 05 ff; offered with 02, 02 is chosen" {
    start_socks --user alice:secret
    run sc raw "$P" greet=00 @m
    assert_line "method 05 ff"
    assert_line --regexp "^end (eof|reset)$"
    run sc raw "$P" greet=0002 @m --timeout 0.5
    assert_line "method 05 02"
    run curl -sS --max-time 10 --socks5 "127.0.0.1:$P" "$URL"
    assert_failure
}

@test "with users, SOCKS4 and SOCKS4a are rejected with 91" {
    start_socks --user alice:secret
    run sc raw "$P" "c4=connect,127.0.0.1,$HP,alice" @4
    assert_line --regexp "^reply4 cd=91 "
    assert_line --regexp "^end (eof|reset)$"
    run sc raw "$P" "c4=connect,localhost,$HP,alice" @4
    assert_line --regexp "^reply4 cd=91 "
    run curl -sS --max-time 10 --socks4 "127.0.0.1:$P" "$URL"
    assert_failure
    refute_output --partial "hello through socks"
}

@test "--users FILE: crypt hashes (openssl passwd -6 and -5) and plain passwords" {
    printf '# proxy users\ncarol:%s\ndave:plainpw\nerin:%s\n' \
        "$(openssl passwd -6 s3cret)" "$(openssl passwd -5 'pa:ss word')" >users
    start_socks --users users
    run get carol:s3cret
    assert_success
    assert_output "hello through socks"
    run get dave:plainpw
    assert_output "hello through socks"
    run sc raw "$P" greet=02 @m "auth=erin,pa:ss word" @a --timeout 0.5
    assert_line "auth 01 00"
    run get carol:wrong
    assert_failure
    # the hash itself is not a password
    run sc raw "$P" greet=02 @m "auth=carol,$(sed -n 's/^carol://p' users)" @a
    assert_line --regexp "^auth 01 (0[1-9a-f]|[1-9a-f][0-9a-f])$"
    run get dave:plainp
    assert_failure
}

@test "--user repeated and --users FILE together: every user is accepted" {
    printf 'frank:%s\n' "$(openssl passwd -6 ff)" >users
    start_socks --user alice:secret --user bob:b0b --users users
    run get alice:secret
    assert_output "hello through socks"
    run get bob:b0b
    assert_output "hello through socks"
    run get frank:ff
    assert_output "hello through socks"
    run get bob:secret       # another user's password
    assert_failure
}

@test "SIGHUP reloads --users FILE: a user added is let in, a user removed is not" {
    printf 'carol:%s\n' "$(openssl passwd -6 s3cret)" >users
    start_socks --users users
    run get carol:s3cret
    assert_output "hello through socks"
    printf 'dave:%s\n' "$(openssl passwd -6 d4ve)" >users
    kill -HUP "$GALE_PID"
    local i ok=0
    for ((i = 0; i < 40; i++)); do   # at most 2 s for the reload
        if get dave:d4ve >/dev/null 2>&1; then ok=1; break; fi
        sleep 0.05
    done
    [ "$ok" = 1 ] || { echo "dave is not let in after SIGHUP" >&2; return 1; }
    run get carol:s3cret
    assert_failure
    kill -0 "$GALE_PID"
}

@test "hostile RFC 1929: a bad sub-negotiation version is refused and closed" {
    start_socks --user alice:secret
    run sc raw "$P" greet=02 @m 0205616c69636506736563726574 @a
    assert_line "method 05 02"
    assert_line --regexp "^auth ([0-9a-f]{2} (0[1-9a-f]|[1-9a-f][0-9a-f])|none)$"
    assert_line --regexp "^end (eof|reset)$"
    # truncated: a user name longer than what follows, then EOF
    run sc raw "$P" greet=02 @m 01ff616c shut
    assert_line --regexp "^end (eof|reset)$"
    refute_line --regexp "^rest 0100"
    run get alice:secret
    assert_output "hello through socks"
}

# ---- --allow and --deny-dest ------------------------------------------------

@test "--deny-dest 127.0.0.0/8: reply 2 by address and by name; others pass" {
    start_socks --deny-dest 127.0.0.0/8 --deny-dest ::1/128 -l conn.log
    run sc raw "$P" greet=00 @m "c5=connect,127.0.0.1,$HP" @5
    assert_line "method 05 00"
    assert_line --regexp "^reply5 rep=2 "
    assert_line --regexp "^end (eof|reset)$"
    run sc raw "$P" greet=00 @m "c5=connect,localhost,$HP" @5
    assert_line --regexp "^reply5 rep=2 "
    assert_line --regexp "^end (eof|reset)$"
    run sc raw "$P" "c4=connect,127.0.0.1,$HP,me" @4
    assert_line --regexp "^reply4 cd=91 "
    run sc raw "$P" "c4=connect,localhost,$HP,me" @4
    assert_line --regexp "^reply4 cd=91 "
    run fetch "http://localhost:$HP/hello.txt" --socks5-hostname "127.0.0.1:$P"
    assert_failure
    refute_output --partial "hello through socks"
    wait_grep "outcome=\"?not allowed" "$LOG"
    # the ruleset does not refuse what it does not name
    stop_all
    start_socks --deny-dest 10.0.0.0/8 --deny-dest 192.168.0.0/16
    serving
}

@test "--allow excluding the client: closed at once, without a reply" {
    start_socks --allow 10.0.0.0/8 --allow 192.168.1.0/24
    run sc raw "$P" greet=00 @m
    assert_success
    assert_line "method none"
    assert_line --regexp "^end (eof|reset)$"
    run sc raw "$P" "c4=connect,127.0.0.1,$HP,me" @4
    assert_line "reply4 none"
    run fetch "http://127.0.0.1:$HP/hello.txt" --socks5 "127.0.0.1:$P"
    assert_failure
    stop_all
    start_socks --allow 10.0.0.0/8 --allow 127.0.0.0/8
    serving
}

# ---- the open-proxy warning -------------------------------------------------

@test "listening on 0.0.0.0 without users warns of an open proxy; with users it does not" {
    start_socks -i 0.0.0.0
    wait_grep " warn .*socks.*(open|anyone|no users|without (users|auth))" "$LOG"
    stop_all
    : >"$LOG"
    start_socks -i 0.0.0.0 --user alice:secret
    run curl -sS --max-time 10 -x "socks5h://alice:secret@127.0.0.1:$P" "http://localhost:$HP/hello.txt"
    assert_output "hello through socks"
    run grep -E " warn " "$LOG"
    assert_failure
    # loopback without users: no warning either
    stop_all
    : >"$LOG"
    start_socks
    serving
    run grep -E " warn " "$LOG"
    assert_failure
}

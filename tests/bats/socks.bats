#!/usr/bin/env bats
# gale socks, end to end: curl and socks_client.py (a standard-library SOCKS
# client speaking raw bytes) through gale to python HTTP servers on
# 127.0.0.1 and ::1 (one port, both addresses).  Written from the spec, not
# the implementation: replies are checked byte by byte.  Authentication is
# in socks_auth.bats, BIND and UDP ASSOCIATE in socks_udp.bats.

load helpers

setup_file() {
    quick_python
    local www=$BATS_FILE_TMPDIR/www
    mkdir -p "$www"
    printf 'hello through socks\n' >"$www/hello.txt"
    head -c $((20 << 20)) /dev/urandom >"$www/big.bin"
    # one port free on both 127.0.0.1 and ::1
    HP=$(python3 - <<'PY'
import socket
for _ in range(50):
    a = socket.socket(); a.bind(("127.0.0.1", 0)); p = a.getsockname()[1]
    b = socket.socket(socket.AF_INET6)
    try:
        b.bind(("::1", p))
    except OSError:
        continue
    finally:
        a.close(); b.close()
    print(p); break
PY
)
    export HP
    python3 -m http.server --bind 127.0.0.1 --directory "$www" "$HP" >"$BATS_FILE_TMPDIR/http4.log" 2>&1 &
    HTTP_PIDS="$!"
    python3 -m http.server --bind ::1 --directory "$www" "$HP" >"$BATS_FILE_TMPDIR/http6.log" 2>&1 &
    HTTP_PIDS="$HTTP_PIDS $!"
    export HTTP_PIDS
    wait_port "$HP" 127.0.0.1
    wait_port "$HP" ::1
}

teardown_file() {
    local pid
    for pid in $HTTP_PIDS; do kill "$pid" 2>/dev/null || true; done
    for pid in $HTTP_PIDS; do wait_gone "$pid" || kill -9 "$pid" 2>/dev/null || true; done
}

setup() {
    common_setup
    LOG="$BATS_TEST_TMPDIR/gale.log"
    WWW="$BATS_FILE_TMPDIR/www"
    # the system python for the client (the python3 on PATH may be a slow shim)
    if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=$(command -v python3); fi
    SC=("$PY" "$BATS_TEST_DIRNAME/socks_client.py")
}

teardown() {
    common_teardown
}

# ---- helpers for this file ---------------------------------------------

# start_socks ARGS...: gale socks -p $P ARGS (P set here); returns once it
# listens, without connecting (a probe would be a logged connection).
start_socks() {
    P=$(free_port)
    start_gale socks -p "$P" "$@"
    "${SC[@]}" listening "$P" --timeout 10 || { cat "$LOG" >&2; return 1; }
    kill -0 "$GALE_PID"
}

# sc ARGS...: socks_client.py with a 30 s bound.
sc() {
    timeout 30 "${SC[@]}" "$@"
}

# fetch URL CURL-ARGS...: the body of URL through the proxy, at most 10 s.
fetch() {
    curl -sS --max-time 10 "${@:2}" "$1"
}

# serving: a fresh client still gets a file through the proxy on $P, and
# gale still runs.
serving() {
    kill -0 "$GALE_PID" || { echo "gale (pid $GALE_PID) is gone" >&2; return 1; }
    run fetch "http://127.0.0.1:$HP/hello.txt" --socks5 "127.0.0.1:$P"
    assert_success
    assert_output "hello through socks"
}

# close_line CLIENT_PORT: waits (at most 10 s) for the core log's close
# line of the connection from that client port; prints it.
close_line() {
    local i line
    for ((i = 0; i < 200; i++)); do
        line=$(grep -E "event=close .*client=\"?127\.0\.0\.1:$1[\" ]" "$LOG" 2>/dev/null) &&
            { echo "$line"; return 0; }
        sleep 0.05
    done
    echo "no close line for client port $1 after 10 s" >&2
    cat "$LOG" >&2
    return 1
}

# field LINE KEY: the value of KEY=VALUE in LINE (quotes removed).
field() {
    sed -nE "s/.* $2=\"?([^\" ]*)\"?( .*|$)/\1/p" <<<"$1"
}

# ---- CONNECT through each protocol -------------------------------------

@test "socks5 (curl --socks5): an IPv4 destination, the body byte-exact" {
    start_socks
    run fetch "http://127.0.0.1:$HP/hello.txt" --socks5 "127.0.0.1:$P"
    assert_success
    assert_output "hello through socks"
}

@test "socks5 with the name resolved by the proxy (curl --socks5-hostname localhost)" {
    start_socks
    run fetch "http://localhost:$HP/hello.txt" --socks5-hostname "127.0.0.1:$P"
    assert_success
    assert_output "hello through socks"
    # and the proxy saw the name (ATYP 3), not an address
    wait_grep "event=close .*localhost:$HP" "$LOG"
}

@test "socks4 (curl --socks4) and socks4a (curl --socks4a localhost)" {
    start_socks
    run fetch "http://127.0.0.1:$HP/hello.txt" --socks4 "127.0.0.1:$P"
    assert_success
    assert_output "hello through socks"
    run fetch "http://localhost:$HP/hello.txt" --socks4a "127.0.0.1:$P"
    assert_success
    assert_output "hello through socks"
    wait_grep "event=close .*version=\"?4\"? .*localhost:$HP" "$LOG"
}

@test "socks5 to an IPv6 destination: curl http://[::1]:PORT/ and a raw ATYP 4 request" {
    start_socks
    run fetch "http://[::1]:$HP/hello.txt" --socks5 "127.0.0.1:$P"
    assert_success
    assert_output "hello through socks"
    run sc raw "$P" greet=00 @m "c5=connect,::1,$HP" @5 'text=GET /hello.txt HTTP/1.0\r\n\r\n' --timeout 5
    assert_success
    assert_line "method 05 00"
    assert_line --regexp "^reply5 rep=0 addr=[0-9a-f.:]+ port=[1-9][0-9]*$"
    assert_line "end eof"
    # the response (hex) ends with the file
    assert_line --regexp "^rest 485454502f.*$(printf 'hello through socks\n' | od -v -An -tx1 | tr -d ' \n')$"
}

@test "the CONNECT reply names the proxy's real outgoing address and port (IPv4 and IPv6)" {
    start_socks
    run sc bndcheck "$P" --dest 127.0.0.1
    assert_success
    assert_line "bnd=real"
    run sc bndcheck "$P" --dest ::1
    assert_success
    assert_line "bnd=real"
}

@test "a pipelined client (greeting, request and data in one write) and a byte-by-byte one" {
    start_socks
    run sc optimistic "$P"
    assert_success
    assert_line "optimistic=ok"
    run sc optimistic "$P" --slow
    assert_success
    assert_line "optimistic=ok"
}

@test "300 CONNECTs open at once, each echoing its own message" {
    start_socks
    run sc many "$P" -n 300
    assert_success
    assert_line "open=300"
    assert_line "echoed=300"
}

@test "listening on ::1 (-i) and on a unix socket (-p unix:PATH)" {
    start_socks -i ::1
    run fetch "http://127.0.0.1:$HP/hello.txt" --socks5 "[::1]:$P"
    assert_success
    assert_output "hello through socks"
    wait_grep "event=close .*client=\"?\[::1\]:[0-9]+" "$LOG"
    stop_all
    start_gale socks -p "unix:$BATS_TEST_TMPDIR/socks.sock"
    wait_file "$BATS_TEST_TMPDIR/socks.sock"
    run fetch "http://127.0.0.1:$HP/hello.txt" -x "socks5h://localhost$BATS_TEST_TMPDIR/socks.sock"
    assert_success
    assert_output "hello through socks"
}

@test "a 20 MiB download arrives byte-exact and is counted in the log" {
    start_socks
    run curl -sS --max-time 30 --socks5 "127.0.0.1:$P" -o got.bin -w '%{local_port}' \
        "http://127.0.0.1:$HP/big.bin"
    assert_success
    local lp=$output
    [ "$(sha256sum <got.bin | cut -d' ' -f1)" = "$(sha256sum <"$WWW/big.bin" | cut -d' ' -f1)" ]
    local line
    line=$(close_line "$lp")
    [ "$(field "$line" to_client)" -ge $((20 << 20)) ]
    [ "$(field "$line" to_dest)" -gt 0 ]
}

@test "half-close through CONNECT, both ways, 1 MiB each" {
    start_socks
    run sc halfclose "$P" --size $((1 << 20))
    assert_success
    assert_line "client_half_close=ok"
    assert_line "target_half_close=ok"
}

# ---- the connection log --------------------------------------------------

@test "one close line per connection in the core log and in -l FILE" {
    start_socks -l conn.log
    run curl -sS --max-time 10 --socks5-hostname "127.0.0.1:$P" -o body -w '%{local_port}' \
        "http://localhost:$HP/hello.txt"
    assert_success
    local lp=$output line
    line=$(close_line "$lp")
    [[ $line == *" info socks: "* ]]
    [[ $line =~ \ version=\"?5\"?\  ]]
    [[ $line =~ \ command=\"?connect\"?\  ]]
    [[ $line =~ \ outcome=\"?succeeded\"?(\ |$) ]]
    [[ $line == *"localhost:$HP"* ]]
    [[ $line == *"127.0.0.1:$HP"* ]]
    [[ $line =~ \ duration=\"?[0-9]+(\.[0-9]+)?\"?(\ |$) ]]
    local body_size
    body_size=$(stat -c %s body)
    [ "$(field "$line" to_dest)" -gt 20 ]              # at least the request line
    [ "$(field "$line" to_client)" -gt "$body_size" ]  # the head and the body
    [ "$(grep -cE "client=\"?127\.0\.0\.1:$lp[\" ]" "$LOG")" = 1 ]
    # -l FILE: the same connection, one line, with time, client, version,
    # command, name and address, outcome and byte counts
    wait_grep "127\.0\.0\.1:$lp([^0-9]|$)" conn.log
    [ "$(grep -cE "127\.0\.0\.1:$lp([^0-9]|$)" conn.log)" = 1 ]
    line=$(grep -E "127\.0\.0\.1:$lp([^0-9]|$)" conn.log)
    [[ $line =~ [0-9]{4}-[0-9]{2}-[0-9]{2}.[0-9]{2}:[0-9]{2}:[0-9]{2} ]]
    [[ $line == *5* && $line == *connect* && $line == *succeeded* ]]
    [[ $line == *"localhost:$HP"* && $line == *"127.0.0.1:$HP"* ]]
    [[ $line == *"$(field "$(close_line "$lp")" to_client)"* ]]
}

@test "SIGHUP reopens -l FILE (moved away by logrotate)" {
    start_socks -l conn.log
    run fetch "http://127.0.0.1:$HP/hello.txt" --socks5 "127.0.0.1:$P"
    assert_output "hello through socks"
    wait_grep "event=close" conn.log
    mv conn.log conn.log.1
    kill -HUP "$GALE_PID"
    wait_file conn.log
    run curl -sS --max-time 10 --socks5 "127.0.0.1:$P" -o /dev/null -w '%{local_port}' \
        "http://127.0.0.1:$HP/hello.txt"
    assert_success
    wait_grep "127\.0\.0\.1:$output([^0-9]|$)" conn.log
    [ "$(grep -c 'connect' conn.log.1)" = 1 ]
    [ "$(grep -c 'connect' conn.log)" = 1 ]
}

# ---- refusals with their reply codes --------------------------------------

@test "a refused port gives reply 5; SOCKS4 gives 91" {
    start_socks
    local dead
    dead=$(free_port)
    run sc raw "$P" greet=00 @m "c5=connect,127.0.0.1,$dead" @5
    assert_line --regexp "^reply5 rep=5 "
    assert_line --regexp "^end (eof|reset)$"
    run sc raw "$P" "c4=connect,127.0.0.1,$dead,me" @4
    assert_line --regexp "^reply4 cd=91 "
    wait_grep "event=close .*127\.0\.0\.1:$dead.* outcome=\"?connection refused" "$LOG"
}

@test "a name that does not resolve gives reply 4" {
    start_socks
    run sc raw "$P" greet=00 @m "c5=connect,no-such-host.invalid,80" @5 --timeout 15
    assert_line --regexp "^reply5 rep=4 "
    assert_line --regexp "^end (eof|reset)$"
    run sc raw "$P" "c4=connect,no-such-host.invalid,80,me" @4 --timeout 15
    assert_line --regexp "^reply4 cd=91 "
    serving
}

@test "--connect-timeout 1: a destination that never answers gives reply 6 in about 1 s" {
    start_socks --connect-timeout 1
    run sc connect-timeout "$P" --timeout 8
    assert_success
    assert_line --regexp "^reply5 rep=6 after=[0-9.]+$"
    local after=${lines[0]#*after=}
    awk -v t="$after" 'BEGIN { exit !(t >= 0.8 && t < 4) }'
}

# ---- timeouts ------------------------------------------------------------

@test "--handshake-timeout 1: a silent client, or one that stops mid-greeting, is cut off in 1-3 s" {
    start_socks --handshake-timeout 1
    run sc idle "$P" --timeout 6
    assert_success
    assert_line "got="
    assert_line --regexp "^closed_after=(0\.[89]|1\.|2\.)[0-9]* how=(eof|reset)$"
    run sc idle "$P" --send 0502 --timeout 6
    assert_line --regexp "^closed_after=(0\.[89]|1\.|2\.)[0-9]* how=(eof|reset)$"
    run sc idle "$P" --send 05010005 --timeout 6   # greeting, then 1 byte of the request
    assert_line --regexp "^got=(0500)?$"
    assert_line --regexp "^closed_after=(0\.[89]|1\.|2\.)[0-9]* how=(eof|reset)$"
    # busy but never done: a 255-byte name, one byte every 0.3 s
    run sc idle "$P" --send 050100_050100_03ff --trickle 61 --timeout 6
    assert_line --regexp "^got=(0500)?$"
    assert_line --regexp "^closed_after=(0\.[89]|1\.|2\.)[0-9]* how=(eof|reset)$"
    serving
}

@test "--idle-timeout 1: a CONNECT with no traffic is closed in 1-3 s" {
    start_socks --idle-timeout 1
    local t0=$SECONDS
    run sc raw "$P" greet=00 @m "c5=connect,127.0.0.1,$HP" @5 --timeout 6
    assert_line --regexp "^reply5 rep=0 "
    assert_line --regexp "^end (eof|reset)$"
    [ $((SECONDS - t0)) -le 4 ]
    serving
}

# ---- hostile input ---------------------------------------------------------

@test "hostile: an unknown version byte is closed" {
    start_socks
    run sc raw "$P" 060100 @2
    assert_success
    assert_line --regexp "^read (none|short .*)$|^read 05ff$|^read 005b$"
    assert_line --regexp "^end (eof|reset)$"
    run sc raw "$P" 47455420
    assert_line --regexp "^end (eof|reset)$"
    serving
}

@test "hostile: a SOCKS5 greeting with 0 methods gets 05 ff (or nothing) and a close" {
    start_socks
    run sc raw "$P" 0500 @m
    assert_line --regexp "^method (05 ff|none)$"
    assert_line --regexp "^end (eof|reset)$"
    serving
}

@test "hostile: only unknown methods offered gets 05 ff and a close" {
    start_socks
    run sc raw "$P" greet=80 @m
    assert_line "method 05 ff"
    assert_line --regexp "^end (eof|reset)$"
    run sc raw "$P" greet=03fe80 @m
    assert_line "method 05 ff"
    assert_line --regexp "^end (eof|reset)$"
    serving
}

@test "hostile: an unknown command gets reply 7 (SOCKS5) or 91 (SOCKS4) and a close" {
    start_socks
    run sc raw "$P" greet=00 @m "c5=9,127.0.0.1,$HP" @5
    assert_line "method 05 00"
    assert_line --regexp "^reply5 rep=7 "
    assert_line --regexp "^end (eof|reset)$"
    run sc raw "$P" "c4=9,127.0.0.1,$HP,me" @4
    assert_line --regexp "^reply4 cd=91 "
    assert_line --regexp "^end (eof|reset)$"
    serving
}

@test "hostile: address type 9 gets reply 8 and a close" {
    start_socks
    run sc raw "$P" greet=00 @m 05010009_7f000001_0050 @5
    assert_line --regexp "^reply5 rep=8 "
    assert_line --regexp "^end (eof|reset)$"
    serving
}

@test "hostile: a truncated request then EOF is closed (reply 1 at most)" {
    start_socks
    run sc raw "$P" greet=00 @m 05010001_7f00 shut
    assert_line "method 05 00"
    assert_line --regexp "^end (eof|reset)$"
    if [[ $output == *"rest "* ]]; then assert_line --regexp "^rest 0501"; fi
    run sc raw "$P" 05 shut
    assert_line --regexp "^end (eof|reset)$"
    serving
}

@test "hostile: a domain name of length 0 gets reply 1 or a close" {
    start_socks
    run sc raw "$P" greet=00 @m 05010003_00_0050 @5
    assert_line --regexp "^reply5 (rep=1 .*|none)$"
    assert_line --regexp "^end (eof|reset)$"
    serving
}

@test "hostile: a bad version in the SOCKS5 request gets reply 1 or a close" {
    start_socks
    run sc raw "$P" greet=00 @m 04010001_7f000001_0050 @5
    assert_line "method 05 00"
    assert_line --regexp "^reply5 (rep=1 .*|none)$"
    assert_line --regexp "^end (eof|reset)$"
    serving
}

@test "hostile: a SOCKS4 user id over 1 KiB without NUL gets 91 and a close" {
    start_socks
    run sc raw "$P" 04010050_7f000001 rep=1100,41 @4
    assert_line --regexp "^reply4 cd=91 "
    assert_line --regexp "^end (eof|reset)$"
    # SOCKS4a: the host name, likewise
    run sc raw "$P" 04010050_00000001_6d6500 rep=1100,41 @4
    assert_line --regexp "^reply4 cd=91 "
    assert_line --regexp "^end (eof|reset)$"
    serving
}

@test "hostile: 64 KiB of junk after a valid greeting is refused and closed" {
    start_socks
    run sc raw "$P" greet=00 @m 05ff00 rand=65536 @5
    assert_line "method 05 00"
    assert_line --regexp "^reply5 (rep=(1|7) .*|none|short .*)$"
    assert_line --regexp "^end (eof|reset)$"
    serving
}

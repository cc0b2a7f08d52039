#!/usr/bin/env bats
# gale socks: BIND (SOCKS5 and SOCKS4) and UDP ASSOCIATE, end to end with
# socks_client.py, which plays the client, the "remote server" that
# connects back for BIND, and UDP echo servers on 127.0.0.1 and ::1.

load helpers

setup_file() {
    quick_python
}

setup() {
    common_setup
    LOG="$BATS_TEST_TMPDIR/gale.log"
    # the system python for the client (the python3 on PATH may be a slow shim)
    if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=$(command -v python3); fi
    SC=("$PY" "$BATS_TEST_DIRNAME/socks_client.py")
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

# ---- BIND ----------------------------------------------------------------

@test "SOCKS5 BIND: two replies (bound address, then the peer), data both ways" {
    start_socks
    run sc bind5 "$P"
    assert_success
    assert_line --regexp "^first_reply rep=0 addr=127\.0\.0\.1 port=[1-9][0-9]*$"
    assert_line --regexp "^second_reply rep=0 addr=127\.0\.0\.1 port=[1-9][0-9]*$"
    assert_line "to_remote=300000 to_client=200000"
    wait_grep "event=close .*version=\"?5\"? .*command=\"?bind\"? .*outcome=\"?succeeded" "$LOG"
    local line
    line=$(grep -E "event=close .*command=\"?bind" "$LOG")
    [[ $line =~ to_dest=\"?300000\"?\  ]]
    [[ $line =~ to_client=\"?200000\"?\  ]]
}

@test "SOCKS4 BIND: two replies with 90, data both ways" {
    start_socks
    run sc bind4 "$P"
    assert_success
    assert_line --regexp "^first_reply rep=0 addr=[0-9.]+ port=[1-9][0-9]*$"
    assert_line --regexp "^second_reply rep=0 addr=127\.0\.0\.1 port=[1-9][0-9]*$"
    assert_line "to_remote=300000 to_client=200000"
    wait_grep "event=close .*version=\"?4\"? .*command=\"?bind" "$LOG"
}

@test "SOCKS5 BIND with a user, and BIND to a denied address refused with 2" {
    start_socks --user alice:secret --deny-dest 10.0.0.0/8
    run sc bind5 "$P" --user alice --password secret
    assert_success
    assert_line "to_remote=300000 to_client=200000"
    run timeout 30 "${SC[@]}" raw "$P" greet=02 @m auth=alice,secret @a "c5=bind,10.1.2.3,0" @5
    assert_line "auth 01 00"
    assert_line --regexp "^reply5 rep=2 "
    assert_line --regexp "^end (eof|reset)$"
}

@test "BIND: a peer from another address than the one requested is refused" {
    start_socks
    run sc bind5 "$P" --from 127.0.0.2
    assert_success
    assert_line --regexp "^first_reply rep=0 "
    refute_line --regexp "^second_reply rep=0 "
    assert_line "foreign_peer=rejected"
    run sc bind4 "$P" --from 127.0.0.2
    assert_success
    refute_line --regexp "^second_reply rep=0 "
    assert_line "foreign_peer=rejected"
    # and the right peer still gets through afterwards
    run sc bind5 "$P"
    assert_success
    assert_line "to_remote=300000 to_client=200000"
}

@test "BIND: the client closing before anyone connects frees the listening port" {
    start_socks
    run sc raw "$P" greet=00 @m "c5=bind,127.0.0.1,0" @5 --timeout 0.5
    assert_line --regexp "^reply5 rep=0 addr=127\.0\.0\.1 port=[1-9][0-9]*$"
    local bport
    bport=$(sed -n 's/^reply5 rep=0 addr=127.0.0.1 port=//p' <<<"$output")
    wait_refused "$bport"
}

# ---- UDP ASSOCIATE ---------------------------------------------------------

@test "UDP ASSOCIATE: datagrams to 127.0.0.1 and ::1 echo back with the header; fragments dropped; none after the TCP close" {
    start_socks
    run sc udp "$P"
    assert_success
    assert_line --regexp "^associate rep=0 addr=127\.0\.0\.1 port=[1-9][0-9]*$"
    assert_line "echo_v4=ok"
    assert_line "echo_v6=ok"
    assert_line "fragment=dropped"
    assert_line "after_close=not_relayed"
    wait_grep "event=close .*version=\"?5\"? .*command=\"?udp" "$LOG"
    local line
    line=$(grep -E "event=close .*command=\"?udp" "$LOG")
    # 7 datagrams went out and came back; their payloads at least are counted
    [ "$(sed -nE 's/.* to_dest="?([0-9]+).*/\1/p' <<<"$line")" -ge 18000 ]
    [ "$(sed -nE 's/.* to_client="?([0-9]+).*/\1/p' <<<"$line")" -ge 18000 ]
}

@test "UDP ASSOCIATE: datagrams from another address than the client's are dropped" {
    start_socks
    run sc udp-drop "$P" --from 127.0.0.2
    assert_success
    assert_line "foreign_source=dropped"
    assert_line "association=alive"
}

@test "UDP ASSOCIATE: a datagram to a --deny-dest address is dropped" {
    start_socks --deny-dest ::1/128
    run sc udp-drop "$P" --dest ::1
    assert_success
    assert_line "denied_dest=dropped"
    assert_line "association=alive"
}

@test "UDP ASSOCIATE with an all-zero client address, and with a user" {
    start_socks --user alice:secret
    run sc udp "$P" --zeros --user alice --password secret
    assert_success
    assert_line "echo_v4=ok"
    assert_line "echo_v6=ok"
    assert_line "after_close=not_relayed"
}

@test "UDP ASSOCIATE: the association ends with its TCP connection (the relay port closes)" {
    start_socks
    run sc raw "$P" greet=00 @m "c5=udp,0.0.0.0,0" @5 --timeout 0.5
    assert_line --regexp "^reply5 rep=0 addr=127\.0\.0\.1 port=[1-9][0-9]*$"
    local uport i gone=0
    uport=$(sed -n 's/^reply5 rep=0 addr=127.0.0.1 port=//p' <<<"$output")
    # the client has closed: within 2 s no UDP socket is bound to the relay port
    for ((i = 0; i < 40; i++)); do
        if ! grep -qi ":$(printf '%04X' "$uport") " /proc/net/udp /proc/net/udp6; then
            gone=1
            break
        fi
        sleep 0.05
    done
    [ "$gone" = 1 ]
    kill -0 "$GALE_PID"
}

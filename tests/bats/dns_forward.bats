#!/usr/bin/env bats
# gale dns, end to end: forwarding to upstream servers (-r, --resolv-conf)
# and who may use it (--allow-recursion).  The upstream is a second gale
# dns serving a zone, named in a resolv.conf of the test's own.

load helpers

setup() {
    common_setup
    UP=$(free_port)
    PORT=$(free_port)
    cat >zone <<'Z'
$ORIGIN example.com.
$TTL 3600
@    IN SOA ns1 hostmaster 7 7200 900 1209600 300
@    NS  ns1
ns1  A   192.0.2.1
www  A   192.0.2.10
Z
    printf '10.9.8.7 local.lan\n' >hosts
    printf 'nameserver 127.0.0.1:%s\n' "$UP" >resolv.conf
    "$GALE" dns -p "$UP" -i 127.0.0.1 --bindzone zone >>"$BATS_TEST_TMPDIR/up.log" 2>&1 &
    UP_PID=$!
    track_pid "$UP_PID"
    wait_grep 'event=loaded' "$BATS_TEST_TMPDIR/up.log"
}

teardown() { common_teardown; }

start_fwd() {
    start_gale dns -p "$PORT" -i 127.0.0.1 --hosts-file hosts --resolv-conf resolv.conf "$@"
    wait_grep 'event=loaded' "$BATS_TEST_TMPDIR/gale.log"
}

q() { dig +time=3 +tries=1 @127.0.0.1 -p "$PORT" "$@"; }

@test "names outside local data are answered by the upstream, with the client's id" {
    start_fwd
    run q +short www.example.com
    assert_output 192.0.2.10
    run q +short local.lan
    assert_output 10.9.8.7
    run q nope.example.com
    assert_output --partial 'status: NXDOMAIN'
    assert_output --partial 'example.com.		300	IN	SOA'
}

@test "forwarding works over TCP too" {
    start_fwd
    run q +tcp +short www.example.com
    assert_output 192.0.2.10
}

@test "a client outside --allow-recursion gets REFUSED, local data still answers" {
    start_fwd --allow-recursion 10.0.0.0/8
    run q www.example.com
    assert_output --partial 'status: REFUSED'
    run q +short local.lan
    assert_output 10.9.8.7
}

@test "an upstream that is gone gives SERVFAIL, and the server goes on" {
    start_fwd
    kill "$UP_PID"
    wait_gone "$UP_PID"
    run q +time=15 www.example.com
    assert_output --partial 'status: SERVFAIL'
    run q +short local.lan
    assert_output 10.9.8.7
}

@test "--resolv-conf naming no server is an error at start" {
    printf '# nothing here\n' >empty.conf
    run "$GALE" dns -p "$PORT" -i 127.0.0.1 --resolv-conf empty.conf
    assert_failure
    assert_output --partial 'empty.conf'
}

@test "-c: a cached answer is still served after the upstream stops, its TTL counting down" {
    start_fwd -c
    run q +short www.example.com
    assert_output 192.0.2.10
    run q nope.example.com
    assert_output --partial 'status: NXDOMAIN'
    kill "$UP_PID"
    wait_gone "$UP_PID"
    sleep 1.1
    run q www.example.com
    assert_output --partial 'status: NOERROR'
    ttl=$(awk '$1 == "www.example.com." && $4 == "A" { print $2 }' <<<"$output")
    [ -n "$ttl" ] && [ "$ttl" -lt 3600 ] && [ "$ttl" -ge 3590 ]
    # The negative answer was kept for the SOA's negative TTL (300 s).
    run q nope.example.com
    assert_output --partial 'status: NXDOMAIN'
    # A name never asked before has nobody to answer it.
    run q +time=15 ns1.example.com
    assert_output --partial 'status: SERVFAIL'
}

@test "without -c nothing is kept: the upstream gone means SERVFAIL" {
    start_fwd
    run q +short www.example.com
    assert_output 192.0.2.10
    kill "$UP_PID"
    wait_gone "$UP_PID"
    run q +time=15 www.example.com
    assert_output --partial 'status: SERVFAIL'
}

@test "a dead upstream is passed over: the next one answers, and later queries skip it" {
    dead=$(free_port)
    printf 'nameserver 127.0.0.1:%s\nnameserver 127.0.0.1:%s\n' "$dead" "$UP" >two.conf
    start_gale dns -p "$PORT" -i 127.0.0.1 --hosts-file hosts --resolv-conf two.conf
    wait_grep 'event=loaded' "$BATS_TEST_TMPDIR/gale.log"
    run q +time=15 +short www.example.com
    assert_output 192.0.2.10
    # The dead one is backed off now: no waiting on it for the next names.
    start=$(date +%s%N)
    run q +time=15 +short ns1.example.com
    assert_output 192.0.2.1
    [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 1000 ]
}

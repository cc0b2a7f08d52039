#!/usr/bin/env bats
# gale dns, end to end: zone transfers (AXFR, RFC 5936) and who may ask.

load helpers

setup() {
    common_setup
    PORT=$(free_port)
    cat >zone <<'Z'
$ORIGIN example.com.
$TTL 3600
@    IN SOA ns1 hostmaster 7 7200 900 1209600 300
@    NS  ns1
ns1  A   192.0.2.1
www  A   192.0.2.10
txt  TXT "a" "b"
Z
}

teardown() { common_teardown; }

start_dns() {
    start_gale dns -p "$PORT" -i 127.0.0.1 --bindzone zone "$@"
    wait_grep 'event=loaded' "$BATS_TEST_TMPDIR/gale.log"
}

@test "AXFR over TCP gives the whole zone, SOA first and last" {
    start_dns
    run dig +time=3 +tries=1 @127.0.0.1 -p "$PORT" example.com AXFR
    assert_success
    records=$(grep -v '^;' <<<"$output" | grep -v '^$')
    [ "$(head -n1 <<<"$records" | awk '{print $4}')" = SOA ]
    [ "$(tail -n1 <<<"$records" | awk '{print $4}')" = SOA ]
    [ "$(wc -l <<<"$records")" -eq 6 ]
    grep -q 'www.example.com.*A.*192.0.2.10' <<<"$records"
    grep -q 'event=axfr client=127.0.0.1' "$BATS_TEST_TMPDIR/gale.log"
}

@test "AXFR from a client outside --allow-transfer is refused" {
    start_dns --allow-transfer 10.0.0.0/8
    run dig +time=3 +tries=1 @127.0.0.1 -p "$PORT" example.com AXFR
    assert_output --partial 'Transfer failed'
    grep -q 'event=axfr-refused' "$BATS_TEST_TMPDIR/gale.log"
}

@test "AXFR of a zone gale does not serve fails; the server goes on" {
    start_dns
    run dig +time=3 +tries=1 @127.0.0.1 -p "$PORT" other.org AXFR
    assert_output --partial 'Transfer failed'
    run dig +short +time=3 +tries=1 @127.0.0.1 -p "$PORT" www.example.com
    assert_output 192.0.2.10
}

@test "--allow-transfer with a malformed range is a usage error" {
    run "$GALE" dns -p "$PORT" --bindzone zone --allow-transfer 10.0.0.0/99
    assert_failure 2
    assert_output --partial 'allow-transfer'
}

@test "kdig: queries over UDP and TCP, and AXFR" {
    start_dns
    run kdig +short +timeout=3 +retry=0 @127.0.0.1 -p "$PORT" www.example.com A
    assert_output 192.0.2.10
    run kdig +short +tcp +timeout=3 +retry=0 @127.0.0.1 -p "$PORT" txt.example.com TXT
    assert_output '"a" "b"'
    run kdig +timeout=3 +retry=0 @127.0.0.1 -p "$PORT" example.com AXFR
    assert_success
    [ "$(grep -c 'IN[[:space:]]*SOA' <<<"$output")" -eq 2 ]
    grep -q 'www.example.com.*192.0.2.10' <<<"$output"
}

# records OUTPUT: the record lines of dig's or kdig's output.
records() {
    grep -v '^;' <<<"$1" | grep -v '^$' || true
}

@test "IXFR as dig sends it: a current serial gets the SOA alone, an older one the whole zone" {
    start_dns
    run dig +time=3 +tries=1 @127.0.0.1 -p "$PORT" example.com ixfr=7
    assert_success
    r=$(records "$output")
    [ "$(wc -l <<<"$r")" -eq 1 ]
    [[ "$r" =~ SOA[[:space:]]+ns1\.example\.com\.\ hostmaster\.example\.com\.\ 7\  ]]
    grep -q 'event=ixfr client=127.0.0.1:[0-9]* zone="example.com." serial=7 current=yes' \
        "$BATS_TEST_TMPDIR/gale.log"
    # A client ahead of us (RFC 1982) is current too.
    run dig +time=3 +tries=1 @127.0.0.1 -p "$PORT" example.com ixfr=9
    [ "$(records "$output" | wc -l)" -eq 1 ]
    # Behind, also across the wrap of serial numbers: AXFR form.
    for behind in 6 4294967295; do
        run dig +time=3 +tries=1 @127.0.0.1 -p "$PORT" example.com ixfr=$behind
        assert_success
        r=$(records "$output")
        [ "$(wc -l <<<"$r")" -eq 6 ]
        [ "$(head -n1 <<<"$r" | awk '{print $4}')" = SOA ]
        [ "$(tail -n1 <<<"$r" | awk '{print $4}')" = SOA ]
        grep -q 'www.example.com.*A.*192.0.2.10' <<<"$r"
    done
}

@test "IXFR as kdig sends it, and over UDP the SOA that sends the client to TCP" {
    start_dns
    run kdig +timeout=3 +retry=0 @127.0.0.1 -p "$PORT" example.com ixfr=7
    assert_success
    [ "$(grep -c 'IN[[:space:]]*SOA' <<<"$output")" -eq 1 ]
    refute_output --partial 'www.example.com'
    run kdig +timeout=3 +retry=0 @127.0.0.1 -p "$PORT" example.com ixfr=1
    assert_success
    [ "$(grep -c 'IN[[:space:]]*SOA' <<<"$output")" -eq 2 ]
    grep -q 'www.example.com.*192.0.2.10' <<<"$output"
    run dig +notcp +comments +time=3 +tries=1 @127.0.0.1 -p "$PORT" example.com ixfr=1
    assert_success
    assert_output --partial 'status: NOERROR'
    assert_output --partial 'flags: qr aa'
    r=$(records "$output")
    [ "$(wc -l <<<"$r")" -eq 1 ]
    [[ "$r" =~ SOA ]]
}

@test "IXFR from a client outside --allow-transfer is refused, over TCP and UDP" {
    start_dns --allow-transfer 10.0.0.0/8
    run dig +time=3 +tries=1 @127.0.0.1 -p "$PORT" example.com ixfr=7
    assert_output --partial 'Transfer failed'
    grep -q 'event=ixfr-refused' "$BATS_TEST_TMPDIR/gale.log"
    run dig +notcp +comments +time=3 +tries=1 @127.0.0.1 -p "$PORT" example.com ixfr=1
    assert_output --partial 'status: REFUSED'
}

#!/usr/bin/env bats
# gale dns, end to end: a secondary (--secondary IP/DOMAIN) following a
# primary, which is a second gale dns: the first transfer, a serial
# change picked up on NOTIFY and on the refresh timer.

load helpers

setup() {
    common_setup
    PRIMARY=$(free_port)
    PORT=$(free_port)
    write_zone 1 192.0.2.10
    "$GALE" dns -p "$PRIMARY" -i 127.0.0.1 --bindzone zone >>"$BATS_TEST_TMPDIR/primary.log" 2>&1 &
    PRIMARY_PID=$!
    track_pid "$PRIMARY_PID"
    wait_grep 'event=loaded' "$BATS_TEST_TMPDIR/primary.log"
}

teardown() { common_teardown; }

# write_zone SERIAL ADDRESS: the primary's zone, refresh 5 s.
write_zone() {
    cat >zone <<Z
\$ORIGIN example.com.
\$TTL 60
@    IN SOA ns1 hostmaster $1 5 5 600 60
@    NS  ns1
ns1  A   192.0.2.1
www  A   $2
Z
}

start_secondary() {
    start_gale dns -p "$PORT" -i 127.0.0.1 --secondary "127.0.0.1:$PRIMARY/example.com" "$@"
    wait_grep 'event=transfer zone="example.com." .*serial=1 ' "$BATS_TEST_TMPDIR/gale.log"
}

q() { dig +time=3 +tries=1 @127.0.0.1 -p "$PORT" "$@"; }

notify() {
    python3 - "$PORT" <<'PY'
import socket, struct, sys
q = struct.pack(">HHHHHH", 0x4242, 4 << 11 | 0x0400, 1, 0, 0, 0)
q += b"\x07example\x03com\x00" + struct.pack(">HH", 6, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(q, ("127.0.0.1", int(sys.argv[1])))
r = s.recv(512)
print("opcode", (r[2] >> 3) & 15, "rcode", r[3] & 15, "aa", (r[2] >> 2) & 1)
PY
}

@test "the zone is transferred at start and served authoritatively" {
    start_secondary
    run q www.example.com
    assert_output --partial 'status: NOERROR'
    assert_output --regexp 'flags: qr aa'
    assert_output --partial '192.0.2.10'
    run q nope.example.com
    assert_output --partial 'status: NXDOMAIN'
    grep -q 'event=axfr client=127.0.0.1' "$BATS_TEST_TMPDIR/primary.log"
}

@test "a NOTIFY from the primary makes the secondary fetch a newer serial at once" {
    start_secondary
    write_zone 2 192.0.2.11
    kill -HUP "$PRIMARY_PID"
    wait_grep 'event=reloaded' "$BATS_TEST_TMPDIR/primary.log"
    run notify
    assert_output 'opcode 4 rcode 0 aa 1'
    wait_grep 'event=transfer zone="example.com." .*serial=2 ' "$BATS_TEST_TMPDIR/gale.log"
    run q +short www.example.com
    assert_output 192.0.2.11
}

@test "without a NOTIFY the refresh interval picks up the new serial" {
    start_secondary
    write_zone 2 192.0.2.12
    kill -HUP "$PRIMARY_PID"
    wait_grep 'event=reloaded' "$BATS_TEST_TMPDIR/primary.log"
    # Refresh is 5 s; wait_grep waits up to 10 s.
    wait_grep 'event=transfer zone="example.com." .*serial=2 ' "$BATS_TEST_TMPDIR/gale.log"
    run q +short www.example.com
    assert_output 192.0.2.12
}

@test "an unchanged serial is not transferred again" {
    start_secondary
    run notify
    assert_output 'opcode 4 rcode 0 aa 1'
    sleep 1
    [ "$(grep -c 'event=transfer ' "$BATS_TEST_TMPDIR/gale.log")" -eq 1 ]
}

@test "a NOTIFY for a zone we do not follow is refused" {
    start_gale dns -p "$PORT" -i 127.0.0.1 --secondary "127.0.0.1:$PRIMARY/other.org"
    wait_grep 'event=loaded' "$BATS_TEST_TMPDIR/gale.log"
    run notify
    assert_output 'opcode 4 rcode 5 aa 0'
}

@test "a primary that is down: the failure is logged and the server keeps answering" {
    kill "$PRIMARY_PID"
    wait_gone "$PRIMARY_PID"
    printf '10.1.1.1 box.lan\n' >hosts
    start_gale dns -p "$PORT" -i 127.0.0.1 --hosts-file hosts --secondary "127.0.0.1:$PRIMARY/example.com"
    wait_grep 'event=transfer-failed zone="example.com."' "$BATS_TEST_TMPDIR/gale.log"
    run q www.example.com
    assert_output --partial 'status: REFUSED'
    run q +short box.lan
    assert_output 10.1.1.1
}

@test "--secondary that is not IP/DOMAIN is a usage error" {
    run "$GALE" dns -p "$PORT" --secondary primary.example/example.com
    assert_failure 2
    assert_output --partial 'PRIMARY-IP/DOMAIN'
}

#!/usr/bin/env bats
# gale dns, end to end: hosts files (forward, reverse, case, no-data),
# the protocol (TCP with several queries per connection, EDNS, TC and the
# retry over TCP, malformed packets, unknown opcodes), -v, IPv6 and the
# command line.  Zone data proper is in dns_zone.bats.  Clients: dig, and
# python3 sockets for what dig cannot send; each test has its own server
# on a port free for UDP and TCP.

bats_require_minimum_version 1.5.0

load helpers

setup_file() {
    quick_python
    D=$BATS_FILE_TMPDIR/data
    mkdir -p "$D"
    cat >"$D/hosts" <<'EOF'
# a lab's hosts file
10.0.0.1      Host1.Lab h1      # the first
10.0.0.2      host2.lab
2001:db8::1   host6.lab h6
10.0.0.3      both.lab
2001:db8::3   both.lab
EOF
    # 12 strings of 70 bytes: 852 bytes of TXT, more than 512.
    {
        printf '$ORIGIN big.test.\n@ SOA ns hostmaster 1 3600 600 86400 300\n@ NS ns\nns A 192.0.2.1\n'
        for i in $(seq -w 1 12); do
            printf 'big TXT "%s-%s"\n' "$i" "$(printf 'x%.0s' {1..66})"
        done
        printf 'small TXT "fits"\n'
    } >"$D/big.zone"
    export D
}

setup() {
    common_setup
}

teardown() {
    common_teardown
}

# --- hosts files -----------------------------------------------------

@test "hosts: A and AAAA for names and aliases, case-insensitive, without AA" {
    start_dns --hosts-file "$D/hosts"
    run dq +short host1.lab A
    assert_output "10.0.0.1"
    run dq +short HOST1.LAB A
    assert_output "10.0.0.1"
    run dq +short h1 A
    assert_output "10.0.0.1"
    run dq +short H1 A
    assert_output "10.0.0.1"
    run dq +short host6.lab AAAA
    assert_output "2001:db8::1"
    run dq +short h6 AAAA
    assert_output "2001:db8::1"
    run dq +short both.lab A
    assert_output "10.0.0.3"
    run dq +short both.lab AAAA
    assert_output "2001:db8::3"
    run dq host2.lab A
    assert_output --partial "status: NOERROR"
    assert_output --regexp 'flags: qr rd;'
    refute_output --regexp 'flags:[^;]* aa'
}

@test "hosts: PTR for IPv4 and IPv6 addresses (dig -x)" {
    start_dns --hosts-file "$D/hosts"
    run dq +short -x 10.0.0.1
    assert_output --regexp '^[Hh]ost1\.[Ll]ab\.$'
    run dq +short -x 10.0.0.2
    assert_output "host2.lab."
    run dq +short -x 2001:db8::1
    assert_output "host6.lab."
    run dq +short -x 2001:db8::3
    assert_output "both.lab."
    run dq -x 10.9.9.9
    assert_output --partial "status: REFUSED"
}

@test "hosts: a name asked for a type it lacks is NOERROR with no data" {
    start_dns --hosts-file "$D/hosts"
    run dq host1.lab MX
    assert_output --partial "status: NOERROR"
    assert_output --partial "ANSWER: 0,"
    run dq host1.lab AAAA
    assert_output --partial "status: NOERROR"
    assert_output --partial "ANSWER: 0,"
    run dq host6.lab A
    assert_output --partial "status: NOERROR"
    assert_output --partial "ANSWER: 0,"
}

@test "a name outside every zone and hosts file is REFUSED" {
    start_dns --hosts-file "$D/hosts" --bindzone "$D/big.zone"
    run dq www.example.org A
    assert_output --partial "status: REFUSED"
    assert_output --partial "ANSWER: 0, AUTHORITY: 0,"
    run dq lab A
    assert_output --partial "status: REFUSED"
    # Both sources answer beside each other: AA for the zone only.
    run dq small.big.test TXT
    assert_output --regexp 'flags: qr aa[ ;]'
    run dq +short host2.lab A
    assert_output "10.0.0.2"
}

@test "hosts: SIGHUP reloads the hosts file" {
    cp "$D/hosts" hosts
    start_dns --hosts-file hosts
    run dq new.lab A
    assert_output --partial "status: REFUSED"
    printf '10.0.0.9 new.lab\n10.0.0.22 host2.lab\n' >hosts.new
    mv hosts.new hosts
    kill -HUP "$GALE_PID"
    wait_grep 'event=reloaded' gale.log
    run dq +short new.lab A
    assert_output "10.0.0.9"
    run dq +short host2.lab A
    assert_output "10.0.0.22"
    run dq host1.lab A
    assert_output --partial "status: REFUSED"
}

# --- TCP --------------------------------------------------------------

@test "TCP: dig +tcp gets the same answers" {
    start_dns --hosts-file "$D/hosts" --bindzone "$D/big.zone"
    run dq +tcp +short host1.lab A
    assert_output "10.0.0.1"
    run dq +tcp small.big.test TXT
    assert_output --partial "status: NOERROR"
    assert_output --partial "(TCP)"
    assert_output --partial '"fits"'
    run dq +tcp nothere.big.test A
    assert_output --partial "status: NXDOMAIN"
}

@test "TCP: three queries sent back to back on one connection get three answers" {
    /usr/bin/python3 -c 'import dns.message' 2>/dev/null ||
        skip "python3-dnspython is not installed for /usr/bin/python3"
    start_dns --hosts-file "$D/hosts" --bindzone "$D/big.zone"
    run timeout 15 /usr/bin/python3 - "$PORT" <<'PY'
import socket, struct, sys
import dns.message, dns.rcode

qs = [dns.message.make_query(n, t) for n, t in
      (("host1.lab", "A"), ("big.big.test", "TXT"), ("nothere.big.test", "A"))]
for i, q in enumerate(qs):
    q.id = 1001 + i
wire = b"".join(struct.pack("!H", len(w)) + w for w in (q.to_wire() for q in qs))
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.settimeout(5)
s.sendall(wire)              # all three at once, then read
buf = b""
def take(n):
    global buf
    while len(buf) < n:
        d = s.recv(65536)
        if not d:
            sys.exit("connection closed after %d bytes" % len(buf))
        buf += d
    out, buf = buf[:n], buf[n:]
    return out
for q in qs:
    (n,) = struct.unpack("!H", take(2))
    r = dns.message.from_wire(take(n))
    print(r.id, dns.rcode.to_text(r.rcode()), sum(len(rr) for rr in r.answer))
PY
    assert_success
    assert_equal "${lines[0]}" "1001 NOERROR 1"
    assert_equal "${lines[1]}" "1002 NOERROR 12"
    assert_equal "${lines[2]}" "1003 NXDOMAIN 0"
}

# --- EDNS and truncation ----------------------------------------------

@test "EDNS: the OPT record is echoed with a payload of 1232; none without EDNS" {
    start_dns --hosts-file "$D/hosts"
    run dq host1.lab A
    assert_output --partial "udp: 1232"
    run dq +bufsize=4096 host1.lab A
    assert_output --partial "udp: 1232"
    run dq +noedns host1.lab A
    assert_output --partial "status: NOERROR"
    refute_output --partial "OPT PSEUDOSECTION"
}

@test "truncation: over 512 bytes without EDNS sets TC; dig retries over TCP and gets it all" {
    start_dns --bindzone "$D/big.zone"
    run dq +noedns +ignore big.big.test TXT
    assert_output --regexp 'flags: qr aa tc[ ;]'
    assert_output --regexp 'MSG SIZE  rcvd: ([1-9][0-9]?[0-9]?|[1-4][0-9][0-9]|50[0-9]|51[0-2])$'
    run dq +noedns big.big.test TXT
    assert_output --partial "Truncated, retrying in TCP mode"
    assert_output --partial "(TCP)"
    refute_output --regexp 'flags: [^;]*tc'
    assert_output --partial "ANSWER: 12,"
    # The client's EDNS size is respected: 512 truncates, 1232 fits.
    run dq +bufsize=512 +ignore big.big.test TXT
    assert_output --regexp 'flags: qr aa tc[ ;]'
    run dq +bufsize=1232 +ignore big.big.test TXT
    refute_output --regexp 'flags: [^;]*tc'
    assert_output --partial "ANSWER: 12,"
    # A small answer is not truncated without EDNS.
    run dq +noedns +ignore small.big.test TXT
    refute_output --regexp 'flags: [^;]*tc'
    assert_output --partial '"fits"'
}

@test "EDNS: an unknown EDNS version gets BADVERS (RFC 6891 6.1.3)" {
    start_dns --hosts-file "$D/hosts"
    run dq +edns=1 +noednsneg host1.lab A
    assert_output --partial "status: BADVERS"
    assert_output --partial "EDNS: version: 0,"
    refute_output --partial "10.0.0.1"
}

# --- malformed packets and opcodes -----------------------------------

# udp_send HEX: sends the packet over UDP to 127.0.0.1:$PORT and prints
# "id=N qr=N opcode=N rcode=N" for the reply, or "none" after 1 s.
udp_send() {
    python3 - "$PORT" "$1" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.sendto(bytes.fromhex(sys.argv[2]), ("127.0.0.1", int(sys.argv[1])))
try:
    r = s.recv(65536)
except socket.timeout:
    print("none")
    sys.exit(0)
qid, flags = struct.unpack("!HH", r[:4])
print("id=%d qr=%d opcode=%d rcode=%d" % (qid, flags >> 15, flags >> 11 & 15, flags & 15))
PY
}

# formerr_or_none HEX ID: the packet gets FORMERR with ID, or no answer;
# then a normal query is still answered.
formerr_or_none() {
    run udp_send "$1"
    assert_success
    if [ "$output" != none ]; then
        assert_output "id=$2 qr=1 opcode=0 rcode=1"
    fi
    run dq +short host1.lab A
    assert_output "10.0.0.1"
}

# The header for ID 0x1234, RD set, the given QDCOUNT and no records.
hdr() {
    printf '12340100%04x000000000000' "$1"
}

@test "malformed packets get FORMERR or nothing, and the server goes on" {
    start_dns --hosts-file "$D/hosts"
    name="05686f737431036c616200"    # host1.lab
    # Random bytes (fixed seeds: the same bytes each run).
    for seed in 1 2 3 4 5; do
        hex=$(python3 -c "import random; r = random.Random($seed); print(bytes(r.randrange(256) for _ in range(40)).hex())")
        run udp_send "$hex"
        assert_success
        [[ $output == none || $output == *" qr=1 "*"rcode=1" ]] || fail "random bytes (seed $seed): $output"
        run dq +short host1.lab A
        assert_output "10.0.0.1"
    done
    # A header alone, and a header shorter than 12 bytes.
    formerr_or_none "$(hdr 1)" 4660
    formerr_or_none "12340100" 4660
    # A name cut in the middle of a label.
    formerr_or_none "$(hdr 1)05686f7374" 4660
    # A name that ends, with no type and class after it.
    formerr_or_none "$(hdr 1)${name}0001" 4660
    # A compression pointer to itself (offset 12), and a loop of two.
    formerr_or_none "$(hdr 1)c00c00010001" 4660
    formerr_or_none "$(hdr 1)c00ec00c00010001" 4660
    # A label longer than 63 bytes.
    formerr_or_none "$(hdr 1)40$(printf '61%.0s' {1..64})0000010001" 4660
    # QDCOUNT 2 with two good questions, and QDCOUNT 0.
    formerr_or_none "$(hdr 2)${name}00010001${name}00010001" 4660
    formerr_or_none "$(hdr 0)" 4660
    # An answer record (QR set) gets no reply at all.
    run udp_send "12348180000100000000000005686f737431036c61620000010001"
    assert_output none
    # And the same well-formed query by hand: answered.
    run udp_send "$(hdr 1)${name}00010001"
    assert_output "id=4660 qr=1 opcode=0 rcode=0"
}

@test "QDCOUNT 2 is FORMERR" {
    start_dns --hosts-file "$D/hosts"
    name="05686f737431036c616200"
    run udp_send "$(hdr 2)${name}00010001${name}00010001"
    assert_output "id=4660 qr=1 opcode=0 rcode=1"
}

@test "an unknown opcode (2, STATUS) is NOTIMP" {
    start_dns --hosts-file "$D/hosts"
    run dq +opcode=status host1.lab A
    assert_output --partial "opcode: STATUS, status: NOTIMP"
    run udp_send "12341100000100000000000005686f737431036c61620000010001"
    assert_output "id=4660 qr=1 opcode=2 rcode=4"
    run udp_send "12347100000100000000000005686f737431036c61620000010001"
    assert_output "id=4660 qr=1 opcode=14 rcode=4"
    run dq +short host1.lab A
    assert_output "10.0.0.1"
}

# --- logging ------------------------------------------------------------

@test "-v logs a line per query: client, name, type, rcode" {
    start_dns -v --hosts-file "$D/hosts" --bindzone "$D/big.zone"
    dq +short host1.lab A >/dev/null
    dq +short nothere.big.test MX >/dev/null
    dq +short www.example.org A >/dev/null
    dq +tcp +short h6 AAAA >/dev/null
    wait_grep 'name="h6\."' gale.log
    run grep -E 'event=query client=127\.0\.0\.1:[0-9]+ name="host1\.lab\." type=1 rcode=NOERROR' gale.log
    assert_success
    run grep -E 'event=query client=127\.0\.0\.1:[0-9]+ name="nothere\.big\.test\." type=15 rcode=NXDOMAIN' gale.log
    assert_success
    run grep -E 'event=query client=127\.0\.0\.1:[0-9]+ name="www\.example\.org\." type=1 rcode=REFUSED' gale.log
    assert_success
    run grep -E 'event=query client=127\.0\.0\.1:[0-9]+ name="h6\." type=28 rcode=NOERROR' gale.log
    assert_success
}

@test "without -v no query is logged" {
    start_dns --hosts-file "$D/hosts"
    dq +short host1.lab A >/dev/null
    dq +short host2.lab A >/dev/null
    run grep -c 'event=query' gale.log
    assert_output 0
}

# --- addresses and the command line ----------------------------------

@test "IPv6: -i ::1 serves on [::1] over UDP and TCP" {
    python3 -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))' 2>/dev/null ||
        skip "no ::1 here"
    PORT=$(free_udp_port ::1)
    start_gale dns -p "$PORT" -i ::1 --hosts-file "$D/hosts"
    wait_dns "$PORT" ::1
    run dig @::1 -p "$PORT" +time=2 +tries=1 +short host6.lab AAAA
    assert_output "2001:db8::1"
    run dig @::1 -p "$PORT" +time=2 +tries=1 +tcp +short host1.lab A
    assert_output "10.0.0.1"
    # Nothing on 127.0.0.1.
    run dig @127.0.0.1 -p "$PORT" +time=1 +tries=1 +short host1.lab A
    refute_output "10.0.0.1"
}

@test "--pyzone is refused with a clear message and status 2" {
    PORT=$(free_udp_port)
    printf 'zone = []\n' >example.py
    run --separate-stderr timeout 5 "$GALE" dns -p "$PORT" -i 127.0.0.1 --pyzone example.py
    assert_equal "$status" 2
    assert_equal "${#stderr_lines[@]}" 1
    [[ $stderr == "gale dns: --pyzone: "*"--bindzone"* ]]
    run dig @127.0.0.1 -p "$PORT" +time=1 +tries=1 . SOA
    refute_output --partial "status:"
}

@test "no --bindzone and no --hosts-file: status 2 and a message" {
    PORT=$(free_udp_port)
    run --separate-stderr timeout 5 "$GALE" dns -p "$PORT" -i 127.0.0.1
    assert_equal "$status" 2
    assert_equal "${#stderr_lines[@]}" 1
    [[ $stderr == "gale dns: nothing to serve: "*"--bindzone"*"--hosts-file"* ]]
}

@test "a missing hosts file or zone file: exit non-zero naming it" {
    PORT=$(free_udp_port)
    run --separate-stderr timeout 5 "$GALE" dns -p "$PORT" -i 127.0.0.1 --hosts-file nope.hosts
    assert_failure
    [ "$status" -ne 124 ]
    [[ $stderr == *"nope.hosts"* ]]
    run --separate-stderr timeout 5 "$GALE" dns -p "$PORT" -i 127.0.0.1 --bindzone nope.zone
    assert_failure
    [ "$status" -ne 124 ]
    [[ $stderr == *"nope.zone"* ]]
}

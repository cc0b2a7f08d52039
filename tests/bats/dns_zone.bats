#!/usr/bin/env bats
# gale dns, end to end: answers from BIND zone files.  Every record type
# with its exact rdata, the AA flag, CNAME chains, wildcards, NXDOMAIN and
# no-data with the SOA and the negative TTL (RFC 2308), REFUSED outside
# the zones, $INCLUDE, SIGHUP reloads (a broken zone keeps the old data)
# and zone errors at start.  Clients: dig; each test has its own server
# on 127.0.0.1 on a port free for UDP and TCP.

bats_require_minimum_version 1.5.0

load helpers

setup_file() {
    quick_python
    Z=$BATS_FILE_TMPDIR/zones
    mkdir -p "$Z"
    # Parentheses, comments, '@', relative names, and owner, TTL and
    # class left out all appear here on purpose.
    cat >"$Z/example.test.zone" <<'EOF'
$ORIGIN example.test.
$TTL 3600
@   IN  SOA ns1 hostmaster (
        2024010101 ; serial
        7200       ; refresh
        900        ; retry
        1209600    ; expire
        300 )      ; minimum: the negative TTL, below the SOA's 3600
    IN  NS  ns1
    IN  NS  ns2.example.net.
    IN  MX  10 mail
    IN  MX  20 mail2.example.net.
ns1         A       192.0.2.1
www         A       192.0.2.10
            AAAA    2001:db8::10
mail        A       192.0.2.25
alias       CNAME   www
chain1      CNAME   chain2
chain2      CNAME   alias
dangling    CNAME   nothere
outside     CNAME   www.example.net.
txt         TXT     "hello world" "say \"hi\"" "caf\195\169" plain
_sip._tcp   SRV     10 60 5060 sip
sip     600 A       192.0.2.5
ptr         PTR     www.example.test.
caa         CAA     0 issue "letsencrypt.org"
unk         TYPE65534 \# 4 0A000001
*.wild      A       192.0.2.99
*.wild      TXT     "from the wildcard"
host.wild   A       192.0.2.98
sub         NS      ns.sub
sub         NS      ns.example.net.
ns.sub      A       192.0.2.53
deep.sub    A       192.0.2.54
EOF
    cat >"$Z/2.0.192.in-addr.arpa.zone" <<'EOF'
$TTL 86400
2.0.192.in-addr.arpa. SOA ns1.example.test. hostmaster.example.test. 7 3600 600 86400 3600
@   NS  ns1.example.test.
10  PTR www.example.test.
25  PTR mail.example.test.
EOF
    # A zone whose SOA TTL (60) is below its minimum (600).
    cat >"$Z/neg.test.zone" <<'EOF'
$ORIGIN neg.test.
@ 60 SOA ns hostmaster 1 3600 600 86400 600
@ 60 NS ns
ns 300 A 192.0.2.7
EOF
    export Z
}

setup() {
    common_setup
}

teardown() {
    common_teardown
}

# start_zones: gale dns with the three zones of setup_file.
start_zones() {
    start_dns --bindzone "$Z/example.test.zone" --bindzone "$Z/2.0.192.in-addr.arpa.zone" \
        --bindzone "$Z/neg.test.zone" "$@"
}

# short NAME TYPE: dig +short's answer, one record a line.
short() {
    dq +short "$1" "$2"
}

@test "SOA, NS, A, AAAA and CNAME: exact rdata" {
    start_zones
    run short example.test SOA
    assert_output "ns1.example.test. hostmaster.example.test. 2024010101 7200 900 1209600 300"
    run short example.test NS
    assert_line "ns1.example.test."
    assert_line "ns2.example.net."
    assert_equal "${#lines[@]}" 2
    run short www.example.test A
    assert_output "192.0.2.10"
    run short www.example.test AAAA
    assert_output "2001:db8::10"
    run short alias.example.test CNAME
    assert_output "www.example.test."
    # TTLs: $TTL, and an explicit one.
    run dq +noall +answer sip.example.test A
    assert_output --regexp '^sip\.example\.test\.[[:space:]]+600[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.5$'
    run dq +noall +answer www.example.test A
    assert_output --regexp '^www\.example\.test\.[[:space:]]+3600[[:space:]]+IN[[:space:]]+A'
}

@test "MX, TXT with several strings, SRV, PTR, CAA and RFC 3597 TYPE65534: exact rdata" {
    start_zones
    run short example.test MX
    assert_line "10 mail.example.test."
    assert_line "20 mail2.example.net."
    assert_equal "${#lines[@]}" 2
    run short txt.example.test TXT
    assert_output '"hello world" "say \"hi\"" "caf\195\169" "plain"'
    run short _sip._tcp.example.test SRV
    assert_output "10 60 5060 sip.example.test."
    run short ptr.example.test PTR
    assert_output "www.example.test."
    run dq +short -x 192.0.2.25
    assert_output "mail.example.test."
    run short caa.example.test CAA
    assert_output '0 issue "letsencrypt.org"'
    run short unk.example.test TYPE65534
    assert_output '\# 4 0A000001'
}

@test "the addresses of MX and SRV targets in the zone come as additional data" {
    start_zones
    run dq +noall +additional example.test MX
    assert_output --regexp 'mail\.example\.test\.[[:space:]]+3600[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.25'
    refute_output --partial "example.net"
    run dq +noall +additional _sip._tcp.example.test SRV
    assert_output --regexp 'sip\.example\.test\.[[:space:]]+600[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.5'
}

@test "zone answers carry AA, in every zone" {
    start_zones
    run dq www.example.test A
    assert_output --regexp 'flags: qr aa[ ;]'
    assert_output --partial "status: NOERROR"
    run dq -x 192.0.2.10
    assert_output --regexp 'flags: qr aa[ ;]'
    run dq nothere.neg.test A
    assert_output --regexp 'flags: qr aa[ ;]'
}

@test "a CNAME chain is followed inside the zone" {
    start_zones
    run short chain1.example.test A
    assert_output "$(printf 'chain2.example.test.\nalias.example.test.\nwww.example.test.\n192.0.2.10')"
    run dq chain1.example.test AAAA
    assert_output --partial "status: NOERROR"
    assert_output --partial "ANSWER: 4,"
    # A chain out of the zone stops at the CNAME (the client goes on).
    run dq outside.example.test A
    assert_output --partial "status: NOERROR"
    assert_output --partial "ANSWER: 1,"
    # A chain to a name the zone lacks: NXDOMAIN with the CNAME (RFC 6604).
    run dq dangling.example.test A
    assert_output --partial "status: NXDOMAIN"
    assert_output --regexp 'dangling\.example\.test\.[[:space:]]+3600[[:space:]]+IN[[:space:]]+CNAME[[:space:]]+nothere\.example\.test\.'
}

@test "wildcards answer for names below their parent, under the asked name" {
    start_zones
    run dq +noall +answer anything.wild.example.test A
    assert_output --regexp '^anything\.wild\.example\.test\.[[:space:]]+3600[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.99$'
    run short a.b.wild.example.test A
    assert_output "192.0.2.99"
    run short x.wild.example.test TXT
    assert_output '"from the wildcard"'
    run dq x.wild.example.test MX
    assert_output --partial "status: NOERROR"
    assert_output --partial "ANSWER: 0,"
    # A name that exists is not replaced by the wildcard ...
    run short host.wild.example.test A
    assert_output "192.0.2.98"
    # ... and below it there is no wildcard: the name does not exist.
    run dq x.host.wild.example.test A
    assert_output --partial "status: NXDOMAIN"
    # wild.example.test itself is an empty non-terminal: it exists.
    run dq wild.example.test A
    assert_output --partial "status: NOERROR"
    assert_output --partial "ANSWER: 0,"
}

# neg_ttl NAME TYPE: the TTL of the SOA in the authority section.
neg_ttl() {
    dq +noall +authority "$1" "$2" | awk '$4 == "SOA" { print $2 }'
}

@test "NXDOMAIN: the SOA in authority, its TTL min(SOA TTL, minimum)" {
    start_zones
    run dq nothere.example.test A
    assert_output --partial "status: NXDOMAIN"
    assert_output --partial "ANSWER: 0, AUTHORITY: 1,"
    run dq +noall +authority nothere.example.test A
    assert_output --regexp '^example\.test\.[[:space:]]+300[[:space:]]+IN[[:space:]]+SOA[[:space:]]+ns1\.example\.test\. hostmaster\.example\.test\. 2024010101 7200 900 1209600 300$'
    # The other way round: the SOA's TTL (60) is the smaller.
    run neg_ttl nothere.neg.test A
    assert_output "60"
    run dq nothere.neg.test A
    assert_output --partial "status: NXDOMAIN"
}

@test "NODATA: NOERROR, no answer, the SOA in authority" {
    start_zones
    run dq www.example.test MX
    assert_output --partial "status: NOERROR"
    assert_output --partial "ANSWER: 0, AUTHORITY: 1,"
    assert_output --regexp 'flags: qr aa[ ;]'
    run neg_ttl www.example.test MX
    assert_output "300"
    run neg_ttl ns.neg.test TXT
    assert_output "60"
}

@test "a name outside every zone is REFUSED, with no data and no AA" {
    start_zones
    run dq www.example.net A
    assert_output --partial "status: REFUSED"
    assert_output --partial "ANSWER: 0, AUTHORITY: 0,"
    refute_output --regexp 'flags: qr aa[ ;]'
    # The parent of a zone is outside it too.
    run dq test SOA
    assert_output --partial "status: REFUSED"
}

@test "a delegation gets a referral: NS in authority, in-zone glue, no AA" {
    start_zones
    run dq www.sub.example.test A
    assert_output --partial "status: NOERROR"
    assert_output --partial "ANSWER: 0, AUTHORITY: 2,"
    refute_output --regexp 'flags:[^;]* aa'
    run dq +noall +authority www.sub.example.test A
    assert_line --regexp '^sub\.example\.test\.[[:space:]]+3600[[:space:]]+IN[[:space:]]+NS[[:space:]]+ns\.sub\.example\.test\.$'
    assert_line --regexp '^sub\.example\.test\.[[:space:]]+3600[[:space:]]+IN[[:space:]]+NS[[:space:]]+ns\.example\.net\.$'
    run dq +noall +additional www.sub.example.test A
    assert_output --regexp '^ns\.sub\.example\.test\.[[:space:]]+3600[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.53'
    # Data below the cut is not served as ours: the referral again.
    run dq deep.sub.example.test A
    refute_output --partial "192.0.2.54"
    assert_output --partial "AUTHORITY: 2,"
}

@test "ANY is answered from the zone; the asked name's spelling is kept" {
    start_zones
    run dq +noall +answer www.example.test ANY
    assert_line --regexp '^www\.example\.test\.[[:space:]]+3600[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.10$'
    assert_line --regexp '^www\.example\.test\.[[:space:]]+3600[[:space:]]+IN[[:space:]]+AAAA[[:space:]]+2001:db8::10$'
    assert_equal "${#lines[@]}" 2
    run dq +noall +answer WwW.Example.TEST A
    assert_output --regexp '^WwW\.Example\.TEST\.[[:space:]]+3600[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.10$'
}

@test "\$INCLUDE of a file in the zone file's folder, with and without an origin" {
    mkdir zones
    cat >zones/inc.test.zone <<'EOF'
$ORIGIN inc.test.
@ SOA ns hostmaster 1 3600 600 86400 300
@ NS ns
$INCLUDE part.inc
$INCLUDE sub.inc sub.inc.test.
after A 192.0.2.53
EOF
    printf 'ns A 192.0.2.51\nfrom-include A 192.0.2.52\n' >zones/part.inc
    printf 'x A 192.0.2.54\n' >zones/sub.inc
    start_dns --bindzone zones/inc.test.zone
    run short from-include.inc.test A
    assert_output "192.0.2.52"
    run short x.sub.inc.test A
    assert_output "192.0.2.54"
    # After the include the origin is the file's again.
    run short after.inc.test A
    assert_output "192.0.2.53"
}

@test "\$INCLUDE of a file outside the zone file's folder is refused at load" {
    mkdir -p zones/in
    printf 'leak A 192.0.2.66\n' >zones/outside.inc
    printf '$ORIGIN inc.test.\n@ SOA ns h 1 2 3 4 5\n$INCLUDE ../outside.inc\n' >zones/in/inc.zone
    PORT=$(free_udp_port)
    run --separate-stderr timeout 5 "$GALE" dns -p "$PORT" -i 127.0.0.1 --bindzone zones/in/inc.zone
    assert_failure
    [ "$status" -ne 124 ]
    outside=$(realpath zones/outside.inc)
    folder=$(realpath zones/in)
    assert_equal "$stderr" "gale dns: zones/in/inc.zone:3: \$INCLUDE ../outside.inc: $outside is outside the zone file's folder $folder/"
    # The same file named by its absolute path, or through a symlink in the
    # folder, is refused just the same.
    printf '$ORIGIN inc.test.\n@ SOA ns h 1 2 3 4 5\n$INCLUDE %s\n' "$outside" >zones/in/inc.zone
    run --separate-stderr timeout 5 "$GALE" dns -p "$PORT" -i 127.0.0.1 --bindzone zones/in/inc.zone
    assert_failure
    assert_equal "$stderr" "gale dns: zones/in/inc.zone:3: \$INCLUDE $outside: $outside is outside the zone file's folder $folder/"
    ln -s ../outside.inc zones/in/link.inc
    printf '$ORIGIN inc.test.\n@ SOA ns h 1 2 3 4 5\n$INCLUDE link.inc\n' >zones/in/inc.zone
    run --separate-stderr timeout 5 "$GALE" dns -p "$PORT" -i 127.0.0.1 --bindzone zones/in/inc.zone
    assert_failure
    assert_equal "$stderr" "gale dns: zones/in/inc.zone:3: \$INCLUDE link.inc: $outside is outside the zone file's folder $folder/"
}

@test "\$INCLUDE by absolute path, as deployed zone files write it, and from a folder below" {
    mkdir -p zones/parts
    dir=$(realpath zones)
    cat >zones/example.zone <<EOF
\$ORIGIN abs.test.
@ SOA ns hostmaster 1 3600 600 86400 300
@ NS ns
\$INCLUDE $dir/inc1.zone
\$INCLUDE parts/inc2.zone
\$INCLUDE $dir/parts/../parts/inc3.zone sub.abs.test.
EOF
    printf 'ns A 192.0.2.61\none A 192.0.2.62\n' >zones/inc1.zone
    printf 'two A 192.0.2.63\n' >zones/parts/inc2.zone
    printf 'three A 192.0.2.64\n' >zones/parts/inc3.zone
    # Started from another folder, with the zone named by its absolute path.
    mkdir elsewhere
    cd elsewhere
    start_dns --bindzone "$dir/example.zone"
    run short one.abs.test A
    assert_output "192.0.2.62"
    run short two.abs.test A
    assert_output "192.0.2.63"
    run short three.sub.abs.test A
    assert_output "192.0.2.64"
}

# zone_with SERIAL EXTRA: writes zone.db, example.test with SERIAL and the
# EXTRA lines (printf %b escapes).
zone_with() {
    printf '$ORIGIN example.test.\n$TTL 300\n@ SOA ns1 hostmaster %s 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n%b' \
        "$1" "${2:-}" >zone.db.new
    mv zone.db.new zone.db
}

# wait_answer NAME TYPE EXPECTED: until dig +short gives EXPECTED, at most 10 s.
wait_answer() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(short "$1" "$2")" = "$3" ] && return 0
        sleep 0.1
    done
    echo "$1 $2 is not '$3' after 10 s: '$(short "$1" "$2")'" >&2
    return 1
}

@test "SIGHUP reloads the zone; a broken zone is logged with file:line and the old data kept" {
    zone_with 1 'old A 192.0.2.70\n'
    start_dns --bindzone zone.db
    run short old.example.test A
    assert_output "192.0.2.70"
    run dq new.example.test A
    assert_output --partial "status: NXDOMAIN"

    zone_with 2 'old A 192.0.2.70\nnew A 192.0.2.77\n'
    kill -HUP "$GALE_PID"
    wait_answer new.example.test A 192.0.2.77
    run short example.test SOA
    assert_output "ns1.example.test. hostmaster.example.test. 2 3600 600 86400 60"
    wait_grep 'event=reloaded zones=1' gale.log

    # Line 8 is broken: the error names it, and serial 2 stays served.
    zone_with 3 'old A 192.0.2.70\nnew A 192.0.2.78\nbroken A 192.0.2.300\n'
    kill -HUP "$GALE_PID"
    wait_grep 'zone\.db:8: .*192\.0\.2\.300' gale.log
    run grep -c 'event=reload-failed' gale.log
    assert_output 1
    run short new.example.test A
    assert_output "192.0.2.77"
    run short example.test SOA
    assert_output "ns1.example.test. hostmaster.example.test. 2 3600 600 86400 60"
    run dq broken.example.test A
    assert_output --partial "status: NXDOMAIN"
    kill -0 "$GALE_PID"
}

@test "a zone error at start: exit non-zero, 'file:line: what' on stderr" {
    printf '$ORIGIN bad.test.\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 1.2.3\n' >bad.zone
    PORT=$(free_udp_port)
    run --separate-stderr timeout 5 "$GALE" dns -p "$PORT" -i 127.0.0.1 --bindzone bad.zone
    assert_failure
    [ "$status" -ne 124 ]
    assert_equal "$stderr" "gale dns: bad.zone:4: bad IPv4 address '1.2.3'"
    # Unknown type, unbalanced parentheses, a record outside the zone.
    printf '$ORIGIN bad.test.\n@ SOA ns h 1 2 3 4 5\nx BOGUS 1\n' >bad.zone
    run --separate-stderr timeout 5 "$GALE" dns -p "$PORT" -i 127.0.0.1 --bindzone bad.zone
    assert_failure
    [[ $stderr == *"bad.zone:3: "*"BOGUS"* ]]
    printf '$ORIGIN bad.test.\n@ SOA ns h ( 1 2 3 4 5\n\n' >bad.zone
    run --separate-stderr timeout 5 "$GALE" dns -p "$PORT" -i 127.0.0.1 --bindzone bad.zone
    assert_failure
    [[ $stderr == *"bad.zone:2: "*"("* ]]
    printf '$ORIGIN bad.test.\n@ SOA ns h 1 2 3 4 5\nwww.other.test. A 192.0.2.1\n' >bad.zone
    run --separate-stderr timeout 5 "$GALE" dns -p "$PORT" -i 127.0.0.1 --bindzone bad.zone
    assert_failure
    [[ $stderr == *"bad.zone:3: "*"outside the zone"* ]]
}

@test "a zone with no \$ORIGIN and a relative SOA owner: an error naming the file" {
    printf 'rel SOA ns h 1 2 3 4 5\nrel NS ns\n' >rel.zone
    PORT=$(free_udp_port)
    run --separate-stderr timeout 5 "$GALE" dns -p "$PORT" -i 127.0.0.1 --bindzone rel.zone
    assert_failure
    [ "$status" -ne 124 ]
    [[ $stderr == *"rel.zone"*"no \$ORIGIN"* ]]
    printf '@ SOA ns h 1 2 3 4 5\n' >at.zone
    run --separate-stderr timeout 5 "$GALE" dns -p "$PORT" -i 127.0.0.1 --bindzone at.zone
    assert_failure
    [[ $stderr == *"at.zone"*"no \$ORIGIN"* ]]
    # An absolute SOA owner is the origin: that zone loads.
    printf 'abs.test. SOA ns h 1 2 3 4 5\nwww A 192.0.2.3\n' >abs.zone
    start_dns --bindzone abs.zone
    run short www.abs.test A
    assert_output "192.0.2.3"
}

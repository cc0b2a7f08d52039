#!/usr/bin/env bats
# gale run FILE: several servers in one process.  Each line answers its
# own clients (curl, dig, a pycached JSON client); mistakes are reported
# as FILE:LINE and nothing starts; start is all or nothing; SIGHUP adds,
# removes and changes lines while an unchanged line keeps serving; log
# lines name their instance.

bats_require_minimum_version 1.5.0

load helpers

setup() {
    common_setup
    WEB1=$(free_port)
    WEB2=$(free_port)
    DNS=$(free_udp_port)
    PYC=$(free_port)
    PYC_HTTP=$(free_port)
    mkdir -p one two
    printf 'root one\n' >one/index.html
    printf 'root two\n' >two/index.html
    printf '127.0.0.9 printer.lan\n' >hosts
}

teardown() {
    common_teardown
}

# The seed file: two web roots, a dns and a pycached.
write_four() {
    cat >servers.conf <<EOF
# two servers in one process, and two more
web --port tcp:$WEB1:interface=127.0.0.1 --path one
web --name docs --port tcp:$WEB2:interface=127.0.0.1 --path two
dns --port $DNS --interface 127.0.0.1 --hosts-file hosts
pycached -p tcp:$PYC --http tcp:$PYC_HTTP
EOF
}

run_file() {
    start_gale "$@" run servers.conf
}

get() {
    curl -sS --max-time 10 "http://127.0.0.1:$1${2:-/}"
}

# pyc_json PORT REQUEST: one request of pycached's JSON protocol, its reply.
pyc_json() {
    timeout 10 python3 -c '
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall((json.dumps(json.loads(sys.argv[2])) + "\n").encode())
buf = b""
while not buf.endswith(b"\n"):
    d = s.recv(4096)
    if not d:
        break
    buf += d
print(buf.decode().strip())
' "$@"
}

@test "two web roots, a dns and a pycached in one process each answer their own clients" {
    write_four
    run_file
    wait_port "$WEB1" && wait_port "$WEB2" && wait_dns "$DNS" && wait_port "$PYC"
    run get "$WEB1"
    assert_output 'root one'
    run get "$WEB2"
    assert_output 'root two'
    run dig @127.0.0.1 -p "$DNS" +short +time=2 +tries=1 printer.lan
    assert_output '127.0.0.9'
    run pyc_json "$PYC" '{"command": "set", "key": "k", "value": "v1"}'
    assert_success
    run pyc_json "$PYC" '{"command": "get", "key": "k"}'
    assert_output --partial 'v1'
    run curl -sS --max-time 10 "http://127.0.0.1:$PYC_HTTP/"
    assert_output --partial 'PyCached'
    # one process: every port belongs to the pid we started
    run ss -Htlnp
    assert_output --regexp "127\.0\.0\.1:$WEB2 .*pid=$GALE_PID,"
    assert_output --regexp "127\.0\.0\.1:$PYC .*pid=$GALE_PID,"
}

@test "log lines name their instance, in text and in JSON" {
    write_four
    run_file -v
    wait_port "$WEB2"
    get "$WEB2" >/dev/null
    get "$WEB1" >/dev/null
    wait_grep 'info web\[docs\]: event=listen' gale.log
    wait_grep 'debug web\[docs\]: id=[0-9]+ event=request status=200' gale.log
    wait_grep 'debug web: id=[0-9]+ event=request status=200' gale.log
    wait_grep 'info dns: event=listen' gale.log
    kill "$GALE_PID"
    wait_gone "$GALE_PID"
    : >gale.log
    run_file --log-format json -v
    wait_port "$WEB2"
    get "$WEB2" >/dev/null
    wait_grep '"server":"web","instance":"docs","id":"[0-9]+","event":"request"' gale.log
    wait_grep '"server":"pycached","instance":"pycached","event":"listen"' gale.log
}

@test "--name on the command line names a lone server in its log lines" {
    start_gale -v web --name docs --port "tcp:$WEB1:interface=127.0.0.1" --path one
    wait_port "$WEB1"
    get "$WEB1" >/dev/null
    wait_grep 'debug web\[docs\]: id=[0-9]+ event=request status=200' gale.log
    run "$GALE" web --name 'no good' --port 1
    assert_failure 2
    assert_output --partial "--name: 'no good' is not a name"
}

@test "--check: a good file is reported and nothing starts" {
    write_four
    run "$GALE" run --check servers.conf
    assert_success
    assert_output 'servers.conf: 4 servers, no errors'
    refused "$WEB1"
}

@test "every mistake is reported as FILE:LINE, exit status 2, nothing started" {
    cat >servers.conf <<EOF
web --port tcp:$WEB1:interface=127.0.0.1 --path one
frob --x
web --bogus
dns --port $DNS --interface 127.0.0.1 --hosts-file hosts
web --name 'bad name' --port tcp:$WEB2
web --path /nonexistent/dir --port tcp:$WEB2
web --pidfile x.pid --port tcp:$WEB2
dns --port $DNS --interface 127.0.0.1 --hosts-file hosts --name dns2
web --name docs --port tcp:$PYC:interface=127.0.0.1 --path one
web --name docs --port tcp:$PYC_HTTP:interface=127.0.0.1 --path two
--no-such-global
web "unterminated
EOF
    for check in --check ""; do
        run -2 "$GALE" run $check servers.conf
        assert_line --index 0 "servers.conf:2: unknown subcommand 'frob'"
        assert_line --index 1 "servers.conf:3: web: unknown option '--bogus'"
        assert_line --index 2 --regexp "^servers.conf:5: web: --name: 'bad name' is not a name"
        assert_line --index 3 --regexp "^servers.conf:6: web: --path: .*/nonexistent/dir"
        assert_line --index 4 "servers.conf:7: '--pidfile' is a global option: put it on a line of its own that starts with it"
        assert_line --index 5 "servers.conf:8: dns: TCP port $DNS is taken by line 4"
        assert_line --index 6 "servers.conf:10: the name 'docs' is taken by line 9"
        assert_line --index 7 "servers.conf:11: unknown option '--no-such-global'"
        assert_line --index 8 "servers.conf:12: unterminated double quote"
        assert_equal "${#lines[@]}" 9
        refused "$WEB1"
    done
    run -2 "$GALE" run missing.conf
    assert_output --partial 'missing.conf: No such file or directory'
    printf '# nothing\n' >empty.conf
    run -2 "$GALE" run --check empty.conf
    assert_output --partial 'empty.conf:1: no servers'
}

@test "start is all or nothing: a port in use on line 3 stops lines 1 and 2 and names line 3" {
    python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(60)
' "$PYC" &
    track_pid $!
    wait_port "$PYC"
    cat >servers.conf <<EOF
web --port tcp:$WEB1:interface=127.0.0.1 --path one
dns --port $DNS --interface 127.0.0.1 --hosts-file hosts
pycached -p tcp:$PYC --no-http
EOF
    run "$GALE" run servers.conf
    assert_failure 1
    assert_line --regexp "^gale run: servers.conf:3: cannot listen on .*$PYC.*Address already in use"
    refused "$WEB1"
    run dig @127.0.0.1 -p "$DNS" +short +time=1 +tries=1 printer.lan
    refute_output '127.0.0.9'
}

@test "a line of global options: the file holds its own --pidfile" {
    cat >servers.conf <<EOF
--pidfile run.pid
web --port tcp:$WEB1:interface=127.0.0.1 --path one
EOF
    run_file
    wait_port "$WEB1"
    wait_file run.pid
    assert_equal "$(cat run.pid)" "$GALE_PID"
    run get "$WEB1"
    assert_output 'root one'
}

# A client downloads a large file from line 1 while the file is rewritten:
# line 1 stays, pycached goes, dns moves to another port, a new web comes.
@test "SIGHUP: unchanged lines keep serving (a download goes on byte-exact), new start, removed stop, changed restart" {
    write_four
    head -c 24000000 /dev/urandom >one/big
    run_file --shutdown-timeout 5
    wait_port "$WEB1" && wait_port "$PYC" && wait_dns "$DNS"
    curl -sS --max-time 60 --limit-rate 8M -o got "http://127.0.0.1:$WEB1/big" &
    local dl=$!
    track_pid "$dl"
    sleep 0.5
    local dns2 web3
    dns2=$(free_udp_port)
    web3=$(free_port)
    cat >servers.conf <<EOF
# two servers in one process, and two more
web --port tcp:$WEB1:interface=127.0.0.1 --path one
web --name docs --port tcp:$WEB2:interface=127.0.0.1 --path two
dns --port $dns2 --interface 127.0.0.1 --hosts-file hosts
web --name new --port tcp:$web3:interface=127.0.0.1 --path two
EOF
    # new clients of line 1 during the reload are all answered
    (for i in $(seq 40); do get "$WEB1" || echo REFUSED; sleep 0.02; done) >during.txt 2>&1 &
    local during=$!
    track_pid "$during"
    kill -HUP "$GALE_PID"
    wait_port "$web3"
    wait_dns "$dns2"
    run get "$web3"
    assert_output 'root two'
    run dig @127.0.0.1 -p "$dns2" +short +time=2 +tries=1 printer.lan
    assert_output '127.0.0.9'
    wait_refused "$PYC"
    run dig @127.0.0.1 -p "$DNS" +short +time=1 +tries=1 printer.lan
    refute_output '127.0.0.9'
    wait "$during"
    run grep -c 'root one' during.txt
    assert_output 40
    wait "$dl"
    assert_equal "$(sha256sum <got)" "$(sha256sum <one/big)"
    wait_grep 'event=reloaded kept=2 started=2 stopped=2 failed=0' gale.log
    kill -0 "$GALE_PID"
}

@test "SIGHUP with a file that no longer parses changes nothing and logs each error" {
    write_four
    run_file
    wait_port "$WEB1" && wait_port "$PYC"
    printf 'web --port tcp:%s --path one\nfrob\nweb --bogus\n' "$WEB1" >servers.conf
    kill -HUP "$GALE_PID"
    wait_grep 'event=reload-refused errors=2' gale.log
    grep -q 'event=reload-error error="servers.conf:2: unknown subcommand' gale.log
    grep -q "event=reload-error error=\"servers.conf:3: web: unknown option '--bogus'" gale.log
    run get "$WEB2"
    assert_output 'root two'
    run pyc_json "$PYC" '{"command": "set", "key": "k", "value": "v"}'
    assert_success
}

@test "SIGHUP: a new line that cannot bind is reported and the rest of the reload goes ahead" {
    write_four
    run_file
    wait_port "$WEB1" && wait_port "$PYC"
    local web3
    web3=$(free_port)
    cat >servers.conf <<EOF
web --port tcp:$WEB1:interface=127.0.0.1 --path one
web --name taken --port tcp:$WEB1:interface=127.0.0.2 --path one
web --name new --port tcp:$web3:interface=127.0.0.1 --path two
portforward -p tcp:$WEB2:interface=127.0.0.1 -h 127.0.0.1 -d $WEB1
EOF
    # an address the kernel refuses: another process holds it
    python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.2", int(sys.argv[1]))); s.listen(1); time.sleep(60)
' "$WEB1" &
    track_pid $!
    wait_port "$WEB1" 127.0.0.2
    kill -HUP "$GALE_PID"
    wait_grep 'event=reloaded kept=1 started=2 stopped=3 failed=1' gale.log
    grep -q "error=\"servers.conf:2: cannot listen on" gale.log
    run get "$web3"
    assert_output 'root two'
    # the old docs line went, and portforward now holds its port
    run get "$WEB2"
    assert_output 'root one'
}

@test "systemd:name= sockets go to the line that names them" {
    cat >servers.conf <<EOF
web --name a --port systemd:name=first --path one
web --name b --port systemd:name=second --path two
EOF
    systemd-socket-activate -l "127.0.0.1:$WEB1" -l "127.0.0.1:$WEB2" \
        --fdname=second:first "$GALE" run servers.conf >>gale.log 2>&1 &
    track_pid $!
    wait_port "$WEB1"
    run get "$WEB1"
    assert_output 'root two'
    run get "$WEB2"
    assert_output 'root one'
}

@test "SIGHUP: a removed pycached writes its snapshot without holding up the others" {
    cat >servers.conf <<EOF
web --port tcp:$WEB1:interface=127.0.0.1 --path one
pycached -p tcp:$PYC --no-http --snapshot snap.db
EOF
    run_file
    wait_port "$WEB1" && wait_port "$PYC"
    run pyc_json "$PYC" '{"command": "set", "key": "kept", "value": "across"}'
    assert_success
    printf 'web --port tcp:%s:interface=127.0.0.1 --path one\n' "$WEB1" >servers.conf
    kill -HUP "$GALE_PID"
    wait_grep 'event=snapshot path="snap.db" child=[0-9]+ final=1' gale.log
    wait_refused "$PYC"
    run get "$WEB1"
    assert_output 'root one'
    # the snapshot holds the key: a new line reads it back
    wait_file snap.db
    printf 'web --port tcp:%s:interface=127.0.0.1 --path one\npycached -p tcp:%s --no-http --snapshot snap.db\n' \
        "$WEB1" "$PYC_HTTP" >servers.conf
    kill -HUP "$GALE_PID"
    wait_port "$PYC_HTTP"
    run pyc_json "$PYC_HTTP" '{"command": "get", "key": "kept"}'
    assert_output --partial 'across'
}

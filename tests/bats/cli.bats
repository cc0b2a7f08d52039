#!/usr/bin/env bats
# The command line: help, version, argv[0] dispatch, usage errors (one
# line on stderr, status 2, nothing started), reactor choice and where
# global options may go.

bats_require_minimum_version 1.5.0

load helpers

: "${GALE_SOURCE:=${BATS_TEST_DIRNAME}/../..}"

setup_file() {
    quick_python
}

setup() {
    common_setup
}

teardown() {
    common_teardown
}

# The global options gale must offer (twistd's, plus gale's own).
GLOBAL_OPTS=(--nodaemon --daemon --pidfile --logfile --syslog --prefix --log-format
             --verbose --quiet --uid --gid --chroot --umask --rundir --reactor
             --help-reactors --shutdown-timeout --max-connections --help --version)

# usage_error PATTERN ARGS...: "gale ARGS" is a command-line error: status
# 2, nothing on stdout, exactly one line on stderr that contains PATTERN
# and points to --help; and nothing was started: no pidfile ($PIDF) and
# nothing listening on $PORT.
usage_error() {
    local pattern=$1
    shift
    run --separate-stderr timeout 5 "$GALE" "$@"
    if [ "$status" -ne 2 ]; then
        echo "gale $*: status $status, stderr: $stderr" >&2
        return 1
    fi
    assert_equal "$output" ""
    assert_equal "${#stderr_lines[@]}" 1
    if [[ $stderr != *"$pattern"* ]]; then
        echo "stderr does not name '$pattern': $stderr" >&2
        return 1
    fi
    if [[ $stderr != *--help* ]]; then
        echo "stderr does not point to --help: $stderr" >&2
        return 1
    fi
    assert_file_not_exists "$PIDF"
    refused "$PORT"
}

# A forward from 127.0.0.1:$PORT to an echo server on $TARGET.
forward_setup() {
    TARGET=$(free_port)
    PORT=$(free_port)
    while [ "$PORT" = "$TARGET" ]; do PORT=$(free_port); done
    start_echo "$TARGET"
}

# Options that would start a forward on $PORT with a pidfile, were the
# command line right.
error_setup() {
    PORT=$(free_port)
    PIDF=$BATS_TEST_TMPDIR/gale.pid
    EP=tcp:$PORT:interface=127.0.0.1
}

# --- help and version --------------------------------------------------

@test "gale --help lists every subcommand with its summary, and the global options" {
    run --separate-stderr "$GALE" --help
    assert_success
    assert_equal "$stderr" ""
    assert_line --index 0 --regexp '^Usage: gale '
    local dir name summary n=0
    for dir in "$GALE_SOURCE"/servers/*/; do
        name=$(basename "$dir")
        summary=$(sed -n 's/^ *\.summary = "\(.*\)",$/\1/p' "$dir/$name.c")
        [ -n "$summary" ]
        assert_line --regexp "^  $name +$summary\$"
        n=$((n + 1))
    done
    [ "$n" -ge 1 ]
    local o
    for o in "${GLOBAL_OPTS[@]}"; do
        assert_line --regexp "^  +(-[a-z], )?$o(=[A-Z]+)? "
    done
}

@test "gale portforward --help shows portforward's options" {
    run --separate-stderr "$GALE" portforward --help
    assert_success
    assert_equal "$stderr" ""
    assert_line --index 0 --regexp '^Usage: gale .*portforward'
    assert_line --regexp '^  -p, --port=ENDPOINT +.*\[default: 6666\]'
    assert_line --regexp '^  -h, --host=HOST +.*\[default: localhost\]'
    assert_line --regexp '^  -d, --dest_port=PORT +.*\[default: 6665\]'
    assert_line --regexp '^ +--forward=ENDPOINT=HOST:PORT '
    assert_line --regexp '^ +--connect-timeout=SECONDS '
    assert_output --partial "gale --help"
}

@test "gale --version prints the version" {
    run --separate-stderr "$GALE" --version
    assert_success
    assert_equal "$stderr" ""
    assert_output --regexp '^gale [0-9]+\.[0-9]+\.[0-9]+$'
    local version=$output
    run "$GALE" portforward --version
    assert_success
    assert_output "$version"
}

@test "gale-portforward (argv[0] dispatch) answers --help and forwards" {
    [ -L "$GALE_BUILD/gale-portforward" ]
    run --separate-stderr "$GALE_BUILD/gale-portforward" --help
    assert_success
    local via_link=$output
    run "$GALE" portforward --help
    assert_equal "$via_link" "$output"

    forward_setup
    "$GALE_BUILD/gale-portforward" -p "tcp:$PORT:interface=127.0.0.1" -h 127.0.0.1 \
        -d "$TARGET" >>gale.log 2>&1 &
    track_pid $!
    wait_port "$PORT"
    run through via-link "TCP:127.0.0.1:$PORT"
    assert_output via-link
}

@test "gale-NAME with an unknown NAME is a usage error" {
    error_setup
    ln -s "$GALE" "$BATS_TEST_TMPDIR/gale-nosuch"
    GALE=$BATS_TEST_TMPDIR/gale-nosuch usage_error "unknown subcommand 'nosuch'" \
        --pidfile "$PIDF" -p "$EP"
    [[ $stderr == *portforward* ]]  # the error lists the servers
}

# --- command-line errors ---------------------------------------------------

@test "usage error: unknown subcommand, listing the servers" {
    error_setup
    usage_error "unknown subcommand 'nosuch'" --pidfile "$PIDF" nosuch -p "$EP"
    [[ $stderr == *portforward* ]]
}

@test "usage error: no subcommand" {
    error_setup
    usage_error "no subcommand" --pidfile "$PIDF"
    usage_error "no subcommand"
}

@test "usage error: unknown long option, before and after the subcommand" {
    error_setup
    usage_error "unknown option '--bogus'" --pidfile "$PIDF" --bogus portforward -p "$EP"
    usage_error "unknown option '--bogus'" --pidfile "$PIDF" portforward -p "$EP" --bogus
}

@test "usage error: unknown short option, before and after the subcommand" {
    error_setup
    usage_error "unknown option '-Z'" --pidfile "$PIDF" -Z portforward -p "$EP"
    usage_error "unknown option '-Z'" --pidfile "$PIDF" portforward -p "$EP" -Z
}

@test "usage error: an option without its value" {
    error_setup
    usage_error "'-p' needs a value" --pidfile "$PIDF" portforward -p
    usage_error "'--pidfile' needs a value" portforward -p "$EP" --pidfile
    usage_error "'--logfile' needs a value" --pidfile "$PIDF" --logfile
    usage_error "'--dest_port' needs a value" --pidfile "$PIDF" portforward -p "$EP" --dest_port
}

@test "usage error: a stray argument after the options" {
    error_setup
    usage_error "unexpected argument 'extra'" --pidfile "$PIDF" portforward -p "$EP" extra
}

@test "usage error: malformed endpoints" {
    error_setup
    usage_error "tcp:99999" --pidfile "$PIDF" portforward -p tcp:99999
    usage_error "privateKey" --pidfile "$PIDF" portforward -p ssl:443
    usage_error "unix:" --pidfile "$PIDF" portforward -p unix:
    usage_error "unknown endpoint type 'foo'" --pidfile "$PIDF" portforward -p foo:1
    usage_error "interface" --pidfile "$PIDF" portforward -p "tcp:$PORT:interface=nohost"
    usage_error "--forward" --pidfile "$PIDF" portforward --forward "tcp:99999=127.0.0.1:1"
}

@test "usage error: bad --log-format, before and after the subcommand" {
    error_setup
    usage_error "'xml'" --pidfile "$PIDF" --log-format xml portforward -p "$EP"
    usage_error "'xml'" --pidfile "$PIDF" portforward -p "$EP" --log-format=xml
}

@test "usage error: unknown --reactor" {
    error_setup
    usage_error "'nosuch'" --pidfile "$PIDF" -r nosuch portforward -p "$EP"
    usage_error "'nosuch'" --pidfile "$PIDF" portforward -p "$EP" --reactor nosuch
}

@test "usage error: --chroot to a missing directory" {
    error_setup
    usage_error "$BATS_TEST_TMPDIR/missing" --pidfile "$PIDF" \
        --chroot "$BATS_TEST_TMPDIR/missing" portforward -p "$EP"
}

@test "usage error: --uid of a user that does not exist, even with --daemon" {
    error_setup
    usage_error "no-such-user" --pidfile "$PIDF" --uid no-such-user portforward -p "$EP"
    usage_error "no-such-user" --daemon --pidfile "$PIDF" portforward -p "$EP" \
        --uid no-such-user
}

# --- reactors ------------------------------------------------------------

@test "gale --help-reactors lists epoll" {
    run --separate-stderr "$GALE" --help-reactors
    assert_success
    assert_line --regexp '^ +epoll$'
    assert_line --regexp '^ +poll$'
}

@test "--help-reactors after the subcommand lists them too, and starts nothing" {
    error_setup
    run --separate-stderr timeout 2 "$GALE" portforward -p "$EP" --help-reactors
    assert_success
    assert_line --regexp '^ +epoll$'
    refused "$PORT"
}

@test "-r poll: the server starts on poll and forwards" {
    forward_setup
    start_gale -r poll portforward -p "tcp:$PORT:interface=127.0.0.1" -h 127.0.0.1 -d "$TARGET"
    wait_port "$PORT"
    run through on-poll "TCP:127.0.0.1:$PORT"
    assert_output on-poll
    # poll(2) keeps no kernel object; epoll would show an eventpoll fd.
    run ls -l "/proc/$GALE_PID/fd"
    assert_success
    assert_output --partial 'socket:'
    refute_output --partial eventpoll
}

# --- where global options go ---------------------------------------------

@test "--pidfile before the subcommand" {
    forward_setup
    start_gale --pidfile "$BATS_TEST_TMPDIR/before.pid" portforward \
        -p "tcp:$PORT:interface=127.0.0.1" -h 127.0.0.1 -d "$TARGET"
    wait_port "$PORT"
    assert_equal "$(cat "$BATS_TEST_TMPDIR/before.pid")" "$GALE_PID"
    run through before "TCP:127.0.0.1:$PORT"
    assert_output before
}

@test "--pidfile after the subcommand" {
    forward_setup
    start_gale portforward -p "tcp:$PORT:interface=127.0.0.1" -h 127.0.0.1 -d "$TARGET" \
        --pidfile "$BATS_TEST_TMPDIR/after.pid"
    wait_port "$PORT"
    assert_equal "$(cat "$BATS_TEST_TMPDIR/after.pid")" "$GALE_PID"
    run through after "TCP:127.0.0.1:$PORT"
    assert_output after
}

@test "--max-connections 2 after the subcommand: a third client waits for a free slot" {
    forward_setup
    start_gale portforward -p "tcp:$PORT:interface=127.0.0.1" -h 127.0.0.1 -d "$TARGET" \
        --max-connections 2
    wait_port "$PORT"
    run timeout 20 python3 - "$PORT" <<'PY'
import select, socket, sys
port = int(sys.argv[1])
def conn(msg):
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.settimeout(5)
    s.sendall(msg)
    return s
def echoed(s, msg, wait):
    r, _, _ = select.select([s], [], [], wait)
    return bool(r) and s.recv(100) == msg
a, b = conn(b"a"), conn(b"b")
assert echoed(a, b"a", 5), "first client not served"
assert echoed(b, b"b", 5), "second client not served"
c = conn(b"c")   # the kernel queues it; gale must not take it yet
assert not echoed(c, b"c", 0.5), "third client served beyond --max-connections 2"
a.close()
assert echoed(c, b"c", 5), "third client not served once a slot was free"
print("ok")
PY
    assert_success
    assert_output ok
}

@test "usage error: a file named on the command line that cannot be read, in every server" {
    error_setup
    local gone=$BATS_TEST_TMPDIR/gone
    usage_error "--hosts-file: cannot read $gone" dns -p "$PORT" --hosts-file "$gone"
    usage_error "--bindzone: cannot read $gone" dns -p "$PORT" --bindzone "$gone"
    usage_error "--bindzone: $BATS_TEST_TMPDIR is a directory" dns -p "$PORT" --bindzone "$BATS_TEST_TMPDIR"
    usage_error "--resolv-conf: cannot read $gone" dns -p "$PORT" --resolv-conf "$gone"
    usage_error "--path: cannot read $gone" web -p "$EP" --path "$gone"
    usage_error "--certificate: cannot read $gone" web -p "$EP" --https 0 -c "$gone"
    usage_error "--privkey: cannot read $gone" web -p "$EP" --https 0 -k "$gone"
    # --https without -c reads server.pem from the current folder.
    usage_error "--certificate: cannot read server.pem" web -p "$EP" --https 0
    usage_error "privateKey: cannot read $gone" web --listen "ssl:0:privateKey=$gone"
    usage_error "privateKey: cannot read $gone" pycached -p "ssl:0:privateKey=$gone"
    usage_error "privateKey: cannot read $gone" portforward -p "ssl:0:privateKey=$gone" -d 1
    touch "$BATS_TEST_TMPDIR/key.pem"
    usage_error "certKey: cannot read $gone" socks -p "ssl:0:privateKey=$BATS_TEST_TMPDIR/key.pem:certKey=$gone"
    usage_error "--users: cannot read $gone" socks --users "$gone"
}

@test "usage error: a file to write whose folder does not exist, or that is a directory" {
    error_setup
    local none=$BATS_TEST_TMPDIR/none/file
    usage_error "--logfile: cannot create $none: no folder" --logfile "$none" portforward -p "$EP"
    usage_error "--pidfile: cannot create $none: no folder" portforward -p "$EP" --pidfile "$none"
    usage_error "--logfile: cannot create $none" web -p "$EP" -l "$none"
    usage_error "--log: cannot create $none" socks -p "$PORT" -l "$none"
    usage_error "--snapshot: cannot create $none" pycached -p "$EP" --snapshot "$none"
    usage_error "--snapshot: $BATS_TEST_TMPDIR is a directory" pycached -p "$EP" --snapshot "$BATS_TEST_TMPDIR"
    usage_error "--rundir: cannot change to $none" --rundir "$none" portforward -p "$EP"
}

@test "--rundir: relative paths in every option are taken from it, wherever it is given" {
    mkdir -p run/zones
    printf '$ORIGIN rd.test.\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.80\n' >run/zones/rd.zone
    PORT=$(free_udp_port)
    start_gale dns -p "$PORT" -i 127.0.0.1 --bindzone zones/rd.zone --rundir run --pidfile gale.pid
    wait_dns "$PORT"
    run dig @127.0.0.1 -p "$PORT" +short +time=2 +tries=1 ns.rd.test A
    assert_output 192.0.2.80
    [ "$(cat run/gale.pid)" = "$GALE_PID" ]
    # Without --rundir the same relative name is not there.
    run --separate-stderr timeout 5 "$GALE" dns -p "$PORT" --bindzone zones/rd.zone
    assert_failure 2
}

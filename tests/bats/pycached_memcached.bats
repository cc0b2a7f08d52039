#!/usr/bin/env bats
# gale pycached's memcached text protocol, end to end: raw exchanges whose
# replies are compared byte for byte with memcached 1.6's, python3's
# pymemcache, libmemcached's tools and its conformance tester memcapable,
# and the JSON protocol sharing the store.  Each test runs
# `gale pycached --port tcp:P1 --http tcp:P2 --memcached tcp:P3` on free
# loopback ports; every read has a deadline, every server is stopped by
# pid in teardown.

load helpers

setup_file() {
    # Debian's python3 has pymemcache; the python3 on PATH may be a slow shim.
    mkdir -p "$BATS_FILE_TMPDIR/bin"
    ln -sf /usr/bin/python3 "$BATS_FILE_TMPDIR/bin/python3"
    export PATH="$BATS_FILE_TMPDIR/bin:$PATH"
    cp "$BATS_TEST_DIRNAME/pycached_memcached.py" "$BATS_FILE_TMPDIR/mc.py"
}

setup() {
    common_setup
}

teardown() {
    common_teardown
}

# start_pyc [OPTIONS]: gale pycached on three free ports (P1 JSON, P2
# HTTP, P3 memcached); returns once the memcached port listens.
start_pyc() {
    P1=$(free_port)
    P2=$(free_port)
    P3=$(free_port)
    start_gale pycached --port "tcp:$P1" --http "tcp:$P2" --memcached "tcp:$P3" "$@"
    wait_port "$P3"
}

# x SEND WANT: sends SEND on a new connection and checks that the reply
# is exactly WANT, nothing more (\r, \n, \t and \xNN escapes in both).
x() {
    run python3 "$BATS_FILE_TMPDIR/mc.py" x "$P3" "$1" "$2"
    assert_success
}

# scenario NAME: one of mc.py's scripted scenarios against P3 (and P1).
scenario() {
    run timeout 60 python3 "$BATS_FILE_TMPDIR/mc.py" "$1" "$P3" "$P1"
    assert_success
}

@test "version, verbosity and quit" {
    start_pyc
    run python3 "$BATS_FILE_TMPDIR/mc.py" x "$P3" 'version\r\n' 'VERSION 1.6.18 gale-\*\r\n'
    assert_success
    x 'verbosity 1\r\nverbosity 1 noreply\r\nverbosity\r\nverbosity x\r\n' \
      'OK\r\nERROR\r\nCLIENT_ERROR bad command line format\r\n'
    scenario quit
}

@test "storage commands: set, add, replace, append, prepend and their replies" {
    start_pyc
    x 'set k 5 0 3\r\nabc\r\nget k\r\n' 'STORED\r\nVALUE k 5 3\r\nabc\r\nEND\r\n'
    x 'add k 0 0 1\r\nx\r\nadd n 0 0 1\r\nx\r\nreplace zz 0 0 1\r\nx\r\nreplace n 7 0 2\r\nyy\r\nget n\r\n' \
      'NOT_STORED\r\nSTORED\r\nNOT_STORED\r\nSTORED\r\nVALUE n 7 2\r\nyy\r\nEND\r\n'
    x 'append k 9 0 2\r\nde\r\nprepend k 9 0 2\r\n01\r\nappend zz 0 0 1\r\nx\r\nprepend zz 0 0 1\r\nx\r\nget k\r\n' \
      'STORED\r\nSTORED\r\nNOT_STORED\r\nNOT_STORED\r\nVALUE k 5 7\r\n01abcde\r\nEND\r\n'
    x 'set e 0 0 0\r\n\r\nget e\r\n' 'STORED\r\nVALUE e 0 0\r\n\r\nEND\r\n'
    x 'set b 0 0 4\r\na\r\nb\r\nget b\r\n' 'STORED\r\nVALUE b 0 4\r\na\r\nb\r\nEND\r\n'
}

@test "get and gets: several keys, misses left out, repeats answered" {
    start_pyc
    x 'set a 1 0 1\r\nx\r\nset b 2 0 2\r\nyy\r\nget a zz b a\r\n' \
      'STORED\r\nSTORED\r\nVALUE a 1 1\r\nx\r\nVALUE b 2 2\r\nyy\r\nVALUE a 1 1\r\nx\r\nEND\r\n'
    x 'get nothing here\r\n' 'END\r\n'
    scenario gets_many
}

@test "cas: STORED with the right number, EXISTS with another, NOT_FOUND without the key" {
    start_pyc
    scenario cas
}

@test "delete: memcached 1.6's forms and its usage line for a hold time" {
    start_pyc
    x 'set k 0 0 1\r\nx\r\ndelete k\r\ndelete k\r\n' 'STORED\r\nDELETED\r\nNOT_FOUND\r\n'
    x 'set k 0 0 1\r\nx\r\ndelete k 0\r\ndelete k 0 noreply\r\ndelete k noreply\r\nget k\r\n' \
      'STORED\r\nDELETED\r\nEND\r\n'
    x 'delete k 5\r\ndelete k 1 noreply\r\ndelete\r\ndelete a b c d\r\n' \
      'CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\nERROR\r\nERROR\r\n'
}

@test "incr and decr: 64-bit unsigned, incr wraps, decr stops at 0" {
    start_pyc
    x 'set n 0 0 20\r\n18446744073709551615\r\nincr n 2\r\ndecr n 5\r\nincr n 18446744073709551615\r\nget n\r\n' \
      'STORED\r\n1\r\n0\r\n18446744073709551615\r\nVALUE n 0 20\r\n18446744073709551615\r\nEND\r\n'
    x 'incr zz 1\r\ndecr zz 1\r\nset t 0 0 3\r\nabc\r\nincr t 1\r\nincr t -1\r\nincr t 18446744073709551616\r\nincr t x noreply\r\n' \
      'NOT_FOUND\r\nNOT_FOUND\r\nSTORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\nCLIENT_ERROR invalid numeric delta argument\r\nCLIENT_ERROR invalid numeric delta argument\r\n'
    x 'set c 0 0 1\r\n7\r\nincr c 3 noreply\r\ndecr c 1 noreply\r\nget c\r\n' 'STORED\r\nVALUE c 0 1\r\n9\r\nEND\r\n'
}

@test "touch, gat and gats" {
    start_pyc
    x 'set k 3 0 1\r\nx\r\ntouch k 100\r\ntouch zz 100\r\ntouch k abc\r\ntouch k\r\n' \
      'STORED\r\nTOUCHED\r\nNOT_FOUND\r\nCLIENT_ERROR invalid exptime argument\r\nERROR\r\n'
    x 'gat 100 k zz\r\ngat 10\r\ngat abc k\r\ngat\r\n' \
      'VALUE k 3 1\r\nx\r\nEND\r\nEND\r\nCLIENT_ERROR invalid exptime argument\r\nERROR\r\n'
    # A past time: answered once more, then gone, as memcached does.
    x 'gat -1 k\r\nget k\r\nset k 0 0 1\r\nx\r\ntouch k -1\r\nget k\r\n' \
      'VALUE k 3 1\r\nx\r\nEND\r\nEND\r\nSTORED\r\nTOUCHED\r\nEND\r\n'
    scenario gats
}

@test "noreply silences every reply of its command, errors too, as memcached 1.6" {
    start_pyc
    x 'set k 0 0 1 noreply\r\nx\r\nadd k 0 0 1 noreply\r\ny\r\nget k\r\n' 'VALUE k 0 1\r\nx\r\nEND\r\n'
    x 'set k 0 0 abc noreply\r\nversion\r\n' 'VERSION 1.6.18 gale-\*\r\n'
    x 'set k 0 0 1 noreply\r\nxyz\r\nget k\r\n' 'ERROR\r\nVALUE k 0 1\r\nx\r\nEND\r\n'
    x 'flush_all noreply\r\nget k\r\n' 'END\r\n'
    # A line that is no valid command has no noreply: ERROR is sent.
    x 'set k 0 0 1 noreply extra\r\n' 'ERROR\r\n'
}

@test "errors: each of memcached's error lines, and the connection goes on" {
    start_pyc
    x 'bogus\r\nGET k\r\n\r\nget\tk\r\nget\r\nset k 0 0\r\n' 'ERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\n'
    x 'set k 0 0 -1\r\nset k abc 0 1\r\nset k 4294967296 0 1\r\nset k 0 0 2147483646\r\nversion\r\n' \
      'CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\nVERSION 1.6.18 gale-\*\r\n'
    # The data line of a refused command is read as a command, as memcached does.
    x 'set k 0 0 x\r\nabc\r\n' 'CLIENT_ERROR bad command line format\r\nERROR\r\n'
    x 'set k 0 0 3\r\nabcde\r\nget k\r\n' 'CLIENT_ERROR bad data chunk\r\nERROR\r\nEND\r\n'
    # Control characters in keys are stored, as memcached does (memcaslap sends them).
    x 'set k\x01 0 0 1\r\nx\r\nget k\x01\r\nget a\x7f\r\nflush_all abc\r\n' \
      'STORED\r\nVALUE k\x01 0 1\r\nx\r\nEND\r\nEND\r\nCLIENT_ERROR invalid exptime argument\r\n'
    scenario long_keys
}

@test "lines: LF alone, many spaces, several commands in one write" {
    start_pyc
    x 'set k 0 0 1\nx\r\n  get   k  \nget k\r\n' 'STORED\r\nVALUE k 0 1\r\nx\r\nEND\r\nVALUE k 0 1\r\nx\r\nEND\r\n'
    scenario pipeline
    scenario trickle
}

@test "lines: over 2048 bytes without a newline closes; a long get key list does not" {
    start_pyc
    scenario long_lines
}

@test "expiry: exptime of seconds, a unix time, negative, and touch" {
    start_pyc
    scenario ttl
}

@test "flush_all: now, and after a delay from a timer; cmd_flush counted" {
    start_pyc
    x 'set k 0 0 1\r\nx\r\nflush_all\r\nget k\r\nflush_all 0\r\nflush_all -1\r\nflush_all 1 2 3\r\n' \
      'STORED\r\nOK\r\nEND\r\nOK\r\nOK\r\nERROR\r\n'
    scenario flush_delay
}

@test "stats: memcached's fields, counters that move, reset, settings, groups" {
    start_pyc --max-item-size 512k
    scenario stats
    x 'stats foo\r\nstats noreply\r\nstats detail\r\nstats detail on\r\nstats detail dump\r\nstats reset\r\n' \
      'ERROR\r\nERROR\r\nCLIENT_ERROR usage: stats detail on|off|dump\r\nOK\r\nEND\r\nRESET\r\n'
}

@test "a value over --max-item-size is refused, its data swallowed, the connection usable" {
    start_pyc --max-item-size 4k
    scenario too_large
}

@test "backpressure and half-close: every reply arrives, in order" {
    start_pyc
    scenario slow_reader
    scenario half_close
}

@test "shutdown: idle connections close at once, a command in progress is answered" {
    start_pyc
    run timeout 30 python3 "$BATS_FILE_TMPDIR/mc.py" shutdown "$P3" "$P1" "$GALE_PID"
    assert_success
    wait_gone "$GALE_PID"
    run grep -c 'event=exit status=0' "$BATS_TEST_TMPDIR/gale.log"
    assert_output 1
}

@test "pymemcache works unchanged" {
    start_pyc
    scenario pymemcache
}

@test "libmemcached's tools: memccp, memccat, memctouch, memcrm, memcflush, memcstat" {
    start_pyc
    local S="--servers=127.0.0.1:$P3"
    printf 'hello from a file\n' >"$BATS_TEST_TMPDIR/f.txt"
    run timeout 10 memccp "$S" "$BATS_TEST_TMPDIR/f.txt"
    assert_success
    run timeout 10 memccat "$S" f.txt
    assert_success
    assert_output 'hello from a file'
    run timeout 10 memctouch "$S" --expire=100 f.txt
    assert_success
    run timeout 10 memcrm "$S" f.txt
    assert_success
    run timeout 10 memccat "$S" f.txt
    assert_failure
    run timeout 10 memccp "$S" "$BATS_TEST_TMPDIR/f.txt"
    run timeout 10 memcflush "$S"
    assert_success
    run timeout 10 memccat "$S" f.txt
    assert_failure
    run timeout 10 memcstat "$S"
    assert_success
    assert_line --partial 'curr_items: 0'
    assert_line --partial 'cmd_flush: 1'
}

@test "libmemcached's conformance tester (memcapable -a) passes" {
    start_pyc
    run timeout 60 memccapable -a -t 5 -h 127.0.0.1 -p "$P3"
    assert_success
    assert_output --partial 'All tests passed'
    refute_output --partial 'FAIL'
}

@test "keys are shared with the JSON protocol: JSON text as stored, raw bytes as strings" {
    start_pyc
    scenario json
}

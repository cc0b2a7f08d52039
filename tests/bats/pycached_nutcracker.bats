#!/usr/bin/env bats
# gale pycached behind nutcracker (twemproxy): two instances speaking
# memcached on free loopback ports, nutcracker in front of them (ketama,
# memcache protocol) on another, configured by a YAML file in the test's
# temp dir.  100 keys go in through the proxy, all come back through it,
# and each instance holds some of them but not all.  Skipped only when
# nutcracker is not installed.  Every process is stopped by pid.

load helpers

NUTCRACKER=${NUTCRACKER:-/usr/sbin/nutcracker}

setup_file() {
    mkdir -p "$BATS_FILE_TMPDIR/bin"
    ln -sf /usr/bin/python3 "$BATS_FILE_TMPDIR/bin/python3"
    export PATH="$BATS_FILE_TMPDIR/bin:$PATH"
    cp "$BATS_TEST_DIRNAME/pycached_memcached.py" "$BATS_FILE_TMPDIR/mc.py"
}

setup() {
    common_setup
    [ -x "$NUTCRACKER" ] || skip "nutcracker is not installed"
}

teardown() {
    common_teardown
    if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -f "$BATS_TEST_TMPDIR/nutcracker.log" ]; then
        echo "--- nutcracker.log ---" >&3
        tail -n 20 "$BATS_TEST_TMPDIR/nutcracker.log" >&3
    fi
}

# start_instance VAR: a gale pycached with --memcached on free ports; the
# memcached port goes into VAR.
start_instance() {
    local p1 p2 p3
    p1=$(free_port)
    p2=$(free_port)
    p3=$(free_port)
    start_gale pycached --port "tcp:$p1" --http "tcp:$p2" --memcached "tcp:$p3"
    wait_port "$p3"
    printf -v "$1" '%s' "$p3"
}

# start_nutcracker PORT_A PORT_B: nutcracker on $PROXY in front of both.
start_nutcracker() {
    PROXY=$(free_port)
    local stats conf=$BATS_TEST_TMPDIR/nutcracker.yml
    stats=$(free_port)
    cat >"$conf" <<EOF
gale:
  listen: 127.0.0.1:$PROXY
  hash: fnv1a_64
  distribution: ketama
  timeout: 2000
  auto_eject_hosts: false
  servers:
   - 127.0.0.1:$1:1 a
   - 127.0.0.1:$2:1 b
EOF
    run "$NUTCRACKER" -t -c "$conf"
    assert_success
    "$NUTCRACKER" -c "$conf" -o "$BATS_TEST_TMPDIR/nutcracker.log" \
        -p "$BATS_TEST_TMPDIR/nutcracker.pid" -s "$stats" -a 127.0.0.1 &
    track_pid $!
    wait_port "$PROXY"
}

@test "100 keys through nutcracker: all read back, each instance holding some" {
    start_instance A
    start_instance B
    start_nutcracker "$A" "$B"
    run timeout 60 python3 "$BATS_FILE_TMPDIR/mc.py" nutcracker "$PROXY" "$A" "$B"
    assert_success
    assert_output --regexp 'through nutcracker: [0-9]+ keys on one instance'
}

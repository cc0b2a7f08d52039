# Shared set-up for the end-to-end tests: a temp dir per test, a free
# loopback port, starting gale and waiting (bounded) until it listens,
# and stopping it by pid.
#
# GALE is the binary under test (set by ctest); GALE_BUILD the build dir.

bats_load_library bats-support
bats_load_library bats-assert
bats_load_library bats-file

: "${GALE:=${BATS_TEST_DIRNAME}/../../build/gale}"
: "${GALE_BUILD:=$(dirname "$GALE")}"

# A port nobody listens on, drawn from a range of its own per test file.
free_port() {
    python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# wait_port PORT [HOST]: until something accepts there, at most 10 s.
wait_port() {
    local port=$1 host=${2:-127.0.0.1} i
    for ((i = 0; i < 200; i++)); do
        if python3 -c "import socket,sys; socket.create_connection(('$host', $port), 0.2).close()" 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    echo "nothing listens on $host:$port after 10 s" >&2
    return 1
}

# wait_file PATH: until it exists, at most 10 s.
wait_file() {
    local i
    for ((i = 0; i < 200; i++)); do
        [ -e "$1" ] && return 0
        sleep 0.05
    done
    echo "$1 did not appear within 10 s" >&2
    return 1
}

# wait_gone PID: until the process has exited, at most 15 s.
wait_gone() {
    local i
    for ((i = 0; i < 300; i++)); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.05
    done
    echo "pid $1 still runs after 15 s" >&2
    return 1
}

# start_gale ARGS...: runs gale in the background, logging to
# $BATS_TEST_TMPDIR/gale.log; sets GALE_PID.  Callers wait for readiness.
start_gale() {
    "$GALE" "$@" >>"$BATS_TEST_TMPDIR/gale.log" 2>&1 &
    GALE_PID=$!
    PIDS+=("$GALE_PID")
}

# track_pid PID: stop PID in teardown.
track_pid() {
    PIDS+=("$1")
}

stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait_gone "$pid" || kill -9 "$pid" 2>/dev/null || true
    done
    PIDS=()
}

common_setup() {
    PIDS=()
    cd "$BATS_TEST_TMPDIR" || return 1
}

common_teardown() {
    stop_all
    # Under ASan and UBSan a report in a server's log fails the test, even
    # one the client never noticed (a leak at exit, a use after free).
    local reports
    reports=$(grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$BATS_TEST_TMPDIR"/*.log \
        2>/dev/null)
    if [ -n "$reports" ]; then
        echo "--- sanitizer report in $reports ---" >&3
        grep -hE -A20 'ERROR: (Address|Leak)Sanitizer|runtime error:' $reports | head -n 60 >&3
        return 1
    fi
    if [ -n "${BATS_TEST_COMPLETED:-}" ] || [ ! -f "$BATS_TEST_TMPDIR/gale.log" ]; then
        return 0
    fi
    echo "--- gale.log ---" >&3
    tail -n 30 "$BATS_TEST_TMPDIR/gale.log" >&3
}

# --- added for cli.bats and core.bats -------------------------------

# start_echo PORT: a python3 echo server on 127.0.0.1:PORT (each
# connection echoes until the client half-closes); sets ECHO_PID,
# stopped in teardown.  Returns once it listens.
start_echo() {
    python3 -c '
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(128)
def serve(c):
    with c:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
' "$1" >/dev/null 2>&1 &
    ECHO_PID=$!
    PIDS+=("$ECHO_PID")
    wait_port "$1"
}

# through MSG SOCAT-ADDRESS: sends MSG, half-closes, prints the reply
# (at most 10 s).  E.g. through hello TCP:127.0.0.1:$port
through() {
    printf '%s' "$1" | timeout 10 socat -T 5 - "$2"
}

# refused PORT [HOST]: true when a TCP connect there is refused now.
refused() {
    local err
    err=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "${2:-127.0.0.1}" "$1" 2>&1) && return 1
    [[ $err == *"Connection refused"* ]]
}

# wait_refused PORT [HOST]: until connecting there is refused, at most 2 s.
wait_refused() {
    local i
    for ((i = 0; i < 40; i++)); do
        refused "$@" && return 0
        sleep 0.05
    done
    echo "${2:-127.0.0.1}:$1 still accepts after 2 s" >&2
    return 1
}

# wait_grep PATTERN FILE: until FILE has a line matching the extended
# regex PATTERN, at most 10 s.
wait_grep() {
    local i
    for ((i = 0; i < 200; i++)); do
        grep -Eq -- "$1" "$2" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "no line matching '$1' in $2 within 10 s" >&2
    return 1
}

# quick_python: put the python3 interpreter itself first on PATH, for a
# setup_file.  A python3 that is a wrapper script (pyenv's shims) takes
# half a second to start, and the helpers start python3 many times.
quick_python() {
    local exe
    exe=$(python3 -c 'import sys; print(sys.executable)') || return 0
    mkdir -p "$BATS_FILE_TMPDIR/bin"
    ln -sf "$exe" "$BATS_FILE_TMPDIR/bin/python3"
    PATH=$BATS_FILE_TMPDIR/bin:$PATH
    export PATH
}

# wait_exited PID: until PID has exited, at most 15 s.  Unlike wait_gone
# this counts a zombie as exited: a --daemon's parent is init, which may
# be slow to reap it.
wait_exited() {
    local i state
    for ((i = 0; i < 300; i++)); do
        state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
        [ -z "$state" ] || [ "$state" = Z ] && return 0
        sleep 0.05
    done
    echo "pid $1 still runs after 15 s" >&2
    return 1
}

# untrack_pid PID: no longer stop PID in teardown.
untrack_pid() {
    local pid kept=()
    for pid in "${PIDS[@]}"; do
        [ "$pid" = "$1" ] || kept+=("$pid")
    done
    PIDS=("${kept[@]}")
}

# --- added for the web*.bats files ----------------------------------

# The raw-socket HTTP client of the web tests (see its docstring).
RAWHTTP=${BATS_TEST_DIRNAME}/fixtures/web/rawhttp.py

# start_web ARGS...: gale web on 127.0.0.1:$PORT (the caller sets PORT)
# with ARGS, via start_gale; returns once it listens.
start_web() {
    start_gale web --listen "tcp:$PORT:interface=127.0.0.1" "$@"
    wait_port "$PORT"
}

# rawhttp REQUEST [RAWHTTP OPTIONS]: sends REQUEST (printf %b escapes:
# \r\n) to 127.0.0.1:$PORT at once and prints the responses as
# rawhttp.py does.
rawhttp() {
    printf '%b' "$1" | timeout 20 python3 "$RAWHTTP" "$PORT" "${@:2}"
}

# web_head PATH [CURL ARGS]: the head of the response to a request for
# PATH on 127.0.0.1:$PORT, CRs stripped (the body is dropped).
web_head() {
    curl -sS --max-time 10 -D - -o /dev/null "${@:2}" "http://127.0.0.1:$PORT$1" | tr -d '\r'
}

# web_get PATH [CURL ARGS]: the body of the response to PATH, as is.
web_get() {
    curl -sS --max-time 10 "${@:2}" "http://127.0.0.1:$PORT$1"
}

# web_py CODE [ARGS]: runs python3 CODE (at most 30 s) with rawhttp.py's
# functions imported, os imported, and PORT (an int) and ROOT set from
# the shell's.
web_py() {
    PORT=$PORT ROOT=${ROOT:-} PYTHONPATH=$(dirname "$RAWHTTP") timeout 30 python3 -c "import os
from rawhttp import *
PORT = int(os.environ['PORT'])
$1" "${@:2}"
}

# --- added for the dns*.bats files -----------------------------------

# free_udp_port [HOST]: a port free on HOST (default 127.0.0.1) for both
# UDP and TCP, as gale dns serves both on one port.
free_udp_port() {
    python3 - "${1:-127.0.0.1}" <<'PY'
import socket, sys
host = sys.argv[1]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
for _ in range(100):
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.bind((host, 0))
    port = t.getsockname()[1]
    u = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        u.bind((host, port))
    except OSError:
        continue
    finally:
        u.close()
        t.close()
    print(port)
    sys.exit(0)
sys.exit("no port free for both UDP and TCP")
PY
}

# wait_dns PORT [HOST]: until a DNS server there answers a query over UDP
# (any rcode), at most 10 s; fails at once if $GALE_PID has exited.
wait_dns() {
    local port=$1 host=${2:-127.0.0.1} end=$((SECONDS + 10))
    while [ "$SECONDS" -lt "$end" ]; do
        if dig @"$host" -p "$port" +time=1 +tries=1 +norec . SOA 2>/dev/null |
            grep -q 'status:'; then
            return 0
        fi
        if [ -n "${GALE_PID:-}" ] && ! kill -0 "$GALE_PID" 2>/dev/null; then
            echo "gale (pid $GALE_PID) exited before answering on $host:$port" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "no DNS answer from $host:$port after 10 s" >&2
    return 1
}

# start_dns ARGS...: gale dns -p $PORT -i 127.0.0.1 ARGS via start_gale
# (PORT is set here with free_udp_port); returns once it answers.
start_dns() {
    PORT=$(free_udp_port) || return 1
    start_gale dns -p "$PORT" -i 127.0.0.1 "$@"
    wait_dns "$PORT"
}

# dq ARGS...: dig at 127.0.0.1:$PORT, 2 s and one try per query.
dq() {
    dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 "$@"
}

#!/usr/bin/env bats
# gale pycached's admin page (/admin) in a real browser: headless
# Chromium driven through chromedriver (W3C WebDriver) by
# pycached_admin.py, which sets, reads and deletes through the page's
# forms and checks the store over the JSON protocol.  Skipped only when
# chromium or chromedriver is not installed.

bats_require_minimum_version 1.5.0

load helpers

setup() {
    common_setup
    if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
        skip "chromium and chromedriver are needed"
    fi
    JPORT=$(free_port)
    HPORT=$(free_port)
    while [ "$HPORT" = "$JPORT" ]; do HPORT=$(free_port); done
    start_gale pycached --port "tcp:$JPORT" --http "tcp:$HPORT"
    wait_port "$JPORT"
    wait_port "$HPORT"
}

teardown() {
    common_teardown
    # Built with GALE_SANITIZE, a report in the log fails the test.
    if grep -Eq 'Sanitizer|runtime error' "$BATS_TEST_TMPDIR/gale.log" 2>/dev/null; then
        grep -E -A20 'Sanitizer|runtime error' "$BATS_TEST_TMPDIR/gale.log" >&3
        return 1
    fi
    if [ -f "$BATS_TEST_TMPDIR/chromedriver.log" ] && [ -z "${BATS_TEST_COMPLETED:-}" ]; then
        echo "--- chromedriver.log ---" >&3
        tail -n 30 "$BATS_TEST_TMPDIR/chromedriver.log" >&3
    fi
}

@test "the admin page sets, gets and deletes through its forms, in Chromium" {
    # /usr/bin/python3 itself: the python3 on PATH may be a slow shim.
    run timeout 120 /usr/bin/python3 "$BATS_TEST_DIRNAME/pycached_admin.py" \
        "$HPORT" "$JPORT" "$BATS_TEST_TMPDIR"
    assert_success
    assert_output ok
    # What the page did is in the store, seen from HTTP too.
    run curl -sS --max-time 10 --data 'command=get&key=from-the-page' "http://127.0.0.1:$HPORT/"
    assert_output 'he said "hi" & <i>left</i>'
}

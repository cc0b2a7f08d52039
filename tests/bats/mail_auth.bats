#!/usr/bin/env bats
# gale mail's SMTP AUTH (RFC 4954) and submission (RFC 6409), end to end:
# swaks, python3's smtplib and openssl s_client log in over STARTTLS; AUTH
# is neither offered nor taken in clear unless --allow-plaintext-auth;
# PLAIN and LOGIN exchanges; a wrong password is answered 535 later and
# later; --submission and --disable-anonymous want AUTH before MAIL;
# --passwd-file with yescrypt and sha512-crypt hashes, its errors, and its
# reload on SIGHUP.

bats_require_minimum_version 1.5.0

load helpers

# "\0alice\0secret" and its parts, in base64.
PLAIN_ALICE=AGFsaWNlAHNlY3JldA==
B64_ALICE=YWxpY2U=
B64_SECRET=c2VjcmV0

setup_file() {
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$BATS_FILE_TMPDIR/key.pem" \
        -out "$BATS_FILE_TMPDIR/cert.pem" -days 2 -subj /CN=mx.example.test >/dev/null 2>&1
}

setup() {
    common_setup
    PORT=$(free_port)
    mkdir -p mail
}

teardown() {
    common_teardown
}

# start_mail ARGS: alice and bob (password "secret") of example.test, with
# a certificate for STARTTLS, on 127.0.0.1:$PORT.
start_mail() {
    start_gale mail -s "tcp:$PORT:interface=127.0.0.1" -H mx.example.test \
        -d example.test=mail -u alice=secret -u bob=secret \
        --tls-cert "$BATS_FILE_TMPDIR/cert.pem" --tls-key "$BATS_FILE_TMPDIR/key.pem" "$@"
    wait_port "$PORT"
}

# raw LINES [PORT]: sends the bytes at once (printf %b) in clear and
# prints every reply.
raw() {
    printf '%b' "$1" | timeout 20 socat -t 5 - "TCP:127.0.0.1:${2:-$PORT}" | tr -d '\r'
}

# tls LINES [PORT]: the same after STARTTLS, with openssl s_client.
tls() {
    printf '%b' "$1" | timeout 20 openssl s_client -starttls smtp -connect "127.0.0.1:${2:-$PORT}" \
        -crlf -quiet -ign_eof 2>/dev/null | tr -d '\r'
}

# smtp_py CODE: python3 with smtplib, s = smtplib.SMTP on our port.
smtp_py() {
    PORT=${2:-$PORT} timeout 60 python3 -c "
import os, smtplib, ssl, socket, time
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP('127.0.0.1', int(os.environ['PORT']), timeout=30)
$1"
}

new_count() {
    find "mail/$1/new" -type f 2>/dev/null | wc -l
}

yescrypt_hash() {
    if command -v mkpasswd >/dev/null; then
        mkpasswd -m yescrypt "$1"
    else
        # libxcrypt through perl's crypt(), with a fixed salt
        perl -e 'print crypt($ARGV[0], q($y$j9T$F5Jx5fExrKuJdmvBXYbgu/$))' "$1"
    fi
}

@test "no AUTH in clear: not offered, and refused with 538; offered after STARTTLS" {
    start_mail
    run raw "EHLO c\r\nAUTH PLAIN $PLAIN_ALICE\r\nAUTH LOGIN\r\nQUIT\r\n"
    refute_line --partial 'AUTH'
    assert_line '250-STARTTLS'
    assert_line --index 8 '538 5.7.11 Encryption required for requested authentication mechanism'
    assert_line --index 9 '538 5.7.11 Encryption required for requested authentication mechanism'
    run tls "EHLO c\nAUTH PLAIN $PLAIN_ALICE\nQUIT\n"
    assert_line '250-AUTH PLAIN LOGIN'
    refute_line '250-STARTTLS'
    assert_line '235 2.7.0 Authentication successful'
    assert_line '221 2.0.0 Bye'
}

@test "swaks logs in with PLAIN and LOGIN over STARTTLS; Received says ESMTPSA; no password in the log" {
    start_mail
    run swaks --server 127.0.0.1 --port "$PORT" --tls --auth PLAIN --auth-user alice \
        --auth-password secret --to bob@example.test --from alice@example.test -n
    assert_success
    assert_output --partial '<~  235 2.7.0 Authentication successful'
    assert_output --partial '<~  250 2.0.0 Ok: queued'
    run swaks --server 127.0.0.1 --port "$PORT" --tls --auth LOGIN --auth-user bob@example.test \
        --auth-password secret --to alice@example.test --from bob@example.test -n
    assert_success
    assert_output --partial '<~  334 VXNlcm5hbWU6'
    assert_output --partial '<~  334 UGFzc3dvcmQ6'
    assert_output --partial '<~  235 2.7.0 Authentication successful'
    assert_equal "$(new_count alice)" 1
    assert_equal "$(new_count bob)" 1
    grep -q 'with ESMTPSA' mail/bob/new/*
    grep -q 'event=auth mech=PLAIN user="alice@example.test"' gale.log
    grep -q 'event=auth mech=LOGIN user="bob@example.test"' gale.log
    run grep -c secret gale.log
    assert_output 0
}

@test "smtplib: login after starttls, then sendmail" {
    start_mail
    run smtp_py '
s.starttls(context=ctx)
print(s.login("alice", "secret")[0])
print(s.sendmail("alice@example.test", ["bob@example.test"], b"Subject: py\r\n\r\nhi\r\n"))
s.user, s.password = "bob", "secret"
s.rset()
print("again", s.auth("LOGIN", s.auth_login)[0])
s.quit()
'
    assert_success
    assert_line 235
    assert_line '{}'
    assert_line 'again 503'
    assert_equal "$(new_count bob)" 1
}

@test "--allow-plaintext-auth: PLAIN without initial response, LOGIN, '*' cancels; ESMTPA; 503 and 504" {
    start_mail --allow-plaintext-auth
    run raw "EHLO c\r\nAUTH PLAIN\r\n*\r\nAUTH LOGIN\r\n$B64_ALICE\r\n*\r\nAUTH CRAM-MD5\r\nAUTH PLAIN not-base64\r\nAUTH PLAIN\r\n$PLAIN_ALICE\r\nAUTH LOGIN\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: p\r\n\r\nx\r\n.\r\nQUIT\r\n"
    assert_line '250-AUTH PLAIN LOGIN'
    assert_line --index 9 '334 '
    assert_line --index 10 '501 5.0.0 Authentication cancelled'
    assert_line --index 11 '334 VXNlcm5hbWU6'
    assert_line --index 12 '334 UGFzc3dvcmQ6'
    assert_line --index 13 '501 5.0.0 Authentication cancelled'
    assert_line --index 14 '504 5.5.4 Unrecognized authentication type'
    assert_line --index 15 '501 5.5.2 Cannot decode response'
    assert_line --index 16 '334 '
    assert_line --index 17 '235 2.7.0 Authentication successful'
    assert_line --index 18 '503 5.5.1 Already authenticated'
    assert_line '250 2.0.0 Ok: queued'
    assert_equal "$(new_count bob)" 1
    grep -q 'with ESMTPA ' mail/bob/new/*
    # LOGIN with the user name as initial response; AUTH inside a transaction
    run raw "EHLO c\r\nMAIL FROM:<a@b.test>\r\nAUTH PLAIN $PLAIN_ALICE\r\nRSET\r\nAUTH LOGIN $B64_ALICE\r\n$B64_SECRET\r\nQUIT\r\n"
    assert_line --index 10 '503 5.5.1 AUTH not allowed in a mail transaction'
    assert_line --index 12 '334 UGFzc3dvcmQ6'
    assert_line --index 13 '235 2.7.0 Authentication successful'
}

@test "a wrong password or an unknown user: 535 after 1 s, then after 2 s from the same address" {
    start_mail --allow-plaintext-auth
    run smtp_py '
s.ehlo()
for user, pw in (("alice", "wrong"), ("nobody", "secret")):
    s.user, s.password = user, pw
    t = time.monotonic()
    try:
        s.auth("PLAIN", s.auth_plain)
    except smtplib.SMTPAuthenticationError as e:
        print(e.smtp_code, e.smtp_error.decode(), round(time.monotonic() - t, 1))
s.user, s.password = "alice", "secret"
t = time.monotonic()
print(s.auth("PLAIN", s.auth_plain)[0], time.monotonic() - t < 0.9)
'
    assert_success
    assert_line --index 0 --regexp '^535 5\.7\.8 Authentication credentials invalid (1\.[0-4])$'
    assert_line --index 1 --regexp '^535 5\.7\.8 Authentication credentials invalid (2\.[0-4])$'
    assert_line --index 2 '235 True'
    grep -q 'event=auth-failed mech=PLAIN user="alice"' gale.log
    grep -q 'event=auth-failed mech=PLAIN user="nobody"' gale.log
}

@test "a client that leaves while its password is checked: the server serves on" {
    start_mail --allow-plaintext-auth
    PORT=$PORT timeout 20 python3 -c '
import os, socket
for i in range(5):
    c = socket.create_connection(("127.0.0.1", int(os.environ["PORT"])))
    c.sendall(b"EHLO c\r\nAUTH PLAIN AGFsaWNlAHdyb25n\r\n")
    c.recv(4096)
    c.close()
'
    sleep 1.5
    kill -0 "$GALE_PID"
    run raw "EHLO c\r\nAUTH PLAIN $PLAIN_ALICE\r\nQUIT\r\n"
    assert_line '235 2.7.0 Authentication successful'
}

@test "--submission: AUTH before MAIL (530), after STARTTLS; logged in, local recipients only" {
    local sub
    sub=$(free_port)
    start_mail --submission "tcp:$sub:interface=127.0.0.1"
    wait_port "$sub"
    run raw "EHLO c\r\nMAIL FROM:<alice@example.test>\r\nAUTH PLAIN $PLAIN_ALICE\r\nQUIT\r\n" "$sub"
    assert_line --index 8 '530 5.7.0 Authentication required'
    assert_line --index 9 --partial '538 5.7.11'
    run tls "EHLO c\nAUTH PLAIN $PLAIN_ALICE\nMAIL FROM:<alice@example.test>\nRCPT TO:<victim@other.test>\nRCPT TO:<bob@example.test>\nQUIT\n" "$sub"
    assert_line '235 2.7.0 Authentication successful'
    assert_line '250 2.1.0 Ok'
    assert_line '550 5.7.1 Relaying denied'
    assert_line '250 2.1.5 Ok'
    run swaks --server 127.0.0.1 --port "$sub" --tls --auth PLAIN --auth-user alice \
        --auth-password secret --to bob@example.test --from alice@example.test -n
    assert_success
    assert_output --partial '<~  250 2.0.0 Ok: queued'
    # the SMTP listener still takes mail without AUTH
    run swaks --server 127.0.0.1 --port "$PORT" --to bob@example.test --from a@b.test -n
    assert_success
    assert_equal "$(new_count bob)" 2
}

@test "--disable-anonymous: every listener wants AUTH before MAIL" {
    start_mail --disable-anonymous
    run raw "EHLO c\r\nMAIL FROM:<a@b.test>\r\nQUIT\r\n"
    assert_line --index 8 '530 5.7.0 Authentication required'
    run swaks --server 127.0.0.1 --port "$PORT" --tls --auth LOGIN --auth-user alice \
        --auth-password secret --to bob@example.test --from alice@example.test -n
    assert_success
    assert_output --partial '<~  250 2.0.0 Ok: queued'
}

@test "--submission or --disable-anonymous without TLS or --allow-plaintext-auth is refused at start" {
    run -2 "$GALE" mail -d example.test=mail --submission "tcp:$PORT:interface=127.0.0.1"
    assert_output --partial 'needs --tls-cert and --tls-key'
    run -2 "$GALE" mail -d example.test=mail --disable-anonymous
    assert_output --partial '--disable-anonymous'
}

@test "the -u passwords are wiped from the command line" {
    start_mail
    run cat "/proc/$GALE_PID/cmdline"
    refute_output --partial secret
    assert_output --partial 'alice='
}

@test "--passwd-file: yescrypt and sha512-crypt users log in, and receive mail before their Maildir exists" {
    {
        echo "# users"
        echo "carol:$(yescrypt_hash carol-pw)"
        echo "dave@example.test:{SHA512-CRYPT}$(openssl passwd -6 dave-pw):1000:1000::/home/dave"
    } >passwd
    start_mail --passwd-file passwd
    [ ! -e mail/carol ]
    run swaks --server 127.0.0.1 --port "$PORT" --tls --auth PLAIN --auth-user carol \
        --auth-password carol-pw --to carol@example.test --from carol@example.test -n
    assert_success
    assert_output --partial '<~  235 2.7.0 Authentication successful'
    assert_output --partial '<~  250 2.0.0 Ok: queued'
    assert_equal "$(new_count carol)" 1
    run swaks --server 127.0.0.1 --port "$PORT" --tls --auth LOGIN --auth-user dave@example.test \
        --auth-password dave-pw --to alice@example.test --from dave@example.test -n
    assert_success
    assert_output --partial '<~  235 2.7.0 Authentication successful'
    run swaks --server 127.0.0.1 --port "$PORT" --tls --auth PLAIN --auth-user dave \
        --auth-password carol-pw --to alice@example.test --from dave@example.test -n
    assert_failure
    assert_output --partial '535 5.7.8'
}

@test "--passwd-file: a malformed line stops the start, naming FILE:LINE" {
    printf '# users\ncarol:%s\nerin:secret\n' "$(openssl passwd -6 x)" >passwd
    run -1 "$GALE" mail -s "tcp:$PORT:interface=127.0.0.1" -d example.test=mail --passwd-file passwd
    assert_output --partial 'passwd:3: not a crypt(3) hash'
    printf 'carol@other.test:%s\n' "$(openssl passwd -6 x)" >passwd
    run -1 "$GALE" mail -s "tcp:$PORT:interface=127.0.0.1" -d example.test=mail --passwd-file passwd
    assert_output --partial 'passwd:1: its domain is not served'
}

@test "--passwd-file is read again on SIGHUP; a bad file leaves the users read before" {
    echo "carol:$(openssl passwd -6 carol-pw)" >passwd
    start_mail --passwd-file passwd --allow-plaintext-auth
    local carol erin
    carol=$(printf '\0carol\0carol-pw' | base64)
    erin=$(printf '\0erin\0erin-pw' | base64)
    run raw "EHLO c\r\nAUTH PLAIN $carol\r\nQUIT\r\n"
    assert_line '235 2.7.0 Authentication successful'
    echo "erin:$(yescrypt_hash erin-pw)" >passwd
    kill -HUP "$GALE_PID"
    wait_grep 'event=users-reloaded' gale.log
    run raw "EHLO c\r\nAUTH PLAIN $erin\r\nQUIT\r\n"
    assert_line '235 2.7.0 Authentication successful'
    echo "carol:plain-text" >passwd
    kill -HUP "$GALE_PID"
    wait_grep 'event=reload-failed' gale.log
    grep -q 'passwd:1: not a crypt(3) hash' gale.log
    run raw "EHLO c\r\nAUTH PLAIN $erin\r\nQUIT\r\n"
    assert_line '235 2.7.0 Authentication successful'
}

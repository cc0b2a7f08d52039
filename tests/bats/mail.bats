#!/usr/bin/env bats
# gale mail's SMTP side, end to end: swaks and python3's smtplib deliver
# into Maildir; PIPELINING, SIZE, 8BITMIME, STARTTLS; recipients of other
# domains are refused in every form an open-relay probe tries; bare LF in
# DATA is refused; a 250 means the message is in new/.

bats_require_minimum_version 1.5.0

load helpers

setup() {
    common_setup
    PORT=$(free_port)
    mkdir -p mail
}

teardown() {
    common_teardown
}

start_mail() {
    start_gale mail -s "tcp:$PORT:interface=127.0.0.1" --no-pop3 -H mx.example.test \
        -d example.test=mail -u alice=secret -u bob=secret "$@"
    wait_port "$PORT"
}

# smtp_py CODE: python3 with smtplib, s = smtplib.SMTP on our port (30 s).
smtp_py() {
    PORT=$PORT timeout 30 python3 -c "
import os, smtplib, ssl, socket
s = smtplib.SMTP('127.0.0.1', int(os.environ['PORT']), timeout=10)
$1"
}

# raw LINES: sends the bytes at once (printf %b) and prints every reply.
raw() {
    printf '%b' "$1" | timeout 10 socat -t 3 - "TCP:127.0.0.1:$PORT" | tr -d '\r'
}

new_count() {
    find "mail/$1/new" -type f | wc -l
}

@test "swaks delivers into the user's Maildir; the 250 comes with the file in new/" {
    start_mail
    run swaks --server 127.0.0.1 --port "$PORT" --to alice@example.test \
        --from sender@elsewhere.test --header "Subject: hello" --body "body text" -n
    assert_success
    assert_output --partial '<-  250 2.0.0 Ok: queued'
    assert_equal "$(new_count alice)" 1
    assert_equal "$(find mail/alice/tmp -type f | wc -l)" 0
    local f
    f=$(find mail/alice/new -type f)
    [[ ${f##*/} =~ ^[0-9]+\.M[0-9]+P[0-9]+Q[0-9]+\.mx\.example\.test,S=[0-9]+$ ]]
    grep -q '^Return-Path: <sender@elsewhere.test>' "$f"
    grep -q '^Received: from ' "$f"
    grep -q 'by mx.example.test (gale) with ESMTP' "$f"
    grep -q '^Subject: hello' "$f"
    grep -q 'body text' "$f"
    # S= is the file's size
    assert_equal "${f##*,S=}" "$(stat -c %s "$f")"
    assert_equal "$(stat -c %a mail/alice)" 700
}

@test "EHLO offers PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES; no STARTTLS without a certificate" {
    start_mail --max-message-size 1m
    run raw 'EHLO client.test\r\nQUIT\r\n'
    assert_line --index 0 --regexp '^220 mx.example.test ESMTP'
    assert_line '250-mx.example.test'
    assert_line '250-PIPELINING'
    assert_line '250-SIZE 1048576'
    assert_line '250-8BITMIME'
    assert_line '250-ENHANCEDSTATUSCODES'
    refute_line --partial 'STARTTLS'
    assert_line '221 2.0.0 Bye'
}

@test "PIPELINING: a whole transaction sent at once is answered in order" {
    start_mail
    run raw 'EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<nobody@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: p\r\n\r\nline\r\n..dot\r\n.\r\nRSET\r\nQUIT\r\n'
    assert_line --index 7 '250 2.1.0 Ok'
    assert_line --index 8 '250 2.1.5 Ok'
    assert_line --index 9 '550 5.1.1 No such user here'
    assert_line --index 10 '250 2.1.5 Ok'
    assert_line --index 11 --partial '354 '
    assert_line --index 12 '250 2.0.0 Ok: queued'
    assert_line --index 13 '250 2.0.0 Ok'
    assert_line --index 14 '221 2.0.0 Bye'
    assert_equal "$(new_count alice)" 1
    assert_equal "$(new_count bob)" 1
    # dot-unstuffed, CRLF kept
    grep -q $'^\\.dot\r$' mail/alice/new/*
}

@test "smtplib: SIZE refusal, 8BITMIME body, postmaster, many recipients" {
    start_mail --max-message-size 2k
    run smtp_py '
s.ehlo()
assert s.has_extn("size")
code, _ = s.mail("a@b.test", ["SIZE=4000"])
print("big", code)
s.rset()
body = ("Subject: x\r\n\r\n" + "\u00e9t\u00e9\r\n").encode()
print(s.sendmail("a@b.test", ["alice@example.test", "Postmaster"], body, mail_options=["BODY=8BITMIME"]))
try:
    s.sendmail("a@b.test", ["alice@example.test"], b"x" * 5000)
except smtplib.SMTPDataError as e:
    print("data", e.smtp_code)
except smtplib.SMTPSenderRefused as e:
    print("sender", e.smtp_code)
s.quit()
'
    assert_success
    assert_line 'big 552'
    assert_line '{}'
    assert_line --regexp '^(data|sender) 552$'
    assert_equal "$(new_count alice)" 1
    assert_equal "$(new_count postmaster)" 1
    grep -q "été" mail/alice/new/*
}

@test "never an open relay: other domains, % hack, source routes, quoted local parts, bare postmaster@other" {
    start_mail
    run raw 'EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<victim@other.test>\r\nRCPT TO:<victim%other.test@example.test>\r\nRCPT TO:<@example.test:victim@other.test>\r\nRCPT TO:<"victim@other.test"@example.test>\r\nRCPT TO:<victim@other.test@example.test>\r\nRCPT TO:<postmaster@other.test>\r\nRCPT TO:<victim@[127.0.0.1]>\r\nDATA\r\nQUIT\r\n'
    assert_line --index 8 '550 5.7.1 Relaying denied'
    assert_line --index 9 '550 5.1.1 No such user here'
    assert_line --index 10 '550 5.7.1 Relaying denied'
    assert_line --index 11 '550 5.1.1 No such user here'
    assert_line --index 12 --regexp '^5[0-9][0-9] '
    assert_line --index 13 '550 5.7.1 Relaying denied'
    assert_line --index 14 '550 5.7.1 Relaying denied'
    assert_line --index 15 --regexp '^554 5.5.1 '
    run find mail -path '*/new/*' -type f
    assert_output ''
}

@test "bare LF or CR in DATA is refused, the connection closes, nothing is delivered" {
    start_mail
    run raw 'EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: x\r\n\r\nhidden\n.\nMAIL FROM:<x@y>\r\n.\r\n'
    assert_line --regexp '^554 5.6.0 '
    refute_line --partial 'Ok: queued'
    assert_equal "$(new_count alice)" 0
}

@test "commands out of order, unknown ones, over-long lines get their RFC replies" {
    start_mail
    long=$(head -c 600 /dev/zero | tr '\0' a)
    run raw "MAIL FROM:<a@b.test>\r\nHELO c\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nFROB\r\nNOOP $long\r\nVRFY alice\r\nQUIT\r\n"
    assert_line --index 1 '503 Say HELO or EHLO first'
    assert_line --index 2 '250 mx.example.test'
    assert_line --index 3 '503 Need MAIL before RCPT'
    assert_line --index 4 --regexp '^503 '
    assert_line --index 5 '500 Command unrecognized'
    assert_line --index 6 '500 Line too long'
    assert_line --index 7 --regexp '^252 '
    assert_line --index 8 '221 Bye'
}

@test "STARTTLS: offered with a certificate; state is reset; pipelined bytes after it are not executed" {
    openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 \
        -subj /CN=mx.example.test >/dev/null 2>&1
    start_mail --tls-cert cert.pem --tls-key key.pem
    run raw 'EHLO c\r\nQUIT\r\n'
    assert_line '250-STARTTLS'
    run swaks --server 127.0.0.1 --port "$PORT" --tls --to bob@example.test --from a@b.test -n
    assert_success
    assert_output --partial '<-  220 2.0.0 Ready to start TLS'
    assert_output --partial '<~  250 2.0.0 Ok: queued'
    assert_equal "$(new_count bob)" 1
    grep -q 'with ESMTPS' mail/bob/new/*
    # CVE-2011-0411: a command sent in the same packet as STARTTLS is thrown away
    run raw 'EHLO c\r\nSTARTTLS\r\nRSET\r\n'
    assert_line --partial '220 2.0.0 Ready to start TLS'
    refute_line '250 2.0.0 Ok'
}

@test "a message the client aborts is not delivered, and the server serves on" {
    start_mail
    exec 5<>"/dev/tcp/127.0.0.1/$PORT"
    read -r -t 5 greeting <&5
    [[ $greeting == 220* ]]
    printf 'EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: cut\r\n\r\nhalf' >&5
    sleep 0.5
    exec 5<&-
    sleep 0.3
    assert_equal "$(new_count alice)" 0
    kill -0 "$GALE_PID"
}

@test "kill -9 while a client sends: every acknowledged message is whole in new/, none partial" {
    start_mail
    PORT=$PORT timeout 60 python3 -c '
import os, smtplib, sys
acked = 0
body = ("Subject: crash\r\n\r\n" + "0123456789abcdef" * 640).encode()
try:
    s = smtplib.SMTP("127.0.0.1", int(os.environ["PORT"]), timeout=10)
    while True:
        s.sendmail("a@b.test", ["alice@example.test", "bob@example.test"], body)
        acked += 1
        with open("acked", "w") as f:
            f.write(str(acked))
except Exception:
    pass
' &
    local client=$!
    track_pid "$client"
    sleep 1.5
    kill -9 "$GALE_PID"
    wait "$client" || true
    local acked f
    acked=$(cat acked)
    [ "$acked" -gt 0 ]
    [ "$(new_count alice)" -ge "$acked" ]
    [ "$(new_count bob)" -ge "$acked" ]
    for f in mail/alice/new/* mail/bob/new/*; do
        assert_equal "$(stat -c %s "$f")" "${f##*,S=}"
        grep -q 'Subject: crash' "$f"
    done
}

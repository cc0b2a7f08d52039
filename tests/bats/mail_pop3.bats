#!/usr/bin/env bats
# gale mail's POP3 side, end to end: python3's poplib (POP3, POP3_SSL,
# stls()), openssl s_client with -starttls pop3 and on an ssl: endpoint,
# and fetchmail when it is installed, reading what gale's SMTP delivered
# or what was put into the Maildir by hand.  UIDLs stay across sessions,
# DELE takes effect at QUIT only, RETR marks the message seen in cur/,
# one session per maildrop, no password in clear without TLS unless
# allowed, and a 1 MiB message arrives byte for byte.

bats_require_minimum_version 1.5.0

load helpers

setup() {
    common_setup
    PORT=$(free_port)
    SMTP_PORT=$(free_port)
    mkdir -p mail
}

teardown() {
    common_teardown
}

start_pop() {
    start_gale mail -s "tcp:$SMTP_PORT:interface=127.0.0.1" -p "tcp:$PORT:interface=127.0.0.1" \
        -H mx.example.test -d example.test=mail -u alice=secret -u bob=secret2 "$@"
    wait_port "$PORT"
}

make_cert() {
    openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 \
        -subj /CN=mx.example.test >/dev/null 2>&1
}

# pop_py CODE: python3 with poplib; p = poplib.POP3 on our port, ctx an
# SSL context that takes the test's own certificate (30 s in all).
pop_py() {
    PORT=$PORT SMTP_PORT=$SMTP_PORT timeout 30 python3 -c "
import os, poplib, smtplib, ssl, socket, sys
PORT = int(os.environ['PORT'])
ctx = ssl._create_unverified_context()
def login(user='alice', pw='secret'):
    q = poplib.POP3('127.0.0.1', PORT, timeout=10)
    q.user(user)
    q.pass_(pw)
    return q
def hang_up(q):
    q.file.close()
    q.sock.close()
def login_again(user='alice', pw='secret'):
    import time
    for _ in range(50):
        try:
            return login(user, pw)
        except poplib.error_proto as e:
            if b'[IN-USE]' not in e.args[0]:
                raise
            time.sleep(0.1)
    raise SystemExit('still in use')
$1"
}

# raw LINES: sends the bytes at once (printf %b) and prints every reply.
raw() {
    printf '%b' "$1" | timeout 10 socat -t 3 - "TCP:127.0.0.1:$PORT" | tr -d '\r'
}

# deliver USER SUBJECT: a message through gale's own SMTP.
deliver() {
    swaks --server 127.0.0.1 --port "$SMTP_PORT" --to "$1@example.test" --from a@b.test \
        --header "Subject: $2" --body "body of $2" -n >/dev/null
}

# drop USER NAME TEXT: a message put into new/ by hand (printf %b).
drop() {
    printf '%b' "$3" >"mail/$1/new/$2"
}

@test "poplib: STAT, LIST, UIDL, RETR and TOP of what SMTP delivered; RETR moves it to cur/ with :2,S" {
    start_pop --allow-plaintext-auth
    deliver alice one
    deliver alice two
    run pop_py '
p = login()
print("stat", p.stat())
resp, lines, _ = p.list()
print("list", [l.decode() for l in lines])
resp, lines, _ = p.uidl()
print("uidl", len(lines))
resp, lines, octets = p.retr(1)
body = b"\r\n".join(lines) + b"\r\n"
path = [f for f in os.listdir("mail/alice/cur")][0]
print("retr-exact", body == open("mail/alice/cur/" + path, "rb").read(), octets)
resp, lines, _ = p.top(2, 0)
print("top", lines[-1] == b"", any(l.startswith(b"body of") for l in lines))
print(p.quit().decode())
'
    assert_success
    assert_line --regexp '^stat \(2, [0-9]+\)$'
    assert_line --regexp "^list \\['1 [0-9]+', '2 [0-9]+'\\]$"
    assert_line 'uidl 2'
    assert_line --regexp '^retr-exact True '
    assert_line 'top True False'
    assert_line --partial '+OK Logging out'
    # both were read (TOP opens the message as RETR does): both are seen, in cur/
    assert_equal "$(find mail/alice/cur -name '*:2,S' | wc -l)" 2
    assert_equal "$(find mail/alice/new -type f | wc -l)" 0
}

@test "UIDL is stable across sessions; DELE and QUIT remove, DELE and a dropped connection do not" {
    start_pop --allow-plaintext-auth
    drop alice 1000.M1P1Q1.h,S=20 'Subject: a\r\n\r\nbody\r\n'
    drop alice 1001.M1P1Q2.h,S=20 'Subject: b\r\n\r\nbody\r\n'
    drop alice 1002.M1P1Q3.h,S=20 'Subject: c\r\n\r\nbody\r\n'
    run pop_py '
p = login()
a = p.uidl()[1]
p.retr(2)
p.dele(1)
print("stat-after-dele", p.stat())
hang_up(p)              # dropped: nothing deleted
p = login_again()
b = p.uidl()[1]
print("same-uidl", a == b, [l.decode() for l in b])
p.dele(1)
p.rset()
p.dele(3)
print(p.quit().decode())
p = login()
print("left", p.stat()[0], [l.decode() for l in p.uidl()[1]])
p.quit()
'
    assert_success
    assert_line 'stat-after-dele (2, 40)'
    assert_line "same-uidl True ['1 1000.M1P1Q1.h,S=20', '2 1001.M1P1Q2.h,S=20', '3 1002.M1P1Q3.h,S=20']"
    assert_line --partial '+OK Logging out'
    assert_line "left 2 ['1 1000.M1P1Q1.h,S=20', '2 1001.M1P1Q2.h,S=20']"
    assert_file_exists 'mail/alice/cur/1001.M1P1Q2.h,S=20:2,S'
    assert_file_not_exists 'mail/alice/new/1002.M1P1Q3.h,S=20'
}

@test "one session per maildrop: the second gets [IN-USE] until the first quits" {
    start_pop --allow-plaintext-auth
    run pop_py '
p = login()
try:
    login()
except poplib.error_proto as e:
    print("second", e)
q = login("bob", "secret2")            # another maildrop is free
q.quit()
p.quit()
r = login()
print("after-quit", r.stat())
hang_up(r)
print("after-drop", login_again().stat())
'
    assert_success
    assert_line --regexp "^second b'-ERR \\[IN-USE\\] "
    assert_line 'after-quit (0, 0)'
    assert_line 'after-drop (0, 0)'
}

@test "no password in clear without TLS: USER and AUTH PLAIN refused, CAPA hides them; wrong password is [AUTH]" {
    start_pop
    run raw 'CAPA\r\nUSER alice\r\nPASS secret\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nQUIT\r\n'
    assert_line --index 0 '+OK gale POP3 ready'
    refute_line 'USER'
    refute_line --partial 'SASL'
    refute_line 'STLS'
    assert_line 'IMPLEMENTATION gale'
    assert_line --index 10 '-ERR [AUTH] Plaintext authentication disallowed on non-secure connections'
    assert_line --index 11 '-ERR [AUTH] Plaintext authentication disallowed on non-secure connections'
    assert_line --index 12 '-ERR [AUTH] Plaintext authentication disallowed on non-secure connections'
    assert_line --index 13 '+OK Logging out'
    stop_all
    start_pop --allow-plaintext-auth
    run raw 'CAPA\r\nUSER alice\r\nPASS wrong\r\nPASS secret\r\nUSER alice\r\nPASS secret\r\nQUIT\r\n'
    assert_line 'USER'
    assert_line 'SASL PLAIN'
    assert_line '-ERR [AUTH] Authentication failed'
    assert_line '-ERR No username given'
    assert_line --regexp '^\+OK Logged in: 0 messages'
}

@test "AUTH PLAIN: with an initial response, after '+ ', cancelled, malformed, another's authzid" {
    start_pop --allow-plaintext-auth
    plain=$(printf '\0alice\0secret' | base64)
    other=$(printf 'bob\0alice\0secret' | base64)
    run raw "AUTH\r\nAUTH LOGIN\r\nAUTH PLAIN\r\n*\r\nAUTH PLAIN !!!\r\nAUTH PLAIN $other\r\nAUTH PLAIN\r\n$plain\r\nSTAT\r\nQUIT\r\n"
    assert_line --index 1 '+OK'
    assert_line --index 2 'PLAIN'
    assert_line --index 3 '.'
    assert_line --index 4 '-ERR Unsupported authentication mechanism'
    assert_line --index 5 '+ '
    assert_line --index 6 '-ERR Authentication cancelled'
    assert_line --index 7 '-ERR Invalid AUTH PLAIN response'
    assert_line --index 8 '-ERR [AUTH] Authentication failed'
    assert_line --index 9 '+ '
    assert_line --index 10 --regexp '^\+OK Logged in'
    assert_line --index 11 '+OK 0 0'
    run pop_py "
p = poplib.POP3('127.0.0.1', PORT, timeout=10)
print(p._shortcmd('AUTH PLAIN $plain').decode())
print(p.stat())
"
    assert_success
    assert_line --regexp '^\+OK Logged in'
    assert_line '(0, 0)'
}

@test "STLS: poplib stls() then login; openssl s_client -starttls pop3; pipelined bytes after STLS are dropped" {
    make_cert
    start_pop --tls-cert cert.pem --tls-key key.pem
    drop alice 1000.M1P1Q1.h,S=20 'Subject: a\r\n\r\nbody\r\n'
    run raw 'CAPA\r\nQUIT\r\n'
    assert_line 'STLS'
    refute_line 'USER'
    run pop_py '
p = poplib.POP3("127.0.0.1", PORT, timeout=10)
print("caps-before", "USER" in p.capa(), "STLS" in p.capa())
print(p.stls(context=ctx).decode())
caps = p.capa()
print("caps-after", "USER" in caps, "STLS" in caps, caps.get("SASL"))
p.user("alice")
p.pass_("secret")
print("stat", p.stat())
try:
    p._shortcmd("STLS")
except poplib.error_proto as e:
    print("again", e)
p.quit()
'
    assert_success
    assert_line 'caps-before False True'
    assert_line --partial '+OK Begin TLS negotiation'
    assert_line "caps-after True False ['PLAIN']"
    assert_line 'stat (1, 20)'
    assert_line --regexp "^again b'-ERR "
    run bash -c "printf 'USER alice\r\nPASS secret\r\nSTAT\r\nQUIT\r\n' | timeout 10 openssl s_client -quiet -starttls pop3 -connect 127.0.0.1:$PORT 2>/dev/null | tr -d '\r'"
    assert_line '+OK 1 20'
    assert_line '+OK Logging out'
    # a command sent in the same packet as STLS is not run
    run raw 'STLS\r\nCAPA\r\n'
    assert_line --partial '+OK Begin TLS'
    refute_line 'IMPLEMENTATION gale'
}

@test "an ssl: endpoint speaks POP3 over TLS at once: POP3_SSL and openssl s_client" {
    make_cert
    SSL_PORT=$(free_port)
    start_pop -p "ssl:$SSL_PORT:privateKey=key.pem:certKey=cert.pem:interface=127.0.0.1"
    wait_port "$SSL_PORT"
    drop bob 1000.M1P1Q1.h,S=20 'Subject: a\r\n\r\nbody\r\n'
    run pop_py "
p = poplib.POP3_SSL('127.0.0.1', $SSL_PORT, context=ctx, timeout=10)
caps = p.capa()
print('caps', 'USER' in caps, 'STLS' in caps)
p.user('bob')
p.pass_('secret2')
print('list', p.list()[1])
p.quit()
"
    assert_success
    assert_line 'caps True False'
    assert_line "list [b'1 20']"
    run bash -c "printf 'USER bob\r\nPASS secret2\r\nRETR 1\r\nQUIT\r\n' | timeout 10 openssl s_client -quiet -connect 127.0.0.1:$SSL_PORT 2>/dev/null | tr -d '\r'"
    assert_line '+OK gale POP3 ready'
    assert_line '+OK 20 octets'
    assert_line 'Subject: a'
    assert_line 'body'
}

@test "a 1 MiB message with dot lines and long lines arrives byte for byte" {
    start_pop --allow-plaintext-auth
    run pop_py '
import random
random.seed(7)
parts = [b"Subject: big\r\n\r\n"]
size = len(parts[0])
while size < 1 << 20:
    kind = random.randrange(4)
    if kind == 0:
        line = b"." * random.randrange(1, 4) + b"dot line"
    elif kind == 1:
        line = b""
    else:
        line = bytes(random.randrange(33, 127) for _ in range(random.randrange(1, 900)))
    parts.append(line + b"\r\n")
    size += len(line) + 2
msg = b"".join(parts)
name = "1000.M1P1Q1.h,S=%d" % len(msg)
with open("mail/alice/new/" + name, "wb") as f:
    f.write(msg)
p = login()
print("list", p.list(1).decode() == "+OK 1 %d" % len(msg))
resp, lines, octets = p.retr(1)
got = b"\r\n".join(lines) + b"\r\n"
print("exact", got == msg, len(got))
resp, lines, octets = p.top(1, 3)
print("top", len(lines))
p.quit()
'
    assert_success
    assert_line 'list True'
    assert_line --regexp '^exact True [0-9]+$'
    assert_line 'top 5'
}

@test "bad input: unknown and out-of-state commands, over-long lines, control bytes; each an -ERR" {
    start_pop --allow-plaintext-auth
    long=$(head -c 300 /dev/zero | tr '\0' a)
    run raw "STAT\r\nFOO\r\nNOOP $long\r\nUSER\r\nPASS x\r\nUSER alice\r\nPASS secret\r\nRETR 0\r\nRETR 99\r\nRETR x\r\nDELE 1\r\nTOP 1\r\nLIST 4294967296\r\nUSER bob\r\nSTLS\r\nAPOP a 0123456789abcdef0123456789abcdef\r\nNOOP\r\nQUIT\r\n"
    assert_line --index 1 '-ERR Log in first'
    assert_line --index 2 '-ERR Unknown command'
    assert_line --index 3 '-ERR Line too long'
    assert_line --index 4 --regexp '^-ERR '
    assert_line --index 5 '-ERR No username given'
    assert_line --index 6 '+OK'
    assert_line --index 7 --regexp '^\+OK Logged in'
    assert_line --index 8 '-ERR Invalid message number'
    assert_line --index 9 '-ERR No such message'
    assert_line --index 10 '-ERR Invalid message number'
    assert_line --index 11 '-ERR No such message'
    assert_line --index 12 --regexp '^-ERR '
    assert_line --index 13 '-ERR Invalid message number'
    # the tenth bad command ends the session (no such message is no bad command)
    assert_line --index 14 '-ERR Too many bad commands, closing'
    refute_line '+OK Logging out'
    run raw 'USER alice\r\nPASS secret\r\nUSER bob\r\nSTLS\r\nQUIT\r\n'
    assert_line --index 3 '-ERR Already logged in'
    assert_line --index 4 '-ERR Already logged in'
    run raw "$(printf 'NOOP\\x01\\r\\n')QUIT\r\n"
    assert_line --index 1 '-ERR Control character in command'
    assert_line --index 2 '+OK Logging out'
    # a line longer than any buffer, with no end: dropped as it comes
    run bash -c "{ head -c 200000 /dev/zero | tr '\0' a; printf '\r\nNOOP\r\nQUIT\r\n'; } | timeout 10 socat -t 3 - TCP:127.0.0.1:$PORT | tr -d '\r'"
    assert_line --index 1 '-ERR Line too long'
    assert_line --index 2 '-ERR Log in first'
    assert_line --index 3 '+OK Logging out'
    kill -0 "$GALE_PID"
}

@test "PIPELINING: a whole session sent at once is answered in order; EOF without QUIT deletes nothing" {
    start_pop --allow-plaintext-auth
    drop alice 1000.M1P1Q1.h,S=20 'Subject: a\r\n\r\nbody\r\n'
    drop alice 1001.M1P1Q2.h,S=14 'Subject: b\n\n.\n'
    run raw 'USER alice\r\nPASS secret\r\nSTAT\r\nLIST\r\nRETR 2\r\nDELE 1\r\nDELE 2\r\nSTAT\r\nLIST 1\r\nUIDL 2\r\n'
    assert_line --index 1 '+OK'
    assert_line --index 2 --regexp '^\+OK Logged in: 2 messages \(34 octets\)'
    assert_line --index 3 '+OK 2 34'
    assert_line --index 4 --regexp '^\+OK 2 messages'
    assert_line --index 5 '1 20'
    assert_line --index 6 '2 14'
    assert_line --index 7 '.'
    assert_line --index 8 '+OK 14 octets'
    assert_line --index 9 'Subject: b'
    # (bats leaves the blank line out of lines)
    assert_line --index 10 '..'
    assert_line --index 11 '.'
    assert_line --index 12 '+OK Message 1 deleted'
    assert_line --index 13 '+OK Message 2 deleted'
    assert_line --index 14 '+OK 0 0'
    assert_line --index 15 '-ERR Message 1 already deleted'
    assert_line --index 16 '-ERR Message 2 already deleted'
    sleep 0.2
    assert_equal "$(find mail/alice -type f | wc -l)" 2
}

@test "a client that sends and never reads holds bounded memory, and others are served meanwhile" {
    start_pop --allow-plaintext-auth
    for i in $(seq 1000 1999); do
        drop alice "$i.M1P1Q$i.h,S=20" 'Subject: a\r\n\r\nbody\r\n'
    done
    run pop_py "
import time
s = socket.create_connection(('127.0.0.1', PORT))
s.sendall(b'USER alice\\r\\nPASS secret\\r\\n')
time.sleep(0.3)
s.setblocking(False)
chunk = b'LIST\\r\\nUIDL\\r\\nRETR 1\\r\\nNOOP\\r\\n' * 1000
sent, end = 0, time.time() + 2
while time.time() < end:
    try:
        sent += s.send(chunk)
    except BlockingIOError:
        time.sleep(0.02)
print('sent-mib', sent >> 20)
rss = [l.split()[1] for l in open('/proc/$GALE_PID/status') if l.startswith('VmRSS')][0]
print('rss-small', int(rss) < 200 * 1024, rss)
q = login('bob', 'secret2')
print('bob', q.stat())
q.quit()
"
    assert_success
    assert_line --regexp '^sent-mib [0-9]+$'
    assert_line --regexp '^rss-small True '
    assert_line 'bob (0, 0)'
}

@test "a client silent for --pop3-timeout is logged out; shutdown ends idle sessions" {
    start_pop --allow-plaintext-auth --pop3-timeout 1
    exec 5<>"/dev/tcp/127.0.0.1/$PORT"
    read -r -t 5 greeting <&5
    [[ $greeting == '+OK gale POP3 ready'* ]]
    read -r -t 5 line <&5
    [[ $line == '-ERR Disconnected for inactivity'* ]]
    exec 5<&-
    exec 5<>"/dev/tcp/127.0.0.1/$PORT"
    read -r -t 5 greeting <&5
    kill -TERM "$GALE_PID"
    read -r -t 5 line <&5
    [[ $line == '-ERR [SYS/TEMP] Server shutting down'* ]]
    exec 5<&-
    wait_gone "$GALE_PID"
}

@test "--no-pop3 and --no-smtp: each serves the other alone, both together is a usage error" {
    run "$GALE" mail -d example.test=mail --no-pop3 --no-smtp
    assert_failure 2
    assert_output --partial 'nothing to serve'
    run "$GALE" mail -d example.test=mail --no-pop3 -p "tcp:$PORT"
    assert_failure 2
    start_gale mail -p "tcp:$PORT:interface=127.0.0.1" --no-smtp -d example.test=mail -u alice=pw
    wait_port "$PORT"
    wait_grep 'event=serving' gale.log
    refute grep -q "tcp:8025" gale.log
    stop_all
    start_gale mail -s "tcp:$SMTP_PORT:interface=127.0.0.1" --no-pop3 -d example.test=mail
    wait_port "$SMTP_PORT"
    wait_grep 'event=serving' gale.log
    run grep -c 'event=listen' gale.log
    assert_output 2        # one line from each run
}

@test "fetchmail, over STLS, retrieves into an mbox and deletes from the Maildir" {
    command -v fetchmail >/dev/null || skip "fetchmail is not installed"
    make_cert
    start_pop --tls-cert cert.pem --tls-key key.pem
    deliver alice first
    deliver alice second
    printf 'poll 127.0.0.1 protocol pop3 port %s user "alice" password "secret" mda "cat >>%s/mbox"\n' \
        "$PORT" "$PWD" >fetchmailrc
    chmod 600 fetchmailrc
    run timeout 30 fetchmail -f fetchmailrc --nosslcertck --sslproto 'tls1.2+' -v --nokeep
    assert_success
    assert_output --partial 'STLS'
    assert_output --partial '2 messages for alice'
    assert_equal "$(grep -c '^Subject: ' mbox)" 2
    grep -q 'body of second' mbox
    assert_equal "$(find mail/alice -type f | wc -l)" 0
}

#!/usr/bin/env bash
# test_smtp: the SMTP service end to end against real clients in sl-in —
# swaks plain, with STARTTLS and with AUTH LOGIN over TLS, BDAT (CHUNKING)
# by hand, `openssl s_client -starttls smtp`, 200 concurrent smtp-source
# sessions; an address that is not on the allow list gets 451 and spools
# nothing; every 250 is a message in the spool, found again by recovery
# after a restart.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/sl-test-smtp.XXXXXX)
SPOOL=$TMP/spool

make_conf() { # NAME EXTRA-SMTP-KEYS
	sed "s|^\(  socket = .*\)$|\1\n  track_log = \"$TMP/track.jsonl\";|" \
		"$SL_ROOT/conf/lab.conf" >"$TMP/$1.conf"
	cat >>"$TMP/$1.conf" <<-EOF
	smtp = {
	  port = 25;
	  hostname = "sluice.lab";
	  allow = ["198.18.0.2"];
	  tls_cert = "$TMP/cert.pem";
	  tls_key = "$TMP/key.pem";
	  $2
	};
	spool = { dir = "$SPOOL"; segment_mb = 16; segments = 2; };
	EOF
	echo "$TMP/$1.conf"
}

# until_match SECONDS REGEX CMD...: run CMD until its output matches (the
# queue snapshot is republished once a second); echoes the last output.
until_match() {
	local t=$1 re=$2 out start=$SECONDS
	shift 2
	while :; do
		out=$("$@" 2>&1) || true
		grep -Eq -- "$re" <<<"$out" && break
		((SECONDS - start >= t)) && break
		sleep 0.2
	done
	echo "$out"
}

smtp_stat() { stats_json | jq -r --arg f "$1" '.smtp[$f] // "missing"'; }
spool_stat() { stats_json | jq -r --arg f "$1" '.spool[$f] // "missing"'; }

# swaks_in ARGS...: swaks from sl-in to the gateway; sets OUT.
swaks_in() {
	OUT=$(in_ns sl-in timeout 60 swaks --server 198.18.0.1 --from sender@lab.example \
		--to rcpt@example.com --timeout 20 "$@" 2>&1) || true
}

# bdat: a CHUNKING transaction by hand over /dev/tcp; echoes the replies.
bdat() {
	in_ns sl-in timeout 20 bash -c '
		exec 3<>/dev/tcp/198.18.0.1/25
		read -r -t 5 greet <&3; echo "$greet"
		printf "EHLO bdat.lab\r\n" >&3
		while read -r -t 5 l <&3; do [[ $l == "250 "* ]] && break; done
		body="Subject: bdat\r\n\r\nchunked\r\n"
		n=$(printf "$body" | wc -c)
		printf "MAIL FROM:<b@lab.example>\r\nRCPT TO:<r@example.com>\r\nBDAT 13\r\nFrom: b@lab\r\n" >&3
		printf "BDAT %d LAST\r\n$body" "$n" >&3
		for i in 1 2 3 4; do read -r -t 5 l <&3; echo "$l"; done
		printf "QUIT\r\n" >&3; read -r -t 5 l <&3; echo "$l"' 2>&1 || true
}

lab_init
trap 'rm -rf "$TMP"; lab_exit' EXIT
for t in swaks smtp-source openssl; do
	command -v "$t" >/dev/null || { not_ok "$t is installed"; exit 1; }
done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" -subj /CN=sluice.lab 2>/dev/null

# --- without AUTH: allow list, plain, STARTTLS, BDAT, s_client, load ---------------
sluiced_start "$(make_conf plain '')"

swaks_in --h-Subject plain
check_match "swaks plain: 250 with a queue ID" "$OUT" '<-  250 2\.0\.0 Ok: queued as [0-9A-F]{16}'
qid=$(sed -nE 's/.*queued as ([0-9A-F]{16}).*/\1/p' <<<"$OUT" | head -n1)
check_match "the log names the client and the sender under that queue ID" \
	"$(cat "$SLUICED_LOG")" "$qid: from=<sender@lab.example>, size=[0-9]+, nrcpt=1"

check_match "sluicectl accepted lists it" \
	"$(until_match 3 "$qid" ctl accepted --id "$qid")" \
	"$qid .*198\.18\.0\.2 +sender@lab\.example +rcpt@example\.com"
check_match "sluicectl queue lists it, waiting for delivery" \
	"$(until_match 3 "^$qid" ctl queue)" "^$qid +active"
check "sluicectl queue hold $qid" ctl_quiet queue hold "$qid"
check_match "... and it is held" "$(until_match 3 "^$qid +held" ctl queue)" "^$qid +held"
check_match "queue retry of a held message is refused" \
	"$(ctl queue retry "$qid" 2>&1 || true)" "held \(release it\)"
check "sluicectl queue release $qid" ctl_quiet queue release "$qid"
check_match "... and it is active again" "$(until_match 3 "^$qid +active" ctl queue)" "^$qid +active"
check_match "queue retry of a message that is not deferred is refused" \
	"$(ctl queue retry "$qid" 2>&1 || true)" "not deferred"
check_match "accepted --from --to --since finds it" \
	"$(ctl accepted --from SENDER@lab --to rcpt@ --since 10m)" "^[0-9-]+ [0-9:]+ +$qid "
check_eq "accepted --from another sender finds nothing" \
	"$(ctl accepted --from nobody@ | grep -c "$qid" || true)" 0
check_eq "accepted --since a time after it finds nothing" \
	"$(ctl accepted --since "$(($(date +%s) + 60))" | grep -c "$qid" || true)" 0
check_match "accepted --json --id: its recipient" \
	"$(ctl accepted --json --id "$qid" | jq -r '.messages[0].to[0]')" '^rcpt@example\.com$'
check_match "the tracking log has it as a JSON line" "$(cat "$TMP/track.jsonl")" "\"event\":\"accepted\",\"id\":\"$qid\""

swaks_in -tls --h-Subject starttls
check_match "swaks STARTTLS: TLS 1.2 or later" "$OUT" '=== TLS started with cipher TLSv1\.[23]'
check_match "swaks STARTTLS: 250 after TLS" "$OUT" '<~  250 2\.0\.0 Ok: queued as'

out=$(bdat)
diag "BDAT: $(tr '\r\n' '  ' <<<"$out")"
check_match "BDAT: 250 for the first chunk" "$out" '^250 2\.0\.0 .*13 octets'
check_match "BDAT LAST: queued" "$out" '250 2\.0\.0 Ok: queued as'
check_match "EHLO offers CHUNKING" "$(in_ns sl-in swaks --server 198.18.0.1 --quit-after EHLO 2>&1)" '250-CHUNKING'

out=$(echo QUIT | in_ns sl-in timeout 20 openssl s_client -starttls smtp \
	-connect 198.18.0.1:25 -brief 2>&1) || true
check_match "openssl s_client -starttls smtp completes the handshake" "$out" 'CONNECTION ESTABLISHED'
check_match "... with TLS 1.2 or 1.3" "$out" 'Protocol version: TLSv1\.[23]'

before=$(spool_stat msgs_committed)
swaks_in --li 198.18.0.3 --h-Subject unknown
check_match "198.18.0.3 (not on the allow list) gets 451 4.7.1" "$OUT" '<\*\* 451 4\.7\.1 .*198\.18\.0\.3'
check_eq "nothing spooled for it" "$(spool_stat msgs_committed)" "$before"

before=$(smtp_stat messages)
out=$(in_ns sl-in timeout 120 smtp-source -s 200 -m 2000 -l 2048 -f load@lab.example \
	-t rcpt@example.com 198.18.0.1:25 2>&1) && rc=0 || rc=$?
check_eq "smtp-source, 200 concurrent sessions, 2000 messages: exit status" "$rc" 0
[[ -n $out ]] && diag "smtp-source: $out"
check_eq "every one of them got its 250" "$(($(smtp_stat messages) - before))" 2000
check_eq "no session refused for lack of room" "$(smtp_stat no_session)" 0
accepted=$(smtp_stat messages)
check_eq "every 250 is a committed spool message" "$(spool_stat msgs_committed)" "$accepted"
check_ge "group commit: fewer commits than messages" "$((accepted - $(spool_stat commits)))" 1
check "sluicectl queue delete $qid" ctl_quiet queue delete "$qid"
check_eq "... it leaves the queue" \
	"$(until_match 3 "^$((accepted - 1)) messages queued" ctl queue | grep -c "^$qid" || true)" 0
check_match "... and the log says so" "$(cat "$SLUICED_LOG")" "$qid: removed"

# --- restart with AUTH: the spool gives back everything that got a 250 --------------
sluiced_stop || true
"$SL_ROOT/tools/sluice-passwd" -m sha512 relay <<<"s3cret-pw" >"$TMP/users"
sluiced_start "$(make_conf auth "auth = true; credentials = \"$TMP/users\";")"
check_eq "after a restart, recovery finds every accepted message but the deleted one" \
	"$(spool_stat recovered)" "$((accepted - 1))"
check_match "... and queues it for delivery again" \
	"$(until_match 3 "^$((accepted - 1)) messages queued" ctl queue)" "^$((accepted - 1)) messages queued"
check_eq "... and discards none" "$(spool_stat discarded)" 0

swaks_in --li 198.18.0.3 -tls --auth LOGIN --auth-user relay --auth-password s3cret-pw
check_match "unknown address, AUTH LOGIN over TLS: 235" "$OUT" '<~  235 2\.7\.0'
check_match "... then relays: 250" "$OUT" '<~  250 2\.0\.0 Ok: queued as'
swaks_in --li 198.18.0.3 -tls --auth PLAIN --auth-user relay --auth-password wrong
check_match "a wrong password: 535 5.7.8" "$OUT" '<~\* 535 5\.7\.8'
swaks_in --li 198.18.0.3
check_match "unknown address without AUTH: 530 5.7.0" "$OUT" '<\*\* 530 5\.7\.0'
check_match "EHLO in clear offers no AUTH" "$OUT" '250 STARTTLS'
check_eq "AUTH successes" "$(smtp_stat auth_ok)" 1
check_eq "AUTH failures" "$(smtp_stat auth_failed)" 1

sluiced_stop || true

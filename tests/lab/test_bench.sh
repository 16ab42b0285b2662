#!/usr/bin/env bash
# test_bench: the benchmark harness works end to end, briefly.  sluice-bench
# in sl-in sends through sluiced to Postfix's smtp-sink in sl-out, in clear
# and with STARTTLS: every message gets its 250, the report's figures are
# there and positive, and the sink counts every message.  Then bench/compare
# with small counts (with its runs over memif: sluiced with memif ports,
# sluice-bench's own TCP and its sink): every figure of its JSON is present
# and positive and, in every measurement, the sink received every message
# sent.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

TMP=
BENCH=$SL_BUILD/bench/loadgen/sluice-bench
SINK=

cleanup() {
	[[ -n $SINK ]] && { kill "$SINK" 2>/dev/null; wait "$SINK" 2>/dev/null; }
	[[ -n $TMP ]] && rm -rf "$TMP"
	lab_exit
}

sink_count() {
	tr '\r' '\n' <"$TMP/sink.out" | sed -nE 's/.*mesg=([0-9]+).*/\1/p' | tail -n1
}
# wait_sink N SECONDS: until the sink has counted N; echoes the count.
wait_sink() {
	local start=$SECONDS n
	while n=$(sink_count); ((${n:-0} < $1 && SECONDS - start < $2)); do sleep 0.2; done
	echo "${n:-0}"
}
# bench ARGS...: sluice-bench from sl-in with --json into $TMP/bench.json.
bench() {
	in_ns sl-in timeout 30 "$BENCH" -q --json -S 198.18.0.1:25 "$@" >"$TMP/bench.json" 2>&1 || true
}
jqb() { jq -r "$1" "$TMP/bench.json" 2>/dev/null || echo missing; }

lab_init
TMP=$(mktemp -d /tmp/sl-test-bench.XXXXXX)
trap cleanup EXIT
[[ -x $BENCH ]] || { not_ok "$BENCH is built"; exit 1; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" -subj /CN=sluice.lab \
	-addext subjectAltName=IP:198.18.0.1 2>/dev/null
cat "$SL_ROOT/conf/lab.conf" - >"$TMP/bench.conf" <<EOC
smtp = { port = 25; hostname = "sluice.lab"; allow = ["198.18.0.2"];
         tls_cert = "$TMP/cert.pem"; tls_key = "$TMP/key.pem"; };
spool = { dir = "$TMP/spool"; segment_mb = 16; segments = 2; };
relay = {
  smart_hosts = ({ name = "sink"; host = "198.18.1.2"; tls = "none"; });
  routes = ({ domain = "*"; hosts = ["sink"]; });
};
EOC
ip netns exec sl-out smtp-sink -u nobody -c 198.18.1.2:25 100 >"$TMP/sink.out" 2>&1 &
SINK=$!
sluiced_start "$TMP/bench.conf"

bench -c 10 -m 20 -n 400 -s 1k:70,8k:30 -r 2
check_eq "sluice-bench: 400 messages accepted" "$(jqb .messages_ok)" 400
check_eq "... none failed" "$(jqb .messages_failed)" 0
check_ge "... in 20 connections or more" "$(jqb .connections)" 20
check "... a 250 to each EHLO, MAIL, RCPT (2) and DATA's end" jq -e \
	'.replies["250"] == .connections + 4 * .messages_ok' "$TMP/bench.json"
check "... messages/s is positive" jq -e '.messages_per_s > 0' "$TMP/bench.json"
check "... p50 <= p90 <= p99 <= p99.9 <= max, all positive" jq -e \
	'.latency_us | [.from_eod, .from_connect][] | .p50 > 0 and .p50 <= .p90 and .p90 <= .p99 and .p99 <= .p99_9 and .p99_9 <= .max' \
	"$TMP/bench.json"
check_eq "the sink received every message" "$(wait_sink 400 20)" 400

bench -c 5 -m 10 -n 100 --starttls --cafile "$TMP/cert.pem" --no-pipelining
check_eq "sluice-bench with STARTTLS (no pipelining): 100 messages" "$(jqb .messages_ok)" 100
check_eq "... no error" "$(jqb '[.errors[]] | add')" 0
check_eq "the sink received those too" "$(wait_sink 500 20)" 500

bench -c 2 -n 10 --starttls --tls-name wrong.example --cafile "$TMP/cert.pem"
check_match "a certificate for another name: TLS errors, no message sent" \
	"$(jqb '"\(.messages_ok) \(.errors.tls > 0)"')" '^0 true$'

sluiced_stop
kill "$SINK" 2>/dev/null; wait "$SINK" 2>/dev/null || true
SINK=

# --- bench/compare, small -----------------------------------------------------------
SL_BUILD=$SL_BUILD timeout 240 "$SL_ROOT/bench/compare" -n 100 -p 24 -M 2000 -o "$TMP/results" \
	>"$TMP/compare.out" 2>&1 || true
sed 's/^/#   /' "$TMP/compare.out" | tail -n 30
J=$TMP/results/compare.json
check_eq "bench/compare: 25 measurements (8 cases and half load, each system; 7 over memif)" \
	"$(jq ".results | length" "$J" 2>/dev/null || echo 0)" 25
check "... over memif: 4 cases, half load, 1000 sessions open and paced" jq -e \
	'[.results[] | select(.system == "sluice-memif") | [.size, .per_session, .sessions, .rate != null]]
	 == [[1024,"many",50,false],[1024,"one",50,false],[51200,"many",50,false],
	     [51200,"one",50,false],[1024,"many",50,true],[1024,"many",1000,false],
	     [1024,"many",1000,true]]' "$J"
check "... every message sent reached the sink" jq -e \
	'all(.results[]; .sent == .received)' "$J"
check "... messages/s, CPU per 1000 and peak memory are positive" jq -e \
	'all(.results[]; .messages_per_s > 0 and .cpu_s_per_1000 > 0 and .peak_mib > 0)' "$J"
check "... p99 is there for every sluice-bench run" jq -e \
	'all(.results[] | select(.generator | startswith("sluice-bench")); .p99_ms > 0)' "$J"
check "... with the machine" jq -e '.machine | .cpu and .cores > 0 and .kernel and .commit' "$J"
check "... and a Markdown table" grep -q '^| 1 KiB | many | sluice-bench |' "$TMP/results/compare.md"
check "... with the memif rows beside Postfix" grep -q \
	'^| 1 KiB | many | sluice-bench over memif, 50 sessions | [0-9.]* | [0-9.]* | [0-9.]*× |' "$TMP/results/compare.md"

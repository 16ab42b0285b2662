#!/usr/bin/env bash
# test_tcp: our TCP against Linux kernel TCP through af_packet, with the diag
# services (echo, discard, send) standing in for SMTP.
#   1. 1,000 parallel connections from sl-in to echo, 100 KiB each, back intact;
#   2. a SYN flood from spoofed sources while a real client still connects;
#   3. under 1% loss, 10 ms delay, 5% reordering and 1% duplication on both
#      ports in both directions (our impairment wrapper) plus nftables
#      numgen drops on the Linux side: 200 MiB from sl-in to discard, and
#      200 MiB from sluiced (active open) to a Linux receiver in sl-out, at
#      the same time, both CRC32C-equal to the pattern;
#   4. two workers on af_packet qpairs=2: every outbound connection succeeds,
#      and the redirect counters show the software fallback at work.
# STREAM_BYTES (209715200) shortens step 3 for a quick run; STEPS ("1 2 3 4")
# runs only the steps it lists, e.g. STEPS=3 for the impaired streams alone;
# STREAM_IMPAIR replaces step 3's impairment spec (drivers/impair.h).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

TCPCHECK=$SL_BUILD/tests/lab/tcpcheck
STREAM_BYTES=${STREAM_BYTES:-209715200}
STEPS=" ${STEPS:-1 2 3 4} "
TMP=$(mktemp -d /tmp/sl-test-tcp.XXXXXX)
NFT_NS=()

# The test's own configs: conf/lab.conf with the diag services and EXTRA.
make_conf() { # NAME EXTRA [SED-EXPR]
	sed -e "${3:-}" "$SL_ROOT/conf/lab.conf" >"$TMP/$1.conf"
	printf 'diag = { echo_port = 7; discard_port = 9; send = true; };\n%s\n' "$2" >>"$TMP/$1.conf"
	echo "$TMP/$1.conf"
}

cleanup_extra() {
	local ns
	for ns in "${NFT_NS[@]}"; do ip netns exec "$ns" nft delete table inet sltest 2>/dev/null || true; done
	rm -rf "$TMP"
}

# tcp_stat NAME: a summed TCP counter; diag_stat NAME likewise.
tcp_stat() { stats_json | jq -r --arg f "$1" '.tcp[$f] // "missing"'; }
diag_stat() { stats_json | jq -r --arg f "$1" '.diag[$f] // "missing"'; }
workers_sum() { stats_json | jq -r --arg f "$1" '[.workers[][$f]] | add // "missing"'; }

# wait_diag FIELD TARGET SECONDS: poll a diag counter; echoes the last value.
wait_diag() {
	local v start=$SECONDS
	while :; do
		v=$(diag_stat "$1")
		[[ $v =~ ^[0-9]+$ ]] && ((v >= $2)) && break
		((SECONDS - start >= $3)) && break
		sleep 0.5
	done
	echo "$v"
}

step() { [[ $STEPS == *" $1 "* ]]; }

restart() { # CONF
	sluiced_stop || true
	sluiced_start "$1"
}

lab_init
trap 'cleanup_extra; lab_exit' EXIT
[[ -x $TCPCHECK && -x $RAWINJECT ]] || { not_ok "tcpcheck and rawinject are built"; exit 1; }

# --- 1. echo, 1,000 connections --------------------------------------------------
if step 1; then
sluiced_start "$(make_conf clean 'tcp = { max_conns = 4096; };')"
out=$(in_ns sl-in timeout 300 "$TCPCHECK" echo 198.18.0.1 7 1000 102400 2>&1) || true
diag "echo: $out"
check_match "1,000 connections to echo each get 100 KiB back intact" "$out" '^conns=1000 ok=1000 '
check_eq "echo connections accepted" "$(diag_stat accepted)" 1000

fi

# --- 2. SYN flood -----------------------------------------------------------------
if step 2; then
GWMAC=$(cat /sys/class/net/sl-gw-in/address)
cookies_before=$(tcp_stat syn_cookies_sent)
in_ns sl-in "$RAWINJECT" sl-in0 "$GWMAC" tcp-syn 200000 7 >"$TMP/flood.out" 2>&1 &
flood=$!
sleep 0.5
out=$(in_ns sl-in timeout 60 "$TCPCHECK" echo 198.18.0.1 7 20 10000 2>&1) || true
flood_running=0
kill -0 "$flood" 2>/dev/null && flood_running=1
wait "$flood" || true
diag "during the flood ($(tail -n1 "$TMP/flood.out")): $out"
check_eq "the flood was still running when the client finished" "$flood_running" 1
check_match "20 connections to echo succeed during a SYN flood" "$out" '^conns=20 ok=20 '
check_ge "SYN cookies sent under the flood" "$(($(tcp_stat syn_cookies_sent) - cookies_before))" 1000

fi

# --- 3. 200 MiB each way under impairment ----------------------------------------
if step 3; then
# reorder=5% holds one frame in twenty back 3 ms (reorder_delay), so the
# frames sent after it overtake it: real reordering (drivers/impair.h; with
# neither reorder_delay nor jitter nothing would be held back).
imp=${STREAM_IMPAIR:-loss=1%,delay=10ms,reorder=5%,reorder_delay=3ms,dup=1%}
conf=$(make_conf impaired 'tcp = { max_conns = 64; sndbuf = 1048576; rcvbuf = 1048576; };' \
	"s|^\(    address = \"198.18.0.1/24\";\)|\1\n    impair = \"$imp,seed=11\";|; s|^\(    address = \"198.18.1.1/24\";\)|\1\n    impair = \"$imp,seed=12\";|")
restart "$conf"
for ns in sl-in sl-out; do
	ip netns exec "$ns" nft -f - <<-'EOF'
	table inet sltest {
		chain in { type filter hook input priority 0; meta l4proto tcp numgen random mod 1000 < 2 drop; }
		chain out { type filter hook output priority 0; meta l4proto tcp numgen random mod 1000 < 2 drop; }
	}
	EOF
	NFT_NS+=("$ns")
done
want=$("$TCPCHECK" crc "$STREAM_BYTES" | sed -nE 's/.*crc32c=([0-9a-f]+).*/\1/p')
in_ns sl-out timeout 900 "$TCPCHECK" sink 9000 1 >"$TMP/sink.out" 2>&1 &
sink=$!
sleep 0.5
t0=$SECONDS
ctl diag-send 198.18.1.2:9000 "$STREAM_BYTES" 1 >/dev/null || not_ok "sluicectl diag-send"
out=$(in_ns sl-in timeout 900 "$TCPCHECK" send 198.18.0.1 9 "$STREAM_BYTES" 2>&1) || true
diag "sl-in → discard: $out"
wait "$sink" || true
diag "sluiced → sl-out: $(tail -n1 "$TMP/sink.out") (both in $((SECONDS - t0)) s)"
check_match "sl-in sends $STREAM_BYTES bytes to discard under impairment" "$out" '^conns=1 ok=1 '
got=$(sed -nE 's/.*diag discard 198\.18\.0\.2:[0-9]+: closed \(ok\), ([0-9]+) bytes, crc32c ([0-9a-f]+).*/\1 \2/p' "$SLUICED_LOG" | tail -n1)
check_eq "discard received every byte" "${got% *}" "$STREAM_BYTES"
check "discard's CRC32C $got equals the pattern's $want" test "${got#* }" = "$want"
check_match "sl-out received $STREAM_BYTES pattern bytes from sluiced" "$(cat "$TMP/sink.out")" \
	"bytes=$STREAM_BYTES crc32c=$want pattern=ok"
check_eq "the active-open send finished cleanly" "$(wait_diag sends_ok 1 30)" 1
check_ge "retransmissions happened (the impairment is real)" \
	"$(( $(tcp_stat rexmit_fast) + $(tcp_stat rexmit_sack) + $(tcp_stat rexmit_rto) ))" 10
diag "tcp counters: $(stats_json | jq -c '.tcp | with_entries(select(.value != 0))')"
for ns in "${NFT_NS[@]}"; do ip netns exec "$ns" nft delete table inet sltest; done
NFT_NS=()

fi

# --- 4. two workers, qpairs=2: steering and its fallback ------------------------------
if step 4; then
conf=$(make_conf qpairs 'tcp = { max_conns = 1024; };' \
	's|"-l", "0-1"|"--lcores", "0@0,1@1,2@1"|; s|\(iface=sl-gw-in\)"|\1,qpairs=2"|; s|\(iface=sl-gw-out\)"|\1,qpairs=2"|')
restart "$conf"
in_ns sl-out timeout 300 "$TCPCHECK" sink 9001 100 >"$TMP/sink2.out" 2>&1 &
sink=$!
sleep 0.5
ctl diag-send 198.18.1.2:9001 1048576 100 >/dev/null || not_ok "sluicectl diag-send 100"
wait "$sink" || true
check_eq "100 outbound connections from two workers deliver intact" \
	"$(grep -c 'bytes=1048576 crc32c=[0-9a-f]* pattern=ok' "$TMP/sink2.out")" 100
check_eq "every outbound connection succeeded" "$(wait_diag sends_ok 100 30)" 100
check_eq "no outbound connection failed" "$(diag_stat sends_failed)" 0
check_ge "segments passed to their owner worker (redirect fallback)" "$(workers_sum tcp_redirect_in)" 1
check_eq "no redirected segment lost" "$(workers_sum tcp_redirect_drops)" 0
out=$(in_ns sl-in timeout 120 "$TCPCHECK" echo 198.18.0.1 7 200 10000 2>&1) || true
diag "echo over two workers: $out"
check_match "200 inbound echo connections over two workers" "$out" '^conns=200 ok=200 '
check_eq "no connection reset for want of its owner" "$(tcp_stat drop_no_conn)" 0
diag "$(ctl stats | sed -n '/^worker/,$p' | grep -E '^worker|tcp ')"

fi

sluiced_stop || true

#!/usr/bin/env bash
# test_queue_full: a 250 always means the message is queued for delivery.
# sluiced with a delivery queue of 4 messages relays through one connection
# to sluice-sink, which waits before each reply, while sluice-bench offers
# 40 messages over 10 sessions: the queue fills, and the messages it has no
# room for get 452 4.3.1 at their end of data (the room is held from the
# transaction's start), never a 250 followed by "not queued".  Every
# message that got its 250 reaches the sink.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

TMP=
SINK=
BENCH=$SL_BUILD/bench/loadgen/sluice-bench

cleanup() {
	[[ -n $SINK ]] && { kill "$SINK" 2>/dev/null; wait "$SINK" 2>/dev/null; }
	[[ -n $TMP ]] && rm -rf "$TMP"
	lab_exit
}

sink_msgs() { grep -c '^msg ' "$TMP/sink.log" 2>/dev/null || true; }

lab_init
TMP=$(mktemp -d /tmp/sl-test-qfull.XXXXXX)
trap cleanup EXIT

lab_relay_conf "$TMP/sluiced.conf" "$TMP"
cat >>"$TMP/sluiced.conf" <<EOF
queue = { max_messages = 4; };
relay = {
  smart_hosts = ({ name = "slow"; host = "198.18.1.2"; tls = "none"; max_conns = 1; });
  routes = ({ domain = "*"; hosts = ["slow"]; });
};
EOF
ip netns exec sl-out "$SL_BUILD/bench/sink/sluice-sink" -l 198.18.1.2:25 --delay-ms 40 \
	--log "$TMP/sink.log" >/dev/null 2>&1 &
SINK=$!
sluiced_start "$TMP/sluiced.conf"

in_ns sl-in timeout 60 "$BENCH" -q --json -S 198.18.0.1:25 -c 10 -m 4 -n 40 \
	>"$TMP/bench.json" 2>&1 || true
ok_n=$(jq -r .messages_ok "$TMP/bench.json" 2>/dev/null || echo 0)
check_eq "all 40 messages were answered" \
	"$(jq -r '.messages_ok + .messages_failed' "$TMP/bench.json" 2>/dev/null || echo 0)" 40
check_ge "... some accepted" "$ok_n" 4
check_ge "... some refused with 452 (the queue was full)" \
	"$(jq -r '.replies["452"] // 0' "$TMP/bench.json" 2>/dev/null || echo 0)" 1
check "... the refusals are 452 4.3.1, logged with the cause" \
	grep -q 'refused a message .*the delivery queue is full' "$SLUICED_LOG"
check "no accepted message was left out of the queue" \
	bash -c "! grep -q 'not queued for delivery' '$SLUICED_LOG'"
start=$SECONDS
while (($(sink_msgs) < ok_n && SECONDS - start < 30)); do sleep 0.2; done
check_eq "every accepted message reached the sink" "$(sink_msgs)" "$ok_n"
sluiced_stop

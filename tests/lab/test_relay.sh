#!/usr/bin/env bash
# test_relay: delivery to smart hosts end to end — swaks in sl-in hands
# messages to sluiced, which relays them to Postfix's smtp-sink in sl-out.
# The body arrives intact (a line starting with a dot, our Received:);
# the cost-5 smart host is down (nothing listens) so the cost-10 one gets
# the mail, and once the cost-5 host is up again (after host_down_s) it
# gets the next; a sink answering 4xx to MAIL defers the message, and once
# a normal sink takes its place the retry (retry_s = 2) delivers it; a
# sink refusing RCPT with 5xx bounces the message, and the DSN goes to the
# sender through the route for its domain (lab.example, a third sink).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/sl-test-relay.XXXXXX)
SINKS=()

# sink NAME PORT [OPTIONS...]: smtp-sink in sl-out on 198.18.1.2:PORT,
# writing each message under $TMP/NAME/.
sink() {
	local name=$1 port=$2
	shift 2
	mkdir -p "$TMP/$name"
	# ip execs smtp-sink: $! is the sink's PID
	ip netns exec sl-out smtp-sink -u root "$@" -d "$TMP/$name/%H%M%S." \
		198.18.1.2:"$port" 100 >"$TMP/$name.log" 2>&1 &
	SINKS+=("$!")
	sleep 0.5
}

sink_stop() { # PID
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

cleanup() {
	local p
	for p in "${SINKS[@]}"; do sink_stop "$p"; done
	rm -rf "$TMP"
	lab_exit
}

# count_files DIR: messages a sink wrote.
count_files() { find "$1" -type f | wc -l; }

# wait_files DIR N SECONDS: until DIR holds N messages.
wait_files() {
	local start=$SECONDS
	while (($(count_files "$1") < $2 && SECONDS - start < $3)); do sleep 0.2; done
	count_files "$1"
}

swaks_in() {
	OUT=$(in_ns sl-in timeout 60 swaks --server 198.18.0.1 --from sender@lab.example \
		--to rcpt@example.com --timeout 20 "$@" 2>&1) || true
}

lab_init
trap cleanup EXIT
for t in swaks smtp-sink; do
	command -v "$t" >/dev/null || { not_ok "$t is installed"; exit 1; }
done

lab_relay_conf "$TMP/relay.conf" "$TMP"
cat >>"$TMP/relay.conf" <<EOF2
relay = {
  smart_hosts = (
    { name = "primary"; host = "198.18.1.2"; port = 25; cost = 5; tls = "none"; },
    { name = "backup"; host = "198.18.1.2"; port = 2525; cost = 10; tls = "none"; },
    { name = "senders"; host = "198.18.1.2"; port = 2526; tls = "none"; }
  );
  routes = ({ domain = "*"; hosts = ["primary", "backup"]; },
            { domain = "lab.example"; hosts = ["senders"]; });
  retry_s = [2]; lifetime_s = 600; host_down_s = 3;
};
EOF2

# --- the cost-5 host is down: the cost-10 one gets the message, intact ------
sink backup 2525
BACKUP=${SINKS[-1]}
sluiced_start "$TMP/relay.conf"
swaks_in --h-Subject failover --body $'first line\n.a line with a leading dot\nmarker-failover'
check_match "swaks: 250 from sluiced" "$OUT" '<- +250 2\.0\.0 Ok: queued as'
check_eq "the cost-10 smart host got the message" "$(wait_files "$TMP/backup" 1 15)" 1
f=$(find "$TMP/backup" -type f | head -1)
check "... with the dot line unstuffed" grep -q '^\.a line with a leading dot' "$f"
check "... and the marker" grep -q '^marker-failover' "$f"
check "... and our Received: header" grep -q '^Received: .*sluice\.lab' "$f"
check_match "the tracking log has it relayed via backup" "$(cat "$TMP/track.jsonl")" \
	'"event":"relayed".*backup'

# --- the cost-5 host comes back: it gets the next message -------------------
sink primary 25
PRIMARY=${SINKS[-1]}
sleep 4   # host_down_s = 3
swaks_in --h-Subject primary --body 'marker-primary'
check_eq "the cost-5 smart host, up again, got the next message" \
	"$(wait_files "$TMP/primary" 1 15)" 1
check_eq "... and the cost-10 one nothing more" "$(count_files "$TMP/backup")" 1

# --- 4xx to MAIL on both: deferred; a normal sink then takes the retry -------
sink_stop "$PRIMARY"
sink_stop "$BACKUP"
sink soft 25 -r MAIL
SOFT=${SINKS[-1]}
sink soft2 2525 -r MAIL
SOFT2=${SINKS[-1]}
swaks_in --h-Subject deferred --body 'marker-deferred'
sleep 2
check_match "the 4xx was tracked as deferred" "$(cat "$TMP/track.jsonl")" '"event":"deferred"'
check_eq "nothing was delivered" "$(($(count_files "$TMP/soft") + $(count_files "$TMP/soft2")))" 0
sink_stop "$SOFT"
sink_stop "$SOFT2"
sink retry 25
check_eq "the retry delivered it" "$(wait_files "$TMP/retry" 1 20)" 1
check "... the deferred message" grep -rq '^marker-deferred' "$TMP/retry"
RETRY=${SINKS[-1]}

# --- 5xx to RCPT: bounced; the DSN reaches the sender's domain's host ------------
sink_stop "$RETRY"
sink hard 25 -f RCPT
sink senders 2526
swaks_in --h-Subject bounced --body 'marker-bounced'
check_eq "the sender's smart host got the DSN" "$(wait_files "$TMP/senders" 1 15)" 1
f=$(find "$TMP/senders" -type f | head -1)
check "... a delivery-status report" grep -q 'report-type=delivery-status' "$f"
check "... for the refused recipient" grep -q '^Final-Recipient: rfc822; rcpt@example.com' "$f"
check "... failed with the sink's reply" grep -q '^Diagnostic-Code: smtp; 5[0-9][0-9] ' "$f"
check "... returning the message" grep -q '^marker-bounced' "$f"
check_match "the tracking log has the bounce" "$(cat "$TMP/track.jsonl")" '"event":"bounced"'

sluiced_stop || true

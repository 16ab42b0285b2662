#!/usr/bin/env bash
# test_web: the control plane's HTTP listener.  Three messages through the
# lab (swaks → sluiced → smtp-sink in sl-out); /metrics parses as
# Prometheus text (promtool check metrics) and its counters match what was
# sent and `sluicectl stats`; dpdk-telemetry.py reads the same figures;
# the token is enforced; /api/accepted and `sluicectl accepted` show a
# message's one delivery attempt with the sink's reply; the accepted-mail
# page in headless Chromium shows a message by its queue ID, relayed, and
# its attempt; the config
# check refuses a listener off loopback without a credential.  Under 60 s.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/sl-test-web.XXXXXX)
SINK=
TOKEN=lab-token-$RANDOM$RANDOM
URL=http://127.0.0.1:8025
PW_DIR=${SLUICE_PLAYWRIGHT:-$SL_BUILD/playwright}

cleanup() {
	if [[ -n $SINK ]]; then kill "$SINK" 2>/dev/null || true; wait "$SINK" 2>/dev/null || true; fi
	rm -rf "$TMP" /var/run/dpdk/sluice-web   # and our DPDK runtime directory
	lab_exit
}

get() { curl -sS --max-time 10 -H "Authorization: Bearer $TOKEN" "$URL$1"; }
# metric NAME: its value in /metrics (the sample without labels).
metric() { grep -E "^$1 " "$TMP/metrics" | awk '{print $2}'; }

lab_init
trap cleanup EXIT
for t in swaks smtp-sink curl jq node; do
	command -v "$t" >/dev/null || { not_ok "$t is installed"; exit 1; }
done

# --- the config check ------------------------------------------------------
lab_conf "$TMP/open.conf" 'http = { listen = "0.0.0.0:8025"; };'
out=$("$SL_BUILD/sluiced" --check-config -c "$TMP/open.conf" 2>&1) && rc=0 || rc=$?
check "a listener off loopback without a credential is refused" [ "$rc" -ne 0 ]
check_match "... naming the key" "$out" 'control\.http\.listen: .*needs a token or basic_auth'

lab_conf "$TMP/web.conf" "track_log = \"$TMP/track.jsonl\";" \
	"http = { listen = \"127.0.0.1:8025\"; token = \"$TOKEN\"; };"
# a runtime directory of our own: the telemetry socket is per file-prefix,
# and another DPDK process (a unit test run) may hold the default one
sed -i 's|"--no-shconf",|"--no-shconf", "--file-prefix", "sluice-web",|' "$TMP/web.conf"
cat >>"$TMP/web.conf" <<EOF2
smtp = { port = 25; hostname = "sluice.lab"; allow = ["198.18.0.2"]; };
spool = { dir = "$TMP/spool"; segment_mb = 16; segments = 2; };
relay = {
  smart_hosts = ({ name = "sink"; host = "198.18.1.2"; port = 25; tls = "none"; });
  routes = ({ domain = "*"; hosts = ["sink"]; });
};
EOF2

mkdir -p "$TMP/sink"
ip netns exec sl-out smtp-sink -u root -d "$TMP/sink/%H%M%S." 198.18.1.2:25 100 \
	>"$TMP/sink.log" 2>&1 &
SINK=$!
sluiced_start "$TMP/web.conf"

# --- three messages ----------------------------------------------------------
QIDS=()
for i in 1 2 3; do
	out=$(in_ns sl-in timeout 30 swaks --server 198.18.0.1 --from "web$i@lab.example" \
		--to "rcpt$i@example.com" --h-Subject "web $i" --timeout 20 2>&1) || true
	QIDS+=("$(grep -Eo 'queued as [0-9A-F]{16}' <<<"$out" | awk '{print $3}')")
done
check_eq "swaks: three messages queued" "$(printf '%s\n' "${QIDS[@]}" | grep -c .)" 3
start=$SECONDS
while (($(find "$TMP/sink" -type f | wc -l) < 3 && SECONDS - start < 15)); do sleep 0.2; done
check_eq "the smart host got them" "$(find "$TMP/sink" -type f | wc -l)" 3
sleep 1.2   # the queue snapshot is republished every second

# --- /metrics ------------------------------------------------------------------
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/metrics")
check_eq "/metrics without the token: 401" "$code" 401
get /metrics >"$TMP/metrics"
if command -v promtool >/dev/null; then
	check "promtool check metrics accepts /metrics" promtool check metrics <"$TMP/metrics"
else
	not_ok "promtool is installed (Debian package prometheus)"
fi
check_eq "sluice_smtp_messages_total counts the three" "$(metric sluice_smtp_messages_total)" 3
check_eq "sluice_relay_sent_total counts the three" "$(metric sluice_relay_sent_total)" 3
check_eq "sluice_smtp_ended_quit_total: three sessions ended by QUIT" \
	"$(metric sluice_smtp_ended_quit_total)" 3
check_eq "sluice_spool_commit_latency_seconds_count counts commits" \
	"$(metric sluice_spool_commit_latency_seconds_count)" "$(stats_json | jq .spool.commits)"
check_eq "queue depth gauge reads 0 once delivered" \
	"$(grep -E '^sluice_queue_depth\{state="deferred"\} ' "$TMP/metrics" | awk '{print $2}')" 0
check_match "per-worker samples carry a worker label" "$(cat "$TMP/metrics")" \
	'^sluice_worker_smtp_messages_total\{worker="0"\} 3$'
check_eq "sluice_smtp_sessions_total matches sluicectl stats" \
	"$(metric sluice_smtp_sessions_total)" "$(stats_json | jq .smtp.sessions)"

# --- the JSON API ------------------------------------------------------------------
acc=$(get "/api/accepted?id=${QIDS[1]}")
check_eq "/api/accepted finds a message by ID" "$(jq '.messages | length' <<<"$acc")" 1
check_match "... relayed, with the smart host's reply" "$(jq -r '.messages[0] | .status + " " + .reply' <<<"$acc")" \
	'^relayed 250'
check_match "... one delivery attempt, via the sink, with its reply" \
	"$(jq -r '.messages[0] | "\(.attempts_total) \(.attempts | length) " +
		(.attempts[0] | .status + " " + .relay + " " + .reply)' <<<"$acc")" \
	'^1 1 relayed sink\[198\.18\.1\.2\]:25 250 '
check_match "sluicectl accepted lists the attempt under the message" \
	"$(ctl accepted --id "${QIDS[1]}")" '^    [0-9-]+ [0-9:]+  relayed +1 rcpt  sink\[198\.18\.1\.2\]:25 +250 '
check_eq "/api/accepted by sender" "$(get '/api/accepted?from=web3@' | jq '.messages | length')" 1
a=$(get /api/accepted | jq -c '[.messages[].id]')
b=$(ctl --json accepted | jq -c '[.result.messages[]?.id // .messages[]?.id]' 2>/dev/null || true)
check "/api/accepted lists what sluicectl accepted does ($a)" [ "$a" = "$b" ]

# --- DPDK telemetry -------------------------------------------------------------------
tel=$(printf '%s\n' /sluice/metric,sluice_smtp_messages_total /sluice/metrics \
	/sluice/metric,sluice_worker_port_rx_pkts_total |
	timeout 15 dpdk-telemetry.py -f sluice-web 2>&1) || true
check_match "dpdk-telemetry.py reads sluice_smtp_messages_total" "$tel" \
	'"/sluice/metric": \{"value": 3\}'
check_match "... and lists the metrics" "$tel" '"/sluice/metrics": \[.*"sluice_relay_sent_total"'
check_match "... per worker, keyed by label values" "$tel" '"0/inside": [1-9]'

# --- the page in headless Chromium -------------------------------------------------------
if [[ ! -d $PW_DIR/node_modules/playwright-core ]]; then
	mkdir -p "$PW_DIR"
	(cd "$PW_DIR" && npm install --no-audit --no-fund playwright-core >/dev/null 2>&1) || true
fi
if [[ -d $PW_DIR/node_modules/playwright-core && -x /usr/bin/chromium ]]; then
	cp "$SL_ROOT/tests/lab/web/page.mjs" "$PW_DIR/"
	row=$(timeout 40 node "$PW_DIR/page.mjs" "$URL/#token=$TOKEN" "${QIDS[0]}" 2>&1) || true
	check_match "Chromium: the page shows the first message by its queue ID" "$row" "${QIDS[0]}"
	check_match "... from its sender, relayed with the reply" "$row" 'web1@lab\.example.*relayed.*250'
	check_match "... and its attempt, via the sink" "$row" 'relayed via sink\[198\.18\.1\.2\]:25: 250 '
else
	not_ok "playwright-core and /usr/bin/chromium are installed"
fi

#!/usr/bin/env bash
# test_relay_tls: the relay's TLS policies, smart hosts by name and the
# relay counters, against sluice-sink in sl-out (it speaks STARTTLS and
# logs, per MAIL and per message, whether TLS carried it).
#   opportunistic and required towards a self-signed sink: over TLS;
#   verify against a certificate for another name: deferred, the reason
#     in `sluicectl queue`, and that sink never saw a MAIL;
#   required towards a sink without STARTTLS: deferred, no MAIL either;
#   a smart host by name, answered by dnsmasq on loopback (TTL 2 s): the
#     answer changes and the next message goes to the new address;
#   `sluicectl --json stats`: TLS handshakes, attempts per smart host.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/sl-test-relay-tls.XXXXXX)
SINK=$SL_BUILD/bench/sink/sluice-sink
DNS_PORT=5354
PIDS=()

# sink NAME ADDR:PORT [OPTIONS...]: sluice-sink in sl-out, logging to $TMP/NAME.log.
sink() {
	local name=$1 listen=$2
	shift 2
	ip netns exec sl-out "$SINK" -l "$listen" --log "$TMP/$name.log" "$@" \
		>>"$TMP/sinks.out" 2>&1 &
	PIDS+=("$!")
}

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	ip -n sl-out addr del 198.18.1.3/24 dev sl-out0 2>/dev/null || true
	rm -rf "$TMP"
	lab_exit
}

# wait_log FILE REGEX SECONDS: until FILE has a line matching REGEX.
wait_log() {
	local start=$SECONDS
	until grep -Eq -- "$2" "$1" 2>/dev/null; do
		((SECONDS - start < $3)) || return 1
		sleep 0.2
	done
}

send() { # FROM TO
	OUT=$(in_ns sl-in timeout 30 swaks --server 198.18.0.1 --from "$1" --to "$2" \
		--timeout 20 --body "marker $2" 2>&1) || true
	check_match "swaks to $2: 250 from sluiced" "$OUT" '<- +250 2\.0\.0 Ok: queued as'
}

lab_init
trap cleanup EXIT
for t in swaks dnsmasq openssl jq; do
	command -v "$t" >/dev/null || { not_ok "$t is installed"; exit 1; }
done
[[ -x $SINK ]] || { not_ok "$SINK is built"; exit 1; }

# A self-signed certificate for sink.lab.test: not the address sluiced dials.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=sink.lab.test -addext subjectAltName=DNS:sink.lab.test \
	-keyout "$TMP/sink.key" -out "$TMP/sink.crt" 2>/dev/null
TLS=(--cert "$TMP/sink.crt" --key "$TMP/sink.key")

ip -n sl-out addr add 198.18.1.3/24 dev sl-out0
echo "198.18.1.2 smart.lab.test" >"$TMP/hosts"
dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --addn-hosts="$TMP/hosts" \
	--listen-address=127.0.0.1 --bind-interfaces --port=$DNS_PORT --local-ttl=2 \
	--user=root --pid-file="$TMP/dnsmasq.pid" --log-queries \
	--log-facility="$TMP/dnsmasq.log" 2>>"$TMP/dnsmasq.log" &
DNSMASQ=$!
PIDS+=("$DNSMASQ")

sink tls 198.18.1.2:2530 "${TLS[@]}"
sink verify 198.18.1.2:2531 "${TLS[@]}"
sink bare 198.18.1.2:2532
sink dns1 198.18.1.2:2533 "${TLS[@]}"
sink dns2 198.18.1.3:2533 "${TLS[@]}"
for s in tls verify bare dns1 dns2; do wait_log "$TMP/$s.log" '^listening' 5 || true; done

lab_relay_conf "$TMP/relay.conf" "$TMP"
cat >>"$TMP/relay.conf" <<EOF2
relay = {
  smart_hosts = (
    { name = "opp"; host = "198.18.1.2"; port = 2530; tls = "opportunistic"; },
    { name = "req"; host = "198.18.1.2"; port = 2530; tls = "required"; },
    { name = "ver"; host = "198.18.1.2"; port = 2531; tls = "verify"; ca_file = "$TMP/sink.crt"; },
    { name = "bare"; host = "198.18.1.2"; port = 2532; tls = "required"; },
    { name = "named"; host = "smart.lab.test"; port = 2533; }
  );
  routes = ({ domain = "opp.test"; hosts = ["opp"]; },
            { domain = "req.test"; hosts = ["req"]; },
            { domain = "ver.test"; hosts = ["ver"]; },
            { domain = "bare.test"; hosts = ["bare"]; },
            { domain = "*"; hosts = ["named"]; });
  retry_s = [300]; lifetime_s = 3600; host_down_s = 1;
  resolver = "127.0.0.1:$DNS_PORT";
};
EOF2
sluiced_start "$TMP/relay.conf"
check_match "sluiced resolved smart.lab.test through the resolver on loopback" \
	"$(cat "$SLUICED_LOG")" 'relay: smart\.lab\.test: 198\.18\.1\.2 \(ttl 2 s\)'

# --- opportunistic and required towards a self-signed certificate: TLS -----
send opp@lab.example rcpt@opp.test
send req@lab.example rcpt@req.test
check "opportunistic: the message arrived over TLS" \
	wait_log "$TMP/tls.log" '^msg .* tls=TLSv1\.[23] from=<opp@lab\.example> to=<rcpt@opp\.test>' 15
check "required: the message arrived over TLS" \
	wait_log "$TMP/tls.log" '^msg .* tls=TLSv1\.[23] from=<req@lab\.example> to=<rcpt@req\.test>' 15
check_eq "... and nothing came in clear" "$(grep -c 'tls=no' "$TMP/tls.log" || true)" 0

# --- verify against a certificate for another name; required without STARTTLS -
send ver@lab.example rcpt@ver.test
send bare@lab.example rcpt@bare.test
check "verify: the wrong name failed the handshake (the sink saw it)" \
	wait_log "$TMP/verify.log" '^tls-failed' 15
check "required, no STARTTLS: deferred" \
	wait_log "$TMP/track.jsonl" '"event":"deferred".*does not offer STARTTLS' 15
# the queue's snapshot is refreshed every second: wait for both reasons
start=$SECONDS
until Q=$("$SLUICECTL" queue 2>&1 || true); grep -q 'ver@lab.*TLS handshake' <<<"$Q" &&
	grep -q 'bare@lab.*does not offer STARTTLS' <<<"$Q" || ((SECONDS - start > 10)); do
	sleep 0.5
done
check_match "sluicectl queue: the verify message, deferred for TLS" "$Q" \
	'ver@lab\.example.*4\.7\.5 TLS handshake with 198\.18\.1\.2 failed'
check_match "sluicectl queue: the required message, deferred: no STARTTLS" "$Q" \
	'bare@lab\.example.*does not offer STARTTLS, TLS required'
check_eq "the verify sink never saw a MAIL" "$(grep -c '^mail ' "$TMP/verify.log" || true)" 0
check_eq "the sink without STARTTLS never saw a MAIL" "$(grep -c '^mail ' "$TMP/bare.log" || true)" 0

# --- a smart host by name; its answer changes, sluiced follows after the TTL ---
send dns@lab.example one@example.com
check "by name: delivered to the first address" \
	wait_log "$TMP/dns1.log" '^msg .*to=<one@example\.com>' 15
echo "198.18.1.3 smart.lab.test" >"$TMP/hosts"
kill -HUP "$DNSMASQ"
check "sluiced re-resolved the name once its TTL ran out" \
	wait_log "$SLUICED_LOG" 'relay: smart\.lab\.test: 198\.18\.1\.3 \(ttl 2 s\)' 10
sleep 2.5   # the idle connection to the old address is QUIT after 2 s
send dns@lab.example two@example.com
check "by name: the next message went to the new address" \
	wait_log "$TMP/dns2.log" '^msg .*to=<two@example\.com>' 15
check_eq "... and not to the old one" "$(grep -c 'two@example' "$TMP/dns1.log" || true)" 0
T=$(cat "$TMP/track.jsonl")
check_match "the tracking log names the address dialled, first" "$T" \
	'"event":"relayed".*"relay":"named\[198\.18\.1\.2\]:2533"'
check_match "... and after the change" "$T" \
	'"event":"relayed".*"relay":"named\[198\.18\.1\.3\]:2533"'

# --- the relay counters ---------------------------------------------------------------
S=$("$SLUICECTL" --json stats)
check_ge "stats: TLS handshakes ok" "$(jq '.relay.tls_ok' <<<"$S")" 4
check_ge "stats: TLS handshakes failed (verify)" "$(jq '.relay.hosts.ver.tls_failed' <<<"$S")" 1
check_ge "stats: recipients sent" "$(jq '.relay.sent' <<<"$S")" 4
check_ge "stats: attempts to the named host" "$(jq '.relay.hosts.named.attempts' <<<"$S")" 2
check_ge "stats: 2xx replies" "$(jq '.relay.replies_2xx' <<<"$S")" 10
check_eq "stats: per worker and summed agree" \
	"$(jq '[.workers[].relay.attempts] | add' <<<"$S")" "$(jq '.relay.attempts' <<<"$S")"
check_match "stats: the named host's address now is the new one" \
	"$(jq -r '.relay.hosts.named.addresses' <<<"$S")" '^198\.18\.1\.3$'
check_ge "stats: its lookups" "$(jq '.relay.hosts.named.lookups_ok' <<<"$S")" 2
check_match "sluicectl stats shows the relay" "$("$SLUICECTL" stats)" 'relay\.hosts\.ver'

sluiced_stop || true

#!/usr/bin/env bash
# test_crash: kill -9 at random moments loses no acknowledged mail.
# Postfix's smtp-source in sl-in pushes TOTAL messages through sluiced,
# which relays them to smtp-sink in sl-out.  sluiced is killed with SIGKILL
# at KILLS random moments and restarted each time; the clients are stopped
# with it and started again for the messages still to send.
#
# Each message carries its own identifier: smtp-source -N numbers every
# recipient, and each client (and each restart of it) has its own recipient
# (<N>c<client>k<phase>@example.com), so the sink's X-Rcpt-Args names the
# message.  smtp-source -v logs the whole dialogue of its one session (-s 1),
# so its log says which recipient got "250 ... queued as QID".
#
# spool.memory_mb = 1 keeps at most 64 bodies in memory: the rest are read
# back from the spool for delivery.
#
# Afterwards: every message that got a 250 is at the sink, with the queue ID
# the client was given; a message at the sink more than once is a duplicate,
# and each duplicate must be explained by a kill: its queue ID was recovered
# (not yet marked done in the spool) by the restart after kill K, and its
# first copy reached the sink before kill K — a delivery in flight.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

TOTAL=${CRASH_TOTAL:-20000}
CLIENTS=16
KILLS=3
SEED=${CRASH_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$SEED

TMP=$(mktemp -d /tmp/sl-test-crash.XXXXXX)
SINK=
CLIENT_PIDS=()

cleanup() {
	local p
	for p in "${CLIENT_PIDS[@]}" $SINK; do kill "$p" 2>/dev/null || true; done
	for p in "${CLIENT_PIDS[@]}" $SINK; do wait "$p" 2>/dev/null || true; done
	rm -rf "$TMP"
	lab_exit
}

# clients_start PHASE N: N messages over CLIENTS sessions.
clients_start() {
	local k=$1 n=$2 p m
	CLIENT_PIDS=()
	for ((p = 0; p < CLIENTS; p++)); do
		m=$(((n + CLIENTS - 1 - p) / CLIENTS))
		((m > 0)) || continue
		# ip execs smtp-source: $! is the client's PID
		ip netns exec sl-in smtp-source -v -A -s 1 -d -N -m "$m" -l 200 \
			-f sender@lab.example -t "c${p}k${k}@example.com" \
			198.18.0.1:25 2>"$TMP/client.$k.$p.log" &
		CLIENT_PIDS+=("$!")
	done
}

clients_stop() {
	local p
	for p in "${CLIENT_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${CLIENT_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	CLIENT_PIDS=()
}

clients_running() {
	local p
	for p in "${CLIENT_PIDS[@]}"; do sl_proc_alive "$p" && return 0; done
	return 1
}

# What the clients were told: "ID QID" for every 250 to end of data.
acked() {
	local logs=("$TMP"/client.*.log)
	[[ -e ${logs[0]} ]] || return 0
	awk '
		/: RCPT TO:</ { id = $0; sub(/.*RCPT TO:</, "", id); sub(/>.*/, "", id) }
		/: <<< 250 .*queued as / { print id, $NF }' "${logs[@]}"
}

# The sink's copies: "ID QID MTIME" per message file that is complete (as
# many lines as most files: a session cut by a kill may leave a partial
# file, which is no delivery).
sink_copies() {
	find "$TMP/sink" -type f -printf '%p %T@\n' | sort >"$TMP/mtimes"
	find "$TMP/sink" -type f -print0 | xargs -0 -r awk '
		function emit() { if (f != "") print f, id, q, n }
		FNR == 1 { emit(); f = FILENAME; id = q = ""; n = 0 }
		{ n++ }
		/^X-Rcpt-Args: / { id = $2; gsub(/[<>]/, "", id) }
		/^\tby sluice\.lab with / { q = $NF; sub(/;$/, "", q) }
		END { emit() }' | sort >"$TMP/files"
	local lines
	lines=$(awk '{ print $4 }' "$TMP/files" | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')
	join "$TMP/files" "$TMP/mtimes" | awk -v n="$lines" '$4 == n { print $2, $3, $5 }'
}

sluiced_kill() {
	kill -KILL "$SLUICED_PID"
	wait "$SLUICED_PID" 2>/dev/null || true
	SLUICED_PID=
}

lab_init
trap cleanup EXIT
for t in smtp-source smtp-sink; do
	command -v "$t" >/dev/null || { not_ok "$t is installed"; exit 1; }
done
diag "seed $SEED (CRASH_SEED=$SEED repeats the kill moments)"

cp "$SL_ROOT/conf/lab.conf" "$TMP/crash.conf"
cat >>"$TMP/crash.conf" <<EOF2
smtp = { port = 25; hostname = "sluice.lab"; allow = ["198.18.0.2"]; };
spool = { dir = "$TMP/spool"; segment_mb = 8; segments = 4; max_segments = 16;
          memory_mb = 1; };
queue = { max_messages = 30000; max_recipients = 30000; };
relay = {
  smart_hosts = ({ name = "sink"; host = "198.18.1.2"; tls = "none"; });
  routes = ({ domain = "*"; hosts = ["sink"]; });
  retry_s = [1];
};
EOF2
mkdir -p "$TMP/sink"
ip netns exec sl-out smtp-sink -u root -d "$TMP/sink/%H%M%S." 198.18.1.2:25 1024 \
	>"$TMP/sink.log" 2>&1 &
SINK=$!

# sink_settle: until the sink has written no file for 0.5 s (5 s at most):
# what a killed sluiced had sent is then all in, so a later copy came from
# the restarted one.
sink_settle() {
	local n=-1 m i
	for ((i = 0; i < 10; i++)); do
		m=$(find "$TMP/sink" -type f | wc -l)
		((m == n)) && return 0
		n=$m
		sleep 0.5
	done
}

START_AT=()
start=$SECONDS
for ((k = 0; k <= KILLS; k++)); do
	SLUICED_LOG=$LAB_LOG_DIR/$LAB_TEST.sluiced.$k.log
	START_AT+=("$EPOCHREALTIME")
	sluiced_start "$TMP/crash.conf"
	left=$((TOTAL - $(acked | wc -l)))
	clients_start "$k" "$left"
	if ((k < KILLS)); then
		# a random moment: once 200..3000 more messages got their 250
		# (10 s at most)
		want=$((200 + RANDOM % 2801))
		t0=$SECONDS
		while (($(cat "$TMP"/client.$k.*.log | grep -c 'queued as') < want &&
			SECONDS - t0 < 10)); do
			sleep 0.05
		done
		sluiced_kill
		clients_stop
		sink_settle
		diag "kill $((k + 1)) at $((SECONDS - start)) s: $(acked | wc -l) acknowledged so far"
	else
		while clients_running && ((SECONDS - start < 80)); do sleep 0.2; done
		clients_stop
	fi
done
ACKED=$(acked | sort -u)
check_eq "every message got its 250 (none left after the kills)" \
	"$(wc -l <<<"$ACKED")" "$TOTAL"
check_eq "each acknowledgement names one message" \
	"$(cut -d' ' -f1 <<<"$ACKED" | sort | uniq -d | wc -l)" 0

# The relay drains the queue: wait until every acknowledged ID is there.
ids=$(cut -d' ' -f1 <<<"$ACKED" | sort -u)
while :; do
	COPIES=$(sink_copies)
	missing=$(comm -23 <(echo "$ids") <(cut -d' ' -f1 <<<"$COPIES" | sort -u) | wc -l)
	((missing == 0 || SECONDS - start > 105)) && break
	sleep 1
done
check_eq "every acknowledged message reached the sink" "$missing" 0
check_eq "... with the queue ID its client was given" \
	"$(join <(sort <<<"$ACKED") <(cut -d' ' -f1,2 <<<"$COPIES" | sort -u) |
	   awk '$2 != $3' | wc -l)" 0

# Recovered queue IDs per restart: "K QID".
for ((k = 1; k <= KILLS; k++)); do
	grep -a ': recovered from=<' "$LAB_LOG_DIR/$LAB_TEST.sluiced.$k.log" |
		awk -v k="$k" '{ for (i = 1; i < NF; i++) if ($(i + 1) == "recovered") print k, $i }' |
		sed 's/:$//'
done >"$TMP/recovered"
diag "recovered at the restarts: $(for ((k = 1; k <= KILLS; k++)); do
	awk -v k="$k" '$1 == k' "$TMP/recovered" | wc -l; done | paste -sd/ -)," \
	"discarded: $(cat "$LAB_LOG_DIR/$LAB_TEST".sluiced.*.log | grep -ac ': discarded: ' || true)"

# Duplicates: between any two copies of a message lies a restart (its start
# after the sink settled) at which its queue ID was recovered — the
# delivery was in flight at the kill before it.
awk -v kills="${START_AT[*]:1}" '
	FNR == NR { rec[$1 " " $2] = 1; next }
	{ t[$1] = t[$1] " " $3; q[$1] = $2; n[$1]++ }
	END {
		nk = split(kills, at, " ")
		for (id in n) {
			if (n[id] < 2)
				continue
			dup++
			m = split(substr(t[id], 2), c, " ")
			asort_num(c, m)
			for (i = 1; i < m; i++) {
				why = 0
				for (k = 1; k <= nk && !why; k++)
					if (c[i] < at[k] && at[k] < c[i + 1] && ((k " " q[id]) in rec))
						why = k
				if (why)
					per[why]++
				else {
					bad++
					printf "# duplicate %s (%s): copies at %s and %s, restarts at %s," \
						" recovered at restart(s)", id, q[id], c[i], c[i + 1], kills
					for (k = 1; k <= nk; k++)
						if ((k " " q[id]) in rec)
							printf " %d", k
					print ""
				}
			}
		}
		printf "dups %d unexplained %d per_kill", dup, bad
		for (k = 1; k <= nk; k++)
			printf " %d", per[k]
		print ""
	}
	function asort_num(a, m,    i, j, x) {
		for (i = 2; i <= m; i++)
			for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
				x = a[j]; a[j] = a[j - 1]; a[j - 1] = x
			}
	}' "$TMP/recovered" - <<<"$COPIES" >"$TMP/dups"
grep '^#' "$TMP/dups" || true
read -r _ ndup _ unexplained _ per < <(grep '^dups' "$TMP/dups")
diag "copies at the sink: $(wc -l <<<"$COPIES"), duplicated messages: $ndup" \
	"(per kill: ${per// //}; at most 16 relay transactions are open at once)"
diag "delivered without a 250 (committed, the reply lost in the kill):" \
	"$(comm -13 <(echo "$ids") <(cut -d' ' -f1 <<<"$COPIES" | sort -u) | wc -l)"
check_eq "every duplicate was in flight at a kill (a restart lies between its copies, and recovered its ID)" \
	"$unexplained" 0
check_ge "past the 1 MiB memory budget, bodies were read back from the spool" \
	"$(stats_json | jq '.spool.disk_reads')" 1
diag "took $((SECONDS - start)) s"
sluiced_stop || true

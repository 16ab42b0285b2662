#!/usr/bin/env bash
# test_reload: configuration snapshots and running as a service.
#  - 200 SMTP sessions held open across a reload all finish with 250, under
#    the snapshot they started with (the EHLO hostname), and smtp-source's
#    400 messages sent meanwhile all get 250, while a new session sees the
#    new allow list and hostname;
#  - an invalid config and a restart-only change are refused, naming file,
#    line and key, and the version stays;
#  - `sluicectl allow add` admits 198.18.0.3 without a restart, `remove`
#    refuses it again, and smtp.allow_file on disk matches each time;
#  - SIGHUP reloads; SIGUSR1 reopens the --log file after it was moved;
#  - sd_notify: READY=1 reaches the NOTIFY_SOCKET the test listens on;
#  - the systemd unit passes `systemd-analyze verify`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/sl-test-reload.XXXXXX)
CONF=$TMP/sluice.conf
ALLOW=$TMP/allow.list
NOTIFY=$TMP/notify.sock
HOLD=$SL_ROOT/tests/lab/smtp_hold.py
LISTENER=

cleanup() {
	[[ -n $LISTENER ]] && kill "$LISTENER" 2>/dev/null
	rm -rf "$TMP"
	lab_exit
}

# write_conf HOSTNAME ALLOW-LIST [EXTRA]: the lab config with an SMTP service.
write_conf() {
	cp "$SL_ROOT/conf/lab.conf" "$CONF.new"
	cat >>"$CONF.new" <<-EOF2
	smtp = {
	  port = 25;
	  hostname = "$1";
	  allow = [$2];
	  allow_file = "$ALLOW";
	  ${3:-}
	};
	spool = { dir = "$TMP/spool"; segment_mb = 16; segments = 2; };
	EOF2
	mv "$CONF.new" "$CONF"
}

version() { ctl status --json | jq -r '.snapshot_version'; }

# greet_from ADDR: the first reply line a client at ADDR gets.
greet_from() {
	in_ns sl-in timeout 10 python3 -c '
import socket, sys
s = socket.create_connection(("198.18.0.1", 25), timeout=5, source_address=(sys.argv[1], 0))
print(s.makefile("rb").readline().decode().strip())' "$1" 2>&1 || true
}

lab_init
trap cleanup EXIT
T0=$SECONDS
for t in python3 smtp-source jq; do
	command -v "$t" >/dev/null || { not_ok "$t is installed"; exit 1; }
done

# --- sd_notify: a datagram listener stands in for systemd ---------------------
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    print(s.recv(4096).decode().replace("\n", " "), flush=True)' "$NOTIFY" >"$TMP/notify.out" &
LISTENER=$!
for _ in $(seq 50); do [[ -S $NOTIFY ]] && break; sleep 0.05; done

write_conf sluice.lab '"198.18.0.2"'
SLUICED_LOG=$TMP/sluiced.log
NOTIFY_SOCKET=$NOTIFY sluiced_start "$CONF" --log "$SLUICED_LOG"
for _ in $(seq 50); do grep -q READY=1 "$TMP/notify.out" && break; sleep 0.1; done
check_match "sd_notify: READY=1 with the config version" "$(cat "$TMP/notify.out")" \
	'READY=1 STATUS=serving, config version 1'

st=$(ctl status --json)
check_eq "status: snapshot version 1" "$(jq -r .snapshot_version <<<"$st")" 1
check_eq "status: 2 ports up" "$(jq -r .ports_up <<<"$st")" 2
check_eq "status: every worker alive" "$(jq -r .workers_alive <<<"$st")" "$(jq -r .nb_workers <<<"$st")"

# --- allow add / remove --------------------------------------------------------
check_match "198.18.0.3 is refused at first" "$(greet_from 198.18.0.3)" '^451 4\.7\.1'
check "sluicectl allow add 198.18.0.3" ctl_quiet allow add 198.18.0.3
check_match "... admits it without a restart" "$(greet_from 198.18.0.3)" '^220 sluice\.lab'
check_match "... the allow file holds it" "$(grep -v '^#' "$ALLOW" | paste -sd' ' -)" \
	'^198\.18\.0\.3/32$'
list=$(ctl allow list)
check_match "allow list: the config's entry" "$list" '^198\.18\.0\.2/32 +smtp\.allow$'
check_match "allow list: the file's entry" "$list" "^198\.18\.0\.3/32 +$ALLOW\$"
check_match "the log names who added it" "$(cat "$SLUICED_LOG")" \
	'allow add by uid 0 \(root\) pid [0-9]+: added 198\.18\.0\.3/32 to: version 1 -> 2'
out=$(ctl allow add 198.18.0.3 2>&1) || true
check_match "adding it twice is refused" "$out" 'already in'
check "sluicectl allow remove 198.18.0.3" ctl_quiet allow remove 198.18.0.3
check_match "... refuses it again" "$(greet_from 198.18.0.3)" '^451 4\.7\.1'
check_eq "... the allow file is empty" "$(grep -vc '^#' "$ALLOW" || true)" 0
out=$(ctl allow remove 198.18.0.2 2>&1) || true
check_match "an entry of the main config cannot be removed from the file" "$out" \
	'is in smtp\.allow of .*edit the config and reload'
check_eq "version after add and remove" "$(version)" 3

# --- a reload under 200 open sessions -------------------------------------------
in_ns sl-in python3 "$HOLD" 198.18.0.1 200 "$TMP/go" >"$TMP/hold.out" 2>&1 &
holder=$!
for _ in $(seq 300); do grep -q '^open' "$TMP/hold.out" && break; sleep 0.1; done
check_match "200 sessions open" "$(head -n1 "$TMP/hold.out")" '^open 200$'
# and mail flowing meanwhile: 20 more sessions sending 400 messages
before=$(stats_json | jq -r '.smtp.messages')
in_ns sl-in timeout 120 smtp-source -s 20 -m 400 -l 1024 -f load@lab.example \
	-t rcpt@example.com 198.18.0.1:25 >"$TMP/source.out" 2>&1 &
source=$!

write_conf sluice-v2.lab '"198.18.0.2", "198.18.0.3"' 'max_errors = 20;'
out=$(ctl reload 2>&1) && rc=0 || rc=$?
check_eq "sluicectl reload" "$rc" 0
check_match "... says what changed" "$out" 'version 3 -> 4: changed: smtp.hostname, smtp.allow, smtp limits'
check_match "a new session sees the new allow list and hostname" "$(greet_from 198.18.0.3)" \
	'^220 sluice-v2\.lab'
check_ge "the replaced snapshot stays while its sessions run" \
	"$(ctl status --json | jq -r '.snapshots_retired')" 1

good=$(cat "$CONF")
printf 'smtp = { port = 25; hostname = "broken.lab"; allow = ["198.18.0.300"]; };\n' >>"$CONF"
sed -i '/^smtp = {$/,/^};$/d' "$CONF"
out=$(ctl reload 2>&1) || true
check_match "an invalid config is refused with file, line and key" "$out" \
	"$CONF:[0-9]+: smtp\.allow"
check_eq "... and the version is unchanged" "$(version)" 4
check_match "... new sessions still see the running config" "$(greet_from 198.18.0.3)" \
	'^220 sluice-v2\.lab'
printf '%s\n' "$good" | sed 's/port = 25;/port = 2525;/' >"$CONF"
out=$(ctl reload 2>&1) || true
check_match "a restart-only change is refused, naming the key" "$out" \
	'needs a restart: smtp\.port/sessions'
check_eq "... version unchanged" "$(version)" 4
printf '%s\n' "$good" >"$CONF"

wait "$source" && rc=0 || rc=$?
check_eq "smtp-source sending across the reloads: exit status" "$rc" 0
check_eq "... all 400 messages got their 250" \
	"$(($(stats_json | jq -r '.smtp.messages') - before))" 400
touch "$TMP/go"
wait "$holder" || true
check_match "every held session finished with 250" "$(tail -n1 "$TMP/hold.out")" '^done 200 0$'
check_eq "... each under the hostname it started with" \
	"$(grep -c '^ok sluice\.lab [0-9A-F]\{16\}$' "$TMP/hold.out")" 200

# --- SIGHUP, SIGUSR1 ------------------------------------------------------------------
kill -HUP "$SLUICED_PID"
for _ in $(seq 50); do [[ $(version) == 5 ]] && break; sleep 0.1; done
check_eq "SIGHUP reloads" "$(version)" 5
check_match "... logged with the sender" "$(cat "$SLUICED_LOG")" 'reload by SIGHUP from pid [0-9]+: version 4 -> 5'
mv "$SLUICED_LOG" "$SLUICED_LOG.1"
kill -USR1 "$SLUICED_PID"
for _ in $(seq 50); do [[ -s $SLUICED_LOG ]] && break; sleep 0.1; done
check_match "SIGUSR1 reopens the log at its path" "$(cat "$SLUICED_LOG" 2>/dev/null)" 'log reopened'
check_match "... the old file kept the earlier lines" "$(cat "$SLUICED_LOG.1")" '^ready$'
check_eq "status: reloads counted" "$(ctl status --json | jq -r '.reloads')" 4
out=$(ctl config)
check_match "sluicectl config shows the version" "$out" "^# $CONF, config version 5, loaded "
check_match "... and the file's text" "$out" '^  hostname = "sluice-v2\.lab";$'
retired=
for _ in $(seq 30); do
	retired=$(ctl status --json | jq -r '.snapshots_retired')
	[[ $retired == 0 ]] && break
	sleep 0.1
done
check_eq "every replaced snapshot is freed once its sessions ended" "$retired" 0

# --- the systemd unit -----------------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
	sed "s|/usr/local/bin/sluiced|$SL_BUILD/sluiced|g; s|/usr/local/bin/sluicectl|$SLUICECTL|g" \
		"$SL_ROOT/dist/sluiced.service" >"$TMP/sluiced.service"
	out=$(systemd-analyze verify "$TMP/sluiced.service" 2>&1) && rc=0 || rc=$?
	[[ -n $out ]] && diag "systemd-analyze: $out"
	check_eq "systemd-analyze verify dist/sluiced.service" "$rc" 0
	check "... without a warning" test -z "$out"
else
	skip "systemd-analyze verify" "systemd-analyze is not installed"
fi
diag "test body: $((SECONDS - T0)) s"

# tests/lab/lib.sh: what every lab test shares.  Source it, then call
# lab_init: it takes root, brings the lab up, and installs a trap that on any
# exit stops the sluiced this test started (by PID: SIGTERM, SIGKILL after
# 10 s), takes the lab down and checks that nothing is left.  Assertions
# print `ok - ...` / `not ok - ...` and never abort the script; the test's
# exit status is 0 only if none failed (and the script itself did not fail).
#
#   source "$(dirname "$0")/lib.sh"
#   lab_init
#   sluiced_start            # conf/lab.conf, or sluiced_start PATH
#   check "gateway answers" in_ns sl-in ping -c 1 198.18.0.1
#
# SLUICE_BUILD selects the build directory (default: build at the repo root).

source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/tools/lib.sh"

SL_BUILD=${SLUICE_BUILD:-$SL_ROOT/build}
SLUICECTL=$SL_BUILD/tools/sluicectl
RAWINJECT=$SL_BUILD/tests/lab/rawinject
LAB=$SL_ROOT/tools/lab
SL_SOCK=${SLUICE_SOCKET:-/run/sluice/sluice.sock}
LAB_TEST=${LAB_TEST:-$(basename "$0" .sh)}  # names the logs
LAB_LOG_DIR=${LAB_LOG_DIR:-$SL_BUILD/test-logs}
SLUICED_LOG=$LAB_LOG_DIR/$LAB_TEST.sluiced.log
SLUICED_PID=
LAB_FAILS=0
LAB_PASSES=0
LAB_HUGEPAGES_BEFORE=

# --- assertions ------------------------------------------------------------

ok() { LAB_PASSES=$((LAB_PASSES + 1)); echo "ok - $*"; }
not_ok() { LAB_FAILS=$((LAB_FAILS + 1)); echo "not ok - $*"; }
skip() { echo "ok - $1 # SKIP ${2:-}"; }
diag() { echo "# $*"; }

# check DESC CMD...: ok if CMD exits 0.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
	return 0
}

# check_eq DESC GOT WANT / check_ge DESC GOT MIN (integers).
check_eq() {
	if [[ $2 =~ ^-?[0-9]+$ && $2 -eq $3 ]]; then ok "$1 ($2)"; else not_ok "$1: got '$2', want $3"; fi
}
check_ge() {
	if [[ $2 =~ ^-?[0-9]+$ && $2 -ge $3 ]]; then ok "$1 ($2 >= $3)"; else not_ok "$1: got '$2', want >= $3"; fi
}

# check_match DESC TEXT REGEX (extended regex, grep -E).
check_match() {
	if grep -Eq -- "$3" <<<"$2"; then ok "$1"; else not_ok "$1: no match for /$3/"; fi
}

# --- the lab and the daemon ----------------------------------------------------

in_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

lab_init() {
	sl_require_root
	mkdir -p "$LAB_LOG_DIR"
	sl_lab_lock
	# Another sluiced (a kept demo?) owns the lab: leave it alone.
	local other
	other=$(sl_sluiced_pids | paste -sd' ' -)
	if [[ -n $other ]]; then
		echo "not ok - no other sluiced runs (pid $other; tools/demo stop ends a demo)"
		exit 1
	fi
	LAB_HUGEPAGES_BEFORE=$(sl_hugepages_total)
	trap lab_exit EXIT
	trap 'echo "# interrupted"; exit 130' INT
	trap 'echo "# terminated"; exit 143' TERM
	for f in "$SL_BUILD/sluiced" "$SLUICECTL"; do
		[[ -x $f ]] || { not_ok "$f is built"; exit 1; }
	done
	"$LAB" up || { not_ok "tools/lab up"; exit 1; }
}

# sluiced_start [CONF [ARGS...]]: start sluiced, wait for `ready` (60 s).
# On failure the test ends (the trap cleans up).
sluiced_start() {
	local conf=${1:-$SL_ROOT/conf/lab.conf} rc=0
	shift || true
	sl_start_sluiced "$conf" "$SLUICED_LOG" "$@" || { not_ok "sluiced starts"; exit 1; }
	SLUICED_PID=$SL_SLUICED_PID
	diag "sluiced pid $SLUICED_PID, log $SLUICED_LOG"
	sl_wait_ready "$SLUICED_PID" "$SLUICED_LOG" 60 || rc=$?
	case $rc in
	0) ok "sluiced is ready" ;;
	1) not_ok "sluiced is ready: it exited"; sluiced_log_tail; exit 1 ;;
	*) not_ok "sluiced is ready: no 'ready' within 60 s"; sluiced_log_tail; exit 1 ;;
	esac
}

sluiced_alive() { [[ -n $SLUICED_PID ]] && sl_proc_alive "$SLUICED_PID"; }

# sluiced_stop: SIGTERM and wait; sets SL_STOP_STATUS / SL_STOP_SECONDS /
# SL_STOP_KILLED (see tools/lib.sh).  Forgets the PID.
sluiced_stop() {
	local rc=0
	[[ -n $SLUICED_PID ]] || return 0
	sl_stop_pid "$SLUICED_PID" 10 || rc=$?
	SLUICED_PID=
	return $rc
}

# PIDs of sluiced processes whose parent is this test's shell.
our_sluiced() {
	local p
	for p in $(sl_sluiced_pids); do
		[[ $(awk '{print $4}' "/proc/$p/stat" 2>/dev/null) == "$$" ]] && echo "$p"
	done
	return 0
}

# lab_relay_conf FILE DIR: conf/lab.conf with the tracking log in
# DIR/track.jsonl, the SMTP service for sl-in's first address and the
# spool in DIR/spool; the caller appends its relay section.
lab_relay_conf() {
	sed "s|^\(  socket = .*\)$|\1\n  track_log = \"$2/track.jsonl\";|" \
		"$SL_ROOT/conf/lab.conf" >"$1"
	cat >>"$1" <<EOF
smtp = { port = 25; hostname = "sluice.lab"; allow = ["198.18.0.2"]; };
spool = { dir = "$2/spool"; segment_mb = 16; segments = 2; };
EOF
}

sluiced_log_tail() {
	[[ -f $SLUICED_LOG ]] || return 0
	diag "last lines of $SLUICED_LOG:"
	tail -n "${1:-30}" "$SLUICED_LOG" | sed 's/^/#   /'
}

# lab_conf OUT CONTROL_LINE...: conf/lab.conf into OUT with the lines
# added to its control section (after "socket"); append other sections.
lab_conf() {
	local out=$1 add= l
	shift
	for l in "$@"; do add+="\n  $l"; done
	sed "s|^\(  socket = .*\)$|\1$add|" "$SL_ROOT/conf/lab.conf" >"$out"
}

ctl() { "$SLUICECTL" -s "$SL_SOCK" "$@"; }
ctl_quiet() { ctl "$@" >/dev/null; }

# stats_json: the stats result as compact JSON (empty on failure).
stats_json() { ctl stats --json 2>/dev/null | jq -c . 2>/dev/null; }

# port_stat PORT FIELD: a top-level counter of a port (rx_pkts, drops_total...)
port_stat() {
	stats_json | jq -r --arg p "$1" --arg f "$2" \
		'.ports[] | select(.name == $p) | .[$f] // "missing"'
}

# hw_stat PORT FIELD: the ethdev's own counters (imissed, ierrors).
hw_stat() {
	stats_json | jq -r --arg p "$1" --arg f "$2" \
		'.ports[] | select(.name == $p) | .hw[$f] // "missing"'
}

# drop_count PORT REASON
drop_count() {
	stats_json | jq -r --arg p "$1" --arg r "$2" \
		'.ports[] | select(.name == $p) | .drops[$r] // "missing"'
}

# wait_drop PORT REASON TARGET [SECONDS]: poll until the counter reaches
# TARGET (counters are read from the workers, so this is quick); echoes the
# last value read.
wait_drop() {
	local port=$1 reason=$2 target=$3 t=${4:-5} v start=$SECONDS
	while :; do
		v=$(drop_count "$port" "$reason")
		[[ $v =~ ^[0-9]+$ ]] && ((v >= target)) && break
		((SECONDS - start >= t)) && break
		sleep 0.1
	done
	echo "$v"
}

# ping_in NS ARGS...: runs ping in NS (120 s at most), shows its output;
# sets PING_RECEIVED, PING_LOSS (percent) and PING_OUT.
ping_in() {
	local ns=$1
	shift
	# (a flood ping's progress dots and backspaces are left out)
	PING_OUT=$(timeout 120 ip netns exec "$ns" ping "$@" 2>&1 | tr -d '\b') || true
	grep -v '^[. ]*$' <<<"$PING_OUT" | tail -n 25 | sed 's/^/#   /'
	PING_RECEIVED=$(sed -nE 's/.* ([0-9]+) (packets )?received.*/\1/p' <<<"$PING_OUT" | tail -n1)
	PING_LOSS=$(sed -nE 's/.* ([0-9.]+)% packet loss.*/\1/p' <<<"$PING_OUT" | tail -n1)
	: "${PING_RECEIVED:=0}" "${PING_LOSS:=100}"
}

# What of the lab is left; prints it, 0 if something is.
lab_leftovers() {
	local found=1 ns
	for ns in sl-in sl-out; do
		if ip netns list | grep -qw "^$ns"; then echo "namespace $ns"; found=0; fi
	done
	if ip -o link show | grep -Eq ': sl-(gw-in|gw-out|in0|out0)[@:]'; then
		ip -o link show | grep -Eo ': sl-(gw-in|gw-out|in0|out0)[@:]' | tr -d ':@ ' | sed 's/^/link /'
		found=0
	fi
	return $found
}

# --- the exit trap -----------------------------------------------------------------

lab_exit() {
	local status=$? left
	trap - EXIT INT TERM
	set +e
	if [[ -n $SLUICED_PID ]]; then
		if sluiced_alive; then
			diag "stopping sluiced (pid $SLUICED_PID)"
		fi
		sl_stop_pid "$SLUICED_PID" 10
		((SL_STOP_KILLED)) && not_ok "sluiced stopped on SIGTERM within 10 s (needed SIGKILL)"
		SLUICED_PID=
	fi
	"$LAB" down >/dev/null 2>&1 || not_ok "tools/lab down"
	if left=$(lab_leftovers); then
		not_ok "nothing of the lab is left: $(paste -sd, - <<<"$left")"
	fi
	if [[ -n $LAB_HUGEPAGES_BEFORE && $(sl_hugepages_total) != "$LAB_HUGEPAGES_BEFORE" ]]; then
		not_ok "HugePages_Total back to $LAB_HUGEPAGES_BEFORE (now $(sl_hugepages_total))"
	fi
	((status != 0 || LAB_FAILS > 0)) && sluiced_log_tail 20
	if ((status != 0 && LAB_FAILS == 0)); then
		echo "not ok - $LAB_TEST ended early (status $status)"
		LAB_FAILS=1
	fi
	echo "# $LAB_TEST: $LAB_PASSES passed, $LAB_FAILS failed"
	((LAB_FAILS == 0)) && exit 0
	exit 1
}

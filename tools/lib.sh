# tools/lib.sh: shell functions shared by tools/test, tools/demo and the lab
# tests (tests/lab/lib.sh): packages, builds, and starting and stopping the
# one sluiced process a script owns.  Source it from bash; it sets no options
# of the caller's shell and defines only sl_* names.

SL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SL_PACKAGES_FILE=$SL_ROOT/tools/packages.txt

sl_info() { printf '%s\n' "$*" >&2; }
sl_die() { printf '%s: %s\n' "${0##*/}" "$*" >&2; exit 1; }

sl_require_root() {
	[[ $(id -u) -eq 0 ]] || sl_die "must run as root"
}

# The packages of tools/packages.txt that are not installed, one a line.
# A line "PKG cmd=NAME" needs PKG only where no command NAME exists (npm:
# NodeSource's nodejs carries its own and conflicts with Debian's).
sl_missing_packages() {
	local p status rest
	while read -r p rest; do
		[[ -z $p || $p == \#* ]] && continue
		[[ $rest == cmd=* ]] && command -v "${rest#cmd=}" >/dev/null && continue
		status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || status=
		[[ $status == "install ok installed" ]] || printf '%s\n' "$p"
	done <"$SL_PACKAGES_FILE"
}

# Install what is missing; apt-get update only when something is.
sl_ensure_packages() {
	local missing
	command -v dpkg-query >/dev/null || sl_die "dpkg-query not found: this wants Debian 12"
	mapfile -t missing < <(sl_missing_packages)
	((${#missing[@]} == 0)) && return 0
	sl_require_root
	sl_info "installing: ${missing[*]}"
	apt-get update -q || return 1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" || return 1
}

# sl_build DIR [MESON-OPTION...]: configure DIR if it is not yet (the
# options, and CC from the environment, apply then), make sure the options
# hold if it is, and build it.  Output goes to stdout/stderr.
sl_build() {
	local dir=$1
	shift
	if [[ ! -f $dir/build.ninja ]]; then
		meson setup "$dir" "$SL_ROOT" "$@" || return 1
	elif (($# > 0)); then
		meson configure "$dir" "$@" || return 1
	fi
	ninja -C "$dir"
}

# True while PID runs (a zombie does not count).
sl_proc_alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != [ZX] ]]
}

# PIDs of every running sluiced, one a line (to look, never to kill).
sl_sluiced_pids() {
	local f p
	for f in /proc/[0-9]*/comm; do
		[[ $(cat "$f" 2>/dev/null) == sluiced ]] || continue
		p=${f#/proc/}
		p=${p%/comm}
		sl_proc_alive "$p" && echo "$p"
	done
	return 0
}

# sl_lab_lock: wait (up to SL_LAB_LOCK_WAIT s, default 3600) until no other
# lab user (a lab test, the demo, a benchmark) holds the lab, then hold it
# until this shell exits.  The lab's namespaces, veths and control socket
# have fixed names, so two users at once would break each other.
sl_lab_lock() {
	[[ -n ${SL_LAB_LOCKED:-} ]] && return 0
	mkdir -p /run/lock
	exec {SL_LAB_LOCK_FD}>/run/lock/sluice-lab.lock
	if ! flock -n "$SL_LAB_LOCK_FD"; then
		sl_info "waiting for the lab (another lab user holds /run/lock/sluice-lab.lock)"
		flock -w "${SL_LAB_LOCK_WAIT:-3600}" "$SL_LAB_LOCK_FD" || sl_die "the lab stayed busy"
	fi
	export SL_LAB_LOCKED=1
}

sl_hugepages_total() {
	awk '/^HugePages_Total:/ {print $2}' /proc/meminfo
}

# sl_start_sluiced CONF LOG [ARGS...]: start build/sluiced (with ARGS) in the
# background with its stdout and stderr in LOG (line-buffered, so `ready`
# shows at once); sets SL_SLUICED_PID.  SL_BUILD selects the build directory (default build).
# With SL_SETSID=1 it gets a session of its own (survives the terminal).
sl_start_sluiced() {
	local conf=$1 log=$2 bin=${SL_BUILD:-$SL_ROOT/build}/sluiced
	shift 2
	local -a pre=(stdbuf -oL -eL)
	[[ -x $bin ]] || { sl_info "no $bin: build first"; return 1; }
	[[ ${SL_SETSID:-0} == 1 ]] && pre=(setsid "${pre[@]}")
	# A simple command in the background: $! is the PID that execs sluiced
	# (setsid does not fork when the caller is not a group leader).
	"${pre[@]}" "$bin" -c "$conf" "$@" </dev/null >"$log" 2>&1 &
	SL_SLUICED_PID=$!
}

# sl_wait_ready PID LOG [TIMEOUT]: wait for a line `ready` in LOG.
# 0 ready; 1 the process ended; 2 timeout.
sl_wait_ready() {
	local pid=$1 log=$2 timeout=${3:-60} start=$SECONDS
	while ((SECONDS - start < timeout)); do
		grep -qx ready "$log" 2>/dev/null && return 0
		sl_proc_alive "$pid" || { grep -qx ready "$log" 2>/dev/null && return 0; return 1; }
		sleep 0.1
	done
	return 2
}

# sl_stop_pid PID [TIMEOUT]: SIGTERM, wait up to TIMEOUT s (default 10),
# then SIGKILL.  Sets SL_STOP_STATUS (its exit status when it is our child,
# else empty), SL_STOP_SECONDS, and SL_STOP_KILLED (1 if SIGKILL was needed).
# Returns 0 when it ended on SIGTERM in time.
sl_stop_pid() {
	local pid=$1 timeout=${2:-10} t0=$EPOCHREALTIME t1 st=0
	SL_STOP_STATUS= SL_STOP_KILLED=0
	kill -TERM "$pid" 2>/dev/null
	while sl_proc_alive "$pid"; do
		t1=$EPOCHREALTIME
		if (($(sl_elapsed_ms "$t0" "$t1") >= timeout * 1000)); then
			SL_STOP_KILLED=1
			kill -KILL "$pid" 2>/dev/null
			break
		fi
		sleep 0.05
	done
	t1=$EPOCHREALTIME
	SL_STOP_SECONDS=$(awk -v ms="$(sl_elapsed_ms "$t0" "$t1")" 'BEGIN {printf "%.2f", ms / 1000}')
	# Reap it if it is our child; wait answers 127 for a stranger.
	wait "$pid" 2>/dev/null || st=$?
	((st != 127)) && SL_STOP_STATUS=$st
	local n=0
	while sl_proc_alive "$pid" && ((n++ < 100)); do sleep 0.05; done
	((SL_STOP_KILLED == 0))
}

# Milliseconds between two $EPOCHREALTIME values.
sl_elapsed_ms() {
	local a=${1/[.,]/} b=${2/[.,]/}
	echo $(((10#$b - 10#$a) / 1000))
}

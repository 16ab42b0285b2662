#!/usr/bin/env bash
# test_ping: the foundation end to end.  sluiced on the lab's two veths
# answers ARP and ICMP echo for its own addresses, under a flood too, drops
# and counts what is not for it, reports it in `sluicectl stats`, stops
# cleanly on SIGTERM, and leaves nothing behind.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

lab_init
sluiced_start

diag "ping the inside address"
ping_in sl-in -c 20 -i 0.2 -W 2 198.18.0.1
check_eq "sl-in: 20 pings to 198.18.0.1 get 20 replies" "$PING_RECEIVED" 20

diag "flood ping the inside address"
ping_in sl-in -f -c 5000 -W 2 198.18.0.1
check_eq "sl-in: flood ping of 5000 gets 5000 replies" "$PING_RECEIVED" 5000
check_match "sl-in: flood ping reports 0% packet loss" "$PING_OUT" ' 0% packet loss'

diag "ping the outside address"
ping_in sl-out -c 5 -i 0.2 -W 2 198.18.1.1
check_eq "sl-out: 5 pings to 198.18.1.1 get 5 replies" "$PING_RECEIVED" 5

diag "ping across: the gateway must not route (yet), only count"
sent=10
before=$(drop_count inside ip_not_us)
ping_in sl-in -c "$sent" -i 0.2 -W 1 198.18.1.2
check_eq "sl-in: pings to 198.18.1.2 get no reply" "$PING_RECEIVED" 0
if [[ $before =~ ^[0-9]+$ ]]; then
	after=$(wait_drop inside ip_not_us $((before + sent)))
	check_ge "inside ip_not_us rises by the $sent pings sent" "$((after - before))" "$sent"
else
	not_ok "sluicectl --json stats has ports[inside].drops.ip_not_us (got '$before')"
fi

diag "sluicectl stats:"
human=$(ctl stats 2>&1) || true
sed 's/^/#   /' <<<"$human"
rx=$(awk '/^[^ ]/ { inport = ($1 == "port" && $2 == "inside") }
	  inport && $1 == "rx" { print $2; exit }' <<<"$human")
check_ge "sluicectl stats: inside rx packets" "${rx:-none}" 5025

diag "SIGTERM"
pid=$SLUICED_PID
sluiced_stop || true
if ((SL_STOP_KILLED)); then
	not_ok "sluiced exits within 10 s of SIGTERM (killed after ${SL_STOP_SECONDS}s)"
else
	ok "sluiced exits within 10 s of SIGTERM (${SL_STOP_SECONDS}s)"
fi
check_eq "sluiced exit status after SIGTERM" "${SL_STOP_STATUS:-unknown}" 0
check "no sluiced process of ours remains" test ! -e "/proc/$pid"
check_eq "no sluiced child of this test remains" "$(our_sluiced | wc -l)" 0

diag "lab down"
check "tools/lab down" "$LAB" down
left=$(lab_leftovers) || true
if [[ -z $left ]]; then
	ok "no sl-in/sl-out namespace and no sl-gw-* link left"
else
	not_ok "no sl-in/sl-out namespace and no sl-gw-* link left: $(paste -sd, - <<<"$left")"
fi
check_eq "HugePages_Total unchanged" "$(sl_hugepages_total)" "$LAB_HUGEPAGES_BEFORE"

#!/usr/bin/env bash
# test_malformed: crafted bad frames from sl-in (tests/lab/rawinject on
# sl-in0, to the gateway's MAC) each land in their own drop counter of the
# inside port, exactly once per frame; 5000 random frames crash nothing;
# afterwards the gateway still answers ping and stops cleanly.
#
# MALFORMED_COUNT (default 200) frames per kind, MALFORMED_RANDOM (5000)
# random ones with MALFORMED_SEED (default: random, printed).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

COUNT=${MALFORMED_COUNT:-200}
NRANDOM=${MALFORMED_RANDOM:-5000}
SEED=${MALFORMED_SEED:-$((RANDOM * 32768 + RANDOM))}

# rawinject KIND -> the drop reason it must be counted under.
KINDS=(runt-eth eth-not-us bad-ethertype runt-arp bad-arp arp-op arp-not-us
       runt-ip ip-version ip-ihl ip-cksum ip-len ip-frag ip-src ip-proto
       icmp-cksum icmp-runt icmp-type)
declare -A REASON=(
	[runt-eth]=eth_runt [eth-not-us]=eth_not_us [bad-ethertype]=eth_type
	[runt-arp]=arp_malformed [bad-arp]=arp_malformed [arp-op]=arp_op
	[arp-not-us]=arp_not_us [runt-ip]=ip_runt [ip-version]=ip_version
	[ip-ihl]=ip_ihl [ip-cksum]=ip_cksum [ip-len]=ip_len
	[ip-frag]=ip_fragment [ip-src]=ip_src [ip-proto]=ip_proto
	[icmp-cksum]=icmp_cksum [icmp-runt]=icmp_runt [icmp-type]=icmp_type
)

# What the af_packet lab cannot deliver to the gateway, and why.  Such a
# kind still runs: if its frames ever arrive, they must be counted exactly.
declare -A CANNOT_REACH=(
	[runt-eth]="the kernel refuses to send frames shorter than 14 bytes (AF_PACKET, dev_validate_header: EINVAL); unit tests cover eth_runt"
	[ip-frag]="DPDK's af_packet PMD puts its socket in a PACKET_FANOUT group with PACKET_FANOUT_FLAG_DEFRAG, so the kernel reassembles or holds IPv4 fragments before the PMD sees them; unit tests cover ip_fragment"
)

# inject KIND N [SEED]: run rawinject in sl-in; sets SENT and REFUSED.
inject() {
	local out rc=0
	out=$(in_ns sl-in "${PIN[@]}" "$RAWINJECT" sl-in0 "$GWMAC" "$@" 2>&1) || rc=$?
	SENT=$(sed -nE 's/^sent ([0-9]+) refused ([0-9]+)$/\1/p' <<<"$out")
	REFUSED=$(sed -nE 's/^sent ([0-9]+) refused ([0-9]+)$/\2/p' <<<"$out")
	if ((rc != 0)) || [[ -z $SENT ]]; then
		diag "rawinject $*: status $rc: $out"
		return 1
	fi
}

# The sender on CPU 0, away from the worker lcore (1 in conf/lab.conf): on
# two vCPUs a sender sharing the worker's CPU starves it, and the af_packet
# ring overflows (counted as hw imissed).
PIN=()
(($(nproc) >= 2)) && command -v taskset >/dev/null && PIN=(taskset -c 0)

lab_init
[[ -x $RAWINJECT ]] || { not_ok "$RAWINJECT is built"; exit 1; }
sluiced_start
GWMAC=$(cat /sys/class/net/sl-gw-in/address)
diag "gateway MAC (sl-gw-in) $GWMAC, $COUNT frames per kind"

ping_in sl-in -c 2 -i 0.2 -W 2 198.18.0.1
check_eq "sl-in: the gateway answers before the bad frames" "$PING_RECEIVED" 2

for kind in "${KINDS[@]}"; do
	reason=${REASON[$kind]}
	before=$(drop_count inside "$reason")
	rx_before=$(port_stat inside rx_pkts)
	if ! [[ $before =~ ^[0-9]+$ ]]; then
		not_ok "$kind: stats have ports[inside].drops.$reason (got '$before')"
		continue
	fi
	if ! inject "$kind" "$COUNT"; then
		not_ok "$kind: rawinject sends $COUNT frames"
		continue
	fi
	if [[ -n ${CANNOT_REACH[$kind]:-} ]]; then
		after=$(wait_drop inside "$reason" $((before + SENT)) 2)
	else
		after=$(wait_drop inside "$reason" $((before + SENT)))
	fi
	sleep 0.3 # anything counted twice shows up now
	after=$(drop_count inside "$reason")
	rx_after=$(port_stat inside rx_pkts)
	diag "$kind: sent $SENT refused $REFUSED, inside rx +$((rx_after - rx_before)), $reason +$((after - before))"
	if [[ -n ${CANNOT_REACH[$kind]:-} ]] && ((after == before)) &&
		((SENT == 0 || rx_after - rx_before < SENT)); then
		ok "$kind: none reached the gateway, $reason unchanged"
		skip "$kind: $reason rose by exactly $COUNT" "${CANNOT_REACH[$kind]}"
	else
		check_eq "$kind: inside $reason rose by exactly the $SENT frames" "$((after - before))" "$SENT"
	fi
	check "sluiced alive after $kind" sluiced_alive
done

diag "random frames: $NRANDOM, seed $SEED (MALFORMED_SEED=$SEED reproduces)"
before=$(port_stat inside drops_total)
rx_before=$(port_stat inside rx_pkts)
missed_before=$(hw_stat inside imissed)
if inject random "$NRANDOM" "$SEED"; then
	sleep 1
	after=$(port_stat inside drops_total)
	rx_after=$(port_stat inside rx_pkts)
	missed=$(($(hw_stat inside imissed) - missed_before))
	diag "random: sent $SENT refused $REFUSED, inside rx +$((rx_after - rx_before)), drops_total +$((after - before)), hw imissed +$missed"
	check_ge "random: inside drops_total rose" "$((after - before))" 1
	# Every frame the kernel delivers is dropped and counted, or counted as
	# missed when the af_packet ring overflowed; only VLAN-tagged frames
	# shorter than a tag may vanish in the kernel.
	check_ge "random: nearly every frame sent is counted as dropped (or missed)" \
		"$((after - before + missed))" $((SENT * 99 / 100))
else
	not_ok "random: rawinject sends $NRANDOM frames"
fi

check "sluiced is still running" sluiced_alive
ping_in sl-in -c 5 -i 0.2 -W 2 198.18.0.1
check_eq "sl-in: the gateway still answers ping" "$PING_RECEIVED" 5
check "sluicectl stats still answers" ctl_quiet stats

sluiced_stop || true
check_eq "sluiced exits with status 0 on SIGTERM (${SL_STOP_SECONDS}s)" "${SL_STOP_STATUS:-unknown}" 0

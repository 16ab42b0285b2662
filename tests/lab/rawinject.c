/*
 * rawinject: lab tool that owns crafting malformed and random Ethernet
 * frames and sending them out of one interface through an AF_PACKET raw
 * socket, so the lab tests can drive every drop path of the gateway's
 * receive side.  No DPDK.
 *
 *   rawinject IFACE DSTMAC KIND COUNT [SEED]
 *
 * Source MAC is IFACE's own; IPv4 frames go from 198.18.0.2 to 198.18.0.1.
 * Prints "sent N refused M" on its last line: frames the kernel refused
 * (EINVAL: it does not send frames shorter than an Ethernet header) are
 * counted as refused and not retried.  Exit status 0, 1 on a send error,
 * 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX   1514
#define ETH_LEN     14
#define IP_LEN      20
#define ICMP_LEN    8
#define ARP_LEN     28
#define ECHO_DATA   32
#define PACE_BURST  16        /* frames between pauses */
#define PACE_NS     500000    /* pause: keeps the receiver's rings from overflowing */

#define SRC_IP 0xc6120002u    /* 198.18.0.2 */
#define DST_IP 0xc6120001u    /* 198.18.0.1 */

struct ctx {
	uint8_t dst[6], src[6];
	uint64_t rng;
};

typedef size_t (*build_fn)(uint8_t *f, struct ctx *c, uint32_t i);

/* --- helpers ------------------------------------------------------------- */

static uint64_t rnd(struct ctx *c)
{
	/* xorshift64* */
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * 2685821657736338717ull;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }

static uint16_t cksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static size_t eth(uint8_t *f, const struct ctx *c, uint16_t type)
{
	memcpy(f, c->dst, 6);
	memcpy(f + 6, c->src, 6);
	put16(f + 12, type);
	return ETH_LEN;
}

/* A valid IPv4 header at IP (IHL 5) for PAYLOAD bytes of PROTO. */
static void ipv4(uint8_t *ip, uint8_t proto, size_t payload, uint32_t i,
		 uint32_t src)
{
	memset(ip, 0, IP_LEN);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(IP_LEN + payload));
	put16(ip + 4, (uint16_t)i);
	ip[8] = 64;
	ip[9] = proto;
	put32(ip + 12, src);
	put32(ip + 16, DST_IP);
	put16(ip + 10, cksum(ip, IP_LEN));
}

static void ip_recksum(uint8_t *ip)
{
	size_t hlen = (size_t)(ip[0] & 0x0f) * 4;

	put16(ip + 10, 0);
	put16(ip + 10, cksum(ip, hlen));
}

/* An ICMP message of TYPE/CODE with ECHO_DATA bytes, checksum right. */
static size_t icmp(uint8_t *p, uint8_t type, uint8_t code, uint32_t i)
{
	p[0] = type;
	p[1] = code;
	put16(p + 2, 0);
	put16(p + 4, 0x5a5a);          /* identifier */
	put16(p + 6, (uint16_t)i);     /* sequence */
	for (size_t k = 0; k < ECHO_DATA; k++)
		p[ICMP_LEN + k] = (uint8_t)(i + k);
	put16(p + 2, cksum(p, ICMP_LEN + ECHO_DATA));
	return ICMP_LEN + ECHO_DATA;
}

/* A well-formed echo request from SRC; the base of the IPv4 kinds. */
static size_t echo_from(uint8_t *f, struct ctx *c, uint32_t i, uint32_t src)
{
	size_t n = eth(f, c, ETHERTYPE_IP);
	size_t plen = icmp(f + n + IP_LEN, 8, 0, i);

	ipv4(f + n, 1, plen, i, src);
	return n + IP_LEN + plen;
}

static size_t echo(uint8_t *f, struct ctx *c, uint32_t i)
{
	return echo_from(f, c, i, SRC_IP);
}

/* An ARP packet (Ethernet/IPv4) from our MAC and 198.18.0.2. */
static size_t arp(uint8_t *f, struct ctx *c, uint16_t op, uint32_t tip)
{
	size_t n = eth(f, c, ETHERTYPE_ARP);
	uint8_t *a = f + n;

	put16(a, 1);                   /* hardware: Ethernet */
	put16(a + 2, ETHERTYPE_IP);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, c->src, 6);
	put32(a + 14, SRC_IP);
	memset(a + 18, 0, 6);
	put32(a + 24, tip);
	return n + ARP_LEN;
}

/* --- the kinds -------------------------------------------------------------- */

/* 1..1514 random bytes; half of them to DSTMAC. */
static size_t k_random(uint8_t *f, struct ctx *c, uint32_t i)
{
	size_t len = 1 + (size_t)(rnd(c) % FRAME_MAX);

	(void)i;
	for (size_t k = 0; k < len; k++)
		f[k] = (uint8_t)rnd(c);
	if (rnd(c) & 1)
		memcpy(f, c->dst, len < 6 ? len : 6);
	return len;
}

/* 1..13 bytes: less than an Ethernet header. */
static size_t k_runt_eth(uint8_t *f, struct ctx *c, uint32_t i)
{
	size_t len = 1 + i % (ETH_LEN - 1);

	eth(f, c, 0x88b5);
	return len;
}

/* Unicast to a MAC that is not the gateway's. */
static size_t k_eth_not_us(uint8_t *f, struct ctx *c, uint32_t i)
{
	size_t n = echo(f, c, i);

	f[5] ^= 0x01;
	f[0] &= (uint8_t)~0x01;        /* stays unicast */
	return n;
}

/* Neither ARP nor IPv4: local experimental, IPv6, LLDP, nonsense. */
static size_t k_bad_ethertype(uint8_t *f, struct ctx *c, uint32_t i)
{
	static const uint16_t types[] = {0x88b5, 0x86dd, 0x88cc, 0x1234};
	size_t n = eth(f, c, types[i % 4]);
	size_t body = i % 100;

	memset(f + n, 0xa5, body);
	return n + body;
}

/* ARP ethertype, 0..27 bytes of ARP. */
static size_t k_runt_arp(uint8_t *f, struct ctx *c, uint32_t i)
{
	arp(f, c, 1, DST_IP);
	return ETH_LEN + i % ARP_LEN;
}

/* Full-size ARP with a wrong hardware type (and, on turns, another
 * wrong field: protocol type, hardware or protocol address length). */
static size_t k_bad_arp(uint8_t *f, struct ctx *c, uint32_t i)
{
	size_t n = arp(f, c, 1, DST_IP);
	uint8_t *a = f + ETH_LEN;

	switch (i % 4) {
	case 0: put16(a, 6); break;              /* IEEE 802 */
	case 1: put16(a, 6); put16(a + 2, 0x86dd); break;
	case 2: put16(a, 6); a[4] = 8; break;
	default: put16(a, 6); a[5] = 16; break;
	}
	return n;
}

/* ARP opcode 3..: neither request nor reply. */
static size_t k_arp_op(uint8_t *f, struct ctx *c, uint32_t i)
{
	return arp(f, c, (uint16_t)(3 + i % 8), DST_IP);
}

/* A request for 198.18.0.77, which nobody owns. */
static size_t k_arp_not_us(uint8_t *f, struct ctx *c, uint32_t i)
{
	(void)i;
	return arp(f, c, 1, 0xc612004du);
}

/* IPv4 ethertype, 0..19 bytes of header. */
static size_t k_runt_ip(uint8_t *f, struct ctx *c, uint32_t i)
{
	echo(f, c, i);
	return ETH_LEN + i % IP_LEN;
}

/* Version 6 in an IPv4 ethertype. */
static size_t k_ip_version(uint8_t *f, struct ctx *c, uint32_t i)
{
	size_t n = echo(f, c, i);

	f[ETH_LEN] = 0x65;
	ip_recksum(f + ETH_LEN);
	return n;
}

/* IHL 3 (a 12-byte header); on odd turns IHL 15 past the packet's end. */
static size_t k_ip_ihl(uint8_t *f, struct ctx *c, uint32_t i)
{
	size_t n = echo(f, c, i);

	if (i & 1) {
		f[ETH_LEN] = 0x4f;
		return ETH_LEN + IP_LEN + ICMP_LEN + 4;   /* 32 < 60 bytes of header */
	}
	f[ETH_LEN] = 0x43;
	return n;
}

/* Header checksum wrong. */
static size_t k_ip_cksum(uint8_t *f, struct ctx *c, uint32_t i)
{
	size_t n = echo(f, c, i);

	f[ETH_LEN + 11] ^= 0xff;
	return n;
}

/* Total length past the frame (odd turns: shorter than the header). */
static size_t k_ip_len(uint8_t *f, struct ctx *c, uint32_t i)
{
	size_t n = echo(f, c, i);
	uint8_t *ip = f + ETH_LEN;

	put16(ip + 2, (i & 1) ? (uint16_t)(i % IP_LEN)
			      : (uint16_t)(n - ETH_LEN + 1 + i % 100));
	ip_recksum(ip);
	return n;
}

/* A fragment: MF set (odd turns: a last fragment with an offset). */
static size_t k_ip_frag(uint8_t *f, struct ctx *c, uint32_t i)
{
	size_t n = echo(f, c, i);
	uint8_t *ip = f + ETH_LEN;

	put16(ip + 6, (i & 1) ? (uint16_t)(1 + i % 100) : 0x2000);
	ip_recksum(ip);
	return n;
}

/* Sources no neighbour sends from: 0.0.0.0, loopback, multicast, the
 * subnet broadcast, the gateway's own address. */
static size_t k_ip_src(uint8_t *f, struct ctx *c, uint32_t i)
{
	static const uint32_t srcs[] = {0x00000000u, 0x7f000001u, 0xe0000001u,
					0xc61200ffu, DST_IP, 0xffffffffu};

	return echo_from(f, c, i, srcs[i % 6]);
}

/* UDP (protocol 17) to 198.18.0.1 port 9. */
static size_t k_ip_proto(uint8_t *f, struct ctx *c, uint32_t i)
{
	size_t n = eth(f, c, ETHERTYPE_IP);
	uint8_t *u = f + n + IP_LEN;
	size_t ulen = 8 + 16;

	put16(u, (uint16_t)(40000 + i % 1000));
	put16(u + 2, 9);
	put16(u + 4, (uint16_t)ulen);
	put16(u + 6, 0);               /* no checksum */
	memset(u + 8, 'u', 16);
	ipv4(f + n, 17, ulen, i, SRC_IP);
	return n + IP_LEN + ulen;
}

/* Echo request with a wrong ICMP checksum. */
static size_t k_icmp_cksum(uint8_t *f, struct ctx *c, uint32_t i)
{
	size_t n = echo(f, c, i);

	f[ETH_LEN + IP_LEN + 2] ^= 0xff;
	return n;
}

/* ICMP shorter than its 8-byte header: 0..7 bytes. */
static size_t k_icmp_runt(uint8_t *f, struct ctx *c, uint32_t i)
{
	size_t n = eth(f, c, ETHERTYPE_IP);
	size_t plen = i % ICMP_LEN;

	memset(f + n + IP_LEN, 8, plen);
	ipv4(f + n, 1, plen, i, SRC_IP);
	return n + IP_LEN + plen;
}

/* ICMP other than an echo request: echo reply, timestamp, code 1 echo. */
static size_t k_icmp_type(uint8_t *f, struct ctx *c, uint32_t i)
{
	static const uint8_t type[] = {0, 13, 8}, code[] = {0, 0, 1};
	size_t n = eth(f, c, ETHERTYPE_IP);
	size_t plen = icmp(f + n + IP_LEN, type[i % 3], code[i % 3], i);

	ipv4(f + n, 1, plen, i, SRC_IP);
	return n + IP_LEN + plen;
}

/* A TCP SYN to 198.18.0.1:7 from a spoofed 198.18.0.100-199 and a random
 * port: one frame of a SYN flood (checksums right). */
static size_t k_tcp_syn(uint8_t *f, struct ctx *c, uint32_t i)
{
	size_t n = eth(f, c, ETHERTYPE_IP);
	uint8_t *t = f + n + IP_LEN, pseudo[12 + 20];
	uint32_t src = 0xc6120064u + (uint32_t)(rnd(c) % 100);

	memset(t, 0, 20);
	put16(t, (uint16_t)(1024 + rnd(c) % 64000));
	put16(t + 2, 7);
	put32(t + 4, (uint32_t)rnd(c));
	t[12] = 5 << 4;
	t[13] = 0x02;                  /* SYN */
	put16(t + 14, 64240);
	put32(pseudo, src);
	put32(pseudo + 4, DST_IP);
	put16(pseudo + 8, 6);
	put16(pseudo + 10, 20);
	memcpy(pseudo + 12, t, 20);
	put16(t + 16, cksum(pseudo, sizeof(pseudo)));
	ipv4(f + n, 6, 20, i, src);
	return n + IP_LEN + 20;
}

static const struct kind {
	const char *name;
	build_fn build;
	const char *help;
} kinds[] = {
	{"random", k_random, "1..1514 random bytes, half to DSTMAC"},
	{"runt-eth", k_runt_eth, "shorter than an Ethernet header"},
	{"eth-not-us", k_eth_not_us, "unicast to another MAC"},
	{"bad-ethertype", k_bad_ethertype, "neither ARP nor IPv4"},
	{"runt-arp", k_runt_arp, "ARP shorter than 28 bytes"},
	{"bad-arp", k_bad_arp, "ARP with a wrong hardware type"},
	{"arp-op", k_arp_op, "ARP opcode neither request nor reply"},
	{"arp-not-us", k_arp_not_us, "ARP request for 198.18.0.77"},
	{"runt-ip", k_runt_ip, "IPv4 shorter than its header"},
	{"ip-version", k_ip_version, "version 6 in an IPv4 ethertype"},
	{"ip-ihl", k_ip_ihl, "IHL 3, or past the packet"},
	{"ip-cksum", k_ip_cksum, "wrong header checksum"},
	{"ip-len", k_ip_len, "total length inconsistent with the frame"},
	{"ip-frag", k_ip_frag, "a fragment"},
	{"ip-src", k_ip_src, "a source no neighbour has"},
	{"ip-proto", k_ip_proto, "UDP to 198.18.0.1"},
	{"icmp-cksum", k_icmp_cksum, "echo request with a bad ICMP checksum"},
	{"icmp-runt", k_icmp_runt, "ICMP shorter than its header"},
	{"icmp-type", k_icmp_type, "ICMP other than echo request"},
	{"tcp-syn", k_tcp_syn, "SYN to port 7 from spoofed 198.18.0.100-199"},
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* --- main ------------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out, "usage: rawinject IFACE DSTMAC KIND COUNT [SEED]\nkinds:\n");
	for (size_t k = 0; k < NKINDS; k++)
		fprintf(out, "  %-14s %s\n", kinds[k].name, kinds[k].help);
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5], &end) != 6)
		return -1;
	for (int k = 0; k < 6; k++) {
		if (v[k] > 0xff)
			return -1;
		mac[k] = (uint8_t)v[k];
	}
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno != 0 || end == s || *end != '\0' || s[0] == '-' ? -1 : 0;
}

/* A raw socket bound to IFACE (protocol 0: it receives nothing); its MAC
 * into MAC. */
static int open_iface(const char *ifname, uint8_t mac[6])
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET};
	struct ifreq ifr;
	int fd = socket(AF_PACKET, SOCK_RAW, 0);

	if (fd < 0) {
		perror("rawinject: socket(AF_PACKET)");
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	if (strlen(ifname) >= sizeof(ifr.ifr_name)) {
		fprintf(stderr, "rawinject: interface name too long: %s\n", ifname);
		goto fail;
	}
	strcpy(ifr.ifr_name, ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		fprintf(stderr, "rawinject: %s: %s\n", ifname, strerror(errno));
		goto fail;
	}
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "rawinject: bind %s: %s\n", ifname, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static void pause_ns(long ns)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = ns};

	nanosleep(&ts, NULL);
}

/* Send one frame; retry while the kernel is out of buffers.  1 sent,
 * 0 refused (EINVAL: too short for the device), -1 error. */
static int send_frame(int fd, const uint8_t *f, size_t len)
{
	for (int tries = 0;; tries++) {
		if (send(fd, f, len, 0) == (ssize_t)len)
			return 1;
		if (errno == EINVAL)
			return 0;
		if ((errno != ENOBUFS && errno != EAGAIN && errno != EINTR) || tries >= 1000) {
			fprintf(stderr, "rawinject: send %zu bytes: %s\n", len, strerror(errno));
			return -1;
		}
		pause_ns(PACE_NS);
	}
}

int main(int argc, char **argv)
{
	static uint8_t frame[FRAME_MAX];
	const struct kind *kind = NULL;
	struct ctx c;
	uint64_t count, seed = 1, sent = 0, refused = 0;
	int fd;

	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc < 5 || argc > 6) {
		usage(stderr);
		return 2;
	}
	for (size_t k = 0; k < NKINDS; k++)
		if (strcmp(argv[3], kinds[k].name) == 0)
			kind = &kinds[k];
	if (parse_mac(argv[2], c.dst) < 0 || kind == NULL ||
	    parse_u64(argv[4], &count) < 0 || count > UINT32_MAX ||
	    (argc == 6 && parse_u64(argv[5], &seed) < 0)) {
		fprintf(stderr, "rawinject: bad %s\n",
			kind == NULL ? "KIND" : "DSTMAC, COUNT or SEED");
		usage(stderr);
		return 2;
	}
	c.rng = seed * 0x9e3779b97f4a7c15ull + 1;   /* never 0 */
	fd = open_iface(argv[1], c.src);
	if (fd < 0)
		return 1;
	for (uint32_t i = 0; i < count; i++) {
		size_t len;
		int rc;

		memset(frame, 0, sizeof(frame));
		len = kind->build(frame, &c, i);
		rc = send_frame(fd, frame, len);
		if (rc < 0)
			break;
		if (rc == 0)
			refused++;
		else
			sent++;
		if ((i + 1) % PACE_BURST == 0)
			pause_ns(PACE_NS);
	}
	close(fd);
	if (refused > 0)
		fprintf(stderr, "rawinject: the kernel refused %" PRIu64 " frame(s) "
			"shorter than %s's header (EINVAL)\n", refused, argv[1]);
	printf("sent %" PRIu64 " refused %" PRIu64 "\n", sent, refused);
	return sent + refused == count ? 0 : 1;
}

/*
 * port: bringing up one configured port — a PCI device or a vdev (af_packet,
 * tap, memif, ring) — with one RX/TX queue pair per worker, RSS across them
 * when the device supports it, and the checksum offloads it offers.  Also
 * turns the config's port list into the EAL arguments that create them.
 */
#ifndef SLUICE_DRIVERS_PORT_H
#define SLUICE_DRIVERS_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mempool.h>

#include <rte_ethdev.h>

#include "control/config.h"

#define PORT_RSS_KEY_MAX 64

struct port_info {
	uint16_t port_id;
	struct rte_ether_addr mac;
	bool rx_ip_cksum;   /* RX IPv4 checksum offload enabled */
	bool tx_ip_cksum;   /* TX IPv4 checksum offload enabled */
	bool tx_tcp_cksum;  /* TX TCP checksum offload enabled */
	bool rss;           /* RSS spreads flows over the queues */
	/* What the port really hashes with, read back after start (design.md
	 * §4: never trust the defaults); rss_known false if it cannot say. */
	bool rss_known;
	uint8_t rss_key_len;
	uint8_t rss_key[PORT_RSS_KEY_MAX];
	uint16_t reta_size;
	uint16_t reta[RTE_ETH_RSS_RETA_SIZE_512];
};

/* Append to ARGV (holding *ARGC of at most MAX) the EAL argument that
 * creates or allows each port's device.  Returns 0 or -E2BIG.  The added
 * strings are owned by the caller (free them after rte_eal_cleanup). */
int port_eal_args(const struct conf *conf, int *argc, char **argv, int max);

/* Configure and start the port for conf port P with NB_QUEUES queue
 * pairs.  Writes a reason into err on failure. */
int port_start(const struct conf_port *p, uint16_t nb_queues,
	       struct rte_mempool *pool, struct port_info *out,
	       char *err, size_t errlen);

/* Wait until the link is up, at most TIMEOUT_MS.  Returns true if up. */
bool port_wait_link(uint16_t port_id, unsigned timeout_ms);

void port_stop(uint16_t port_id);

#endif

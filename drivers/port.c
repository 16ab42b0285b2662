/*
 * port: ethdev bring-up — see port.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>

#include "drivers/port.h"

/* A vdev string starts with its driver name ("net_af_packet0,iface=..."). */
static bool is_vdev(const char *device)
{
	return strncmp(device, "net_", 4) == 0;
}

int port_eal_args(const struct conf *conf, int *argc, char **argv, int max)
{
	for (unsigned i = 0; i < conf->nb_ports; i++) {
		const char *dev = conf->ports[i].device;
		char *arg;

		if (*argc >= max)
			return -E2BIG;
		if (asprintf(&arg, "%s%s", is_vdev(dev) ? "--vdev=" : "--allow=",
			     dev) < 0)
			return -ENOMEM;
		argv[(*argc)++] = arg;
	}
	argv[*argc] = NULL;
	return 0;
}

/* The ethdev name of a device: the vdev name before its arguments, or
 * the PCI address. */
static int find_port(const char *device, uint16_t *port_id)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	size_t n = strcspn(device, ",");

	if (n >= sizeof(name))
		return -ENAMETOOLONG;
	memcpy(name, device, n);
	name[n] = '\0';
	return rte_eth_dev_get_port_by_name(name, port_id);
}

static void pick_offloads(const struct rte_eth_dev_info *di,
			  struct rte_eth_conf *ec, struct port_info *out)
{
	out->rx_ip_cksum = di->rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
	out->tx_ip_cksum = di->tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
	out->tx_tcp_cksum = di->tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
	if (out->rx_ip_cksum)
		ec->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
	if (out->tx_ip_cksum)
		ec->txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
	if (out->tx_tcp_cksum)
		ec->txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
}

static void pick_rss(const struct rte_eth_dev_info *di, uint16_t nb_queues,
		     struct rte_eth_conf *ec, struct port_info *out)
{
	uint64_t hf = di->flow_type_rss_offloads &
		      (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP);

	out->rss = nb_queues > 1 && hf != 0;
	if (!out->rss)
		return;
	ec->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	ec->rx_adv_conf.rss_conf.rss_hf = hf;
}

static int setup_queues(uint16_t pid, uint16_t nb_queues,
			const struct conf_port *p, struct rte_mempool *pool,
			const struct rte_eth_conf *ec)
{
	uint16_t rxd = p->rx_desc, txd = p->tx_desc;
	int sock = rte_eth_dev_socket_id(pid);
	int rc = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &rxd, &txd);

	for (uint16_t q = 0; rc == 0 && q < nb_queues; q++) {
		struct rte_eth_rxconf rxc = {.offloads = ec->rxmode.offloads};
		struct rte_eth_txconf txc = {.offloads = ec->txmode.offloads};

		rc = rte_eth_rx_queue_setup(pid, q, rxd, sock, &rxc, pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(pid, q, txd, sock, &txc);
	}
	return rc;
}

/* The RSS key and redirection table the started port really uses. */
static void read_rss(uint16_t pid, const struct rte_eth_dev_info *di,
		     struct port_info *out)
{
	struct rte_eth_rss_conf rc = {.rss_key = out->rss_key,
				      .rss_key_len = PORT_RSS_KEY_MAX};
	struct rte_eth_rss_reta_entry64 reta[RTE_ETH_RSS_RETA_SIZE_512 /
					     RTE_ETH_RETA_GROUP_SIZE];
	uint16_t size = di->reta_size;

	if (size == 0 || size > RTE_ETH_RSS_RETA_SIZE_512 ||
	    di->hash_key_size > PORT_RSS_KEY_MAX ||
	    rte_eth_dev_rss_hash_conf_get(pid, &rc) < 0)
		return;
	for (unsigned i = 0; i < RTE_DIM(reta); i++)
		reta[i].mask = UINT64_MAX;
	if (rte_eth_dev_rss_reta_query(pid, reta, size) < 0)
		return;
	for (uint16_t i = 0; i < size; i++)
		out->reta[i] = reta[i / RTE_ETH_RETA_GROUP_SIZE]
				       .reta[i % RTE_ETH_RETA_GROUP_SIZE];
	out->rss_key_len = rc.rss_key_len;
	out->reta_size = size;
	out->rss_known = true;
}

int port_start(const struct conf_port *p, uint16_t nb_queues,
	       struct rte_mempool *pool, struct port_info *out,
	       char *err, size_t errlen)
{
	struct rte_eth_conf ec = {0};
	struct rte_eth_dev_info di;
	uint16_t pid;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = find_port(p->device, &pid)) < 0) {
		snprintf(err, errlen, "port %s: no device %s", p->name, p->device);
		return rc;
	}
	out->port_id = pid;
	if ((rc = rte_eth_dev_info_get(pid, &di)) < 0)
		goto fail;
	if (di.max_rx_queues < nb_queues || di.max_tx_queues < nb_queues) {
		snprintf(err, errlen,
			 "port %s: %u workers need %u queue pairs, the device has %u "
			 "(for af_packet add qpairs=%u)", p->name, nb_queues,
			 nb_queues, di.max_rx_queues, nb_queues);
		return -EINVAL;
	}
	pick_offloads(&di, &ec, out);
	pick_rss(&di, nb_queues, &ec, out);
	if ((rc = rte_eth_dev_configure(pid, nb_queues, nb_queues, &ec)) < 0 ||
	    (rc = setup_queues(pid, nb_queues, p, pool, &ec)) < 0 ||
	    (rc = rte_eth_macaddr_get(pid, &out->mac)) < 0)
		goto fail;
	if ((rc = rte_eth_dev_start(pid)) < 0)
		goto fail;
	if (out->rss)
		read_rss(pid, &di, out);
	return 0;
fail:
	snprintf(err, errlen, "port %s (%s): %s", p->name, p->device,
		 rte_strerror(-rc));
	return rc;
}

bool port_wait_link(uint16_t port_id, unsigned timeout_ms)
{
	for (unsigned waited = 0;; waited += 100) {
		struct rte_eth_link link;

		if (rte_eth_link_get_nowait(port_id, &link) == 0 &&
		    link.link_status == RTE_ETH_LINK_UP)
			return true;
		if (waited >= timeout_ms)
			return false;
		rte_delay_ms(100);
	}
}

void port_stop(uint16_t port_id)
{
	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
}

/*
 * test_msink: sluice-bench's memif sink (lg_msink) on our TCP — its
 * listener on one stack of the TCP harness, a client on the other sending
 * a pipelined SMTP dialog: the exact replies, the message counted with its
 * size (a body far larger than the session's input buffer and TCP's
 * window), and the close after QUIT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "bench/loadgen/lg_msink.h"
#include "tests/unit/suites.h"
#include "tests/unit/tcp_harness.h"

#define SEC 1000000ull
#define BODY_LINES 4000           /* 4000 × 50 octets: 200,000, 12× the input buffer */

static struct rte_mempool *pool;
static struct harness h;
static struct h_app cli;
static struct lg_msink *k;

static int suite_init(void)
{
	pool = rte_pktmbuf_pool_create("test_msink", 8191, 256, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	return pool == NULL ? -1 : 0;
}

static int suite_fini(void)
{
	rte_mempool_free(pool);
	return 0;
}

/* h_run_until's condition, which also runs the sink's poll as the poll
 * loop would; done once the client saw the connection close. */
static bool poll_until_closed(void *arg)
{
	(void)arg;
	lg_msink_poll(k, h.now);
	return h_app_saw(&cli, TCP_EV_CLOSED, NULL);
}

static void test_dialog(void)
{
	static const char head[] =
		"EHLO client.test\r\n"
		"MAIL FROM:<a@client.test>\r\n"
		"RCPT TO:<b@example.com>\r\n"
		"RCPT TO:<c@example.com>\r\n"
		"DATA\r\n";
	static const char line[] = "0123456789012345678901234567890123456789012345\r\n";
	static const char tail[] = ".\r\nQUIT\r\n";
	size_t len = strlen(head) + BODY_LINES * strlen(line) + strlen(tail), off = 0;
	uint8_t *tx = malloc(len);
	struct tcp_stack_conf conf;
	const struct sink_stats *st;
	char *rx;

	CU_ASSERT_FATAL(tx != NULL);
	memcpy(tx, head, strlen(head));
	off = strlen(head);
	for (int i = 0; i < BODY_LINES; i++, off += strlen(line))
		memcpy(tx + off, line, strlen(line));
	memcpy(tx + off, tail, strlen(tail));

	tcp_stack_conf_default(&conf);
	conf.sndbuf = conf.rcvbuf = 65536;
	CU_ASSERT_FATAL(h_init(&h, pool, &conf, NULL, NULL) == 0);
	CU_ASSERT_FATAL(lg_msink_new(h.side[1].s, H_ADDR_B, 25, &k) == 0);
	h_app_init(&cli, 4096);
	cli.tx = tx;
	cli.tx_len = len;
	cli.close_after_tx = true;      /* FIN after QUIT: the close completes */
	CU_ASSERT_FATAL(h_connect(&h, 0, 25, &cli) != NULL);
	CU_ASSERT(h_run_until(&h, 30 * SEC, poll_until_closed, NULL));

	st = lg_msink_stats(k);
	CU_ASSERT_EQUAL(st->conns, 1);
	CU_ASSERT_EQUAL(st->msgs, 1);
	CU_ASSERT_EQUAL(st->rcpts, 2);
	CU_ASSERT_EQUAL(st->bytes, (uint64_t)BODY_LINES * strlen(line));
	CU_ASSERT(lg_msink_last_us(k) != 0);
	rx = strndup((const char *)cli.rx, cli.rx_len);
	CU_ASSERT_FATAL(rx != NULL);
	CU_ASSERT_NSTRING_EQUAL(rx, "220 sink.test", 13);
	CU_ASSERT_PTR_NOT_NULL(strstr(rx, "\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
					  "250 2.1.5 Ok\r\n354 "));
	CU_ASSERT_PTR_NOT_NULL(strstr(rx, "250 2.0.0 Ok: queued as S000001\r\n221 "));
	free(rx);

	lg_msink_free(k);
	k = NULL;
	h_run(&h, 2 * SEC);
	h_fini(&h);
	h_app_fini(&cli);
	free(tx);
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(pool), 0);
}

void test_msink_register(void)
{
	CU_pSuite s = CU_add_suite("msink", suite_init, suite_fini);

	if (s == NULL)
		return;
	CU_add_test(s, "a pipelined dialog with a 200 KB body, then QUIT", test_dialog);
}

/*
 * fuzz_config: libFuzzer target for control/config.  Any bytes, as the
 * text of a config file, go through conf_load_string(); a config that
 * loads goes to conf_free().  Besides memory errors it checks the
 * contract callers rely on: a failure is one "fuzz.conf:LINE: KEY: ..."
 * line and leaves the struct empty, a success holds only values in range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/config.h"

#define FUZZ_NAME "fuzz.conf"

/*
 * libconfig 1.5 leaks a string token that a syntax error discards
 * (hyperrealm/libconfig#142, fixed upstream by PR #155).  Suppressed here:
 * our own leaks never have libconfig on the stack.  Each such input still
 * costs a full leak scan, ~40x slower, so run long sessions with
 * -detect_leaks=0 and let the corpus replay (meson test --suite fuzz,
 * leak checks on) and the unit tests catch leaks of ours:
 *   fuzz_config -detect_leaks=0 -max_total_time=600 CORPUS_COPY
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

static void check_failure(const struct conf *c, const char *err)
{
	const char *line = err + strlen(FUZZ_NAME ":");

	if (strncmp(err, FUZZ_NAME ":", strlen(FUZZ_NAME ":")) != 0 ||
	    strchr(err, '\n') != NULL || c->eal_argc != 0 || c->nb_ports != 0)
		abort();
	/* LINE, then ": KEY: message" */
	if (*line < '0' || *line > '9' || strstr(line, ": ") == NULL ||
	    strstr(strstr(line, ": ") + 2, ": ") == NULL)
		abort();
}

static int bad_ring(uint16_t n)
{
	return n < 64 || n > 4096 || (n & (n - 1)) != 0;
}

static void check_port(const struct conf_port *p)
{
	uint32_t mask;

	if (p->name[0] == '\0' || p->device[0] == '\0' || p->prefix < 1 ||
	    p->prefix > 32 || bad_ring(p->rx_desc) || bad_ring(p->tx_desc))
		abort();
	mask = ~0u << (32 - p->prefix);
	if (p->gateway != 0 &&
	    (((p->gateway ^ p->addr) & mask) != 0 || p->gateway == p->addr))
		abort();
}

static void check_success(const struct conf *c)
{
	if (c->eal_argc < 1 || c->eal_argc > CONF_MAX_EAL_ARGS ||
	    strcmp(c->eal_argv[0], "sluiced") != 0 || c->nb_ports < 1 ||
	    c->nb_ports > CONF_MAX_PORTS || c->ctl_socket[0] == '\0' ||
	    c->mbufs < 1023 || c->arp_timeout_s < 1 || c->arp_entries_max < 16)
		abort();
	for (int i = 1; i < c->eal_argc; i++)
		if (c->eal_argv[i] == NULL || c->eal_argv[i][0] == '\0')
			abort();
	for (unsigned i = 0; i < c->nb_ports; i++)
		check_port(&c->ports[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CONF_ERR_LEN];
	char *text = malloc(size + 1);
	struct conf c;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (conf_load_string(text, FUZZ_NAME, &c, err, sizeof(err)) == 0) {
		check_success(&c);
		conf_free(&c);
	} else {
		check_failure(&c, err);
	}
	free(text);
	return 0;
}

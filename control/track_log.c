/*
 * track_log: tracking events to the JSON-lines log, the text log and the
 * in-memory index — see track_log.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "control/json_out.h"
#include "control/track_log.h"
#include "dataplane/queue/queue_map.h"
#include "dataplane/spool/spool_qid.h"

#define POLL_BURST 64
#define TEXT_BUF   (64u << 10)   /* text lines gathered for one write */
#define PATH_MAX_LEN 4096

struct track_log {
	struct track_log_conf conf;
	char path[PATH_MAX_LEN];
	FILE *file;
	uint64_t file_bytes;
	bool dirty;
	struct track_msg *idx;     /* ring of index_max, oldest at start */
	uint32_t start, n;
	struct queue_map map;      /* qid → slot in idx */
	struct track_log_stats stats;
	struct track_event ev[POLL_BURST];
	size_t text_len;
	char text[TEXT_BUF];       /* Postfix-like lines not yet written */
};

void track_log_conf_defaults(struct track_log_conf *c, const char *path)
{
	c->path = path;
	c->max_bytes = 64u << 20;
	c->keep = 5;
	c->index_max = 100000;
	c->text = stderr;
}

static int open_file(struct track_log *l)
{
	struct stat st;

	l->file = fopen(l->path, "ae");
	if (l->file == NULL)
		return -errno;
	setvbuf(l->file, NULL, _IOFBF, 1 << 16);
	l->file_bytes = fstat(fileno(l->file), &st) == 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

int track_log_open(const struct track_log_conf *conf, struct track_log **out)
{
	struct track_log *l;
	int rc;

	if (conf->index_max == 0 || conf->keep == 0 ||
	    conf->keep > TRACK_LOG_KEEP_MAX || conf->max_bytes == 0 ||
	    (conf->path != NULL && strlen(conf->path) + 4 >= PATH_MAX_LEN))
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return -ENOMEM;
	l->conf = *conf;
	l->idx = calloc(conf->index_max, sizeof(*l->idx));
	if (l->idx == NULL || queue_map_init(&l->map, conf->index_max) < 0) {
		track_log_close(l);
		return -ENOMEM;
	}
	if (conf->path != NULL) {
		snprintf(l->path, sizeof(l->path), "%s", conf->path);
		rc = open_file(l);
		if (rc < 0) {
			track_log_close(l);
			return rc;
		}
	}
	*out = l;
	return 0;
}

/* Write the gathered text lines in one go (stderr is unbuffered). */
static void flush_text(struct track_log *l)
{
	if (l->text_len == 0)
		return;
	if (fwrite(l->text, 1, l->text_len, l->conf.text) != l->text_len ||
	    fflush(l->conf.text) != 0)
		l->stats.write_errors++;
	l->text_len = 0;
}

void track_log_close(struct track_log *l)
{
	if (l == NULL)
		return;
	flush_text(l);
	if (l->file != NULL)
		fclose(l->file);
	queue_map_fini(&l->map);
	free(l->idx);
	free(l);
}

/* ---- the JSON line ---------------------------------------------------------- */

struct json_object *track_rcpts_json(const char (*rcpt)[TRACK_ADDR_MAX],
				     uint32_t nrcpt)
{
	struct json_object *arr = json_object_new_array();

	for (uint32_t i = 0; arr != NULL && i < nrcpt && i < TRACK_RCPTS; i++)
		if (jout_append(arr, json_object_new_string(rcpt[i])) < 0) {
			json_object_put(arr);
			return NULL;
		}
	return arr;
}

struct json_object *track_event_json(const struct track_event *e)
{
	struct json_object *obj = json_object_new_object();
	char qid[SPOOL_QID_LEN + 1], client[64];

	if (obj == NULL)
		return NULL;
	spool_qid_format(e->qid, qid);
	track_client_text(e, client, sizeof(client));
	if (jout_put(obj, "time", json_object_new_double((double)e->time_us / 1e6)) ||
	    jout_put(obj, "event", json_object_new_string(track_type_name(e->type))) ||
	    jout_put(obj, "id", json_object_new_string(qid)) ||
	    jout_put(obj, "client", json_object_new_string(client)) ||
	    jout_put(obj, "client_port", json_object_new_int(e->client_port)) ||
	    jout_put(obj, "from", json_object_new_string(e->sender)) ||
	    jout_put(obj, "nrcpt", json_object_new_int64(e->nrcpt)) ||
	    jout_put(obj, "to", track_rcpts_json(e->rcpt, e->nrcpt)) ||
	    jout_put(obj, "size", json_object_new_uint64(e->size)) ||
	    jout_put(obj, "tls", json_object_new_string(e->tls)) ||
	    jout_put(obj, "relay", json_object_new_string(e->relay)) ||
	    jout_put(obj, "text", json_object_new_string(e->text))) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/* FILE → FILE.1 → ... → FILE.keep (the oldest goes), then a new FILE. */
static int rotate(struct track_log *l)
{
	char from[PATH_MAX_LEN + 16], to[PATH_MAX_LEN + 16];

	fclose(l->file);
	l->file = NULL;
	for (unsigned i = l->conf.keep; i > 0; i--) {
		if (i == 1)
			snprintf(from, sizeof(from), "%s", l->path);
		else
			snprintf(from, sizeof(from), "%s.%u", l->path, i - 1);
		snprintf(to, sizeof(to), "%s.%u", l->path, i);
		if (rename(from, to) < 0 && errno != ENOENT)
			l->stats.write_errors++;
	}
	l->stats.rotations++;
	return open_file(l);
}

static void write_line(struct track_log *l, const struct track_event *e)
{
	struct json_object *obj;
	const char *text;
	size_t len;

	if (l->file == NULL && (l->path[0] == '\0' || open_file(l) < 0))
		return;
	obj = track_event_json(e);
	text = obj != NULL ? jout_text(obj, &len) : NULL;
	if (text == NULL) {
		l->stats.write_errors++;
		json_object_put(obj);
		return;
	}
	if (l->file_bytes > 0 && l->file_bytes + len + 1 > l->conf.max_bytes &&
	    rotate(l) < 0) {
		l->stats.write_errors++;
		json_object_put(obj);
		return;
	}
	if (fwrite(text, 1, len, l->file) != len || fputc('\n', l->file) == EOF) {
		l->stats.write_errors++;
	} else {
		l->file_bytes += len + 1;
		l->stats.lines++;
	}
	l->dirty = true;
	json_object_put(obj);
}

/* ---- the index ---------------------------------------------------------- */

/* The slot for E's message: found, or the next one (evicting the oldest). */
static struct track_msg *index_slot(struct track_log *l,
				    const struct track_event *e)
{
	uint32_t slot;
	struct track_msg *m;

	if (queue_map_get(&l->map, e->qid, &slot) == 0)
		return &l->idx[slot];
	if (l->n == l->conf.index_max) {
		queue_map_del(&l->map, l->idx[l->start].qid);
		l->start = (l->start + 1) % l->conf.index_max;
		l->n--;
		l->stats.evicted++;
	}
	slot = (l->start + l->n) % l->conf.index_max;
	l->n++;
	queue_map_put(&l->map, e->qid, slot);
	m = &l->idx[slot];
	memset(m, 0, sizeof(*m));
	m->qid = e->qid;
	m->time_us = e->time_us;
	return m;
}

static bool is_attempt(uint8_t type)
{
	return type == TRACK_RELAYED || type == TRACK_DEFERRED ||
	       type == TRACK_BOUNCED || type == TRACK_EXPIRED;
}

/* E, a delivery attempt's outcome, into M's history: one more recipient of
 * the newest attempt when it matches, else a new one (the oldest goes). */
static void index_attempt(struct track_msg *m, const struct track_event *e)
{
	uint32_t kept = track_msg_kept(m);
	struct track_attempt *a = kept > 0 ? &m->attempt[kept - 1] : NULL;
	char reply[TRACK_ATTEMPT_TEXT];

	track_copy(reply, sizeof(reply), e->text, strlen(e->text));
	if (a != NULL && a->time_us == e->time_us && a->type == e->type &&
	    strcmp(a->relay, e->relay) == 0 && strcmp(a->reply, reply) == 0) {
		a->nrcpt += e->nrcpt;
		return;
	}
	if (kept == TRACK_ATTEMPTS)
		memmove(&m->attempt[0], &m->attempt[1], (kept - 1) * sizeof(*a));
	else
		kept++;
	a = &m->attempt[kept - 1];
	a->time_us = e->time_us;
	a->nrcpt = e->nrcpt;
	a->type = e->type;
	memcpy(a->relay, e->relay, sizeof(a->relay));
	memcpy(a->reply, reply, sizeof(a->reply));
	m->nattempts++;
}

static void index_event(struct track_log *l, const struct track_event *e)
{
	struct track_msg *m;

	if (e->qid == 0)
		return;
	m = index_slot(l, e);
	m->updated_us = e->time_us;
	m->status = e->type;
	if (e->type == TRACK_ACCEPTED) {
		m->time_us = e->time_us;
		m->size = e->size;
		m->nrcpt = e->nrcpt;
		m->client_family = e->client_family;
		m->client_port = e->client_port;
		memcpy(m->client_addr, e->client_addr, sizeof(m->client_addr));
		memcpy(m->tls, e->tls, sizeof(m->tls));
		memcpy(m->sender, e->sender, sizeof(m->sender));
		memcpy(m->rcpt, e->rcpt, sizeof(m->rcpt));
	}
	if (e->relay[0] != '\0')
		memcpy(m->relay, e->relay, sizeof(m->relay));
	if (e->text[0] != '\0')
		memcpy(m->reply, e->text, sizeof(m->reply));
	if (is_attempt(e->type))
		index_attempt(m, e);
}

void track_log_event(struct track_log *l, const struct track_event *e)
{
	l->stats.events++;
	write_line(l, e);
	if (l->conf.text != NULL) {
		if (sizeof(l->text) - l->text_len < TRACK_LINE_MAX)
			flush_text(l);
		l->text_len += track_format(e, l->text + l->text_len, TRACK_LINE_MAX);
	}
	index_event(l, e);
}

unsigned track_log_poll(struct track_log *l, struct track_ring *const *rings,
			unsigned n)
{
	unsigned total = 0;

	for (unsigned r = 0; r < n; r++) {
		unsigned got;

		if (rings[r] == NULL || rings[r]->ring == NULL)
			continue;
		got = track_take(rings[r], l->ev, POLL_BURST);
		for (unsigned i = 0; i < got; i++)
			track_log_event(l, &l->ev[i]);
		total += got;
	}
	if (total > 0) {
		if (l->file != NULL && fflush(l->file) != 0)
			l->stats.write_errors++;
		flush_text(l);
	}
	return total;
}

/* ---- queries ---------------------------------------------------------- */

static bool contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay != '\0'; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return n == 0;
}

static bool matches(const struct track_msg *m, const struct track_query *q)
{
	bool to = q->to == NULL;

	if (m->time_us < q->since_us || (q->qid != 0 && m->qid != q->qid) ||
	    (q->from != NULL && !contains(m->sender, q->from)))
		return false;
	for (uint32_t i = 0; !to && i < TRACK_RCPTS && i < m->nrcpt; i++)
		to = contains(m->rcpt[i], q->to);
	return to;
}

uint32_t track_log_query(const struct track_log *l, const struct track_query *q,
			 const struct track_msg **out, uint32_t max)
{
	uint32_t found = 0;

	if (q->limit < max)
		max = q->limit;
	for (uint32_t i = l->n; i > 0 && found < max; i--) {
		const struct track_msg *m = &l->idx[(l->start + i - 1) % l->conf.index_max];

		if (matches(m, q))
			out[found++] = m;
	}
	for (uint32_t i = 0; i < found / 2; i++) {
		const struct track_msg *t = out[i];

		out[i] = out[found - 1 - i];
		out[found - 1 - i] = t;
	}
	return found;
}

const struct track_log_stats *track_log_stats(const struct track_log *l)
{
	return &l->stats;
}

/*
 * smtp_client_body: the message body on the wire.  Owns pulling the body
 * from the caller (ops->body_read) as output room allows, dot-stuffing and
 * the CRLF.CRLF end for DATA, and BDAT chunk framing (pipelined when
 * PIPELINING is offered).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/smtp/smtp_client_impl.h"

void cl_body_begin(struct smtp_client *c, uint64_t now)
{
	c->body_off = 0;
	c->chunk_left = 0;
	c->bdat_out = 0;
	c->body_blocked = false;
	c->body_end = false;
	c->bol = true;
	c->last2[0] = c->last2[1] = 0;
	c->progress = now;
	cl_body_pump(c, now);
}

/* DATA: copy up to N octets of P, dot-stuffed, into the output; returns
 * the octets of P taken.  Works a line at a time: a line's first octet
 * always goes (with its stuffed dot, room allowing two), the rest while
 * one octet of room stays for the next line's dot. */
static size_t stuff(struct smtp_client *c, const uint8_t *p, size_t n)
{
	size_t room = cl_room(c) - CL_QUIT_ROOM, i = 0;

	while (i < n && room >= 2) {
		const uint8_t *nl;
		size_t len, max;

		if (c->bol && p[i] == '.') {
			c->out[c->out_tail++] = '.';
			room--;
		}
		nl = memchr(p + i, '\n', n - i);
		len = nl != NULL ? (size_t)(nl - p) + 1 - i : n - i;
		max = room > 1 ? room - 1 : 1; /* the first octet always fits */
		if (len > max)
			len = max;
		memcpy(c->out + c->out_tail, p + i, len);
		c->out_tail += len;
		room -= len;
		i += len;
		c->bol = p[i - 1] == '\n';
	}
	if (i >= 2) {
		c->last2[0] = p[i - 2];
		c->last2[1] = p[i - 1];
	} else if (i == 1) {
		c->last2[0] = c->last2[1];
		c->last2[1] = p[0];
	}
	return i;
}

/* BDAT: start the next chunk when the pipeline allows it. */
static bool chunk_start(struct smtp_client *c, uint64_t now)
{
	uint64_t left = c->msg->size - c->body_off;
	uint64_t n = left < SMTP_CLIENT_CHUNK ? left : SMTP_CLIENT_CHUNK;
	unsigned max = (c->ext & SMTP_EXT_PIPELINING) ? CL_BDAT_MAX : 1;

	if (c->body_fail.code != 0 || c->bdat_out >= max ||
	    cl_room(c) < CL_CMD_ROOM + CL_QUIT_ROOM)
		return false;
	cl_cmd(c, n == left ? EXP_BDAT_LAST : EXP_BDAT, 0, now, "BDAT %llu%s",
	       (unsigned long long)n, n == left ? " LAST" : "");
	c->bdat_out++;
	c->chunk_left = n;
	if (n == left)
		c->body_end = true;
	return true;
}

/* DATA: the end of the body: CRLF if the last line lacks one, then ".". */
static bool data_end(struct smtp_client *c, uint64_t now)
{
	if (cl_room(c) < CL_CMD_ROOM + CL_QUIT_ROOM)
		return false;
	if (c->last2[0] != '\r' || c->last2[1] != '\n')
		cl_put(c, "\r\n", 2);
	cl_cmd(c, EXP_DOT, 0, now, ".");
	c->body_end = true;
	return true;
}

/* Copy body octets into the output; false when nothing more fits now. */
static bool pump_once(struct smtp_client *c, uint64_t now)
{
	const uint8_t *p;
	uint64_t left = c->msg->size - c->body_off;
	size_t want, took;
	long r;

	if (c->bdat && c->chunk_left == 0)
		return chunk_start(c, now);
	if (!c->bdat && left == 0)
		return data_end(c, now);
	if (cl_room(c) < CL_QUIT_ROOM + 2)
		return false;
	r = c->ops->body_read(c->arg, c->body_off, &p);
	if (r == -EAGAIN) {
		c->body_blocked = true;
		return false;
	}
	if (r <= 0) {
		cl_fail(c, false, now, "4.3.0 message body unreadable at %llu (%ld)",
			(unsigned long long)c->body_off, r);
		return false;
	}
	want = (uint64_t)r < left ? (size_t)r : (size_t)left;
	if (c->bdat) {
		size_t room = cl_room(c) - CL_QUIT_ROOM;

		if (want > c->chunk_left)
			want = (size_t)c->chunk_left;
		took = want < room ? want : room;
		cl_put(c, p, took);
		c->chunk_left -= took;
	} else {
		took = stuff(c, p, want);
	}
	c->body_off += took;
	return took > 0;
}

void cl_body_pump(struct smtp_client *c, uint64_t now)
{
	c->body_blocked = false;
	while (c->phase == CL_TX && c->step == ST_BODY &&
	       (!c->body_end || c->chunk_left > 0) && pump_once(c, now))
		;
}

void smtp_client_resume(struct smtp_client *c, uint64_t now)
{
	if (c->phase == CL_TX && c->step == ST_BODY)
		cl_tx_emit(c, now);
}

/*
 * inbound_impl: the session shared by inbound.c (connection, TLS and byte
 * pumping) and inbound_tx.c (the engine's transaction, spool and AUTH
 * callbacks).  Internal to dataplane/inbound*.c.
 */
#ifndef SLUICE_DATAPLANE_INBOUND_IMPL_H
#define SLUICE_DATAPLANE_INBOUND_IMPL_H

#include <stdbool.h>

#include "dataplane/inbound.h"

#define INBOUND_PLAIN   16384   /* deciphered input the engine has not taken */
#define INBOUND_CIPHER  16384   /* enciphered output TCP has not taken */

struct inbound_session {
	struct inbound *in;
	struct snap *snap;          /* held: the config it was accepted under */
	struct inbound_session *prev, *next;   /* in->first list */
	struct tcp_conn *tcp;       /* NULL once TCP reported CLOSED */
	struct tls_conn *tls;       /* after STARTTLS */
	struct smtp_server *smtp;
	struct spool_msg *msg;      /* the transaction being received */
	int msg_err;                /* the spool refused it: the reply at its end */
	uint64_t qid;
	uint32_t gen;
	bool commit_pending;        /* spool_msg_end done, its callback not yet */
	bool auth_pending;
	bool tls_up;
	bool closed;                /* tcp_close() done */
	bool peer_closed;           /* the client's FIN came */
	bool refused;               /* not admitted at connect */
	struct smtp_ip client;
	char client_text[48];
	char sender[128];           /* for the queue */
	uint32_t nrcpt;
	bool queue_held;            /* queue room held for the transaction */
	uint64_t arrival_us;
	struct track_event ev;      /* "accepted", sent once committed */
	uint32_t plain_off, plain_len;
	uint32_t cipher_len;
	uint8_t plain[INBOUND_PLAIN];
	uint8_t cipher[INBOUND_CIPHER];
	_Alignas(16) uint8_t engine[]; /* smtp_server_size() bytes, aligned for it */
};

extern const struct smtp_server_ops inbound_smtp_ops;

/* Send what the engine and TLS have for the peer, then close when the
 * engine is done.  Safe to call at any time. */
void inbound_pump(struct inbound_session *s);
/* Give the engine input again after it answered a pending commit or AUTH. */
void inbound_resume(struct inbound_session *s);
/* The client closed its side: abandon what is open and close ours. */
void inbound_peer_gone(struct inbound_session *s);
/* The session is finished with TCP and everything else: free it. */
void inbound_free(struct inbound_session *s);

#endif

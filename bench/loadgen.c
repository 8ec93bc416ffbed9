/*
 * loadgen: a WebSocket client load generator for bench/run.py.
 *
 * One thread, epoll, client side of RFC 6455 (handshake with the accept key
 * checked, masked frames with a fresh random key per frame). Every byte that
 * comes back is compared with what was sent (content, length, frame type,
 * order) before it counts: a broken server fails the run instead of looking
 * fast. No dependencies: gcc -O2 -o loadgen loadgen.c
 * With OpenSSL (wss://, --tls): gcc -O2 -DLOADGEN_TLS -o loadgen loadgen.c -lssl -lcrypto
 *
 * Scenarios (first argument):
 *   verify     one connection: edge sizes, text/binary, fragments, pings,
 *              a mixed text/binary burst; every echo checked.
 *   echo       --conns C connections x --inflight F messages of --size bytes
 *              (plus --idle I connected idle peers): msgs/s, RTT percentiles.
 *   connect    --parallel P workers: connect, upgrade, close handshake, EOF.
 *   broadcast  --conns C peers; peer 0 sends, the server relays every message
 *              to all C peers (sender included); at most --inflight messages
 *              not yet delivered everywhere. Delivered msgs/s.
 *   idle       --conns N idle peers: server RSS per peer, then a burst (each
 *              peer sends one message, all must be answered).
 *   features   prints {"tls": true|false, ...}: whether --tls is built in.
 *
 * --tls speaks wss://: an OpenSSL client whose non-blocking handshake runs in
 * the same epoll loop (every connection does a full handshake: no session
 * resumption); --tls-ca FILE verifies the server's chain against FILE
 * (without it nothing is verified). The WebSocket layer is the same.
 *
 * Output: one JSON object on stdout. Exit 0 ok, 1 failure (JSON has "error"),
 * 2 usage. With --server-pid the server's CPU time (all threads, from
 * /proc/PID/stat) is reported next to ours over the same window.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef LOADGEN_TLS
#include <limits.h>
#include <signal.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#endif

/* ------------------------------------------------------------------ utils */

static const char *g_scenario = "?";

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void fail(const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 32) *p = '\'';
    printf("{\"ok\": false, \"scenario\": \"%s\", \"error\": \"%s\"}\n", g_scenario, msg);
    fflush(stdout);
    exit(1);
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) fail("out of memory (%zu bytes)", n);
    return q;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void) {
    uint64_t x = rng_state;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    return rng_state = x;
}

/* ------------------------------------------------------- SHA-1 and base64 */

static uint32_t rol32(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(uint32_t h[5], const uint8_t *p) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++) w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
        else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
        else { f = b ^ c ^ d; k = 0xCA62C1D6; }
        uint32_t t = rol32(a, 5) + f + e + k + w[i];
        e = d; d = c; c = rol32(b, 30); b = a; a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

static void sha1(const uint8_t *data, size_t len, uint8_t out[20]) {
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    size_t i = 0;
    for (; i + 64 <= len; i += 64) sha1_block(h, data + i);
    uint8_t tail[128] = {0};
    size_t rest = len - i;
    memcpy(tail, data + i, rest);
    tail[rest] = 0x80;
    size_t tl = rest + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int j = 0; j < 8; j++) tail[tl - 1 - j] = (uint8_t)(bits >> (8 * j));
    for (size_t j = 0; j < tl; j += 64) sha1_block(h, tail + j);
    for (int j = 0; j < 5; j++) {
        out[4 * j] = h[j] >> 24; out[4 * j + 1] = h[j] >> 16;
        out[4 * j + 2] = h[j] >> 8; out[4 * j + 3] = h[j];
    }
}

static void base64(const uint8_t *in, size_t n, char *out) {
    static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = T[v >> 18 & 63];
        out[o++] = T[v >> 12 & 63];
        out[o++] = i + 1 < n ? T[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? T[v & 63] : '=';
    }
    out[o] = 0;
}

/* ------------------------------------------------------- /proc of server */

static int g_server_pid = 0;

static double server_cpu_s(void) {
    if (!g_server_pid) return 0;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", g_server_pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    unsigned long ut = 0, st = 0;
    /* fields after comm: state(3) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

/* VmRSS (KiB) or Threads from /proc/PID/status. */
static long server_status(const char *key) {
    if (!g_server_pid) return -1;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", g_server_pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':') { v = atol(line + kl + 1); break; }
    fclose(f);
    return v;
}

static double self_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

/* ---------------------------------------------------------------- config */

static struct {
    const char *host;
    int port;
    int conns, inflight, idle, parallel, open_limit;
    size_t size;
    double duration, warmup, settle, stall, open_timeout, burst_timeout;
} cfg = {"127.0.0.1", 0, 1, 1, 0, 8, 8, 32, 3.0, 0.5, 1.0, 15.0, 60.0, 20.0};

/* Payload patterns: random bytes (binary) and printable ASCII (text, valid
 * UTF-8). A message's content is a window of the pattern at an offset that
 * depends on connection and sequence number, so stale, reordered or
 * cross-connection echoes do not match. */
#define PAT_SPREAD 65536
static uint8_t *PAT_BIN, *PAT_TXT;

static void make_patterns(size_t max_size) {
    size_t n = max_size + PAT_SPREAD + 16;
    PAT_BIN = xrealloc(NULL, n);
    PAT_TXT = xrealloc(NULL, n);
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rng();
        PAT_BIN[i] = (uint8_t)r;
        PAT_TXT[i] = (uint8_t)(' ' + (r >> 8) % 95);
    }
}

static const uint8_t *pattern(int text, int conn, uint64_t seq) {
    uint32_t off = (uint32_t)(conn * 7919u + seq * 104729u) % PAT_SPREAD;
    return (text ? PAT_TXT : PAT_BIN) + off;
}

/* ------------------------------------------------------------ connection */

enum { ST_FREE, ST_CONNECTING, ST_TLS, ST_HANDSHAKE, ST_OPEN, ST_CLOSING, ST_CLOSED };
enum { OP_CONT = 0, OP_TEXT = 1, OP_BIN = 2, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10 };

typedef struct {
    const uint8_t *pre; size_t pre_len;  /* optional prefix (broadcast seq) */
    const uint8_t *ptr; size_t len;      /* body */
    uint8_t op;
    double t;
} expect_t;

typedef struct conn {
    int fd, idx, state;
    void *ssl;        /* SSL * with --tls, else NULL */
    int tls_wants_read;  /* SSL_write() must wait for readable data */
    char accept[32];
    uint8_t *in; size_t in_len, in_cap;
    uint8_t *out; size_t out_off, out_len, out_cap;
    int epout, dirty;
    /* message being received, possibly over several frames */
    int msg_active, msg_op;
    size_t msg_got;
    expect_t cur;
    /* expected replies, in order */
    expect_t *ring; int ring_cap, ring_head, ring_n;
    const uint8_t *pong_ptr; size_t pong_len; int pong_wait;
    uint64_t sent, recvd;
    double t0;
    int close_sent, close_rcvd;
    uint8_t hdr[8];   /* broadcast: header of the message being received */
} conn;

static int g_ep;
static conn *g_conns;
static int g_nconns;
static conn **g_dirty;
static int g_ndirty;
static int g_open, g_opening;      /* open connections, handshakes in progress */
static double g_progress;          /* last time something useful happened */
static char g_what[96] = "";      /* what we wait for, for the stall message */

typedef struct {
    void (*on_open)(conn *c);
    /* first frame of a data message: fill c->cur with what it must equal */
    void (*on_msg_start)(conn *c, const uint8_t *p, size_t n);
    void (*on_msg)(conn *c);       /* a whole message matched c->cur */
    void (*on_closed)(conn *c);    /* close handshake + EOF done */
} scenario_t;
static const scenario_t *S;

static void ring_push(conn *c, expect_t e) {
    if (c->ring_n == c->ring_cap) {
        int nc = c->ring_cap ? c->ring_cap * 2 : 4;
        expect_t *r = xrealloc(NULL, nc * sizeof *r);
        for (int i = 0; i < c->ring_n; i++) r[i] = c->ring[(c->ring_head + i) % c->ring_cap];
        free(c->ring);
        c->ring = r; c->ring_cap = nc; c->ring_head = 0;
    }
    c->ring[(c->ring_head + c->ring_n++) % c->ring_cap] = e;
}

static void mark_dirty(conn *c) {
    if (!c->dirty) { c->dirty = 1; g_dirty[g_ndirty++] = c; }
}

static void out_reserve(conn *c, size_t extra) {
    if (c->out_off && c->out_off == c->out_len) c->out_off = c->out_len = 0;
    if (c->out_len + extra <= c->out_cap) return;
    if (c->out_off) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off; c->out_off = 0;
        if (c->out_len + extra <= c->out_cap) return;
    }
    size_t nc = c->out_cap ? c->out_cap : 1024;
    while (nc < c->out_len + extra) nc *= 2;
    c->out = xrealloc(c->out, nc);
    c->out_cap = nc;
}

static void mask_copy(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4], size_t phase) {
    uint8_t k[8];
    for (int i = 0; i < 8; i++) k[i] = key[(i + phase) & 3];
    uint64_t k64;
    memcpy(&k64, k, 8);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, src + i, 8);
        v ^= k64;
        memcpy(dst + i, &v, 8);
    }
    for (; i < n; i++) dst[i] = src[i] ^ k[i & 7];
}

/* Queue one masked frame: prefix + body as its payload. */
static void send_frame(conn *c, int op, int fin, const uint8_t *pre, size_t pre_len,
                       const uint8_t *body, size_t len) {
    size_t n = pre_len + len;
    out_reserve(c, n + 14);
    uint8_t *h = c->out + c->out_len;
    size_t hl = 2;
    h[0] = (fin ? 0x80 : 0) | op;
    if (n < 126) h[1] = 0x80 | n;
    else if (n < 65536) { h[1] = 0x80 | 126; h[2] = n >> 8; h[3] = n; hl = 4; }
    else {
        h[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++) h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
        hl = 10;
    }
    uint32_t r = (uint32_t)rng();
    uint8_t key[4];
    memcpy(key, &r, 4);
    memcpy(h + hl, key, 4);
    hl += 4;
    mask_copy(h + hl, pre, pre_len, key, 0);
    mask_copy(h + hl + pre_len, body, len, key, pre_len & 3);
    c->out_len += hl + n;
    mark_dirty(c);
}

/* Send a data message and expect it echoed unchanged. */
static void send_echo(conn *c, int op, const uint8_t *p, size_t n, double t) {
    send_frame(c, op, 1, NULL, 0, p, n);
    ring_push(c, (expect_t){NULL, 0, p, n, (uint8_t)op, t});
    c->sent++;
}

static void send_close(conn *c) {
    static const uint8_t code[2] = {0x03, 0xE8}; /* 1000 */
    send_frame(c, OP_CLOSE, 1, NULL, 0, code, 2);
    c->close_sent = 1;
    c->state = ST_CLOSING;
}

static void ep_mod(conn *c, int want_out) {
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) fail("epoll_ctl: %s", strerror(errno));
    c->epout = want_out;
}

/* ------------------------------------------------------------------- TLS */

/* With --tls every socket read and write goes through OpenSSL; io_read() and
 * io_write() hide which. Both return > 0 bytes, 0 for EOF (read), or -1 with
 * errno EAGAIN when the call must wait for epoll. */

static int g_use_tls;
static const char *g_tls_ca;
static char g_tls_desc[96];            /* negotiated version and cipher */
static uint64_t g_tls_notify, g_tls_bare_eof;  /* how the server ended TLS */

#ifdef LOADGEN_TLS
static SSL_CTX *g_tls;

static const char *tls_reason(conn *c, int err, int ret) {
    static char buf[256];
    unsigned long e = ERR_get_error();
    long v = SSL_get_verify_result(c->ssl);
    if (v != X509_V_OK)
        snprintf(buf, sizeof buf, "certificate verification failed: %s",
                 X509_verify_cert_error_string(v));
    else if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    else if (err == SSL_ERROR_SYSCALL)
        snprintf(buf, sizeof buf, "%s", ret == 0 || !errno ? "unexpected EOF" : strerror(errno));
    else
        snprintf(buf, sizeof buf, "SSL error %d", err);
    return buf;
}

static void tls_init(void) {
    signal(SIGPIPE, SIG_IGN); /* OpenSSL's socket writes do not pass MSG_NOSIGNAL */
    g_tls = SSL_CTX_new(TLS_client_method());
    if (!g_tls) fail("SSL_CTX_new failed");
    SSL_CTX_set_min_proto_version(g_tls, TLS1_2_VERSION);
    SSL_CTX_set_session_cache_mode(g_tls, SSL_SESS_CACHE_OFF);
    /* the output buffer grows and moves between retries of a partial write */
    SSL_CTX_set_mode(g_tls, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(g_tls, 1);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    /* TCP EOF after the close frame is a normal end; close_notify is counted */
    SSL_CTX_set_options(g_tls, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    if (g_tls_ca) {
        if (SSL_CTX_load_verify_locations(g_tls, g_tls_ca, NULL) != 1)
            fail("cannot load CA file %s", g_tls_ca);
        SSL_CTX_set_verify(g_tls, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(g_tls, SSL_VERIFY_NONE, NULL);
    }
}

/* Drive the handshake; when it is done, send the HTTP upgrade. */
static void send_handshake(conn *c);
static void tls_step(conn *c) {
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        if (!g_tls_desc[0])
            snprintf(g_tls_desc, sizeof g_tls_desc, "%s %s", SSL_get_version(c->ssl),
                     SSL_get_cipher_name(c->ssl));
        if (c->epout) ep_mod(c, 0);
        send_handshake(c);
        return;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ) { if (c->epout) ep_mod(c, 0); return; }
    if (e == SSL_ERROR_WANT_WRITE) { if (!c->epout) ep_mod(c, 1); return; }
    fail("conn %d: TLS handshake: %s", c->idx, tls_reason(c, e, r));
}

static void tls_begin(conn *c) {
    SSL *ssl = SSL_new(g_tls);
    if (!ssl || SSL_set_fd(ssl, c->fd) != 1) fail("SSL_new failed");
    SSL_set_connect_state(ssl);
    c->ssl = ssl;
    c->state = ST_TLS;
    tls_step(c);
}

static ssize_t tls_read(conn *c, void *buf, size_t n) {
    ERR_clear_error();
    int r = SSL_read(c->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
    if (r > 0) return r;
    int e = SSL_get_error(c->ssl, r);
    switch (e) {
    case SSL_ERROR_WANT_READ: errno = EAGAIN; return -1;
    case SSL_ERROR_WANT_WRITE:
        if (!c->epout) ep_mod(c, 1);
        errno = EAGAIN; return -1;
    case SSL_ERROR_ZERO_RETURN:
        if (SSL_get_shutdown(c->ssl) & SSL_RECEIVED_SHUTDOWN) g_tls_notify++;
        else g_tls_bare_eof++;
        return 0;
    }
    fail("conn %d: TLS read: %s (state %d, %d replies outstanding)", c->idx,
         tls_reason(c, e, r), c->state, c->ring_n);
    return -1;
}

static ssize_t tls_write(conn *c, const void *buf, size_t n) {
    ERR_clear_error();
    int r = SSL_write(c->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
    if (r > 0) return r;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_WRITE) { errno = EAGAIN; return -1; }
    if (e == SSL_ERROR_WANT_READ) { c->tls_wants_read = 1; errno = EAGAIN; return -1; }
    fail("conn %d: TLS write: %s", c->idx, tls_reason(c, e, r));
    return -1;
}

/* Bytes OpenSSL holds that epoll cannot announce (read-ahead, a partial record). */
static int tls_pending(conn *c) { return c->ssl && SSL_has_pending(c->ssl); }

static void tls_free(conn *c) {
    if (!c->ssl) return;
    if (SSL_get_shutdown(c->ssl) & SSL_RECEIVED_SHUTDOWN)
        SSL_shutdown(c->ssl); /* answer close_notify, best effort */
    SSL_free(c->ssl);
    c->ssl = NULL;
}
#else
static void tls_init(void) {
    fail("loadgen was built without OpenSSL: no --tls (install libssl-dev, rebuild)");
}
static void tls_begin(conn *c) { (void)c; }
static void tls_step(conn *c) { (void)c; }
static ssize_t tls_read(conn *c, void *b, size_t n) { (void)c; (void)b; (void)n; return -1; }
static ssize_t tls_write(conn *c, const void *b, size_t n) { (void)c; (void)b; (void)n; return -1; }
static int tls_pending(conn *c) { (void)c; return 0; }
static void tls_free(conn *c) { (void)c; }
#endif

static ssize_t io_read(conn *c, void *buf, size_t n) {
    return c->ssl ? tls_read(c, buf, n) : recv(c->fd, buf, n, 0);
}

static ssize_t io_write(conn *c, const void *buf, size_t n) {
    return c->ssl ? tls_write(c, buf, n) : send(c->fd, buf, n, MSG_NOSIGNAL);
}

/* ", \"tls\": ..." for the JSON output, or "" without --tls. */
static const char *tls_json(void) {
    static char buf[200];
    if (!g_use_tls) return "";
    snprintf(buf, sizeof buf,
             ", \"tls\": \"%s\", \"tls_close_notify\": %llu, \"tls_bare_eof\": %llu",
             g_tls_desc, (unsigned long long)g_tls_notify, (unsigned long long)g_tls_bare_eof);
    return buf;
}

static void flush(conn *c) {
    c->dirty = 0;
    if (c->fd < 0 || c->state == ST_CONNECTING || c->state == ST_TLS) return;
    c->tls_wants_read = 0;
    while (c->out_off < c->out_len) {
        ssize_t w = io_write(c, c->out + c->out_off, c->out_len - c->out_off);
        if (w > 0) { c->out_off += w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->epout && !c->tls_wants_read) ep_mod(c, 1);
            return;
        }
        fail("conn %d: send: %s", c->idx, strerror(errno));
    }
    c->out_off = c->out_len = 0;
    if (c->epout) ep_mod(c, 0);
}

static void conn_release(conn *c) {
    tls_free(c);
    if (c->fd >= 0) close(c->fd);
    if (c->state == ST_OPEN || c->state == ST_CLOSING) g_open--;
    c->fd = -1;
    c->state = ST_CLOSED;
    c->in_len = c->out_off = c->out_len = 0;
    c->ring_n = c->ring_head = 0;
    c->msg_active = 0;
    c->epout = 0;
}

static void conn_start(conn *c) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket: %s (open: %d)", strerror(errno), g_open);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(cfg.port)};
    if (inet_pton(AF_INET, cfg.host, &sa.sin_addr) != 1) fail("bad host %s", cfg.host);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)
        fail("connect: %s", strerror(errno));
    c->fd = fd;
    c->state = ST_CONNECTING;
    c->in_len = c->out_off = c->out_len = 0;
    c->ring_n = c->ring_head = 0;
    c->msg_active = 0;
    c->sent = c->recvd = 0;
    c->close_sent = c->close_rcvd = 0;
    c->pong_wait = 0;
    c->t0 = now_s();
    g_opening++;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    c->epout = 1;
    if (epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &ev) < 0) fail("epoll_ctl add: %s", strerror(errno));
}

static void send_handshake(conn *c) {
    uint8_t raw[16], dig[20];
    char key[32], cat[96], req[512];
    for (int i = 0; i < 16; i++) raw[i] = (uint8_t)rng();
    base64(raw, 16, key);
    int kl = snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    sha1((uint8_t *)cat, kl, dig);
    base64(dig, 20, c->accept);
    int n = snprintf(req, sizeof req,
                     "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n", cfg.host, cfg.port, key);
    out_reserve(c, n);
    memcpy(c->out + c->out_len, req, n);
    c->out_len += n;
    c->state = ST_HANDSHAKE;
    flush(c);
}

static const char *find_header(const char *head, const char *name) {
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        if (!strncasecmp(p + 2, name, nl) && p[2 + nl] == ':') {
            const char *v = p + 3 + nl;
            while (*v == ' ' || *v == '\t') v++;
            return v;
        }
    }
    return NULL;
}

/* Returns 1 when the response head is complete and valid. */
static int parse_handshake(conn *c) {
    uint8_t *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!end) {
        if (c->in_len > 16384) fail("conn %d: handshake response too long", c->idx);
        return 0;
    }
    size_t hl = end - c->in + 4;
    char *head = xrealloc(NULL, hl + 1);
    memcpy(head, c->in, hl);
    head[hl] = 0;
    if (strncmp(head, "HTTP/1.1 101", 12)) {
        char *eol = strstr(head, "\r\n");
        if (eol) *eol = 0;
        fail("conn %d: handshake refused: %.100s", c->idx, head);
    }
    const char *acc = find_header(head, "Sec-WebSocket-Accept");
    size_t al = strlen(c->accept);
    if (!acc || strncmp(acc, c->accept, al) || (acc[al] != '\r' && acc[al] != ' '))
        fail("conn %d: bad or missing Sec-WebSocket-Accept", c->idx);
    const char *up = find_header(head, "Upgrade");
    if (!up || strncasecmp(up, "websocket", 9)) fail("conn %d: bad Upgrade header", c->idx);
    free(head);
    memmove(c->in, c->in + hl, c->in_len - hl);
    c->in_len -= hl;
    c->state = ST_OPEN;
    g_opening--;
    g_open++;
    g_progress = now_s();
    return 1;
}

static void check_chunk(conn *c, const uint8_t *p, size_t n) {
    expect_t *e = &c->cur;
    size_t total = e->pre_len + e->len;
    if (c->msg_got + n > total)
        fail("conn %d msg %llu: echo longer than sent (%zu > %zu bytes)", c->idx,
             (unsigned long long)c->recvd, c->msg_got + n, total);
    size_t off = c->msg_got;
    if (off < e->pre_len) {
        size_t k = e->pre_len - off < n ? e->pre_len - off : n;
        if (memcmp(p, e->pre + off, k)) fail("conn %d: message header mismatch", c->idx);
        p += k; n -= k; off += k;
    }
    if (n && memcmp(p, e->ptr + (off - e->pre_len), n))
        fail("conn %d msg %llu: echoed bytes differ from sent ones (size %zu)", c->idx,
             (unsigned long long)c->recvd, total);
    c->msg_got = off + n;
}

static void handle_frame(conn *c, int fin, int op, const uint8_t *p, size_t n) {
    if (op >= 8) {
        if (!fin || n > 125) fail("conn %d: invalid control frame", c->idx);
        if (op == OP_PING) { send_frame(c, OP_PONG, 1, NULL, 0, p, n); return; }
        if (op == OP_PONG) {
            if (c->pong_wait) {
                if (n != c->pong_len || memcmp(p, c->pong_ptr, n)) fail("conn %d: pong payload differs from ping", c->idx);
                c->pong_wait = 0;
                g_progress = now_s();
            }
            return;
        }
        if (op == OP_CLOSE) {
            if (!c->close_sent) {
                int code = n >= 2 ? p[0] << 8 | p[1] : 0;
                fail("conn %d: server closed the connection (code %d) with %d replies outstanding",
                     c->idx, code, c->ring_n);
            }
            if (n == 1 || (n >= 2 && (p[0] << 8 | p[1]) != 1000))
                fail("conn %d: close reply with code %d, expected 1000", c->idx, n >= 2 ? p[0] << 8 | p[1] : -1);
            c->close_rcvd = 1;
            return;
        }
        fail("conn %d: unknown opcode %d", c->idx, op);
    }
    if (c->close_rcvd) fail("conn %d: data after close frame", c->idx);
    if (op == OP_CONT) {
        if (!c->msg_active) fail("conn %d: continuation frame without a message", c->idx);
    } else if (op == OP_TEXT || op == OP_BIN) {
        if (c->msg_active) fail("conn %d: new message inside a fragmented one", c->idx);
        c->msg_active = 1;
        c->msg_op = op;
        c->msg_got = 0;
        S->on_msg_start(c, p, n);
        if (c->cur.op != op)
            fail("conn %d msg %llu: frame type %s, sent %s", c->idx, (unsigned long long)c->recvd,
                 op == OP_TEXT ? "text" : "binary", c->cur.op == OP_TEXT ? "text" : "binary");
    } else fail("conn %d: unknown opcode %d", c->idx, op);
    check_chunk(c, p, n);
    if (fin) {
        if (c->msg_got != c->cur.pre_len + c->cur.len)
            fail("conn %d msg %llu: echo shorter than sent (%zu < %zu bytes)", c->idx,
                 (unsigned long long)c->recvd, c->msg_got, c->cur.pre_len + c->cur.len);
        c->msg_active = 0;
        c->recvd++;
        g_progress = now_s();
        S->on_msg(c);
    }
}

/* Parse every whole frame in c->in. */
static void parse_frames(conn *c) {
    size_t pos = 0;
    while (c->in_len - pos >= 2 && c->fd >= 0) {
        const uint8_t *h = c->in + pos;
        size_t avail = c->in_len - pos;
        if (h[0] & 0x70) fail("conn %d: RSV bits set without an extension", c->idx);
        if (h[1] & 0x80) fail("conn %d: server frame is masked", c->idx);
        uint64_t len = h[1] & 0x7F;
        size_t hl = 2;
        if (len == 126) {
            if (avail < 4) break;
            len = h[2] << 8 | h[3]; hl = 4;
            if (len < 126) fail("conn %d: non-minimal length", c->idx);
        } else if (len == 127) {
            if (avail < 10) break;
            len = 0;
            for (int i = 0; i < 8; i++) len = len << 8 | h[2 + i];
            hl = 10;
            if (len < 65536) fail("conn %d: non-minimal length", c->idx);
            if (len > (1ull << 31)) fail("conn %d: absurd frame length", c->idx);
        }
        if (avail < hl + len) {
            if (hl + len > c->in_cap) {
                /* make room for the whole frame (compact first) */
                memmove(c->in, c->in + pos, avail);
                c->in_len = avail; pos = 0;
                size_t nc = c->in_cap;
                while (nc < hl + len) nc *= 2;
                c->in = xrealloc(c->in, nc);
                c->in_cap = nc;
            }
            break;
        }
        handle_frame(c, h[0] & 0x80, h[0] & 0x0F, h + hl, len);
        pos += hl + len;
    }
    if (pos && c->fd >= 0) {
        memmove(c->in, c->in + pos, c->in_len - pos);
        c->in_len -= pos;
    }
}

static void on_readable(conn *c) {
    for (;;) {
        if (c->in_len == c->in_cap) {
            c->in_cap = c->in_cap ? c->in_cap * 2 : 4096;
            c->in = xrealloc(c->in, c->in_cap);
        }
        size_t want = c->in_cap - c->in_len;
        ssize_t r = io_read(c, c->in + c->in_len, want);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            fail("conn %d: recv: %s (state %d, %d replies outstanding)", c->idx, strerror(errno),
                 c->state, c->ring_n);
        }
        if (r == 0) {
            if (c->state == ST_CLOSING && c->close_rcvd) {
                conn_release(c);
                g_progress = now_s();
                if (S->on_closed) S->on_closed(c);
                return;
            }
            fail("conn %d: server closed TCP (state %d, %d replies outstanding)", c->idx,
                 c->state, c->ring_n);
        }
        c->in_len += r;
        if (c->state == ST_HANDSHAKE) {
            if (!parse_handshake(c)) continue;
            S->on_open(c);
            if (c->fd < 0) return;
        }
        parse_frames(c);
        if (c->fd < 0) return;
        /* drained: level-triggered epoll tells when more comes */
        if ((size_t)r < want && !tls_pending(c)) return;
    }
}

static void on_event(conn *c, uint32_t ev) {
    if (c->fd < 0) return;
    if (c->state == ST_CONNECTING) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) fail("conn %d: connect: %s", c->idx, strerror(err));
        if (!(ev & EPOLLOUT)) return;
        ep_mod(c, 0);
        if (g_use_tls) tls_begin(c);
        else send_handshake(c);
        return;
    }
    if (c->state == ST_TLS) {
        tls_step(c);
        return;
    }
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
    if (c->fd >= 0 && ((ev & EPOLLOUT) || c->tls_wants_read)) flush(c);
}

static void flush_dirty(void) {
    for (int i = 0; i < g_ndirty; i++) flush(g_dirty[i]);
    g_ndirty = 0;
}

/* Run the event loop until *done, calling tick() after every wake-up. */
static void loop(int *done, void (*tick)(double now)) {
    struct epoll_event evs[512];
    while (!*done) {
        int n = epoll_wait(g_ep, evs, 512, 5);
        if (n < 0 && errno != EINTR) fail("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) on_event(evs[i].data.ptr, evs[i].events);
        flush_dirty();
        double t = now_s();
        tick(t);
        flush_dirty();
        if (t - g_progress > cfg.stall) {
            int tcp = 0, tls = 0;
            for (int i = 0; i < g_nconns; i++) {
                tcp += g_conns[i].state == ST_CONNECTING;
                tls += g_conns[i].state == ST_TLS;
            }
            fail("stalled %.0f s%s%s (%d open, %d opening: %d in TCP connect, %d in the TLS "
                 "handshake, %d waiting for the 101)", cfg.stall,
                 g_what[0] ? " waiting for the " : "", g_what, g_open, g_opening, tcp, tls,
                 g_opening - tcp - tls);
        }
    }
}

static void alloc_conns(int n) {
    g_nconns = n;
    g_conns = xrealloc(NULL, n * sizeof *g_conns);
    g_dirty = xrealloc(NULL, n * sizeof *g_dirty);
    memset(g_conns, 0, n * sizeof *g_conns);
    for (int i = 0; i < n; i++) { g_conns[i].idx = i; g_conns[i].fd = -1; }
}

/* Open connections [0, n) with at most `limit` handshakes at a time; called
 * from tick functions until g_open reaches n. */
static int g_next_open;
static void open_more(int n, int limit) {
    while (g_next_open < n && g_opening < limit) conn_start(&g_conns[g_next_open++]);
}

/* ------------------------------------------------------------ statistics */

static double *g_rtt;  /* microseconds */
static size_t g_nrtt, g_rtt_cap;

static void rtt_add(double us) {
    if (g_nrtt == g_rtt_cap) {
        g_rtt_cap = g_rtt_cap ? g_rtt_cap * 2 : 4096;
        g_rtt = xrealloc(g_rtt, g_rtt_cap * sizeof *g_rtt);
    }
    g_rtt[g_nrtt++] = us;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double q) {
    if (!g_nrtt) return 0;
    size_t i = (size_t)(q * (g_nrtt - 1) + 0.5);
    return g_rtt[i];
}

/* Measurement window: counters and CPU snapshots. */
static struct {
    double t0, t1, srv0, srv1, me0, me1;
    int active;
    uint64_t msgs, bytes, conns;
} W;

static void window_begin(double t) {
    W.t0 = t; W.srv0 = server_cpu_s(); W.me0 = self_cpu_s(); W.active = 1;
    W.msgs = W.bytes = W.conns = 0;
    g_nrtt = 0;
}

static void window_end(double t) {
    W.t1 = t; W.srv1 = server_cpu_s(); W.me1 = self_cpu_s(); W.active = 0;
}

static void print_window(const char *extra) {
    double wall = W.t1 - W.t0;
    if (g_nrtt) qsort(g_rtt, g_nrtt, sizeof *g_rtt, cmp_d);
    printf("{\"ok\": true, \"scenario\": \"%s\", \"seconds\": %.3f, \"msgs\": %llu, "
           "\"msgs_per_s\": %.1f, \"mb_per_s\": %.2f, \"conns_per_s\": %.1f, "
           "\"rtt_p50_us\": %.1f, \"rtt_p99_us\": %.1f, \"rtt_samples\": %zu, "
           "\"server_cpu\": %.3f, \"loadgen_cpu\": %.3f%s%s}\n",
           g_scenario, wall, (unsigned long long)W.msgs, W.msgs / wall, W.bytes / wall / 1e6,
           W.conns / wall, pct(0.5), pct(0.99), g_nrtt,
           g_server_pid ? (W.srv1 - W.srv0) / wall : -1.0, (W.me1 - W.me0) / wall,
           extra ? extra : "", tls_json());
}

/* Phases shared by the timed scenarios. */
enum { PH_OPEN, PH_SYNC, PH_RUN, PH_DRAIN, PH_CLOSE, PH_DONE };
static int g_phase, g_done;
static double g_run_t0;

static int all_closed(int n) {
    for (int i = 0; i < n; i++) if (g_conns[i].fd >= 0) return 0;
    return 1;
}

static void close_all(int n) {
    for (int i = 0; i < n; i++)
        if (g_conns[i].state == ST_OPEN) send_close(&g_conns[i]);
}

/* Window bookkeeping for RUN: warm-up, then the measured duration. */
static int run_window(double t) {
    if (!W.active && W.t1 == 0 && t >= g_run_t0 + cfg.warmup) window_begin(t);
    if (W.active && t >= W.t0 + cfg.duration) { window_end(t); return 1; }
    return 0;
}

/* ------------------------------------------------------------------ echo */

static int total_conns(void) { return cfg.conns + cfg.idle; }

static void echo_send(conn *c, double t) {
    send_echo(c, OP_BIN, pattern(0, c->idx, c->sent), cfg.size, t);
}

static void echo_open(conn *c) { (void)c; }

static void echo_msg_start(conn *c, const uint8_t *p, size_t n) {
    (void)p; (void)n;
    if (!c->ring_n) fail("conn %d: unsolicited message", c->idx);
    c->cur = c->ring[c->ring_head];
}

static void echo_msg(conn *c) {
    double t = now_s();
    c->ring_head = (c->ring_head + 1) % c->ring_cap;
    c->ring_n--;
    if (W.active) {
        W.msgs++;
        W.bytes += c->cur.len;
        rtt_add((t - c->cur.t) * 1e6);
    }
    if (g_phase == PH_RUN) echo_send(c, t);
}

static void echo_closed(conn *c) { (void)c; }

static void echo_tick(double t) {
    int n = total_conns();
    switch (g_phase) {
    case PH_OPEN:
        open_more(n, cfg.open_limit);
        if (g_open == n) {
            g_phase = PH_RUN;
            g_run_t0 = t;
            for (int i = cfg.idle; i < n; i++)
                for (int k = 0; k < cfg.inflight; k++) echo_send(&g_conns[i], t);
        }
        break;
    case PH_RUN:
        if (run_window(t)) g_phase = PH_DRAIN;
        break;
    case PH_DRAIN: {
        for (int i = 0; i < n; i++) if (g_conns[i].ring_n) return;
        g_phase = PH_CLOSE;
        close_all(n);
        break;
    }
    case PH_CLOSE:
        if (all_closed(n)) g_done = 1;
        break;
    }
}

static const scenario_t ECHO = {echo_open, echo_msg_start, echo_msg, echo_closed};

/* --------------------------------------------------------------- connect */

static void cn_open(conn *c) {
    send_close(c);
}

static void cn_msg_start(conn *c, const uint8_t *p, size_t n) {
    (void)p; (void)n;
    fail("conn %d: unsolicited message", c->idx);
}

static void cn_msg(conn *c) { (void)c; }

static void cn_closed(conn *c) {
    double t = now_s();
    if (W.active) { W.conns++; rtt_add((t - c->t0) * 1e6); }
    if (g_phase == PH_RUN) conn_start(c);
}

static void cn_tick(double t) {
    int n = cfg.parallel;
    switch (g_phase) {
    case PH_OPEN:
        for (int i = 0; i < n; i++) conn_start(&g_conns[i]);
        g_phase = PH_RUN;
        g_run_t0 = t;
        break;
    case PH_RUN:
        if (run_window(t)) g_phase = PH_CLOSE;
        break;
    case PH_CLOSE:
        if (all_closed(n)) g_done = 1;
        break;
    }
}

static const scenario_t CONNECT = {cn_open, cn_msg_start, cn_msg, cn_closed};

/* ------------------------------------------------------------- broadcast */

/* Messages: 8-byte big-endian sequence number, then a pattern window that
 * depends on it. Probes (top bit set) come first, until one probe reached
 * every peer: then all peers are registered and data starts. */
#define PROBE_BIT (1ull << 63)
static uint64_t bc_next, bc_base, bc_probe;
static int *bc_count;     /* deliveries per in-flight seq */
static int *bc_probe_cnt; /* deliveries per probe */
#define MAX_PROBES 500
static double bc_last_probe, *bc_sent_t;

static void put_seq(uint8_t *b, uint64_t s) {
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(s >> (56 - 8 * i));
}

static void bc_send(uint64_t seq, double t) {
    uint8_t hdr[8];
    put_seq(hdr, seq);
    send_frame(&g_conns[0], OP_BIN, 1, hdr, 8, pattern(0, 0, seq), cfg.size - 8);
    if (!(seq & PROBE_BIT)) bc_sent_t[seq % cfg.inflight] = t;
}

static void bc_msg_start(conn *c, const uint8_t *p, size_t n) {
    if (n < 8) fail("conn %d: broadcast message shorter than its header", c->idx);
    uint64_t seq = 0;
    for (int i = 0; i < 8; i++) seq = seq << 8 | p[i];
    if (!(seq & PROBE_BIT) && seq != c->sent)  /* c->sent = next data seq expected here */
        fail("conn %d: broadcast seq %llu, expected %llu (lost or reordered)", c->idx,
             (unsigned long long)seq, (unsigned long long)c->sent);
    if ((seq & PROBE_BIT) && (seq & ~PROBE_BIT) >= bc_probe) fail("conn %d: unknown probe", c->idx);
    /* the header was checked above; the body must match the pattern */
    memcpy(c->hdr, p, 8);
    c->cur = (expect_t){c->hdr, 8, pattern(0, 0, seq), cfg.size - 8, OP_BIN, 0};
}

static void bc_msg(conn *c) {
    uint64_t seq = 0;
    for (int i = 0; i < 8; i++) seq = seq << 8 | c->cur.pre[i];
    if (seq & PROBE_BIT) {
        bc_probe_cnt[seq & ~PROBE_BIT]++;
        if (bc_probe_cnt[seq & ~PROBE_BIT] == cfg.conns && g_phase == PH_SYNC) {
            g_phase = PH_RUN;
            g_run_t0 = now_s();
        }
        return;
    }
    c->sent++;
    if (W.active) W.msgs++;
    if (++bc_count[seq % cfg.inflight] == cfg.conns) {
        if (W.active) rtt_add((now_s() - bc_sent_t[seq % cfg.inflight]) * 1e6);
        /* completion is in order: every peer got seq-1 before seq */
        if (seq != bc_base) fail("broadcast completion out of order");
        bc_count[seq % cfg.inflight] = 0;
        bc_base++;
    }
}

static void bc_tick(double t) {
    int n = cfg.conns;
    switch (g_phase) {
    case PH_OPEN:
        open_more(n, cfg.open_limit);
        if (g_open == n) { g_phase = PH_SYNC; bc_last_probe = 0; }
        break;
    case PH_SYNC:
        if (t - bc_last_probe > 0.02) {
            if (bc_probe == MAX_PROBES) fail("broadcast never reached all %d peers", n);
            bc_send(PROBE_BIT | bc_probe++, t);
            bc_last_probe = t;
        }
        break;
    case PH_RUN:
        while (bc_next - bc_base < (uint64_t)cfg.inflight) bc_send(bc_next++, t);
        if (run_window(t)) g_phase = PH_DRAIN;
        break;
    case PH_DRAIN:
        if (bc_base == bc_next) { g_phase = PH_CLOSE; close_all(n); }
        break;
    case PH_CLOSE:
        if (all_closed(n)) g_done = 1;
        break;
    }
}

static void bc_open(conn *c) { (void)c; }
static const scenario_t BROADCAST = {bc_open, bc_msg_start, bc_msg, echo_closed};

/* ------------------------------------------------------------------ idle */

#define IDLE_WARM 16
static double idle_t_open0, idle_t_open, idle_t_settle, idle_t_burst0, idle_burst_ms;
static long idle_rss0, idle_rss1, idle_thr0, idle_thr1;
static double idle_srv0;
static int idle_answered, idle_timed_out;

enum { IP_WARM, IP_WARM_WAIT, IP_OPEN, IP_SETTLE, IP_BURST };

static void idle_msg(conn *c) {
    c->ring_head = (c->ring_head + 1) % c->ring_cap;
    c->ring_n--;
    idle_answered++;
}

static void idle_burst(int from, int to, double t) {
    for (int i = from; i < to; i++) send_echo(&g_conns[i], OP_BIN, pattern(0, i, 0), 32, t);
}

static void idle_tick(double t) {
    int n = cfg.conns, warm = n < IDLE_WARM ? n : IDLE_WARM;
    switch (g_phase) {
    case IP_WARM:
        open_more(warm, cfg.open_limit);
        if (g_open == warm) { idle_burst(0, warm, t); g_phase = IP_WARM_WAIT; }
        break;
    case IP_WARM_WAIT:
        if (idle_answered == warm && idle_t_settle == 0) idle_t_settle = t;
        if (idle_t_settle && t - idle_t_settle > 0.3) {
            idle_rss0 = server_status("VmRSS");
            idle_thr0 = server_status("Threads");
            idle_t_open0 = t;
            g_phase = IP_OPEN;
        }
        break;
    case IP_OPEN:
        open_more(n, cfg.open_limit);
        if (g_open == n) { idle_t_open = t - idle_t_open0; idle_t_settle = t; g_phase = IP_SETTLE; }
        else if (t - idle_t_open0 > cfg.open_timeout)
            fail("opened only %d of %d peers in %.0f s (%d handshakes pending)", g_open, n,
                 cfg.open_timeout, g_opening);
        break;
    case IP_SETTLE:
        if (t - idle_t_settle >= cfg.settle) {
            idle_rss1 = server_status("VmRSS");
            idle_thr1 = server_status("Threads");
            idle_answered = 0;
            idle_srv0 = server_cpu_s();
            idle_t_burst0 = now_s();
            g_progress = idle_t_burst0;
            for (int i = 0; i < n; i++) g_conns[i].sent = 0;
            idle_burst(0, n, idle_t_burst0);
            g_phase = IP_BURST;
        }
        break;
    case IP_BURST:
        if (idle_answered == n || t - idle_t_burst0 > cfg.burst_timeout) {
            idle_timed_out = idle_answered < n;
            idle_burst_ms = (t - idle_t_burst0) * 1e3;
            g_done = 1;
        }
        break;
    }
}

static void idle_open(conn *c) { (void)c; }
static const scenario_t IDLE = {idle_open, echo_msg_start, idle_msg, echo_closed};

/* ---------------------------------------------------------------- verify */

/* Each step sends some frames and queues the replies it expects; the next
 * step starts when every reply (and pong) has arrived and matched. */
static int vf_step;
static const uint8_t UTF8[] = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x98\x80";

static int vf_run_step(conn *c, int step) {
    static const size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 100000, 1048576};
    const int ns = sizeof sizes / sizeof *sizes;
    double t = now_s();
    if (step < 2 * ns) {
        int text = step >= ns;
        snprintf(g_what, sizeof g_what, "echo of a %zu-byte %s message", sizes[step % ns],
                 text ? "text" : "binary");
        send_echo(c, text ? OP_TEXT : OP_BIN, pattern(text, 0, step), sizes[step % ns], t);
        return 1;
    }
    step -= 2 * ns;
    switch (step) {
    case 0:
        snprintf(g_what, sizeof g_what, "echo of a multi-byte UTF-8 text message");
        send_echo(c, OP_TEXT, UTF8, sizeof UTF8 - 1, t);
        return 1;
    case 1: /* fragmented binary: 100 + 0 + 50 bytes */
        snprintf(g_what, sizeof g_what, "echo of a binary message sent in 3 fragments");
        send_frame(c, OP_BIN, 0, NULL, 0, PAT_BIN, 100);
        send_frame(c, OP_CONT, 0, NULL, 0, NULL, 0);
        send_frame(c, OP_CONT, 1, NULL, 0, PAT_BIN + 100, 50);
        ring_push(c, (expect_t){NULL, 0, PAT_BIN, 150, OP_BIN, t});
        return 1;
    case 2: /* fragmented text with a ping between the fragments */
        snprintf(g_what, sizeof g_what, "pong and echo of a fragmented text message with a ping inside");
        send_frame(c, OP_TEXT, 0, NULL, 0, UTF8, 7);
        send_frame(c, OP_PING, 1, NULL, 0, (const uint8_t *)"mid-ping", 8);
        send_frame(c, OP_CONT, 1, NULL, 0, UTF8 + 7, sizeof UTF8 - 8);
        ring_push(c, (expect_t){NULL, 0, UTF8, sizeof UTF8 - 1, OP_TEXT, t});
        c->pong_ptr = (const uint8_t *)"mid-ping"; c->pong_len = 8; c->pong_wait = 1;
        return 1;
    case 3:
        snprintf(g_what, sizeof g_what, "pong");
        send_frame(c, OP_PING, 1, NULL, 0, (const uint8_t *)"ping!", 5);
        c->pong_ptr = (const uint8_t *)"ping!"; c->pong_len = 5; c->pong_wait = 1;
        return 1;
    case 4: /* 200 messages at once, text and binary mixed: order and types */
        snprintf(g_what, sizeof g_what, "echoes of 200 mixed text/binary messages sent at once");
        for (int i = 0; i < 200; i++) {
            int text = (i * 7 % 3) == 0;
            send_echo(c, text ? OP_TEXT : OP_BIN, pattern(text, 1, i), 1 + i * 37 % 300, t);
        }
        return 1;
    }
    return 0;
}

static void vf_tick(double t) {
    (void)t;
    conn *c = &g_conns[0];
    switch (g_phase) {
    case PH_OPEN:
        open_more(1, 1);
        if (g_open == 1) { g_phase = PH_RUN; vf_run_step(c, vf_step++); }
        break;
    case PH_RUN:
        if (c->ring_n || c->pong_wait) break;
        if (!vf_run_step(c, vf_step++)) {
            snprintf(g_what, sizeof g_what, "close handshake");
            g_phase = PH_CLOSE;
            send_close(c);
        }
        break;
    case PH_CLOSE:
        if (all_closed(1)) g_done = 1;
        break;
    }
}

static void vf_msg(conn *c) {
    c->ring_head = (c->ring_head + 1) % c->ring_cap;
    c->ring_n--;
}

static const scenario_t VERIFY = {echo_open, echo_msg_start, vf_msg, echo_closed};

/* ------------------------------------------------------------------ main */

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen verify|echo|connect|broadcast|idle --port P [--host H]\n"
            "  [--tls] [--tls-ca CA.pem]   (wss://; loadgen features: whether TLS is built in)\n"
            "  [--server-pid PID] [--conns N] [--inflight N] [--size BYTES] [--idle N]\n"
            "  [--parallel N] [--open-limit N] [--duration S] [--warmup S] [--settle S] [--stall S]\n"
            "  [--open-timeout S] [--burst-timeout S]   (idle)\n");
    exit(2);
}

static void raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) usage();
    g_scenario = argv[1];
    if (!strcmp(g_scenario, "features")) {
#ifdef LOADGEN_TLS
        printf("{\"ok\": true, \"tls\": true, \"openssl\": \"%s\"}\n",
               OpenSSL_version(OPENSSL_VERSION));
#else
        printf("{\"ok\": true, \"tls\": false}\n");
#endif
        return 0;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--tls")) { g_use_tls = 1; continue; }
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--host")) cfg.host = v;
        else if (!strcmp(a, "--port")) cfg.port = atoi(v);
        else if (!strcmp(a, "--server-pid")) g_server_pid = atoi(v);
        else if (!strcmp(a, "--conns")) cfg.conns = atoi(v);
        else if (!strcmp(a, "--inflight")) cfg.inflight = atoi(v);
        else if (!strcmp(a, "--size")) cfg.size = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--idle")) cfg.idle = atoi(v);
        else if (!strcmp(a, "--parallel")) cfg.parallel = atoi(v);
        else if (!strcmp(a, "--open-limit")) cfg.open_limit = atoi(v);
        else if (!strcmp(a, "--duration")) cfg.duration = atof(v);
        else if (!strcmp(a, "--warmup")) cfg.warmup = atof(v);
        else if (!strcmp(a, "--settle")) cfg.settle = atof(v);
        else if (!strcmp(a, "--stall")) cfg.stall = atof(v);
        else if (!strcmp(a, "--open-timeout")) cfg.open_timeout = atof(v);
        else if (!strcmp(a, "--burst-timeout")) cfg.burst_timeout = atof(v);
        else if (!strcmp(a, "--tls-ca")) { g_tls_ca = v; g_use_tls = 1; }
        else usage();
    }
    if (cfg.port <= 0 || cfg.conns < 1 || cfg.inflight < 1 || cfg.parallel < 1 || cfg.open_limit < 1)
        usage();
    rng_state ^= (uint64_t)getpid() << 32 ^ (uint64_t)(now_s() * 1e9);
    raise_nofile();
    if (g_use_tls) tls_init();
    g_ep = epoll_create1(EPOLL_CLOEXEC);
    g_progress = now_s();
    char extra[512];

    if (!strcmp(g_scenario, "echo")) {
        make_patterns(cfg.size);
        alloc_conns(total_conns());
        S = &ECHO;
        loop(&g_done, echo_tick);
        snprintf(extra, sizeof extra, ", \"conns\": %d, \"inflight\": %d, \"size\": %zu, \"idle\": %d",
                 cfg.conns, cfg.inflight, cfg.size, cfg.idle);
        print_window(extra);
    } else if (!strcmp(g_scenario, "connect")) {
        make_patterns(16);
        alloc_conns(cfg.parallel);
        S = &CONNECT;
        loop(&g_done, cn_tick);
        snprintf(extra, sizeof extra, ", \"parallel\": %d", cfg.parallel);
        print_window(extra);
    } else if (!strcmp(g_scenario, "broadcast")) {
        if (cfg.size < 8) cfg.size = 8;
        make_patterns(cfg.size);
        alloc_conns(cfg.conns);
        bc_count = xrealloc(NULL, cfg.inflight * sizeof *bc_count);
        memset(bc_count, 0, cfg.inflight * sizeof *bc_count);
        bc_sent_t = xrealloc(NULL, cfg.inflight * sizeof *bc_sent_t);
        bc_probe_cnt = xrealloc(NULL, MAX_PROBES * sizeof *bc_probe_cnt);
        memset(bc_probe_cnt, 0, MAX_PROBES * sizeof *bc_probe_cnt);
        S = &BROADCAST;
        loop(&g_done, bc_tick);
        snprintf(extra, sizeof extra, ", \"conns\": %d, \"inflight\": %d, \"size\": %zu, \"probes\": %llu",
                 cfg.conns, cfg.inflight, cfg.size, (unsigned long long)bc_probe);
        print_window(extra);
    } else if (!strcmp(g_scenario, "idle")) {
        make_patterns(32);
        alloc_conns(cfg.conns);
        S = &IDLE;
        g_phase = IP_WARM;
        loop(&g_done, idle_tick);
        int warm = cfg.conns < IDLE_WARM ? cfg.conns : IDLE_WARM;
        int grown = cfg.conns - warm;
        if (idle_timed_out)
            snprintf(extra, sizeof extra, "false, \"error\": \"burst: %d of %d answered in %.0f s\"",
                     idle_answered, cfg.conns, cfg.burst_timeout);
        printf("{\"ok\": %s, \"scenario\": \"idle\", \"conns\": %d, \"open_s\": %.3f, "
               "\"rss0_kib\": %ld, \"rss1_kib\": %ld, \"rss_per_conn_kib\": %.2f, "
               "\"threads0\": %ld, \"threads1\": %ld, \"burst_ms\": %.1f, \"answered\": %d, "
               "\"burst_server_cpu_s\": %.3f}\n",
               idle_timed_out ? extra : "true", cfg.conns, idle_t_open, idle_rss0, idle_rss1,
               grown > 0 ? (double)(idle_rss1 - idle_rss0) / grown : 0.0, idle_thr0, idle_thr1,
               idle_burst_ms, idle_answered, server_cpu_s() - idle_srv0);
    } else if (!strcmp(g_scenario, "verify")) {
        make_patterns(1048576);
        alloc_conns(1);
        S = &VERIFY;
        loop(&g_done, vf_tick);
        printf("{\"ok\": true, \"scenario\": \"verify\", \"steps\": %d%s}\n", vf_step - 1,
               tls_json());
    } else usage();
    fflush(stdout);
    return 0;
}

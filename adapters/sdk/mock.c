/* The mock host: an adapter table linked into a test, operations submitted and events read
 * exactly as through gRPC but without a server, and a recording platform that accepts
 * every call and keeps it for the test to inspect. */
#include <string.h>

#include "internal.h"

struct mp_adapter_mock {
  mp__runtime *rt;
  pthread_mutex_t mu;
  char **calls, **yamls; /* never moved once stored: borrowed pointers stay valid */
  size_t n, cap;
  char **missing;
};

struct mp_adapter_sub {
  mp_adapter_mock *m;
  uint64_t cursor;
};

static void record(mp_adapter_mock *m, char *line, const char *yaml) {
  pthread_mutex_lock(&m->mu);
  if (m->n == m->cap) {
    m->cap = m->cap ? m->cap * 2 : 32;
    m->calls = mp_realloc(m->calls, m->cap * sizeof *m->calls);
    m->yamls = mp_realloc(m->yamls, m->cap * sizeof *m->yamls);
  }
  m->calls[m->n] = line;
  m->yamls[m->n] = mp_strdup(yaml);
  m->n++;
  pthread_mutex_unlock(&m->mu);
}

static bool rec_have(mp_adapter_ctx *ctx, void *state, const char *tool) {
  mp_adapter_mock *m = mp_adapter_platform_data(ctx);
  for (char **t = m->missing; t && *t; t++)
    if (!strcmp(*t, tool)) return false;
  return true;
}

static mp_status rec_missing(mp_adapter_ctx *ctx, const char *tool) {
  if (rec_have(ctx, NULL, tool)) return MP_OK;
  return mp_adapter_failf(ctx, MP_ERR_NOT_FOUND, MP_ADAPTER_ERR_TOOL_MISSING,
                          "The recorder was told this tool is missing.",
                          "Install it and put it on the adapter's PATH.",
                          "%s is not installed where the adapter runs", tool);
}

static mp_status rec_apply(mp_adapter_ctx *ctx, void *state, const char *yaml, const char *ns,
                           bool del) {
  mp_status st = rec_missing(ctx, "kubectl");
  if (st != MP_OK) return st;
  record(mp_adapter_platform_data(ctx), mp_asprintf("apply ns=%s del=%d", ns ? ns : "-", (int)del),
         yaml);
  return MP_OK;
}

static mp_status rec_helm(mp_adapter_ctx *ctx, void *state, const mp_adapter_chart *c, bool del) {
  mp_status st = rec_missing(ctx, "helm");
  if (st != MP_OK) return st;
  mp_buf b = {0};
  mp_buf_printf(&b, "helm release=%s chart=%s repo=%s version=%s ns=%s del=%d", c->release,
                c->chart, c->repo, c->version ? c->version : "", c->ns, (int)del);
  for (const char *const *s = c->set; s && *s; s++) mp_buf_printf(&b, " set=%s", *s);
  record(mp_adapter_platform_data(ctx), mp_buf_steal(&b), NULL);
  return MP_OK;
}

static mp_status rec_tool(mp_adapter_ctx *ctx, void *state, const char *const *argv,
                          mp_adapter_tool_mode mode, const char *ns) {
  mp_status st = rec_missing(ctx, argv[0]);
  if (st == MP_OK && mode != MP_TOOL_RUN) st = rec_missing(ctx, "kubectl");
  if (st != MP_OK) return st;
  mp_buf b = {0};
  mp_buf_puts(&b, "tool");
  for (const char *const *a = argv; *a; a++) mp_buf_printf(&b, " %s", *a);
  static const char *const modes[] = {"run", "apply", "delete"};
  mp_buf_printf(&b, " mode=%s ns=%s", modes[mode], ns ? ns : "-");
  record(mp_adapter_platform_data(ctx), mp_buf_steal(&b), NULL);
  return MP_OK;
}

static mp_status rec_snapshot(mp_adapter_ctx *ctx, void *state, const char *ns, mp_buf *out) {
  record(mp_adapter_platform_data(ctx), mp_asprintf("snapshot ns=%s", ns ? ns : "-"), NULL);
  return MP_OK;
}

static const mp_adapter_platform recorder = {
    .abi_version = MP_ADAPTER_ABI_VERSION,
    .struct_size = sizeof(mp_adapter_platform),
    .name = "mock",
    .have_tool = rec_have,
    .apply = rec_apply,
    .helm = rec_helm,
    .run_tool = rec_tool,
    .snapshot = rec_snapshot,
};

mp_adapter_mock *mp_adapter_mock_new(const mp_adapter *adapter, const mp_adapter_mock_opts *o) {
  if (mp__adapter_check(adapter) != MP_OK) return NULL;
  mp_adapter_mock_opts d = {0};
  if (!o) o = &d;
  mp_adapter_mock *m = mp_calloc(1, sizeof *m);
  pthread_mutex_init(&m->mu, NULL);
  size_t nm = 0;
  while (o->missing_tools && o->missing_tools[nm]) nm++;
  m->missing = mp_calloc(nm + 1, sizeof *m->missing);
  for (size_t i = 0; i < nm; i++) m->missing[i] = mp_strdup(o->missing_tools[i]);
  mp__runtime_opts ro = {.workers = o->workers,
                         .queue = o->queue,
                         .events = o->events,
                         .op_timeout_ms = o->op_timeout_ms,
                         .platform = o->platform ? o->platform : &recorder,
                         .platform_data = m};
  m->rt = mp__runtime_new(adapter, &ro);
  if (!m->rt) {
    for (char **t = m->missing; *t; t++) mp_free(*t);
    mp_free(m->missing);
    pthread_mutex_destroy(&m->mu);
    mp_free(m);
    return NULL;
  }
  return m;
}

void mp_adapter_mock_reset_calls(mp_adapter_mock *m) {
  pthread_mutex_lock(&m->mu);
  for (size_t i = 0; i < m->n; i++) {
    mp_free(m->calls[i]);
    mp_free(m->yamls[i]);
  }
  m->n = 0;
  pthread_mutex_unlock(&m->mu);
}

void mp_adapter_mock_free(mp_adapter_mock *m) {
  if (!m) return;
  mp__runtime_free(m->rt);
  mp_adapter_mock_reset_calls(m);
  mp_free(m->calls);
  mp_free(m->yamls);
  for (char **t = m->missing; *t; t++) mp_free(*t);
  mp_free(m->missing);
  pthread_mutex_destroy(&m->mu);
  mp_free(m);
}

void mp_adapter_mock_stop(mp_adapter_mock *m) { mp__runtime_stop(m->rt); }

char *mp_adapter_mock_apply(mp_adapter_mock *m, const mp_adapter_request *req,
                            char **operation_id) {
  return mp__runtime_submit(m->rt, req, NULL, operation_id);
}

bool mp_adapter_mock_wait(mp_adapter_mock *m, const char *operation_id, int64_t timeout_ms) {
  return mp__runtime_wait(m->rt, operation_id, timeout_ms);
}

mp_adapter_sub *mp_adapter_mock_subscribe(mp_adapter_mock *m) {
  mp_adapter_sub *s = mp_calloc(1, sizeof *s);
  s->m = m;
  s->cursor = mp__ring_cursor_now(&m->rt->ring);
  return s;
}

bool mp_adapter_sub_next(mp_adapter_sub *s, int64_t timeout_ms, mp_adapter_event *out) {
  mp_adapter_event_clear(out);
  return mp__ring_next(&s->m->rt->ring, &s->cursor, out, timeout_ms) == 1;
}

void mp_adapter_sub_free(mp_adapter_sub *s) { mp_free(s); }

const char *mp_adapter_mock_call(mp_adapter_mock *m, size_t i, const char **yaml) {
  pthread_mutex_lock(&m->mu);
  const char *line = i < m->n ? m->calls[i] : NULL;
  if (yaml) *yaml = i < m->n ? m->yamls[i] : NULL;
  pthread_mutex_unlock(&m->mu);
  return line;
}

size_t mp_adapter_mock_ncalls(mp_adapter_mock *m) {
  pthread_mutex_lock(&m->mu);
  size_t n = m->n;
  pthread_mutex_unlock(&m->mu);
  return n;
}

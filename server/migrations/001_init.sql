-- meshplane schema, version 1. Applied at server start inside a transaction under an
-- advisory lock (see db.c); recorded in schema_migrations.

CREATE TABLE profiles (
  id                 uuid PRIMARY KEY,
  name               text NOT NULL,
  load_generators    text[] NOT NULL DEFAULT '{}',
  endpoints          text[] NOT NULL DEFAULT '{}',
  service_mesh       text NOT NULL DEFAULT '',
  concurrent_request integer NOT NULL DEFAULT 1,
  qps                double precision NOT NULL DEFAULT 0,
  duration           text NOT NULL,
  request_headers    text[] NOT NULL DEFAULT '{}',
  request_cookies    text NOT NULL DEFAULT '',
  request_body       bytea NOT NULL DEFAULT '\x',
  content_type       text NOT NULL DEFAULT '',
  method             text NOT NULL DEFAULT '',
  options            bytea,                      -- meshplane.v1.LoadOptions, protobuf
  metadata           jsonb NOT NULL DEFAULT '{}',
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX profiles_name_key ON profiles (lower(name));

CREATE TABLE schedules (
  id          uuid PRIMARY KEY,
  profile_id  uuid NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
  cron        text NOT NULL,
  enabled     boolean NOT NULL DEFAULT true,
  next_run    timestamptz NOT NULL,
  last_run    timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX schedules_due ON schedules (next_run) WHERE enabled;

CREATE TABLE runs (
  id            uuid PRIMARY KEY,
  profile_id    uuid NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
  schedule_id   uuid REFERENCES schedules (id) ON DELETE SET NULL,
  status        text NOT NULL,
  requested_qps double precision NOT NULL DEFAULT 0,
  actual_qps    double precision NOT NULL DEFAULT 0,
  workers       text[] NOT NULL DEFAULT '{}',
  error         text NOT NULL DEFAULT '',
  metadata      jsonb NOT NULL DEFAULT '{}',
  server_id     text NOT NULL DEFAULT '',        -- the replica that runs it
  created_at    timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  finished_at   timestamptz
);
CREATE INDEX runs_profile ON runs (profile_id, created_at DESC);
CREATE INDEX runs_active ON runs (server_id) WHERE status IN ('PENDING', 'RUNNING');

CREATE TABLE results (
  id            uuid PRIMARY KEY,
  run_id        uuid NOT NULL UNIQUE REFERENCES runs (id) ON DELETE CASCADE,
  profile_id    uuid NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
  status        text NOT NULL,
  start_time    timestamptz NOT NULL,
  duration_ms   bigint NOT NULL,
  requested_qps double precision NOT NULL,
  actual_qps    double precision NOT NULL,
  requests      bigint NOT NULL,
  errors        bigint NOT NULL,
  p50_us        bigint NOT NULL,
  p90_us        bigint NOT NULL,
  p99_us        bigint NOT NULL,
  p999_us       bigint NOT NULL,
  histogram     text NOT NULL,                   -- HdrHistogram V2, base64
  intervals     text[] NOT NULL DEFAULT '{}',    -- per-interval histograms, for compare
  result        bytea NOT NULL,                  -- the whole meshplane.v1.Result, protobuf
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX results_profile ON results (profile_id, created_at DESC);

CREATE TABLE result_endpoints (
  result_id  uuid NOT NULL REFERENCES results (id) ON DELETE CASCADE,
  endpoint   text NOT NULL,
  requests   bigint NOT NULL,
  errors     bigint NOT NULL,
  p50_us     bigint NOT NULL,
  p99_us     bigint NOT NULL,
  histogram  text NOT NULL,
  PRIMARY KEY (result_id, endpoint)
);

CREATE TABLE workers (
  id          uuid PRIMARY KEY,
  address     text NOT NULL UNIQUE,
  version     text NOT NULL DEFAULT '',
  configured  boolean NOT NULL DEFAULT false,
  health      text NOT NULL DEFAULT 'UNKNOWN',
  last_seen   timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE adapters (
  id          uuid PRIMARY KEY,
  address     text NOT NULL UNIQUE,
  mesh_name   text NOT NULL DEFAULT '',
  version     text NOT NULL DEFAULT '',
  versions    text[] NOT NULL DEFAULT '{}',
  operations  bytea,                             -- meshplane.v1.ListAdaptersResponse-style ops
  configured  boolean NOT NULL DEFAULT false,
  health      text NOT NULL DEFAULT 'UNKNOWN',
  last_seen   timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE operations (
  id          uuid PRIMARY KEY,
  adapter_id  uuid REFERENCES adapters (id) ON DELETE SET NULL,
  op_name     text NOT NULL,
  namespace   text NOT NULL DEFAULT '',
  delete_op   boolean NOT NULL DEFAULT false,
  status      text NOT NULL,
  error       text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX operations_adapter ON operations (adapter_id, created_at DESC);

-- Events are inserted under an advisory lock, so ids commit in order and a watcher that
-- resumes from an id sees no gap.
CREATE TABLE events (
  id                    bigserial PRIMARY KEY,
  source                text NOT NULL,
  mesh                  text NOT NULL DEFAULT '',
  operation_id          text NOT NULL DEFAULT '',
  type                  integer NOT NULL DEFAULT 0,
  summary               text NOT NULL DEFAULT '',
  details               text NOT NULL DEFAULT '',
  probable_cause        text NOT NULL DEFAULT '',
  suggested_remediation text NOT NULL DEFAULT '',
  error_code            text NOT NULL DEFAULT '',
  component             text NOT NULL DEFAULT '',
  component_name        text NOT NULL DEFAULT '',
  created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_operation ON events (operation_id) WHERE operation_id <> '';

-- Written in the same transaction as what it announces; relayed to NATS and deleted.
CREATE TABLE outbox (
  id         bigserial PRIMARY KEY,
  subject    text NOT NULL,
  payload    bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

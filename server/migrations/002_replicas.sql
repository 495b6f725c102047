-- Server replicas announce themselves; runs of a replica that stopped announcing are
-- marked INTERRUPTED by the others (or by the next start).
CREATE TABLE replicas (
  id         text PRIMARY KEY,
  hostname   text NOT NULL DEFAULT '',
  started_at timestamptz NOT NULL DEFAULT now(),
  last_seen  timestamptz NOT NULL DEFAULT now()
);

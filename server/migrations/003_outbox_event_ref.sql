-- The outbox refers to events instead of copying them: an event and its outbox row are
-- written by one statement per batch, and the relay reads the event itself.
ALTER TABLE outbox ADD COLUMN event_id bigint REFERENCES events (id) ON DELETE CASCADE;
ALTER TABLE outbox ALTER COLUMN payload DROP NOT NULL;

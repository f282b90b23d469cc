DELETE FROM idempotency_keys;
ALTER TABLE idempotency_keys RENAME COLUMN sealed_body TO body;
ALTER TABLE idempotency_keys RENAME COLUMN key_digest TO idempotency_key;

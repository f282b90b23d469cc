-- A stored first reply may carry a secret shown once (an applicant's lookup secret, a client
-- secret). Replies are now kept sealed under a key derived from the caller's Idempotency-Key, which
-- is itself kept only as a digest (src/service/idempotency.rs). Replies stored in clear before this
-- migration cannot be sealed without their keys, so they are dropped: a retry of a request made
-- before the upgrade is treated as a new request.
DELETE FROM idempotency_keys;
ALTER TABLE idempotency_keys RENAME COLUMN idempotency_key TO key_digest;
ALTER TABLE idempotency_keys RENAME COLUMN body TO sealed_body;

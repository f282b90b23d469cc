-- Failed logins, shared by every instance (src/auth/lockout.rs): one row per account and client
-- address, and one per account with address `*` for all addresses together. Accounts are never
-- locked for everyone; an address that keeps failing waits longer and longer.
CREATE TABLE login_throttle (
    -- `user:<name>` or `client:<client id>`, lower case.
    account TEXT NOT NULL,
    -- The client address (an IPv6 client's /64), or `*`.
    address TEXT NOT NULL,
    failures INTEGER NOT NULL,
    last_failure_at TIMESTAMP,
    blocked_until TIMESTAMP,
    last_success_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account, address)
);

CREATE INDEX login_throttle_updated_at ON login_throttle (updated_at);

-- API keys: only a SHA-256 hash of the key is stored. stores = [] means every store.
CREATE TABLE IF NOT EXISTS api_keys
(
    key_id       String,
    name         String,
    key_hash     String,
    scopes       Array(LowCardinality(String)),
    stores       Array(String),
    rate_limit   UInt32 DEFAULT 0,                          -- requests per minute, 0 = server default
    created_at   DateTime64(3, 'UTC'),
    revoked_at   Nullable(DateTime64(3, 'UTC')),
    version      UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY key_id;

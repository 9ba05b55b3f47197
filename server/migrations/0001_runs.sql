-- The kept runs (docs/STORE.md): one row per backtest or session, and the envelopes of
-- its topic from its start, byte for byte as they were delivered. One schema for SQLite
-- and PostgreSQL: TEXT and BIGINT only, JSON kept as text, flags as 0 / 1.
CREATE TABLE runs (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    -- The token `sub` of who started it; NULL in anonymous mode.
    owner TEXT,
    -- The instance that runs it (empty: a server without Redis).
    instance TEXT NOT NULL,
    status TEXT NOT NULL,
    strategy TEXT NOT NULL,
    symbol TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    finished_ms BIGINT,
    final_equity DOUBLE PRECISION,
    -- The kind's listing (RunInfo, SessionInfo) and the request that started it, as JSON.
    info TEXT NOT NULL,
    request TEXT NOT NULL,
    title TEXT,
    notes TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    -- What a session resumes from after a restart (JSON); NULL for a backtest.
    checkpoint TEXT,
    -- 1 when its record reached --record-messages and left the rest out.
    record_cut BIGINT NOT NULL DEFAULT 0,
    -- The bytes its row and messages hold, for --keep-bytes.
    bytes BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, id)
);

-- Listings: newest first, a page at a time.
CREATE INDEX runs_newest ON runs (kind, created_ms, id);

CREATE TABLE run_messages (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    frame TEXT NOT NULL,
    PRIMARY KEY (kind, id, seq)
);

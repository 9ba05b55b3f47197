-- Users' webhooks (docs/SPEC.md section 5, "Notices"): where a user's notices are also
-- posted. One schema for SQLite and PostgreSQL: TEXT and BIGINT only, JSON kept as text.
CREATE TABLE webhooks (
    id TEXT NOT NULL PRIMARY KEY,
    -- The user (a token's `sub`, or `anonymous`).
    owner TEXT NOT NULL,
    url TEXT NOT NULL,
    -- The notice events it is posted for, as a JSON array.
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    -- `json`, `slack` or `discord`.
    format TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

CREATE INDEX webhooks_by_owner ON webhooks (owner, created_ms);

-- Listings filtered by owner (a user's own runs), strategy, symbol or status, newest
-- first: each walks its own index instead of the whole table (BENCHMARKS.md, "The store").
CREATE INDEX runs_by_owner ON runs (kind, owner, created_ms, id);
CREATE INDEX runs_by_strategy ON runs (kind, strategy, created_ms, id);
CREATE INDEX runs_by_symbol ON runs (kind, symbol, created_ms, id);
CREATE INDEX runs_by_status ON runs (kind, status, created_ms, id);

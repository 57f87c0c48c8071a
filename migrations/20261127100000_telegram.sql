-- State that chat adapters keep across restarts, as key/value pairs: e.g.
-- the Telegram long-polling offset ('telegram.update_offset'), so that no
-- update is handled twice or skipped when the process restarts.
CREATE TABLE adapter_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Each organisation's own quality-system code and label for a unified category (`integration::
-- mapping`): `kind` '' for both kinds, or one kind that overrides it; `local_code` NULL says
-- "not in use here" explicitly.
CREATE TABLE category_mappings (
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    category TEXT NOT NULL REFERENCES categories (code),
    kind TEXT NOT NULL,
    local_code TEXT,
    local_label TEXT,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (organisation_id, category, kind),
    CHECK ((local_code IS NULL) = (local_label IS NULL))
);

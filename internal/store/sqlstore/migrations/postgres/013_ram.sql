-- Access control as RAM manages it (issue 12): users, their access keys,
-- groups, custom policies and their versions, roles, which policy is
-- attached to which user, group or role, and tags of policies and roles.
-- The account id and alias live in meta (account_id, account_alias).
--
-- An access key's secret is only ever stored sealed (AES-256-GCM under the
-- master key, bound to the key id), in sealed_secret. Attachments and
-- memberships refer to users, groups and roles by id, since users and
-- groups can be renamed; policies and roles cannot, and are named.
--
-- ram_revision is bumped by every transaction that changes who may do
-- what (a key, a user, a membership, a policy version, an attachment, a
-- role): the nodes' caches of identities follow it.
CREATE TABLE ram_revision (
    id  INTEGER NOT NULL PRIMARY KEY,
    rev BIGINT  NOT NULL
);
INSERT INTO ram_revision (id, rev) VALUES (1, 0);

CREATE TABLE ram_users (
    id            TEXT   NOT NULL PRIMARY KEY,
    name          TEXT   COLLATE "C" NOT NULL UNIQUE,
    display_name  TEXT   NOT NULL,
    mobile_phone  TEXT   NOT NULL,
    email         TEXT   NOT NULL,
    comments      TEXT   NOT NULL,
    created_us    BIGINT NOT NULL,
    updated_us    BIGINT NOT NULL,
    last_login_us BIGINT NOT NULL
);

CREATE TABLE ram_access_keys (
    id            TEXT   NOT NULL PRIMARY KEY,
    user_id       TEXT   NOT NULL REFERENCES ram_users (id),
    status        TEXT   NOT NULL,
    sealed_secret BYTEA  NOT NULL,
    created_us    BIGINT NOT NULL
);
CREATE INDEX ram_access_keys_user ON ram_access_keys (user_id, created_us);

CREATE TABLE ram_groups (
    id         TEXT   NOT NULL PRIMARY KEY,
    name       TEXT   COLLATE "C" NOT NULL UNIQUE,
    comments   TEXT   NOT NULL,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);

CREATE TABLE ram_group_members (
    group_id  TEXT   NOT NULL REFERENCES ram_groups (id),
    user_id   TEXT   NOT NULL REFERENCES ram_users (id),
    joined_us BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX ram_group_members_user ON ram_group_members (user_id);

CREATE TABLE ram_policies (
    name            TEXT    COLLATE "C" NOT NULL PRIMARY KEY,
    description     TEXT    NOT NULL,
    default_version INTEGER NOT NULL,
    last_version    INTEGER NOT NULL,
    created_us      BIGINT  NOT NULL,
    updated_us      BIGINT  NOT NULL
);

CREATE TABLE ram_policy_versions (
    policy_name TEXT    COLLATE "C" NOT NULL REFERENCES ram_policies (name) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    document    TEXT    NOT NULL,
    created_us  BIGINT  NOT NULL,
    PRIMARY KEY (policy_name, version)
);

CREATE TABLE ram_roles (
    id             TEXT    NOT NULL PRIMARY KEY,
    name           TEXT    COLLATE "C" NOT NULL UNIQUE,
    description    TEXT    NOT NULL,
    trust_document TEXT    NOT NULL,
    max_session    INTEGER NOT NULL,
    created_us     BIGINT  NOT NULL,
    updated_us     BIGINT  NOT NULL
);

-- principal_kind is user, group or role; principal_id that one's id.
CREATE TABLE ram_attachments (
    principal_kind TEXT   NOT NULL,
    principal_id   TEXT   NOT NULL,
    policy_type    TEXT   NOT NULL,
    policy_name    TEXT   COLLATE "C" NOT NULL,
    attached_us    BIGINT NOT NULL,
    PRIMARY KEY (principal_kind, principal_id, policy_type, policy_name)
);
CREATE INDEX ram_attachments_policy ON ram_attachments (policy_type, policy_name);

-- kind is policy or role; name that one's name.
CREATE TABLE ram_tags (
    kind      TEXT NOT NULL,
    name      TEXT COLLATE "C" NOT NULL,
    tag_key   TEXT COLLATE "C" NOT NULL,
    tag_value TEXT NOT NULL,
    PRIMARY KEY (kind, name, tag_key)
);

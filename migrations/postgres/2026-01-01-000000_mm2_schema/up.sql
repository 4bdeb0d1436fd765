-- MirrorManager2's schema (table and column names and types as MM2 declares them).
-- No server-side defaults beyond what MM2 has: the code gives every NOT NULL column.
CREATE TABLE product (
    id SERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    publiclist BOOLEAN NOT NULL
);
CREATE TABLE arch (
    id SERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    primary_arch BOOLEAN NOT NULL,
    publiclist BOOLEAN NOT NULL
);
CREATE TABLE version (
    id SERIAL PRIMARY KEY,
    product_id INTEGER REFERENCES product(id),
    codename TEXT,
    display BOOLEAN NOT NULL,
    display_name TEXT,
    is_test BOOLEAN NOT NULL,
    name TEXT,
    ordered_mirrorlist BOOLEAN NOT NULL,
    sortorder INTEGER NOT NULL,
    UNIQUE (name, product_id)
);
CREATE TABLE directory (
    id SERIAL PRIMARY KEY,
    ctime BIGINT,
    files BYTEA,
    name TEXT NOT NULL UNIQUE,
    readable BOOLEAN NOT NULL
);
CREATE INDEX ix_directory_readable ON directory (readable);
CREATE TABLE category (
    id SERIAL PRIMARY KEY,
    product_id INTEGER REFERENCES product(id),
    topdir_id INTEGER REFERENCES directory(id),
    admin_only BOOLEAN,
    canonicalhost TEXT,
    geo_dns_domain TEXT,
    name TEXT NOT NULL UNIQUE,
    publiclist BOOLEAN NOT NULL
);
CREATE TABLE category_directory (
    category_id INTEGER NOT NULL REFERENCES category(id),
    directory_id INTEGER NOT NULL REFERENCES directory(id),
    PRIMARY KEY (category_id, directory_id)
);
CREATE INDEX ix_category_directory_directory_id ON category_directory (directory_id);
CREATE TABLE country (
    id SERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE
);
CREATE TABLE country_continent_redirect (
    id SERIAL PRIMARY KEY,
    continent TEXT NOT NULL,
    country TEXT NOT NULL UNIQUE
);
CREATE TABLE embargoed_country (
    id SERIAL PRIMARY KEY,
    country_code TEXT NOT NULL UNIQUE
);
CREATE TABLE site (
    id SERIAL PRIMARY KEY,
    admin_active BOOLEAN NOT NULL,
    all_sites_can_pull_from_me BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    downstream_comments TEXT,
    email_on_add BOOLEAN NOT NULL,
    email_on_drop BOOLEAN NOT NULL,
    name TEXT NOT NULL,
    org_url TEXT,
    password TEXT,
    private BOOLEAN NOT NULL,
    user_active BOOLEAN NOT NULL
);
CREATE INDEX ix_site_admin_active ON site (admin_active);
CREATE INDEX ix_site_created_at ON site (created_at);
CREATE INDEX ix_site_name ON site (name);
CREATE INDEX ix_site_private ON site (private);
CREATE INDEX ix_site_user_active ON site (user_active);
CREATE TABLE host (
    id SERIAL PRIMARY KEY,
    site_id INTEGER REFERENCES site(id),
    admin_active BOOLEAN NOT NULL,
    asn INTEGER,
    asn_clients BOOLEAN NOT NULL,
    bandwidth_int INTEGER,
    comment TEXT,
    config BYTEA,
    country TEXT NOT NULL,
    crawl_failures INTEGER NOT NULL,
    disable_reason TEXT,
    internet2 BOOLEAN NOT NULL,
    internet2_clients BOOLEAN NOT NULL,
    last_checked_in TIMESTAMP,
    last_crawl_duration BIGINT,
    last_crawled TIMESTAMP,
    last_crawls BYTEA,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    max_connections INTEGER NOT NULL,
    name TEXT NOT NULL,
    private BOOLEAN NOT NULL,
    push_ssh_command TEXT,
    push_ssh_host TEXT,
    push_ssh_private_key TEXT,
    robot_email TEXT,
    user_active BOOLEAN NOT NULL,
    UNIQUE (site_id, name)
);
CREATE INDEX ix_host_admin_active ON host (admin_active);
CREATE INDEX ix_host_country ON host (country);
CREATE INDEX ix_host_last_crawl_duration ON host (last_crawl_duration);
CREATE INDEX ix_host_name ON host (name);
CREATE INDEX ix_host_private ON host (private);
CREATE INDEX ix_host_user_active ON host (user_active);
CREATE TABLE directory_exclusive_host (
    id SERIAL PRIMARY KEY,
    directory_id INTEGER NOT NULL REFERENCES directory(id),
    host_id INTEGER NOT NULL REFERENCES host(id)
);
CREATE TABLE file_detail (
    id SERIAL PRIMARY KEY,
    directory_id INTEGER NOT NULL REFERENCES directory(id),
    filename TEXT NOT NULL,
    md5 TEXT,
    sha1 TEXT,
    sha256 TEXT,
    sha512 TEXT,
    size BIGINT,
    timestamp BIGINT
);
CREATE INDEX ix_file_detail_timestamp ON file_detail (timestamp);
CREATE INDEX ix_file_detail_directory_id ON file_detail (directory_id, filename);
CREATE TABLE file_group (
    id SERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE file_detail_file_group (
    id SERIAL PRIMARY KEY,
    file_detail_id INTEGER NOT NULL REFERENCES file_detail(id),
    file_group_id INTEGER NOT NULL REFERENCES file_group(id)
);
CREATE TABLE host_acl_ip (
    id SERIAL PRIMARY KEY,
    host_id INTEGER REFERENCES host(id),
    ip TEXT UNIQUE
);
CREATE TABLE host_category (
    id SERIAL PRIMARY KEY,
    category_id INTEGER REFERENCES category(id),
    host_id INTEGER REFERENCES host(id),
    always_up2date BOOLEAN NOT NULL,
    UNIQUE (host_id, category_id)
);
CREATE TABLE host_category_dir (
    id SERIAL PRIMARY KEY,
    directory_id INTEGER REFERENCES directory(id),
    host_category_id INTEGER NOT NULL REFERENCES host_category(id),
    path TEXT,
    up2date BOOLEAN NOT NULL,
    UNIQUE (host_category_id, path)
);
CREATE INDEX ix_host_category_dir_up2date ON host_category_dir (up2date);
CREATE INDEX ix_host_category_dir_directory_id ON host_category_dir (directory_id);
CREATE TABLE host_category_url (
    id SERIAL PRIMARY KEY,
    host_category_id INTEGER NOT NULL REFERENCES host_category(id),
    private BOOLEAN NOT NULL,
    url TEXT NOT NULL UNIQUE
);
CREATE INDEX ix_host_category_url_private ON host_category_url (private);
CREATE TABLE host_country (
    id SERIAL PRIMARY KEY,
    country_id INTEGER NOT NULL REFERENCES country(id),
    host_id INTEGER NOT NULL REFERENCES host(id)
);
CREATE TABLE host_country_allowed (
    id SERIAL PRIMARY KEY,
    host_id INTEGER REFERENCES host(id),
    country TEXT NOT NULL,
    UNIQUE (host_id, country)
);
CREATE TABLE location (
    id SERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE host_location (
    id SERIAL PRIMARY KEY,
    host_id INTEGER NOT NULL REFERENCES host(id),
    location_id INTEGER NOT NULL REFERENCES location(id)
);
CREATE TABLE host_netblock (
    id SERIAL PRIMARY KEY,
    host_id INTEGER REFERENCES host(id),
    name TEXT,
    netblock TEXT
);
CREATE TABLE host_peer_asn (
    id SERIAL PRIMARY KEY,
    host_id INTEGER REFERENCES host(id),
    asn INTEGER NOT NULL,
    name TEXT,
    UNIQUE (host_id, asn)
);
CREATE TABLE host_stats (
    id SERIAL PRIMARY KEY,
    host_id INTEGER REFERENCES host(id),
    data BYTEA,
    timestamp TIMESTAMP NOT NULL,
    type TEXT
);
CREATE TABLE mm_group (
    id SERIAL PRIMARY KEY,
    created TIMESTAMP NOT NULL,
    display_name VARCHAR(255),
    group_name VARCHAR(16) NOT NULL UNIQUE
);
CREATE TABLE mm_user (
    id SERIAL PRIMARY KEY,
    created TIMESTAMP NOT NULL,
    display_name VARCHAR(255),
    email_address VARCHAR(255) NOT NULL UNIQUE,
    password TEXT,
    token VARCHAR(50),
    updated_on TIMESTAMP NOT NULL,
    user_name VARCHAR(16) NOT NULL UNIQUE
);
CREATE TABLE mm_user_group (
    group_id INTEGER NOT NULL REFERENCES mm_group(id),
    user_id INTEGER NOT NULL REFERENCES mm_user(id),
    PRIMARY KEY (group_id, user_id)
);
CREATE TABLE mm_user_visit (
    id SERIAL PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES mm_user(id),
    created TIMESTAMP NOT NULL,
    expiry TIMESTAMP,
    user_ip VARCHAR(50) NOT NULL,
    visit_key VARCHAR(40) NOT NULL UNIQUE
);
CREATE TABLE netblock_country (
    id SERIAL PRIMARY KEY,
    country TEXT NOT NULL,
    netblock TEXT NOT NULL UNIQUE
);
CREATE TABLE repository (
    id SERIAL PRIMARY KEY,
    arch_id INTEGER REFERENCES arch(id),
    category_id INTEGER REFERENCES category(id),
    directory_id INTEGER REFERENCES directory(id),
    version_id INTEGER REFERENCES version(id),
    disabled BOOLEAN NOT NULL,
    name TEXT NOT NULL UNIQUE,
    prefix TEXT,
    UNIQUE (prefix, arch_id)
);
CREATE INDEX ix_repository_prefix ON repository (prefix);
CREATE TABLE repository_redirect (
    id SERIAL PRIMARY KEY,
    from_repo TEXT NOT NULL UNIQUE,
    to_repo TEXT
);
CREATE TABLE propagation_stat (
    datetime TIMESTAMP NOT NULL,
    repository_id INTEGER NOT NULL REFERENCES repository(id),
    no_info INTEGER NOT NULL,
    older INTEGER NOT NULL,
    one_day INTEGER NOT NULL,
    same_day INTEGER NOT NULL,
    two_day INTEGER NOT NULL,
    PRIMARY KEY (datetime, repository_id)
);
CREATE INDEX ix_propagation_stat_repository_id ON propagation_stat (repository_id);
CREATE TABLE access_stat_category (
    id SERIAL PRIMARY KEY,
    name VARCHAR(255) NOT NULL UNIQUE
);
CREATE TABLE access_stat (
    category_id INTEGER NOT NULL REFERENCES access_stat_category(id),
    date DATE NOT NULL,
    name VARCHAR(255) NOT NULL,
    percent DOUBLE PRECISION,
    requests INTEGER,
    PRIMARY KEY (category_id, date, name)
);
CREATE INDEX ix_access_stat_requests ON access_stat (requests);
CREATE TABLE site_admin (
    id SERIAL PRIMARY KEY,
    site_id INTEGER NOT NULL REFERENCES site(id),
    username TEXT
);
CREATE TABLE site_to_site (
    id SERIAL PRIMARY KEY,
    downstream_site_id INTEGER NOT NULL REFERENCES site(id),
    upstream_site_id INTEGER NOT NULL REFERENCES site(id),
    password TEXT,
    username TEXT
);

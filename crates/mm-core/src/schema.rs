//! The database schema: MirrorManager2's tables and columns, with portable diesel types.
//!
//! This file is the single source of truth for the layout. `db check` parses it (see
//! `crate::db::check`) and a tidy test compares it with what both migration folders produce.
//! Column types use only SQL types that PostgreSQL and SQLite both map (Integer, BigInt,
//! Bool, Text, Binary, Timestamp, Date, Double).

diesel::table! {
    access_stat (category_id, date, name) {
        category_id -> Integer,
        date -> Date,
        name -> Text,
        percent -> Nullable<Double>,
        requests -> Nullable<Integer>,
    }
}

diesel::table! {
    access_stat_category (id) {
        id -> Integer,
        name -> Text,
    }
}

diesel::table! {
    arch (id) {
        id -> Integer,
        name -> Text,
        primary_arch -> Bool,
        publiclist -> Bool,
    }
}

diesel::table! {
    category (id) {
        id -> Integer,
        product_id -> Nullable<Integer>,
        topdir_id -> Nullable<Integer>,
        admin_only -> Nullable<Bool>,
        canonicalhost -> Nullable<Text>,
        geo_dns_domain -> Nullable<Text>,
        name -> Text,
        publiclist -> Bool,
    }
}

diesel::table! {
    category_directory (category_id, directory_id) {
        category_id -> Integer,
        directory_id -> Integer,
    }
}

diesel::table! {
    country (id) {
        id -> Integer,
        code -> Text,
    }
}

diesel::table! {
    country_continent_redirect (id) {
        id -> Integer,
        continent -> Text,
        country -> Text,
    }
}

diesel::table! {
    directory (id) {
        id -> Integer,
        ctime -> Nullable<BigInt>,
        files -> Nullable<Binary>,
        name -> Text,
        readable -> Bool,
    }
}

diesel::table! {
    directory_exclusive_host (id) {
        id -> Integer,
        directory_id -> Integer,
        host_id -> Integer,
    }
}

diesel::table! {
    embargoed_country (id) {
        id -> Integer,
        country_code -> Text,
    }
}

diesel::table! {
    file_detail (id) {
        id -> Integer,
        directory_id -> Integer,
        filename -> Text,
        md5 -> Nullable<Text>,
        sha1 -> Nullable<Text>,
        sha256 -> Nullable<Text>,
        sha512 -> Nullable<Text>,
        size -> Nullable<BigInt>,
        timestamp -> Nullable<BigInt>,
    }
}

diesel::table! {
    file_detail_file_group (id) {
        id -> Integer,
        file_detail_id -> Integer,
        file_group_id -> Integer,
    }
}

diesel::table! {
    file_group (id) {
        id -> Integer,
        name -> Text,
    }
}

diesel::table! {
    host (id) {
        id -> Integer,
        site_id -> Nullable<Integer>,
        admin_active -> Bool,
        asn -> Nullable<Integer>,
        asn_clients -> Bool,
        bandwidth_int -> Nullable<Integer>,
        comment -> Nullable<Text>,
        config -> Nullable<Binary>,
        country -> Text,
        crawl_failures -> Integer,
        disable_reason -> Nullable<Text>,
        internet2 -> Bool,
        internet2_clients -> Bool,
        last_checked_in -> Nullable<Timestamp>,
        last_crawl_duration -> Nullable<BigInt>,
        last_crawled -> Nullable<Timestamp>,
        last_crawls -> Nullable<Binary>,
        latitude -> Nullable<Double>,
        longitude -> Nullable<Double>,
        max_connections -> Integer,
        name -> Text,
        private -> Bool,
        push_ssh_command -> Nullable<Text>,
        push_ssh_host -> Nullable<Text>,
        push_ssh_private_key -> Nullable<Text>,
        robot_email -> Nullable<Text>,
        user_active -> Bool,
    }
}

diesel::table! {
    host_acl_ip (id) {
        id -> Integer,
        host_id -> Nullable<Integer>,
        ip -> Nullable<Text>,
    }
}

diesel::table! {
    host_category (id) {
        id -> Integer,
        category_id -> Nullable<Integer>,
        host_id -> Nullable<Integer>,
        always_up2date -> Bool,
    }
}

diesel::table! {
    host_category_dir (id) {
        id -> Integer,
        directory_id -> Nullable<Integer>,
        host_category_id -> Integer,
        path -> Nullable<Text>,
        up2date -> Bool,
    }
}

diesel::table! {
    host_category_url (id) {
        id -> Integer,
        host_category_id -> Integer,
        private -> Bool,
        url -> Text,
    }
}

diesel::table! {
    host_country (id) {
        id -> Integer,
        country_id -> Integer,
        host_id -> Integer,
    }
}

diesel::table! {
    host_country_allowed (id) {
        id -> Integer,
        host_id -> Nullable<Integer>,
        country -> Text,
    }
}

diesel::table! {
    host_location (id) {
        id -> Integer,
        host_id -> Integer,
        location_id -> Integer,
    }
}

diesel::table! {
    host_netblock (id) {
        id -> Integer,
        host_id -> Nullable<Integer>,
        name -> Nullable<Text>,
        netblock -> Nullable<Text>,
    }
}

diesel::table! {
    host_peer_asn (id) {
        id -> Integer,
        host_id -> Nullable<Integer>,
        asn -> Integer,
        name -> Nullable<Text>,
    }
}

diesel::table! {
    host_stats (id) {
        id -> Integer,
        host_id -> Nullable<Integer>,
        data -> Nullable<Binary>,
        timestamp -> Timestamp,
        #[sql_name = "type"]
        type_ -> Nullable<Text>,
    }
}

diesel::table! {
    location (id) {
        id -> Integer,
        name -> Text,
    }
}

diesel::table! {
    mm_group (id) {
        id -> Integer,
        created -> Timestamp,
        display_name -> Nullable<Text>,
        group_name -> Text,
    }
}

diesel::table! {
    mm_user (id) {
        id -> Integer,
        created -> Timestamp,
        display_name -> Nullable<Text>,
        email_address -> Text,
        password -> Nullable<Text>,
        token -> Nullable<Text>,
        updated_on -> Timestamp,
        user_name -> Text,
    }
}

diesel::table! {
    mm_user_group (group_id, user_id) {
        group_id -> Integer,
        user_id -> Integer,
    }
}

diesel::table! {
    mm_user_visit (id) {
        id -> Integer,
        user_id -> Integer,
        created -> Timestamp,
        expiry -> Nullable<Timestamp>,
        user_ip -> Text,
        visit_key -> Text,
    }
}

diesel::table! {
    netblock_country (id) {
        id -> Integer,
        country -> Text,
        netblock -> Text,
    }
}

diesel::table! {
    product (id) {
        id -> Integer,
        name -> Text,
        publiclist -> Bool,
    }
}

diesel::table! {
    propagation_stat (datetime, repository_id) {
        datetime -> Timestamp,
        repository_id -> Integer,
        no_info -> Integer,
        older -> Integer,
        one_day -> Integer,
        same_day -> Integer,
        two_day -> Integer,
    }
}

diesel::table! {
    repository (id) {
        id -> Integer,
        arch_id -> Nullable<Integer>,
        category_id -> Nullable<Integer>,
        directory_id -> Nullable<Integer>,
        version_id -> Nullable<Integer>,
        disabled -> Bool,
        name -> Text,
        prefix -> Nullable<Text>,
    }
}

diesel::table! {
    repository_redirect (id) {
        id -> Integer,
        from_repo -> Text,
        to_repo -> Nullable<Text>,
    }
}

diesel::table! {
    site (id) {
        id -> Integer,
        admin_active -> Bool,
        all_sites_can_pull_from_me -> Bool,
        created_at -> Timestamp,
        created_by -> Text,
        downstream_comments -> Nullable<Text>,
        email_on_add -> Bool,
        email_on_drop -> Bool,
        name -> Text,
        org_url -> Nullable<Text>,
        password -> Nullable<Text>,
        private -> Bool,
        user_active -> Bool,
    }
}

diesel::table! {
    site_admin (id) {
        id -> Integer,
        site_id -> Integer,
        username -> Nullable<Text>,
    }
}

diesel::table! {
    site_to_site (id) {
        id -> Integer,
        downstream_site_id -> Integer,
        upstream_site_id -> Integer,
        password -> Nullable<Text>,
        username -> Nullable<Text>,
    }
}

diesel::table! {
    version (id) {
        id -> Integer,
        product_id -> Nullable<Integer>,
        codename -> Nullable<Text>,
        display -> Bool,
        display_name -> Nullable<Text>,
        is_test -> Bool,
        name -> Nullable<Text>,
        ordered_mirrorlist -> Bool,
        sortorder -> Integer,
    }
}

diesel::joinable!(category -> product (product_id));
diesel::joinable!(category -> directory (topdir_id));
diesel::joinable!(category_directory -> category (category_id));
diesel::joinable!(category_directory -> directory (directory_id));
diesel::joinable!(file_detail -> directory (directory_id));
diesel::joinable!(host -> site (site_id));
diesel::joinable!(host_category -> host (host_id));
diesel::joinable!(host_category -> category (category_id));
diesel::joinable!(host_category_dir -> host_category (host_category_id));
diesel::joinable!(host_category_dir -> directory (directory_id));
diesel::joinable!(host_category_url -> host_category (host_category_id));
diesel::joinable!(host_country_allowed -> host (host_id));
diesel::joinable!(host_netblock -> host (host_id));
diesel::joinable!(host_peer_asn -> host (host_id));
diesel::joinable!(repository -> arch (arch_id));
diesel::joinable!(repository -> category (category_id));
diesel::joinable!(repository -> directory (directory_id));
diesel::joinable!(repository -> version (version_id));
diesel::joinable!(version -> product (product_id));
diesel::joinable!(propagation_stat -> repository (repository_id));

diesel::allow_tables_to_appear_in_same_query!(
    access_stat,
    access_stat_category,
    arch,
    category,
    category_directory,
    country,
    country_continent_redirect,
    directory,
    directory_exclusive_host,
    embargoed_country,
    file_detail,
    file_detail_file_group,
    file_group,
    host,
    host_acl_ip,
    host_category,
    host_category_dir,
    host_category_url,
    host_country,
    host_country_allowed,
    host_location,
    host_netblock,
    host_peer_asn,
    host_stats,
    location,
    mm_group,
    mm_user,
    mm_user_group,
    mm_user_visit,
    netblock_country,
    product,
    propagation_stat,
    repository,
    repository_redirect,
    site,
    site_admin,
    site_to_site,
    version,
);

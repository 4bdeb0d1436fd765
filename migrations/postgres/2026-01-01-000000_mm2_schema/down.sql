DROP TABLE site_to_site, site_admin, access_stat, access_stat_category, propagation_stat,
    repository_redirect, repository, netblock_country, mm_user_visit, mm_user_group, mm_user,
    mm_group, host_stats, host_peer_asn, host_netblock, host_location, location,
    host_country_allowed, host_country, host_category_url, host_category_dir, host_category,
    host_acl_ip, file_detail_file_group, file_group, file_detail, directory_exclusive_host,
    host, site, embargoed_country, country_continent_redirect, country, category_directory,
    category, directory, version, arch, product;

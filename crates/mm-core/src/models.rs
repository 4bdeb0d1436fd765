//! Row structs for the tables the jobs and the admin CLI read and write.
//!
//! Query them with `.select(T::as_select())`. Every `New*` struct carries every NOT NULL
//! column: MM2's databases have no server-side defaults, so inserts must not rely on any.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::schema::*;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = site)]
pub struct Site {
    pub id: i32,
    pub name: String,
    #[serde(skip)]
    pub password: Option<String>,
    pub org_url: Option<String>,
    pub private: bool,
    pub admin_active: bool,
    pub user_active: bool,
    pub created_at: NaiveDateTime,
    pub created_by: String,
    pub all_sites_can_pull_from_me: bool,
    pub downstream_comments: Option<String>,
    pub email_on_drop: bool,
    pub email_on_add: bool,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = site)]
pub struct NewSite {
    pub name: String,
    pub password: Option<String>,
    pub org_url: Option<String>,
    pub private: bool,
    pub admin_active: bool,
    pub user_active: bool,
    pub created_at: NaiveDateTime,
    pub created_by: String,
    pub all_sites_can_pull_from_me: bool,
    pub downstream_comments: Option<String>,
    pub email_on_drop: bool,
    pub email_on_add: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = host)]
pub struct Host {
    pub id: i32,
    pub site_id: Option<i32>,
    pub name: String,
    pub robot_email: Option<String>,
    pub admin_active: bool,
    pub user_active: bool,
    pub country: String,
    pub bandwidth_int: Option<i32>,
    pub comment: Option<String>,
    pub private: bool,
    pub internet2: bool,
    pub internet2_clients: bool,
    pub asn: Option<i32>,
    pub asn_clients: bool,
    pub max_connections: i32,
    pub last_checked_in: Option<NaiveDateTime>,
    pub last_crawled: Option<NaiveDateTime>,
    pub last_crawl_duration: Option<i64>,
    pub crawl_failures: i32,
    pub disable_reason: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = host)]
pub struct NewHost {
    pub site_id: Option<i32>,
    pub name: String,
    pub robot_email: Option<String>,
    pub admin_active: bool,
    pub user_active: bool,
    pub country: String,
    pub bandwidth_int: Option<i32>,
    pub comment: Option<String>,
    pub private: bool,
    pub internet2: bool,
    pub internet2_clients: bool,
    pub asn: Option<i32>,
    pub asn_clients: bool,
    pub max_connections: i32,
    pub last_crawl_duration: Option<i64>,
    pub crawl_failures: i32,
}

impl NewHost {
    /// A host with MM2's defaults (bandwidth 100, max_connections 1, active, public).
    pub fn new(site_id: i32, name: &str, country: &str) -> Self {
        NewHost {
            site_id: Some(site_id),
            name: name.to_string(),
            robot_email: None,
            admin_active: true,
            user_active: true,
            country: country.to_ascii_uppercase(),
            bandwidth_int: Some(100),
            comment: None,
            private: false,
            internet2: false,
            internet2_clients: false,
            asn: None,
            asn_clients: true,
            max_connections: 1,
            last_crawl_duration: Some(0),
            crawl_failures: 0,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = category)]
pub struct Category {
    pub id: i32,
    pub name: String,
    pub product_id: Option<i32>,
    pub topdir_id: Option<i32>,
    pub canonicalhost: Option<String>,
    pub publiclist: bool,
    pub geo_dns_domain: Option<String>,
    pub admin_only: Option<bool>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = category)]
pub struct NewCategory {
    pub name: String,
    pub product_id: Option<i32>,
    pub topdir_id: Option<i32>,
    pub canonicalhost: Option<String>,
    pub publiclist: bool,
    pub geo_dns_domain: Option<String>,
    pub admin_only: Option<bool>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = host_category)]
pub struct HostCategory {
    pub id: i32,
    pub host_id: Option<i32>,
    pub category_id: Option<i32>,
    pub always_up2date: bool,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = host_category)]
pub struct NewHostCategory {
    pub host_id: Option<i32>,
    pub category_id: Option<i32>,
    pub always_up2date: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = host_category_url)]
pub struct HostCategoryUrl {
    pub id: i32,
    pub host_category_id: i32,
    pub url: String,
    pub private: bool,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = host_category_url)]
pub struct NewHostCategoryUrl {
    pub host_category_id: i32,
    pub url: String,
    pub private: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = host_category_dir)]
pub struct HostCategoryDir {
    pub id: i32,
    pub host_category_id: i32,
    pub path: Option<String>,
    pub up2date: bool,
    pub directory_id: Option<i32>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = host_category_dir)]
pub struct NewHostCategoryDir {
    pub host_category_id: i32,
    pub path: Option<String>,
    pub up2date: bool,
    pub directory_id: Option<i32>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = host_netblock)]
pub struct HostNetblock {
    pub id: i32,
    pub host_id: Option<i32>,
    pub netblock: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = host_netblock)]
pub struct NewHostNetblock {
    pub host_id: Option<i32>,
    pub netblock: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = host_peer_asn)]
pub struct HostPeerAsn {
    pub id: i32,
    pub host_id: Option<i32>,
    pub asn: i32,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = host_peer_asn)]
pub struct NewHostPeerAsn {
    pub host_id: Option<i32>,
    pub asn: i32,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = host_country_allowed)]
pub struct HostCountryAllowed {
    pub id: i32,
    pub host_id: Option<i32>,
    pub country: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = host_country_allowed)]
pub struct NewHostCountryAllowed {
    pub host_id: Option<i32>,
    pub country: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = directory)]
pub struct Directory {
    pub id: i32,
    pub name: String,
    #[serde(skip)]
    pub files: Option<Vec<u8>>,
    pub readable: bool,
    pub ctime: Option<i64>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = directory)]
pub struct NewDirectory {
    pub name: String,
    pub files: Option<Vec<u8>>,
    pub readable: bool,
    pub ctime: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = category_directory)]
pub struct CategoryDirectory {
    pub category_id: i32,
    pub directory_id: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = file_detail)]
pub struct FileDetail {
    pub id: i32,
    pub directory_id: i32,
    pub filename: String,
    pub timestamp: Option<i64>,
    pub size: Option<i64>,
    pub sha1: Option<String>,
    pub md5: Option<String>,
    pub sha256: Option<String>,
    pub sha512: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = file_detail)]
pub struct NewFileDetail {
    pub directory_id: i32,
    pub filename: String,
    pub timestamp: Option<i64>,
    pub size: Option<i64>,
    pub sha1: Option<String>,
    pub md5: Option<String>,
    pub sha256: Option<String>,
    pub sha512: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = product)]
pub struct Product {
    pub id: i32,
    pub name: String,
    pub publiclist: bool,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = product)]
pub struct NewProduct {
    pub name: String,
    pub publiclist: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = version)]
pub struct Version {
    pub id: i32,
    pub name: Option<String>,
    pub product_id: Option<i32>,
    pub is_test: bool,
    pub display: bool,
    pub display_name: Option<String>,
    pub ordered_mirrorlist: bool,
    pub sortorder: i32,
    pub codename: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = version)]
pub struct NewVersion {
    pub name: Option<String>,
    pub product_id: Option<i32>,
    pub is_test: bool,
    pub display: bool,
    pub display_name: Option<String>,
    pub ordered_mirrorlist: bool,
    pub sortorder: i32,
    pub codename: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = arch)]
pub struct Arch {
    pub id: i32,
    pub name: String,
    pub publiclist: bool,
    pub primary_arch: bool,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = arch)]
pub struct NewArch {
    pub name: String,
    pub publiclist: bool,
    pub primary_arch: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = repository)]
pub struct Repository {
    pub id: i32,
    pub name: String,
    pub prefix: Option<String>,
    pub category_id: Option<i32>,
    pub version_id: Option<i32>,
    pub arch_id: Option<i32>,
    pub directory_id: Option<i32>,
    pub disabled: bool,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = repository)]
pub struct NewRepository {
    pub name: String,
    pub prefix: Option<String>,
    pub category_id: Option<i32>,
    pub version_id: Option<i32>,
    pub arch_id: Option<i32>,
    pub directory_id: Option<i32>,
    pub disabled: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = repository_redirect)]
pub struct RepositoryRedirect {
    pub id: i32,
    pub from_repo: String,
    pub to_repo: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = repository_redirect)]
pub struct NewRepositoryRedirect {
    pub from_repo: String,
    pub to_repo: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = country_continent_redirect)]
pub struct CountryContinentRedirect {
    pub id: i32,
    pub country: String,
    pub continent: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = country_continent_redirect)]
pub struct NewCountryContinentRedirect {
    pub country: String,
    pub continent: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = embargoed_country)]
pub struct EmbargoedCountry {
    pub id: i32,
    pub country_code: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = embargoed_country)]
pub struct NewEmbargoedCountry {
    pub country_code: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = netblock_country)]
pub struct NetblockCountry {
    pub id: i32,
    pub netblock: String,
    pub country: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = netblock_country)]
pub struct NewNetblockCountry {
    pub netblock: String,
    pub country: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = propagation_stat)]
pub struct PropagationStat {
    pub repository_id: i32,
    pub datetime: NaiveDateTime,
    pub same_day: i32,
    pub one_day: i32,
    pub two_day: i32,
    pub older: i32,
    pub no_info: i32,
}

//! Look up records by the names people type (or by numeric id), with clear errors.

use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::models::*;
use mm_core::schema::*;

use crate::error::{AdminError, Result};

/// A site by id or name.
pub fn site_by(conn: &mut DbConn, key: &str) -> Result<Site> {
    let q = site::table.select(Site::as_select()).into_boxed();
    let rows = match key.parse::<i32>() {
        Ok(id) => q.filter(site::id.eq(id)).load(conn)?,
        Err(_) => q.filter(site::name.eq(key)).load(conn)?,
    };
    one(rows, "site", key)
}

/// A host by id, by name, or by `SITE/HOST` when names repeat across sites.
pub fn host_by(conn: &mut DbConn, key: &str) -> Result<Host> {
    let q = host::table.select(Host::as_select()).into_boxed();
    let rows = if let Ok(id) = key.parse::<i32>() {
        q.filter(host::id.eq(id)).load(conn)?
    } else if let Some((s, h)) = key.split_once('/') {
        let s = site_by(conn, s)?;
        q.filter(host::site_id.eq(s.id))
            .filter(host::name.eq(h))
            .load(conn)?
    } else {
        q.filter(host::name.eq(key)).load(conn)?
    };
    one(rows, "host", key)
}

/// A category by id or name.
pub fn category_by(conn: &mut DbConn, key: &str) -> Result<Category> {
    let q = category::table.select(Category::as_select()).into_boxed();
    let rows = match key.parse::<i32>() {
        Ok(id) => q.filter(category::id.eq(id)).load(conn)?,
        Err(_) => q.filter(category::name.eq(key)).load(conn)?,
    };
    one(rows, "category", key)
}

/// A product by id or name.
pub fn product_by(conn: &mut DbConn, key: &str) -> Result<Product> {
    let q = product::table.select(Product::as_select()).into_boxed();
    let rows = match key.parse::<i32>() {
        Ok(id) => q.filter(product::id.eq(id)).load(conn)?,
        Err(_) => q.filter(product::name.eq(key)).load(conn)?,
    };
    one(rows, "product", key)
}

/// The host_category linking a host and a category.
pub fn host_category_by(conn: &mut DbConn, host: &Host, cat: &Category) -> Result<HostCategory> {
    let rows = host_category::table
        .select(HostCategory::as_select())
        .filter(host_category::host_id.eq(host.id))
        .filter(host_category::category_id.eq(cat.id))
        .load(conn)?;
    one(rows, "host-category", format!("{} {}", host.name, cat.name))
}

fn one<T>(mut rows: Vec<T>, what: &'static str, key: impl Into<String>) -> Result<T> {
    let key = key.into();
    match rows.len() {
        0 => Err(AdminError::not_found(what, key)),
        1 => Ok(rows.pop().expect("one row")),
        n => Err(AdminError::Invalid(format!(
            "{n} {what}s are named {key:?}; use the id or SITE/HOST"
        ))),
    }
}

/// Validate and upper-case a two-letter country code.
pub fn country_code(cc: &str) -> Result<String> {
    if mm_core::config::is_country_code(cc) {
        Ok(cc.to_ascii_uppercase())
    } else {
        Err(AdminError::Invalid(format!(
            "malformed country code {cc:?}: expected two letters such as US"
        )))
    }
}

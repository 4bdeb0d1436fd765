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

/// Upper-case a two-letter country code without checking it is assigned: for finding and
/// removing rows that may hold a code stored before codes were checked (`UK`). New and
/// changed rows take [`iso_country_code`].
pub fn country_code(cc: &str) -> Result<String> {
    if mm_core::config::is_country_code(cc) {
        Ok(cc.to_ascii_uppercase())
    } else {
        Err(AdminError::Invalid(format!(
            "malformed country code {cc:?}: expected two letters such as US"
        )))
    }
}

/// Validate and upper-case a country code against [`COUNTRY_CODES`] (ISO 3166-1 alpha-2 and
/// GeoIP's region codes): what the mirrorlist server compares with the GeoIP country of a
/// client, so a code that is not there would never match one.
pub fn iso_country_code(cc: &str) -> Result<String> {
    let code = country_code(cc)?;
    if COUNTRY_CODES.contains(&code.as_str()) {
        return Ok(code);
    }
    Err(AdminError::Invalid(
        match MISTAKES.iter().find(|(c, _)| *c == code) {
            Some((_, hint)) => format!("{code:?} is not an ISO 3166 country code ({hint})"),
            None => format!(
                "{code:?} is not an ISO 3166 country code: expected an assigned two-letter code such as US, DE or GB"
            ),
        },
    ))
}

/// Codes people type that are not ISO 3166-1 codes, with the code they mean.
const MISTAKES: [(&str, &str); 2] = [("UK", "the United Kingdom is GB"), ("EL", "Greece is GR")];

/// The country codes a host, an allowed country or an embargo may name: the 249 officially
/// assigned ISO 3166-1 alpha-2 codes, plus the codes GeoIP databases give clients that are
/// not in one country (`EU` Europe, `AP` Asia/Pacific) and Kosovo's `XK` (user-assigned in
/// ISO 3166, used by GeoIP and by the public list's country names).
pub const COUNTRY_CODES: [&str; 252] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW", // the 249 ISO 3166-1 codes
    "EU", "AP", "XK",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigned_codes_pass_in_either_case() {
        for cc in ["US", "gb", "De", "eu", "AP", "xk", "ax"] {
            assert_eq!(iso_country_code(cc).unwrap(), cc.to_ascii_uppercase());
        }
    }

    #[test]
    fn unassigned_codes_are_refused_with_a_hint() {
        let e = iso_country_code("uk").unwrap_err().to_string();
        assert_eq!(
            e,
            "\"UK\" is not an ISO 3166 country code (the United Kingdom is GB)"
        );
        let e = iso_country_code("QQ").unwrap_err().to_string();
        assert!(
            e.starts_with("\"QQ\" is not an ISO 3166 country code: "),
            "{e}"
        );
        assert!(!e.ends_with('.') && !e.contains('\n'));
        for cc in ["AA", "ZZ", "XX", "EL", "AN", "CS"] {
            assert!(iso_country_code(cc).is_err(), "{cc}");
        }
        let e = iso_country_code("USA").unwrap_err().to_string();
        assert!(e.starts_with("malformed country code"), "{e}");
    }

    #[test]
    fn the_list_is_iso_3166_and_every_code_has_a_name_in_the_public_list() {
        let iso = &COUNTRY_CODES[..249];
        assert!(iso.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
        for cc in COUNTRY_CODES {
            assert!(
                mm_publiclist::countries::name(cc).is_some(),
                "{cc} has no name on the public list"
            );
        }
    }
}

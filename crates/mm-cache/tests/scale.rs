//! Generation at a realistic scale (700 hosts, 400 directories, tens of thousands of
//! host_category_dir rows) stays fast on both backends: bulk queries and hash joins, no
//! per-row queries.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use mm_core::DbConn;
use mm_core::schema::*;

const HOSTS: i32 = 700;
const DIRS: i32 = 400;

fn populate(c: &mut DbConn) {
    let now = chrono::Utc::now().naive_utc();
    diesel::insert_into(site::table)
        .values((
            site::id.eq(1),
            site::name.eq("s"),
            site::private.eq(false),
            site::admin_active.eq(true),
            site::user_active.eq(true),
            site::created_at.eq(now),
            site::created_by.eq("t"),
            site::all_sites_can_pull_from_me.eq(false),
            site::email_on_drop.eq(false),
            site::email_on_add.eq(false),
        ))
        .execute(c)
        .unwrap();
    let countries = ["DE", "FR", "US", "JP", "BR", "CN", "GB", "IT"];
    let hosts: Vec<_> = (1..=HOSTS)
        .map(|i| {
            let mut h = mm_core::models::NewHost::new(
                1,
                &format!("h{i}.example"),
                countries[i as usize % 8],
            );
            h.private = i % 10 == 0;
            h.bandwidth_int = Some(i * 10);
            (host::id.eq(i), h)
        })
        .collect();
    c.transaction(|c| {
        for h in &hosts {
            diesel::insert_into(host::table).values(h).execute(c)?;
        }
        diesel::QueryResult::Ok(())
    })
    .unwrap();
    let mut sql = String::new();
    let mut rows = |table: &str, cols: &str, values: Vec<String>| {
        for chunk in values.chunks(2000) {
            sql.push_str(&format!(
                "INSERT INTO {table} ({cols}) VALUES {};\n",
                chunk.join(",")
            ));
        }
    };
    rows(
        "directory",
        "id, name, readable",
        (1..=DIRS + 1)
            .map(|d| {
                let name = if d == 1 {
                    "pub/fedora".to_string()
                } else {
                    format!("pub/fedora/releases/{d}/x86_64/os")
                };
                format!("({d}, '{name}', TRUE)")
            })
            .collect(),
    );
    rows(
        "category",
        "id, name, topdir_id, publiclist",
        vec!["(1, 'Fedora', 1, TRUE)".into()],
    );
    rows(
        "category_directory",
        "category_id, directory_id",
        (1..=DIRS + 1).map(|d| format!("(1, {d})")).collect(),
    );
    rows(
        "host_category",
        "id, host_id, category_id, always_up2date",
        (1..=HOSTS)
            .map(|i| {
                format!(
                    "({i}, {i}, 1, {})",
                    if i % 50 == 0 { "TRUE" } else { "FALSE" }
                )
            })
            .collect(),
    );
    rows(
        "host_category_url",
        "id, host_category_id, url, private",
        (1..=HOSTS)
            .flat_map(|i| {
                [
                    format!("({}, {i}, 'https://h{i}.example/fedora', FALSE)", i * 2),
                    format!("({}, {i}, 'rsync://h{i}.example/fedora', FALSE)", i * 2 + 1),
                ]
            })
            .collect(),
    );
    // Every host is up to date for a third of the directories.
    rows(
        "host_category_dir",
        "host_category_id, path, up2date, directory_id",
        (1..=HOSTS)
            .flat_map(|i| {
                (2..=DIRS + 1)
                    .filter(move |d| (d + i) % 3 == 0)
                    .map(move |d| format!("({i}, 'releases/{d}', TRUE, {d})"))
            })
            .collect(),
    );
    rows(
        "file_detail",
        "directory_id, filename, timestamp, size, sha256",
        (2..=DIRS + 1)
            .flat_map(|d| {
                (0..3).map(move |v| {
                    format!(
                        "({d}, 'repomd.xml', {}, 3000, '{}')",
                        1_700_000_000 + v,
                        "ab".repeat(32)
                    )
                })
            })
            .collect(),
    );
    c.batch_execute(&sql).unwrap();
}

#[test]
fn generation_at_scale_is_fast() {
    mm_testkit::for_each_backend(|db| {
        populate(&mut db.conn);
        let start = Instant::now();
        let ml = mm_cache::generate(&mut db.conn, &mm_cache::GenOptions::default()).unwrap();
        let took = start.elapsed();
        eprintln!(
            "{}: generated {} in {took:?}",
            db.kind,
            mm_cachefile::summary(&ml)
        );
        let s = mm_cachefile::summary(&ml);
        assert_eq!(s.directories, DIRS as usize + 1);
        assert_eq!(s.hosts, HOSTS as usize);
        assert_eq!(s.urls, 2 * HOSTS as usize);
        assert!(mm_cachefile::validate(&ml).is_empty());
        // Hosts 50, 100, … are always up to date: in every directory.
        let top = ml
            .mirror_list_cache
            .iter()
            .find(|e| e.directory == "pub/fedora")
            .unwrap();
        assert_eq!(top.by_host_id.len(), (HOSTS / 50) as usize);
        assert!(took < Duration::from_secs(2), "generation took {took:?}");
    });
}

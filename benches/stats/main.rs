//! Scale benchmark of the statistics report on PostgreSQL (see README.md beside this file).
//!
//! For each size (default 100,000 and 1,000,000 dossiers) it creates a fresh database
//! `motcua_bench_stats` on the server of `MOTCUA_BENCH_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), applies the migrations, loads 10 units, 100
//! procedures and the dossiers spread over 2022–2024 with bulk SQL (`INSERT … SELECT
//! generate_series`), builds the report's counters with the service's own rebuild, then times the
//! summary of 2023 grouped by unit through `service::stats::summary` (the code behind
//! `GET /api/v1/stats/summary`) and, for comparison, one aggregate scan of `dossiers`.
//!
//! `cargo bench --bench stats` (or `STATS_BENCH_SIZES=100000 cargo bench --bench stats`).

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use diesel::{Connection, RunQueryDsl, pg::PgConnection};
use motcua::{
    auth::policy::{Principal, PrincipalKind, Role},
    config::DatabaseTarget,
    service::stats::{self, GroupBy, SummaryQuery},
    store::{self, DbConnection, calendar::CalendarCache, stats::Bind},
};

const DB: &str = "motcua_bench_stats";

fn admin_url() -> String {
    std::env::var("MOTCUA_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn bench_url() -> String {
    let url = admin_url();
    let base = url
        .rsplit_once('/')
        .map_or(url.as_str(), |(s, _)| s)
        .to_owned();
    format!("{base}/{DB}")
}

fn sql(conn: &mut DbConnection, text: &str) {
    store::stats::execute(conn, text, &[]).unwrap_or_else(|e| panic!("{e}\n{text}"));
}

/// Bulk load: 10 units, 100 procedures (5–14 working days), `n` dossiers received evenly over
/// 2022–2024 (naive UTC), 2 % withdrawn, 2 % still open plus those of the last 20 days, the rest
/// resolved after 1–15 days (early, on time or late against their due instant), 1 % refused, and a
/// request for supplement on every 33rd dossier.
fn load(conn: &mut DbConnection, n: i64) {
    sql(
        conn,
        "INSERT INTO units (code, name, parent_code, agency_code, created_at, updated_at) \
               SELECT 'U' || lpad(u::text, 2, '0'), 'Đơn vị ' || u, NULL, 'SCT', now(), now() \
               FROM generate_series(1, 10) u",
    );
    sql(
        conn,
        "INSERT INTO procedures (code, latest_version, created_at, updated_at) \
               SELECT 'P' || lpad(p::text, 3, '0'), 1, now(), now() FROM generate_series(1, 100) p",
    );
    sql(
        conn,
        "INSERT INTO procedure_versions (procedure_code, version, name, field, unit_code, \
               time_limit_amount, time_limit_unit, supplement_policy, steps, active, created_at) \
               SELECT 'P' || lpad(p::text, 3, '0'), 1, 'Thủ tục ' || p, 'Lĩnh vực ' || (p % 7), \
               'U' || lpad(((p - 1) % 10 + 1)::text, 2, '0'), 5 + p % 10, 'working_days', 'pause', \
               '[{\"name\":\"Thẩm định\",\"unit_code\":\"U01\",\"hours\":8}]', true, now() \
               FROM generate_series(1, 100) p",
    );
    let window = 3 * 365 * 86_400i64;
    sql(
        conn,
        &format!(
            "INSERT INTO dossiers (code, agency_code, procedure_code, procedure_version, unit_code, field, \
           channel, status, applicant_name, applicant, received_at, due_at, due_explanation, \
           current_step, current_unit_code, resolved_at, result, outcome, returned_at, withdrawn_at, \
           lookup_secret_hash, created_by, version, created_at, updated_at, working_minutes_used, limit_minutes) \
         SELECT 'SCT-' || g, 'SCT', 'P' || lpad(p::text, 3, '0'), 1, 'U' || lpad(((p - 1) % 10 + 1)::text, 2, '0'), \
           'Lĩnh vực ' || (p % 7), \
           CASE WHEN g % 10 < 7 THEN 'direct' WHEN g % 10 < 9 THEN 'online' ELSE 'postal' END, \
           CASE WHEN kind = 'w' THEN 'withdrawn' WHEN kind = 'o' THEN 'processing' \
                WHEN g % 5 = 0 THEN 'resolved' ELSE 'returned' END, \
           'Người nộp ' || g, '{{}}', received, received + (limit_days * interval '1 day'), '{{}}', \
           CASE WHEN kind = 'o' THEN 1 END, CASE WHEN kind = 'o' THEN 'U01' END, \
           CASE WHEN kind = 'r' THEN received + took * interval '1 day' END, \
           CASE WHEN kind = 'r' THEN CASE WHEN g % 97 = 0 THEN 'refused' ELSE 'approved' END END, \
           CASE WHEN kind = 'r' THEN CASE WHEN took < limit_days THEN 'early' WHEN took = limit_days THEN 'on_time' ELSE 'late' END END, \
           CASE WHEN kind = 'r' AND g % 5 <> 0 THEN received + (took + 1) * interval '1 day' END, \
           CASE WHEN kind = 'w' THEN received + interval '2 days' END, \
           'x', 'bench', 1, received, received, \
           CASE WHEN kind = 'r' THEN took * 336 END, CASE WHEN kind = 'r' THEN limit_days * 480 END \
         FROM (SELECT g, p, received, limit_days, took, \
                 CASE WHEN r < 20 THEN 'w' WHEN r < 40 OR received > timestamp '2024-12-11' THEN 'o' ELSE 'r' END AS kind \
               FROM (SELECT g, (g * 7919) % 100 + 1 AS p, \
                       timestamp '2021-12-31 17:00' + ((g * {window}) / {n}) * interval '1 second' AS received, \
                       5 + ((g * 7919) % 100 + 1) % 10 AS limit_days, \
                       1 + (g * 31) % 15 AS took, (g * 2654435761) % 1000 AS r \
                     FROM generate_series(1::bigint, {n}) g) s) t"
        ),
    );
    sql(
        conn,
        "INSERT INTO dossier_pauses (dossier_id, started_at, ended_at, reason, documents, requested_by) \
               SELECT id, received_at + interval '1 day', \
                 CASE WHEN status = 'processing' AND id % 2 = 0 THEN NULL ELSE received_at + interval '3 days' END, \
                 'Thiếu giấy tờ', '[]', 'bench' FROM dossiers WHERE id % 33 = 0 AND status <> 'withdrawn'",
    );
    sql(
        conn,
        "UPDATE dossiers SET status = 'awaiting_supplement', paused_since = received_at + interval '1 day' \
               WHERE id IN (SELECT dossier_id FROM dossier_pauses WHERE ended_at IS NULL)",
    );
    sql(conn, "ANALYZE");
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(conn: &mut DbConnection, text: &str, binds: &[Bind]) -> i64 {
    store::stats::load::<Count>(conn, text, binds).unwrap()[0].n
}

fn median(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (
        v[0],
        v[v.len() / 2],
        v[(v.len() * 95 / 100).min(v.len() - 1)],
    )
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

struct Figures {
    n: i64,
    load: Duration,
    rebuild: Duration,
    counter_rows: usize,
    summary: (Duration, Duration, Duration),
    scan: (Duration, Duration, Duration),
}

fn run(n: i64) -> Figures {
    let mut admin = PgConnection::establish(&admin_url()).expect("connect to PostgreSQL");
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))
        .execute(&mut admin)
        .unwrap();
    diesel::sql_query(format!("CREATE DATABASE {DB}"))
        .execute(&mut admin)
        .unwrap();
    let mut conn = store::establish(&DatabaseTarget::Postgres(bench_url())).unwrap();
    store::run_migrations(&mut conn).unwrap();

    let t = Instant::now();
    load(&mut conn, n);
    let load_time = t.elapsed();
    let calendars = CalendarCache::default();
    let t = Instant::now();
    let counter_rows = stats::rebuild_counters(&mut conn, &calendars).unwrap();
    let rebuild = t.elapsed();
    sql(&mut conn, "ANALYZE stats_counters");

    let who = Principal {
        subject: "bench".into(),
        role: Role::Auditor,
        unit_code: None,
        kind: PrincipalKind::User,
        scope: motcua::domain::agency::AgencyScope::Everything,
    };
    let query = SummaryQuery {
        from: NaiveDate::from_ymd_opt(2023, 1, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2023, 12, 31).unwrap(),
        group_by: GroupBy::Unit,
    };
    let mut times = Vec::new();
    let mut report = None;
    for i in 0..23 {
        let t = Instant::now();
        let r = stats::summary(&mut conn, &calendars, &who, &query).unwrap();
        if i >= 3 {
            times.push(t.elapsed());
        }
        report = Some(r);
    }
    let report = report.unwrap();
    // The same year by one scan of the dossiers (what the report would cost without counters).
    let scan_sql = "SELECT unit_code, COUNT(*) FILTER (WHERE received_at >= '2022-12-31 17:00' AND received_at < '2023-12-31 17:00') AS received, \
        COUNT(*) FILTER (WHERE resolved_at >= '2022-12-31 17:00' AND resolved_at < '2023-12-31 17:00') AS resolved, \
        COUNT(*) FILTER (WHERE received_at < '2023-12-31 17:00' AND (resolved_at IS NULL OR resolved_at >= '2023-12-31 17:00') \
          AND (withdrawn_at IS NULL OR withdrawn_at >= '2023-12-31 17:00')) AS open_at_end \
        FROM dossiers GROUP BY unit_code";
    let mut scans = Vec::new();
    for i in 0..8 {
        let t = Instant::now();
        sql(&mut conn, scan_sql);
        if i >= 2 {
            scans.push(t.elapsed());
        }
    }
    // The report is exact: check a few totals against direct counts.
    let total = report.total.line;
    let received = count(
        &mut conn,
        "SELECT COUNT(*) AS n FROM dossiers WHERE received_at >= '2022-12-31 17:00' AND received_at < '2023-12-31 17:00'",
        &[],
    );
    let resolved = count(
        &mut conn,
        "SELECT COUNT(*) AS n FROM dossiers WHERE resolved_at >= '2022-12-31 17:00' AND resolved_at < '2023-12-31 17:00'",
        &[],
    );
    let open = count(
        &mut conn,
        "SELECT COUNT(*) AS n FROM dossiers WHERE received_at < '2023-12-31 17:00' AND (resolved_at IS NULL OR resolved_at >= '2023-12-31 17:00') AND (withdrawn_at IS NULL OR withdrawn_at >= '2023-12-31 17:00')",
        &[],
    );
    assert_eq!(
        (total.received, total.resolved, total.open_at_end),
        (received, resolved, open)
    );
    println!(
        "  {n} dossiers: 2023 received {}, resolved {} ({:.1}% on time or early), open at end {}, rows {}",
        total.received,
        total.resolved,
        total.on_time_or_early_share().unwrap_or(0.0) * 100.0,
        total.open_at_end,
        report.rows.len()
    );
    drop(conn);
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))
        .execute(&mut admin)
        .unwrap();
    Figures {
        n,
        load: load_time,
        rebuild,
        counter_rows,
        summary: median(times),
        scan: median(scans),
    }
}

fn main() {
    // `cargo test --benches` runs bench targets with `--bench`-less arguments; only run when asked.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let sizes: Vec<i64> = std::env::var("STATS_BENCH_SIZES")
        .unwrap_or_else(|_| "100000,1000000".to_owned())
        .split(',')
        .map(|s| s.trim().parse().expect("sizes are integers"))
        .collect();
    let mut figures = Vec::new();
    for n in sizes {
        println!("loading {n} dossiers …");
        figures.push(run(n));
    }
    println!();
    println!(
        "| dossiers | bulk load | counters rebuild (rows) | summary 2023 by unit: min / median / p95 | one scan of dossiers: median |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for f in &figures {
        println!(
            "| {} | {:.1} s | {:.1} s ({}) | {} / {} / {} ms | {} ms |",
            f.n,
            f.load.as_secs_f64(),
            f.rebuild.as_secs_f64(),
            f.counter_rows,
            ms(f.summary.0),
            ms(f.summary.1),
            ms(f.summary.2),
            ms(f.scan.1)
        );
    }
    if let (Some(a), Some(b)) = (figures.first(), figures.last())
        && b.n > a.n
    {
        println!(
            "\n{}× the dossiers: summary {:.2}× the time, scan {:.2}× the time",
            b.n / a.n,
            b.summary.1.as_secs_f64() / a.summary.1.as_secs_f64(),
            b.scan.1.as_secs_f64() / a.scan.1.as_secs_f64()
        );
    }
}

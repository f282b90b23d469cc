//! Cost of one due computation (must stay under 2 µs whatever the limit) and of building the
//! calendar (rebuilt whenever an administrator changes office hours, overrides or rules).

use std::hint::black_box;

use chrono::{DateTime, NaiveDate, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use motcua::domain::calendar::{Calendar, HolidayRules, OfficeHours, from_local};
use motcua::domain::deadline::{Pause, SupplementPolicy, TimeLimit, compute_due, due_at};

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|date| date.and_hms_opt(h, min, 0))
        .and_then(from_local)
        .expect("valid benchmark instant")
}

fn due_computation(c: &mut Criterion) {
    let calendar = Calendar::with_defaults().expect("default calendar");
    // Received on Friday 24 January 2025 at 14:00, just before Tết; one closed supplement pause.
    let received = local(2025, 1, 24, 14, 0);
    let pauses = [Pause::supplement(
        local(2025, 1, 27, 9, 0),
        Some(local(2025, 2, 5, 10, 0)),
    )];
    let as_of = local(2026, 12, 31, 0, 0);

    let mut group = c.benchmark_group("compute_due");
    for days in [1u32, 30, 365] {
        group.bench_with_input(BenchmarkId::new("working_days", days), &days, |b, &days| {
            b.iter(|| {
                compute_due(
                    black_box(&calendar),
                    black_box(received),
                    black_box(TimeLimit::working_days(days)),
                    black_box(&pauses),
                    SupplementPolicy::Pause,
                    black_box(as_of),
                )
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("due_at");
    for days in [1u32, 30, 365] {
        group.bench_with_input(BenchmarkId::new("working_days", days), &days, |b, &days| {
            b.iter(|| {
                due_at(
                    black_box(&calendar),
                    black_box(received),
                    black_box(TimeLimit::working_days(days)),
                )
            })
        });
    }
    group.finish();
}

fn calendar_construction(c: &mut Criterion) {
    c.bench_function("Calendar::new/default", |b| {
        b.iter(|| {
            Calendar::new(
                black_box(OfficeHours::default()),
                black_box(Vec::new()),
                black_box(HolidayRules::default()),
            )
        })
    });
}

criterion_group!(benches, due_computation, calendar_construction);
criterion_main!(benches);

//! `motcua demo`: the reference agency of the product documentation (a provincial Department of
//! Industry and Trade, 2018) as **demo data**, and January–October 2018 simulated through the real
//! receipt and actions with a fixed seed; then the official report, computed from the stored
//! dossiers by the same code as `GET /api/v1/stats/summary`.
//!
//! Everything loaded is marked as demo data: the agency's name says so, applicants are "(mẫu)",
//! each dossier's `external_ref` is `DEMO-2018-NNNN`, and every audit entry has the reason
//! "dữ liệu mẫu (motcua demo)". The names, fields and limits of the 57 procedures are plausible,
//! not the agency's official catalogue.
//!
//! The department is one agency under a province; beside it, a small commune agency holds a
//! handful of dossiers of its own, so that the separation of agencies can be seen: an account of
//! one never sees the other's, and an account of the province sees both.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{
    auth::policy::{Principal, PrincipalKind, Role},
    domain::{
        agency::AgencyScope,
        applicant::ApplicantDraft,
        calendar::{Calendar, LOCAL_OFFSET},
        deadline::{SupplementPolicy, TimeLimit, TimeUnit},
        document::Component,
        dossier::{Channel, Command, Resolution},
        procedure::ProcessStep,
        procedure::{Fee, NationalListing, OnlineLevel, ProcedureRules},
    },
    service::{
        ServiceError, agencies, catalogue,
        dossiers::{self, ActionInput, ReceiptInput, RecipientRule},
        imports::{self, ImportContext, ImportFormat, ImportKind, ImportMode},
        stats::{self, GroupBy, Summary, SummaryQuery},
    },
    store::{
        DbConnection, StoreError,
        agencies::AgencyFields,
        audit::AuditContext,
        calendar::CalendarCache,
        catalogue::{NewUnit, ProcedureDraft},
    },
};

/// The number of dossiers of the source report (Jan–Oct 2018).
pub const DOSSIERS: usize = 418;
/// The fixed seed of the simulation.
pub const SEED: u64 = 0x5C7_2018;
pub const AGENCY: &str = "SCT";
/// The province both demo agencies belong to.
pub const PROVINCE: &str = "H99";
/// The demo's commune agency, with a few dossiers of its own.
pub const COMMUNE: &str = "XA01.H99";
/// How many dossiers the commune receives.
pub const COMMUNE_DOSSIERS: usize = 6;
/// The one-stop counters (bộ phận một cửa) of the department and of the commune.
const COUNTER: &str = "MC";
const COMMUNE_COUNTER: &str = "XA01-MC";
pub const FIRST_DAY: (i32, u32, u32) = (2018, 1, 2);
pub const LAST_DAY: (i32, u32, u32) = (2018, 10, 31);

fn date(d: (i32, u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.0, d.1, d.2).expect("valid date")
}

/// SplitMix64: a tiny generator whose sequence never changes with a dependency's version.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// Units: the agency, its one-stop unit, the three competent units and the directors.
const UNITS: [(&str, &str, Option<&str>); 6] = [
    ("SCT", "Sở Công Thương tỉnh mẫu (DỮ LIỆU MẪU – demo)", None),
    ("MC", "Bộ phận Tiếp nhận và Trả kết quả", Some("SCT")),
    ("QLTM", "Phòng Quản lý Thương mại", Some("SCT")),
    ("QLCN", "Phòng Quản lý Công nghiệp", Some("SCT")),
    ("ATNL", "Phòng Kỹ thuật An toàn – Năng lượng", Some("SCT")),
    ("BGD", "Ban Giám đốc Sở", Some("SCT")),
];

/// The 57 procedures, in the import format of `motcua import --kind procedures` (the steps of each:
/// reception, the unit's specialist, the unit's head, the director, and the clerk who returns the
/// result, adding up to the statutory limit).
const PROCEDURES_CSV: &str = include_str!("procedures.csv");

/// Each procedure's relative demand (how many dossiers it draws), in the order of the simulation.
const DEMAND_CSV: &str = include_str!("demand.csv");

/// (procedure code, relative demand), in file order.
fn demand() -> Vec<(&'static str, u32)> {
    DEMAND_CSV
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(','))
        .map(|(code, weight)| (code, weight.trim().parse().expect("the demand is a number")))
        .collect()
}

/// A procedure as the simulation plays it.
struct DemoProcedure {
    code: &'static str,
    steps: Vec<ProcessStep>,
}

fn principal() -> Principal {
    Principal {
        subject: "demo".into(),
        role: Role::Admin,
        unit_code: None,
        kind: PrincipalKind::User,
        scope: crate::domain::agency::AgencyScope::Everything,
    }
}

fn audit() -> AuditContext {
    audit_as("demo", Role::Admin)
}

fn audit_as(actor: &str, role: Role) -> AuditContext {
    AuditContext {
        actor: actor.into(),
        actor_role: role,
        client_id: None,
        reason: Some("dữ liệu mẫu (motcua demo)".into()),
        request_id: None,
    }
}

/// Who does `command` on a dossier whose current step sits in `unit`, by the counter's workflow
/// (README, "The counter's workflow"): the counter receives, starts, hands the dossier on from its
/// own step, takes in supplements, returns results and records withdrawals; a unit's specialist
/// hands its step on; the leader of the unit holding the dossier signs off and writes apologies.
fn officer(counter: &str, command: &Command, unit: Option<&str>) -> (Principal, AuditContext) {
    let (role, unit) = match (command, unit) {
        (Command::Resolve { .. } | Command::Apologize { .. }, Some(unit)) => (Role::Leader, unit),
        (Command::Forward { .. }, Some(unit)) if unit != counter => (Role::Specialist, unit),
        _ => (Role::Reception, counter),
    };
    let subject = format!("demo.{}.{role}", unit.to_lowercase());
    let audit = audit_as(&subject, role);
    let who = Principal {
        subject,
        role,
        unit_code: Some(unit.to_owned()),
        kind: PrincipalKind::User,
        scope: crate::domain::agency::AgencyScope::Everything,
    };
    (who, audit)
}

/// One action of a planned dossier.
struct Step {
    at: DateTime<Utc>,
    command: Command,
}

struct Plan {
    procedure: usize,
    channel: Channel,
    received_at: DateTime<Utc>,
    steps: Vec<Step>,
}

/// A random working instant of a random working day in the period.
fn receipt_instant(
    rng: &mut Rng,
    calendar: &Calendar,
    days: &[NaiveDate],
) -> Result<DateTime<Utc>, ServiceError> {
    let day = days[rng.below(days.len())];
    let sessions = calendar.sessions_on(day)?;
    let session = sessions[rng.below(sessions.len())];
    // Not in the last half hour of a session: the counter closes its queue.
    let minutes = (session.minutes() - 30).max(1);
    let local =
        day.and_time(session.start) + chrono::Duration::minutes(rng.below(minutes as usize) as i64);
    Ok(LOCAL_OFFSET
        .from_local_datetime(&local)
        .single()
        .expect("fixed offset")
        .with_timezone(&Utc))
}

/// Plans one dossier's life: each step takes 50–90 % of its allotted working time; about 3 in 100
/// wait for a supplement of 2–8 working days during the examination; about 1 in 100 is refused; the
/// applicant collects the result within three working days.
fn plan(
    rng: &mut Rng,
    calendar: &Calendar,
    days: &[NaiveDate],
    procedures: &[DemoProcedure],
    weights: &[u32],
    end: DateTime<Utc>,
) -> Result<Plan, ServiceError> {
    let total: u32 = weights.iter().sum();
    let mut pick = rng.below(total as usize) as u32;
    let procedure = weights
        .iter()
        .position(|w| {
            if pick < *w {
                true
            } else {
                pick -= w;
                false
            }
        })
        .unwrap_or(0);
    let channel = match rng.unit() {
        u if u < 0.74 => Channel::Direct,
        u if u < 0.90 => Channel::Online,
        _ => Channel::Postal,
    };
    let steps = &procedures[procedure].steps;
    loop {
        let received_at = receipt_instant(rng, calendar, days)?;
        let mut at = received_at;
        let mut plan = Vec::new();
        let advance = |at: &mut DateTime<Utc>, minutes: f64| -> Result<(), ServiceError> {
            *at = calendar.add_working_minutes(*at, minutes.round().max(1.0) as i64)?;
            Ok(())
        };
        for (i, step) in steps.iter().enumerate() {
            let allotted = step.minutes() as f64;
            let share = rng.between(0.5, 0.9);
            if i == 0 {
                advance(&mut at, allotted * share * 0.2)?;
                plan.push(Step {
                    at,
                    command: Command::Start,
                });
                advance(&mut at, allotted * share * 0.8)?;
            } else if i == 1 && rng.unit() < 0.03 {
                advance(&mut at, allotted * share * 0.3)?;
                plan.push(Step {
                    at,
                    command: Command::RequestSupplement {
                        reason:
                            "Hồ sơ thiếu bản sao chứng thực giấy chứng nhận đăng ký doanh nghiệp"
                                .into(),
                        documents: vec![
                            "Bản sao chứng thực Giấy chứng nhận đăng ký doanh nghiệp".into(),
                        ],
                    },
                });
                advance(
                    &mut at,
                    rng.between(2.0, 8.0) * calendar.standard_day_minutes() as f64,
                )?;
                plan.push(Step {
                    at,
                    command: Command::SupplementReceived,
                });
                advance(&mut at, allotted * share * 0.7)?;
            } else {
                advance(&mut at, allotted * share)?;
            }
            if i + 1 < steps.len() {
                plan.push(Step {
                    at,
                    command: Command::Forward { to_unit_code: None },
                });
            }
        }
        let refused = rng.unit() < 0.01;
        plan.push(Step {
            at,
            command: Command::Resolve {
                result: if refused {
                    Resolution::Refused
                } else {
                    Resolution::Approved
                },
                note: refused.then(|| "Cơ sở không đáp ứng điều kiện theo quy định".to_owned()),
            },
        });
        advance(
            &mut at,
            rng.between(0.05, 3.0) * calendar.standard_day_minutes() as f64,
        )?;
        plan.push(Step {
            at,
            command: Command::Return,
        });
        // Received and returned within the period, as in the source report.
        if at <= end {
            return Ok(Plan {
                procedure,
                channel,
                received_at,
                steps: plan,
            });
        }
    }
}

/// Loads the catalogue and simulates the 418 dossiers. Fails if the database already holds the
/// demo's units. `progress` draws a progress bar on the terminal.
pub fn load(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    progress: bool,
) -> Result<(), ServiceError> {
    let who = principal();
    let audit = audit();
    for (code, name, parent) in [
        (PROVINCE, "UBND tỉnh mẫu (DỮ LIỆU MẪU – demo)", None),
        (
            AGENCY,
            "Sở Công Thương tỉnh mẫu (DỮ LIỆU MẪU – demo)",
            Some(PROVINCE),
        ),
        (COMMUNE, "UBND xã mẫu (DỮ LIỆU MẪU – demo)", Some(PROVINCE)),
    ] {
        let fields = AgencyFields {
            name: name.into(),
            parent_code: parent.map(Into::into),
        };
        agencies::create(conn, &who, &audit, code, fields)?;
    }
    for (code, name, parent) in UNITS {
        catalogue::create_unit(
            conn,
            &who,
            &audit,
            NewUnit {
                code: code.into(),
                name: name.into(),
                parent_code: parent.map(Into::into),
                agency_code: AGENCY.into(),
            },
        )?;
    }
    // The catalogue goes in as any agency's would: through the import.
    let records = imports::read_records(
        ImportKind::Procedures,
        ImportFormat::Csv,
        PROCEDURES_CSV.as_bytes(),
    )?;
    let context = ImportContext {
        calendars,
        who: &who,
        audit: &audit,
    };
    let imported = imports::run(
        conn,
        &context,
        ImportKind::Procedures,
        ImportMode::Atomic,
        records,
        &mut || {},
    )?;
    if !imported.committed {
        let problems: Vec<String> = imported
            .rows
            .iter()
            .flat_map(|r| {
                r.errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
            })
            .collect();
        return Err(ServiceError::Conflict(format!(
            "the demo's procedures do not import: {}",
            problems.join("; ")
        )));
    }
    let demand = demand();
    let procedures = demand
        .iter()
        .map(|(code, _)| {
            let version = crate::store::catalogue::latest_procedure(conn, code)?;
            Ok(DemoProcedure {
                code,
                steps: version.rules.steps,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let (_, calendar) = calendars.get(conn)?;
    let days: Vec<NaiveDate> = date(FIRST_DAY)
        .iter_days()
        .take_while(|d| *d <= date(LAST_DAY))
        .filter(|d| calendar.sessions_on(*d).is_ok_and(|s| !s.is_empty()))
        .collect();
    let end = LOCAL_OFFSET
        .with_ymd_and_hms(LAST_DAY.0, LAST_DAY.1, LAST_DAY.2, 17, 0, 0)
        .single()
        .expect("fixed offset")
        .with_timezone(&Utc);
    let weights: Vec<u32> = demand.iter().map(|(_, weight)| *weight).collect();
    let mut rng = Rng(SEED);
    let mut plans = (0..DOSSIERS)
        .map(|_| plan(&mut rng, &calendar, &days, &procedures, &weights, end))
        .collect::<Result<Vec<_>, _>>()?;
    plans.sort_by_key(|p| p.received_at);

    let bar = if progress {
        ProgressBar::new(DOSSIERS as u64)
    } else {
        ProgressBar::with_draw_target(Some(DOSSIERS as u64), ProgressDrawTarget::hidden())
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:>28} [{bar:40}] {pos}/{len} hồ sơ ({elapsed})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    for (n, p) in plans.into_iter().enumerate() {
        let code = procedures[p.procedure].code;
        bar.set_message(format!(
            "{} {}",
            p.received_at
                .with_timezone(&LOCAL_OFFSET)
                .format("%d/%m/%Y"),
            code
        ));
        let input = ReceiptInput::parse(
            code,
            ApplicantDraft {
                name: format!("Tổ chức, cá nhân mẫu {:03} (demo)", n + 1),
                ..ApplicantDraft::default()
            },
            p.channel,
            Some(p.received_at),
            Some(format!("DEMO-2018-{:04}", n + 1)),
            false,
        )?;
        let (reception, as_reception) = officer(COUNTER, &Command::Start, None);
        let received = dossiers::receive(conn, calendars, &reception, &as_reception, input)?;
        let code = received.dossier.code;
        let mut version = received.dossier.version;
        let mut unit = received.dossier.current_unit_code;
        for step in p.steps {
            let (officer, as_officer) = officer(COUNTER, &step.command, unit.as_deref());
            let record = dossiers::act(
                conn,
                calendars,
                &officer,
                &as_officer,
                &code,
                ActionInput {
                    command: step.command,
                    expected_version: version.into(),
                    at: Some(step.at),
                    to_user: None,
                    recipients: RecipientRule::LocalAccounts,
                    note: None,
                },
            )?;
            version = record.version;
            unit = record.current_unit_code;
        }
        bar.inc(1);
    }
    bar.finish_with_message("Đã nạp dữ liệu mẫu");
    load_commune(conn, calendars, &who, &audit)
}

/// The commune: two units, one procedure (chứng thực bản sao, one working day) and a handful of
/// dossiers in October 2018, most of them resolved.
fn load_commune(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    who: &Principal,
    audit: &AuditContext,
) -> Result<(), ServiceError> {
    for (code, name) in [
        ("XA01-MC", "Bộ phận Một cửa UBND xã mẫu"),
        ("XA01-VP", "Văn phòng – Thống kê UBND xã mẫu"),
    ] {
        let unit = NewUnit {
            code: code.into(),
            name: name.into(),
            parent_code: None,
            agency_code: COMMUNE.into(),
        };
        catalogue::create_unit(conn, who, audit, unit)?;
    }
    let step = |name: &str, unit: &str, hours: f64| ProcessStep {
        name: name.into(),
        unit_code: unit.into(),
        hours,
    };
    let draft = ProcedureDraft {
        name: "Chứng thực bản sao từ bản chính (demo)".into(),
        field: "Chứng thực".into(),
        unit_code: "XA01-VP".into(),
        rules: ProcedureRules {
            time_limit: TimeLimit {
                amount: 1,
                unit: TimeUnit::WorkingDays,
            },
            supplement_policy: SupplementPolicy::Pause,
            steps: vec![
                step("Tiếp nhận", "XA01-MC", 2.0),
                step("Chứng thực", "XA01-VP", 6.0),
            ],
        },
        active: true,
        receivable_anywhere: false,
        listing: NationalListing {
            national_code: None,
            fees: vec![Fee {
                name: "Phí chứng thực bản sao".into(),
                amount: 2_000,
            }],
            online_level: OnlineLevel::Full,
            components: vec![
                Component {
                    code: "BAN-CHINH".into(),
                    name: "Bản chính giấy tờ cần chứng thực".into(),
                    required: true,
                },
                Component {
                    code: "UY-QUYEN".into(),
                    name: "Giấy ủy quyền (khi nộp thay)".into(),
                    required: false,
                },
            ],
        },
    };
    catalogue::create_procedure(conn, calendars, who, audit, "QT-XA01-01", draft)?;
    for n in 0..COMMUNE_DOSSIERS {
        let day = u32::try_from(n).unwrap_or(0) + 1;
        let at = |hour: u32| {
            LOCAL_OFFSET
                .with_ymd_and_hms(2018, 10, day, hour, 0, 0)
                .single()
                .expect("fixed offset")
                .with_timezone(&Utc)
        };
        let input = ReceiptInput::parse(
            "QT-XA01-01",
            ApplicantDraft {
                name: format!("Công dân mẫu {:02} (demo)", n + 1),
                ..ApplicantDraft::default()
            },
            Channel::Direct,
            Some(at(8)),
            Some(format!("DEMO-XA01-2018-{:02}", n + 1)),
            false,
        )?;
        let (reception, as_reception) = officer(COMMUNE_COUNTER, &Command::Start, None);
        let received = dossiers::receive(conn, calendars, &reception, &as_reception, input)?;
        // 1–6 October 2018 is Monday to Saturday: the dossier handed in on Saturday stays open.
        if n + 1 == COMMUNE_DOSSIERS {
            continue;
        }
        let mut version = received.dossier.version;
        let mut unit = received.dossier.current_unit_code;
        for (command, hour) in [
            (Command::Start, 8),
            (Command::Forward { to_unit_code: None }, 9),
            (
                Command::Resolve {
                    result: Resolution::Approved,
                    note: None,
                },
                14,
            ),
        ] {
            let (officer, as_officer) = officer(COMMUNE_COUNTER, &command, unit.as_deref());
            let input = ActionInput {
                command,
                expected_version: version.into(),
                at: Some(at(hour)),
                to_user: None,
                recipients: RecipientRule::LocalAccounts,
                note: None,
            };
            let record = dossiers::act(
                conn,
                calendars,
                &officer,
                &as_officer,
                &received.dossier.code,
                input,
            )?;
            version = record.version;
            unit = record.current_unit_code;
        }
    }
    Ok(())
}

/// The report of the demo period, computed from the stored dossiers.
pub fn report(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    group_by: GroupBy,
) -> Result<Summary, ServiceError> {
    // The department's report, as its own auditor would read it.
    let department = Principal {
        scope: AgencyScope::below(&crate::store::agencies::tree(conn)?, AGENCY),
        ..principal()
    };
    stats::summary(
        conn,
        calendars,
        &department,
        &SummaryQuery {
            from: NaiveDate::from_ymd_opt(2018, 1, 1).expect("valid date"),
            to: date(LAST_DAY),
            group_by,
        },
    )
}

fn pad(s: &str, width: usize, left: bool) -> String {
    let n = s.chars().count();
    let fill = " ".repeat(width.saturating_sub(n));
    if left {
        format!("{s}{fill}")
    } else {
        format!("{fill}{s}")
    }
}

fn percent(v: Option<f64>) -> String {
    v.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn days(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into())
}

/// The report as a terminal table.
pub fn render(s: &Summary) -> String {
    let headings = [
        "Đơn vị",
        "Kỳ trước",
        "Tiếp nhận",
        "Tr.tuyến",
        "Tr.tiếp",
        "B.chính",
        "Đã GQ",
        "Trước hạn",
        "Đúng hạn",
        "Quá hạn",
        "Đúng/trước",
        "Đang GQ",
        "Rút",
        "Từ chối",
        "Ngày dùng",
        "Luật định",
        "Tiết kiệm",
    ];
    let line = |r: &stats::SummaryRow| -> Vec<String> {
        let l = &r.line;
        vec![
            r.label.clone(),
            l.carried_over.to_string(),
            l.received.to_string(),
            l.received_online.to_string(),
            l.received_direct.to_string(),
            l.received_postal.to_string(),
            l.resolved.to_string(),
            l.resolved_early.to_string(),
            l.resolved_on_time.to_string(),
            l.resolved_late.to_string(),
            percent(l.on_time_or_early_share()),
            l.open_at_end.to_string(),
            l.withdrawn.to_string(),
            l.refused.to_string(),
            days(l.avg_working_days_used(s.day_minutes)),
            days(l.avg_statutory_days(s.day_minutes)),
            percent(l.time_saved_share()),
        ]
    };
    let mut table: Vec<Vec<String>> = vec![headings.iter().map(|h| (*h).to_owned()).collect()];
    table.extend(s.rows.iter().map(line));
    table.push(line(&s.total));
    let widths: Vec<usize> = (0..headings.len())
        .map(|c| {
            table
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let rule: String = widths
        .iter()
        .map(|w| "-".repeat(*w))
        .collect::<Vec<_>>()
        .join("-+-");
    let mut out = String::new();
    out.push_str(&format!(
        "BÁO CÁO TÌNH HÌNH GIẢI QUYẾT HỒ SƠ (DỮ LIỆU MẪU) từ {} đến {}\n\n",
        s.from.format("%d/%m/%Y"),
        s.to.format("%d/%m/%Y")
    ));
    for (i, row) in table.iter().enumerate() {
        if i == 1 || i == table.len() - 1 {
            out.push_str(&rule);
            out.push('\n');
        }
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, v)| pad(v, widths[c], c == 0))
            .collect();
        out.push_str(&cells.join(" | "));
        out.push('\n');
    }
    let t = &s.total.line;
    out.push_str(&format!(
        "\n{} hồ sơ tiếp nhận, {} đã giải quyết ({} đúng hạn hoặc trước hạn), {} quá hạn; \
         thời gian giải quyết bình quân {} ngày làm việc so với {} ngày theo quy định: rút ngắn {}.\n",
        t.received,
        t.resolved,
        percent(t.on_time_or_early_share()),
        t.resolved_late,
        days(t.avg_working_days_used(s.day_minutes)),
        days(t.avg_statutory_days(s.day_minutes)),
        percent(t.time_saved_share()),
    ));
    out.push_str("Số liệu tính từ các hồ sơ đã lưu (GET /api/v1/stats/summary?from=2018-01-01&to=2018-10-31).\n");
    out
}

/// Whether the demo's catalogue is in the database already.
pub fn already_loaded(conn: &mut DbConnection) -> Result<bool, ServiceError> {
    match crate::store::catalogue::latest_procedure(conn, "QT-SCT-QLTM-01") {
        Ok(_) => Ok(true),
        Err(StoreError::NotFound) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

//! `motcua demo`: the reference agency of the product documentation (a provincial Department of
//! Industry and Trade, 2018) as **demo data**, and January–October 2018 simulated through the real
//! receipt and actions with a fixed seed; then the official report, computed from the stored
//! dossiers by the same code as `GET /api/v1/stats/summary`.
//!
//! Everything loaded is marked as demo data: the agency's name says so, applicants are "(mẫu)",
//! each dossier's `external_ref` is `DEMO-2018-NNNN`, and every audit entry has the reason
//! "dữ liệu mẫu (motcua demo)". The names, fields and limits of the 57 procedures are plausible,
//! not the agency's official catalogue.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{
    auth::policy::{Principal, PrincipalKind, Role},
    domain::{
        applicant::ApplicantDraft,
        calendar::{Calendar, LOCAL_OFFSET},
        deadline::{SupplementPolicy, TimeLimit},
        dossier::{Channel, Command, Resolution},
        procedure::{ProcedureRules, ProcessStep},
    },
    service::{
        ServiceError, catalogue,
        dossiers::{self, ActionInput, ReceiptInput},
        stats::{self, GroupBy, Summary, SummaryQuery},
    },
    store::{
        DbConnection, StoreError,
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

/// (unit, number, name, field, working days, relative demand).
type ProcedureSpec = (&'static str, u32, &'static str, &'static str, u32, u32);

const PROCEDURES: [ProcedureSpec; 57] = [
    (
        "QLTM",
        1,
        "Cấp Giấy phép bán lẻ sản phẩm rượu",
        "Lưu thông hàng hóa trong nước",
        10,
        9,
    ),
    (
        "QLTM",
        2,
        "Cấp sửa đổi, bổ sung Giấy phép bán lẻ sản phẩm rượu",
        "Lưu thông hàng hóa trong nước",
        10,
        2,
    ),
    (
        "QLTM",
        3,
        "Cấp lại Giấy phép bán lẻ sản phẩm rượu",
        "Lưu thông hàng hóa trong nước",
        10,
        2,
    ),
    (
        "QLTM",
        4,
        "Cấp Giấy phép bán buôn sản phẩm rượu",
        "Lưu thông hàng hóa trong nước",
        15,
        3,
    ),
    (
        "QLTM",
        5,
        "Cấp Giấy phép bán buôn sản phẩm thuốc lá",
        "Lưu thông hàng hóa trong nước",
        15,
        2,
    ),
    (
        "QLTM",
        6,
        "Cấp Giấy phép bán lẻ sản phẩm thuốc lá",
        "Lưu thông hàng hóa trong nước",
        15,
        8,
    ),
    (
        "QLTM",
        7,
        "Cấp Giấy chứng nhận cửa hàng đủ điều kiện bán lẻ xăng dầu",
        "Xăng dầu",
        15,
        6,
    ),
    (
        "QLTM",
        8,
        "Cấp lại Giấy chứng nhận cửa hàng đủ điều kiện bán lẻ xăng dầu",
        "Xăng dầu",
        10,
        3,
    ),
    (
        "QLTM",
        9,
        "Cấp Giấy xác nhận đủ điều kiện làm đại lý bán lẻ xăng dầu",
        "Xăng dầu",
        15,
        2,
    ),
    (
        "QLTM",
        10,
        "Cấp Giấy chứng nhận đủ điều kiện cửa hàng bán LPG chai",
        "Kinh doanh khí",
        15,
        4,
    ),
    (
        "QLTM",
        11,
        "Cấp Giấy chứng nhận đủ điều kiện trạm nạp LPG vào chai",
        "Kinh doanh khí",
        15,
        1,
    ),
    (
        "QLTM",
        12,
        "Cấp Giấy chứng nhận đủ điều kiện thương nhân kinh doanh mua bán LPG",
        "Kinh doanh khí",
        15,
        1,
    ),
    (
        "QLTM",
        13,
        "Đăng ký thực hiện khuyến mại",
        "Xúc tiến thương mại",
        5,
        7,
    ),
    (
        "QLTM",
        14,
        "Đăng ký tổ chức hội chợ, triển lãm thương mại",
        "Xúc tiến thương mại",
        7,
        2,
    ),
    (
        "QLTM",
        15,
        "Xác nhận đăng ký hoạt động bán hàng đa cấp tại địa phương",
        "Quản lý cạnh tranh",
        7,
        1,
    ),
    (
        "QLTM",
        16,
        "Xác nhận đăng ký tổ chức hội nghị, hội thảo, đào tạo về bán hàng đa cấp",
        "Quản lý cạnh tranh",
        5,
        1,
    ),
    (
        "QLTM",
        17,
        "Cấp Giấy phép thành lập Văn phòng đại diện của thương nhân nước ngoài",
        "Thương mại quốc tế",
        7,
        1,
    ),
    (
        "QLTM",
        18,
        "Cấp lại Giấy phép thành lập Văn phòng đại diện của thương nhân nước ngoài",
        "Thương mại quốc tế",
        7,
        1,
    ),
    (
        "QLTM",
        19,
        "Cấp Giấy phép lập cơ sở bán lẻ của tổ chức có vốn đầu tư nước ngoài",
        "Thương mại quốc tế",
        30,
        1,
    ),
    (
        "QLTM",
        20,
        "Cấp Giấy phép mua bán nguyên liệu thuốc lá",
        "Lưu thông hàng hóa trong nước",
        15,
        1,
    ),
    (
        "QLTM",
        21,
        "Cấp Giấy xác nhận đủ điều kiện làm thương nhân phân phối xăng dầu",
        "Xăng dầu",
        20,
        1,
    ),
    (
        "QLTM",
        22,
        "Cấp lại Giấy phép bán lẻ sản phẩm thuốc lá",
        "Lưu thông hàng hóa trong nước",
        10,
        2,
    ),
    (
        "QLCN",
        1,
        "Cấp Giấy phép sản xuất rượu thủ công nhằm mục đích kinh doanh",
        "Công nghiệp tiêu dùng",
        10,
        3,
    ),
    (
        "QLCN",
        2,
        "Cấp Giấy phép sản xuất rượu công nghiệp quy mô dưới 3 triệu lít/năm",
        "Công nghiệp tiêu dùng",
        15,
        1,
    ),
    (
        "QLCN",
        3,
        "Cấp Giấy chứng nhận sản phẩm công nghiệp nông thôn tiêu biểu cấp tỉnh",
        "Công nghiệp địa phương",
        20,
        2,
    ),
    (
        "QLCN",
        4,
        "Hỗ trợ kinh phí khuyến công địa phương",
        "Công nghiệp địa phương",
        20,
        2,
    ),
    (
        "QLCN",
        5,
        "Xác nhận ưu đãi dự án sản xuất sản phẩm công nghiệp hỗ trợ",
        "Công nghiệp hỗ trợ",
        15,
        1,
    ),
    (
        "ATNL",
        1,
        "Cấp giấy phép hoạt động phát điện đối với nhà máy điện quy mô dưới 3 MW",
        "Điện",
        15,
        2,
    ),
    (
        "ATNL",
        2,
        "Cấp giấy phép hoạt động phân phối điện đến cấp điện áp 35 kV",
        "Điện",
        15,
        2,
    ),
    (
        "ATNL",
        3,
        "Cấp giấy phép hoạt động bán lẻ điện đến cấp điện áp 0,4 kV",
        "Điện",
        15,
        5,
    ),
    (
        "ATNL",
        4,
        "Cấp giấy phép tư vấn đầu tư xây dựng đường dây và trạm biến áp đến 35 kV",
        "Điện",
        15,
        2,
    ),
    (
        "ATNL",
        5,
        "Cấp giấy phép tư vấn giám sát thi công đường dây và trạm biến áp đến 35 kV",
        "Điện",
        15,
        2,
    ),
    (
        "ATNL",
        6,
        "Sửa đổi, bổ sung giấy phép hoạt động điện lực",
        "Điện",
        10,
        2,
    ),
    ("ATNL", 7, "Cấp thẻ kiểm tra viên điện lực", "Điện", 5, 2),
    (
        "ATNL",
        8,
        "Huấn luyện, sát hạch và cấp thẻ an toàn điện",
        "Điện",
        5,
        3,
    ),
    (
        "ATNL",
        9,
        "Cấp Giấy chứng nhận huấn luyện kỹ thuật an toàn vật liệu nổ công nghiệp",
        "Vật liệu nổ công nghiệp",
        5,
        2,
    ),
    (
        "ATNL",
        10,
        "Cấp Giấy phép sử dụng vật liệu nổ công nghiệp",
        "Vật liệu nổ công nghiệp",
        10,
        2,
    ),
    (
        "ATNL",
        11,
        "Cấp lại Giấy phép sử dụng vật liệu nổ công nghiệp",
        "Vật liệu nổ công nghiệp",
        7,
        1,
    ),
    (
        "ATNL",
        12,
        "Cấp Giấy chứng nhận đủ điều kiện kinh doanh tiền chất thuốc nổ",
        "Vật liệu nổ công nghiệp",
        15,
        1,
    ),
    (
        "ATNL",
        13,
        "Cấp Giấy chứng nhận đủ điều kiện sản xuất hóa chất có điều kiện",
        "Hóa chất",
        12,
        1,
    ),
    (
        "ATNL",
        14,
        "Cấp Giấy chứng nhận đủ điều kiện kinh doanh hóa chất có điều kiện",
        "Hóa chất",
        12,
        3,
    ),
    (
        "ATNL",
        15,
        "Cấp điều chỉnh Giấy chứng nhận đủ điều kiện sản xuất, kinh doanh hóa chất",
        "Hóa chất",
        10,
        1,
    ),
    (
        "ATNL",
        16,
        "Cấp lại Giấy chứng nhận đủ điều kiện sản xuất, kinh doanh hóa chất",
        "Hóa chất",
        5,
        1,
    ),
    (
        "ATNL",
        17,
        "Xác nhận Kế hoạch phòng ngừa, ứng phó sự cố hóa chất",
        "Hóa chất",
        15,
        2,
    ),
    (
        "ATNL",
        18,
        "Cấp Giấy chứng nhận huấn luyện kỹ thuật an toàn vận chuyển hàng nguy hiểm",
        "Hóa chất",
        5,
        1,
    ),
    (
        "ATNL",
        19,
        "Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm (sản xuất)",
        "An toàn thực phẩm",
        20,
        6,
    ),
    (
        "ATNL",
        20,
        "Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm (kinh doanh)",
        "An toàn thực phẩm",
        20,
        8,
    ),
    (
        "ATNL",
        21,
        "Cấp lại Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm",
        "An toàn thực phẩm",
        10,
        2,
    ),
    (
        "ATNL",
        22,
        "Cấp Giấy xác nhận kiến thức về an toàn thực phẩm cho tổ chức",
        "An toàn thực phẩm",
        5,
        4,
    ),
    (
        "ATNL",
        23,
        "Cấp Giấy xác nhận kiến thức về an toàn thực phẩm cho cá nhân",
        "An toàn thực phẩm",
        3,
        5,
    ),
    (
        "ATNL",
        24,
        "Đăng ký bản công bố sản phẩm thực phẩm",
        "An toàn thực phẩm",
        7,
        2,
    ),
    (
        "ATNL",
        25,
        "Phê duyệt phương án ứng phó thiên tai cho công trình vùng hạ du đập thủy điện",
        "An toàn đập, hồ chứa thủy điện",
        20,
        1,
    ),
    (
        "ATNL",
        26,
        "Phê duyệt phương án ứng phó với tình huống khẩn cấp đập thủy điện",
        "An toàn đập, hồ chứa thủy điện",
        20,
        1,
    ),
    (
        "ATNL",
        27,
        "Thẩm định, phê duyệt phương án bảo vệ đập, hồ chứa thủy điện",
        "An toàn đập, hồ chứa thủy điện",
        20,
        1,
    ),
    (
        "ATNL",
        28,
        "Thẩm định thiết kế xây dựng công trình đường dây và trạm biến áp",
        "Năng lượng",
        20,
        1,
    ),
    (
        "ATNL",
        29,
        "Thẩm định dự án đầu tư xây dựng công trình điện",
        "Năng lượng",
        20,
        1,
    ),
    (
        "ATNL",
        30,
        "Kiểm tra kế hoạch sử dụng năng lượng tiết kiệm và hiệu quả",
        "Năng lượng",
        10,
        1,
    ),
];

fn code_of(p: &ProcedureSpec) -> String {
    format!("QT-SCT-{}-{:02}", p.0, p.1)
}

/// The ISO process steps: reception, the unit's specialist, the unit's head, the director, and the
/// clerk who returns the result; they add up to the statutory limit.
fn steps_of(p: &ProcedureSpec) -> Vec<ProcessStep> {
    let total = f64::from(p.4) * 8.0;
    let (reception, head, director, clerk) = if p.4 >= 5 {
        (4.0, 8.0, 8.0, 4.0)
    } else {
        (2.0, 4.0, 4.0, 2.0)
    };
    let step = |name: &str, unit: &str, hours: f64| ProcessStep {
        name: name.into(),
        unit_code: unit.into(),
        hours,
    };
    vec![
        step("Tiếp nhận, kiểm tra và chuyển hồ sơ", "MC", reception),
        step(
            "Thẩm định hồ sơ",
            p.0,
            total - reception - head - director - clerk,
        ),
        step("Lãnh đạo phòng xem xét", p.0, head),
        step("Lãnh đạo Sở phê duyệt", "BGD", director),
        step("Vào sổ, trả kết quả", "MC", clerk),
    ]
}

fn principal() -> Principal {
    Principal {
        subject: "demo".into(),
        role: Role::Admin,
        unit_code: None,
        kind: PrincipalKind::User,
    }
}

fn audit() -> AuditContext {
    AuditContext {
        actor: "demo".into(),
        actor_role: "admin".into(),
        client_id: None,
        reason: Some("dữ liệu mẫu (motcua demo)".into()),
        request_id: None,
    }
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
    let steps = steps_of(&PROCEDURES[procedure]);
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
    for p in &PROCEDURES {
        catalogue::create_procedure(
            conn,
            calendars,
            &who,
            &audit,
            &code_of(p),
            ProcedureDraft {
                name: p.2.into(),
                field: p.3.into(),
                unit_code: p.0.into(),
                rules: ProcedureRules {
                    time_limit: TimeLimit::working_days(p.4),
                    supplement_policy: SupplementPolicy::Pause,
                    steps: steps_of(p),
                },
                active: true,
            },
        )?;
    }
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
    let weights: Vec<u32> = PROCEDURES.iter().map(|p| p.5).collect();
    let mut rng = Rng(SEED);
    let mut plans = (0..DOSSIERS)
        .map(|_| plan(&mut rng, &calendar, &days, &weights, end))
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
        let spec = &PROCEDURES[p.procedure];
        bar.set_message(format!(
            "{} {}",
            p.received_at
                .with_timezone(&LOCAL_OFFSET)
                .format("%d/%m/%Y"),
            code_of(spec)
        ));
        let input = ReceiptInput::parse(
            &code_of(spec),
            ApplicantDraft {
                name: format!("Tổ chức, cá nhân mẫu {:03} (demo)", n + 1),
                ..ApplicantDraft::default()
            },
            p.channel,
            Some(p.received_at),
            Some(format!("DEMO-2018-{:04}", n + 1)),
        )?;
        let received = dossiers::receive(conn, calendars, &who, &audit, input)?;
        let code = received.dossier.code;
        let mut version = received.dossier.version;
        for step in p.steps {
            let record = dossiers::act(
                conn,
                calendars,
                &who,
                &audit,
                &code,
                ActionInput {
                    command: step.command,
                    expected_version: version,
                    at: Some(step.at),
                    to_user: None,
                    note: None,
                },
            )?;
            version = record.version;
        }
        bar.inc(1);
    }
    bar.finish_with_message("Đã nạp dữ liệu mẫu");
    Ok(())
}

/// The report of the demo period, computed from the stored dossiers.
pub fn report(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    group_by: GroupBy,
) -> Result<Summary, ServiceError> {
    stats::summary(
        conn,
        calendars,
        &principal(),
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

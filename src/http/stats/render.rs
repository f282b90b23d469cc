//! The report's downloads: CSV (UTF-8 with BOM, for spreadsheet programs) and XLSX.

use crate::{
    http::error::ApiError,
    service::stats::{Summary, SummaryRow},
};

/// The columns of the downloads: heading, and the value of a row.
type Cell = (&'static str, fn(&SummaryRow, i64) -> CellValue);

pub enum CellValue {
    Text(String),
    Count(i64),
    Share(Option<f64>),
    Days(Option<f64>),
}

fn download_columns() -> Vec<Cell> {
    macro_rules! count {
        ($heading:expr, $f:ident) => {
            ($heading, |r: &SummaryRow, _| CellValue::Count(r.line.$f))
        };
    }
    vec![
        ("Mã (key)", |r, _| {
            CellValue::Text(r.key.clone().unwrap_or_else(|| "TONG".to_owned()))
        }),
        ("Tên (label)", |r, _| CellValue::Text(r.label.clone())),
        ("Từ ngày (from)", |r, _| {
            CellValue::Text(r.from.to_string())
        }),
        ("Đến ngày (to)", |r, _| {
            CellValue::Text(r.to.to_string())
        }),
        count!("Kỳ trước chuyển qua (carried_over)", carried_over),
        count!("Mới tiếp nhận (received)", received),
        count!("Tiếp nhận trực tuyến (received_online)", received_online),
        count!("Tiếp nhận trực tiếp (received_direct)", received_direct),
        count!("Tiếp nhận qua bưu chính (received_postal)", received_postal),
        count!("Đã giải quyết (resolved)", resolved),
        count!("Trước hạn (resolved_early)", resolved_early),
        count!("Đúng hạn (resolved_on_time)", resolved_on_time),
        count!("Quá hạn (resolved_late)", resolved_late),
        (
            "Tỷ lệ đúng hạn và trước hạn (on_time_or_early_share)",
            |r, _| CellValue::Share(r.line.on_time_or_early_share()),
        ),
        count!("Đang giải quyết cuối kỳ (open_at_end)", open_at_end),
        count!("Chưa đến hạn (open_not_yet_due)", open_not_yet_due),
        count!("Đã quá hạn (open_overdue)", open_overdue),
        count!(
            "Chờ bổ sung (open_awaiting_supplement)",
            open_awaiting_supplement
        ),
        count!("Rút hồ sơ (withdrawn)", withdrawn),
        count!("Từ chối (refused)", refused),
        (
            "Số ngày làm việc sử dụng bình quân (avg_working_days_used)",
            |r, m| CellValue::Days(r.line.avg_working_days_used(m)),
        ),
        (
            "Thời hạn luật định bình quân, ngày làm việc (avg_statutory_working_days)",
            |r, m| CellValue::Days(r.line.avg_statutory_days(m)),
        ),
        (
            "Tỷ lệ thời gian tiết kiệm (time_saved_share)",
            |r, _| CellValue::Share(r.line.time_saved_share()),
        ),
    ]
}

/// The report as CSV: UTF-8 with a byte-order mark, a header row, the rows, the total row.
pub fn summary_csv(s: &Summary) -> Result<Vec<u8>, ApiError> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        let columns = download_columns();
        crate::http::csv_cell::write_record(&mut w, columns.iter().map(|(h, _)| *h))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        for row in s.rows.iter().chain([&s.total]) {
            let record: Vec<String> = columns
                .iter()
                .map(|(_, f)| match f(row, s.day_minutes) {
                    CellValue::Text(t) => t,
                    CellValue::Count(n) => n.to_string(),
                    CellValue::Share(v) | CellValue::Days(v) => {
                        v.map(|v| format!("{v:.4}")).unwrap_or_default()
                    }
                })
                .collect();
            crate::http::csv_cell::write_record(&mut w, &record)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
        }
        w.flush().map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    Ok(out)
}

/// The report as an Excel workbook.
pub fn summary_xlsx(s: &Summary) -> Result<Vec<u8>, ApiError> {
    use rust_xlsxwriter::{Format, FormatAlign, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| ApiError::Internal(e.to_string());
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Bao cao").map_err(err)?;
    let header = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_background_color("#DDEBF7")
        .set_border(rust_xlsxwriter::FormatBorder::Thin);
    let count = Format::new().set_num_format("#,##0");
    let share = Format::new().set_num_format("0.0%");
    let days = Format::new().set_num_format("0.00");
    let bold = |f: &Format| {
        f.clone()
            .set_bold()
            .set_border_top(rust_xlsxwriter::FormatBorder::Thin)
    };
    let columns = download_columns();
    sheet.set_row_height(0, 60).map_err(err)?;
    for (c, (heading, _)) in columns.iter().enumerate() {
        let c = u16::try_from(c).unwrap_or(u16::MAX);
        sheet
            .write_with_format(0, c, *heading, &header)
            .map_err(err)?;
        sheet
            .set_column_width(c, if c == 1 { 40 } else { 14 })
            .map_err(err)?;
    }
    let rows: Vec<(&SummaryRow, bool)> = s
        .rows
        .iter()
        .map(|r| (r, false))
        .chain([(&s.total, true)])
        .collect();
    for (i, (row, total)) in rows.iter().enumerate() {
        let r = u32::try_from(i + 1).unwrap_or(u32::MAX);
        for (c, (_, f)) in columns.iter().enumerate() {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            let plain = Format::new();
            let (fmt, value) = match f(row, s.day_minutes) {
                CellValue::Text(t) => (&plain, Some(Err(t))),
                CellValue::Count(n) => (&count, Some(Ok(n as f64))),
                CellValue::Share(v) => (&share, v.map(Ok)),
                CellValue::Days(v) => (&days, v.map(Ok)),
            };
            let fmt = if *total { bold(fmt) } else { fmt.clone() };
            match value {
                Some(Ok(n)) => sheet.write_number_with_format(r, c, n, &fmt).map_err(err)?,
                Some(Err(t)) => sheet
                    .write_string_with_format(r, c, &t, &fmt)
                    .map_err(err)?,
                None => sheet.write_blank(r, c, &fmt).map_err(err)?,
            };
        }
    }
    sheet.set_freeze_panes(1, 2).map_err(err)?;
    workbook.save_to_buffer().map_err(err)
}

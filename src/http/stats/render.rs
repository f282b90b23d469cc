//! The report's downloads: CSV (UTF-8 with BOM, for spreadsheet programs) and XLSX.

use crate::{
    http::error::ApiError,
    service::stats::{Summary, SummaryRow},
};

/// The columns of the downloads: heading, and the value of a row.
type Cell = (&'static str, fn(&SummaryRow, i64) -> CellValue);

pub enum CellValue {
    Text(String),
    /// A local date: ISO text in CSV, a real date in XLSX.
    Date(chrono::NaiveDate),
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
        ("Từ ngày (from)", |r, _| CellValue::Date(r.from)),
        ("Đến ngày (to)", |r, _| CellValue::Date(r.to)),
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
        count!(
            "Chờ nộp phí, lệ phí (open_awaiting_payment)",
            open_awaiting_payment
        ),
        count!("Rút hồ sơ (withdrawn)", withdrawn),
        count!("Từ chối (refused)", refused),
        count!("Không được tiếp nhận (declined)", declined),
        count!("Dừng xử lý (stopped)", stopped),
        count!("Thanh toán trực tuyến (paid_online)", paid_online),
        count!("Đã số hóa (digitized)", digitized),
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
                    CellValue::Date(d) => d.to_string(),
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

/// The report as an Excel workbook: a title and the period on top, the header row frozen with the
/// key and name columns, dates as real dates, counts, shares and days as numbers.
pub fn summary_xlsx(s: &Summary) -> Result<Vec<u8>, ApiError> {
    use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| ApiError::Internal(e.to_string());
    let excel_date = |d: chrono::NaiveDate| {
        use chrono::Datelike;
        ExcelDateTime::from_ymd(
            u16::try_from(d.year()).unwrap_or(1900),
            u8::try_from(d.month()).unwrap_or(1),
            u8::try_from(d.day()).unwrap_or(1),
        )
        .map_err(err)
    };
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Báo cáo").map_err(err)?;
    let title = Format::new().set_bold().set_font_size(14);
    let header = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_background_color("#DDEBF7")
        .set_border(FormatBorder::Thin);
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let count = Format::new().set_num_format("#,##0");
    let share = Format::new().set_num_format("0.0%");
    let days = Format::new().set_num_format("0.00");
    let bold = |f: &Format| f.clone().set_bold().set_border_top(FormatBorder::Thin);
    let columns = download_columns();
    let last_column = u16::try_from(columns.len().saturating_sub(1)).unwrap_or(u16::MAX);

    // Title and period (kỳ báo cáo), then one empty row.
    sheet
        .merge_range(
            0,
            0,
            0,
            last_column.min(12),
            "BÁO CÁO TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH (report of dossiers resolved)",
            &title,
        )
        .map_err(err)?;
    sheet
        .write_string(1, 0, "Kỳ báo cáo (period)")
        .map_err(err)?;
    sheet
        .write_string(1, 1, "từ (from) / đến (to):")
        .map_err(err)?;
    sheet
        .write_datetime_with_format(1, 2, excel_date(s.from)?, &date)
        .map_err(err)?;
    sheet
        .write_datetime_with_format(1, 3, excel_date(s.to)?, &date)
        .map_err(err)?;
    const HEADER_ROW: u32 = 3;

    sheet.set_row_height(HEADER_ROW, 75).map_err(err)?;
    for (c, (heading, _)) in columns.iter().enumerate() {
        let c = u16::try_from(c).unwrap_or(u16::MAX);
        sheet
            .write_with_format(HEADER_ROW, c, *heading, &header)
            .map_err(err)?;
        // Wide enough for the heading wrapped on about four lines, the name column wider.
        let heading_width = (heading.chars().count() as f64 / 4.0).ceil().max(12.0);
        sheet
            .set_column_width(c, if c == 1 { 40.0 } else { heading_width })
            .map_err(err)?;
    }
    let rows: Vec<(&SummaryRow, bool)> = s
        .rows
        .iter()
        .map(|r| (r, false))
        .chain([(&s.total, true)])
        .collect();
    for (i, (row, total)) in rows.iter().enumerate() {
        let r = HEADER_ROW + 1 + u32::try_from(i).unwrap_or(u32::MAX - HEADER_ROW - 1);
        for (c, (_, f)) in columns.iter().enumerate() {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            let plain = Format::new();
            let fmt_of = |f: &Format| if *total { bold(f) } else { f.clone() };
            match f(row, s.day_minutes) {
                CellValue::Text(t) => sheet
                    .write_string_with_format(r, c, &t, &fmt_of(&plain))
                    .map_err(err)?,
                CellValue::Date(d) => sheet
                    .write_datetime_with_format(r, c, excel_date(d)?, &fmt_of(&date))
                    .map_err(err)?,
                CellValue::Count(n) => sheet
                    .write_number_with_format(r, c, n as f64, &fmt_of(&count))
                    .map_err(err)?,
                CellValue::Share(Some(v)) => sheet
                    .write_number_with_format(r, c, v, &fmt_of(&share))
                    .map_err(err)?,
                CellValue::Days(Some(v)) => sheet
                    .write_number_with_format(r, c, v, &fmt_of(&days))
                    .map_err(err)?,
                CellValue::Share(None) | CellValue::Days(None) => {
                    sheet.write_blank(r, c, &fmt_of(&plain)).map_err(err)?
                }
            };
        }
    }
    sheet.set_freeze_panes(HEADER_ROW + 1, 2).map_err(err)?;
    workbook.save_to_buffer().map_err(err)
}

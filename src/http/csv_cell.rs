//! Cells of the CSV files the service writes, made safe to open in a spreadsheet: a cell that
//! starts like a formula (`=`, `+`, `-`, `@`, or a tab or carriage return before one) is prefixed
//! with an apostrophe, which spreadsheets show as text instead of evaluating (OWASP, "CSV
//! injection"). Plain numbers, negative ones included, are left as they are.

use std::borrow::Cow;

fn is_plain_number(cell: &str) -> bool {
    let digits = cell.strip_prefix(['-', '+']).unwrap_or(cell);
    let mut parts = digits.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next();
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// The cell as it may be written to a CSV file.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && !is_plain_number(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Writes one record, every cell neutralised. Every CSV writer of the service goes through here.
pub fn write_record<W: std::io::Write, I, S>(
    writer: &mut csv::Writer<W>,
    cells: I,
) -> csv::Result<()>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let cells: Vec<String> = cells
        .into_iter()
        .map(|c| neutralise(c.as_ref()).into_owned())
        .collect();
    writer.write_record(&cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text_and_numbers_stay_numbers() {
        for risky in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "-",
        ] {
            assert_eq!(neutralise(risky), format!("'{risky}"), "{risky:?}");
        }
        for safe in ["Sở Công Thương", "-0.1250", "+3", "42", "", "a=b", "1.5"] {
            assert_eq!(neutralise(safe), safe, "{safe:?}");
        }
    }
}

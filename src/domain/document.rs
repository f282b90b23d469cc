//! Documents of a dossier (thành phần hồ sơ, số hóa): the components a procedure asks for, which
//! kind of document may be added in which status, what a file is judged to be from its first bytes,
//! file names fit for a download, and when a dossier counts as digitized.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::dossier::Status;

/// Why a document is added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// A paper of the dossier as submitted, digitized at receipt (hồ sơ nộp).
    Submitted,
    /// A paper that answers a request for supplement (hồ sơ bổ sung).
    Supplement,
    /// The result, digitized (kết quả giải quyết).
    Result,
}

wire_names!(DocumentKind {
    Submitted => "submitted",
    Supplement => "supplement",
    Result => "result",
});

impl DocumentKind {
    /// The statuses in which a document of this kind may be added: the submitted papers from the
    /// online submission until processing ends, a supplement while one is awaited, the result from
    /// processing until it is handed back.
    pub const fn statuses(self) -> &'static [Status] {
        match self {
            Self::Submitted => &[Status::Submitted, Status::Received, Status::Processing],
            Self::Supplement => &[Status::AwaitingSupplement],
            Self::Result => &[Status::Processing, Status::Resolved],
        }
    }

    pub fn allowed_in(self, status: Status) -> bool {
        self.statuses().contains(&status)
    }

    /// Whether a document of this kind stands for one of the procedure's components.
    pub const fn is_component(self) -> bool {
        matches!(self, Self::Submitted | Self::Supplement)
    }
}

/// A paper a procedure asks for (thành phần hồ sơ), as its version lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    pub code: String,
    pub name: String,
    /// The dossier is complete only with a file for it.
    pub required: bool,
}

pub const MAX_COMPONENTS: usize = 50;
pub const MAX_COMPONENT_CODE_CHARS: usize = 50;
pub const MAX_COMPONENT_NAME_CHARS: usize = 500;

/// Every fault of a procedure's component list, named as the API names it (`components[1].code`).
pub fn component_problems(components: &[Component]) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    if components.len() > MAX_COMPONENTS {
        errors.push((
            "components".to_owned(),
            format!("at most {MAX_COMPONENTS} components"),
        ));
    }
    let mut seen = HashSet::new();
    for (i, c) in components.iter().enumerate() {
        let code_ok = !c.code.is_empty()
            && c.code.chars().count() <= MAX_COMPONENT_CODE_CHARS
            && c.code
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'));
        if !code_ok {
            errors.push((
                format!("components[{i}].code"),
                format!(
                    "must be 1–{MAX_COMPONENT_CODE_CHARS} characters of A–Z, a–z, 0–9, `-`, `_` or `.`"
                ),
            ));
        } else if !seen.insert(c.code.as_str()) {
            errors.push((
                format!("components[{i}].code"),
                format!("`{}` is listed twice", c.code),
            ));
        }
        if c.name.trim().is_empty() || c.name.chars().count() > MAX_COMPONENT_NAME_CHARS {
            errors.push((
                format!("components[{i}].name"),
                format!("must be 1–{MAX_COMPONENT_NAME_CHARS} characters, not blank"),
            ));
        }
    }
    errors
}

/// The file types a document may be, judged from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    Pdf,
    Jpeg,
    Png,
    Tiff,
    Docx,
    Xlsx,
    Odt,
    Xml,
}

impl FileType {
    pub const ALL: [FileType; 8] = [
        Self::Pdf,
        Self::Jpeg,
        Self::Png,
        Self::Tiff,
        Self::Docx,
        Self::Xlsx,
        Self::Odt,
        Self::Xml,
    ];

    pub const fn mime(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Tiff => "image/tiff",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Odt => "application/vnd.oasis.opendocument.text",
            Self::Xml => "application/xml",
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Self::Pdf => "PDF",
            Self::Jpeg => "JPEG",
            Self::Png => "PNG",
            Self::Tiff => "TIFF",
            Self::Docx => "DOCX",
            Self::Xlsx => "XLSX",
            Self::Odt => "ODT",
            Self::Xml => "XML",
        }
    }

    /// The usual file name extension.
    pub const fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Tiff => "tif",
            Self::Docx => "docx",
            Self::Xlsx => "xlsx",
            Self::Odt => "odt",
            Self::Xml => "xml",
        }
    }

    /// The name a document gets when its upload gave none: `tai-lieu-{kind}.{extension}`.
    pub fn default_file_name(self, kind: DocumentKind) -> String {
        format!("tai-lieu-{kind}.{}", self.extension())
    }

    /// The accepted types, for a message: "PDF, JPEG, …".
    pub fn accepted_list() -> String {
        Self::ALL.map(Self::name).join(", ")
    }

    pub fn from_mime(mime: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.mime() == mime)
    }
}

/// How many leading bytes [`sniff`] needs at most: the office formats are ZIP archives told apart
/// by the names of their first entries.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// What a file is, from its first bytes (at most [`SNIFF_BYTES`], fewer only for a shorter file);
/// `None` for anything outside [`FileType::ALL`]. The name and the type a client declares are
/// never consulted: an executable named `.pdf` is an executable.
pub fn sniff(head: &[u8]) -> Option<FileType> {
    use infer::{archive, doc, image, odf, text};
    // PDF readers accept the header anywhere in the first kilobyte; a file that starts as something
    // else (an executable, a script) is not a PDF whatever follows.
    if head.starts_with(b"%PDF-") {
        Some(FileType::Pdf)
    } else if image::is_jpeg(head) {
        Some(FileType::Jpeg)
    } else if image::is_png(head) {
        Some(FileType::Png)
    } else if image::is_tiff(head) {
        Some(FileType::Tiff)
    } else if doc::is_docx(head) {
        Some(FileType::Docx)
    } else if doc::is_xlsx(head) {
        Some(FileType::Xlsx)
    } else if archive::is_zip(head)
        && let Some(office) = office_open_xml(head)
    {
        Some(office)
    } else if odf::is_odt(head) {
        Some(FileType::Odt)
    } else if text::is_xml(head) && !archive::is_zip(head) {
        Some(FileType::Xml)
    } else {
        None
    }
}

/// A Word or Excel document by the names of the ZIP entries in `head`: `infer` reads only the first
/// few entries' places, and suites order them differently. An OOXML package has a
/// `[Content_Types].xml` entry and its parts under `word/` or `xl/`.
fn office_open_xml(head: &[u8]) -> Option<FileType> {
    const LOCAL_HEADER: &[u8] = b"PK\x03\x04";
    let mut content_types = false;
    let mut found = None;
    let mut at = 0;
    while let Some(offset) = head[at..]
        .windows(LOCAL_HEADER.len())
        .position(|w| w == LOCAL_HEADER)
    {
        let start = at + offset;
        let name_len = head
            .get(start + 26..start + 28)
            .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))?;
        let name = head.get(start + 30..start + 30 + name_len)?;
        content_types |= name == b"[Content_Types].xml";
        if found.is_none() {
            if name.starts_with(b"word/") {
                found = Some(FileType::Docx);
            } else if name.starts_with(b"xl/") {
                found = Some(FileType::Xlsx);
            }
        }
        at = start + LOCAL_HEADER.len();
    }
    found.filter(|_| content_types)
}

pub const MAX_FILE_NAME_CHARS: usize = 255;

/// A file name as the client gave it, checked for a download's `Content-Disposition`: Vietnamese and
/// any other letters are kept; a path (`/`, `\`), `.`/`..`, control characters and names over
/// [`MAX_FILE_NAME_CHARS`] are refused rather than silently rewritten, so the name shown is the
/// name given.
pub fn check_file_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("must not be blank".to_owned());
    }
    if name.chars().count() > MAX_FILE_NAME_CHARS {
        return Err(format!("at most {MAX_FILE_NAME_CHARS} characters"));
    }
    if name.contains(['/', '\\']) {
        return Err("must be a file name, not a path (no `/` or `\\`)".to_owned());
    }
    if name == "." || name == ".." {
        return Err("must be a file name, not `.` or `..`".to_owned());
    }
    if name.chars().any(|c| c.is_control() || c == '"') {
        return Err("must not hold control characters or `\"`".to_owned());
    }
    Ok(name.to_owned())
}

/// The documents a dossier holds, as far as digitization is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldDocuments {
    /// The components with at least one submitted or supplement file.
    pub components: HashSet<String>,
    /// Any submitted or supplement file, with or without a component.
    pub any_paper: bool,
    pub any_result: bool,
}

/// Whether a dossier counts as digitized (DOMAIN.md, "Documents and digitization"): it holds a file
/// for every required component of its procedure (for a procedure that lists none, at least one
/// file of its papers), and, once resolved, a file of its result.
pub fn is_digitized(components: &[Component], held: &HeldDocuments, resolved: bool) -> bool {
    let required: Vec<&Component> = components.iter().filter(|c| c.required).collect();
    let papers = if required.is_empty() {
        held.any_paper
    } else {
        required.iter().all(|c| held.components.contains(&c.code))
    };
    papers && (!resolved || held.any_result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(code: &str, required: bool) -> Component {
        Component {
            code: code.into(),
            name: format!("Giấy {code}"),
            required,
        }
    }

    #[test]
    fn kinds_follow_the_dossier_through_its_statuses() {
        use DocumentKind::*;
        assert!(Submitted.allowed_in(Status::Submitted));
        assert!(Submitted.allowed_in(Status::Processing));
        assert!(!Submitted.allowed_in(Status::AwaitingSupplement));
        assert!(Supplement.allowed_in(Status::AwaitingSupplement));
        assert!(!Supplement.allowed_in(Status::Processing));
        assert!(Result.allowed_in(Status::Resolved));
        assert!(!Result.allowed_in(Status::Received));
        for closed in [
            Status::Returned,
            Status::Withdrawn,
            Status::Declined,
            Status::Stopped,
        ] {
            assert!(DocumentKind::ALL.iter().all(|k| !k.allowed_in(closed)));
        }
    }

    #[test]
    fn content_decides_the_type() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some(FileType::Pdf));
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]),
            Some(FileType::Jpeg)
        );
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(FileType::Png));
        assert_eq!(sniff(b"II*\0\x08\0\0\0\0\0\0\0"), Some(FileType::Tiff));
        assert_eq!(
            sniff("<?xml version=\"1.0\"?><hoSo>Nguyễn</hoSo>".as_bytes()),
            Some(FileType::Xml)
        );
        // An ELF executable, a Windows one, a script and plain text are refused, whatever their name.
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\0\0\0\0\0"), None);
        assert_eq!(sniff(b"MZ\x90\0\x03\0\0\0\x04\0"), None);
        assert_eq!(sniff(b"#!/bin/sh\nrm -rf /\n"), None);
        assert_eq!(sniff(b"hello"), None);
        assert_eq!(sniff(b""), None);
        // A PDF header after other bytes is not a PDF.
        assert_eq!(sniff(b"MZ%PDF-1.7"), None);
    }

    /// A ZIP holding `entries`, as office suites write them.
    fn zip_of(entries: &[(&str, &str)]) -> Vec<u8> {
        use std::io::Write;
        let mut out = std::io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        for (name, body) in entries {
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            zip.start_file(*name, options).unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
        out.into_inner()
    }

    #[test]
    fn office_documents_are_told_apart_by_their_entries() {
        let ooxml = |dir: &str| {
            zip_of(&[
                ("[Content_Types].xml", "<?xml version=\"1.0\"?><Types/>"),
                ("_rels/.rels", "<?xml version=\"1.0\"?><Relationships/>"),
                (
                    &format!("{dir}/document.xml"),
                    "<?xml version=\"1.0\"?><x/>",
                ),
            ])
        };
        assert_eq!(sniff(&ooxml("word")), Some(FileType::Docx));
        assert_eq!(sniff(&ooxml("xl")), Some(FileType::Xlsx));
        let odt = zip_of(&[
            ("mimetype", "application/vnd.oasis.opendocument.text"),
            (
                "content.xml",
                "<?xml version=\"1.0\"?><office:document-content/>",
            ),
        ]);
        assert_eq!(sniff(&odt), Some(FileType::Odt));
        // Any other archive is refused.
        assert_eq!(sniff(&zip_of(&[("setup.exe", "MZ")])), None);
    }

    #[test]
    fn file_names_keep_their_letters_and_lose_no_path_quietly() {
        assert_eq!(
            check_file_name(" Giấy chứng nhận đăng ký.pdf ").unwrap(),
            "Giấy chứng nhận đăng ký.pdf"
        );
        for bad in [
            "",
            "  ",
            "../etc/passwd",
            "a/b.pdf",
            "C:\\x.pdf",
            "..",
            "a\u{0}b",
            "x\"y",
        ] {
            assert!(check_file_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_file_name(&"á".repeat(256)).is_err());
        assert!(check_file_name(&"á".repeat(255)).is_ok());
    }

    #[test]
    fn digitized_needs_every_required_component_and_the_result_once_resolved() {
        let components = [
            component("DON", true),
            component("CCCD", true),
            component("KHAC", false),
        ];
        let mut held = HeldDocuments::default();
        assert!(!is_digitized(&components, &held, false));
        held.components.insert("DON".into());
        held.any_paper = true;
        assert!(!is_digitized(&components, &held, false));
        held.components.insert("CCCD".into());
        assert!(is_digitized(&components, &held, false));
        assert!(!is_digitized(&components, &held, true));
        held.any_result = true;
        assert!(is_digitized(&components, &held, true));
        // No component listed: any paper will do.
        let only_paper = HeldDocuments {
            any_paper: true,
            ..Default::default()
        };
        assert!(is_digitized(&[], &only_paper, false));
        assert!(!is_digitized(&[], &HeldDocuments::default(), false));
    }

    #[test]
    fn component_lists_are_checked_field_by_field() {
        let mut list = vec![component("DON", true), component("DON", false)];
        list.push(Component {
            code: "bad code".into(),
            name: " ".into(),
            required: false,
        });
        let fields: Vec<String> = component_problems(&list)
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            fields,
            [
                "components[1].code",
                "components[2].code",
                "components[2].name"
            ]
        );
        assert!(component_problems(&[component("DON", true)]).is_empty());
    }
}

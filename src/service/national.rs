//! The national portal's sync (Cổng DVCQG, service DongBoHoSoMC): each dossier as the portal takes
//! it, and the pages of changed dossiers an integrator pulls.
//!
//! The record's shape is fixed by the portal: every value a string, instants as `yyyyMMddHHmmss`
//! in UTC+7, an empty string for an instant not reached. The codes motcua fills in where the
//! portal leaves the coding to the provincial system are documented on each field.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ServiceError, dossiers as dossier_service};
use crate::{
    auth::policy::{Action, Principal, authorize},
    domain::{
        Instant,
        calendar::to_local,
        document::DocumentKind,
        dossier::{Channel, Dossier, HistoryAction, PaymentMethod},
        procedure::Fee,
    },
    store::{
        DbConnection, StoreError,
        catalogue::{self, ProcedureVersion},
        documents::{self, DocumentRecord},
        dossiers::{self as store, DossierFilter, EventRecord, PaymentRecord},
        feed::{self, ChangePosition},
        national_sync::{self, SyncState},
    },
};

/// One dossier as the national portal takes it (DongBoHoSoMC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct NationalRecord {
    /// Mã hồ sơ: the dossier's code.
    pub ma_ho_so: String,
    /// Mã TTHC: the procedure's national code; empty when the catalogue does not know it.
    #[serde(rename = "MaTTHC")]
    pub ma_tthc: String,
    #[serde(rename = "TenTTHC")]
    pub ten_tthc: String,
    /// Submitted online (or, without an intake check, received).
    pub ngay_nop_ho_so: String,
    pub ngay_tiep_nhan: String,
    /// The statutory due instant (never a rescheduled appointment).
    pub ngay_hen_tra: String,
    /// Resolved, or ended without a result (withdrawn, stopped).
    pub ngay_ket_thuc_xu_ly: String,
    pub ngay_tra: String,
    /// Declined at the intake check.
    pub ngay_tu_choi: String,
    /// TrangThaiHoSo, 1–10.
    pub trang_thai_ho_so: String,
    /// 1 direct, 2 online, 3 postal.
    pub kenh_thuc_hien: String,
    pub chu_ho_so: String,
    /// 1 citizen, 2 organisation (the applicant names one).
    pub loai_doi_tuong: String,
    pub danh_sach_le_phi: Vec<NationalFee>,
    pub danh_sach_ho_so_bo_sung: Vec<NationalSupplement>,
    /// The papers kept of the dossier (submitted and supplement documents).
    pub tai_lieu_nop: Vec<NationalDocument>,
    /// The result's files.
    pub danh_sach_giay_to_ket_qua: Vec<NationalResultPaper>,
    /// 1 when a paper was digitised, else 0.
    pub ho_so_co_thanh_phan_so_hoa: String,
    /// 2 when a fee was paid online through the provincial portal, else 0.
    pub duoc_thanh_toan_truc_tuyen: String,
}

/// A fee of the procedure (phí, lệ phí).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct NationalFee {
    pub ten_phi_le_phi: String,
    /// The fee's position in the procedure's list, from 1.
    pub ma_phi_le_phi: String,
    /// How the dossier's fees were paid: 1 cash, 2 transfer, 3 online; empty until paid.
    pub hinh_thuc_thu: String,
    /// In VND.
    pub gia: String,
    /// 2 for a charge (lệ phí: the name begins so), 1 for a fee (phí).
    pub loai_phi_le_phi: String,
}

/// A request for supplement and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct NationalSupplement {
    pub nguoi_yeu_cau_bo_sung: String,
    pub noi_dung_bo_sung: String,
    pub ngay_bo_sung: String,
    /// When the supplement came in; empty while awaited.
    pub ngay_tiep_nhan_bo_sung: String,
    /// The due instant before the request and after the supplement.
    pub ngay_hen_tra_truoc: String,
    pub ngay_hen_tra_moi: String,
}

/// A paper of the dossier, digitized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct NationalDocument {
    /// The document's id here.
    pub tep_dinh_kem_id: String,
    pub ten_tep_dinh_kem: String,
    /// The procedure's component it stands for; empty for none.
    pub ma_thanh_phan_ho_so: String,
    /// Always 1: a kept paper is a digitized one.
    pub duoc_so_hoa: String,
    /// 1 when taken from an earlier dossier of the applicant, else 0.
    pub duoc_tai_su_dung: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
/// A file of the result.
pub struct NationalResultPaper {
    pub ten_giay_to: String,
    /// The document's id here.
    pub giay_to_id: String,
    /// Where the file is downloaded from this service (its API path).
    pub duong_dan_tep_tin_ket_qua: String,
}

/// `yyyyMMddHHmmss` in UTC+7; empty for an instant not reached.
pub fn national_instant(at: Option<Instant>) -> String {
    at.and_then(|at| to_local(at.utc()))
        .map(|local| local.format("%Y%m%d%H%M%S").to_string())
        .unwrap_or_default()
}

fn channel_code(channel: Channel) -> &'static str {
    match channel {
        Channel::Direct => "1",
        Channel::Online => "2",
        Channel::Postal => "3",
    }
}

fn payment_code(method: PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::Cash => "1",
        PaymentMethod::Transfer => "2",
        PaymentMethod::Online => "3",
    }
}

/// A due instant a control-slip entry recorded (receipt, acceptance, end of a pause).
fn recorded_due(event: &EventRecord) -> Option<Instant> {
    let due = event.details.as_ref()?.0.get("due_at")?;
    serde_json::from_value::<chrono::DateTime<chrono::Utc>>(due.clone())
        .ok()
        .map(Instant::from)
}

/// The requests for supplement, from the control slip: who asked for what, when it came in, and
/// the due instant before and after.
fn supplements(events: &[EventRecord]) -> Vec<NationalSupplement> {
    let mut rounds: Vec<NationalSupplement> = Vec::new();
    let mut due: Option<Instant> = None;
    for event in events {
        match event.action {
            HistoryAction::RequestSupplement => {
                let reason = event
                    .details
                    .as_ref()
                    .and_then(|d| d.0.get("reason"))
                    .and_then(|r| r.as_str())
                    .unwrap_or_default();
                rounds.push(NationalSupplement {
                    nguoi_yeu_cau_bo_sung: event.from_user.clone(),
                    noi_dung_bo_sung: reason.to_owned(),
                    ngay_bo_sung: national_instant(Some(event.at)),
                    ngay_tiep_nhan_bo_sung: String::new(),
                    ngay_hen_tra_truoc: national_instant(due),
                    ngay_hen_tra_moi: String::new(),
                });
            }
            HistoryAction::SupplementReceived => {
                due = recorded_due(event).or(due);
                if let Some(open) = rounds
                    .iter_mut()
                    .rev()
                    .find(|r| r.ngay_tiep_nhan_bo_sung.is_empty())
                {
                    open.ngay_tiep_nhan_bo_sung = national_instant(Some(event.at));
                    open.ngay_hen_tra_moi = national_instant(due);
                }
            }
            _ => due = recorded_due(event).or(due),
        }
    }
    rounds
}

fn fees(fees: &[Fee], payments: &[PaymentRecord]) -> Vec<NationalFee> {
    let paid_by = payments
        .iter()
        .rev()
        .find_map(|p| p.method)
        .map(payment_code)
        .unwrap_or_default();
    fees.iter()
        .enumerate()
        .map(|(i, fee)| NationalFee {
            ten_phi_le_phi: fee.name.clone(),
            ma_phi_le_phi: (i + 1).to_string(),
            hinh_thuc_thu: paid_by.to_owned(),
            gia: fee.amount.to_string(),
            loai_phi_le_phi: if fee.name.trim_start().starts_with("Lệ phí") {
                "2"
            } else {
                "1"
            }
            .to_owned(),
        })
        .collect()
}

/// The national record of one dossier, from its procedure version, control slip and payments.
pub fn record_of(
    dossier: &Dossier,
    procedure: &ProcedureVersion,
    events: &[EventRecord],
    payments: &[PaymentRecord],
    documents: &[DocumentRecord],
) -> NationalRecord {
    let applicant = dossier.applicant.particulars();
    let paid_online = payments
        .iter()
        .any(|p| p.method == Some(PaymentMethod::Online) && p.paid_at.is_some());
    NationalRecord {
        ma_ho_so: dossier.code.clone(),
        ma_tthc: procedure.listing.national_code.clone().unwrap_or_default(),
        ten_tthc: procedure.name.clone(),
        ngay_nop_ho_so: national_instant(dossier.submitted_at.or(dossier.received_at)),
        ngay_tiep_nhan: national_instant(dossier.received_at),
        ngay_hen_tra: national_instant(dossier.due_at),
        ngay_ket_thuc_xu_ly: national_instant(
            dossier
                .resolved_at
                .or(dossier.withdrawn_at)
                .or(dossier.stopped_at),
        ),
        ngay_tra: national_instant(dossier.returned_at),
        ngay_tu_choi: national_instant(dossier.declined_at),
        trang_thai_ho_so: dossier.status.national_code().to_string(),
        kenh_thuc_hien: channel_code(dossier.channel).to_owned(),
        chu_ho_so: applicant.name.clone(),
        loai_doi_tuong: if applicant.organization.is_some() {
            "2"
        } else {
            "1"
        }
        .to_owned(),
        danh_sach_le_phi: fees(&procedure.listing.fees, payments),
        danh_sach_ho_so_bo_sung: supplements(events),
        tai_lieu_nop: documents
            .iter()
            .filter(|d| d.kind.is_component())
            .map(|d| NationalDocument {
                tep_dinh_kem_id: d.id.to_string(),
                ten_tep_dinh_kem: d.file_name.clone(),
                ma_thanh_phan_ho_so: d.component_code.clone().unwrap_or_default(),
                duoc_so_hoa: "1".to_owned(),
                duoc_tai_su_dung: if d.reused { "1" } else { "0" }.to_owned(),
            })
            .collect(),
        danh_sach_giay_to_ket_qua: documents
            .iter()
            .filter(|d| d.kind == DocumentKind::Result)
            .map(|d| NationalResultPaper {
                ten_giay_to: d.file_name.clone(),
                giay_to_id: d.id.to_string(),
                duong_dan_tep_tin_ket_qua: format!(
                    "/api/v1/dossiers/{}/documents/{}/content",
                    dossier.code, d.id
                ),
            })
            .collect(),
        ho_so_co_thanh_phan_so_hoa: if documents.iter().any(|d| d.kind.is_component()) {
            "1"
        } else {
            "0"
        }
        .to_owned(),
        duoc_thanh_toan_truc_tuyen: if paid_online { "2" } else { "0" }.to_owned(),
    }
}

/// Reads what a dossier's record needs; procedure versions are kept across the dossiers of a page.
pub fn load_record(
    conn: &mut DbConnection,
    dossier: &Dossier,
    procedures: &mut HashMap<(String, i32), ProcedureVersion>,
) -> Result<NationalRecord, StoreError> {
    let key = (dossier.procedure_code.clone(), dossier.procedure_version);
    if !procedures.contains_key(&key) {
        let version = catalogue::procedure_version(conn, &key.0, key.1)?;
        procedures.insert(key.clone(), version);
    }
    let events = store::history(conn, dossier.id)?;
    let payments = store::payments_of(conn, dossier.id)?;
    let documents = documents::of_dossier(conn, dossier.id)?;
    Ok(record_of(
        dossier,
        &procedures[&key],
        &events,
        &payments,
        &documents,
    ))
}

/// A page of national records in change-feed order, and where a reader that has seen everything
/// readable may resume.
pub struct ExportPage {
    pub rows: Vec<(NationalRecord, ChangePosition)>,
    pub horizon: ChangePosition,
}

/// The dossiers of the caller's agencies changed after `after` (or since `filter.updated_since`),
/// as national records.
pub fn export(
    conn: &mut DbConnection,
    who: &Principal,
    mut filter: DossierFilter,
    after: Option<ChangePosition>,
    limit: i64,
) -> Result<ExportPage, ServiceError> {
    authorize(who, &Action::ExportNational, None)?;
    // The whole scope: the e-portal relays every dossier of its agencies, not only its own.
    dossier_service::restrict_to_scope(&mut filter, who);
    let horizon = feed::horizon(conn)?;
    let changes = feed::list_changes(conn, &filter, after, limit)?;
    let mut procedures = HashMap::new();
    let rows = changes
        .into_iter()
        .map(|(dossier, position)| Ok((load_record(conn, &dossier, &mut procedures)?, position)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(ExportPage { rows, horizon })
}

/// The push sync's ledger for the dossiers of the caller's agencies.
pub fn sync_state(conn: &mut DbConnection, who: &Principal) -> Result<SyncState, ServiceError> {
    authorize(who, &Action::ExportNational, None)?;
    let agencies = who.scope.codes();
    Ok(national_sync::state(conn, agencies.as_deref())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_local_digits_and_empty_when_absent() {
        let at = Instant::from(
            chrono::DateTime::parse_from_rfc3339("2025-04-25T08:05:09Z")
                .unwrap()
                .to_utc(),
        );
        assert_eq!(national_instant(Some(at)), "20250425150509");
        assert_eq!(national_instant(None), "");
    }

    #[test]
    fn the_record_serialises_under_the_portals_field_names() {
        let fee = NationalFee {
            ten_phi_le_phi: "Lệ phí".into(),
            ma_phi_le_phi: "1".into(),
            hinh_thuc_thu: "3".into(),
            gia: "500000".into(),
            loai_phi_le_phi: "2".into(),
        };
        let json = serde_json::to_value(&fee).unwrap();
        assert_eq!(
            json.as_object().unwrap().keys().collect::<Vec<_>>(),
            [
                "Gia",
                "HinhThucThu",
                "LoaiPhiLePhi",
                "MaPhiLePhi",
                "TenPhiLePhi"
            ]
        );
    }
}

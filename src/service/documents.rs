//! Documents of a dossier: the checks before an upload is read, the streamed upload itself (typed
//! from its first bytes, counted, hashed), the record that makes it part of the dossier, and reads.
//!
//! Order of writes: the object is complete in storage before its row commits. A failure after the
//! object was written removes it again; a crash in between leaves an object without a row, which
//! `motcua storage check` lists and removes. A row never lacks its object.

use std::collections::HashSet;

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};

use super::{
    ServiceError,
    dossiers::{authorize_on, not_found},
    webhooks::{self, EventType},
};
use crate::{
    auth::policy::{Action, Principal, Role},
    domain::{
        Instant,
        document::{self, Component, DocumentKind, FileType, SNIFF_BYTES, check_file_name, sniff},
        dossier::Dossier,
    },
    storage::{DocumentStorage, StorageError, StoredObject, WrittenObject},
    store::{
        DbConnection, StoreError,
        audit::AuditContext,
        calendar::CalendarCache,
        catalogue,
        documents::{self as store, DocumentRecord, NewDocument},
        dossiers as dossier_store, outbox, write_transaction,
    },
};

/// Why an upload's body was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the file is empty")]
    Empty,
    #[error(
        "the content is not one of the accepted types ({}); the type is judged from the file's \
         first bytes, not from its name or Content-Type",
        FileType::accepted_list()
    )]
    UnsupportedType,
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the upload was interrupted before the file was complete: {0}")]
    Interrupted(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What an upload is for, checked before its body is read.
#[derive(Debug, Clone)]
pub struct UploadTarget {
    pub dossier_code: String,
    pub kind: DocumentKind,
    pub component_code: Option<String>,
    /// As given; without one, the document is named after its kind and type.
    pub file_name: Option<String>,
    /// Where its bytes go.
    pub storage_key: String,
    /// Taken from an earlier dossier of the same applicant (tái sử dụng).
    pub reused: bool,
}

/// The action that adds a document of `kind`.
fn action_for(kind: DocumentKind) -> Action {
    match kind {
        DocumentKind::Result => Action::AddResultDocument,
        DocumentKind::Submitted | DocumentKind::Supplement => Action::AddDocument,
    }
}

/// Whether `who` may add a document of `kind` to `dossier` as it stands, with this component.
fn check_upload(
    conn: &mut DbConnection,
    who: &Principal,
    dossier: &Dossier,
    kind: DocumentKind,
    component: Option<&str>,
) -> Result<(), ServiceError> {
    authorize_on(conn, who, dossier, &[Action::ReadDossier, action_for(kind)])?;
    if !kind.allowed_in(dossier.status) {
        let allowed: Vec<&str> = kind.statuses().iter().map(|s| s.as_str()).collect();
        return Err(ServiceError::Conflict(format!(
            "a `{kind}` document may be added only while the dossier is {}; it is {}",
            allowed.join(" or "),
            dossier.status
        )));
    }
    match (kind, component) {
        (DocumentKind::Result, Some(_)) => Err(ServiceError::Invalid(vec![(
            "component".into(),
            "a result document stands for no component of the procedure; leave it out".into(),
        )])),
        (_, None) => Ok(()),
        (_, Some(code)) => {
            let procedure = catalogue::procedure_version(
                conn,
                &dossier.procedure_code,
                dossier.procedure_version,
            )?;
            let components = &procedure.listing.components;
            if components.iter().any(|c| c.code == code) {
                Ok(())
            } else {
                let known: Vec<&str> = components.iter().map(|c| c.code.as_str()).collect();
                Err(ServiceError::Invalid(vec![(
                    "component".into(),
                    format!(
                        "procedure `{}` (version {}) has no component `{code}`; it has: {}",
                        dossier.procedure_code,
                        dossier.procedure_version,
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ),
                )]))
            }
        }
    }
}

/// Checks an upload before its body is read: the file name, the dossier, the caller's right to add
/// this kind of document now, and the component.
pub fn prepare_upload(
    conn: &mut DbConnection,
    who: &Principal,
    code: &str,
    kind: DocumentKind,
    component: Option<&str>,
    file_name: Option<&str>,
) -> Result<UploadTarget, ServiceError> {
    let file_name = file_name
        .map(check_file_name)
        .transpose()
        .map_err(|message| ServiceError::Invalid(vec![("file_name".into(), message)]))?;
    let dossier = dossier_store::get_dossier(conn, code).map_err(not_found(code))?;
    check_upload(conn, who, &dossier, kind, component)?;
    Ok(UploadTarget {
        storage_key: format!(
            "{}/{}/{}",
            dossier.agency_code,
            dossier.code,
            uuid::Uuid::new_v4().simple()
        ),
        dossier_code: dossier.code,
        kind,
        component_code: component.map(str::to_owned),
        file_name,
        reused: false,
    })
}

/// A paper of an earlier dossier of the same applicant, to be taken into this one (tái sử dụng
/// dữ liệu số hóa): what to copy, and where.
#[derive(Debug, Clone)]
pub struct Reuse {
    pub target: UploadTarget,
    pub source: DocumentRecord,
}

/// Checks a reuse: the caller may add a `submitted` paper to `code` now, may read the dossier the
/// paper comes from, the paper is one (not a result), and both dossiers name the same applicant by
/// identity number.
pub fn prepare_reuse(
    conn: &mut DbConnection,
    who: &Principal,
    code: &str,
    document_id: i64,
    component: Option<&str>,
) -> Result<Reuse, ServiceError> {
    let mut target = prepare_upload(conn, who, code, DocumentKind::Submitted, component, None)?;
    let unknown = || {
        ServiceError::Invalid(vec![(
            "document_id".into(),
            format!("no document {document_id} in a dossier you may read"),
        )])
    };
    let source = match store::by_id(conn, document_id) {
        Ok(source) => source,
        Err(StoreError::NotFound) => return Err(unknown()),
        Err(e) => return Err(e.into()),
    };
    let origin = dossier_store::get_dossier_by_id(conn, source.dossier_id)?;
    match super::dossiers::get(conn, who, &origin.code) {
        Ok(_) => {}
        Err(ServiceError::NotFound(_) | ServiceError::Denied(_)) => return Err(unknown()),
        Err(e) => return Err(e),
    }
    let dossier = dossier_store::get_dossier(conn, code)?;
    let invalid = |message: String| ServiceError::Invalid(vec![("document_id".into(), message)]);
    if origin.id == dossier.id {
        return Err(invalid("the document is this dossier's already".into()));
    }
    if !source.kind.is_component() {
        return Err(invalid("a result is not a paper to reuse".into()));
    }
    let id_of = |d: &Dossier| d.applicant.particulars().id_number.clone();
    if id_of(&dossier).is_none() || id_of(&dossier) != id_of(&origin) {
        return Err(invalid(format!(
            "dossier `{}` is not of this dossier's applicant (both must name the same identity number)",
            origin.code
        )));
    }
    target.file_name = Some(source.file_name.clone());
    target.reused = true;
    Ok(Reuse { target, source })
}

/// Streams `body` into storage under `key`: its first bytes decide its type (nothing is written
/// for a refused type), its size is bounded by `max_bytes`, and whatever goes wrong midway the
/// partial object is removed.
pub async fn receive<S, E>(
    storage: &DocumentStorage,
    key: &str,
    body: S,
    max_bytes: u64,
) -> Result<(WrittenObject, FileType), UploadError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut body = body;
    let interrupted = |e: E| UploadError::Interrupted(e.to_string());
    // The head is gathered first, so the type is known before anything is stored.
    let mut head = BytesMut::new();
    let mut ended = false;
    while head.len() < SNIFF_BYTES {
        match body.next().await {
            Some(chunk) => head.extend_from_slice(&chunk.map_err(interrupted)?),
            None => {
                ended = true;
                break;
            }
        }
        if head.len() as u64 > max_bytes {
            return Err(UploadError::TooLarge { limit: max_bytes });
        }
    }
    if head.is_empty() {
        return Err(UploadError::Empty);
    }
    let file_type =
        sniff(&head[..head.len().min(SNIFF_BYTES)]).ok_or(UploadError::UnsupportedType)?;
    let mut upload = storage.begin(key).await?;
    let outcome: Result<(), UploadError> = async {
        upload.write(head.freeze()).await?;
        if !ended {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(interrupted)?;
                if upload.size() + chunk.len() as u64 > max_bytes {
                    return Err(UploadError::TooLarge { limit: max_bytes });
                }
                upload.write(chunk).await?;
            }
        }
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => Ok((upload.finish().await?, file_type)),
        Err(e) => {
            upload.abort().await;
            Err(e)
        }
    }
}

/// Makes a stored object part of the dossier, in one transaction: the row, the dossier's digitized
/// flag and the report's counters, the audit log and the `document.added` event. The caller
/// removes the object when this fails.
pub fn record_upload(
    conn: &mut DbConnection,
    calendars: &CalendarCache,
    who: &Principal,
    audit: &AuditContext,
    target: &UploadTarget,
    written: &WrittenObject,
    file_type: FileType,
) -> Result<DocumentRecord, ServiceError> {
    let code = target.dossier_code.as_str();
    write_transaction(conn, |conn| {
        let mut dossier =
            dossier_store::get_dossier_for_update(conn, code).map_err(not_found(code))?;
        // The dossier may have moved on while the file was on its way.
        check_upload(
            conn,
            who,
            &dossier,
            target.kind,
            target.component_code.as_deref(),
        )?;
        let file_name = target
            .file_name
            .clone()
            .unwrap_or_else(|| file_type.default_file_name(target.kind));
        let size = i64::try_from(written.size)
            .map_err(|_| StoreError::Corrupt("a file over 2^63 bytes".into()))?;
        let record = store::insert(
            conn,
            &NewDocument {
                dossier_id: dossier.id,
                kind: target.kind,
                component_code: target.component_code.as_deref(),
                file_name: &file_name,
                content_type: file_type.mime(),
                size,
                sha256: &written.sha256,
                storage_key: &written.key,
                reused: target.reused,
                uploaded_at: Instant::now(),
                uploaded_by: &who.subject,
            },
        )?;
        let before = dossier.clone();
        let procedure =
            catalogue::procedure_version(conn, &dossier.procedure_code, dossier.procedure_version)?;
        refresh_digitized(conn, &procedure.listing.components, &mut dossier)?;
        if dossier.digitized != before.digitized {
            store::set_digitized(conn, dossier.id, dossier.digitized)?;
            let (_, calendar) = calendars.get(conn)?;
            let pauses = dossier_store::pauses_of(conn, dossier.id)?;
            super::stats::on_dossier_change(
                conn,
                &calendar,
                &procedure.rules,
                Some(super::stats::Before {
                    dossier: &before,
                    pauses: &pauses,
                    paid_online_before: None,
                }),
                &dossier,
            )?;
        }
        let details = serde_json::json!({
            "document_id": record.id,
            "kind": record.kind,
            "component_code": record.component_code,
            "file_name": record.file_name,
            "content_type": record.content_type,
            "size": record.size,
            "sha256": record.sha256,
            "reused": record.reused,
            "digitized": dossier.digitized,
        });
        audit.record(
            conn,
            "document.add",
            "dossier",
            &dossier.code,
            Some(&dossier.agency_code),
            details.clone(),
        )?;
        let mut event_details = details;
        event_details["actor"] = who.subject.clone().into();
        outbox::enqueue(
            conn,
            &webhooks::dossier_event(
                EventType::DocumentAdded,
                &dossier,
                record.uploaded_at.utc(),
                event_details,
            ),
        )?;
        Ok(record)
    })
}

/// Sets `dossier.digitized` from the documents it holds and its procedure's `components` (call it
/// inside the transaction that changed either; the caller writes the dossier).
pub fn refresh_digitized(
    conn: &mut DbConnection,
    components: &[Component],
    dossier: &mut Dossier,
) -> Result<(), ServiceError> {
    let held = store::held(conn, dossier.id)?;
    dossier.digitized = document::is_digitized(components, &held, dossier.resolved_at.is_some());
    Ok(())
}

/// A dossier's documents, for whoever may read the dossier.
pub fn list(
    conn: &mut DbConnection,
    who: &Principal,
    code: &str,
) -> Result<(Dossier, Vec<DocumentRecord>), ServiceError> {
    let dossier = super::dossiers::get(conn, who, code)?;
    let documents = store::of_dossier(conn, dossier.id)?;
    Ok((dossier, documents))
}

/// One document, for a download. The e-portal's download of a result is a hand-over the audit log
/// records (the citizen received the result online).
pub fn open(
    conn: &mut DbConnection,
    who: &Principal,
    audit: &AuditContext,
    code: &str,
    id: i64,
) -> Result<DocumentRecord, ServiceError> {
    let dossier = super::dossiers::get(conn, who, code)?;
    let record = store::get(conn, dossier.id, id).map_err(|e| match e {
        StoreError::NotFound => {
            ServiceError::NotFound(format!("dossier `{code}` has no document {id}"))
        }
        other => other.into(),
    })?;
    if who.role == Role::Portal && record.kind == DocumentKind::Result {
        write_transaction(conn, |conn| {
            audit.record(
                conn,
                "document.download",
                "dossier",
                &dossier.code,
                Some(&dossier.agency_code),
                serde_json::json!({
                    "document_id": record.id, "kind": record.kind, "sha256": record.sha256,
                }),
            )
        })?;
    }
    Ok(record)
}

/// What `motcua storage check` found.
#[derive(Debug, Default)]
pub struct StorageCheck {
    /// Objects without a document row, written before `cutoff`: left by a crash or a failed
    /// clean-up, safe to remove.
    pub orphans: Vec<StoredObject>,
    /// Objects without a row written after `cutoff`: maybe an upload in progress, left alone.
    pub recent: usize,
    /// Rows whose object is missing: a fault to investigate (restore the file from a backup).
    pub missing: Vec<String>,
    /// Objects that have their row.
    pub kept: usize,
}

/// Compares the storage with the document rows.
pub async fn check_storage(
    conn: &mut DbConnection,
    storage: &DocumentStorage,
    cutoff: DateTime<Utc>,
) -> Result<StorageCheck, ServiceError> {
    let mut known: HashSet<String> = store::storage_keys(conn)?.into_iter().collect();
    let objects = storage.list().await.map_err(UploadError::from)?;
    let mut check = StorageCheck::default();
    for object in objects {
        if known.remove(&object.key) {
            check.kept += 1;
        } else if object.last_modified < cutoff {
            check.orphans.push(object);
        } else {
            check.recent += 1;
        }
    }
    check.missing = known.into_iter().collect();
    check.missing.sort();
    Ok(check)
}

//! Document storage: the bytes of documents, beside the database rows that describe them. One type
//! over the `object_store` crate, with two backends chosen by `MOTCUA_STORAGE_URL`: the local
//! filesystem (`file://…`, the default, embedded like SQLite) and any S3-compatible object store
//! (`s3://bucket[/prefix]`) for several instances. Uploads are streamed in parts and hashed
//! (SHA-256) on the way in; nothing here holds a whole file in memory.

use std::{ops::Range, path::PathBuf, sync::Arc};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt, stream::BoxStream};
use object_store::{
    GetOptions, GetRange, GetResultPayload, ObjectStore, ObjectStoreExt, WriteMultipart,
    aws::AmazonS3Builder, local::LocalFileSystem, path::Path,
};
use sha2::{Digest, Sha256};

use crate::config::StorageSettings;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the stored object `{0}` does not exist")]
    Missing(String),
    #[error("document storage failed: {0}")]
    Backend(#[source] object_store::Error),
    #[error("invalid document storage settings: {0}")]
    Settings(String),
}

impl From<object_store::Error> for StorageError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { path, .. } => Self::Missing(path),
            other => Self::Backend(other),
        }
    }
}

/// An object as listed by [`DocumentStorage::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub key: String,
    pub size: u64,
    pub last_modified: DateTime<Utc>,
}

/// What a finished upload wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenObject {
    pub key: String,
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
}

/// Where documents are kept.
#[derive(Clone)]
pub struct DocumentStorage {
    store: Arc<dyn ObjectStore>,
    /// Bytes buffered per part before it is written: the memory an upload holds at most (twice,
    /// with one part in flight).
    part_size: usize,
    description: String,
}

impl std::fmt::Debug for DocumentStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

/// Parts of a local upload: small, the disk takes them as they come.
const LOCAL_PART_BYTES: usize = 1024 * 1024;
/// S3 refuses parts under 5 MiB but the last.
const S3_PART_BYTES: usize = 5 * 1024 * 1024;
/// Parts of one upload in flight at once.
const PARTS_IN_FLIGHT: usize = 2;

impl DocumentStorage {
    /// Opens the storage `settings` name; a local directory is created if missing.
    pub fn open(settings: &StorageSettings) -> Result<Self, StorageError> {
        match Location::parse(&settings.url)? {
            Location::Directory(dir) => {
                std::fs::create_dir_all(&dir).map_err(|e| {
                    StorageError::Settings(format!("cannot create {}: {e}", dir.display()))
                })?;
                let store = LocalFileSystem::new_with_prefix(&dir)?;
                Ok(Self {
                    store: Arc::new(store),
                    part_size: LOCAL_PART_BYTES,
                    description: format!("directory {}", dir.display()),
                })
            }
            Location::Bucket { bucket, prefix } => {
                // The HTTP client's TLS uses the process-wide ring provider, as the webhooks do.
                let _ = rustls::crypto::ring::default_provider().install_default();
                let mut builder = AmazonS3Builder::from_env().with_bucket_name(&bucket);
                if let Some(endpoint) = &settings.s3_endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                if let Some(region) = &settings.s3_region {
                    builder = builder.with_region(region);
                }
                if let (Some(id), Some(secret)) =
                    (&settings.s3_access_key_id, &settings.s3_secret_access_key)
                {
                    builder = builder
                        .with_access_key_id(id)
                        .with_secret_access_key(secret);
                }
                let store: Arc<dyn ObjectStore> = Arc::new(builder.build()?);
                let store = match prefix {
                    Some(prefix) => Arc::new(object_store::prefix::PrefixStore::new(
                        store,
                        Path::from(prefix.as_str()),
                    )) as Arc<dyn ObjectStore>,
                    None => store,
                };
                Ok(Self {
                    store,
                    part_size: S3_PART_BYTES,
                    description: format!("bucket {bucket}"),
                })
            }
        }
    }

    /// Starts writing a new object under `key`.
    pub async fn begin(&self, key: &str) -> Result<Upload, StorageError> {
        let path = Path::from(key);
        let upload = self.store.put_multipart(&path).await?;
        Ok(Upload {
            key: key.to_owned(),
            writer: WriteMultipart::new_with_chunk_size(upload, self.part_size),
            hasher: Sha256::new(),
            size: 0,
        })
    }

    /// The object's bytes, or those of `range`, as a stream.
    pub async fn read(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, Result<Bytes, StorageError>>, StorageError> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self.store.get_opts(&Path::from(key), options).await?;
        match result.payload {
            // A local file is read in large pieces: object_store's own stream reads 8 KiB at a
            // time, one blocking-pool hop each.
            GetResultPayload::File(file, _) => Ok(file_stream(file, result.range)),
            GetResultPayload::Stream(stream) => Ok(stream.map_err(StorageError::from).boxed()),
        }
    }

    /// Reads the whole object and answers its size and SHA-256 (hex), in constant memory.
    pub async fn digest(&self, key: &str) -> Result<(u64, String), StorageError> {
        let mut stream = self.read(key, None).await?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok((size, hex(&hasher.finalize())))
    }

    /// Copies an object inside the storage (server-side on S3).
    pub async fn copy(&self, from: &str, to: &str) -> Result<(), StorageError> {
        Ok(self.store.copy(&Path::from(from), &Path::from(to)).await?)
    }

    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every object, for the storage check.
    pub async fn list(&self) -> Result<Vec<StoredObject>, StorageError> {
        self.store
            .list(None)
            .map_ok(|meta| StoredObject {
                key: meta.location.to_string(),
                size: meta.size,
                last_modified: meta.last_modified,
            })
            .try_collect()
            .await
            .map_err(StorageError::from)
    }
}

/// Bytes a local file stream reads at once.
const FILE_READ_BYTES: usize = 1024 * 1024;

/// `range` of `file`, read on the blocking pool a megabyte at a time.
fn file_stream(
    file: std::fs::File,
    range: Range<u64>,
) -> BoxStream<'static, Result<Bytes, StorageError>> {
    let io = |e: std::io::Error| {
        StorageError::Backend(object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(e),
        })
    };
    futures_util::stream::try_unfold(
        (Some(file), range.start, range.end),
        move |(file, at, end)| async move {
            let Some(mut file) = file else {
                return Ok(None);
            };
            if at >= end {
                return Ok(None);
            }
            let want =
                usize::try_from(end - at).map_or(FILE_READ_BYTES, |n| n.min(FILE_READ_BYTES));
            let (file, chunk) = tokio::task::spawn_blocking(move || {
                use std::io::{Read, Seek, SeekFrom};
                file.seek(SeekFrom::Start(at))?;
                let mut buf = vec![0u8; want];
                let mut filled = 0;
                while filled < want {
                    match file.read(&mut buf[filled..])? {
                        0 => break,
                        n => filled += n,
                    }
                }
                buf.truncate(filled);
                Ok::<_, std::io::Error>((file, buf))
            })
            .await
            .map_err(|e| io(std::io::Error::other(e)))?
            .map_err(io)?;
            if chunk.is_empty() {
                return Err(io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file is shorter than its length",
                )));
            }
            let next = at + chunk.len() as u64;
            Ok(Some((Bytes::from(chunk), (Some(file), next, end))))
        },
    )
    .boxed()
}

/// An object being written: bytes go to the store part by part while they are counted and hashed.
/// Dropped without [`Upload::finish`], the parts are left for the backend to expire; call
/// [`Upload::abort`] to remove them at once.
pub struct Upload {
    key: String,
    writer: WriteMultipart,
    hasher: Sha256,
    size: u64,
}

impl Upload {
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends `chunk`, waiting while too many parts are in flight (the memory bound).
    pub async fn write(&mut self, chunk: Bytes) -> Result<(), StorageError> {
        self.writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        self.hasher.update(&chunk);
        self.size += chunk.len() as u64;
        self.writer.put(chunk);
        Ok(())
    }

    /// Completes the object; only then does it exist under its key.
    pub async fn finish(self) -> Result<WrittenObject, StorageError> {
        self.writer.finish().await?;
        Ok(WrittenObject {
            key: self.key,
            size: self.size,
            sha256: hex(&self.hasher.finalize()),
        })
    }

    /// Gives the upload up and removes what was written of it.
    pub async fn abort(self) {
        if let Err(e) = self.writer.abort().await {
            tracing::warn!(key = %self.key, error = %e, "an aborted upload was not cleaned up");
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A storage URL, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    Directory(PathBuf),
    Bucket {
        bucket: String,
        prefix: Option<String>,
    },
}

impl Location {
    fn parse(url: &str) -> Result<Self, StorageError> {
        if let Some(path) = url.strip_prefix("file://") {
            if path.is_empty() {
                return Err(StorageError::Settings(format!(
                    "`{url}` names no directory (e.g. file://./data/documents)"
                )));
            }
            Ok(Self::Directory(PathBuf::from(path)))
        } else if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = match rest.split_once('/') {
                Some((bucket, prefix)) => (bucket, Some(prefix.trim_matches('/'))),
                None => (rest, None),
            };
            if bucket.is_empty() {
                return Err(StorageError::Settings(format!(
                    "`{url}` names no bucket (e.g. s3://motcua-documents)"
                )));
            }
            Ok(Self::Bucket {
                bucket: bucket.to_owned(),
                prefix: prefix.filter(|p| !p.is_empty()).map(str::to_owned),
            })
        } else {
            Err(StorageError::Settings(format!(
                "`{url}` is neither file://DIRECTORY nor s3://BUCKET"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_urls_name_a_directory_or_a_bucket() {
        assert_eq!(
            Location::parse("file://./data/documents").unwrap(),
            Location::Directory(PathBuf::from("./data/documents"))
        );
        assert_eq!(
            Location::parse("file:///var/lib/motcua").unwrap(),
            Location::Directory(PathBuf::from("/var/lib/motcua"))
        );
        assert_eq!(
            Location::parse("s3://docs").unwrap(),
            Location::Bucket {
                bucket: "docs".into(),
                prefix: None
            }
        );
        assert_eq!(
            Location::parse("s3://docs/so-cong-thuong/").unwrap(),
            Location::Bucket {
                bucket: "docs".into(),
                prefix: Some("so-cong-thuong".into())
            }
        );
        for bad in ["", "file://", "s3://", "s3:///x", "http://x", "./data"] {
            assert!(Location::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_local_upload_is_hashed_and_read_back_and_an_aborted_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let storage = DocumentStorage::open(&StorageSettings::directory(dir.path())).unwrap();
        let mut upload = storage.begin("a/b/one").await.unwrap();
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        for chunk in data.chunks(65_536) {
            upload.write(Bytes::copy_from_slice(chunk)).await.unwrap();
        }
        let written = upload.finish().await.unwrap();
        assert_eq!(written.size, data.len() as u64);
        assert_eq!(written.sha256, hex(&Sha256::digest(&data)));
        assert_eq!(
            storage.digest("a/b/one").await.unwrap(),
            (written.size, written.sha256.clone())
        );
        let part: Vec<u8> = storage
            .read("a/b/one", Some(10..20))
            .await
            .unwrap()
            .try_collect::<Vec<Bytes>>()
            .await
            .unwrap()
            .concat();
        assert_eq!(part, data[10..20]);

        let mut aborted = storage.begin("a/b/two").await.unwrap();
        aborted
            .write(Bytes::from(vec![7u8; 2_500_000]))
            .await
            .unwrap();
        aborted.abort().await;
        let keys: Vec<String> = storage
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(keys, ["a/b/one"]);
        assert!(matches!(
            storage.digest("a/b/two").await,
            Err(StorageError::Missing(_))
        ));
    }
}

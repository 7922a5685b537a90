//! E-ARK SIP 2.2.0 packages: layout, METS, PREMIS, descriptive metadata, atomic publication.
//!
//! ```text
//! <OBJID>/                                  root folder named as mets/@OBJID (CSIPSTR1, CSIPSTR2)
//!   METS.xml                                package METS (CSIPSTR4)
//!   metadata/descriptive/catalog.xml        items keyed to catalog codes (schemas/dangan-catalog.xsd)
//!   metadata/descriptive/dc.xml             simple Dublin Core
//!   metadata/preservation/premis.xml        PREMIS 3.0
//!   representations/<rep>/METS.xml          one per representation (CSIPSTR12)
//!   representations/<rep>/data/…
//!   schemas/                                every XSD the package uses (CSIPSTR15)
//!   documentation/目录.csv, 说明文件.txt
//! ```
//!
//! A package is built in a staging folder beside its destination; every file written is read back and its
//! digest compared; only then is the staging folder renamed to its final name ([`crate::publish`]: locked, removed
//! on every error). A zip is written entry by entry straight from each file's source into a partial zip
//! beside its destination ([`zip_sink::ZipStream`]: `pack --zip` streams the masters in as they are made),
//! read back whole, then renamed. A killed run leaves a hidden `.<OBJID>.dangan-<run>.partial` that the next run in the
//! same folder removes, never a package that looks finished.

pub mod descriptive;
pub mod mets;
pub mod premis;
pub mod xml;
pub mod zip_sink;

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::catalog::Catalog;
use crate::context::Context;
use crate::fixity::digest::{Algorithm, Hashed, MultiHasher};
use crate::model::Item;
use crate::model::{Agent, Event, Identification};

/// The profile every dangan SIP declares (SIP2).
pub const SIP_PROFILE: &str = "https://earksip.dilcis.eu/profile/E-ARK-SIP-v2-2-0.xml";

/// Official schemas shipped in every package's `schemas/` folder (CSIPSTR15), embedded in the binary.
pub const OFFICIAL_SCHEMAS: &[(&str, &str)] = &[
    (
        "mets1_12.xsd",
        include_str!("../../schemas/official/mets1_12.xsd"),
    ),
    (
        "DILCISExtensionMETS.xsd",
        include_str!("../../schemas/official/DILCISExtensionMETS.xsd"),
    ),
    (
        "DILCISExtensionSIPMETS.xsd",
        include_str!("../../schemas/official/DILCISExtensionSIPMETS.xsd"),
    ),
    (
        "xlink.xsd",
        include_str!("../../schemas/official/xlink.xsd"),
    ),
    (
        "premis.xsd",
        include_str!("../../schemas/official/premis.xsd"),
    ),
    (
        "dangan-catalog.xsd",
        include_str!("../../schemas/dangan-catalog.xsd"),
    ),
];

/// Why a package could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} already exists; remove it or choose another --out or --id")]
    Exists(PathBuf),
    /// The destination is locked by another run, the disk is full, …: see [`crate::publish`].
    #[error(transparent)]
    Publish(#[from] crate::publish::PublishError),
    #[error("'{0}' cannot name a package: use letters, digits, '-', '_' and '.' only")]
    BadId(String),
    #[error("'{0}' is not a safe path inside a package")]
    BadPath(String),
    #[error("read-back check failed for {path}: wrote {expected}, read {actual}")]
    ReadBack {
        path: String,
        expected: String,
        actual: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PackageError + '_ {
    move |source| PackageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where a file's bytes come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A file that stays where it is (a user's input): copied.
    Path(PathBuf),
    Bytes(Vec<u8>),
    /// A file the caller made for this package and will not need again (normalization output): moved
    /// into the package when it is on the same file system, copied otherwise. Saves writing every master
    /// twice and the disk space of a second copy.
    Scratch(PathBuf),
    /// A copy of a source file the caller already made while scanning it (`dangan::scan`), with the digests
    /// computed from the source in that same read. Moved into the package; its read-back is checked
    /// against those digests, unless the caller already read the copy back and matched them (`verified`:
    /// a page read for its decode).
    Staged {
        path: PathBuf,
        /// The scan's digests: SHA-256 always, and every other algorithm the package records (SM3 with
        /// `--sm3`, SHA-512 for a bag).
        digests: Vec<(Algorithm, String)>,
        verified: bool,
    },
    /// Already written into the package's zip as it was made (`pack --zip` streams the TIFF masters,
    /// [`zip_sink::ZipStream`]), with its size and the digests of the bytes written.
    Streamed {
        size: u64,
        digests: Vec<(Algorithm, String)>,
    },
}

/// A content file to place in a representation.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub source: Source,
    /// Path under the representation's `data/` folder, `/`-separated.
    pub name: String,
    /// Original name as received (PREMIS originalName).
    pub original_name: Option<String>,
    pub identification: Option<Identification>,
    /// Index of the item in [`PackageSpec::items`] this file belongs to.
    pub item: Option<usize>,
    pub page: Option<u32>,
}

/// A representation: `original`, `preservation` or `access`.
#[derive(Debug, Clone)]
pub struct RepresentationSpec {
    pub name: String,
    pub files: Vec<SourceFile>,
}

/// Everything a SIP is made of.
#[derive(Debug, Clone)]
pub struct PackageSpec {
    /// mets/@OBJID and the root folder's name.
    pub objid: String,
    pub label: String,
    /// mets/@TYPE from the CSIP content-category vocabulary (CSIP2).
    pub content_category: String,
    /// The submitting organisation (SIP agent) and its identification code.
    pub submitter: String,
    pub submitter_id: Option<String>,
    pub items: Vec<Item>,
    pub representations: Vec<RepresentationSpec>,
    /// Files for `documentation/` (name, bytes).
    pub documentation: Vec<(String, Vec<u8>)>,
    /// Provenance gathered by the pipeline (PREMIS events).
    pub events: Vec<Event>,
    /// Agents besides dangan (tools used, operator, organisation).
    pub agents: Vec<Agent>,
    /// Also record SM3 (GB/T 32905) digests in PREMIS.
    pub sm3: bool,
}

/// A file as written into the package.
#[derive(Debug, Clone)]
pub struct WrittenFile {
    /// METS file ID.
    pub id: String,
    /// Path from the package root, `/`-separated.
    pub path: String,
    pub size: u64,
    pub sha256: String,
    pub sm3: Option<String>,
    /// Computed when the package is bagged (the bag's SHA-512 manifest), in the same pass as SHA-256.
    pub sha512: Option<String>,
    pub mime: String,
    pub identification: Option<Identification>,
    pub item: Option<usize>,
    pub page: Option<u32>,
    pub representation: Option<String>,
    pub original_name: Option<String>,
}

/// The form a package is published in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// A folder named by the OBJID.
    #[default]
    Folder,
    /// `<OBJID>.zip` holding that folder.
    Zip,
    /// A BagIt 1.0 bag named `<OBJID>` whose `data/<OBJID>/` is the package (RFC 8493).
    Bag,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct WrittenPackage {
    pub objid: String,
    pub path: PathBuf,
    pub files: usize,
    pub bytes: u64,
    /// Staged copies of source files ([`Source::Staged`]) read back from the staging folder and checked
    /// against the digests of their scan.
    pub read_back: usize,
    /// Bytes per representation (`original`, `preservation`, `access`), content files only.
    pub representation_bytes: Vec<(String, u64)>,
}

/// A package ID must be usable as a folder name everywhere and as mets/@OBJID.
pub fn check_id(id: &str) -> Result<(), PackageError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(PackageError::BadId(id.to_string()))
    }
}

/// A path written into a package: safe by the one path rule (`sip::path::safe_relative`, the rule every
/// reader applies) and already in its canonical form (no `a//b`, no `./`), so what is written is exactly
/// what the METS and the readers name.
pub(crate) fn safe_rel(p: &str) -> Result<(), PackageError> {
    match crate::sip::path::safe_relative(p) {
        Ok(canonical) if canonical == p => Ok(()),
        _ => Err(PackageError::BadPath(p.to_string())),
    }
}

/// Writes files into the staging folder, hashing as it goes.
struct Stager<'a> {
    root: PathBuf,
    ctx: &'a Context,
    /// Every digest the package records: SHA-256, SM3 when asked for, SHA-512 for a bag's manifests.
    algorithms: Vec<Algorithm>,
    written: Vec<WrittenFile>,
    /// Per written file: its digests came from reading the source, so the staged copy must be read
    /// back. A file moved in was hashed where it now lies; reading it again would prove nothing new.
    read_back: Vec<bool>,
    /// Make each staged file durable (`fsync`) before the package is published (a folder or a bag).
    sync: bool,
    /// A zip package: every file goes straight into it, in the order it is put, and nothing is written
    /// to a staging folder (the zip is read back and synced whole when it is finished).
    zip: Option<zip_sink::ZipStream>,
}

/// What staging one file produced.
struct Staged {
    hashed: Hashed,
    read_back: bool,
}

/// Hash `input` to its end with every algorithm, copying every chunk to `out` when given.
fn hash_stream(
    input: &mut impl Read,
    from: &Path,
    mut out: Option<(&mut fs::File, &Path)>,
    algorithms: &[Algorithm],
) -> Result<Hashed, PackageError> {
    // The fixity module's hasher: one pass for every digest the package records.
    let mut hasher = MultiHasher::new(algorithms);
    let mut size = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = input.read(&mut buf).map_err(io(from))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if let Some((o, to)) = out.as_mut() {
            o.write_all(&buf[..n]).map_err(io(to))?;
        }
        size += n as u64;
    }
    Ok(Hashed {
        size,
        digests: hasher.finalize(),
    })
}

/// Place one file at `root/rel`, computing every digest in the same pass. Independent of every other
/// file, so content is staged in parallel.
fn stage_one(
    root: &Path,
    rel: &str,
    source: &Source,
    algorithms: &[Algorithm],
    sync: bool,
) -> Result<Staged, PackageError> {
    let durable = |f: &fs::File, p: &Path| -> Result<(), PackageError> {
        if sync {
            f.sync_all().map_err(io(p))?;
        }
        Ok(())
    };
    safe_rel(rel)?;
    let dest = root.join(rel);
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).map_err(io(parent))?;
    }
    if let Source::Staged {
        path,
        digests,
        verified,
    } = source
    {
        if fs::rename(path, &dest).is_ok() {
            let f = fs::File::open(&dest).map_err(io(&dest))?;
            let size = f.metadata().map_err(io(&dest))?.len();
            // The rename must survive a crash before the package is published.
            durable(&f, &dest)?;
            // Every digest the package records must come from the scan's one read.
            let mut known = Vec::new();
            for &a in algorithms {
                let Some(v) = digests.iter().find(|(b, _)| *b == a) else {
                    return Err(PackageError::Io {
                        path: dest,
                        source: std::io::Error::other(format!(
                            "no {} digest was computed in the scan",
                            a.name()
                        )),
                    });
                };
                known.push(v.clone());
            }
            return Ok(Staged {
                hashed: Hashed {
                    size,
                    digests: known,
                },
                read_back: !verified,
            });
        }
        // Another file system: copy, and check the copy's digest against the scan's.
        let mut out = fs::File::create(&dest).map_err(io(&dest))?;
        let mut input = crate::fsutil::open_regular_io(path).map_err(io(path))?;
        let hashed = hash_stream(&mut input, path, Some((&mut out, &dest)), algorithms)?;
        durable(&out, &dest)?;
        let expected = digests
            .iter()
            .find(|(a, _)| *a == Algorithm::Sha256)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        let actual = hashed.get(Algorithm::Sha256).unwrap_or_default();
        if actual != expected {
            return Err(PackageError::ReadBack {
                path: rel.to_string(),
                expected: expected.to_string(),
                actual: actual.to_string(),
            });
        }
        return Ok(Staged {
            hashed,
            read_back: true,
        });
    }
    if let Source::Scratch(p) = source
        && fs::rename(p, &dest).is_ok()
    {
        let mut input = fs::File::open(&dest).map_err(io(&dest))?;
        let hashed = hash_stream(&mut input, &dest, None, algorithms)?;
        // The rename must survive a crash before the package is published.
        durable(&input, &dest)?;
        return Ok(Staged {
            hashed,
            read_back: false,
        });
    }
    let mut out = fs::File::create(&dest).map_err(io(&dest))?;
    let hashed = match source {
        Source::Bytes(b) => {
            out.write_all(b).map_err(io(&dest))?;
            hash_stream(&mut &b[..], &dest, None, algorithms)?
        }
        Source::Path(p) | Source::Scratch(p) | Source::Staged { path: p, .. } => {
            let mut input = crate::fsutil::open_regular_io(p).map_err(io(p))?;
            hash_stream(&mut input, p, Some((&mut out, &dest)), algorithms)?
        }
        // Its bytes exist only inside a zip being written: only a zip package can hold it.
        Source::Streamed { .. } => return Err(PackageError::BadPath(rel.to_string())),
    };
    durable(&out, &dest)?;
    Ok(Staged {
        hashed,
        read_back: true,
    })
}

/// The digests `algorithms` among `digests` computed earlier (the scan's, or those of a file written as it
/// was made): every digest the package records must be known.
fn known_digests(
    digests: &[(Algorithm, String)],
    algorithms: &[Algorithm],
    rel: &str,
) -> Result<Vec<(Algorithm, String)>, PackageError> {
    algorithms
        .iter()
        .map(|&a| {
            digests
                .iter()
                .find(|(b, _)| *b == a)
                .cloned()
                .ok_or_else(|| PackageError::Io {
                    path: PathBuf::from(rel),
                    source: std::io::Error::other(format!(
                        "no {} digest was computed when the file was made",
                        a.name()
                    )),
                })
        })
        .collect()
}

/// Put one file into a zip package at `rel`, computing every digest from the bytes as they go in (or
/// taking those already known). A staged copy not yet read back is checked against its scan's SHA-256 in
/// the same pass: that read is its read-back. The zip itself is read back when it is finished.
fn stage_zip(
    zip: &mut zip_sink::ZipStream,
    rel: &str,
    source: &Source,
    algorithms: &[Algorithm],
) -> Result<Staged, PackageError> {
    let hashed = match source {
        Source::Streamed { size, digests } => Hashed {
            size: *size,
            digests: known_digests(digests, algorithms, rel)?,
        },
        Source::Bytes(b) => {
            zip.add(rel, b)?;
            hash_stream(&mut &b[..], Path::new(rel), None, algorithms)?
        }
        Source::Staged {
            path,
            digests,
            verified,
        } => {
            let mut input = crate::fsutil::open_regular_io(path).map_err(io(path))?;
            let len = input.metadata().map_err(io(path))?.len();
            let known = known_digests(digests, algorithms, rel)?;
            if *verified {
                let size = zip.add_reader(rel, &mut input, path, len, |_| {})?;
                Hashed {
                    size,
                    digests: known,
                }
            } else {
                let mut h = MultiHasher::new(&[Algorithm::Sha256]);
                let size = zip.add_reader(rel, &mut input, path, len, |b| h.update(b))?;
                let actual = h.finalize().into_iter().next().map(|(_, v)| v);
                let expected = digests.iter().find(|(a, _)| *a == Algorithm::Sha256);
                if actual.as_deref() != expected.map(|(_, v)| v.as_str()) {
                    return Err(PackageError::ReadBack {
                        path: rel.to_string(),
                        expected: expected.map(|(_, v)| v.clone()).unwrap_or_default(),
                        actual: actual.unwrap_or_default(),
                    });
                }
                Hashed {
                    size,
                    digests: known,
                }
            }
        }
        Source::Path(p) | Source::Scratch(p) => {
            let mut input = crate::fsutil::open_regular_io(p).map_err(io(p))?;
            let len = input.metadata().map_err(io(p))?.len();
            let mut h = MultiHasher::new(algorithms);
            let size = zip.add_reader(rel, &mut input, p, len, |b| h.update(b))?;
            Hashed {
                size,
                digests: h.finalize(),
            }
        }
    };
    Ok(Staged {
        hashed,
        read_back: false,
    })
}

impl Stager<'_> {
    fn new_id(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.ctx.ids.next_uuid())
    }

    fn record(&mut self, rel: &str, mime: &str, s: Staged) -> WrittenFile {
        let get = |a: Algorithm| s.hashed.get(a).map(str::to_string);
        let file = WrittenFile {
            id: self.new_id("FILE"),
            path: rel.to_string(),
            size: s.hashed.size,
            sha256: get(Algorithm::Sha256).unwrap_or_default(),
            sm3: get(Algorithm::Sm3),
            sha512: get(Algorithm::Sha512),
            mime: mime.to_string(),
            identification: None,
            item: None,
            page: None,
            representation: None,
            original_name: None,
        };
        self.written.push(file.clone());
        self.read_back.push(s.read_back);
        file
    }

    /// Write bytes or copy a file to `rel`, computing every digest in the same pass.
    fn put(&mut self, rel: &str, source: &Source, mime: &str) -> Result<WrittenFile, PackageError> {
        let staged = match self.zip.as_mut() {
            Some(zip) => stage_zip(zip, rel, source, &self.algorithms)?,
            None => stage_one(&self.root, rel, source, &self.algorithms, self.sync)?,
        };
        Ok(self.record(rel, mime, staged))
    }

    /// [`Stager::put`] for many files, staged in parallel; IDs are given in input order afterwards so
    /// the package is the same whatever order the threads finished in.
    fn put_all(
        &mut self,
        files: &[(String, &Source, String)],
        progress: crate::Tick<'_>,
    ) -> Result<Vec<WrittenFile>, PackageError> {
        if self.zip.is_some() {
            // One zip file, written front to back.
            let mut out = Vec::with_capacity(files.len());
            for (rel, source, mime) in files {
                out.push(self.put(rel, source, mime)?);
                progress(1);
            }
            return Ok(out);
        }
        let staged: Vec<Staged> = files
            .par_iter()
            .map(|(rel, source, _)| {
                let s = stage_one(&self.root, rel, source, &self.algorithms, self.sync);
                progress(1);
                s
            })
            .collect::<Result<_, _>>()?;
        Ok(files
            .iter()
            .zip(staged)
            .map(|((rel, _, mime), s)| self.record(rel, mime, s))
            .collect())
    }

    /// Read every copied file back and compare its SHA-256 with what was computed while writing.
    fn verify(&self) -> Result<(), PackageError> {
        self.written
            .par_iter()
            .zip(self.read_back.par_iter())
            .filter(|(_, rb)| **rb)
            .try_for_each(|(f, _)| {
                let p = self.root.join(&f.path);
                let mut input = fs::File::open(&p).map_err(io(&p))?;
                let actual = hash_stream(&mut input, &p, None, &[Algorithm::Sha256])?;
                let actual = actual.get(Algorithm::Sha256).unwrap_or_default();
                if actual != f.sha256 {
                    return Err(PackageError::ReadBack {
                        path: f.path.clone(),
                        expected: f.sha256.clone(),
                        actual: actual.to_string(),
                    });
                }
                Ok(())
            })
    }

    /// Every file written, with its size and digests, for a bag's manifests (`pack --bag`).
    fn payload(&self, prefix: &str) -> Vec<(String, Hashed)> {
        self.written
            .iter()
            .map(|f| {
                let mut digests = vec![(Algorithm::Sha256, f.sha256.clone())];
                if let Some(v) = &f.sha512 {
                    digests.push((Algorithm::Sha512, v.clone()));
                }
                if let Some(v) = &f.sm3 {
                    digests.push((Algorithm::Sm3, v.clone()));
                }
                (
                    format!("{prefix}/{}", f.path),
                    Hashed {
                        size: f.size,
                        digests,
                    },
                )
            })
            .collect()
    }
}

fn mime_of(f: &SourceFile) -> String {
    f.identification
        .as_ref()
        .map(|i| i.mime.clone())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "application/octet-stream".into())
}

/// Every digest a package records of each file: SHA-256, SM3 (GB/T 32905) with `sm3`, SHA-512 for a bag's
/// manifests. Whoever makes a file for a package computes these while writing it.
pub fn recorded_algorithms(sm3: bool, form: Form) -> Vec<Algorithm> {
    let mut a = vec![Algorithm::Sha256];
    if sm3 {
        a.push(Algorithm::Sm3);
    }
    if form == Form::Bag {
        a.push(Algorithm::Sha512);
    }
    a
}

/// Write a SIP folder under `out_dir`, atomically: staged as `.<OBJID>.partial`, verified, renamed.
pub fn write_sip(
    spec: &PackageSpec,
    catalog: &Catalog,
    ctx: &Context,
    out_dir: &Path,
    form: Form,
) -> Result<WrittenPackage, PackageError> {
    write_sip_with_progress(spec, catalog, ctx, out_dir, form, &crate::no_tick)
}

/// [`write_sip`], telling `progress` as each content file is staged.
///
/// Published through [`crate::publish`]: the package ID is locked in `out_dir` for the whole run, the staging
/// folder is removed on every error, and a full disk is one [`crate::publish::PublishError::NoSpace`].
pub fn write_sip_with_progress(
    spec: &PackageSpec,
    catalog: &Catalog,
    ctx: &Context,
    out_dir: &Path,
    form: Form,
    progress: crate::Tick<'_>,
) -> Result<WrittenPackage, PackageError> {
    write_sip_inner(spec, catalog, ctx, out_dir, form, None, progress)
}

/// [`write_sip_with_progress`] of a zip package whose writing has begun: `zip` (made for
/// `<out_dir>/<OBJID>.zip`) already holds the files whose source is [`Source::Streamed`].
pub fn write_sip_streamed(
    spec: &PackageSpec,
    catalog: &Catalog,
    ctx: &Context,
    out_dir: &Path,
    zip: zip_sink::ZipStream,
    progress: crate::Tick<'_>,
) -> Result<WrittenPackage, PackageError> {
    write_sip_inner(spec, catalog, ctx, out_dir, Form::Zip, Some(zip), progress)
}

fn write_sip_inner(
    spec: &PackageSpec,
    catalog: &Catalog,
    ctx: &Context,
    out_dir: &Path,
    form: Form,
    zip: Option<zip_sink::ZipStream>,
    progress: crate::Tick<'_>,
) -> Result<WrittenPackage, PackageError> {
    // The staging folder or partial zip is gone by the time the error comes back (its guard dropped
    // inside).
    write_staged(spec, catalog, ctx, out_dir, form, zip, progress).map_err(|e| {
        if crate::publish::chain_is_no_space(&e) {
            PackageError::Publish(crate::publish::PublishError::NoSpace {
                dest: out_dir.join(&spec.objid),
            })
        } else {
            e
        }
    })
}

fn write_staged(
    spec: &PackageSpec,
    catalog: &Catalog,
    ctx: &Context,
    out_dir: &Path,
    form: Form,
    zip: Option<zip_sink::ZipStream>,
    progress: crate::Tick<'_>,
) -> Result<WrittenPackage, PackageError> {
    check_id(&spec.objid)?;
    fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let final_path = match form {
        Form::Folder | Form::Bag => out_dir.join(&spec.objid),
        Form::Zip => out_dir.join(format!("{}.zip", spec.objid)),
    };
    // Each locks the ID in out_dir (a second run fails here, naming the lock) and removes stale staging.
    let (staging, zip) = match (form, zip) {
        (Form::Zip, Some(zip)) => (None, Some(zip)),
        (Form::Zip, None) => (
            None,
            Some(zip_sink::ZipStream::create(&final_path, &spec.objid, ctx)?),
        ),
        (_, _) => {
            let staging = crate::publish::Staging::begin_dir(&out_dir.join(&spec.objid))?;
            if final_path.exists() {
                return Err(PackageError::Exists(final_path));
            }
            (Some(staging), None)
        }
    };
    let root = match &staging {
        Some(s) => {
            let root = s.path().join(&spec.objid);
            fs::create_dir_all(&root).map_err(io(&root))?;
            root
        }
        None => PathBuf::new(),
    };
    let mut st = Stager {
        root: root.clone(),
        ctx,
        algorithms: recorded_algorithms(spec.sm3, form),
        written: Vec::new(),
        read_back: Vec::new(),
        sync: form != Form::Zip,
        zip,
    };

    // Content first: everything else describes it.
    let mut planned = Vec::new();
    let mut described = Vec::new();
    for rep in &spec.representations {
        for f in &rep.files {
            safe_rel(&f.name)?;
            let rel = format!("representations/{}/data/{}", rep.name, f.name);
            planned.push((rel, &f.source, mime_of(f)));
            described.push((rep, f));
        }
    }
    // Staged copies the caller has not read back yet: the verify step below reads each of them.
    let staged_read_back = planned
        .iter()
        .filter(|(_, src, _)| {
            matches!(
                src,
                Source::Staged {
                    verified: false,
                    ..
                }
            )
        })
        .count();
    let ocr_summaries = descriptive::ocr_summaries(&planned); // issue 14 (ocr): before the move
    let mut content: Vec<WrittenFile> = st.put_all(&planned, progress)?;
    for (w, (rep, f)) in content.iter_mut().zip(described) {
        w.identification = f.identification.clone();
        w.item = f.item;
        w.page = f.page;
        w.representation = Some(rep.name.clone());
        w.original_name = f.original_name.clone();
    }
    let mut schemas = Vec::new();
    for (name, text) in OFFICIAL_SCHEMAS {
        schemas.push(st.put(
            &format!("schemas/{name}"),
            &Source::Bytes(text.as_bytes().to_vec()),
            "application/xml",
        )?);
    }
    let mut docs = Vec::new();
    for (name, bytes) in &spec.documentation {
        let mime = if name.ends_with(".csv") {
            "text/csv"
        } else {
            "text/plain"
        };
        docs.push(st.put(
            &format!("documentation/{name}"),
            &Source::Bytes(bytes.clone()),
            mime,
        )?);
    }

    let catalog_xml = descriptive::catalog_xml(spec, catalog, &content, &ocr_summaries);
    let catalog_file = st.put(
        "metadata/descriptive/catalog.xml",
        &Source::Bytes(catalog_xml.into_bytes()),
        "application/xml",
    )?;
    let dc_file = st.put(
        "metadata/descriptive/dc.xml",
        &Source::Bytes(descriptive::dc_xml(spec, ctx).into_bytes()),
        "application/xml",
    )?;
    let premis_xml = premis::premis_xml(spec, ctx, &content, true, "../../");
    let premis_file = st.put(
        "metadata/preservation/premis.xml",
        &Source::Bytes(premis_xml.into_bytes()),
        "application/xml",
    )?;

    let mut rep_mets = Vec::new();
    for rep in &spec.representations {
        let files: Vec<&WrittenFile> = content
            .iter()
            .filter(|f| f.representation.as_deref() == Some(rep.name.as_str()))
            .collect();
        // CSIPSTR13: representation-level metadata — the PREMIS of this representation's files.
        let owned: Vec<WrittenFile> = files.iter().map(|f| (*f).clone()).collect();
        let rep_premis = st.put(
            &format!(
                "representations/{}/metadata/preservation/premis.xml",
                rep.name
            ),
            &Source::Bytes(
                premis::premis_xml(spec, ctx, &owned, false, "../../../../").into_bytes(),
            ),
            "application/xml",
        )?;
        let text =
            mets::representation_mets(spec, catalog, ctx, &rep.name, &files, Some(&rep_premis));
        let w = st.put(
            &format!("representations/{}/METS.xml", rep.name),
            &Source::Bytes(text.into_bytes()),
            "application/xml",
        )?;
        rep_mets.push((rep.name.clone(), w));
    }
    let root_mets = mets::package_mets(
        spec,
        catalog,
        ctx,
        &mets::PackageParts {
            descriptive: vec![
                (catalog_file, "OTHER", Some("DANGAN-CATALOG")),
                (dc_file, "DC", None),
            ],
            preservation: vec![premis_file],
            documentation: docs,
            schemas,
            representations: rep_mets,
        },
    );
    st.put(
        "METS.xml",
        &Source::Bytes(root_mets.into_bytes()),
        "application/xml",
    )?;

    st.verify()?;
    let read_back = staged_read_back;
    let mut representation_bytes: Vec<(String, u64)> = Vec::new();
    for f in &content {
        let rep = f.representation.clone().unwrap_or_default();
        match representation_bytes.iter_mut().find(|(n, _)| *n == rep) {
            Some((_, b)) => *b += f.size,
            None => representation_bytes.push((rep, f.size)),
        }
    }
    let files = st.written.len();
    let bytes: u64 = st.written.iter().map(|f| f.size).sum();
    match (staging, st.zip.take()) {
        (_, Some(zip)) => {
            zip.finish()?;
        }
        (Some(staging), None) if form == Form::Folder => {
            staging.publish_from(&root)?;
        }
        (None, None) => {
            return Err(PackageError::Io {
                path: final_path,
                source: std::io::Error::other("no staging for the package"),
            });
        }
        (Some(staging), None) => {
            // The staging folder holds exactly `<OBJID>/`: it becomes the bag's `data/<OBJID>/` by renames
            // (via a hidden name, so an OBJID of `data` cannot collide), and the manifests come from the
            // digests computed while each file was written or scanned: the package is not read again.
            let aside = staging.path().join(".dangan-payload");
            fs::rename(&root, &aside).map_err(io(&root))?;
            let data = staging.path().join("data");
            fs::create_dir(&data).map_err(io(&data))?;
            fs::rename(&aside, data.join(&spec.objid)).map_err(io(&aside))?;
            let options = crate::fixity::bagit::BagOptions {
                algorithms: vec![Algorithm::Sha256, Algorithm::Sha512],
                info: vec![
                    ("External-Identifier".into(), spec.objid.clone()),
                    ("Source-Organization".into(), spec.submitter.clone()),
                ],
            };
            crate::fixity::bagit::bag_with_digests(
                staging.path(),
                &st.payload(&spec.objid),
                &options,
                ctx,
            )
            .map_err(|e| match e {
                // Kept as I/O so that a full disk is still recognised as one.
                crate::fixity::FixityError::Io { path, source } => {
                    PackageError::Io { path, source }
                }
                e => PackageError::Io {
                    path: final_path.clone(),
                    source: std::io::Error::other(e.to_string()),
                },
            })?;
            staging.publish()?;
        }
    }
    // A bag: the staging folder (copied by the bag writer) goes with its guard.
    Ok(WrittenPackage {
        objid: spec.objid.clone(),
        path: final_path,
        files,
        bytes,
        read_back,
        representation_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stager_digests_match_standard_vectors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = Context::fixed(jiff::Timestamp::UNIX_EPOCH, "t");
        let mut st = Stager {
            root: dir.path().to_path_buf(),
            ctx: &ctx,
            algorithms: vec![Algorithm::Sha256, Algorithm::Sm3, Algorithm::Sha512],
            written: Vec::new(),
            read_back: Vec::new(),
            sync: true,
            zip: None,
        };
        let f = st
            .put("a/abc.txt", &Source::Bytes(b"abc".to_vec()), "text/plain")
            .expect("put");
        // FIPS 180-2 and GB/T 32905-2016 appendix A example 1.
        assert_eq!(
            f.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            f.sm3.as_deref(),
            Some("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
        );
        // FIPS 180-2 appendix C.1: SHA-512 of "abc", from the same pass (a bag's manifest).
        assert_eq!(
            f.sha512.as_deref(),
            Some(
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
            )
        );
        assert_eq!(
            std::fs::read(dir.path().join("a/abc.txt")).expect("read"),
            b"abc"
        );
        st.verify().expect("read-back");
        std::fs::write(dir.path().join("a/abc.txt"), b"abd").expect("tamper");
        assert!(matches!(st.verify(), Err(PackageError::ReadBack { .. })));
    }

    #[test]
    fn unsafe_names_are_refused() {
        for bad in [
            "../x", "/x", "a//b", "a/./b", "a\\b", "", ".", "~/x", "C:/x", "a/../b",
        ] {
            assert!(safe_rel(bad).is_err(), "{bad}");
        }
        assert!(check_id("demo-sip_1.0").is_ok());
        for bad in ["", ".hidden", "a/b", "档案"] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
    }
}

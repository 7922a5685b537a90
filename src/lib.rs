//! # dangan (档案) — digitization and long-term preservation of archives
//!
//! `dangan` turns the output of paper digitization and born-digital records into long-term preservation
//! packages (E-ARK SIP 2.2.0 with METS, PREMIS 3.0 and descriptive XML keyed to a catalog), and keeps those
//! packages honest for decades with fixity verification.
//!
//! The library is organised along the pipeline; each module has its own error type and could become a
//! crate of its own. Dependencies flow one way: `model` and `context` know nothing of the others;
//! `catalog` knows the profile; the pipeline modules build on both; the binary only parses arguments and
//! renders results.
//!
//! ```text
//! batch dir + 目录 ──► intake ──► identify ──► characterize ──► qc ──► normalize ──► fixity ──► package
//! package ──► validate (CSIP rules + 四性检测)          package ──► verify (fixity, ledger, shards)
//! ```
//!
//! ## The catalog
//!
//! Every record is filed under a node of a catalog profile. The default profile, embedded in the binary, is
//! the Xinzhou targeted-poverty-alleviation catalog (忻州市精准扶贫档案整理目录) with its 229 numbered nodes:
//!
//! ```
//! use dangan::catalog::Catalog;
//!
//! let catalog = Catalog::embedded();
//! let node = catalog.resolve("县级1.3.6").unwrap();
//! assert_eq!(node.code, "X-1.3.6");
//! assert_eq!(catalog.path_names(&node.code), ["县级", "管理类", "精准施策类", node.name.as_str()]);
//! ```
//!
//! ## Archival reference codes (档号, DA/T 22-2015)
//!
//! ```
//! use dangan::catalog::Danghao;
//!
//! let dh: Danghao = "J001-WS·2019-Y-BGS-0001".parse().unwrap();
//! assert_eq!(dh.item, 1);
//! assert_eq!(dh.to_file_stem(), "J001-WS_2019-Y-BGS-0001");
//! assert_eq!(Danghao::from_file_stem("J001-WS_2019-Y-BGS-0001").unwrap(), dh);
//! ```
#![forbid(unsafe_code)]

pub mod buffers;
pub mod catalog;
pub mod context;
pub mod eep; // eep (issue 15): DA/T 48-2009 EEP packages
pub mod email;
pub mod fixity;
pub mod fsutil;
pub mod handler;
pub mod identify;
pub mod intake;
pub mod model;
pub mod normalize;
pub mod objstore;
pub mod ocr;
pub mod pack;
pub mod package;
pub mod par;
pub mod profile;
pub mod publish;
pub mod qc;
pub mod raster;
pub mod report;
pub mod scan;
pub mod sip;
pub mod tool;
pub mod validate;

/// Told how many units of work (pages, files) were just finished, from whichever thread finished them.
/// The library prints nothing; the binary turns these into a progress bar.
pub type Tick<'a> = &'a (dyn Fn(u64) + Sync);

/// A [`Tick`] for callers that do not show progress.
pub fn no_tick(_: u64) {}

/// The version of dangan, as recorded in packages and reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The name dangan records for itself as a software agent (METS, PREMIS, BagIt `Bag-Software-Agent`).
pub fn software_agent() -> String {
    format!("dangan {VERSION}")
}

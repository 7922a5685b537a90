//! ZIP and the ZIP-based office formats (OOXML): entry count and sizes from the central directory.
//!
//! APPNOTE.TXT §4.3.12. Nothing is inflated; the ratio of uncompressed to compressed size is reported so a
//! zip bomb is visible before anyone unpacks it.

use serde::Serialize;

use super::{Characterization, Handler, HandlerError, Limits, Source};
use crate::identify::{Family, Identified};

pub struct Zip;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZipInfo {
    pub entries: u64,
    pub files: u64,
    pub directories: u64,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    pub encrypted_entries: u64,
}

impl Handler for Zip {
    fn name(&self) -> &'static str {
        "zip"
    }
    fn summary(&self) -> &'static str {
        "ZIP/OOXML: entries, sizes, encryption from the central directory"
    }
    fn families(&self) -> &'static [Family] {
        &[Family::Zip]
    }
    fn characterize(
        &self,
        src: &mut Source,
        _id: &Identified,
        limits: &Limits,
    ) -> Result<Characterization, HandlerError> {
        let mut archive = super::ofd::open_zip(src, "ZIP", limits)?;
        let mut info = ZipInfo {
            entries: archive.len() as u64,
            files: 0,
            directories: 0,
            compressed_size: 0,
            uncompressed_size: 0,
            encrypted_entries: 0,
        };
        for i in 0..archive.len() {
            // by_index_raw reads the local header only; no data is inflated or decrypted.
            let e = archive
                .by_index_raw(i)
                .map_err(|e| HandlerError::malformed("ZIP", e.to_string()))?;
            if e.is_dir() {
                info.directories += 1;
            } else {
                info.files += 1;
            }
            info.compressed_size = info.compressed_size.saturating_add(e.compressed_size());
            info.uncompressed_size = info.uncompressed_size.saturating_add(e.size());
            if e.encrypted() {
                info.encrypted_entries += 1;
            }
        }
        Ok(Characterization {
            zip: Some(info),
            ..Default::default()
        })
    }
}

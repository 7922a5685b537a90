//! Video containers: MP4/MOV (ISO BMFF), Matroska/WebM and AVI, from their headers only.
//!
//! ISO/IEC 14496-12 (boxes `moov/mvhd`, `trak/tkhd`, `mdia/mdhd`, `hdlr`, `stsd`, `stts`); Apple QuickTime
//! File Format (same boxes, 1904 epoch); RFC 9559 Matroska (EBML elements of Info and Tracks, RFC 8794
//! variable-size integers); Microsoft AVI RIFF (`hdrl`: `avih`, `strl/strh`, `strf`).
//!
//! The ISO BMFF part walks the boxes itself rather than through the `mp4` crate: that crate knows five sample
//! entry types (avc1, hev1, vp09, mp4a, tx3g), so the codec of an MPEG-4 Part 2, ProRes or PCM track in a
//! MOV — common in digitization — would be lost, and it loads every sample table. Only `moov` is read here
//! (bounded by `Limits::max_alloc`).

use serde::Serialize;

use super::{Characterization, Handler, HandlerError, Limits, Source};
use crate::identify::{Family, Identified};

pub struct Video;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VideoInfo {
    pub container: String,
    pub duration_seconds: Option<f64>,
    pub video_codec: Option<String>,
    pub width: Option<u64>,
    pub height: Option<u64>,
    pub frame_rate: Option<f64>,
    pub audio_codec: Option<String>,
    pub audio_sample_rate: Option<u32>,
    pub audio_channels: Option<u32>,
    /// ISO 8601 UTC.
    pub creation_time: Option<String>,
    pub video_streams: u32,
    pub audio_streams: u32,
}

impl Handler for Video {
    fn name(&self) -> &'static str {
        "video"
    }
    fn summary(&self) -> &'static str {
        "MP4/MOV, Matroska/WebM, AVI: duration, codecs, size, frame rate, creation time"
    }
    fn families(&self) -> &'static [Family] {
        &[Family::Mp4, Family::Matroska, Family::Avi]
    }
    fn characterize(
        &self,
        src: &mut Source,
        id: &Identified,
        limits: &Limits,
    ) -> Result<Characterization, HandlerError> {
        let video = match id.family {
            // HEIF/AVIF still images never arrive here: identification names them by brand (family Heif).
            Family::Mp4 => bmff(src, limits, &id.key)?,
            Family::Matroska => matroska(src, limits, &id.key)?,
            _ => avi(src, limits)?,
        };
        Ok(Characterization {
            video: Some(video),
            ..Default::default()
        })
    }
}

pub(super) fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
pub(super) fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
pub(super) fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}
fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Seconds since the Unix epoch as ISO 8601 UTC.
fn iso_utc(unix: i64) -> Option<String> {
    jiff::Timestamp::from_second(unix)
        .ok()
        .map(|t| t.to_string())
}

/// ffprobe's codec name for an ISO BMFF / QuickTime sample entry or AVI FourCC.
pub fn fourcc_codec(cc: &[u8]) -> String {
    let s = String::from_utf8_lossy(cc).into_owned();
    match cc {
        b"avc1" | b"avc3" | b"H264" | b"h264" | b"X264" | b"x264" => "h264",
        b"hvc1" | b"hev1" | b"HEVC" | b"H265" => "hevc",
        b"mp4v" | b"FMP4" | b"XVID" | b"xvid" | b"DIVX" | b"DX50" | b"MP4V" => "mpeg4",
        b"MJPG" | b"mjpa" | b"jpeg" | b"AVDJ" => "mjpeg",
        b"mjp2" => "jpeg2000",
        b"vp08" => "vp8",
        b"vp09" => "vp9",
        b"av01" => "av1",
        b"FFV1" => "ffv1",
        b"apcn" | b"apch" | b"apcs" | b"apco" | b"ap4h" | b"ap4x" => "prores",
        b"mp2v" | b"xdvc" | b"MPG2" | b"mpg2" => "mpeg2video",
        b"dvsd" | b"dvcp" | b"dvpp" | b"dv5n" | b"dv5p" => "dvvideo",
        b"mp4a" => "aac",
        b"ac-3" => "ac3",
        b"ec-3" => "eac3",
        b".mp3" => "mp3",
        b"alac" => "alac",
        b"Opus" => "opus",
        b"fLaC" => "flac",
        b"sowt" => "pcm_s16le",
        b"twos" => "pcm_s16be",
        b"in24" => "pcm_s24be",
        b"ulaw" => "pcm_mulaw",
        b"alaw" => "pcm_alaw",
        _ => return s.trim().to_owned(),
    }
    .to_owned()
}

/// Child boxes of a box body: (type, body).
pub(super) fn boxes(b: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 8 <= b.len() {
        let Some(size32) = be32(b, at) else { break };
        let kind = &b[at + 4..at + 8];
        let (head, size) = match size32 {
            0 => (8, b.len() - at),
            1 => match be64(b, at + 8) {
                Some(s) if s <= (b.len() - at) as u64 => (16, s as usize),
                _ => break,
            },
            s => (8, s as usize),
        };
        if size < head || at + size > b.len() {
            break;
        }
        out.push((kind, &b[at + head..at + size]));
        at += size;
    }
    out
}

pub(super) fn child<'a>(b: &'a [u8], kind: &[u8]) -> Option<&'a [u8]> {
    boxes(b)
        .into_iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, v)| v)
}

/// Find `moov` among the top-level boxes (it may follow `mdat`) and return its body.
fn find_moov(src: &mut Source, limits: &Limits) -> Result<Vec<u8>, HandlerError> {
    const F: &str = "MP4";
    let mut at = 0u64;
    for _ in 0..10_000 {
        if at + 8 > src.len() {
            break;
        }
        let h = src.read_at(F, at, 8, limits)?;
        let size32 = be32(&h, 0).unwrap_or(0) as u64;
        let (head, size) = match size32 {
            0 => (8, src.len() - at),
            1 => (
                16,
                be64(&src.read_at(F, at + 8, 8, limits)?, 0).unwrap_or(0),
            ),
            s => (8, s),
        };
        if size < head {
            return Err(HandlerError::malformed(
                F,
                format!("box size {size} at offset {at}"),
            ));
        }
        if &h[4..8] == b"moov" {
            return src.read_at(F, at + head, size - head, limits);
        }
        at = at.saturating_add(size);
    }
    Err(HandlerError::malformed(F, "no 'moov' box"))
}

/// Motion JPEG 2000 (ISO/IEC 15444-3): the JPEG 2000 signature box, then `ftyp` with brand `mjp2`/`mj2s`.
pub(super) fn is_mj2(head: &[u8]) -> bool {
    let brand = if head.get(4..8) == Some(b"jP  ") {
        head.get(20..24)
    } else {
        head.get(8..12)
    };
    matches!(brand, Some(b"mjp2" | b"mj2s"))
}

/// ISO BMFF movies: MP4, MOV and Motion JPEG 2000 (whose boxes are those of ISO/IEC 14496-12).
pub(super) fn bmff(
    src: &mut Source,
    limits: &Limits,
    key: &str,
) -> Result<VideoInfo, HandlerError> {
    let head = src.read_upto(0, 24)?;
    let moov = find_moov(src, limits)?;
    let mut info = VideoInfo {
        container: if is_mj2(&head) {
            "mj2".into()
        } else if key == "mov" {
            "mov".into()
        } else {
            "mp4".into()
        },
        ..Default::default()
    };
    if let Some(mvhd) = child(&moov, b"mvhd") {
        // Version 0: 32-bit times and duration; version 1: 64-bit.
        let (created, timescale, duration) = if mvhd.first() == Some(&1) {
            (be64(mvhd, 4), be32(mvhd, 20), be64(mvhd, 24))
        } else {
            (
                be32(mvhd, 4).map(u64::from),
                be32(mvhd, 12),
                be32(mvhd, 16).map(u64::from),
            )
        };
        if let (Some(ts), Some(d)) = (timescale, duration)
            && ts > 0
        {
            info.duration_seconds = Some(d as f64 / ts as f64);
        }
        // Seconds since 1904-01-01T00:00:00Z (QuickTime epoch); 0 means not set.
        info.creation_time = created
            .filter(|&c| c > 0)
            .and_then(|c| iso_utc(c as i64 - 2_082_844_800));
    }
    for (kind, trak) in boxes(&moov) {
        if kind != b"trak" {
            continue;
        }
        let Some(mdia) = child(trak, b"mdia") else {
            continue;
        };
        let handler = child(mdia, b"hdlr")
            .and_then(|h| h.get(8..12))
            .unwrap_or_default();
        let (timescale, tduration) = match child(mdia, b"mdhd") {
            Some(m) if m.first() == Some(&1) => (be32(m, 20), be64(m, 24)),
            Some(m) => (be32(m, 12), be32(m, 16).map(u64::from)),
            None => (None, None),
        };
        let stbl = child(mdia, b"minf").and_then(|m| child(m, b"stbl"));
        // stsd: version/flags (4), entry count (4), then the first sample entry as a box.
        let entry = stbl
            .and_then(|s| child(s, b"stsd"))
            .and_then(|s| s.get(8..))
            .and_then(|e| boxes(e).into_iter().next());
        match handler {
            b"vide" => {
                info.video_streams += 1;
                if info.video_streams > 1 {
                    continue;
                }
                if let Some((cc, body)) = entry {
                    info.video_codec = Some(fourcc_codec(cc));
                    // VisualSampleEntry: 6 reserved + 2 dref + 16 pre-defined/reserved, then width, height.
                    info.width = be16(body, 24).map(u64::from);
                    info.height = be16(body, 26).map(u64::from);
                }
                // Frame rate from the decoding time-to-sample table: samples per unit of media time.
                if let (Some(stts), Some(ts)) = (stbl.and_then(|s| child(s, b"stts")), timescale) {
                    let n = be32(stts, 4).unwrap_or(0) as usize;
                    let (mut samples, mut ticks) = (0u64, 0u64);
                    for i in 0..n.min(stts.len() / 8) {
                        let c = be32(stts, 8 + i * 8).unwrap_or(0) as u64;
                        let d = be32(stts, 12 + i * 8).unwrap_or(0) as u64;
                        samples += c;
                        ticks += c * d;
                    }
                    if ticks > 0 {
                        info.frame_rate = Some(samples as f64 * ts as f64 / ticks as f64);
                    }
                }
                if info.duration_seconds.is_none()
                    && let (Some(ts), Some(d)) = (timescale, tduration)
                    && ts > 0
                {
                    info.duration_seconds = Some(d as f64 / ts as f64);
                }
            }
            b"soun" => {
                info.audio_streams += 1;
                if info.audio_streams > 1 {
                    continue;
                }
                if let Some((cc, body)) = entry {
                    info.audio_codec = Some(fourcc_codec(cc));
                    // AudioSampleEntry: 8 (reserved, dref) + 8 (version, revision, vendor), then channel
                    // count, sample size, compression id, packet size, sample rate (16.16).
                    info.audio_channels = be16(body, 16).map(u32::from);
                    let rate = be32(body, 24).map(|r| r >> 16).filter(|&r| r > 0);
                    info.audio_sample_rate = rate.or(timescale);
                }
            }
            _ => {}
        }
    }
    Ok(info)
}

/// Read an EBML variable-size integer at `at`: (value, length). `id` keeps the marker bit (element IDs).
fn vint(b: &[u8], at: usize, id: bool) -> Option<(u64, usize)> {
    let first = *b.get(at)?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 || at + len > b.len() {
        return None;
    }
    let mut v = if id {
        first as u64
    } else {
        (first as u64) & (0xFF >> len)
    };
    for i in 1..len {
        v = (v << 8) | b[at + i] as u64;
    }
    // All value bits set means "unknown size" (RFC 8794 §6.2).
    if !id && v == (1u64 << (7 * len)) - 1 {
        v = u64::MAX;
    }
    Some((v, len))
}

fn ebml_uint(b: &[u8]) -> u64 {
    b.iter().take(8).fold(0, |v, &x| (v << 8) | x as u64)
}

fn ebml_float(b: &[u8]) -> Option<f64> {
    match b.len() {
        4 => Some(f32::from_be_bytes(b.try_into().ok()?) as f64),
        8 => Some(f64::from_be_bytes(b.try_into().ok()?)),
        _ => None,
    }
}

/// Matroska codec IDs (RFC 9559 §5.1.4.1.21 and the Matroska codec registry) to ffprobe's names.
fn matroska_codec(id: &str, bit_depth: Option<u64>) -> String {
    match id {
        "V_MPEG4/ISO/AVC" => "h264".into(),
        "V_MPEGH/ISO/HEVC" => "hevc".into(),
        "V_VP8" => "vp8".into(),
        "V_VP9" => "vp9".into(),
        "V_AV1" => "av1".into(),
        "V_MPEG4/ISO/ASP" | "V_MPEG4/ISO/SP" | "V_MPEG4/ISO/AP" => "mpeg4".into(),
        "V_MPEG1" => "mpeg1video".into(),
        "V_MPEG2" => "mpeg2video".into(),
        "V_MJPEG" => "mjpeg".into(),
        "V_FFV1" => "ffv1".into(),
        "V_PRORES" => "prores".into(),
        "V_UNCOMPRESSED" => "rawvideo".into(),
        "A_AAC" => "aac".into(),
        "A_MPEG/L3" => "mp3".into(),
        "A_MPEG/L2" => "mp2".into(),
        "A_OPUS" => "opus".into(),
        "A_VORBIS" => "vorbis".into(),
        "A_FLAC" => "flac".into(),
        "A_AC3" => "ac3".into(),
        "A_EAC3" => "eac3".into(),
        "A_DTS" => "dts".into(),
        "A_ALAC" => "alac".into(),
        "A_PCM/INT/LIT" => format!("pcm_s{}le", bit_depth.unwrap_or(16)),
        "A_PCM/INT/BIG" => format!("pcm_s{}be", bit_depth.unwrap_or(16)),
        "A_PCM/FLOAT/IEEE" => format!("pcm_f{}le", bit_depth.unwrap_or(32)),
        other if other.starts_with("A_AAC") => "aac".into(),
        other => other.to_owned(),
    }
}

#[derive(Default)]
struct MkvTrack {
    kind: u64,
    codec: String,
    codec_private: Vec<u8>,
    default_duration: Option<u64>,
    width: Option<u64>,
    height: Option<u64>,
    rate: Option<f64>,
    channels: Option<u64>,
    bit_depth: Option<u64>,
}

/// How much of a Matroska file is read looking for Info and Tracks (they precede the clusters).
const MKV_HEAD: u64 = 4 << 20;

fn matroska(src: &mut Source, limits: &Limits, key: &str) -> Result<VideoInfo, HandlerError> {
    const F: &str = "Matroska";
    let b = src.read_upto(0, MKV_HEAD.min(limits.max_alloc))?;
    let mut timescale = 1_000_000u64;
    let mut duration = None;
    let mut date = None;
    let mut tracks: Vec<MkvTrack> = Vec::new();
    let mut saw_segment = false;
    // Element IDs whose children are walked; everything else is skipped by size.
    const MASTERS: &[u64] = &[
        0x18538067, // Segment
        0x1549A966, // Info
        0x1654AE6B, // Tracks
        0xAE,       // TrackEntry
        0xE0,       // Video
        0xE1,       // Audio
    ];
    let mut stack: Vec<usize> = vec![b.len()]; // end offsets of open masters
    let mut at = 0usize;
    let mut steps = 0u32;
    while at < b.len() {
        steps += 1;
        if steps > 1_000_000 {
            break;
        }
        while stack.last().is_some_and(|&end| at >= end) {
            stack.pop();
        }
        if stack.len() as u32 > limits.max_depth {
            return Err(HandlerError::LimitExceeded {
                what: "EBML nesting depth",
                value: stack.len() as u64,
                limit: limits.max_depth as u64,
            });
        }
        let Some((id, il)) = vint(&b, at, true) else {
            break;
        };
        let Some((size, sl)) = vint(&b, at + il, false) else {
            break;
        };
        let body = at + il + sl;
        if id == 0x1F43B675 {
            break; // Cluster: media data starts; Info and Tracks are behind us.
        }
        if id == 0x18538067 {
            saw_segment = true;
        }
        let end = if size == u64::MAX {
            *stack.last().unwrap_or(&b.len())
        } else {
            body.saturating_add(size as usize)
        };
        if MASTERS.contains(&id) {
            if id == 0xAE {
                tracks.push(MkvTrack::default());
            }
            stack.push(end.min(b.len()));
            at = body;
            continue;
        }
        let data = b.get(body..end.min(b.len())).unwrap_or_default();
        let track = tracks.last_mut();
        match id {
            0x2AD7B1 => timescale = ebml_uint(data),
            0x4489 => duration = ebml_float(data),
            0x4461 if data.len() == 8 => {
                // Nanoseconds since 2001-01-01T00:00:00 UTC (RFC 9559 §5.1.2.8).
                let ns = i64::from_be_bytes(data.try_into().unwrap_or([0; 8]));
                date = iso_utc(978_307_200 + ns.div_euclid(1_000_000_000));
            }
            0x83 => {
                if let Some(t) = track {
                    t.kind = ebml_uint(data)
                }
            }
            0x86 => {
                if let Some(t) = track {
                    t.codec = String::from_utf8_lossy(data)
                        .trim_end_matches('\0')
                        .to_owned()
                }
            }
            0x63A2 => {
                if let Some(t) = track {
                    t.codec_private = data.get(..40).unwrap_or(data).to_vec()
                }
            }
            0x23E383 => {
                if let Some(t) = track {
                    t.default_duration = Some(ebml_uint(data))
                }
            }
            0xB0 => {
                if let Some(t) = track {
                    t.width = Some(ebml_uint(data))
                }
            }
            0xBA => {
                if let Some(t) = track {
                    t.height = Some(ebml_uint(data))
                }
            }
            0xB5 => {
                if let Some(t) = track {
                    t.rate = ebml_float(data)
                }
            }
            0x9F => {
                if let Some(t) = track {
                    t.channels = Some(ebml_uint(data))
                }
            }
            0x6264 => {
                if let Some(t) = track {
                    t.bit_depth = Some(ebml_uint(data))
                }
            }
            _ => {}
        }
        if size == u64::MAX {
            return Err(HandlerError::malformed(
                F,
                format!("unknown size on non-master element {id:#x}"),
            ));
        }
        at = end;
    }
    if !saw_segment {
        return Err(HandlerError::malformed(F, "no Segment element"));
    }
    let mut info = VideoInfo {
        container: if key == "webm" {
            "webm".into()
        } else {
            "matroska".into()
        },
        duration_seconds: duration.map(|d| d * timescale as f64 / 1e9),
        creation_time: date,
        ..Default::default()
    };
    for t in &tracks {
        match t.kind {
            1 => {
                info.video_streams += 1;
                if info.video_streams == 1 {
                    let codec = if t.codec == "V_MS/VFW/FOURCC" && t.codec_private.len() >= 20 {
                        fourcc_codec(&t.codec_private[16..20])
                    } else {
                        matroska_codec(&t.codec, None)
                    };
                    info.video_codec = Some(codec);
                    info.width = t.width;
                    info.height = t.height;
                    info.frame_rate = t
                        .default_duration
                        .filter(|&d| d > 0)
                        .map(|d| 1e9 / d as f64);
                }
            }
            2 => {
                info.audio_streams += 1;
                if info.audio_streams == 1 {
                    info.audio_codec = Some(matroska_codec(&t.codec, t.bit_depth));
                    info.audio_sample_rate = t.rate.map(|r| r as u32);
                    info.audio_channels = t.channels.map(|c| c as u32);
                }
            }
            _ => {}
        }
    }
    Ok(info)
}

fn avi(src: &mut Source, limits: &Limits) -> Result<VideoInfo, HandlerError> {
    const F: &str = "AVI";
    let head = src.read_at(F, 0, 24, limits)?;
    if &head[..4] != b"RIFF"
        || &head[8..12] != b"AVI "
        || &head[12..16] != b"LIST"
        || &head[20..24] != b"hdrl"
    {
        return Err(HandlerError::malformed(
            F,
            "RIFF 'AVI ' must begin with LIST 'hdrl'",
        ));
    }
    let hdrl_len = le32(&head, 16).unwrap_or(0) as u64;
    let hdrl = src.read_at(F, 24, hdrl_len.saturating_sub(4), limits)?;
    let mut info = VideoInfo {
        container: "avi".into(),
        ..Default::default()
    };
    let chunks = |b: &[u8]| -> Vec<(Vec<u8>, std::ops::Range<usize>)> {
        let mut out = Vec::new();
        let mut at = 0usize;
        while at + 8 <= b.len() {
            let id = b[at..at + 4].to_vec();
            let size = le32(b, at + 4).unwrap_or(0) as usize;
            let end = (at + 8).saturating_add(size).min(b.len());
            out.push((id, at + 8..end));
            at = end + (size & 1);
        }
        out
    };
    let mut usec_per_frame = 0u32;
    let mut total_frames = 0u32;
    for (id, r) in chunks(&hdrl) {
        let body = &hdrl[r];
        if id == b"avih" {
            usec_per_frame = le32(body, 0).unwrap_or(0);
            total_frames = le32(body, 16).unwrap_or(0);
            info.width = le32(body, 32).map(u64::from);
            info.height = le32(body, 36).map(u64::from);
        }
        if id == b"LIST" && body.get(..4) == Some(b"strl") {
            let strl = &body[4..];
            let mut kind = Vec::new();
            let (mut scale, mut rate, mut length) = (0u32, 0u32, 0u32);
            for (sid, sr) in chunks(strl) {
                let s = &strl[sr];
                if sid == b"strh" {
                    kind = s.get(..4).unwrap_or_default().to_vec();
                    scale = le32(s, 20).unwrap_or(0);
                    rate = le32(s, 24).unwrap_or(0);
                    length = le32(s, 32).unwrap_or(0);
                }
                if sid == b"strf" {
                    if kind == b"vids" {
                        info.video_streams += 1;
                        if info.video_streams == 1 {
                            let cc = s.get(16..20).unwrap_or_default();
                            info.video_codec = Some(if cc == [0, 0, 0, 0] || cc == b"DIB " {
                                "rawvideo".into()
                            } else {
                                fourcc_codec(cc)
                            });
                            if scale > 0 && rate > 0 {
                                info.frame_rate = Some(rate as f64 / scale as f64);
                                info.duration_seconds =
                                    Some(length as f64 * scale as f64 / rate as f64);
                            }
                        }
                    } else if kind == b"auds" {
                        info.audio_streams += 1;
                        if info.audio_streams == 1 {
                            let tag = le16(s, 0).unwrap_or(0);
                            let bits = le16(s, 14).unwrap_or(0);
                            info.audio_codec = Some(match tag {
                                0x2000 => "ac3".into(),
                                0xFF | 0x1600 | 0x706D => "aac".into(),
                                t => super::audio::wave_codec(t, bits),
                            });
                            info.audio_channels = le16(s, 2).map(u32::from);
                            info.audio_sample_rate = le32(s, 4);
                        }
                    }
                }
            }
        }
    }
    if info.duration_seconds.is_none() && usec_per_frame > 0 {
        info.duration_seconds = Some(total_frames as f64 * usec_per_frame as f64 / 1e6);
        info.frame_rate = Some(1e6 / usec_per_frame as f64);
    }
    Ok(info)
}

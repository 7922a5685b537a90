//! Audio: WAV and Broadcast WAVE from their RIFF chunks; MP3, FLAC, AAC and M4A through symphonia's
//! demuxers (headers and packet boundaries only — no sample is decoded).
//!
//! RIFF/WAVE: Microsoft "Multimedia Programming Interface and Data Specifications 1.0" and
//! WAVEFORMATEXTENSIBLE; Broadcast WAVE: EBU Tech 3285 v2 (`bext` chunk layout, §2.3).

use serde::Serialize;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::jpeg::decode_text;
use super::{Characterization, Handler, HandlerError, Limits, ReadSeek, Source};
use crate::identify::{Family, Identified};

pub struct Wav;
pub struct Audio;

/// Broadcast WAVE `bext` fields (EBU Tech 3285 §2.3).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Bext {
    pub description: String,
    pub originator: String,
    pub originator_reference: String,
    pub origination_date: String,
    pub origination_time: String,
    /// Samples since midnight of the first sample.
    pub time_reference: u64,
    pub version: u16,
    pub umid: Option<String>,
    pub coding_history: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AudioInfo {
    pub container: String,
    /// Codec name as ffprobe spells it (`pcm_s16le`, `mp3`, `flac`, `aac`).
    pub codec: String,
    pub sample_rate: Option<u32>,
    pub channels: Option<u32>,
    pub bits_per_sample: Option<u32>,
    /// Samples per channel.
    pub frames: Option<u64>,
    pub duration_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bext: Option<Bext>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Handler for Wav {
    fn name(&self) -> &'static str {
        "wav"
    }
    fn summary(&self) -> &'static str {
        "WAV/BWF: codec, rate, depth, channels, duration, bext fields"
    }
    fn families(&self) -> &'static [Family] {
        &[Family::Wav]
    }
    fn characterize(
        &self,
        src: &mut Source,
        _id: &Identified,
        limits: &Limits,
    ) -> Result<Characterization, HandlerError> {
        Ok(Characterization {
            audio: Some(read_wav(src, limits)?),
            ..Default::default()
        })
    }
}

const W: &str = "WAV";

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// ffprobe's name for a WAVE format tag and sample size.
pub fn wave_codec(tag: u16, bits: u16) -> String {
    match (tag, bits) {
        (1, 8) => "pcm_u8".into(),
        (1, 16) => "pcm_s16le".into(),
        (1, 24) => "pcm_s24le".into(),
        (1, 32) => "pcm_s32le".into(),
        (3, 32) => "pcm_f32le".into(),
        (3, 64) => "pcm_f64le".into(),
        (2, _) => "adpcm_ms".into(),
        (6, _) => "pcm_alaw".into(),
        (7, _) => "pcm_mulaw".into(),
        (0x11, _) => "adpcm_ima_wav".into(),
        (0x50, _) => "mp2".into(),
        (0x55, _) => "mp3".into(),
        (t, _) => format!("wave_format_{t:#06x}"),
    }
}

pub fn read_wav(src: &mut Source, limits: &Limits) -> Result<AudioInfo, HandlerError> {
    let head = src.read_at(W, 0, 12, limits)?;
    if &head[..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        if &head[..4] == b"RF64" {
            return Err(HandlerError::unsupported(W, "RF64 (EBU Tech 3306)"));
        }
        return Err(HandlerError::malformed(W, "not a RIFF WAVE file"));
    }
    let mut at = 12u64;
    let mut fmt = None;
    let mut data_len = None;
    let mut bext = None;
    let mut notes = Vec::new();
    for _ in 0..10_000 {
        if at + 8 > src.len() {
            break;
        }
        let h = src.read_at(W, at, 8, limits)?;
        let size = le32(&h, 4) as u64;
        let body = at + 8;
        match &h[..4] {
            b"fmt " => {
                if size < 16 {
                    return Err(HandlerError::malformed(
                        W,
                        format!("'fmt ' chunk of {size} bytes"),
                    ));
                }
                let b = src.read_at(W, body, size.min(40), limits)?;
                let mut tag = le16(&b, 0);
                if tag == 0xFFFE && b.len() >= 26 {
                    // WAVEFORMATEXTENSIBLE: the first two bytes of the SubFormat GUID are the format tag.
                    tag = le16(&b, 24);
                }
                fmt = Some((
                    tag,
                    le16(&b, 2),
                    le32(&b, 4),
                    le32(&b, 8),
                    le16(&b, 12),
                    le16(&b, 14),
                ));
            }
            b"bext" => {
                let b = src.read_at(W, body, size.min(limits.max_alloc), limits)?;
                bext = Some(parse_bext(&b));
            }
            b"data" => {
                let avail = src.len() - body;
                if size > avail {
                    notes.push(format!(
                        "data chunk declares {size} bytes but only {avail} follow (truncated or streamed)"
                    ));
                }
                data_len = Some(size.min(avail));
                if fmt.is_some() {
                    break;
                }
            }
            _ => {}
        }
        at = body + size + (size & 1);
    }
    let (tag, channels, rate, byte_rate, block_align, bits) =
        fmt.ok_or_else(|| HandlerError::malformed(W, "no 'fmt ' chunk"))?;
    if channels == 0 || rate == 0 {
        return Err(HandlerError::malformed(
            W,
            format!("{channels} channels at {rate} Hz"),
        ));
    }
    let frames = match (data_len, block_align) {
        (Some(d), a) if a > 0 && matches!(tag, 1 | 3 | 6 | 7) => Some(d / a as u64),
        _ => None,
    };
    let duration = match (frames, data_len) {
        (Some(f), _) => Some(f as f64 / rate as f64),
        (None, Some(d)) if byte_rate > 0 => Some(d as f64 / byte_rate as f64),
        _ => None,
    };
    Ok(AudioInfo {
        container: if bext.is_some() {
            "bwf".into()
        } else {
            "wav".into()
        },
        codec: wave_codec(tag, bits),
        sample_rate: Some(rate),
        channels: Some(channels as u32),
        bits_per_sample: (bits > 0).then_some(bits as u32),
        frames,
        duration_seconds: duration,
        bext,
        notes,
    })
}

fn parse_bext(b: &[u8]) -> Bext {
    let text = |from: usize, len: usize| {
        b.get(from..(from + len).min(b.len()))
            .map(decode_text)
            .unwrap_or_default()
    };
    let u32_at = |at: usize| b.get(at..at + 4).map(|s| le32(s, 0)).unwrap_or(0);
    let umid = b
        .get(348..412)
        .filter(|u| u.iter().any(|&x| x != 0))
        .map(|u| {
            u.iter()
                .map(|x| format!("{x:02x}"))
                .collect::<String>()
                .trim_end_matches('0')
                .to_owned()
        });
    Bext {
        description: text(0, 256),
        originator: text(256, 32),
        originator_reference: text(288, 32),
        origination_date: text(320, 10),
        origination_time: text(330, 8),
        time_reference: u32_at(338) as u64 | ((u32_at(342) as u64) << 32),
        version: b.get(346..348).map(|s| le16(s, 0)).unwrap_or(0),
        umid,
        coding_history: b.get(602..).map(decode_text).unwrap_or_default(),
    }
}

/// A handler's reader as a symphonia media source.
struct Media {
    inner: Box<dyn ReadSeek>,
    len: u64,
}

impl std::io::Read for Media {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf)
    }
}
impl std::io::Seek for Media {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}
impl MediaSource for Media {
    fn is_seekable(&self) -> bool {
        true
    }
    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}

impl Handler for Audio {
    fn name(&self) -> &'static str {
        "audio"
    }
    fn summary(&self) -> &'static str {
        "MP3, FLAC, AAC, M4A: codec, rate, depth, channels, duration (symphonia demuxers)"
    }
    fn families(&self) -> &'static [Family] {
        &[Family::Audio]
    }
    fn characterize(
        &self,
        src: &mut Source,
        id: &Identified,
        _limits: &Limits,
    ) -> Result<Characterization, HandlerError> {
        Ok(Characterization {
            audio: Some(read_symphonia(src, &id.key)?),
            ..Default::default()
        })
    }
}

/// Check the sample tables of an ISO base media file before symphonia reads them: symphonia-format-isomp4
/// 0.5 allocates what a table's entry count says (a corrupt `stsc` asked for 26 GB and aborted the process,
/// which no panic guard can catch). A table whose entries cannot fit in its box is malformed input.
fn check_mp4_tables(src: &mut Source) -> Result<(), HandlerError> {
    const CONTAINERS: &[&[u8; 4]] = &[
        b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"mvex", b"moof", b"traf", b"udta",
    ];
    // (box type, bytes per entry, offset of the entry count after the 4-byte version/flags)
    const TABLES: &[(&[u8; 4], u64, u64)] = &[
        (b"stsc", 12, 0),
        (b"stts", 8, 0),
        (b"ctts", 8, 0),
        (b"stss", 4, 0),
        (b"stco", 4, 0),
        (b"co64", 8, 0),
        (b"stsz", 4, 4),
    ];
    let mut stack = vec![(0u64, src.len())];
    let mut boxes = 0u32;
    while let Some((mut at, end)) = stack.pop() {
        while at + 8 <= end {
            boxes += 1;
            if boxes > 100_000 {
                return Err(HandlerError::malformed("MP4", "more than 100,000 boxes"));
            }
            let h = src.read_upto(at, 16)?;
            if h.len() < 8 {
                break;
            }
            let size32 = u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
            let kind: [u8; 4] = [h[4], h[5], h[6], h[7]];
            let (size, header) = match size32 {
                0 => (end - at, 8),
                1 if h.len() >= 16 => (
                    u64::from_be_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]),
                    16,
                ),
                n => (n, 8),
            };
            if size < header || at + size > end {
                return Err(HandlerError::malformed(
                    "MP4",
                    format!(
                        "box '{}' at {at} overruns its parent",
                        String::from_utf8_lossy(&kind)
                    ),
                ));
            }
            let body = at + header;
            if CONTAINERS.iter().any(|c| **c == kind) {
                stack.push((at + size, end));
                stack.push((body, at + size));
                break;
            }
            if let Some((_, per, skip)) = TABLES.iter().find(|(t, _, _)| **t == kind) {
                let f = src.read_upto(body, 12 + skip)?;
                let i = (4 + skip) as usize;
                if f.len() >= i + 4 {
                    let count = u64::from(u32::from_be_bytes([f[i], f[i + 1], f[i + 2], f[i + 3]]));
                    // stsz with a constant sample size has no table.
                    let constant = kind == *b"stsz" && f[4..8] != [0, 0, 0, 0];
                    let room = size.saturating_sub(header + 8 + skip);
                    if !constant && count.saturating_mul(*per) > room {
                        return Err(HandlerError::malformed(
                            "MP4",
                            format!(
                                "'{}' declares {count} entries but its box holds {room} bytes",
                                String::from_utf8_lossy(&kind)
                            ),
                        ));
                    }
                }
            }
            at += size;
        }
    }
    Ok(())
}

pub fn read_symphonia(src: &mut Source, key: &str) -> Result<AudioInfo, HandlerError> {
    use std::io::Seek;
    if !matches!(key, "mp3" | "flac" | "aac-adts") {
        check_mp4_tables(src)?;
    }
    let format: &'static str = match key {
        "mp3" => "MP3",
        "flac" => "FLAC",
        "aac-adts" => "AAC",
        _ => "M4A",
    };
    src.seek(std::io::SeekFrom::Start(0))?;
    let len = src.len();
    let media = Media {
        inner: src.take_reader(),
        len,
    };
    let mss = MediaSourceStream::new(Box::new(media), Default::default());
    let mut hint = Hint::new();
    hint.with_extension(match key {
        "mp3" => "mp3",
        "flac" => "flac",
        "aac-adts" => "aac",
        _ => "m4a",
    });
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            mss,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| HandlerError::malformed(format, e.to_string()))?;
    let mut reader = probed.format;
    let track = reader
        .default_track()
        .ok_or_else(|| HandlerError::malformed(format, "no audio track"))?;
    let track_id = track.id;
    let p = track.codec_params.clone();
    let codec = symphonia::default::get_codecs()
        .get_codec(p.codec)
        .map(|d| d.short_name.to_owned())
        .unwrap_or_else(|| format!("{:?}", p.codec));
    let mut notes = Vec::new();
    let mut frames = p.n_frames;
    if frames.is_none() {
        // No frame count in the headers (raw ADTS, MP3 without a Xing/Info header): walk the packets.
        // This reads the file but decodes nothing.
        let mut total = 0u64;
        let mut packets = 0u64;
        loop {
            match reader.next_packet() {
                Ok(pkt) if pkt.track_id() == track_id => {
                    total += pkt.dur;
                    packets += 1;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        if packets > 0 {
            frames = Some(total);
            notes.push(format!("duration counted over {packets} packets"));
        }
    }
    let rate = p.sample_rate;
    let duration = match (frames, p.time_base, rate) {
        (Some(f), Some(tb), _) => {
            let t = tb.calc_time(f);
            Some(t.seconds as f64 + t.frac)
        }
        (Some(f), None, Some(r)) if r > 0 => Some(f as f64 / r as f64),
        _ => None,
    };
    Ok(AudioInfo {
        container: match key {
            "aac-adts" => "adts".into(),
            "m4a" | "mp4-audio" => "mp4".into(),
            k => k.into(),
        },
        codec,
        sample_rate: rate,
        channels: p.channels.map(|c| c.count() as u32),
        bits_per_sample: p.bits_per_sample,
        frames,
        duration_seconds: duration,
        bext: None,
        notes,
    })
}

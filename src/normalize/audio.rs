//! Audio preservation copies: MP3, AAC, FLAC, Ogg Vorbis → PCM WAV with the same sample rate and channels,
//! decoded in-process (symphonia → hound). DA/T 62-2017 names WAV as the audio master format.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, DecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::error::ActionError;

fn sym(e: SymError) -> ActionError {
    match e {
        SymError::IoError(io) => ActionError::Io(io),
        SymError::Unsupported(s) => ActionError::Unsupported(s.into()),
        other => ActionError::Malformed(other.to_string()),
    }
}

/// Decode `src` and write a WAV to `dst`. `bits`: 16 or 24; `None` keeps the source's depth where the
/// codec has one (FLAC, PCM) and uses 16 for lossy codecs. Returns the exact parameters used.
pub(crate) fn to_wav(
    src: &Path,
    dst: &Path,
    bits: Option<u16>,
) -> Result<BTreeMap<String, String>, ActionError> {
    let file = File::open(src)?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = src.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    // Gapless: trim the encoder delay and padding (LAME/iTunes tags), so the duration is the source's.
    let fmt_opts = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    let probed = symphonia::default::get_probe()
        .format(&hint, mss, &fmt_opts, &MetadataOptions::default())
        .map_err(sym)?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| ActionError::Malformed("no audio track".into()))?;
    let track_id = track.id;
    let params = track.codec_params.clone();
    let codec = symphonia::default::get_codecs()
        .get_codec(params.codec)
        .map(|d| d.short_name.to_string())
        .unwrap_or_else(|| "unknown".into());
    let out_bits = bits.unwrap_or(match params.bits_per_sample {
        Some(b) if b > 16 => 24,
        _ => 16,
    });
    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(sym)?;
    let mut writer: Option<hound::WavWriter<BufWriter<File>>> = None;
    let mut spec_seen = None;
    let mut frames: u64 = 0;
    let mut skipped_packets = 0u64;
    let mut samples: Option<SampleBuffer<i32>> = None;
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymError::ResetRequired) => break,
            Err(e) => return Err(sym(e)),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            // A damaged frame is skipped, as players do, and counted in the record.
            Err(SymError::DecodeError(_)) => {
                skipped_packets += 1;
                continue;
            }
            Err(e) => return Err(sym(e)),
        };
        let spec = *decoded.spec();
        if decoded.frames() == 0 {
            continue;
        }
        let channels = spec.channels.count() as u16;
        match spec_seen {
            None => {
                let wspec = hound::WavSpec {
                    channels,
                    sample_rate: spec.rate,
                    bits_per_sample: out_bits,
                    sample_format: hound::SampleFormat::Int,
                };
                writer =
                    Some(
                        hound::WavWriter::create(dst, wspec).map_err(|e| ActionError::Tool {
                            tool: "hound".into(),
                            message: e.to_string(),
                        })?,
                    );
                spec_seen = Some((spec.rate, channels));
            }
            Some(s) if s != (spec.rate, channels) => {
                return Err(ActionError::Unsupported(format!(
                    "the stream changes from {} Hz × {} to {} Hz × {} channels",
                    s.0, s.1, spec.rate, channels
                )));
            }
            Some(_) => {}
        }
        let buf = samples.get_or_insert_with(|| SampleBuffer::new(decoded.capacity() as u64, spec));
        if buf.capacity() < decoded.capacity() * spec.channels.count() {
            *buf = SampleBuffer::new(decoded.capacity() as u64, spec);
        }
        buf.copy_interleaved_ref(decoded);
        let Some(w) = writer.as_mut() else { continue };
        let shift = 32 - u32::from(out_bits);
        for &s in buf.samples() {
            // Full-scale i32 → the target depth, rounding to nearest without overflow.
            let v = (i64::from(s) + (1i64 << (shift - 1))) >> shift;
            let max = (1i64 << (out_bits - 1)) - 1;
            let v = v.min(max) as i32;
            w.write_sample(v).map_err(|e| ActionError::Tool {
                tool: "hound".into(),
                message: e.to_string(),
            })?;
        }
        frames += (buf.samples().len() / usize::from(channels.max(1))) as u64;
    }
    let (rate, channels) =
        spec_seen.ok_or_else(|| ActionError::Malformed("no audio decoded".into()))?;
    if let Some(w) = writer {
        w.finalize().map_err(|e| ActionError::Tool {
            tool: "hound".into(),
            message: e.to_string(),
        })?;
    }
    let mut p = BTreeMap::new();
    p.insert("codec".into(), codec);
    p.insert("sample_rate".into(), rate.to_string());
    p.insert("channels".into(), channels.to_string());
    p.insert("bits_per_sample".into(), out_bits.to_string());
    p.insert("sample_format".into(), "PCM signed integer".into());
    p.insert("frames".into(), frames.to_string());
    p.insert("gapless".into(), "true".into());
    if skipped_packets > 0 {
        p.insert(
            "undecodable_packets_skipped".into(),
            skipped_packets.to_string(),
        );
    }
    Ok(p)
}

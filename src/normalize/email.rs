//! E-mail normalization from the one message model ([`crate::email`]), the way mailbagit does it: for every
//! message of an EML, MBOX, Outlook MSG or PST
//! - the preservation form: RFC 5322 EML (an MBOX's messages byte for byte as stored; MSG/PST messages
//!   written from the model, see [`crate::email::write`]), a `NNNN.mapi.json` sidecar with the MAPI
//!   properties the EML does not carry, and for a PST one MBOX per folder (`mbox/<folder>.mbox`);
//! - attachments extracted as files (`NNNN.attachments/KK-name`), each identified and run through the
//!   policy again, linked to their message by their record;
//! - access forms: one self-contained HTML per message, and an index of all messages (`index.csv` with a
//!   BOM for Excel, `index.json`: folder, date, from, to, cc, subject, message-id, attachment names).
//!
//! ```text
//! input/box.pst ► preservation/box.pst.split/Inbox/0001.eml, 0001.mapi.json, 0001.attachments/01-a.pdf,
//!                 preservation/box.pst.split/mbox/Inbox.mbox;
//!                 access/box.pst.split/Inbox/0001.html, access/box.pst.split/index.csv, index.json
//! ```
//!
//! A container that cannot be read to its end leaves nothing behind: what was written for it is removed and
//! the record says why (nothing half-written).

use std::fs;
use std::io::Write as _;

use super::{
    ActionError, EventType, InputFile, Outcomes, Root, Rule, Run, ensure_parent, fail, rec, record,
    run_all,
};
use crate::email::{self, Attachment, Message, write};
use crate::handler::email::{MSG_MIME, PST_MIME, email_limits};

/// For catalog.xml (issue 17): each mail container's message count and date range, by its source path, as
/// the item's extra fields (`邮件数`, `最早邮件日期`, `最晚邮件日期`).
pub(crate) fn catalog_extra(
    records: &[super::Event],
) -> Vec<(String, std::collections::BTreeMap<String, String>)> {
    records
        .iter()
        .filter(|r| r.action.ends_with("-split") && r.outcome == crate::model::Outcome::Success)
        .filter_map(|r| {
            let src = r.sources.first()?.clone();
            let mut m = std::collections::BTreeMap::new();
            for (k, label) in [
                ("messages", "邮件数"),
                ("date_first", "最早邮件日期"),
                ("date_last", "最晚邮件日期"),
            ] {
                if let Some(v) = r.parameters.get(k) {
                    m.insert(label.to_string(), v.clone());
                }
            }
            Some((src, m))
        })
        .collect()
}

/// Safe, unique file names for a message's attachments (`01-name.ext`).
fn attachment_names(m: &Message) -> Vec<String> {
    m.attachments
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let mut base = a
                .name
                .as_deref()
                .map(email::safe_component)
                .unwrap_or_else(|| format!("attachment{}", email::extension_for(&a.mime)));
            if a.mime == "message/rfc822" && !base.to_ascii_lowercase().ends_with(".eml") {
                base.push_str(".eml");
            }
            format!("{:02}-{base}", i + 1)
        })
        .collect()
}

/// The e-mail limits of this run.
fn limits() -> email::Limits {
    email_limits(&crate::handler::Limits::default())
}

/// One EML file given as input: HTML and attachments (the original is the preservation form).
pub(super) fn message_file(
    run: &Run<'_>,
    rule: &Rule,
    src_rel: &str,
    raw: &[u8],
    html_out: Option<&str>,
    att_dir: Option<&str>,
    out: &mut Outcomes,
) {
    match email::eml::read(raw, &limits(), false) {
        Ok(m) => message(run, rule, src_rel, &m, html_out, att_dir, out),
        Err(e) => {
            let t = rec(
                run,
                EventType::Creation,
                "html",
                &rule.id,
                vec![src_rel.into()],
            );
            out.1.push(fail(t, e));
        }
    }
}

/// One message: its attachments as files (each run through the policy again) and its HTML rendering.
fn message(
    run: &Run<'_>,
    rule: &Rule,
    src_rel: &str,
    m: &Message,
    html_out: Option<&str>,
    att_dir: Option<&str>,
    out: &mut Outcomes,
) {
    let sources = vec![src_rel.to_string()];
    let names = attachment_names(m);
    let mut att_files = Vec::new();
    if let Some(dir) = att_dir {
        for (a, name) in m.attachments.iter().zip(&names) {
            let rel = format!("{dir}/{name}");
            let mut t = rec(
                run,
                EventType::Creation,
                "attachment",
                &rule.id,
                sources.clone(),
            );
            t.agents.push(record::crate_agent("mail-parser"));
            t.parameters.insert("mime".into(), a.mime.clone());
            if let Some(n) = &a.name {
                t.parameters.insert("name".into(), n.clone());
            }
            if let Some(c) = &a.content_id {
                t.parameters.insert("content_id".into(), c.clone());
            }
            t.parameters
                .insert("size".into(), a.bytes.len().to_string());
            let res = ensure_parent(run.out_root, &rel)
                .and_then(|p| fs::write(p, &a.bytes).map_err(ActionError::from));
            match res {
                Ok(()) => {
                    t.outputs.push(rel.clone());
                    out.1.push(t);
                    let identified = crate::identify::identify_bytes(&a.bytes, Some(name));
                    let id = identified.identification;
                    att_files.push(InputFile {
                        path: rel,
                        format: super::FormatKey::from_identification(&id),
                        family: identified.family,
                        basis: id.basis,
                        sha256: None,
                    });
                }
                Err(e) => out.1.push(fail(t, e)),
            }
        }
    }
    if let Some(o) = html_out {
        let mut t = rec(run, EventType::Creation, "html", &rule.id, sources.clone());
        t.agents.push(record::crate_agent("mail-parser"));
        t.parameters.insert(
            "charset".into(),
            "UTF-8 (bodies and headers decoded)".into(),
        );
        t.parameters
            .insert("inline_images".into(), "data: URIs".into());
        t.parameters.insert(
            "external_references".into(),
            "removed; CSP default-src 'none'".into(),
        );
        let html = render_html(m, &names);
        match ensure_parent(run.out_root, o)
            .and_then(|p| fs::write(p, html).map_err(ActionError::from))
        {
            Ok(()) => {
                t.outputs.push(o.into());
                out.1.push(t);
            }
            Err(e) => out.1.push(fail(t, e)),
        }
    }
    // Attachments go through the policy again (issue 5), once: an attachment's own attachments are kept
    // as files but not expanded further.
    if !att_files.is_empty() && run.depth == 0 {
        let sub = Run {
            in_root: run.out_root,
            out_root: run.out_root,
            opts: run.opts,
            now: run.now.clone(),
            files: &att_files,
            source_root: Root::Output,
            depth: run.depth + 1,
            pages: run.pages,
            verified: run.verified,
            page_digests: run.page_digests,
            written: run.written, // issue 12 (pack): digests of outputs made while writing
            ocr: run.ocr,
        };
        let (mut rp, mut rc, mut f) = run_all(&sub);
        out.0.append(&mut rp);
        out.1.append(&mut rc);
        out.2.append(&mut f);
    }
}

/// Where one message's files go: `<dir>/<folder>/NNNN`.
fn message_stem(dir: &str, folder: &str, n: usize) -> String {
    let mut p = dir.to_string();
    for c in folder.split('/').filter(|c| !c.is_empty()) {
        p.push('/');
        p.push_str(&email::safe_component(c));
    }
    format!("{p}/{n:04}")
}

/// Per-folder MBOX path of a PST folder (`<dir>/mbox/<folder>.mbox`).
fn folder_mbox(dir: &str, folder: &str) -> String {
    let parts: Vec<String> = folder
        .split('/')
        .filter(|c| !c.is_empty())
        .map(email::safe_component)
        .collect();
    let name = if parts.is_empty() {
        "_root".to_string()
    } else {
        parts.join("/")
    };
    format!("{dir}/mbox/{name}.mbox")
}

/// A path inside its representation (`preservation/a/b` → `a/b`), as the index shows it.
fn in_representation(p: &str) -> String {
    p.split_once('/').map_or(p, |(_, r)| r).to_string()
}

/// What one container's messages produced, written as they are read (memory holds one message).
struct Split<'a> {
    rule: &'a Rule,
    dir: &'a str,
    html_dir: Option<&'a str>,
    written: Vec<String>,
    rows: Vec<write::IndexRow>,
    per_folder_mbox: bool,
    /// Count and date range, for the split record and catalog.xml.
    summary: crate::handler::email::Summary,
}

impl Split<'_> {
    /// One message: its preservation forms (EML as received or written, sidecar, folder MBOX), then its
    /// access forms and attachments.
    fn add(
        &mut self,
        run: &Run<'_>,
        source: &str,
        m: Message,
        out: &mut Outcomes,
    ) -> Result<(), ActionError> {
        let n = self.rows.len() + 1;
        self.summary.add(&m);
        let stem = message_stem(self.dir, &m.folder, n);
        let rel = format!("{stem}.eml");
        let bytes = write::eml(&m);
        fs::write(ensure_parent(run.out_root, &rel)?, &bytes)?;
        self.written.push(rel.clone());
        if let Some(side) = write::sidecar(&m, source) {
            let s = format!("{stem}.mapi.json");
            fs::write(run.out_root.join(&s), side)?;
            self.written.push(s);
        }
        if self.per_folder_mbox {
            let mb = folder_mbox(self.dir, &m.folder);
            let mut buf = Vec::with_capacity(bytes.len() + 64);
            write::mbox_append(&mut buf, &m, &bytes);
            let mut f = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(ensure_parent(run.out_root, &mb)?)?;
            f.write_all(&buf)?;
            if !self.written.contains(&mb) {
                self.written.push(mb);
            }
        }
        drop(bytes);
        let html = self
            .html_dir
            .map(|d| message_stem(d, &m.folder, n) + ".html");
        self.rows.push(write::IndexRow::new(
            &m,
            in_representation(&rel),
            html.as_deref().map(in_representation).unwrap_or_default(),
        ));
        let sub = Run {
            source_root: Root::Output,
            in_root: run.out_root,
            out_root: run.out_root,
            opts: run.opts,
            now: run.now.clone(),
            files: run.files,
            depth: run.depth,
            pages: run.pages,
            verified: run.verified,
            page_digests: run.page_digests,
            written: run.written, // issue 12 (pack): digests of outputs made while writing
            ocr: run.ocr,
        };
        let att = format!("{stem}.attachments");
        message(&sub, self.rule, &rel, &m, html.as_deref(), Some(&att), out);
        Ok(())
    }
}

/// A mail container (MBOX, Outlook MSG, Outlook PST) → one EML per message and the rest (module docs).
pub(super) fn mailbox(
    run: &Run<'_>,
    rule: &Rule,
    f: &InputFile,
    src: &std::path::Path,
    dir: &str,
    html_dir: Option<&str>,
    out: &mut Outcomes,
) {
    let kind = match f.format.mime.as_str() {
        MSG_MIME => "msg",
        PST_MIME => "pst",
        _ => "mbox",
    };
    let mut t = rec(
        run,
        EventType::Normalization,
        &format!("{kind}-split"),
        &rule.id,
        vec![f.path.clone()],
    );
    t.agents.push(record::crate_agent(match kind {
        "msg" => "cfb",
        "pst" => "outlook-pst",
        _ => "mail-parser",
    }));
    let marks = (out.0.len(), out.1.len(), out.2.len());
    let mut split = Split {
        rule,
        dir,
        html_dir,
        written: Vec::new(),
        rows: Vec::new(),
        per_folder_mbox: kind == "pst",
        summary: Default::default(),
    };
    let limits = limits();
    let res: Result<(), ActionError> = (|| {
        let file = crate::fsutil::open_regular_io(src)?;
        let len = file.metadata()?.len();
        match kind {
            "msg" => {
                let m = email::msg::read(std::io::BufReader::new(file), &limits)
                    .map_err(|e| ActionError::Malformed(e.to_string()))?;
                split.add(run, &f.path, m, out)?;
            }
            "pst" => {
                let mut failed = None;
                let summary =
                    email::pst::read(std::io::BufReader::new(file), len, &limits, &mut |m| {
                        match split.add(run, &f.path, m, out) {
                            Ok(()) => true,
                            Err(e) => {
                                failed = Some(e);
                                false
                            }
                        }
                    })
                    .map_err(|e| ActionError::Malformed(e.to_string()))?;
                if let Some(e) = failed {
                    return Err(e);
                }
                t.parameters
                    .insert("folders".into(), summary.folders.len().to_string());
                if let Some(h) = &summary.header {
                    t.parameters.insert(
                        "pst".into(),
                        format!("{} (wVer {}), {}", h.kind, h.version, h.encoding),
                    );
                }
                for w in summary.warnings {
                    out.2.push(crate::model::Finding::new(
                        "MS-PST",
                        crate::model::Level::Warning,
                        Some(f.path.clone()),
                        format!("PST 读取提示: {w}"),
                        w,
                    ));
                }
            }
            _ => {
                let bytes = super::read_input(run, f, false).map_err(ActionError::from)?;
                let parts = email::mbox::split(&bytes).ok_or_else(|| {
                    ActionError::Malformed("does not start with a 'From ' line".into())
                })?;
                if parts.len() as u64 > limits.max_messages {
                    return Err(ActionError::Malformed(format!(
                        "{} messages, limit {}",
                        parts.len(),
                        limits.max_messages
                    )));
                }
                t.parameters.insert(
                    "from_quoting".into(),
                    "kept as stored: '>From ' lines are not unquoted (mboxo/mboxrd ambiguity); index.json holds the envelope lines and separators".into(),
                );
                let mut index = Vec::new();
                for (i, p) in parts.iter().enumerate() {
                    let raw = &bytes[p.message.clone()];
                    let mut m = email::eml::read(raw, &limits, false).unwrap_or_default();
                    // The EML is the stored bytes, parsable or not.
                    m.raw = Some(raw.to_vec());
                    split.add(run, &f.path, m, out)?;
                    index.push(serde_json::json!({
                        "eml": format!("{:04}.eml", i + 1),
                        "from_line": String::from_utf8_lossy(&bytes[p.from_line.clone()]),
                        "separator": String::from_utf8_lossy(&bytes[p.separator.clone()]),
                        "offset": p.from_line.start,
                    }));
                }
                let idx = serde_json::to_vec_pretty(&index).map_err(std::io::Error::other)?;
                let rel = format!("{dir}/index.json");
                fs::write(ensure_parent(run.out_root, &rel)?, idx)?;
                split.written.push(rel);
            }
        }
        Ok(())
    })();
    if let Err(e) = res {
        // Nothing half-written: remove what this container produced, and the records of it.
        let _ = fs::remove_dir_all(run.out_root.join(dir));
        if let Some(h) = html_dir {
            let _ = fs::remove_dir_all(run.out_root.join(h));
        }
        out.0.truncate(marks.0);
        out.1.truncate(marks.1);
        out.2.truncate(marks.2);
        out.1.push(fail(t, e));
        return;
    }
    t.parameters
        .insert("messages".into(), split.rows.len().to_string());
    let info = std::mem::take(&mut split.summary).finish();
    for (k, v) in [
        ("date_first", info.date_first),
        ("date_last", info.date_last),
    ] {
        if let Some(v) = v {
            t.parameters.insert(k.into(), v);
        }
    }
    t.outputs = split.written;
    // Before the records of its messages: those name its EMLs as their sources (packaging follows the
    // derivation chain in record order).
    out.1.insert(marks.1, t);
    // The index: an access form of the container as a whole.
    let index_dir = html_dir.unwrap_or(dir);
    let mut ti = rec(
        run,
        EventType::Creation,
        "email-index",
        &rule.id,
        vec![f.path.clone()],
    );
    ti.parameters.insert(
        "columns".into(),
        "folder, date, from, to, cc, subject, message_id, attachments, eml, html".into(),
    );
    ti.parameters
        .insert("csv".into(), "UTF-8 with BOM (Excel), RFC 4180".into());
    let res = write::index(&split.rows)
        .map_err(ActionError::from)
        .and_then(|(csv, json)| {
            let c = format!("{index_dir}/index.csv");
            let j = format!("{index_dir}/index.json");
            let (c, j) = if html_dir.is_none() {
                (
                    format!("{index_dir}/messages.csv"),
                    format!("{index_dir}/messages.json"),
                )
            } else {
                (c, j)
            };
            fs::write(ensure_parent(run.out_root, &c)?, csv)?;
            fs::write(run.out_root.join(&j), json)?;
            Ok(vec![c, j])
        });
    match res {
        Ok(o) => {
            ti.outputs = o;
            out.1.push(ti);
        }
        Err(e) => out.1.push(fail(ti, e)),
    }
}

pub(crate) fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

pub(crate) fn base64(b: &[u8]) -> String {
    crate::email::write::base64(b)
}

fn data_uri(a: &Attachment) -> String {
    format!("data:{};base64,{}", a.mime, base64(&a.bytes))
}

/// Remove what could run or load from elsewhere: scripts, frames, objects, `<link>`, and `src`/`background`
/// attributes that are not `data:`. The Content-Security-Policy of the page blocks anything left over.
fn defuse(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len());
    let mut i = 0;
    let drop_elems = ["script", "iframe", "object", "embed", "frame", "applet"];
    'outer: while i < html.len() {
        if html.as_bytes()[i] == b'<' {
            for e in drop_elems {
                let open = format!("<{e}");
                if lower[i..].starts_with(&open) {
                    let close = format!("</{e}>");
                    i = match lower[i..].find(&close) {
                        Some(p) => i + p + close.len(),
                        None => lower[i..].find('>').map_or(html.len(), |p| i + p + 1),
                    };
                    continue 'outer;
                }
            }
            if lower[i..].starts_with("<link") || lower[i..].starts_with("<meta") {
                i = lower[i..].find('>').map_or(html.len(), |p| i + p + 1);
                continue;
            }
        }
        let ch = html[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    // External references in attributes: keep the value visible to a reader, but inert.
    let mut s = out;
    for attr in ["src=", "background=", "srcset="] {
        for q in ["\"", "'"] {
            for scheme in ["http:", "https:", "//", "ftp:"] {
                s = replace_ci(
                    &s,
                    &format!("{attr}{q}{scheme}"),
                    &format!("data-dangan-blocked-{attr}{q}{scheme}"),
                );
            }
        }
    }
    s
}

fn replace_ci(s: &str, pat: &str, with: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let pat_l = pat.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (pos, _) in lower.match_indices(&pat_l) {
        out.push_str(&s[last..pos]);
        out.push_str(with);
        last = pos + pat.len();
    }
    out.push_str(&s[last..]);
    out
}

/// One self-contained HTML page: headers, body (decoded), inline images as `data:` URIs, a list of
/// attachments. No external references; a CSP forbids loading anything but `data:` images.
pub(crate) fn render_html(m: &Message, names: &[String]) -> String {
    let name_of = |i: usize| {
        names
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("attachment{}", i + 1))
    };
    let join = |v: &[String]| (!v.is_empty()).then(|| v.join(", "));
    let (from, to, cc) = (join(&m.from), join(&m.to), join(&m.cc));
    let mut h = String::new();
    let title = m.subject.as_deref().unwrap_or("(无主题 no subject)");
    h.push_str("<!DOCTYPE html>\n<html lang=\"zh\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\n");
    h.push_str(&format!("<title>{}</title>\n", escape(title)));
    h.push_str("<style>body{font-family:sans-serif;margin:2em}table.headers th{text-align:left;padding-right:1em;vertical-align:top}pre{white-space:pre-wrap}.body{border-top:1px solid #888;margin-top:1em;padding-top:1em}</style>\n</head>\n<body>\n<table class=\"headers\">\n");
    for (label, v) in [
        ("主题 Subject", &m.subject),
        (
            "文件夹 Folder",
            &(!m.folder.is_empty()).then(|| m.folder.clone()),
        ),
        ("发件人 From", &from),
        ("收件人 To", &to),
        ("抄送 Cc", &cc),
        ("日期 Date", &m.date),
        ("Message-ID", &m.message_id),
    ] {
        if let Some(v) = v {
            h.push_str(&format!(
                "<tr><th>{label}</th><td>{}</td></tr>\n",
                escape(v)
            ));
        }
    }
    h.push_str("</table>\n<div class=\"body\">\n");
    let mut shown_cids = Vec::new();
    match (&m.html, &m.text) {
        (Some(html), _) => {
            let mut body = defuse(html);
            for (i, a) in m.attachments.iter().enumerate() {
                if let Some(cid) = &a.content_id {
                    let cid = cid.trim_matches(|c| c == '<' || c == '>');
                    let pat = format!("cid:{cid}");
                    if replace_ci(&body, &pat, "").len() != body.len() {
                        body = replace_ci(&body, &pat, &data_uri(a));
                        shown_cids.push(i);
                    }
                }
            }
            h.push_str(&body);
        }
        (None, Some(text)) => h.push_str(&format!("<pre>{}</pre>\n", escape(text))),
        (None, None) => {}
    }
    h.push_str("\n</div>\n");
    // Images not referenced from the body are still shown, so the rendering is complete.
    for (i, a) in m.attachments.iter().enumerate() {
        if !a.mime.starts_with("image/") || shown_cids.contains(&i) {
            continue;
        }
        h.push_str(&format!(
            "<figure><img src=\"{}\" alt=\"{}\" style=\"max-width:100%\"><figcaption>{}</figcaption></figure>\n",
            data_uri(a),
            escape(&name_of(i)),
            escape(&name_of(i))
        ));
    }
    if !m.attachments.is_empty() {
        h.push_str("<h2>附件 Attachments</h2>\n<ul class=\"attachments\">\n");
        for (i, a) in m.attachments.iter().enumerate() {
            h.push_str(&format!(
                "<li>{} ({}, {} bytes)</li>\n",
                escape(a.name.as_deref().unwrap_or(&name_of(i))),
                escape(&a.mime),
                a.bytes.len()
            ));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</body>\n</html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defuse_removes_scripts_and_remote_sources() {
        let d = defuse("<p>x</p><SCRIPT>alert(1)</script><img src=\"http://e.com/a.png\">");
        assert!(!d.to_ascii_lowercase().contains("<script"));
        assert!(d.contains("data-dangan-blocked-src=\"http://"));
    }

    #[test]
    fn folder_paths_are_safe() {
        assert_eq!(
            message_stem("p/x.split", "Inbox/../a", 3),
            "p/x.split/Inbox/_/a/0003"
        );
        assert_eq!(folder_mbox("p", ""), "p/mbox/_root.mbox");
        assert_eq!(in_representation("preservation/a/b.eml"), "a/b.eml");
    }
}

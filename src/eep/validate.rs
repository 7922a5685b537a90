//! Checking EEP files: XML safety (the hardened reader: no DTD, no external entities), the embedded schema
//! (by `xmllint --nonet` when it is on PATH), the structure rule by rule in Rust (whether or not xmllint is
//! there), every 编码数据 decoded and held against 计算机文件大小, the recorded SHA-256 and the recorded
//! format, and the 电子签名 and 锁定签名 over the bytes 签名规则 names. The result is the 四性检测 report
//! of SIP validation ([`crate::validate::Report`]), one item per EEP.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use rayon::prelude::*;

use super::sign::{Algorithm, PublicKey};
use super::stream::Streamed;
use super::{NS, SCHEMA, SCHEMA_NAME, SCOPE_RULE, SUFFIX};
use crate::model::{Finding, Level, Property};
use crate::sip::xml::{self, Element};
use crate::validate::{CheckRun, ItemReport, Options, Report, ReportParts, Summary, ValidateError};

/// Whether a file name is an EEP's (`*.eep.xml`).
pub fn is_eep_name(name: &str) -> bool {
    name.len() > SUFFIX.len() && name.to_ascii_lowercase().ends_with(SUFFIX)
}

/// The EEP files a path names: the file itself, or the `*.eep.xml` files in a folder (and its
/// subfolders; staging names skipped). `None` when the path is neither.
pub fn eep_files(path: &Path) -> Option<Vec<PathBuf>> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    let name_ok = |p: &Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_eep_name)
    };
    if meta.is_file() {
        return name_ok(path).then(|| vec![path.to_path_buf()]);
    }
    if !meta.is_dir() || path.join("METS.xml").exists() {
        return None;
    }
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(path)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !crate::fsutil::is_staging_name(e.file_name()))
        .flatten()
        .filter(|e| e.file_type().is_file() && name_ok(e.path()))
        .map(|e| e.path().to_path_buf())
        .collect();
    out.sort();
    (!out.is_empty()).then_some(out)
}

fn finding(
    rule: &str,
    property: Property,
    level: Level,
    path: &str,
    zh: String,
    en: String,
) -> Finding {
    Finding::new(rule, level, Some(path.to_string()), zh, en).with_property(property)
}

/// What one 编码 held, as decoded.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// 编码ID
    pub id: String,
    /// 计算机文件名
    pub name: String,
    pub declared_size: Option<u64>,
    /// Bytes decoded; `None` when the Base64 did not decode.
    pub size: Option<u64>,
    /// SHA-256 recorded in a 附注, when there is one.
    pub declared_sha256: Option<String>,
    pub sha256: Option<String>,
}

/// The result of checking one EEP file.
#[derive(Debug, Clone)]
pub struct Checked {
    pub findings: Vec<Finding>,
    pub encodings: Vec<Decoded>,
    pub item: Option<ItemReport>,
    pub bytes: u64,
    pub signed: bool,
    pub schema_checked: bool,
}

/// Check one EEP file, in one streaming pass (flat memory) plus one read of each signed range.
pub fn check_file(path: &Path, xsd: bool) -> Checked {
    let shown = path.display().to_string();
    let mut c = Checked {
        findings: Vec::new(),
        encodings: Vec::new(),
        item: None,
        bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        signed: false,
        schema_checked: false,
    };
    // 1. XML safety and well-formedness: a DTD is refused (no XXE, no entity expansion).
    let streamed = match super::stream::stream(path) {
        Ok(s) => s,
        Err(super::stream::StreamError::Io(e)) => {
            c.findings.push(finding(
                "DA/T 70-2018 3.2",
                Property::Usability,
                Level::Error,
                &shown,
                format!("无法读取 EEP 文件: {e}"),
                format!("cannot read the EEP file: {e}"),
            ));
            return c;
        }
        Err(super::stream::StreamError::Xml(e)) => {
            c.findings.push(unreadable(&e, &shown));
            return c;
        }
    };
    // The skeleton (编码数据 left empty) goes through the hardened tree reader as well.
    let root = match xml::parse(&streamed.skeleton) {
        Ok(r) => r,
        Err(e) => {
            c.findings.push(unreadable(&e, &shown));
            return c;
        }
    };
    // 2. The embedded schema, by xmllint, over the skeleton (Base64 is checked by decoding, below).
    if xsd {
        c.schema_checked = schema_check(&streamed.skeleton, &shown, &mut c.findings);
    }
    check_tree(&root, &streamed, path, &shown, &mut c);
    c
}

fn unreadable(e: &xml::XmlError, path: &str) -> Finding {
    let (rule, prop) = match e {
        xml::XmlError::Doctype | xml::XmlError::Entity(_) => {
            ("DA/T 70-2018 4.3", Property::Security)
        }
        _ => ("DA/T 48-2009 XML", Property::Usability),
    };
    finding(
        rule,
        prop,
        Level::Error,
        path,
        format!("EEP 不可读取: {}", e.zh()),
        format!("the EEP cannot be read: {e}"),
    )
}

fn check_tree(root: &Element, streamed: &Streamed, file: &Path, path: &str, c: &mut Checked) {
    // 3. Structure, rule by rule.
    if root.ns != NS || root.name != "电子文件封装包" {
        c.findings.push(finding(
            "DA/T 48-2009 电子文件封装包",
            Property::Authenticity,
            Level::Error,
            path,
            format!(
                "根元素应为命名空间 {NS} 中的 电子文件封装包, 实为 {{{}}}{}",
                root.ns, root.name
            ),
            format!(
                "the root element must be 电子文件封装包 in {NS}, found {{{}}}{}",
                root.ns, root.name
            ),
        ));
        return;
    }
    order(
        root,
        &[
            "封装包格式描述",
            "版本",
            "被签名对象",
            "电子签名块",
            "锁定签名",
        ],
        &["封装包格式描述", "版本", "被签名对象"],
        path,
        &mut c.findings,
    );
    if let Some(v) = root.kid(NS, "版本")
        && v.text.trim() != "2009"
    {
        c.findings.push(finding(
            "DA/T 48-2009 版本",
            Property::Authenticity,
            Level::Error,
            path,
            format!("版本 应为 2009, 实为 '{}'", v.text.trim()),
            format!("版本 must be 2009, found '{}'", v.text.trim()),
        ));
    }
    let Some(signed) = root.kid(NS, "被签名对象") else {
        return;
    };
    let entities: Vec<&Element> = signed
        .descendants()
        .into_iter()
        .filter(|e| e.ns == NS && e.name == "文件实体")
        .collect();
    if entities.is_empty() {
        c.findings
            .push(missing(path, "被签名对象/封装内容/文件实体块/文件实体"));
    }
    let mut files = Vec::new();
    for entity in &entities {
        check_entity(entity, streamed, path, c, &mut files);
    }
    if let Some(first) = entities.first() {
        let text = |a: &str, b: &str| {
            first
                .kid(NS, a)
                .and_then(|e| e.kid(NS, b))
                .map(|e| e.text.trim().to_string())
                .unwrap_or_default()
        };
        c.item = Some(ItemReport {
            danghao: first
                .kid(NS, "电子文件号")
                .map(|e| e.text.trim().to_string())
                .unwrap_or_default(),
            title: text("内容描述", "题名"),
            catalog_code: text("内容描述", "分类号"),
            files,
            passed: true,
            findings: Vec::new(),
        });
    }
    // 4. Signatures over the bytes as they stand in the file.
    check_signatures(root, streamed, file, path, c);
}

fn missing(path: &str, what: &str) -> Finding {
    let name = what.rsplit('/').next().unwrap_or(what);
    finding(
        &format!("DA/T 48-2009 {name}"),
        Property::Integrity,
        Level::Error,
        path,
        format!("缺少必备元素 {what}"),
        format!("required element {what} is missing"),
    )
}

/// Children of `e` in the EEP namespace must come in `expected` order, and `required` must be there.
fn order(e: &Element, expected: &[&str], required: &[&str], path: &str, out: &mut Vec<Finding>) {
    for r in required {
        if e.kid(NS, r).is_none() {
            out.push(missing(path, &format!("{}/{r}", e.name)));
        }
    }
    let mut last = 0usize;
    for k in e.children.iter().filter(|k| k.ns == NS) {
        let Some(i) = expected.iter().position(|n| *n == k.name) else {
            continue;
        };
        if i < last {
            out.push(finding(
                &format!("DA/T 48-2009 {}", e.name),
                Property::Authenticity,
                Level::Error,
                path,
                format!(
                    "{} 的子元素顺序错误: {} (第 {} 行) 应在 {} 之前",
                    e.name, k.name, k.line, expected[last]
                ),
                format!(
                    "children of {} out of order: {} (line {}) must come before {}",
                    e.name, k.name, k.line, expected[last]
                ),
            ));
        }
        last = last.max(i);
    }
}

fn check_entity(
    entity: &Element,
    streamed: &Streamed,
    path: &str,
    c: &mut Checked,
    files: &mut Vec<String>,
) {
    order(
        entity,
        &[
            "聚合层次",
            "来源",
            "电子文件号",
            "档号",
            "内容描述",
            "形式特征",
            "存储位置",
            "权限管理",
            "信息系统描述",
            "附注",
            "文件数据",
        ],
        &[
            "聚合层次",
            "来源",
            "电子文件号",
            "档号",
            "内容描述",
            "形式特征",
            "存储位置",
            "文件数据",
        ],
        path,
        &mut c.findings,
    );
    // SHA-256 recorded per 编码 (dangan's 附注 convention: "SHA-256 <编码ID> <hex>").
    let digests: Vec<(String, String)> = entity
        .kids(NS, "附注")
        .filter_map(|n| {
            let rest = n.text.trim().strip_prefix(super::writer::DIGEST_NOTE)?;
            let (id, hex) = rest.split_once(' ')?;
            Some((id.to_string(), hex.trim().to_ascii_lowercase()))
        })
        .collect();
    let encodings: Vec<&Element> = entity
        .descendants()
        .into_iter()
        .filter(|e| e.ns == NS && e.name == "编码")
        .collect();
    if encodings.is_empty() {
        c.findings
            .push(missing(path, "文件数据/文档/文档数据/编码"));
    }
    let results: Vec<(Decoded, Vec<Finding>)> = encodings
        .par_iter()
        .map(|e| check_encoding(e, streamed, &digests, path))
        .collect();
    for (d, f) in results {
        files.push(d.name.clone());
        c.encodings.push(d);
        c.findings.extend(f);
    }
}

fn check_encoding(
    e: &Element,
    streamed: &Streamed,
    digests: &[(String, String)],
    path: &str,
) -> (Decoded, Vec<Finding>) {
    let mut out = Vec::new();
    let id = e.a("编码ID").unwrap_or("").to_string();
    order(
        e,
        &[
            "电子属性",
            "数字化属性",
            "编码描述",
            "反编码关键字",
            "编码数据",
        ],
        &["电子属性", "编码描述", "反编码关键字", "编码数据"],
        path,
        &mut out,
    );
    let props = e.kid(NS, "电子属性");
    let name = props
        .and_then(|p| p.kid(NS, "计算机文件名"))
        .map(|n| n.text.trim().to_string());
    let size_el = props.and_then(|p| p.kid(NS, "计算机文件大小"));
    if let Some(p) = props {
        order(
            p,
            &["格式信息", "计算机文件名", "计算机文件大小", "文档创建程序"],
            &["计算机文件名", "计算机文件大小"],
            path,
            &mut out,
        );
    }
    let label = name.clone().unwrap_or_else(|| id.clone());
    let declared_size = match size_el.map(|s| s.text.trim().parse::<u64>()) {
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            out.push(finding(
                "DA/T 46-2009 M49",
                Property::Authenticity,
                Level::Error,
                path,
                format!("编码 {id} ({label}): 计算机文件大小 不是字节数"),
                format!("编码 {id} ({label}): 计算机文件大小 is not a number of bytes"),
            ));
            None
        }
        None => None,
    };
    let declared_sha256 = digests
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, h)| h.clone());
    let mut d = Decoded {
        id: id.clone(),
        name: label.clone(),
        declared_size,
        size: None,
        declared_sha256: declared_sha256.clone(),
        sha256: None,
    };
    if e.kid(NS, "编码数据").is_none() {
        return (d, out);
    }
    // RFC 2045 §6.8: the alphabet, '=' padding, line breaks (any XML whitespace) ignored — decoded by the
    // streaming pass.
    let Some(data) = streamed.data.iter().find(|x| x.encoding_id == id) else {
        return (d, out);
    };
    if let Some(err) = &data.error {
        out.push(finding(
            "RFC 2045 §6.8",
            Property::Integrity,
            Level::Error,
            path,
            format!("编码 {id} ({label}): 编码数据 不是有效的 Base64: {err}"),
            format!("编码 {id} ({label}): 编码数据 is not valid Base64: {err}"),
        ));
        return (d, out);
    }
    d.size = Some(data.size);
    if let Some(n) = declared_size
        && n != data.size
    {
        out.push(finding(
            "DA/T 46-2009 M49",
            Property::Authenticity,
            Level::Error,
            path,
            format!(
                "编码 {id} ({label}): 反编码后为 {} 字节, 计算机文件大小 记录为 {n}",
                data.size
            ),
            format!(
                "编码 {id} ({label}): decodes to {} bytes, 计算机文件大小 says {n}",
                data.size
            ),
        ));
    }
    let sha = data.sha256.clone();
    if let Some(want) = &declared_sha256
        && *want != sha
    {
        out.push(finding(
            "DA/T 70-2018 1.1",
            Property::Authenticity,
            Level::Error,
            path,
            format!("编码 {id} ({label}): 反编码内容的 SHA-256 为 {sha}, 附注 记录为 {want}"),
            format!(
                "编码 {id} ({label}): decoded content has SHA-256 {sha}, the 附注 records {want}"
            ),
        ));
    }
    d.sha256 = Some(sha);
    // The format of the decoded content against 格式信息 (and DA/T 48's scope).
    let found = crate::identify::identify_bytes(&data.head, name.as_deref());
    if let Err(av) = super::in_scope(found.family) {
        out.push(finding(
            SCOPE_RULE,
            Property::Usability,
            if av { Level::Error } else { Level::Warning },
            path,
            format!(
                "编码 {id} ({label}): 内容为 {} ({:?}), 不在 DA/T 48-2009 范围 (文本文件和静态图像文件) 内",
                found.identification.format, found.family
            ),
            format!(
                "编码 {id} ({label}): the content is {} ({:?}), outside DA/T 48-2009's scope (text files and still images)",
                found.identification.format, found.family
            ),
        ));
    }
    let declared_puid = props
        .and_then(|p| p.kid(NS, "格式信息"))
        .and_then(|f| f.kid(NS, "注册ID"))
        .map(|p| p.text.trim().to_string());
    if let (Some(want), Some(got)) = (&declared_puid, &found.identification.puid)
        && want != got
    {
        out.push(finding(
            "DA/T 46-2009 M47",
            Property::Authenticity,
            Level::Warning,
            path,
            format!("编码 {id} ({label}): 格式信息 记录 {want}, 反编码内容识别为 {got}"),
            format!("编码 {id} ({label}): 格式信息 records {want}, the decoded content is {got}"),
        ));
    }
    (d, out)
}

fn sig_finding(rule: &str, path: &str, zh: String, en: String) -> Finding {
    finding(rule, Property::Authenticity, Level::Error, path, zh, en)
}

/// The fields of one signature element.
struct Sig<'a> {
    id: String,
    oid: String,
    value: Option<Vec<u8>>,
    cert: Option<Vec<u8>>,
    el: &'a Element,
}

fn read_sig(e: &Element) -> Sig<'_> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let text = |n: &str| e.kid(NS, n).map(|k| k.text.trim().to_string());
    let decode = |s: String| {
        let c: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        b64.decode(c).ok()
    };
    Sig {
        id: text("签名标识符").unwrap_or_default(),
        oid: text("签名算法标识").unwrap_or_default(),
        value: text("签名结果").and_then(decode),
        cert: e
            .kid(NS, "证书块")
            .and_then(|b| b.kid(NS, "证书"))
            .map(|c| c.text.clone())
            .and_then(decode),
        el: e,
    }
}

/// Verify `sig` over the bytes `range` of `file`; a finding naming `rule` when it fails.
fn verify_sig(
    sig: &Sig<'_>,
    file: &Path,
    range: (u64, u64),
    rule: &str,
    path: &str,
) -> Option<Finding> {
    let what = format!("{} (第 {} 行)", sig.id, sig.el.line);
    let what_en = format!("{} (line {})", sig.id, sig.el.line);
    let Some(alg) = Algorithm::from_oid(&sig.oid) else {
        return Some(sig_finding(
            rule,
            path,
            format!(
                "{rule} {what}: 签名算法标识 '{}' 不受支持 (支持 {} SM2-SM3, {} RSA-SHA256), 无法验证",
                sig.oid,
                super::sign::OID_SM2_SM3,
                super::sign::OID_RSA_SHA256
            ),
            format!(
                "{rule} {what_en}: 签名算法标识 '{}' is not supported ({} SM2-SM3, {} RSA-SHA256); cannot verify",
                sig.oid,
                super::sign::OID_SM2_SM3,
                super::sign::OID_RSA_SHA256
            ),
        ));
    };
    let key = match sig.cert.as_deref().map(PublicKey::from_der) {
        Some(Ok(k)) => k,
        Some(Err(e)) => {
            return Some(sig_finding(
                rule,
                path,
                format!("{rule} {what}: 证书 无法读取: {e}"),
                format!("{rule} {what_en}: 证书 cannot be read: {e}"),
            ));
        }
        None => {
            return Some(sig_finding(
                rule,
                path,
                format!("{rule} {what}: 缺少 证书块/证书, 无法验证"),
                format!("{rule} {what_en}: no 证书块/证书; cannot verify"),
            ));
        }
    };
    if key.algorithm() != alg {
        return Some(sig_finding(
            rule,
            path,
            format!("{rule} {what}: 证书 的密钥与 签名算法标识 {} 不符", sig.oid),
            format!(
                "{rule} {what_en}: the 证书 key does not match 签名算法标识 {}",
                sig.oid
            ),
        ));
    }
    let Some(value) = &sig.value else {
        return Some(sig_finding(
            rule,
            path,
            format!("{rule} {what}: 签名结果 缺失或不是 Base64"),
            format!("{rule} {what_en}: 签名结果 is missing or not Base64"),
        ));
    };
    let mut h = key.hasher();
    if let Err(e) = super::stream::hash_range(file, range, &mut h) {
        return Some(sig_finding(
            rule,
            path,
            format!("{rule} {what}: 无法读取所签字节: {e}"),
            format!("{rule} {what_en}: the signed bytes cannot be read: {e}"),
        ));
    }
    match key.verify(h, value) {
        Ok(()) => None,
        Err(e) => Some(sig_finding(
            rule,
            path,
            format!("{rule} {what}: 签名验证失败 ({e}): 所签字节已被改动, 或签名不属于该证书"),
            format!(
                "{rule} {what_en}: the signature does not verify ({e}): the signed bytes were changed, or the signature is not the certificate's"
            ),
        )),
    }
}

fn check_signatures(root: &Element, streamed: &Streamed, file: &Path, path: &str, c: &mut Checked) {
    const SIG_RULE: &str = "DA/T 48-2009 电子签名";
    const LOCK_RULE: &str = "DA/T 48-2009 锁定签名";
    let sigs: Vec<Sig<'_>> = root
        .kid(NS, "电子签名块")
        .map(|b| b.kids(NS, "电子签名").map(read_sig).collect())
        .unwrap_or_default();
    if sigs.is_empty() {
        c.findings.push(finding(
            SIG_RULE,
            Property::Authenticity,
            Level::Warning,
            path,
            "EEP 未签名: 没有 电子签名, 真实性只能由 附注 中的 SHA-256 核对".into(),
            "the EEP is unsigned: no 电子签名; authenticity rests on the SHA-256 values in 附注 alone"
                .into(),
        ));
        return;
    }
    c.signed = true;
    // The signed bytes of 被签名对象: the outermost one (a 修改型 package nests the original inside).
    let Some(signed) = streamed.signed.filter(|(s, e)| e > s) else {
        c.findings.push(sig_finding(
            SIG_RULE,
            path,
            "找不到 被签名对象 的字节范围".into(),
            "the bytes of 被签名对象 cannot be found".into(),
        ));
        return;
    };
    for s in &sigs {
        c.findings
            .extend(verify_sig(s, file, signed, SIG_RULE, path));
    }
    // 锁定签名: over the bytes of the 电子签名 it names.
    let Some(lock) = root.kid(NS, "锁定签名") else {
        c.findings.push(finding(
            LOCK_RULE,
            Property::Authenticity,
            Level::Warning,
            path,
            "电子签名 没有 锁定签名".into(),
            "the 电子签名 has no 锁定签名".into(),
        ));
        return;
    };
    let target = lock
        .kid(NS, "被锁定签名标识符")
        .map(|t| t.text.trim().to_string())
        .unwrap_or_default();
    let sig_ranges = &streamed.signatures;
    let range = sig_ranges.iter().zip(&sigs).find(|(_, s)| s.id == target);
    let Some((&locked, _)) = range.filter(|_| sig_ranges.len() == sigs.len()) else {
        c.findings.push(sig_finding(
            LOCK_RULE,
            path,
            format!("被锁定签名标识符 '{target}' 不指向任何 电子签名"),
            format!("被锁定签名标识符 '{target}' names no 电子签名"),
        ));
        return;
    };
    let lock_sig = read_sig(lock);
    c.findings
        .extend(verify_sig(&lock_sig, file, locked, LOCK_RULE, path));
}

/// The embedded schema written to a private temporary file, removed on drop.
struct SchemaFile(PathBuf);

impl SchemaFile {
    fn new() -> std::io::Result<SchemaFile> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("dangan-eep-xsd-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(SCHEMA_NAME), SCHEMA)?;
        Ok(SchemaFile(dir))
    }
}

impl Drop for SchemaFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Schema validity by xmllint; `false` when it could not run (no xmllint on PATH). It is given the
/// skeleton (编码数据 emptied, line breaks kept), so memory stays flat; the Base64 itself is judged by RFC 2045
/// decoding, which is stricter than libxml2 (it skips characters outside the alphabet).
fn schema_check(bytes: &[u8], path: &str, out: &mut Vec<Finding>) -> bool {
    let Some(lint) = crate::tool::xmllint() else {
        return false;
    };
    let Ok(dir) = SchemaFile::new() else {
        return false;
    };
    if let Err(why) = crate::validate::xmllint_schema(&lint, &dir.0.join(SCHEMA_NAME), bytes) {
        out.push(finding(
            "DA/T 48-2009 XSD",
            Property::Authenticity,
            Level::Error,
            path,
            format!("不符合模式 {SCHEMA_NAME}: {why}"),
            format!("not valid against {SCHEMA_NAME}: {why}"),
        ));
    }
    true
}

/// Validate one EEP file or a folder of them into one 四性检测 report (one item per EEP). `Ok(None)`
/// when the path holds no EEP.
pub fn validate_path(path: &Path, options: &Options) -> Result<Option<Report>, ValidateError> {
    let Some(files) = eep_files(path) else {
        return Ok(None);
    };
    let checked: Vec<(PathBuf, Checked)> = files
        .par_iter()
        .map(|f| (f.clone(), check_file(f, options.xsd)))
        .collect();
    let mut findings = Vec::new();
    let mut items = Vec::new();
    let mut bytes = 0;
    let mut schema_checked = 0;
    for (f, c) in checked {
        bytes += c.bytes;
        schema_checked += c.schema_checked as usize;
        let first = findings.len();
        findings.extend(c.findings);
        let idx: Vec<usize> = (first..findings.len()).collect();
        let mut item = c.item.unwrap_or_else(|| ItemReport {
            danghao: String::new(),
            title: String::new(),
            catalog_code: String::new(),
            files: Vec::new(),
            passed: true,
            findings: Vec::new(),
        });
        if item.danghao.is_empty() {
            item.danghao = f.display().to_string();
        }
        item.findings = idx;
        items.push(item);
    }
    let summary = Summary {
        files: files.len(),
        bytes,
        representations: 0,
        items: items.len(),
        checks: vec![CheckRun {
            name: "xsd".into(),
            status: if schema_checked > 0 { "run" } else { "not_run" }.into(),
            detail: if schema_checked > 0 {
                format!(
                    "{schema_checked} EEP documents checked against dangan's embedded {SCHEMA_NAME} by xmllint"
                )
            } else {
                "xmllint is not on PATH (or --no-xsd): XML Schema validity not checked; structure checked rule by rule"
                    .into()
            },
        }],
        ..Summary::default()
    };
    let object_id = (files.len() == 1)
        .then(|| items.first().map(|i| i.danghao.clone()))
        .flatten();
    Ok(Some(Report::assemble(ReportParts {
        package: path.display().to_string(),
        object_id,
        spec_applied: "DA/T 48-2009 EEP".into(),
        spec_source: "declared".into(),
        findings,
        summary,
        items,
    })))
}

/// What `dangan verify` needs of one EEP: its decoded contents against their recorded sizes and
/// digests, and the signatures (the schema is `validate`'s business).
pub fn verify_file(path: &Path) -> Checked {
    check_file(path, false)
}

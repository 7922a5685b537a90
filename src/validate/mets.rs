//! E-ARK CSIP/SIP checks of the package METS and every representation METS. Each check names its requirement
//! ID; how binding it is comes from the rule table, not from here.

use std::collections::{BTreeSet, HashSet};
use std::sync::OnceLock;

use serde::Deserialize;

use super::{Finding, Msg, Spec};
use crate::sip::Package;
use crate::sip::mets::{self as model, Mets, MetsError};
use crate::sip::xml::{Element, XmlError};

pub const METS: &str = model::METS_NS;
pub const CSIP: &str = model::CSIP_NS;
pub const XLINK: &str = model::XLINK_NS;

/// The E-ARK controlled vocabularies (`profiles/eark-vocabularies.toml`).
#[derive(Debug, Deserialize)]
pub struct Vocabularies {
    pub content_category: Vec<String>,
    pub content_information_type: Vec<String>,
    pub oais_package_type: Vec<String>,
    pub status: Vec<String>,
    pub record_status: Vec<String>,
    pub checksum_type: Vec<String>,
}

pub fn vocabularies() -> &'static Vocabularies {
    static V: OnceLock<Vocabularies> = OnceLock::new();
    V.get_or_init(|| {
        // Part of the source, checked by a unit test: a parse error is a bug.
        toml::from_str(include_str!("../../profiles/eark-vocabularies.toml"))
            .expect("embedded vocabularies parse")
    })
}

pub use crate::sip::mets::RefKind;

/// The (exists, SIZE, CHECKSUM) requirement IDs that judge a reference of this kind; `None` for the kinds
/// validate does not recompute (techMD, sourceMD, mptr).
pub fn ref_rules(kind: RefKind) -> Option<(&'static str, &'static str, &'static str)> {
    match kind {
        RefKind::File => Some(("CSIP79", "CSIP69", "CSIP71")),
        RefKind::Dmd => Some(("CSIP24", "CSIP27", "CSIP29")),
        RefKind::Digiprov => Some(("CSIP38", "CSIP41", "CSIP43")),
        RefKind::Rights => Some(("CSIP51", "CSIP54", "CSIP56")),
        _ => None,
    }
}

/// A file a METS declares: the one METS model's reference ([`crate::sip::mets::Ref`]) whose href resolves into
/// the package, with that path and the METS that declares it.
#[derive(Debug, Clone)]
pub struct Declared {
    /// Package-relative path (decoded).
    pub path: String,
    /// The METS that declares it.
    pub declared_in: String,
    pub r: model::Ref,
}

impl Declared {
    /// `SIZE` when it is a number (a malformed one is judged by the METS checks).
    pub fn size(&self) -> Option<u64> {
        self.r.size().and_then(Result::ok)
    }
}

/// Whether a `fileGrp` is one of the package METS's representation groups (CSIP114): USE "Representations" or
/// "Representations/<name>".
fn is_representations_group(g: &Element) -> bool {
    g.a("USE").is_some_and(is_representations_use)
}

/// Whether a fileGrp USE names representations: "Representations" or "Representations/<name>".
fn is_representations_use(u: &str) -> bool {
    u == "Representations" || u.starts_with("Representations/")
}

/// Whether a representation group points at the representation's own METS (the shape `dangan pack` writes:
/// one file, `representations/<name>/METS.xml`) rather than listing the content itself.
fn points_at_representation_mets(g: &Element) -> bool {
    g.kids(METS, "file")
        .filter_map(|f| f.kid(METS, "FLocat"))
        .filter_map(|l| l.attr(XLINK, "href"))
        .any(|h| h.ends_with("/METS.xml"))
}

/// A content group: a representation group that lists the representation's files in the package METS
/// itself, without a representation METS (CSIP 2.2.0 §5.3.6: described by the single content division
/// LABEL="Representations", CSIP101–CSIP104, CSIP119; its content information type stated on the group,
/// CSIP62). Other producers write packages this way; `dangan pack` never does.
fn is_content_group(g: &Element) -> bool {
    is_representations_group(g) && !points_at_representation_mets(g)
}

/// State of one validation run over the METS documents.
pub struct Run<'a> {
    pkg: &'a Package,
    over: Option<Spec>,
    pub spec: Spec,
    pub spec_source: &'static str,
    pub objid: Option<String>,
    pub findings: Vec<Finding>,
    pub refs: Vec<Declared>,
    /// Every METS file read (they are part of the package, not extra files).
    pub metadata_paths: Vec<String>,
    /// The representation folders (`representations/<name>/`), with or without a METS of their own.
    pub representation_folders: BTreeSet<String>,
}

/// Resolve an href relative to the METS folder `base` by the one href rule of the package reader; errors say
/// why the href cannot point into the package.
pub fn resolve(base: &str, href: &str) -> Result<String, Msg> {
    crate::sip::path::resolve_href(base, href).map_err(|why| {
        Msg::new(
            format!("href '{href}' 不能指向封装包内的文件: {}", why.zh()),
            format!("href '{href}' cannot point into the package: {why}"),
        )
    })
}

fn is_date(s: &str) -> bool {
    // xs:dateTime as METS uses it: YYYY-MM-DDThh:mm:ss with optional fraction and zone.
    let b = s.as_bytes();
    b.len() >= 19
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
            .iter()
            .all(|&i| b[i].is_ascii_digit())
}

fn is_mime(s: &str) -> bool {
    matches!(s.split_once('/'), Some((a, b)) if !a.is_empty() && !b.is_empty() && !s.contains(char::is_whitespace))
}

impl<'a> Run<'a> {
    pub fn new(pkg: &'a Package, over: Option<Spec>) -> Run<'a> {
        Run {
            pkg,
            over,
            spec: over.unwrap_or(Spec::Sip220),
            spec_source: if over.is_some() {
                "override"
            } else {
                "default"
            },
            objid: None,
            findings: Vec::new(),
            refs: Vec::new(),
            metadata_paths: Vec::new(),
            representation_folders: BTreeSet::new(),
        }
    }

    fn fail(&mut self, id: &str, path: &str, zh: impl Into<String>, en: impl Into<String>) {
        self.findings
            .push(Finding::eark(id, Some(path.to_string()), zh, en));
    }

    /// An href that cannot point into the package: the rule about the href, and 4.3 (it points outside).
    fn bad_href(&mut self, id: &str, path: &str, why: Msg) {
        self.fail(id, path, why.zh.clone(), why.en.clone());
        self.findings.push(Finding::dat70(
            "4.3",
            Some(path.to_string()),
            why.zh,
            why.en,
        ));
    }

    /// Parse a METS file; an unreadable or unsafe one is a CSIP0 failure (and DA/T 70 4.3 / 3.1 where that is
    /// why).
    fn load(&mut self, path: &str) -> Option<Mets> {
        self.metadata_paths.push(path.to_string());
        match self.pkg.mets(path) {
            Ok(m) => Some(m),
            Err(MetsError::Read(e)) => {
                self.fail(
                    "CSIP0",
                    path,
                    format!("无法读取 METS: {e}"),
                    format!("METS cannot be read: {e}"),
                );
                None
            }
            Err(MetsError::NotMets { ns, name }) => {
                self.fail(
                    "CSIP0",
                    path,
                    format!("根元素是 {{{ns}}}{name}, 不是 METS <mets>"),
                    format!("root element is {{{ns}}}{name}, not METS <mets>"),
                );
                None
            }
            Err(MetsError::Xml { error: e, .. }) => {
                self.fail(
                    "CSIP0",
                    path,
                    format!("METS 不被接受: {}", e.zh()),
                    format!("METS not accepted: {e}"),
                );
                match e {
                    XmlError::Doctype | XmlError::Entity(_) => self.findings.push(Finding::dat70(
                        "4.3",
                        Some(path.to_string()),
                        format!("不安全的 XML: {}", e.zh()),
                        format!("unsafe XML: {e}"),
                    )),
                    XmlError::Encoding(_) => self.findings.push(Finding::dat70(
                        "3.1",
                        Some(path.to_string()),
                        format!("元数据无法读取: {}", e.zh()),
                        format!("metadata unreadable: {e}"),
                    )),
                    _ => {}
                }
                None
            }
        }
    }

    pub fn check_all(&mut self) {
        // CSIPSTR4: METS.xml at the root of the package.
        if !self.pkg.entries.contains_key("METS.xml") {
            let alt = self
                .pkg
                .entries
                .keys()
                .find(|k| k.eq_ignore_ascii_case("mets.xml"))
                .cloned();
            let (zh, en) = match alt {
                Some(a) => (
                    format!("封装包根目录下没有 METS.xml (找到 '{a}': 文件名区分大小写)"),
                    format!(
                        "no METS.xml at the package root (found '{a}': the name is case-sensitive)"
                    ),
                ),
                None => (
                    "封装包根目录下没有 METS.xml".to_string(),
                    "no METS.xml at the package root".to_string(),
                ),
            };
            self.fail("CSIPSTR4", "METS.xml", zh, en);
            return;
        }
        let Some(root) = self.load("METS.xml") else {
            return;
        };
        let declared = root.profile.as_deref().and_then(Spec::from_profile);
        match (self.over, declared) {
            (Some(_), _) => {}
            (None, Some(s)) => {
                self.spec = s;
                self.spec_source = "declared";
            }
            // No profile the package names: a package whose header says it is a SIP
            // (metsHdr/@csip:OAISPACKAGETYPE, CSIP9) is judged as a SIP of the current version, so that
            // the missing profile is the SIP's own requirement (SIP2) and the SIP rules still apply.
            (None, None)
                if root.profile.is_none()
                    && root
                        .root
                        .kid(METS, "metsHdr")
                        .and_then(|h| h.attr(CSIP, "OAISPACKAGETYPE"))
                        == Some("SIP") =>
            {
                self.spec = Spec::Sip220;
                self.spec_source = "package type";
            }
            (None, None) => {
                self.spec = Spec::Csip;
                self.spec_source = "default";
            }
        }
        self.objid = root.root.a("OBJID").map(str::to_string);
        let reps = self.check_mets(&root, "", true);
        // CSIPSTR9/CSIPSTR12: every folder under representations/ should have its own METS.xml.
        let mut rep_dirs: BTreeSet<String> = BTreeSet::new();
        for k in self.pkg.entries.keys() {
            if let Some(rest) = k.strip_prefix("representations/")
                && let Some((name, _)) = rest.split_once('/')
            {
                rep_dirs.insert(name.to_string());
            }
        }
        let mut rep_mets: BTreeSet<String> = reps.into_iter().collect();
        for d in &rep_dirs {
            let m = format!("representations/{d}/METS.xml");
            if self.pkg.entries.contains_key(&m) {
                rep_mets.insert(m);
            } else {
                self.fail(
                    "CSIPSTR12",
                    &format!("representations/{d}/"),
                    "表示没有 METS.xml",
                    "representation has no METS.xml",
                );
            }
        }
        for m in rep_mets {
            if !self.pkg.entries.contains_key(&m) {
                continue; // reported as CSIP110 by the package METS check
            }
            if let Some(doc) = self.load(&m) {
                let base = m.trim_end_matches("METS.xml").to_string();
                self.check_mets(&doc, &base, false);
            }
        }
        self.check_folders(&rep_dirs);
        self.representation_folders = rep_dirs;
    }

    /// CSIPSTR5–CSIPSTR13: the folder layout CSIP 2.2.0 §5.3 recommends. Each is a SHOULD, so each is a
    /// warning (through the rule table) and none rejects a package; commons-ip 2.11 checks none of them.
    fn check_folders(&mut self, rep_dirs: &BTreeSet<String>) {
        let has = |prefix: &str| self.pkg.entries.keys().any(|k| k.starts_with(prefix));
        let mut warnings: Vec<(&str, String, String, String)> = Vec::new();
        // CSIPSTR5: a root `metadata` folder for metadata about the whole package.
        if !has("metadata/") {
            warnings.push((
                "CSIPSTR5",
                "metadata/".into(),
                "封装包根文件夹没有 metadata 文件夹".into(),
                "the package root has no metadata folder".into(),
            ));
        }
        // CSIPSTR6/CSIPSTR7: preservation metadata under `metadata/preservation`, descriptive metadata under
        // `metadata/descriptive` — of the package, or of the representation whose METS declares them.
        let mut misplaced = BTreeSet::new();
        for d in &self.refs {
            let (rule, sub, zh, en) = match d.r.kind {
                model::RefKind::Digiprov => (
                    "CSIPSTR6",
                    "preservation",
                    "保存元数据",
                    "preservation metadata",
                ),
                model::RefKind::Dmd => (
                    "CSIPSTR7",
                    "descriptive",
                    "描述元数据",
                    "descriptive metadata",
                ),
                _ => continue,
            };
            let base = d.declared_in.trim_end_matches("METS.xml");
            let want = format!("{base}metadata/{sub}/");
            if !d.path.starts_with(&want) && misplaced.insert((rule, d.path.clone())) {
                warnings.push((
                    rule,
                    d.path.clone(),
                    format!("{zh}不在 {want} 文件夹中"),
                    format!("{en} is not in the folder {want}"),
                ));
            }
        }
        // CSIPSTR9: a `representations` folder.
        if !has("representations/") {
            warnings.push((
                "CSIPSTR9",
                "representations/".into(),
                "封装包根文件夹没有 representations 文件夹".into(),
                "the package root has no representations folder".into(),
            ));
        }
        // CSIPSTR10: `representations` holds one sub-folder per representation, not files of its own.
        for k in self.pkg.entries.keys() {
            if let Some(rest) = k.strip_prefix("representations/")
                && !rest.is_empty()
                && !rest.contains('/')
            {
                warnings.push((
                    "CSIPSTR10",
                    k.clone(),
                    "representations 文件夹中的文件不在任何表示文件夹内".into(),
                    "a file directly in the representations folder, outside any representation folder"
                        .into(),
                ));
            }
        }
        // CSIPSTR11/CSIPSTR13: each representation folder has `data` and `metadata` sub-folders.
        for d in rep_dirs {
            for (rule, sub) in [("CSIPSTR11", "data"), ("CSIPSTR13", "metadata")] {
                if !has(&format!("representations/{d}/{sub}/")) {
                    warnings.push((
                        rule,
                        format!("representations/{d}/"),
                        format!("表示文件夹没有 {sub} 子文件夹"),
                        format!("the representation folder has no {sub} sub-folder"),
                    ));
                }
            }
        }
        for (rule, path, zh, en) in warnings {
            self.fail(rule, &path, zh, en);
        }
    }

    /// Check one METS document; returns the representation METS paths it points at.
    fn check_mets(&mut self, mets: &Mets, base: &str, is_root: bool) -> Vec<String> {
        let m = &mets.root;
        let here = format!("{base}METS.xml");
        let p = here.as_str();
        // The files it declares, from the one METS model (the rules below judge how they are declared).
        for r in mets.refs.iter().filter(|r| ref_rules(r.kind).is_some()) {
            if let Ok(path) = &r.path {
                self.refs.push(Declared {
                    path: path.clone(),
                    declared_in: p.to_string(),
                    r: r.clone(),
                });
            }
        }
        let v = vocabularies();
        // CSIP1: OBJID. commons-ip also requires the root folder to carry it (CSIPSTR2's wording is SHOULD; we
        // follow the validator so that the two agree).
        match m.a("OBJID") {
            None | Some("") => self.fail("CSIP1", p, "缺少 mets/@OBJID", "mets/@OBJID missing"),
            Some(id) if is_root && id != self.pkg.root_name => self.fail(
                "CSIP1",
                p,
                format!(
                    "mets/@OBJID '{id}' 与封装包根文件夹名 '{}' 不一致 (CSIPSTR2)",
                    self.pkg.root_name
                ),
                format!(
                    "mets/@OBJID '{id}' differs from the package root folder name '{}' (CSIPSTR2)",
                    self.pkg.root_name
                ),
            ),
            _ => {}
        }
        // CSIP2/CSIP3: content category from the vocabulary; OTHER needs csip:OTHERTYPE.
        match m.a("TYPE") {
            None => self.fail("CSIP2", p, "缺少 mets/@TYPE", "mets/@TYPE missing"),
            Some(t) if !v.content_category.iter().any(|c| c == t) => {
                let dashed = t.replace('-', "–");
                let (hint_zh, hint_en) = if v.content_category.contains(&dashed) {
                    (
                        format!(" (词表写作 '{dashed}', 用的是 EN DASH U+2013)"),
                        format!(" (the vocabulary writes '{dashed}' with an EN DASH U+2013)"),
                    )
                } else {
                    (String::new(), String::new())
                };
                self.fail(
                    "CSIP2",
                    p,
                    format!("mets/@TYPE '{t}' 不在内容类别 (content category) 词表中{hint_zh}"),
                    format!("mets/@TYPE '{t}' is not in the content-category vocabulary{hint_en}"),
                );
            }
            Some("OTHER") | Some("Other") if m.attr(CSIP, "OTHERTYPE").is_none() => self.fail(
                "CSIP3",
                p,
                "mets/@TYPE 为 OTHER, 但缺少 csip:OTHERTYPE",
                "mets/@TYPE is OTHER but csip:OTHERTYPE is missing",
            ),
            _ => {}
        }
        // CSIP4/CSIP5: content information type (mandatory in representation METS).
        match m.attr(CSIP, "CONTENTINFORMATIONTYPE") {
            None => self.fail(
                "CSIP4",
                p,
                "缺少 mets/@csip:CONTENTINFORMATIONTYPE",
                "mets/@csip:CONTENTINFORMATIONTYPE missing",
            ),
            Some(t) if !v.content_information_type.iter().any(|c| c == t) => self.fail(
                "CSIP4",
                p,
                format!(
                    "csip:CONTENTINFORMATIONTYPE '{t}' 不在词表中 ({})",
                    v.content_information_type.join(", ")
                ),
                format!(
                    "csip:CONTENTINFORMATIONTYPE '{t}' is not in the vocabulary ({})",
                    v.content_information_type.join(", ")
                ),
            ),
            Some("OTHER") if m.attr(CSIP, "OTHERCONTENTINFORMATIONTYPE").is_none() => self.fail(
                "CSIP5",
                p,
                "CONTENTINFORMATIONTYPE 为 OTHER, 但缺少 csip:OTHERCONTENTINFORMATIONTYPE",
                "CONTENTINFORMATIONTYPE is OTHER without csip:OTHERCONTENTINFORMATIONTYPE",
            ),
            _ => {}
        }
        // CSIP6 / SIP2: the profile.
        match m.a("PROFILE") {
            None => {
                self.fail("CSIP6", p, "缺少 mets/@PROFILE", "mets/@PROFILE missing");
                self.fail("SIP2", p, "缺少 mets/@PROFILE", "mets/@PROFILE missing");
            }
            // CSIP6: the URL of the E-ARK profile the package conforms with. One no E-ARK
            // specification publishes names no profile whose rules could be applied (the CSIP rules
            // are, as the least the package must meet).
            Some(url) if Spec::from_profile(url).is_none() => self.fail(
                "CSIP6",
                p,
                format!("mets/@PROFILE '{url}' 不是 E-ARK CSIP/SIP 的规范 (profile); 按 CSIP 规则检查"),
                format!(
                    "mets/@PROFILE '{url}' is not an E-ARK CSIP/SIP profile; checked by the CSIP rules"
                ),
            ),
            Some(url) if Spec::from_profile(url) != Some(self.spec) && self.spec != Spec::Csip => {
                self.fail(
                    "SIP2",
                    p,
                    format!(
                        "mets/@PROFILE '{url}' 不是 {} 的规范 (profile)",
                        self.spec.label()
                    ),
                    format!(
                        "mets/@PROFILE '{url}' is not the profile of {}",
                        self.spec.label()
                    ),
                )
            }
            _ => {}
        }
        self.header(m, p, is_root);
        self.md_secs(m, base, p);
        let groups = self.file_sec(m, base, p, is_root);
        self.struct_map(m, base, p, is_root, &groups)
    }

    fn header(&mut self, m: &Element, p: &str, is_root: bool) {
        let v = vocabularies();
        let Some(h) = m.kid(METS, "metsHdr") else {
            self.fail("CSIP117", p, "缺少 mets/metsHdr", "mets/metsHdr missing");
            return;
        };
        match h.a("CREATEDATE") {
            None => self.fail(
                "CSIP7",
                p,
                "缺少 metsHdr/@CREATEDATE",
                "metsHdr/@CREATEDATE missing",
            ),
            Some(d) if !is_date(d) => self.fail(
                "CSIP7",
                p,
                format!("metsHdr/@CREATEDATE '{d}' 不是 xs:dateTime 格式"),
                format!("metsHdr/@CREATEDATE '{d}' is not an xs:dateTime"),
            ),
            _ => {}
        }
        match h.attr(CSIP, "OAISPACKAGETYPE") {
            None => {
                self.fail(
                    "CSIP9",
                    p,
                    "缺少 metsHdr/@csip:OAISPACKAGETYPE",
                    "metsHdr/@csip:OAISPACKAGETYPE missing",
                );
                self.fail(
                    "SIP4",
                    p,
                    "缺少 metsHdr/@csip:OAISPACKAGETYPE",
                    "metsHdr/@csip:OAISPACKAGETYPE missing",
                );
            }
            Some(t) if !v.oais_package_type.iter().any(|c| c == t) => self.fail(
                "CSIP9",
                p,
                format!("csip:OAISPACKAGETYPE '{t}' 不在词表中"),
                format!("csip:OAISPACKAGETYPE '{t}' is not in the vocabulary"),
            ),
            Some(t) if t != "SIP" => self.fail(
                "SIP4",
                p,
                format!("csip:OAISPACKAGETYPE 为 '{t}', 提交信息包 (SIP) 应声明为 'SIP'"),
                format!("csip:OAISPACKAGETYPE is '{t}', a SIP declares 'SIP'"),
            ),
            _ => {}
        }
        if let Some(s) = h.a("RECORDSTATUS")
            && !v.record_status.iter().any(|c| c == s)
        {
            self.fail(
                "SIP3",
                p,
                format!("metsHdr/@RECORDSTATUS '{s}' 不在词表中"),
                format!("metsHdr/@RECORDSTATUS '{s}' is not in the vocabulary"),
            );
        }
        // Agents are required in the package METS; representation METS may omit them (commons-ip writes none).
        let agents: Vec<&Element> = h.kids(METS, "agent").collect();
        if !is_root && agents.is_empty() {
            return;
        }
        if agents.is_empty() {
            self.fail(
                "CSIP10",
                p,
                "metsHdr 中没有代理 (agent)",
                "metsHdr has no agent",
            );
        }
        // CSIP11–CSIP16: the software that created the package.
        let creators: Vec<&&Element> = agents
            .iter()
            .filter(|a| a.a("ROLE") == Some("CREATOR"))
            .collect();
        let software: Vec<&&Element> = creators
            .iter()
            .copied()
            .filter(|a| a.a("TYPE") == Some("OTHER") && a.a("OTHERTYPE") == Some("SOFTWARE"))
            .collect();
        if creators.is_empty() {
            self.fail(
                "CSIP11",
                p,
                "没有 ROLE='CREATOR' 的代理 (即创建封装包的软件)",
                "no agent with ROLE='CREATOR' (the creating software)",
            );
        } else if !creators.iter().any(|a| a.a("TYPE") == Some("OTHER")) {
            self.fail(
                "CSIP12",
                p,
                "没有 TYPE='OTHER' 的 CREATOR 代理",
                "no CREATOR agent with TYPE='OTHER'",
            );
        } else if software.is_empty() {
            self.fail(
                "CSIP13",
                p,
                "没有 OTHERTYPE='SOFTWARE' 的 CREATOR 代理",
                "no CREATOR agent with OTHERTYPE='SOFTWARE'",
            );
        }
        for a in &software {
            if a.kid(METS, "name").is_none_or(|n| n.text.trim().is_empty()) {
                self.fail(
                    "CSIP14",
                    p,
                    "软件代理没有名称 (name)",
                    "software agent has no name",
                );
            }
            match a.kid(METS, "note") {
                None => self.fail(
                    "CSIP15",
                    p,
                    "软件代理没有 note (软件版本)",
                    "software agent has no note (the software version)",
                ),
                Some(n) if n.attr(CSIP, "NOTETYPE") != Some("SOFTWARE VERSION") => self.fail(
                    "CSIP16",
                    p,
                    "软件代理的 note 缺少 csip:NOTETYPE='SOFTWARE VERSION'",
                    "software agent note lacks csip:NOTETYPE='SOFTWARE VERSION'",
                ),
                _ => {}
            }
        }
        if !is_root {
            return;
        }
        // SIP15–SIP20: the submitting agent (ROLE CREATOR, TYPE ORGANIZATION or INDIVIDUAL); SIP21–SIP25:
        // the contact person (ROLE CREATOR, TYPE INDIVIDUAL). The two are told apart only by TYPE: when
        // an organisation submits, the individuals beside it are its contact persons; when no
        // organisation does, an individual is the submitter.
        let organisation_submits = creators.iter().any(|a| a.a("TYPE") == Some("ORGANIZATION"));
        let submitters: Vec<&&Element> = creators
            .iter()
            .copied()
            .filter(|a| match a.a("TYPE") {
                Some("ORGANIZATION") => true,
                Some("INDIVIDUAL") => !organisation_submits,
                _ => false,
            })
            .collect();
        let contacts = creators
            .iter()
            .filter(|a| organisation_submits && a.a("TYPE") == Some("INDIVIDUAL"));
        for a in contacts {
            if a.kid(METS, "name").is_none_or(|n| n.text.trim().is_empty()) {
                self.fail(
                    "SIP24",
                    p,
                    "联系人代理没有名称 (name)",
                    "contact person agent has no name",
                );
            }
        }
        if submitters.is_empty() {
            self.fail(
                "SIP15",
                p,
                "没有提交方代理 (ROLE='CREATOR', TYPE='ORGANIZATION' 或 'INDIVIDUAL')",
                "no submitting agent (ROLE='CREATOR', TYPE='ORGANIZATION' or 'INDIVIDUAL')",
            );
        }
        for a in &submitters {
            if a.kid(METS, "name").is_none_or(|n| n.text.trim().is_empty()) {
                self.fail(
                    "SIP18",
                    p,
                    "提交方代理没有名称 (name)",
                    "submitting agent has no name",
                );
            }
            for n in a.kids(METS, "note") {
                if n.attr(CSIP, "NOTETYPE") != Some("IDENTIFICATIONCODE") {
                    self.fail(
                        "SIP20",
                        p,
                        "提交方代理的 note 缺少 csip:NOTETYPE='IDENTIFICATIONCODE'",
                        "submitting agent note lacks csip:NOTETYPE='IDENTIFICATIONCODE'",
                    );
                }
            }
        }
        // SIP9–SIP14 archival creator, SIP26–SIP31 preservation agent.
        for a in &agents {
            let (type_rule, name_rule, note_rule) = match a.a("ROLE") {
                Some("ARCHIVIST") => ("SIP11", "SIP12", "SIP14"),
                Some("PRESERVATION") => ("SIP28", "SIP29", "SIP31"),
                _ => continue,
            };
            if !matches!(a.a("TYPE"), Some("ORGANIZATION") | Some("INDIVIDUAL")) {
                self.fail(
                    type_rule,
                    p,
                    "代理的 TYPE 必须为 ORGANIZATION 或 INDIVIDUAL",
                    "agent TYPE must be ORGANIZATION or INDIVIDUAL",
                );
            }
            if a.kid(METS, "name").is_none_or(|n| n.text.trim().is_empty()) {
                self.fail(name_rule, p, "代理没有名称 (name)", "agent has no name");
            }
            for n in a.kids(METS, "note") {
                if n.attr(CSIP, "NOTETYPE") != Some("IDENTIFICATIONCODE") {
                    self.fail(
                        note_rule,
                        p,
                        "代理的 note 缺少 csip:NOTETYPE='IDENTIFICATIONCODE'",
                        "agent note lacks csip:NOTETYPE='IDENTIFICATIONCODE'",
                    );
                }
            }
        }
    }

    /// One mdRef of a dmdSec/digiprovMD/rightsMD. `ids` = (LOCTYPE, xlink:type, href, MDTYPE, MIMETYPE, SIZE,
    /// CREATED, CHECKSUM, CHECKSUMTYPE) rule IDs.
    fn md_ref(&mut self, r: &Element, base: &str, p: &str, kind: RefKind, ids: [&str; 9]) {
        let v = vocabularies();
        if r.a("LOCTYPE") != Some("URL") {
            self.fail(
                ids[0],
                p,
                "mdRef/@LOCTYPE 必须为 'URL'",
                "mdRef/@LOCTYPE must be 'URL'",
            );
        }
        if r.attr(XLINK, "type") != Some("simple") {
            self.fail(
                ids[1],
                p,
                "mdRef/@xlink:type 必须为 'simple'",
                "mdRef/@xlink:type must be 'simple'",
            );
        }
        for (i, a) in [
            (3, "MDTYPE"),
            (4, "MIMETYPE"),
            (5, "SIZE"),
            (6, "CREATED"),
            (7, "CHECKSUM"),
            (8, "CHECKSUMTYPE"),
        ] {
            if r.a(a).is_none_or(str::is_empty) {
                self.fail(
                    ids[i],
                    p,
                    format!("缺少 mdRef/@{a}"),
                    format!("mdRef/@{a} missing"),
                );
            }
        }
        if let Some(t) = r.a("CHECKSUMTYPE")
            && !v.checksum_type.iter().any(|c| c == t)
        {
            self.fail(
                ids[8],
                p,
                format!("CHECKSUMTYPE '{t}' 不是 METS 允许的校验和算法"),
                format!("CHECKSUMTYPE '{t}' is not one METS allows"),
            );
        }
        if let Some(m) = r.a("MIMETYPE")
            && !is_mime(m)
        {
            self.fail(
                ids[4],
                p,
                format!("MIMETYPE '{m}' 不是有效的媒体类型"),
                format!("MIMETYPE '{m}' is not a media type"),
            );
        }
        if let Some(Err(_)) = r.a("SIZE").map(|s| s.trim().parse::<u64>()) {
            self.fail(
                ids[5],
                p,
                "mdRef/@SIZE 不是数字",
                "mdRef/@SIZE is not a number",
            );
        }
        // The reference itself is taken from the METS model (see `check_mets`); here only how it is written.
        let _ = kind;
        match r.attr(XLINK, "href") {
            None => self.fail(
                ids[2],
                p,
                "缺少 mdRef/@xlink:href",
                "mdRef/@xlink:href missing",
            ),
            Some(h) => {
                if let Err(why) = resolve(base, h) {
                    self.bad_href(ids[2], p, why);
                }
            }
        }
    }

    /// CSIP21/CSIP35/CSIP48: a metadata section SHOULD refer to its file in metadata/ by mdRef (not wrap it
    /// into the METS).
    fn no_md_ref(&mut self, id: &str, section: &str, p: &str) {
        self.fail(
            id,
            p,
            format!("{section} 没有 mdRef: 元数据应作为 metadata/ 中的文件引用, 而不是包在 METS 中"),
            format!(
                "{section} has no mdRef: metadata should be a file in metadata/ referred to, not wrapped into the METS"
            ),
        );
    }

    fn md_secs(&mut self, m: &Element, base: &str, p: &str) {
        let v = vocabularies();
        for d in m.kids(METS, "dmdSec") {
            if d.a("ID").is_none() {
                self.fail("CSIP18", p, "缺少 dmdSec/@ID", "dmdSec/@ID missing");
            }
            if d.a("CREATED").is_none() {
                self.fail(
                    "CSIP19",
                    p,
                    "缺少 dmdSec/@CREATED",
                    "dmdSec/@CREATED missing",
                );
            }
            match d.a("STATUS") {
                None => self.fail("CSIP20", p, "缺少 dmdSec/@STATUS", "dmdSec/@STATUS missing"),
                Some(s) if !v.status.iter().any(|c| c == s) => self.fail(
                    "CSIP20",
                    p,
                    format!("dmdSec/@STATUS '{s}' 不在词表中"),
                    format!("dmdSec/@STATUS '{s}' not in vocabulary"),
                ),
                _ => {}
            }
            if d.kid(METS, "mdRef").is_none() {
                self.no_md_ref("CSIP21", "dmdSec", p);
            }
            for r in d.kids(METS, "mdRef") {
                self.md_ref(
                    r,
                    base,
                    p,
                    RefKind::Dmd,
                    [
                        "CSIP22", "CSIP23", "CSIP24", "CSIP25", "CSIP26", "CSIP27", "CSIP28",
                        "CSIP29", "CSIP30",
                    ],
                );
            }
        }
        for a in m.kids(METS, "amdSec") {
            for d in a.kids(METS, "digiprovMD") {
                if d.a("ID").is_none() {
                    self.fail("CSIP33", p, "缺少 digiprovMD/@ID", "digiprovMD/@ID missing");
                }
                if let Some(s) = d.a("STATUS")
                    && !v.status.iter().any(|c| c == s)
                {
                    self.fail(
                        "CSIP34",
                        p,
                        format!("digiprovMD/@STATUS '{s}' 不在词表中"),
                        format!("digiprovMD/@STATUS '{s}' not in vocabulary"),
                    );
                }
                if d.kid(METS, "mdRef").is_none() {
                    self.no_md_ref("CSIP35", "digiprovMD", p);
                }
                for r in d.kids(METS, "mdRef") {
                    self.md_ref(
                        r,
                        base,
                        p,
                        RefKind::Digiprov,
                        [
                            "CSIP36", "CSIP37", "CSIP38", "CSIP39", "CSIP40", "CSIP41", "CSIP42",
                            "CSIP43", "CSIP44",
                        ],
                    );
                }
            }
            for d in a.kids(METS, "rightsMD") {
                if d.a("ID").is_none() {
                    self.fail("CSIP46", p, "缺少 rightsMD/@ID", "rightsMD/@ID missing");
                }
                if let Some(s) = d.a("STATUS")
                    && !v.status.iter().any(|c| c == s)
                {
                    self.fail(
                        "CSIP47",
                        p,
                        format!("rightsMD/@STATUS '{s}' 不在词表中"),
                        format!("rightsMD/@STATUS '{s}' not in vocabulary"),
                    );
                }
                if d.kid(METS, "mdRef").is_none() {
                    self.no_md_ref("CSIP48", "rightsMD", p);
                }
                for r in d.kids(METS, "mdRef") {
                    self.md_ref(
                        r,
                        base,
                        p,
                        RefKind::Rights,
                        [
                            "CSIP49", "CSIP50", "CSIP51", "CSIP52", "CSIP53", "CSIP54", "CSIP55",
                            "CSIP56", "CSIP57",
                        ],
                    );
                }
            }
        }
    }

    /// fileSec checks; returns the fileGrp IDs (for structMap references).
    fn file_sec(&mut self, m: &Element, base: &str, p: &str, is_root: bool) -> HashSet<String> {
        let v = vocabularies();
        let mut groups = HashSet::new();
        let Some(fs) = m.kid(METS, "fileSec") else {
            self.fail("CSIP58", p, "没有文件部分 (fileSec)", "no fileSec");
            return groups;
        };
        if fs.a("ID").is_none() {
            self.fail("CSIP59", p, "缺少 fileSec/@ID", "fileSec/@ID missing");
        }
        let uses: Vec<&str> = fs
            .kids(METS, "fileGrp")
            .filter_map(|g| g.a("USE"))
            .collect();
        if is_root {
            // CSIP60/113/114: the groups must exist for what the package holds.
            let has = |prefix: &str| self.pkg.entries.keys().any(|k| k.starts_with(prefix));
            if has("documentation/") && !uses.contains(&"Documentation") {
                self.fail(
                    "CSIP60",
                    p,
                    "documentation/ 中有文件, 但没有 USE='Documentation' 的文件组 (fileGrp)",
                    "documentation/ has files but there is no fileGrp USE='Documentation'",
                );
            }
            if has("schemas/") && !uses.contains(&"Schemas") {
                self.fail(
                    "CSIP113",
                    p,
                    "schemas/ 中有文件, 但没有 USE='Schemas' 的文件组 (fileGrp)",
                    "schemas/ has files but there is no fileGrp USE='Schemas'",
                );
            }
            if has("representations/") && !uses.iter().any(|u| is_representations_use(u)) {
                self.fail(
                    "CSIP114",
                    p,
                    "存在 representations/, 但没有 USE='Representations/…' 的文件组 (fileGrp)",
                    "representations/ exists but there is no fileGrp USE='Representations/…'",
                );
            }
        }
        for g in fs.kids(METS, "fileGrp") {
            if g.a("USE").is_none() {
                self.fail("CSIP64", p, "缺少 fileGrp/@USE", "fileGrp/@USE missing");
            }
            match g.a("ID") {
                None => self.fail("CSIP65", p, "缺少 fileGrp/@ID", "fileGrp/@ID missing"),
                Some(id) => {
                    groups.insert(id.to_string());
                }
            }
            if g.kids(METS, "file").next().is_none() {
                self.fail(
                    "CSIP66",
                    p,
                    format!(
                        "文件组 (fileGrp) '{}' 中没有文件",
                        g.a("USE").unwrap_or("?")
                    ),
                    format!("fileGrp '{}' has no file", g.a("USE").unwrap_or("?")),
                );
            }
            // CSIP62: a content group (USE 'Representations' or 'Representations/<name>' listing the content
            // without a representation METS) states its content information type; a group that points at a
            // representation METS leaves it to that METS (CSIP4). (A value outside the vocabulary is a
            // schema error, CSIP0: the CSIP extension schema enumerates it.)
            if is_content_group(g) && g.attr(CSIP, "CONTENTINFORMATIONTYPE").is_none() {
                let use_ = g.a("USE").unwrap_or("");
                self.fail(
                    "CSIP62",
                    p,
                    format!("USE='{use_}' 的文件组 (fileGrp) 直接列出内容, 但缺少 csip:CONTENTINFORMATIONTYPE"),
                    format!(
                        "the fileGrp USE='{use_}' lists content directly but has no csip:CONTENTINFORMATIONTYPE"
                    ),
                );
            }
            // CSIPSTR15/CSIPSTR16: the files of the package's Schemas and Documentation groups live in
            // schemas/ and documentation/ (of the package, or of a representation).
            let folder = match g.a("USE") {
                Some("Schemas") => Some(("CSIPSTR15", "schemas/")),
                Some("Documentation") => Some(("CSIPSTR16", "documentation/")),
                _ => None,
            };
            if let Some((rule, dir)) = folder {
                for h in g
                    .kids(METS, "file")
                    .filter_map(|f| f.kid(METS, "FLocat"))
                    .filter_map(|l| l.attr(XLINK, "href"))
                {
                    if let Ok(path) = resolve(base, h)
                        && !path
                            .strip_prefix(base)
                            .is_some_and(|rest| rest.starts_with(dir))
                    {
                        self.fail(
                            rule,
                            p,
                            format!(
                                "'{path}' 属于 USE='{}' 的文件组, 但不在 {base}{dir} 中",
                                g.a("USE").unwrap_or("")
                            ),
                            format!(
                                "'{path}' is in the fileGrp USE='{}' but not in {base}{dir}",
                                g.a("USE").unwrap_or("")
                            ),
                        );
                    }
                }
            }
            for f in g.kids(METS, "file") {
                let fid = f.a("ID").unwrap_or("?");
                for (rule, a) in [
                    ("CSIP67", "ID"),
                    ("CSIP68", "MIMETYPE"),
                    ("CSIP69", "SIZE"),
                    ("CSIP70", "CREATED"),
                    ("CSIP71", "CHECKSUM"),
                    ("CSIP72", "CHECKSUMTYPE"),
                ] {
                    if f.a(a).is_none_or(str::is_empty) {
                        self.fail(
                            rule,
                            p,
                            format!("文件 '{fid}': 缺少 @{a}"),
                            format!("file '{fid}': @{a} missing"),
                        );
                    }
                }
                if let Some(t) = f.a("CHECKSUMTYPE")
                    && !v.checksum_type.iter().any(|c| c == t)
                {
                    self.fail(
                        "CSIP72",
                        p,
                        format!("文件 '{fid}': CHECKSUMTYPE '{t}' 不是 METS 允许的校验和算法"),
                        format!("file '{fid}': CHECKSUMTYPE '{t}' is not one METS allows"),
                    );
                }
                if let Some(mt) = f.a("MIMETYPE")
                    && !is_mime(mt)
                {
                    self.fail(
                        "CSIP68",
                        p,
                        format!("文件 '{fid}': MIMETYPE '{mt}' 不是有效的媒体类型"),
                        format!("file '{fid}': MIMETYPE '{mt}' is not a media type"),
                    );
                }
                if let Some(Err(_)) = f.a("SIZE").map(|s| s.trim().parse::<u64>()) {
                    self.fail(
                        "CSIP69",
                        p,
                        format!("文件 '{fid}': SIZE 不是数字"),
                        format!("file '{fid}': SIZE is not a number"),
                    );
                }
                let Some(loc) = f.kid(METS, "FLocat") else {
                    self.fail(
                        "CSIP79",
                        p,
                        format!("文件 '{fid}' 没有 FLocat"),
                        format!("file '{fid}' has no FLocat"),
                    );
                    continue;
                };
                if loc.a("LOCTYPE") != Some("URL") {
                    self.fail(
                        "CSIP77",
                        p,
                        format!("文件 '{fid}': FLocat/@LOCTYPE 必须为 'URL'"),
                        format!("file '{fid}': FLocat/@LOCTYPE must be 'URL'"),
                    );
                }
                if loc.attr(XLINK, "type") != Some("simple") {
                    self.fail(
                        "CSIP78",
                        p,
                        format!("文件 '{fid}': FLocat/@xlink:type 必须为 'simple'"),
                        format!("file '{fid}': FLocat/@xlink:type must be 'simple'"),
                    );
                }
                match loc.attr(XLINK, "href") {
                    None => self.fail(
                        "CSIP79",
                        p,
                        format!("文件 '{fid}': 缺少 FLocat/@xlink:href"),
                        format!("file '{fid}': FLocat/@xlink:href missing"),
                    ),
                    Some(h) => {
                        if let Err(why) = resolve(base, h) {
                            self.bad_href("CSIP79", p, why);
                        }
                    }
                }
            }
        }
        groups
    }

    /// The SHOULDs of the CSIP structMap's divisions (CSIP91–CSIP100): the Metadata division refers to every
    /// metadata section by ID, and the Documentation and Schemas file groups each have their division that
    /// points at every one of them.
    fn divisions_refer_to_sections(&mut self, m: &Element, top: &Element, p: &str) {
        let div = |label: &str| top.kids(METS, "div").find(|d| d.a("LABEL") == Some(label));
        let listed = |d: Option<&Element>, attr: &str| -> HashSet<String> {
            d.and_then(|d| d.a(attr))
                .map(|v| v.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default()
        };
        if let Some(md) = div("Metadata") {
            // CSIP91: every administrative section in ADMID; CSIP92: every dmdSec in DMDID.
            let adm: Vec<&str> = m
                .kids(METS, "amdSec")
                .flat_map(|a| a.children.iter())
                .filter_map(|e| e.a("ID"))
                .collect();
            let admid = listed(Some(md), "ADMID");
            let amd_ids: Vec<&str> = m.kids(METS, "amdSec").filter_map(|a| a.a("ID")).collect();
            let missing: Vec<&str> = adm
                .iter()
                .copied()
                .filter(|id| !admid.contains(*id))
                .collect();
            // Either the sections' IDs or the amdSec's own ID (the spec's wording allows both readings).
            if !missing.is_empty() && !amd_ids.iter().any(|id| admid.contains(*id)) {
                self.fail(
                    "CSIP91",
                    p,
                    format!("Metadata 分区的 ADMID 未引用管理元数据 {}", missing.join(" ")),
                    format!(
                        "the Metadata division's ADMID does not refer to the administrative metadata {}",
                        missing.join(" ")
                    ),
                );
            }
            let dmdid = listed(Some(md), "DMDID");
            let missing: Vec<&str> = m
                .kids(METS, "dmdSec")
                .filter_map(|d| d.a("ID"))
                .filter(|id| !dmdid.contains(*id))
                .collect();
            if !missing.is_empty() {
                self.fail(
                    "CSIP92",
                    p,
                    format!("Metadata 分区的 DMDID 未引用描述元数据 {}", missing.join(" ")),
                    format!(
                        "the Metadata division's DMDID does not refer to the descriptive metadata {}",
                        missing.join(" ")
                    ),
                );
            }
        }
        let groups = |use_: &str| -> Vec<String> {
            m.kid(METS, "fileSec")
                .into_iter()
                .flat_map(|fs| fs.kids(METS, "fileGrp"))
                .filter(|g| g.a("USE") == Some(use_))
                .filter_map(|g| g.a("ID").map(str::to_string))
                .collect()
        };
        for (label, division_rule, fptr_rule) in [
            ("Documentation", "CSIP93", "CSIP96"),
            ("Schemas", "CSIP97", "CSIP100"),
        ] {
            let ids = groups(label);
            if ids.is_empty() {
                continue;
            }
            let Some(d) = div(label) else {
                self.fail(
                    division_rule,
                    p,
                    format!("有 USE='{label}' 的文件组, 但 CSIP 结构图中没有 LABEL='{label}' 的分区"),
                    format!("there is a fileGrp USE='{label}' but no division LABEL='{label}' in the CSIP structMap"),
                );
                continue;
            };
            let pointed: HashSet<&str> =
                d.kids(METS, "fptr").filter_map(|f| f.a("FILEID")).collect();
            let missing: Vec<&str> = ids
                .iter()
                .map(String::as_str)
                .filter(|id| !pointed.contains(id))
                .collect();
            if !missing.is_empty() {
                self.fail(
                    fptr_rule,
                    p,
                    format!("'{label}' 分区没有指向文件组 {} 的 fptr", missing.join(" ")),
                    format!(
                        "the '{label}' division has no fptr to the fileGrp {}",
                        missing.join(" ")
                    ),
                );
            }
        }
    }

    /// structMap checks; returns the representation METS the package METS points at.
    /// CSIP105: a package whose representations each have a METS.xml should give each representation its
    /// own division in the CSIP structMap — one whose LABEL is the representation's fileGrp USE, or whose
    /// mptr names that fileGrp. A SHOULD: the representation is still found through its fileGrp and its
    /// folder, so its METS is checked either way.
    fn representation_divisions(&mut self, m: &Element, top: &Element, p: &str) {
        let Some(fs) = m.kid(METS, "fileSec") else {
            return;
        };
        for g in fs.kids(METS, "fileGrp") {
            let Some(use_) = g.a("USE").filter(|u| u.starts_with("Representations/")) else {
                continue;
            };
            if !points_at_representation_mets(g) {
                continue;
            }
            let id = g.a("ID");
            let has_div = top.kids(METS, "div").any(|d| {
                d.a("LABEL") == Some(use_)
                    || d.kids(METS, "mptr")
                        .any(|mp| id.is_some() && mp.attr(XLINK, "title") == id)
            });
            if !has_div {
                self.fail(
                    "CSIP105",
                    p,
                    format!("表示 '{use_}' 在 CSIP 结构图 (structMap) 中没有自己的 div"),
                    format!(
                        "representation '{use_}' has no division of its own in the CSIP structMap"
                    ),
                );
            }
        }
    }

    /// CSIP101, CSIP104: when the package METS lists content itself (content groups, no representation
    /// METS), the CSIP structMap describes it in one content division LABEL="Representations" that points
    /// at every content group by an fptr. Both SHOULD; a missing division is CSIP101 alone (what the
    /// division would point at is then moot, as commons-ip also skips CSIP104).
    fn content_division(&mut self, m: &Element, top: &Element, p: &str) {
        let content: Vec<&str> = m
            .kid(METS, "fileSec")
            .into_iter()
            .flat_map(|fs| fs.kids(METS, "fileGrp"))
            .filter(|g| is_content_group(g))
            .filter_map(|g| g.a("ID"))
            .collect();
        let divisions: Vec<&Element> = top
            .kids(METS, "div")
            .filter(|d| d.a("LABEL") == Some("Representations"))
            .collect();
        if content.is_empty() {
            return;
        }
        match divisions.len() {
            0 => self.fail(
                "CSIP101",
                p,
                format!(
                    "文件组 {} 直接列出内容, 但 CSIP 结构图中没有 LABEL='Representations' 的内容分区",
                    content.join(" ")
                ),
                format!(
                    "the fileGrp {} lists content directly, but the CSIP structMap has no content division LABEL='Representations'",
                    content.join(" ")
                ),
            ),
            1 => {}
            n => self.fail(
                "CSIP101",
                p,
                format!("CSIP 结构图中有 {n} 个 LABEL='Representations' 的内容分区, 应只有一个"),
                format!(
                    "the CSIP structMap has {n} content divisions LABEL='Representations', there should be one"
                ),
            ),
        }
        if divisions.is_empty() {
            return;
        }
        let pointed: HashSet<&str> = divisions
            .iter()
            .flat_map(|d| d.kids(METS, "fptr"))
            .filter_map(|f| f.a("FILEID"))
            .collect();
        let missing: Vec<&str> = content
            .iter()
            .copied()
            .filter(|id| !pointed.contains(id))
            .collect();
        if !missing.is_empty() {
            self.fail(
                "CSIP104",
                p,
                format!(
                    "内容分区 (LABEL='Representations') 没有指向文件组 {} 的 fptr",
                    missing.join(" ")
                ),
                format!(
                    "the content division (LABEL='Representations') has no fptr to the fileGrp {}",
                    missing.join(" ")
                ),
            );
        }
    }

    fn struct_map(
        &mut self,
        m: &Element,
        base: &str,
        p: &str,
        is_root: bool,
        groups: &HashSet<String>,
    ) -> Vec<String> {
        let mut reps = Vec::new();
        let maps: Vec<&Element> = m.kids(METS, "structMap").collect();
        if maps.is_empty() {
            self.fail("CSIP80", p, "没有结构图 (structMap)", "no structMap");
            return reps;
        }
        let csip: Vec<&&Element> = maps
            .iter()
            .filter(|s| s.a("TYPE") == Some("PHYSICAL") && s.a("LABEL") == Some("CSIP"))
            .collect();
        if !maps.iter().any(|s| s.a("TYPE") == Some("PHYSICAL")) {
            self.fail(
                "CSIP81",
                p,
                "没有 TYPE='PHYSICAL' 的结构图 (structMap)",
                "no structMap with TYPE='PHYSICAL'",
            );
        }
        if csip.len() != 1 {
            self.fail(
                "CSIP82",
                p,
                format!(
                    "TYPE='PHYSICAL' LABEL='CSIP' 的结构图 (structMap) 有 {} 个, 必须恰好一个",
                    csip.len()
                ),
                format!(
                    "{} structMaps with TYPE='PHYSICAL' LABEL='CSIP', exactly one is required",
                    csip.len()
                ),
            );
        }
        let Some(sm) = csip.first() else {
            return reps;
        };
        if sm.a("ID").is_none() {
            self.fail(
                "CSIP83",
                p,
                "CSIP 结构图缺少 structMap/@ID",
                "CSIP structMap/@ID missing",
            );
        }
        let divs: Vec<&Element> = sm.kids(METS, "div").collect();
        if divs.len() != 1 {
            self.fail(
                "CSIP84",
                p,
                format!(
                    "CSIP 结构图 (structMap) 有 {} 个顶层 div, 必须恰好一个",
                    divs.len()
                ),
                format!(
                    "CSIP structMap has {} top divisions, exactly one is required",
                    divs.len()
                ),
            );
        }
        let Some(top) = divs.first() else {
            return reps;
        };
        if top.a("ID").is_none() {
            self.fail(
                "CSIP85",
                p,
                "CSIP 结构图的主 div 缺少 @ID",
                "CSIP structMap main div/@ID missing",
            );
        }
        let has_md = m.kids(METS, "dmdSec").next().is_some()
            || m.kids(METS, "amdSec").any(|a| !a.children.is_empty());
        let labels: Vec<&str> = top.kids(METS, "div").filter_map(|d| d.a("LABEL")).collect();
        if is_root && has_md && !labels.contains(&"Metadata") {
            self.fail(
                "CSIP88",
                p,
                "封装包有元数据部分, 但没有 LABEL='Metadata' 的 div",
                "the package has metadata sections but no div LABEL='Metadata'",
            );
        }
        self.divisions_refer_to_sections(m, top, p);
        if is_root {
            self.representation_divisions(m, top, p);
            self.content_division(m, top, p);
        }
        // The USE of each file group by ID: the content division's fptrs point at representation groups.
        let uses: std::collections::HashMap<&str, &str> = m
            .kid(METS, "fileSec")
            .into_iter()
            .flat_map(|fs| fs.kids(METS, "fileGrp"))
            .filter_map(|g| Some((g.a("ID")?, g.a("USE").unwrap_or(""))))
            .collect();
        for d in top.kids(METS, "div") {
            let label = d.a("LABEL").unwrap_or("");
            // The content division of a package whose METS lists the content itself (CSIP101–CSIP104).
            let content = is_root && label == "Representations";
            if d.a("ID").is_none() {
                let rule = match label {
                    "Metadata" => "CSIP89",
                    "Documentation" => "CSIP94",
                    "Schemas" => "CSIP98",
                    _ if content => "CSIP102",
                    _ => "CSIP106",
                };
                self.fail(
                    rule,
                    p,
                    format!("div '{label}' 缺少 @ID"),
                    format!("div '{label}' has no @ID"),
                );
            }
            if label.is_empty() {
                self.fail("CSIP107", p, "div 缺少 @LABEL", "division without @LABEL");
            }
            for f in d.kids(METS, "fptr") {
                let rule = match label {
                    "Documentation" => "CSIP116",
                    "Schemas" => "CSIP118",
                    _ => "CSIP119",
                };
                match f.a("FILEID") {
                    None => self.fail(
                        rule,
                        p,
                        format!("div '{label}': 缺少 fptr/@FILEID"),
                        format!("div '{label}': fptr/@FILEID missing"),
                    ),
                    Some(id)
                        if !groups.contains(id)
                            && !m.descendants().iter().any(|e| e.a("ID") == Some(id)) =>
                    {
                        self.fail(
                            rule,
                            p,
                            format!("div '{label}': fptr/@FILEID '{id}' 指向的对象不存在"),
                            format!("div '{label}': fptr/@FILEID '{id}' points at nothing"),
                        )
                    }
                    // CSIP119: the content division points at a Representations file group, not at
                    // another one (Documentation, Schemas).
                    Some(id)
                        if content && uses.get(id).is_some_and(|u| !is_representations_use(u)) =>
                    {
                        let use_ = uses.get(id).copied().unwrap_or("");
                        self.fail(
                            "CSIP119",
                            p,
                            format!(
                                "内容分区的 fptr/@FILEID '{id}' 指向 USE='{use_}' 的文件组, 而不是 Representations 文件组"
                            ),
                            format!(
                                "the content division's fptr/@FILEID '{id}' points at the fileGrp USE='{use_}', not a Representations group"
                            ),
                        )
                    }
                    _ => {}
                }
            }
            if is_root && label.starts_with("Representations") {
                let mptrs: Vec<&Element> = d.kids(METS, "mptr").collect();
                // A representation division points at its METS (CSIP109); the content division has none to
                // point at (what it points at is CSIP104).
                if !content && mptrs.is_empty() && d.kids(METS, "fptr").next().is_none() {
                    self.fail(
                        "CSIP109",
                        p,
                        format!("div '{label}' 没有指向其表示 METS 的 mptr"),
                        format!("div '{label}' has no mptr to its representation METS"),
                    );
                }
                for mp in mptrs {
                    match mp.attr(XLINK, "title") {
                        None => self.fail(
                            "CSIP108",
                            p,
                            format!("div '{label}': 缺少 mptr/@xlink:title"),
                            format!("div '{label}': mptr/@xlink:title missing"),
                        ),
                        Some(t) if !groups.contains(t) => self.fail(
                            "CSIP108",
                            p,
                            format!(
                                "div '{label}': mptr/@xlink:title '{t}' 不是文件组 (fileGrp) 的 ID"
                            ),
                            format!("div '{label}': mptr/@xlink:title '{t}' is not a fileGrp ID"),
                        ),
                        _ => {}
                    }
                    if mp.attr(XLINK, "type") != Some("simple") {
                        self.fail(
                            "CSIP111",
                            p,
                            format!("div '{label}': mptr/@xlink:type 必须为 'simple'"),
                            format!("div '{label}': mptr/@xlink:type must be 'simple'"),
                        );
                    }
                    if mp.a("LOCTYPE") != Some("URL") {
                        self.fail(
                            "CSIP112",
                            p,
                            format!("div '{label}': mptr/@LOCTYPE 必须为 'URL'"),
                            format!("div '{label}': mptr/@LOCTYPE must be 'URL'"),
                        );
                    }
                    match mp.attr(XLINK, "href").map(|h| resolve(base, h)) {
                        None => self.fail(
                            "CSIP110",
                            p,
                            format!("div '{label}': 缺少 mptr/@xlink:href"),
                            format!("div '{label}': mptr/@xlink:href missing"),
                        ),
                        Some(Err(why)) => self.fail("CSIP110", p, why.zh, why.en),
                        Some(Ok(path)) => {
                            if !self.pkg.entries.contains_key(&path) {
                                self.fail(
                                    "CSIP110",
                                    p,
                                    format!("mptr 指向 '{path}', 但封装包中没有该文件"),
                                    format!("mptr points at '{path}', which is not in the package"),
                                );
                            }
                            reps.push(path);
                        }
                    }
                }
            }
        }
        reps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_resolve_inside_the_package() {
        assert_eq!(
            resolve("", "documentation/%E7%9B%AE%E5%BD%95.csv").unwrap(),
            "documentation/目录.csv"
        );
        assert_eq!(
            resolve("representations/r/", "data/a.tif").unwrap(),
            "representations/r/data/a.tif"
        );
        assert_eq!(
            resolve("representations/r/", "../../METS.xml").unwrap(),
            "METS.xml"
        );
        assert!(resolve("", "../x").is_err());
        assert!(resolve("", "http://example.org/x").is_err());
        assert!(resolve("", "/etc/passwd").is_err());
    }

    #[test]
    fn vocabularies_load_with_en_dash_terms() {
        let v = vocabularies();
        assert!(
            v.content_category
                .iter()
                .any(|c| c == "Textual works – Digital")
        );
        assert!(
            v.content_category
                .iter()
                .any(|c| c == "Musical Scores - Print")
        );
        assert!(v.oais_package_type.contains(&"SIP".to_string()));
    }
}

//! Writing one EEP: a streaming XML writer (nothing but one chunk of one file is ever in memory), Base64
//! per RFC 2045 §6.8 in 76-character lines, the signed bytes hashed as they are written.

use std::io::{self, Write};
use std::path::Path;

use base64::Engine as _;
use sha2::Digest as _;

use super::sign::{Hasher, Signer};
use super::{Batch, EepError, EepOptions, NS, WrittenEep, file_name};
use crate::catalog::Danghao;
use crate::context::Context;
use crate::model::{Field, FileRecord, Finding, Item, Level};
use crate::package::xml::{escape_attr, escape_text};
use crate::publish::{self, Staging};

/// 封装包格式描述 (its default text, EEP.md).
pub(super) const FORMAT_DESCRIPTION: &str =
    "本EEP根据中华人民共和国档案行业标准DA/T 48-2009《基于XML的电子文件封装规范》生成";

/// 封装包类型描述 of an original package. The standard's fixed sentence was not seen [U]; this says the same.
const TYPE_DESCRIPTION: &str = "本封装包为原始型: 封装的电子文件及其元数据自封装后未经修改";

/// 编码描述 (EEP.md: Base64 per IETF RFC 2045; the extension is restored from 反编码关键字).
pub(super) const ENCODING_DESCRIPTION: &str = "本封装包中“编码数据”元素存储的是计算机文件二进制流的Base64编码, 有关Base64编码规则参见IETF RFC 2045《多用途邮件扩展(MIME)第一部分: 互联网信息体格式》。提取和显现封装在“编码数据”元素中的计算机文件时, 应对Base64编码进行反编码, 并依据“反编码关键字”元素记录的值还原计算机文件的扩展名";

/// The prefix of the 附注 that records a file's SHA-256 (a dangan convention; see the schema).
pub(super) const DIGEST_NOTE: &str = "SHA-256 ";

/// Bytes per Base64 line (RFC 2045 §6.8: at most 76 characters per line, i.e. 57 input bytes).
const LINE_IN: usize = 57;
/// Input bytes per chunk: 1,024 lines (57 KiB in, 77 KiB out).
const CHUNK_IN: usize = LINE_IN * 1024;

/// The streaming XML writer: two-space indentation as `package::xml::Xml` writes it, the same escaping,
/// and a hash of everything written while a signed element is open.
struct Out<W: Write> {
    w: W,
    depth: usize,
    signing: Option<Hasher>,
    bytes: u64,
}

impl<W: Write> Out<W> {
    fn new(w: W) -> Self {
        Out {
            w,
            depth: 0,
            signing: None,
            bytes: 0,
        }
    }

    fn raw(&mut self, b: &[u8]) -> io::Result<()> {
        if let Some(h) = &mut self.signing {
            h.update(b);
        }
        self.bytes += b.len() as u64;
        self.w.write_all(b)
    }

    fn indent(&mut self) -> io::Result<()> {
        const SPACES: &[u8] = &[b' '; 64];
        let n = (self.depth * 2).min(SPACES.len());
        self.raw(&SPACES[..n])
    }

    fn start_tag(&mut self, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
        let mut s = String::with_capacity(64);
        s.push('<');
        s.push_str(name);
        for (k, v) in attrs {
            s.push(' ');
            s.push_str(k);
            s.push_str("=\"");
            s.push_str(&escape_attr(v));
            s.push('"');
        }
        s.push('>');
        self.raw(s.as_bytes())
    }

    /// `<name attrs>` on its own line; children follow until [`Out::close`].
    fn open(&mut self, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
        self.indent()?;
        self.start_tag(name, attrs)?;
        self.raw(b"\n")?;
        self.depth += 1;
        Ok(())
    }

    fn close(&mut self, name: &str) -> io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        self.indent()?;
        self.raw(format!("</{name}>\n").as_bytes())
    }

    /// `<name>text</name>`
    fn text(&mut self, name: &str, text: &str) -> io::Result<()> {
        self.indent()?;
        self.raw(format!("<{name}>{}</{name}>\n", escape_text(text)).as_bytes())
    }

    /// `<name>text</name>` when there is a non-empty text.
    fn opt(&mut self, name: &str, text: Option<&str>) -> io::Result<()> {
        match text.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => self.text(name, t),
            None => Ok(()),
        }
    }
}

/// A problem with one item: findings (the item gets no EEP) or an error of the run.
type ItemResult = Result<Result<WrittenEep, Vec<Finding>>, EepError>;

/// One file of the item, ready to be encoded.
struct Part<'a> {
    rel: &'a str,
    record: &'a FileRecord,
    id: String,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> EepError + '_ {
    move |source| EepError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The DA/T 46-2009 密级 of an item: the 目录's value, which must be one of the list.
fn secrecy(item: &Item) -> Option<&str> {
    let v = item.field(Field::Classification)?.trim();
    ["公开", "限制", "秘密", "机密", "绝密"]
        .contains(&v)
        .then_some(v)
}

/// Write the EEP of one item.
pub(super) fn write_item(
    item: &Item,
    batch: &Batch<'_>,
    options: &EepOptions,
    ctx: &Context,
) -> ItemResult {
    let manifest_row = format!("目录:{}", item.row);
    let mut problems = Vec::new();
    // DA/T 46-2009 M38 密级 is required and has a closed list.
    let secrecy = match secrecy(item) {
        Some(s) => s.to_string(),
        None => {
            let v = item.field(Field::Classification).unwrap_or("");
            problems.push(Finding::new(
                "DA/T 46-2009 M38",
                Level::Error,
                Some(manifest_row.clone()),
                format!(
                    "条目 {}: 密级 '{v}' 缺失或不在 DA/T 46-2009 值域 (公开/限制/秘密/机密/绝密) 内, 未生成 EEP",
                    item.danghao
                ),
                format!(
                    "item {}: 密级 '{v}' is missing or outside the DA/T 46-2009 list (公开/限制/秘密/机密/绝密); no EEP written",
                    item.danghao
                ),
            ));
            String::new()
        }
    };
    let mut parts = Vec::new();
    for (k, f) in item.files.iter().enumerate() {
        match batch.records.get(&f.path) {
            Some(record) => parts.push(Part {
                rel: &f.path,
                record,
                id: format!("修改0-文档1-文档数据1-编码{}", k + 1),
            }),
            None => problems.push(Finding::new(
                "DA/T 48-2009 编码",
                Level::Error,
                Some(f.path.clone()),
                format!("条目 {} 的文件未经扫描记录, 未生成 EEP", item.danghao),
                format!(
                    "a file of item {} has no scan record; no EEP written",
                    item.danghao
                ),
            )),
        }
    }
    if parts.is_empty() && problems.is_empty() {
        problems.push(Finding::new(
            "DA/T 48-2009 文件数据",
            Level::Error,
            Some(manifest_row),
            format!("条目 {} 没有文件, 未生成 EEP", item.danghao),
            format!("item {} has no files; no EEP written", item.danghao),
        ));
    }
    if !problems.is_empty() {
        return Ok(Err(problems));
    }

    let dest = batch.out.join(file_name(item));
    let staging = Staging::begin(&dest)?;
    staging.check_absent()?;
    let file = std::fs::File::create(staging.path()).map_err(io_err(staging.path()))?;
    let mut out = Out::new(io::BufWriter::with_capacity(1 << 16, file));
    let doc = Doc {
        item,
        batch,
        options,
        ctx,
        secrecy: &secrecy,
        parts: &parts,
    };
    let content = match doc.write(&mut out) {
        Ok(Ok(c)) => c,
        Ok(Err(findings)) => return Ok(Err(findings)),
        Err(e) if publish::is_no_space(&e) => {
            return Err(publish::PublishError::NoSpace { dest }.into());
        }
        Err(e) => return Err(io_err(staging.path())(e)),
    };
    let bytes = out.bytes;
    let file = out
        .w
        .into_inner()
        .map_err(|e| io_err(staging.path())(e.into_error()))?;
    file.sync_all().map_err(io_err(staging.path()))?;
    drop(file);
    let path = staging.publish()?;
    Ok(Ok(WrittenEep {
        danghao: item.danghao.to_string(),
        path,
        files: parts.len(),
        content_bytes: content,
        bytes,
        signed: options.signer.is_some(),
    }))
}

struct Doc<'a> {
    item: &'a Item,
    batch: &'a Batch<'a>,
    options: &'a EepOptions,
    ctx: &'a Context,
    secrecy: &'a str,
    parts: &'a [Part<'a>],
}

impl Doc<'_> {
    /// The whole document; `Ok(Err(findings))` when a file's bytes are not the ones the scan recorded.
    fn write<W: Write>(&self, out: &mut Out<W>) -> io::Result<Result<u64, Vec<Finding>>> {
        out.raw(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")?;
        out.open("电子文件封装包", &[("xmlns", NS)])?;
        out.text("封装包格式描述", FORMAT_DESCRIPTION)?;
        out.text("版本", "2009")?;
        // What is signed: from '<' of 被签名对象 to '>' of its end tag, as written.
        out.indent()?;
        out.signing = self.options.signer.as_ref().map(Signer::hasher);
        out.start_tag("被签名对象", &[("eep版本", "2009")])?;
        out.raw(b"\n")?;
        out.depth += 1;
        out.text("封装包类型", "原始型")?;
        out.text("封装包类型描述", TYPE_DESCRIPTION)?;
        out.text("封装包创建时间", &self.ctx.now_rfc3339())?;
        out.text("封装包创建单位", self.batch.submitter)?;
        out.open("封装内容", &[])?;
        out.open("文件实体块", &[])?;
        let content = match self.file_entity(out)? {
            Ok(c) => c,
            Err(f) => return Ok(Err(f)),
        };
        out.close("文件实体块")?;
        self.business(out)?;
        self.agents(out)?;
        out.close("封装内容")?;
        out.depth -= 1;
        out.indent()?;
        out.raw("</被签名对象>".as_bytes())?;
        let signed = out.signing.take();
        out.raw(b"\n")?;
        if let (Some(signer), Some(hasher)) = (&self.options.signer, signed) {
            self.signatures(out, signer, hasher)?;
        }
        out.close("电子文件封装包")?;
        Ok(Ok(content))
    }

    fn file_entity<W: Write>(&self, out: &mut Out<W>) -> io::Result<Result<u64, Vec<Finding>>> {
        let item = self.item;
        let dh: &Danghao = &item.danghao;
        let profile = &self.options.profile;
        out.open("文件实体", &[])?;
        out.text("聚合层次", "文件")?;
        out.open("来源", &[])?;
        out.opt("档案馆名称", Some(&profile.source.archive_name))?;
        out.opt("档案馆代码", Some(&profile.source.archive_code))?;
        out.opt("全宗名称", Some(&profile.source.fonds_name))?;
        let unit = if profile.source.creating_unit.trim().is_empty() {
            self.batch.submitter
        } else {
            profile.source.creating_unit.as_str()
        };
        out.text("立档单位名称", unit)?;
        out.close("来源")?;
        // 电子文件号 (M7): the 档号, which identifies the item uniquely in the fonds.
        out.text("电子文件号", &dh.to_string())?;
        // 档号 (M8) from the DA/T 22-2015 parts: 全宗号, 年度, 保管期限 (in the 2009 words: Y → 永久,
        // D30 → 30年, D10 → 10年), 机构(问题)代码 → 机构或问题, 门类代码 → 类别号, 件号 → 室编件号.
        out.open("档号", &[])?;
        out.text("全宗号", &dh.fonds)?;
        out.text("年度", &format!("{:04}", dh.year))?;
        out.text("保管期限", dh.retention.word_2009())?;
        out.opt("机构或问题", dh.unit.as_deref())?;
        out.text("类别号", &dh.category)?;
        out.text("室编件号", &format!("{:04}", dh.item))?;
        out.close("档号")?;

        out.open("内容描述", &[])?;
        out.text("题名", &item.title)?;
        // 分类号 (M30): the catalog code the item is filed under.
        out.opt("分类号", Some(&item.catalog_code))?;
        out.opt("文件编号", item.field(Field::DocumentNo))?;
        // 责任者 (M32) is required; a 目录 without it says so rather than leaving a hole.
        out.text(
            "责任者",
            item.field(Field::Creator)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or("不详"),
        )?;
        // 日期 (M33) is required: the 目录's date, else the 年度 of the 档号.
        let date = item
            .date
            .clone()
            .unwrap_or_else(|| format!("{:04}", dh.year));
        out.text("日期", &date)?;
        out.text("密级", self.secrecy)?;
        out.close("内容描述")?;

        out.open("形式特征", &[])?;
        out.text(
            "文件组合类型",
            if self.parts.len() > 1 && item.pages.is_none_or(|p| p as usize != self.parts.len()) {
                "组合文件"
            } else {
                "单件"
            },
        )?;
        out.text("件数", "1")?;
        if let Some(p) = item.pages {
            out.text("页数", &p.to_string())?;
        }
        out.opt("语种", Some(&profile.package.language))?;
        out.close("形式特征")?;

        out.open("存储位置", &[])?;
        out.text("当前位置", &file_name(item))?;
        out.text("脱机载体编号", self.batch.carrier)?;
        out.close("存储位置")?;

        out.open("权限管理", &[])?;
        out.text(
            "控制标识",
            if self.secrecy == "公开" {
                "开放"
            } else {
                "控制"
            },
        )?;
        out.close("权限管理")?;
        out.text(
            "信息系统描述",
            &format!(
                "{} (https://github.com/dangan): 由目录与扫描文件生成 DA/T 48-2009 EEP",
                crate::software_agent()
            ),
        )?;
        for p in self.parts {
            if let Some(d) = p.record.digest("sha256") {
                out.text("附注", &format!("{DIGEST_NOTE}{} {d}", p.id))?;
            }
        }
        out.opt("附注", item.field(Field::Remarks))?;

        out.open("文件数据", &[])?;
        out.open("文档", &[])?;
        out.text("文档标识符", "修改0-文档1")?;
        out.text("文档序号", "1")?;
        out.text("文档主从声明", "主文档")?;
        out.text("题名", &item.title)?;
        out.open("文档数据", &[("文档数据ID", "修改0-文档1-文档数据1")])?;
        let mut content = 0u64;
        let mut findings = Vec::new();
        for p in self.parts {
            match self.encoding(out, p)? {
                Ok(n) => content += n,
                Err(f) => findings.push(f),
            }
        }
        out.close("文档数据")?;
        out.close("文档")?;
        out.close("文件数据")?;
        out.close("文件实体")?;
        Ok(if findings.is_empty() {
            Ok(content)
        } else {
            Err(findings)
        })
    }

    /// One 编码: the file's properties, then its bytes in Base64. `Ok(Err(_))` when the bytes read are not
    /// the ones the scan recorded (size or SHA-256).
    fn encoding<W: Write>(
        &self,
        out: &mut Out<W>,
        p: &Part<'_>,
    ) -> io::Result<Result<u64, Finding>> {
        let r = p.record;
        let name = p.rel.rsplit('/').next().unwrap_or(p.rel);
        out.open("编码", &[("编码ID", &p.id)])?;
        out.open("电子属性", &[])?;
        if let Some(id) = &r.identification {
            out.open("格式信息", &[])?;
            out.opt("格式名称", Some(&id.format))?;
            out.opt("格式版本", id.version.as_deref())?;
            out.opt("MIME媒体类型", Some(&id.mime))?;
            if let Some(puid) = &id.puid {
                out.text("格式注册系统名称", "PRONOM")?;
                out.text("注册ID", puid)?;
            }
            out.close("格式信息")?;
        }
        out.text("计算机文件名", name)?;
        out.text("计算机文件大小", &r.size.to_string())?;
        out.opt("文档创建程序", creating_program(r).as_deref())?;
        out.close("电子属性")?;
        if let Some(d) = self.digitization(r) {
            out.open("数字化属性", &[])?;
            out.opt(
                "数字化对象形态",
                Some(&self.options.profile.package.digitized_form),
            )?;
            out.text("扫描分辨率", &d.dpi)?;
            out.text("扫描色彩模式", d.colour)?;
            out.opt("图像压缩方案", d.compression.as_deref())?;
            out.close("数字化属性")?;
        }
        out.text("编码描述", ENCODING_DESCRIPTION)?;
        let ext = crate::identify::extension(name).unwrap_or_else(|| "bin".into());
        out.text("反编码关键字", &ext)?;
        out.indent()?;
        out.start_tag("编码数据", &[("编码数据ID", &format!("{}-数据", p.id))])?;
        out.raw(b"\n")?;
        let path = self.batch.files_dir.join(p.rel);
        let (size, sha256) = encode_file(&path, out)?;
        out.raw("</编码数据>\n".as_bytes())?;
        out.close("编码")?;
        let expected = r.digest("sha256").unwrap_or_default();
        if size != r.size || (!expected.is_empty() && sha256 != expected) {
            return Ok(Err(Finding::new(
                "DA/T 48-2009 编码数据",
                Level::Error,
                Some(p.rel.to_string()),
                format!(
                    "读取的文件与扫描时不同 (大小 {size}/{}, SHA-256 {sha256}/{expected}): 文件在打包期间被改动, 未生成 EEP",
                    r.size
                ),
                format!(
                    "the file read is not the one scanned (size {size}/{}, SHA-256 {sha256}/{expected}): it changed during the run; no EEP written",
                    r.size
                ),
            )));
        }
        Ok(Ok(size))
    }

    /// 数字化属性 of a scanned page: from its QC (DA/T 31-2017), else from its headers.
    fn digitization(&self, r: &FileRecord) -> Option<Digitized> {
        if !crate::scan::is_page(r) {
            return None;
        }
        let ch = r.characterization.as_ref();
        let compression = ch.and_then(|c| {
            c.tiff
                .as_ref()
                .map(|t| {
                    format!(
                        "TIFF {} (Compression {})",
                        t.compression_name, t.compression
                    )
                })
                .or_else(|| c.jpeg.as_ref().map(|j| format!("JPEG ({})", j.process)))
                .or_else(|| c.image.as_ref().and_then(|i| i.compression.clone()))
        });
        if let Some(q) = self.batch.qc_pages.get(r.path.as_str()) {
            return Some(Digitized {
                dpi: q
                    .dpi
                    .map(|d| format!("{d:.0} dpi"))
                    .unwrap_or_else(|| "未记录".into()),
                colour: q.colour_mode.label_zh(),
                compression,
            });
        }
        let t = ch?.tiff.as_ref()?;
        Some(Digitized {
            dpi: t
                .x_dpi
                .zip(t.y_dpi)
                .map(|(x, y)| format!("{:.0} dpi", x.min(y)))
                .unwrap_or_else(|| "未记录".into()),
            colour: t.color_mode_zh?,
            compression,
        })
    }

    fn business<W: Write>(&self, out: &mut Out<W>) -> io::Result<()> {
        let now = self.ctx.now_rfc3339();
        let agent = if self.options.profile.operator.name.trim().is_empty() {
            "机构1"
        } else {
            "人员1"
        };
        let file_id = self.item.danghao.to_string();
        out.open("业务实体块", &[])?;
        let mut n = 0;
        let pages: Vec<&FileRecord> = self
            .parts
            .iter()
            .map(|p| p.record)
            .filter(|r| crate::scan::is_page(r))
            .collect();
        if !pages.is_empty() {
            n += 1;
            let mut desc = format!(
                "{} 页扫描图像按 DA/T 31-2017 检查 (分辨率、色彩模式、空白页、倾斜、页序)",
                pages.len()
            );
            for r in &pages {
                if let Some(q) = self.batch.qc_pages.get(r.path.as_str()) {
                    desc.push_str(&format!(
                        "; {}: {}, {}{}",
                        r.path.rsplit('/').next().unwrap_or(&r.path),
                        q.dpi
                            .map(|d| format!("{d:.0} dpi"))
                            .unwrap_or_else(|| "分辨率未记录".into()),
                        q.colour_mode.label_zh(),
                        if q.ok() { ", 合格" } else { ", 不合格" }
                    ));
                }
            }
            self.action(
                out,
                n,
                agent,
                &file_id,
                "数字化质量检查",
                &now,
                "DA/T 31-2017 纸质档案数字化规范",
                &desc,
            )?;
        }
        n += 1;
        let signed = match &self.options.signer {
            Some(s) => format!("; 以 {} 签名并锁定签名", s.algorithm().oid()),
            None => "; 未签名".to_string(),
        };
        self.action(
            out,
            n,
            agent,
            &file_id,
            "封装",
            &now,
            "DA/T 48-2009 基于XML的电子文件封装规范",
            &format!(
                "{} 将 {} 个计算机文件按 RFC 2045 Base64 编码封装为 EEP{signed}",
                crate::software_agent(),
                self.parts.len()
            ),
        )?;
        out.close("业务实体块")
    }

    #[allow(clippy::too_many_arguments)]
    fn action<W: Write>(
        &self,
        out: &mut Out<W>,
        n: usize,
        agent: &str,
        file_id: &str,
        what: &str,
        when: &str,
        basis: &str,
        desc: &str,
    ) -> io::Result<()> {
        out.open("业务实体", &[])?;
        out.text("业务标识符", &format!("业务{n}"))?;
        out.text("机构人员标识符", agent)?;
        out.text("文件标识符", file_id)?;
        out.text("业务状态", "历史行为")?;
        out.text("业务行为", what)?;
        out.text("行为时间", when)?;
        out.text("行为依据", basis)?;
        out.text("行为描述", desc)?;
        out.close("业务实体")
    }

    fn agents<W: Write>(&self, out: &mut Out<W>) -> io::Result<()> {
        out.open("机构人员实体块", &[])?;
        out.open("机构人员实体", &[])?;
        out.text("机构人员标识符", "机构1")?;
        out.text("机构人员类型", "单位")?;
        out.text("机构人员名称", self.batch.submitter)?;
        out.opt("组织机构代码", self.batch.submitter_id)?;
        out.close("机构人员实体")?;
        let op = &self.options.profile.operator;
        if !op.name.trim().is_empty() {
            out.open("机构人员实体", &[])?;
            out.text("机构人员标识符", "人员1")?;
            out.text("机构人员类型", "个人")?;
            out.text("机构人员名称", &op.name)?;
            out.opt("个人职位", Some(&op.position))?;
            out.close("机构人员实体")?;
        }
        out.close("机构人员实体块")
    }

    /// 电子签名块 (over 被签名对象) and 锁定签名 (over that 电子签名), at the root's depth.
    fn signatures<W: Write>(
        &self,
        out: &mut Out<W>,
        signer: &Signer,
        hashed: Hasher,
    ) -> io::Result<()> {
        let to_io = |e: super::KeyError| io::Error::other(e.to_string());
        let now = self.ctx.now_rfc3339();
        let who = signer
            .signer_name
            .clone()
            .unwrap_or_else(|| self.batch.submitter.to_string());
        let key_words = if signer.has_certificate {
            "证书为签名者的 X.509 证书 (DER)"
        } else {
            "未提供证书: 证书 元素为签名者公钥 (DER 编码的 SubjectPublicKeyInfo)"
        };
        let sig = signer.sign(hashed).map_err(to_io)?;
        // The 电子签名 element is built apart (at its depth in the file) so that its exact bytes can be
        // locked; the bytes written are those bytes.
        let mut element = Out::new(Vec::new());
        element.depth = 2;
        element.raw(b"<")?;
        element.raw("电子签名>\n".as_bytes())?;
        element.depth += 1;
        element.text("签名标识符", "修改0-签名1")?;
        signature_fields(
            &mut element,
            &format!(
                "DA/T 48-2009 电子签名: 签名对象为本文件中 被签名对象 元素的 UTF-8 字节, 自其起始标签的 '<' 至结束标签 '</被签名对象>' 的 '>' (按写入原样, 不做 XML 规范化); {}; {key_words}",
                signer.algorithm().words()
            ),
            &now,
            &who,
            &sig,
            &signer.certificate,
            signer.algorithm().oid(),
        )?;
        element.depth -= 1;
        element.indent()?;
        element.raw("</电子签名>".as_bytes())?;
        let element = element.w;
        let mut lock = signer.hasher();
        lock.update(&element);
        let lock_sig = signer.sign(lock).map_err(to_io)?;

        out.open("电子签名块", &[])?;
        out.indent()?;
        out.raw(&element)?;
        out.raw(b"\n")?;
        out.close("电子签名块")?;
        out.open("锁定签名", &[])?;
        out.text("被锁定签名标识符", "修改0-签名1")?;
        out.text("签名标识符", "修改0-签名2")?;
        signature_fields(
            out,
            &format!(
                "DA/T 48-2009 锁定签名: 签名对象为 签名标识符 为 修改0-签名1 的 电子签名 元素的 UTF-8 字节, 自其起始标签的 '<' 至结束标签 '</电子签名>' 的 '>' (按写入原样, 不做 XML 规范化); {}; {key_words}",
                signer.algorithm().words()
            ),
            &now,
            &who,
            &lock_sig,
            &signer.certificate,
            signer.algorithm().oid(),
        )?;
        out.close("锁定签名")
    }
}

/// The fields a 电子签名 and a 锁定签名 share, in their order.
fn signature_fields<W: Write>(
    out: &mut Out<W>,
    rule: &str,
    when: &str,
    who: &str,
    sig: &[u8],
    cert: &[u8],
    oid: &str,
) -> io::Result<()> {
    let b64 = base64::engine::general_purpose::STANDARD;
    out.text("签名规则", rule)?;
    out.text("签名时间", when)?;
    out.text("签名人", who)?;
    out.text("签名结果", &b64.encode(sig))?;
    out.open("证书块", &[])?;
    out.text("证书", &b64.encode(cert))?;
    out.close("证书块")?;
    out.text("签名算法标识", oid)
}

struct Digitized {
    dpi: String,
    colour: &'static str,
    compression: Option<String>,
}

/// 文档创建程序 (M50): the software a file's headers name.
fn creating_program(r: &FileRecord) -> Option<String> {
    let c = r.characterization.as_ref()?;
    c.tiff
        .as_ref()
        .and_then(|t| t.software.clone())
        .or_else(|| c.pdf.as_ref().and_then(|p| p.producer.clone()))
        .filter(|s| !s.trim().is_empty())
}

/// Stream a file into `out` as Base64 in 76-character lines (RFC 2045 §6.8; lines end in LF, which XML
/// end-of-line handling makes of CRLF anyway, XML 1.0 §2.11), in chunks of [`CHUNK_IN`] bytes. Returns
/// the bytes read and their SHA-256.
fn encode_file<W: Write>(path: &Path, out: &mut Out<W>) -> io::Result<(u64, String)> {
    let mut file = crate::fsutil::open_regular_io(path)?;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut input = vec![0u8; CHUNK_IN];
    let mut output = vec![0u8; CHUNK_IN / LINE_IN * 77];
    let mut sha = sha2::Sha256::new();
    let mut total = 0u64;
    loop {
        // Fill the chunk (reads may return less), so that only the last line of the file is short.
        let n = crate::fsutil::read_full(&mut file, &mut input)?;
        if n == 0 {
            break;
        }
        sha.update(&input[..n]);
        total += n as u64;
        let mut o = 0;
        for line in input[..n].chunks(LINE_IN) {
            let w = engine
                .encode_slice(line, &mut output[o..o + 76])
                .map_err(io::Error::other)?;
            o += w;
            output[o] = b'\n';
            o += 1;
        }
        out.raw(&output[..o])?;
        if n < CHUNK_IN {
            break;
        }
    }
    let digest = sha.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok((total, hex))
}

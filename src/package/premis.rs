//! PREMIS 3.0 preservation metadata: objects (fixity, size, format), events, agents — in that order.

use crate::context::Context;
use crate::model::{Agent, AgentKind, Event, EventType, Outcome, Root};

use super::xml::Xml;
use super::{PackageSpec, WrittenFile};

pub const PREMIS_NS: &str = "http://www.loc.gov/premis/v3";

fn event_label(t: EventType) -> &'static str {
    match t {
        EventType::Capture => "capture",
        EventType::Creation => "creation",
        EventType::MessageDigestCalculation => "message digest calculation",
        EventType::FormatIdentification => "format identification",
        EventType::Validation => "validation",
        EventType::Normalization => "normalization",
        EventType::Ingestion => "ingestion",
        EventType::FixityCheck => "fixity check",
        EventType::VirusCheck => "virus check",
        EventType::InformationPackageCreation => "information package creation",
    }
}

fn agent_id(a: &Agent) -> String {
    match &a.version {
        Some(v) => format!("{} {v}", a.name),
        None => a.name.clone(),
    }
}

/// `UUID` for `urn:uuid:…` and bare UUIDs (what dangan draws), `local` otherwise.
fn event_id_type(id: &str) -> &'static str {
    let bare = id.strip_prefix("urn:uuid:").unwrap_or(id);
    if bare.len() == 36 && bare.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        "UUID"
    } else {
        "local"
    }
}

fn identifier(x: &mut Xml, el: &str, kind: &str, value: &str) {
    x.open(el, &[]);
    x.text(&format!("{el}Type"), &[], kind);
    x.text(&format!("{el}Value"), &[], value);
    x.close();
}

/// The package's events: those the pipeline recorded, plus digest calculation and package creation for
/// everything written here.
fn all_events(spec: &PackageSpec, ctx: &Context, content: &[WrittenFile]) -> Vec<Event> {
    let mut events = spec.events.clone();
    let now = ctx.now_rfc3339();
    let objects: Vec<String> = content.iter().map(|f| f.path.clone()).collect();
    let algorithms = if spec.sm3 { "SHA-256, SM3" } else { "SHA-256" };
    events.push(
        Event::new(
            EventType::MessageDigestCalculation,
            Root::Package,
            objects.clone(),
            &now,
        )
        .with_id(ctx.ids.event_id())
        .with_agents(vec![ctx.agent.clone()])
        .with_detail(format!(
            "{algorithms}, computed while copying into the package and verified by reading back"
        )),
    );
    events.push(
        Event::new(
            EventType::InformationPackageCreation,
            Root::Package,
            objects,
            &now,
        )
        .with_id(ctx.ids.event_id())
        .with_agents(vec![ctx.agent.clone()])
        .with_detail(format!("E-ARK SIP 2.2.0 {}", spec.objid)),
    );
    events
}

/// PREMIS for `content`. The package-level document (`package_events`) also carries the pipeline's
/// events and package creation; a representation's document carries the events that touched its files.
pub fn premis_xml(
    spec: &PackageSpec,
    ctx: &Context,
    content: &[WrittenFile],
    package_events: bool,
    schema_prefix: &str,
) -> String {
    let events: Vec<Event> = if package_events {
        all_events(spec, ctx, content)
    } else {
        spec.events
            .iter()
            .filter(|e| e.objects().any(|o| content.iter().any(|f| &f.path == o)))
            .cloned()
            .collect()
    };
    let location = format!("http://www.loc.gov/premis/v3 {schema_prefix}schemas/premis.xsd");
    let mut agents: Vec<Agent> = vec![ctx.agent.clone()];
    agents.push(Agent {
        kind: AgentKind::Organization,
        name: spec.submitter.clone(),
        version: None,
    });
    for a in spec
        .agents
        .iter()
        .chain(events.iter().flat_map(|e| &e.agents))
    {
        if !agents.contains(a) {
            agents.push(a.clone());
        }
    }

    let mut x = Xml::new();
    x.open(
        "premis",
        &[
            ("xmlns", PREMIS_NS),
            ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
            ("xsi:schemaLocation", &location),
            ("version", "3.0"),
        ],
    );
    for f in content {
        x.open("object", &[("xsi:type", "file")]);
        identifier(&mut x, "objectIdentifier", "local", &f.path);
        x.open("objectCharacteristics", &[]);
        x.text("compositionLevel", &[], "0");
        x.open("fixity", &[]);
        x.text("messageDigestAlgorithm", &[], "SHA-256");
        x.text("messageDigest", &[], &f.sha256);
        x.text("messageDigestOriginator", &[], "dangan");
        x.close();
        if let Some(sm3) = &f.sm3 {
            // GB/T 32905 SM3, as an opt-in second digest (国密).
            x.open("fixity", &[]);
            x.text("messageDigestAlgorithm", &[], "SM3");
            x.text("messageDigest", &[], sm3);
            x.text("messageDigestOriginator", &[], "dangan");
            x.close();
        }
        x.text("size", &[], &f.size.to_string());
        x.open("format", &[]);
        match &f.identification {
            Some(i) => {
                x.open("formatDesignation", &[]);
                let name = if i.format.is_empty() {
                    i.mime.as_str()
                } else {
                    i.format.as_str()
                };
                x.text("formatName", &[], name);
                if let Some(v) = &i.version {
                    x.text("formatVersion", &[], v);
                }
                x.close();
                if let Some(puid) = &i.puid {
                    x.open("formatRegistry", &[]);
                    x.text("formatRegistryName", &[], "PRONOM");
                    x.text("formatRegistryKey", &[], puid);
                    x.text("formatRegistryRole", &[], "specification");
                    x.close();
                }
                if !i.basis.is_empty() {
                    x.text("formatNote", &[], &format!("identified by {}", i.basis));
                }
            }
            None => {
                x.open("formatDesignation", &[]);
                x.text("formatName", &[], &f.mime);
                x.close();
                x.text("formatNote", &[], "not identified");
            }
        }
        x.close(); // format
        x.close(); // objectCharacteristics
        if let Some(orig) = &f.original_name {
            x.text("originalName", &[], orig);
        }
        // A derivative points to its sources and to the event that made it (PREMIS relationship
        // "derivation"), from the one event record.
        for e in spec.events.iter().filter(|e| e.outputs.contains(&f.path)) {
            x.open("relationship", &[]);
            x.text("relationshipType", &[], "derivation");
            x.text("relationshipSubType", &[], "has source");
            for src in &e.sources {
                x.open("relatedObjectIdentifier", &[]);
                x.text("relatedObjectIdentifierType", &[], "local");
                x.text("relatedObjectIdentifierValue", &[], src);
                x.close();
            }
            if !e.id.is_empty() {
                identifier(
                    &mut x,
                    "relatedEventIdentifier",
                    event_id_type(&e.id),
                    &e.id,
                );
            }
            x.close();
        }
        x.close(); // object
    }
    for e in &events {
        x.open("event", &[]);
        identifier(&mut x, "eventIdentifier", event_id_type(&e.id), &e.id);
        x.text(
            "eventType",
            &[
                ("authority", "eventType"),
                (
                    "authorityURI",
                    "http://id.loc.gov/vocabulary/preservation/eventType",
                ),
                ("valueURI", &e.event_type.uri()),
            ],
            event_label(e.event_type),
        );
        x.text("eventDateTime", &[], &e.date_time());
        if let Some(d) = e.detail_text() {
            x.open("eventDetailInformation", &[]);
            x.text("eventDetail", &[], &d);
            x.close();
        }
        x.open("eventOutcomeInformation", &[]);
        let outcome = match e.outcome {
            Outcome::Success => "success",
            Outcome::Warning => "warning",
            Outcome::Failure => "failure",
            Outcome::Skipped => "skipped",
        };
        x.text("eventOutcome", &[], outcome);
        x.close();
        for a in &e.agents {
            x.open("linkingAgentIdentifier", &[]);
            x.text("linkingAgentIdentifierType", &[], "local");
            x.text("linkingAgentIdentifierValue", &[], &agent_id(a));
            if a.kind == AgentKind::Software {
                // LoC eventRelatedAgentRole vocabulary.
                x.text("linkingAgentRole", &[], "executing program");
            }
            x.close();
        }
        // LoC eventRelatedObjectRole vocabulary: what the event acted on, and what it made.
        for (objects, role) in [(&e.sources, "source"), (&e.outputs, "outcome")] {
            for o in objects {
                x.open("linkingObjectIdentifier", &[]);
                x.text("linkingObjectIdentifierType", &[], "local");
                x.text("linkingObjectIdentifierValue", &[], o);
                x.text("linkingObjectRole", &[], role);
                x.close();
            }
        }
        x.close();
    }
    for a in &agents {
        x.open("agent", &[]);
        identifier(&mut x, "agentIdentifier", "local", &agent_id(a));
        x.text("agentName", &[], &a.name);
        let t = match a.kind {
            AgentKind::Software => "software",
            AgentKind::Person => "person",
            AgentKind::Organization => "organization",
        };
        x.text("agentType", &[], t);
        if let Some(v) = &a.version {
            x.text("agentVersion", &[], v);
        }
        x.close();
    }
    x.finish()
}

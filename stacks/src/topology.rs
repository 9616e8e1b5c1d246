//! The environment as a graph: what `tracker-cdk diagram` draws.
//!
//! [`topology`] builds a [`Topology`] from the same [`Settings`] and the same declaration tables
//! the stacks are built from ([`tracker::PUBLIC`], [`tracker::WORKERS`], [`tracker::MIGRATION`],
//! [`tracker::SITES`], [`tracker::network_props`], [`tracker::database_props`],
//! [`tracker::data_host_props`]): a service that declares `connects_to` gets the edge
//! `api -> db:5432`, a disabled service is left out, production draws the Patroni cluster behind
//! its NLB and ElastiCache where staging draws its one data host. A test checks the edges against
//! the security-group rules of the synthesized templates (`<consumer> -> <endpoint>:<port>`), so
//! the picture cannot drift from what deploys.
//!
//! The model is open: a new kind of node is a [`NodeKind`] variant with its style
//! ([`NodeKind::style`]), a new kind of edge an [`EdgeKind`] variant. [`Topology::to_dot`] writes
//! Graphviz DOT, which [`render_svg`] lays out with the pure-Rust `layout-rs` (no system
//! package); the DOT is deterministic (nodes and edges in insertion order).

use std::fmt::Write as _;

use tracker_constructs::managed_redis::ManagedRedisProps;

use crate::settings::{Environment, Settings};
use crate::tracker;

/// Where a node lives: outside the VPC, or in one of its subnet tiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Placement {
    /// Outside the VPC: the internet, CloudFront, S3, regional services.
    Outside,
    /// Public subnets (one per AZ): the ALB, the NAT gateways.
    Public,
    /// Private subnets with egress (one per AZ): the tasks, the data plane.
    Private,
}

impl Placement {
    /// How the tier is named in the picture.
    pub fn label(self) -> &'static str {
        match self {
            Placement::Outside => "outside the VPC",
            Placement::Public => "public subnets",
            Placement::Private => "private subnets",
        }
    }
}

/// What a node stands for. Add a variant (and its [`NodeKind::style`]) for a new kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeKind {
    /// The clients on the internet.
    Internet,
    /// The shared HTTPS application load balancer.
    LoadBalancer,
    /// NAT gateways (the tasks' way out).
    NatGateway,
    /// A Fargate service behind the ALB.
    PublicService,
    /// A Fargate service without a load balancer that serves a port in Service Connect.
    PrivateService,
    /// A Fargate service without a load balancer.
    Worker,
    /// A task definition run on demand (the migration).
    OneOffTask,
    /// An EFS file system.
    FileSystem,
    /// A PostgreSQL endpoint (the NLB writer endpoint, or the staging host's PostgreSQL).
    Database,
    /// One EC2 database node (Patroni).
    DatabaseNode,
    /// A Redis/Valkey endpoint.
    Cache,
    /// A CloudFront distribution.
    Distribution,
    /// An S3 bucket.
    Bucket,
    /// An SQS work queue (with its dead-letter queue), `<env>.queues`.
    Queue,
    /// A command run on a schedule (EventBridge Scheduler), `<env>.scheduledTasks`.
    ScheduledTask,
}

/// How a node kind is drawn: DOT shape and fill colour.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub shape: &'static str,
    pub fill: &'static str,
}

impl NodeKind {
    /// Its DOT shape and fill colour.
    pub fn style(self) -> Style {
        let (shape, fill) = match self {
            NodeKind::Internet => ("ellipse", "#ffffff"),
            NodeKind::LoadBalancer => ("box", "#f6d7a7"),
            NodeKind::NatGateway => ("box", "#eeeeee"),
            NodeKind::PublicService => ("box", "#cfe2f3"),
            NodeKind::PrivateService => ("box", "#d9d2e9"),
            NodeKind::Worker => ("box", "#d9ead3"),
            NodeKind::OneOffTask => ("box", "#fff2cc"),
            NodeKind::FileSystem => ("box", "#ead1dc"),
            NodeKind::Database => ("box", "#f4cccc"),
            NodeKind::DatabaseNode => ("box", "#f4cccc"),
            NodeKind::Cache => ("box", "#f4cccc"),
            NodeKind::Distribution => ("box", "#d0e0e3"),
            NodeKind::Bucket => ("box", "#d0e0e3"),
            NodeKind::Queue => ("box", "#fce5cd"),
            NodeKind::ScheduledTask => ("box", "#fff2cc"),
        };
        Style { shape, fill }
    }
}

/// One node: a stable id (the Service Connect or endpoint name where there is one), what it is,
/// where it lives, and its label lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub kind: NodeKind,
    pub placement: Placement,
    /// The one AZ it lives in (1-based, in the VPC's order), for a node that is not spread over
    /// every AZ of its tier (a Patroni node).
    pub az: Option<u8>,
    /// The first line is its name; the others say what it is (size, count, host).
    pub lines: Vec<String>,
}

/// What an edge stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EdgeKind {
    /// A service's declared dependency (`connects_to`): the security-group rule and the
    /// `<NAME>_HOST` / `<NAME>_PORT` variables follow from it. Labelled `<endpoint>:<port>`.
    Declared { endpoint: String, port: u16 },
    /// Traffic the infrastructure routes: an ALB host rule, CloudFront to its origin, the NLB to
    /// a node, a mount. Labelled with what is routed.
    Routes(String),
}

/// A directed edge `from -> to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
}

impl Edge {
    /// The edge's label: `db:5432` for a declared dependency.
    pub fn label(&self) -> String {
        match &self.kind {
            EdgeKind::Declared { endpoint, port } => format!("{endpoint}:{port}"),
            EdgeKind::Routes(what) => what.clone(),
        }
    }
}

/// An environment's graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    pub environment: Environment,
    /// What the picture's title says (stacks, region, AZs).
    pub title: String,
    /// The AZs the VPC spans (its subnet tiers have one subnet in each).
    pub azs: u8,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

impl Topology {
    fn node(&mut self, id: &str, kind: NodeKind, placement: Placement, lines: &[String]) {
        self.nodes.push(Node {
            id: id.to_string(),
            kind,
            placement,
            az: None,
            lines: lines.to_vec(),
        });
    }

    fn edge(&mut self, from: &str, to: &str, kind: EdgeKind) {
        self.edges.push(Edge {
            from: from.to_string(),
            to: to.to_string(),
            kind,
        });
    }

    /// The node `id`.
    pub fn get(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The declared dependencies as `(consumer, "endpoint:port")`, in order.
    pub fn declared_edges(&self) -> Vec<(String, String)> {
        self.edges
            .iter()
            .filter(|e| matches!(e.kind, EdgeKind::Declared { .. }))
            .map(|e| (e.from.clone(), e.label()))
            .collect()
    }

    /// Graphviz DOT: left to right from the internet to the data plane; each node's fill says
    /// its kind and its last line its subnet tier (`[private subnets, 3 AZs]`; a Patroni node
    /// names its AZ); declared dependencies are solid edges, routed traffic dashed.
    pub fn to_dot(&self) -> String {
        let mut dot = String::new();
        let _ = writeln!(dot, "digraph {} {{", quote(&self.title));
        let _ = writeln!(dot, "  rankdir=LR;");
        for node in &self.nodes {
            let style = node.kind.style();
            let mut lines = node.lines.clone();
            lines.push(match (node.placement, node.az) {
                (Placement::Outside, _) => format!("[{}]", node.placement.label()),
                (p, Some(az)) => format!("[{}, AZ {az}]", p.label().trim_end_matches('s')),
                (p, None) => format!("[{}, {} AZs]", p.label(), self.azs),
            });
            let _ = writeln!(
                dot,
                "  {} [label={}, shape={}, style=filled, fillcolor={}];",
                quote(&node.id),
                quote(&lines.join("\n")),
                style.shape,
                quote(style.fill),
            );
        }
        for edge in &self.edges {
            let style = match edge.kind {
                EdgeKind::Declared { .. } => "solid",
                EdgeKind::Routes(_) => "dashed",
            };
            let _ = writeln!(
                dot,
                "  {} -> {} [label={}, style={}];",
                quote(&edge.from),
                quote(&edge.to),
                quote(&edge.label()),
                style,
            );
        }
        let _ = writeln!(dot, "}}");
        dot
    }
}

/// A DOT string literal.
fn quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// `Fargate 0.5 vCPU / 1 GiB, 2-6 tasks`.
fn sizing_line(s: &Settings, service: &str) -> String {
    let size = s.sizing(service);
    let count = if size.autoscales() {
        format!("{}-{} tasks", size.min, size.max)
    } else if size.desired == 1 {
        "1 task".to_string()
    } else {
        format!("{} tasks", size.desired)
    };
    format!(
        "{} vCPU / {} GiB, {count}",
        f64::from(size.cpu) / 1024.0,
        f64::from(size.memory_mib) / 1024.0
    )
}

/// The graph of environment `s`, from the declarations the stacks are built from.
pub fn topology(s: &Settings) -> Topology {
    let env = s.environment;
    let production = env == Environment::Production;
    let network = tracker::network_props(s);
    let mut t = Topology {
        environment: env,
        title: format!(
            "{} + {}: {} in {} ({} AZs)",
            env.data_stack_name(),
            env.stack_name(),
            env,
            s.region,
            network.max_azs
        ),
        azs: network.max_azs,
        nodes: Vec::new(),
        edges: Vec::new(),
    };
    use EdgeKind::{Declared, Routes};
    use NodeKind as K;
    use Placement::{Outside, Private, Public};

    t.node("internet", K::Internet, Outside, &["Internet".into()]);
    t.node(
        "alb",
        K::LoadBalancer,
        Public,
        &[
            "ALB (HTTPS 443)".into(),
            "shared by the public services".into(),
        ],
    );
    t.edge("internet", "alb", Routes("HTTPS".into()));
    t.node(
        "nat",
        K::NatGateway,
        Public,
        &[format!(
            "{} NAT gateway{}",
            network.nat_gateways,
            if network.nat_gateways == 1 { "" } else { "s" }
        )],
    );
    t.edge("nat", "internet", Routes("egress".into()));

    for (_, name, host, port, _, _) in tracker::PUBLIC {
        if !s.enabled(name) {
            continue;
        }
        let mut lines = vec![format!("{name} :{port}"), sizing_line(s, name)];
        if name == "admin" {
            lines.push("source-IP allow-list + WAF".into());
        }
        t.node(name, K::PublicService, Private, &lines);
        t.edge("alb", name, Routes(format!("{host}.{}", s.domain)));
    }
    for (_, name, singleton, _) in tracker::WORKERS {
        if !s.enabled(name) {
            continue;
        }
        let capacity = if singleton {
            "singleton, on-demand"
        } else if tracker::worker_on_spot(s, name) {
            "Fargate Spot-weighted"
        } else {
            "on-demand"
        };
        t.node(
            name,
            K::Worker,
            Private,
            &[
                format!("{name} (worker)"),
                sizing_line(s, name),
                capacity.into(),
            ],
        );
    }
    t.node(
        "anisette-v3",
        K::PrivateService,
        Private,
        &[
            "anisette-v3 :6969 (private)".into(),
            sizing_line(s, "anisette-v3"),
        ],
    );
    t.node(
        "anisette-efs",
        K::FileSystem,
        Private,
        &[
            "Anisette EFS".into(),
            "encrypted, retained, access point".into(),
        ],
    );
    t.edge("anisette-v3", "anisette-efs", Routes("NFS 2049".into()));
    let (migrate, _) = tracker::MIGRATION;
    t.node(
        migrate,
        K::OneOffTask,
        Private,
        &[
            "Migrate (one-off task)".into(),
            "api image, run by tracker-cdk release".into(),
        ],
    );

    // The data plane: the endpoints `db` and `redis` the services name.
    if production {
        let db = tracker::database_props(s);
        t.node(
            "db",
            K::Database,
            Private,
            &[
                "db: NLB writer endpoint :5432".into(),
                "PatroniCluster (PostgreSQL, etcd)".into(),
            ],
        );
        for (i, ip) in db.private_ips.iter().enumerate() {
            let id = format!("db-node-{}", i + 1);
            t.node(
                &id,
                K::DatabaseNode,
                Private,
                &[
                    format!("Patroni node {}", i + 1),
                    format!("{}, {ip}", db.instance_type),
                    format!("{} GiB data volume", db.data_volume_gib),
                ],
            );
            // One node per private subnet, in the VPC's AZ order (`privateIps`).
            t.nodes.last_mut().expect("just added").az = Some(i as u8 + 1);
            t.edge("db", &id, Routes("primary :5432".into()));
        }
        t.node(
            "db-backups",
            K::Bucket,
            Outside,
            &["pgBackRest bucket (S3)".into()],
        );
        t.edge("db-node-1", "db-backups", Routes("WAL + backups".into()));
        let redis = ManagedRedisProps {
            node_type: s.redis_node_type.clone(),
            ..ManagedRedisProps::new()
        };
        t.node(
            "redis",
            K::Cache,
            Private,
            &[
                "redis: ElastiCache Valkey :6379".into(),
                format!("{} x {}, Multi-AZ, TLS", redis.num_nodes, redis.node_type),
            ],
        );
    } else {
        let host = tracker::data_host_props(s);
        t.node(
            "db",
            K::Database,
            Private,
            &[
                "db: PostgreSQL :5432".into(),
                format!("StagingDataHost {}", host.instance_type),
                format!("{} GiB data volume", host.data_volume_gib),
            ],
        );
        t.node(
            "redis",
            K::Cache,
            Private,
            &[
                "redis: Valkey :6379".into(),
                "on the same StagingDataHost".into(),
            ],
        );
    }

    // Declared dependencies, in the order the services step builds them.
    let consumers = tracker::PUBLIC
        .iter()
        .map(|(_, name, .., c)| (*name, *c))
        .chain(tracker::WORKERS.iter().map(|(_, name, _, c)| (*name, *c)))
        .filter(|(name, _)| s.enabled(name))
        .chain([tracker::MIGRATION]);
    for (consumer, connections) in consumers {
        for (endpoint, port) in connections {
            t.edge(
                consumer,
                endpoint,
                Declared {
                    endpoint: endpoint.to_string(),
                    port: *port,
                },
            );
        }
    }

    // Work queues (in the data stack): producers send, the consumer receives.
    for (name, q) in &s.queues {
        let id = format!("{name}-queue");
        t.node(
            &id,
            K::Queue,
            Private,
            &[
                format!("{name}: SQS queue"),
                "+ dead-letter queue, KMS key".into(),
            ],
        );
        for producer in &q.producers {
            t.edge(producer, &id, Routes("sends".into()));
        }
        t.edge(&q.consumer, &id, Routes("receives".into()));
    }
    // Scheduled commands: a task on a service's image, started by EventBridge Scheduler.
    for task in &s.scheduled_tasks {
        let id = format!("{}-schedule", task.name);
        t.node(
            &id,
            K::ScheduledTask,
            Private,
            &[
                format!("{}: scheduled task", task.name),
                format!("{} ({})", task.schedule.expression, task.schedule.time_zone),
            ],
        );
        t.edge(&id, &task.service, Routes("on its image".into()));
    }

    for (id, host) in tracker::SITES {
        let cdn = format!("{host}-cdn");
        let bucket = format!("{host}-bucket");
        t.node(
            &cdn,
            K::Distribution,
            Outside,
            &[format!("{id}: CloudFront"), format!("{host}.{}", s.domain)],
        );
        t.node(
            &bucket,
            K::Bucket,
            Outside,
            &[format!("{id} bucket (S3, private)")],
        );
        t.edge("internet", &cdn, Routes("HTTPS".into()));
        t.edge(&cdn, &bucket, Routes("OAC".into()));
    }
    t
}

/// Lays the DOT out and draws it as SVG with `layout-rs` (a pure-Rust implementation of
/// Graphviz's layered layout: no system package, the same picture on every machine).
pub fn render_svg(dot: &str) -> Result<String, String> {
    use layout::backends::svg::SVGWriter;
    use layout::gv::{DotParser, GraphBuilder};
    let mut parser = DotParser::new(dot);
    let graph = parser.process()?;
    let mut builder = GraphBuilder::new();
    builder.visit_graph(&graph);
    let mut visual = builder.get();
    let mut svg = SVGWriter::new();
    visual.do_it(false, false, false, &mut svg);
    // layout-rs sizes the picture by its text estimates, which leave a wide empty margin: the
    // laid-out nodes (edge labels included) bound it instead.
    let mut extent = (0.0f64, 0.0f64);
    for node in visual.iter_nodes() {
        let (_, bottom_right) = visual.pos(node).bbox(false);
        extent = (extent.0.max(bottom_right.x), extent.1.max(bottom_right.y));
    }
    Ok(fit(&deterministic(&svg.finalize()), extent))
}

/// The SVG with its size cut to `extent` plus a margin, when that is smaller than it says.
fn fit(svg: &str, (width, height): (f64, f64)) -> String {
    let Some(start) = svg.find("<svg width=\"") else {
        return svg.to_string();
    };
    let Some(end) = svg[start..].find('>').map(|e| start + e) else {
        return svg.to_string();
    };
    let header = &svg[start..end];
    let number = |name: &str| -> Option<f64> {
        let at = header.find(&format!("{name}=\""))? + name.len() + 2;
        header[at..].split('"').next()?.parse().ok()
    };
    let (Some(w), Some(h)) = (number("width"), number("height")) else {
        return svg.to_string();
    };
    let (w, h) = ((width + 20.0).min(w).ceil(), (height + 20.0).min(h).ceil());
    format!(
        "{}<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         xmlns=\"http://www.w3.org/2000/svg\"{}",
        &svg[..start],
        &svg[end..]
    )
}

/// layout-rs writes its font classes (`.a14 {..}`) in a hash map's order: sorted here, so the
/// same graph is the same bytes (the committed pictures are compared with a fresh drawing). The
/// labels use a sans-serif face.
fn deterministic(svg: &str) -> String {
    let svg = svg.replace("font-family: Times, serif;", "font-family: sans-serif;");
    let (Some(start), Some(end)) = (svg.find("<style>\n"), svg.find("</style>")) else {
        return svg;
    };
    let body = start + "<style>\n".len();
    if end < body {
        return svg;
    }
    let mut classes: Vec<&str> = svg[body..end].lines().collect();
    classes.sort_unstable();
    let mut sorted = classes.join("\n");
    sorted.push('\n');
    format!("{}{sorted}{}", &svg[..body], &svg[end..])
}

/// The environment a stack belongs to: `staging` / `production`, or one of its stacks
/// (`TrackerStaging`, `TrackerStagingData`, ...).
pub fn environment_of(name: &str) -> Option<Environment> {
    Environment::ALL.into_iter().find(|e| {
        name == e.name()
            || name == e.stack_name()
            || name == e.data_stack_name()
            || name == e.cdn_certificate_stack_name()
    })
}

/// The stacks `names` stand for: an environment (`staging`) is its data and services stacks, a
/// stack name itself; in order, each once.
pub fn stacks_of(names: &[String]) -> Vec<String> {
    let mut stacks: Vec<String> = Vec::new();
    for name in names {
        let these = match Environment::ALL.into_iter().find(|e| e.name() == name) {
            Some(e) => vec![e.data_stack_name().to_string(), e.stack_name().to_string()],
            None => vec![name.clone()],
        };
        for s in these {
            if !stacks.contains(&s) {
                stacks.push(s);
            }
        }
    }
    stacks
}

/// What [`environment_of`] accepts, for messages.
pub fn environment_names() -> String {
    Environment::ALL
        .iter()
        .flat_map(|e| [e.name(), e.stack_name(), e.data_stack_name()])
        .collect::<Vec<_>>()
        .join(", ")
}

/// A picture's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Dot,
    Svg,
    Png,
}

impl Format {
    /// The format a file name's extension names (`.dot`, `.gv`, `.svg`, `.png`).
    pub fn of_path(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "dot" | "gv" => Some(Format::Dot),
            "svg" => Some(Format::Svg),
            "png" => Some(Format::Png),
            _ => None,
        }
    }
}

/// Why a picture could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DiagramError {
    /// The context or the settings were rejected (as at synthesis).
    #[error(transparent)]
    Settings(#[from] crate::StacksError),
    /// The layout engine refused the DOT (a bug here: the DOT is generated).
    #[error("the layout engine refused the diagram: {0}")]
    Layout(String),
    /// PNG was asked of a build without the `png` feature, or the SVG could not be rasterized.
    #[error("{0}")]
    Png(String),
}

/// The picture of the environment of `settings`, in `format`.
pub fn draw(settings: &Settings, format: Format) -> Result<Vec<u8>, DiagramError> {
    let dot = topology(settings).to_dot();
    match format {
        Format::Dot => Ok(dot.into_bytes()),
        Format::Svg => Ok(render_svg(&dot).map_err(DiagramError::Layout)?.into_bytes()),
        Format::Png => render_png(&render_svg(&dot).map_err(DiagramError::Layout)?),
    }
}

/// The settings of `environment` from the CDK context, read as synthesis reads it
/// ([`crate::context_from_env`]): `cdk.json` and `-c` overrides give the same picture as the
/// stacks they synthesize.
pub fn settings_from_env(environment: Environment) -> Result<Settings, crate::StacksError> {
    let (context, _) = crate::context_from_env()?;
    let settings = crate::AppSettings::from_context(&context)?;
    Ok(match environment {
        Environment::Staging => settings.staging,
        Environment::Production => settings.production,
    })
}

/// Rasterizes an SVG at its size with `resvg` (pure Rust), with the system's fonts.
#[cfg(feature = "png")]
pub fn render_png(svg: &str) -> Result<Vec<u8>, DiagramError> {
    let mut options = resvg::usvg::Options::default();
    let fonts = options.fontdb_mut();
    fonts.load_system_fonts();
    // The SVG names `Times, serif`; the generic families map to what is installed.
    let installed = |fonts: &resvg::usvg::fontdb::Database, family: &str| {
        fonts
            .faces()
            .any(|f| f.families.iter().any(|(name, _)| name == family))
    };
    if installed(fonts, "DejaVu Serif") {
        fonts.set_serif_family("DejaVu Serif");
    }
    if installed(fonts, "DejaVu Sans") {
        fonts.set_sans_serif_family("DejaVu Sans");
    }
    if options.fontdb.is_empty() {
        return Err(DiagramError::Png(
            "no fonts found for the PNG's labels: install a font package (Debian: \
             fonts-dejavu-core)"
                .into(),
        ));
    }
    let tree = resvg::usvg::Tree::from_str(svg, &options)
        .map_err(|e| DiagramError::Png(format!("the SVG could not be read: {e}")))?;
    let size = tree.size().to_int_size();
    let mut pixmap =
        resvg::tiny_skia::Pixmap::new(size.width(), size.height()).expect("a non-empty picture");
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::identity(),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| DiagramError::Png(format!("the PNG could not be encoded: {e}")))
}

/// Without the `png` feature: an error saying how to build with it.
#[cfg(not(feature = "png"))]
pub fn render_png(_svg: &str) -> Result<Vec<u8>, DiagramError> {
    Err(DiagramError::Png(
        "this build draws no PNG: build with `--features png` (`make diagrams` does), or ask \
         for SVG or DOT"
            .into(),
    ))
}

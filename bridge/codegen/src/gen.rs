//! Stage 2: from jsii types to Rust source, one file per generated module.
//!
//! The model: every jsii class and behavioural interface becomes a `Copy` handle type; a class
//! derefs to its base class (as web-sys does) and converts into every ancestor and implemented
//! interface; a struct (jsii datatype) becomes a Rust struct with required fields required and a
//! builder-style setter per optional field; enums and unions become Rust enums. Types outside the
//! generated modules become `rt::Opaque` (objects) or `rt::JsAny` (values): never a compile error.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use heck::{ToSnakeCase, ToUpperCamelCase};

use crate::jsii::{Assembly, Callable, Docs, Kind, Property, Type, TypeRef};

/// One generated Rust module.
#[derive(Debug, Clone)]
pub struct ModuleSpec {
    /// The jsii submodule fqn prefix (`aws-cdk-lib.aws_ecs`) or the assembly name for its root.
    pub jsii: String,
    /// The Rust module path below the crate root, e.g. `["aws_cdk_lib", "aws_ecs"]`.
    pub path: Vec<String>,
    /// The cargo feature gating it; `None` = always compiled.
    pub feature: Option<String>,
    /// Whether the feature is part of the `all` feature (a library bound only for users of the
    /// crate can stay out of it).
    pub in_all: bool,
    /// Whether other modules refer to this module's types by their Rust types. References into
    /// an untyped module are `rt::Opaque` / `rt::JsAny`, so its feature never joins another
    /// module's dependencies (README.md, "Which references are typed").
    pub typed: bool,
    /// Which crate compiles it: an index into [`crate::SHARDS`].
    pub shard: usize,
}

/// A generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Path relative to the bridge crate root.
    pub path: String,
    pub contents: String,
}

/// Where each fqn lives in Rust.
struct Index<'a> {
    types: HashMap<&'a str, &'a Type>,
    /// fqn -> (module index, Rust name) for generated types.
    place: HashMap<&'a str, (usize, String)>,
    /// (module index, Rust name) of every generated type.
    taken: HashSet<(usize, String)>,
    modules: &'a [ModuleSpec],
    /// Structs (jsii datatypes) that some method or property of their own assembly returns, and
    /// the structs of that assembly their fields hold: these get typed field accessors on
    /// `rt::StructRef<S>`. Computed over every type of the assembly, not only the generated
    /// modules, and never from another assembly's types, so neither enabling one more module nor
    /// binding one more library changes what another module's code contains.
    returned: HashSet<&'a str>,
}

const RESERVED_TYPE_NAMES: &[&str] = &[
    "Option", "Vec", "Result", "String", "Box", "Self", "BTreeMap", "Some", "None",
];

impl<'a> Index<'a> {
    fn new(assemblies: &'a [Assembly], modules: &'a [ModuleSpec]) -> Self {
        let mut types = HashMap::new();
        for a in assemblies {
            for (fqn, t) in &a.types {
                types.insert(fqn.as_str(), t);
            }
        }
        // Every submodule known to any assembly, to find a type's own (innermost) submodule.
        let mut submodules: HashSet<&str> = assemblies
            .iter()
            .flat_map(|a| a.submodules.keys().map(String::as_str))
            .collect();
        submodules.extend(assemblies.iter().map(|a| a.name.as_str()));
        let module_of: HashMap<&str, usize> = modules
            .iter()
            .enumerate()
            .map(|(i, m)| (m.jsii.as_str(), i))
            .collect();
        let mut place = HashMap::new();
        let mut taken: HashSet<(usize, String)> = HashSet::new();
        let mut fqns: Vec<&&str> = types.keys().collect();
        fqns.sort();
        for fqn in fqns {
            // The longest submodule that is a dotted prefix of the fqn.
            let mut owner = &fqn[..];
            let owner = loop {
                owner = &owner[..owner.rfind('.').expect("every type is in its assembly")];
                if submodules.contains(owner) {
                    break owner;
                }
            };
            let Some(&m) = module_of.get(owner) else {
                continue;
            };
            let rest = &fqn[owner.len() + 1..];
            let mut name: String = rest.split('.').collect();
            if RESERVED_TYPE_NAMES.contains(&name.as_str()) {
                name.push('_');
            }
            while taken.contains(&(m, name.clone())) {
                name.push('_');
            }
            taken.insert((m, name.clone()));
            place.insert(*fqn, (m, name));
        }
        let returned = returned_structs(&types);
        Index {
            types,
            place,
            taken,
            modules,
            returned,
        }
    }

    fn path_of(&self, fqn: &str) -> Option<String> {
        self.place
            .get(fqn)
            .map(|(m, name)| format!("crate::{}::{}", self.modules[*m].path.join("::"), name))
    }

    fn module_of(&self, fqn: &str) -> Option<usize> {
        self.place.get(fqn).map(|(m, _)| *m)
    }

    /// The generated type `fqn`, as seen from module `from`: a type of another module is only
    /// referred to by its Rust type when that module is `typed` (otherwise it is `rt::Opaque` or
    /// `rt::JsAny`), so what a module refers to never depends on which features are enabled.
    fn generated(&self, fqn: &str, from: usize) -> Option<&'a Type> {
        let (m, _) = self.place.get(fqn)?;
        if *m == from || self.modules[*m].typed {
            self.types.get(fqn).copied()
        } else {
            None
        }
    }
}

/// The structs that are results in their own assembly (see [`Index::returned`]), with the
/// structs of that assembly their fields hold, to a fixed point.
fn returned_structs<'a>(types: &HashMap<&'a str, &'a Type>) -> HashSet<&'a str> {
    /// The assembly of a fqn: `aws-cdk-lib.aws_ec2.Vpc` -> `aws-cdk-lib`.
    fn assembly(fqn: &str) -> &str {
        fqn.split('.').next().unwrap_or(fqn)
    }
    /// Pushes the structs of `owner`'s assembly that `t` names (directly or as list/map items).
    fn structs_in<'a>(
        types: &HashMap<&'a str, &'a Type>,
        owner: &str,
        t: &TypeRef,
        found: &mut Vec<&'a str>,
    ) {
        match t {
            TypeRef::Named { fqn } => {
                if let Some((key, ty)) = types.get_key_value(fqn.as_str()) {
                    if ty.kind == Kind::Interface && ty.datatype && assembly(key) == assembly(owner)
                    {
                        found.push(key);
                    }
                }
            }
            TypeRef::Collection { collection } => {
                structs_in(types, owner, &collection.elementtype, found)
            }
            _ => {}
        }
    }
    let mut pending = Vec::new();
    let mut fqns: Vec<&&str> = types.keys().collect();
    fqns.sort();
    for fqn in fqns {
        let t = types[*fqn];
        if t.datatype {
            continue;
        }
        for m in t.methods.iter().filter(|m| !m.protected) {
            if let Some(r) = &m.returns {
                structs_in(types, fqn, &r.type_ref, &mut pending);
            }
        }
        for p in t.properties.iter().filter(|p| !p.protected) {
            structs_in(types, fqn, &p.type_ref, &mut pending);
        }
    }
    let mut returned = HashSet::new();
    while let Some(fqn) = pending.pop() {
        if !returned.insert(fqn) {
            continue;
        }
        let mut queue = vec![types[fqn]];
        let mut seen = HashSet::new();
        while let Some(ty) = queue.pop() {
            if !seen.insert(ty.fqn.as_str()) {
                continue;
            }
            for p in &ty.properties {
                structs_in(types, fqn, &p.type_ref, &mut pending);
            }
            queue.extend(
                ty.interfaces
                    .iter()
                    .filter_map(|i| types.get(i.as_str()).copied()),
            );
        }
    }
    returned
}

/// What a jsii type becomes in Rust.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum RustType {
    String,
    Number,
    Bool,
    Any,
    Opaque,
    /// A generated handle, struct or enum (full path), and whether it is a handle (object).
    Named {
        path: String,
        handle: bool,
    },
    Vec(Box<RustType>),
    Map(Box<RustType>),
    /// A union enum, by its name in the current module.
    Union(String),
}

impl RustType {
    fn render(&self) -> String {
        match self {
            RustType::String => "rt::JsString".into(),
            RustType::Number => "rt::JsNumber".into(),
            RustType::Bool => "rt::JsBool".into(),
            RustType::Any => "rt::JsAny".into(),
            RustType::Opaque => "rt::Opaque".into(),
            RustType::Named { path, .. } => path.clone(),
            RustType::Vec(t) => format!("rt::JsList<{}>", t.render()),
            RustType::Map(t) => format!("std::collections::BTreeMap<String, {}>", t.render()),
            RustType::Union(name) => name.clone(),
        }
    }

    /// A variant name for this type inside a union enum.
    fn variant(&self) -> String {
        match self {
            RustType::String => "String".into(),
            RustType::Number => "Number".into(),
            RustType::Bool => "Bool".into(),
            RustType::Any => "Any".into(),
            RustType::Opaque => "Object".into(),
            RustType::Named { path, .. } => path
                .rsplit("::")
                .next()
                .unwrap()
                .trim_end_matches('_')
                .to_string(),
            RustType::Vec(t) => format!("{}List", t.variant()),
            RustType::Map(t) => format!("{}Map", t.variant()),
            RustType::Union(name) => name.clone(),
        }
    }
}

/// One module being generated.
struct ModuleGen<'a> {
    index: &'a Index<'a>,
    me: usize,
    out: String,
    /// Union enums of this module: canonical member list -> (name, members).
    unions: BTreeMap<Vec<RustType>, String>,
    union_names: HashSet<String>,
    /// Other generated modules this one refers to.
    uses: BTreeSet<usize>,
}

impl<'a> ModuleGen<'a> {
    fn input(&mut self, t: &TypeRef) -> RustType {
        match t {
            TypeRef::Primitive { primitive } => match primitive.as_str() {
                "string" => RustType::String,
                "number" => RustType::Number,
                "boolean" => RustType::Bool,
                _ => RustType::Any,
            },
            TypeRef::Named { fqn } => match self.index.generated(fqn, self.me) {
                Some(ty) => {
                    let m = self.index.module_of(fqn).unwrap();
                    if m != self.me {
                        self.uses.insert(m);
                    }
                    let handle =
                        ty.kind == Kind::Class || (ty.kind == Kind::Interface && !ty.datatype);
                    RustType::Named {
                        path: self.index.path_of(fqn).unwrap(),
                        handle,
                    }
                }
                None => match self.index.types.get(fqn.as_str()) {
                    Some(ty) if ty.kind == Kind::Enum || ty.datatype => RustType::Any,
                    _ => RustType::Opaque,
                },
            },
            TypeRef::Collection { collection } => {
                let item = self.input(&collection.elementtype);
                if collection.kind == "array" {
                    RustType::Vec(Box::new(item))
                } else {
                    RustType::Map(Box::new(item))
                }
            }
            TypeRef::Union { union } => {
                let mut members: Vec<RustType> = Vec::new();
                for m in &union.types {
                    let r = self.input(m);
                    if !members.contains(&r) {
                        members.push(r);
                    }
                }
                if members.len() == 1 {
                    return members.pop().unwrap();
                }
                members.sort();
                if let Some(name) = self.unions.get(&members) {
                    return RustType::Union(name.clone());
                }
                let mut name: String = members
                    .iter()
                    .map(RustType::variant)
                    .collect::<Vec<_>>()
                    .join("Or");
                if name.len() > 120 {
                    name = format!("{}OrOthers{}", members[0].variant(), members.len());
                }
                while self.union_names.contains(&name)
                    || self.index.taken.contains(&(self.me, name.clone()))
                {
                    name.push('_');
                }
                self.union_names.insert(name.clone());
                self.unions.insert(members, name.clone());
                RustType::Union(name)
            }
            TypeRef::Intersection { .. } => RustType::Opaque,
        }
    }

    /// The Rust type a method's or property's result is returned as: [`Self::output`], in an
    /// `rt::JsOptional` when jsii marks it optional (`expect` it where the code relies on it).
    fn result(&mut self, t: &TypeRef, optional: bool) -> String {
        let ret = self.output(t);
        if optional {
            format!("rt::JsOptional<{ret}>")
        } else {
            ret
        }
    }

    /// The Rust type a result of jsii type `t` is returned as.
    fn output(&mut self, t: &TypeRef) -> String {
        match t {
            TypeRef::Collection { collection } if collection.kind == "array" => {
                format!("rt::JsArray<{}>", self.output(&collection.elementtype))
            }
            TypeRef::Collection { collection } => {
                format!("rt::JsMap<{}>", self.output(&collection.elementtype))
            }
            TypeRef::Union { .. } | TypeRef::Intersection { .. } => "rt::JsAny".into(),
            TypeRef::Named { fqn } if self.index.returned.contains(fqn.as_str()) => {
                match self.input(t) {
                    RustType::Named { path, .. } => format!("rt::StructRef<{path}>"),
                    _ => "rt::JsAny".into(),
                }
            }
            other => match self.input(other) {
                RustType::Named { path, handle: true } => path,
                RustType::Named { .. } => "rt::JsAny".into(),
                simple => simple.render(),
            },
        }
    }
}

/// A Rust identifier for a jsii member or parameter name.
fn ident(name: &str) -> String {
    // Binary-unit acronyms read as one word (`memoryLimitMiB` -> `memory_limit_mib`).
    let name = name
        .replace("MiB", "Mib")
        .replace("GiB", "Gib")
        .replace("KiB", "Kib")
        .replace("TiB", "Tib");
    let snake = name.to_snake_case();
    if snake.is_empty() {
        // A parameter named `_` (or only punctuation), e.g. in cdk-monitoring-constructs.
        return "unnamed".to_string();
    }
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "box", "break", "const", "continue", "dyn", "else", "enum",
        "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move",
        "mut", "pub", "ref", "return", "static", "struct", "trait", "true", "type", "unsafe",
        "use", "where", "while", "abstract", "become", "do", "final", "macro", "override", "priv",
        "typeof", "unsized", "virtual", "yield", "try", "gen",
    ];
    if ["self", "super", "crate", "Self"].contains(&snake.as_str()) {
        format!("{snake}_")
    } else if KEYWORDS.contains(&snake.as_str()) {
        format!("r#{snake}")
    } else {
        snake
    }
}

fn doc(out: &mut String, indent: &str, docs: &Docs, extra: &[String]) {
    let mut lines: Vec<String> = Vec::new();
    if let Some(s) = &docs.summary {
        lines.extend(s.lines().map(str::to_string));
    }
    if let Some(r) = &docs.remarks {
        lines.push(String::new());
        lines.extend(r.lines().map(str::to_string));
    }
    if let Some(d) = &docs.deprecated {
        lines.push(String::new());
        lines.push(format!(
            "**Deprecated:** {}",
            d.lines().collect::<Vec<_>>().join(" ")
        ));
    }
    if let Some(d) = &docs.default {
        lines.push(String::new());
        lines.push(format!(
            "Default: {}",
            d.lines().collect::<Vec<_>>().join(" ")
        ));
    }
    if let Some(r) = &docs.returns {
        lines.push(String::new());
        lines.push(format!(
            "Returns: {}",
            r.lines().collect::<Vec<_>>().join(" ")
        ));
    }
    if let Some(s) = &docs.see {
        lines.push(String::new());
        lines.push(format!("See: <{}>", s.trim()));
    }
    for e in extra {
        lines.push(String::new());
        lines.extend(e.lines().map(str::to_string));
    }
    while lines.first().is_some_and(|l| l.trim().is_empty()) {
        lines.remove(0);
    }
    for line in doc_lines(lines.iter().flat_map(|l| l.split('\n'))) {
        if line.is_empty() {
            let _ = writeln!(out, "{indent}///");
        } else {
            let _ = writeln!(out, "{indent}/// {line}");
        }
    }
}

/// The Markdown of a doc comment with every code block fenced as non-Rust: aws-cdk-lib's examples
/// are TypeScript, so rustdoc must never compile one as a doctest. A fence without a language (or
/// marked rust) becomes `text`; an indented code block (four spaces after a blank line, outside a
/// fence, not a list item) is dedented into a `text` fence.
fn doc_lines<'s>(lines: impl Iterator<Item = &'s str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut in_fence = false;
    let mut in_indented = false;
    for line in lines {
        let line = line.trim_end();
        let indented = line.starts_with("    ");
        if in_indented && !indented && !line.is_empty() {
            while out.last().is_some_and(String::is_empty) {
                out.pop();
            }
            out.push("```".into());
            out.push(String::new());
            in_indented = false;
        }
        if in_indented {
            out.push(line.get(4..).unwrap_or_default().to_string());
            continue;
        }
        if let Some(info) = line.trim_start().strip_prefix("```") {
            if !in_fence && (info.trim().is_empty() || info.contains("rust")) {
                let indent_len = line.len() - line.trim_start().len();
                out.push(format!("{}```text", &line[..indent_len]));
            } else {
                out.push(line.to_string());
            }
            in_fence = !in_fence;
            continue;
        }
        let list_item = {
            let t = line.trim_start();
            t.starts_with("- ")
                || t.starts_with("* ")
                || t.starts_with("+ ")
                || t.split_once(". ")
                    .is_some_and(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
        };
        if !in_fence && indented && !list_item && out.last().is_none_or(String::is_empty) {
            out.push("```text".into());
            out.push(line[4..].to_string());
            in_indented = true;
            continue;
        }
        out.push(line.to_string());
    }
    if in_indented {
        while out.last().is_some_and(String::is_empty) {
            out.pop();
        }
        out.push("```".into());
    }
    out
}

/// What [`generate`] produces.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The module files (paths relative to the generated tree's root) and the root `mod.rs`.
    pub files: Vec<File>,
    /// For each module of the spec list, the other modules its public types refer to; `None` for
    /// a module that was not generated.
    pub uses: Vec<Option<BTreeSet<usize>>>,
}

/// Generates the modules for which `emit` holds. `modules[i].jsii` picks which jsii submodule
/// goes where. Every module of `modules` is indexed, emitted or not, so a module's text depends
/// only on the assemblies and the whole spec list, never on which other modules are emitted.
///
/// `dir` is where the files will be written: the shard crates include their modules from there
/// by absolute path (the macros of the root `mod.rs`, [`root_text`]).
pub fn generate(
    assemblies: &[Assembly],
    modules: &[ModuleSpec],
    emit: &dyn Fn(&ModuleSpec) -> bool,
    dir: &Path,
) -> Generated {
    let index = Index::new(assemblies, modules);
    let mut by_module: Vec<Vec<(&str, &String)>> = vec![Vec::new(); modules.len()];
    for (fqn, (m, name)) in &index.place {
        by_module[*m].push((fqn, name));
    }
    let emitted: Vec<bool> = modules.iter().map(emit).collect();
    let mut files = Vec::new();
    let mut uses = Vec::new();
    for (m, (spec, mut mine)) in modules.iter().zip(by_module).enumerate() {
        if !emitted[m] {
            uses.push(None);
            continue;
        }
        let mut g = ModuleGen {
            index: &index,
            me: m,
            out: String::new(),
            unions: BTreeMap::new(),
            union_names: HashSet::new(),
            uses: BTreeSet::new(),
        };
        mine.sort();
        for (fqn, name) in mine {
            let t = index.types[fqn];
            match t.kind {
                Kind::Enum => gen_enum(&mut g, t, name),
                Kind::Interface if t.datatype => gen_struct(&mut g, t, name),
                Kind::Interface => gen_interface(&mut g, t, name),
                Kind::Class => gen_class(&mut g, t, name),
            }
        }
        gen_unions(&mut g);
        uses.push(Some(g.uses));
        files.push(File {
            path: module_file(spec),
            contents: module_text(m, modules, &emitted, g.out),
        });
    }
    files.push(File {
        path: "mod.rs".into(),
        contents: root_text(modules, &emitted, assemblies, dir),
    });
    Generated { files, uses }
}

/// A module's file, relative to the generated tree's root (`aws_cdk_lib/aws_ecs.rs`).
pub fn module_file(spec: &ModuleSpec) -> String {
    format!("{}.rs", spec.path.join("/"))
}

const HEADER: &str = "// @generated at build time by cdk-from-rust-core's build.rs (bridge/codegen) from the pinned\n// jsii assemblies in node_modules. Not committed; see README.md, \"Regenerating the bindings\".\n";

fn module_text(m: usize, modules: &[ModuleSpec], emitted: &[bool], body: String) -> String {
    let spec = &modules[m];
    let mut out = String::from(HEADER);
    let _ = writeln!(out, "//! Bindings for jsii module `{}`.", spec.jsii);
    out.push_str("#![allow(clippy::all, clippy::pedantic, non_camel_case_types, unused_imports, deprecated)]\n\n");
    // The generated children in this module's shard are declared in its file (a nested module
    // is always in its parent's shard); the others by their shard's root (`root_text`). Paths
    // are relative to this file's directory, however the shard's root loaded it.
    for (c, child) in modules.iter().enumerate() {
        if emitted[c]
            && child.shard == spec.shard
            && child.path.len() == spec.path.len() + 1
            && child.path.starts_with(&spec.path)
        {
            let name = child.path.last().unwrap();
            let dir = spec.path.last().unwrap();
            let _ = writeln!(out, "#[path = \"{dir}/{name}.rs\"]\npub mod {name};");
        }
    }
    out.push_str("\nuse crate::runtime as rt;\n\n");
    out.push_str(&body);
    out
}

/// The root `mod.rs`, part of `cdk-from-rust-core`: its modules (constructs and aws-cdk-lib's
/// core), `PACKAGES`, and one macro per other shard, `__shard_<name>!()`, which that shard's crate
/// expands at its root: it re-exports the shards below it, then declares its generated modules by
/// absolute path under `dir`, those below aws-cdk-lib's core in a module `aws_cdk_lib` that
/// re-exports the core's (and every shard's below) items beside them.
fn root_text(
    modules: &[ModuleSpec],
    emitted: &[bool],
    assemblies: &[Assembly],
    dir: &Path,
) -> String {
    let mut out = String::from(HEADER);
    out.push_str("//! The generated bindings, one module per jsii module.\n\n");
    for (m, spec) in modules.iter().enumerate() {
        if emitted[m] && spec.shard == 0 && spec.path.len() == 1 {
            let _ = writeln!(out, "pub mod {};", spec.path[0]);
        }
    }
    out.push_str(
        "\n/// The npm packages these bindings were generated from, with their exact versions. Every\n\
         /// recorded Program carries them (`packages`), and the shim refuses to replay against other\n\
         /// installed versions.\n\
         pub const PACKAGES: &[(&str, &str)] = &[\n",
    );
    for a in assemblies {
        let _ = writeln!(out, "    ({:?}, {:?}),", a.name, a.version);
    }
    out.push_str("];\n");
    for (s, shard) in crate::SHARDS.iter().enumerate().skip(1) {
        let deps: Vec<String> = shard
            .deps
            .iter()
            .map(|d| match *d {
                "core" => "$crate".to_string(),
                d => format!("::cdk_from_rust_{d}"),
            })
            .collect();
        let _ = write!(
            out,
            "\n/// The root of crate `cdk-from-rust-{0}`: its generated modules, and the shards below it.\n\
             #[doc(hidden)]\n#[macro_export]\nmacro_rules! __shard_{0} {{\n    () => {{\n",
            shard.name
        );
        for d in &deps {
            let _ = writeln!(
                out,
                "        #[allow(unused_imports)]\n        pub use {d}::*;"
            );
        }
        let mine: Vec<&ModuleSpec> = modules
            .iter()
            .enumerate()
            .filter(|(m, spec)| emitted[*m] && spec.shard == s)
            .map(|(_, spec)| spec)
            .collect();
        let file = |spec: &ModuleSpec| dir.join(module_file(spec)).to_string_lossy().into_owned();
        for spec in mine.iter().filter(|m| m.path.len() == 1) {
            let _ = writeln!(
                out,
                "        #[path = {:?}]\n        pub mod {};",
                file(spec),
                spec.path[0]
            );
        }
        // Only aws-cdk-lib's submodules have a parent in another shard (the core). The module is
        // declared even when this shard has none: two shards below would each re-export their
        // own `aws_cdk_lib`, and the two globs would make the name ambiguous.
        let below_core: Vec<&&ModuleSpec> = mine
            .iter()
            .filter(|m| m.path.len() == 2 && m.path[0] == "aws_cdk_lib")
            .collect();
        out.push_str(
            "        /// Bindings for jsii module `aws-cdk-lib`.\n        pub mod aws_cdk_lib {\n",
        );
        for d in &deps {
            let _ = writeln!(
                out,
                "            #[allow(unused_imports)]\n            pub use {d}::aws_cdk_lib::*;"
            );
        }
        for spec in below_core {
            let _ = writeln!(
                out,
                "            #[path = {:?}]\n            pub mod {};",
                file(spec),
                spec.path[1]
            );
        }
        out.push_str("        }\n");
        out.push_str("    };\n}\n");
    }
    out
}

/// The cargo feature table of `cdk-from-rust`: each feature with the features of the modules its
/// public types refer to (and its parent module's, for a nested module) and the core's feature of
/// the same name, then `all`. `uses` must cover every module that has a feature.
pub fn features_text(modules: &[ModuleSpec], uses: &[Option<BTreeSet<usize>>]) -> String {
    let mut out = String::new();
    let mut all = Vec::new();
    for (m, spec) in modules.iter().enumerate() {
        let Some(f) = &spec.feature else { continue };
        if spec.in_all {
            all.push(format!("\"{f}\""));
        }
        let parent = modules
            .iter()
            .position(|p| p.path[..] == spec.path[..spec.path.len() - 1]);
        let needs: BTreeSet<&String> = uses[m]
            .as_ref()
            .expect("the feature table needs every module generated")
            .iter()
            .copied()
            .chain(parent)
            .filter_map(|d| modules[d].feature.as_ref())
            .filter(|d| *d != f)
            .collect();
        let needs: Vec<String> = needs
            .iter()
            .map(|d| format!("\"{d}\""))
            .chain(std::iter::once(format!("\"cdk-from-rust-core/{f}\"")))
            .collect();
        let _ = writeln!(out, "{f} = [{}]", needs.join(", "));
    }
    let _ = writeln!(out, "all = [{}]", all.join(", "));
    out
}

/// The feature table of `cdk-from-rust-core` (whose build script generates the enabled modules):
/// one feature per module, each turned on by `cdk-from-rust`'s feature of the same name.
pub fn core_features_text(modules: &[ModuleSpec]) -> String {
    let mut out = String::new();
    for f in modules.iter().filter_map(|m| m.feature.as_ref()) {
        let _ = writeln!(out, "{f} = []");
    }
    out
}

fn gen_enum(g: &mut ModuleGen, t: &Type, name: &str) {
    let out = &mut g.out;
    doc(out, "", &t.docs, &[format!("jsii: `{}`", t.fqn)]);
    let _ = writeln!(
        out,
        "#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]\npub enum {name} {{"
    );
    let mut variants = Vec::new();
    let mut used = HashSet::new();
    for m in &t.members {
        let mut v = m.name.to_lowercase().to_upper_camel_case();
        if v.is_empty() || v.starts_with(|c: char| c.is_ascii_digit()) {
            v = format!("V{v}");
        }
        while !used.insert(v.clone()) {
            v.push('_');
        }
        doc(out, "    ", &m.docs, &[]);
        let _ = writeln!(out, "    {v},");
        variants.push((v, m.name.clone()));
    }
    let _ = writeln!(out, "}}");
    let arms: Vec<String> = variants
        .iter()
        .map(|(v, m)| format!("{v} => \"{m}\""))
        .collect();
    let _ = writeln!(
        out,
        "crate::__enum!({name}, \"{}\", {{ {} }});\n",
        t.fqn,
        arms.join(", ")
    );
}

/// All ancestors (base classes, then interfaces, transitively) that are generated: (fqn, Rust path).
fn ancestors(g: &ModuleGen, t: &Type) -> Vec<(String, String)> {
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    let mut stack: Vec<&str> = Vec::new();
    if let Some(b) = &t.base {
        stack.push(b);
    }
    stack.extend(t.interfaces.iter().map(String::as_str));
    while let Some(fqn) = stack.pop() {
        if !seen.insert(fqn.to_string()) {
            continue;
        }
        let Some(ty) = g.index.types.get(fqn) else {
            continue;
        };
        if let Some(path) = g
            .index
            .generated(fqn, g.me)
            .and_then(|_| g.index.path_of(fqn))
        {
            order.push((fqn.to_string(), path));
        }
        if let Some(b) = &ty.base {
            stack.push(b);
        }
        stack.extend(ty.interfaces.iter().map(String::as_str));
    }
    order.sort_by(|a, b| a.1.cmp(&b.1));
    order
}

fn gen_handle_decl(g: &mut ModuleGen, t: &Type, name: &str, base: Option<String>) {
    let ups: Vec<String> = ancestors(g, t)
        .into_iter()
        .map(|(fqn, path)| {
            if let Some(m) = g.index.module_of(&fqn).filter(|m| *m != g.me) {
                g.uses.insert(m);
            }
            path
        })
        .collect();
    let out = &mut g.out;
    doc(out, "", &t.docs, &[format!("jsii: `{}`", t.fqn)]);
    match &base {
        Some(b) => {
            let _ = writeln!(
                out,
                "#[derive(Clone, Copy, Debug, PartialEq, Eq)]\npub struct {name}({b});"
            );
            let _ = writeln!(out, "crate::__handle!({name} : {b});");
        }
        None => {
            let _ = writeln!(
                out,
                "#[derive(Clone, Copy, Debug, PartialEq, Eq)]\npub struct {name}(rt::Handle);"
            );
            let _ = writeln!(out, "crate::__handle!({name});");
        }
    }
    let _ = writeln!(out, "crate::__upcasts!({name} => {});", ups.join(", "));
}

fn gen_class(g: &mut ModuleGen, t: &Type, name: &str) {
    let base = t
        .base
        .as_deref()
        .filter(|b| g.index.generated(b, g.me).is_some())
        .map(|b| g.index.path_of(b).unwrap());
    if let Some(b) = t
        .base
        .as_deref()
        .filter(|b| g.index.generated(b, g.me).is_some())
    {
        if let Some(m) = g.index.module_of(b) {
            if m != g.me {
                g.uses.insert(m);
            }
        }
    }
    gen_handle_decl(g, t, name, base);
    let mut names = HashSet::new();
    let mut body = String::new();
    let ctor = t
        .initializer
        .as_ref()
        .filter(|init| !t.is_abstract && !init.protected);
    if ctor.is_some() {
        names.insert("new".to_string());
    }
    let methods: Vec<&Callable> = t.methods.iter().filter(|m| !m.protected).collect();
    let props: Vec<&Property> = t.properties.iter().filter(|p| !p.protected).collect();
    gen_members(g, &mut body, t, ctor, &methods, &props, &mut names);
    let _ = writeln!(g.out, "impl {name} {{\n{body}}}\n");
}

fn gen_interface(g: &mut ModuleGen, t: &Type, name: &str) {
    gen_handle_decl(g, t, name, None);
    // Interfaces inherit members from all their super-interfaces (multiple inheritance): flatten.
    let mut methods: Vec<&Callable> = Vec::new();
    let mut props: Vec<&Property> = Vec::new();
    let mut seen_m = HashSet::new();
    let mut seen_p = HashSet::new();
    let mut queue: Vec<&Type> = vec![t];
    let mut visited = HashSet::new();
    while !queue.is_empty() {
        let ty = queue.remove(0);
        if !visited.insert(ty.fqn.clone()) {
            continue;
        }
        for m in &ty.methods {
            if !m.protected && seen_m.insert(m.name.clone()) {
                methods.push(m);
            }
        }
        for p in &ty.properties {
            if !p.protected && seen_p.insert(p.name.clone()) {
                props.push(p);
            }
        }
        for i in &ty.interfaces {
            if let Some(it) = g.index.types.get(i.as_str()) {
                queue.push(it);
            }
        }
    }
    let mut names = HashSet::new();
    let mut body = String::new();
    gen_members(g, &mut body, t, None, &methods, &props, &mut names);
    let _ = writeln!(g.out, "impl {name} {{\n{body}}}\n");
}

enum Target {
    New,
    Static,
    Instance,
}

fn unique(names: &mut HashSet<String>, base: String, suffix: &str) -> String {
    let mut n = base;
    if names.contains(&n) {
        n = format!("{}_{suffix}", n.trim_start_matches("r#"));
    }
    while names.contains(&n) {
        n.push('_');
    }
    names.insert(n.clone());
    n
}

fn gen_members(
    g: &mut ModuleGen,
    body: &mut String,
    t: &Type,
    ctor: Option<&Callable>,
    methods: &[&Callable],
    props: &[&Property],
    names: &mut HashSet<String>,
) {
    let mut statics: Vec<&Callable> = methods.iter().copied().filter(|m| m.is_static).collect();
    let mut instance: Vec<&Callable> = methods.iter().copied().filter(|m| !m.is_static).collect();
    statics.sort_by(|a, b| a.name.cmp(&b.name));
    instance.sort_by(|a, b| a.name.cmp(&b.name));
    let mut sprops: Vec<&Property> = props.iter().copied().filter(|p| p.is_static).collect();
    let mut iprops: Vec<&Property> = props.iter().copied().filter(|p| !p.is_static).collect();
    sprops.sort_by(|a, b| a.name.cmp(&b.name));
    iprops.sort_by(|a, b| a.name.cmp(&b.name));
    // Names first (members, then properties, then the `_with` forms), so adding a `_with` form
    // never renames a member of the TypeScript API.
    let mut callables: Vec<(&Callable, String, Target)> = Vec::new();
    if let Some(c) = ctor {
        callables.push((c, "new".to_string(), Target::New));
    }
    for m in statics {
        let n = unique(names, ident(m.name.as_deref().unwrap_or("f")), "static");
        callables.push((m, n, Target::Static));
    }
    for m in instance {
        let n = unique(names, ident(m.name.as_deref().unwrap_or("f")), "method");
        callables.push((m, n, Target::Instance));
    }
    let prop_names: Vec<String> = sprops
        .iter()
        .chain(&iprops)
        .map(|p| unique(names, ident(&p.name), "property"))
        .collect();
    for (c, n, target) in callables {
        // One `_with` form per optional prefix: `m_with` passes the first optional parameter,
        // `m_with_<name>` every optional parameter up to `<name>`.
        let tail = optional_tail(c, &target);
        let first = c.parameters.len() - tail;
        let with: Vec<String> = (first..c.parameters.len())
            .map(|i| {
                let base = n.trim_start_matches("r#");
                let wanted = if i == first {
                    format!("{base}_with")
                } else {
                    format!(
                        "{base}_with_{}",
                        ident(&c.parameters[i].name).trim_start_matches("r#")
                    )
                };
                unique(names, wanted, "args")
            })
            .collect();
        gen_callable(g, body, t, c, &n, &with, target);
    }
    for (p, n) in sprops.into_iter().chain(iprops).zip(prop_names) {
        let ret = g.result(&p.type_ref, p.optional);
        doc(body, "    ", &p.docs, &[]);
        let _ = writeln!(body, "    #[track_caller]");
        if p.is_static {
            let _ = writeln!(
                body,
                "    pub fn {n}() -> {ret} {{\n        rt::static_get_op(\"{}\", \"{}\")\n    }}",
                t.fqn, p.name
            );
        } else {
            let _ = writeln!(
                body,
                "    pub fn {n}(&self) -> {ret} {{\n        rt::get_op(rt::JsObject::handle(self), \"{}\")\n    }}",
                p.name
            );
        }
    }
}

/// The parameter type and the expression converting the parameter `p` to a `Value`.
fn param(g: &mut ModuleGen, name: &str, t: &TypeRef) -> (String, String) {
    let r = g.input(t);
    match &r {
        RustType::Vec(item) => (
            format!("impl rt::ListArg<{}>", item.render()),
            format!(
                "rt::ToValue::to_value(&rt::ListArg::<{}>::into_list({name}))",
                item.render()
            ),
        ),
        RustType::Map(item) => (
            format!(
                "impl IntoIterator<Item = (impl Into<String>, impl Into<{}>)>",
                item.render()
            ),
            format!(
                "rt::ToValue::to_value(&rt::collect_map::<{}, _, _>({name}))",
                item.render()
            ),
        ),
        other => (
            format!("impl Into<{}>", other.render()),
            format!("rt::arg::<{}>({name})", other.render()),
        ),
    }
}

/// Whether parameter `p` of `c` is a construct's scope or id (required in Rust, see below).
fn construct_arg(target: &Target, name: &str) -> bool {
    // A construct's scope and id are optional in jsii only for `new Stack()` in unit tests:
    // required here, so `Stack::new(&app, "Name")` reads like the TypeScript.
    matches!(target, Target::New) && (name == "scope" || name == "id")
}

/// How many of `c`'s last parameters are optional (and not variadic): the ones the plain form
/// of the method leaves out and its `_with` form takes.
fn optional_tail(c: &Callable, target: &Target) -> usize {
    c.parameters
        .iter()
        .rev()
        .take_while(|p| p.optional && !p.variadic && !construct_arg(target, &p.name))
        .count()
}

fn gen_callable(
    g: &mut ModuleGen,
    body: &mut String,
    t: &Type,
    c: &Callable,
    rust_name: &str,
    with_names: &[String],
    target: Target,
) {
    let mut params = Vec::new();
    // Each parameter's value expression; a variadic one extends the list instead.
    let mut values = Vec::new();
    let mut variadic = None;
    let mut used = HashSet::new();
    let mut param_docs = Vec::new();
    for p in &c.parameters {
        let mut n = ident(&p.name);
        while !used.insert(n.clone()) {
            n.push('_');
        }
        if p.variadic {
            let item = g.input(&p.type_ref).render();
            params.push(format!("{n}: impl IntoIterator<Item = impl Into<{item}>>"));
            variadic = Some(format!("{n}.into_iter().map(|v| rt::arg::<{item}>(v))"));
        } else {
            // Every parameter is taken as a plain value: the optional tail is left out by the
            // plain form and passed (all of it) by the `_with` form.
            let (ty, expr) = param(g, &n, &p.type_ref);
            params.push(format!("{n}: {ty}"));
            values.push(expr);
        }
        if let Some(s) = &p.docs.summary {
            param_docs.push(format!(
                "- `{n}`: {}",
                s.lines().collect::<Vec<_>>().join(" ")
            ));
        }
    }
    let ret = match (&target, &c.returns) {
        (Target::New, _) => "Self".to_string(),
        (_, Some(r)) => g.result(&r.type_ref, r.optional),
        (_, None) => "()".to_string(),
    };
    // The call, `{}` standing for its argument list: one expression, no statements, which
    // makes tens of thousands of generated bodies cheaper to type- and borrow-check.
    let call = match target {
        Target::New => format!("rt::new_op(\"{}\", {{}})", t.fqn),
        Target::Static => format!(
            "rt::static_op(\"{}\", \"{}\", {{}})",
            t.fqn,
            c.name.as_deref().unwrap_or_default()
        ),
        Target::Instance => format!(
            "rt::call_op(rt::JsObject::handle(self), \"{}\", {{}})",
            c.name.as_deref().unwrap_or_default()
        ),
    };
    let instance = matches!(target, Target::Instance);
    let ret_sig = if ret == "()" {
        String::new()
    } else {
        format!(" -> {ret}")
    };
    let left_out: Vec<String> = params[params.len() - with_names.len()..]
        .iter()
        .map(|p| format!("`{}`", p.split(':').next().unwrap_or_default()))
        .collect();
    let emit = |body: &mut String, name: &str, count: usize, note: Option<String>| {
        let mut extra = Vec::new();
        if !param_docs.is_empty() {
            extra.push(format!("Arguments:\n{}", param_docs.join("\n")));
        }
        extra.extend(note);
        doc(body, "    ", &c.docs, &extra);
        let _ = writeln!(body, "    #[track_caller]");
        let mut sig: Vec<String> = if instance {
            vec!["&self".to_string()]
        } else {
            Vec::new()
        };
        sig.extend(params[..count].iter().cloned());
        let _ = writeln!(body, "    pub fn {name}({}){ret_sig} {{", sig.join(", "));
        // The variadic parameter is the last one, so present only with every parameter.
        let fixed = &values[..count.min(values.len())];
        let args = match (&variadic, count > values.len()) {
            (Some(rest), true) => format!("rt::args_then([{}], {rest})", fixed.join(", ")),
            _ if fixed.is_empty() => "Vec::new()".to_string(),
            _ => format!("vec![{}]", fixed.join(", ")),
        };
        let _ = writeln!(body, "        {}\n    }}", call.replace("{}", &args));
    };
    let kept = params.len() - with_names.len();
    if let Some(first) = with_names.first() {
        emit(
            body,
            rust_name,
            kept,
            Some(format!(
                "Leaves out the optional {}; [`Self::{first}`] passes {}.",
                left_out.join(", "),
                if left_out.len() == 1 {
                    "it".to_string()
                } else {
                    format!("`{}`", left_out[0].trim_matches('`'))
                }
            )),
        );
    }
    for (i, with) in with_names.iter().enumerate() {
        emit(
            body,
            with,
            kept + i + 1,
            Some(format!(
                "[`Self::{rust_name}`] with the optional {} passed.",
                left_out[..=i].join(", ")
            )),
        );
    }
    if with_names.is_empty() {
        emit(body, rust_name, params.len(), None);
    }
}

fn gen_struct(g: &mut ModuleGen, t: &Type, name: &str) {
    // Fields: inherited first (breadth-first over super-structs), then own; own overrides.
    let mut chain: Vec<&Type> = Vec::new();
    let mut queue: Vec<&Type> = vec![t];
    let mut visited = HashSet::new();
    while !queue.is_empty() {
        let ty = queue.remove(0);
        if !visited.insert(ty.fqn.clone()) {
            continue;
        }
        chain.push(ty);
        for i in &ty.interfaces {
            if let Some(it) = g.index.types.get(i.as_str()) {
                queue.push(it);
            }
        }
    }
    let mut fields: Vec<&Property> = Vec::new();
    let mut seen = HashSet::new();
    for ty in &chain {
        for p in &ty.properties {
            if seen.insert(p.name.clone()) {
                fields.push(p);
            }
        }
    }
    fields.sort_by(|a, b| a.name.cmp(&b.name));
    let rendered: Vec<(String, RustType)> = fields
        .iter()
        .map(|p| (ident(&p.name), g.input(&p.type_ref)))
        .collect();
    let required: Vec<usize> = (0..fields.len()).filter(|i| !fields[*i].optional).collect();
    let out = &mut g.out;
    doc(
        out,
        "",
        &t.docs,
        &[format!("jsii: `{}` (a struct: plain data)", t.fqn)],
    );
    let derive = if required.is_empty() {
        "#[derive(Clone, Debug, PartialEq, Default)]"
    } else {
        "#[derive(Clone, Debug, PartialEq)]"
    };
    let _ = writeln!(out, "{derive}\npub struct {name} {{");
    for (p, (n, r)) in fields.iter().zip(&rendered) {
        doc(out, "    ", &p.docs, &[]);
        if p.optional {
            let _ = writeln!(out, "    pub {n}: Option<{}>,", r.render());
        } else {
            let _ = writeln!(out, "    pub {n}: {},", r.render());
        }
    }
    let _ = writeln!(out, "}}\n");
    // Two or more required fields: `new` takes them as a struct with named members
    // (`{name}Required`), so two values of one type cannot be swapped silently. One required
    // field stays a plain argument: `new(value)`.
    let named = required.len() > 1;
    let required_name = format!("{name}Required");
    if named {
        gen_required_struct(out, name, &required_name, &fields, &rendered, &required);
    }
    let _ = writeln!(out, "impl {name} {{");
    let mut args = Vec::new();
    let mut inits = Vec::new();
    let mut params = Vec::new();
    let mut extra = Vec::new();
    let mut bounds = Vec::new();
    for (i, (n, r)) in rendered.iter().enumerate() {
        if !required.contains(&i) {
            inits.push(format!("{n}: None"));
        } else if named {
            let t = format!("T{}", params.len());
            let v = format!("required.{n}");
            inits.push(format!("{n}: {}", convert(&v, r)));
            match r {
                RustType::Vec(item) => {
                    bounds.push(format!("{t}: rt::ListArg<{}>", item.render()));
                }
                RustType::Map(item) => {
                    let (k, x) = (format!("{t}K"), format!("{t}V"));
                    bounds.push(format!("{t}: IntoIterator<Item = ({k}, {x})>"));
                    bounds.push(format!("{k}: Into<String>"));
                    bounds.push(format!("{x}: Into<{}>", item.render()));
                    extra.push(k);
                    extra.push(x);
                }
                other => bounds.push(format!("{t}: Into<{}>", other.render())),
            }
            params.push(t);
        } else {
            let (ty, _) = param_simple(r);
            args.push(format!("{n}: {ty}"));
            inits.push(format!("{n}: {}", convert(n, r)));
        }
    }
    if named {
        let generics: Vec<String> = params.iter().chain(&extra).cloned().collect();
        let _ = writeln!(
            out,
            "    /// A `{name}` with its required fields, named; set optional ones with the setters."
        );
        let _ = writeln!(
            out,
            "    pub fn new<{}>(required: {required_name}<{}>) -> Self\n    where\n        {},\n    {{\n        {name} {{ {} }}\n    }}",
            generics.join(", "),
            params.join(", "),
            bounds.join(",\n        "),
            inits.join(", ")
        );
    } else {
        let _ = writeln!(
            out,
            "    /// A `{name}` with its required fields; set optional ones with the setters."
        );
        let _ = writeln!(
            out,
            "    pub fn new({}) -> Self {{\n        {name} {{ {} }}\n    }}",
            args.join(", "),
            inits.join(", ")
        );
    }
    for (p, (n, r)) in fields.iter().zip(&rendered) {
        let setter = if n == "new" {
            "new_".to_string()
        } else {
            n.clone()
        };
        let (ty, _) = param_simple(r);
        let value = convert(n, r);
        doc(out, "    ", &p.docs, &[]);
        if p.optional {
            let _ = writeln!(out, "    pub fn {setter}(mut self, {n}: {ty}) -> Self {{\n        self.{n} = Some({value});\n        self\n    }}");
        } else {
            let _ = writeln!(out, "    pub fn {setter}(mut self, {n}: {ty}) -> Self {{\n        self.{n} = {value};\n        self\n    }}");
        }
    }
    let _ = writeln!(out, "}}\n");
    let mutable = if fields.is_empty() { "" } else { "mut " };
    let _ = writeln!(out, "impl rt::ToValue for {name} {{\n    fn to_value(&self) -> crate::program::Value {{\n        let {mutable}o = rt::ObjectBuilder::new();");
    for (p, (n, _)) in fields.iter().zip(&rendered) {
        if p.optional {
            let _ = writeln!(out, "        o.opt(\"{}\", &self.{n});", p.name);
        } else {
            let _ = writeln!(out, "        o.field(\"{}\", &self.{n});", p.name);
        }
    }
    let _ = writeln!(out, "        o.build()\n    }}\n}}\n");
    if g.index.returned.contains(t.fqn.as_str()) {
        // A result of this shape (`rt::StructRef<Self>`): one typed read per field.
        let mut body = String::new();
        for (p, (n, _)) in fields.iter().zip(&rendered) {
            let ret = g.result(&p.type_ref, p.optional);
            doc(&mut body, "    ", &p.docs, &[]);
            let _ = writeln!(
                body,
                "    #[track_caller]\n    pub fn {n}(&self) -> {ret} {{\n        rt::get_op(rt::JsObject::handle(&self.0), \"{}\")\n    }}",
                p.name
            );
        }
        // `rt::StructRef<Self>` derefs to `<Self>Fields`, a type of this module: a shard's crate
        // cannot add methods to the core's `StructRef`.
        let mut fields_name = format!("{name}Fields");
        while g.index.taken.contains(&(g.me, fields_name.clone())) {
            fields_name.push('_');
        }
        let _ = writeln!(
            g.out,
            "crate::__struct_fields!(\n    /// The fields of a [`{name}`] that aws-cdk-lib returned (an [`rt::StructRef<{name}>`] derefs\n    /// to it), each read at replay.\n    {name} => {fields_name}\n);\nimpl {fields_name} {{\n{body}}}\n"
        );
    }
}

/// `{name}Required`: the required fields of a struct with more than one, as named members of any
/// type converting into the field's (`threshold: 5`, `vpc: &vpc`).
fn gen_required_struct(
    out: &mut String,
    name: &str,
    required_name: &str,
    fields: &[&Property],
    rendered: &[(String, RustType)],
    required: &[usize],
) {
    let params: Vec<String> = (0..required.len()).map(|i| format!("T{i}")).collect();
    let _ = writeln!(
        out,
        "/// The required fields of [`{name}`], named: `{name}::new({required_name} {{ .. }})`."
    );
    let _ = writeln!(
        out,
        "#[derive(Clone, Debug)]\npub struct {required_name}<{}> {{",
        params.join(", ")
    );
    for (t, i) in params.iter().zip(required) {
        let (n, r) = &rendered[*i];
        let what = match r {
            RustType::Vec(item) => format!(
                "items converting into `{}`, or a `JsArray` of them",
                item.render()
            ),
            RustType::Map(item) => format!(
                "`(key, value)` pairs, values converting into `{}`",
                item.render()
            ),
            other => format!("converts into `{}`", other.render()),
        };
        let summary = fields[*i].docs.summary.as_deref().unwrap_or_default();
        let summary = summary.lines().collect::<Vec<_>>().join(" ");
        let _ = writeln!(
            out,
            "    /// {} ({})",
            summary.trim(),
            what.replace("rt::", "").replace("crate::", "")
        );
        let _ = writeln!(out, "    pub {n}: {t},");
    }
    let _ = writeln!(out, "}}\n");
}

/// Setter / constructor parameter type for a field of type `r`.
fn param_simple(r: &RustType) -> (String, ()) {
    let ty = match r {
        RustType::Vec(item) => format!("impl rt::ListArg<{}>", item.render()),
        RustType::Map(item) => format!(
            "impl IntoIterator<Item = (impl Into<String>, impl Into<{}>)>",
            item.render()
        ),
        other => format!("impl Into<{}>", other.render()),
    };
    (ty, ())
}

fn convert(n: &str, r: &RustType) -> String {
    match r {
        RustType::Vec(item) => format!("rt::ListArg::<{}>::into_list({n})", item.render()),
        RustType::Map(item) => format!("rt::collect_map::<{}, _, _>({n})", item.render()),
        _ => format!("{n}.into()"),
    }
}

fn gen_unions(g: &mut ModuleGen) {
    let unions: Vec<(Vec<RustType>, String)> = g
        .unions
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (members, name) in unions {
        let out = &mut g.out;
        let _ = writeln!(
            out,
            "/// A jsii union: one of {}.",
            members
                .iter()
                .map(|m| format!("`{}`", m.render()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(
            out,
            "#[derive(Clone, Debug, PartialEq)]\npub enum {name} {{"
        );
        let mut variants = Vec::new();
        let mut used = HashSet::new();
        for m in &members {
            let mut v = m.variant();
            while !used.insert(v.clone()) {
                v.push('_');
            }
            // Structs are boxed: L1 property types recurse through unions (WAF statements).
            match m {
                RustType::Named { handle: false, .. } => {
                    let _ = writeln!(out, "    {v}(Box<{}>),", m.render());
                }
                _ => {
                    let _ = writeln!(out, "    {v}({}),", m.render());
                }
            }
            variants.push((v, m));
        }
        let _ = writeln!(out, "}}");
        let _ = writeln!(out, "impl rt::ToValue for {name} {{\n    fn to_value(&self) -> crate::program::Value {{\n        match self {{");
        for (v, _) in &variants {
            let _ = writeln!(
                out,
                "            {name}::{v}(x) => rt::ToValue::to_value(x),"
            );
        }
        let _ = writeln!(out, "        }}\n    }}\n}}");
        // From each member type (first variant wins), and from Rust literals.
        let mut froms: HashSet<String> = HashSet::new();
        let mut emit = |out: &mut String, src: String, variant: &str, expr: &str| {
            if froms.insert(src.clone()) {
                let _ = writeln!(out, "impl From<{src}> for {name} {{\n    fn from(v: {src}) -> Self {{\n        {name}::{variant}({expr})\n    }}\n}}");
            }
        };
        for (v, m) in &variants {
            let boxed = matches!(m, RustType::Named { handle: false, .. });
            emit(out, m.render(), v, if boxed { "Box::new(v)" } else { "v" });
            if let RustType::Named { handle: true, path } = m {
                emit(out, format!("&{path}"), v, "*v");
            }
            if let RustType::Vec(item) = m {
                let item = item.render();
                emit(out, format!("Vec<{item}>"), v, "rt::JsList::Items(v)");
                emit(
                    out,
                    format!("rt::JsArray<{item}>"),
                    v,
                    "rt::JsList::Array(v)",
                );
            }
        }
        let literal_target = |want: &RustType| {
            variants
                .iter()
                .find(|(_, m)| *m == want)
                .map(|(v, _)| v.clone())
        };
        if let Some(v) =
            literal_target(&RustType::String).or_else(|| literal_target(&RustType::Any))
        {
            for src in ["&str", "String", "&String"] {
                emit(out, src.to_string(), &v, "v.into()");
            }
        }
        if let Some(v) = literal_target(&RustType::Number) {
            for src in ["i32", "i64", "u32", "u64", "usize", "f64"] {
                emit(out, src.to_string(), &v, "v.into()");
            }
        }
        if let Some(v) = literal_target(&RustType::Bool) {
            emit(out, "bool".to_string(), &v, "v.into()");
        }
        let _ = writeln!(out);
    }
}

#[cfg(test)]
mod tests {
    use super::doc_lines;

    #[test]
    fn code_blocks_become_text_fences() {
        let docs = "Intro:\n\n    const a = 1;\n\n    a();\nAfter.\n\n```\nx\n```\n\n```ts\ny\n```\n\n- item\n  more";
        assert_eq!(
            doc_lines(docs.lines()),
            [
                "Intro:",
                "",
                "```text",
                "const a = 1;",
                "",
                "a();",
                "```",
                "",
                "After.",
                "",
                "```text",
                "x",
                "```",
                "",
                "```ts",
                "y",
                "```",
                "",
                "- item",
                "  more"
            ]
        );
    }
}

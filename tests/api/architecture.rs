//! The house rules of README's "Architecture", checked on the source itself: every
//! `crate::<module>` path points down the layers, actix appears only in the HTTP layers, files
//! stay small, and no migration sets `search_path`.

use std::path::{Path, PathBuf};

/// Each top-level module of `src/` and the modules it may name, top to bottom. `lib.rs` and
/// `main.rs` wire everything and are not checked.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "cli",
        &[
            "http",
            "api",
            "seed",
            "bus",
            "auth",
            "cache",
            "tenancy",
            "db",
            "telemetry",
            "config",
            "error",
            "tenant",
            "secrets",
        ],
    ),
    (
        "http",
        &[
            "api", "auth", "cache", "tenancy", "bus", "db", "metrics", "config", "error", "tenant",
            "secrets",
        ],
    ),
    (
        "api",
        &[
            "auth", "cache", "tenancy", "bus", "db", "metrics", "config", "error", "tenant",
            "secrets",
        ],
    ),
    (
        "seed",
        &[
            "auth", "cache", "tenancy", "bus", "db", "config", "error", "tenant", "secrets",
        ],
    ),
    (
        "auth",
        &[
            "cache", "tenancy", "bus", "db", "config", "error", "tenant", "secrets",
        ],
    ),
    (
        "cache",
        &["tenancy", "bus", "db", "config", "error", "tenant"],
    ),
    (
        "tenancy",
        &["bus", "db", "config", "error", "tenant", "secrets"],
    ),
    ("bus", &[]),
    ("db", &["config", "error", "tenant", "secrets"]),
    ("telemetry", &["config"]),
    ("metrics", &[]),
    ("config", &["tenant"]),
    ("error", &["tenant"]),
    ("secrets", &[]),
    ("tenant", &[]),
];

/// Where actix may appear: the HTTP edge and the handlers, and the benchmark's own bare
/// servers (its ceilings are, by definition, a bare actix handler).
const ACTIX_ALLOWED: &[&str] = &["src/http/", "src/api/", "src/cli/bench/servers.rs"];

/// Largest file, in lines (generated `schema.rs` aside).
const MAX_LINES: usize = 400;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let mut paths = Vec::new();
    files(&root().join("src"), "rs", &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// The top-level module a source file belongs to (`src/api/plios.rs` → `api`).
fn module_of(rel: &str) -> String {
    let inner = rel.trim_start_matches("src/");
    let first = inner.split('/').next().unwrap();
    first.trim_end_matches(".rs").to_string()
}

/// Code lines, without comments (a comment may name anything).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l))
}

/// `crate::name` occurrences on a line (module names are lower case).
fn crate_paths(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push(name);
        }
        rest = after;
    }
    out
}

#[test]
fn every_import_points_down_the_layers() {
    let mut upward = Vec::new();
    let mut seen_modules = std::collections::BTreeSet::new();
    for (rel, text) in sources() {
        let module = module_of(&rel);
        if module == "lib" || module == "main" {
            continue;
        }
        seen_modules.insert(module.clone());
        let Some((_, allowed)) = LAYERS.iter().find(|(m, _)| *m == module) else {
            upward.push(format!("{rel}: module {module:?} has no place in LAYERS"));
            continue;
        };
        for (n, line) in code_lines(&text) {
            for target in crate_paths(line) {
                if target != module && !allowed.contains(&target.as_str()) {
                    upward.push(format!("{rel}:{n}: {module} -> {target}: {}", line.trim()));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports against the layers:\n{}",
        upward.join("\n")
    );
    for (m, _) in LAYERS {
        assert!(
            seen_modules.contains(*m),
            "LAYERS names {m}, which is not in src/"
        );
    }
}

#[test]
fn actix_stays_in_the_http_layers() {
    let mut outside = Vec::new();
    for (rel, text) in sources() {
        if ACTIX_ALLOWED.iter().any(|a| rel.starts_with(a)) {
            continue;
        }
        for (n, line) in code_lines(&text) {
            if ["actix_web", "actix_multipart", "actix_cors", "actix_rt"]
                .iter()
                .any(|c| line.contains(c))
            {
                outside.push(format!("{rel}:{n}: {}", line.trim()));
            }
        }
    }
    assert!(
        outside.is_empty(),
        "actix outside http/ and api/:\n{}",
        outside.join("\n")
    );
}

#[test]
fn source_files_stay_under_four_hundred_lines() {
    let long: Vec<String> = sources()
        .into_iter()
        .filter(|(rel, _)| rel != "src/db/schema.rs")
        .filter_map(|(rel, text)| {
            let n = text.lines().count();
            (n > MAX_LINES).then(|| format!("{rel}: {n} lines"))
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these by concern:\n{}",
        long.join("\n")
    );
}

/// Pooled connections rely on it: migrations run on raw connections that go back to the pool,
/// and only transaction-local settings (the doors' `set_config(..., true)`) may change the
/// path.
#[test]
fn no_migration_sets_search_path() {
    let mut sql = Vec::new();
    files(&root().join("migrations"), "sql", &mut sql);
    assert!(!sql.is_empty(), "no migrations found");
    let offending: Vec<String> = sql
        .iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(|l| {
                    l.split("--")
                        .next()
                        .unwrap_or_default()
                        .to_ascii_lowercase()
                })
                .any(|code| code.contains("search_path"))
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        offending.is_empty(),
        "migrations that set search_path: {offending:?}"
    );
}

//! `plio seed`: loads `fixtures/*.yaml` (the public organization and its domain, the roles)
//! and bootstraps the superuser, idempotently (upserts by natural key), in dependency order,
//! inside one transaction. A malformed fixture is reported with its file and line and nothing
//! is written.

use std::path::{Path, PathBuf};

use chrono::Utc;
use diesel::prelude::*;
use serde::Deserialize;

use crate::auth::password;
use crate::cache::Invalidations;
use crate::config::Settings;
use crate::db::models::{role, user};
use crate::db::schema::{organization, organizations_domain, user as user_table};
use crate::db::{migrations, set_scope, Scope};
use crate::secrets;
use crate::tenant::{validate_domain, validate_shortcode, SchemaName};

const EMBEDDED_TENANT: &str = include_str!("../fixtures/default_tenant.yaml");
const EMBEDDED_ROLES: &str = include_str!("../fixtures/roles.yaml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantFixture {
    organizations: Vec<OrganizationFixture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrganizationFixture {
    schema_name: String,
    shortcode: String,
    name: String,
    #[serde(default)]
    domains: Vec<DomainFixture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainFixture {
    domain: String,
    #[serde(default)]
    is_primary: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesFixture {
    roles: Vec<RoleFixture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleFixture {
    name: String,
}

/// What a seed run did.
#[derive(Debug, Default)]
pub struct SeedReport {
    /// Organizations upserted.
    pub organizations: usize,
    /// Domains upserted.
    pub domains: usize,
    /// Roles upserted.
    pub roles: usize,
    /// `Some(true)` if the superuser was created, `Some(false)` if it existed.
    pub superuser_created: Option<bool>,
}

/// A fixture file's name and text.
struct Fixture {
    path: String,
    text: String,
}

fn read_fixture(dir: Option<&Path>, file: &str, embedded: &str) -> anyhow::Result<Fixture> {
    match dir {
        Some(dir) => {
            let path: PathBuf = dir.join(file);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
            Ok(Fixture {
                path: path.display().to_string(),
                text,
            })
        }
        None => Ok(Fixture {
            path: format!("fixtures/{file} (built in)"),
            text: embedded.to_string(),
        }),
    }
}

/// Replaces `${NAME}` with the JSON-quoted value from `vars`, so values can never break the
/// YAML structure. Unknown names are errors that give the line.
fn interpolate(f: &Fixture, vars: &[(&str, &str)]) -> anyhow::Result<String> {
    let mut out = String::with_capacity(f.text.len());
    for (n, line) in f.text.lines().enumerate() {
        let mut rest = line;
        // Comments are copied as they are.
        while let Some(start) = rest
            .find("${")
            .filter(|_| !line.trim_start().starts_with('#'))
        {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                anyhow::bail!("{}:{}: unterminated ${{ placeholder", f.path, n + 1);
            };
            let name = &after[..end];
            let Some((_, value)) = vars.iter().find(|(k, _)| *k == name) else {
                anyhow::bail!("{}:{}: unknown placeholder ${{{name}}}", f.path, n + 1);
            };
            out.push_str(&serde_json::to_string(value)?);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out.push('\n');
    }
    Ok(out)
}

fn parse<T: serde::de::DeserializeOwned>(f: &Fixture, text: &str) -> anyhow::Result<T> {
    serde_norway::from_str(text).map_err(|e| match e.location() {
        Some(loc) => anyhow::anyhow!("{}:{}:{}: {e}", f.path, loc.line(), loc.column()),
        None => anyhow::anyhow!("{}: {e}", f.path),
    })
}

/// The line (1-based) of the first occurrence of `needle`, for semantic errors.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(1, |i| i + 1)
}

/// Loads and validates both fixtures (no database access).
fn load(
    settings: &Settings,
    dir: Option<&Path>,
) -> anyhow::Result<(Vec<OrganizationFixture>, Vec<String>)> {
    let vars = [
        (
            "DEFAULT_TENANT_SHORTCODE",
            settings.default_tenant_shortcode.as_str(),
        ),
        ("DEFAULT_TENANT_NAME", settings.default_tenant_name.as_str()),
        (
            "DEFAULT_TENANT_DOMAIN",
            settings.default_tenant_domain.as_str(),
        ),
    ];
    let tenant_file = read_fixture(dir, "default_tenant.yaml", EMBEDDED_TENANT)?;
    let tenant_text = interpolate(&tenant_file, &vars)?;
    let tenants: TenantFixture = parse(&tenant_file, &tenant_text)?;
    for org in &tenants.organizations {
        let at = |needle: &str| {
            format!(
                "{}:{}",
                tenant_file.path,
                line_of(&tenant_file.text, needle)
            )
        };
        if org.schema_name != "public" {
            anyhow::bail!(
                "{}: only the public organization (schema_name: public) is seeded; create tenants with `plio tenant create`",
                at("schema_name")
            );
        }
        if let Err(e) = validate_shortcode(&org.shortcode) {
            anyhow::bail!("{}: shortcode {:?} {e}", at("shortcode"), org.shortcode);
        }
        if org.name.trim().is_empty() || org.name.chars().count() > 255 {
            anyhow::bail!("{}: name must be 1-255 characters", at("name"));
        }
        let primaries = org.domains.iter().filter(|d| d.is_primary).count();
        if primaries > 1 {
            anyhow::bail!("{}: more than one primary domain", at("is_primary"));
        }
        for d in &org.domains {
            if let Err(e) = validate_domain(&d.domain) {
                anyhow::bail!("{}: domain {:?} {e}", at("domain"), d.domain);
            }
        }
    }
    let roles_file = read_fixture(dir, "roles.yaml", EMBEDDED_ROLES)?;
    let roles: RolesFixture = parse(&roles_file, &roles_file.text)?;
    let mut names = Vec::new();
    for r in roles.roles {
        let name = r.name.trim().to_string();
        if name.is_empty() || name.len() > 255 {
            anyhow::bail!(
                "{}:{}: role name must be 1-255 characters",
                roles_file.path,
                line_of(&roles_file.text, "name")
            );
        }
        names.push(name);
    }
    Ok((tenants.organizations, names))
}

/// Seeds everything in one transaction. `dir = None` uses the fixtures built into the binary.
pub fn run(
    conn: &mut PgConnection,
    settings: &Settings,
    dir: Option<&Path>,
) -> anyhow::Result<SeedReport> {
    let (orgs, roles) = load(settings, dir)?;
    // Hash outside the transaction: it is the slow part.
    let superuser = match (&settings.superuser_email, &settings.superuser_password) {
        (Some(email), Some(pw)) => Some((user::normalize_email(email), pw.clone())),
        _ => None,
    };
    conn.transaction(|conn| {
        let mut report = SeedReport::default();
        let mut inv = Invalidations::default();
        // The public schema's own migration state decides whether the workspace is served.
        let public_version = migrations::applied_tenant_version(conn, &SchemaName::public())?;
        set_scope::<anyhow::Error>(conn, &Scope::Shared)?;
        for org in &orgs {
            let api_key = secrets::random_string(32, secrets::ALPHANUMERIC);
            let id: i32 = diesel::insert_into(organization::table)
                .values((
                    organization::name.eq(&org.name),
                    organization::shortcode.eq(&org.shortcode),
                    organization::schema_name.eq(&org.schema_name),
                    organization::api_key.eq(&api_key),
                    organization::schema_version.eq(&public_version),
                ))
                .on_conflict(organization::schema_name)
                .do_update()
                .set((
                    organization::name.eq(&org.name),
                    organization::shortcode.eq(&org.shortcode),
                    organization::schema_version.eq(&public_version),
                    organization::deleted.eq(None::<chrono::DateTime<Utc>>),
                ))
                .returning(organization::id)
                .get_result(conn)
                .map_err(|e| anyhow::anyhow!("public organization {:?}: {e}", org.shortcode))?;
            report.organizations += 1;
            for d in &org.domains {
                let owner: Option<i32> = organizations_domain::table
                    .filter(organizations_domain::domain.eq(&d.domain))
                    .select(organizations_domain::tenant_id)
                    .first(conn)
                    .optional()?;
                if owner.is_some_and(|o| o != id) {
                    anyhow::bail!(
                        "domain {:?} already belongs to another organization",
                        d.domain
                    );
                }
                if owner.is_none() {
                    let replaced = if d.is_primary {
                        diesel::update(
                            organizations_domain::table
                                .filter(organizations_domain::tenant_id.eq(id))
                                .filter(organizations_domain::is_primary.eq(true)),
                        )
                        .set((
                            organizations_domain::domain.eq(&d.domain),
                            organizations_domain::updated_at.eq(Utc::now()),
                        ))
                        .execute(conn)?
                    } else {
                        0
                    };
                    if replaced == 0 {
                        diesel::insert_into(organizations_domain::table)
                            .values((
                                organizations_domain::domain.eq(&d.domain),
                                organizations_domain::tenant_id.eq(id),
                                organizations_domain::is_primary.eq(d.is_primary),
                            ))
                            .execute(conn)?;
                    }
                }
                report.domains += 1;
            }
        }
        for name in &roles {
            role::upsert(conn, name)?;
            report.roles += 1;
        }
        if let Some((email, pw)) = &superuser {
            match user::find_by_email(conn, email)? {
                Some(existing) => {
                    diesel::update(user_table::table.find(existing.id))
                        .set((
                            user_table::is_superuser.eq(true),
                            user_table::is_staff.eq(true),
                        ))
                        .execute(conn)?;
                    inv.user(existing.id);
                    inv.tokens(&crate::db::models::token::access_digests_of(
                        conn,
                        existing.id,
                    )?);
                    report.superuser_created = Some(false);
                }
                None => {
                    let hash = password::hash(pw.expose())?;
                    user::insert(
                        conn,
                        &user::NewUser {
                            email: Some(email),
                            password: Some(&hash),
                            is_superuser: true,
                            is_staff: true,
                            ..Default::default()
                        },
                    )?;
                    report.superuser_created = Some(true);
                }
            }
        }
        // Running servers (a rolling deploy) reload the organizations and forget what the
        // seed changed, when (and if) this commits.
        inv.registry();
        inv.announce(conn)?;
        Ok(report)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(text: &str) -> Fixture {
        Fixture {
            path: "x.yaml".into(),
            text: text.into(),
        }
    }

    #[test]
    fn placeholders_are_json_quoted() {
        let f = fixture("name: ${N}\n");
        let out = interpolate(&f, &[("N", "a: b \"c\"")]).expect("interpolates");
        let v: serde_norway::Value = serde_norway::from_str(&out).expect("still YAML");
        assert_eq!(v["name"].as_str(), Some("a: b \"c\""));
    }

    #[test]
    fn unknown_placeholders_give_the_line() {
        let f = fixture("a: 1\nb: ${NOPE}\n");
        let e = interpolate(&f, &[]).expect_err("unknown");
        assert!(e.to_string().starts_with("x.yaml:2:"), "{e}");
    }

    #[test]
    fn embedded_fixtures_load_with_defaults() {
        let settings = Settings::from_lookup(|_| None).expect("defaults");
        let (orgs, roles) = load(&settings, None).expect("fixtures load");
        assert_eq!(orgs[0].shortcode, "plio");
        assert_eq!(orgs[0].domains[0].domain, "localhost");
        assert_eq!(roles, ["super-admin", "org-admin", "org-view"]);
    }
}

//! Role rules of organization administration (SPEC 4.2).

/// Roles a caller with `caller_role` may grant, change or remove in its organization:
/// super-admin → org-admin and org-view; org-admin → org-view; anyone else → nothing.
pub fn manageable_roles(caller_role: Option<&str>) -> &'static [&'static str] {
    match caller_role {
        Some("super-admin") => &["org-admin", "org-view"],
        Some("org-admin") => &["org-view"],
        _ => &[],
    }
}

/// Whether `caller_role` may grant (or act on a member holding) `role`.
pub fn may_manage(caller_role: Option<&str>, role: &str) -> bool {
    manageable_roles(caller_role).contains(&role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_follow_the_role_ladder() {
        assert!(may_manage(Some("super-admin"), "org-admin"));
        assert!(may_manage(Some("super-admin"), "org-view"));
        assert!(!may_manage(Some("super-admin"), "super-admin"));
        assert!(may_manage(Some("org-admin"), "org-view"));
        assert!(!may_manage(Some("org-admin"), "org-admin"));
        assert!(!may_manage(Some("org-view"), "org-view"));
        assert!(!may_manage(None, "org-view"));
    }
}

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

/// Plio object permissions (SPEC 4.2), shared by plios, items and questions: superusers and
/// the creator always; in an organization, members for public plios; in the personal
/// workspace nobody else.
pub fn may_access_plio(
    caller: Option<&crate::auth::AuthUser>,
    personal_workspace: bool,
    head: &crate::db::models::content::PlioHead,
) -> bool {
    match caller {
        None => false,
        Some(u) if u.is_superuser || u.id == head.created_by_id => true,
        Some(_) if personal_workspace => false,
        Some(_) => head.caller_is_member && head.is_public,
    }
}

/// Who may play a plio: anyone (even anonymous) if public; only its creator otherwise.
pub fn may_play_plio(
    caller: Option<&crate::auth::AuthUser>,
    head: &crate::db::models::content::PlioHead,
) -> bool {
    head.is_public || caller.is_some_and(|u| u.id == head.created_by_id)
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

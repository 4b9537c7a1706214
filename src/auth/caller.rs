//! Who is calling: an authenticated user, or maybe nobody.

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct AuthUser {
    /// User id.
    pub id: i32,
    /// Platform superuser.
    pub is_superuser: bool,
}

/// A caller that may be anonymous.
#[derive(Clone, Debug)]
pub struct MaybeUser(pub Option<AuthUser>);

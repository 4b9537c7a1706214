//! Request body schemas of the JSON routes, for the API document. Bodies are read field by
//! field by [`crate::api::input::Input`] (DRF's partial updates, its messages, drafts accepted
//! as Plio's editor saves them), so these types describe what the validation reads; every field
//! is optional in a `PATCH`, and unknown fields are ignored.

#![expect(dead_code, reason = "schemas only: the handlers validate with `Input`")]

use serde_json::Value;
use utoipa::ToSchema;

/// `POST|PUT|PATCH /api/v1/videos/`.
#[derive(ToSchema)]
pub struct VideoRequest {
    /// Required on create and PUT.
    #[schema(max_length = 255)]
    url: String,
    #[schema(max_length = 255)]
    title: Option<String>,
    #[schema(minimum = 0)]
    duration: Option<f64>,
}

/// `PATCH /api/v1/images/{id}/` (uploads are multipart, see [`ImageUpload`]).
#[derive(ToSchema)]
pub struct ImageRequest {
    #[schema(max_length = 255)]
    alt_text: Option<String>,
}

/// `POST /api/v1/images/`: multipart form.
#[derive(ToSchema)]
pub struct ImageUpload {
    /// The image file (`file` is accepted too).
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    url: Option<String>,
    #[schema(max_length = 255)]
    alt_text: Option<String>,
}

/// `POST|PUT|PATCH /api/v1/plios/` (a body-less POST creates a draft, as Plio's editor does).
#[derive(ToSchema)]
pub struct PlioRequest {
    name: Option<String>,
    /// A video id.
    video: Option<i32>,
    /// `draft` or `published`.
    status: Option<String>,
    is_public: Option<bool>,
    /// At most 64 KiB.
    config: Option<Value>,
    failsafe_url: Option<String>,
}

/// `POST /api/v1/plios/{uuid}/copy/`.
#[derive(ToSchema)]
pub struct CopyRequest {
    /// The shortcode of the target workspace (empty: the personal workspace).
    workspace: Option<String>,
}

/// `POST|PUT|PATCH /api/v1/items/`.
#[derive(ToSchema)]
pub struct ItemRequest {
    /// The plio id (required on create).
    plio: Option<i32>,
    /// `question`.
    #[schema(rename = "type")]
    r#type: Option<String>,
    time: Option<f64>,
    meta: Option<Value>,
}

/// `DELETE /api/v1/items/bulk_delete/`.
#[derive(ToSchema)]
pub struct BulkDeleteRequest {
    /// Item ids.
    id: Vec<i32>,
}

/// `POST|PUT|PATCH /api/v1/questions/`.
#[derive(ToSchema)]
pub struct QuestionRequest {
    /// The item id (required on create).
    item: Option<i32>,
    /// `mcq`, `checkbox` or `subjective`.
    #[schema(rename = "type")]
    r#type: Option<String>,
    text: Option<String>,
    options: Option<Value>,
    correct_answer: Option<Value>,
    survey: Option<bool>,
    /// An image id.
    image: Option<i32>,
    has_char_limit: Option<bool>,
    max_char_limit: Option<f64>,
}

/// `POST|PUT|PATCH /api/v1/sessions/`.
#[derive(ToSchema)]
pub struct SessionRequest {
    /// The plio id (required on create).
    plio: Option<i32>,
    experiment: Option<i32>,
    watch_time: Option<f64>,
    retention: Option<String>,
    has_video_played: Option<bool>,
}

/// `POST|PUT|PATCH /api/v1/session-answers/`.
#[derive(ToSchema)]
pub struct AnswerRequest {
    session: Option<i32>,
    item: Option<i32>,
    answer: Option<Value>,
}

/// `POST|PUT|PATCH /api/v1/events/`.
#[derive(ToSchema)]
pub struct EventRequest {
    session: Option<i32>,
    #[schema(rename = "type")]
    r#type: Option<String>,
    player_time: Option<f64>,
    details: Option<Value>,
}

/// `POST|PUT|PATCH /api/v1/experiments/`.
#[derive(ToSchema)]
pub struct ExperimentRequest {
    name: Option<String>,
    description: Option<String>,
    is_test: Option<bool>,
    #[schema(rename = "type")]
    r#type: Option<String>,
}

/// `POST|PUT|PATCH /api/v1/experiment-plios/`.
#[derive(ToSchema)]
pub struct ExperimentPlioRequest {
    experiment: Option<i32>,
    plio: Option<i32>,
    split_percentage: Option<f64>,
}

/// `POST|PUT|PATCH /api/v1/tags/`.
#[derive(ToSchema)]
pub struct TagRequest {
    name: Option<String>,
    slug: Option<String>,
}

/// `POST|PUT|PATCH /api/v1/users/`.
#[derive(ToSchema)]
pub struct UserRequest {
    email: Option<String>,
    /// At least 8 characters; stored as an Argon2id hash.
    password: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    mobile: Option<String>,
    avatar_url: Option<String>,
    config: Option<Value>,
    /// Superusers only.
    status: Option<String>,
    /// Superusers only.
    is_active: Option<bool>,
}

/// `POST|PUT|PATCH /api/v1/organization-users/`.
#[derive(ToSchema)]
pub struct MembershipRequest {
    user: Option<i32>,
    organization: Option<i32>,
    /// A role id (see `roles/`).
    role: Option<i32>,
    is_owner: Option<bool>,
}

/// `POST|PUT|PATCH /api/v1/organizations/`.
#[derive(ToSchema)]
pub struct OrganizationRequest {
    name: Option<String>,
    /// 3-50 characters: a-z, 0-9, `-`.
    shortcode: Option<String>,
    domain: Option<String>,
    config: Option<Value>,
}

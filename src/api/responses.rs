//! Response schemas of the payloads that handlers compose from cached parts (a plio with its
//! creator, a session with its plio, user, experiment and answers): the shapes documented for
//! the API document, field for field what [`crate::cache::payloads::wire::PlioWire::serve`]
//! and the session and experiment payload builders put together. Schemathesis checks every response against them.

#![expect(
    dead_code,
    reason = "schemas only: the payloads are composed as JSON values"
)]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use utoipa::ToSchema;

use crate::cache::payloads::plio::ItemPayload;
use crate::cache::payloads::user::UserPayload;
use crate::db::models::learner::{Answer, Event};

/// A plio as Plio serializes it: the cached entry with `created_by` composed for the caller.
#[derive(ToSchema)]
pub struct PlioDetail {
    id: i32,
    name: String,
    uuid: String,
    failsafe_url: String,
    /// `draft` or `published`.
    status: String,
    is_public: bool,
    config: Option<Value>,
    /// The creator's user payload, or only its public fields for callers who may not see it
    /// whole (SPEC 4.2).
    created_by: Value,
    /// The video (`{"id": null, "url": "", ...}` for a plio without one).
    video: Value,
    items: Vec<ItemPayload>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// An experiment with its creator (whole for the creator and superusers, public fields for
/// anyone else).
#[derive(ToSchema)]
pub struct ExperimentPayload {
    id: i32,
    name: String,
    description: String,
    is_test: bool,
    #[schema(rename = "type")]
    type_: String,
    created_by: Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A plio of an experiment, with the experiment and the plio expanded.
#[derive(ToSchema)]
pub struct ExperimentPlioPayload {
    id: i32,
    experiment: ExperimentPayload,
    plio: PlioDetail,
    split_percentage: f64,
}

/// A viewing session with its plio, user, experiment, resume point and answers.
#[derive(ToSchema)]
pub struct SessionPayload {
    id: i32,
    retention: String,
    watch_time: f64,
    has_video_played: bool,
    is_first: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    plio: PlioDetail,
    user: Option<UserPayload>,
    experiment: Option<ExperimentPayload>,
    /// The latest event, or the same keys all null when there is none.
    #[schema(value_type = Object)]
    last_event: Option<Event>,
    session_answers: Vec<Answer>,
}

/// `GET /api/v1/plios/{uuid}/metrics/`: only `has_survey_question` until someone has watched.
#[derive(ToSchema)]
pub struct PlioMetrics {
    has_survey_question: bool,
    unique_viewers: Option<i64>,
    average_watch_time: Option<f64>,
    percent_one_minute_retention: Option<f64>,
    accuracy: Option<f64>,
    average_num_answered: Option<f64>,
    percent_completed: Option<f64>,
}

/// The error body of every 4xx/5xx answer (SPEC 5): `detail` and `code`, `fields` for
/// validation errors, and DRF's own keys (each field's messages under the field's name,
/// `non_field_errors`) copied beside them, hence the additional properties.
#[derive(ToSchema)]
pub struct ErrorBody {
    /// A human sentence.
    detail: String,
    /// A stable snake_case code (`invalid_json`, `tenant_not_found`, ...).
    code: String,
    /// Validation messages per field.
    fields: Option<BTreeMap<String, Vec<String>>>,
}

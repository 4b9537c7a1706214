//! Experiments and the plios they split learners between (tenant tables).

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::tenant::{experiment, experiment_plio};

/// An experiment row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = experiment)]
pub struct Experiment {
    pub id: i32,
    pub name: String,
    pub description: String,
    #[serde(skip)]
    pub created_by_id: i32,
    pub is_test: bool,
    #[serde(rename = "type")]
    pub type_: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An experiment-plio row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = experiment_plio)]
pub struct ExperimentPlio {
    pub id: i32,
    #[serde(rename = "experiment")]
    pub experiment_id: i32,
    #[serde(rename = "plio")]
    pub plio_id: i32,
    pub split_percentage: f64,
}

/// Whether a live experiment runs on the plio (a live experiment-plio links them).
pub fn experiment_runs_on(
    conn: &mut PgConnection,
    experiment_id: i32,
    plio_id: i32,
) -> QueryResult<bool> {
    use diesel::dsl::exists;
    diesel::select(exists(
        experiment_plio::table
            .inner_join(experiment::table)
            .filter(experiment_plio::experiment_id.eq(experiment_id))
            .filter(experiment_plio::plio_id.eq(plio_id))
            .filter(experiment_plio::deleted.is_null())
            .filter(experiment::deleted.is_null()),
    ))
    .get_result(conn)
}

/// The user's live experiments.
pub fn own_experiments(conn: &mut PgConnection, user: i32) -> QueryResult<Vec<Experiment>> {
    experiment::table
        .filter(experiment::created_by_id.eq(user))
        .filter(experiment::deleted.is_null())
        .order(experiment::id)
        .select(Experiment::as_select())
        .load(conn)
}

/// A live experiment of the user.
pub fn find_own_experiment(conn: &mut PgConnection, id: i32, user: i32) -> QueryResult<Experiment> {
    experiment::table
        .find(id)
        .filter(experiment::created_by_id.eq(user))
        .filter(experiment::deleted.is_null())
        .select(Experiment::as_select())
        .first(conn)
}

/// A live experiment by id (any owner).
pub fn find_experiment(conn: &mut PgConnection, id: i32) -> QueryResult<Experiment> {
    experiment::table
        .find(id)
        .filter(experiment::deleted.is_null())
        .select(Experiment::as_select())
        .first(conn)
}

/// Experiment fields.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = experiment)]
pub struct ExperimentChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_test: Option<bool>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Inserts an experiment.
pub fn insert_experiment(
    conn: &mut PgConnection,
    ch: &ExperimentChanges,
    user: i32,
) -> QueryResult<Experiment> {
    diesel::insert_into(experiment::table)
        .values((
            experiment::name.eq(ch.name.clone().unwrap_or_default()),
            experiment::description.eq(ch.description.clone().unwrap_or_default()),
            experiment::is_test.eq(ch.is_test.unwrap_or(false)),
            experiment::created_by_id.eq(user),
        ))
        .returning(Experiment::as_returning())
        .get_result(conn)
}

/// Updates an experiment.
pub fn update_experiment(
    conn: &mut PgConnection,
    id: i32,
    ch: &ExperimentChanges,
) -> QueryResult<Experiment> {
    diesel::update(experiment::table.find(id))
        .set(ch)
        .returning(Experiment::as_returning())
        .get_result(conn)
}

/// Soft-deletes an experiment.
pub fn soft_delete_experiment(conn: &mut PgConnection, id: i32) -> QueryResult<usize> {
    diesel::update(experiment::table.find(id))
        .set(experiment::deleted.eq(Some(Utc::now())))
        .execute(conn)
}

/// Live experiment-plios of the user's experiments.
pub fn own_experiment_plios(
    conn: &mut PgConnection,
    user: i32,
) -> QueryResult<Vec<ExperimentPlio>> {
    experiment_plio::table
        .inner_join(experiment::table)
        .filter(experiment::created_by_id.eq(user))
        .filter(experiment_plio::deleted.is_null())
        .order(experiment_plio::id)
        .select(ExperimentPlio::as_select())
        .load(conn)
}

/// A live experiment-plio of the user's experiments.
pub fn find_own_experiment_plio(
    conn: &mut PgConnection,
    id: i32,
    user: i32,
) -> QueryResult<ExperimentPlio> {
    experiment_plio::table
        .inner_join(experiment::table)
        .filter(experiment_plio::id.eq(id))
        .filter(experiment::created_by_id.eq(user))
        .filter(experiment_plio::deleted.is_null())
        .select(ExperimentPlio::as_select())
        .first(conn)
}

/// Inserts an experiment-plio.
pub fn insert_experiment_plio(
    conn: &mut PgConnection,
    experiment_id: i32,
    plio_id: i32,
    split: f64,
) -> QueryResult<ExperimentPlio> {
    diesel::insert_into(experiment_plio::table)
        .values((
            experiment_plio::experiment_id.eq(experiment_id),
            experiment_plio::plio_id.eq(plio_id),
            experiment_plio::split_percentage.eq(split),
        ))
        .returning(ExperimentPlio::as_returning())
        .get_result(conn)
}

/// Changes a split.
pub fn set_split(conn: &mut PgConnection, id: i32, split: f64) -> QueryResult<ExperimentPlio> {
    diesel::update(experiment_plio::table.find(id))
        .set((
            experiment_plio::split_percentage.eq(split),
            experiment_plio::updated_at.eq(Utc::now()),
        ))
        .returning(ExperimentPlio::as_returning())
        .get_result(conn)
}

/// Soft-deletes an experiment-plio.
pub fn soft_delete_experiment_plio(conn: &mut PgConnection, id: i32) -> QueryResult<usize> {
    diesel::update(experiment_plio::table.find(id))
        .set(experiment_plio::deleted.eq(Some(Utc::now())))
        .execute(conn)
}

//! The six CSVs of the data download, cell by cell as Plio's view writes them
//! (plio/views.py `download_data`: pandas over Plio's queries).

use crate::db::models::report_files::{
    EventRow, ItemRow, MetaRow, ResponseRow, SessionRow, UserMetricsRow,
};

use super::csv::{float, opt_text, text, timestamp, Csv};
use super::py::Py;

/// `json.loads` of a nullable jsonb text; JSON `null` is Python's None, as is SQL NULL.
fn loads(v: &Option<String>) -> Result<Option<Py>, serde_json::Error> {
    Ok(match v.as_deref().map(Py::loads).transpose()? {
        Some(Py::None) | None => None,
        some => some,
    })
}

/// Whether pandas makes a float64 column of these values (`apply` infers the type): every
/// value is a number or None, and there is a None or a float among them.
fn pandas_floats<'a>(values: impl Iterator<Item = Option<&'a Py>> + Clone) -> bool {
    values.clone().flatten().all(Py::is_number)
        && values
            .clone()
            .any(|v| v.is_none_or(|p| matches!(p, Py::Float(_))))
}

/// A decoded value of a non-option column: text if it is a string, else Python's `str()`.
fn decoded_cell(v: &Py, floats: bool) -> String {
    match v {
        Py::Str(s) => text(s),
        n if floats => n.float_str(),
        other => other.str(),
    }
}

/// A checkbox list with each index shown from 1, as Python's `str(list)` (`[1, 3]`).
fn checkbox_cell(v: &Py) -> String {
    match v {
        Py::List(items) => Py::List(
            items
                .iter()
                .map(|x| x.plus_one().unwrap_or_else(|| x.clone()))
                .collect(),
        )
        .repr(),
        other => decoded_cell(other, false),
    }
}

pub fn sessions(rows: &[SessionRow]) -> String {
    let mut csv = Csv::new(&[
        "session_id",
        "watch_time",
        "user_identifier",
        "has_user_logged_in_via_sso",
        "created_at",
        "last_updated_at",
    ]);
    for r in rows {
        csv.row([
            r.session_id.to_string(),
            float(r.watch_time),
            opt_text(r.user_identifier.as_deref()),
            r.has_user_logged_in_via_sso.clone(),
            timestamp(&r.created_at),
            timestamp(&r.last_updated_at),
        ]);
    }
    csv.into_string()
}

pub fn user_metrics(rows: &[UserMetricsRow]) -> String {
    let mut csv = Csv::new(&[
        "user_identifier",
        "has_user_logged_in_via_sso",
        "num_questions_attempted",
        "num_questions_answered_correctly",
        "are_all_questions_attempted",
    ]);
    for r in rows {
        csv.row([
            opt_text(r.user_identifier.as_deref()),
            r.has_user_logged_in_via_sso.clone().unwrap_or_default(),
            r.num_questions_attempted.to_string(),
            r.num_questions_answered_correctly.to_string(),
            r.are_all_questions_attempted.clone(),
        ]);
    }
    csv.into_string()
}

/// `answer` is decoded and moved last; mcq answers are shown from 1 and, as pandas infers,
/// written `N.0` once any mcq answer of the file is missing; checkbox answers are lists shown
/// from 1; other answers are their text. `correct_answer` stays the stored jsonb (from 0).
pub fn responses(rows: &[ResponseRow]) -> Result<String, serde_json::Error> {
    let answers = rows
        .iter()
        .map(|r| loads(&r.answer))
        .collect::<Result<Vec<_>, _>>()?;
    let mcq: Vec<Option<Py>> = rows
        .iter()
        .zip(&answers)
        .filter(|(r, _)| r.question_type == "mcq")
        .map(|(_, a)| a.as_ref().and_then(Py::plus_one))
        .collect();
    let mcq_floats = pandas_floats(mcq.iter().map(Option::as_ref));
    let mut csv = Csv::new(&[
        "session_id",
        "user_identifier",
        "has_user_logged_in_via_sso",
        "item_id",
        "question_type",
        "correct_answer",
        "is_answer_correct",
        "answered_at",
        "answer",
    ]);
    for (r, a) in rows.iter().zip(&answers) {
        let answer = match (r.question_type.as_str(), a) {
            (_, None) => String::new(),
            ("mcq", Some(v)) => match v.plus_one() {
                Some(n) if mcq_floats => n.float_str(),
                Some(n) => n.str(),
                None => decoded_cell(v, false),
            },
            ("checkbox", Some(v)) => checkbox_cell(v),
            (_, Some(v)) => decoded_cell(v, false),
        };
        csv.row([
            r.session_id.to_string(),
            opt_text(r.user_identifier.as_deref()),
            r.has_user_logged_in_via_sso.clone(),
            r.item_id.to_string(),
            r.question_type.clone(),
            r.correct_answer.clone().unwrap_or_default(),
            r.is_answer_correct.clone(),
            timestamp(&r.answered_at),
            answer,
        ]);
    }
    Ok(csv.into_string())
}

/// `question_options` stays the stored jsonb; `question_correct_answer` is decoded and shown
/// from 1 for mcq and checkbox questions, as Plio. A NULL correct answer (Plio: 500) is an
/// empty cell and does not change how the others are written.
pub fn items(rows: &[ItemRow]) -> Result<String, serde_json::Error> {
    let stored = rows
        .iter()
        .map(|r| {
            r.question_correct_answer
                .as_deref()
                .map(Py::loads)
                .transpose()
        })
        .collect::<Result<Vec<_>, _>>()?;
    // pandas infers the column's type from every decoded value (JSON null included).
    let floats = pandas_floats(
        stored
            .iter()
            .flatten()
            .map(|v| (!matches!(v, Py::None)).then_some(v)),
    );
    let mut csv = Csv::new(&[
        "item_id",
        "item_type",
        "item_time",
        "question_type",
        "question_text",
        "question_options",
        "question_correct_answer",
    ]);
    for (r, v) in rows.iter().zip(&stored) {
        let correct = match (r.question_type.as_str(), v) {
            (_, None | Some(Py::None)) => String::new(),
            ("mcq", Some(v)) => match v.plus_one() {
                Some(n) if floats => n.float_str(),
                Some(n) => n.str(),
                None => decoded_cell(v, false),
            },
            ("checkbox", Some(v)) => checkbox_cell(v),
            (_, Some(v)) => decoded_cell(v, floats),
        };
        csv.row([
            r.item_id.to_string(),
            r.item_type.clone(),
            float(r.item_time),
            r.question_type.clone(),
            text(&r.question_text),
            opt_text(r.question_options.as_deref()),
            correct,
        ]);
    }
    Ok(csv.into_string())
}

pub fn events(rows: &[EventRow]) -> String {
    let mut csv = Csv::new(&[
        "session_id",
        "user_identifier",
        "has_user_logged_in_via_sso",
        "event_type",
        "event_player_time",
        "event_details",
        "event_global_time",
    ]);
    for r in rows {
        csv.row([
            r.session_id.to_string(),
            opt_text(r.user_identifier.as_deref()),
            r.has_user_logged_in_via_sso.clone(),
            r.event_type.clone(),
            float(r.event_player_time),
            opt_text(r.event_details.as_deref()),
            timestamp(&r.event_global_time),
        ]);
    }
    csv.into_string()
}

pub fn meta(m: &MetaRow) -> String {
    let mut csv = Csv::new(&["id", "name", "video"]);
    csv.row([m.id.clone(), text(&m.name), opt_text(m.video.as_deref())]);
    csv.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pandas_makes_floats_of_numbers_mixed_with_none_or_floats_only() {
        let (one, half, s) = (Py::Int(1), Py::Float(0.5), Py::Str("x".into()));
        let floats = |v: &[Option<&Py>]| pandas_floats(v.iter().copied());
        assert!(!floats(&[Some(&one), Some(&one)]));
        assert!(floats(&[Some(&one), None]));
        assert!(floats(&[Some(&one), Some(&half)]));
        assert!(!floats(&[Some(&one), Some(&s), None]));
    }

    #[test]
    fn checkbox_lists_count_from_one() {
        let v = Py::loads("[0, 2]").unwrap();
        assert_eq!(checkbox_cell(&v), "[1, 3]");
        assert_eq!(checkbox_cell(&Py::List(vec![])), "[]");
    }
}

//! Learner data (tenant tables), one file per table: sessions, answers, events; experiments;
//! tags.

pub mod answer;
pub mod event;
pub mod experiment;
pub mod session;
pub mod tag;

pub use answer::*;
pub use event::*;
pub use experiment::*;
pub use session::*;
pub use tag::*;

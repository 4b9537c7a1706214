//! Plio content (tenant tables), one file per table: videos, images, plios, items, questions,
//! and the plio graph (a plio with everything it shows) read and written as one.

pub mod graph;
pub mod image;
pub mod item;
pub mod plio;
pub mod question;
pub mod video;

pub use graph::*;
pub use image::*;
pub use item::*;
pub use plio::*;
pub use question::*;
pub use video::*;

//! Live progress of the images building: emerge's lines read as they stream into each image's log
//! ([`emerge_line`], pure), one state per image ([`image_progress`], pure), and the display that
//! shows them ([`display`]).

pub mod display;
pub mod emerge_line;
pub mod image_progress;

pub use display::{ImageWatch, ProgressDisplay, Stream};
pub use emerge_line::Origin;

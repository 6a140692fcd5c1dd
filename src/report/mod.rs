//! What a run tells its caller: the typed [`Event`] stream (and [`EventSink`], where events
//! go), the [`Renderer`] (the CLI's sink: live, gathered or JSON) and the [`RunReport`] a run
//! returns, and the run's [`Secrets`], which every event is masked of. Knows nothing of Lua
//! or SSH.

mod event;
mod render;
mod run_report;
mod secrets;

pub use self::event::{
    Changed, Event, EventSink, JsonEvent, LogLevel, Outcome, SCHEMA_VERSION, SharedSink, Stream,
    discard,
};
pub use self::render::{Mode, RenderOptions, Renderer};
pub use self::run_report::{ErrorReport, Failure, HostReport, RunReport};
pub(crate) use self::secrets::RedactingSink;
pub use self::secrets::{MASK, Secrets};

//! `jail desktop` (being written).
pub fn run(_a: crate::cli::DesktopArgs) -> i32 {
    eprintln!("jail: error: `jail desktop` is not available in this build yet");
    crate::EXIT_JAIL
}

//! Listening for SIGINT, SIGTERM and SIGHUP sent to cargo-tek, so the runner can forward
//! them to task groups and exit with 128 + the signal number.

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

/// Starts listeners; each received signal's number arrives on the channel.
pub(crate) fn listen() -> std::io::Result<mpsc::UnboundedReceiver<i32>> {
    let (tx, rx) = mpsc::unbounded_channel();
    for (kind, number) in [
        (
            SignalKind::interrupt(),
            nix::sys::signal::Signal::SIGINT as i32,
        ),
        (
            SignalKind::terminate(),
            nix::sys::signal::Signal::SIGTERM as i32,
        ),
        (
            SignalKind::hangup(),
            nix::sys::signal::Signal::SIGHUP as i32,
        ),
    ] {
        let mut stream = signal(kind)?;
        let tx = tx.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(number).is_err() {
                    break;
                }
            }
        });
    }
    Ok(rx)
}

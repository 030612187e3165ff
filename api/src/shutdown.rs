//! Graceful shutdown. On SIGTERM or Ctrl-C the server stops accepting connections, lets the
//! requests in flight finish and then exits. [`Shutdown`] is the signal long-lived work watches:
//! a subscription (websocket) selects on [`Shutdown::cancelled`] and closes, or the server
//! would wait for it forever.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::{
    CancellationToken, WaitForCancellationFuture, WaitForCancellationFutureOwned,
};

/// Cancelled once the server begins to shut down. Cheap to clone; every clone sees it.
#[derive(Debug, Clone, Default)]
pub struct Shutdown(CancellationToken);

impl Shutdown {
    /// Resolves when shutdown has begun: `tokio::select!` on it in long-lived connections.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.0.cancelled()
    }

    /// [`Shutdown::cancelled`] without a borrow, for streams that outlive the caller.
    pub fn cancelled_owned(&self) -> WaitForCancellationFutureOwned {
        self.0.clone().cancelled_owned()
    }

    pub fn is_shutting_down(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Begins the shutdown (the server does this when its shutdown future resolves).
    pub fn begin(&self) {
        self.0.cancel();
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn os_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing the requests in flight");
}

/// The server's TCP listener. axum drops it when shutdown begins; it then closes the socket
/// (new connections are refused) and logs that, so operators (and a test) can see the moment.
pub struct Listener(Option<TcpListener>);

impl Listener {
    pub fn new(listener: TcpListener) -> Self {
        Self(Some(listener))
    }
}

impl axum::serve::Listener for Listener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match &mut self.0 {
            Some(listener) => axum::serve::Listener::accept(listener).await,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> tokio::io::Result<Self::Addr> {
        match &self.0 {
            Some(listener) => listener.local_addr(),
            None => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }
}

/// The peer address of a connection, for handlers (`ConnectInfo<Peer>`): what limits failed
/// authentication per source address.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, Listener>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, Listener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if self.0.take().is_some() {
            tracing::info!("no longer accepting connections");
        }
    }
}

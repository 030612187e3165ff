//! A small graphql-ws (`graphql-transport-ws`) client, as a partner's front end speaks it:
//! `connection_init` with the token, `subscribe`, then `next` / `complete` messages.
//!
//! Every wait has a timeout, so a message that never comes fails the test instead of hanging
//! it. [`Connection::subscribe`] returns once the server has read the `subscribe` message
//! (it answers a `ping` sent after it), from which point the subscription hears every event.

use std::{net::SocketAddr, time::Duration};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

/// How long any single message may take to arrive.
pub const WAIT: Duration = Duration::from_secs(20);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the server sent for one subscription, or how it ended the connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A `next` message's payload (`{data, errors}`).
    Next(Value),
    Complete,
    /// The server closed the connection with this code and reason.
    Closed(u16, String),
}

impl Frame {
    /// The payload of a `next` message; anything else fails the test.
    #[track_caller]
    pub fn payload(self) -> Value {
        match self {
            Frame::Next(payload) => payload,
            other => panic!("expected a `next` message, got {other:?}"),
        }
    }
}

/// An acknowledged graphql-ws connection.
pub struct Connection {
    socket: Socket,
    next_id: u32,
    /// Messages read while waiting for something else, in order.
    held: Vec<Value>,
}

/// Opens a websocket to `address`'s `/graphql` and sends `connection_init` with `payload`:
/// `Ok` once acknowledged, `Err(frame)` with how the server ended the connection otherwise.
pub async fn connect(address: SocketAddr, payload: Value) -> Result<Connection, Frame> {
    let mut request = format!("ws://{address}/graphql")
        .into_client_request()
        .expect("a websocket request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (socket, response) = tokio::time::timeout(WAIT, connect_async(request))
        .await
        .expect("the websocket handshake finishes in time")
        .expect("the server accepts the websocket upgrade");
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("graphql-transport-ws"),
        "the server speaks graphql-transport-ws"
    );
    let mut connection = Connection {
        socket,
        next_id: 0,
        held: Vec::new(),
    };
    connection
        .send(json!({ "type": "connection_init", "payload": payload }))
        .await;
    match connection.message().await {
        Ok(message) if message["type"] == "connection_ack" => Ok(connection),
        Ok(message) => panic!("expected connection_ack, got {message}"),
        Err(closed) => Err(closed),
    }
}

/// [`connect`] with `{"Authorization": "Bearer <token>"}`, which must be accepted.
pub async fn connect_with_token(address: SocketAddr, token: &str) -> Connection {
    connect(
        address,
        json!({ "Authorization": format!("Bearer {token}") }),
    )
    .await
    .unwrap_or_else(|frame| panic!("the token was refused: {frame:?}"))
}

impl Connection {
    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("the websocket accepts a message");
    }

    /// The next protocol message (pings answered on the way), or how the connection closed.
    async fn message(&mut self) -> Result<Value, Frame> {
        loop {
            let message = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("the server sends a message in time");
            match message {
                Some(Ok(Message::Text(text))) => {
                    let message: Value =
                        serde_json::from_str(&text).expect("graphql-ws messages are JSON");
                    if message["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Ok(message);
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame.map_or((1005, String::new()), |f| {
                        (f.code.into(), f.reason.to_string())
                    });
                    return Err(Frame::Closed(code, reason));
                }
                Some(Ok(_)) => continue,
                Some(Err(err)) => return Err(Frame::Closed(1006, err.to_string())),
                None => return Err(Frame::Closed(1006, "the connection ended".into())),
            }
        }
    }

    /// Starts `document` with `variables`; returns its id once the server has read it.
    pub async fn subscribe(&mut self, document: &str, variables: Value) -> String {
        self.next_id += 1;
        let id = self.next_id.to_string();
        self.send(json!({
            "id": id,
            "type": "subscribe",
            "payload": { "query": document, "variables": variables },
        }))
        .await;
        self.send(json!({ "type": "ping" })).await;
        loop {
            match self.message().await {
                Ok(message) if message["type"] == "pong" => return id,
                // A subscription refused at once answers before the pong; keep it for `next`.
                Ok(message) => self.held.push(message),
                Err(closed) => panic!("the connection closed while subscribing: {closed:?}"),
            }
        }
    }

    /// The next message for subscription `id`.
    pub async fn next(&mut self, id: &str) -> Frame {
        let message = if self.held.is_empty() {
            self.message().await
        } else {
            Ok(self.held.remove(0))
        };
        let message = match message {
            Ok(message) => message,
            Err(closed) => return closed,
        };
        assert_eq!(
            message["id"], id,
            "a message for another subscription: {message}"
        );
        match message["type"].as_str() {
            Some("next") => Frame::Next(message["payload"].clone()),
            Some("complete") => Frame::Complete,
            Some("error") => Frame::Next(json!({ "errors": message["payload"] })),
            _ => panic!("unexpected message {message}"),
        }
    }
}

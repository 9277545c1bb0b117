//! A small SMTP server for the tests: real SMTP over TCP on a free port, which a test can stop and
//! start again on the same port. (Embeddable SMTP crates serve forever and cannot be stopped.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify};

#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub data: String,
}

impl Received {
    fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default().parse(self.data.as_bytes()).expect("a parsable message")
    }

    /// The decoded subject.
    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_owned()
    }

    /// The plain-text and the HTML part, decoded.
    pub fn text(&self) -> String {
        let m = self.parsed();
        format!("{}\n{}", m.body_text(0).unwrap_or_default(), m.body_html(0).unwrap_or_default())
    }

    pub fn message_id(&self) -> String {
        self.parsed().message_id().unwrap_or_default().to_owned()
    }
}

pub struct SmtpSink {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<Notify>,
    stop: Option<oneshot::Sender<()>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut sink = SmtpSink { port, received: Default::default(), arrived: Default::default(), stop: None };
        sink.serve(listener);
        sink
    }

    fn serve(&mut self, listener: TcpListener) {
        let (tx, mut rx) = oneshot::channel();
        self.stop = Some(tx);
        let (received, arrived) = (self.received.clone(), self.arrived.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut rx => return,
                    accepted = listener.accept() => {
                        if let Ok((stream, _)) = accepted {
                            tokio::spawn(session(stream, received.clone(), arrived.clone()));
                        }
                    }
                }
            }
        });
    }

    /// Stops listening: connections are refused until `restart`.
    pub fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }

    pub async fn restart(&mut self) {
        let listener = loop {
            // The old listener closes asynchronously after `stop`; the port frees within moments.
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(_) => tokio::task::yield_now().await,
            }
        };
        self.serve(listener);
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` messages have arrived (for the worker running inside the server).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.arrived.notified();
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("only {} of {n} messages arrived", self.messages().len());
            }
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn session(stream: TcpStream, received: Arc<Mutex<Vec<Received>>>, arrived: Arc<Notify>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut to = Vec::new();
    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-sink\r\n250 8BITMIME\r\n"
        } else if command.starts_with("RCPT TO:") {
            to.push(line.trim_end()[8..].trim_matches(|c| c == '<' || c == '>' || c == ' ').to_lowercase());
            b"250 OK\r\n"
        } else if command == "DATA" {
            let _ = write.write_all(b"354 go ahead\r\n").await;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            received.lock().unwrap().push(Received { to: std::mem::take(&mut to), data });
            arrived.notify_waiters();
            b"250 queued\r\n"
        } else if command == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 OK\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

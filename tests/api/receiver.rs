//! A real webhook receiver for the tests: `tests/webhooks/receiver.py` (Python's http.server and the
//! Standard Webhooks reference library, which verifies every signature), in the tests' venv. Its
//! answer depends on the path (see the script); each message it gets arrives here as JSON.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;

use super::mailserver::python;

pub struct Receiver {
    pub port: u16,
    child: Child,
    arrived: Arc<(Mutex<Vec<Value>>, Notify)>,
}

impl Receiver {
    pub async fn start() -> Self {
        let mut child = Command::new(python())
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/webhooks/receiver.py"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the webhook receiver");
        let stdout = child.stdout.take().unwrap();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let arrived: Arc<(Mutex<Vec<Value>>, Notify)> = Default::default();
        let sink = arrived.clone();
        std::thread::spawn(move || {
            let mut ready_tx = Some(ready_tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line.strip_prefix("ready ") {
                    if let Some(tx) = ready_tx.take() {
                        let _ = tx.send(port.parse::<u16>().unwrap());
                    }
                } else if let Ok(message) = serde_json::from_str::<Value>(&line) {
                    sink.0.lock().unwrap().push(message);
                    sink.1.notify_waiters();
                }
            }
        });
        let port = tokio::time::timeout(Duration::from_secs(60), ready_rx)
            .await
            .expect("the webhook receiver did not start")
            .expect("the webhook receiver exited before it was ready");
        Receiver { port, child, arrived }
    }

    /// The URL for a receiver named `name` that behaves as `behaviour` (e.g. "ok", "fail/2").
    pub fn url(&self, name: &str, behaviour: &str) -> String {
        format!("http://127.0.0.1:{}/{name}/{behaviour}", self.port)
    }

    /// Tells the receiver the secrets to verify `name`'s messages with.
    pub async fn secrets(&self, name: &str, secrets: &[&str]) {
        let status = reqwest::Client::new()
            .put(format!("http://127.0.0.1:{}/_secrets/{name}", self.port))
            .json(&secrets)
            .send()
            .await
            .expect("the receiver answers")
            .status();
        assert_eq!(status, 204);
    }

    /// Every message so far to paths starting with `/name/`.
    pub fn messages(&self, name: &str) -> Vec<Value> {
        let prefix = format!("/{name}/");
        let all = self.arrived.0.lock().unwrap();
        all.iter().filter(|m| m["path"].as_str().is_some_and(|p| p.starts_with(&prefix))).cloned().collect()
    }

    /// Waits until `name` has had at least `n` messages.
    pub async fn wait_for(&self, name: &str, n: usize, timeout: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.arrived.1.notified();
            let got = self.messages(name);
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("only {} of {n} webhook messages to {name} arrived: {got:?}", got.len());
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

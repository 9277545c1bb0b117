//! A real SMTP server for the tests: aiosmtpd (PyPI) running `tests/smtp/server.py`, in a venv the
//! tests make on first use under `target/tmp`. It can be stopped and started again on the same
//! port, offer STARTTLS with a certificate from a CA the test makes, require AUTH, answer 4xx or
//! 5xx, and drop the connection in the middle of a session.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;

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

/// How the server behaves; the default accepts everything in plain SMTP.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// STARTTLS with a certificate for 127.0.0.1 from the CA whose PEM is in this file's sibling.
    pub tls: Option<TestCa>,
    pub auth: Option<(String, String)>,
    /// Answer the first n messages with 451.
    pub tempfail: u32,
    /// Answer RCPT TO these addresses with 550.
    pub reject: Vec<String>,
    /// Close the connection at RCPT in the first n sessions.
    pub drop: u32,
}

pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    behaviour: Behaviour,
    child: Option<Child>,
    arrived: Arc<(Mutex<usize>, Notify)>,
}

/// The venv's python with the test servers' packages (aiosmtpd; standardwebhooks for the webhook
/// receiver), made once per test run.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-venv");
            let python = venv.join("bin/python");
            let ready = |p: &Path| {
                Command::new(p).args(["-c", "import aiosmtpd, standardwebhooks"]).status().is_ok_and(|s| s.success())
            };
            if !ready(&python) {
                let ok = Command::new("python3").arg("-m").arg("venv").arg(&venv).status().is_ok_and(|s| s.success())
                    && Command::new(venv.join("bin/pip"))
                        .args(["install", "-q", "aiosmtpd==1.4.6", "standardwebhooks==1.1.0"])
                        .status()
                        .is_ok_and(|s| s.success());
                assert!(
                    ok && ready(&python),
                    "could not install the test servers' packages (needs python3 and PyPI) into {venv:?}"
                );
            }
            python
        })
        .clone()
}

/// A CA and a server certificate for 127.0.0.1 signed by it, made with openssl.
#[derive(Debug, Clone)]
pub struct TestCa {
    pub ca_pem: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    _dir: Arc<tempfile::TempDir>,
}

impl TestCa {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let p = |name: &str| dir.path().join(name);
        let run = |args: &[&str]| {
            let ok = Command::new("openssl").args(args).current_dir(dir.path()).output().unwrap();
            assert!(ok.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&ok.stderr));
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=samavvik test CA",
        ]);
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        std::fs::write(
            p("ext.cnf"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]);
        TestCa { ca_pem: p("ca.pem"), cert: p("server.pem"), key: p("server.key"), _dir: Arc::new(dir) }
    }
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::start_with(Behaviour::default()).await
    }

    pub async fn start_with(behaviour: Behaviour) -> Self {
        let mut sink = SmtpSink {
            port: 0,
            dir: tempfile::tempdir().unwrap(),
            behaviour,
            child: None,
            arrived: Default::default(),
        };
        sink.spawn().await;
        sink
    }

    /// Starts the server process and waits for its "ready" line.
    async fn spawn(&mut self) {
        let b = &self.behaviour;
        let mut cmd = Command::new(python());
        cmd.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp/server.py"))
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--tempfail", &b.tempfail.to_string(), "--drop", &b.drop.to_string()])
            .stdout(Stdio::piped())
            // aiosmtpd logs every refused handshake as a traceback; SMTP_DEBUG=1 shows them.
            .stderr(if std::env::var_os("SMTP_DEBUG").is_some() { Stdio::inherit() } else { Stdio::null() });
        if let Some(ca) = &b.tls {
            cmd.arg("--tls").arg(&ca.cert).arg(&ca.key);
        }
        if let Some((user, pass)) = &b.auth {
            cmd.arg("--auth").arg(format!("{user}:{pass}"));
        }
        for address in &b.reject {
            cmd.args(["--reject", address]);
        }
        let mut child = cmd.spawn().expect("start the SMTP server");
        let stdout = child.stdout.take().unwrap();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let arrived = self.arrived.clone();
        std::thread::spawn(move || {
            let mut ready_tx = Some(ready_tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line.strip_prefix("ready ") {
                    if let Some(tx) = ready_tx.take() {
                        let _ = tx.send(port.parse::<u16>().unwrap());
                    }
                } else if line.starts_with("accepted ") {
                    *arrived.0.lock().unwrap() += 1;
                    arrived.1.notify_waiters();
                }
            }
        });
        let port = tokio::time::timeout(Duration::from_secs(60), ready_rx)
            .await
            .expect("the SMTP server did not start")
            .expect("the SMTP server exited before it was ready");
        self.port = port;
        self.child = Some(child);
    }

    /// Stops the server: connections are refused until `restart`.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, with the messages so far kept.
    pub async fn restart(&mut self) {
        self.spawn().await;
    }

    pub fn messages(&self) -> Vec<Received> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| {
                let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
                let to = v["to"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_lowercase()).collect();
                Received { to, data: v["data"].as_str().unwrap().to_owned() }
            })
            .collect()
    }

    /// Waits until at least `n` messages have arrived (for the worker running inside the server).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.arrived.1.notified();
            if *self.arrived.0.lock().unwrap() >= n {
                return self.messages();
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

impl Received {
    /// A header's raw value, as sent.
    pub fn header(&self, name: &str) -> Option<String> {
        self.parsed().header_raw(name).map(|v| v.trim().to_owned())
    }
}

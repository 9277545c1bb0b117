//! Where mail goes: an SMTP server (production) or `.eml` files (the default on a laptop).

use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{Config, MailTransport, SmtpTls};
use crate::db::outbox::OutboxRow;

#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
}

impl Mailer {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        match config.mail_transport {
            MailTransport::File => {
                crate::files::private_dir(&config.mail_dir)
                    .map_err(|e| anyhow::anyhow!("kan ikke opprette {}: {e}", config.mail_dir.display()))?;
                Ok(Mailer::File(AsyncFileTransport::new(&config.mail_dir)))
            }
            MailTransport::Smtp => {
                let host = &config.smtp_host;
                let mut builder = match config.smtp_tls {
                    SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
                    SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
                };
                // A relay with a certificate from the organisation's own CA: trust that CA too.
                if !config.smtp_ca_file.is_empty() && config.smtp_tls != SmtpTls::None {
                    let pem = std::fs::read(&config.smtp_ca_file)
                        .map_err(|e| anyhow::anyhow!("SAMAVVIK_SMTP_CA_FILE {}: {e}", config.smtp_ca_file))?;
                    let params = TlsParameters::builder(host.clone())
                        .add_root_certificate(Certificate::from_pem(&pem)?)
                        .build_rustls()?;
                    builder = builder.tls(match config.smtp_tls {
                        SmtpTls::Tls => Tls::Wrapper(params),
                        _ => Tls::Required(params),
                    });
                }
                builder =
                    builder.port(config.smtp_port).timeout(Some(Duration::from_secs(config.smtp_timeout_seconds)));
                if !config.smtp_username.is_empty() {
                    builder = builder
                        .credentials(Credentials::new(config.smtp_username.clone(), config.smtp_password.clone()));
                }
                Ok(Mailer::Smtp(builder.build()))
            }
        }
    }

    /// Sends one outbox row. The Message-ID is derived from the row, so a receiver can recognise a
    /// redelivery after a crash between sending and marking sent.
    pub async fn send(&self, from: &Mailbox, row: &OutboxRow) -> Result<(), SendError> {
        let to: Mailbox =
            row.recipient.parse().map_err(|e| SendError::permanent(format!("ugyldig mottakeradresse: {e}")))?;
        let mut builder = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(row.subject.clone())
            .message_id(Some(format!("<{}@samavvik>", row.id)));
        if let Some(url) = &row.list_unsubscribe {
            // RFC 2369 and RFC 8058: the address, and that a POST to it unsubscribes at one click.
            builder = builder
                .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe"), format!("<{url}>")))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        let message = builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(row.body_text.clone()))
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(row.body_html.clone())),
            )
            .map_err(|e| SendError::permanent(e.to_string()))?;
        match self {
            Mailer::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| SendError {
                // A 5xx reply: the server will refuse the same message again; retrying helps nobody.
                permanent: e.is_permanent(),
                message: e.to_string(),
            }),
            Mailer::File(t) => t.send(message).await.map(|_| ()).map_err(|e| SendError::transient(e.to_string())),
        }
    }
}

/// Why a message was not delivered, and whether trying again later could help.
#[derive(Debug)]
pub struct SendError {
    pub message: String,
    pub permanent: bool,
}

impl SendError {
    fn permanent(message: String) -> Self {
        SendError { message, permanent: true }
    }

    fn transient(message: String) -> Self {
        SendError { message, permanent: false }
    }
}

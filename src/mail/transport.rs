//! Where mail goes: an SMTP server (production) or `.eml` files (the default on a laptop).

use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
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
                std::fs::create_dir_all(&config.mail_dir)
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
    pub async fn send(&self, from: &Mailbox, row: &OutboxRow) -> Result<(), String> {
        let to: Mailbox = row.recipient.parse().map_err(|e| format!("ugyldig mottakeradresse: {e}"))?;
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(row.subject.clone())
            .message_id(Some(format!("<{}@samavvik>", row.id)))
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(row.body_text.clone()))
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(row.body_html.clone())),
            )
            .map_err(|e| e.to_string())?;
        match self {
            Mailer::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
            Mailer::File(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
        }
    }
}

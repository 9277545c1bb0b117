//! Mail templates (bokmål), embedded from `src/mail/templates`. Each kind sets a subject and a
//! message; the layouts add the facts. The data holds no free text and no patient identity, so no
//! template can leak them.

use std::sync::LazyLock;

use minijinja::Environment;
use serde::{Deserialize, Serialize};

macro_rules! embedded {
    ($($name:literal),+ $(,)?) => { &[$(($name, include_str!(concat!("templates/", $name)))),+] };
}

const TEMPLATES: &[(&str, &str)] = embedded!(
    "layout.txt",
    "layout.html",
    "receipt.txt",
    "new_deviation.txt",
    "assigned.txt",
    "acknowledged.txt",
    "forwarded.txt",
    "rejected.txt",
    "answered.txt",
    "closed.txt",
    "reopened.txt",
    "commented.txt",
    "reminder.txt",
    "overdue.txt",
    "escalation.txt",
    "tertial_report.txt",
    "access_request.txt",
    "webhook_disabled.txt",
    "action_reminder.txt",
    "action_due.txt",
);

/// Every kind of message, for tests that render them all.
pub const KINDS: &[&str] = &[
    "receipt",
    "new_deviation",
    "assigned",
    "acknowledged",
    "forwarded",
    "rejected",
    "answered",
    "closed",
    "reopened",
    "commented",
    "reminder",
    "overdue",
    "escalation",
    "tertial_report",
    "access_request",
    "webhook_disabled",
    "action_reminder",
    "action_due",
];

// Compiled in and parsed by a unit test (see `render.rs` for the same reasoning).
#[allow(clippy::panic)]
static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    for (name, source) in TEMPLATES {
        env.add_template(name, source).unwrap_or_else(|e| panic!("mail template {name}: {e}"));
    }
    env
});

/// What a message may say. Deliberately no free-text fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MailData {
    pub reference: String,
    pub category: String,
    pub status: String,
    /// While a deviation waits for triage: the day by which its receipt must be acknowledged.
    pub acknowledge_by: Option<String>,
    /// While it waits for an answer (also before triage): the day by which it must be answered.
    pub answer_by: Option<String>,
    /// The one deadline a reminder, overdue notice or escalation is about.
    pub deadline: Option<String>,
    pub counterpart: String,
    pub unit: Option<String>,
    pub link: String,
    /// For reminders: "bekrefte mottak av" / "svare på", and the passive form.
    pub task: String,
    pub task_passive: String,
    pub days: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Serialize)]
struct Layout<'a> {
    #[serde(flatten)]
    data: &'a MailData,
    subject: &'a str,
    message: &'a str,
}

pub fn render(kind: &str, data: &MailData) -> Result<Rendered, minijinja::Error> {
    let template = ENV.get_template(&format!("{kind}.txt"))?;
    let captured = template.render_captured(data)?;
    let part = |name: &str| captured.state().lookup(name).map(|v| v.to_string().trim().to_owned()).unwrap_or_default();
    let (subject, message) = (part("subject"), part("message"));
    let layout = Layout { data, subject: &subject, message: &message };
    let text = ENV.get_template("layout.txt")?.render(&layout)?;
    let html = ENV.get_template("layout.html")?.render(&layout)?;
    Ok(Rendered { subject, text, html })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> MailData {
        MailData {
            reference: "SA-2026-00042".into(),
            category: "Epikrise og sykepleiesammenfatning".into(),
            status: "sendt".into(),
            acknowledge_by: None,
            answer_by: None,
            deadline: Some("30.11.2026".into()),
            counterpart: "St. Olavs hospital HF & co".into(),
            unit: Some("Medisinsk klinikk".into()),
            link: "https://samavvik.example/avvik/abc".into(),
            task: "svare på".into(),
            task_passive: "besvares".into(),
            days: 5,
        }
    }

    #[test]
    fn every_kind_renders_with_the_facts() {
        for kind in KINDS {
            let r = render(kind, &data()).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert!(r.subject.contains("SA-2026-00042"), "{kind}: {}", r.subject);
            assert!(!r.subject.contains('\n'));
            for body in [&r.text, &r.html] {
                assert!(
                    body.contains("SA-2026-00042") && body.contains("Epikrise og sykepleiesammenfatning"),
                    "{kind}: {body}"
                );
            }
            assert!(r.text.contains("https://samavvik.example/avvik/abc"), "{kind}");
            // minijinja escapes '/' in HTML; browsers read the entity back.
            assert!(r.html.contains("href=\"https:&#x2f;&#x2f;samavvik.example&#x2f;avvik&#x2f;abc\""), "{kind}");
        }
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let r = render("new_deviation", &data()).unwrap();
        assert!(r.html.contains("St. Olavs hospital HF &amp; co"));
        assert!(r.text.contains("St. Olavs hospital HF & co"));
        assert!(r.html.starts_with("<!doctype html>"));
    }
}

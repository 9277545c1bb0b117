//! End to end in headless Chromium (Debian `chromium` + `chromium-driver`): the whole life of a
//! deviation through the web pages, with screenshots of every page at phone and desktop width
//! under `target/screenshots/`. Run by `.ci/run`: `cargo test --features browser-tests --test api browser::`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::*;

struct Browser {
    client: Client,
    driver: Child,
    base: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    async fn start(app: &TestApp) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (apt-get install chromium chromium-driver; .ci/run does it)");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=nb"]}),
        );
        // Wait for the driver to listen: poll its port, bounded, instead of sleeping a fixed time.
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::rustls()
                .unwrap()
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(e) if started.elapsed() > Duration::from_secs(20) => panic!("chromedriver did not start: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Browser { client, driver, base: app.address.clone() }
    }

    async fn go(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.unwrap();
    }

    async fn fill(&self, css: &str, text: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).click().await.unwrap();
    }

    async fn choose(&self, css: &str, value: &str) {
        self.client.find(Locator::Css(css)).await.unwrap().select_by_value(value).await.unwrap();
    }

    /// Fails the test with a screenshot and the end of the page source.
    async fn fail(&self, what: &str) -> ! {
        self.screenshots("feilet").await;
        let source = self.client.source().await.unwrap_or_default();
        panic!("{what} (on {})\n{}", self.path().await, source.get(source.len().saturating_sub(3000)..).unwrap_or(""));
    }

    /// Waits (bounded) until `css` exists and its text contains `needle`; returns the text. Pages
    /// load asynchronously after a click, so this polls the condition rather than sleeping.
    async fn expect_text(&self, css: &str, needle: &str) -> String {
        let started = Instant::now();
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                if let Ok(text) = element.text().await {
                    if text.contains(needle) {
                        return text;
                    }
                }
            }
            if started.elapsed() > Duration::from_secs(15) {
                self.fail(&format!("no {css} containing «{needle}»")).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn expect_path(&self, expected: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let path = self.path().await;
            if expected(&path) {
                return path;
            }
            if started.elapsed() > Duration::from_secs(15) {
                self.fail("unexpected path").await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        format!("{}{}", url.path(), url.query().map(|q| format!("?{q}")).unwrap_or_default())
    }

    async fn login(&self, email: &str) {
        self.go("/logg-inn").await;
        self.fill("#email", email).await;
        self.fill("#password", DEMO_PASSWORD).await;
        self.click("button[type=submit].primary").await;
        self.expect_path(|p| !p.starts_with("/logg-inn")).await;
    }

    async fn logout(&self) {
        self.click("form.who button").await;
        self.expect_path(|p| p == "/logg-inn").await;
    }

    /// The page as it is now, at phone and at desktop width.
    async fn screenshots(&self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        for (width, height, label) in [(390, 1800, "mobil"), (1280, 1500, "desktop")] {
            self.client.set_window_size(width, height).await.unwrap();
            let png = self.client.screenshot().await.unwrap();
            std::fs::write(dir.join(format!("{name}-{label}.png")), png).unwrap();
        }
    }
}

#[actix_web::test]
async fn a_deviation_lives_its_whole_life_in_the_browser() {
    let app = spawn_app().await;
    let handler = app.login(HANDLER).await;
    let me = app.get("/api/v1/me", &handler).await.expect(200);
    let (stolav, unit) =
        (me["organisation"]["id"].as_str().unwrap().to_owned(), me["unit"]["id"].as_str().unwrap().to_owned());
    let b = Browser::start(&app).await;

    // The nurse logs in and lands on the form.
    b.go("/logg-inn").await;
    b.screenshots("01-logg-inn").await;
    b.login(NURSE).await;
    b.expect_path(|p| p == "/avvik/ny").await;
    b.screenshots("02-meld-avvik").await;

    // A fødselsnummer in the description is refused next to the field; nothing is sent.
    b.click("#kind-deviation").await;
    // Typing in the search chooses the organisation; no second step in the list.
    b.fill("input.filter", "Olav").await;
    let chosen = b.client.find(Locator::Css("#recipient_organisation_id")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(chosen.as_deref(), Some(stolav.as_str()), "the search chose St. Olav");
    b.click("#category-discharge_summary").await;
    b.fill("#occurred_at", "05052026").await;
    b.fill("#description", &format!("Pasient {} kom hjem uten epikrise.", fnr())).await;
    b.click("#harm_class-no_harm").await;
    b.click("#handover_related-yes").await;
    b.click("button[type=submit].primary").await;
    b.expect_text("#description-error", "fødselsnummer").await;
    let described = b.client.find(Locator::Css("#description")).await.unwrap();
    assert_eq!(described.attr("aria-invalid").await.unwrap().as_deref(), Some("true"));
    assert!(described.attr("aria-describedby").await.unwrap().unwrap().contains("description-error"));
    b.screenshots("03-feil-i-skjema").await;
    let nurse = app.login(NURSE).await;
    assert_eq!(app.get("/api/v1/deviations?box=sent", &nurse).await.expect(200)["items"], json!([]));

    // Corrected, it is sent: the reference and the deadlines are shown.
    b.fill("#description", "Pasienten kom hjem uten epikrise og uten oppdatert legemiddelliste.").await;
    b.click("button[type=submit].primary").await;
    b.expect_path(|p| p.ends_with("?sendt=1")).await;
    let reference = b.expect_text(".success .reference", "").await;
    let sent = app.get("/api/v1/deviations?box=sent", &nurse).await.expect(200);
    assert_eq!(sent["items"][0]["reference"], reference.as_str());
    let id = sent["items"][0]["id"].as_str().unwrap().to_owned();
    b.expect_text(".success", "svare innen").await;
    b.screenshots("04-sendt").await;
    b.logout().await;

    // The hospital's quality advisor finds it in the inbox and routes it to the unit.
    b.login(HOSPITAL_ADVISOR).await;
    b.expect_path(|p| p == "/avvik?boks=mottatt").await;
    b.expect_text("table.cases", &reference).await;
    b.screenshots("05-mottatt").await;
    b.click(&format!("a[href='/avvik/{id}']")).await;
    b.expect_text("h1", &reference).await;
    b.click("#action-acknowledge summary").await;
    b.choose("#unit_id", &unit).await;
    b.screenshots("06-bekreft-mottak").await;
    b.click("#action-acknowledge button[type=submit]").await;
    b.expect_text("h1 .status", "Under behandling").await;
    b.logout().await;

    // The unit leader answers.
    b.login(HANDLER).await;
    b.go(&format!("/avvik/{id}")).await;
    b.expect_text("h1", &reference).await;
    b.click("#action-answer summary").await;
    b.fill("#answer-text", "Epikrisen ble ikke sendt på grunn av en feil i utsendingen. Rutinen er rettet.").await;
    b.click("#action-answer button[type=submit]").await;
    b.expect_text("h1 .status", "Besvart").await;
    b.logout().await;

    // The nurse sees the answer in the sent box and closes the case.
    b.login(NURSE).await;
    b.go("/avvik?boks=sendt").await;
    b.expect_text("table.cases", "Besvart").await;
    b.screenshots("07-sendt-boks").await;
    b.click(&format!("a[href='/avvik/{id}']")).await;
    b.expect_text(".answer", "Rutinen er rettet").await;
    b.screenshots("08-svar").await;
    b.click("#action-close summary").await;
    b.click("#action-close button[type=submit]").await;
    b.expect_text("h1 .status", "Lukket").await;
    // Her logout above ended every session of hers, the API token too: a fresh one.
    let nurse = app.login(NURSE).await;
    let events: Vec<String> = app.get(&format!("/api/v1/deviations/{id}/events"), &nurse).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(events, ["submitted", "acknowledged", "answered", "closed"]);
    b.logout().await;

    // Statistics for the quality advisor.
    b.login(HOSPITAL_ADVISOR).await;
    b.go("/statistikk").await;
    b.expect_text(".figures", "avvik sendt").await;
    assert!(b.client.find(Locator::Css(".charts svg")).await.is_ok());
    b.screenshots("09-statistikk").await;
}

//! End to end in headless Chromium (Debian `chromium` + `chromium-driver`): the whole life of a
//! deviation through the web pages, with screenshots of every page at phone and desktop width
//! under `target/screenshots/`. Run by `.ci/run`: `cargo test --features browser-tests --test api browser::`.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::helpers::*;

struct Browser {
    client: Client,
    driver: Child,
    /// The WebDriver session, ended on drop (which closes its Chromium) whatever the test did.
    session: Option<String>,
    /// This browser's own profile: every Chromium process it starts carries it on its command
    /// line, so the drop can find any that outlived the session.
    profile: tempfile::TempDir,
    port: u16,
    base: String,
    /// Keys pressed through `press` and `type_text` (one per answer typed), for the counts.
    keys: std::cell::Cell<usize>,
    /// Characters typed into answers, counted apart: they are the nurse's words, not the form's cost.
    typed: std::cell::Cell<usize>,
}

/// axe-core (npm), installed once per test run under the target directory, like aiosmtpd.
fn axe_source() -> &'static str {
    static AXE: OnceLock<String> = OnceLock::new();
    AXE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("axe");
        let file = dir.join("node_modules/axe-core/axe.min.js");
        if !file.exists() {
            let ok = Command::new("npm")
                .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
                .arg(&dir)
                .arg("axe-core@4.11.0")
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok && file.exists(), "could not install axe-core from npm into {dir:?}");
        }
        std::fs::read_to_string(file).unwrap()
    })
}

impl Drop for Browser {
    /// Runs also when a test fails or panics: the session is ended as a client would, then the
    /// driver's process group and any Chromium with this browser's profile are killed, so no
    /// browser outlives its test (`.ci/run` checks).
    fn drop(&mut self) {
        if let Some(session) = &self.session {
            end_session(self.port, session);
        }
        let _ = Command::new("kill").args(["-KILL", &format!("-{}", self.driver.id())]).stderr(Stdio::null()).status();
        if let Some(profile) = self.profile.path().to_str() {
            let _ = Command::new("pkill").args(["-KILL", "-f", profile]).status();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `DELETE /session/{id}` to the driver, blocking and bounded (a drop cannot await).
fn end_session(port: u16, session: &str) {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2))
    else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request =
        format!("DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_ok() {
        let _ = stream.read_to_end(&mut Vec::new());
    }
}

impl Browser {
    async fn start(app: &TestApp) -> Browser {
        Self::start_with(app).await
    }

    /// A browser that never loads the pages' script: what a user without JavaScript (or with a
    /// script blocked) gets. Chromium's own switch would also stop the WebDriver scripts the test
    /// and axe need, so the script is blocked at the network through ChromeDriver's DevTools bridge.
    async fn start_without_javascript(app: &TestApp) -> Browser {
        let b = Self::start_with(app).await;
        let session = b.client.session_id().await.unwrap().unwrap();
        let http = reqwest::Client::new();
        let cdp = format!("http://127.0.0.1:{}/session/{session}/goog/cdp/execute", b.port);
        for (cmd, params) in
            [("Network.enable", json!({})), ("Network.setBlockedURLs", json!({"urls": ["*/static/app.js"]}))]
        {
            let r = http.post(&cdp).json(&json!({"cmd": cmd, "params": params})).send().await.unwrap();
            assert!(r.status().is_success(), "{cmd}: {}", r.text().await.unwrap_or_default());
        }
        b
    }

    async fn start_with(app: &TestApp) -> Browser {
        let port = free_port();
        let profile = tempfile::Builder::new().prefix("samavvik-browser-").tempdir().unwrap();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            // A process group of its own, so the drop can end it with everything it started.
            .process_group(0)
            // Chromium on Linux takes its locale (the date field's dd.mm.åååå) from the environment.
            .env("LANGUAGE", "nb")
            .env("LANG", "nb_NO.UTF-8")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (apt-get install chromium chromium-driver; .ci/run does it)");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    // This machine's network is closed: without these Chromium keeps reaching for
                    // Google's hosts at start and in the background.
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--lang=nb",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {
                    "intl.accept_languages": "nb-NO,nb",
                },
            }),
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
        let session = client.session_id().await.ok().flatten().map(|s| s.to_string());
        Browser { client, driver, session, profile, port, base: app.address.clone(), keys: 0.into(), typed: 0.into() }
    }

    /// One key pressed and released where the focus is, as a keyboard user does it.
    async fn press(&self, key: Key) {
        let value = char::from(key);
        let keys = KeyActions::new("keyboard".into()).then(KeyAction::Down { value }).then(KeyAction::Up { value });
        self.client.perform_actions(keys).await.unwrap();
        self.keys.set(self.keys.get() + 1);
    }

    async fn press_times(&self, key: Key, times: usize) {
        for _ in 0..times {
            self.press(key).await;
        }
    }

    /// An answer typed where the focus is: one step in the key count, its characters counted apart.
    async fn type_text(&self, text: &str) {
        let mut keys = KeyActions::new("keyboard".into());
        for value in text.chars() {
            keys = keys.then(KeyAction::Down { value }).then(KeyAction::Up { value });
        }
        self.client.perform_actions(keys).await.unwrap();
        self.keys.set(self.keys.get() + 1);
        self.typed.set(self.typed.get() + text.chars().count());
    }

    /// Tab until `id` has the focus, in at most `at_most` presses.
    async fn tab_to(&self, id: &str, at_most: usize) {
        for _ in 0..at_most {
            self.press(Key::Tab).await;
            if self.focused().await == id {
                return;
            }
        }
        self.fail(&format!("{at_most} × Tab did not reach #{id}")).await;
    }

    /// The id (or name) of the focused element, to check the keyboard is where it should be.
    async fn focused(&self) -> String {
        let script = "const e = document.activeElement; return e.id || e.name || e.tagName;";
        self.client.execute(script, vec![]).await.unwrap().as_str().unwrap_or_default().to_owned()
    }

    /// axe-core's WCAG 2.1 A and AA rules on the page as it is, at phone and desktop width; fails
    /// the test with every violation found.
    async fn accessible(&self, state: &str) {
        for (width, height) in [(375, 667), (1280, 900)] {
            self.client.set_window_size(width, height).await.unwrap();
            let violations = self.axe().await;
            if violations.as_array().is_some_and(|v| !v.is_empty()) {
                self.fail(&format!("axe: {state} at {width} px: {violations:#}")).await;
            }
        }
        println!("axe: {state}: 0 violations at 375 and 1280 px");
    }

    /// axe's WCAG 2.1 A/AA violations on the page as it is now.
    async fn axe(&self) -> Value {
        self.client.execute(axe_source(), vec![]).await.unwrap();
        let script = "const done = arguments[arguments.length - 1];
            axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
              .then((r) => done(r.violations.map((v) => ({id: v.id, help: v.help, nodes: v.nodes.map((n) => n.target.join(' '))}))))
              .catch((e) => done([{id: 'axe-error', help: String(e), nodes: []}]));";
        self.client.execute_async(script, vec![]).await.unwrap()
    }

    /// How many phone screens the page is tall at 375 px wide, a screen being 667 CSS px (the
    /// 375 × 667 viewport of a small phone).
    async fn phone_screens(&self) -> f64 {
        self.client.set_window_size(375, 667).await.unwrap();
        let script = "return document.documentElement.scrollHeight / 667;";
        let value: Value = self.client.execute(script, vec![]).await.unwrap();
        value.as_f64().unwrap()
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
        for (width, label) in [(375, "mobil"), (1280, "desktop")] {
            // The whole page: as tall as its content at this width.
            self.client.set_window_size(width, 900).await.unwrap();
            // The window's own frame comes on top of the page's height.
            let script = "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight;";
            let height = self.client.execute(script, vec![]).await.unwrap().as_u64().unwrap_or(900).clamp(600, 8000);
            self.client.set_window_size(width, height as u32).await.unwrap();
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
    b.accessible("01-logg-inn").await;
    b.login(NURSE).await;
    b.expect_path(|p| p == "/avvik/ny").await;
    b.screenshots("02-meld-avvik").await;
    b.accessible("02-meld-avvik").await;

    // A fødselsnummer in the description is refused next to the field; nothing is sent.
    b.click("#kind-deviation").await;
    // Typing in the search chooses the organisation; no second step in the list.
    b.fill("#recipient_organisation_id", "Olav").await;
    let chosen =
        b.client.find(Locator::Css("#recipient_organisation_id-select")).await.unwrap().prop("value").await.unwrap();
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
    b.accessible("03-feil-i-skjema").await;
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
    b.accessible("04-sendt").await;
    b.logout().await;

    // The hospital's quality advisor finds it in the inbox and routes it to the unit.
    b.login(HOSPITAL_ADVISOR).await;
    b.expect_path(|p| p == "/avvik?boks=mottatt").await;
    b.expect_text("table.cases", &reference).await;
    b.screenshots("05-mottatt").await;
    b.accessible("05-mottatt").await;
    b.click(&format!("a[href='/avvik/{id}']")).await;
    b.expect_text("h1", &reference).await;
    b.click("#action-acknowledge summary").await;
    b.choose("#unit_id", &unit).await;
    b.choose("#acknowledge-category", "medication").await;
    b.screenshots("06-bekreft-mottak").await;
    b.accessible("06-bekreft-mottak").await;
    b.click("#action-acknowledge button[type=submit]").await;
    b.expect_text("h1 .status", "Under behandling").await;
    b.expect_text(".facts", "melderen valgte «Epikrise og sykepleiesammenfatning»").await;
    b.expect_text(".timeline", "Kategori endret til «Legemidler og legemiddelliste»").await;
    b.logout().await;

    // The unit leader answers.
    b.login(HANDLER).await;
    b.go(&format!("/avvik/{id}")).await;
    b.expect_text("h1", &reference).await;
    b.click("#action-answer summary").await;
    // An empty answer: the error is listed above the form, announced and focused, and its link
    // leads to the field.
    b.click("#action-answer button[type=submit]").await;
    b.expect_text("#action-answer #error-summary", "Skriv svaret til melderen.").await;
    assert_eq!(b.focused().await, "error-summary");
    b.accessible("answer with an error").await;
    b.click("#error-summary a").await;
    assert_eq!(b.focused().await, "answer-text");
    b.fill("#answer-text", "Epikrisen ble ikke sendt på grunn av en feil i utsendingen. Rutinen er rettet.").await;
    b.click("#action-answer button[type=submit]").await;
    b.expect_text("h1 .status", "Besvart").await;
    b.logout().await;

    // The nurse sees the answer in the sent box and closes the case.
    b.login(NURSE).await;
    b.go("/avvik?boks=sendt").await;
    b.expect_text("table.cases", "Besvart").await;
    b.screenshots("07-sendt-boks").await;
    b.accessible("07-sendt-boks").await;
    b.click(&format!("a[href='/avvik/{id}']")).await;
    b.expect_text(".answer", "Rutinen er rettet").await;
    b.screenshots("08-svar").await;
    b.accessible("08-svar").await;
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
    b.accessible("09-statistikk").await;
    // The link to the quality system: the category mapping as a form.
    b.go("/integrasjon").await;
    b.expect_text("h1", "Kobling til kvalitetssystemet").await;
    b.screenshots("09b-kvalitetssystem").await;
    b.accessible("09b-kvalitetssystem").await;
    b.logout().await;

    // The analyst's de-identified list, and a page her role does not give: refused inside her frame.
    b.login(ANALYST).await;
    b.go("/avvik").await;
    b.expect_text("h1", "Alle avvik").await;
    b.accessible("10-alle-avvik").await;
    b.go("/avvik/ny").await;
    b.expect_text("h1", "Du har ikke tilgang").await;
    b.expect_text("nav", "Alle avvik").await;
    b.screenshots("11-ingen-tilgang").await;
    b.accessible("11-ingen-tilgang").await;
}

/// Hendelsesanalyse (#34): two cases chosen in Mottatt become one analysis; a factor, a
/// conclusion, concluded; and someone of an unrelated organisation cannot open it.
#[actix_web::test]
async fn two_received_cases_become_one_analysis_that_is_concluded_and_stays_with_its_people() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let first = app.submit_to_hospital(&nurse).await;
    let second = app.submit_to_hospital(&nurse).await;
    let (a, b_id) = (first["id"].as_str().unwrap(), second["id"].as_str().unwrap());
    let b = Browser::start(&app).await;

    b.login(HOSPITAL_ADVISOR).await;
    b.expect_text("table.cases", second["reference"].as_str().unwrap()).await;
    b.click(&format!("#pick-{a}")).await;
    b.click(&format!("#pick-{b_id}")).await;
    b.accessible("12-mottatt-velg").await;
    b.click("#choose-cases button[type=submit]").await;
    b.expect_text("h1", "Ny hendelsesanalyse").await;
    b.expect_text(".lead", "disse 2 avvikene").await;
    b.fill("#title", "Epikrise mangler ved utskrivning").await;
    b.click("main button[type=submit].primary").await;
    b.expect_text(".success", "Hendelsesanalysen er opprettet").await;
    let path = b.expect_path(|p| p.starts_with("/analyser/")).await;
    let path = path.split('?').next().unwrap().to_owned();
    b.screenshots("12-hendelsesanalyse").await;
    b.accessible("12-hendelsesanalyse").await;

    b.click("#form-factor summary").await;
    b.choose("#factor-category", "transitions_between_organisations").await;
    b.fill("#factor-description", "Ingen felles sjekkpunkt for at epikrisen er sendt før pasienten reiser.").await;
    b.click("#form-factor button[type=submit]").await;
    b.expect_text(".factors", "Overganger mellom virksomheter").await;
    b.fill("#conclusion", "Epikrisen sendes før pasienten forlater avdelingen.").await;
    b.click("#form-content button[type=submit]").await;
    b.expect_text(".success", "Endringene er lagret").await;
    b.click("#form-status button[value=in_progress]").await;
    b.expect_text("h1 .status", "Pågår").await;
    b.click("#form-status button[value=concluded]").await;
    b.expect_text("h1 .status", "Konkludert").await;
    b.expect_text(".timeline", "Status endret til «Konkludert»").await;
    b.screenshots("13-hendelsesanalyse-konkludert").await;
    b.accessible("13-hendelsesanalyse-konkludert").await;
    // An action from it, with the unit leader responsible; then its own page.
    let leader = app.user_id(&app.login(HANDLER).await).await;
    b.click("#form-action summary").await;
    b.fill("#action-title", "Sjekkpunkt ved utreise").await;
    b.fill("#action-description", "Epikrisen sendes før pasienten forlater avdelingen.").await;
    b.choose("#action-responsible_user_id", &leader).await;
    let due = (app.today() + chrono::Duration::days(20)).format("%d.%m.%Y").to_string();
    b.fill("#action-due_on", &due).await;
    b.choose("#action-category", "discharge_summary").await;
    b.accessible("14-nytt-tiltak").await;
    b.click("#form-action button[type=submit]").await;
    b.expect_text(".success", "Tiltaket er lagret").await;
    b.expect_text("h1", "Sjekkpunkt ved utreise").await;
    b.screenshots("15-tiltak").await;
    b.accessible("15-tiltak").await;
    // Each case says it is part of the analysis.
    b.go(&format!("/avvik/{a}")).await;
    b.expect_text(".timeline", "Inngår i hendelsesanalyse").await;
    b.logout().await;

    b.login("kvalitet@hnt.example").await;
    b.go(&path).await;
    b.expect_text("h1", "Fant ikke siden").await;
    b.go("/analyser").await;
    b.expect_text(".empty", "Du deltar ikke i noen hendelsesanalyser").await;
}

#[actix_web::test]
async fn a_note_published_from_an_analysis_is_read_by_a_nurse_of_a_third_organisation() {
    let app = spawn_app().await;
    let analysis = crate::learning::demo_analysis(&app).await;
    crate::learning::third_organisation(&app).await;
    let b = Browser::start(&app).await;

    b.login(MUNI_ADVISOR).await;
    b.go(&format!("/analyser/{analysis}")).await;
    b.click("#form-note summary").await;
    b.fill("#note-title", "Legemiddellisten følger pasienten hjem").await;
    b.fill("#note-what_happened", "Hjemmesykepleien visste ikke at en medisin var seponert.").await;
    b.fill("#note-why", "Legemiddellisten ble sendt dagen etter utskrivning.").await;
    b.fill("#note-what_changed", "Listen sendes sammen med epikrisen før pasienten reiser.").await;
    b.click("#form-note button[type=submit]").await;
    // Without the tick: the error by the box, what was typed kept.
    b.expect_text(".error-summary, [role=alert]", "anonymisert").await;
    b.accessible("16-laeringsnotat-uten-kryss").await;
    b.click("#note-anonymised").await;
    b.click("#form-note button[type=submit]").await;
    b.expect_text(".success", "Læringsnotatet er publisert").await;
    b.screenshots("17-laeringsnotat").await;
    b.logout().await;

    b.login("sykepleier@malvik.example").await;
    b.click("a[href='/laering']").await;
    b.expect_text("h1", "Læring").await;
    b.expect_text("main", "Legemiddellisten følger pasienten hjem").await;
    b.accessible("18-laering").await;
    b.click("main a[href^='/laering/']").await;
    b.expect_text("main", "Listen sendes sammen med epikrisen før pasienten reiser.").await;
    b.accessible("19-laeringsnotat-lest").await;
}

/// Keys from the top of the form page to its first question: the skip link, then into the form.
async fn to_first_question(b: &Browser) {
    b.press(Key::Tab).await;
    assert_eq!(b.focused().await, "A", "the skip link comes first");
    b.press(Key::Enter).await;
    b.press(Key::Tab).await;
    assert_eq!(b.focused().await, "kind-deviation", "the first question, «Avvik» chosen");
}

/// From «Hvem gjelder det?» to the description, with St. Olav, «Epikrise» and a date typed.
async fn recipient_to_description(b: &Browser) {
    b.type_text("Olav").await;
    b.press(Key::Tab).await;
    assert_eq!(b.focused().await, "recipient_unit_id");
    b.press(Key::Tab).await;
    // The first category has focus; epikrise is the fourth.
    b.press_times(Key::Down, 3).await;
    assert_eq!(b.focused().await, "category-discharge_summary");
    b.press(Key::Tab).await;
    assert_eq!(b.focused().await, "occurred_at");
    b.type_text("05052026").await;
    // Chromium's date field has the calendar button as a stop of its own.
    b.tab_to("description", 2).await;
    b.type_text("Pasienten kom hjem uten epikrise.").await;
    // 4 000 − 33: the counter follows what is typed, by the server's limit.
    let counter = b.expect_text("#description + .counter", "tegn igjen").await;
    assert_eq!(counter.chars().filter(char::is_ascii_digit).collect::<String>(), "39674000", "{counter}");
}

/// Tab until «Send» (the only button after the questions) has the focus, and press it.
async fn tab_to_send_and_press(b: &Browser) {
    while b.focused().await != "BUTTON" {
        b.press(Key::Tab).await;
    }
    b.press(Key::Enter).await;
}

#[actix_web::test]
async fn a_minimal_report_takes_few_keys_and_three_phone_screens() {
    let app = spawn_app().await;
    let b = Browser::start(&app).await;
    b.login(NURSE).await;
    b.expect_path(|p| p == "/avvik/ny").await;
    b.screenshots("10-skjema").await;
    let screens = b.phone_screens().await;
    println!("the form is {screens:.2} phone screens tall at 375 × 667 px, before «Flere opplysninger»");
    assert!(screens <= 3.0, "the form is {screens:.1} phone screens tall; the target is 3");

    to_first_question(&b).await;
    b.press(Key::Tab).await;
    assert_eq!(b.focused().await, "recipient_organisation_id", "the recipient comes next");
    recipient_to_description(&b).await;
    b.press(Key::Tab).await;
    // «Ingen skade» is the third answer, after «Risikoforhold» and «Nesten-hendelse».
    assert_eq!(b.focused().await, "harm_class-unsafe_condition");
    b.press_times(Key::Down, 2).await;
    assert_eq!(b.focused().await, "harm_class-no_harm");
    b.press(Key::Tab).await;
    assert_eq!(b.focused().await, "handover_related-yes", "severity is skipped when there was no harm");
    b.press(Key::Space).await;
    tab_to_send_and_press(&b).await;
    b.expect_path(|p| p.ends_with("?sendt=1")).await;
    let (keys, typed) = (b.keys.get(), b.typed.get());
    println!(
        "a minimal report by keyboard: {keys} key presses (each answer typed counts once) + {typed} characters typed"
    );
    assert!(keys <= 35, "{keys} key presses; the target is 35");
    b.accessible("sent").await;
}

#[actix_web::test]
async fn a_report_with_a_forgotten_answer_is_mended_by_keyboard() {
    let app = spawn_app().await;
    let b = Browser::start(&app).await;
    b.login(NURSE).await;
    b.expect_path(|p| p == "/avvik/ny").await;
    to_first_question(&b).await;
    b.press(Key::Tab).await;
    recipient_to_description(&b).await;
    // Harm and handover forgotten: straight to «Send».
    tab_to_send_and_press(&b).await;
    b.expect_text("#error-summary", "Velg om pasienten fikk skade").await;
    assert_eq!(b.focused().await, "error-summary", "the summary takes the focus");
    b.accessible("form with errors").await;
    // Every message names its question without a code; the summary links lead to the answer.
    b.press(Key::Tab).await;
    b.press(Key::Enter).await;
    assert_eq!(b.focused().await, "harm_class-unsafe_condition", "the link goes to the first answer");
    b.press_times(Key::Down, 2).await;
    b.press(Key::Tab).await;
    assert_eq!(b.focused().await, "handover_related-yes");
    b.press(Key::Space).await;
    tab_to_send_and_press(&b).await;
    b.expect_path(|p| p.ends_with("?sendt=1")).await;
    let keys = b.keys.get();
    println!(
        "a report with two answers forgotten, mended by keyboard: {keys} key presses + {} characters typed",
        b.typed.get()
    );
    assert!(keys <= 45, "{keys} key presses");
}

#[actix_web::test]
async fn the_form_works_without_javascript() {
    let app = spawn_app().await;
    let handler = app.login(HANDLER).await;
    let me = app.get("/api/v1/me", &handler).await.expect(200);
    let (stolav, unit) =
        (me["organisation"]["id"].as_str().unwrap().to_owned(), me["unit"]["id"].as_str().unwrap().to_owned());
    let b = Browser::start_without_javascript(&app).await;
    b.login(NURSE).await;
    b.expect_path(|p| p == "/avvik/ny").await;
    // The native select is the control: grouped by kind, the unit list grouped by organisation.
    let groups = b.client.find_all(Locator::Css("#recipient_organisation_id optgroup")).await.unwrap();
    let mut labels = vec![];
    for g in groups {
        labels.push(g.attr("label").await.unwrap().unwrap());
    }
    assert_eq!(labels[..2], ["Sykehus", "Kommuner"], "no recent recipients yet");
    assert!(b.client.find(Locator::Css("[role=combobox]")).await.is_err(), "no script, no combobox");
    b.accessible("form without JavaScript").await;
    b.choose("#recipient_organisation_id", &stolav).await;
    b.choose("#recipient_unit_id", &unit).await;
    b.click("#category-discharge_summary").await;
    b.fill("#occurred_at", "05052026").await;
    b.fill("#description", "Pasienten kom hjem uten epikrise.").await;
    // Severity is shown, says when it applies, and has no answer of its own making.
    b.expect_text("[data-shown-when='harm_class=harm']", "Bare hvis pasienten fikk skade").await;
    b.click("#harm_class-harm").await;
    b.click("#handover_related-no").await;
    b.click("button[type=submit].primary").await;
    b.expect_text("#error-summary", "Velg hvor alvorlig skaden var").await;
    b.accessible("form with errors without JavaScript").await;
    b.choose("#harm_level", "low").await;
    b.click("button[type=submit].primary").await;
    b.expect_path(|p| p.ends_with("?sendt=1")).await;
    let nurse = app.login(NURSE).await;
    let sent = app.get("/api/v1/deviations?box=sent", &nurse).await.expect(200);
    assert_eq!(sent["items"][0]["recipient_unit"]["id"], unit.as_str());
    // Now St. Olav is among her latest recipients, first in the list.
    b.go("/avvik/ny").await;
    let first = b.client.find(Locator::Css("#recipient_organisation_id optgroup")).await.unwrap();
    assert_eq!(first.attr("label").await.unwrap().as_deref(), Some("Sist brukt"));
    assert!(first.html(true).await.unwrap().contains(&stolav));

    // The check above can fail: an image without a text alternative is found.
    b.client
        .execute(
            "document.querySelector('main').append(Object.assign(document.createElement('img'), {src: '/x.png'}))",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(b.axe().await[0]["id"], "image-alt");
}

/// HelseID (#17) in a real browser: the login page, the provider's own login page, a report, and
/// logging out of both.
#[actix_web::test]
async fn a_nurse_logs_in_with_helseid_reports_and_logs_out_of_both() {
    let w = crate::oidc::world().await;
    let b = Browser::start(&w.app).await;
    b.go("/logg-inn").await;
    b.expect_text("h1", "Logg inn").await;
    b.screenshots("30-logg-inn-helseid").await;
    b.accessible("30-logg-inn-helseid").await;
    // The organisation list is a combobox: type, and the first match is chosen.
    b.click("#organisation_id").await;
    b.type_text("Trondh").await;
    b.press(Key::Enter).await;
    b.press(Key::Tab).await;
    assert_eq!(b.focused().await, "BUTTON", "«Logg inn med HelseID» follows the organisation");
    b.press(Key::Enter).await;

    // The provider's own pages: log in, then consent.
    let provider = w.provider.issuer();
    b.expect_text("h1", "Sign-in").await;
    let at_provider = b.client.current_url().await.unwrap().to_string();
    assert!(at_provider.starts_with(&provider), "the browser went to the provider: {at_provider}");
    b.fill("input[name=login]", "nurse").await;
    b.fill("input[name=password]", "hemmelig").await;
    b.click("button[type=submit]").await;
    // The consent page is a new page: wait for its button, not the login page's.
    b.expect_text("button[type=submit]", "Continue").await;
    b.click("button[type=submit]").await;
    b.expect_path(|p| p == "/avvik/ny").await;
    b.expect_text("header", "Siri Sykepleier").await;

    to_first_question(&b).await;
    b.press(Key::Tab).await;
    recipient_to_description(&b).await;
    b.press(Key::Tab).await;
    b.press_times(Key::Down, 2).await;
    b.press(Key::Tab).await;
    b.press(Key::Space).await;
    tab_to_send_and_press(&b).await;
    b.expect_path(|p| p.ends_with("?sendt=1")).await;

    // «Logg ut» ends our session and the provider's: its page asks, then sends us back.
    b.click("form.who button").await;
    let started = Instant::now();
    while !b.client.current_url().await.unwrap().as_str().starts_with(&provider) {
        assert!(started.elapsed() < Duration::from_secs(15), "not sent to the provider's logout");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.expect_text("button[name=logout]", "").await;
    b.click("button[name=logout]").await;
    b.expect_path(|p| p == "/logg-inn").await;
    b.go("/avvik/ny").await;
    b.expect_path(|p| p.starts_with("/logg-inn")).await;
}

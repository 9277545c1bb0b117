//! The web pages over plain HTTP, as a browser without JavaScript would use them: sessions, CSRF,
//! and that another organisation's case stays out of reach from the pages too.

use reqwest::redirect::Policy;
use serde_json::json;

use crate::helpers::*;

/// A cookie-keeping client that does not follow redirects, so each 303 can be checked.
pub struct WebClient {
    client: reqwest::Client,
    base: String,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

fn csrf_in(body: &str) -> String {
    let re = regex::Regex::new(r#"name="csrf" value="([0-9a-f]{64})""#).unwrap();
    re.captures(body).map(|c| c[1].to_owned()).expect("page has a CSRF field")
}

impl WebClient {
    pub fn new(app: &TestApp) -> Self {
        Self::at(&app.address)
    }

    /// A browser session against the server at `base`.
    pub fn at(base: &str) -> Self {
        let client = reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).build().unwrap();
        WebClient { client, base: base.to_owned() }
    }

    async fn page(resp: reqwest::Response) -> Page {
        let status = resp.status().as_u16();
        let location = resp.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
        Page { status, location, body: resp.text().await.unwrap() }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::page(self.client.get(format!("{}{path}", self.base)).send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        Self::page(self.client.post(format!("{}{path}", self.base)).form(fields).send().await.unwrap()).await
    }

    /// The CSRF token of the page at `path`.
    pub async fn csrf(&self, path: &str) -> String {
        csrf_in(&self.get(path).await.body)
    }

    pub async fn login(&self, email: &str) {
        let csrf = self.csrf("/logg-inn").await;
        let page = self.post("/logg-inn", &[("csrf", &csrf), ("email", email), ("password", DEMO_PASSWORD)]).await;
        assert_eq!(page.status, 303, "{}", page.body);
    }
}

async fn sent_count(app: &TestApp, token: &str) -> usize {
    app.get("/api/v1/deviations?box=sent", token).await.expect(200)["items"].as_array().unwrap().len()
}

#[actix_web::test]
async fn a_post_without_a_valid_csrf_token_is_refused_and_stores_nothing() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let web = WebClient::new(&app);
    web.login(NURSE).await;
    let csrf = web.csrf("/avvik/ny").await;
    let org = stolav["id"].as_str().unwrap();
    let fields = |token: &'static str| {
        vec![
            ("csrf", token),
            ("kind", "deviation"),
            ("category", "discharge_summary"),
            ("recipient_organisation_id", org),
            ("occurred_at", "2026-01-12"),
            ("description", "Pasienten kom hjem uten epikrise."),
            ("harm_class", "no_harm"),
            ("handover_related", "true"),
        ]
    };
    let without: Vec<_> = fields("").into_iter().filter(|(k, _)| *k != "csrf").collect();
    let refused = web.post("/avvik/ny", &without).await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("Skjemaet ble ikke sendt"), "{}", refused.body);
    let forged = "0".repeat(64);
    let forged: Vec<_> =
        fields("").into_iter().map(|(k, v)| if k == "csrf" { (k, forged.as_str()) } else { (k, v) }).collect();
    assert_eq!(web.post("/avvik/ny", &forged).await.status, 403);
    // Another browser's token does not fit this browser either.
    let other = WebClient::new(&app);
    other.login(NURSE).await;
    let theirs = other.csrf("/avvik/ny").await;
    assert_ne!(theirs, csrf);
    let borrowed: Vec<_> =
        fields("").into_iter().map(|(k, v)| if k == "csrf" { (k, theirs.as_str()) } else { (k, v) }).collect();
    assert_eq!(web.post("/avvik/ny", &borrowed).await.status, 403);
    assert_eq!(sent_count(&app, &nurse).await, 0);

    let ok: Vec<_> =
        fields("").into_iter().map(|(k, v)| if k == "csrf" { (k, csrf.as_str()) } else { (k, v) }).collect();
    let sent = web.post("/avvik/ny", &ok).await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert!(sent.location.unwrap().ends_with("?sendt=1"));
    assert_eq!(sent_count(&app, &nurse).await, 1);
}

#[actix_web::test]
async fn another_organisations_case_is_refused_on_the_pages() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let malvik = app.organisation(&admin, "Malvik kommune").await;
    let email = "kvalitet@malvik.example";
    let body = json!({"name": "Kari Malvik", "email": email, "organisation_id": malvik["id"], "role": "quality_advisor", "password": DEMO_PASSWORD});
    app.post("/api/v1/users", &admin, &body).await.expect(201);
    let nurse = app.login(NURSE).await;
    let id = app.submit_to_hospital(&nurse).await["id"].as_str().unwrap().to_owned();

    let web = WebClient::new(&app);
    web.login(email).await;
    let page = web.get(&format!("/avvik/{id}")).await;
    assert_eq!(page.status, 404);
    assert!(!page.body.contains("epikrise"), "another organisation's text leaked");
    let csrf = web.csrf("/avvik?boks=mottatt").await;
    for (action, field, value) in [("comment", "text", "Hei"), ("reject", "reason", "Ikke vårt"), ("close", "note", "")]
    {
        let page = web.post(&format!("/avvik/{id}/{action}"), &[("csrf", &csrf), (field, value)]).await;
        assert_eq!(page.status, 404, "{action}: {}", page.body);
    }
    let events = app.get(&format!("/api/v1/deviations/{id}/events"), &nurse).await.expect(200);
    assert_eq!(events["items"].as_array().unwrap().len(), 1, "only the submission: {events}");
    let list = web.get("/avvik?boks=mottatt").await;
    assert_eq!(list.status, 200);
    assert!(!list.body.contains(&id));
}

#[actix_web::test]
async fn pages_need_a_session_and_login_stays_on_this_site() {
    let app = spawn_app().await;
    let web = WebClient::new(&app);
    let page = web.get("/avvik?boks=sendt").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location.as_deref(), Some("/logg-inn?neste=/avvik%3Fboks%3Dsendt"));

    let csrf = web.csrf("/logg-inn").await;
    let wrong = web.post("/logg-inn", &[("csrf", &csrf), ("email", NURSE), ("password", "feil")]).await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("Feil e-postadresse eller passord"));
    assert!(web.get("/avvik/ny").await.status == 303, "a failed login must not leave a session");

    let fields =
        [("csrf", csrf.as_str()), ("email", NURSE), ("password", DEMO_PASSWORD), ("neste", "//evil.example/x")];
    let page = web.post("/logg-inn", &fields).await;
    assert_eq!(page.location.as_deref(), Some("/"));
    assert_eq!(web.get("/avvik/ny").await.status, 200);

    let logout_csrf = web.csrf("/avvik/ny").await;
    assert_eq!(web.post("/logg-ut", &[("csrf", &logout_csrf)]).await.status, 303);
    assert_eq!(web.get("/avvik/ny").await.status, 303, "logged out");
}

#[actix_web::test]
async fn the_error_summary_lists_the_problems_in_the_order_of_the_form_and_nothing_is_stored() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let web = WebClient::new(&app);
    web.login(NURSE).await;
    let csrf = web.csrf("/avvik/ny").await;
    // No kind, recipient, category or description; the yes/no is given.
    let page =
        web.post("/avvik/ny", &[("csrf", &csrf), ("occurred_at", "2026-01-12"), ("handover_related", "true")]).await;
    assert_eq!(page.status, 422, "{}", page.body);
    let summary = &page.body[page.body.find("error-summary").expect("an error summary")..];
    let summary = &summary[..summary.find("</ul>").unwrap()];
    // Each link goes to the control: the field, or the first choice of a group; it exists on the page.
    let at = |field: &str| {
        let link = regex::Regex::new(&format!("href=\"#({field}(-[a-z_]+)?)\"")).unwrap();
        let found = link.captures(summary).unwrap_or_else(|| panic!("{field} in {summary}"));
        assert!(page.body.contains(&format!("id=\"{}\"", &found[1])), "no control with id {}", &found[1]);
        found.get(0).unwrap().start()
    };
    let order = ["kind", "recipient_organisation_id", "category", "description", "harm_class"].map(at);
    assert!(order.windows(2).all(|w| w[0] < w[1]), "summary out of form order: {summary}");
    assert!(summary.contains("href=\"#kind-deviation\""), "a group's link goes to its first choice: {summary}");
    assert!(page.body.contains("<title>Feil: Meld avvik"), "the title says there are errors");
    assert!(summary.contains("Skriv hva som skjedde."), "{summary}");
    assert_eq!(sent_count(&app, &nurse).await, 0);
}

/// After each step the page says what happened and what comes next, in days and dates; the form
/// starts as most reports do and asks for severity only when it applies.
#[actix_web::test]
async fn every_step_says_what_happened_and_what_comes_next() {
    let app = spawn_app().await;
    let web = WebClient::new(&app);
    web.login(NURSE).await;
    let form = web.get("/avvik/ny").await.body;
    assert!(form.contains("id=\"kind-deviation\" value=\"deviation\" checked"), "«Avvik» is chosen to begin with");
    assert!(form.contains("data-shown-when=\"harm_class=harm\""), "severity follows «fikk skade»");
    let order = ["unsafe_condition", "near_miss", "no_harm", "harm"]
        .map(|c| form.find(&format!("name=\"harm_class\" id=\"harm_class-{c}\"")).expect(c));
    assert!(order.windows(2).all(|w| w[0] < w[1]), "harm from least to most serious");
    assert!(form.contains("bekrefter innen 5 arbeidsdager og svarer deg innen 15"));
    assert!(form.contains(">Send</button>"));
    assert!(form.contains("<details class=\"more\">"), "the optional part starts closed");
    let csrf = web.csrf("/avvik/ny").await;
    let wrong = web.post("/avvik/ny", &[("csrf", &csrf), ("discovered_at", "31.02.2026")]).await;
    assert!(wrong.body.contains("<details class=\"more\" open>"), "and opens where something in it is wrong");

    let nurse = app.login(NURSE).await;
    let case = app.submit_to_hospital(&nurse).await;
    let id = case["id"].as_str().unwrap();
    let sent = web.get(&format!("/avvik/{id}?sendt=1")).await.body;
    assert!(sent.contains("innen 5 arbeidsdager (<strong>"), "deadlines in days and dates");

    let advisor = WebClient::new(&app);
    advisor.login(HOSPITAL_ADVISOR).await;
    let csrf = advisor.csrf(&format!("/avvik/{id}")).await;
    let done = advisor.post(&format!("/avvik/{id}/answer"), &[("csrf", &csrf), ("answer", "Rutinen er endret.")]).await;
    let page = advisor.get(done.location.as_deref().unwrap()).await.body;
    assert!(page.contains("Svaret er sendt, og melderen får e-post."), "{page}");
    assert!(web.get(&format!("/avvik/{id}")).await.body.contains("Er du fornøyd med svaret? Lukk saken."));

    let analyst = WebClient::new(&app);
    analyst.login(ANALYST).await;
    let refused = analyst.get("/avvik/ny").await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("<h1>Du har ikke tilgang</h1>"), "{}", refused.body);
    // Inside her own frame, with the menu and the way out.
    assert!(refused.body.contains("aria-label=\"Hovedmeny\"") && refused.body.contains("Logg ut"), "{}", refused.body);
    assert!(refused.body.contains("Alle avvik"), "the analyst's own menu");
    // A case that is not there (or not hers to see), too.
    let outsider = WebClient::new(&app);
    outsider.login(HANDLER).await;
    let hidden = outsider.get("/avvik/0190a1b2-0000-7000-8000-000000000000").await;
    assert_eq!(hidden.status, 404);
    assert!(hidden.body.contains("aria-label=\"Hovedmeny\""), "{}", hidden.body);
}

/// A text area filled to its `maxlength` is taken: browsers count a line break as one character
/// there (and in the counter) but send it as two.
#[actix_web::test]
async fn a_text_area_full_to_its_limit_with_line_breaks_is_taken() {
    let app = spawn_app().await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let web = WebClient::new(&app);
    web.login(NURSE).await;
    let form = web.get("/avvik/ny").await.body;
    assert!(form.contains("name=\"description\" rows=\"5\" maxlength=\"4000\""), "the limit is on the page");
    let csrf = web.csrf("/avvik/ny").await;
    // 1 000 lines of «Rad» make 4 000 characters as the browser counts them, 5 000 as sent.
    let description = "Rad\r\n".repeat(999) + "Rad.";
    let sent = web
        .post(
            "/avvik/ny",
            &[
                ("csrf", csrf.as_str()),
                ("kind", "deviation"),
                ("category", "discharge_summary"),
                ("recipient_organisation_id", stolav["id"].as_str().unwrap()),
                ("occurred_at", "2026-01-12"),
                ("description", &description),
                ("harm_class", "no_harm"),
                ("handover_related", "true"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let stored = app.get("/api/v1/deviations?box=sent", &nurse).await.expect(200);
    let id = stored["items"][0]["id"].as_str().unwrap();
    let d = app.get(&format!("/api/v1/deviations/{id}"), &nurse).await.expect(200);
    assert_eq!(d["description"].as_str().unwrap().chars().count(), 4000);
    assert!(!d["description"].as_str().unwrap().contains('\r'));
}

#[actix_web::test]
async fn the_quality_advisor_keeps_the_category_mapping_on_a_page_and_a_half_filled_row_is_named() {
    let app = spawn_app().await;
    let advisor = app.login(HOSPITAL_ADVISOR).await;
    let web = WebClient::new(&app);
    web.login(HOSPITAL_ADVISOR).await;
    let page = web.get("/integrasjon").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Kvalitetssystem") && page.body.contains("name=\"code.discharge_summary\""),
        "{}",
        page.body
    );
    let csrf = csrf_in(&page.body);
    let codes: Vec<String> = app.get("/api/v1/categories", &advisor).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_owned())
        .collect();

    // One row with a code and no name: refused by that row, nothing saved.
    let half = [("csrf", csrf.as_str()), ("code.discharge_summary", "EQS-12")];
    let refused = web.post("/integrasjon/kategorier", &half).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("id=\"label.discharge_summary-error\""), "{}", refused.body);
    assert!(refused.body.contains("value=\"EQS-12\""), "what was typed stays");
    let org = app.me_org(&advisor).await;
    let path = format!("/api/v1/organisations/{org}/category-mapping");
    assert_eq!(app.get(&path, &advisor).await.expect(200)["entries"], json!([]));

    // The whole form: one category mapped, the rest not in use.
    let full = [
        ("csrf", csrf.as_str()),
        ("code.discharge_summary", "EQS-12"),
        ("label.discharge_summary", "Epikrise / utskrivning"),
    ];
    let saved = web.post("/integrasjon/kategorier", &full).await;
    assert_eq!((saved.status, saved.location.as_deref()), (303, Some("/integrasjon?lagret=1")), "{}", saved.body);
    let mapping = app.get(&path, &advisor).await.expect(200);
    let entries = mapping["entries"].as_array().unwrap();
    assert_eq!(entries.len(), codes.len());
    let mapped: Vec<&serde_json::Value> = entries.iter().filter(|e| !e["local"].is_null()).collect();
    assert_eq!(mapped.len(), 1);
    assert_eq!(mapped[0]["local"], json!({ "code": "EQS-12", "label": "Epikrise / utskrivning" }));
    let csv = web.get("/integrasjon/kategorier.csv").await;
    assert!(csv.body.contains("discharge_summary;;EQS-12;Epikrise / utskrivning"), "{}", csv.body);

    // A nurse has no such page.
    let nurse = WebClient::new(&app);
    nurse.login(NURSE).await;
    assert_eq!(nurse.get("/integrasjon").await.status, 403);
}

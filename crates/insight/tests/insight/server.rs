//! The insight server as deployed: its real binary, started from a temporary directory that
//! holds only a warehouse and the main server's public key, with an empty environment. The
//! test plays the main server: it holds the signing key and issues assertions.

use ed25519_dalek::SigningKey;
use parcours_vault::assertion::{self, Claims, Perimeter, AUDIENCE};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty()
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.get("transfer-encoding").map(String::as_str) == Some("chunked") {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let n = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 2 + n + 2..];
    }
}

fn token(key: &SigningKey, role: &str, perimetre: Perimeter, iat_offset: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + iat_offset;
    assertion::sign(
        key,
        &Claims {
            aud: AUDIENCE.into(),
            role: role.into(),
            perimetre,
            iat: now,
            exp: now + 60,
            jti: parcours_vault::random_bytes::<8>()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        },
    )
    .unwrap()
}

fn start(root: &std::path::Path) -> Server {
    start_with(root, &[])
}

/// [`start`] with more arguments.
fn start_with(root: &std::path::Path, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_parcours-insight"))
        .current_dir(root)
        .env_clear()
        .args([
            "serve",
            "--warehouse",
            "entrepot",
            "--cle-publique",
            "parcours.pub",
            "--bind",
            "127.0.0.1:0",
            "--rechargement",
            "1",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|x| x.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    Server { child, addr }
}

/// The status of every cell of a table, row by row, as each format shows it.
type Grid = Vec<Vec<String>>;

fn grid_of_json(v: &serde_json::Value) -> Grid {
    let mut rows: Vec<&serde_json::Value> = v["lignes"].as_array().unwrap().iter().collect();
    rows.push(&v["ensemble"]);
    if !v["comparaison"].is_null() {
        rows.push(&v["comparaison"]);
    }
    rows.iter()
        .map(|r| {
            let mut cells: Vec<&serde_json::Value> =
                r["cellules"].as_array().unwrap().iter().collect();
            cells.push(&r["total"]);
            if !r["annee_precedente"].is_null() {
                cells.push(&r["annee_precedente"]);
            }
            cells
                .iter()
                .map(|c| {
                    // A suppressed cell carries no value on the wire.
                    if c["statut"] != "V" {
                        assert!(c["valeur"].is_null(), "suppressed value sent: {c}");
                        assert_eq!(c["affiche"], "s");
                    }
                    c["affiche"].as_str().unwrap().to_string()
                })
                .collect()
        })
        .collect()
}

fn grid_of_csv(csv: &str) -> Grid {
    assert!(csv.starts_with('\u{feff}'), "CSV with BOM for Excel");
    csv.trim_start_matches('\u{feff}')
        .split("\r\n")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split(';').skip(1).map(str::to_string).collect())
        .collect()
}

fn grid_of_html(html: &str) -> Grid {
    let table = html
        .split("<table class=\"resultats\"")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap();
    table
        .split("<tbody>")
        .nth(1)
        .unwrap()
        .split("<tr")
        .skip(1)
        .map(|tr| {
            tr.split("<td")
                .skip(1)
                .map(|td| {
                    let text = td.split('>').nth(1).unwrap().split('<').next().unwrap();
                    text.trim().to_string()
                })
                .collect()
        })
        .collect()
}

fn grid_of_xlsx(bytes: &[u8]) -> Grid {
    grid_of_sheet(bytes, "Tableau")
}

fn grid_of_sheet(bytes: &[u8], sheet: &str) -> Grid {
    use calamine::{Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = wb.worksheet_range(sheet).unwrap();
    range
        .rows()
        .skip(3)
        .take_while(|r| !matches!(r.first(), Some(Data::Empty) | None))
        .map(|r| {
            r.iter()
                .skip(1)
                .filter(|c| !matches!(c, Data::Empty))
                .map(|c| match c {
                    Data::Float(f) => format!("{}", *f as i64),
                    Data::Int(i) => i.to_string(),
                    Data::String(s) => s.clone(),
                    other => format!("{other:?}"),
                })
                .collect()
        })
        .collect()
}

#[test]
fn insight_server_serves_from_the_warehouse_and_a_public_key_only() {
    let root = std::env::temp_dir().join(format!("parcours-insight-srv-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    crate::synthetic_warehouse(&root.join("entrepot"), 5, 700, "20260401T000000Z");
    let main_key = SigningKey::from_bytes(&parcours_vault::random_bytes::<32>());
    std::fs::write(
        root.join("parcours.pub"),
        assertion::public_key_hex(&main_key),
    )
    .unwrap();
    let mut entries: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    entries.sort();
    assert_eq!(entries, ["entrepot", "parcours.pub"], "nothing else");

    let srv = start(&root);
    let a = srv.addr.as_str();
    assert_eq!(http(a, "GET", "/healthz", &[], "").status, 200);

    // No session, forged or expired assertions: refused.
    assert_eq!(http(a, "GET", "/tableau", &[], "").status, 401);
    assert_eq!(http(a, "GET", "/api/v1/tableau", &[], "").status, 401);
    let forger = SigningKey::from_bytes(&[42; 32]);
    for (t, why) in [
        (
            token(&forger, "pilote", Perimeter::Nation, 0),
            "signed by another key",
        ),
        (
            token(&main_key, "pilote", Perimeter::Nation, -3600),
            "expired",
        ),
        (
            token(&main_key, "conseiller", Perimeter::Nation, 0),
            "role and perimeter incoherent",
        ),
    ] {
        let r = http(a, "POST", "/connexion", &[], &format!("jeton={t}"));
        assert_eq!(r.status, 401, "{why}");
        let auth = format!("Bearer {t}");
        assert_eq!(
            http(a, "GET", "/api/v1/tableau", &[("Authorization", &auth)], "").status,
            401,
            "{why}"
        );
    }

    // A directeur of ML-LYON: a session, once per assertion; her structure only.
    let t = token(
        &main_key,
        "directeur",
        Perimeter::Structure("ML-LYON".into()),
        0,
    );
    let r = http(a, "POST", "/connexion", &[], &format!("jeton={t}"));
    assert_eq!(r.status, 303, "{}", r.text());
    let set_cookie = r.headers["set-cookie"].clone();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("; Secure"),
        "HttpOnly and Secure by default: {set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    assert_eq!(
        http(a, "POST", "/connexion", &[], &format!("jeton={t}")).status,
        401,
        "an assertion opens one session"
    );
    let page = http(a, "GET", "/tableau", &[("Cookie", &cookie)], "");
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("Mission Locale de Lyon"), "{html}");
    assert!(html.contains("<svg"), "server-rendered chart");
    assert!(!html.contains("<script"), "no script");
    assert!(
        page.headers["content-security-policy"].contains("default-src 'none'"),
        "CSP"
    );
    for path in [
        "/tableau?niveau=structure&code=ML-PARIS",
        "/tableau?niveau=region&code=Auvergne-Rh%C3%B4ne-Alpes",
        "/tableau?niveau=nation&code=nation",
        "/tableau.csv?niveau=nation&code=nation",
        "/api/v1/tableau?niveau=structure&code=ML-PARIS",
    ] {
        assert_eq!(
            http(a, "GET", path, &[("Cookie", &cookie)], "").status,
            403,
            "{path} is out of her perimeter"
        );
    }

    // A national pilote (API by assertion): the same table as page, API, CSV and XLSX carries
    // the same suppressed cells and the same figures.
    let t = token(&main_key, "pilote", Perimeter::Nation, 0);
    // A bearer assertion serves once: each API call carries a new one.
    let auth = || {
        format!(
            "Bearer {}",
            token(&main_key, "pilote", Perimeter::Nation, 0)
        )
    };
    let once = auth();
    assert_eq!(
        http(
            a,
            "GET",
            "/api/v1/indicateurs",
            &[("Authorization", &once)],
            ""
        )
        .status,
        200
    );
    assert_eq!(
        http(
            a,
            "GET",
            "/api/v1/indicateurs",
            &[("Authorization", &once)],
            ""
        )
        .status,
        401,
        "a bearer assertion replayed is refused"
    );
    let r = http(a, "POST", "/connexion", &[], &format!("jeton={t}"));
    let pilot = r.headers["set-cookie"]
        .split(';')
        .next()
        .unwrap()
        .to_string();
    for q in [
        "indicateur=entretiens_individuels&annee=2026&ventilation=tranche_age&niveau=region&code=Auvergne-Rh%C3%B4ne-Alpes",
        "indicateur=entretiens_individuels&annee=2026&ventilation=sexe&niveau=nation&code=nation",
        "indicateur=jeunes_accompagnes&annee=2026&ventilation=tranche_age&niveau=structure&code=ML-GRENOBLE",
        "indicateur=entrees_cej&annee=2026&ventilation=trimestre&niveau=region&code=Auvergne-Rh%C3%B4ne-Alpes",
    ] {
        let json = http(a, "GET", &format!("/api/v1/tableau?{q}"), &[("Authorization", &auth())], "");
        assert_eq!(json.status, 200, "{q}: {}", json.text());
        let v: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
        let g = grid_of_json(&v);
        let csv = http(a, "GET", &format!("/tableau.csv?{q}"), &[("Cookie", &pilot)], "");
        assert_eq!(csv.status, 200);
        assert!(csv.headers["content-type"].starts_with("text/csv"));
        let page = http(a, "GET", &format!("/tableau?{q}"), &[("Cookie", &pilot)], "");
        let xlsx = http(a, "GET", &format!("/tableau.xlsx?{q}"), &[("Cookie", &pilot)], "");
        assert_eq!(xlsx.status, 200);
        assert_eq!(grid_of_csv(&csv.text()), g, "{q}: CSV = API");
        assert_eq!(grid_of_html(&page.text()), g, "{q}: page = API");
        assert_eq!(grid_of_xlsx(&xlsx.body), g, "{q}: XLSX = API");
        for row in &g {
            for c in row {
                if let Ok(n) = c.parse::<i64>() {
                    assert!(n == 0 || n >= 11, "{q}: small count {n} published");
                } else {
                    assert_eq!(c, "s", "{q}");
                }
            }
        }
    }
    // The small structures make suppressions somewhere: "s" is seen, never confused with 0.
    let v: serde_json::Value = serde_json::from_slice(
        &http(
            a,
            "GET",
            "/api/v1/tableau?indicateur=entretiens_individuels&annee=2026&ventilation=tranche_age&niveau=region&code=Auvergne-Rh%C3%B4ne-Alpes",
            &[("Authorization", &auth())],
            "",
        )
        .body,
    )
    .unwrap();
    assert!(
        grid_of_json(&v).iter().flatten().any(|c| c == "s"),
        "some cell is suppressed: {v}"
    );

    // A whole perimeter as one workbook, built in the background with its progress: every
    // sheet is the API's table (same suppressions); another perimeter cannot see the job.
    let bearer = auth();
    let json = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];
    let r = http(
        a,
        "POST",
        "/api/v1/exports",
        &json,
        r#"{"annee": "2026", "niveau": "region", "code": "Auvergne-Rhône-Alpes"}"#,
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    let codes: Vec<String> = serde_json::from_slice::<serde_json::Value>(
        &http(
            a,
            "GET",
            "/api/v1/indicateurs",
            &[("Authorization", &auth())],
            "",
        )
        .body,
    )
    .unwrap()["indicateurs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(v["total"], codes.len());
    let mut last = 0;
    let mut ready = serde_json::Value::Null;
    for _ in 0..600 {
        let p = http(
            a,
            "GET",
            &format!("/api/v1/exports/{id}"),
            &[("Authorization", &auth())],
            "",
        );
        assert_eq!(p.status, 200, "{}", p.text());
        let p: serde_json::Value = serde_json::from_slice(&p.body).unwrap();
        let done = p["fait"].as_u64().unwrap();
        assert!(done >= last && done <= codes.len() as u64, "progress: {p}");
        last = done;
        if p["etat"] != "en_cours" {
            ready = p;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(ready["etat"], "pret", "{ready}");
    let page = http(
        a,
        "GET",
        &format!("/exports/{id}"),
        &[("Cookie", &pilot)],
        "",
    );
    assert!(
        page.text().contains("Télécharger le classeur XLSX"),
        "{}",
        page.text()
    );
    let book = http(
        a,
        "GET",
        ready["fichier"].as_str().unwrap(),
        &[("Cookie", &pilot)],
        "",
    );
    assert_eq!(book.status, 200);
    {
        use calamine::{Reader, Xlsx};
        let wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(book.body.clone())).unwrap();
        let names = wb.sheet_names();
        assert_eq!(names.len(), codes.len() + 1, "{names:?}");
        assert_eq!(names[0], "Lisez-moi");
        for code in [
            "entretiens_individuels",
            "sorties",
            "part_sorties_emploi_durable",
        ] {
            let i = codes.iter().position(|c| c == code).unwrap();
            let q = format!("indicateur={code}&annee=2026&ventilation=mois&niveau=region&code=Auvergne-Rh%C3%B4ne-Alpes");
            let api = http(
                a,
                "GET",
                &format!("/api/v1/tableau?{q}"),
                &[("Authorization", &auth())],
                "",
            );
            let g = grid_of_json(&serde_json::from_slice(&api.body).unwrap());
            assert_eq!(
                grid_of_sheet(&book.body, &names[i + 1]),
                g,
                "{code}: workbook = API"
            );
        }
    }
    assert_eq!(
        http(
            a,
            "GET",
            &format!("/api/v1/exports/{id}"),
            &[("Cookie", &cookie)],
            ""
        )
        .status,
        404,
        "the directrice of ML-LYON does not see a régional export"
    );
    assert_eq!(
        http(
            a,
            "GET",
            &format!("/exports/{id}/fichier"),
            &[("Cookie", &cookie)],
            ""
        )
        .status,
        404
    );
    assert_eq!(
        http(
            a,
            "POST",
            "/exports",
            &[("Cookie", &cookie)],
            "annee=2026&niveau=nation&code=nation"
        )
        .status,
        403,
        "an export beyond her perimeter is refused"
    );
    let mine = http(a, "POST", "/exports", &[("Cookie", &cookie)], "annee=2026");
    assert_eq!(mine.status, 303, "her own structure: {}", mine.text());

    // A new warehouse version is picked up without restart.
    let before = http(a, "GET", "/healthz", &[], "").text();
    crate::synthetic_warehouse(&root.join("entrepot"), 6, 500, "20260402T000000Z");
    let mut switched = false;
    // Protecting every indicator-year before the swap takes a while in a debug build.
    for _ in 0..240 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let now = http(a, "GET", "/healthz", &[], "").text();
        if now != before {
            assert!(now.contains("20260402T000000Z"), "{now}");
            switched = true;
            break;
        }
    }
    assert!(switched, "the new warehouse was loaded: {before}");
    let after = http(
        a,
        "GET",
        "/api/v1/tableau?indicateur=entretiens_individuels&annee=2026&ventilation=aucune&niveau=nation&code=nation",
        &[("Cookie", &pilot)],
        "",
    );
    assert_eq!(after.status, 200, "sessions survive the reload");
    let v: serde_json::Value = serde_json::from_slice(&after.body).unwrap();
    assert!(v["entrepot"].as_str().unwrap().contains("20260402T000000Z"));
    drop(srv);
    let _ = std::fs::remove_dir_all(&root);
}

/// Issue 19: every indicator of the catalogue, with every ventilation its page offers, answers
/// 200 (as a pilote of a région and as the nation's); a ventilation kept in the form after the
/// indicator changed (one that does not apply) opens the indicator's default one instead of a
/// refusal; an unknown code is still refused.
#[test]
fn every_indicator_with_every_offered_ventilation_answers() {
    use parcours_insight::catalogue::{family_expr, BREAKDOWNS, INDICATORS};
    let root =
        std::env::temp_dir().join(format!("parcours-insight-catalogue-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    crate::synthetic_warehouse(&root.join("entrepot"), 5, 300, "20260401T000000Z");
    let main_key = SigningKey::from_bytes(&parcours_vault::random_bytes::<32>());
    std::fs::write(
        root.join("parcours.pub"),
        assertion::public_key_hex(&main_key),
    )
    .unwrap();
    let srv = start(&root);
    let a = srv.addr.as_str();
    let t = token(&main_key, "pilote", Perimeter::Nation, 0);
    let r = http(a, "POST", "/connexion", &[], &format!("jeton={t}"));
    assert_eq!(r.status, 303, "{}", r.text());
    let cookie = r.headers["set-cookie"]
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let get = |path: &str| http(a, "GET", path, &[("Cookie", &cookie)], "");
    let mut checked = 0;
    for ind in INDICATORS {
        let page = get(&format!("/tableau?indicateur={}", ind.code));
        assert_eq!(page.status, 200, "{}: {}", ind.code, page.text());
        let html = page.text();
        // The ventilation menu only.
        let menu = html
            .split("name=\"ventilation\"")
            .nth(1)
            .and_then(|m| m.split("</select>").next())
            .unwrap_or_else(|| panic!("{}: no ventilation menu", ind.code));
        for b in BREAKDOWNS {
            let offered = menu.contains(&format!("value=\"{}\"", b.code));
            let applies = family_expr(b.family, ind.measure).is_some();
            assert_eq!(
                offered, applies,
                "{} × {}: offered only where it applies",
                ind.code, b.code
            );
            let r = get(&format!(
                "/tableau?indicateur={}&ventilation={}",
                ind.code, b.code
            ));
            assert_eq!(
                r.status,
                200,
                "{} × {} ({}): {}",
                ind.code,
                b.code,
                if applies {
                    "offered"
                } else {
                    "kept from another indicator"
                },
                r.text()
            );
            checked += 1;
        }
    }
    assert!(checked >= INDICATORS.len() * 2, "{checked} combinations");
    let r = get("/tableau?indicateur=entretiens_individuels&ventilation=inconnue");
    assert_eq!(r.status, 400, "an unknown ventilation is still refused");
}

/// Issue 20 — several dashboard instances behind one proxy: two real servers sharing a state
/// directory honour the same sessions, refuse an assertion replayed on the other one (page and
/// bearer), end a session on both at logout, and keep sessions across a restart. The
/// directory names sessions by a hash: it holds no cookie.
#[test]
fn two_instances_sharing_a_state_directory_share_sessions_and_refuse_replays() {
    let root = std::env::temp_dir().join(format!("parcours-insight-two-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    crate::synthetic_warehouse(&root.join("entrepot"), 6, 300, "20260401T000000Z");
    let main_key = SigningKey::from_bytes(&parcours_vault::random_bytes::<32>());
    std::fs::write(
        root.join("parcours.pub"),
        assertion::public_key_hex(&main_key),
    )
    .unwrap();
    let shared = ["--etat", "etat"];
    let one = start_with(&root, &shared);
    let two = start_with(&root, &shared);
    let (a, b) = (one.addr.as_str(), two.addr.as_str());

    let lyon = || {
        token(
            &main_key,
            "directeur",
            Perimeter::Structure("ML-LYON".into()),
            0,
        )
    };
    // A session opened on one instance serves on the other; its assertion is spent on both.
    let t = lyon();
    let r = http(a, "POST", "/connexion", &[], &format!("jeton={t}"));
    assert_eq!(r.status, 303, "{}", r.text());
    let cookie = r.headers["set-cookie"]
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        http(b, "GET", "/tableau", &[("Cookie", &cookie)], "").status,
        200
    );
    assert_eq!(
        http(b, "POST", "/connexion", &[], &format!("jeton={t}")).status,
        401,
        "replayed on the other instance"
    );
    let value = cookie.split_once('=').unwrap().1;
    for e in std::fs::read_dir(root.join("etat/sessions")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        assert_ne!(name, value, "a session file is not named by the cookie");
        let text = std::fs::read_to_string(root.join("etat/sessions").join(&name)).unwrap();
        assert!(!text.contains(value), "nor holds it");
    }
    // A bearer assertion serves once across both.
    let auth = format!("Bearer {}", lyon());
    assert_eq!(
        http(
            a,
            "GET",
            "/api/v1/indicateurs",
            &[("Authorization", &auth)],
            ""
        )
        .status,
        200
    );
    assert_eq!(
        http(
            b,
            "GET",
            "/api/v1/indicateurs",
            &[("Authorization", &auth)],
            ""
        )
        .status,
        401,
        "bearer replayed on the other instance"
    );
    // A restart keeps the session; a logout on one ends it on both.
    drop(one);
    let one = start_with(&root, &shared);
    let a = one.addr.as_str();
    assert_eq!(
        http(a, "GET", "/tableau", &[("Cookie", &cookie)], "").status,
        200
    );
    assert_eq!(
        http(b, "POST", "/deconnexion", &[("Cookie", &cookie)], "").status,
        200
    );
    assert_eq!(
        http(a, "GET", "/tableau", &[("Cookie", &cookie)], "").status,
        401
    );
    assert_eq!(
        http(b, "GET", "/tableau", &[("Cookie", &cookie)], "").status,
        401
    );
    drop((one, two));
    let _ = std::fs::remove_dir_all(&root);
}

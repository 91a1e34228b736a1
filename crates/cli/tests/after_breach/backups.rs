//! Backups that erasure reaches: back up, erase a person (DPO, approved), restore the old
//! backup with the keys the instance holds after the erasure — her identity cannot be read,
//! every other one can; the restored instance's audit chain verifies; a drill does it alone.

use crate::support::*;
use axum::http::{Method, StatusCode};
use serde_json::json;

per_backend! {
#[tokio::test]
async fn an_erased_person_cannot_be_read_from_an_older_backup(inst) {
    let b = inst.backend;
    inst.standard();
    inst.add_user("dpo.n", "dpo", None);
    let app = inst.app().await;
    let mut a = Client::new(app.clone());
    a.login("conseiller.a", None, 0).await;
    let mut dpo = Client::new(app.clone());
    dpo.login("dpo.n", None, 0).await;
    let mut admin = inst.admin_client(app.clone());
    let x = new_jeune(&mut a, "Quenardel", "Alice", "F").await;
    let y = new_jeune(&mut a, "Brissac", "Nour", "M").await;
    let z = new_jeune(&mut a, "Delorme", "Yanis", "M").await;
    // NIRs (under the shared sensitive key in the database): X's must die with her too.
    let body = "28001".to_string() + "69" + "123456";
    let n: u64 = body.parse().unwrap();
    let nir = format!("{body}{:02}", 97 - n % 97);
    for id in [&x, &y] {
        let r = a
            .json(
                Method::PUT,
                &format!("/api/v1/jeunes/{id}/nir"),
                json!({"nir": nir, "motif": "ouverture de droits"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{b}: {}", r.body);
    }
    let nir_of = |app: std::sync::Arc<parcours_app::App>, id: String| async move {
        let mut conn = app.internals().store().acquire().await.unwrap();
        let rows = parcours_store::dump::read_table(&mut conn, "nirs")
            .await
            .unwrap();
        let (j, k) = (
            rows.0.iter().position(|c| c == "jeune_id").unwrap_or(0),
            rows.0.iter().position(|c| c == "nir").unwrap_or(0),
        );
        rows.1
            .into_iter()
            .find(|r| r[j] == parcours_store::dump::Cell::Text(id.clone()))
            .map(|r| r[k].clone())
    };
    let y_nir_live = nir_of(app.clone(), y.clone()).await;
    assert!(y_nir_live.is_some(), "{b}");

    // The backup, before the erasure.
    let file = inst.dir.join("sauvegarde.bin");
    let out = inst.ok(&["backup", "--out", path(&file)]);
    assert!(out.contains("3 dossiers"), "{b}: {out}");
    let bytes = std::fs::read(&file).unwrap();
    for name in ["Quenardel", "Brissac", "Delorme"] {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(name),
            "{b}: the backup is encrypted"
        );
    }
    let escrow = std::fs::read_to_string(inst.dir.join("sauvegarde.bin.cles")).unwrap();
    assert!(escrow.contains(&x), "{b}: the escrow holds the keys apart");

    // The DPO asks for the erasure of X, the administrator approves: X's key is destroyed.
    let r = dpo
        .json(
            Method::POST,
            "/api/v1/effacements",
            json!({"dossier": x, "motif": "Demande d'effacement d'Alice Quenardel du 30/11"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{b}: {}", r.body);
    let id = r.json()["demande"]["id"].as_str().unwrap().to_string();
    let ok = admin
        .json(
            Method::POST,
            &format!("/api/v1/demandes/{id}/approbation"),
            json!({}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{b}: {}", ok.body);
    assert_eq!(
        a.get(&format!("/api/v1/jeunes/{x}")).await.status,
        StatusCode::BAD_REQUEST,
        "{b}: erased"
    );
    assert_eq!(
        a.get(&format!("/api/v1/jeunes/{y}")).await.status,
        StatusCode::OK,
        "{b}"
    );
    let found = a.get("/api/v1/jeunes/recherche?nom=quenardel").await;
    assert!(
        !found.body.contains(&x),
        "{b}: her search entries are gone: {}",
        found.body
    );

    // Restore the old backup into a new instance, keys from the live one: X stays unreadable.
    let target = inst.dir.join("restauree");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::copy(&inst.loc.key_file, target.join("master.key")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            target.join("master.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
    let sqlite_target = format!("sqlite://{}?mode=rwc", target.join("parcours.db").display());
    let out = inst.run_env(
        &[
            "restore",
            "--data-dir",
            path(&target),
            "--depuis",
            path(&file),
            "--cles-depuis",
            &inst.loc.database_url,
        ],
        &[
            ("PARCOURS_DATABASE_URL", &sqlite_target),
            ("PARCOURS_MASTER_KEY_FILE", path(&target.join("master.key"))),
        ],
    );
    assert!(out.status.success(), "{b}: {}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("3 dossiers dont 2 lisibles"),
        "{b}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let restored = std::sync::Arc::new(
        parcours_app::setup::open(&parcours_app::setup::Location {
            data_dir: target.clone(),
            database_url: sqlite_target.clone(),
            key_file: target.join("master.key"),
        })
        .await
        .unwrap(),
    );
    let mut conn = restored.internals().store().acquire().await.unwrap();
    for (id, readable) in [(&x, false), (&y, true), (&z, true)] {
        let row = parcours_store::jeunes::get(&mut conn, id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            restored.internals().decrypt_row(&row).is_ok(),
            readable,
            "{b}: {id} readable = {readable}"
        );
    }
    drop(conn);
    assert_eq!(
        nir_of(restored.clone(), x.clone()).await,
        None,
        "{b}: X's NIR is not restored"
    );
    assert_eq!(
        nir_of(restored.clone(), y.clone()).await,
        y_nir_live,
        "{b}: Y's NIR restored as it was"
    );
    // The restored instance works: its audit chain verifies, search finds the others.
    let v = inst.run_env(
        &["audit", "verify", "--data-dir", path(&target)],
        &[
            ("PARCOURS_DATABASE_URL", &sqlite_target),
            ("PARCOURS_MASTER_KEY_FILE", path(&target.join("master.key"))),
        ],
    );
    assert_eq!(v.status.code(), Some(0), "{b}: {}", stderr(&v));

    // The escrow taken before the erasure still holds X's key: the window the design
    // bounds (escrows are kept one epoch at most) — this shows the check can fail.
    let target2 = inst.dir.join("restauree-sequestre");
    std::fs::create_dir_all(&target2).unwrap();
    std::fs::copy(&inst.loc.key_file, target2.join("master.key")).unwrap();
    let sqlite2 = format!(
        "sqlite://{}?mode=rwc",
        target2.join("parcours.db").display()
    );
    let out = inst.run_env(
        &[
            "restore",
            "--data-dir",
            path(&target2),
            "--depuis",
            path(&file),
        ],
        &[
            ("PARCOURS_DATABASE_URL", &sqlite2),
            (
                "PARCOURS_MASTER_KEY_FILE",
                path(&target2.join("master.key")),
            ),
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("3 dossiers dont 3 lisibles"),
        "{b}: {}",
        stderr(&out)
    );

    // A second restore into a non-empty instance is refused; a wrong master key too.
    let again = inst.run_env(
        &[
            "restore",
            "--data-dir",
            path(&target),
            "--depuis",
            path(&file),
        ],
        &[
            ("PARCOURS_DATABASE_URL", &sqlite_target),
            ("PARCOURS_MASTER_KEY_FILE", path(&target.join("master.key"))),
        ],
    );
    assert!(
        !again.status.success() && stderr(&again).contains("pas vide"),
        "{b}: {}",
        stderr(&again)
    );

    let other = inst.dir.join("autre-instance");
    let o = inst.run_env(
        &["init", "--data-dir", path(&other)],
        &[(
            "PARCOURS_DATABASE_URL",
            &format!("sqlite://{}?mode=rwc", other.join("parcours.db").display()),
        )],
    );
    assert!(o.status.success(), "{b}: {}", stderr(&o));
    let target3 = inst.dir.join("restauree-mauvaise-cle");
    let wrong = inst.run_env(
        &[
            "restore",
            "--data-dir",
            path(&target3),
            "--depuis",
            path(&file),
        ],
        &[
            (
                "PARCOURS_DATABASE_URL",
                &format!(
                    "sqlite://{}?mode=rwc",
                    target3.join("parcours.db").display()
                ),
            ),
            ("PARCOURS_MASTER_KEY_FILE", path(&other.join("master.key"))),
        ],
    );
    assert!(
        !wrong.status.success() && stderr(&wrong).contains("ne correspond pas"),
        "{b}: {}",
        stderr(&wrong)
    );

    // The drill, alone: a scratch restore with the live keys, verified.
    let drill = inst.run(&["restore", "--depuis", path(&file), "--essai"]);
    assert!(drill.status.success(), "{b}: {}", stderr(&drill));
    assert!(
        String::from_utf8_lossy(&drill.stdout).contains("dont 2 lisibles"),
        "{b}"
    );
}
}

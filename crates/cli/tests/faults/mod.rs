//! Issue 20 — faults survived: the real binary killed with SIGKILL in the middle of a long job
//! leaves no half-record, the audit chain still verifies, and the next run completes.
//!
//! The kill lands while the job is provably under way: the test waits for the job's own
//! progress line on stderr (plain lines when stderr is not a terminal, `crate::progress`), then
//! sends SIGKILL and checks the process died of it (not finished before).

use crate::support::*;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

/// A valid CSV of `n` distinct synthetic people.
fn csv(dir: &std::path::Path, n: usize, tag: &str) -> std::path::PathBuf {
    let mut s = String::from(
        "nom;prenom;date_naissance;sexe;nationalite;email;telephone;adresse;code_postal;commune;niveau_formation\n",
    );
    for i in 0..n {
        s.push_str(&format!(
            "Panne{tag}{i};Camille;{:02}/{:02}/2005;F;française;;;;75011;Paris;4\n",
            1 + i % 28,
            1 + (i / 28) % 12
        ));
    }
    let p = dir.join(format!("panne-{tag}.csv"));
    std::fs::write(&p, s).unwrap();
    p
}

/// Starts the binary on the instance, waits for a stderr line containing `marker`, kills it
/// with SIGKILL and asserts it died of the signal (it was still running).
fn kill_during(inst: &Instance, args: &[&str], marker: &str) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_parcours"));
    c.args(args)
        .env("PARCOURS_DATA_DIR", &inst.dir)
        .env_remove("PARCOURS_MASTER_KEY_FILE")
        .env("PARCOURS_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if inst.pg.is_some() {
        c.env("PARCOURS_DATABASE_URL", &inst.loc.database_url);
    } else {
        c.env_remove("PARCOURS_DATABASE_URL");
    }
    let mut child = c.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.contains(marker) => break,
            Some(Ok(l)) => seen.push(l),
            _ => panic!(
                "{}: {args:?} ended before « {marker} »: {}",
                inst.backend,
                seen.join("\n")
            ),
        }
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "{}: {args:?} was killed mid-run (status {status:?})",
        inst.backend
    );
}

per_backend! {
/// SIGKILL during a CSV import (one transaction): not one dossier of it, the chain intact,
/// and the same import then lands whole.
#[tokio::test]
async fn an_import_killed_midway_leaves_nothing_and_the_next_run_completes(inst) {
    inst.standard();
    let file = csv(&inst.dir, 6000, "i");
    let file = file.to_str().unwrap();
    kill_during(&inst, &["import", "jeunes", "--structure", "ML-A", file], "Import : ");
    let app = inst.app().await;
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM jeunes").await, 0, "{}", inst.backend);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM blind_index").await, 0, "{}", inst.backend);
    drop(app);
    assert!(inst.ok(&["audit", "verify"]).contains("intact"), "{}", inst.backend);
    let out = inst.ok(&["import", "jeunes", "--structure", "ML-A", file]);
    assert!(out.contains("6000 dossier(s) importé(s)"), "{}: {out}", inst.backend);
    let app = inst.app().await;
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM jeunes").await, 6000, "{}", inst.backend);
    drop(app);
    assert!(inst.ok(&["audit", "verify"]).contains("intact"), "{}", inst.backend);
}
}

per_backend! {
/// SIGKILL while the data keys are being replaced (one dossier per transaction, after the
/// master key's rotation committed): every dossier still opens — re-keyed or not yet — and the
/// next rotation re-keys them all.
#[tokio::test]
async fn a_key_rotation_killed_midway_loses_nothing_and_the_next_run_completes(inst) {
    inst.standard();
    let file = csv(&inst.dir, 2500, "k");
    inst.ok(&["import", "jeunes", "--structure", "ML-A", file.to_str().unwrap()]);
    kill_during(&inst, &["keys", "rotate", "--nouvelles-cles"], "Rechiffrement : ");
    let readable = |app: std::sync::Arc<parcours_app::App>| async move {
        let mut conn = app.internals().store().acquire().await.unwrap();
        let ids = parcours_store::jeunes::all_ids(&mut conn).await.unwrap();
        let mut n = 0;
        for id in &ids {
            let row = parcours_store::jeunes::get(&mut conn, id).await.unwrap().unwrap();
            let d = app.internals().decrypt_row(&row).unwrap();
            assert!(d.identity.nom.starts_with("Panne"));
            n += 1;
        }
        n
    };
    assert_eq!(readable(inst.app().await).await, 2500, "{}: after the kill", inst.backend);
    assert!(inst.ok(&["audit", "verify"]).contains("intact"), "{}", inst.backend);
    let out = inst.ok(&["keys", "rotate", "--nouvelles-cles"]);
    assert!(out.contains("2500 dossier(s)"), "{}: {out}", inst.backend);
    assert_eq!(readable(inst.app().await).await, 2500, "{}: after the rerun", inst.backend);
    assert!(inst.ok(&["audit", "verify"]).contains("intact"), "{}", inst.backend);
}
}

//! Issue 20 — faults survived: the real binary killed with SIGKILL in the middle of a long job
//! leaves no half-record, the audit chain still verifies, and the next run completes.
//!
//! The kill lands while the job is provably under way: the test waits for the job's own
//! progress line on stderr (plain lines when stderr is not a terminal, `crate::progress`), then
//! sends SIGKILL and checks the process died of it (not finished before).

mod outages;

use crate::support::*;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

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
    kill_during_with(inst, args, marker, &[]);
}

/// [`kill_during`] with more environment (e.g. `PARCOURS_LOG=info` for a job's log lines).
fn kill_during_with(inst: &Instance, args: &[&str], marker: &str, env: &[(&str, &str)]) {
    let mut cmd = inst.command(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
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

per_backend! {
/// SIGKILL while a new warehouse version is being written: `current` still names the previous
/// version, whole; the next export publishes a new one and removes the half-written one.
#[tokio::test]
async fn a_warehouse_export_killed_midway_keeps_the_previous_version_and_the_next_run_completes(inst) {
    inst.standard();
    inst.ok(&["seed", "--jeunes", "1500", "--events", "4", "--seed", "24"]);
    let out = inst.dir.join("entrepot");
    let o = out.to_str().unwrap();
    inst.ok(&["warehouse", "export", "--sortie", o]);
    let (before, manifest) = parcours_warehouse::files::current_manifest(&out).unwrap();
    // A full export, killed once its months are computed (while it writes them).
    kill_during_with(
        &inst,
        &["warehouse", "export", "--sortie", o, "--complet"],
        "mois",
        &[("PARCOURS_LOG", "info")],
    );
    // Whole: every table's checksum matches its manifest (what the dashboards check).
    let (after, again) = parcours_warehouse::files::open_current(&out).unwrap();
    assert_eq!(after, before, "{}: current still names the previous version", inst.backend);
    assert_eq!(again.tables.len(), manifest.tables.len());
    assert!(inst.ok(&["audit", "verify"]).contains("intact"), "{}", inst.backend);
    inst.ok(&["warehouse", "export", "--sortie", o, "--complet"]);
    let (newest, _) = parcours_warehouse::files::current_manifest(&out).unwrap();
    assert_ne!(newest, before, "{}", inst.backend);
    let versions: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("v-"))
        .collect();
    assert_eq!(versions.len(), 2, "{}: the new version and the one it replaced: {versions:?}", inst.backend);
    assert!(inst.ok(&["audit", "verify"]).contains("intact"), "{}", inst.backend);
}
}

per_backend! {
/// SIGKILL while a long backlog of audit entries is being sealed (1,000 per transaction, killed
/// after the first signed checkpoint): the
/// sealed part verifies, nothing is sealed twice or skipped, and the next seal finishes it.
#[tokio::test]
async fn an_audit_seal_killed_midway_leaves_a_verifiable_chain_and_the_next_run_completes(inst) {
    inst.standard();
    let app = inst.app().await;
    let backlog = 30_000;
    for _ in 0..backlog / 1000 {
        let mut tx = app.internals().store().begin().await.unwrap();
        for _ in 0..1000 {
            let ctx = parcours_app::Ctx::operator(chrono::Utc::now());
            app.internals()
                .audit(
                    &mut tx,
                    &ctx,
                    parcours_app::audit::Event {
                        action: "essai.panne",
                        subject: None,
                        fields: "",
                        outcome: parcours_app::audit::OK,
                        structure_id: None,
                    },
                )
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    drop(app);
    kill_during_with(
        &inst,
        &["audit", "seal"],
        "point de contrôle d'audit signé",
        &[("PARCOURS_LOG", "info")],
    );
    let app = inst.app().await;
    let sealed = scalar(&app, "SELECT COUNT(*) FROM audit WHERE chain_pos IS NOT NULL").await;
    assert!(sealed > 0 && sealed < backlog, "{}: killed midway ({sealed} sealed)", inst.backend);
    drop(app);
    assert!(inst.ok(&["audit", "verify"]).contains("intact"), "{}", inst.backend);
    inst.ok(&["audit", "seal"]);
    let app = inst.app().await;
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM audit WHERE chain_pos IS NULL").await,
        0,
        "{}",
        inst.backend
    );
    drop(app);
    // Whole again, the external log included (a line the kill cut off is copied back).
    let out = inst.ok(&["audit", "verify"]);
    assert!(out.contains("intact") && !out.contains("prochain scellement"), "{}: {out}", inst.backend);
}
}

#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Storage conformance: every test runs on SQLite, and on PostgreSQL when
//! `PARCOURS_TEST_POSTGRES_URL` is set (CI sets it; `.ci/run` fails if it is not reachable).

use parcours_store::audit::AuditRow;
use parcours_store::jeunes::{JeuneRow, ENCRYPTED_COLUMNS};
use parcours_store::{
    accounts, audit, jeunes, keyring, structures, testing, vigilance, Store, StoreError,
};
use sqlx::Row as _;

async fn backends() -> Vec<(String, Store)> {
    let mut out = Vec::new();
    let dir = std::env::temp_dir().join(testing::unique_name("parcours-store"));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.join("t.db").display());
    out.push((
        "sqlite".to_string(),
        Store::connect(&url).await.expect("sqlite"),
    ));
    if let Some(base) = testing::postgres_base_url() {
        let (url, _) = testing::postgres_schema(&base).await.expect("schema");
        out.push((
            "postgres".to_string(),
            Store::connect(&url).await.expect("postgres"),
        ));
    } else {
        testing::skip(
            "postgres",
            "the PostgreSQL half of a conformance test (set PARCOURS_TEST_POSTGRES_URL)",
        );
    }
    for (_, s) in &out {
        s.migrate().await.expect("migrate");
        s.migrate().await.expect("migrations are idempotent");
    }
    out
}

fn jeune(id: &str, structure_id: i64) -> JeuneRow {
    JeuneRow {
        id: id.into(),
        structure_id,
        created_at: 1,
        updated_at: 1,
        version: 1,
        fields: ENCRYPTED_COLUMNS
            .iter()
            .map(|c| c.as_bytes().to_vec())
            .collect(),
        wrapped_key: Some(vec![9; 8]),
    }
}

#[tokio::test]
async fn structures_and_unique_codes() {
    for (name, s) in backends().await {
        let mut c = s.acquire().await.expect("conn");
        let id = structures::insert(&mut c, "ML-A", "A", "69", "ARA", 0)
            .await
            .expect(&name);
        assert!(
            matches!(
                structures::insert(&mut c, "ML-A", "B", "69", "ARA", 0).await,
                Err(StoreError::Conflict(_))
            ),
            "{name}"
        );
        assert_eq!(
            structures::by_code(&mut c, "ML-A")
                .await
                .expect(&name)
                .map(|r| r.id),
            Some(id)
        );
        assert_eq!(structures::list(&mut c).await.expect(&name).len(), 1);
    }
}

#[tokio::test]
async fn accounts_totp_steps_are_single_use() {
    for (name, s) in backends().await {
        let mut c = s.acquire().await.expect("conn");
        let id = accounts::insert(
            &mut c,
            &accounts::NewAccount {
                login: "a",
                password_hash: "h",
                role: "conseiller",
                structure_id: None,
                scope_region: None,
                now: 0,
            },
        )
        .await
        .expect(&name);
        assert!(matches!(
            accounts::insert(
                &mut c,
                &accounts::NewAccount {
                    login: "a",
                    password_hash: "h",
                    role: "dpo",
                    structure_id: None,
                    scope_region: None,
                    now: 0
                }
            )
            .await,
            Err(StoreError::Conflict(_))
        ));
        assert!(
            accounts::consume_totp_step(&mut c, id, 100)
                .await
                .expect(&name),
            "{name}: first use"
        );
        assert!(
            !accounts::consume_totp_step(&mut c, id, 100)
                .await
                .expect(&name),
            "{name}: replay refused"
        );
        assert!(
            !accounts::consume_totp_step(&mut c, id, 99)
                .await
                .expect(&name),
            "{name}: older step refused"
        );
        assert!(accounts::consume_totp_step(&mut c, id, 101)
            .await
            .expect(&name));
    }
}

#[tokio::test]
async fn throttle_counts_within_window_only() {
    for (name, s) in backends().await {
        let mut c = s.acquire().await.expect("conn");
        let k = b"key".to_vec();
        for i in 1..=3 {
            assert_eq!(
                accounts::throttle_hit(&mut c, &k, 1000, 900)
                    .await
                    .expect(&name),
                i
            );
        }
        assert_eq!(
            accounts::throttle_count(&mut c, &k, 1000, 900)
                .await
                .expect(&name),
            3
        );
        // After the window, counting restarts.
        assert_eq!(
            accounts::throttle_hit(&mut c, &k, 3000, 900)
                .await
                .expect(&name),
            1
        );
        assert_eq!(
            accounts::throttle_count(&mut c, &k, 5000, 900)
                .await
                .expect(&name),
            0
        );
    }
}

#[tokio::test]
async fn sessions_round_trip_and_purge() {
    for (name, s) in backends().await {
        let mut c = s.acquire().await.expect("conn");
        let row = accounts::SessionRow {
            token_hash: vec![1, 2, 3],
            account_id: None,
            stage: "anonyme".into(),
            csrf: "x".into(),
            created_at: 10,
            last_seen: 10,
            pending_secret: None,
            via_pages: true,
            factor_at: None,
        };
        accounts::session_insert(&mut c, &row).await.expect(&name);
        assert_eq!(
            accounts::session_get(&mut c, &[1, 2, 3])
                .await
                .expect(&name)
                .map(|r| (r.csrf, r.via_pages)),
            Some(("x".into(), true))
        );
        // With its account in one statement: none yet for an anonymous session.
        let (got, account) = accounts::session_with_account(&mut c, &[1, 2, 3])
            .await
            .expect(&name)
            .expect(&name);
        assert_eq!(
            (got.csrf.as_str(), account.is_none()),
            ("x", true),
            "{name}"
        );
        let id = accounts::insert(
            &mut c,
            &accounts::NewAccount {
                login: "sessionnaire",
                password_hash: "h",
                role: "conseiller",
                structure_id: None,
                scope_region: Some("Bretagne"),
                now: 5,
            },
        )
        .await
        .expect(&name);
        accounts::session_insert(
            &mut c,
            &accounts::SessionRow {
                token_hash: vec![4, 5, 6],
                account_id: Some(id),
                stage: "authentifie".into(),
                csrf: "y".into(),
                created_at: 12,
                last_seen: 12,
                pending_secret: None,
                via_pages: false,
                factor_at: Some(12),
            },
        )
        .await
        .expect(&name);
        let (got, account) = accounts::session_with_account(&mut c, &[4, 5, 6])
            .await
            .expect(&name)
            .expect(&name);
        let account = account.expect(&name);
        assert_eq!(
            (
                got.factor_at,
                account.id,
                account.login.as_str(),
                account.scope_region.as_deref(),
                account.active
            ),
            (Some(12), id, "sessionnaire", Some("Bretagne"), true),
            "{name}"
        );
        assert!(accounts::session_with_account(&mut c, &[9])
            .await
            .expect(&name)
            .is_none());
        accounts::session_delete(&mut c, &[4, 5, 6])
            .await
            .expect(&name);
        assert_eq!(
            accounts::sessions_purge(&mut c, 11, 0).await.expect(&name),
            1
        );
        assert!(accounts::session_get(&mut c, &[1, 2, 3])
            .await
            .expect(&name)
            .is_none());
    }
}

#[tokio::test]
async fn jeunes_keys_indexes_and_optimistic_update() {
    for (name, s) in backends().await {
        let mut tx = s.begin().await.expect("tx");
        let st = structures::insert(&mut tx, "ML-B", "B", "75", "IDF", 0)
            .await
            .expect(&name);
        let other = structures::insert(&mut tx, "ML-C", "C", "75", "IDF", 0)
            .await
            .expect(&name);
        jeunes::insert(&mut tx, &jeune("j1", st))
            .await
            .expect(&name);
        jeunes::insert(&mut tx, &jeune("j2", other))
            .await
            .expect(&name);
        jeunes::set_blind_indexes(&mut tx, "j1", st, &[(1, 42), (2, 7)])
            .await
            .expect(&name);
        jeunes::set_blind_indexes(&mut tx, "j2", other, &[(1, 42)])
            .await
            .expect(&name);
        tx.commit().await.expect(&name);
        let mut c = s.acquire().await.expect("conn");
        let got = jeunes::get(&mut c, "j1")
            .await
            .expect(&name)
            .expect("present");
        assert_eq!(got.fields[0], b"nom".to_vec());
        assert_eq!(got.wrapped_key, Some(vec![9; 8]));
        // Blind-index lookups are scoped to the structure.
        let cands = jeunes::candidates(&mut c, st, 1, 42, &["prenom", "commune", "nope"])
            .await
            .expect(&name);
        assert_eq!(
            cands[0].fields,
            vec![b"prenom".to_vec(), b"commune".to_vec()],
            "only the columns asked, unknown names ignored"
        );
        assert_eq!(cands[0].wrapped_key, Some(vec![9; 8]));
        assert_eq!(
            cands.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            vec!["j1"],
            "{name}"
        );
        assert!(jeunes::candidates(&mut c, st, 1, 43, &["nom"])
            .await
            .expect(&name)
            .is_empty());
        assert_eq!(
            jeunes::structure_of(&mut c, "j2").await.expect(&name),
            Some(other)
        );
        // Replacing indexes removes the old ones.
        jeunes::set_blind_indexes(&mut c, "j1", st, &[(1, 5)])
            .await
            .expect(&name);
        assert!(jeunes::candidates(&mut c, st, 1, 42, &["nom"])
            .await
            .expect(&name)
            .is_empty());
        // Optimistic concurrency: version must follow.
        let mut up = got.clone();
        up.version = 2;
        jeunes::update(&mut c, &up).await.expect(&name);
        assert!(
            matches!(jeunes::update(&mut c, &up).await, Err(StoreError::Stale)),
            "{name}"
        );
        assert_eq!(
            jeunes::list_recent(&mut c, st, 10, 0)
                .await
                .expect(&name)
                .len(),
            1
        );
        assert_eq!(
            jeunes::count_in_structure(&mut c, other)
                .await
                .expect(&name),
            1
        );
    }
}

#[tokio::test]
async fn rolled_back_write_leaves_nothing() {
    for (name, s) in backends().await {
        let mut tx = s.begin().await.expect("tx");
        structures::insert(&mut tx, "ML-R", "R", "75", "IDF", 0)
            .await
            .expect(&name);
        drop(tx);
        let mut c = s.acquire().await.expect("conn");
        assert!(
            structures::by_code(&mut c, "ML-R")
                .await
                .expect(&name)
                .is_none(),
            "{name}"
        );
    }
}

fn entry(actor: &str, request: &str, subjects: Option<&str>) -> AuditRow {
    AuditRow {
        seq: 0,
        ts: 7,
        actor: actor.into(),
        action: "jeune.lecture".into(),
        subject: None,
        fields: "f".into(),
        request_id: request.into(),
        outcome: "ok".into(),
        structure_id: Some(1),
        mac: vec![3],
        chain_pos: None,
        hash: None,
        session_ref: None,
        client_ref: None,
        quarantined: false,
        subjects: subjects.map(str::to_string),
    }
}

/// Group commit (issue 20): many requests append at once; a call that returns `Ok` has its
/// entry committed — another connection sees it at that moment, and the index of a several-
/// dossier entry too — and a call whose batch fails returns the error with nothing of that
/// batch written. The failure is real: a trigger refuses entries of the actor `refus`, so a
/// good entry gathered in the same batch as a refused one must fail with it, never be shown
/// as durable while missing.
#[tokio::test]
async fn group_commit_answers_ok_only_once_the_entry_is_committed() {
    for (name, s) in backends().await {
        let mut c = s.acquire().await.expect("conn");
        let trigger = if s.backend() == parcours_store::Backend::Postgres {
            vec![
                "CREATE FUNCTION refuse_entry() RETURNS trigger AS $$ BEGIN \
                 IF NEW.actor = 'refus' THEN RAISE EXCEPTION 'refusé'; END IF; RETURN NEW; END $$ \
                 LANGUAGE plpgsql",
                "CREATE TRIGGER refuse_entry BEFORE INSERT ON audit FOR EACH ROW \
                 EXECUTE FUNCTION refuse_entry()",
            ]
        } else {
            vec![
                "CREATE TRIGGER refuse_entry BEFORE INSERT ON audit WHEN NEW.actor = 'refus' \
                 BEGIN SELECT RAISE(ABORT, 'refusé'); END",
            ]
        };
        for t in trigger {
            sqlx::query(t).execute(&mut *c).await.expect(&name);
        }
        let mut tasks = Vec::new();
        for i in 0..60 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let actor = if i % 15 == 7 { "refus" } else { "a" };
                let subjects = (i % 4 == 0).then(|| format!("x{i},y{i}"));
                let request = format!("r{i}");
                let r = s
                    .append_audit_durable(vec![entry(actor, &request, subjects.as_deref())])
                    .await;
                // Looked at from another connection the moment the call returns.
                let mut other = s.acquire().await.expect("conn");
                let seen = audit::search(&mut other, Some(actor), 0, i64::MAX, 1000)
                    .await
                    .expect("search")
                    .into_iter()
                    .any(|e| e.request_id == request);
                let indexed = match &subjects {
                    Some(_) => !audit::about_subject(&mut other, &format!("y{i}"))
                        .await
                        .expect("about")
                        .is_empty(),
                    None => seen,
                };
                (i, actor, r.is_ok(), seen, indexed)
            }));
        }
        let mut ok = 0;
        for t in tasks {
            let (i, actor, answered_ok, seen, indexed) = t.await.expect("task");
            assert_eq!(
                answered_ok, seen,
                "{name}: entry {i} answered {answered_ok}"
            );
            assert_eq!(seen, indexed, "{name}: entry {i} without its index");
            if actor == "refus" {
                assert!(!answered_ok, "{name}: a refused entry answered ok");
            }
            ok += usize::from(answered_ok);
        }
        // Every good entry alone in its batch, or with others: at least the good ones of
        // batches without a refused entry landed, and exactly what answered ok is there.
        assert!(ok > 0, "{name}: nothing written");
        let all = audit::search(&mut c, None, 0, i64::MAX, 1000)
            .await
            .expect(&name);
        assert_eq!(all.len(), ok, "{name}");
        let mut seqs: Vec<i64> = all.iter().map(|e| e.seq).collect();
        seqs.dedup();
        assert_eq!(seqs.len(), ok, "{name}: one row per entry");
    }
}

/// A list of dossiers named again (a caseload page shown twice) is indexed once: the second
/// entry points to the first one's set; "who read X" finds both; a different list is a new set
/// (issue 20).
#[tokio::test]
async fn a_list_named_again_is_indexed_once() {
    for (name, s) in backends().await {
        let mut c = s.acquire().await.expect("conn");
        let first = audit::append(&mut c, &entry("p", "r1", Some("d1,d2,d3")))
            .await
            .expect(&name);
        let again = audit::append(&mut c, &entry("p", "r2", Some("d1,d2,d3")))
            .await
            .expect(&name);
        let other = audit::append(&mut c, &entry("p", "r3", Some("d2,d4")))
            .await
            .expect(&name);
        let rows: i64 = sqlx::query("SELECT COUNT(*) FROM audit_subjects")
            .fetch_one(&mut *c)
            .await
            .expect(&name)
            .try_get(0)
            .expect(&name);
        assert_eq!(rows, 5, "{name}: 3 + 2 index rows, not 8");
        let about = |r: Vec<AuditRow>| r.iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(
            about(audit::about_subject(&mut c, "d1").await.expect(&name)),
            vec![first, again],
            "{name}"
        );
        assert_eq!(
            about(audit::about_subject(&mut c, "d2").await.expect(&name)),
            vec![first, again, other],
            "{name}"
        );
        assert_eq!(
            audit::indexed_subjects(&mut c, &[again, other])
                .await
                .expect(&name),
            vec![
                (again, "d1".to_string()),
                (again, "d2".to_string()),
                (again, "d3".to_string()),
                (other, "d2".to_string()),
                (other, "d4".to_string()),
            ],
            "{name}"
        );
    }
}

/// A burst of counted appends (searches against the walk threshold, issue 20): whatever the
/// batches, exactly `limit` are admitted, with the ranks 1..=limit once each; the others are
/// refused with nothing of theirs written (no tally row, no entry).
#[tokio::test]
async fn group_commit_counts_a_burst_exactly_against_its_limit() {
    for (name, s) in backends().await {
        let mut tasks = Vec::new();
        for i in 0..30 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let counted = parcours_store::Counted {
                    tally: vigilance::Tally::Searches,
                    account_id: 42,
                    at: 1_000,
                    since: 500,
                    limit: 10,
                };
                s.append_counted_durable(vec![entry("c", &format!("q{i}"), None)], counted)
                    .await
                    .expect("append")
            }));
        }
        let mut within = Vec::new();
        let mut over = 0;
        for t in tasks {
            match t.await.expect("task") {
                parcours_store::Verdict::Within(n) => within.push(n),
                parcours_store::Verdict::Over(n) => {
                    assert!(n > 10, "{name}: refused at rank {n}");
                    over += 1;
                }
            }
        }
        within.sort_unstable();
        assert_eq!(within, (1..=10).collect::<Vec<i64>>(), "{name}");
        assert_eq!(over, 20, "{name}");
        let mut c = s.acquire().await.expect("conn");
        assert_eq!(
            vigilance::tally_since(&mut c, vigilance::Tally::Searches, 42, 500)
                .await
                .expect(&name),
            10,
            "{name}: the refused left no tally row"
        );
        assert_eq!(
            audit::search(&mut c, Some("c"), 0, i64::MAX, 100)
                .await
                .expect(&name)
                .len(),
            10,
            "{name}: the refused left no entry"
        );
    }
}

/// A scheduled job runs on one instance at a time (issue 20): on PostgreSQL a second
/// `try_job_lock` — another pool, as another process would have — gets nothing until the first
/// guard is dropped; SQLite (one host's file) always gives the guard.
#[tokio::test]
async fn a_scheduled_job_runs_on_one_instance_at_a_time() {
    for (name, s) in backends().await {
        let job = parcours_store::JOB_WAREHOUSE_EXPORT;
        let first = s.try_job_lock(job).await.expect(&name);
        assert!(first.is_some(), "{name}");
        if s.backend() == parcours_store::Backend::Postgres {
            // Two pools on one schema, as two instances of one deployment.
            let base = testing::postgres_base_url().expect("url");
            let (url, _) = testing::postgres_schema(&base).await.expect("schema");
            let s = Store::connect(&url).await.expect("first pool");
            let first = s.try_job_lock(job).await.expect(&name);
            assert!(first.is_some(), "{name}");
            let other = Store::connect(&url).await.expect("second pool");
            assert!(
                other.try_job_lock(job).await.expect(&name).is_none(),
                "{name}: taken"
            );
            drop(first);
            let mut again = None;
            for _ in 0..50 {
                again = other.try_job_lock(job).await.expect(&name);
                if again.is_some() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert!(
                again.is_some(),
                "{name}: released when the holder's connection closed"
            );
        }
    }
}

/// A transaction that reads, then writes while another connection commits a write in between
/// (a session refresh during a request): both must succeed. On SQLite a deferred transaction
/// failed here with "database is locked" (SQLITE_BUSY_SNAPSHOT), which once broke CI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_that_reads_then_writes_survives_a_concurrent_write() {
    for (name, s) in backends().await {
        let mut c = s.acquire().await.expect("conn");
        structures::insert(&mut c, "ML-C0", "C0", "75", "IDF", 0)
            .await
            .expect(&name);
        drop(c);
        let mut tx = s.begin().await.expect("tx");
        assert!(structures::by_code(&mut tx, "ML-C0")
            .await
            .expect(&name)
            .is_some());
        let other = s.clone();
        let writer = tokio::spawn(async move {
            let mut c = other.acquire().await.expect("conn");
            structures::insert(&mut c, "ML-C1", "C1", "75", "IDF", 0).await
        });
        // Give the other connection time to commit (deferred) or to wait (immediate).
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        structures::insert(&mut tx, "ML-C2", "C2", "75", "IDF", 0)
            .await
            .unwrap_or_else(|e| panic!("{name}: write after a concurrent commit: {e}"));
        tx.commit().await.expect(&name);
        writer
            .await
            .expect("join")
            .unwrap_or_else(|e| panic!("{name}: concurrent writer: {e}"));
        let mut c = s.acquire().await.expect("conn");
        for code in ["ML-C1", "ML-C2"] {
            assert!(
                structures::by_code(&mut c, code)
                    .await
                    .expect(&name)
                    .is_some(),
                "{name}: {code}"
            );
        }
    }
}

#[tokio::test]
async fn audit_append_seal_and_keyset_reading() {
    for (name, s) in backends().await {
        let mut c = s.acquire().await.expect("conn");
        let mut seqs = Vec::new();
        for i in 0..5 {
            let row = AuditRow {
                seq: 0,
                ts: i,
                actor: "a".into(),
                action: "x".into(),
                subject: None,
                fields: "".into(),
                request_id: "r".into(),
                outcome: "ok".into(),
                structure_id: None,
                mac: vec![1],
                chain_pos: None,
                hash: None,
                session_ref: Some("sess".into()),
                client_ref: None,
                quarantined: false,
                subjects: None,
            };
            seqs.push(audit::append(&mut c, &row).await.expect(&name));
        }
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "{name}: increasing sequence"
        );
        let mut tx = s.begin().await.expect("tx");
        let (pos, hash) = audit::lock_head(&mut tx).await.expect(&name);
        assert_eq!((pos, hash.len()), (0, 32));
        let unsealed = audit::unsealed(&mut tx, 3).await.expect(&name);
        assert_eq!(unsealed.len(), 3);
        for (i, r) in unsealed.iter().enumerate() {
            audit::seal(&mut tx, r.seq, i as i64 + 1, &[i as u8])
                .await
                .expect(&name);
        }
        audit::set_head(&mut tx, 3, &[2]).await.expect(&name);
        tx.commit().await.expect(&name);
        assert_eq!(audit::count_unsealed(&mut c).await.expect(&name), 2);
        // A quarantined row leaves the unsealed ones and is listed apart.
        audit::quarantine(&mut c, seqs[3]).await.expect(&name);
        assert_eq!(audit::count_unsealed(&mut c).await.expect(&name), 1);
        let q = audit::quarantined(&mut c).await.expect(&name);
        assert_eq!(
            (q.len(), q[0].seq, q[0].session_ref.as_deref()),
            (1, seqs[3], Some("sess"))
        );
        assert_eq!(audit::all_seqs(&mut c).await.expect(&name), seqs);
        let many: Vec<AuditRow> = (0..3)
            .map(|i| AuditRow {
                seq: 0,
                ts: 100 + i,
                actor: "b".into(),
                action: "y".into(),
                subject: Some(format!("s{i}")),
                fields: "f".into(),
                request_id: "r".into(),
                outcome: "ok".into(),
                structure_id: Some(1),
                mac: vec![2],
                chain_pos: None,
                hash: None,
                session_ref: None,
                client_ref: Some(format!("c{i}")),
                quarantined: false,
                subjects: None,
            })
            .collect();
        audit::append_many(&mut c, &many).await.expect(&name);
        let got = audit::search(&mut c, Some("b"), 0, i64::MAX, 10)
            .await
            .expect(&name);
        assert_eq!(
            got.iter()
                .map(|r| r.subject.clone().unwrap_or_default())
                .collect::<Vec<_>>(),
            vec!["s0", "s1", "s2"],
            "{name}"
        );
        assert_eq!(audit::count_unsealed(&mut c).await.expect(&name), 4);
        assert_eq!(got[1].client_ref.as_deref(), Some("c1"), "{name}");
        let sealed = audit::sealed_after(&mut c, 1, 10).await.expect(&name);
        assert_eq!(
            sealed.iter().map(|r| r.chain_pos).collect::<Vec<_>>(),
            vec![Some(2), Some(3)]
        );
        assert_eq!(audit::head(&mut c).await.expect(&name), (3, vec![2]));
    }
}

#[tokio::test]
async fn keyring_and_meta() {
    for (name, s) in backends().await {
        let mut c = s.acquire().await.expect("conn");
        assert!(!s.is_initialised().await.expect(&name));
        keyring::put(&mut c, "check", &[1, 2]).await.expect(&name);
        keyring::put(&mut c, "check", &[3]).await.expect(&name);
        assert_eq!(
            keyring::get(&mut c, "check").await.expect(&name),
            Some(vec![3])
        );
        assert!(s.is_initialised().await.expect(&name));
        keyring::meta_set(&mut c, "demo", "1").await.expect(&name);
        assert_eq!(
            keyring::meta_get(&mut c, "demo")
                .await
                .expect(&name)
                .as_deref(),
            Some("1")
        );
    }
}

fn programme(
    id: &str,
    jeune: &str,
    structure: i64,
    kind: &str,
    start: &str,
    end: &str,
) -> parcours_store::programmes::ProgrammeRow {
    parcours_store::programmes::ProgrammeRow {
        id: id.into(),
        jeune_id: jeune.into(),
        structure_id: structure,
        kind: kind.into(),
        status: "en_cours".into(),
        referent: "c".into(),
        start_date: start.into(),
        end_date: end.into(),
        ended_on: None,
        tax_situation: None,
        created_at: 1,
        version: 1,
        payload: None,
    }
}

fn allowance(
    jeune: &str,
    month: &str,
    programme: &str,
    kind: &str,
    version: i64,
) -> parcours_store::programmes::AllowanceRow {
    parcours_store::programmes::AllowanceRow {
        jeune_id: jeune.into(),
        month: month.into(),
        programme_id: programme.into(),
        structure_id: 0,
        kind: kind.into(),
        computed_cents: 50_000,
        amount_cents: 50_000,
        decision: "attribuee".into(),
        author: "c".into(),
        decided_at: 1,
        version,
        payload: vec![1, 2, 3],
    }
}

/// The daily-work tables: one allowance per jeune and month whatever the programme, optimistic
/// revisions, weeks upserted, programmes running in a period, caseload assignment, and a
/// transfer that moves every attached row.
#[tokio::test]
async fn daily_work_tables_on_both_backends() {
    use parcours_store::{events, programmes as pq};
    for (name, s) in backends().await {
        let mut c = s.acquire().await.expect("conn");
        let a = structures::insert(&mut c, "ML-A", "A", "69", "ARA", 0)
            .await
            .unwrap();
        let b = structures::insert(&mut c, "ML-B", "B", "13", "PACA", 0)
            .await
            .unwrap();
        jeunes::insert(&mut c, &jeune("j1", a)).await.unwrap();
        jeunes::insert(&mut c, &jeune("j2", a)).await.unwrap();
        pq::insert(
            &mut c,
            &programme("p-cej", "j1", a, "cej", "2026-01-01", "2026-12-31"),
        )
        .await
        .unwrap();
        pq::insert(
            &mut c,
            &programme("p-pacea", "j1", a, "pacea", "2026-01-01", "2027-12-31"),
        )
        .await
        .unwrap();
        pq::insert(
            &mut c,
            &programme("p-old", "j2", a, "cej", "2024-01-01", "2024-12-31"),
        )
        .await
        .unwrap();
        let running = pq::running_in_structure(&mut c, a, "cej", "2026-11-01", "2026-11-30")
            .await
            .unwrap();
        assert_eq!(
            running.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            vec!["p-cej"],
            "{name}"
        );

        let mut al = allowance("j1", "2026-11", "p-cej", "cej", 1);
        al.structure_id = a;
        pq::save_allowance(&mut c, &al).await.unwrap();
        let mut other = allowance("j1", "2026-11", "p-pacea", "pacea", 1);
        other.structure_id = a;
        assert!(
            matches!(
                pq::save_allowance(&mut c, &other).await,
                Err(StoreError::Conflict(_))
            ),
            "{name}: no second allowance in a month"
        );
        let mut rev = al.clone();
        rev.version = 3;
        assert!(
            matches!(
                pq::save_allowance(&mut c, &rev).await,
                Err(StoreError::Stale)
            ),
            "{name}: stale revision"
        );
        rev.version = 2;
        rev.amount_cents = 10_000;
        pq::save_allowance(&mut c, &rev).await.unwrap();
        assert_eq!(
            pq::allowance(&mut c, "j1", "2026-11")
                .await
                .unwrap()
                .unwrap()
                .amount_cents,
            10_000
        );
        let mut older = allowance("j1", "2026-10", "p-pacea", "pacea", 1);
        older.amount_cents = 20_000;
        pq::save_allowance(&mut c, &older).await.unwrap();
        assert_eq!(
            pq::paid_between(&mut c, "j1", "pacea", "2026-01", "2027-01", "2026-11")
                .await
                .unwrap(),
            20_000,
            "{name}"
        );

        let week = |planned| pq::WeekRow {
            programme_id: "p-cej".into(),
            week: "2026-11-16".into(),
            jeune_id: "j1".into(),
            structure_id: a,
            planned_minutes: planned,
            done_minutes: 600,
            updated_at: 1,
        };
        pq::upsert_week(&mut c, &week(900)).await.unwrap();
        pq::upsert_week(&mut c, &week(1200)).await.unwrap();
        let w = pq::weeks(&mut c, "p-cej").await.unwrap();
        assert_eq!((w.len(), w[0].planned_minutes), (1, 1200), "{name}");

        let ev = events::EventRow {
            id: "e1".into(),
            jeune_id: "j1".into(),
            structure_id: a,
            kind: "note".into(),
            on_date: "2026-11-20".into(),
            author: "c".into(),
            created_at: 1,
            version: 1,
            payload: Some(vec![7]),
            ..Default::default()
        };
        events::insert(&mut c, &ev).await.unwrap();
        let mut stale = ev.clone();
        stale.version = 5;
        assert!(
            matches!(
                events::update(&mut c, &stale, 1).await,
                Err(StoreError::Stale)
            ),
            "{name}"
        );

        assert_eq!(
            jeunes::assign_unreferenced(&mut c, a, 42, 1).await.unwrap(),
            1
        );
        assert_eq!(
            jeunes::caseload(&mut c, a, 42).await.unwrap().len(),
            1,
            "{name}"
        );
        // The caseload's decided allowances: the référent's dossiers only (j1 has November's).
        jeunes::set_referent(&mut c, "j1", Some(42)).await.unwrap();
        assert_eq!(
            pq::decided_for_referent(&mut c, a, 42, "2026-11")
                .await
                .unwrap(),
            vec!["j1".to_string()],
            "{name}"
        );
        assert!(pq::decided_for_referent(&mut c, a, 43, "2026-11")
            .await
            .unwrap()
            .is_empty());
        assert!(pq::decided_for_referent(&mut c, a, 42, "2026-12")
            .await
            .unwrap()
            .is_empty());

        jeunes::transfer(&mut c, "j1", b, 1).await.unwrap();
        for t in ["jeunes", "events", "programmes", "cej_weeks", "allowances"] {
            let q = if t == "jeunes" {
                format!("SELECT COUNT(*) FROM {t} WHERE id = 'j1' AND structure_id = $1")
            } else {
                format!("SELECT COUNT(*) FROM {t} WHERE jeune_id = 'j1' AND structure_id = $1")
            };
            let n: i64 = sqlx_count(&mut c, &q, a).await;
            assert_eq!(n, 0, "{name}: {t} left in the old structure");
        }
        assert_eq!(
            jeunes::referent_of(&mut c, "j1").await.unwrap(),
            None,
            "{name}: référent reset"
        );
        assert!(matches!(
            jeunes::transfer(&mut c, "nobody", b, 1).await,
            Err(StoreError::NotFound)
        ));
    }
}

async fn sqlx_count(c: &mut parcours_store::Conn, q: &str, bind: i64) -> i64 {
    use sqlx::Row;
    sqlx::query(sqlx::AssertSqlSafe(q.to_string()))
        .bind(bind)
        .fetch_one(&mut *c)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

/// The warehouse export's event reads: whole structure and scoped, on SQLite packed in chunks
/// of every size (down to one row, one dossier), all equal to the rows inserted.
#[tokio::test]
async fn export_reads_of_events_whole_and_scoped_in_any_chunks() {
    use parcours_store::packed::Chunks;
    use parcours_store::{events, export_scope};
    for (name, s) in backends().await {
        let mut c = s.acquire().await.expect("conn");
        let a = structures::insert(&mut c, "ML-A", "A", "69", "ARA", 0)
            .await
            .unwrap();
        let b = structures::insert(&mut c, "ML-B", "B", "13", "PACA", 0)
            .await
            .unwrap();
        let mut inserted = Vec::new();
        let people: Vec<(String, i64)> = (1..=7)
            .map(|i| (format!("a{i}"), a))
            .chain((1..=3).map(|i| (format!("b{i}"), b)))
            .collect();
        for (id, st) in &people {
            jeunes::insert(&mut c, &jeune(id, *st)).await.unwrap();
        }
        // Interleaved, so that a structure's rows are not one rowid range; one dossier of A
        // also has an entry recorded under B (a transferred dossier).
        let mut n = 0;
        for round in 0..3 {
            for (id, st) in people.iter().chain([&("a1".to_string(), b)]) {
                n += 1;
                let ev = events::EventRow {
                    id: format!("e{n}"),
                    jeune_id: id.clone(),
                    structure_id: *st,
                    kind: ["entretien_individuel", "atelier", "situation"][round].into(),
                    on_date: format!("2026-{:02}-{:02}", round + 1, n % 28 + 1),
                    status: (round == 1).then(|| "realise".into()),
                    modalite: (round == 0).then(|| "visio \"quote\" é".into()),
                    category: (round == 2).then(|| "emploi".into()),
                    duration_minutes: (round != 2).then_some(n),
                    author: "c".into(),
                    created_at: 1,
                    version: 1,
                    ..Default::default()
                };
                events::insert(&mut c, &ev).await.unwrap();
                inserted.push(ev);
            }
        }
        let expected = |st: i64, only: Option<&[&str]>| {
            let mut v: Vec<events::EventFact> = inserted
                .iter()
                .filter(|e| e.structure_id == st)
                .filter(|e| only.is_none_or(|o| o.contains(&e.jeune_id.as_str())))
                .map(|e| events::EventFact {
                    jeune_id: e.jeune_id.clone(),
                    kind: e.kind.clone(),
                    on_date: e.on_date.clone(),
                    status: e.status.clone(),
                    modalite: e.modalite.clone(),
                    theme: e.theme.clone(),
                    category: e.category.clone(),
                    duration_minutes: e.duration_minutes,
                })
                .collect();
            v.sort_by(|x, y| (&x.jeune_id, &x.on_date).cmp(&(&y.jeune_id, &y.on_date)));
            v
        };
        let sorted = |mut v: Vec<events::EventFact>| {
            v.sort_by(|x, y| (&x.jeune_id, &x.on_date).cmp(&(&y.jeune_id, &y.on_date)));
            v
        };
        let sizes = [1, 2, 5, 1_000];
        for rows in sizes {
            let chunks = Chunks { rows, dossiers: 1 };
            for st in [a, b] {
                let got = events::facts_of_structure_in(&mut c, st, false, chunks)
                    .await
                    .unwrap();
                assert_eq!(sorted(got), expected(st, None), "{name}: {rows} rows");
            }
        }
        assert_eq!(
            expected(b, None).len(),
            12,
            "{name}: B's entries, a1's included"
        );
        let mut ids = jeunes::all_ids(&mut c).await.unwrap();
        ids.sort();
        let mut want: Vec<String> = people.iter().map(|(id, _)| id.clone()).collect();
        want.sort();
        assert_eq!(ids, want, "{name}: every dossier id");

        export_scope::select(&mut c, &["a2", "a5", "a7", "b1", "a1", "nobody"])
            .await
            .unwrap();
        for dossiers in sizes {
            let chunks = Chunks { rows: 1, dossiers };
            let got = events::facts_of_structure_in(&mut c, a, true, chunks)
                .await
                .unwrap();
            let want = expected(a, Some(&["a1", "a2", "a5", "a7"]));
            assert_eq!(want.len(), 12, "{name}");
            assert_eq!(sorted(got), want, "{name}: {dossiers} dossiers");
            // The scope of B holds b1 only: a1 is scoped under the structure following it.
            let got = events::facts_of_structure_in(&mut c, b, true, chunks)
                .await
                .unwrap();
            assert_eq!(sorted(got), expected(b, Some(&["b1"])), "{name}");
        }
        export_scope::release(&mut c).await.unwrap();
    }
}

/// Counted reads (issue 15) on both backends: the heaviest weight of the day is kept, the gate
/// reads a dossier and its account's day in one statement, the checking write refuses past the
/// limit and writes nothing, canary tags are found by value only.
#[tokio::test]
async fn counted_reads_keep_the_heaviest_weight_and_stop_at_the_limit() {
    for (name, s) in backends().await {
        let mut tx = s.begin().await.expect("tx");
        let st = structures::insert(&mut tx, "ML-Q", "Q", "75", "IDF", 0)
            .await
            .expect(&name);
        for id in ["q1", "q2", "q3"] {
            jeunes::insert(&mut tx, &jeune(id, st)).await.expect(&name);
        }
        jeunes::set_referent(&mut tx, "q3", Some(7))
            .await
            .expect(&name);
        let day = "2026-11-30";
        vigilance::record_reads(&mut tx, 7, day, &[("q1", 1), ("q2", 1)], 100, 4)
            .await
            .expect(&name);
        // Opened later the same day: weight 4, first opening time kept; a candidate again: no change.
        vigilance::record_reads(&mut tx, 7, day, &[("q1", 4)], 200, 4)
            .await
            .expect(&name);
        vigilance::record_reads(&mut tx, 7, day, &[("q1", 1)], 300, 4)
            .await
            .expect(&name);
        assert_eq!(
            vigilance::used(&mut tx, 7, day).await.expect(&name),
            5,
            "{name}"
        );
        let g = vigilance::gate(&mut tx, "q1", 7, day, "conseiller", 150, b"tag-q1")
            .await
            .expect(&name)
            .expect("dossier");
        assert_eq!(
            (g.structure_id, g.referent_id, g.prior_weight, g.canary),
            (st, None, 4, false)
        );
        assert_eq!((g.budget.used, g.budget.opened_in_window), (5, 1), "{name}");
        assert_eq!(g.budget.setting, None);
        let g3 = vigilance::gate(&mut tx, "q3", 7, day, "conseiller", 150, b"x")
            .await
            .expect(&name)
            .unwrap();
        assert_eq!(g3.referent_id, Some(7));
        assert!(
            vigilance::gate(&mut tx, "absent", 7, day, "conseiller", 0, b"x")
                .await
                .expect(&name)
                .is_none()
        );
        // The checking write: 5 used, +4 within 8 refused, within 9 accepted.
        assert!(
            !vigilance::record_reads_within(&mut tx, 7, day, &[("q2", 4)], 400, 4, 3, 7)
                .await
                .expect(&name)
        );
        assert_eq!(
            vigilance::used(&mut tx, 7, day).await.expect(&name),
            5,
            "{name}: nothing written"
        );
        assert!(
            vigilance::record_reads_within(&mut tx, 7, day, &[("q2", 4)], 400, 4, 3, 8)
                .await
                .expect(&name)
        );
        assert_eq!(
            vigilance::used(&mut tx, 7, day).await.expect(&name),
            8,
            "{name}"
        );
        vigilance::set_quota_setting(&mut tx, st, "conseiller", 12, "d", 0)
            .await
            .expect(&name);
        let b = vigilance::budget(&mut tx, st, 7, day, "conseiller", 150)
            .await
            .expect(&name);
        assert_eq!(
            (b.used, b.setting, b.opened_in_window),
            (8, Some(12), 2),
            "{name}"
        );
        vigilance::add_canary_tag(&mut tx, b"tag-q2", st)
            .await
            .expect(&name);
        assert_eq!(
            vigilance::canary_hits(&mut tx, &[b"tag-q1".to_vec(), b"tag-q2".to_vec()])
                .await
                .expect(&name),
            1
        );
        let g2 = vigilance::gate(&mut tx, "q2", 7, day, "conseiller", 150, b"tag-q2")
            .await
            .expect(&name)
            .unwrap();
        assert!(g2.canary, "{name}");
        let seen = vigilance::seen_today(&mut tx, &["q1", "q3"], 7, day)
            .await
            .expect(&name);
        assert_eq!(seen.len(), 2);
        assert!(seen.contains(&("q3".to_string(), Some(7), 0)));
    }
}

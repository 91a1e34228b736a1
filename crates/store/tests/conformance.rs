#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Storage conformance: every test runs on SQLite, and on PostgreSQL when
//! `PARCOURS_TEST_POSTGRES_URL` is set (CI sets it; `.ci/run` fails if it is not reachable).

use parcours_store::audit::AuditRow;
use parcours_store::jeunes::{JeuneRow, ENCRYPTED_COLUMNS};
use parcours_store::{accounts, audit, jeunes, keyring, structures, testing, Store, StoreError};

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
        };
        accounts::session_insert(&mut c, &row).await.expect(&name);
        assert_eq!(
            accounts::session_get(&mut c, &[1, 2, 3])
                .await
                .expect(&name)
                .map(|r| r.csrf),
            Some("x".into())
        );
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
        assert_eq!(audit::count_unsealed(&mut c).await.expect(&name), 5);
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

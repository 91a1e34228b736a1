//! Alert e-mails (issue 15): every stored alert is mailed to the instance's DPO addresses and to
//! its structure's addresses, through the instance's SMTP relay, with STARTTLS when the relay
//! offers it. A failed delivery stays visible on the alert (attempts, last error) and is retried
//! with a growing delay (30 s, 1 min, 2 min… up to an hour), [`MAX_ATTEMPTS`] times.
//!
//! A mail says what happened, to which account, when, and the evidence (counts and dossier ids):
//! never a name or any other identity.
//!
//! Configuration lives in the database (`meta`), so every instance uses the same:
//! `parcours alertes smtp --relais HOST:PORT --expediteur ADDR [--dpo ADDR,…]` and
//! `parcours alertes destinataires --structure CODE --courriels ADDR,…`.

use crate::Rule;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use parcours_store::{keyring, vigilance as v};

use crate::vigilance::kind_label;
use crate::{App, AppError, Result};

pub const MAX_ATTEMPTS: i64 = 12;

const RELAY: &str = "alertes.smtp.relais";
const SENDER: &str = "alertes.smtp.expediteur";
pub(crate) const DPO: &str = "alertes.dpo";

fn structure_key(structure_id: i64) -> String {
    format!("alertes.structure.{structure_id}")
}

/// The relay and sender of alert mails.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SmtpConfig {
    pub relay: String,
    pub sender: String,
    pub dpo: Vec<String>,
}

fn addresses(list: &str) -> std::result::Result<Vec<Mailbox>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<Mailbox>()
                .map_err(|_| format!("adresse invalide : {s}"))
        })
        .collect()
}

fn split_relay(relay: &str) -> std::result::Result<(String, u16), String> {
    let (host, port) = relay
        .rsplit_once(':')
        .ok_or_else(|| "relais attendu sous la forme hôte:port".to_string())?;
    let port = port
        .parse::<u16>()
        .map_err(|_| "port du relais invalide".to_string())?;
    if host.is_empty() {
        return Err("hôte du relais manquant".into());
    }
    Ok((host.to_string(), port))
}

impl App {
    /// Sets the relay, the sender and the DPO recipients (operator command).
    pub async fn set_smtp(&self, relay: &str, sender: &str, dpo: &str) -> Result<SmtpConfig> {
        split_relay(relay.trim()).map_err(|m| AppError::Refused(Rule::InvalidSetting, m))?;
        addresses(sender).map_err(|m| AppError::Refused(Rule::InvalidSetting, m))?;
        let dpo_list = addresses(dpo).map_err(|m| AppError::Refused(Rule::InvalidSetting, m))?;
        let mut tx = self.store.begin().await?;
        keyring::meta_set(&mut tx, RELAY, relay.trim()).await?;
        keyring::meta_set(&mut tx, SENDER, sender.trim()).await?;
        keyring::meta_set(&mut tx, DPO, dpo.trim()).await?;
        tx.commit().await?;
        Ok(SmtpConfig {
            relay: relay.trim().into(),
            sender: sender.trim().into(),
            dpo: dpo_list.iter().map(|m| m.to_string()).collect(),
        })
    }

    /// Sets the addresses that receive a structure's alerts (its directeur's, typically).
    pub async fn set_structure_recipients(&self, code: &str, list: &str) -> Result<usize> {
        let n = addresses(list)
            .map_err(|m| AppError::Refused(Rule::InvalidSetting, m))?
            .len();
        let mut tx = self.store.begin().await?;
        let s = parcours_store::structures::by_code(&mut tx, code.trim())
            .await?
            .ok_or_else(|| {
                AppError::Refused(
                    Rule::UnknownStructure,
                    format!("Mission Locale « {} » inconnue.", code.trim()),
                )
            })?;
        keyring::meta_set(&mut tx, &structure_key(s.id), list.trim()).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Sends the alert mails that are due. Returns (sent, failed) of this run.
    pub async fn deliver_alert_mails(&self, now: i64) -> Result<(u64, u64)> {
        let mut conn = self.store.acquire().await?;
        let due = v::alerts_to_mail(&mut conn, now, 50).await?;
        if due.is_empty() {
            return Ok((0, 0));
        }
        let relay = keyring::meta_get(&mut conn, RELAY).await?;
        let sender = keyring::meta_get(&mut conn, SENDER).await?;
        let dpo = keyring::meta_get(&mut conn, DPO).await?.unwrap_or_default();
        let mut structures = std::collections::HashMap::new();
        for a in &due {
            if let Some(s) = a.structure_id {
                if let std::collections::hash_map::Entry::Vacant(e) = structures.entry(s) {
                    e.insert(
                        keyring::meta_get(&mut conn, &structure_key(s))
                            .await?
                            .unwrap_or_default(),
                    );
                }
            }
        }
        let (mut sent, mut failed) = (0u64, 0u64);
        for a in &due {
            // Several instances poll the same alerts: the one that claims it sends it.
            if !v::claim_alert_mail(&mut conn, &a.id, now, now + 120).await? {
                continue;
            }
            let outcome = match (&relay, &sender) {
                (Some(relay), Some(sender)) => {
                    let list = match a.structure_id.and_then(|s| structures.get(&s)) {
                        Some(l) if !l.is_empty() => format!("{dpo},{l}"),
                        _ => dpo.clone(),
                    };
                    self.send_alert(relay, sender, &list, a).await
                }
                _ => Err("relais SMTP non configuré (parcours alertes smtp)".to_string()),
            };
            let mut tx = self.store.begin().await?;
            match outcome {
                Ok(()) => {
                    v::alert_mail_outcome(&mut tx, &a.id, "envoye", None, None).await?;
                    sent += 1;
                }
                Err(e) => {
                    let attempts = a.mail_attempts + 1;
                    let (status, next) = if attempts >= MAX_ATTEMPTS {
                        ("echec", None)
                    } else {
                        (
                            "a_envoyer",
                            Some(now + (30i64 << attempts.min(7)).min(3600)),
                        )
                    };
                    tracing::warn!(alert = %a.id, attempt = attempts, error = %e, "courriel d'alerte non remis");
                    v::alert_mail_outcome(&mut tx, &a.id, status, Some(&e), next).await?;
                    failed += 1;
                }
            }
            tx.commit().await?;
        }
        Ok((sent, failed))
    }

    async fn send_alert(
        &self,
        relay: &str,
        sender: &str,
        recipients: &str,
        a: &v::AlertRow,
    ) -> std::result::Result<(), String> {
        let to = addresses(recipients)?;
        if to.is_empty() {
            return Err("aucun destinataire configuré".into());
        }
        let from = sender
            .parse::<Mailbox>()
            .map_err(|_| "expéditeur invalide".to_string())?;
        let when = chrono::DateTime::from_timestamp(a.created_at, 0)
            .map(|d| d.format("%d/%m/%Y à %H:%M UTC").to_string())
            .unwrap_or_default();
        let frozen = a.severity == "critique";
        let subject = format!(
            "[Parcours] {} : {}{}",
            if frozen { "ALERTE CRITIQUE" } else { "Alerte" },
            kind_label(&a.kind),
            if frozen { " — compte gelé" } else { "" }
        );
        let body = format!(
            "Bonjour,\n\n\
             Parcours a levé une alerte de sécurité.\n\n\
             Alerte : {}\nGravité : {}\nCompte : {}\nDate : {when}\n\
             Éléments (nombres et identifiants de dossiers, sans donnée d'identité) : {}\n\n\
             {}\
             Consultez la page « Alertes » de Parcours pour le détail, et vérifiez avec la \
             personne, par téléphone, que c'était bien elle.\n\n\
             Référence de l'alerte : {}\n",
            kind_label(&a.kind),
            a.severity,
            a.login,
            a.evidence,
            if frozen {
                "Le compte a été gelé : toutes ses sessions sont fermées et il ne peut plus se \
                 connecter tant que la direction ou le DPO ne l'a pas dégelé.\n\n"
            } else {
                ""
            },
            a.id
        );
        let mut builder = Message::builder().from(from).subject(subject);
        for t in to {
            builder = builder.to(t);
        }
        let message = builder
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| format!("message invalide : {e}"))?;
        let (host, port) = split_relay(relay)?;
        let tls = TlsParameters::new(host.clone()).map_err(|e| format!("TLS : {e}"))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .tls(Tls::Opportunistic(tls))
            .timeout(Some(std::time::Duration::from_secs(10)))
            .build();
        transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP : {e}"))
    }
}

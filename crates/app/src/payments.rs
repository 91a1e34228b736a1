//! Bank accounts (the sensitive tier) and the monthly payment batch for the paying agency: a CSV
//! and a SEPA credit-transfer file (ISO 20022 pain.001.001.03).
//!
//! An IBAN is encrypted with the `sensitive` key (its own key class, AD
//! `bank_accounts‖iban‖dossier id`): no person's data key opens it, and it is decrypted only
//! here, into the batch. Pages only say whether an IBAN is on file. Only a directeur produces
//! the batch (the advisor decides, the director pays); every line is audited.

use crate::Rule;
use chrono::NaiveDate;
use parcours_domain::ids;
use parcours_domain::roles::Role;
use parcours_domain::spreadsheet::csv_field;
use parcours_domain::ValidationErrors;
use parcours_store::programmes::{self as pq, BankRow};
use parcours_store::{jeunes as q, keyring, vigilance};
use serde::Serialize;

use crate::allowances::parse_month_field;
use crate::audit::{Event, OK, REFUSED};
use crate::{Actor, App, AppError, Ctx, Result};

/// The paying agency's account (debtor of the transfers), kept in the instance metadata.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Payer {
    pub name: String,
    pub iban: String,
    pub bic: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BatchLine {
    pub jeune_id: String,
    pub nom: String,
    pub prenom: String,
    pub kind: String,
    pub decision: String,
    pub amount_cents: i64,
    pub has_iban: bool,
    /// An IBAN entered or changed, waiting for a second person's approval: not paid yet.
    pub iban_waiting: bool,
}

/// A month's batch. `csv` and `pain001` hold IBANs: they are files to hand over, never logged.
#[derive(Debug, Clone, Serialize)]
pub struct Batch {
    pub month: String,
    pub lines: Vec<BatchLine>,
    pub total_cents: i64,
    pub transfers: usize,
    pub transfers_cents: i64,
    pub missing_iban: usize,
    /// Lines whose IBAN waits for approval (counted in `missing_iban` too).
    pub waiting_iban: usize,
    /// Jeunes of the structure entitled this month whose allowance is not decided yet (not
    /// in the batch: decide them first, on the month's allowances page).
    pub undecided: usize,
    #[serde(skip)]
    pub csv: String,
    #[serde(skip)]
    pub pain001: Option<String>,
}

/// Whether an IBAN is on file (pages never show it).
#[derive(Debug, Clone, Serialize)]
pub struct BankStatus {
    pub on_file: bool,
    /// Entered or changed, waiting for a second person's approval.
    pub waiting: bool,
    pub updated_at: Option<i64>,
}

fn euros_dot(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn euros_comma(cents: i64) -> String {
    format!("{},{:02}", cents / 100, cents % 100)
}

/// XML text escaping.
fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

/// Restricts a name to the SEPA Latin character set (accents transliterated), 70 characters.
fn sepa_text(s: &str) -> String {
    let t: String = deunicode::deunicode(s)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " /-?:().,'+".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect();
    t.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(70)
        .collect()
}

impl App {
    fn iban_ad_id(jeune_id: &str) -> String {
        jeune_id.to_string()
    }

    /// Records (or replaces) the IBAN of a jeune, for allowance payments. The sensitive tier:
    /// a second factor entered in the last 5 minutes and a reason. The IBAN is paid only once a
    /// second person approves it (a four-eyes request, `approvals::IBAN`); the directeur is
    /// alerted, higher when the same IBAN is already given for another dossier.
    pub async fn set_bank_account(
        &self,
        ctx: &Ctx,
        jeune_id: &str,
        iban: &str,
        bic: &str,
        reason: &str,
    ) -> Result<()> {
        let reason = self.sensitive(ctx, "iban.modification", reason)?;
        let mut e = ValidationErrors::default();
        let iban = match ids::iban(iban) {
            Ok(i) => Some(i),
            Err(m) => {
                e.push("iban", "invalide", m);
                None
            }
        };
        let bic = match bic.trim() {
            "" => None,
            b => match ids::bic(b) {
                Ok(b) => Some(b),
                Err(m) => {
                    e.push("bic", "invalide", m);
                    None
                }
            },
        };
        let Some(iban) = iban.filter(|_| e.is_empty()) else {
            return Err(e.into());
        };
        let mut tx = self.store.begin().await?;
        let structure = self
            .authorise_dossier(&mut tx, ctx, jeune_id, "iban.modification")
            .await?;
        let ct = self.keys.sensitive.encrypt_field(
            "bank_accounts",
            "iban",
            &Self::iban_ad_id(jeune_id),
            &iban,
        );
        let change = if pq::bank(&mut tx, jeune_id).await?.is_some() {
            "modification"
        } else {
            "creation"
        };
        pq::upsert_bank(
            &mut tx,
            &BankRow {
                jeune_id: jeune_id.into(),
                structure_id: structure,
                iban: ct,
                bic,
                updated_at: ctx.now.timestamp(),
                approved_at: None,
            },
        )
        .await?;
        // The directeur hears of every IBAN entered or changed (a diverted allowance starts
        // there), and of an IBAN already given for another dossier — by a keyed tag, never the
        // IBAN itself (issue 16).
        let tag = self.keys.pseudonym("iban", &iban);
        vigilance::set_iban_tag(&mut tx, jeune_id, &tag).await?;
        let shared = vigilance::iban_shared_with(&mut tx, &tag, jeune_id).await?;
        let (account, login) = match &ctx.actor {
            Actor::Account(p) => (Some(p.account_id), p.login.clone()),
            other => (None, other.audit_name()),
        };
        let (kind, severity) = if shared.is_empty() {
            ("iban", "information")
        } else {
            ("iban_partage", "elevee")
        };
        self.raise_alert(
            &mut tx,
            Some(structure),
            account,
            &login,
            kind,
            severity,
            &serde_json::json!({ "dossier": jeune_id, "saisie": change, "meme_iban_que": shared })
                .to_string(),
            ctx.now.timestamp(),
        )
        .await?;
        // An earlier waiting request for this dossier is superseded: only the newest IBAN can
        // be approved (`programmes::approve_bank` matches the tag).
        let target = jeune_id.to_string();
        parcours_store::requests::supersede(
            &mut tx,
            crate::approvals::IBAN,
            &target,
            ctx.now.timestamp(),
        )
        .await?;
        self.write_request(
            &mut tx,
            ctx,
            crate::approvals::NewRequest {
                kind: crate::approvals::IBAN,
                structure_id: Some(structure),
                target: &target,
                payload: serde_json::json!({ "etiquette": hex::encode(&tag), "saisie": change, "meme_iban_que": shared }),
                reason: &reason,
            },
        )
        .await?;
        self.audit(
            &mut tx,
            ctx,
            Event {
                action: "iban.modification",
                subject: Some(jeune_id),
                fields: &format!("iban,bic,motif:{reason}"),
                outcome: OK,
                structure_id: Some(structure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Asks for the month's payment file with names and IBANs (`csv` or `pain001`): a bulk
    /// export of personal data, approved by another directeur of the structure or the DPO, then
    /// downloaded once by the requester (with a fresh second factor).
    pub async fn request_batch_export(
        &self,
        ctx: &Ctx,
        month: &str,
        file: &str,
        reason: &str,
    ) -> Result<crate::approvals::Requested> {
        let m = parse_month_field(month)?.format("%Y-%m").to_string();
        if !matches!(file, "csv" | "pain001") {
            let mut e = ValidationErrors::default();
            e.push("format", "invalide", "Format : csv ou pain001.");
            return Err(e.into());
        }
        let structure = match &ctx.actor {
            Actor::Account(p) if p.role == Role::Directeur => {
                p.structure_id.ok_or(AppError::Forbidden)?
            }
            _ => return Err(AppError::Forbidden),
        };
        let reason = crate::approvals::reason_checked(reason)?;
        let mut tx = self.store.begin().await?;
        let req = self
            .write_request(
                &mut tx,
                ctx,
                crate::approvals::NewRequest {
                    kind: crate::approvals::BATCH_EXPORT,
                    structure_id: Some(structure),
                    target: &format!("{m}:{file}"),
                    payload: serde_json::json!({}),
                    reason: &reason,
                },
            )
            .await?;
        tx.commit().await?;
        Ok(req)
    }

    /// The paying agency's account, if configured (`parcours payeur definir`).
    pub async fn payer(&self) -> Result<Option<Payer>> {
        let mut conn = self.store.acquire().await?;
        let name = keyring::meta_get(&mut conn, "payer.name").await?;
        let iban = keyring::meta_get(&mut conn, "payer.iban").await?;
        let bic = keyring::meta_get(&mut conn, "payer.bic").await?;
        Ok(match (name, iban) {
            (Some(name), Some(iban)) => Some(Payer {
                name,
                iban,
                bic: bic.filter(|b| !b.is_empty()),
            }),
            _ => None,
        })
    }

    /// Sets the paying agency's account (operator command).
    pub async fn set_payer(&self, name: &str, iban: &str, bic: &str) -> Result<Payer> {
        let mut e = ValidationErrors::default();
        let name = sepa_text(name);
        if name.is_empty() {
            e.push("name", "obligatoire", "Nom du payeur : obligatoire.");
        }
        let iban = ids::iban(iban)
            .map_err(|m| e.push("iban", "invalide", m))
            .ok();
        let bic = match bic.trim() {
            "" => Some(String::new()),
            b => ids::bic(b).map_err(|m| e.push("bic", "invalide", m)).ok(),
        };
        let (Some(iban), Some(bic), true) = (iban, bic, e.is_empty()) else {
            return Err(e.into());
        };
        let mut tx = self.store.begin().await?;
        keyring::meta_set(&mut tx, "payer.name", &name).await?;
        keyring::meta_set(&mut tx, "payer.iban", &iban).await?;
        keyring::meta_set(&mut tx, "payer.bic", &bic).await?;
        tx.commit().await?;
        Ok(Payer {
            name,
            iban,
            bic: Some(bic).filter(|b| !b.is_empty()),
        })
    }

    /// Builds the month's payment batch of the actor's structure (directeur only).
    ///
    /// `file`: `None` for the preview, whose lines outside the actor's caseload are masked (no
    /// name); `Some("csv")` or `Some("pain001")` for a file with names and IBANs, which each
    /// structure downloads **once per month and format**: a second download is refused
    /// (`AppError::Conflict`) and raises an alert for the directeur and the DPO (issue 15).
    pub async fn payment_batch(
        &self,
        ctx: &Ctx,
        month: &str,
        file: Option<&str>,
        reason: &str,
    ) -> Result<Batch> {
        let month_date = parse_month_field(month)?;
        let m = month_date.format("%Y-%m").to_string();
        let structure = match &ctx.actor {
            Actor::Account(p) if p.role == Role::Directeur => {
                p.structure_id.ok_or(AppError::Forbidden)?
            }
            _ => {
                self.audit_alone(
                    ctx,
                    Event {
                        action: "allocation.lot",
                        subject: None,
                        fields: "",
                        outcome: REFUSED,
                        structure_id: None,
                    },
                )
                .await?;
                return Err(AppError::Forbidden);
            }
        };
        let payer = self.payer().await?;
        let download_key = file.map(|f| format!("{m}:{f}"));
        let mut export_reason = String::new();
        if let Some(key) = &download_key {
            export_reason = self.sensitive(ctx, "allocation.lot.fichier", reason)?;
            let mut conn = self.store.acquire().await?;
            let approved = parcours_store::requests::approved_untaken(
                &mut conn,
                crate::approvals::BATCH_EXPORT,
                key,
                structure,
            )
            .await?
            .filter(|r| matches!(&ctx.actor, Actor::Account(p) if r.requested_by_account == Some(p.account_id)));
            if approved.is_none() {
                drop(conn);
                self.audit_alone(
                    ctx,
                    Event {
                        action: "allocation.lot.fichier",
                        subject: None,
                        fields: &format!("{key},sans_approbation"),
                        outcome: REFUSED,
                        structure_id: Some(structure),
                    },
                )
                .await?;
                return Err(AppError::Refused(Rule::NotApproved,
                    "Ce fichier contient les noms et les IBAN : demandez-le d'abord (page du lot, « Demander le fichier ») ; un autre directeur de la structure ou le DPO l'approuve, puis vous le téléchargez une fois.".into(),
                ));
            }
        }
        if let Some(key) = &download_key {
            let mut tx = self.store.begin().await?;
            if let Some((by, at)) = vigilance::batch_download(&mut tx, structure, key).await? {
                let login = ctx.actor.audit_name();
                let account = match &ctx.actor {
                    Actor::Account(p) => Some(p.account_id),
                    _ => None,
                };
                self.raise_alert(
                    &mut tx,
                    Some(structure),
                    account,
                    &login,
                    "lot_paiement",
                    "elevee",
                    &serde_json::json!({ "mois": m, "fichier": file, "premier_telechargement_par": by, "premier_telechargement_le": at })
                        .to_string(),
                    ctx.now.timestamp(),
                )
                .await?;
                self.audit(
                    &mut tx,
                    ctx,
                    Event {
                        action: "allocation.lot.fichier",
                        subject: None,
                        fields: key,
                        outcome: REFUSED,
                        structure_id: Some(structure),
                    },
                )
                .await?;
                tx.commit().await?;
                let when = chrono::DateTime::from_timestamp(at, 0)
                    .map(|d| d.format("%d/%m/%Y à %H:%M UTC").to_string())
                    .unwrap_or_default();
                return Err(AppError::Conflict(format!(
                    "Le fichier de ce lot a déjà été téléchargé le {when} par {by}. Un second téléchargement des IBAN n'est pas permis : la direction et le DPO en sont alertés. Reprenez le fichier déjà téléchargé."
                )));
            }
        }
        let mut tx = self.store.begin().await?;
        if let Some(key) = &download_key {
            let taken = match parcours_store::requests::approved_untaken(
                &mut tx,
                crate::approvals::BATCH_EXPORT,
                key,
                structure,
            )
            .await?
            {
                Some(r) => {
                    parcours_store::requests::take(&mut tx, &r.id, ctx.now.timestamp()).await?
                }
                None => false,
            };
            if !taken {
                return Err(AppError::Conflict(
                    "L'approbation de ce fichier vient d'être utilisée : faites une nouvelle demande.".into(),
                ));
            }
        }
        if let (Some(key), Actor::Account(p)) = (&download_key, &ctx.actor) {
            vigilance::record_batch_download(
                &mut tx,
                structure,
                key,
                p.account_id,
                &p.login,
                ctx.now.timestamp(),
            )
            .await?;
        }
        let decided = pq::allowances_in_month(&mut tx, structure, &m).await?;
        let mut lines = Vec::new();
        let mut transfers: Vec<(BatchLine, String, Option<String>)> = Vec::new();
        let mut csv = String::from(
            "\u{feff}mois;dossier;nom;prenom;dispositif;decision;montant;iban;bic\r\n",
        );
        for a in decided.iter().filter(|a| a.amount_cents > 0) {
            let Some(row) = q::get(&mut tx, &a.jeune_id).await? else {
                continue;
            };
            let d = self.decrypt_row(&row)?;
            let bank = pq::bank(&mut tx, &a.jeune_id).await?;
            // An IBAN waiting for approval is not paid: the line stays without transfer.
            let waiting = bank.as_ref().is_some_and(|b| b.approved_at.is_none());
            let bank = bank.filter(|b| b.approved_at.is_some());
            let iban = match &bank {
                Some(b) => Some(
                    self.keys
                        .sensitive
                        .decrypt_field(
                            "bank_accounts",
                            "iban",
                            &Self::iban_ad_id(&a.jeune_id),
                            &b.iban,
                        )
                        .map_err(|e| AppError::Internal(format!("{e} (iban {})", a.jeune_id)))?,
                ),
                None => None,
            };
            let line = BatchLine {
                jeune_id: a.jeune_id.clone(),
                nom: d.identity.nom.clone(),
                prenom: d.identity.prenom.clone(),
                kind: a.kind.clone(),
                decision: a.decision.clone(),
                amount_cents: a.amount_cents,
                has_iban: iban.is_some(),
                iban_waiting: waiting,
            };
            let cells = [
                m.clone(),
                a.jeune_id.clone(),
                d.identity.nom.clone(),
                d.identity.prenom.clone(),
                a.kind.clone(),
                a.decision.clone(),
                euros_comma(a.amount_cents),
                iban.clone().unwrap_or_default(),
                bank.as_ref()
                    .and_then(|b| b.bic.clone())
                    .unwrap_or_default(),
            ];
            csv.push_str(
                &cells
                    .iter()
                    .map(|c| csv_field(c))
                    .collect::<Vec<_>>()
                    .join(";"),
            );
            csv.push_str("\r\n");
            if let Some(i) = iban {
                transfers.push((line.clone(), i, bank.and_then(|b| b.bic)));
            }
            lines.push(line);
        }
        let total_cents = lines.iter().map(|l| l.amount_cents).sum();
        let transfers_cents: i64 = transfers.iter().map(|t| t.0.amount_cents).sum();
        let pain001 = match (&payer, transfers.is_empty()) {
            (Some(p), false) => Some(pain001(
                p,
                &m,
                structure,
                month_date,
                ctx.now,
                &transfers,
                transfers_cents,
            )),
            _ => None,
        };
        if file.is_none() {
            let ids: Vec<&str> = lines.iter().map(|l| l.jeune_id.as_str()).collect();
            let mine = self.in_caseload(&mut tx, ctx, &ids).await?;
            for l in &mut lines {
                if !mine.contains(&l.jeune_id) {
                    l.nom = crate::allowances::masked_name(&l.jeune_id);
                    l.prenom = String::new();
                }
            }
        }
        let fields = if file.is_some() {
            format!("nom,prenom,iban,motif:{export_reason}")
        } else {
            "montant".to_string()
        };
        let events: Vec<Event> = lines
            .iter()
            .map(|l| Event {
                action: "allocation.lot",
                subject: Some(&l.jeune_id),
                fields: &fields,
                outcome: OK,
                structure_id: Some(structure),
            })
            .collect();
        self.audit_many(&mut tx, ctx, &events).await?;
        let undecided = self
            .month_lines(&mut tx, structure, month_date)
            .await?
            .iter()
            .filter(|l| l.decision.is_none() && l.computed_cents.is_some())
            .count();
        tx.commit().await?;
        Ok(Batch {
            month: m,
            undecided,
            missing_iban: lines.iter().filter(|l| !l.has_iban).count(),
            waiting_iban: lines.iter().filter(|l| l.iban_waiting).count(),
            transfers: transfers.len(),
            transfers_cents,
            total_cents,
            lines,
            // The preview never carries the files (IBANs).
            csv: if file.is_some() { csv } else { String::new() },
            pain001: pain001.filter(|_| file.is_some()),
        })
    }

    /// Whether an IBAN is on file for a dossier (no decryption).
    pub(crate) async fn bank_status(
        &self,
        conn: &mut parcours_store::Conn,
        jeune_id: &str,
    ) -> Result<BankStatus> {
        let b = pq::bank(conn, jeune_id).await?;
        Ok(BankStatus {
            on_file: b.is_some(),
            waiting: b.as_ref().is_some_and(|b| b.approved_at.is_none()),
            updated_at: b.map(|b| b.updated_at),
        })
    }
}

/// The SEPA credit-transfer initiation (pain.001.001.03), one payment information block.
fn pain001(
    payer: &Payer,
    month: &str,
    structure: i64,
    month_date: NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
    transfers: &[(BatchLine, String, Option<String>)],
    sum: i64,
) -> String {
    let msg_id = format!(
        "PARCOURS-{structure}-{}-{}",
        month.replace('-', ""),
        now.format("%Y%m%d%H%M%S")
    );
    let exec = std::cmp::max(now.date_naive(), month_date);
    let agent = |bic: Option<&str>| match bic {
        Some(b) => format!("<FinInstnId><BIC>{}</BIC></FinInstnId>", xml(b)),
        None => "<FinInstnId><Othr><Id>NOTPROVIDED</Id></Othr></FinInstnId>".into(),
    };
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n<CstmrCdtTrfInitn>\n");
    x.push_str(&format!(
        "<GrpHdr><MsgId>{}</MsgId><CreDtTm>{}</CreDtTm><NbOfTxs>{}</NbOfTxs><CtrlSum>{}</CtrlSum><InitgPty><Nm>{}</Nm></InitgPty></GrpHdr>\n",
        xml(&msg_id),
        now.format("%Y-%m-%dT%H:%M:%S"),
        transfers.len(),
        euros_dot(sum),
        xml(&payer.name)
    ));
    x.push_str(&format!(
        "<PmtInf><PmtInfId>{}</PmtInfId><PmtMtd>TRF</PmtMtd><BtchBookg>true</BtchBookg><NbOfTxs>{}</NbOfTxs><CtrlSum>{}</CtrlSum>\
<PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf><ReqdExctnDt>{}</ReqdExctnDt>\
<Dbtr><Nm>{}</Nm></Dbtr><DbtrAcct><Id><IBAN>{}</IBAN></Id></DbtrAcct><DbtrAgt>{}</DbtrAgt><ChrgBr>SLEV</ChrgBr>\n",
        xml(&msg_id),
        transfers.len(),
        euros_dot(sum),
        exec.format("%Y-%m-%d"),
        xml(&payer.name),
        xml(&payer.iban),
        agent(payer.bic.as_deref())
    ));
    for (n, (l, iban, bic)) in transfers.iter().enumerate() {
        let cdtr_agt = bic
            .as_deref()
            .map(|b| format!("<CdtrAgt>{}</CdtrAgt>", agent(Some(b))))
            .unwrap_or_default();
        let label = match l.kind.as_str() {
            "pacea" => "Allocation PACEA",
            _ => "Allocation CEJ",
        };
        x.push_str(&format!(
            "<CdtTrfTxInf><PmtId><EndToEndId>{}-{:05}</EndToEndId></PmtId><Amt><InstdAmt Ccy=\"EUR\">{}</InstdAmt></Amt>{}\
<Cdtr><Nm>{}</Nm></Cdtr><CdtrAcct><Id><IBAN>{}</IBAN></Id></CdtrAcct><RmtInf><Ustrd>{} {}</Ustrd></RmtInf></CdtTrfTxInf>\n",
            month.replace('-', ""),
            n + 1,
            euros_dot(l.amount_cents),
            cdtr_agt,
            xml(&sepa_text(&format!("{} {}", l.prenom, l.nom))),
            xml(iban),
            label,
            month
        ));
    }
    x.push_str("</PmtInf>\n</CstmrCdtTrfInitn>\n</Document>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sepa_names_and_csv_cells() {
        assert_eq!(
            sepa_text("Zoé  N'Diaye-Ébène & Cie"),
            "Zoe N'Diaye-Ebene Cie"
        );
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("a;b"), "\"a;b\"");
        assert_eq!(euros_dot(56_168), "561.68");
        assert_eq!(euros_comma(5), "0,05");
        assert_eq!(xml("<a&'>"), "&lt;a&amp;&apos;&gt;");
    }
}

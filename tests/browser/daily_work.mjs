// Browser journeys of the advisor's daily work (issue #3), in Debian's headless Chromium, on a
// demo instance (SQLite): first reception with the duplicate warning, diagnosis, entry into
// CEJ, planning and recording a week, an interview, proposing and completing an immersion,
// computing and deciding the month's allowance, exit, then the payment batch by the director.
// Usage: node daily_work.mjs <path to parcours binary> <scratch dir>
import { check, startDemo, launch, newPage, login } from './lib.mjs';

const [bin, scratch] = process.argv.slice(2);
if (!bin || !scratch) { console.error('usage: node daily_work.mjs <parcours> <dir>'); process.exit(2); }
const demo = await startDemo(bin, scratch, 'quotidien', 40);
const iso = d => d.toISOString().slice(0, 10);
const today = new Date();
const month = iso(today).slice(0, 7);
// The month as the pages say it (« décembre 2026 »).
const MOIS = ['janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'septembre', 'octobre', 'novembre', 'décembre'];
const monthWords = `${MOIS[Number(month.slice(5, 7)) - 1]} ${month.slice(0, 4)}`;
const monday = new Date(today); monday.setUTCDate(today.getUTCDate() - ((today.getUTCDay() + 6) % 7));
const inDays = n => { const d = new Date(today); d.setUTCDate(d.getUTCDate() + n); return iso(d); };

let browser;
let page;
try {
  browser = await launch();
  const opened = await newPage(browser, 'quotidien');
  page = opened.page;
  const { problems, shot, inspected } = opened;
  // After a submission the next page may still be loading: wait for what should appear.
  const seen = sel => page.waitForSelector(sel, { timeout: 5000 }).then(() => true, () => false);
  await login(page, demo, 'conseiller.paris');
  check(await seen('h1:has-text("Mon portefeuille")'), 'arrivée sur « Mon portefeuille »');
  check(await seen('text=10 jeune(s) dont vous êtes'), 'portefeuille : les 10 jeunes de démonstration de la structure');
  await shot('portefeuille');
  // « Mes jeunes » filtered and sorted (issue 19): the CEJ only, then a name, then by age.
  const rows = () => page.$$eval('#mes-jeunes ~ div table tbody tr', trs => trs.map(tr => [...tr.cells].map(td => td.textContent.trim())));
  await page.selectOption('#f-dispositif', 'cej');
  await page.click('form[aria-label="Filtrer et trier mes jeunes"] button');
  const cej = await rows();
  check(cej.length > 0 && cej.length < 10 && cej.every(r => r[3].includes('CEJ')), `portefeuille filtré : ${cej.length} jeune(s) en CEJ, tous en CEJ`);
  const someone = cej[0][0];
  await page.selectOption('#f-dispositif', '');
  await page.fill('#f-nom', someone.slice(0, 4).toLowerCase());
  await page.click('form[aria-label="Filtrer et trier mes jeunes"] button');
  const named = await rows();
  check(named.length >= 1 && named.some(r => r[0] === someone), `portefeuille filtré par le nom « ${someone.slice(0, 4).toLowerCase()} »`);
  await page.fill('#f-nom', '');
  await page.selectOption('#f-tri', 'age');
  await page.click('form[aria-label="Filtrer et trier mes jeunes"] button');
  const ages = (await rows()).map(r => Number(r[2]));
  check(ages.length === 10 && ages.every((a, i) => i === 0 || ages[i - 1] <= a), `portefeuille trié par âge (${ages.join(' ')})`);
  await page.goto(`${demo.base}/portefeuille`);

  // 1. First reception, then the duplicate warning on a second attempt.
  const person = async () => {
    await page.click('nav >> text=Premier accueil');
    await page.fill('#nom', 'Ferrand-Lhuillier');
    await page.fill('#prenom', 'Bénédicte');
    await page.fill('#date_naissance', '14/02/2005');
    await page.fill('#sexe', 'F');
    await page.fill('#telephone', '06 44 12 90 33');
    await page.click('button:has-text("Enregistrer")');
  };
  await person();
  await page.waitForSelector('text=Dossier enregistré.');
  const dossier = page.url().split('?')[0];
  check(await seen('h1:has-text("Ferrand-Lhuillier Bénédicte")'), 'premier accueil : dossier créé');
  await person();
  check(await seen('text=existe déjà dans votre structure'), 'second accueil de la même personne : avertissement de doublon');
  await shot('doublon');
  await page.goto(dossier);

  // 2. Diagnosis: phase and situation.
  await page.click('a:has-text("Phase")');
  await page.selectOption('#categorie', 'diagnostic');
  await page.click('button:has-text("Enregistrer")');
  await page.waitForSelector('text=Dossier enregistré.');
  check(await seen('.auteur:has-text("par Camille Laurent")') && !(await seen('.auteur:has-text("par conseiller.paris")')), 'l\'auteur d\'un acte lu par son nom affiché, pas son identifiant');
  await page.click('text=Mettre à jour la situation');
  await page.selectOption('#logement', 'parents');
  await page.fill('#niveau', 'V');
  await page.selectOption('#rqth', 'non');
  await page.selectOption('#permis', 'non');
  await page.click('button:has-text("Enregistrer")');
  await page.waitForSelector('text=Dossier enregistré.');
  check(await seen('text=Niveau 3 — CAP, BEP (ancien V)'), 'diagnostic : ancien niveau V converti en niveau 3');
  check(await seen('.etiquette:has-text("Diagnostic")'), 'phase « Diagnostic »');
  await shot('diagnostic');

  // 3. Entry into CEJ (an error first: no tax situation).
  await page.click('text=Entrée en dispositif');
  await page.selectOption('#kind', 'cej');
  await page.click('button:has-text("Enregistrer")');
  check(await seen('text=Situation fiscale du foyer : obligatoire'), 'CEJ : situation fiscale exigée, message sous le champ');
  await page.selectOption('#situation_fiscale', 'non_imposable');
  await page.click('button:has-text("Enregistrer")');
  await page.waitForSelector('text=Dossier enregistré.');
  check(await seen('h3:has-text("Contrat d\'engagement jeune (CEJ)")'), 'entrée en CEJ');
  await shot('cej');

  // 4. Planning and recording a week: an appointment, then the week's hours.
  await page.click('a:has-text("Rendez-vous")');
  await page.fill('#heure', '10:00');
  await page.click('button:has-text("Enregistrer")');
  await page.waitForSelector('text=Dossier enregistré.');
  await page.click('button:has-text("Présent")');
  await page.waitForSelector('.etiquette:has-text("Présent")');
  await page.fill('input[name=semaine]', iso(monday));
  await page.fill('input[name=prevues]', '15');
  await page.fill('input[name=realisees]', '12h');
  await page.click('button:has-text("Enregistrer la semaine")');
  await page.waitForSelector('text=Dossier enregistré.');
  check(await seen('.manque:has-text("manque 3 h")') && !(await seen('text=3 h 0')), 'semaine CEJ : 12 h réalisées sur 15, écart affiché en heures (« manque 3 h »)');
  await shot('semaine-cej');

  // 5. An interview with a note.
  await page.click('a:has-text("Entretien")');
  await page.selectOption('#modalite', 'visio');
  await page.selectOption('#theme', 'emploi');
  await page.fill('#duree', '45');
  await page.fill('#note', 'Souhaite travailler dans la vente ; CV à reprendre.');
  await page.click('button:has-text("Enregistrer")');
  await page.waitForSelector('text=Dossier enregistré.');
  check(await seen('text=CV à reprendre'), 'entretien individuel et sa note dans la chronologie');
  await shot('entretien');

  // 6. An immersion: the company (SIRET checked), the proposal, the PMSMP, done.
  await page.click('nav >> text=Entreprises');
  await page.fill('#siret', '12002701600018');
  await page.fill('#nom', 'Boulangerie Saint-Jean');
  await page.click('button:has-text("Créer l\'entreprise")');
  check(await seen('text=SIRET invalide'), 'SIRET à la clé fausse refusé');
  await page.fill('#siret', '12002701600019');
  await page.click('button:has-text("Créer l\'entreprise")');
  await page.waitForSelector('h1:has-text("Boulangerie Saint-Jean")');
  await page.goto(dossier);
  await page.click('a:has-text("Proposition")');
  await page.selectOption('#categorie', 'immersion');
  await page.selectOption('#entreprise', { label: 'Boulangerie Saint-Jean (12002701600019)' });
  await page.click('button:has-text("Enregistrer")');
  await page.waitForSelector('text=Dossier enregistré.');
  await page.click('a:has-text("Immersion (PMSMP)")');
  await page.fill('#date_debut', inDays(7));
  await page.fill('#date_fin', inDays(40));
  await page.fill('#tuteur', 'Chef de rayon');
  await page.click('button:has-text("Enregistrer")');
  check(await seen('text=30 jours calendaires par convention (34 jours demandés)'), 'immersion de 34 jours refusée');
  await page.fill('#date_fin', inDays(16));
  await page.click('button:has-text("Enregistrer")');
  await page.waitForSelector('text=Dossier enregistré.');
  await page.click('form[action^="/immersions/"] button:has-text("Réalisée")');
  await page.waitForSelector('text=Dossier enregistré.');
  check(await seen('text=(10 j)') && await seen('.etiquette:has-text("Réalisée")'), 'immersion de 10 jours réalisée');
  await page.click('form[action^="/entrees/"] button:has-text("Réalisée")');
  await page.waitForSelector('text=Dossier enregistré.');
  await shot('immersion');

  // 7. The month's allowance: computation shown, then decided; the IBAN.
  await page.click('a:has-text("Allocation du mois")');
  check(await seen('text=Montant calculé') && await seen('text=Décret n° 2022-199'), 'calcul de l\'allocation expliqué, source citée');
  await shot('allocation-calcul');
  check(!(await seen('#revenus')) && await seen('#activite_1'), 'un CEJ : seulement les ressources du CEJ, pas le champ du PACEA');
  check(await seen('fieldset legend:has-text("Ressources des trois mois avant le mois versé")') && await seen('fieldset:has(legend:has-text("Décision du mois")) #motif'), 'champs groupés sous une légende (ressources, décision)');
  check(/^Allocation de .+ — \S+ [A-ZÀ-Ý-]+$/.test(await page.textContent('h1')), `le titre nomme le mois et la personne (${await page.textContent('h1')})`);
  check(!/ferrand/i.test(await page.title()), `le nom reste hors du titre de l'onglet, que le navigateur garde dans son historique (« ${await page.title()} »)`);
  await page.selectOption('#decision', 'suspendue');
  await page.click('button:has-text("Vérifier la décision")');
  check(await seen('#motif-erreur:has-text("doit être motivée")'), 'suspension sans motif refusée, l\'erreur sous le motif');
  check((await page.title()).startsWith('Erreur — ') && await page.evaluate(() => document.activeElement?.id) === 'resume-erreurs', 'le titre commence par « Erreur — » et le résumé des erreurs prend le focus');
  check(await seen('#resume-erreurs a[href="#motif"]'), 'le résumé des erreurs mène au champ');
  // The amount follows what is typed (« Recalculer »), and what is confirmed is what is stored.
  const computed = async () => (await page.textContent('dt:has-text("Montant calculé") + dd')).trim();
  const before = await computed();
  await page.fill('#activite_1', '1200');
  await page.click('button:has-text("Recalculer le montant")');
  const after = await computed();
  check(after !== before && (await page.inputValue('#activite_1')) === '1200', `le montant recalculé suit les revenus saisis (${before} → ${after})`);
  await page.fill('#activite_1', '');
  await page.click('button:has-text("Recalculer le montant")');
  check(await computed() === before, 'sans revenus, le montant calculé revient');
  await page.selectOption('#decision', 'attribuee');
  await page.click('button:has-text("Vérifier la décision")');
  check((await page.textContent('h1')).startsWith('Confirmer l\'allocation de '), 'une étape de confirmation avant d\'enregistrer');
  const shown = (await page.textContent('dt:has-text("Montant versé") + dd')).trim();
  check(shown === before, `le montant à confirmer est le montant calculé affiché (${shown})`);
  await page.click('button:has-text("Confirmer la décision")');
  await page.waitForSelector('text=Dossier enregistré.');
  const stored = (await page.textContent('li:has-text("Attribuée") strong')).replace(/\s/g, '');
  check(stored === shown.replace(/\s/g, ''), `le montant enregistré est celui confirmé (${stored})`);
  check(await seen(`text=${monthWords} · CEJ · Attribuée`), 'allocation du mois attribuée');
  // A second decision for the month replaces the first only once confirmed (issue 19).
  await page.click('a:has-text("Allocation du mois")');
  check(await seen('h1:has-text("Allocation de ")') && !(await seen(`h1:has-text("${month}")`)), 'le mois écrit en toutes lettres dans le titre');
  check(await seen('text=Décision en vigueur') && await seen('text=Attribuée :'), 'la décision en vigueur est rappelée');
  await page.selectOption('#decision', 'reduite');
  await page.fill('#montant_reduit', '100');
  await page.fill('#motif', 'Deux absences non justifiées');
  await page.click('button:has-text("Vérifier la décision")');
  check(await seen('#remplacer-erreur:has-text("confirmez son remplacement")'), 'remplacer une décision demande une confirmation');
  await page.goto(page.url().replace(/\/allocation.*$/, ''));
  check(await seen(`text=${monthWords} · CEJ · Attribuée`), 'sans confirmation, la décision en vigueur reste');
  await page.click('a:has-text("Allocation du mois")');
  await page.selectOption('#decision', 'reduite');
  await page.fill('#montant_reduit', '100');
  await page.fill('#motif', 'Deux absences non justifiées');
  await page.selectOption('#remplacer', 'oui');
  await page.click('button:has-text("Vérifier la décision")');
  check(await seen('text=La décision en vigueur sera remplacée'), 'la confirmation annonce le remplacement');
  await page.click('button:has-text("Confirmer la décision")');
  await page.waitForSelector('text=Dossier enregistré.');
  check(await seen(`text=${monthWords} · CEJ · Réduite`), 'confirmée, la nouvelle décision remplace la première');
  await page.click('a:has-text("Allocation du mois")');
  check(await seen('caption:has-text("Décisions remplacées pour ce mois")') && await seen(`td:has-text("${shown}")`), 'la décision remplacée reste dans l\'historique du mois, avec son montant');
  await page.goto(page.url().replace(/\/allocation.*$/, ''));
  await page.click('text=Saisir l\'IBAN');
  await page.fill('#iban', 'FR76 3000 6000 0112 3456 7890 189');
  await page.click('button:has-text("Enregistrer")');
  check(await seen('text=Rien n\'a été enregistré'), 'IBAN sans motif refusé');
  // The sensitive tier: a reason, and her second factor of the login (less than 5 minutes old).
  await page.fill('#iban', 'FR76 3000 6000 0112 3456 7890 189');
  await page.fill('#motif', 'premier versement');
  await page.click('button:has-text("Enregistrer")');
  await page.waitForSelector('text=Dossier enregistré.');
  check(await seen('text=en attente d\'approbation') && !(await page.content()).includes('3456 7890'), 'IBAN enregistré, jamais réaffiché, en attente d\'approbation');
  await shot('allocation-decidee');

  // 7b. A workshop (issue 19): created, the jeune registered from her dossier, then marked
  // present from the session's attendance list, which leads back to itself.
  const dossierUrl = page.url().replace(/\?.*$/, '');
  await page.goto(`${demo.base}/ateliers`);
  await page.fill('#intitule', 'Atelier CV et lettre');
  await page.fill('#date', inDays(2));
  await page.fill('#places', '8');
  await page.click('button:has-text("Créer l\'atelier")');
  await page.fill('#f-q', 'cv et LETTRE');
  await page.click('form[aria-label="Filtrer les ateliers"] button');
  check(await seen('td a:has-text("Atelier CV et lettre")'), 'ateliers filtrés par l\'intitulé (casse et accents indifférents)');
  await page.fill('#f-q', 'zzzz-introuvable');
  await page.click('form[aria-label="Filtrer les ateliers"] button');
  check(await seen('text=Aucun atelier à venir ne correspond'), 'filtre d\'ateliers sans résultat : le dire');
  await page.goto(dossierUrl);
  const wid = await page.$eval('select[name=atelier] >> option:has-text("Atelier CV et lettre")', o => o.value);
  await page.selectOption('select[name=atelier]', wid);
  await page.click('form[action$="/atelier"] button:has-text("Inscrire")');
  await page.waitForSelector('text=Dossier enregistré.');
  await page.goto(`${demo.base}/ateliers`);
  await page.click('a:has-text("Atelier CV et lettre")');
  check(await seen('h2:has-text("Liste de présence")') && await seen('td .etiquette:has-text("Inscrit")'), 'la liste de présence de l\'atelier montre l\'inscrite');
  await page.click('button[aria-label^="Présent : "]');
  await page.waitForURL(`**/ateliers/${wid}`);
  check(await seen('td .etiquette:has-text("Présent")'), 'marquée présente depuis la liste de présence, retour à la liste');
  // The companies list filters by name, SIRET or NAF (issue 19).
  await page.goto(`${demo.base}/entreprises`);
  const firstCompany = (await page.textContent('table tbody tr td a')).trim();
  await page.fill('#f-q', firstCompany.slice(0, 5));
  await page.click('form[aria-label="Filtrer et trier les entreprises"] button');
  const found = await page.$$eval('table tbody tr td:first-child', tds => tds.map(td => td.textContent.trim()));
  check(found.includes(firstCompany), `entreprises filtrées par « ${firstCompany.slice(0, 5)} » (${found.length})`);
  await page.fill('#f-q', 'zzzz-introuvable');
  await page.click('form[aria-label="Filtrer et trier les entreprises"] button');
  check(await seen('text=Aucune entreprise ne correspond'), 'filtre sans résultat : le dire, et comment tout revoir');
  await page.goto(dossierUrl);

  // 8. Exit with the national list ("autre" needs a note).
  await page.click('a:has-text("Sortie")');
  await page.selectOption('#categorie', 'autre');
  await page.click('button:has-text("Enregistrer")');
  check(await seen('text=précisez-le dans la note'), 'sortie « autre » sans précision refusée');
  await page.selectOption('#categorie', 'emploi_durable');
  await page.click('button:has-text("Enregistrer")');
  await page.waitForSelector('text=Dossier enregistré.');
  check(await seen('.dossier-entete .etiquette:has-text("Sortie")') && await seen('.etiquette:has-text("Terminé")'), 'sortie en emploi durable, CEJ terminé');
  await shot('sortie');
  await page.click('button:has-text("Se déconnecter")');

  // 9. The director produces the month's payment batch.
  await login(page, demo, 'directrice.paris');
  await page.click('nav >> text=Allocations');
  // Lines outside her caseload are masked (issue 15): the names leave only in the batch file.
  check(await seen('text=Dossier ') && !(await seen('text=Ferrand-Lhuillier')), 'allocations du mois de la structure, noms hors portefeuille masqués');
  await page.click('text=lot de paiement');
  check(await seen('text=0 virement(s) SEPA') && await seen('text=1 IBAN en attente d\'approbation'), 'lot : l\'IBAN nouveau attend une approbation');
  // The allowances still undecided are said, with the way to them (issue 19).
  const undecided = await page.textContent('p.alerte[role=status] strong').catch(() => '');
  check(/^\d+ allocation\(s\) du mois ne sont pas encore décidées$/.test(undecided || ''), `lot : les allocations non décidées sont annoncées (${undecided})`);
  await page.click('a:has-text("décidez-les sur la page des allocations du mois")');
  check(new URL(page.url()).pathname === '/allocations', 'le lien mène aux allocations du mois');
  await page.goto(`${demo.base}/allocations/lot?mois=${month}`);
  // She approves the IBAN (Administration → Demandes), then asks for both files.
  await page.click('nav >> text=Demandes');
  check(await seen('text=IBAN saisi ou modifié'), 'demande d\'approbation de l\'IBAN listée');
  await page.click('button:has-text("Approuver")');
  check(await seen('text=Demande approuvée'), 'IBAN approuvé par la directrice');
  await page.goto(`${demo.base}/allocations/lot?mois=${month}`);
  check(await seen('text=1 virement(s) SEPA'), 'lot de paiement : un virement');
  const row = await page.textContent('table.resultats tbody tr:first-child');
  check(row.includes('CEJ') && !row.includes('cej') && !/attribuee|reduite/.test(row), `lot : libellés, pas de codes (${row.trim()})`);
  check(await page.$('table.resultats tbody tr:first-child td:first-child a[href^="/jeunes/"]') !== null, 'lot : le nom mène au dossier');
  for (const fmt of ['pain001', 'csv']) {
    await page.selectOption('#format', fmt);
    await page.fill('#motif', 'versement du mois');
    await page.click('button:has-text("Demander le fichier")');
    check(await seen('text=Demande enregistrée'), `fichier ${fmt} demandé`);
  }
  await shot('lot');
  // A second person approves the files: the DPO.
  await page.click('button:has-text("Se déconnecter")');
  await login(page, demo, 'dpo');
  await page.click('nav >> text=Demandes');
  for (let i = 0; i < 2; i++) {
    await page.click('button:has-text("Approuver") >> nth=0');
    check(await seen('text=Demande approuvée'), 'fichier approuvé par le DPO');
  }
  await page.click('button:has-text("Se déconnecter")');
  // Codes are single-use: her second login waits for the next 30-second step.
  await new Promise(r => setTimeout(r, (31 - (Math.floor(Date.now() / 1000) % 30)) * 1000));
  await login(page, demo, 'directrice.paris');
  await page.goto(`${demo.base}/allocations/lot?mois=${month}`);
  check(await seen('button:has-text("Télécharger le fichier SEPA")'), 'fichier prêt au téléchargement');
  const csrf = await page.inputValue('form[action="/allocations/lot/fichier"] input[name=csrf]');
  const take = (format, confirmer = 'oui') => page.request.post(`${demo.base}/allocations/lot/fichier`, { form: { csrf, mois: month, format, motif: 'versement du mois', confirmer } });
  // The IBAN file is produced only once its contents are confirmed (the page's box).
  check(await seen('label:has-text("Je confirme télécharger les noms et les IBAN de 1 jeune(s)")'), 'le téléchargement dit ce que contient le fichier');
  const unconfirmed = await take('pain001', '');
  check(unconfirmed.status() === 409 && (await unconfirmed.text()).includes('Cochez la confirmation'), 'sans la confirmation, pas de fichier');
  const xml = await take('pain001');
  const body = await xml.text();
  check(xml.status() === 200 && body.includes('<NbOfTxs>1</NbOfTxs>') && body.includes('FR7630006000011234567890189'), 'fichier SEPA pain.001 téléchargé');
  const csv = await take('csv');
  check((await csv.text()).includes('Ferrand-Lhuillier'), 'fichier CSV téléchargé');
  // « Attribuer au montant calculé » (issue 19): the month's undecided allowances at once,
  // once the count and the total shown are confirmed.
  await page.goto(`${demo.base}/allocations?mois=${month}`);
  const n = Number((await page.textContent('form.attribution button')).match(/Attribuer (\d+)/)[1]);
  const form = async extra => page.request.post(`${demo.base}/allocations/attribution`, { form: { csrf: await page.inputValue('form.attribution input[name=csrf]'), mois: month, nombre: String(n), total: await page.inputValue('form.attribution input[name=total]'), ...extra } });
  check((await form({})).status() === 409, 'attribution en bloc refusée sans la confirmation');
  const stale = await form({ confirmer: 'oui', nombre: String(n + 1) });
  check(stale.status() === 409 && (await stale.text()).includes('ont changé depuis votre confirmation'), 'attribution en bloc refusée si le mois a changé depuis la confirmation');
  await page.click('label[for=confirmer-attribution]'); // the DSFR draws the box on the label
  check(await page.isChecked('#confirmer-attribution'), 'case de confirmation cochée');
  await page.click('form.attribution button');
  check(await seen(`text=${n} allocation(s) attribuée(s) au montant calculé`) && !(await seen('form.attribution')), `${n} allocation(s) attribuée(s) d'un coup, plus rien à attribuer`);
  await inspected.settled();
  check(inspected.inspected > 0, `axe-core et largeur vérifiés sur ${inspected.inspected} page(s) (${inspected.skipped} quittée(s) avant la fin)`);
  check(problems.length === 0, `aucune erreur dans la console (CSP, scripts) ${problems.join(' | ')}`);
  console.log('daily work journeys passed');
} catch (e) {
  console.error(String(e));
  if (page) console.error(`page ${page.url()} :\n${await page.innerText('main').catch(() => '')}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  demo.stop();
}

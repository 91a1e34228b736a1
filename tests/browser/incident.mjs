// Browser journey of issue 18 (after a breach), in Debian's headless Chromium: a conseiller
// opens dossiers; the DPO asks for the incident report of that account today (Incidents); the
// administrator approves it (Demandes); the DPO opens the report, sees the counts and the
// categories, and opens the printable letters and the CNIL draft.
// Usage: node incident.mjs <path to parcours binary> <scratch dir>
import { check, startDemo, launch, newPage, login } from './lib.mjs';

const [bin, scratch] = process.argv.slice(2);
if (!bin || !scratch) { console.error('usage: node incident.mjs <parcours> <dir>'); process.exit(2); }
const demo = await startDemo(bin, scratch, 'incident', 60);
const nextStep = () => new Promise(r => setTimeout(r, (31 - (Math.floor(Date.now() / 1000) % 30)) * 1000));

let browser;
try {
  browser = await launch();
  const { page, problems, shot, inspected } = await newPage(browser, 'incident');
  const seen = sel => page.isVisible(sel);

  // The account whose session was stolen opens two dossiers of her caseload.
  await login(page, demo, 'conseiller.paris');
  await page.click('nav >> text=Mes dossiers');
  const links = await page.$$eval('table.resultats tbody tr a', as => as.slice(0, 2).map(a => a.getAttribute('href')));
  check(links.length === 2, 'deux dossiers à ouvrir');
  for (const l of links) { await page.goto(`${demo.base}${l}`); await page.waitForSelector('h1'); }
  await page.click('button:has-text("Se déconnecter")');

  // The DPO asks for the report.
  await login(page, demo, 'dpo');
  await page.click('nav >> text=Incidents');
  const today = new Date().toISOString().slice(0, 10);
  await page.selectOption('#portee', 'comptes');
  await page.fill('#comptes', 'conseiller.paris');
  await page.fill('#du', today);
  await page.fill('#au', today);
  await page.fill('#motif', "Session de conseiller.paris volée par hameçonnage");
  await page.click('button:has-text("Demander le rapport")');
  check(await seen('text=Demande enregistrée'), 'rapport demandé par le DPO');
  check(!(await seen('text=Ouvrir le rapport')), 'pas de rapport avant l\'approbation');
  await shot('demande');
  await page.click('button:has-text("Se déconnecter")');

  // A second person approves.
  await login(page, demo, 'admin');
  await page.click('nav >> text=Demandes');
  check(await seen('text=Rapport d\'incident'), 'la demande de rapport est listée');
  await page.click('button:has-text("Approuver") >> nth=0');
  check(await seen('text=Demande approuvée'), 'rapport approuvé par l\'administrateur');
  await page.click('button:has-text("Se déconnecter")');

  // The DPO opens it (her second login waits for the next code).
  await nextStep();
  await login(page, demo, 'dpo');
  await page.click('nav >> text=Incidents');
  await page.click('text=Ouvrir le rapport');
  await page.waitForSelector('h1:has-text("Rapport d\'incident")');
  const summary = await page.textContent('main');
  const n = Number((summary.match(/(\d+)\s*personne\(s\) concernée\(s\)/) || [])[1]);
  check(n >= 2, `personnes touchées comptées (${n})`);
  check(await seen('text=Identité et coordonnées'), 'catégories de données listées');
  await shot('rapport');
  await page.click('text=Lettres aux personnes');
  await page.waitForSelector('section.lettre');
  const letters = await page.$$eval('section.lettre', s => s.length);
  check(letters >= n, `une lettre par personne (${letters})`);
  check(await seen('text=Soyez vigilant(e)'), 'la lettre dit à quoi prendre garde');
  await shot('lettres');
  await page.goBack();
  await page.click('text=Projet de notification à la CNIL');
  await page.waitForSelector('h1:has-text("Notification")');
  check(await seen('text=Délégué à la protection des données'), 'la notification donne le contact du DPO');
  await inspected.settled();
  check(inspected.inspected > 0, `axe-core et largeur vérifiés sur ${inspected.inspected} page(s) (${inspected.skipped} quittée(s) avant la fin)`);
  check(problems.length === 0, `aucune erreur de console ni de réseau : ${problems.join(' | ')}`);
  console.log('incident journey passed');
} finally {
  if (browser) await browser.close();
  demo.stop();
}

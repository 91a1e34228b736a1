// Browser journey of the decision module (issue #4), in Debian's headless Chromium: from the
// main server's "Pilotage" page to the separate insight server (which knows only the warehouse
// and the main server's public key), filters, chart, drill-down région → structure, comparison,
// exports — as a directrice (her structure only) and as a regional pilote.
// Usage: node pilotage.mjs <path to parcours binary> <scratch dir>
import { check, startDemo, launch, newPage, login } from './lib.mjs';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const [bin, scratch] = process.argv.slice(2);
if (!bin || !scratch) { console.error('usage: node pilotage.mjs <parcours> <dir>'); process.exit(2); }
const insightBin = join(dirname(bin), 'parcours-insight');
if (!existsSync(insightBin)) { console.error(`${insightBin} absent : cargo build --workspace`); process.exit(1); }
const iport = 20000 + Math.floor(Math.random() * 12000); // below the ephemeral range (see lib.mjs)
const insightBase = `http://127.0.0.1:${iport}`;
const demo = await startDemo(bin, scratch, 'pilotage', 400, { PARCOURS_INSIGHT_URL: insightBase });
// Only the warehouse and the public key: what a separate host would receive.
const insight = spawn(insightBin, ['serve', '--warehouse', join(demo.dataDir, 'entrepot'),
  '--cle-publique', join(demo.dataDir, 'parcours-insight.pub'), '--bind', `127.0.0.1:${iport}`],
  { env: { PATH: process.env.PATH, PARCOURS_APP_URL: demo.base, PARCOURS_THEME: process.env.PARCOURS_THEME || '' }, stdio: 'ignore' });
for (let i = 0; i < 100; i++) {
  try { if ((await fetch(`${insightBase}/healthz`)).ok) break; } catch { /* not yet */ }
  await new Promise(r => setTimeout(r, 100));
}

let browser;
let page;
try {
  browser = await launch();
  const opened = await newPage(browser, 'pilotage');
  page = opened.page;
  const { problems, shot, inspected } = opened;
  const seen = sel => page.waitForSelector(sel, { timeout: 8000 }).then(() => true, () => false);

  // 1. The directrice opens the dashboards of her structure.
  await login(page, demo, 'directrice.paris');
  await page.click('nav >> text=Pilotage');
  check(await seen('button:has-text("Ouvrir les tableaux de bord")'), 'page « Pilotage » du serveur principal');
  await page.click('button:has-text("Ouvrir les tableaux de bord")');
  await page.waitForURL(`${insightBase}/tableau**`);
  check(await seen('h1:has-text("Mission Locale de Paris")'), 'tableau de bord de sa structure, sur le serveur de pilotage');
  check(await seen('svg[role=img] rect'), 'graphique SVG rendu par le serveur');
  check(await seen('text=Définition :'), 'définition de l’indicateur dans la page');
  check(await seen('th:has-text("Pour comparaison — Île-de-France")'), 'comparaison avec sa région');
  await shot('structure');
  await page.selectOption('select[name=indicateur]', 'jeunes_accompagnes');
  await page.selectOption('select[name=ventilation]', 'tranche_age');
  await page.click('button:has-text("Afficher")');
  check(await seen('h1:has-text("Jeunes accompagnés")'), 'filtres : indicateur et ventilation');
  await shot('filtres');
  const csvHref = await page.getAttribute('a:has-text("CSV")', 'href');
  const csv = await page.request.get(`${insightBase}${csvHref}`);
  const text = await csv.text();
  check(csv.status() === 200 && text.charCodeAt(0) === 0xfeff && text.includes(';'), 'export CSV (point-virgule, BOM)');
  const xlsxHref = await page.getAttribute('a:has-text("XLSX")', 'href');
  const xlsx = await page.request.get(`${insightBase}${xlsxHref}`);
  check(xlsx.status() === 200 && (await xlsx.body()).subarray(0, 2).toString() === 'PK', 'export XLSX');
  // Every indicator of her structure in one workbook: built in the background, the page shows
  // the progress, asked by its script every two seconds, until the download link appears.
  await page.click('button:has-text("Exporter tous les indicateurs")');
  await page.waitForURL(`${insightBase}/exports/**`);
  check(await seen('h1:has-text("Export de tous les indicateurs")'), 'export du périmètre lancé, page de progression');
  const ready = await page.locator('a#telecharger').waitFor({ timeout: 120000 }).then(() => true, () => false);
  check(ready, 'la page de progression se met à jour seule jusqu’au lien de téléchargement');
  await shot('export-complet');
  if (ready) {
    const bookHref = await page.getAttribute('a#telecharger', 'href');
    const book = await page.request.get(`${insightBase}${bookHref}`);
    check(book.status() === 200 && (await book.body()).subarray(0, 2).toString() === 'PK', 'classeur de tous les indicateurs (XLSX)');
  }
  const other = await page.request.get(`${insightBase}/tableau?niveau=structure&code=ML-LYON`);
  check(other.status() === 403, 'une autre structure est hors de son périmètre');
  await page.click('button:has-text("Se déconnecter")');

  // 2. The regional pilote drills down from the région to a structure and back.
  await page.context().clearCookies();
  await login(page, demo, 'pilote.idf');
  await page.goto(`${demo.base}/pilotage`);
  await page.click('button:has-text("Ouvrir les tableaux de bord")');
  await page.waitForURL(`${insightBase}/tableau**`);
  check(await seen('h1:has-text("Île-de-France")'), 'pilote régional : sa région');
  check(await seen('tbody a:has-text("Mission Locale de Paris")'), 'les structures de la région, ouvrables');
  await shot('region');
  await page.click('tbody a:has-text("Mission Locale de Paris")');
  check(await seen('h1:has-text("Mission Locale de Paris")'), 'descente vers la structure');
  await page.click('nav.fil a');
  check(await seen('h1:has-text("Île-de-France")'), 'remontée vers la région');
  const nation = await page.request.get(`${insightBase}/tableau?niveau=nation&code=nation`);
  check(nation.status() === 403, 'la France entière est hors du périmètre régional');
  await inspected.settled();
  check(inspected.inspected > 0, `axe-core et largeur vérifiés sur ${inspected.inspected} page(s) (${inspected.skipped} quittée(s) avant la fin)`);
  check(problems.length === 0, `aucune erreur dans la console (CSP, scripts) ${problems.join(' | ')}`);
  console.log('pilotage journey passed');
} catch (e) {
  console.error(String(e));
  if (page) console.error(`page ${page.url()} :\n${await page.innerText('main').catch(() => '')}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  insight.kill();
  demo.stop();
}

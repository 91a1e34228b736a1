// Browser journey of the walking skeleton, in Debian's headless Chromium:
// login (password + second factor), creating a dossier with a field error then fixing it,
// accent-insensitive search, opening the dossier, inert hostile text, logout.
// Usage: node journey.mjs <path to parcours binary> <scratch dir>
// Screenshots of each step go to tests/browser/screenshots/ (not committed).
import { check, startDemo, launch, newPage } from './lib.mjs';

const [bin, scratch] = process.argv.slice(2);
if (!bin || !scratch) { console.error('usage: node journey.mjs <parcours> <dir>'); process.exit(2); }
const demo = await startDemo(bin, scratch, 'demo', 60);
const base = demo.base;

let browser;
try {
  browser = await launch();
  const { page, problems, shot, inspected } = await newPage(browser, 'squelette');

  await page.goto(`${base}/`);
  check(page.url().endsWith('/connexion'), 'la page d\'accueil mène à la connexion');
  await shot('connexion');
  await page.fill('#identifiant', 'conseiller.paris');
  await page.fill('#mot_de_passe', 'mauvais');
  await page.click('button[type=submit]');
  check(await page.isVisible('text=Identifiant ou mot de passe incorrect.'), 'mauvais mot de passe refusé en français');
  await page.fill('#identifiant', 'conseiller.paris');
  await page.fill('#mot_de_passe', 'demo-parcours-2026');
  await page.click('button[type=submit]');
  await page.waitForURL('**/connexion/code');
  const cookies = await page.context().cookies();
  const c = cookies.find(x => x.name === '__Host-parcours');
  check(c && c.httpOnly && c.secure && c.sameSite === 'Strict', 'cookie __Host- HttpOnly Secure SameSite=Strict accepté par le navigateur');
  await shot('second-facteur');
  const code = demo.code('conseiller.paris');
  await page.fill('#code', code);
  await page.click('button[type=submit]');
  await page.waitForURL('**/portefeuille');
  check(await page.isVisible('h1:has-text("Mon portefeuille")'), 'connecté avec le second facteur, arrivée sur « Mon portefeuille »');
  await shot('portefeuille');

  await page.click('nav >> text=Premier accueil');
  await page.fill('#nom', 'Éloïse-Dubreuil');
  await page.fill('#prenom', 'Maëlys');
  await page.fill('#date_naissance', '03/05/2031');
  await page.fill('#sexe', 'F');
  await page.fill('#telephone', '06 12 34 56 78');
  await page.fill('#commune', '<script>alert(1)</script>');
  await page.click('button:has-text("Enregistrer")');
  check(await page.isVisible('text=La date de naissance est dans le futur.'), 'erreur de champ affichée à côté du champ');
  check((await page.inputValue('#nom')) === 'Éloïse-Dubreuil', 'la saisie est conservée');
  await shot('erreur-de-saisie');
  await page.fill('#date_naissance', '03/05/2006');
  await page.click('button:has-text("Enregistrer")');
  await page.waitForSelector('text=Dossier enregistré.');
  check(await page.isVisible('text=+33612345678'), 'téléphone normalisé en E.164');
  check(await page.isVisible('text=<script>alert(1)</script>'), 'texte hostile affiché comme du texte');
  await shot('dossier-cree');

  await page.goto(`${base}/recherche?nom=${encodeURIComponent('eloise dubreuil')}`);
  check(await page.isVisible('text=1 dossier(s) trouvé(s)'), 'recherche sans accents ni majuscules');
  await page.click('a:has-text("Éloïse-Dubreuil")');
  check(await page.isVisible('h1:has-text("Éloïse-Dubreuil Maëlys")'), 'ouverture du dossier');
  await shot('dossier');

  await page.goto(`${base}/jeunes`);
  // "Mes dossiers" lists her caseload only (issue 15): the demo gave her the 15 dossiers of
  // her structure, plus the one she created; the other structures' never show.
  check(await page.isVisible('text=16 dossier(s) dont vous êtes référent'), 'Mes dossiers : son portefeuille (15 de la démo + 1 créé)');
  check((await page.textContent('table.resultats tbody tr:first-child')).includes('Éloïse-Dubreuil'), 'le dossier créé est en tête de liste');
  await page.goto(`${base}/structures`);
  check(await page.isVisible('text=ML-PARIS'), 'liste des structures');
  await shot('structures');
  await page.click('button:has-text("Se déconnecter")');
  await page.waitForURL('**/connexion');
  await page.goto(`${base}/recherche`);
  check(page.url().endsWith('/connexion'), 'déconnecté : retour à la connexion');
  await inspected.settled();
  check(inspected.inspected > 0, `axe-core et largeur vérifiés sur ${inspected.inspected} page(s) (${inspected.skipped} quittée(s) avant la fin)`);
  check(problems.length === 0, `aucune erreur dans la console (CSP, scripts) ${problems.join(' | ')}`);
  console.log('browser journey passed');
} catch (e) {
  console.error(String(e));
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  demo.stop();
}

// Browser journey of issue 15 (a stolen session leaks almost nothing), in Debian's headless
// Chromium: a conseiller searches (candidates show an initial and a birth year), opens a dossier
// outside her caseload, sees it counted on "Mon quota", uses break-glass with a reason; her
// directrice reviews it on "Alertes"; probing dossier ids then freezes the conseiller's account,
// her session ends, her next login is refused with whom to call, and the directrice unfreezes;
// then "Mon compte" (issue 16): her sessions, a common password refused.
// Usage: node vigilance.mjs <path to parcours binary> <scratch dir>
import { check, startDemo, launch, newPage, login } from './lib.mjs';

const [bin, scratch] = process.argv.slice(2);
if (!bin || !scratch) { console.error('usage: node vigilance.mjs <parcours> <dir>'); process.exit(2); }
// 1,000 dossiers over 4 structures: Paris has more than the 150 the demo puts in
// conseiller.paris's caseload.
const demo = await startDemo(bin, scratch, 'demo', 1000);

// TOTP codes are single-use: a second login of the same account waits for the next 30-s step.
const nextStep = () => new Promise(r => setTimeout(r, (31 - (Math.floor(Date.now() / 1000) % 30)) * 1000));

let browser;
try {
  browser = await launch();
  const { page, problems, shot, inspected } = await newPage(browser, 'vigilance');
  await login(page, demo, 'conseiller.paris');

  // Mes dossiers: her caseload only.
  await page.click('nav >> text=Mes dossiers');
  check(await page.isVisible('text=dont vous êtes référent'), 'Mes dossiers : le portefeuille seulement');

  // Search a name that is outside her caseload: the candidates are partial. (The pages only:
  // a session opened through the pages that calls the JSON API is frozen, issue 15.)
  await page.click('nav >> text=Mon quota');
  check(await page.isVisible('text=vous en avez utilisé 0'), 'quota du jour intact au départ');
  // Find a dossier of her structure outside her caseload: search the first names of her own
  // caseload (Mes dossiers), whose namesakes outside it the results show without the "oui".
  await page.click('nav >> text=Mes dossiers');
  const firstNames = [...new Set((await page.$$eval('table.resultats tbody tr td:nth-child(2)', tds => tds.map(t => t.textContent.trim().split(' ')[0]))))];
  let opened = false;
  for (const prenom of firstNames) {
    await page.goto(`${demo.base}/recherche?prenom=${encodeURIComponent(prenom)}`);
    const rows = await page.$$('table.resultats tbody tr');
    for (const r of rows) {
      const cells = await r.$$eval('td', tds => tds.map(t => t.textContent.trim()));
      if (cells[4] !== 'oui') {
        check(/^[A-ZÀ-Ý]\.$/.test(cells[1]) && /^\d{4}$/.test(cells[2]), 'un candidat montre l\'initiale du prénom et l\'année de naissance');
        await shot('recherche');
        await r.$eval('a', a => a.click());
        await page.waitForSelector('h1');
        opened = true;
        break;
      }
    }
    if (opened) break;
  }
  check(opened, 'un dossier hors portefeuille trouvé par la recherche et ouvert');
  await page.click('nav >> text=Mon quota');
  check(await page.isVisible('text=vous en avez utilisé'), 'la page Mon quota montre la consommation');
  check(await page.isVisible('text=vous en avez utilisé 1'), 'la consultation hors portefeuille est comptée (un dossier)');
  await shot('quota');

  // Break-glass: a reason is required.
  await page.fill('#motif', 'Remplacement de ma collègue absente cette semaine');
  await page.click('button:has-text("Obtenir des consultations supplémentaires")');
  check(await page.isVisible('text=Bris de glace enregistré'), 'bris de glace accordé avec un motif');
  check(await page.isVisible('text=déjà utilisé le bris de glace'), 'une seule fois par jour');
  await shot('bris-de-glace');
  await page.click('button:has-text("Se déconnecter")');

  // The directrice reviews it on the Alertes page.
  await login(page, demo, 'directrice.paris');
  await page.click('nav >> text=Alertes');
  check(await page.isVisible('text=Remplacement de ma collègue absente'), 'la directrice voit le bris de glace et son motif');
  await page.click('button:has-text("Marquer comme revu")');
  check(await page.isVisible('text=revu par directrice.paris'), 'bris de glace revu');
  await shot('alertes-revue');
  await page.click('button:has-text("Se déconnecter")');

  // Probing dossier ids freezes: every session ends, the next login says whom to call.
  await nextStep();
  await login(page, demo, 'conseiller.paris');
  for (let i = 0; i < 10; i++) {
    await page.goto(`${demo.base}/jeunes/00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
  }
  await page.goto(`${demo.base}/portefeuille`);
  check(page.url().endsWith('/connexion'), 'session fermée après le gel');
  await page.fill('#identifiant', 'conseiller.paris');
  await page.fill('#mot_de_passe', 'demo-parcours-2026');
  await page.click('button[type=submit]');
  check(await page.isVisible('text=Votre compte est gelé'), 'connexion refusée : compte gelé');
  check(await page.isVisible('text=délégué à la protection des données'), 'le message dit qui appeler');
  await shot('compte-gele');

  // The directrice sees the alert and unfreezes with a reason.
  await login(page, demo, 'directrice.paris');
  await page.click('nav >> text=Alertes');
  check(await page.isVisible('text=Identifiants de dossiers essayés au hasard'), 'alerte critique listée');
  await page.fill('#compte', 'conseiller.paris');
  await page.fill('#motif', 'Vérifié par téléphone avec elle');
  await page.click('button:has-text("Demander le dégel")');
  check(await page.isVisible('text=Demande de dégel du compte conseiller.paris enregistrée'), 'dégel demandé par la directrice');
  await shot('degel-demande');
  // Four eyes: she cannot approve her own request; the DPO does.
  await page.click('nav >> text=Demandes');
  check(await page.isVisible('text=une autre personne décide'), 'la directrice ne peut approuver sa propre demande');
  await page.click('button:has-text("Se déconnecter")');
  await login(page, demo, 'dpo');
  await page.click('nav >> text=Demandes');
  check(await page.isVisible('text=Dégeler le compte conseiller.paris'), 'la demande de dégel attend le DPO');
  await page.click('button:has-text("Approuver")');
  check(await page.isVisible('text=Demande approuvée'), 'dégel approuvé par une seconde personne');
  await shot('degel');
  await page.click('button:has-text("Se déconnecter")');
  await nextStep();
  await login(page, demo, 'conseiller.paris');
  check(page.url().endsWith('/portefeuille'), 'la conseillère se reconnecte avec ses deux facteurs');
  // Mon compte: her sessions (this one marked), the password form with its rule.
  await page.click('nav >> text=Mon compte');
  check(await page.isVisible('text=cette session'), 'Mon compte : ses sessions, celle-ci signalée');
  await page.fill('#actuel', 'demo-parcours-2026');
  await page.fill('#nouveau', 'motdepasse123');
  await page.click('button:has-text("Changer le mot de passe")');
  check(await page.isVisible('text=trop courant'), 'mot de passe courant refusé en français');
  await shot('mon-compte');
  await inspected.settled();
  check(inspected.inspected > 0, `axe-core et largeur vérifiés sur ${inspected.inspected} page(s) (${inspected.skipped} quittée(s) avant la fin)`);
  check(problems.length === 0, `aucune erreur dans la console (CSP, scripts) ${problems.join(' | ')}`);
  console.log('vigilance journey passed');
} catch (e) {
  console.error(String(e));
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  demo.stop();
}

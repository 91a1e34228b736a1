// Browser journey of issue 16's passkeys, in Debian's headless Chromium with a virtual
// authenticator (DevTools protocol, WebAuthn domain): a conseillère registers a passkey on
// "Mon compte", logs in with it instead of her code, her structure then requires passkeys (her
// code is refused, her passkey works), and she revokes it.
// Usage: node passkeys.mjs <path to parcours binary> <scratch dir>
import { execFileSync } from 'node:child_process';
import { check, startDemo, launch, newPage } from './lib.mjs';

const [bin, scratch] = process.argv.slice(2);
if (!bin || !scratch) { console.error('usage: node passkeys.mjs <parcours> <dir>'); process.exit(2); }
const demo = await startDemo(bin, scratch, 'cles', 200);
// Browsers refuse an IP address as a passkey's relying party: the service's public address is
// http://localhost:<port> (the default of `serve`).
const base = demo.base.replace('127.0.0.1', 'localhost');

let browser;
try {
  browser = await launch();
  const { page, problems, shot, inspected } = await newPage(browser, 'cles');
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  const password = async () => {
    await page.goto(`${base}/connexion`);
    await page.fill('#identifiant', 'conseiller.paris');
    await page.fill('#mot_de_passe', 'demo-parcours-2026');
    await page.click('button[type=submit]');
    await page.waitForURL('**/connexion/code');
  };

  // 1. Password and code, then a passkey registered on "Mon compte".
  await password();
  await page.fill('#code', demo.code('conseiller.paris'));
  await page.click('button:has-text("Valider")');
  await page.waitForURL('**/portefeuille');
  await page.click('nav >> text=Mon compte');
  check(await page.isVisible('text=Aucune clé d\'accès'), 'aucune clé au départ');
  await page.fill('#cle-nom', 'Poste du bureau');
  await page.click('#cle-ajouter');
  await page.waitForURL('**/compte?cle=1');
  check(await page.isVisible('text=Clé d\'accès enregistrée') && await page.isVisible('td:has-text("Poste du bureau")'), 'clé d\'accès enregistrée et listée');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  check(credentials.length === 1, 'l\'authentificateur détient une clé');
  await shot('cle-enregistree');
  await page.click('button:has-text("Se déconnecter")');

  // 2. Password, then the passkey instead of the code.
  await password();
  await page.click('#cle-connexion');
  await page.waitForURL('**/portefeuille');
  check(page.url().endsWith('/portefeuille'), 'connexion par clé d\'accès, sans code');
  await page.click('button:has-text("Se déconnecter")');

  // 3. Her structure requires passkeys: a code no longer opens her account; the passkey does.
  execFileSync(bin, ['structure', 'cles', '--data-dir', demo.dataDir, '--code', 'ML-PARIS', '--obligatoires', 'oui'], { env: { ...process.env, PARCOURS_LOG: 'warn' } });
  await password();
  await page.fill('#code', demo.code('conseiller.paris'));
  await page.click('button:has-text("Valider")');
  check(await page.isVisible('text=exige la clé d\'accès'), 'code refusé : la structure exige la clé d\'accès');
  await shot('code-refuse');
  await page.goto(`${base}/connexion/code`);
  await page.click('#cle-connexion');
  await page.waitForURL('**/portefeuille');
  check(page.url().endsWith('/portefeuille'), 'la clé d\'accès ouvre toujours le compte');

  // 4. Revoked from "Mon compte".
  await page.click('nav >> text=Mon compte');
  await page.click('form[action^="/compte/cles/"] button:has-text("Supprimer")');
  check(await page.isVisible('text=Clé d\'accès supprimée') && await page.isVisible('text=Aucune clé d\'accès'), 'clé supprimée');
  await inspected.settled();
  check(inspected.inspected > 0, `axe-core et largeur vérifiés sur ${inspected.inspected} page(s) (${inspected.skipped} quittée(s) avant la fin)`);
  check(problems.length === 0, `aucune erreur dans la console (CSP, scripts) ${problems.join(' | ')}`);
  console.log('passkeys journey passed');
} catch (e) {
  console.error(String(e));
  if (browser) {
    const pages = browser.contexts().flatMap(c => c.pages());
    if (pages[0]) console.error(`page ${pages[0].url()} :\n${await pages[0].innerText('main').catch(() => '')}`);
  }
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  demo.stop();
}

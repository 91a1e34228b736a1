// Each role's journey through its own menu (issue 19), at a desk's 1440×900 and a phone's
// 390×844: after login it lands on its home (never a refusal), the menu shows only what the
// role may use and marks the current page (aria-current), every entry of the menu answers 200,
// "Retour à l'accueil" from a refusal leads home, and a form the role could never submit is
// refused before it is shown.
// Usage: node roles.mjs <path to parcours binary> <scratch dir>
import { check, startDemo, launch, login } from './lib.mjs';

const [bin, scratch] = process.argv.slice(2);
if (!bin || !scratch) { console.error('usage: node roles.mjs <parcours> <dir>'); process.exit(2); }
const demo = await startDemo(bin, scratch, 'roles', 40);

// What each role lands on, what its menu holds (in order), and a page it may not use.
const ROLES = {
  'conseiller.paris': { home: '/portefeuille', menu: ['/portefeuille', '/recherche', '/jeunes', '/jeunes/nouveau', '/allocations', '/entreprises', '/ateliers', '/pilotage', '/quota', '/structures', '/compte'], refused: '/incidents' },
  'directrice.paris': { home: '/allocations', menu: ['/recherche', '/jeunes/nouveau', '/allocations', '/allocations/lot', '/entreprises', '/ateliers', '/pilotage', '/alertes', '/administration/demandes', '/incidents', '/structures', '/compte'], refused: null },
  'pilote.idf': { home: '/pilotage', menu: ['/pilotage', '/structures', '/compte'], refused: '/portefeuille', noForm: '/jeunes/nouveau' },
  'dpo': { home: '/alertes', menu: ['/alertes', '/administration/demandes', '/incidents', '/structures', '/compte'], refused: '/portefeuille', noForm: '/recherche' },
  'admin': { home: '/administration/demandes', menu: ['/administration/demandes', '/incidents', '/structures', '/compte'], refused: '/portefeuille', noForm: '/jeunes/nouveau' },
};
const VIEWPORTS = [{ width: 1440, height: 900 }, { width: 390, height: 844 }];
const refusal = t => /^(Accès refusé|Demande refusée|Introuvable)/.test(t);

let browser;
try {
  browser = await launch();
  // One login per role (a second-factor code is single-use), then both viewports.
  for (const [who, r] of Object.entries(ROLES)) {
    const context = await browser.newContext({ viewport: VIEWPORTS[0] });
    const page = await context.newPage();
    await login(page, demo, who);
    check(new URL(page.url()).pathname === r.home, `${who} arrive sur sa page d'accueil ${r.home} (${page.url()})`);
    for (const viewport of VIEWPORTS) {
      await page.setViewportSize(viewport);
      const at = `${who} (${viewport.width}×${viewport.height})`;
      await page.goto(demo.base + '/');
      check(new URL(page.url()).pathname === r.home, `${at} : « / » mène à ${r.home}`);
      const menu = await page.$$eval('nav[aria-label="Menu principal"] a', as => as.map(a => new URL(a.href).pathname));
      check(JSON.stringify(menu) === JSON.stringify(r.menu), `${at} : son menu seulement (${menu.join(' ')})`);
      for (const href of menu) {
        const resp = await page.goto(demo.base + href);
        const title = await page.title();
        check(resp.status() === 200 && !refusal(title), `${at} : ${href} répond 200 (« ${title} »)`);
        const current = await page.$$eval('nav[aria-label="Menu principal"] a[aria-current="page"]', as => as.map(a => new URL(a.href).pathname));
        check(JSON.stringify(current) === JSON.stringify([href]), `${at} : ${href} marqué page courante`);
      }
      if (r.refused) {
        const resp = await page.goto(demo.base + r.refused);
        check(resp.status() === 403, `${at} : ${r.refused} refusé par adresse directe`);
        await page.click('text=Retour à l\'accueil');
        await page.waitForLoadState();
        check(new URL(page.url()).pathname === r.home && !refusal(await page.title()), `${at} : « Retour à l'accueil » mène à ${r.home}`);
      }
      if (r.noForm) {
        const resp = await page.goto(demo.base + r.noForm);
        check(resp.status() === 403 && (await page.$$('form input:not([type=hidden])')).length === 0, `${at} : ${r.noForm} refusé avant tout formulaire`);
      }
    }
    await context.close();
  }
  console.log('roles journey passed');
} catch (e) {
  console.error(String(e));
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  demo.stop();
}

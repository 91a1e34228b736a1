// Each role's journey through its own menu (issue 19), at a desk's 1440×900 and a phone's
// 390×844: after login it lands on its home (never a refusal), the menu shows only what the
// role may use and marks the current page (aria-current), every entry of the menu answers 200,
// "Retour à l'accueil" from a refusal leads home, and a form the role could never submit is
// refused before it is shown. Every page loaded passes axe-core (WCAG 2.1 A/AA) and, at 390 px,
// is no wider than the screen.
// Usage: node roles.mjs <path to parcours binary> <scratch dir>
import { check, startDemo, launch, login, inspect } from './lib.mjs';

const [bin, scratch] = process.argv.slice(2);
if (!bin || !scratch) { console.error('usage: node roles.mjs <parcours> <dir>'); process.exit(2); }
// The State design system (DSFR) for every role, then the neutral look of a deployment that
// is not a State service, for the two roles with the most pages.
const THEMES = [['etat', null], ['neutre', ['conseiller.paris', 'directrice.paris']]];

// What each role lands on, what its menu holds (in order), and a page it may not use.
const ROLES = {
  'conseiller.paris': { home: '/portefeuille', menu: ['/portefeuille', '/recherche', '/jeunes', '/jeunes/nouveau', '/allocations', '/entreprises', '/ateliers', '/pilotage', '/quota', '/structures', '/compte'], refused: '/incidents' },
  'directrice.paris': { home: '/direction', menu: ['/direction', '/recherche', '/jeunes/nouveau', '/allocations', '/allocations/lot', '/entreprises', '/ateliers', '/pilotage', '/alertes', '/administration/demandes', '/incidents', '/structures', '/compte'], refused: null },
  'pilote.idf': { home: '/pilotage', menu: ['/pilotage', '/structures', '/compte'], refused: '/portefeuille', noForm: '/jeunes/nouveau' },
  'dpo': { home: '/alertes', menu: ['/alertes', '/administration/demandes', '/incidents', '/structures', '/compte'], refused: '/portefeuille', noForm: '/recherche' },
  'admin': { home: '/administration/demandes', menu: ['/administration/demandes', '/incidents', '/structures', '/compte'], refused: '/portefeuille', noForm: '/jeunes/nouveau' },
};
const VIEWPORTS = [{ width: 1440, height: 900 }, { width: 390, height: 844 }];
const refusal = t => /^(Accès refusé|Demande refusée|Introuvable)/.test(t);

let browser;
let demo;
try {
  browser = await launch();
  for (const [theme, only] of THEMES) {
  demo = await startDemo(bin, scratch, `roles-${theme}`, 40, { PARCOURS_THEME: theme });
  // One login per role (a second-factor code is single-use), then both viewports.
  for (const [who, r] of Object.entries(ROLES)) {
    if (only && !only.includes(who)) continue;
    const context = await browser.newContext({ viewport: VIEWPORTS[0] });
    const page = await context.newPage();
    // axe-core (WCAG 2.1 AA) and, at 390 px, the page's width: on every page loaded.
    const problems = [];
    const inspected = inspect(page, problems);
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
        await inspected.settled();
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
    if (who === 'admin' && theme === 'etat') {
      // « Mon compte »: the name colleagues read beside her acts.
      await page.goto(demo.base + '/compte');
      await page.fill('#nom_affiche', 'Alice Martin');
      await page.click('form[action="/compte/nom"] button');
      check(await page.isVisible('text=vos collègues liront « Alice Martin »'), `${who} : nom affiché enregistré depuis « Mon compte »`);
    }
    await inspected.settled();
    check(problems.length === 0 && inspected.inspected > 0, `${who} (${theme}) : aucune violation axe-core ni défilement horizontal sur ${inspected.inspected} page(s) ${problems.join(' | ')}`);
    const themed = await page.evaluate(() => document.body.className);
    check(themed === `theme-${theme}`, `${who} : thème ${theme} (${themed})`);
    const dsfr = await page.request.get(demo.base + '/static/dsfr/dsfr.min.css');
    const marianne = await page.evaluate(async () => { await document.fonts.ready; return [...document.fonts].some(f => f.family.replace(/"/g, '') === 'Marianne' && f.status === 'loaded'); });
    if (theme === 'etat') {
      check(dsfr.status() === 200 && marianne, `${who} : le DSFR et la police Marianne servis par le binaire`);
      // Static design files may be kept by the browser (a day); pages never are.
      check(/max-age=86400/.test(dsfr.headers()['cache-control'] || ''), `${who} : le DSFR se garde en cache`);
      const home = await page.request.get(page.url());
      check((home.headers()['cache-control'] || '') === 'no-store', `${who} : les pages ne se gardent pas en cache`);
    }
    else check(dsfr.status() === 404 && !marianne, `${who} : thème neutre, ni DSFR ni Marianne`);
    await context.close();
  }
  demo.stop();
  demo = null;
  }
  console.log('roles journey passed');
} catch (e) {
  console.error(String(e));
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  if (demo) demo.stop();
}

// Shared helpers of the browser journeys: a demo instance served by the real binary, Debian's
// headless Chromium, checks that print as they pass, numbered screenshots (not committed).
import { chromium } from 'playwright-core';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export function check(cond, what) { if (!cond) throw new Error(`échec : ${what}`); console.log(`ok - ${what}`); }

/** Creates a demo instance in `scratch/name` and serves it on a random port. */
export async function startDemo(bin, scratch, name, jeunes, extraEnv = {}) {
  const dataDir = join(scratch, name);
  rmSync(dataDir, { recursive: true, force: true });
  // The State design system unless the journey asks for the neutral look (docs/DESIGN.md).
  const env = { ...process.env, PARCOURS_LOG: 'warn', PARCOURS_THEME: 'etat' };
  delete env.PARCOURS_DATABASE_URL;
  execFileSync(bin, ['demo', '--data-dir', dataDir, '--jeunes', String(jeunes), '--no-serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  // Below Linux's ephemeral range (32768+), which the tests' client sockets and free ports
  // use: a random port there could be taken by a connection of a test running beside this one.
  const port = 20000 + Math.floor(Math.random() * 12000);
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(bin, ['serve', '--data-dir', dataDir], { env: { ...env, ...extraEnv, PARCOURS_BIND: `127.0.0.1:${port}` }, stdio: 'ignore' });
  // Up to a minute: the tests beside this one may keep both cores busy.
  let up = false;
  for (let i = 0; i < 600 && !up; i++) {
    try { up = (await fetch(`${base}/healthz`)).ok; } catch { /* not yet */ }
    if (!up) await new Promise(r => setTimeout(r, 100));
  }
  if (!up) { server.kill(); throw new Error(`le serveur de démonstration n'a pas démarré sur ${base}`); }
  const code = login => execFileSync(bin, ['demo-code', '--data-dir', dataDir, '--login', login], { env }).toString().trim();
  return { base, dataDir, code, stop: () => server.kill() };
}

export async function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

const axeSource = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/**
 * Inspects every page `page` loads (issue 19, RGAA): axe-core's WCAG 2.1 A/AA rules must find
 * nothing, and at a phone's width (≤ 400 px) the page must not be wider than the viewport.
 * Each finding goes to `problems` (the journey fails on any). Runs on each `load`, one page
 * after the other; a page left before its inspection ended is counted as skipped, not passed.
 * Returns the counters, to print at the end.
 */
export function inspect(page, problems) {
  // axe-core inserts <style> elements while it runs, which the page's CSP rightly blocks: the
  // console errors it causes are axe's, not the application's (see `axeStyle`).
  const seen = { inspected: 0, skipped: 0, busyUntil: 0 };
  let chain = Promise.resolve();
  page.on('load', () => {
    chain = chain.then(async () => {
      seen.busyUntil = Infinity;
      try {
        const url = page.url();
        // Evaluated through the DevTools protocol: the page's CSP (script-src 'self') stays on.
        await page.evaluate(axeSource);
        const found = await page.evaluate(async () => {
          const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] });
          return {
            violations: r.violations.map(v => `${v.id} (${v.impact}) : ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`),
            width: document.documentElement.scrollWidth,
            viewport: window.innerWidth,
          };
        });
        const where = new URL(url).pathname;
        for (const v of found.violations) problems.push(`axe ${where} : ${v}`);
        if (found.viewport <= 400 && found.width > found.viewport) problems.push(`${where} : ${found.width} px de large pour ${found.viewport} px d'écran (défilement horizontal)`);
        seen.inspected++;
      } catch {
        seen.skipped++; // the page was left (navigation) while it was inspected
      }
      seen.busyUntil = Date.now() + 1000;
    });
  });
  seen.settled = () => chain;
  return seen;
}

/** An inline-style CSP report while axe-core runs (or just after): axe's own <style>. */
export function axeStyle(text, inspected) {
  return text.startsWith('Applying inline style violates') && Date.now() < inspected.busyUntil;
}

/** A page that records console and script errors, and a screenshot function for `journey`. */
export async function newPage(browser, journey) {
  const page = await browser.newPage();
  const problems = [];
  const inspected = inspect(page, problems);
  // Intended error statuses (401, 409, 422) also log "Failed to load resource": not a problem.
  page.on('console', m => {
    if (m.type() !== 'error' || m.text().startsWith('Failed to load resource')) return;
    if (axeStyle(m.text(), inspected)) return;
    problems.push(`${new URL(page.url()).pathname} : ${m.text()}`);
  });
  page.on('pageerror', e => problems.push(String(e)));
  const shots = join(here, 'screenshots', journey);
  mkdirSync(shots, { recursive: true });
  let step = 0;
  const shot = async name => page.screenshot({ path: join(shots, `${String(++step).padStart(2, '0')}-${name}.png`), fullPage: true });
  return { page, problems, shot, inspected };
}

/** Password then second factor (from `demo-code`); lands on the role's home, never a refusal. */
export async function login(page, demo, who) {
  await page.goto(`${demo.base}/connexion`);
  await page.fill('#identifiant', who);
  await page.fill('#mot_de_passe', 'demo-parcours-2026');
  await page.click('button[type=submit]');
  await page.waitForURL('**/connexion/code');
  await page.fill('#code', demo.code(who));
  await page.click('button[type=submit]');
  await page.waitForURL(u => !u.pathname.startsWith('/connexion'));
  const title = await page.title();
  if (title.startsWith('Accès refusé') || title.startsWith('Demande refusée')) throw new Error(`échec : ${who} arrive sur « ${title} » après sa connexion (${page.url()})`);
}

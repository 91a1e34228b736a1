// The README's screenshots (issue 19): each role's home, the allowance and payment batch pages,
// and a phone view, on a fresh demo with synthetic people only (no real person's data), in the
// State design system's look. Regenerate after a visible change:
//   cargo build --workspace && node tests/browser/screenshots.mjs target/debug/parcours /tmp/shots
// Writes docs/screenshots/*.png.
import { startDemo, launch, login } from './lib.mjs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [bin, scratch] = process.argv.slice(2);
if (!bin || !scratch) { console.error('usage: node screenshots.mjs <parcours> <dir>'); process.exit(2); }
const out = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'screenshots');
const demo = await startDemo(bin, scratch, 'captures', 200, { PARCOURS_THEME: 'etat' });
const browser = await launch();
const desk = { width: 1440, height: 900 };
try {
  const shoot = async (page, name) => {
    await page.screenshot({ path: join(out, `${name}.png`) });
    console.log(`docs/screenshots/${name}.png`);
  };
  for (const [who, name] of [['conseiller.paris', 'accueil-conseiller'], ['directrice.paris', 'accueil-directrice'], ['pilote.idf', 'accueil-pilote'], ['dpo', 'accueil-dpo'], ['admin', 'accueil-admin']]) {
    const page = await browser.newPage({ viewport: desk });
    await login(page, demo, who);
    await shoot(page, name);
    if (who === 'conseiller.paris') {
      await page.setViewportSize({ width: 390, height: 844 });
      await shoot(page, 'telephone-conseiller');
    }
    if (who === 'directrice.paris') {
      await page.goto(`${demo.base}/allocations`);
      await shoot(page, 'allocations-du-mois');
      await page.goto(demo.base + await page.getAttribute('table a', 'href'));
      await shoot(page, 'allocation');
      await page.goto(`${demo.base}/allocations/lot`);
      await shoot(page, 'lot-de-paiement');
    }
    await page.close();
  }
} finally {
  await browser.close();
  demo.stop();
}

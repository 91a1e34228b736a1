// Parcours — the little the pages need from a script (served from /static, CSP script-src 'self').
// Every page works without it. 1. A refused form's error summary takes the focus (RGAA 11.10),
// so a screen-reader user hears what to fix and can follow its links to each field.
// 2. In the neutral theme, the phone menu button opens and closes the menu (in the State
// theme, the DSFR's own script does it).
document.addEventListener('DOMContentLoaded', () => {
  const summary = document.getElementById('resume-erreurs');
  if (summary) summary.focus();
  if (!document.body.classList.contains('theme-neutre')) return;
  const toggle = document.getElementById('bouton-menu');
  const menu = document.getElementById('menu-modal');
  if (toggle && menu) {
    menu.classList.add('repliable');
    const set = open => {
      toggle.setAttribute('aria-expanded', String(open));
      menu.classList.toggle('ouvert', open);
    };
    toggle.addEventListener('click', () => set(toggle.getAttribute('aria-expanded') !== 'true'));
    menu.querySelector('.fermer')?.addEventListener('click', () => { set(false); toggle.focus(); });
  }
});

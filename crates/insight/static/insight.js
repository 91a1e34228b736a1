// Pilotage — served from /static (CSP script-src 'self'); every page works without it.
// An export being prepared: its progress is asked every two seconds and shown in the page (the
// status line is a live region); once ready or failed, the page is loaded again to show the
// download link. Without a script, the « Actualiser » link does the same by hand.
document.addEventListener('DOMContentLoaded', () => {
  const state = document.getElementById('etat');
  const bar = document.getElementById('avancement');
  const api = state && state.dataset.suivi;
  if (!api) return;
  const tick = async () => {
    try {
      const r = await fetch(api, { credentials: 'same-origin' });
      const p = await r.json();
      if (p.etat !== 'en_cours') { window.location.reload(); return; }
      state.textContent = `Préparation en cours : ${p.fait} tableau(x) sur ${p.total}.`;
      if (bar) { bar.max = p.total; bar.value = p.fait; }
    } catch { /* the next tick tries again */ }
    setTimeout(tick, 2000);
  };
  setTimeout(tick, 2000);
});

// Passkeys (WebAuthn): registration on "Mon compte", login on the code page. No inline script
// (the CSP forbids it); the ceremony's state stays on the server.
'use strict';
(function () {
  const dec = s => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), c => c.charCodeAt(0));
  const enc = b => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const csrf = () => (document.querySelector('input[name=csrf]') || {}).value || '';
  const say = (el, text) => { if (el) { el.textContent = text; el.hidden = false; } };
  async function post(url, body) {
    const r = await fetch(url, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify(Object.assign({ csrf: csrf() }, body)) });
    const j = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(j.message || 'La clé d\'accès n\'a pas pu être utilisée.');
    return j;
  }
  const add = document.getElementById('cle-ajouter');
  if (add) {
    add.addEventListener('click', async () => {
      const out = document.getElementById('cle-message');
      try {
        const o = (await post('/compte/cles/debut', {})).publicKey;
        o.challenge = dec(o.challenge);
        o.user.id = dec(o.user.id);
        (o.excludeCredentials || []).forEach(c => { c.id = dec(c.id); });
        const c = await navigator.credentials.create({ publicKey: o });
        await post('/compte/cles/fin', {
          nom: document.getElementById('cle-nom').value,
          cle: { id: c.id, rawId: enc(c.rawId), type: c.type, extensions: {},
            response: { attestationObject: enc(c.response.attestationObject), clientDataJSON: enc(c.response.clientDataJSON) } },
        });
        window.location.assign('/compte?cle=1');
      } catch (e) { say(out, e.message); }
    });
  }
  const use = document.getElementById('cle-connexion');
  if (use) {
    use.hidden = false;
    use.addEventListener('click', async () => {
      const out = document.getElementById('cle-message');
      try {
        const o = (await post('/connexion/cle/debut', {})).publicKey;
        o.challenge = dec(o.challenge);
        (o.allowCredentials || []).forEach(c => { c.id = dec(c.id); });
        const c = await navigator.credentials.get({ publicKey: o });
        const r = c.response;
        const done = await post('/connexion/cle/fin', {
          cle: { id: c.id, rawId: enc(c.rawId), type: c.type, extensions: {},
            response: { authenticatorData: enc(r.authenticatorData), clientDataJSON: enc(r.clientDataJSON), signature: enc(r.signature), userHandle: r.userHandle ? enc(r.userHandle) : null } },
        });
        window.location.assign(done.redirection);
      } catch (e) { say(out, e.message); }
    });
  }
})();

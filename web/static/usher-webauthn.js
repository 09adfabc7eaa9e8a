/*
 * usher-webauthn.js: security keys and passkeys (WebAuthn) over Usher's
 * JSON API. One plain script, no dependencies, no text of its own:
 *   <script src="/user/static/usher-webauthn.js"></script>
 *
 *   usherWebAuthn.supported()              → true when the browser can
 *   usherWebAuthn.register(name, password) → the new method {id,type,name,...}
 *   usherWebAuthn.verify(mfaToken)         → {type:'fido', code, state}, the
 *       second factor for POST {prefix}/api/mfa/login (or /api/login);
 *       without mfaToken, the pending log-in of the pages' cookie
 *   usherWebAuthn.passkeyLogin(remember)   → the log-in answer {user, session}
 *   usherWebAuthn.create()                 → {state, credential}: a new key,
 *       for a form that posts it (register's first half)
 *   usherWebAuthn.passkey()                → {state, credential}: a passkey
 *       assertion, for a form that posts it (passkeyLogin's first half)
 *
 * Each returns a Promise. Failures reject with an Error whose code is the
 * server's error code (its message is the server's, in the user's
 * language), or the browser's DOMException (NotAllowedError when the user
 * cancels).
 *
 * Server-rendered forms need no script of their own: a button
 *   <button type="button" data-usher-webauthn="register|verify|passkey" hidden>
 * inside a form with hidden inputs "state" and "credential" is shown when
 * the browser supports WebAuthn; a click runs the ceremony, fills those
 * inputs and submits the form. An input with data-usher-copy="ID" first
 * takes the state of the checkbox #ID ("1" or ""). On failure the form's
 * element [data-usher-webauthn-error] is shown (with the server's message
 * when the server refused). Elements marked data-usher-webauthn-supported
 * (and hidden) are shown too. usherWebAuthn.wire(root) wires content
 * added later.
 */
(function () {
  'use strict';

  if (window.usherWebAuthn) {
    return; // loaded twice: keep the first
  }

  var SCRIPT = document.currentScript;

  // derivePrefix returns the path the script was served under, minus
  // "/static/usher-webauthn.js": "/user" for /user/static/usher-webauthn.js.
  function derivePrefix() {
    try {
      if (SCRIPT && SCRIPT.getAttribute('data-prefix')) {
        return SCRIPT.getAttribute('data-prefix');
      }
      if (SCRIPT && SCRIPT.src) {
        var path = new URL(SCRIPT.src, location.href).pathname;
        var suffix = '/static/usher-webauthn.js';
        if (path.slice(-suffix.length) === suffix) {
          return path.slice(0, -suffix.length);
        }
      }
    } catch (e) { /* fall through */ }
    return '/user';
  }

  var PREFIX = derivePrefix();

  // ------------------------------------------------------------ base64url

  function toBase64url(buf) {
    var bytes = new Uint8Array(buf);
    var s = '';
    for (var i = 0; i < bytes.length; i++) {
      s += String.fromCharCode(bytes[i]);
    }
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function fromBase64url(str) {
    var s = String(str).replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) {
      s += '=';
    }
    var bin = atob(s);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      bytes[i] = bin.charCodeAt(i);
    }
    return bytes.buffer;
  }

  // ------------------------------------------------------------------ api

  function fail(code, message, status, body) {
    var err = new Error(message || code);
    err.code = code;
    err.status = status || 0;
    err.body = body || null;
    return err;
  }

  // api posts body as JSON to {prefix}/api{path} and resolves with the
  // answer, or rejects with the server's error.
  function api(path, body) {
    return fetch(PREFIX + '/api' + path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(body || {})
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) {
          var e = (data && data.error) || {};
          throw fail(e.code || 'http_' + res.status, e.message, res.status, data);
        }
        return data;
      });
    });
  }

  // ------------------------------------------- options and credentials

  function descriptors(list) {
    return (list || []).map(function (d) {
      var out = { type: d.type, id: fromBase64url(d.id) };
      if (d.transports) {
        out.transports = d.transports;
      }
      return out;
    });
  }

  // creationOptions turns the server's options (base64url strings) into
  // what navigator.credentials.create wants (ArrayBuffers).
  function creationOptions(o) {
    var pk = Object.assign({}, o);
    pk.challenge = fromBase64url(o.challenge);
    pk.user = Object.assign({}, o.user, { id: fromBase64url(o.user.id) });
    if (o.excludeCredentials) {
      pk.excludeCredentials = descriptors(o.excludeCredentials);
    }
    return pk;
  }

  function requestOptions(o) {
    var pk = Object.assign({}, o);
    pk.challenge = fromBase64url(o.challenge);
    if (o.allowCredentials) {
      pk.allowCredentials = descriptors(o.allowCredentials);
    }
    return pk;
  }

  // credentialJSON is the standard JSON form of a PublicKeyCredential
  // (what PublicKeyCredential.toJSON gives), which the server parses.
  function credentialJSON(cred) {
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      response: { clientDataJSON: toBase64url(r.clientDataJSON) },
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    };
    if (cred.authenticatorAttachment) {
      out.authenticatorAttachment = cred.authenticatorAttachment;
    }
    if (r.attestationObject) { // create()
      out.response.attestationObject = toBase64url(r.attestationObject);
      if (r.getTransports) {
        out.response.transports = r.getTransports();
      }
      if (r.getAuthenticatorData) {
        out.response.authenticatorData = toBase64url(r.getAuthenticatorData());
      }
      if (r.getPublicKeyAlgorithm) {
        out.response.publicKeyAlgorithm = r.getPublicKeyAlgorithm();
      }
    } else { // get()
      out.response.authenticatorData = toBase64url(r.authenticatorData);
      out.response.signature = toBase64url(r.signature);
      if (r.userHandle && r.userHandle.byteLength) {
        out.response.userHandle = toBase64url(r.userHandle);
      }
    }
    return out;
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials && window.isSecureContext);
  }

  function needSupport() {
    return supported() ? Promise.resolve() : Promise.reject(fail('webauthn_unsupported'));
  }

  // ------------------------------------------------------------ ceremonies

  // create makes a new key for the logged-in user and resolves with what
  // finishing needs: {state, credential} (the credential as JSON text).
  function create() {
    return needSupport().then(function () {
      return api('/mfa/webauthn/register/begin');
    }).then(function (begin) {
      return navigator.credentials.create({ publicKey: creationOptions(begin.options) }).then(function (cred) {
        return { state: begin.state, credential: JSON.stringify(credentialJSON(cred)) };
      });
    });
  }

  // register adds a security key or passkey to the logged-in user: name is
  // its label, password the user's password. Resolves with the new method.
  function register(name, password) {
    return create().then(function (c) {
      return api('/mfa/webauthn/register/finish', {
        name: name || '', password: password || '', state: c.state, credential: JSON.parse(c.credential)
      });
    }).then(function (res) {
      return res.mfa_method;
    });
  }

  // verify asks for a security key as the second factor of a pending
  // log-in and resolves with the factor to send as "mfa".
  function verify(mfaToken) {
    return needSupport().then(function () {
      return api('/mfa/webauthn/login/begin', mfaToken ? { mfa_token: mfaToken } : {});
    }).then(function (begin) {
      return navigator.credentials.get({ publicKey: requestOptions(begin.options) }).then(function (cred) {
        return { type: 'fido', code: JSON.stringify(credentialJSON(cred)), state: begin.state };
      });
    });
  }

  // passkey asks for a passkey of this site and resolves with
  // {state, credential} for POST {prefix}/api/passkey/login/finish.
  function passkey() {
    return needSupport().then(function () {
      return api('/passkey/login/begin');
    }).then(function (begin) {
      return navigator.credentials.get({ publicKey: requestOptions(begin.options) }).then(function (cred) {
        return { state: begin.state, credential: JSON.stringify(credentialJSON(cred)) };
      });
    });
  }

  // passkeyLogin logs in with a passkey, without password.
  function passkeyLogin(remember) {
    return passkey().then(function (p) {
      return api('/passkey/login/finish', {
        state: p.state, credential: JSON.parse(p.credential), remember: !!remember
      });
    });
  }

  // ------------------------------------------------- server-rendered forms

  var ceremonies = {
    register: create,
    passkey: passkey,
    verify: function () {
      return verify().then(function (f) { return { state: f.state, credential: f.code }; });
    }
  };

  // wire shows the WebAuthn buttons under root (the document) and makes
  // them run their ceremony; each button is wired once.
  function wire(root) {
    if (!supported()) {
      return;
    }
    Array.prototype.forEach.call((root || document).querySelectorAll('[data-usher-webauthn-supported]'), function (el) {
      el.hidden = false;
    });
    var buttons = (root || document).querySelectorAll('[data-usher-webauthn]');
    Array.prototype.forEach.call(buttons, function (button) {
      var run = ceremonies[button.getAttribute('data-usher-webauthn')];
      var form = button.form || button.closest('form');
      if (!run || !form || button.__usherWired) {
        return;
      }
      button.__usherWired = true;
      button.hidden = false;
      button.addEventListener('click', function (ev) {
        ev.preventDefault();
        var problem = form.querySelector('[data-usher-webauthn-error]');
        if (problem) {
          problem.hidden = true;
        }
        button.disabled = true;
        run().then(function (r) {
          form.elements.state.value = r.state;
          form.elements.credential.value = r.credential;
          Array.prototype.forEach.call(form.querySelectorAll('[data-usher-copy]'), function (input) {
            var box = document.getElementById(input.getAttribute('data-usher-copy'));
            input.value = box && box.checked ? '1' : '';
          });
          form.submit();
        }, function (e) {
          button.disabled = false;
          if (problem) {
            if (e && e.status && e.message) {
              problem.textContent = e.message;
            }
            problem.hidden = false;
          }
        });
      });
    });
  }

  window.usherWebAuthn = {
    prefix: PREFIX,
    supported: supported,
    register: register,
    verify: verify,
    passkeyLogin: passkeyLogin,
    create: create,
    passkey: passkey,
    wire: wire,
    // The conversions, for callers that drive the API themselves.
    toBase64url: toBase64url,
    fromBase64url: fromBase64url,
    credentialJSON: credentialJSON
  };
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { wire(); });
  } else {
    wire();
  }
})();

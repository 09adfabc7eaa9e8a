/*
 * usher-webauthn.js: security keys and passkeys (WebAuthn) over Usher's
 * JSON API. One plain script, no dependencies:
 *   <script src="/user/static/usher-webauthn.js"></script>
 *
 *   usherWebAuthn.supported()             → true when the browser can
 *   usherWebAuthn.register(name, password) → the new method {id,type,name,...}
 *   usherWebAuthn.verify(mfaToken)        → {type:'fido', code, state}, the
 *       second factor for POST {prefix}/api/mfa/login (or /api/login);
 *       without mfaToken, the pending log-in of the pages' cookie
 *   usherWebAuthn.passkeyLogin(remember)  → the log-in answer {user, session}
 *
 * Each returns a Promise. Failures reject with an Error whose code is the
 * server's error code (its message is the server's, in the user's
 * language), or the browser's DOMException (NotAllowedError when the user
 * cancels). This file shows no text itself.
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

  // register adds a security key or passkey to the logged-in user: name is
  // its label, password the user's password. Resolves with the new method.
  function register(name, password) {
    return needSupport().then(function () {
      return api('/mfa/webauthn/register/begin');
    }).then(function (begin) {
      return navigator.credentials.create({ publicKey: creationOptions(begin.options) }).then(function (cred) {
        return api('/mfa/webauthn/register/finish', {
          name: name || '', password: password || '', state: begin.state, credential: credentialJSON(cred)
        });
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

  // passkeyLogin logs in with a passkey, without password.
  function passkeyLogin(remember) {
    return needSupport().then(function () {
      return api('/passkey/login/begin');
    }).then(function (begin) {
      return navigator.credentials.get({ publicKey: requestOptions(begin.options) }).then(function (cred) {
        return api('/passkey/login/finish', {
          state: begin.state, credential: credentialJSON(cred), remember: !!remember
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
    // The conversions, for callers that drive the API themselves.
    toBase64url: toBase64url,
    fromBase64url: fromBase64url,
    credentialJSON: credentialJSON
  };
})();

/*
 * usher.js: Usher's client-side Users API (after Anvil's anvil.users) as
 * promise-returning modal dialogs over the JSON API under {prefix}/api/.
 *
 * One plain script, no dependencies, no build step: include it with
 *   <script src="/user/static/usher.js"></script>
 * (wherever the server's prefix puts it: /auth/static/usher.js, ...)
 * and call window.usher.loginWithForm() and friends. See docs/usher-js.md.
 *
 * Rules this file keeps (tests check some of them):
 *  - every text a user reads is written literally as a call of t with a
 *    double-quoted English literal, so that the catalogue extractor finds it;
 *    placeholders are only %s;
 *  - no HTML strings and no inline styles: elements are built with
 *    createElement/textContent, looks come from usher-dialogs.css (the pages
 *    use a Content-Security-Policy without 'unsafe-inline');
 *  - the session lives in HttpOnly cookies: this script never sees a token.
 */
(function () {
  'use strict';

  if (window.usher && window.usher.__usher) {
    return; // loaded twice: keep the first
  }

  // ---------------------------------------------------------------- prefix

  var SCRIPT = document.currentScript;

  // derivePrefix returns the server's prefix (where its pages and API
  // live): the script tag's data-prefix if it has one (for a copy of this
  // file served from elsewhere; "/" or "" for the root), else the path the
  // script was served under, minus "/static/usher.js": "/user" for
  // /user/static/usher.js, "/auth" for /auth/static/usher.js. "/user", the
  // server's default, only when neither says.
  function derivePrefix() {
    try {
      if (SCRIPT && SCRIPT.hasAttribute('data-prefix')) {
        return SCRIPT.getAttribute('data-prefix').replace(/\/+$/, '');
      }
      if (SCRIPT && SCRIPT.src) {
        var path = new URL(SCRIPT.src, location.href).pathname;
        var suffix = '/static/usher.js';
        if (path.slice(-suffix.length) === suffix) {
          return path.slice(0, -suffix.length);
        }
      }
    } catch (e) { /* fall through */ }
    return '/user';
  }

  var PREFIX = derivePrefix();

  // ------------------------------------------------------- texts and config

  // config is the answer of GET {prefix}/api/i18n, or these defaults.
  var config = {
    lang: document.documentElement.getAttribute('lang') || 'en',
    dir: 'ltr',
    messages: {},
    login_with: 'email',
    signup: true,
    username: false,
    profile_fields: [],
    login_link: true,
    mfa_reset: false,
    remember_me: true,
    webauthn: false,
    passkeys: false,
    require_mfa: false,
    providers: [],
    link_paths: {}
  };

  // t returns the translation of the English text s, with each %s replaced
  // in order by the further arguments. Always call it with a literal.
  function t(s) {
    var m = config.messages;
    var text = (m && typeof m[s] === 'string' && m[s] !== '') ? m[s] : s;
    var args = arguments;
    var i = 1;
    return text.replace(/%s/g, function () {
      return i < args.length ? String(args[i++]) : '';
    });
  }

  function applyConfig(d) {
    if (!d || typeof d !== 'object') {
      return;
    }
    if (typeof d.lang === 'string' && d.lang) { config.lang = d.lang; }
    if (d.dir === 'rtl' || d.dir === 'ltr') { config.dir = d.dir; }
    if (d.messages && typeof d.messages === 'object') { config.messages = d.messages; }
    if (d.login_with === 'email' || d.login_with === 'username' || d.login_with === 'either') {
      config.login_with = d.login_with;
    }
    ['signup', 'username', 'login_link', 'mfa_reset', 'remember_me', 'webauthn', 'passkeys', 'require_mfa'].forEach(function (k) {
      if (typeof d[k] === 'boolean') { config[k] = d[k]; }
    });
    if (d.link_paths && typeof d.link_paths === 'object') {
      config.link_paths = d.link_paths;
    }
    if (Array.isArray(d.providers)) {
      config.providers = d.providers.filter(function (p) {
        return p && typeof p.name === 'string' && p.name && typeof p.label === 'string';
      });
    }
    if (Array.isArray(d.profile_fields)) {
      config.profile_fields = d.profile_fields.filter(function (f) {
        return f && typeof f.name === 'string' && f.name;
      });
    }
    if (config.login_with !== 'email') {
      config.username = true;
    }
  }

  var configPromise = null;

  // loadConfig fetches the texts and settings once. A server without the
  // route leaves the English defaults; a network failure is retried next time.
  function loadConfig() {
    if (!configPromise) {
      configPromise = fetch(PREFIX + '/api/i18n', {
        method: 'GET',
        credentials: 'same-origin',
        headers: { 'Accept': 'application/json', 'Content-Type': 'application/json' }
      }).then(function (res) {
        return res.ok ? res.json().catch(function () { return null; }) : null;
      }).then(applyConfig, function () {
        configPromise = null;
      });
    }
    return configPromise;
  }

  var cssPromise = null;

  // loadCSS adds the dialogs' stylesheet once and waits (a little) for it,
  // so that the first dialog does not flash unstyled.
  function loadCSS() {
    if (!cssPromise) {
      cssPromise = new Promise(function (resolve) {
        var href = PREFIX + '/static/usher-dialogs.css';
        var links = document.querySelectorAll('link[rel="stylesheet"]');
        for (var i = 0; i < links.length; i++) {
          if (links[i].getAttribute('href') === href || links[i].hasAttribute('data-usher')) {
            resolve();
            return;
          }
        }
        var link = document.createElement('link');
        link.rel = 'stylesheet';
        link.href = href;
        link.setAttribute('data-usher', '');
        link.addEventListener('load', function () { resolve(); });
        link.addEventListener('error', function () { resolve(); });
        setTimeout(resolve, 2000);
        (document.head || document.documentElement).appendChild(link);
      });
    }
    return cssPromise;
  }

  // webauthnSupported says whether the browser can use security keys and
  // passkeys here (as usherWebAuthn.supported does, without loading it).
  function webauthnSupported() {
    return !!(window.PublicKeyCredential && navigator.credentials && window.isSecureContext);
  }

  var webauthnPromise = null;

  // loadWebAuthn adds {prefix}/static/usher-webauthn.js once, which does
  // the WebAuthn ceremonies, and resolves with its window.usherWebAuthn.
  // A failed load is tried again next time.
  function loadWebAuthn() {
    if (window.usherWebAuthn) {
      return Promise.resolve(window.usherWebAuthn);
    }
    if (!webauthnPromise) {
      webauthnPromise = new Promise(function (resolve, reject) {
        var s = document.createElement('script');
        s.src = PREFIX + '/static/usher-webauthn.js';
        s.async = true;
        s.setAttribute('data-prefix', PREFIX);
        s.setAttribute('data-usher', '');
        s.addEventListener('load', function () {
          if (window.usherWebAuthn) {
            resolve(window.usherWebAuthn);
          } else {
            reject(new Error('usher-webauthn.js did not define usherWebAuthn'));
          }
        });
        s.addEventListener('error', function () {
          if (s.parentNode) {
            s.parentNode.removeChild(s);
          }
          reject(new Error('usher-webauthn.js did not load'));
        });
        (document.head || document.documentElement).appendChild(s);
      }).catch(function (e) {
        webauthnPromise = null;
        throw e;
      });
    }
    return webauthnPromise;
  }

  // preloadWebAuthn starts loading usher-webauthn.js when a view offers a
  // key, so that a click goes straight to the ceremony.
  function preloadWebAuthn() {
    loadWebAuthn().catch(function () { /* tried again on the click */ });
  }

  function domReady() {
    if (document.readyState !== 'loading') {
      return Promise.resolve();
    }
    return new Promise(function (resolve) {
      document.addEventListener('DOMContentLoaded', function () { resolve(); }, { once: true });
    });
  }

  // prepare runs before the first dialog.
  async function prepare() {
    await domReady();
    await Promise.all([loadConfig(), loadCSS()]);
  }

  // ------------------------------------------------------------------- API

  // UsherError is a failed request: code, message (already translated by
  // the server), fields ({name: message}), status and the whole answer.
  function UsherError(status, body) {
    var e = (body && body.error) || {};
    this.name = 'UsherError';
    this.status = status;
    this.code = e.code || (status ? 'http_' + status : 'network_error');
    this.message = e.message || (status
      ? t("Something went wrong. Please try again.")
      : t("Could not reach the server. Check your connection and try again."));
    this.fields = e.fields || {};
    this.data = body || {};
  }
  UsherError.prototype = Object.create(Error.prototype);
  UsherError.prototype.constructor = UsherError;

  // keyError turns a failed WebAuthn step into an UsherError to show: what
  // the server refused for a reason of its own (rate limited, account
  // locked, ...) or with a reason it names (the key or passkey was not
  // accepted: error.reason) keeps the server's message; a key or passkey
  // that was not used (the person cancelled, the browser refused it, the
  // ceremony's state expired) says fallback.
  var KEY_REFUSALS = ['authentication_failed', 'mfa_required', 'invalid_token', 'validation_failed', 'not_found', 'bad_request'];
  function keyError(e, fallback) {
    if (e instanceof UsherError) {
      if (KEY_REFUSALS.indexOf(e.code) < 0 || (e.data.error && e.data.error.reason)) {
        return e;
      }
    } else if (e && e.status && e.code && KEY_REFUSALS.indexOf(e.code) < 0) {
      // usher-webauthn.js's own request, refused by the server.
      return new UsherError(e.status, (e.body && e.body.error) ? e.body : { error: { code: e.code, message: e.message } });
    }
    return new UsherError(0, { error: { code: 'webauthn_failed', message: fallback } });
  }

  // ceremony loads usher-webauthn.js and runs step(usherWebAuthn), the
  // browser's part of a WebAuthn ceremony; a failure becomes keyError's.
  async function ceremony(step, fallback) {
    try {
      return await step(await loadWebAuthn());
    } catch (e) {
      throw keyError(e, fallback);
    }
  }

  // api sends a JSON request to {prefix}/api{path} and resolves with the
  // answer's JSON, or rejects with an UsherError.
  async function api(method, path, body) {
    var init = {
      method: method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'Accept': 'application/json', 'Content-Type': 'application/json' }
    };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
    } else if (method === 'POST') {
      init.body = '{}';
    }
    var res;
    try {
      res = await fetch(PREFIX + '/api' + path, init);
    } catch (e) {
      throw new UsherError(0, null);
    }
    var data = null;
    try {
      data = await res.json();
    } catch (e) { /* not JSON */ }
    if (!res.ok) {
      throw new UsherError(res.status, data);
    }
    return data || {};
  }

  // me is the logged-in user, or null; a session that must first set a new
  // password rejects with password_reset_requested.
  async function me() {
    try {
      var d = await api('GET', '/me');
      return d.user || null;
    } catch (e) {
      if (e.code === 'authentication_failed' || e.status === 401) {
        return null;
      }
      throw e;
    }
  }

  // --------------------------------------------------------------- the DOM

  // h builds an element: attrs are attributes (true → present, false/null
  // → absent; "class"; "on<event>" → listener), children are nodes or
  // strings (as text).
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) {
          return;
        }
        if (k === 'class') {
          el.className = v;
        } else if (k.slice(0, 2) === 'on' && typeof v === 'function') {
          el.addEventListener(k.slice(2), v);
        } else {
          el.setAttribute(k, v === true ? '' : String(v));
        }
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      add(el, arguments[i]);
    }
    return el;
  }

  function add(el, c) {
    if (c === null || c === undefined || c === false) {
      return;
    }
    if (Array.isArray(c)) {
      c.forEach(function (x) { add(el, x); });
    } else if (typeof c === 'string' || typeof c === 'number') {
      el.appendChild(document.createTextNode(String(c)));
    } else {
      el.appendChild(c);
    }
  }

  function clear(el) {
    while (el.firstChild) {
      el.removeChild(el.firstChild);
    }
  }

  function fmtDate(s) {
    if (!s) {
      return '';
    }
    var d = new Date(s);
    if (isNaN(d.getTime())) {
      return '';
    }
    try {
      return d.toLocaleString(config.lang, { dateStyle: 'medium', timeStyle: 'short' });
    } catch (e) {
      return d.toLocaleString();
    }
  }

  // device names a session's browser and system from its User-Agent.
  function device(ua) {
    if (!ua) {
      return t("Unknown device");
    }
    var b = /Edg\//.test(ua) ? 'Edge' : /OPR\//.test(ua) ? 'Opera' : /Firefox\//.test(ua) ? 'Firefox'
      : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : '';
    var o = /iPhone|iPad|iPod/.test(ua) ? 'iOS' : /Android/.test(ua) ? 'Android' : /Windows/.test(ua) ? 'Windows'
      : /CrOS/.test(ua) ? 'ChromeOS' : /Mac OS X|Macintosh/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : '';
    if (b && o) {
      return t("%s on %s", b, o);
    }
    return b || o || ua.slice(0, 60);
  }

  // --------------------------------------------------------------- dialogs

  // CANCEL is what a view resolves with when the user cancels it.
  var CANCEL = { cancelled: true };

  // Modal is the one <dialog> of a flow. Its views replace each other's
  // content; it opens with the first view and goes with close().
  function Modal() {
    var self = this;
    this.closed = false;
    this.cancelHandler = null;
    var d = this.el = h('dialog', {
      class: 'usher-dialog',
      lang: config.lang,
      dir: config.dir,
      'aria-labelledby': 'usher-title',
      'aria-describedby': 'usher-intro'
    });
    // Escape: cancel the view when it may be cancelled, else nothing.
    d.addEventListener('cancel', function (e) {
      e.preventDefault();
      if (self.cancelHandler) {
        self.cancelHandler();
      }
    });
    // A browser may close a modal dialog despite preventDefault (repeated
    // Escape): treat it as a cancel, or open it again.
    d.addEventListener('close', function () {
      if (self.closed) {
        return;
      }
      if (self.cancelHandler) {
        self.cancelHandler();
      }
      setTimeout(function () { self.show(); }, 0);
    });
  }

  Modal.prototype.show = function () {
    if (this.closed) {
      return;
    }
    if (!this.el.isConnected) {
      document.body.appendChild(this.el);
    }
    if (!this.el.open) {
      if (typeof this.el.showModal === 'function') {
        this.el.showModal();
      } else {
        this.el.setAttribute('open', ''); // very old browsers: not modal
      }
    }
  };

  Modal.prototype.close = function () {
    if (this.closed) {
      return;
    }
    this.closed = true;
    this.cancelHandler = null;
    if (this.el.open && typeof this.el.close === 'function') {
      this.el.close();
    }
    if (this.el.parentNode) {
      this.el.parentNode.removeChild(this.el);
    }
  };

  // view shows spec (name, title, cancellable, build(ctx) → nodes) and
  // resolves with what the view passes to ctx.done, or CANCEL.
  Modal.prototype.view = function (spec) {
    var self = this;
    return new Promise(function (resolve) {
      var finished = false;
      var ctx = {
        modal: self,
        done: function (v) {
          if (finished) {
            return;
          }
          finished = true;
          if (self.cancelHandler === ctx.cancel) {
            self.cancelHandler = null;
          }
          resolve(v);
        }
      };
      ctx.cancel = function () { ctx.done(CANCEL); };
      var d = self.el;
      clear(d);
      d.className = 'usher-dialog usher-view-' + spec.name;
      d.setAttribute('data-usher-view', spec.name);
      d.setAttribute('lang', config.lang);
      d.setAttribute('dir', config.dir);
      d.appendChild(h('h2', { class: 'usher-title', id: 'usher-title' }, spec.title));
      add(d, spec.build(ctx));
      self.cancelHandler = spec.cancellable ? ctx.cancel : null;
      self.show();
      var first = d.querySelector('[aria-invalid="true"]') ||
        d.querySelector('input:not([type="hidden"]):not([disabled]), select, textarea') ||
        d.querySelector('.usher-primary') || d.querySelector('button');
      if (first) {
        first.focus();
      }
    });
  };

  // intro builds the view's explanation paragraphs.
  function intro(texts) {
    texts = (Array.isArray(texts) ? texts : [texts]).filter(Boolean);
    if (!texts.length) {
      return null;
    }
    return h('div', { class: 'usher-intro', id: 'usher-intro' }, texts.map(function (x) {
      return typeof x === 'string' ? h('p', null, x) : x;
    }));
  }

  // field builds one labelled input: spec {name, label, type, value,
  // checked, autocomplete, inputmode, required, maxlength, hint, after}.
  function field(f) {
    var id = 'usher-' + f.name;
    var errId = id + '-error';
    var check = f.type === 'checkbox';
    var wrap = h('div', { class: 'usher-field usher-field-' + f.name + (check ? ' usher-check' : '') });
    var describedBy = [];
    var input;
    var text = f.type !== 'password' && f.type !== 'email' && !check;
    if (check) {
      input = h('input', { type: 'checkbox', id: id, name: f.name, checked: !!f.checked, value: 'true' });
      wrap.appendChild(input);
      wrap.appendChild(h('label', { for: id }, f.label));
    } else {
      input = h('input', {
        type: f.type || 'text',
        id: id,
        name: f.name,
        class: 'usher-input',
        value: f.value || null,
        autocomplete: f.autocomplete || null,
        inputmode: f.inputmode || null,
        required: !!f.required,
        'aria-required': f.required ? 'true' : null,
        maxlength: f.maxlength || null,
        autocapitalize: (f.type === 'email' || f.type === 'password' || f.noCaps) ? 'none' : null,
        spellcheck: (text && !f.noCaps) ? null : 'false',
        dir: f.ltr ? 'ltr' : null
      });
      wrap.appendChild(h('label', { for: id }, f.label));
      wrap.appendChild(input);
    }
    if (f.hint) {
      var hintId = id + '-hint';
      wrap.appendChild(h('p', { class: 'usher-hint', id: hintId }, f.hint));
      describedBy.push(hintId);
    }
    var err = h('div', { class: 'usher-field-error', id: errId, role: 'alert', hidden: true });
    wrap.appendChild(err);
    describedBy.push(errId);
    input.setAttribute('aria-describedby', describedBy.join(' '));
    if (f.after) {
      add(wrap, f.after);
    }
    return { spec: f, wrap: wrap, input: input, err: err };
  }

  function primaryButton(label, cls) {
    return h('button', { type: 'submit', class: 'usher-button usher-primary' + (cls ? ' ' + cls : '') }, label);
  }

  function cancelButton(label, onclick) {
    return h('button', { type: 'button', class: 'usher-button usher-cancel', onclick: onclick }, label);
  }

  function linkButton(label, cls, onclick) {
    return h('button', { type: 'button', class: 'usher-link ' + cls, onclick: onclick }, label);
  }

  // formView shows a form. o: name, title, intro, notice, before(ctx),
  // fields, after(ctx), submit (and submitClass), cancel (label; none →
  // not cancellable),
  // match ([a, b]: fields that must be equal), aliases ({server field:
  // form field}), onSubmit(values, ctx) (may call ctx.done; a thrown
  // UsherError is shown). Resolves with ctx.done's value or CANCEL.
  function formView(m, o) {
    return m.view({
      name: o.name,
      title: o.title,
      cancellable: !!(o.cancel || o.escape),
      build: function (ctx) {
        var form = h('form', { class: 'usher-form', novalidate: true, 'aria-labelledby': 'usher-title' });
        var notice = h('p', { class: 'usher-notice', role: 'status', hidden: !o.notice }, o.notice || '');
        var general = h('div', { class: 'usher-error', id: 'usher-error', role: 'alert', hidden: true });
        var fields = (o.fields || []).filter(Boolean).map(field);
        var byName = {};
        fields.forEach(function (f) { byName[f.spec.name] = f; });
        var aliases = o.aliases || {};
        var busy = false;

        ctx.form = form;
        ctx.input = function (name) { return byName[name] ? byName[name].input : null; };
        ctx.notice = function (text) {
          notice.textContent = text || '';
          notice.hidden = !text;
        };
        ctx.clearErrors = function () {
          clear(general);
          general.hidden = true;
          fields.forEach(function (f) {
            f.err.textContent = '';
            f.err.hidden = true;
            f.input.removeAttribute('aria-invalid');
          });
        };
        // showError shows an UsherError (or {message, fields}); extra is
        // put under the message (a "Resend" button).
        ctx.showError = function (e, extra) {
          ctx.clearErrors();
          var shown = [];
          var leftover = [];
          var firstBad = null;
          var fe = (e && e.fields) || {};
          Object.keys(fe).forEach(function (name) {
            var f = byName[name] || byName[aliases[name]];
            if (f && !f.err.textContent) {
              f.err.textContent = fe[name];
              f.err.hidden = false;
              f.input.setAttribute('aria-invalid', 'true');
              shown.push(fe[name]);
              if (!firstBad) { firstBad = f.input; }
            } else {
              leftover.push(fe[name]);
            }
          });
          var msg = e && e.message;
          if (msg && shown.indexOf(msg) < 0) {
            general.appendChild(h('p', null, msg));
          }
          leftover.forEach(function (x) { general.appendChild(h('p', null, x)); });
          if (extra) {
            general.appendChild(h('div', { class: 'usher-error-actions' }, extra));
          }
          general.hidden = !general.firstChild;
          if (firstBad) {
            firstBad.focus();
          } else if (!m.el.contains(document.activeElement) || document.activeElement === m.el) {
            var f0 = form.querySelector('input:not([type="hidden"])') || form.querySelector('button');
            if (f0) { f0.focus(); }
          }
        };
        ctx.busy = function (on) {
          busy = on;
          form.setAttribute('aria-busy', on ? 'true' : 'false');
          var buttons = form.querySelectorAll('button');
          for (var i = 0; i < buttons.length; i++) {
            buttons[i].disabled = on;
          }
        };
        // run runs fn with the form busy, showing what it throws.
        ctx.run = async function (fn) {
          if (busy) {
            return;
          }
          ctx.busy(true);
          try {
            await fn();
          } catch (e) {
            ctx.showError(e instanceof UsherError ? e : new UsherError(0, null));
            if (!(e instanceof UsherError) && window.console) {
              console.error('usher:', e);
            }
          } finally {
            ctx.busy(false);
          }
        };
        ctx.values = function () {
          var v = {};
          fields.forEach(function (f) {
            if (f.spec.type === 'checkbox') {
              v[f.spec.name] = f.input.checked;
            } else if (f.spec.type === 'password') {
              v[f.spec.name] = f.input.value;
            } else {
              v[f.spec.name] = f.input.value.trim();
            }
          });
          return v;
        };

        form.addEventListener('submit', function (ev) {
          ev.preventDefault();
          if (busy) {
            return;
          }
          var values = ctx.values();
          // Checks the server makes too, said at once.
          var local = {};
          fields.forEach(function (f) {
            if (f.spec.required && f.spec.type !== 'checkbox' && values[f.spec.name] === '') {
              local[f.spec.name] = t("This field is required.");
            }
          });
          if (o.match && !local[o.match[1]] && values[o.match[0]] !== values[o.match[1]]) {
            local[o.match[1]] = t("The passwords do not match.");
          }
          if (Object.keys(local).length) {
            ctx.showError({ fields: local });
            return;
          }
          ctx.clearErrors();
          ctx.run(function () { return o.onSubmit(values, ctx); });
        });

        add(form, [
          intro(o.intro),
          notice,
          o.before ? o.before(ctx) : null,
          general,
          fields.map(function (f) { return f.wrap; }),
          o.middle ? o.middle(ctx) : null,
          h('div', { class: 'usher-actions' },
            o.submit ? primaryButton(o.submit, o.submitClass) : null,
            o.cancel ? cancelButton(o.cancel, ctx.cancel) : null),
          o.after ? o.after(ctx) : null
        ]);
        return form;
      }
    });
  }

  // noticeView shows texts with one button; resolves when it is pressed
  // (or on Escape).
  function noticeView(m, name, title, texts, button) {
    return formView(m, {
      name: name,
      title: title,
      intro: texts,
      submit: button || t("OK"),
      cancel: null,
      escape: true,
      onSubmit: function (v, ctx) { ctx.done(true); }
    });
  }

  // ------------------------------------------------------------ the fields

  function identifierField(value) {
    switch (config.login_with) {
      case 'username':
        return { name: 'username', label: t("Username"), type: 'text', autocomplete: 'username', required: true, value: value, noCaps: true };
      case 'either':
        return { name: 'login', label: t("Email or username"), type: 'text', autocomplete: 'username', required: true, value: value, noCaps: true };
      default:
        return { name: 'email', label: t("Email"), type: 'email', autocomplete: 'username', required: true, value: value };
    }
  }

  function profileFields() {
    return config.profile_fields.map(function (f) {
      var label = f.label || f.name;
      if (f.type === 'bool') {
        return { name: f.name, label: label, type: 'checkbox', profile: true };
      }
      return {
        name: f.name,
        label: f.required ? label : t("%s (optional)", label),
        type: f.type === 'email' ? 'email' : f.type === 'url' ? 'url' : 'text',
        inputmode: f.type === 'int' ? 'numeric' : null,
        maxlength: f.max_length || null,
        required: !!f.required,
        profile: true
      };
    });
  }

  function rememberField(opts) {
    if (!opts.allowRememberMe || config.remember_me === false) {
      return null;
    }
    return { name: 'remember', label: t("Remember me"), type: 'checkbox', checked: !!opts.rememberByDefault };
  }

  function newPasswordFields(name) {
    return [
      { name: name, label: t("New password"), type: 'password', autocomplete: 'new-password', required: true },
      { name: 'retype_password', label: t("Retype the new password"), type: 'password', autocomplete: 'new-password', required: true }
    ];
  }

  // ----------------------------------------------------------------- login

  // loginFlow is loginWithForm's dialog: the user, or null when cancelled.
  async function loginFlow(m, opts) {
    var state = { ident: '', notice: '' };
    for (;;) {
      var r = await loginView(m, opts, state);
      state.notice = '';
      if (r === CANCEL) {
        return null;
      }
      if (r.user) {
        return r.user;
      }
      var u = null;
      switch (r.go) {
        case 'signup':
          var s = await signupFlow(m, Object.assign({}, opts, { allowCancel: true, fromLogin: true }));
          if (s && s.user) {
            return s.user;
          }
          if (s && s.email) {
            state.ident = s.email;
            state.notice = s.ready ? '' : t("When your address is confirmed, log in here.");
          }
          break;
        case 'forgot':
          await emailRequestFlow(m, 'forgot', r.ident);
          break;
        case 'link':
          await emailRequestFlow(m, 'link', r.ident);
          break;
        case 'resend':
          await emailRequestFlow(m, 'resend', r.ident);
          break;
        case 'mfa':
          u = await mfaLoginFlow(m, r.err, function (mfa, rememberDevice) {
            return api('POST', '/login', Object.assign({}, r.body, { mfa: mfa, remember_device: rememberDevice }));
          }, r.ident);
          if (u) {
            return u;
          }
          break;
        case 'enroll':
          u = await enrollFlow(m, r.err, !!r.body.remember);
          if (u) {
            return u;
          }
          break;
        case 'newpw':
          u = await forcedPasswordFlow(m, r.err);
          if (u) {
            return u;
          }
          break;
      }
    }
  }

  function loginView(m, opts, state) {
    var idf = identifierField(state.ident);
    var signup = opts.showSignupOption && config.signup;
    var passkeys = config.passkeys && webauthnSupported();
    if (passkeys) {
      preloadWebAuthn();
    }
    // passkeyLogin logs in with a passkey (both factors at once).
    function passkeyLogin(ctx) {
      ctx.run(async function () {
        var p = await ceremony(function (wa) { return wa.passkey(); }, t("The passkey was not used. Try again."));
        try {
          var d = await api('POST', '/passkey/login/finish', {
            state: p.state,
            credential: JSON.parse(p.credential),
            remember: !!ctx.values().remember
          });
          ctx.done({ user: d.user });
        } catch (e) {
          if (e.code === 'password_reset_requested') {
            ctx.done({ go: 'newpw', err: e });
          } else if (e.code === 'email_not_confirmed') {
            ctx.showError(e, linkButton(t("Resend confirmation email"), 'usher-resend-confirmation', function () {
              ctx.done({ go: 'resend', ident: '' });
            }));
          } else {
            throw keyError(e, t("The passkey was not used. Try again."));
          }
        }
      });
    }
    return formView(m, {
      name: 'login',
      title: t("Log in"),
      notice: state.notice,
      fields: [
        idf,
        { name: 'password', label: t("Password"), type: 'password', autocomplete: 'current-password', required: true },
        rememberField(opts)
      ],
      submit: t("Log in"),
      cancel: opts.allowCancel ? t("Cancel") : null,
      middle: function (ctx) {
        var ident = function () { return ctx.input(idf.name).value.trim(); };
        return h('div', { class: 'usher-links' },
          linkButton(t("Forgot your password?"), 'usher-forgot-password', function () {
            ctx.done({ go: 'forgot', ident: ident() });
          }),
          config.login_link ? linkButton(t("Email me a login link"), 'usher-login-link', function () {
            ctx.done({ go: 'link', ident: ident() });
          }) : null);
      },
      after: function (ctx) {
        return [
          providerButtons('login', function () { return !!ctx.values().remember; }),
          passkeys ? h('div', { class: 'usher-actions usher-passkey' },
            h('button', {
              type: 'button',
              class: 'usher-button usher-passkey-login',
              onclick: function () { passkeyLogin(ctx); }
            }, t("Log in with a passkey"))) : null,
          signup ? h('p', { class: 'usher-switch' }, t("New here?"), ' ',
            linkButton(t("Sign up"), 'usher-signup-link', function () { ctx.done({ go: 'signup' }); })) : null
        ];
      },
      onSubmit: async function (v, ctx) {
        state.ident = v[idf.name];
        var body = { password: v.password, remember: !!v.remember };
        body[idf.name] = v[idf.name];
        try {
          var d = await api('POST', '/login', body);
          ctx.done({ user: d.user });
        } catch (e) {
          if (e.code === 'mfa_required' && e.data.mfa_enroll) {
            ctx.done({ go: 'enroll', err: e, body: body });
          } else if (e.code === 'mfa_required') {
            ctx.done({ go: 'mfa', err: e, body: body, ident: v[idf.name] });
          } else if (e.code === 'password_reset_requested') {
            ctx.done({ go: 'newpw', err: e });
          } else if (e.code === 'email_not_confirmed') {
            ctx.input('password').value = '';
            ctx.showError(e, linkButton(t("Resend confirmation email"), 'usher-resend-confirmation', function () {
              ctx.done({ go: 'resend', ident: v[idf.name] });
            }));
          } else {
            if (e.code === 'authentication_failed') {
              ctx.input('password').value = '';
            }
            throw e;
          }
        }
      }
    });
  }

  // providerButtons returns the dialog's "Log in with …" (intent login)
  // or "Sign up with …" (signup) buttons, one per provider that allows
  // it; each leaves the page for the provider and comes back to it.
  function providerButtons(intent, remember) {
    var list = config.providers.filter(function (p) { return intent === 'signup' ? p.signup : p.login; });
    if (!list.length) {
      return null;
    }
    return h('div', { class: 'usher-providers' }, list.map(function (p) {
      return h('button', {
        type: 'button',
        class: 'usher-button usher-provider',
        'data-provider': p.name,
        onclick: function () {
          withProvider(p.name, intent, { remember: remember() });
        }
      }, intent === 'signup' ? t("Sign up with %s", p.label) : t("Log in with %s", p.label));
    }));
  }

  // emailRequestFlow asks for an address and sends it a link: kind is
  // "forgot" (password reset), "link" (log-in link), "resend" (address
  // confirmation) or "mfa" (second-factor reset). Resolves true when sent.
  async function emailRequestFlow(m, kind, ident) {
    var email = ident && ident.indexOf('@') > 0 ? ident : '';
    var spec = {
      forgot: {
        path: '/password-reset',
        title: t("Reset your password"),
        intro: t("Enter your email address and we will send you a link to choose a new password."),
        done: t("If an account exists for this address, we sent it a link to reset the password.")
      },
      link: {
        path: '/login-link',
        title: t("Log in with a link"),
        intro: t("Enter your email address and we will send you a link that logs you in."),
        done: t("If an account exists for this address, we sent it a login link.")
      },
      resend: {
        path: '/resend-confirmation',
        title: t("Resend confirmation email"),
        intro: t("Enter your email address and we will send you a new confirmation link."),
        done: t("If this address belongs to an account that still needs confirming, we sent it a new link.")
      },
      mfa: {
        path: '/mfa/reset',
        title: t("Reset two-factor authentication"),
        intro: t("Lost your phone? Enter your email address and we will send you a link to turn off two-factor authentication."),
        done: t("If an account exists for this address, we sent it a link.")
      }
    }[kind];
    var sent = await formView(m, {
      name: 'request-' + kind,
      title: spec.title,
      intro: spec.intro,
      fields: [{ name: 'email', label: t("Email"), type: 'email', autocomplete: 'email', required: true, value: email }],
      submit: t("Send link"),
      cancel: t("Back"),
      onSubmit: async function (v, ctx) {
        await api('POST', spec.path, { email: v.email });
        ctx.done(v.email);
      }
    });
    if (sent === CANCEL) {
      return false;
    }
    await noticeView(m, 'email-sent', t("Check your email"), [spec.done, t("The link was sent to %s.", sent)]);
    return true;
  }

  // mfaLoginFlow asks for the second factor and completes the log-in with
  // complete(mfa, rememberDevice) (an api promise). Resolves with the
  // user, or null when cancelled. A security key is offered when the
  // user has one (mfa_types has "fido"), the site allows them and the
  // browser can use them; without an authenticator app, it is the view's
  // main button.
  async function mfaLoginFlow(m, err, complete, ident) {
    var data = (err && err.data) || {};
    var types = Array.isArray(data.mfa_types) ? data.mfa_types : null;
    var pending = typeof data.mfa_token === 'string' ? data.mfa_token : '';
    var key = !!(pending && types && types.indexOf('fido') >= 0 && config.webauthn && webauthnSupported());
    var s = {
      canRecover: !types || types.indexOf('recovery') >= 0,
      key: key,
      pending: pending,
      // The first way offered: the app's code, or the key when the user
      // has no app.
      first: (key && types.indexOf('totp') < 0) ? 'key' : 'totp'
    };
    s.mode = s.first;
    if (key) {
      preloadWebAuthn();
    }
    for (;;) {
      var r = await mfaLoginView(m, s, complete);
      if (r === CANCEL) {
        return null;
      }
      if (r.toggle) {
        s.mode = s.mode === 'recovery' ? s.first : 'recovery';
        continue;
      }
      if (r.go === 'reset') {
        await emailRequestFlow(m, 'mfa', ident);
        continue;
      }
      if (r.go === 'newpw') {
        return forcedPasswordFlow(m, r.err);
      }
      return r.user;
    }
  }

  // mfaLoginView is the second-factor step; s.mode is "totp" (a code from
  // the app, and the key's button when s.key), "recovery" or "key" (the
  // key alone).
  function mfaLoginView(m, s, complete) {
    var recovery = s.mode === 'recovery';
    var keyOnly = s.mode === 'key';

    // finish completes the log-in with the factor mfa.
    async function finish(ctx, mfa, rememberDevice, byKey) {
      try {
        var d = await complete(mfa, rememberDevice);
        ctx.done({ user: d.user });
      } catch (e) {
        if (!(e instanceof UsherError)) {
          throw e;
        }
        if (e.code === 'password_reset_requested') {
          ctx.done({ go: 'newpw', err: e });
          return;
        }
        if (byKey) {
          throw keyError(e, t("The security key was not used. Try again."));
        }
        if (!e.fields.code && e.code !== 'rate_limited' && e.code !== 'too_many_password_failures') {
          ctx.input('code').value = '';
        }
        throw e;
      }
    }

    // useKey asks the browser for the security key of the pending log-in
    // (usher-webauthn.js's verify) and completes the log-in with it.
    async function useKey(ctx) {
      var f = await ceremony(function (wa) { return wa.verify(s.pending); }, t("The security key was not used. Try again."));
      await finish(ctx, f, !!ctx.values().remember_device, true);
    }

    return formView(m, {
      name: 'mfa',
      title: t("Two-factor authentication"),
      intro: recovery
        ? t("Enter one of your recovery codes. Each code works once.")
        : keyOnly ? null : t("Enter the 6-digit code from your authenticator app."),
      fields: [
        keyOnly ? null : recovery
          ? { name: 'code', label: t("Recovery code"), type: 'text', autocomplete: 'off', required: true, noCaps: true, ltr: true }
          : { name: 'code', label: t("Code"), type: 'text', autocomplete: 'one-time-code', inputmode: 'numeric', required: true, maxlength: 10, ltr: true },
        { name: 'remember_device', label: t("Remember this device"), type: 'checkbox' }
      ],
      submit: keyOnly ? t("Use your security key") : t("Verify"),
      submitClass: keyOnly ? 'usher-security-key' : null,
      cancel: t("Cancel"),
      middle: function (ctx) {
        var toggle = null;
        if (s.canRecover) {
          toggle = linkButton(!recovery ? t("Use a recovery code")
            : s.first === 'key' ? t("Use your security key") : t("Use your authenticator app"),
          'usher-mfa-toggle', function () {
            ctx.done({ toggle: true });
          });
        }
        return [
          (s.key && s.mode === 'totp') ? h('div', { class: 'usher-actions usher-key' },
            h('button', {
              type: 'button',
              class: 'usher-button usher-security-key',
              onclick: function () { ctx.run(function () { return useKey(ctx); }); }
            }, t("Use your security key"))) : null,
          h('div', { class: 'usher-links' },
            toggle,
            config.mfa_reset ? linkButton(t("Lost access to your second factor?"), 'usher-mfa-reset', function () {
              ctx.done({ go: 'reset' });
            }) : null)
        ];
      },
      onSubmit: async function (v, ctx) {
        if (keyOnly) {
          await useKey(ctx);
          return;
        }
        var code = recovery ? v.code : v.code.replace(/\s+/g, '');
        await finish(ctx, { type: recovery ? 'recovery' : 'totp', code: code }, !!v.remember_device, false);
      }
    });
  }

  // forcedPasswordFlow: an admin requires a new password; the session may
  // only change it (no old password). Resolves with the user, or null when
  // cancelled (the restricted session is then ended).
  async function forcedPasswordFlow(m, err) {
    var r = await formView(m, {
      name: 'new-password',
      title: t("Choose a new password"),
      intro: (err && err.message) || t("You must set a new password before going on."),
      fields: newPasswordFields('new_password'),
      match: ['new_password', 'retype_password'],
      aliases: { password: 'new_password' },
      submit: t("Save password"),
      cancel: t("Cancel"),
      onSubmit: async function (v, ctx) {
        await api('POST', '/change-password', { new_password: v.new_password });
        ctx.done({ user: await me() });
      }
    });
    if (r === CANCEL) {
      try { await api('POST', '/logout'); } catch (e) { /* nothing to undo */ }
      return null;
    }
    return r.user;
  }

  // verifiedUser checks the session a token route started: one that must
  // first set a new password goes through forcedPasswordFlow.
  async function verifiedUser(m) {
    try {
      return await me();
    } catch (e) {
      if (e.code === 'password_reset_requested') {
        return forcedPasswordFlow(m, e);
      }
      throw e;
    }
  }

  // ---------------------------------------------------------------- signup

  // signupFlow is signupWithForm's dialog: {user} when logged in, {email}
  // when the account waits for confirmation or approval ({email, ready}
  // when it does not, but no session started), or null. Where the site
  // requires a second factor (config.require_mfa), signing up starts no
  // session: an account that may log in logs in with the same e-mail and
  // password and goes on to set one up (enrollFlow).
  async function signupFlow(m, opts) {
    if (!config.signup) {
      await noticeView(m, 'signup-closed', t("Sign up"), t("Sign-up is not open."));
      return null;
    }
    var profile = profileFields();
    var r = await formView(m, {
      name: 'signup',
      title: t("Sign up"),
      fields: [
        { name: 'email', label: t("Email"), type: 'email', autocomplete: 'email', required: true },
        config.username ? { name: 'username', label: t("Username"), type: 'text', autocomplete: 'username', required: true, noCaps: true } : null,
        { name: 'password', label: t("Password"), type: 'password', autocomplete: 'new-password', required: true },
        { name: 'retype_password', label: t("Retype password"), type: 'password', autocomplete: 'new-password', required: true }
      ].concat(profile, [rememberField(opts)]),
      match: ['password', 'retype_password'],
      submit: t("Sign up"),
      cancel: opts.fromLogin ? t("Back to log in") : (opts.allowCancel ? t("Cancel") : null),
      after: function (ctx) {
        return providerButtons('signup', function () { return !!ctx.values().remember; });
      },
      onSubmit: async function (v, ctx) {
        var body = { email: v.email, password: v.password, remember: !!v.remember };
        if (config.username) {
          body.username = v.username;
        }
        if (profile.length) {
          body.profile = {};
          profile.forEach(function (f) {
            var val = v[f.name];
            if (f.type === 'checkbox') {
              body.profile[f.name] = val ? 'true' : 'false';
            } else if (val !== '') {
              body.profile[f.name] = val;
            }
          });
        }
        var d = await api('POST', '/signup', body);
        if (d.session || !config.require_mfa || !d.user || d.user.enabled === false) {
          ctx.done(d);
          return;
        }
        // The site requires a second factor, so signing up started no
        // session: log in, which leads to setting one up. Whether the
        // address must first be confirmed, the log-in says.
        var lb = { password: v.password, remember: !!v.remember };
        if (config.login_with === 'username') {
          lb.username = v.username;
        } else {
          lb.email = v.email;
        }
        try {
          var l = await api('POST', '/login', lb);
          ctx.done({ user: l.user, session: l.session || true });
        } catch (e) {
          if (e.code === 'mfa_required' && e.data.mfa_enroll) {
            ctx.done({ user: d.user, enroll: e, remember: lb.remember });
          } else {
            // The account exists: say what the sign-up did.
            ctx.done({ user: d.user, loginError: e });
          }
        }
      }
    });
    if (r === CANCEL) {
      return null;
    }
    if (r.session) {
      return { user: r.user };
    }
    var user = r.user || {};
    if (r.enroll) {
      var u = await enrollFlow(m, r.enroll, r.remember);
      return u ? { user: u } : { email: user.email || '', ready: true };
    }
    var texts = [];
    var failed = !!(r.loginError && r.loginError.code !== 'email_not_confirmed');
    if (failed) {
      texts.push(r.loginError.message);
    } else if (!user.email_confirmed) {
      texts.push(t("Check your email to confirm your address."));
      texts.push(t("We sent a link to %s.", user.email || ''));
    }
    if (user.enabled === false) {
      texts.push(t("An administrator must enable your account before you can log in."));
    }
    if (!texts.length) {
      texts.push(t("Your account is ready. You can now log in."));
    }
    await noticeView(m, 'signup-done', t("Thank you for signing up"), texts);
    return { email: user.email || '', ready: failed };
  }

  // --------------------------------------------------------------- account

  async function changePasswordFlow(m, opts) {
    var r = await formView(m, {
      name: 'change-password',
      title: t("Change password"),
      fields: [
        { name: 'old_password', label: t("Current password"), type: 'password', autocomplete: 'current-password', required: true }
      ].concat(newPasswordFields('new_password')),
      match: ['new_password', 'retype_password'],
      aliases: { password: 'new_password' },
      submit: t("Change password"),
      cancel: opts.allowCancel ? t("Cancel") : null,
      onSubmit: async function (v, ctx) {
        try {
          await api('POST', '/change-password', { old_password: v.old_password, new_password: v.new_password });
        } catch (e) {
          if (e.code === 'authentication_failed') {
            ctx.input('old_password').value = '';
            e.message = t("This is not your current password.");
            e.fields = Object.assign({ old_password: e.message }, e.fields);
          }
          throw e;
        }
        ctx.done(true);
      }
    });
    return r === true;
  }

  async function listOrNull(path, key) {
    try {
      var d = await api('GET', path);
      return Array.isArray(d[key]) ? d[key] : [];
    } catch (e) {
      if (e.status === 404) {
        return null; // not offered by this server
      }
      throw e;
    }
  }

  function methodLabel(mm) {
    var kind = mm.type === 'totp' ? t("Authenticator app") : mm.type === 'recovery' ? t("Recovery codes")
      : mm.type === 'fido' ? t("Security key") : mm.type;
    // The server names a key without a name "Security key".
    if (mm.type === 'fido' && mm.name === 'Security key') {
      return kind;
    }
    return mm.name ? mm.name + ' (' + kind + ')' : kind;
  }

  // accountFlow is configureAccountWithForm's dialog.
  async function accountFlow(m) {
    var user = await me();
    if (!user) {
      return null;
    }
    var notice = '';
    for (;;) {
      var loaded = await Promise.all([
        listOrNull('/sessions', 'sessions').catch(function () { return null; }),
        listOrNull('/mfa/methods', 'methods').catch(function () { return null; })
      ]);
      var r = await accountView(m, user, loaded[0], loaded[1], notice);
      notice = '';
      if (r === CANCEL) {
        return user;
      }
      if (r.go === 'password') {
        if (await changePasswordFlow(m, { allowCancel: true })) {
          notice = t("Your password has been changed.");
        }
      } else if (r.go === 'mfa') {
        if (await mfaSetupFlow(m, { allowCancel: true })) {
          notice = t("Your two-factor settings have been saved.");
        }
      } else if (r.notice) {
        notice = r.notice;
      }
      user = (await me()) || user;
    }
  }

  function accountView(m, user, sessions, methods, notice) {
    return formView(m, {
      name: 'account',
      title: t("Your account"),
      notice: notice,
      cancel: t("Close"),
      before: function (ctx) {
        var rows = [
          h('dt', null, t("Email")), h('dd', { class: 'usher-account-email' }, h('bdi', null, user.email || ''))
        ];
        if (user.username) {
          rows.push(h('dt', null, t("Username")), h('dd', { class: 'usher-account-username' }, h('bdi', null, user.username)));
        }
        var sections = [
          h('dl', { class: 'usher-facts' }, rows),
          h('div', { class: 'usher-links' },
            linkButton(t("Change password"), 'usher-change-password', function () { ctx.done({ go: 'password' }); }))
        ];

        if (sessions) {
          var list = h('ul', { class: 'usher-list usher-sessions' }, sessions.map(function (s) {
            var meta = [];
            var when = fmtDate(s.last_seen_at);
            if (when) { meta.push(t("Last active %s", when)); }
            // The address in a left-to-right isolate: in right-to-left
            // text an IPv6 address would otherwise be reordered.
            if (s.ip) { meta.push(h('bdi', { dir: 'ltr' }, s.ip)); }
            return h('li', { class: 'usher-item usher-session' + (s.current ? ' usher-current' : '') },
              h('div', { class: 'usher-item-main' },
                h('span', { class: 'usher-item-title' }, device(s.user_agent)),
                s.current ? h('span', { class: 'usher-badge' }, t("This device")) : null,
                h('span', { class: 'usher-item-meta' }, meta.map(function (x, i) { return i ? [' · ', x] : x; }))),
              s.current ? null : h('button', {
                type: 'button',
                class: 'usher-button usher-small usher-revoke',
                'aria-label': t("Sign out %s", device(s.user_agent)),
                onclick: function () {
                  ctx.run(async function () {
                    await api('DELETE', '/sessions/' + encodeURIComponent(s.id));
                    ctx.done({ notice: t("That device has been signed out.") });
                  });
                }
              }, t("Sign out")));
          }));
          sections.push(h('section', { class: 'usher-section', 'aria-labelledby': 'usher-sessions-title' },
            h('h3', { id: 'usher-sessions-title' }, t("Where you are logged in")),
            list,
            h('button', {
              type: 'button',
              class: 'usher-button usher-signout-others',
              onclick: function () {
                ctx.run(async function () {
                  var d = await api('DELETE', '/sessions');
                  ctx.done({ notice: t("Other devices signed out: %s", String(d.revoked || 0)) });
                });
              }
            }, t("Sign out other devices"))));
        }

        if (methods) {
          sections.push(h('section', { class: 'usher-section', 'aria-labelledby': 'usher-mfa-title' },
            h('h3', { id: 'usher-mfa-title' }, t("Two-factor authentication")),
            methods.length
              ? h('ul', { class: 'usher-list usher-methods' }, methods.map(function (mm) {
                return h('li', { class: 'usher-item usher-method' },
                  h('div', { class: 'usher-item-main' },
                    h('span', { class: 'usher-item-title' }, methodLabel(mm)),
                    h('span', { class: 'usher-item-meta' }, t("Added %s", fmtDate(mm.created_at)))));
              }))
              : h('p', { class: 'usher-muted' }, t("Two-factor authentication is off.")),
            h('button', {
              type: 'button',
              class: 'usher-button usher-configure-mfa',
              onclick: function () { ctx.done({ go: 'mfa' }); }
            }, t("Set up two-factor authentication"))));
        }

        sections.push(h('p', { class: 'usher-more' },
          h('a', { href: PREFIX + '/profile', class: 'usher-profile-link' }, t("Open your account page"))));
        return sections;
      },
      onSubmit: function (v, ctx) { ctx.done(CANCEL); }
    });
  }

  // ------------------------------------------------------------ two-factor

  // mfaSetupFlow is configureMfaWithForm's dialog: a new authenticator app
  // (QR code, key, code, password), a new security key (where WebAuthn
  // works), recovery codes, and the list of methods with their remove
  // buttons. Resolves true when anything changed.
  async function mfaSetupFlow(m, opts) {
    var changed = false;
    var secret = null;
    var notice = '';
    for (;;) {
      var methods = await listOrNull('/mfa/methods', 'methods');
      if (methods === null) {
        await noticeView(m, 'mfa-unavailable', t("Two-factor authentication"),
          t("Two-factor authentication is not available here."));
        return changed;
      }
      if (!secret) {
        try {
          secret = await api('POST', '/mfa/totp/secret');
        } catch (e) {
          await noticeView(m, 'mfa-error', t("Two-factor authentication"), e.message);
          return changed;
        }
      }
      var r = await mfaSetupView(m, secret, methods, opts, notice);
      notice = '';
      if (r === CANCEL) {
        return changed;
      }
      if (r.added) {
        changed = true;
        secret = null;
        await recoveryCodesFlow(m, true);
        return true;
      }
      if (r.addKey) {
        if (await addKeyFlow(m)) {
          changed = true;
          if (!methods.length) {
            // The first second factor: recovery codes, as for an app.
            await recoveryCodesFlow(m, true);
          }
          notice = t("The security key has been added.");
        }
      } else if (r.remove) {
        if (await removeMethodFlow(m, r.remove)) {
          changed = true;
          notice = t("The method has been removed.");
        }
      } else if (r.codes) {
        if (await recoveryCodesFlow(m, false)) {
          changed = true;
        }
      }
    }
  }

  // secretNodes shows a new authenticator app's secret (the answer of
  // /mfa/totp/secret or /mfa/enroll/secret): its QR code, its key and a
  // link that opens it in an app.
  function secretNodes(secret) {
    var nodes = [];
    if (typeof secret.qr_code === 'string' && /^data:image\//.test(secret.qr_code)) {
      nodes.push(h('div', { class: 'usher-qr' },
        h('img', { src: secret.qr_code, alt: t("QR code for your authenticator app"), width: 200, height: 200, class: 'usher-qr-image' })));
    }
    nodes.push(h('p', { class: 'usher-secret-line' },
      h('span', { class: 'usher-secret-label' }, t("Key:")), ' ',
      // In groups of four, to be read and typed without losing one's
      // place (apps ignore the spaces).
      h('code', { class: 'usher-secret', dir: 'ltr', translate: 'no' }, String(secret.secret || '').replace(/(.{4})(?=.)/g, '$1 '))));
    if (typeof secret.otpauth_uri === 'string' && /^otpauth:\/\//.test(secret.otpauth_uri)) {
      nodes.push(h('p', { class: 'usher-otpauth-line' },
        h('a', { href: secret.otpauth_uri, class: 'usher-otpauth' }, t("Open in your authenticator app"))));
    }
    return nodes;
  }

  // enrollFlow sets up the first second factor of a user who must have
  // one (the server's require_mfa) to finish logging in. err is the
  // log-in's mfa_required answer with mfa_enroll and its mfa_token;
  // remember is the log-in's "Remember me". An authenticator app
  // (POST /mfa/enroll/secret, then POST /mfa/enroll with a code of the
  // app), then the first recovery codes, shown once. Resolves with the
  // user, or null when cancelled.
  async function enrollFlow(m, err, remember) {
    var pending = (err && err.data && typeof err.data.mfa_token === 'string') ? err.data.mfa_token : '';
    var secret;
    try {
      secret = await api('POST', '/mfa/enroll/secret', { mfa_token: pending });
    } catch (e) {
      if (!(e instanceof UsherError)) { throw e; }
      await noticeView(m, 'mfa-error', t("Two-factor authentication"), e.message);
      return null;
    }
    var r = await formView(m, {
      name: 'mfa-enroll',
      title: t("Set up two-factor authentication"),
      intro: [
        t("This site requires two-factor authentication. Set up an authenticator app to finish logging in."),
        h('ol', { class: 'usher-steps' },
          h('li', null, t("Open an authenticator app on your phone (such as Google Authenticator, Authy or 1Password) and add an account.")),
          h('li', null, t("Scan the QR code, or type in the key.")),
          h('li', null, t("Enter the 6-digit code the app shows.")))
      ],
      before: function () { return secretNodes(secret); },
      fields: [
        { name: 'code', label: t("Code from the app"), type: 'text', autocomplete: 'one-time-code', inputmode: 'numeric', required: true, maxlength: 10, ltr: true }
      ],
      submit: t("Turn on two-factor authentication"),
      cancel: t("Cancel"),
      onSubmit: async function (v, ctx) {
        try {
          ctx.done(await api('POST', '/mfa/enroll', {
            mfa_token: pending,
            mfa_method: secret.mfa_method,
            code: v.code.replace(/\s+/g, ''),
            remember: !!remember
          }));
        } catch (e) {
          if (e instanceof UsherError && e.fields.code) {
            ctx.input('code').value = '';
          }
          throw e;
        }
      }
    });
    if (r === CANCEL) {
      return null;
    }
    if (Array.isArray(r.recovery_codes) && r.recovery_codes.length) {
      await recoveryCodesView(m, r.recovery_codes, t("Two-factor authentication is on."));
    }
    // The session started; one that must first set a new password goes
    // on to that.
    return verifiedUser(m);
  }

  function mfaSetupView(m, secret, methods, opts, notice) {
    return formView(m, {
      name: 'mfa-setup',
      title: t("Set up two-factor authentication"),
      intro: [
        t("Scan this QR code with your authenticator app, or type in the key."),
        t("Then enter the code the app shows, and your password.")
      ],
      notice: notice,
      before: function () { return secretNodes(secret); },
      fields: [
        { name: 'code', label: t("Code from the app"), type: 'text', autocomplete: 'one-time-code', inputmode: 'numeric', required: true, maxlength: 10, ltr: true },
        { name: 'password', label: t("Your password"), type: 'password', autocomplete: 'current-password', required: true }
      ],
      submit: t("Turn on two-factor authentication"),
      cancel: opts.allowCancel ? t("Close") : null,
      after: function (ctx) {
        var keys = null;
        if (config.webauthn && webauthnSupported()) {
          preloadWebAuthn();
          keys = h('section', { class: 'usher-section', 'aria-labelledby': 'usher-keys-title' },
            h('h3', { id: 'usher-keys-title' }, t("Security keys and passkeys")),
            h('p', { class: 'usher-muted' }, t("A security key, or a passkey kept by your phone or computer, confirms it is you with a touch, a fingerprint or your screen lock.")),
            h('button', {
              type: 'button',
              class: 'usher-button usher-add-security-key',
              onclick: function () { ctx.done({ addKey: true }); }
            }, t("Add a security key")));
        }
        if (!methods.length) {
          return keys;
        }
        return [keys, h('section', { class: 'usher-section', 'aria-labelledby': 'usher-methods-title' },
          h('h3', { id: 'usher-methods-title' }, t("Your two-factor methods")),
          h('ul', { class: 'usher-list usher-methods' }, methods.map(function (mm) {
            var label = methodLabel(mm);
            return h('li', { class: 'usher-item usher-method', 'data-id': mm.id },
              h('div', { class: 'usher-item-main' },
                h('span', { class: 'usher-item-title' }, label),
                h('span', { class: 'usher-item-meta' }, t("Added %s", fmtDate(mm.created_at)))),
              h('button', {
                type: 'button',
                class: 'usher-button usher-small usher-remove',
                'aria-label': t("Remove %s", label),
                onclick: function () { ctx.done({ remove: mm }); }
              }, t("Remove")));
          })),
          h('button', {
            type: 'button',
            class: 'usher-button usher-new-recovery-codes',
            onclick: function () { ctx.done({ codes: true }); }
          }, t("Create new recovery codes")))];
      },
      onSubmit: async function (v, ctx) {
        try {
          var d = await api('POST', '/mfa/methods', {
            password: v.password,
            mfa_method: secret.mfa_method,
            code: v.code.replace(/\s+/g, ''),
            clear_existing: false
          });
          ctx.done({ added: d.method || true });
        } catch (e) {
          ctx.input('password').value = '';
          if (e instanceof UsherError && e.code === 'authentication_failed' && !e.fields.password) {
            e.fields = Object.assign({ password: e.message }, e.fields);
          }
          throw e;
        }
      }
    });
  }

  // addKeyFlow adds a security key or passkey: its name and the password,
  // then the browser's ceremony (usher-webauthn.js's create) and
  // POST /mfa/webauthn/register/finish. Resolves with the new method, or
  // null when cancelled.
  async function addKeyFlow(m) {
    var r = await formView(m, {
      name: 'mfa-add-key',
      title: t("Add a security key"),
      fields: [
        { name: 'name', label: t("Name for this key (optional)"), type: 'text', autocomplete: 'off', maxlength: 64 },
        { name: 'password', label: t("Your password"), type: 'password', autocomplete: 'current-password', required: true }
      ],
      submit: t("Add a security key"),
      cancel: t("Cancel"),
      onSubmit: async function (v, ctx) {
        var c = await ceremony(function (wa) { return wa.create(); }, t("The security key was not used. Try again."));
        try {
          var d = await api('POST', '/mfa/webauthn/register/finish', {
            name: v.name,
            password: v.password,
            state: c.state,
            credential: JSON.parse(c.credential)
          });
          ctx.done({ added: d.mfa_method || true });
        } catch (e) {
          ctx.input('password').value = '';
          if (e instanceof UsherError) {
            if (e.code === 'authentication_failed' && !e.fields.password) {
              e.fields = Object.assign({ password: e.message }, e.fields);
            } else if (e.fields.credential || e.code === 'invalid_token') {
              throw new UsherError(0, { error: { code: e.code, message: t("The security key could not be added. Try again.") } });
            }
          }
          throw e;
        }
      }
    });
    return r === CANCEL ? null : r.added;
  }

  async function removeMethodFlow(m, mm) {
    var r = await formView(m, {
      name: 'mfa-remove',
      title: t("Remove this method?"),
      intro: t("You will no longer be able to log in with %s.", methodLabel(mm)),
      submit: t("Remove"),
      cancel: t("Cancel"),
      onSubmit: async function (v, ctx) {
        await api('DELETE', '/mfa/methods/' + encodeURIComponent(mm.id));
        ctx.done(true);
      }
    });
    return r === true;
  }

  // recoveryCodesFlow offers (offer) or makes at once new recovery codes
  // and shows them once. Resolves true when codes were made.
  async function recoveryCodesFlow(m, offer) {
    var codes = await formView(m, {
      name: 'recovery-offer',
      title: offer ? t("Two-factor authentication is on") : t("Create new recovery codes"),
      intro: offer
        ? [t("Recovery codes let you log in if you lose your phone. Each code works once.")]
        : [t("New recovery codes replace the old ones, which stop working.")],
      submit: t("Create recovery codes"),
      cancel: offer ? t("Not now") : t("Cancel"),
      onSubmit: async function (v, ctx) {
        var d = await api('POST', '/mfa/recovery-codes');
        ctx.done(Array.isArray(d.codes) ? d.codes : []);
      }
    });
    if (codes === CANCEL) {
      return false;
    }
    await recoveryCodesView(m, codes);
    return true;
  }

  // recoveryCodesView shows new recovery codes, this once, with a notice
  // above them; resolves when the user has saved them.
  function recoveryCodesView(m, codes, notice) {
    return formView(m, {
      name: 'recovery-codes',
      title: t("Your recovery codes"),
      intro: t("Save these codes somewhere safe. They are shown only this once."),
      notice: notice,
      before: function (ctx) {
        var status = h('span', { class: 'usher-copied', role: 'status' });
        var copy = (navigator.clipboard && window.isSecureContext) ? h('button', {
          type: 'button',
          class: 'usher-button usher-small usher-copy',
          onclick: function () {
            navigator.clipboard.writeText(codes.join('\n')).then(function () {
              status.textContent = t("Copied.");
            }, function () {
              status.textContent = t("Could not copy. Select the codes and copy them by hand.");
            });
          }
        }, t("Copy")) : null;
        return [
          h('ul', { class: 'usher-codes', dir: 'ltr', translate: 'no' }, codes.map(function (c) {
            return h('li', null, h('code', null, c));
          })),
          h('p', { class: 'usher-copy-line' }, copy, ' ', status)
        ];
      },
      submit: t("I have saved these codes"),
      cancel: null,
      onSubmit: function (v, ctx) { ctx.done(true); }
    });
  }

  // ----------------------------------------------------------------- links

  // linkFlow acts on an e-mailed link's token from the page's fragment.
  async function linkFlow(m, kind, token) {
    if (kind === 'confirm') {
      try {
        var d = await api('POST', '/confirm-email', { token: token });
        var user = d.session ? await verifiedUser(m) : null;
        await noticeView(m, 'confirmed', t("Email address confirmed"), [
          t("Thank you: your email address is confirmed."),
          user ? t("You are now logged in.") : t("You can now log in.")
        ]);
        return user;
      } catch (e) {
        if (!(e instanceof UsherError)) { throw e; }
        await noticeView(m, 'link-error', t("Email address not confirmed"), e.message);
        return null;
      }
    }
    if (kind === 'reset') {
      var r = await formView(m, {
        name: 'reset-password',
        title: t("Choose a new password"),
        fields: newPasswordFields('new_password'),
        match: ['new_password', 'retype_password'],
        aliases: { password: 'new_password' },
        submit: t("Save password"),
        cancel: t("Cancel"),
        onSubmit: async function (v, ctx) {
          try {
            ctx.done(await api('POST', '/password-reset/confirm', { token: token, new_password: v.new_password }));
          } catch (e) {
            if (e.code === 'invalid_token') {
              ctx.done({ error: e });
              return;
            }
            throw e;
          }
        }
      });
      if (r === CANCEL) {
        return null;
      }
      if (r.error) {
        await noticeView(m, 'link-error', t("Password not changed"), r.error.message);
        return null;
      }
      var u = r.session ? await verifiedUser(m) : null;
      await noticeView(m, 'password-reset-done', t("Password changed"), [
        t("Your password has been changed."),
        u ? t("You are now logged in.") : t("You can now log in with your new password.")
      ]);
      return u;
    }
    // kind === 'login'
    try {
      await api('POST', '/login-link/confirm', { token: token, remember: false });
      return await verifiedUser(m);
    } catch (e) {
      if (e.code === 'mfa_required' && e.data.mfa_enroll && e.data.mfa_token) {
        return enrollFlow(m, e, false);
      }
      if (e.code === 'mfa_required' && e.data.mfa_token) {
        var pending = e.data.mfa_token;
        var u2 = await mfaLoginFlow(m, e, function (mfa, rememberDevice) {
          return api('POST', '/mfa/login', { mfa_token: pending, mfa: mfa, remember: false, remember_device: rememberDevice });
        }, '');
        return u2 ? verifiedUser(m) : null;
      }
      if (e.code === 'password_reset_requested') {
        return forcedPasswordFlow(m, e);
      }
      if (!(e instanceof UsherError)) { throw e; }
      await noticeView(m, 'link-error', t("Log in"), e.message);
      return null;
    }
  }

  // E-mailed links reach a single-page app in the address's fragment (which
  // browsers never send to servers): #usher-confirm=TOKEN, or the form the
  // server writes when its link_prefix holds a fragment, such as
  // link_prefix = "/#usher" → /#usher/confirm-email/TOKEN. The server names
  // those paths (link_paths of GET {prefix}/api/i18n: path → kind), so they
  // are known once the config is loaded.
  var LINK_RE = /^#usher-(confirm|reset|login)=([^&]+)/;
  var PATH_RE = /^#.*(\/[A-Za-z0-9._~-]+)\/([A-Za-z0-9_-]+)$/;
  function parseLink(hash) {
    var m = LINK_RE.exec(hash);
    if (m) {
      return { kind: m[1], token: m[2] };
    }
    m = PATH_RE.exec(hash);
    var kind = m && Object.prototype.hasOwnProperty.call(config.link_paths, m[1]) ? config.link_paths[m[1]] : '';
    return kind === 'confirm' || kind === 'reset' || kind === 'login' ? { kind: kind, token: m[2] } : null;
  }
  var linksPromise = null;

  function clearFragment() {
    if (parseLink(location.hash) && window.history && history.replaceState) {
      history.replaceState(history.state, document.title, location.pathname + location.search);
    }
  }

  // ------------------------------------------------------------ public API

  // exclusive runs dialog flows one after the other: one dialog at a time.
  var queue = Promise.resolve();
  function exclusive(fn) {
    var run = queue.then(function () { return fn(); });
    queue = run.then(function () {}, function () {});
    return run;
  }

  async function withModal(fn) {
    await prepare();
    var m = new Modal();
    try {
      return await fn(m);
    } finally {
      m.close();
    }
  }

  // options accepts camelCase and Anvil's snake_case names.
  function options(defaults, given) {
    var out = Object.assign({}, defaults);
    Object.keys(given || {}).forEach(function (k) {
      var camel = k.replace(/_([a-z])/g, function (_, c) { return c.toUpperCase(); });
      out[camel] = given[k];
    });
    return out;
  }

  // ------------------------------------------------------ federated sign-in

  // POPUP_DONE is the page a sign-in in a popup ends on: it tells the
  // opener (postMessage to this origin only, and a BroadcastChannel, since
  // a provider's Cross-Origin-Opener-Policy may cut the popup from its
  // opener) and closes itself.
  var POPUP_DONE = PREFIX + '/static/usher-popup.html';
  var POPUP_CHANNEL = 'usher-federated';

  // providerURL returns the start of a sign-in at provider name.
  function providerURL(name, intent, next, remember) {
    var q = [];
    if (intent !== 'login') {
      q.push('intent=' + encodeURIComponent(intent));
    }
    q.push('next=' + encodeURIComponent(next));
    if (remember) {
      q.push('remember=1');
    }
    return PREFIX + '/federated/' + encodeURIComponent(name) + '/start?' + q.join('&');
  }

  // here is the page's own address as a path on this site, where a
  // redirected sign-in comes back to.
  function here() {
    return location.pathname + location.search + location.hash;
  }

  // withProvider signs in at provider name for intent (login or signup):
  // by default the page goes to the provider and comes back to next (the
  // returned Promise never settles: the page is gone); with popup: true
  // in a popup, resolving with the user when it is done, or null when it
  // is closed without signing in (a blocked popup falls back to the
  // redirect).
  function withProvider(name, intent, opts) {
    var o = options({ popup: false, next: null, remember: true }, opts);
    if (typeof name !== 'string' || !name) {
      return Promise.reject(new TypeError('usher: a provider name is needed'));
    }
    var remember = !!o.remember && config.remember_me !== false;
    if (!o.popup) {
      location.assign(providerURL(name, intent, o.next || here(), remember));
      return new Promise(function () {});
    }
    var id = Math.random().toString(36).slice(2) + Date.now().toString(36);
    var url = providerURL(name, intent, POPUP_DONE + '?id=' + encodeURIComponent(id), remember);
    var win = window.open(url, 'usher-' + id, 'popup,width=520,height=680');
    if (!win) {
      location.assign(providerURL(name, intent, o.next || here(), remember));
      return new Promise(function () {});
    }
    return new Promise(function (resolve) {
      var channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(POPUP_CHANNEL) : null;
      var finished = false;
      var timer = null;
      function finish() {
        if (finished) {
          return;
        }
        finished = true;
        window.removeEventListener('message', onMessage);
        window.removeEventListener('focus', onFocus);
        if (channel) {
          channel.close();
        }
        clearInterval(timer);
        usher.getUser().then(resolve, function () { resolve(null); });
      }
      function done(data) {
        if (data && data.type === 'usher-federated-done' && data.id === id) {
          finish();
        }
      }
      // Only a message from this origin counts: any page may post to a
      // window.
      function onMessage(e) {
        if (e.origin === location.origin) {
          done(e.data);
        }
      }
      // A popup the user closed: once this window has the focus again and
      // the popup is gone, what the server says decides (a popup whose
      // opener was cut looks closed, so wait a little for its message).
      function onFocus() {
        setTimeout(function () {
          if (win.closed) {
            finish();
          }
        }, 1500);
      }
      window.addEventListener('message', onMessage);
      window.addEventListener('focus', onFocus);
      if (channel) {
        channel.onmessage = function (e) { done(e.data); };
      }
    });
  }

  var usher = {
    __usher: true,
    prefix: PREFIX,
    t: t,
    UsherError: UsherError,

    // loginWithForm shows the log-in dialog: the user, or null if cancelled.
    loginWithForm: function (opts) {
      var o = options({ allowCancel: false, showSignupOption: true, rememberByDefault: true, allowRememberMe: true }, opts);
      return exclusive(function () {
        return withModal(function (m) { return loginFlow(m, o); });
      });
    },

    // signupWithForm shows the sign-up dialog: the user if logged in after
    // signing up, else null.
    signupWithForm: function (opts) {
      var o = options({ allowCancel: false, rememberByDefault: true, allowRememberMe: true }, opts);
      return exclusive(function () {
        return withModal(async function (m) {
          var r = await signupFlow(m, o);
          return (r && r.user) || null;
        });
      });
    },

    // loginWithProvider logs in with the configured provider name
    // (Anvil's login_with_google and friends): {popup=false, next=this
    // page, remember=true}. See withProvider.
    loginWithProvider: function (name, opts) {
      return withProvider(name, 'login', opts);
    },

    // signupWithProvider signs up with provider name (Anvil's
    // signup_with_*): an address already registered is refused, on the
    // sign-up page (or in the popup).
    signupWithProvider: function (name, opts) {
      return withProvider(name, 'signup', opts);
    },

    // getUser is the logged-in user, or null.
    getUser: async function () {
      try {
        return await me();
      } catch (e) {
        if (e.code === 'password_reset_requested') {
          return null;
        }
        throw e;
      }
    },

    // logout ends the session.
    logout: async function () {
      await api('POST', '/logout');
      return true;
    },

    // changePasswordWithForm: true when changed, false when cancelled.
    changePasswordWithForm: function (opts) {
      var o = options({ allowCancel: true }, opts);
      return exclusive(function () {
        return withModal(function (m) { return changePasswordFlow(m, o); });
      });
    },

    // configureAccountWithForm: the account dialog; resolves with the user
    // when closed, or null (no dialog) when nobody is logged in.
    configureAccountWithForm: function () {
      return exclusive(function () {
        return withModal(accountFlow);
      });
    },

    // configureMfaWithForm: the two-factor set-up; true when something
    // changed.
    configureMfaWithForm: function (opts) {
      var o = options({ allowCancel: true }, opts);
      return exclusive(function () {
        return withModal(async function (m) {
          if (!(await me())) {
            return false;
          }
          return mfaSetupFlow(m, o);
        });
      });
    },

    // handleLinks acts on #usher-confirm=, #usher-reset= or #usher-login=
    // (or #.../confirm-email/TOKEN and the like) in the page's address: the user when logged in afterwards, else null.
    handleLinks: function () {
      if (linksPromise) {
        return linksPromise;
      }
      var hash = location.hash;
      if (!LINK_RE.test(hash) && !PATH_RE.test(hash)) {
        return Promise.resolve(null);
      }
      linksPromise = exclusive(async function () {
        await loadConfig(); // the paths of the fragment form
        var match = parseLink(hash);
        if (!match) {
          return null;
        }
        var token;
        try {
          token = decodeURIComponent(match.token);
        } catch (e) {
          token = match.token;
        }
        return withModal(function (m) { return linkFlow(m, match.kind, token); });
      }).then(function (u) {
        clearFragment();
        linksPromise = null;
        return u;
      }, function (e) {
        clearFragment();
        linksPromise = null;
        throw e;
      });
      return linksPromise;
    }
  };

  window.usher = usher;

  function autoLinks() {
    if (window.usherNoAutoLinks) {
      return;
    }
    usher.handleLinks().catch(function (e) {
      if (window.console) {
        console.error('usher:', e);
      }
    });
  }

  // A link pasted into a tab that has the app open already changes only
  // the fragment.
  window.addEventListener('hashchange', autoLinks);

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', autoLinks, { once: true });
  } else {
    setTimeout(autoLinks, 0);
  }
})();

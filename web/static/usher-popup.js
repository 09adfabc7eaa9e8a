/*
 * usher-popup.js: the end of a federated sign-in that usher.js opened in a
 * popup (usher.loginWithProvider(name, {popup: true})). It tells the page
 * that opened the popup, on this origin only, and closes the popup. The
 * message carries no secret: the opener asks the server who is logged in.
 */
(function () {
  'use strict';
  var id = new URLSearchParams(location.search).get('id') || '';
  var msg = { type: 'usher-federated-done', id: id };
  try {
    if (window.opener && window.opener !== window) {
      window.opener.postMessage(msg, location.origin);
    }
  } catch (e) { /* cut from its opener: the channel below */ }
  if (typeof BroadcastChannel === 'function') {
    var c = new BroadcastChannel('usher-federated');
    c.postMessage(msg);
    c.close();
  }
  setTimeout(function () { window.close(); }, 100);
})();

/* SignLink service worker — served at /sw.js. The server prepends
 *   const BUILD = "<hash of the shell>";  const PRECACHE = [...urls];
 * (backend/pwa.py), so every deploy that changes the shell changes these bytes.
 *
 * Only the app shell is ever cached: /static/*, the home page and the offline page.
 * Signing pages, page images, PDFs, /download, /api/* and /pki/* always go to the network
 * and never enter a cache — they hold documents and personal data.
 */
'use strict';

var CACHE = 'signlink-shell-' + BUILD;
var OFFLINE_URL = '/offline';
var HOME_URL = '/';
var SHELL = new Set(PRECACHE);
// not even handled: the browser deals with these as if there were no worker
var PASS_THROUGH = /^\/(api|pki)\/|\/download$|\.pdf$|^\/sw\.js$/i;

self.addEventListener('install', function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      // bypass the HTTP cache: the shell must be exactly this build's files
      return cache.addAll(PRECACHE.map(function (url) {
        return new Request(url, { cache: 'reload', credentials: 'same-origin' });
      }));
    })
  );
  // A first install activates on its own; an update waits for the page's confirmation
  // (SKIP_WAITING) or the next navigation, so a signer mid-step is never switched under.
});

self.addEventListener('activate', function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (key) {
        return key.indexOf('signlink-') === 0 && key !== CACHE;
      }).map(function (key) { return caches.delete(key); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener('message', function (event) {
  var data = event.data || {};
  if (data.type === 'SKIP_WAITING') {
    self.skipWaiting();
  } else if (data.type === 'REFRESH_OFFLINE') {
    // the page language changed: keep the offline page in the signer's language
    event.waitUntil(caches.open(CACHE).then(function (cache) {
      return cache.add(new Request(OFFLINE_URL, { cache: 'reload', credentials: 'same-origin' }));
    }));
  }
});

self.addEventListener('fetch', function (event) {
  var request = event.request;
  if (request.method !== 'GET') return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || PASS_THROUGH.test(url.pathname)) return;
  if (request.mode === 'navigate') {
    event.respondWith(page(request, url));
  } else if (url.pathname.indexOf('/static/') === 0 || SHELL.has(url.pathname)) {
    event.respondWith(shell(request));
  }
  // everything else (page images, htmx fragments, ...) goes to the network untouched
});

/* Pages: network first; offline, the home page from the cache or the offline page. */
function page(request, url) {
  activateWaitingVersion();
  return fetch(request).then(function (response) {
    if (url.pathname === HOME_URL && url.search === '' && response.ok) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { return cache.put(HOME_URL, copy); });
    }
    return response;
  }).catch(function () {
    return caches.open(CACHE).then(function (cache) {
      var home = url.pathname === HOME_URL ? cache.match(HOME_URL, { ignoreVary: true }) : Promise.resolve(undefined);
      return home.then(function (hit) { return hit || cache.match(OFFLINE_URL, { ignoreVary: true }); });
    }).then(function (hit) {
      return hit || new Response('offline', {
        status: 503, headers: { 'Content-Type': 'text/plain; charset=utf-8' }
      });
    });
  });
}

/* Shell files: from this build's cache, else the network (and keep the copy). */
function shell(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request, { ignoreVary: true }).then(function (hit) {
      if (hit) return hit;
      return fetch(request).then(function (response) {
        if (response.ok && response.type === 'basic') cache.put(request, response.clone());
        return response;
      });
    });
  });
}

/* A new version is waiting and the signer is moving to another page anyway: switch now,
   so nobody stays on an old version for longer than one page. */
function activateWaitingVersion() {
  var waiting = self.registration.waiting;
  if (waiting) waiting.postMessage({ type: 'SKIP_WAITING' });
}

// Atrium's browser enhancements. Every page works without this file; it adds the theme
// toggle, the phone navigation drawer, copy buttons, confirmation of destructive forms, a
// preview of a new profile picture and, for the social core, forms sent without a page load
// (the server answers with the re-rendered card), infinite scroll, and live updates over the
// streaming websocket. The CSP allows no inline code, so all behaviour is bound here to
// data-* attributes, mostly through listeners on the document so that cards inserted later
// work too.
(function () {
  'use strict';

  var root = document.documentElement;
  var THEME_KEY = 'atrium-theme';

  // Runs before the first paint (this file is loaded in <head>), so a saved theme never
  // flashes the other one first.
  root.classList.add('js');
  try {
    var saved = localStorage.getItem(THEME_KEY);
    if (saved === 'light' || saved === 'dark') root.setAttribute('data-theme', saved);
  } catch (e) { /* storage can be disabled; the system theme applies */ }

  function currentTheme() {
    var t = root.getAttribute('data-theme');
    if (t) return t;
    return window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  }

  function labelThemeButtons() {
    var next = currentTheme() === 'dark' ? 'light' : 'dark';
    document.querySelectorAll('[data-theme-toggle]').forEach(function (b) {
      var label = b.querySelector('.sr-only');
      if (label) label.textContent = 'Switch to ' + next + ' theme';
      b.setAttribute('aria-pressed', currentTheme() === 'dark' ? 'true' : 'false');
    });
  }

  function toggleTheme() {
    var next = currentTheme() === 'dark' ? 'light' : 'dark';
    root.setAttribute('data-theme', next);
    try { localStorage.setItem(THEME_KEY, next); } catch (e) { /* not persisted */ }
    labelThemeButtons();
  }

  function setupNav() {
    var btn = document.querySelector('[data-nav-toggle]');
    var nav = document.getElementById('sidenav');
    if (!btn || !nav) return;
    function set(open) {
      nav.classList.toggle('open', open);
      btn.setAttribute('aria-expanded', open ? 'true' : 'false');
    }
    btn.addEventListener('click', function () {
      var open = !nav.classList.contains('open');
      set(open);
      if (open) {
        var first = nav.querySelector('a');
        if (first) first.focus();
      }
    });
    document.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && nav.classList.contains('open')) { set(false); btn.focus(); }
    });
    document.addEventListener('click', function (e) {
      if (nav.classList.contains('open') && !nav.contains(e.target) && !btn.contains(e.target)) set(false);
    });
  }

  // Menus are <details>; close them on Escape or a click elsewhere, as menus do. Delegated,
  // so the menus of cards inserted later behave the same.
  function setupMenus() {
    document.addEventListener('click', function (e) {
      document.querySelectorAll('details[data-menu][open]').forEach(function (m) {
        if (!m.contains(e.target)) m.open = false;
      });
    });
    document.addEventListener('keydown', function (e) {
      if (e.key !== 'Escape') return;
      document.querySelectorAll('details[data-menu][open]').forEach(function (m) {
        m.open = false;
        m.querySelector('summary').focus();
      });
    });
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var ta = document.createElement('textarea');
      ta.value = text;
      ta.setAttribute('readonly', '');
      ta.className = 'sr-only';
      document.body.appendChild(ta);
      ta.select();
      var ok = false;
      try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
      document.body.removeChild(ta);
      if (ok) resolve(); else reject(new Error('copy failed'));
    });
  }

  function setupCopy() {
    document.querySelectorAll('[data-copy]').forEach(function (btn) {
      btn.addEventListener('click', function () {
        var field = document.getElementById(btn.getAttribute('data-copy'));
        if (!field) return;
        var original = btn.textContent;
        copyText(field.value).then(function () {
          btn.textContent = 'Copied';
        }, function () {
          field.select();
          btn.textContent = 'Press Ctrl+C';
        });
        setTimeout(function () { btn.textContent = original; }, 2000);
      });
    });
  }

  function setupConfirm() {
    document.addEventListener('submit', function (e) {
      var form = e.target;
      var msg = form.getAttribute && form.getAttribute('data-confirm');
      if (msg && !window.confirm(msg)) e.preventDefault();
    }, true);
  }

  function setupAvatarPreview() {
    var input = document.querySelector('[data-preview-input]');
    var preview = document.querySelector('[data-avatar-preview]');
    if (!input || !preview || !window.URL) return;
    var current = null;
    input.addEventListener('change', function () {
      if (current) URL.revokeObjectURL(current);
      current = null;
      var file = input.files && input.files[0];
      var existing = preview.parentNode.querySelector('.avatar:not([data-avatar-preview])');
      if (!file || file.type.indexOf('image/') !== 0) {
        preview.hidden = true;
        if (existing) existing.hidden = false;
        return;
      }
      current = URL.createObjectURL(file);
      preview.src = current;
      preview.hidden = false;
      if (existing) existing.hidden = true;
    });
  }

  // A label that repeats what is typed in another field: the group partner confirmation
  // names the host the admin is about to let read the group.
  function setupEcho() {
    document.querySelectorAll('[data-echo]').forEach(function (out) {
      var src = document.getElementById(out.getAttribute('data-echo'));
      if (!src) return;
      var fallback = out.textContent;
      function sync() { out.textContent = src.value.trim() || fallback; }
      src.addEventListener('input', sync);
      if (src.value.trim()) sync();
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    document.querySelectorAll('[data-theme-toggle]').forEach(function (b) {
      b.addEventListener('click', toggleTheme);
    });
    labelThemeButtons();
    setupNav();
    setupMenus();
    setupCopy();
    setupConfirm();
    setupAvatarPreview();
    setupEcho();
    if (window.fetch && window.FormData) {
      document.addEventListener('submit', onSubmit);
      document.addEventListener('click', onClick);
      document.addEventListener('keydown', onKey);
      setupComposer();
      setupMore();
      setupChat();
      setupLive();
    }
    setInterval(relTimes, 60000);
  });

  /* ---------------------------------------------------------------------------------- */
  /* The social core                                                                     */

  function meta(name) {
    var m = document.querySelector('meta[name="' + name + '"]');
    return m ? m.getAttribute('content') : '';
  }

  function parseHTML(html) {
    var t = document.createElement('template');
    t.innerHTML = html.trim();
    return t.content;
  }

  // request fetches with the headers that make the server answer with a fragment.
  function request(url, opts) {
    opts = opts || {};
    opts.credentials = 'same-origin';
    opts.headers = { 'X-Requested-With': 'fetch', 'X-CSRF-Token': meta('csrf-token') };
    return fetch(url, opts).then(function (r) {
      return r.text().then(function (t) {
        return { ok: r.ok, status: r.status, text: t, field: r.headers.get('X-Error-Field') || '' };
      });
    });
  }

  function errorText(res) {
    var fallback = res.status ? 'That did not work (' + res.status + '). Try again.' : 'The network is unreachable. Try again.';
    if (!res.text) return fallback;
    var doc = parseHTML(res.text);
    var el = doc.querySelector('[role="alert"]') || doc.querySelector('.error-card h1 + p');
    return el ? el.textContent.trim() : fallback;
  }

  function toast(text, href) {
    var box = document.querySelector('[data-toasts]');
    if (!box) return;
    var el = document.createElement(href ? 'a' : 'p');
    el.className = 'toast';
    el.textContent = text;
    if (href) el.href = href;
    box.appendChild(el);
    setTimeout(function () {
      el.classList.add('out');
      setTimeout(function () { el.remove(); }, 400);
    }, 6000);
  }

  function showError(form, res) {
    var msg = errorText(res);
    var slot = form.querySelector('[data-form-error]');
    if (!slot) { toast(msg); return; }
    slot.textContent = '';
    var a = document.createElement('div');
    a.className = 'alert';
    a.setAttribute('role', 'alert');
    a.textContent = msg;
    slot.appendChild(a);
    var field = res.field && form.querySelector('[name="' + res.field + '"]');
    if (field) {
      field.setAttribute('aria-invalid', 'true');
      field.focus();
    }
  }

  function clearError(form) {
    var slot = form.querySelector('[data-form-error]');
    if (slot) slot.textContent = '';
    form.querySelectorAll('[aria-invalid]').forEach(function (f) { f.removeAttribute('aria-invalid'); });
  }

  // swap replaces a card (or follow box) with the server's new rendering of it, keeping a
  // comment being written.
  function swap(root, html) {
    var fresh = parseHTML(html).firstElementChild;
    if (!fresh) return null;
    var oldText = root.querySelector('.comment-form textarea');
    var oldReply = root.querySelector('[data-reply-target]');
    root.replaceWith(fresh);
    var text = fresh.querySelector('.comment-form textarea');
    if (oldText && text && oldText.value && !text.value) {
      text.value = oldText.value;
      var reply = fresh.querySelector('[data-reply-target]');
      var replying = fresh.querySelector('[data-replying]');
      if (oldReply && reply && oldReply.value && replying) {
        reply.value = oldReply.value;
        replying.hidden = false;
        replying.querySelector('[data-replying-name]').textContent =
          oldReply.form.querySelector('[data-replying-name]').textContent;
      }
    }
    return fresh;
  }

  function refocus(root, key) {
    if (!root) return;
    var el = key && root.querySelector('[data-k="' + key + '"]');
    (el || root).focus();
  }

  function removeCard(card, msg) {
    var next = card.nextElementSibling && card.nextElementSibling.matches('[data-card]') ? card.nextElementSibling : card.previousElementSibling;
    var section = card.closest('.announcements');
    var hadFocus = card.contains(document.activeElement);
    card.remove();
    if (section && !section.querySelector('[data-card]')) section.remove();
    if (msg) toast(msg);
    if (hadFocus) {
      if (next && next.matches('[data-card]')) next.focus();
      else document.getElementById('main').focus();
    }
  }

  function onSubmit(e) {
    var form = e.target;
    if (e.defaultPrevented || !form.matches || !form.matches('[data-ajax], [data-compose]')) return;
    e.preventDefault();
    if (form.getAttribute('aria-busy') === 'true') return;
    var btn = e.submitter;
    var fd = new FormData(form);
    if (btn && btn.name) fd.append(btn.name, btn.value);
    var key = btn && btn.getAttribute('data-k');
    var isComment = form.classList.contains('comment-form');
    if (isComment) key = 'comment';
    if (form.classList.contains('edit-form')) key = 'more';
    var buttons = form.querySelectorAll('button[type="submit"]');
    form.setAttribute('aria-busy', 'true');
    buttons.forEach(function (b) { b.disabled = true; });
    var done = function () {
      form.removeAttribute('aria-busy');
      buttons.forEach(function (b) { b.disabled = false; });
    };
    request(form.action, { method: 'POST', body: fd }).then(function (res) {
      done();
      if (!res.ok) { showError(form, res); return; }
      if (form.hasAttribute('data-compose')) { composed(form, res.text); return; }
      var root = form.closest('[data-swap]');
      if (!root) return;
      if (form.hasAttribute('data-remove') || !res.text.trim()) { removeCard(root, form.getAttribute('data-done') || 'Done.'); return; }
      if (isComment) form.reset(); // sent: the draft must not be carried into the new card
      refocus(swap(root, res.text), key);
      if (isComment) toast('Comment posted.');
    }, function () {
      done();
      showError(form, { status: 0 });
    });
  }

  function composed(form, html) {
    var card = parseHTML(html).firstElementChild;
    var feed = document.querySelector('[data-feed]');
    form.reset();
    clearError(form);
    if (card && feed) {
      var empty = feed.querySelector('[data-empty]');
      if (empty) empty.remove();
      feed.insertBefore(card, feed.firstChild);
      live.drop(card.getAttribute('data-card'));
      card.focus();
    }
    toast('Posted.');
  }

  function setupComposer() {
    var form = document.querySelector('[data-compose]');
    if (!form) return;
    var aud = form.querySelector('[data-audience]');
    var people = form.querySelector('[data-people-field]');
    var imp = form.querySelector('[data-important]');
    var until = form.querySelector('[data-until]');
    var files = form.querySelector('[data-files]');
    var box = form.querySelector('[data-previews]');
    var urls = [];
    function sync() {
      if (aud && people) people.hidden = aud.value !== 'direct';
      if (imp && until) until.hidden = !imp.checked;
    }
    function previews() {
      urls = drawPreviews(files, box, urls);
      var list = files && files.files ? files.files : [];
      if (list.length > 4) showError(form, { status: 422, text: '<p role="alert">Attach at most 4 files.</p>', field: 'files' });
      else clearError(form);
    }
    form.addEventListener('change', function (e) {
      sync();
      if (e.target === files) previews();
    });
    form.addEventListener('reset', function () { setTimeout(function () { sync(); previews(); }, 0); });
    var ta = form.querySelector('textarea');
    if (ta) ta.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); submit(form); }
    });
    sync();
  }

  // drawPreviews shows the files chosen in input as thumbnails (or names) in box, freeing
  // the object URLs of the previous ones; it returns the new URLs.
  function drawPreviews(input, box, urls) {
    urls.forEach(function (u) { URL.revokeObjectURL(u); });
    var out = [];
    box.textContent = '';
    var list = input && input.files ? Array.prototype.slice.call(input.files) : [];
    box.hidden = list.length === 0;
    list.forEach(function (f) {
      var fig = document.createElement('figure');
      fig.className = 'preview';
      if (/^image\//.test(f.type) && window.URL) {
        var u = URL.createObjectURL(f);
        out.push(u);
        var img = document.createElement('img');
        img.src = u;
        img.alt = '';
        fig.appendChild(img);
      } else {
        fig.classList.add('doc');
      }
      var cap = document.createElement('figcaption');
      cap.textContent = f.name + ' · ' + sizeText(f.size);
      fig.appendChild(cap);
      box.appendChild(fig);
    });
    return out;
  }

  function submit(form) {
    if (form.requestSubmit) form.requestSubmit();
    else form.dispatchEvent(new Event('submit', { cancelable: true, bubbles: true }));
  }

  function sizeText(n) {
    if (n < 1024) return n + ' B';
    if (n < 1048576) return Math.round(n / 1024) + ' KB';
    return (n / 1048576).toFixed(1) + ' MB';
  }

  // Enter sends a comment (Shift+Enter starts a new line), as in every chat box.
  function onKey(e) {
    var t = e.target;
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && t.matches && t.matches('.comment-form textarea')) {
      e.preventDefault();
      if (t.value.trim()) submit(t.form);
    }
  }

  function commentBox(card) {
    return card && card.querySelector('.comment-form textarea');
  }

  function onClick(e) {
    var t = e.target.closest ? e.target.closest('a, button') : null;
    if (!t || e.defaultPrevented || e.button || e.ctrlKey || e.metaKey || e.shiftKey) return;
    var card = t.closest('[data-card]');
    if (t.hasAttribute('data-reply') && card) {
      e.preventDefault();
      var form = card.querySelector('.comment-form');
      form.querySelector('[data-reply-target]').value = t.getAttribute('data-reply');
      var r = form.querySelector('[data-replying]');
      r.hidden = false;
      r.querySelector('[data-replying-name]').textContent = t.getAttribute('data-reply-name');
      commentBox(card).focus();
    } else if (t.hasAttribute('data-reply-cancel') && card) {
      e.preventDefault();
      card.querySelector('[data-reply-target]').value = '';
      card.querySelector('[data-replying]').hidden = true;
      commentBox(card).focus();
    } else if (t.hasAttribute('data-focus-comment') && card) {
      e.preventDefault();
      commentBox(card).focus();
    } else if (t.hasAttribute('data-expand') && card) {
      e.preventDefault();
      t.textContent = 'Loading…';
      request(t.getAttribute('data-expand')).then(function (res) {
        if (!res.ok) { location.href = t.href; return; }
        var fresh = swap(card, res.text);
        var list = fresh && fresh.querySelector('.comment-list');
        if (list) { list.tabIndex = -1; list.focus(); }
      });
    } else if (t.hasAttribute('data-edit') && card) {
      e.preventDefault();
      startEdit(t, card);
    } else if (t.hasAttribute('data-edit-cancel')) {
      var body = t.closest('[data-post-body]');
      if (body && body.savedHTML != null) {
        e.preventDefault();
        body.innerHTML = body.savedHTML;
        body.savedHTML = null;
        refocus(card, 'more');
      }
    } else if (t.hasAttribute('data-more')) {
      e.preventDefault();
      loadMore(t);
    } else if (t.hasAttribute('data-new-pill')) {
      live.show();
    }
  }

  function startEdit(link, card) {
    var body = card.querySelector('[data-post-body]');
    var menu = link.closest('details');
    if (menu) menu.open = false;
    if (!body || body.savedHTML != null) return;
    request(link.getAttribute('data-edit')).then(function (res) {
      if (!res.ok) { toast(errorText(res)); return; }
      body.savedHTML = body.innerHTML;
      body.innerHTML = res.text;
      var ta = body.querySelector('textarea');
      if (ta) { ta.focus(); ta.setSelectionRange(ta.value.length, ta.value.length); }
    });
  }

  /* Infinite scroll: the "Load more" link loads the next page in place once it nears the
     viewport; without IntersectionObserver a click does the same. */
  var moreObserver = null;

  function setupMore() {
    if ('IntersectionObserver' in window) {
      moreObserver = new IntersectionObserver(function (entries) {
        entries.forEach(function (en) { if (en.isIntersecting) loadMore(en.target); });
      }, { rootMargin: '600px 0px' });
    }
    observeMore(document);
  }

  function observeMore(root) {
    if (!moreObserver) return;
    root.querySelectorAll('[data-more]').forEach(function (a) { moreObserver.observe(a); });
  }

  function loadMore(a) {
    if (a.getAttribute('aria-busy') === 'true') return;
    a.setAttribute('aria-busy', 'true');
    a.textContent = 'Loading…';
    if (moreObserver) moreObserver.unobserve(a);
    var wrap = a.closest('[data-more-wrap]');
    request(a.getAttribute('data-more')).then(function (res) {
      if (!res.ok) throw new Error(res.status);
      var frag = parseHTML(res.text);
      frag.querySelectorAll('[data-card]').forEach(function (c) {
        if (document.querySelector('[data-card="' + c.getAttribute('data-card') + '"]:not([data-pinned])')) c.remove();
      });
      var feed = wrap.parentNode;
      feed.insertBefore(frag, wrap);
      wrap.remove();
      observeMore(feed);
    }).catch(function () {
      a.removeAttribute('aria-busy');
      a.textContent = 'Load more';
    });
  }

  function relText(iso) {
    var s = (Date.now() - Date.parse(iso)) / 1000;
    if (isNaN(s)) return '';
    if (s < 60) return 'just now';
    if (s < 3600) return Math.floor(s / 60) + ' min';
    if (s < 86400) return Math.floor(s / 3600) + ' h';
    if (s < 604800) return Math.floor(s / 86400) + ' d';
    return '';
  }

  function relTimes() {
    document.querySelectorAll('time[data-rel]').forEach(function (t) {
      var v = relText(t.getAttribute('datetime'));
      if (v) t.textContent = v;
    });
  }

  /* Live updates: one websocket per tab on the Mastodon streaming API. New posts wait
     behind a "N new posts" button so the page never moves under the reader; changed posts
     are re-fetched in place; the bell's count follows the server. If the socket cannot be
     had, it retries with exponential backoff and meanwhile polls the unread count. */
  var live = { drop: function () {}, show: function () {} };

  function setupLive() {
    if (!meta('atrium-user') || !window.WebSocket) return;
    var queue = [];
    var seen = {};
    var attempts = 0;
    var failures = 0;
    var everOpen = false;
    var pollTimer = null;
    var pill = document.querySelector('[data-new-pill]');
    var feed = document.querySelector('[data-feed][data-live]');

    function syncBadge() {
      chat.badge();
      request('/api/v1/notifications/unread_count').then(function (res) {
        if (!res.ok) return;
        try { setBadge(JSON.parse(res.text).count); } catch (e) { /* ignore */ }
      }, function () {});
    }
    function startPoll() {
      if (!pollTimer) pollTimer = setInterval(syncBadge, 60000);
    }
    function stopPoll() {
      if (pollTimer) clearInterval(pollTimer);
      pollTimer = null;
    }
    function connect() {
      var ws;
      var opened = false;
      try {
        ws = new WebSocket((location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + '/api/v1/streaming?stream=user');
      } catch (e) { retry(); return; }
      ws.onopen = function () {
        opened = true;
        root.setAttribute('data-live', 'open'); // for styles and tests: live updates flow
        attempts = 0;
        failures = 0;
        stopPoll();
        try { ws.send(JSON.stringify({ type: 'subscribe', stream: 'user:notification' })); } catch (e) { /* closed */ }
        if (everOpen) syncBadge(); // events may have been missed while disconnected
        everOpen = true;
        // Chats catch up on every open, the first too: messages sent between drawing the
        // page and opening the socket came as events nobody heard.
        chat.resync();
      };
      ws.onmessage = function (m) {
        var msg;
        try { msg = JSON.parse(m.data); } catch (e) { return; }
        handle(msg);
      };
      ws.onclose = function () {
        root.removeAttribute('data-live');
        if (!opened) failures++;
        retry();
      };
    }
    function retry() {
      attempts++;
      if (failures >= 2) startPoll();
      var cap = failures >= 3 ? 300000 : 60000;
      var delay = Math.min(cap, 1000 * Math.pow(2, Math.min(attempts, 9)));
      setTimeout(connect, delay / 2 + Math.random() * delay / 2);
    }
    function handle(msg) {
      var data = msg.payload;
      if (typeof data === 'string') {
        try { data = JSON.parse(data); } catch (e) { /* a bare id */ }
      }
      switch (msg.event) {
        case 'update': onUpdate(data); break;
        case 'status.update': onChanged(data); break;
        case 'delete': onDeleted(String(data)); break;
        case 'notification': onNotification(data); break;
        case 'atrium.badge': if (data && typeof data.notifications === 'number') setBadge(data.notifications); break;
        default:
          if (typeof msg.event === 'string' && msg.event.indexOf('atrium.chat.') === 0) chat.event(msg.event, data);
      }
    }
    function cardsFor(attr, id) {
      if (!/^[0-9A-Za-z]+$/.test(id || '')) return [];
      return Array.prototype.slice.call(document.querySelectorAll('[' + attr + '="' + id + '"]'));
    }
    function onUpdate(st) {
      if (!feed || !st || !st.id) return;
      if (cardsFor('data-card', st.id).length || st.reblog && cardsFor('data-post', st.reblog.id).length) return;
      if (queue.indexOf(st.id) < 0) queue.push(st.id);
      updatePill();
    }
    function updatePill() {
      if (!pill) return;
      pill.hidden = queue.length === 0;
      pill.textContent = '↑ ' + (queue.length === 1 ? '1 new post' : queue.length + ' new posts');
    }
    live.drop = function (id) {
      queue = queue.filter(function (q) { return q !== id; });
      updatePill();
    };
    live.show = function () {
      var ids = queue.slice();
      queue = [];
      updatePill();
      Promise.all(ids.map(function (id) {
        return request('/posts/' + id + '/card').then(function (r) { return r.ok ? r.text : ''; }, function () { return ''; });
      })).then(function (texts) {
        var first = null;
        texts.forEach(function (t) {
          var card = t && parseHTML(t).firstElementChild;
          if (!card || cardsFor('data-card', card.getAttribute('data-card')).length) return;
          var empty = feed.querySelector('[data-empty]');
          if (empty) empty.remove();
          feed.insertBefore(card, feed.firstChild);
          first = card;
        });
        if (first) {
          first.scrollIntoView({ block: 'start' });
          first.focus({ preventScroll: true });
        }
      });
    };
    function onChanged(st) {
      if (!st || !st.id) return;
      var thread = st.atrium && st.atrium.thread_id || st.id;
      var cards = cardsFor('data-post', thread).concat(cardsFor('data-card', st.id));
      cards.filter(function (c, i) { return cards.indexOf(c) === i; }).forEach(refresh);
    }
    function onDeleted(id) {
      live.drop(id);
      cardsFor('data-card', id).forEach(function (c) { removeCard(c); });
      cardsFor('data-comment', id).forEach(function (c) { refresh(c.closest('[data-card]')); });
    }
    function refresh(card) {
      if (!card || !card.isConnected) return;
      // Never pull the card from under someone editing it or using one of its menus.
      if (card.querySelector('.edit-form, details[open]') || card.getAttribute('aria-busy') === 'true') {
        setTimeout(function () { refresh(card); }, 5000);
        return;
      }
      var q = [];
      if (card.hasAttribute('data-full')) q.push('full=1');
      if (card.hasAttribute('data-pinned')) q.push('pinned=1');
      card.setAttribute('aria-busy', 'true');
      request('/posts/' + card.getAttribute('data-card') + '/card' + (q.length ? '?' + q.join('&') : '')).then(function (res) {
        card.removeAttribute('aria-busy');
        if (res.status === 404) { removeCard(card); return; }
        if (!res.ok || !card.isConnected) return;
        var active = document.activeElement;
        var key = card.contains(active) && active.getAttribute('data-k');
        var caret = active && active.tagName === 'TEXTAREA' ? active.selectionStart : -1;
        var fresh = swap(card, res.text);
        if (key) {
          refocus(fresh, key);
          var ta = fresh && fresh.querySelector('[data-k="' + key + '"]');
          if (ta && caret >= 0 && ta.setSelectionRange) ta.setSelectionRange(caret, caret);
        }
      }, function () { card.removeAttribute('aria-busy'); });
    }
    function onNotification(n) {
      if (!n || !n.id || seen[n.id]) return;
      seen[n.id] = true;
      // Count up at once; an exact "atrium.badge" count may follow and wins.
      var shown = document.querySelector('[data-badge]:not([hidden]) [data-badge-n]');
      setBadge((shown ? parseInt(shown.textContent, 10) || 0 : 0) + 1);
      var who = n.account && (n.account.display_name || n.account.username) || 'Someone';
      var what = {
        mention: 'mentioned you', comment: 'commented on a conversation you are in', favourite: 'reacted to your post',
        reblog: 'shared your post', follow: 'started following you', announcement: 'posted an announcement',
        group_request: 'asked to join a group you manage', group_invite: 'invited you to a group',
        group_approved: 'let you into a group', group_post: 'posted in a group you follow closely'
      }[n.atrium_kind || n.type] || 'has news for you';
      toast(who + ' ' + what + '.', '/notifications');
    }
    connect();
  }

  function setBadge(n) {
    document.querySelectorAll('[data-badge]').forEach(function (b) {
      b.hidden = !(n > 0);
      var t = b.querySelector('[data-badge-n]');
      if (t) t.textContent = n > 99 ? '99+' : String(n);
    });
    var bell = document.querySelector('[data-bell]');
    if (bell) bell.title = n > 0 ? 'Notifications: ' + n + ' unread' : 'Notifications';
  }

  /* ---------------------------------------------------------------------------------- */
  /* Chat                                                                                */

  /* The chat page (list and open chat), the navigation's chat badge and its popover. Live
     events reach chat.event from the tab's one socket (setupLive). A message event only
     starts sync(), which asks /chat/:id/changes?since_seq= for every message changed after
     the last change applied and puts each in place by its id, keeping its newest rendering
     (data-seq): live updates and the catch-up after a reconnect are one path, and no message
     is lost or shown twice. The server draws every message; this code only places them. */
  var chat = { event: function () {}, resync: function () {}, badge: function () {} };

  function idOK(id) { return /^[0-9A-Za-z]+$/.test(id || ''); }

  function setupChat() {
    var me = meta('atrium-user');
    if (!me) return;
    var any = document.querySelector('[data-chat]');
    var current = any ? any.getAttribute('data-chat') : '';
    // Search results and older pages drawn without script are not live: no pane then.
    var pane = document.querySelector('[data-chat]:not([data-chat-static])');
    var chatID = pane ? current : '';
    var box = pane && pane.querySelector('[data-chat-messages]');
    var scroller = pane && pane.querySelector('[data-chat-scroll]');
    var jump = pane && pane.querySelector('[data-chat-jump]');
    var list = document.querySelector('[data-chat-list]');
    var dock = document.querySelector('[data-chat-dock]');
    var dockPanel = dock && dock.querySelector('[data-chat-dock-panel]');
    var known = pane ? parseInt(pane.getAttribute('data-seq'), 10) || 0 : 0;
    var readUpTo = pane ? pane.getAttribute('data-last-read') || '' : '';
    var syncing = false;
    var again = false;
    var gone = false;
    var atBottom = true;
    var loadingOlder = false;
    var typers = {};
    var info = {};
    var timers = {};
    var urls = [];
    var lastTyping = 0;

    // soon runs fn once after ms, however often it is asked for meanwhile.
    function soon(key, fn, ms) {
      if (timers[key]) return;
      timers[key] = setTimeout(function () { timers[key] = null; fn(); }, ms);
    }

    function badge() {
      request('/api/v1/chats/unread_count').then(function (res) {
        if (!res.ok) return;
        var n;
        try { n = JSON.parse(res.text).count; } catch (e) { return; }
        document.querySelectorAll('[data-chat-badge]').forEach(function (b) {
          b.hidden = !(n > 0);
          var t = b.querySelector('[data-chat-badge-n]');
          if (t) t.textContent = n > 99 ? '99+' : String(n);
        });
      }, function () {});
    }

    // fill replaces el's content with the fragment at url, keeping focus on the same row.
    function fill(el, url) {
      request(url).then(function (res) {
        if (!res.ok) return;
        var a = document.activeElement;
        var row = el.contains(a) && a.getAttribute('data-chat-row');
        el.textContent = '';
        el.appendChild(parseHTML(res.text));
        notifyButtons();
        if (idOK(row) && (a = el.querySelector('[data-chat-row="' + row + '"]'))) a.focus();
      }, function () {});
    }

    function refreshList() {
      if (list) fill(list, '/chat/list' + (current ? '?current=' + current : ''));
      if (dock && dock.open) fill(dockPanel, '/chat/dock');
    }

    // later refreshes the list and the badge once events settle.
    function later() {
      soon('list', refreshList, 250);
      soon('badge', badge, 250);
    }

    function notifyButtons() {
      var ask = 'Notification' in window && Notification.permission === 'default';
      document.querySelectorAll('[data-chat-notify]').forEach(function (b) { b.hidden = !ask; });
    }

    // Desktop notifications: only while the tab is hidden, for chats not muted, once the
    // person allowed them with the button.
    function chatInfo(id) {
      if (!info[id]) {
        info[id] = request('/api/v1/chats/' + id).then(function (res) {
          if (!res.ok) return null;
          var c = JSON.parse(res.text);
          var title = c.name || (c.accounts || []).map(function (a) { return a.display_name || a.username; }).join(', ') || 'Chat';
          return { muted: !!c.muted, title: title };
        }).catch(function () { delete info[id]; return null; });
      }
      return info[id];
    }

    function desktop(d) {
      if (!('Notification' in window) || Notification.permission !== 'granted' || !document.hidden) return;
      var m = d.message;
      if (!m) return;
      chatInfo(d.chat_id).then(function (c) {
        if (!c || c.muted) return;
        var who = m.account && (m.account.display_name || m.account.username) || 'Someone';
        var text = String(m.text || '').trim() || ((m.media_attachments || []).length ? 'Sent a file' : '');
        try {
          var n = new Notification(c.title, { body: (c.title === who ? '' : who + ': ') + text.slice(0, 200), tag: 'atrium-chat-' + d.chat_id });
          n.onclick = function () { window.focus(); location.href = '/chat/' + d.chat_id; n.close(); };
        } catch (e) { /* some browsers show notifications only from a service worker */ }
      });
    }

    /* The open chat */

    function msgs() { return box.querySelectorAll('[data-msg]'); }
    function seqOf(el) { return parseInt(el.getAttribute('data-seq'), 10) || 0; }
    function nearBottom() { return !scroller || scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80; }
    function toBottom() { if (scroller) scroller.scrollTop = scroller.scrollHeight; atBottom = true; }

    // put places a message drawn by the server: in place of an older rendering of it, or
    // among the others by id (ids follow time). It returns whether the message is new here.
    function put(el, force) {
      var id = el.getAttribute('data-msg');
      if (!idOK(id)) return false;
      var old = box.querySelector('[data-msg="' + id + '"]');
      if (old) {
        if (seqOf(el) < seqOf(old)) return false;
        // Never pull a message from under someone editing it or choosing a reaction.
        if (!force && old.querySelector('.chat-edit-form, details[open]')) { old.pending = el; return false; }
        var focused = old.contains(document.activeElement);
        old.replaceWith(el);
        if (focused) el.focus({ preventScroll: true });
        return false;
      }
      var all = msgs();
      // Older than the oldest shown while older pages remain: it comes with its page.
      if (all.length && id < all[0].getAttribute('data-msg') && pane.querySelector('[data-chat-older]')) return false;
      var before = null;
      for (var i = all.length - 1; i >= 0 && all[i].getAttribute('data-msg') > id; i--) before = all[i];
      var none = box.querySelector('[data-chat-none]');
      if (none) none.remove();
      box.insertBefore(el, before);
      return true;
    }

    // tidy draws the day separators again after messages came or moved (each message
    // carries its day, as the server sees it in the reader's time zone).
    function tidy() {
      box.querySelectorAll('.chat-day').forEach(function (d) { d.remove(); });
      var prev = '';
      msgs().forEach(function (m) {
        var k = m.getAttribute('data-day');
        if (k === prev) return;
        prev = k;
        var li = document.createElement('li');
        li.className = 'chat-day';
        li.appendChild(document.createElement('span')).textContent = m.getAttribute('data-day-label');
        box.insertBefore(li, m);
      });
      seen();
    }

    // seen says who has read the last message (its author and the reader aside), from how
    // far each member has read.
    function seen() {
      var el = pane.querySelector('[data-chat-seen]');
      if (!el) return;
      var all = msgs();
      var last = all[all.length - 1];
      var names = [];
      var others = 0;
      if (last) {
        pane.querySelectorAll('[data-member]').forEach(function (m) {
          var who = m.getAttribute('data-member');
          if (who === me || who === last.getAttribute('data-author')) return;
          others++;
          if ((m.getAttribute('data-last-read') || '') >= last.getAttribute('data-msg')) names.push(m.getAttribute('data-name'));
        });
      }
      el.textContent = !names.length ? '' : names.length === others && others > 2 ? 'Seen by everyone' : 'Seen by ' + names.join(', ');
    }

    function showTyping() {
      var el = pane.querySelector('[data-chat-typing]');
      if (!el) return;
      var names = Object.keys(typers).map(function (k) { return typers[k].name; });
      el.textContent = !names.length ? '' : names.length === 1 ? names[0] + ' is typing…' :
        names.length === 2 ? names[0] + ' and ' + names[1] + ' are typing…' : 'Several people are typing…';
      if (atBottom) toBottom();
    }

    function typing(d) {
      var id = d.account_id;
      if (!id || id === me) return;
      if (typers[id]) clearTimeout(typers[id].timer);
      typers[id] = { name: d.display_name || d.acct || 'Someone', timer: setTimeout(function () { delete typers[id]; showTyping(); }, 5000) };
      showTyping();
    }

    function announce(el) {
      var live = pane.querySelector('[data-chat-announce]');
      if (!live) return;
      var who = el.querySelector('.chat-msg-author');
      var body = el.querySelector('.chat-bubble');
      live.textContent = (who ? who.textContent : 'Someone') + ': ' + (body ? body.textContent.replace(/\s+/g, ' ').trim().slice(0, 200) : '');
    }

    // apply puts messages in place, then keeps the reader where they were: at the bottom if
    // they were there (or sent the message), else with a "New messages" button.
    function apply(items, opts) {
      opts = opts || {};
      if (!items.length) return;
      var bottom = nearBottom();
      var added = items.filter(function (el) { return put(el, opts.force); });
      tidy();
      var fromOthers = [];
      added.forEach(function (el) {
        var who = el.getAttribute('data-author');
        var id = el.getAttribute('data-msg');
        if (who === me) {
          if (id > readUpTo) readUpTo = id; // sending reads the chat up to one's own message
          return;
        }
        fromOthers.push(el);
        if (typers[who]) { clearTimeout(typers[who].timer); delete typers[who]; }
      });
      showTyping();
      if (fromOthers.length) announce(fromOthers[fromOthers.length - 1]);
      if (bottom || opts.scroll) toBottom();
      else if (fromOthers.length && jump) jump.hidden = false;
      markRead();
    }

    function sync() {
      if (!pane || gone) return;
      if (syncing) { again = true; return; }
      syncing = true;
      request('/chat/' + chatID + '/changes?since_seq=' + known).then(function (res) {
        if (res.status === 404) { lost(); return; }
        if (!res.ok) return;
        var items = Array.prototype.slice.call(parseHTML(res.text).querySelectorAll('[data-msg]'));
        items.forEach(function (el) { known = Math.max(known, seqOf(el)); });
        apply(items);
        if (items.length >= 100) again = true; // a full page: more may follow
      }, function () {}).then(function () {
        syncing = false;
        if (again) { again = false; sync(); }
      });
    }

    function markRead() {
      if (!pane || gone || document.visibilityState !== 'visible' || !nearBottom()) return;
      var all = msgs();
      if (!all.length) return;
      var last = all[all.length - 1].getAttribute('data-msg');
      if (last <= readUpTo) return;
      var before = readUpTo;
      readUpTo = last;
      var fd = new FormData();
      fd.append('last_read_id', last);
      request('/chat/' + chatID + '/read', { method: 'POST', body: fd }).then(function (res) {
        if (!res.ok) { readUpTo = before; return; }
        later();
      }, function () { readUpTo = before; });
    }

    function lost() {
      if (gone) return;
      gone = true;
      var f = pane.querySelector('[data-chat-compose]');
      if (f) f.querySelectorAll('textarea, input, button').forEach(function (x) { x.disabled = true; });
      var p = document.createElement('p');
      p.className = 'alert';
      p.setAttribute('role', 'alert');
      p.textContent = 'You are no longer in this chat.';
      pane.insertBefore(p, f);
      soon('list', refreshList, 100);
    }

    function refreshHead() {
      var slot = pane.querySelector('[data-chat-head]');
      if (slot.querySelector('details[open]')) { setTimeout(refreshHead, 5000); return; }
      request('/chat/' + chatID + '/head').then(function (res) {
        if (res.status === 404) { lost(); return; }
        if (!res.ok) return;
        slot.textContent = '';
        slot.appendChild(parseHTML(res.text));
        seen();
      }, function () {});
    }

    function loadOlder() {
      var a = pane && pane.querySelector('[data-chat-older]');
      if (!a || loadingOlder) return;
      loadingOlder = true;
      a.setAttribute('aria-busy', 'true');
      a.textContent = 'Loading…';
      request(a.getAttribute('data-chat-older')).then(function (res) {
        if (!res.ok) throw new Error(res.status);
        var frag = parseHTML(res.text);
        var wrap = a.closest('[data-chat-older-wrap]');
        var height = scroller.scrollHeight;
        var top = scroller.scrollTop;
        var first = box.firstChild;
        frag.querySelectorAll('[data-msg]').forEach(function (el) {
          if (!box.querySelector('[data-msg="' + el.getAttribute('data-msg') + '"]')) box.insertBefore(el, first);
        });
        var next = frag.querySelector('[data-chat-older-wrap]');
        if (next) wrap.replaceWith(next); else wrap.remove();
        tidy();
        // Keep the messages being read where they were.
        scroller.scrollTop = top + scroller.scrollHeight - height;
        loadingOlder = false;
        if (scroller.scrollTop < 300) loadOlder();
      }).catch(function () {
        loadingOlder = false;
        a.removeAttribute('aria-busy');
        a.textContent = 'Load older messages';
      });
    }

    function composer() { return pane.querySelector('[data-chat-compose]'); }

    function replyTo(id, name, text) {
      var f = composer();
      if (!f) return;
      f.querySelector('[data-chat-reply-id]').value = id;
      var r = f.querySelector('[data-chat-replying]');
      r.hidden = !id;
      r.querySelector('[data-chat-reply-name]').textContent = name || '';
      r.querySelector('[data-chat-reply-text]').textContent = text || '';
      f.querySelector('[data-chat-text]').focus();
    }

    function previews() {
      var f = composer();
      urls = drawPreviews(f.querySelector('[data-chat-files]'), f.querySelector('[data-chat-previews]'), urls);
    }

    function startEdit(link) {
      var el = link.closest('[data-msg]');
      request(link.getAttribute('data-chat-edit')).then(function (res) {
        if (!res.ok) { toast(errorText(res)); return; }
        var fresh = parseHTML(res.text).querySelector('[data-msg]');
        if (!fresh || !el || !el.isConnected) return;
        el.replaceWith(fresh);
        tidy();
        var ta = fresh.querySelector('textarea');
        if (ta) { ta.focus(); ta.setSelectionRange(ta.value.length, ta.value.length); }
      });
    }

    function stopEdit(el, url) {
      if (!el) return;
      request(url).then(function (res) {
        if (!res.ok || !el.isConnected) return;
        var fresh = parseHTML(res.text).querySelector('[data-msg]');
        if (!fresh) return;
        el.replaceWith(el.pending && seqOf(el.pending) > seqOf(fresh) ? el.pending : fresh);
        tidy();
        var now = box.querySelector('[data-msg="' + fresh.getAttribute('data-msg') + '"]');
        if (now) now.focus();
      });
    }

    function onChatSubmit(e) {
      var form = e.target;
      if (e.defaultPrevented || !pane || !form.matches || !form.matches('[data-chat-form], [data-chat-compose]')) return;
      e.preventDefault();
      if (form.getAttribute('aria-busy') === 'true' || gone) return;
      var compose = form.hasAttribute('data-chat-compose');
      var fd = new FormData(form);
      if (e.submitter && e.submitter.name) fd.append(e.submitter.name, e.submitter.value);
      if (compose) {
        var input = form.querySelector('[data-chat-files]');
        if (!String(fd.get('text') || '').trim() && !(input && input.files && input.files.length)) return;
      }
      var buttons = form.querySelectorAll('button');
      form.setAttribute('aria-busy', 'true');
      buttons.forEach(function (b) { b.disabled = true; });
      var done = function () {
        form.removeAttribute('aria-busy');
        buttons.forEach(function (b) { b.disabled = false; });
      };
      var menu = form.closest('details');
      if (menu) menu.open = false;
      var owner = form.closest('[data-msg]');
      request(form.action, { method: 'POST', body: fd }).then(function (res) {
        done();
        if (!res.ok) {
          if (res.status === 404 && !owner) lost();
          showError(form, res);
          return;
        }
        var el = parseHTML(res.text).querySelector('[data-msg]');
        if (compose) {
          form.reset();
          clearError(form);
          replyTo('', '', '');
          previews();
          lastTyping = 0;
        }
        if (el) apply([el], { force: true, scroll: compose });
      }, function () {
        done();
        showError(form, { status: 0 });
      });
    }

    function onChatClick(e) {
      var t = e.target.closest ? e.target.closest('a, button') : null;
      if (!t || e.defaultPrevented || e.button || e.ctrlKey || e.metaKey || e.shiftKey) return;
      if (t.hasAttribute('data-chat-notify')) {
        if (!('Notification' in window)) return;
        var asked = Notification.requestPermission(notifyButtons);
        if (asked && asked.then) asked.then(notifyButtons);
        return;
      }
      if (!pane) return;
      if (t.hasAttribute('data-chat-reply')) {
        e.preventDefault();
        replyTo(t.getAttribute('data-chat-reply'), t.getAttribute('data-reply-name'), t.getAttribute('data-reply-text'));
      } else if (t.hasAttribute('data-chat-reply-cancel')) {
        e.preventDefault();
        replyTo('', '', '');
      } else if (t.hasAttribute('data-chat-edit')) {
        e.preventDefault();
        startEdit(t);
      } else if (t.hasAttribute('data-chat-edit-cancel')) {
        e.preventDefault();
        stopEdit(t.closest('[data-msg]'), t.getAttribute('data-chat-edit-cancel'));
      } else if (t.hasAttribute('data-chat-older')) {
        e.preventDefault();
        loadOlder();
      } else if (t.hasAttribute('data-chat-jump')) {
        toBottom();
        t.hidden = true;
        markRead();
      }
    }

    // Enter sends (Shift+Enter is a new line); Escape leaves an edit.
    function onChatKey(e) {
      var t = e.target;
      if (!pane || !t.matches || !t.matches('[data-chat-text], [data-chat-edit-text]') || e.isComposing) return;
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        submit(t.form);
      } else if (e.key === 'Escape' && t.matches('[data-chat-edit-text]')) {
        var cancel = t.form.querySelector('[data-chat-edit-cancel]');
        if (cancel) { e.preventDefault(); stopEdit(t.closest('[data-msg]'), cancel.getAttribute('data-chat-edit-cancel')); }
      }
    }

    // Typing notices go out at most every 3 seconds (the server drops closer ones anyway).
    function onChatInput(e) {
      var t = e.target;
      if (!pane || gone || !t.matches || !t.matches('[data-chat-text]') || !t.value.trim()) return;
      var now = Date.now();
      if (now - lastTyping < 3000) return;
      lastTyping = now;
      request('/chat/' + chatID + '/typing', { method: 'POST', body: new FormData() }).catch(function () {});
    }

    /* The new chat form: people found as one types; ticking one keeps them chosen across
       searches. */
    function setupPicker() {
      var find = document.querySelector('[data-chat-find]');
      var found = document.querySelector('[data-chat-found]');
      var chosen = document.querySelector('[data-chat-chosen]');
      if (!find || !found || !chosen) return;
      var timer = null;
      var asked = 0;
      function search() {
        var q = find.value.trim();
        var n = ++asked;
        request('/chat/people?q=' + encodeURIComponent(q)).then(function (res) {
          if (!res.ok || n !== asked) return;
          var frag = parseHTML(res.text);
          frag.querySelectorAll('[data-chat-pick]').forEach(function (cb) {
            chosen.querySelectorAll('[data-chat-pick]').forEach(function (c) {
              if (c.value === cb.value && cb.closest('li')) cb.closest('li').remove();
            });
          });
          found.textContent = '';
          found.appendChild(frag);
          var hint = document.querySelector('[data-chat-find-hint]');
          if (hint) hint.remove();
        }, function () {});
      }
      find.addEventListener('input', function () {
        clearTimeout(timer);
        timer = setTimeout(search, 200);
      });
      var form = document.querySelector('[data-chat-find-form]');
      if (form) form.addEventListener('submit', function (e) { e.preventDefault(); search(); });
      document.addEventListener('change', function (e) {
        var cb = e.target;
        if (!cb.matches || !cb.matches('[data-chat-pick]')) return;
        var li = cb.closest('li');
        if (cb.checked && found.contains(li)) { chosen.appendChild(li); cb.focus(); }
        else if (!cb.checked && chosen.contains(li)) { li.remove(); find.focus(); }
      });
    }

    chat.event = function (kind, d) {
      if (!d || !idOK(d.chat_id)) return;
      var open = !!pane && d.chat_id === chatID;
      switch (kind) {
        case 'atrium.chat.message':
          if (open && !(d.seq <= known)) sync();
          later();
          if (!(d.message && d.message.account && d.message.account.id === me)) desktop(d);
          break;
        case 'atrium.chat.message.update':
        case 'atrium.chat.message.delete':
        case 'atrium.chat.reaction':
          if (open && !(d.seq <= known)) sync();
          if (kind !== 'atrium.chat.reaction') later();
          break;
        case 'atrium.chat.read':
          if (open && idOK(d.account_id)) {
            var m = pane.querySelector('[data-member="' + d.account_id + '"]');
            if (m && (d.last_read_id || '') > (m.getAttribute('data-last-read') || '')) {
              m.setAttribute('data-last-read', d.last_read_id);
              seen();
            }
          }
          if (d.account_id === me) {
            if (open && (d.last_read_id || '') > readUpTo) readUpTo = d.last_read_id;
            later();
          }
          break;
        case 'atrium.chat.typing':
          if (open) typing(d);
          break;
        case 'atrium.chat.update':
          delete info[d.chat_id];
          later();
          if (open) refreshHead();
          break;
      }
    };
    chat.resync = function () {
      soon('badge', badge, 50);
      if (list || (dock && dock.open)) soon('list', refreshList, 50);
      if (pane) sync();
    };
    chat.badge = function () { soon('badge', badge, 50); };

    if (dock && dockPanel) dock.addEventListener('toggle', function () { if (dock.open) fill(dockPanel, '/chat/dock'); });
    document.addEventListener('click', onChatClick);
    notifyButtons();
    setupPicker();
    if (!window.WebSocket) badge(); // no socket to announce itself: count once now
    if (!pane || !box) return;
    document.addEventListener('submit', onChatSubmit);
    document.addEventListener('keydown', onChatKey);
    document.addEventListener('input', onChatInput);
    var files = pane.querySelector('[data-chat-files]');
    if (files) files.addEventListener('change', previews);
    tidy();
    toBottom();
    // A newer rendering held back while a menu was open goes in once it closes ("toggle"
    // does not bubble, so it is caught on its way down).
    box.addEventListener('toggle', function (e) {
      var el = e.target.closest && e.target.closest('[data-msg]');
      if (!el || e.target.open || !el.pending || el.querySelector('.chat-edit-form')) return;
      var fresh = el.pending;
      el.pending = null;
      put(fresh, true);
      tidy();
    }, true);
    // Pictures change heights as they load: stay at the bottom if the reader was there.
    box.addEventListener('load', function () { if (atBottom) toBottom(); }, true);
    scroller.addEventListener('scroll', function () {
      atBottom = nearBottom();
      if (atBottom) {
        if (jump) jump.hidden = true;
        soon('read', markRead, 300);
      }
      if (scroller.scrollTop < 300) loadOlder();
    });
    document.addEventListener('visibilitychange', markRead);
    window.addEventListener('focus', markRead);
    if (scroller.scrollTop < 300) loadOlder();
    markRead();
    var ta = pane.querySelector('[data-chat-text]');
    if (ta && !location.hash) ta.focus({ preventScroll: true });
  }
})();

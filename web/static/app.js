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
      urls.forEach(function (u) { URL.revokeObjectURL(u); });
      urls = [];
      box.textContent = '';
      var list = files && files.files ? Array.prototype.slice.call(files.files) : [];
      box.hidden = list.length === 0;
      list.forEach(function (f) {
        var fig = document.createElement('figure');
        fig.className = 'preview';
        if (/^image\//.test(f.type) && window.URL) {
          var u = URL.createObjectURL(f);
          urls.push(u);
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
        attempts = 0;
        failures = 0;
        stopPoll();
        try { ws.send(JSON.stringify({ type: 'subscribe', stream: 'user:notification' })); } catch (e) { /* closed */ }
        if (everOpen) syncBadge(); // events may have been missed while disconnected
        everOpen = true;
      };
      ws.onmessage = function (m) {
        var msg;
        try { msg = JSON.parse(m.data); } catch (e) { return; }
        handle(msg);
      };
      ws.onclose = function () {
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
})();

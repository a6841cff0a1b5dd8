// The offline viewer page: no framework, no CDN. It reads the viewer's Server-Sent Events
// (`reset` = the whole state, `patch` = what one ingested batch changed) and draws, for the process
// streaming last, one statechart per actor (the generated SVG, the same picture as statecharts/) with
// its active states and its last transition highlighted, the phase timeline
// (marking pid changes: a relaunch), the ledger, and the event log.
'use strict';
(() => {
  const MAX_LOG_ROWS = 600;
  const $ = (id) => document.getElementById(id);
  const state = { sessions: [], currentSession: null, actors: new Map(), phase: null, ledger: null };
  const svgText = new Map(); // machine id -> Promise<string | null>
  const panels = new Map(); // actor name -> { el, chart, machine, key, loaded }
  let lastHistoryPid = null;

  $('self-url').textContent = location.origin + '/';
  const showXState = $('show-xstate');
  showXState.addEventListener('change', () => document.body.classList.toggle('show-xstate', showXState.checked));

  const time = (t) => {
    const d = new Date(t);
    const pad = (n, w = 2) => String(n).padStart(w, '0');
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  };
  const valueText = (value) => {
    if (typeof value === 'string') return value;
    if (value === null || typeof value !== 'object') return String(value);
    return Object.entries(value)
      .map(([k, v]) => (v && typeof v === 'object' && Object.keys(v).length === 0 ? k : `${k}.${valueText(v)}`))
      .join(', ');
  };

  function loadSvg(machine) {
    if (!svgText.has(machine)) {
      svgText.set(
        machine,
        fetch(`/statecharts/${encodeURIComponent(machine)}.svg`)
          .then((r) => (r.ok ? r.text() : null))
          .catch(() => null),
      );
    }
    return svgText.get(machine);
  }

  /**
   * Highlights the transitions of the actor's last macrostep (what its process sent with the
   * snapshot): the arrow from each source to each target, and in its label the line of that event;
   * a targetless transition is the `↻` line of its state.
   */
  function highlightTransitions(svg, transitions) {
    for (const el of svg.querySelectorAll('g.transition.last, g.label.last, text.last')) el.classList.remove('last');
    const shown = [];
    for (const t of transitions || []) {
      const mark = (scope) => {
        for (const text of scope ? scope.querySelectorAll('text[data-event]') : []) {
          if (text.dataset.event === t.event) text.classList.add('last');
        }
      };
      if (t.targets.length === 0) {
        mark(svg.querySelector(`g.state[data-state="${CSS.escape(t.source)}"]`));
        continue;
      }
      for (const target of t.targets) {
        const arrow = svg.querySelector(`g.transition[data-source="${CSS.escape(t.source)}"][data-target="${CSS.escape(target)}"]`);
        if (!arrow) continue;
        arrow.classList.add('last');
        const label = svg.querySelector(`g.label[data-edge="${CSS.escape(arrow.dataset.edge)}"]`);
        label?.classList.add('last');
        mark(label);
        shown.push(`${t.source}>${target}`);
      }
    }
    return shown;
  }

  function highlight(panel, actor) {
    const svg = panel.chart.querySelector('svg');
    if (!svg) return;
    const active = new Set(actor.active || []);
    for (const g of svg.querySelectorAll('g.state[data-state]')) {
      const id = g.getAttribute('data-state');
      const on = active.has(id);
      g.classList.toggle('active', on);
      let leaf = on;
      if (on) for (const other of active) if (other.startsWith(id + '.')) leaf = false;
      g.classList.toggle('leaf', leaf);
    }
    panel.el.dataset.lastTransition = highlightTransitions(svg, actor.transitions).join(' ');
  }

  /** The actor shown under each name: the latest of the current session (a new `step` replaces the last). */
  function shownActors() {
    const byName = new Map();
    for (const actor of state.actors.values()) {
      if (actor.session !== state.currentSession || !actor.machine) continue;
      const seen = byName.get(actor.name);
      const better = !seen || (actor.status === 'active') > (seen.status === 'active') ||
        ((actor.status === 'active') === (seen.status === 'active') && actor.updatedAt >= seen.updatedAt);
      if (better) byName.set(actor.name, actor);
    }
    return [...byName.values()].sort((a, b) => (a.parent ? 1 : 0) - (b.parent ? 1 : 0) || a.name.localeCompare(b.name));
  }

  function renderActors() {
    const shown = shownActors();
    $('empty').hidden = shown.length > 0;
    const names = new Set(shown.map((a) => a.name));
    for (const [name, panel] of panels) {
      if (!names.has(name)) {
        panel.el.remove();
        panels.delete(name);
      }
    }
    const container = $('actors');
    for (const actor of shown) {
      let panel = panels.get(actor.name);
      if (!panel || panel.machine !== actor.machine) {
        panel?.el.remove();
        const el = document.createElement('article');
        el.className = 'actor';
        el.innerHTML = '<h3><span class="name"></span><span class="value"></span><span class="meta"></span></h3><div class="summary"></div><div class="chart"></div>';
        panel = { el, chart: el.querySelector('.chart'), machine: actor.machine, key: null };
        panels.set(actor.name, panel);
        const p = panel;
        loadSvg(actor.machine).then((text) => {
          if (!text) {
            p.chart.textContent = `(no statechart for machine ${actor.machine})`;
            return;
          }
          p.chart.innerHTML = text;
          const root = p.chart.querySelector(`g.state[data-state="${CSS.escape(actor.machine)}"]`);
          if (root) root.setAttribute('data-root', 'true');
          const current = state.actors.get(p.key);
          if (current) highlight(p, current);
        });
      }
      container.appendChild(panel.el); // keeps the order: root first
      panel.key = actor.key;
      panel.el.dataset.actor = actor.name;
      panel.el.dataset.machine = actor.machine;
      panel.el.dataset.value = valueText(actor.value);
      panel.el.dataset.active = (actor.active || []).join(' ');
      panel.el.classList.toggle('stopped', actor.status !== 'active');
      panel.el.querySelector('.name').textContent = actor.name;
      panel.el.querySelector('.value').textContent = valueText(actor.value);
      panel.el.querySelector('.meta').textContent = `${actor.machine} · ${actor.id} · pid ${actor.pid}${actor.status !== 'active' ? ` · ${actor.status}` : ''}${actor.event ? ` · ⟵ ${actor.event}` : ''}`;
      const summary = Object.entries(actor.summary || {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('  ');
      panel.el.querySelector('.summary').textContent = summary;
      highlight(panel, actor);
    }
  }

  function renderHeader() {
    const phase = state.phase ? state.phase.phase : 'NONE';
    document.body.dataset.activePhase = phase;
    $('phase').textContent = phase;
    const current = state.sessions.find((s) => s.session === state.currentSession);
    $('current-pid').textContent = current ? String(current.pid) : '–';
    document.body.dataset.currentPid = current ? String(current.pid) : '';
    document.body.dataset.pids = [...new Set(state.sessions.map((s) => s.pid))].join(' ');
    const l = state.ledger;
    $('ledger-phase').textContent = l && l.phase !== null ? l.phase : '–';
    $('ledger-restart-count').textContent = l && l.restart_count !== null ? String(l.restart_count) : '–';
    $('ledger-generation').textContent = l && l.generation !== null ? String(l.generation) : '–';
    document.body.dataset.ledgerPhase = l && l.phase ? l.phase : '';
    document.body.dataset.restartCount = l && l.restart_count !== null ? String(l.restart_count) : '';
  }

  function appendHistory(entries) {
    const list = $('phase-history');
    for (const entry of entries) {
      if (lastHistoryPid !== null && entry.pid !== lastHistoryPid) {
        const marker = document.createElement('li');
        marker.className = 'pid-change';
        marker.dataset.pid = String(entry.pid);
        marker.textContent = `pid ${lastHistoryPid} → ${entry.pid}`;
        list.appendChild(marker);
      }
      lastHistoryPid = entry.pid;
      const li = document.createElement('li');
      li.dataset.phase = entry.phase;
      li.dataset.pid = String(entry.pid);
      if (entry.micro) li.classList.add('micro');
      li.title = `${time(entry.t)} · pid ${entry.pid}${entry.micro ? ' · transient (microstep)' : ''}`;
      li.textContent = entry.phase;
      list.appendChild(li);
    }
  }

  function appendLog(entries) {
    const list = $('log');
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 24;
    for (const entry of entries) {
      const li = document.createElement('li');
      li.className = `kind-${entry.kind}`;
      li.dataset.kind = entry.kind;
      li.dataset.type = entry.type;
      li.dataset.pid = String(entry.pid);
      const t = document.createElement('span');
      t.className = 't';
      t.textContent = time(entry.t);
      const pid = document.createElement('span');
      pid.className = 'pid';
      pid.textContent = String(entry.pid);
      li.append(t, pid, document.createTextNode(entry.text));
      list.appendChild(li);
    }
    while (list.children.length > MAX_LOG_ROWS) list.firstElementChild.remove();
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function reset(full) {
    state.sessions = full.sessions;
    state.currentSession = full.currentSession;
    state.actors = new Map(full.actors.map((a) => [a.key, a]));
    state.phase = full.phase;
    state.ledger = full.ledger;
    $('phase-history').replaceChildren();
    $('log').replaceChildren();
    lastHistoryPid = null;
    appendHistory(full.phaseHistory);
    appendLog(full.log);
    renderHeader();
    renderActors();
  }

  function apply(patch) {
    for (const actor of patch.actors) state.actors.set(actor.key, actor);
    state.sessions = patch.sessions;
    state.currentSession = patch.currentSession;
    state.phase = patch.phase;
    state.ledger = patch.ledger;
    appendHistory(patch.phaseHistory);
    appendLog(patch.log);
    renderHeader();
    renderActors();
  }

  const connection = $('connection');
  const events = new EventSource('/events');
  events.addEventListener('reset', (e) => reset(JSON.parse(e.data)));
  events.addEventListener('patch', (e) => apply(JSON.parse(e.data)));
  events.onopen = () => {
    connection.textContent = 'live';
    connection.className = 'pill on';
    document.body.dataset.connected = 'true';
  };
  events.onerror = () => {
    connection.textContent = 'viewer unreachable — retrying';
    connection.className = 'pill off';
    document.body.dataset.connected = 'false';
  };
})();

// The atlas-ports dashboard: polls /api/state every second and draws it; the buttons call the
// API with the token this page was served with. No framework, no external asset; all text is
// set with textContent, never parsed as HTML.
'use strict'

const token = document.querySelector('meta[name="atlas-ports-token"]').content
const $ = (id) => document.getElementById(id)
const POLL_MS = 1000
let last = null // the JSON text last drawn, less its timestamp
let state = null

function el (tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k === 'class') node.className = v
    else if (k.startsWith('data-')) node.setAttribute(k, v)
    else if (k === 'onclick') node.addEventListener('click', v)
    else node.setAttribute(k, v === true ? '' : v)
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c)
  return node
}

async function api (method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { 'x-atlas-ports-token': token, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    cache: 'no-store'
  })
  const data = await res.json().catch(() => ({ error: { code: 'ERR_HTTP', message: `HTTP ${res.status}` } }))
  if (!res.ok || data.error) throw Object.assign(new Error(data.error ? data.error.message : `HTTP ${res.status}`), { code: data.error && data.error.code })
  return data
}

const STATES = { healthy: 'healthy', unhealthy: 'unhealthy', not_running: 'not running', unknown: 'unknown' }

function when (iso) {
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' })
}

function matches (worktree, s) {
  const q = $('filter').value.trim().toLowerCase()
  const want = $('state-filter').value
  if (want && s.status !== want) return false
  if (!q) return true
  return [worktree.name, s.service, String(s.port), s.description].some((t) => t && t.toLowerCase().includes(q))
}

function row (worktree, s) {
  const open = s.http
    ? el('td', {}, el('a', { href: s.named_url || s.direct_url, target: '_blank', rel: 'noopener' }, s.named_url ? s.named_url.replace(/^http:\/\//, '').replace(/\/$/, '') : `:${s.port}`),
      s.named_url ? el('a', { href: s.direct_url, class: 'muted small', target: '_blank', rel: 'noopener', title: 'by port' }, ` :${s.port}`) : null)
    : el('td', { class: 'muted' }, '—')
  const foreign = s.ownership && s.ownership.owner === 'foreign'
  const process = s.pid ? `${s.process || 'pid'} ${s.pid}` : null
  const origin = s.pid && s.started_by_atlas_ports !== null && s.started_by_atlas_ports !== undefined
    ? el('div', { class: 'muted small text', 'data-origin': s.started_by_atlas_ports ? 'started' : 'found' }, s.started_by_atlas_ports ? 'started by atlas-ports' : 'found')
    : null
  // Stop when something provably the worktree's listens (what stop itself checks again);
  // Start when atlas-ports.toml declares the service's command and nothing listens.
  const ours = s.pid && (s.started_by_atlas_ports || (s.ownership && s.ownership.owner === 'own'))
  const serverButton = ours
    ? el('button', { type: 'button', class: 'stop', 'aria-label': `Stop ${s.service} of ${worktree.name}`, onclick: (e) => stopServer(worktree.name, s, e.target) }, 'Stop')
    : s.command && !s.pid
      ? el('button', { type: 'button', class: 'start', 'aria-label': `Start ${s.service} of ${worktree.name}`, onclick: (e) => startServer(worktree.name, s, e.target) }, 'Start')
      : null
  return el('tr', { 'data-port': s.port, 'data-worktree': worktree.name, 'data-service': s.service, 'data-status': s.status, 'data-foreign': foreign ? 'true' : null, class: foreign ? 'conflict' : null },
    el('td', {}, el('span', { class: 'name' }, s.service), s.description ? el('div', { class: 'muted small text' }, s.description) : null),
    el('td', { class: 'num' }, String(s.port)),
    el('td', {}, el('span', { class: `badge ${s.status}` }, STATES[s.status] || s.status), el('div', { class: 'muted small text' }, s.detail)),
    el('td', { title: s.ownership ? s.ownership.reason : null }, process || el('span', { class: 'muted' }, '—'), origin,
      foreign ? el('div', {}, el('span', { class: 'badge foreign', title: s.ownership.reason }, 'foreign process')) : null,
      s.ownership && s.pid && s.ownership.owner !== 'own' ? el('div', { class: 'muted small text' }, s.ownership.reason) : null),
    el('td', {}, when(s.allocated_at), el('div', { class: 'muted small text' }, s.allocated_by)),
    open,
    el('td', { class: 'actions' }, serverButton, el('button', { type: 'button', class: 'release', 'aria-label': `Release port ${s.port} (${s.service} of ${worktree.name})`, onclick: () => release(worktree.name, s) }, 'Release'))
  )
}

function drawTable () {
  const table = $('ports')
  for (const body of table.querySelectorAll('tbody')) body.remove()
  let shown = 0
  for (const w of state.worktrees) {
    const rows = w.services.filter((s) => matches(w, s)).map((s) => row(w, s))
    if (rows.length === 0) continue
    shown += rows.length
    const head = el('tr', { class: 'worktree' },
      el('th', { colspan: 6, scope: 'rowgroup' }, el('span', { class: 'name text' }, w.name), w.path ? el('span', { class: 'muted small text' }, `  ${w.path}`) : null),
      el('td', {}, el('button', { type: 'button', class: 'release-worktree', 'aria-label': `Release every port of ${w.name}`, onclick: () => releaseWorktree(w) }, 'Release all')))
    table.append(el('tbody', { 'data-worktree': w.name }, head, ...rows))
  }
  $('empty').hidden = shown !== 0
}

function drawConflicts () {
  const c = state.conflicts
  const items = []
  for (const r of c.registry_conflicts) items.push(`Port ${r.port} is held by ${r.allocations.length} allocations: ${r.allocations.map((a) => `${a.service} of ${a.worktree}`).join(', ')}`)
  for (const s of c.system_conflicts) items.push(`Port ${s.allocation.port} (${s.allocation.service} of ${s.allocation.worktree}) is taken by ${s.process || 'another process'}${s.pid ? ` (pid ${s.pid})` : ''}: ${s.reason}`)
  for (const p of c.problems) items.push(p.message)
  const list = $('conflicts')
  list.replaceChildren(...items.map((t) => el('li', { class: 'text' }, t)))
  if (items.length === 0) list.replaceChildren(el('li', { class: 'muted' }, 'None.'))
  const idle = c.mismatches.map((m) => el('li', { class: 'text' }, `Port ${m.port}: ${m.service} of ${m.worktree}`))
  $('idle-count').textContent = `${idle.length} idle allocations (allocated, nothing listens)`
  $('idle').replaceChildren(...idle)
  $('idle-details').hidden = idle.length === 0
  $('conflicts-title').textContent = `Conflicts (${c.summary.conflicts + c.summary.problems})`
}

// Who holds each canonical port (`atlas-ports checkout`), and what blocks it.
function drawCheckouts () {
  const items = state.checkouts.map((c) => {
    const target = c.target_port === null ? 'holds no port now' : `port ${c.target_port}`
    let text = `:${c.port} → ${c.service} of ${c.worktree} (${target})`
    if (c.blocked_by) text += `; blocked: ${c.blocked_by.process || 'a process'}${c.blocked_by.pid ? ` (pid ${c.blocked_by.pid})` : ''} listens on :${c.port}`
    return el('li', { class: 'text', 'data-service': c.service }, text)
  })
  if (state.checkouts_error) items.push(el('li', { class: 'text' }, state.checkouts_error))
  if (items.length === 0) items.push(el('li', { class: 'muted' }, 'None checked out (atlas-ports checkout SERVICE).'))
  $('checkouts').replaceChildren(...items)
}

function draw () {
  $('registry').textContent = `Registry: ${state.registry}`
  const s = state.summary
  $('summary').textContent = `${state.total} allocations in ${state.worktrees.length} worktrees: ${s.healthy} healthy, ${s.unhealthy} unhealthy, ${s.not_running} not running, ${s.unknown} unknown`
  $('names-pattern').textContent = `http://<service>.<worktree>.${location.host.replace(/^127\.0\.0\.1/, 'localhost')}/`
  drawTable()
  drawCheckouts()
  drawConflicts()
}

function notice (text, error = false) {
  const n = $('notice')
  n.textContent = text
  n.className = error ? 'error' : ''
}

async function poll () {
  try {
    const next = await api('GET', '/api/state')
    const key = JSON.stringify({ ...next, observed_at: null })
    $('updated').textContent = `Updated ${new Date().toLocaleTimeString()}.`
    if ($('notice').dataset.stale) { notice(''); delete $('notice').dataset.stale }
    if (key !== last) {
      last = key
      state = next
      draw()
    }
  } catch (e) {
    notice(`Could not read the registry: ${e.message}`, true)
    $('notice').dataset.stale = '1'
  } finally {
    setTimeout(poll, POLL_MS)
  }
}

async function refresh () {
  last = null
  try { state = await api('GET', '/api/state'); last = JSON.stringify({ ...state, observed_at: null }); draw() } catch (e) { notice(e.message, true) }
}

function confirmDialog (title, lines, okText) {
  const d = $('confirm')
  $('confirm-title').textContent = title
  $('confirm-body').replaceChildren(...(lines.length ? [el('ul', {}, ...lines.map((l) => el('li', { class: 'text' }, l)))] : [el('p', {}, 'Nothing to release.')]))
  $('confirm-ok').textContent = okText
  $('confirm-ok').hidden = lines.length === 0
  return new Promise((resolve) => {
    const done = (ok) => { d.close(); $('confirm-ok').onclick = null; $('confirm-cancel').onclick = null; resolve(ok) }
    $('confirm-ok').onclick = () => done(true)
    $('confirm-cancel').onclick = () => done(false)
    d.addEventListener('cancel', () => resolve(false), { once: true })
    d.showModal()
  })
}

async function release (worktree, s) {
  try {
    const r = await api('POST', '/api/release', { port: s.port, worktree })
    notice(r.released.length ? `Released port ${s.port} (${s.service} of ${worktree}).` : `Port ${s.port} was no longer allocated to ${worktree}.`)
  } catch (e) { notice(`Could not release port ${s.port}: ${e.message}`, true) }
  await refresh()
}

async function startServer (worktree, s, button) {
  button.disabled = true
  notice(`Starting ${s.service} of ${worktree}…`)
  try {
    const r = await api('POST', '/api/start', { worktree, service: s.service })
    const one = r.services.find((x) => x.service === s.service) || r.services[0]
    const fine = one.state === 'started' || one.state === 'already_running'
    notice(fine ? `${s.service} of ${worktree}: ${one.state.replace('_', ' ')} (pid ${one.pid}), ${one.reason}.` : `${s.service} of ${worktree}: ${one.state.replace('_', ' ')}: ${one.reason}; log: ${one.log}`, !fine)
  } catch (e) { notice(`Could not start ${s.service} of ${worktree}: ${e.message}`, true) }
  await refresh()
}

async function stopServer (worktree, s, button) {
  button.disabled = true
  try {
    const r = await api('POST', '/api/stop', { worktree, service: s.service })
    const stopped = r.stopped.filter((p) => p.ended).map((p) => `pid ${p.pid}`)
    const alone = r.left_alone.map((p) => `pid ${p.pid ?? '?'} on port ${p.port} left alone: ${p.reason}`)
    notice([`Stopped ${stopped.length} process${stopped.length === 1 ? '' : 'es'} of ${s.service} of ${worktree}${stopped.length ? ` (${stopped.join(', ')})` : ''}.`, ...alone].join(' '), alone.length > 0)
  } catch (e) { notice(`Could not stop ${s.service} of ${worktree}: ${e.message}`, true) }
  await refresh()
}

async function releaseWorktree (w) {
  const lines = w.services.map((s) => `${s.service}: port ${s.port}`)
  if (!await confirmDialog(`Release every port of ${w.name}?`, lines, `Release ${lines.length}`)) return
  try {
    const r = await api('POST', '/api/release-worktree', { worktree: w.name })
    notice(`Released ${r.released.length} ports of ${w.name}.`)
  } catch (e) { notice(`Could not release ${w.name}: ${e.message}`, true) }
  await refresh()
}

async function prune () {
  try {
    const dry = await api('POST', '/api/prune', { dry_run: true })
    const servers = dry.servers.flatMap((w) => [
      ...w.stopped.map((p) => `${w.worktree}: stop ${p.process || 'pid'} ${p.pid}${p.service ? ` (${p.service})` : ''}`),
      ...w.left_alone.map((p) => `${w.worktree}: leave ${p.process || 'pid'} ${p.pid ?? '?'} on port ${p.port} alone: ${p.reason}`)
    ])
    const lines = [...servers, ...dry.released.map((a) => `${a.worktree}: ${a.service} on port ${a.port}`)]
    if (!await confirmDialog('Prune the ports of worktrees that are gone?', lines, `Release ${dry.released.length}`)) return
    const r = await api('POST', '/api/prune', { dry_run: false })
    const stopped = r.servers.reduce((n, w) => n + w.stopped.filter((p) => p.ended).length, 0)
    notice(`Pruned ${r.released.length} allocations${stopped ? `, stopped ${stopped} processes` : ''}.`)
  } catch (e) { notice(`Could not prune: ${e.message}`, true) }
  await refresh()
}

async function check () {
  $('check').disabled = true
  try {
    const r = await api('POST', '/api/check', {})
    notice(`Checked ${r.checked} ports; their state is stored in the registry.`)
  } catch (e) { notice(`Could not check: ${e.message}`, true) } finally { $('check').disabled = false }
  await refresh()
}

$('filter').addEventListener('input', () => state && drawTable())
$('state-filter').addEventListener('change', () => state && drawTable())
$('check').addEventListener('click', check)
$('prune').addEventListener('click', prune)
document.addEventListener('keydown', (e) => {
  if (e.key === '/' && document.activeElement !== $('filter')) { e.preventDefault(); $('filter').focus() }
})
poll()

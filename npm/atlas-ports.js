// The package's front: the generated binding (index.js) with the conventions of a JavaScript
// library on top. Every operation comes as a Promise function (the work runs off the main
// thread) and a `Sync` twin; a Promise function never throws, it rejects. Arguments are checked
// here so that a wrong type or an unknown option is an `ERR_INVALID_ARGUMENT` (or
// `ERR_INVALID_PORT`) in our words, and a platform without a binary is an
// `ERR_NATIVE_BINDING_MISSING` that says what to do.
'use strict'

const path = require('node:path')
const { codedError, isAtlasPortsError, missingBinding } = require('./errors.js')

let native
try {
  native = require('./index.js')
} catch (cause) {
  throw missingBinding(cause)
}

const PLACE = ['registry', 'cwd']
const ALLOCATION = [...PLACE, 'worktree', 'description', 'preferred', 'exclude']

/** The type of each option member. */
const MEMBER_TYPES = { force: 'boolean', dryRun: 'boolean', preferred: 'port', exclude: 'ports', grace: 'ms', timeout: 'ms' }

/**
 * Each operation's parameters: `string` (a required string), `string?` (optional), `port` (a
 * number), and `options` with the members it accepts.
 */
const OPERATIONS = {
  allocatePort: ['string', 'string?', 'string?', ALLOCATION],
  ensurePort: ['string', 'string?', 'string?', ALLOCATION],
  ensurePortDetails: ['string', 'string?', 'string?', ALLOCATION],
  releasePort: ['port', [...PLACE, 'worktree']],
  releaseWorktree: ['string', PLACE],
  checkPortAvailable: ['port', PLACE],
  listAllocatedPorts: ['string?', PLACE],
  findNextPort: ['string', PLACE],
  initRegistry: [[...PLACE, 'force']],
  getStatus: ['string?', PLACE],
  checkConflicts: [PLACE],
  healthCheck: ['string?', PLACE],
  up: [PLACE],
  down: [[...PLACE, 'grace']],
  start: [[...PLACE, 'service', 'timeout']],
  stop: [[...PLACE, 'service', 'grace']],
  projectFile: [PLACE],
  listAllAllocations: [PLACE],
  currentWorktree: [PLACE],
  worktreePorts: ['string?', PLACE],
  prune: [[...PLACE, 'dryRun', 'grace']],
  pruneDetails: [[...PLACE, 'dryRun', 'grace']],
  getRanges: [PLACE],
  readiness: ['string', 'string?', PLACE],
}

const NAMES = {
  allocatePort: ['service', 'worktree', 'description', 'options'],
  ensurePort: ['service', 'worktree', 'description', 'options'],
  ensurePortDetails: ['service', 'worktree', 'description', 'options'],
  releasePort: ['port', 'options'],
  releaseWorktree: ['worktree', 'options'],
  checkPortAvailable: ['port', 'options'],
  listAllocatedPorts: ['worktree', 'options'],
  findNextPort: ['service', 'options'],
  initRegistry: ['options'],
  getStatus: ['worktree', 'options'],
  checkConflicts: ['options'],
  healthCheck: ['worktree', 'options'],
  up: ['options'],
  down: ['options'],
  start: ['options'],
  stop: ['options'],
  projectFile: ['options'],
  listAllAllocations: ['options'],
  currentWorktree: ['options'],
  worktreePorts: ['worktree', 'options'],
  prune: ['options'],
  pruneDetails: ['options'],
  getRanges: ['options'],
  readiness: ['service', 'worktree', 'options'],
}

const describe = (value) =>
  value === null ? 'null'
    : Array.isArray(value) ? 'an array'
    : typeof value === 'bigint' ? `bigint ${value}n`
    : typeof value === 'symbol' || typeof value === 'function' ? typeof value
    : `${typeof value} ${JSON.stringify(value)}`

/** Throws a coded Error for the first argument that does not fit. */
function check(name, args) {
  const params = OPERATIONS[name]
  if (args.length > params.length) {
    throw codedError('ERR_INVALID_ARGUMENT', `${name}() takes at most ${params.length} arguments, got ${args.length}`)
  }
  params.forEach((param, i) => {
    const value = args[i]
    const what = `${name}(): ${NAMES[name][i]}`
    if (Array.isArray(param)) {
      if (value === undefined || value === null) return
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw codedError('ERR_INVALID_ARGUMENT', `${what} must be an object { ${param.join(', ')} }, got ${describe(value)}`)
      }
      for (const key of Object.keys(value)) {
        if (!param.includes(key)) {
          throw codedError('ERR_INVALID_ARGUMENT', `${what} has an unknown member '${key}' (expected ${param.join(', ')})`)
        }
        const member = value[key]
        if (member === undefined || member === null) continue
        const expected = MEMBER_TYPES[key] ?? 'string'
        if (expected === 'port' || expected === 'ports') {
          for (const p of expected === 'ports' ? (Array.isArray(member) ? member : [member]) : [member]) {
            if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535 || (expected === 'ports' && !Array.isArray(member))) {
              throw codedError('ERR_INVALID_PORT', `${what}.${key}: invalid port ${describe(expected === 'ports' && !Array.isArray(member) ? member : p)}: expected ${expected === 'ports' ? 'an array of integers' : 'an integer'} from 1 to 65535`)
            }
          }
        } else if (expected === 'ms') {
          if (typeof member !== 'number' || !Number.isInteger(member) || member < 0) {
            throw codedError('ERR_INVALID_ARGUMENT', `${what}.${key} must be a whole number of milliseconds (0 or more), got ${describe(member)}`)
          }
        } else if (typeof member !== expected) {
          throw codedError('ERR_INVALID_ARGUMENT', `${what}.${key} must be a ${expected}, got ${describe(member)}`)
        }
      }
    } else if (param === 'port') {
      if (typeof value !== 'number') {
        throw codedError('ERR_INVALID_PORT', `invalid port ${describe(value)}: expected an integer from 1 to 65535 (a number)`)
      }
    } else if (value === undefined || value === null) {
      if (!param.endsWith('?')) throw codedError('ERR_INVALID_ARGUMENT', `${what} is required (a string)`)
    } else if (typeof value !== 'string') {
      throw codedError('ERR_INVALID_ARGUMENT', `${what} must be a string, got ${describe(value)}`)
    }
  })
}

/** `ensurePort('web', { preferred: 8085 })`: the options may stand in the worktree's place. */
function normalize(name, args) {
  const takesOptionsSecond = OPERATIONS[name][3] === ALLOCATION
  const second = args[1]
  if (takesOptionsSecond && args.length <= 2 && second !== null && typeof second === 'object' && !Array.isArray(second)) {
    return [args[0], undefined, undefined, second]
  }
  return args
}

for (const name of Object.keys(OPERATIONS)) {
  const promised = native[name]
  const sync = native[`${name}Sync`]
  exports[name] = function (...given) {
    try {
      const args = normalize(name, given)
      check(name, args)
      return promised(...args)
    } catch (e) {
      return Promise.reject(e)
    }
  }
  exports[`${name}Sync`] = function (...given) {
    const args = normalize(name, given)
    check(name, args)
    return sync(...args)
  }
}

/**
 * `ensurePort` hands out a port that can be used now: when a foreign process has taken the
 * worktree's port, the allocation moves, and Node hears of it as a process warning (as it hears
 * of deprecations), as it does of a busy port that was kept because its owner cannot be told.
 */
function report(details, service) {
  if (details.movedFrom !== undefined) {
    process.emitWarning(`port ${details.movedFrom} (${service}) is taken by another process; moved to ${details.port}`, { code: 'ATLAS_PORTS_MOVED' })
  }
  if (details.warning !== undefined) process.emitWarning(details.warning, { code: 'ATLAS_PORTS_PORT_BUSY' })
  if (details.reclaimed.length > 0) {
    const released = details.reclaimed.map((a) => `${a.port} (${a.service}) of '${a.worktree}'`).join(', ')
    process.emitWarning(`the '${service}' range was full: released ${released} of worktrees that are gone`, { code: 'ATLAS_PORTS_RECLAIMED' })
  }
  return details.port
}
exports.ensurePort = function (...given) {
  try {
    const args = normalize('ensurePort', given)
    check('ensurePort', args)
    return native.ensurePortDetails(...args).then((d) => report(d, args[0]))
  } catch (e) {
    return Promise.reject(e)
  }
}
exports.ensurePortSync = function (...given) {
  const args = normalize('ensurePort', given)
  check('ensurePort', args)
  return report(native.ensurePortDetailsSync(...args), args[0])
}

/** How often `waitForPort` looks. */
const POLL_MS = 200

/** The rejection of an aborted wait, as Node's own APIs make it (`name` AbortError, `code` ABORT_ERR). */
function abortError(signal) {
  const e = codedError('ABORT_ERR', 'waitForPort() was aborted', signal.reason)
  e.name = 'AbortError'
  return e
}

const WAIT_OPTIONS = ['timeout', 'signal', 'worktree', 'registry', 'cwd']

function checkWait(service, options, extra) {
  if (extra > 0) throw codedError('ERR_INVALID_ARGUMENT', `waitForPort() takes at most 2 arguments, got ${2 + extra}`)
  if (typeof service !== 'string') throw codedError('ERR_INVALID_ARGUMENT', `waitForPort(): service must be a string, got ${describe(service)}`)
  if (options === undefined || options === null) return
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw codedError('ERR_INVALID_ARGUMENT', `waitForPort(): options must be an object { ${WAIT_OPTIONS.join(', ')} }, got ${describe(options)}`)
  }
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || value === null) continue
    if (!WAIT_OPTIONS.includes(key)) {
      throw codedError('ERR_INVALID_ARGUMENT', `waitForPort(): options has an unknown member '${key}' (expected ${WAIT_OPTIONS.join(', ')})`)
    }
    if (key === 'timeout' && !(typeof value === 'number' && value >= 0 && Number.isFinite(value))) {
      throw codedError('ERR_INVALID_ARGUMENT', `waitForPort(): options.timeout must be a number of milliseconds (0 or more), got ${describe(value)}`)
    }
    if (key === 'signal' && !(typeof value === 'object' && typeof value.aborted === 'boolean' && typeof value.addEventListener === 'function')) {
      throw codedError('ERR_INVALID_ARGUMENT', 'waitForPort(): options.signal must be an AbortSignal')
    }
    if (['worktree', 'registry', 'cwd'].includes(key) && typeof value !== 'string') {
      throw codedError('ERR_INVALID_ARGUMENT', `waitForPort(): options.${key} must be a string, got ${describe(value)}`)
    }
  }
}

/** Resolves after `ms`, or rejects as soon as `signal` aborts. */
function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer)
      reject(abortError(signal))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Waits until the worktree's service is ready: the port it holds listens and answers as the
 * health check asks (an HTTP status below 500, PostgreSQL, Redis, else TCP). Resolves with the
 * last look; rejects with `ERR_NOT_READY` after `timeout` ms (default 60000), naming the last
 * reason, or with an AbortError when `signal` aborts.
 */
exports.waitForPort = async function waitForPort(service, options, ...extra) {
  checkWait(service, options, extra.length)
  const { timeout = 60000, signal, worktree, registry, cwd } = options ?? {}
  if (signal?.aborted) throw abortError(signal)
  const start = Date.now()
  for (;;) {
    const look = await native.readiness(service, worktree ?? null, { registry: registry ?? undefined, cwd: cwd ?? undefined })
    const waited = Date.now() - start
    look.waitedMs = waited
    if (look.ready) return look
    if (signal?.aborted) throw abortError(signal)
    if (waited >= timeout) {
      const e = codedError('ERR_NOT_READY', `${service} of worktree '${look.worktree}' is not ready after ${waited} ms: ${look.reason}`)
      e.readiness = look
      throw e
    }
    await pause(Math.min(POLL_MS, timeout - waited), signal)
  }
}


/**
 * Runs the CLI in this process. It is synchronous: `runCli(['run', …])` blocks the event loop
 * until the command ends (spawn the `atlas-ports` bin to run a command beside other work).
 */
exports.runCli = function runCli(args, options) {
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) {
    throw codedError('ERR_INVALID_ARGUMENT', `runCli(): args must be an array of strings (the arguments without the program name, as in runCli(['list'])), got ${describe(args)}`)
  }
  if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options))) {
    throw codedError('ERR_INVALID_ARGUMENT', `runCli(): options must be an object { replaceProcess, selfCommand }, got ${describe(options)}`)
  }
  const self = options?.selfCommand
  if (self !== undefined && self !== null && (!Array.isArray(self) || self.length === 0 || !self.every((a) => typeof a === 'string' && a !== ''))) {
    throw codedError('ERR_INVALID_ARGUMENT', `runCli(): selfCommand must be a non-empty array of non-empty strings (a program and its leading arguments), got ${describe(self)}`)
  }
  // The background proxy (`proxy start`, `checkout`) is this program run again: under Node,
  // that is Node and this package's bin, not Node alone.
  return native.runCli(args, { ...options, selfCommand: self ?? [process.execPath, path.join(__dirname, 'bin', 'atlas-ports.js')] })
}
exports.isAtlasPortsError = isAtlasPortsError
exports.__napiBindingTarget = native.__napiBindingTarget

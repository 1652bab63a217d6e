// Errors the JavaScript front makes itself: the same shape as the addon's (an `Error` with a
// stable `code`).
'use strict'

function codedError(code, message, cause) {
  const e = new Error(message, cause ? { cause } : undefined)
  e.code = code
  return e
}

/**
 * napi's names for the platforms a release publishes (the `napi.targets` of package.json). Windows
 * x64 has one package, win32-x64-msvc, which official Node (an MSVC build) loads; the addon in it
 * may be built by mingw-w64 (N-API is a C ABI).
 */
const PLATFORM_OF_TARGET = {
  'x86_64-unknown-linux-gnu': 'linux-x64-gnu',
  'aarch64-unknown-linux-gnu': 'linux-arm64-gnu',
  'x86_64-unknown-linux-musl': 'linux-x64-musl',
  'aarch64-unknown-linux-musl': 'linux-arm64-musl',
  'x86_64-apple-darwin': 'darwin-x64',
  'aarch64-apple-darwin': 'darwin-arm64',
  'x86_64-pc-windows-msvc': 'win32-x64-msvc',
  'x86_64-pc-windows-gnu': 'win32-x64-gnu',
}

function thisPlatform() {
  const { platform, arch } = process
  if (platform === 'linux') {
    const glibc = process.report?.getReport?.()?.header?.glibcVersionRuntime
    return `${platform}-${arch}-${glibc ? 'gnu' : 'musl'}`
  }
  if (platform === 'win32') {
    // As the generated loader (index.js) decides: a MinGW-built Node looks for a -gnu package.
    const v = process.config?.variables ?? {}
    return `${platform}-${arch}-${v.shlib_suffix === 'dll.a' || v.node_target_type === 'shared_library' ? 'gnu' : 'msvc'}`
  }
  return `${platform}-${arch}`
}

/** The load failure of a platform without a binary (or with a broken one), saying what to do. */
function missingBinding(cause) {
  const pkg = require('./package.json')
  const supported = (pkg.napi?.targets ?? []).map((t) => PLATFORM_OF_TARGET[t] ?? t)
  const platform = thisPlatform()
  const wanted = `${pkg.name}-${platform}`
  const reason = supported.includes(platform)
    ? `its package ${wanted} is not installed or cannot be loaded (reinstall without --no-optional / --omit=optional, and check that the lockfile was made on a machine that installs it)`
    : `there is no prebuilt binary for ${platform} (package ${wanted})`
  const e = codedError(
    'ERR_NATIVE_BINDING_MISSING',
    `atlas-ports cannot load its native addon on ${platform}: ${reason}. Supported platforms: ${supported.join(', ')}. ` +
      'Elsewhere, build from source (see the repository) or use the atlas-ports CLI.',
    cause,
  )
  e.platform = platform
  e.package = wanted
  return e
}

/** Every `code` an atlas-ports error carries (the `AtlasPortsError` union of index.d.ts). */
const CODES = new Set([
  'ENOENT',
  'ERR_REGISTRY_EXISTS',
  'ERR_CORRUPT_REGISTRY',
  'ERR_UNUSABLE_FILE',
  'ERR_UNKNOWN_SERVICE',
  'ERR_RANGE_EXHAUSTED',
  'ERR_INVALID_PORT',
  'ERR_INVALID_ARGUMENT',
  'ERR_NOT_IN_WORKTREE',
  'ERR_NO_PROJECT_FILE',
  'ERR_INVALID_PROJECT_FILE',
  'ERR_LOCK_TIMEOUT',
  'ERR_PORT_TAKEN',
  'ERR_IO',
  'ERR_NATIVE_BINDING_MISSING',
  'ERR_NOT_READY',
  'ABORT_ERR',
])

/** Whether `e` is an error of atlas-ports: an `Error` with one of its codes. */
function isAtlasPortsError(e) {
  return e instanceof Error && typeof e.code === 'string' && CODES.has(e.code)
}

module.exports = { CODES, codedError, isAtlasPortsError, missingBinding }

// The types of the package's front (atlas-ports.js and atlas-ports.mjs): the generated binding's
// (index.d.ts) and what the front adds to it.
import type { AtlasPortsError } from './index.js'

export * from './index.js'

/**
 * Whether `e` is an error of atlas-ports: an `Error` whose `code` is one of `AtlasPortsError`'s.
 * `catch (e) { if (isAtlasPortsError(e) && e.code === 'ERR_UNKNOWN_SERVICE') … }`
 */
export declare function isAtlasPortsError(e: unknown): e is Error & AtlasPortsError

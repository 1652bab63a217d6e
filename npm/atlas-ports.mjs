// ES module entry: the same functions as require('atlas-ports').
import atlas from './atlas-ports.js'

export default atlas
export const {
  allocatePort, allocatePortSync, ensurePort, ensurePortSync, ensurePortDetails, ensurePortDetailsSync,
  releasePort, releasePortSync,
  releaseWorktree, releaseWorktreeSync, checkPortAvailable, checkPortAvailableSync,
  listAllocatedPorts, listAllocatedPortsSync, findNextPort, findNextPortSync, initRegistry,
  initRegistrySync, getStatus, getStatusSync, checkConflicts, checkConflictsSync, healthCheck,
  healthCheckSync, up, upSync, down, downSync, start, startSync, stop, stopSync, projectFile, projectFileSync, runCli,
  listAllAllocations, listAllAllocationsSync, currentWorktree, currentWorktreeSync, worktreePorts,
  worktreePortsSync, prune, pruneSync, pruneDetails, pruneDetailsSync, getRanges, getRangesSync, readiness, readinessSync, waitForPort,
  isAtlasPortsError, __napiBindingTarget,
} = atlas

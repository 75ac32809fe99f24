import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem, loadavg } from 'node:os';
import type { MachineInfo } from './types.js';

/** Clock ticks per second for /proc/<pid>/stat (getconf CLK_TCK; 100 on every common Linux). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; 10 ms resolution. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLK_TCK;
}

/** Resident set size in bytes, from /proc/<pid>/status (VmRSS). */
export function processRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/** Busy and total jiffies of the whole machine (every core), from /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

/** % of the machine's CPU (all cores) that was busy between two readings. */
export const busyPercent = (a: { busy: number; total: number }, b: { busy: number; total: number }): number =>
  b.total > a.total ? (100 * (b.busy - a.busy)) / (b.total - a.total) : 0;

export function machineInfo(): MachineInfo {
  let openFiles = 'unknown';
  try {
    openFiles = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  } catch {
    // keep 'unknown'
  }
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    nodeVersion: process.version,
    platform: `${process.platform}-${process.arch}`,
    kernel: release(),
    totalMemoryBytes: totalmem(),
    loadAverageAtStart: loadavg().map((v) => Math.round(v * 100) / 100),
    openFilesLimit: openFiles,
    date: new Date().toISOString(),
  };
}

/** TCP counters of the whole machine (/proc/net/netstat, TcpExt). */
export function tcpCounters(): { listenOverflows: number; synRetransmits: number } {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const names = (lines[i] ?? '').split(/\s+/);
      const values = (lines[i + 1] ?? '').split(/\s+/);
      if (names[0] !== 'TcpExt:') continue;
      const get = (name: string) => Number(values[names.indexOf(name)] ?? 0) || 0;
      return { listenOverflows: get('ListenOverflows'), synRetransmits: get('TCPSynRetrans') };
    }
  } catch {
    // not Linux
  }
  return { listenOverflows: 0, synRetransmits: 0 };
}
